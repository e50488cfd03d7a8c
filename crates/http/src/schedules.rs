//! `/api/v1/schedules`: on-call schedules (CRUD; managers and admins manage, everyone signed
//! in reads), their overrides (supervisors and up), who is on call, the shifts and the gaps;
//! `/api/v1/on-call` for every schedule; `/api/v1/feeds` (calendar feed tokens) and
//! `/api/v1/calendars/{token}`, the iCalendar feed a calendar app subscribes to with the
//! feed's secret in its URL (it cannot send a bearer token).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use ladder_engine::FeedTarget;
use ladder_engine::schedules::ScheduleDraft;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::dto::{
    FeedBody, FeedDto, GapDto, GapsDto, OnCallDto, OverrideBody, ScheduleBody, ScheduleDto, ShiftDto, ShiftsDto,
};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Auth, Write, instant_param, later};
use crate::ical;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_schedules, create_schedule))
        .routes(routes!(get_schedule, replace_schedule, delete_schedule))
        .routes(routes!(list_overrides, add_override))
        .routes(routes!(remove_override))
        .routes(routes!(schedule_on_call))
        .routes(routes!(schedule_shifts))
        .routes(routes!(schedule_gaps))
        .routes(routes!(everyone_on_call))
        .routes(routes!(list_feeds, create_feed))
        .routes(routes!(revoke_feed))
        .routes(routes!(calendar_feed))
}

/// The longest timeline or gap check one request may ask for.
pub const MAX_RANGE_DAYS: i64 = 90;
/// The default timeline: a week from `from`.
const DEFAULT_RANGE: SignedDuration = SignedDuration::from_hours(7 * 24);
/// The longest path parameter naming a schedule (a slug or a UUID).
const MAX_KEY: usize = 64;

fn key(raw: &str) -> ApiResult<&str> {
    if raw.is_empty() || raw.len() > MAX_KEY {
        return Err(ApiError::bad_request("id", "a schedule's id or slug: 1–64 characters"));
    }
    Ok(raw)
}

fn draft(body: ScheduleBody) -> ScheduleDraft {
    ScheduleDraft { slug: body.slug, name: body.name, spec: body.spec }
}

fn with_etag(dto: ScheduleDto) -> Response {
    let version = dto.version;
    let mut r = Json(dto).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// Every schedule, by slug.
#[utoipa::path(get, path = "/api/v1/schedules", tag = "schedules", responses((status = 200, body = Vec<ScheduleDto>)))]
async fn list_schedules(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<ScheduleDto>>> {
    let all = s.engine.schedules(&auth.0).await?;
    Ok(Json(all.iter().map(ScheduleDto::from).collect()))
}

/// Create a schedule (managers and admins). A spec that does not hold is a 422 whose `field`
/// is the path inside the body (`spec.layers[0].turn`).
#[utoipa::path(post, path = "/api/v1/schedules", tag = "schedules", request_body = ScheduleBody,
    responses((status = 201, body = ScheduleDto), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn create_schedule(
    State(s): State<AppState>,
    auth: Auth,
    write: Write<ScheduleBody>,
) -> ApiResult<(StatusCode, Response)> {
    let created = s.engine.create_schedule(&auth.0, draft(write.body), s.engine.now()).await?;
    Ok((StatusCode::CREATED, with_etag(ScheduleDto::from(&created))))
}

/// One schedule, by id or slug, with its version as `ETag`.
#[utoipa::path(get, path = "/api/v1/schedules/{id}", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or slug", max_length = 64)),
    responses((status = 200, body = ScheduleDto), (status = 404, body = Problem)))]
async fn get_schedule(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let found = s.engine.schedule(&auth.0, key(&id)?).await?;
    Ok(with_etag(ScheduleDto::from(&found)))
}

/// Replace a schedule's slug, name and spec; its overrides stay (managers and admins). With
/// `If-Match: "<version>"`, a 412 when it changed meanwhile.
#[utoipa::path(put, path = "/api/v1/schedules/{id}", tag = "schedules", request_body = ScheduleBody,
    params(("id" = String, Path, description = "Schedule id or slug", max_length = 64),
        ("If-Match" = Option<String>, Header, pattern = r#"^(\*|(W/)?"?[0-9]{1,19}"?)$"#, description = "The schedule's version")),
    responses((status = 200, body = ScheduleDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn replace_schedule(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    write: Write<ScheduleBody>,
) -> ApiResult<Response> {
    let key = key(&id)?;
    let changed = s.engine.replace_schedule(&auth.0, key, draft(write.body), write.if_match, s.engine.now()).await?;
    Ok(with_etag(ScheduleDto::from(&changed)))
}

/// Delete a schedule and its calendar feeds (managers and admins).
#[utoipa::path(delete, path = "/api/v1/schedules/{id}", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or slug", max_length = 64)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_schedule(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.engine.delete_schedule(&auth.0, key(&id)?, s.engine.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A schedule's overrides, in the order they were added (the later wins where two overlap).
#[utoipa::path(get, path = "/api/v1/schedules/{id}/overrides", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or slug", max_length = 64)),
    responses((status = 200, body = Vec<ladder_core::oncall::OverrideEntry>), (status = 404, body = Problem)))]
async fn list_overrides(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ladder_core::oncall::OverrideEntry>>> {
    Ok(Json(s.engine.schedule(&auth.0, key(&id)?).await?.overrides))
}

/// Add an override (supervisors, managers and admins): `user` on call in place of the
/// layers from `start` to `end`. Overrides that ended over 90 days ago are pruned; a
/// schedule holds at most 1,000.
#[utoipa::path(post, path = "/api/v1/schedules/{id}/overrides", tag = "schedules", request_body = OverrideBody,
    params(("id" = String, Path, description = "Schedule id or slug", max_length = 64)),
    responses((status = 201, body = ladder_core::oncall::OverrideEntry), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_override(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    write: Write<OverrideBody>,
) -> ApiResult<(StatusCode, Json<ladder_core::oncall::OverrideEntry>)> {
    let body = write.body;
    let start = ladder_core::instant::parse("start", &body.start)?;
    let end = ladder_core::instant::parse("end", &body.end)?;
    if body.user.len() > 100 {
        return Err(ApiError::validation("user", "at most 100 bytes"));
    }
    let (_, entry) = s.engine.add_override(&auth.0, key(&id)?, &body.user, start, end, s.engine.now()).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// Remove an override (supervisors, managers and admins).
#[utoipa::path(delete, path = "/api/v1/schedules/{id}/overrides/{override_id}", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or slug", max_length = 64),
        ("override_id" = Uuid, Path, description = "Override id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove_override(
    State(s): State<AppState>,
    auth: Auth,
    Path((id, override_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let override_id: Uuid = override_id
        .parse()
        .map_err(|_| ApiError::bad_request("override_id", format!("'{override_id}' is not an override id (a UUID)")))?;
    s.engine.remove_override(&auth.0, key(&id)?, override_id, s.engine.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The instant asked about.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// RFC 3339; default now.
    #[param(format = DateTime)]
    at: Option<String>,
}

/// Who is on call for a schedule at `at` (default now): the user, the layer, override or
/// fallback that put them there, and until when.
#[utoipa::path(get, path = "/api/v1/schedules/{id}/on-call", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or slug", max_length = 64), AtQuery),
    responses((status = 200, body = OnCallDto), (status = 404, body = Problem)))]
async fn schedule_on_call(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<AtQuery>,
) -> ApiResult<Json<OnCallDto>> {
    let at = instant_param("at", q.at.as_deref())?.unwrap_or_else(|| s.engine.now());
    let (schedule, now) = s.engine.who_is_on_call(&auth.0, key(&id)?, at).await?;
    Ok(Json(OnCallDto::new(&schedule, at, now.as_ref())))
}

/// Who is on call at `at` (default now) for every schedule, by slug.
#[utoipa::path(get, path = "/api/v1/on-call", tag = "schedules", params(AtQuery),
    responses((status = 200, body = Vec<OnCallDto>)))]
async fn everyone_on_call(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<AtQuery>,
) -> ApiResult<Json<Vec<OnCallDto>>> {
    let at = instant_param("at", q.at.as_deref())?.unwrap_or_else(|| s.engine.now());
    let all = s.engine.everyone_on_call(&auth.0, at).await?;
    Ok(Json(all.iter().map(|(schedule, now)| OnCallDto::new(schedule, at, now.as_ref())).collect()))
}

/// A stretch of time.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// RFC 3339; default now.
    #[param(format = DateTime)]
    from: Option<String>,
    /// RFC 3339, after `from` and at most 90 days later; default a week after `from`.
    #[param(format = DateTime)]
    to: Option<String>,
}

/// The range a query asks for, checked: `to` after `from`, at most [`MAX_RANGE_DAYS`].
fn range(s: &AppState, q: &RangeQuery) -> ApiResult<(Timestamp, Timestamp)> {
    let from = instant_param("from", q.from.as_deref())?.unwrap_or_else(|| s.engine.now());
    let to = match instant_param("to", q.to.as_deref())? {
        Some(to) => to,
        None => later("to", from, DEFAULT_RANGE)?,
    };
    if to <= from {
        return Err(ApiError::validation("to", "must come after from"));
    }
    if to.duration_since(from) > SignedDuration::from_hours(MAX_RANGE_DAYS * 24) {
        return Err(ApiError::validation("to", format!("at most {MAX_RANGE_DAYS} days after from")));
    }
    Ok((from, to))
}

/// A schedule's timeline from `from` to `to` (at most 90 days): who is on call, each
/// stretch with its source. Stretches nobody answers are left out (see `…/gaps`).
#[utoipa::path(get, path = "/api/v1/schedules/{id}/shifts", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or slug", max_length = 64), RangeQuery),
    responses((status = 200, body = ShiftsDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn schedule_shifts(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<RangeQuery>,
) -> ApiResult<Json<ShiftsDto>> {
    let key = key(&id)?;
    let (from, to) = range(&s, &q)?;
    let (schedule, shifts) = s.engine.schedule_shifts(&auth.0, key, from, to).await?;
    Ok(Json(ShiftsDto {
        schedule: schedule.slug.clone(),
        from,
        to,
        shifts: shifts.iter().map(|x| ShiftDto::new(&schedule, x)).collect(),
    }))
}

/// Where a schedule's layers and overrides leave nobody on call from `from` to `to` (at
/// most 90 days), and the fallback that answers there, if any.
#[utoipa::path(get, path = "/api/v1/schedules/{id}/gaps", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or slug", max_length = 64), RangeQuery),
    responses((status = 200, body = GapsDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn schedule_gaps(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<RangeQuery>,
) -> ApiResult<Json<GapsDto>> {
    let key = key(&id)?;
    let (from, to) = range(&s, &q)?;
    let (schedule, gaps) = s.engine.schedule_gaps(&auth.0, key, from, to).await?;
    Ok(Json(GapsDto {
        schedule: schedule.slug.clone(),
        from,
        to,
        gaps: gaps.iter().map(|g| GapDto { start: g.start, end: g.end }).collect(),
        fallback: schedule.spec.fallback.clone(),
    }))
}

/// The caller's calendar feed tokens (an admin's: everyone's), the newest first; never
/// their secrets.
#[utoipa::path(get, path = "/api/v1/feeds", tag = "schedules", responses((status = 200, body = Vec<FeedDto>)))]
async fn list_feeds(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<FeedDto>>> {
    let feeds = s.engine.feed_tokens(&auth.0).await?;
    Ok(Json(feeds.iter().map(|f| FeedDto::new(f, None)).collect()))
}

/// Mint a calendar feed token: a schedule's feed, or a user's (their shifts in every
/// schedule; one's own, or anyone's as an admin). The secret is answered this once and
/// stored only as its SHA-256; revoke it with `DELETE /api/v1/feeds/{id}`.
#[utoipa::path(post, path = "/api/v1/feeds", tag = "schedules", request_body = FeedBody,
    responses((status = 201, body = FeedDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_feed(
    State(s): State<AppState>,
    auth: Auth,
    write: Write<FeedBody>,
) -> ApiResult<(StatusCode, Json<FeedDto>)> {
    let body = write.body;
    let (target, owner) = match (body.schedule.as_deref(), body.user.as_deref()) {
        (Some(_), Some(_)) => return Err(ApiError::validation("user", "give a schedule or a user, not both")),
        (Some(schedule), None) => {
            let schedule = s
                .engine
                .schedule(&auth.0, schedule)
                .await
                .map_err(|_| ApiError::validation("schedule", format!("no schedule '{schedule}'")))?;
            (FeedTarget::Schedule(schedule.id), auth.0.user_id)
        }
        (None, Some(user)) => {
            let user = s.engine.resolve_user("user", user).await?;
            (FeedTarget::User(user.id), user.id)
        }
        (None, None) => (FeedTarget::User(auth.0.user_id), auth.0.user_id),
    };
    let (feed, secret) = s.engine.mint_feed(&auth.0, owner, target, s.engine.now()).await?;
    Ok((StatusCode::CREATED, Json(FeedDto::new(&feed, Some(&secret)))))
}

/// Revoke a calendar feed token (its owner, or an admin): its URL stops answering.
#[utoipa::path(delete, path = "/api/v1/feeds/{id}", tag = "schedules",
    params(("id" = Uuid, Path, description = "Feed token id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn revoke_feed(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: Uuid = id.parse().map_err(|_| ApiError::bad_request("id", format!("'{id}' is not a feed token id")))?;
    s.engine.revoke_feed(&auth.0, id, s.engine.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How far a feed looks.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Weeks ahead, 1–26; default 8. The past week is always included.
    #[param(minimum = 1, maximum = 26)]
    weeks: Option<u32>,
}

/// The iCalendar feed (RFC 5545, `text/calendar`) of a feed token: one event per shift, the
/// past week and the next `weeks`, times in UTC. The token in the path is the credential
/// (calendar apps send no `Authorization`); an unknown or revoked one is a 404.
#[utoipa::path(get, path = "/api/v1/calendars/{token}", tag = "schedules", security(()),
    params(("token" = String, Path, description = "The feed's secret, `ldrcal_…`", max_length = 100), FeedQuery),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn calendar_feed(
    State(s): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<FeedQuery>,
) -> ApiResult<Response> {
    let weeks = crate::extract::limit_param("weeks", q.weeks, 8, 26)?;
    let now = s.engine.now();
    // Whole days, so the events (and their UIDs) stay the same between refreshes in a day.
    let today = now.strftime("%Y-%m-%dT00:00:00Z").to_string().parse::<Timestamp>().unwrap_or(now);
    let from = today.checked_sub(SignedDuration::from_hours(7 * 24)).unwrap_or(today);
    let to = later("weeks", today, SignedDuration::from_hours(i64::from(weeks) * 7 * 24))?;
    let (_, title, shifts) = s.engine.feed_shifts(&token, from, to).await?;
    let texts: Vec<(String, String, String)> = shifts
        .iter()
        .map(|f| {
            let dto = ShiftDto::new(&f.schedule, &f.shift);
            let how = match &dto.layer {
                Some(layer) => format!("layer {layer}"),
                None => dto.source.clone(),
            };
            (
                format!("{}/{}/{}", f.schedule.id, f.shift.user, f.shift.start),
                format!("On call: {} ({})", f.shift.user, f.schedule.name),
                format!("{} is on call for {} ({}), by {how}.", f.shift.user, f.schedule.name, f.schedule.slug),
            )
        })
        .collect();
    let events: Vec<ical::Event> = shifts
        .iter()
        .zip(&texts)
        .map(|(f, (key, summary, description))| ical::Event {
            key,
            start: f.shift.start,
            end: f.shift.end,
            summary,
            description,
        })
        .collect();
    let body = ical::calendar(&title, now, &events);
    Ok(([(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], body).into_response())
}
