//! `POST /api/v1/inbound/email`: a raw RFC 5322 message (`Content-Type: message/rfc822`),
//! as an MTA's pipe or a forwarding service sends it, handed to the engine's intake — the
//! same one the SMTP listener (`smtp`) uses.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ladder_core::email::{EmailRefusal, MAX_MESSAGE_BYTES};
use ladder_engine::intake::{Intake, IntakeError};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Auth;

/// The route's path (it has a body limit of its own, [`BODY_LIMIT`]).
pub const PATH: &str = "/api/v1/inbound/email";
/// The largest body the route reads: the intake's message limit.
pub const BODY_LIMIT: usize = MAX_MESSAGE_BYTES;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(inbound_email)).layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
}

/// What the intake did with a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundDto {
    /// `opened` (a new case), `threaded` (added to a case), `declined` (an auto-reply, a
    /// bounce or a loop: no case), `duplicate` (this Message-ID was taken in before).
    pub outcome: &'static str,
    pub case_id: Option<Uuid>,
    pub case_number: Option<u64>,
    pub customer_id: Option<Uuid>,
    /// Why a message was declined: `auto_reply`, `bulk`, `bounce`, `loop`.
    pub reason: Option<&'static str>,
}

/// The answer to a message taken in: its status and body.
pub fn answer(intake: &Intake) -> (StatusCode, InboundDto) {
    let of_case = |outcome, case: &ladder_core::Case| InboundDto {
        outcome,
        case_id: Some(case.id.0),
        case_number: Some(case.number),
        customer_id: case.customer.map(|c| c.0),
        reason: None,
    };
    match intake {
        Intake::Opened(case) => (StatusCode::CREATED, of_case("opened", case)),
        Intake::Threaded(case) => (StatusCode::OK, of_case("threaded", case)),
        Intake::Declined(reason) => (
            StatusCode::ACCEPTED,
            InboundDto {
                outcome: "declined",
                case_id: None,
                case_number: None,
                customer_id: None,
                reason: Some(reason.as_str()),
            },
        ),
        Intake::Duplicate(case) => (
            StatusCode::ACCEPTED,
            InboundDto {
                outcome: "duplicate",
                case_id: Some(case.0),
                case_number: None,
                customer_id: None,
                reason: None,
            },
        ),
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Refused(EmailRefusal::Empty) => ApiError::bad_request("body", "the message is empty"),
            IntakeError::Refused(r @ EmailRefusal::TooLarge(_)) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Message too large", r.to_string())
            }
            IntakeError::Refused(EmailRefusal::Malformed(why)) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "malformed-message", "Malformed message", why)
            }
            IntakeError::Store(e) => e.into(),
        }
    }
}

/// Take in one email: the body is the raw message (RFC 5322 / MIME, any charset), at most
/// 10 MiB. It threads onto the case of an earlier message of its thread (`In-Reply-To`,
/// `References`) or the case its subject names as `[#1234]` when the sender is that case's
/// customer; else it opens a case for the sender (matched by address, or a new customer).
/// Auto-replies, bounces and loops are answered 202 with the reason and make no case. Only
/// a token allowed to take in mail (`take-in-mail`: an integration's admin token) may post.
#[utoipa::path(post, path = "/api/v1/inbound/email", tag = "inbound",
    request_body(content = String, content_type = "message/rfc822", description = "The raw message"),
    responses(
        (status = 201, body = InboundDto, description = "A new case was opened"),
        (status = 200, body = InboundDto, description = "The message was added to a case"),
        (status = 202, body = InboundDto, description = "Declined (auto-reply, bounce, loop) or a duplicate: no change"),
        (status = 400, body = Problem, description = "An empty body"),
        (status = 403, body = Problem),
        (status = 413, body = Problem, description = "Over 10 MiB"),
        (status = 415, body = Problem, description = "Not message/rfc822"),
        (status = 422, body = Problem, description = "Not a readable message: no header section, no From address")))]
async fn inbound_email(State(s): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("message/rfc822") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            format!(
                "send the raw message as Content-Type: message/rfc822, not '{}'",
                content_type.chars().take(100).collect::<String>()
            ),
        ));
    }
    let intake = s.mail.clone();
    let outcome = s.engine.take_in_email(&auth.0, body.to_vec(), &intake, s.engine.now()).await?;
    let (status, dto) = answer(&outcome);
    Ok((status, Json(dto)).into_response())
}
