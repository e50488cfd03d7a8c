//! Request extractors: authentication, JSON bodies with precise errors, and the write
//! preconditions (`Idempotency-Key`, `If-Match`).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use ladder_core::access::Principal;
use ladder_engine::Idempotency;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// The authenticated caller, and the bearer token they used (for signing out).
pub struct Auth(pub Principal, pub String);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::unauthenticated("send 'Authorization: Bearer <token>'"))?;
        let token = bearer(value)
            .ok_or_else(|| ApiError::unauthenticated("the Authorization header must use the Bearer scheme"))?;
        let principal = state.engine.authenticate_token(token, state.engine.now()).await?;
        Ok(Auth(principal, token.to_string()))
    }
}

/// The token of an `Authorization` header's value in the Bearer scheme.
pub(crate) fn bearer(value: &str) -> Option<&str> {
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim)
}

/// A JSON body plus what retries and concurrency control need.
pub struct Write<T> {
    pub body: T,
    /// `Idempotency-Key` header, if sent.
    pub idempotency_key: Option<String>,
    /// Version from `If-Match`, if sent.
    pub if_match: Option<u64>,
    /// Digest of method, path and body, to detect a key reused for another request.
    pub fingerprint: String,
}

impl<T> Write<T> {
    /// The idempotency record for this caller, when a key was sent.
    pub fn idempotency(&self, principal: &Principal) -> Option<Idempotency> {
        self.idempotency_key.as_ref().map(|key| Idempotency {
            scope: principal.user_id.to_string(),
            key: key.clone(),
            fingerprint: self.fingerprint.clone(),
        })
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| ApiError::bad_request(name, "is not visible ASCII")),
    }
}

/// Parses `If-Match: "7"` (also `W/"7"` and a bare `7`): exactly what the OpenAPI
/// document's pattern for the header, `^(\*|(W/)?"?[0-9]{1,19}"?)$`, accepts.
pub fn parse_if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(raw) = header_str(headers, "if-match")? else { return Ok(None) };
    let v = raw.trim();
    if v == "*" {
        // "Any current version": the write already requires the case to exist.
        return Ok(None);
    }
    let v = v.strip_prefix("W/").unwrap_or(v);
    let v = v.strip_prefix('"').unwrap_or(v);
    let v = v.strip_suffix('"').unwrap_or(v);
    digits(v, 19).map(Some).ok_or_else(|| {
        ApiError::bad_request("If-Match", format!("'{raw}' is not a case version; send the ETag from GET, e.g. \"3\""))
    })
}

/// `text` as a number when it is 1 to `max_digits` ASCII digits and nothing else (no sign,
/// no space), as the OpenAPI patterns of versions and cursors say.
fn digits(text: &str, max_digits: usize) -> Option<u64> {
    if text.is_empty() || text.len() > max_digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A page cursor: `prefix` then 1 to 18 digits, as `next_cursor` gives it (the pattern
/// `^{prefix}[0-9]{1,18}$` in the OpenAPI document). Any such cursor is a position to page
/// from; anything else is a 400.
pub(crate) fn cursor_param(raw: Option<&str>, prefix: char) -> Result<Option<i64>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    raw.strip_prefix(prefix)
        .and_then(|n| digits(n, 18))
        .and_then(|n| i64::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| ApiError::bad_request("cursor", "not a cursor from this API; pass next_cursor unchanged"))
}

/// One page of a keyset-paged list read with `limit + 1` rows: the first `limit` rows, and
/// the cursor of the next page (`prefix` and the last row's `key`) when there was one more.
pub(crate) fn cursor_page<T>(
    mut rows: Vec<T>,
    limit: u32,
    prefix: char,
    key: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<String>) {
    if rows.len() <= limit as usize {
        return (rows, None);
    }
    rows.truncate(limit as usize);
    let next = rows.last().map(|row| format!("{prefix}{}", key(row)));
    (rows, next)
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Write<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let idempotency_key = match header_str(&parts.headers, "idempotency-key")? {
            // The OpenAPI pattern `^[!-~]{1,255}$`: visible ASCII, no space.
            Some(k) if k.is_empty() || k.len() > 255 || !k.bytes().all(|b| (b'!'..=b'~').contains(&b)) => {
                return Err(ApiError::bad_request(
                    "Idempotency-Key",
                    "must be 1–255 visible ASCII characters without spaces",
                ));
            }
            other => other.map(str::to_string),
        };
        let if_match = parse_if_match(&parts.headers)?;
        if let Some(ct) = header_str(&parts.headers, "content-type")?
            && !ct.starts_with("application/json")
        {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                format!("send application/json, not {ct}"),
            ));
        }
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| ApiError::bad_request("body", e.body_text()))?;
        let raw: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        let body = parse_json(raw)?;
        // Fingerprint the JSON value, not its bytes: a retry that differs only in spacing
        // or key order is the same request.
        let canonical = serde_json::from_slice::<serde_json::Value>(raw).map(|v| v.to_string()).unwrap_or_default();
        let mut hasher = Sha256::new();
        hasher.update(parts.method.as_str().as_bytes());
        hasher.update(b" ");
        hasher.update(parts.uri.path().as_bytes());
        hasher.update(b"\n");
        hasher.update(canonical.as_bytes());
        Ok(Write { body, idempotency_key, if_match, fingerprint: hex::encode(hasher.finalize()) })
    }
}

/// Parses JSON, telling syntax errors (400, with line and column) from wrong or missing
/// fields (422, naming the field).
///
/// A number with no fraction is an integer, as JSON Schema counts it: `3.0` is read where an
/// integer is expected (the OpenAPI document's `integer` admits it, so the server does too).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| syntax_error(&e))?;
    // Every body is an object: serde would read a struct from an array too (`[null, null]`
    // as its first two fields), which the document does not allow.
    if !value.is_object() {
        return Err(ApiError::validation("body", "the body must be a JSON object"));
    }
    integral_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let msg = err.into_inner().to_string();
        let field = if path == "." {
            // A missing field is reported at the parent; name it from the message.
            msg.split('`').nth(1).unwrap_or("body").to_string()
        } else {
            path
        };
        ApiError::validation(field, msg)
    })
}

/// Turns every floating-point number without a fraction (`3.0`, `-0.0`, `1e3`) into the
/// integer it equals, where an integer type holds it.
fn integral_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) {
                // Both bounds are powers of two, exact in an f64; the casts are in range.
                if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                    *n = (f as u64).into();
                } else if (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
                    *n = (f as i64).into();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

fn syntax_error(e: &serde_json::Error) -> ApiError {
    let mut p = ApiError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "malformed-json",
        "Malformed JSON",
        format!("the body is not valid JSON: {e}"),
    );
    p.0.line = Some(e.line());
    p.0.column = Some(e.column());
    p
}

/// A team named in the `team` query parameter (slug or id); an unknown one is a 422 naming
/// the parameter (it parses, but names nothing).
pub async fn team_param(state: &AppState, key: &str) -> Result<ladder_core::ids::TeamId, ApiError> {
    Ok(state
        .engine
        .resolve_team("team", key)
        .await
        .map_err(|_| ApiError::validation("team", format!("no team '{key}'")))?
        .id)
}

/// A user named in a query parameter (name or id); an unknown one is a 422 naming it.
pub async fn user_param(state: &AppState, field: &str, key: &str) -> Result<ladder_core::ids::UserId, ApiError> {
    Ok(state
        .engine
        .resolve_user(field, key)
        .await
        .map_err(|_| ApiError::validation(field, format!("no user '{key}'")))?
        .id)
}

// Query parameters. A value that does not parse is a 400 naming the parameter; one that
// parses but is outside what the parameter accepts is a 422 naming it (docs/api.md,
// "Parameters and limits").

/// A page size or count: `default` when absent, else 1..=`max`.
pub(crate) fn limit_param(field: &str, raw: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let limit = raw.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::validation(field, format!("{limit} is out of range; give 1 to {max}")));
    }
    Ok(limit)
}

/// An instant (RFC 3339, e.g. `2026-12-01T09:00:00Z`), within the range and precision every
/// instant of the API keeps ([`ladder_core::instant`]).
pub(crate) fn instant_param(field: &str, raw: Option<&str>) -> Result<Option<jiff::Timestamp>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let t: jiff::Timestamp = raw.trim().parse().map_err(|_| {
        ApiError::bad_request(field, format!("'{raw}' is not an RFC 3339 instant, e.g. 2026-12-01T00:00:00Z"))
    })?;
    Ok(Some(ladder_core::instant::check(field, t)?))
}

/// A span such as `30m`, `2h30m` or `7d`, from zero to `max`.
pub(crate) fn duration_param(
    field: &str,
    raw: &str,
    max: jiff::SignedDuration,
) -> Result<jiff::SignedDuration, ApiError> {
    let d = ladder_core::matrix::model::parse_duration(raw)
        .ok_or_else(|| ApiError::bad_request(field, format!("'{raw}' is not a duration; write e.g. 30m, 1h, 2h30m")))?;
    if d.is_negative() || d > max {
        return Err(ApiError::validation(
            field,
            format!("{raw} is out of range; give at most {}d", max.as_secs() / 86_400),
        ));
    }
    Ok(d)
}

/// `now` moved on by `span`, refused (naming `field`) past the latest instant the API
/// keeps rather than overflowing.
pub(crate) fn later(
    field: &str,
    now: jiff::Timestamp,
    span: jiff::SignedDuration,
) -> Result<jiff::Timestamp, ApiError> {
    now.checked_add(span)
        .ok()
        .filter(|t| *t <= ladder_core::instant::max())
        .ok_or_else(|| ApiError::validation(field, format!("{span:#} from now is past the latest instant kept")))
}
