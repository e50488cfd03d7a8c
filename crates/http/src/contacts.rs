//! The signed webhooks of the other channels: `POST /api/v1/inbound/sms` (Twilio's
//! form-encoded webhook, `X-Twilio-Signature`) and `POST /api/v1/inbound/contact` (chat,
//! social and voice events as JSON, `Ladder-Signature`). Neither takes a bearer token: the
//! signature, checked here with the server's secret, is the authentication, and a request
//! that passes acts as `Principal::signed_webhook` (see `core::access`, `TakeInContacts`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ladder_core::access::Principal;
use ladder_engine::channels::{self, ContactEvent, InboundSms};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::inbound::{InboundDto, answer};

/// The largest body either webhook reads (a chat message's text is at most 64 Ki characters).
pub const BODY_LIMIT: usize = 256 * 1024;

/// Twilio's signature header.
pub const TWILIO_SIGNATURE_HEADER: &str = "X-Twilio-Signature";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbound_sms))
        .routes(routes!(inbound_contact))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
}

fn bad_signature(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "bad-signature", "Bad signature", detail)
}

fn require_media_type(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case(expected) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        format!(
            "send the body as Content-Type: {expected}, not '{}'",
            content_type.chars().take(100).collect::<String>()
        ),
    ))
}

/// Take in one SMS as Twilio's messaging webhook posts it (form-encoded `From`, `To`,
/// `Body`, `MessageSid`, `NumMedia`, `MediaUrl0` …), signed with `X-Twilio-Signature`:
/// base64 HMAC-SHA1, keyed with the account's auth token, of the public URL Twilio posted
/// to followed by the parameters sorted by name, each name then value. No bearer token: a
/// missing or wrong signature is refused with 403. The sender is found by phone (E.164) and
/// the message threaded onto their open case (a repeat contact), else a new case on channel
/// `sms`. Media are kept as links, never fetched. The answer is empty TwiML.
#[utoipa::path(post, path = "/api/v1/inbound/sms", tag = "inbound", security(()),
    params(("X-Twilio-Signature" = String, Header, description = "Twilio's request signature")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "Twilio's webhook parameters"),
    responses(
        (status = 200, body = String, content_type = "application/xml",
            description = "Taken in (or a retry taken in before): empty TwiML, `<Response/>`"),
        (status = 400, body = Problem, description = "Not form-encoded parameters"),
        (status = 403, body = Problem, description = "A missing or wrong signature, or no SMS intake configured"),
        (status = 413, body = Problem, description = "Over 256 KiB"),
        (status = 415, body = Problem, description = "Not application/x-www-form-urlencoded"),
        (status = 422, body = Problem, description = "A parameter missing or invalid (From not E.164 …), naming it")))]
async fn inbound_sms(
    State(s): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let Some(signing) = s.contacts.sms.as_ref() else {
        return Err(bad_signature(
            "this server takes in no SMS: it has no Twilio auth token and public URL configured",
        ));
    };
    let signature = headers.get(TWILIO_SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let Some(signature) = signature else { return Err(bad_signature("the X-Twilio-Signature header is missing")) };
    require_media_type(&headers, "application/x-www-form-urlencoded")?;
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|e| ApiError::bad_request("body", format!("not form-encoded parameters: {e}")))?;
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or(uri.path());
    let url = format!("{}{}", signing.public_url.trim_end_matches('/'), path_and_query);
    if !channels::twilio_signature_is_valid(&signing.auth_token, &url, &params, signature) {
        return Err(bad_signature(format!(
            "the X-Twilio-Signature does not match the request as signed for {url} with the configured auth token"
        )));
    }
    let sms = InboundSms::from_params(&params).map_err(ladder_engine::StoreError::from)?;
    let principal = Principal::signed_webhook("sms webhook");
    s.engine.take_in_sms(&principal, &sms, &s.contacts, s.engine.now()).await?;
    let twiml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";
    Ok(([(header::CONTENT_TYPE, "application/xml")], twiml).into_response())
}

/// Take in one chat, social or voice event: a JSON body signed like Ladder's outbound
/// webhooks, `Ladder-Signature: t=UNIX_SECONDS,v1=HEX`, HEX the HMAC-SHA256 of `t`, `.` and
/// the raw body with the server's contact secret; a timestamp more than 5 minutes from the
/// server's clock is a replay. No bearer token: a missing, wrong or stale signature is
/// refused with 403. `message` threads onto its conversation's case, else the customer's
/// open case, else opens one; `call_started` opens (or joins) the call's case; `ivr_choice`
/// and `ended` are noted in its history; `transferred` to a supervisor is a hierarchical
/// escalation with its initiator. An event id taken in before changes nothing (202).
#[utoipa::path(post, path = "/api/v1/inbound/contact", tag = "inbound", security(()),
    params(("Ladder-Signature" = String, Header, description = "t=UNIX_SECONDS,v1=HEX")),
    request_body(content = ContactEvent, content_type = "application/json"),
    responses(
        (status = 201, body = InboundDto, description = "A new case was opened"),
        (status = 200, body = InboundDto, description = "Recorded on a case"),
        (status = 202, body = InboundDto, description = "This event id was taken in before: no change"),
        (status = 400, body = Problem, description = "Not JSON"),
        (status = 403, body = Problem, description = "A missing, wrong or stale signature, or no contact secret configured"),
        (status = 409, body = Problem, description = "The case cannot take this (a transfer beyond the top level …)"),
        (status = 413, body = Problem, description = "Over 256 KiB"),
        (status = 415, body = Problem, description = "Not application/json"),
        (status = 422, body = Problem, description = "A field missing or invalid for its kind, naming it")))]
async fn inbound_contact(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let Some(secret) = s.contacts.contact_secret.as_ref() else {
        return Err(bad_signature("this server takes in no contacts: it has no contact webhook secret configured"));
    };
    let signature = headers.get(ladder_engine::deliveries::SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    channels::verify_contact_signature(secret, signature, &body, s.engine.now())
        .map_err(|refusal| bad_signature(refusal.to_string()))?;
    require_media_type(&headers, "application/json")?;
    let event: ContactEvent = crate::extract::parse_json(&body)?;
    let principal = Principal::signed_webhook("contact webhook");
    let outcome = s.engine.take_in_contact(&principal, &event, &s.contacts, s.engine.now()).await?;
    let (status, dto) = answer(&outcome);
    Ok((status, Json(dto)).into_response())
}
