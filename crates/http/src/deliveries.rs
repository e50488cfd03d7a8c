//! `/api/v1/deliveries` and `/api/v1/notification-templates`: the notification outbox —
//! what was sent to whom, each attempt, redelivery — and the templates notifications are
//! written with. Managers and admins read; admins redeliver and edit (`core::access`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use ladder_core::matrix::NotifyChannel;
use ladder_core::outbox::Template;
use ladder_engine::deliveries::TemplateKey;
use ladder_engine::{Delivery, DeliveryAttempt, DeliveryFilter, StoredTemplate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Auth, Write};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(redeliver))
        .routes(routes!(list_templates))
        .routes(routes!(put_template, delete_template))
        .routes(routes!(preview_template))
}

const STATUSES: [&str; 4] = ["pending", "failed", "delivered", "dead"];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// `pending` (not tried yet), `failed` (will be retried), `delivered` or `dead`.
    #[param(pattern = "^(pending|failed|delivered|dead)$")]
    status: Option<String>,
    /// `email`, `sms`, `voice`, `chat`, `push` or `webhook`.
    #[param(pattern = "^(email|sms|voice|chat|push|webhook)$")]
    channel: Option<String>,
    /// Only the deliveries of this case (its number).
    #[param(minimum = 1, maximum = 999999999999i64)]
    case: Option<u64>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^d[0-9]{1,18}$")]
    cursor: Option<String>,
    /// Deliveries per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// One notification to one address on one channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: i64,
    pub case_id: uuid::Uuid,
    pub case_number: u64,
    /// What asked: `notification_requested` (a matrix rule), `escalated`, `clock_at_risk`,
    /// `clock_breached`, `approval_requested`.
    pub event: String,
    /// Whom the event named: `assignee`, `team`, `team:SLUG`, `role:ROLE`, `user:NAME` …
    pub recipient: String,
    pub channel: String,
    /// The email address or phone number, or for the webhook channels whom it is for;
    /// empty when the recipient has none on the channel (the delivery is then dead).
    pub address: String,
    pub language: String,
    /// Sent with every attempt (`Idempotency-Key` header, email `Message-ID`).
    pub idempotency_key: String,
    /// `pending`, `failed` (will be retried), `delivered` or `dead`.
    pub status: String,
    /// Failed attempts since it was queued or redelivered.
    pub attempts: u32,
    pub created_at: Timestamp,
    /// When it is tried (next); `null` once delivered or dead.
    pub next_attempt_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

impl From<Delivery> for DeliveryDto {
    fn from(d: Delivery) -> Self {
        DeliveryDto {
            id: d.id,
            case_id: d.case_id.0,
            case_number: d.case_number,
            event: d.event_kind,
            recipient: d.recipient,
            channel: d.channel,
            address: d.address,
            language: d.language,
            idempotency_key: d.idempotency_key,
            status: d.status,
            attempts: d.attempts,
            created_at: d.created_at,
            next_attempt_at: d.next_attempt_at,
            delivered_at: d.delivered_at,
            last_error: d.last_error,
        }
    }
}

/// A page of deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPageDto {
    pub items: Vec<DeliveryDto>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One attempt at a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptDto {
    pub at: Timestamp,
    /// The server that made it.
    pub node: String,
    pub ok: bool,
    pub error: Option<String>,
}

/// A delivery with its attempts, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetailDto {
    #[serde(flatten)]
    pub delivery: DeliveryDto,
    pub attempts_made: Vec<AttemptDto>,
}

impl From<DeliveryAttempt> for AttemptDto {
    fn from(a: DeliveryAttempt) -> Self {
        AttemptDto { at: a.at, node: a.node, ok: a.ok, error: a.error }
    }
}

fn delivery_id(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0 && raw.len() <= 18)
        .ok_or_else(|| ApiError::bad_request("id", format!("'{raw}' is not a delivery id (a positive number)")))
}

/// The notification outbox, newest first, filtered by status, channel and case (managers
/// and admins).
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "notifications", params(DeliveriesQuery),
    responses((status = 200, body = DeliveryPageDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_deliveries(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<DeliveriesQuery>,
) -> ApiResult<Json<DeliveryPageDto>> {
    s.engine.check(&auth.0, &ladder_core::access::Action::ReadDeliveries)?;
    let limit = crate::extract::limit_param("limit", q.limit, 100, 500)?;
    if let Some(status) = &q.status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(ApiError::bad_request("status", format!("one of {}", STATUSES.join(", "))));
    }
    if let Some(channel) = &q.channel
        && !NotifyChannel::ALL.iter().any(|c| c.as_str() == channel)
    {
        let names: Vec<&str> = NotifyChannel::ALL.iter().map(|c| c.as_str()).collect();
        return Err(ApiError::bad_request("channel", format!("one of {}", names.join(", "))));
    }
    if let Some(case) = q.case
        && !(1..=999_999_999_999).contains(&case)
    {
        return Err(ApiError::bad_request("case", "a case number from 1 to 999999999999"));
    }
    let filter = DeliveryFilter {
        status: q.status,
        channel: q.channel,
        case_number: q.case,
        before: crate::extract::cursor_param(q.cursor.as_deref(), 'd')?,
        limit: limit + 1,
    };
    let items = s.engine.deliveries(&auth.0, filter).await?;
    let (items, next_cursor) = crate::extract::cursor_page(items, limit, 'd', |d| d.id);
    Ok(Json(DeliveryPageDto { items: items.into_iter().map(DeliveryDto::from).collect(), next_cursor }))
}

/// One delivery and every attempt at it.
#[utoipa::path(get, path = "/api/v1/deliveries/{id}", tag = "notifications",
    params(("id" = i64, Path, minimum = 1, maximum = 999999999999999999i64, description = "Delivery id")),
    responses((status = 200, body = DeliveryDetailDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_delivery(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<DeliveryDetailDto>> {
    let (d, attempts) = s.engine.delivery(&auth.0, delivery_id(&id)?).await?;
    Ok(Json(DeliveryDetailDto {
        delivery: d.into(),
        attempts_made: attempts.into_iter().map(AttemptDto::from).collect(),
    }))
}

/// Send a delivery again now (a dead or failed one, or a delivered one once more, with the
/// same idempotency key); its attempts are counted afresh (admins).
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/redeliver", tag = "notifications",
    params(("id" = i64, Path, minimum = 1, maximum = 999999999999999999i64, description = "Delivery id")),
    responses((status = 202, body = DeliveryDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn redeliver(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<DeliveryDto>)> {
    let d = s.engine.redeliver(&auth.0, delivery_id(&id)?, s.engine.now()).await?;
    Ok((StatusCode::ACCEPTED, Json(d.into())))
}

/// A notification template.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateDto {
    /// An event kind (`escalated`, `clock_at_risk`, `clock_breached`, `approval_requested`,
    /// `notification_requested`) or a template name a matrix rule's `notify` gives.
    pub key: String,
    pub language: String,
    pub subject: String,
    pub body: String,
    pub updated_at: Timestamp,
}

impl From<StoredTemplate> for TemplateDto {
    fn from(t: StoredTemplate) -> Self {
        TemplateDto {
            key: t.event_kind,
            language: t.language,
            subject: t.template.subject,
            body: t.template.body,
            updated_at: t.updated_at,
        }
    }
}

/// A template's words, with `{{placeholders}}` (see docs/notifications.md).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    /// The email subject (at most 500 bytes).
    #[schema(max_length = 500)]
    pub subject: String,
    /// The text (at most 20,000 bytes); in HTML email every value is escaped.
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
}

/// The configured templates (the built-in ones apply to every other key and language).
#[utoipa::path(get, path = "/api/v1/notification-templates", tag = "notifications",
    responses((status = 200, body = Vec<TemplateDto>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_templates(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<TemplateDto>>> {
    Ok(Json(s.engine.notification_templates(&auth.0).await?.into_iter().map(TemplateDto::from).collect()))
}

/// Create or replace the template of a key in a language (admins).
#[utoipa::path(put, path = "/api/v1/notification-templates/{key}/{language}", tag = "notifications",
    params(("key" = String, Path, pattern = "^[a-z0-9_-]{1,64}$", description = "Event kind or template name"),
        ("language" = String, Path, pattern = "^[a-z0-9_-]{1,16}$", description = "Language, e.g. en, de, pt-br")),
    request_body = TemplateBody,
    responses((status = 200, body = TemplateDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_template(
    State(s): State<AppState>,
    auth: Auth,
    Path((key, language)): Path<(String, String)>,
    write: Write<TemplateBody>,
) -> ApiResult<Json<TemplateDto>> {
    let key = TemplateKey::new(&key, &language)?;
    let template = Template { subject: write.body.subject, body: write.body.body };
    Ok(Json(s.engine.put_notification_template(&auth.0, key, template, s.engine.now()).await?.into()))
}

/// Delete a template; the built-in one applies again (admins).
#[utoipa::path(delete, path = "/api/v1/notification-templates/{key}/{language}", tag = "notifications",
    params(("key" = String, Path, pattern = "^[a-z0-9_-]{1,64}$", description = "Event kind or template name"),
        ("language" = String, Path, pattern = "^[a-z0-9_-]{1,16}$", description = "Language")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn delete_template(
    State(s): State<AppState>,
    auth: Auth,
    Path((key, language)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let key = TemplateKey::new(&key, &language)?;
    s.engine.delete_notification_template(&auth.0, key, s.engine.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A template to preview.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    #[schema(max_length = 500)]
    pub subject: String,
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
    /// The event kind the values are for (default `escalated`).
    #[schema(pattern = "^[a-z0-9_-]{1,64}$")]
    pub event: Option<String>,
    /// A case whose values to use; without it, example values.
    #[schema(minimum = 1)]
    pub case: Option<u64>,
}

/// What a template renders to.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewDto {
    pub subject: String,
    pub text: String,
    /// The HTML email body: every value escaped.
    pub html: String,
}

/// Render a template without saving it: with a case's values, or example ones.
#[utoipa::path(post, path = "/api/v1/notification-templates/preview", tag = "notifications",
    request_body = PreviewBody,
    responses((status = 200, body = PreviewDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn preview_template(
    State(s): State<AppState>,
    auth: Auth,
    write: Write<PreviewBody>,
) -> ApiResult<Json<PreviewDto>> {
    let b = write.body;
    let event = b.event.unwrap_or_else(|| "escalated".into());
    TemplateKey::new(&event, "en")?;
    let template = Template { subject: b.subject, body: b.body };
    let (subject, text, html) = s.engine.preview_notification_template(&auth.0, template, &event, b.case).await?;
    Ok(Json(PreviewDto { subject, text, html }))
}
