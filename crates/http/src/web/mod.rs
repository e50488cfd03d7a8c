//! The web console: server-rendered pages (maud) for the people who work cases, mounted at
//! `/` beside the API.
//!
//! # Layout
//! - [`session`]: the session cookie, the [`session::Session`] extractor, the CSRF-checked
//!   [`session::Posted`] form extractor and flash messages.
//! - [`layout`]: the one page frame ([`layout::page`]), the role-aware navigation
//!   ([`layout::NAV`]) and small view helpers (countdowns, badges, the CSRF field).
//! - one module per area, each with a `router()`: [`login`], [`queue`], [`case`], [`admin`],
//!   [`profile`] (one's own password and API tokens), [`search`], [`macros`] and the others
//!   below.
//! - [`forms`]: a refused form comes back to its page with what was typed and the error
//!   beside its field; [`deep_links`]: `/login?next=` and the HTML 404 page.
//! - `assets/`: the stylesheets and small scripts, embedded in the binary (`nav.js`: the
//!   keyboard shortcuts, the macro picker).
//!
//! # Adding a page
//! Write a handler that takes [`session::Session`] (GET) or [`session::Posted<T>`] (POST),
//! checks the role with [`session::Session`]'s principal (or [`allow`]), and returns
//! `layout::page(&session, "Title", "/nav-path", body)`; add its route to the area's
//! `router()` and, for a top-level page, an entry to [`layout::NAV`]. Posts answer with a
//! redirect ([`session::redirect_with`]) so reloading never posts twice.

pub mod admin;
pub mod approvals;
pub mod articles;
pub mod board;
pub mod case;
pub mod charts;
pub mod clocks;
pub mod dashboard;
pub mod deep_links;
pub mod escalate;
pub mod escalated;
pub mod forms;
pub mod layout;
pub mod live;
pub mod login;
pub mod macros;
pub mod matrix;
pub mod portal;
pub mod profile;
pub mod queue;
pub mod schedules;
pub mod search;
pub mod session;
pub mod shortcuts;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use ladder_core::access::Action;

use crate::AppState;
use crate::error::ApiError;

/// Every console route.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/assets/console.css", get(css))
        .route("/assets/console.js", get(js))
        .route("/assets/board.css", get(|| async { asset("text/css; charset=utf-8", BOARD_CSS) }))
        .route("/assets/live.js", get(|| async { asset("text/javascript; charset=utf-8", LIVE_JS) }))
        .route("/assets/clocks.js", get(|| async { asset("text/javascript; charset=utf-8", CLOCKS_JS) }))
        .route("/assets/approvals.css", get(|| async { asset("text/css; charset=utf-8", APPROVALS_CSS) }))
        .route("/assets/nav.css", get(|| async { asset("text/css; charset=utf-8", NAV_CSS) }))
        .route("/assets/nav.js", get(|| async { asset("text/javascript; charset=utf-8", NAV_JS) }))
        .merge(login::router())
        .merge(queue::router())
        .merge(escalated::router())
        .merge(case::router())
        .merge(admin::router())
        .merge(board::router())
        .merge(approvals::router())
        .merge(dashboard::router())
        .merge(matrix::router())
        .merge(profile::router())
        .merge(search::router())
        .merge(macros::router())
        .merge(articles::router())
        .merge(schedules::router())
        .layer(axum::middleware::from_fn(deep_links::return_after_sign_in))
        .merge(live::router())
        .merge(portal::router())
        .layer(axum::middleware::from_fn_with_state(state.clone(), forget_shown_flash))
        .layer(axum::middleware::from_fn_with_state(state, secure_cookies))
        .layer(axum::middleware::map_response(security_headers))
}

/// What a console page may load and who may frame it: only its own scripts and styles
/// (no inline script, style or handler), nothing framed, forms posted only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers every console answer carries.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // A page may ask for a stricter one (the portal: `no-referrer`, its path is a credential).
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    }
    response
}

/// Marks the console's cookies `Secure` when the browser reached it over HTTPS: the server's
/// public URL is `https://…` (`ladder serve --public-url`), or a trusted proxy
/// (`--trusted-proxy`) says so with `X-Forwarded-Proto: https`. A header from anyone else is
/// ignored.
async fn secure_cookies(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let secure = state.web.https(&request);
    let mut response = next.run(request).await;
    if secure {
        let cookies: Vec<HeaderValue> = response.headers().get_all(header::SET_COOKIE).iter().cloned().collect();
        response.headers_mut().remove(header::SET_COOKIE);
        for cookie in cookies {
            let marked = format!("{}; Secure", cookie.to_str().unwrap_or_default());
            response.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&marked).unwrap_or(cookie));
        }
    }
    response
}

/// How the console is reached, for its cookies: `ladder serve --public-url` and
/// `--trusted-proxy`.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// The public URL is `https://…`: every cookie is `Secure`.
    pub https: bool,
    /// Proxies whose `X-Forwarded-Proto` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl WebConfig {
    /// Whether this request reached the server over HTTPS.
    fn https(&self, request: &Request) -> bool {
        if self.https {
            return true;
        }
        let peer = request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        peer.is_some_and(|ip| self.trusted_proxies.contains(&ip))
            && request
                .headers()
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }
}

/// `/`: the queue when signed in, else the login page.
async fn home(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Redirect {
    match session::Session::from_headers(&headers, &state).await {
        Ok(_) => Redirect::to("/queue"),
        Err(_) => Redirect::to("/login"),
    }
}

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");
const BOARD_CSS: &str = include_str!("assets/board.css");
const APPROVALS_CSS: &str = include_str!("assets/approvals.css");
const NAV_CSS: &str = include_str!("assets/nav.css");
const NAV_JS: &str = include_str!("assets/nav.js");
const CLOCKS_JS: &str = include_str!("assets/clocks.js");
const LIVE_JS: &str = include_str!("assets/live.js");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The assets change only with the binary; an hour keeps pages fast without pinning a
    // stale file for long after an upgrade.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

/// A flash message (and a refused form) is shown once: the page that rendered it clears its
/// cookie.
async fn forget_shown_flash(State(_state): State<AppState>, request: Request, next: Next) -> Response {
    let had_flash = session::cookie(request.headers(), session::FLASH_COOKIE).is_some();
    let had_form = session::cookie(request.headers(), forms::KEPT_COOKIE).is_some();
    let mut response = next.run(request).await;
    if had_flash && !response.status().is_redirection() {
        response.headers_mut().append(header::SET_COOKIE, session::clear_flash_cookie());
    }
    if had_form && !response.status().is_redirection() {
        response.headers_mut().append(header::SET_COOKIE, forms::clear_kept_cookie());
    }
    response
}

/// Why a console request could not be answered with its page.
#[derive(Debug)]
pub enum WebError {
    /// No valid session: go to the login page.
    SignIn,
    /// An error page with this status.
    Page { status: StatusCode, title: String, detail: String },
}

pub type WebResult<T> = Result<T, WebError>;

impl WebError {
    pub fn status(status: StatusCode, title: impl Into<String>, detail: impl Into<String>) -> Self {
        WebError::Page { status, title: title.into(), detail: detail.into() }
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::FORBIDDEN, "Not allowed", detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::NOT_FOUND, "Not found", detail)
    }
}

/// A form sends every field, filled in or not: an empty one is an absent one, and what was
/// typed is trimmed. The request types shared with the JSON API keep `""` as sent (the API
/// refuses it where it names something), so the form handlers apply this to their fields.
pub(crate) fn given(field: Option<String>) -> Option<String> {
    field.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Refuses unless the session's principal may do `action`: the rule is `core::access`'s,
/// asked through the engine like every API request's.
/// The ISO 4217 code amounts are in: the matrix in force's (`currency`), else the default.
pub fn currency(state: &AppState) -> String {
    state.engine.active_matrix().map_or(ladder_core::matrix::Matrix::DEFAULT_CURRENCY.to_string(), |m| {
        m.compiled.matrix().currency().to_string()
    })
}

pub fn allow(state: &AppState, session: &session::Session, action: &Action) -> WebResult<()> {
    state.engine.check(&session.principal, action).map_err(|e| match e {
        ladder_engine::StoreError::Forbidden(m) => WebError::forbidden(m),
        other => other.into(),
    })
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        let status = StatusCode::from_u16(e.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::UNAUTHORIZED {
            return WebError::SignIn;
        }
        let detail = match &e.0.error_id {
            Some(id) => format!("{} (error id {id})", e.0.detail),
            None => e.0.detail.clone(),
        };
        WebError::Page { status, title: e.0.title.clone(), detail }
    }
}

impl From<ladder_engine::rules::MatrixError> for WebError {
    fn from(e: ladder_engine::rules::MatrixError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<ladder_engine::StoreError> for WebError {
    fn from(e: ladder_engine::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn => {
                let mut r = Redirect::to("/login").into_response();
                r.headers_mut().append(header::SET_COOKIE, session::clear_session_cookie());
                r
            }
            WebError::Page { status, title, detail } => {
                (status, layout::error_page(status, &title, &detail)).into_response()
            }
        }
    }
}
