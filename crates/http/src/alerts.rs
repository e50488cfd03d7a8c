//! Alert intake: `POST /v2/enqueue`, the PagerDuty Events API v2 (a service's routing key in
//! the body; answered in PagerDuty's own JSON, so its client libraries work unchanged), and
//! `POST /api/v1/alertmanager`, the Prometheus Alertmanager webhook receiver (the routing key
//! as the bearer token, as `http_config.authorization` sends it). The routing key is the
//! credential of both: neither takes a user's token. Reading the payloads is
//! [`ladder_core::alerts`]; what an alert does to incidents is the engine's.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ladder_core::alerts::{MAX_EVENT_BYTES, read_alertmanager, read_events_v2};
use ladder_engine::AlertWrite;
use ladder_engine::incidents::DEFAULT_SEVERITY;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};

/// Marks an Events API v2 answer, so the problem+json middleware leaves its JSON as it is.
pub const EVENTS_V2_ANSWER: HeaderName = HeaderName::from_static("x-ladder-events-v2");

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(enqueue)).routes(routes!(alertmanager))
}

/// An Events API v2 answer, as PagerDuty words it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsV2Answer {
    /// `success`, `invalid event` or `throttle event`.
    pub status: String,
    pub message: String,
    /// The incident's deduplication key (generated when a trigger gave none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    /// Why the event is invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
}

fn events_v2(status: StatusCode, answer: EventsV2Answer) -> Response {
    let mut response = (status, Json(answer)).into_response();
    response.headers_mut().insert(EVENTS_V2_ANSWER, HeaderValue::from_static("1"));
    response
}

fn invalid(errors: Vec<String>) -> Response {
    events_v2(
        StatusCode::BAD_REQUEST,
        EventsV2Answer {
            status: "invalid event".into(),
            message: "Event object is invalid".into(),
            dedup_key: None,
            errors: Some(errors),
        },
    )
}

fn throttled(wait: std::time::Duration) -> Response {
    let mut response = events_v2(
        StatusCode::TOO_MANY_REQUESTS,
        EventsV2Answer {
            status: "throttle event".into(),
            message: "Requests for this service are arriving too quickly.  Please retry later.".into(),
            dedup_key: None,
            errors: None,
        },
    );
    let seconds = ladder_engine::credentials::whole_seconds(wait);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// Send an alert event in the PagerDuty Events API v2 format: `routing_key` (a service's
/// integration key), `event_action` (`trigger`, `acknowledge`, `resolve`), `dedup_key`
/// (generated for a trigger without one), `payload` (`summary`, `source`, `severity` —
/// critical, error, warning, info —, `timestamp`, `component`, `group`, `class`,
/// `custom_details`), `links`, `images`, `client`, `client_url`. A trigger opens an
/// incident, or adds to the open one with the same `dedup_key`. Answers as PagerDuty does:
/// 202 with the `dedup_key`; 400 `invalid event` with the errors (a malformed event, an
/// unknown or revoked routing key, over 512 KB); 429 `throttle event` when the key sends
/// faster than its rate.
#[utoipa::path(post, path = "/v2/enqueue", tag = "incidents", security(()),
    request_body(content = Object, content_type = "application/json", description = "An Events API v2 event"),
    responses(
        (status = 202, body = EventsV2Answer, description = "Event processed"),
        (status = 400, body = EventsV2Answer, description = "Event object is invalid"),
        (status = 413, body = Problem, description = "Over 1 MiB: refused before it is read"),
        (status = 429, body = EventsV2Answer, description = "Throttled: retry later")))]
async fn enqueue(State(s): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let event = match read_events_v2(&body, || Uuid::now_v7().simple().to_string()) {
        Ok(event) => event,
        Err(invalid_event) => return Ok(invalid(invalid_event.errors)),
    };
    if let Err(wait) = s.limits.check_routing_key(&event.routing_key) {
        return Ok(throttled(wait));
    }
    let Some(service) = s.engine.service_for_routing_key(&event.routing_key).await? else {
        return Ok(invalid(vec!["Invalid routing key".into()]));
    };
    let dedup_key = event.alert.dedup_key.clone();
    s.engine.take_alert(service, event.alert, s.engine.now()).await?;
    Ok(events_v2(
        StatusCode::ACCEPTED,
        EventsV2Answer {
            status: "success".into(),
            message: "Event processed".into(),
            dedup_key: Some(dedup_key),
            errors: None,
        },
    ))
}

/// What the Alertmanager receiver did with a notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertmanagerAnswer {
    /// `opened` (a new incident), `updated` (the open incident of the group), `ignored` (a
    /// resolve for a group with no open incident).
    pub outcome: &'static str,
    /// The group's incident.
    pub incident_id: Option<Uuid>,
    pub incident_number: Option<u64>,
    /// The group key: the incident's deduplication key.
    pub dedup_key: String,
}

/// The routing key an Alertmanager `http_config.authorization` (or `bearer_token`) sends.
fn bearer_routing_key(headers: &HeaderMap) -> ApiResult<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::unauthenticated(
                "send a service's integration key as the bearer token (Authorization: Bearer KEY)",
            )
        })
}

/// Receive a Prometheus Alertmanager webhook notification (version 4): the alerts of one
/// group, whose `groupKey` is the incident's deduplication key. `firing` opens the group's
/// incident or adds to it; `resolved` resolves it. The bearer token is a service's
/// integration key. Severity comes from the `severity` label (critical, error, warning,
/// info, or SEV1–SEV4), SEV3 when absent.
#[utoipa::path(post, path = "/api/v1/alertmanager", tag = "incidents", security(()),
    request_body(content = Object, content_type = "application/json", description = "An Alertmanager webhook notification"),
    responses(
        (status = 200, body = AlertmanagerAnswer),
        (status = 401, body = Problem, description = "No integration key, or an unknown or revoked one"),
        (status = 413, body = Problem, description = "Over 1 MiB"),
        (status = 422, body = Problem, description = "Not an Alertmanager notification")))]
async fn alertmanager(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<AlertmanagerAnswer>> {
    let key = bearer_routing_key(&headers)?;
    if let Err(wait) = s.limits.check_routing_key(key) {
        return Err(ApiError::too_many_requests("this integration key sends alerts faster than its rate", wait));
    }
    let service = s
        .engine
        .service_for_routing_key(key)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("the bearer token is not a live integration key of a service"))?;
    if body.len() > MAX_EVENT_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Notification too large",
            format!("a notification is at most {MAX_EVENT_BYTES} bytes"),
        ));
    }
    let alert = read_alertmanager(&body, DEFAULT_SEVERITY).map_err(|why| ApiError::validation("body", why))?;
    let dedup_key = alert.dedup_key.clone();
    let written = s.engine.take_alert(service, alert, s.engine.now()).await?;
    let (outcome, case) = match &written {
        AlertWrite::Opened(o) => ("opened", Some(&o.case)),
        AlertWrite::Updated(o) => ("updated", Some(&o.case)),
        AlertWrite::NoIncident => ("ignored", None),
    };
    Ok(Json(AlertmanagerAnswer {
        outcome,
        incident_id: case.map(|c| c.id.0),
        incident_number: case.map(|c| c.number),
        dedup_key,
    }))
}
