//! `/profile`: the signed-in user's own account — change the password (the current one
//! first, as `POST /api/v1/users/me/password` asks) and the API tokens: mint one (the
//! password again, an expiry within the server's maximum; the secret is shown once, on the
//! answer to the form, and never again) and revoke one.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::SignedDuration;
use ladder_engine::TokenInfo;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, csrf_field, time};
use super::session::{Flash, Posted, Session, redirect_with};
use super::{WebResult, given};
use crate::AppState;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile", get(profile_page))
        .route("/profile/password", post(change_password))
        .route("/profile/time-zone", post(set_time_zone))
        .route("/profile/tokens", post(mint_token))
        .route("/profile/tokens/{id}/revoke", post(revoke_token))
}

fn back(ok: bool, message: impl Into<String>) -> Response {
    redirect_with("/profile", Some(Flash { ok, message: message.into() }))
}

/// Whole days, for people.
fn days(d: SignedDuration) -> i64 {
    d.as_secs() / 86_400
}

async fn profile_page(State(state): State<AppState>, session: Session) -> WebResult<Markup> {
    let p = &session.principal;
    let me = state.engine.user(p, "me").await?;
    let teams = state.engine.teams(p).await?;
    let team_names: Vec<&str> =
        me.teams.iter().filter_map(|id| teams.iter().find(|t| t.id == *id)).map(|t| t.name.as_str()).collect();
    let now = state.engine.now();
    let in_use = state.engine.token_in_use(session.secret()).await?.map(|t| t.id);
    // One's own live tokens (an admin's listing holds everyone's).
    let tokens: Vec<TokenInfo> = state
        .engine
        .tokens(p)
        .await?
        .into_iter()
        .filter(|t| t.user_id == p.user_id && t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now))
        .collect();
    let policy = state.engine.token_policy();
    let body = html! {
        h1 { "Your profile" }
        dl.profile #account {
            dt { "User name" } dd { (me.name) }
            dt { "Name" } dd { (me.display_name) }
            dt { "Role" } dd { (me.role.as_str()) }
            dt { "Teams" } dd { @if team_names.is_empty() { "none" } @else { (team_names.join(", ")) } }
        }
        section aria-labelledby="zone-title" {
            h2 #zone-title { "Time zone" }
            p.hint {
                "Times in the console are shown in this zone; leave it empty to use your browser's"
                span #browser-zone {} ". SLA clocks out of business hours name their calendar's own zone."
            }
            form method="post" action="/profile/time-zone" {
                (csrf_field(&session))
                label for="time-zone" { "Time zone (an IANA name, e.g. America/New_York)" }
                input #time-zone type="text" name="time_zone" list="time-zones" autocomplete="off" maxlength="64"
                    value=[session.time_zone.as_deref()] placeholder="your browser's";
                datalist #time-zones { @for z in time_zones() { option value=(z) {} } }
                button type="submit" { "Save time zone" }
            }
        }
        section aria-labelledby="password-title" {
            h2 #password-title { "Change your password" }
            p.hint { "At least 12 characters. Your other console and sign-in sessions end; this one and your API tokens go on." }
            form method="post" action="/profile/password" {
                (csrf_field(&session))
                label for="current-password" { "Current password" }
                input #current-password type="password" name="current_password" autocomplete="current-password" required;
                label for="new-password" { "New password" }
                input #new-password type="password" name="password" autocomplete="new-password" minlength="12" required;
                label for="repeat-password" { "New password again" }
                input #repeat-password type="password" name="repeat" autocomplete="new-password" minlength="12" required;
                button type="submit" { "Change password" }
            }
        }
        section aria-labelledby="tokens-title" {
            h2 #tokens-title { "Your API tokens and sessions" }
            div.table-wrap { table #tokens {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Created" } th scope="col" { "Expires" } th scope="col" { "" } } }
                tbody { @for t in &tokens { tr {
                    td { (t.name) @if in_use.as_deref() == Some(t.id.as_str()) { " " span.badge { "this session" } } }
                    td { (time(t.created_at)) }
                    td { @match t.expires_at { Some(e) => (time(e)), None => "never" } }
                    td { @if in_use.as_deref() != Some(t.id.as_str()) {
                        form method="post" action=(format!("/profile/tokens/{}/revoke", t.id)) {
                            (csrf_field(&session))
                            button type="submit" aria-label=(format!("Revoke {}", t.name)) { "Revoke" }
                        }
                    } }
                } } }
            } }
            h3 { "New API token" }
            p.hint {
                "For a script or an integration. It lives " (days(policy.default.min(policy.max))) " days unless you choose "
                "(at most " (days(policy.max)) "). The token is shown once; Ladder keeps only its hash."
            }
            form method="post" action="/profile/tokens" {
                (csrf_field(&session))
                label for="token-name" { "Name" }
                input #token-name type="text" name="name" required maxlength="200";
                label for="token-days" { "Expires in (days)" }
                input #token-days type="text" name="expires_in_days" inputmode="numeric" placeholder=(days(policy.default.min(policy.max)));
                label for="token-password" { "Your password, to confirm" }
                input #token-password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { "Create token" }
            }
        }
    };
    Ok(layout::page(&session, "Your profile", "/profile", body))
}

/// The zones the time-zone database knows, sorted (for the form's suggestions).
fn time_zones() -> Vec<String> {
    let mut zones: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
    zones.sort();
    zones
}

#[derive(Deserialize)]
struct TimeZoneForm {
    #[serde(default)]
    time_zone: Option<String>,
}

/// Saves the caller's own time zone (empty: the browser's).
async fn set_time_zone(State(state): State<AppState>, posted: Posted<TimeZoneForm>) -> WebResult<Response> {
    let (session, f) = (posted.session, posted.form);
    let p = &session.principal;
    let zone = given(f.time_zone).map(|z| z.trim().to_string());
    let saved = zone.clone().unwrap_or_else(|| "your browser's".into());
    match state.engine.set_time_zone(p, p.user_id, zone, state.engine.now()).await {
        Ok(()) => Ok(back(true, format!("Times are now shown in {saved}."))),
        Err(e) => Ok(back(false, format!("Not saved: {}", ApiError::from(e).0.detail))),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    password: String,
    repeat: String,
}

/// Sets the caller's own password (the engine checks the current one and the policy, and
/// ends the caller's other sign-in sessions).
async fn change_password(State(state): State<AppState>, posted: Posted<PasswordForm>) -> WebResult<Response> {
    let (session, f) = (posted.session, posted.form);
    if f.password != f.repeat {
        return Ok(back(false, "Not changed: the two new passwords differ."));
    }
    let p = &session.principal;
    let now = state.engine.now();
    match state
        .engine
        .set_password(p, p.user_id, f.password, Some(&f.current_password), Some(session.secret()), now)
        .await
    {
        Ok(0) => Ok(back(true, "Password changed.")),
        Ok(n) => Ok(back(true, format!("Password changed; {n} other session(s) signed out."))),
        Err(e) => Ok(back(false, format!("Not changed: {}", ApiError::from(e).0.detail))),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
    #[serde(default)]
    expires_in_days: Option<String>,
    password: String,
}

/// Mints an API token for the caller after checking their password, and shows it once.
async fn mint_token(State(state): State<AppState>, posted: Posted<TokenForm>) -> WebResult<Response> {
    let (session, f) = (posted.session, posted.form);
    let p = &session.principal;
    let lifetime = match given(f.expires_in_days) {
        None => None,
        Some(raw) => match raw.parse::<u16>() {
            Ok(d) if d > 0 => Some(SignedDuration::from_hours(i64::from(d) * 24)),
            _ => return Ok(back(false, format!("Not created: '{raw}' is not a number of days, e.g. 30."))),
        },
    };
    let minted = async {
        ladder_core::validate::non_empty("name", &f.name, 200)?;
        state.engine.confirm_password(p, "password", Some(&f.password)).await?;
        state.engine.mint_token(p, p.user_id, f.name.trim().to_string(), lifetime, state.engine.now()).await
    };
    let token = match minted.await {
        Ok(token) => token,
        Err(e) => return Ok(back(false, format!("Not created: {}", ApiError::from(e).0.detail))),
    };
    let page = html! {
        h1 { "Your new API token" }
        p.flash.ok role="status" { "Token “" (token.info.name) "” created. Copy it now: it is shown this once." }
        label for="new-token" { "Token" }
        input #new-token type="text" readonly value=(token.secret) autocomplete="off";
        p { "It expires " @match token.info.expires_at { Some(e) => (time(e)), None => "never" } "." }
        p.hint { "Send it as " code { "Authorization: Bearer …" } ". Revoke it on your profile when it is no longer needed." }
        p { a href="/profile" { "Back to your profile" } }
    };
    let mut response = layout::page(&session, "Your new API token", "/profile", page).into_response();
    // The secret is on this page only: no cache keeps it.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Deserialize)]
struct Empty {}

/// Revokes a token (one's own; an admin may revoke anyone's, as the API lets them).
async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Empty>,
) -> WebResult<Response> {
    let token = state.engine.revoke_token(&posted.session.principal, &id, state.engine.now()).await?;
    Ok(back(true, format!("Token “{}” revoked.", token.name)))
}
