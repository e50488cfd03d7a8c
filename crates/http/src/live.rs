//! `GET /api/v1/stream`: Server-Sent Events, one `case` event per change to a case the
//! caller may see.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::AppState;
use crate::extract::Auth;

/// Server-Sent Events: one `case` event (a Case as JSON) per change to a case you may see.
#[utoipa::path(get, path = "/api/v1/stream", tag = "live",
    responses((status = 200, description = "An event stream of `case` events", content_type = "text/event-stream", body = String)))]
pub(crate) async fn stream(
    State(state): State<AppState>,
    auth: Auth,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let principal = auth.0;
    let mut shutting_down = state.shutting_down.clone();
    let ended = async move {
        let _ = shutting_down.wait_for(|down| *down).await;
    };
    let changes = BroadcastStream::new(state.engine.subscribe()).filter_map(move |c| {
        let case = c.ok()?;
        if principal.allows(&ladder_core::access::Action::ReadCase(&case)).is_err() {
            return None;
        }
        Event::default().event("case").json_data(state.case_dto(&case)).ok().map(Ok)
    });
    // The stream ends when the server shuts down, so it never holds up a graceful exit.
    Sse::new(futures_util::StreamExt::take_until(changes, ended)).keep_alive(KeepAlive::default())
}
