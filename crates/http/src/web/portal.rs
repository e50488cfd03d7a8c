//! `/portal/{token}`: the customer portal. A customer opens their case by the signed link a
//! public reply carried (no account): its status and public messages, a reply form, "ask
//! for a supervisor", and once it is resolved a rating (CSAT 1–5 and a comment). Plain
//! HTML forms in the console's style; no JavaScript.
//!
//! The link is the credential: the engine checks it ([`ladder_engine::portal`]) and acts as
//! the customer. Every refusal of a link — malformed, tampered, expired, another
//! customer's case — is the same 404 page. The forms carry a CSRF token derived from a
//! random secret in a cookie of the portal's own (SameSite=Strict) and the link, so a page
//! elsewhere cannot post them. Posts are limited per link and per address, and bodies are
//! small.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use ladder_core::case::{Actor, Case, Status};
use ladder_engine::portal::{MAX_PORTAL_TEXT, TOKEN_CHARS, may_rate};
use ladder_engine::{PortalError, PortalRequest, PortalView, StoreError};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::layout;
use super::session::{self, CSRF_FIELD};
use crate::AppState;
use crate::limits::ClientIp;

/// The portal's form cookie: a random secret the CSRF tokens are derived from.
pub const FORM_COOKIE: &str = "ladder_portal";
/// The largest form body the portal reads.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Posts allowed per link, and per address, in [`WINDOW`].
pub const POSTS_PER_LINK: u32 = 20;
pub const POSTS_PER_ADDRESS: u32 = 60;
/// The window the post limits count in.
pub const WINDOW: Duration = Duration::from_secs(3600);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal/{token}", get(page))
        .route("/portal/{token}/reply", post(reply))
        .route("/portal/{token}/supervisor", post(supervisor))
        .route("/portal/{token}/rating", post(rating))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// The path with a portal link's token hidden, for logs: the token is a credential.
pub fn redacted_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/portal/") {
        Some(rest) => {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            format!("/portal/…{tail}").into()
        }
        None => path.into(),
    }
}

/// The request's URI for logs: a portal link's path without its token, anything else as is.
pub fn loggable_uri(uri: &axum::http::Uri) -> String {
    if uri.path().starts_with("/portal/") { redacted_path(uri.path()).into_owned() } else { uri.to_string() }
}

/// Posts counted per key in a fixed window: what one link and one address may send.
#[derive(Default)]
pub struct PortalLimits {
    counts: Mutex<HashMap<u64, (Instant, u32)>>,
    hasher: std::collections::hash_map::RandomState,
}

impl PortalLimits {
    /// Counts a post for `key`; `Err` with the wait when `limit` posts were made in the window.
    fn take(&self, key: impl Hash, limit: u32, now: Instant) -> Result<(), Duration> {
        let key = self.hasher.hash_one(key);
        let mut counts = self.counts.lock().expect("portal limits");
        if counts.len() > 100_000 {
            counts.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = counts.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            return Err(WINDOW.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }

    fn check(&self, token: &str, ip: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        if let Some(ip) = ip {
            self.take(("ip", ladder_engine::login_throttle::address_key(ip)), POSTS_PER_ADDRESS, now)?;
        }
        self.take(("link", token), POSTS_PER_LINK, now)
    }
}

/// The CSRF token of the portal's forms for this form secret and link.
fn csrf_token(secret: &str, token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"ladder portal csrf v1\0");
    h.update(secret.as_bytes());
    h.update(b"\0");
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

fn form_cookie(secret: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{FORM_COOKIE}={secret}; Path=/portal; HttpOnly; SameSite=Strict; Max-Age=86400"))
        .expect("a hex secret")
}

/// What every portal answer carries beyond the console's headers: never cached, never
/// indexed, and the link never sent on as a referrer.
fn private(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
}

fn frame(title: &str, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                link rel="stylesheet" href="/assets/console.css";
            }
            body.portal {
                a.skip href="#main" { "Skip to content" }
                header.top { span.brand { "Support" } }
                main #main tabindex="-1" { (main) }
            }
        }
    }
}

/// The one answer to a link that does not work, whatever the reason.
fn refused() -> Response {
    let body = frame(
        "Link not valid",
        html! {
            section.problem aria-labelledby="problem-title" {
                h1 #problem-title { "This link does not work" }
                p { "The link is not valid or has expired. Reply to our last email and we will send you a new one." }
            }
        },
    );
    private((StatusCode::NOT_FOUND, body).into_response())
}

fn unavailable(e: StoreError) -> Response {
    let status = match e {
        StoreError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "portal request failed");
    }
    let body = frame(
        "Try again",
        html! {
            section.problem { h1 { "Something went wrong" } p { "Please try again in a moment." } }
        },
    );
    let mut r = (status, body).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    private(r)
}

fn status_words(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::New => ("new", "Received: we will get back to you soon."),
        Status::Open => ("open", "We are working on it."),
        Status::PendingCustomer => ("pending_customer", "Waiting for your reply."),
        Status::PendingInternal => ("pending_internal", "We are checking with another team."),
        Status::Resolved => ("resolved", "Solved. Reply if it is not, and we will reopen it."),
        Status::Closed => ("closed", "Closed."),
    }
}

fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

#[derive(Deserialize, Default)]
struct Shown {
    /// What was just done (`reply`, `supervisor`, `rating`), for the confirmation.
    done: Option<String>,
}

/// What a refused form shows: the form's name, the message and what was typed.
struct Refusal<'a> {
    form: &'a str,
    message: String,
    typed: String,
}

fn render(view: &PortalView, token: &str, csrf: &str, done: Option<&str>, refusal: Option<&Refusal>) -> Markup {
    let case: &Case = &view.case;
    let (status_class, status_text) = status_words(case.status);
    let open = case.status != Status::Closed;
    let typed = |form: &str| refusal.filter(|r| r.form == form).map(|r| r.typed.as_str()).unwrap_or("");
    let error = |form: &str| -> Markup {
        html! {
            @if let Some(r) = refusal.filter(|r| r.form == form) {
                p.flash.error role="alert" { (r.message) }
            }
        }
    };
    let base = format!("/portal/{token}");
    let confirmation = match done {
        Some("reply") => Some("Thank you: your message is on your case."),
        Some("supervisor") => Some("A supervisor has been asked to look at your case."),
        Some("rating") => Some("Thank you for your rating."),
        _ => None,
    };
    let own_rating = case.csat.as_ref().filter(|c| c.by_customer);
    frame(
        &format!("Case #{}", case.number),
        html! {
            @if let Some(c) = confirmation { p.flash role="status" { (c) } }
            section.case-head aria-labelledby="case-title" {
                h1 #case-title { "Case #" (case.number) ": " (case.subject) }
                p { span class=(format!("badge status-{status_class}")) { (status_class.replace('_', " ")) } " " (status_text) }
                p.muted { "Opened " (when(case.created_at)) " · last update " (when(case.updated_at)) }
            }
            section aria-labelledby="messages-title" {
                h2 #messages-title { "Messages" }
                @if view.messages.is_empty() {
                    p.empty { "No messages yet." }
                } @else {
                    ol.timeline {
                        @for m in &view.messages {
                            @let mine = matches!(m.author, Actor::Customer { .. });
                            li class=(if mine { "event contact" } else { "event reply" }) {
                                p { strong { (if mine { "You" } else { "Support" }) } " · " (when(m.at)) }
                                div.body { (layout::paragraphs(&m.body)) }
                            }
                        }
                    }
                }
            }
            @if open {
                section.actions aria-labelledby="reply-title" {
                    h2 #reply-title { "Reply" }
                    (error("reply"))
                    form method="post" action=(format!("{base}/reply")) {
                        input type="hidden" name=(CSRF_FIELD) value=(csrf);
                        label for="body" { "Your message" }
                        textarea #body name="body" rows="5" required maxlength=(MAX_PORTAL_TEXT) { (typed("reply")) }
                        button type="submit" { "Send" }
                    }
                }
                @if view.can_ask_supervisor && !matches!(case.status, Status::Resolved) {
                    section.actions aria-labelledby="supervisor-title" {
                        details open[refusal.is_some_and(|r| r.form == "supervisor")] {
                            summary #supervisor-title { "Ask for a supervisor" }
                            (error("supervisor"))
                            form method="post" action=(format!("{base}/supervisor")) {
                                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                                label for="reason" { "Why would you like a supervisor to look at this?" }
                                textarea #reason name="reason" rows="3" required maxlength=(MAX_PORTAL_TEXT) { (typed("supervisor")) }
                                button type="submit" { "Ask for a supervisor" }
                            }
                        }
                    }
                }
            }
            @if may_rate(case) {
                section.actions aria-labelledby="rating-title" {
                    h2 #rating-title { "How did we do?" }
                    @if let Some(r) = own_rating {
                        p { "You rated this " (r.score) " of 5." }
                    }
                    (error("rating"))
                    @if case.status == Status::Resolved || own_rating.is_none() {
                        form method="post" action=(format!("{base}/rating")) {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            fieldset {
                                legend { "Your rating, 1 (very dissatisfied) to 5 (very satisfied)" }
                                @for score in 1..=5u8 {
                                    label {
                                        input type="radio" name="score" value=(score) required checked[own_rating.is_some_and(|r| r.score == score)];
                                        " " (score)
                                    }
                                }
                            }
                            label for="comment" { "Comment (optional)" }
                            textarea #comment name="comment" rows="3" maxlength=(MAX_PORTAL_TEXT) { (typed("rating")) }
                            button type="submit" { (if own_rating.is_some() { "Change my rating" } else { "Send my rating" }) }
                        }
                        @if own_rating.is_some() { p.muted { "You can change your rating until the case is closed." } }
                    }
                }
            }
            p.muted { "This link is yours: it works until " (when(view.link.expires_at)) "." }
        },
    )
}

/// The form secret of this request, or a new one (set on the answer).
fn form_secret(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match session::cookie(headers, FORM_COOKIE).filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())) {
        Some(secret) => (secret, None),
        None => {
            let secret = ladder_engine::credentials::random_secret();
            let cookie = form_cookie(&secret);
            (secret, Some(cookie))
        }
    }
}

/// A looks-right check before any work: a token of the wrong shape is refused at once.
fn plausible(token: &str) -> bool {
    token.len() == TOKEN_CHARS && token.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `GET /portal/{token}`: the case as its customer sees it.
async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(shown): Query<Shown>,
    headers: HeaderMap,
) -> Response {
    if !plausible(&token) {
        return refused();
    }
    let view = match state.engine.portal_view(&token, state.engine.now()).await {
        Ok(view) => view,
        Err(PortalError::Refused) => return refused(),
        Err(PortalError::Store(e)) => return unavailable(e),
    };
    let (secret, cookie) = form_secret(&headers);
    let body = render(&view, &token, &csrf_token(&secret, &token), shown.done.as_deref(), None);
    let mut response = body.into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    private(response)
}

#[derive(Deserialize)]
struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

#[derive(Deserialize)]
struct SupervisorForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
struct RatingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
}

/// A portal form as posted.
struct Submitted<'a> {
    csrf: &'a str,
    /// Which form (`reply`, `supervisor`, `rating`).
    form: &'static str,
    /// What was typed, shown again if the form is refused.
    typed: String,
    /// What it asks, or why it cannot ask anything.
    request: Result<PortalRequest, String>,
}

/// Runs a portal form: the link's signature, the CSRF token, the limits, then the engine.
async fn act(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
    posted: Submitted<'_>,
) -> Response {
    let Submitted { csrf, form, typed, request } = posted;
    // The link first, so a bad one gets the one answer whatever else the post carries.
    match state.engine.portal_link_signed(token, state.engine.now()).await {
        Ok(true) => {}
        Ok(false) => return refused(),
        Err(e) => return unavailable(e),
    }
    let expected = session::cookie(headers, FORM_COOKIE).map(|secret| csrf_token(&secret, token));
    if !expected.is_some_and(|t| session::constant_time_eq(t.as_bytes(), csrf.as_bytes())) {
        let body = frame(
            "Form expired",
            html! {
                section.problem {
                    h1 { "This form expired" }
                    p { "The form did not come from this page or is too old. " a href=(format!("/portal/{token}")) { "Open your case again" } " and send it once more." }
                }
            },
        );
        return private((StatusCode::FORBIDDEN, body).into_response());
    }
    if let Err(wait) = state.portal.check(token, ip) {
        let body = frame(
            "Too many requests",
            html! { section.problem { h1 { "Too many requests" } p { "Please wait a while before sending more." } } },
        );
        let mut r = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
        r.headers_mut().insert(header::RETRY_AFTER, crate::error::whole_seconds(wait).into());
        return private(r);
    }
    let now = state.engine.now();
    let outcome = match request {
        Ok(request) => state.engine.portal_act(token, request, now).await,
        Err(message) => {
            Err(PortalError::Store(StoreError::Domain(ladder_core::DomainError::invalid("score", message))))
        }
    };
    let message = match outcome {
        Ok(_) => return private(Redirect::to(&format!("/portal/{token}?done={form}")).into_response()),
        Err(PortalError::Refused) | Err(PortalError::Store(StoreError::Forbidden(_) | StoreError::NotFound(_))) => {
            return refused();
        }
        Err(PortalError::Store(StoreError::Domain(e))) => customer_words(&e),
        Err(PortalError::Store(e)) => return unavailable(e),
    };
    // The page again, with the refusal beside its form and what was typed.
    let view = match state.engine.portal_view(token, now).await {
        Ok(view) => view,
        Err(PortalError::Refused) => return refused(),
        Err(PortalError::Store(e)) => return unavailable(e),
    };
    let (secret, cookie) = form_secret(headers);
    let refusal = Refusal { form, message, typed };
    let body = render(&view, token, &csrf_token(&secret, token), None, Some(&refusal));
    let mut response = (StatusCode::UNPROCESSABLE_ENTITY, body).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    private(response)
}

/// A refusal in the customer's words: what to do, without the console's vocabulary.
fn customer_words(e: &ladder_core::DomainError) -> String {
    use ladder_core::DomainError as E;
    match e {
        E::Invalid { field, message } if field == "body" || field == "reason" || field == "comment" => {
            format!("Please check your text: {message}.")
        }
        E::Invalid { field, .. } if field == "score" => "Please choose a rating from 1 to 5.".into(),
        E::NoOwner { .. } => {
            "A supervisor cannot be asked from here just now; please reply and we will arrange it.".into()
        }
        other => {
            let text = other.to_string();
            if text.contains("top level") {
                "Your case is already with our most senior team.".into()
            } else if text.contains("already recorded") {
                "Your rating for this case is already recorded.".into()
            } else if text.contains("resolved") {
                "You can rate your case once it is solved.".into()
            } else {
                "This cannot be done on your case right now.".into()
            }
        }
    }
}

/// `POST /portal/{token}/reply`: the customer's message, threaded onto the case.
async fn reply(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<ReplyForm>,
) -> Response {
    let request = Ok(PortalRequest::Reply { body: f.body.trim().to_string() });
    let posted = Submitted { csrf: &f.csrf, form: "reply", typed: f.body, request };
    act(&state, &token, &headers, ip, posted).await
}

/// `POST /portal/{token}/supervisor`: a hierarchical escalation the customer initiates.
async fn supervisor(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<SupervisorForm>,
) -> Response {
    let request = Ok(PortalRequest::AskSupervisor { reason: f.reason.trim().to_string() });
    let posted = Submitted { csrf: &f.csrf, form: "supervisor", typed: f.reason, request };
    act(&state, &token, &headers, ip, posted).await
}

/// `POST /portal/{token}/rating`: the customer's CSAT for the resolution.
async fn rating(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<RatingForm>,
) -> Response {
    let request = match f.score.trim().parse::<u8>() {
        Ok(score) if (1..=5).contains(&score) => {
            let comment = Some(f.comment.trim().to_string()).filter(|c| !c.is_empty());
            Ok(PortalRequest::Rate { score, comment })
        }
        _ => Err("choose 1 to 5".to_string()),
    };
    let posted = Submitted { csrf: &f.csrf, form: "rating", typed: f.comment, request };
    act(&state, &token, &headers, ip, posted).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_never_see_a_link() {
        assert_eq!(redacted_path("/portal/abc123"), "/portal/…");
        assert_eq!(redacted_path("/portal/abc123/reply"), "/portal/…/reply");
        assert_eq!(redacted_path("/queue"), "/queue");
    }

    #[test]
    fn posts_are_counted_per_key_in_a_window() {
        let limits = PortalLimits::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limits.take("k", 3, t0).is_ok());
        }
        assert!(limits.take("k", 3, t0).is_err());
        assert!(limits.take("other", 3, t0).is_ok());
        assert!(limits.take("k", 3, t0 + WINDOW).is_ok(), "a new window");
    }
}
