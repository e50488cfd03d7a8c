//! `/live/stream`: the agent pages' live feed. One `case` event per change to a case the
//! session may read (`core::access`'s `ReadCase`, asked through the engine like the API's
//! stream), carrying the few facts a page compares with what it shows ([`LiveMarks`]).
//! `/assets/live.js` listens on the queue and the case page: when a case on the page
//! changed, it loads the page again in the background, swaps the parts marked
//! `data-live-region` (never a form being typed in) and says what changed ("new message",
//! "reassigned", "approval decided", "SLA at risk") beside an "updated" marker. Without
//! JavaScript the pages are as of loading them.

use std::convert::Infallible;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use ladder_core::access::Action;
use ladder_core::case::Case;
use serde::Serialize;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::session::Session;
use super::{WebResult, allow};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/live/stream", get(live_stream))
}

/// What a page shows of a case and compares with each change: the page carries the marks
/// it was rendered with (`data-live-marks`), the stream the marks after each change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveMarks {
    pub number: u64,
    pub version: u64,
    pub status: String,
    pub level: String,
    pub team: Option<String>,
    pub assignee: Option<String>,
    /// Messages on the case (replies, notes, customer contacts).
    pub messages: u32,
    /// Approval requests still waiting.
    pub pending_approvals: usize,
    /// Approval requests decided.
    pub decided_approvals: usize,
    /// The worst standing of the live SLA clocks, as the API's `sla`.
    pub sla: Option<String>,
    /// Whether the case is in the session's queue: assigned to them or at one of their teams.
    pub mine: bool,
}

impl LiveMarks {
    /// The marks of `case` for the principal of `session`.
    pub fn of(state: &AppState, session: &Session, case: &Case) -> LiveMarks {
        let p = &session.principal;
        let pending = case.pending_approvals().count();
        LiveMarks {
            number: case.number,
            version: case.version,
            status: case.status.as_str().to_string(),
            level: case.level.0.clone(),
            team: case.team.map(|t| t.to_string()),
            assignee: case.assignee.map(|u| u.to_string()),
            messages: case.n_messages,
            pending_approvals: pending,
            decided_approvals: case.approvals.len() - pending,
            sla: state.case_dto(case).sla,
            mine: case.assignee == Some(p.user_id) || case.team.is_some_and(|t| p.teams.contains(&t)),
        }
    }

    /// The marks as the page's `data-live-marks` attribute.
    pub fn attribute(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// `GET /live/stream`: one `case` event ([`LiveMarks`] as JSON) per change to a case the
/// session may read. It ends when the session does, or when the server shuts down.
async fn live_stream(
    State(state): State<AppState>,
    session: Session,
) -> WebResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    allow(&state, &session, &Action::ListCases)?;
    let ended = crate::live::stream_ends(state.clone(), session.secret().to_string(), session.principal.clone());
    let changes = BroadcastStream::new(state.engine.subscribe()).filter_map(move |change| {
        let case = change.ok()?;
        session.principal.allows(&Action::ReadCase(&case)).ok()?;
        Event::default().event("case").json_data(LiveMarks::of(&state, &session, &case)).ok().map(Ok)
    });
    Ok(Sse::new(futures_util::StreamExt::take_until(changes, ended)).keep_alive(KeepAlive::default()))
}
