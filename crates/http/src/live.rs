//! `GET /api/v1/stream`: Server-Sent Events, one `case` event per change to a case the
//! caller may see. Every live stream (this one and the console board's) ends when its
//! credentials do: see [`stream_ends`].

use std::convert::Infallible;

use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use ladder_core::access::Principal;
use ladder_engine::AuthError;

use crate::AppState;
use crate::extract::Auth;

/// How often a live stream re-checks its token without being told to: a change made by
/// another server on the same database, or a token that expired, ends a stream this late.
const RECHECK: Duration = Duration::from_secs(30);

/// Resolves when a stream served to `principal`, who authenticated with the token `secret`,
/// must end: the server shuts down, the token no longer authenticates (signed out, revoked,
/// expired, the user deactivated or their password reset), or the user's role or teams
/// changed (the client reconnects and is served in its new scope). The token is checked
/// again at every credential change the engine announces, and every [`RECHECK`].
pub(crate) async fn stream_ends(state: AppState, secret: String, principal: Principal) {
    let mut shutting_down = state.shutting_down.clone();
    let mut changes = state.engine.credential_changes();
    let mut every = tokio::time::interval(RECHECK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            _ = shutting_down.wait_for(|down| *down) => return,
            changed = changes.changed() => if changed.is_err() { return },
            _ = every.tick() => {}
        }
        match state.engine.authenticate_token(&secret, state.engine.now()).await {
            Ok(now) if now.role == principal.role && now.teams == principal.teams => {}
            // The store did not answer: keep serving, and ask again at the next check.
            Err(AuthError::Store(e)) => tracing::warn!(error = %e, "a live stream could not re-check its token"),
            Ok(_) | Err(_) => return,
        }
    }
}

/// Server-Sent Events: one `case` event (a Case as JSON) per change to a case you may see.
/// The stream ends within seconds when its token stops being valid (signed out, revoked,
/// expired, the user deactivated or their password reset) or the user's role or teams
/// change: reconnect with a valid token.
#[utoipa::path(get, path = "/api/v1/stream", tag = "live",
    responses((status = 200, description = "An event stream of `case` events", content_type = "text/event-stream", body = String)))]
pub(crate) async fn stream(
    State(state): State<AppState>,
    auth: Auth,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let Auth(principal, secret) = auth;
    let ended = stream_ends(state.clone(), secret, principal.clone());
    let changes = BroadcastStream::new(state.engine.subscribe()).filter_map(move |c| {
        let case = c.ok()?;
        if principal.allows(&ladder_core::access::Action::ReadCase(&case)).is_err() {
            return None;
        }
        Event::default().event("case").json_data(state.case_dto(&case)).ok().map(Ok)
    });
    // The stream ends when its credentials do, or when the server shuts down (so it never
    // holds up a graceful exit).
    Sse::new(futures_util::StreamExt::take_until(changes, ended)).keep_alive(KeepAlive::default())
}
