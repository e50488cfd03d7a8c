//! Finding one's way: a page opened without a session comes back after sign-in (`/login?next=…`,
//! a local path only), and an unknown console address gets a page, not problem+json.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout;
use super::session::Session;
use crate::AppState;
use crate::error::ApiError;

/// Where a signed-in user lands when nothing else was asked for.
pub const HOME: &str = "/queue";

/// The longest `next` path kept: a page address, not a payload.
const MAX_NEXT_BYTES: usize = 1024;

/// `next` when it names a page of this console: a path that starts with one `/` (never
/// `//host` or `/\host`, which browsers read as another site), no scheme, no control
/// characters or backslashes, and not the sign-in or sign-out page itself. Anything else is
/// refused, so a link cannot send a user elsewhere after they signed in (an open redirect).
pub fn safe_next(next: Option<&str>) -> Option<&str> {
    let next = next?;
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= MAX_NEXT_BYTES
        && !next.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    let path = next.split(['?', '#']).next().unwrap_or_default();
    (local && !matches!(path, "/login" | "/logout")).then_some(next)
}

/// The sign-in page's address that returns to `next` afterwards.
pub fn login_returning_to(next: &str) -> String {
    // A path and query encode as one form value.
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    format!("/login?{query}")
}

/// A page asked for without a session is sent to the sign-in page with its address, so
/// signing in returns to it. Only pages (GET) other than the default landing are remembered,
/// and not streams, which a browser does not navigate to.
pub async fn return_after_sign_in(request: Request, next: Next) -> Response {
    let wanted = (request.method() == Method::GET)
        .then(|| request.uri().path_and_query().map(|p| p.as_str().to_string()))
        .flatten()
        .filter(|p| {
            let path = p.split('?').next().unwrap_or_default();
            !matches!(path, "/" | HOME) && !path.ends_with("/stream") && !path.starts_with("/assets/")
        })
        .filter(|p| safe_next(Some(p)).is_some());
    let mut response = next.run(request).await;
    let to_login = response.status().is_redirection()
        && response.headers().get(header::LOCATION).is_some_and(|l| l.as_bytes() == b"/login");
    if let (true, Some(path)) = (to_login, wanted)
        && let Ok(location) = HeaderValue::from_str(&login_returning_to(&path))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Any address no route answers: problem+json under `/api/`, a console page elsewhere (with
/// the navigation when signed in).
pub async fn not_found(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::not_found("this path").into_response();
    }
    let body = html! {
        section.problem aria-labelledby="problem-title" {
            h1 #problem-title { "Page not found" }
            p.status { "404 Not Found" }
            p { "There is no page at " code { (path) } "." }
            p { a href=(HOME) { "Back to my queue" } " · " a href="/search" { "Search cases" } }
        }
    };
    let page = match Session::from_headers(request.headers(), &state).await {
        Ok(session) => layout::page(&session, "Page not found", "", body),
        Err(_) => layout::bare("Page not found", body),
    };
    super::security_headers((StatusCode::NOT_FOUND, page).into_response()).await
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        for ok in ["/cases/994", "/search?q=a+b", "/matrix/drafts/x#lint"] {
            assert_eq!(safe_next(Some(ok)), Some(ok), "{ok}");
        }
        for refused in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "evil.example",
            "javascript:alert(1)",
            "/login",
            "/login?next=/x",
            "/logout",
            "/cases/1\r\nSet-Cookie: x",
            "",
        ] {
            assert_eq!(safe_next(Some(refused)), None, "{refused}");
        }
        assert_eq!(safe_next(None), None);
    }
}
