//! `/login` and `/logout`.

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::SignedDuration;
use maud::{Markup, html};
use serde::Deserialize;

use super::WebResult;
use super::deep_links::{HOME, safe_next};
use super::layout;
use super::session::{self, Posted, SESSION_HOURS, SESSION_TOKEN_NAME, Session};
use crate::AppState;
use crate::limits::ClientIp;

pub fn router() -> Router<AppState> {
    Router::new().route("/login", get(login_page).post(login)).route("/logout", post(logout))
}

/// The sign-in form's CSRF token: derived from a random secret in its own cookie, which a
/// page of another site can neither read nor send (SameSite=Strict).
/// `next` is the page to return to after signing in (already checked by [`safe_next`]).
fn login_form(name: &str, error: Option<&str>, csrf: &str, next: Option<&str>) -> Markup {
    layout::bare(
        "Sign in",
        html! {
            section.login aria-labelledby="login-title" {
                h1 #login-title { "Sign in to Ladder" }
                @if let Some(e) = error {
                    p.flash.error role="alert" #login-error { (e) }
                }
                form method="post" action="/login" {
                    input type="hidden" name=(session::CSRF_FIELD) value=(csrf);
                    @if let Some(next) = next {
                        input type="hidden" name="next" value=(next);
                    }
                    label for="name" { "User name" }
                    input #name name="name" type="text" autocomplete="username" required autofocus value=(name);
                    label for="password" { "Password" }
                    input #password name="password" type="password" autocomplete="current-password" required;
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// The login form with a fresh form secret in its cookie.
fn fresh_login_form(status: StatusCode, name: &str, error: Option<&str>, next: Option<&str>) -> Response {
    let secret = ladder_engine::credentials::random_secret();
    let mut response = (status, login_form(name, error, &session::csrf_token(&secret), next)).into_response();
    response.headers_mut().append(header::SET_COOKIE, session::login_form_cookie(&secret));
    response
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

/// The login form; a signed-in user goes straight to the page asked for, or their queue.
async fn login_page(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<LoginQuery>) -> Response {
    let next = safe_next(query.next.as_deref());
    if Session::from_headers(&headers, &state).await.is_ok() {
        return Redirect::to(next.unwrap_or(HOME)).into_response();
    }
    fresh_login_form(StatusCode::OK, "", None, next)
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    csrf: String,
    /// The page to return to (a local path; anything else is ignored).
    #[serde(default)]
    next: Option<String>,
}

/// Checks the form's CSRF token and the password (argon2id, as `POST /api/v1/auth/login`
/// does, throttled the same way) and starts a session.
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> WebResult<Response> {
    let next = safe_next(form.next.as_deref());
    let expected = session::cookie(&headers, session::LOGIN_FORM_COOKIE).map(|secret| session::csrf_token(&secret));
    if !expected.is_some_and(|token| session::constant_time_eq(token.as_bytes(), form.csrf.as_bytes())) {
        let message = "The sign-in form expired or did not come from this site; sign in again.";
        return Ok(fresh_login_form(StatusCode::FORBIDDEN, &form.name, Some(message), next));
    }
    let now = state.engine.now();
    let user = match state.engine.login(form.name.trim(), &form.password, ip, now).await {
        Ok(user) => user,
        Err(ladder_engine::AuthError::Throttled { retry_after }) => {
            let secs = crate::error::whole_seconds(retry_after);
            let message = format!("Too many failed sign-ins. Try again in {secs} seconds.");
            let mut response = fresh_login_form(StatusCode::TOO_MANY_REQUESTS, &form.name, Some(&message), next);
            response.headers_mut().insert(header::RETRY_AFTER, secs.into());
            return Ok(response);
        }
        Err(ladder_engine::AuthError::Store(e)) => return Err(e.into()),
        Err(_) => {
            let message = "Wrong user name or password, or the account is inactive.";
            return Ok(fresh_login_form(StatusCode::UNAUTHORIZED, &form.name, Some(message), next));
        }
    };
    let expires_at = now + SignedDuration::from_hours(SESSION_HOURS);
    let token = state.engine.sign_in_token(&user, SESSION_TOKEN_NAME.into(), Some(expires_at), now).await?;
    tracing::info!(user = %user.name, "console sign-in");
    let mut response = Redirect::to(next.unwrap_or(HOME)).into_response();
    response.headers_mut().append(header::SET_COOKIE, session::session_cookie(&token.secret));
    response.headers_mut().append(header::SET_COOKIE, session::clear_login_form_cookie());
    Ok(response)
}

#[derive(Deserialize)]
struct Empty {}

/// Revokes the session's token and forgets the cookie.
async fn logout(State(state): State<AppState>, posted: Posted<Empty>) -> WebResult<Response> {
    state.engine.sign_out(&posted.session.principal, posted.session.secret(), state.engine.now()).await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, session::clear_session_cookie());
    Ok(response)
}
