//! Console sessions: the cookie, the extractor every page uses, the CSRF check every form
//! post goes through, and one-shot flash messages for Post/Redirect/Get.
//!
//! A session is an ordinary token (named [`SESSION_TOKEN_NAME`], expiring after
//! [`SESSION_HOURS`]) minted by the engine: the secret lives only in the browser's HttpOnly
//! cookie, the store keeps its SHA-256, and logging out revokes it. The CSRF token of a
//! session is derived from its secret, so nothing more is stored.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use ladder_core::access::Principal;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::WebError;
use crate::AppState;

/// The cookie that carries the session secret.
pub const SESSION_COOKIE: &str = "ladder_session";
/// The cookie that carries the sign-in form's secret (its CSRF token is derived from it).
pub const LOGIN_FORM_COOKIE: &str = "ladder_login";
/// The cookie that carries a one-shot message to the next page.
pub const FLASH_COOKIE: &str = "ladder_flash";
/// The name of session tokens in the `tokens` table (and in `GET /api/v1/tokens`).
pub const SESSION_TOKEN_NAME: &str = ladder_engine::credentials::CONSOLE_SESSION;
/// How long a console session lasts.
pub const SESSION_HOURS: i64 = 12;
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The signed-in user of a console request. Extracting it redirects to the login page when
/// there is no valid session.
#[derive(Clone)]
pub struct Session {
    pub principal: Principal,
    secret: String,
    /// The message the previous request left for this page, if any.
    pub flash: Option<Flash>,
    /// The form the previous request refused, with what was typed, if any.
    pub kept: Option<super::forms::Kept>,
    /// The time zone the user chose for instants (`None`: the browser's).
    pub time_zone: Option<String>,
    /// How many cases wait for this user's decision on an approval (counted up to one more
    /// than [`PENDING_SHOWN`]), for the navigation; `None` for those without an inbox.
    pub pending_approvals: Option<usize>,
}

/// The most pending approvals the navigation counts ("100+" beyond).
pub const PENDING_SHOWN: u32 = 100;

/// A one-shot message shown at the top of the next page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    pub ok: bool,
    pub message: String,
}

impl Session {
    /// The CSRF token forms of this session must carry.
    pub fn csrf(&self) -> String {
        csrf_token(&self.secret)
    }

    /// The session secret (to revoke it on logout).
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// Reads and checks the session cookie.
    pub async fn from_headers(headers: &HeaderMap, state: &AppState) -> Result<Session, WebError> {
        let secret = cookie(headers, SESSION_COOKIE).ok_or(WebError::SignIn)?;
        // The user's time zone comes with the token (one read, cached with it).
        let (principal, time_zone) =
            state.engine.authenticate_session(&secret, state.engine.now()).await.map_err(|_| WebError::SignIn)?;
        let flash = cookie(headers, FLASH_COOKIE).and_then(|raw| decode_flash(&raw));
        let kept = super::forms::kept(headers);
        // One counting read; a store that cannot say shows no count rather than refusing the page.
        let pending_approvals = match principal.allows(&ladder_core::access::Action::ApprovalsInbox) {
            Ok(()) => state.engine.approval_inbox_count(&principal, PENDING_SHOWN + 1).await.ok().map(|n| n as usize),
            Err(_) => None,
        };
        Ok(Session { principal, secret, flash, kept, time_zone, pending_approvals })
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Session::from_headers(&parts.headers, state).await
    }
}

/// `hex(SHA-256(label ‖ secret))`: unguessable without the HttpOnly cookie, constant for a
/// session, and never the secret itself.
pub fn csrf_token(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"ladder console csrf v1\0");
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

/// The value of one cookie of the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    cookie_str(headers, name).map(str::to_string)
}

/// [`cookie`], borrowed from the headers.
pub(crate) fn cookie_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn set_cookie(name: &str, value: &str, max_age_seconds: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}"))
        .expect("cookie values are hex or ASCII tokens")
}

/// `Set-Cookie` for a new session.
pub fn session_cookie(secret: &str) -> HeaderValue {
    set_cookie(SESSION_COOKIE, secret, SESSION_HOURS * 3600)
}

/// `Set-Cookie` for the sign-in form's secret (an hour to fill the form in).
pub fn login_form_cookie(secret: &str) -> HeaderValue {
    set_cookie(LOGIN_FORM_COOKIE, secret, 3600)
}

/// `Set-Cookie` that forgets the sign-in form's secret once it has been used.
pub fn clear_login_form_cookie() -> HeaderValue {
    set_cookie(LOGIN_FORM_COOKIE, "", 0)
}

/// `Set-Cookie` that ends the session cookie.
pub fn clear_session_cookie() -> HeaderValue {
    set_cookie(SESSION_COOKIE, "", 0)
}

/// `Set-Cookie` that forgets a shown flash message.
pub fn clear_flash_cookie() -> HeaderValue {
    set_cookie(FLASH_COOKIE, "", 0)
}

fn decode_flash(raw: &str) -> Option<Flash> {
    let (kind, hex_message) = raw.split_once('.')?;
    let message = String::from_utf8(hex::decode(hex_message).ok()?).ok()?;
    Some(Flash { ok: kind == "ok", message })
}

/// A 303 redirect to `to` that leaves `flash` for the page it lands on.
pub fn redirect_with(to: &str, flash: Option<Flash>) -> Response {
    let mut response = Redirect::to(to).into_response();
    if let Some(f) = flash {
        // Hex keeps any message (quotes, semicolons, non-ASCII) a valid cookie value.
        let mut message = f.message;
        message.truncate(message.floor_char_boundary(1500));
        let value = format!("{}.{}", if f.ok { "ok" } else { "error" }, hex::encode(message.as_bytes()));
        response.headers_mut().append(header::SET_COOKIE, set_cookie(FLASH_COOKIE, &value, 60));
    }
    response
}

/// A console form post: the session, its CSRF token checked, and the form fields as `T`.
/// A post without the session's token is refused with a 403 page before anything runs.
pub struct Posted<T> {
    pub session: Session,
    pub form: T,
    /// The form as sent, for a refusal to give it back ([`super::forms::refused`]).
    pub sent: Sent,
}

/// A posted form as it was sent: where it posted and its fields (without the CSRF token).
#[derive(Debug, Clone, Default)]
pub struct Sent {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Posted<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let action = parts.uri.path().to_string();
        let session = Session::from_headers(&parts.headers, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| WebError::status(StatusCode::BAD_REQUEST, "Bad request", e.body_text()))?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let sent = fields.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.as_str());
        if !sent.is_some_and(|t| constant_time_eq(t.as_bytes(), session.csrf().as_bytes())) {
            return Err(WebError::status(
                StatusCode::FORBIDDEN,
                "Form refused",
                "the form did not carry this session's security token (CSRF); reload the page and send it again",
            ));
        }
        // The token is this extractor's, not the form's: the form's type sees only its own
        // fields, so a request type shared with the JSON API may refuse unknown ones.
        let own: Vec<(String, String)> = fields.into_iter().filter(|(k, _)| k != CSRF_FIELD).collect();
        // Pairs of strings always encode.
        let encoded = serde_urlencoded::to_string(&own).unwrap_or_default();
        let form = serde_urlencoded::from_str(&encoded).map_err(|e| {
            WebError::status(StatusCode::UNPROCESSABLE_ENTITY, "Invalid form", format!("the form is incomplete: {e}"))
        })?;
        Ok(Posted { session, form, sent: Sent { action, fields: own } })
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_token_depends_on_the_secret_and_is_not_the_secret() {
        let a = csrf_token("ldr_a");
        assert_eq!(a, csrf_token("ldr_a"));
        assert_ne!(a, csrf_token("ldr_b"));
        assert!(!a.contains("ldr_a"));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; ladder_session=ldr_x; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("ldr_x"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn flash_messages_survive_any_text() {
        let response = redirect_with("/x", Some(Flash { ok: false, message: "a; b=\"ü\"".into() }));
        let set = response.headers()[header::SET_COOKIE].to_str().unwrap().to_string();
        let value = set.split(';').next().unwrap().split_once('=').unwrap().1;
        assert_eq!(decode_flash(value), Some(Flash { ok: false, message: "a; b=\"ü\"".into() }));
    }
}
