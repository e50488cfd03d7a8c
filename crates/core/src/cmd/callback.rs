//! Book a call-back for the outbound team, in a window of the customer's time.

use super::require_active;
use crate::case::Case;
use crate::command::TeamRef;
use crate::decide::Context;
use crate::error::DomainError;
use crate::event::{CallbackScheduled, CaseEvent};
use crate::validate::non_empty;

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleCallback {
    /// The outbound team that makes the call.
    pub team: TeamRef,
    /// The window, as instants (the engine converts the customer's local times).
    pub window_start: jiff::Timestamp,
    pub window_end: jiff::Timestamp,
    /// The customer's time zone the window was given in.
    pub time_zone: String,
    pub note: Option<String>,
}

pub(crate) fn decide(
    case: &Case,
    c: &ScheduleCallback,
    cx: &Context,
    action: &'static str,
) -> Result<Vec<CaseEvent>, DomainError> {
    require_active(case, action)?;
    if c.window_end <= c.window_start {
        return Err(DomainError::invalid("window_end", "must be after window_start"));
    }
    if c.window_end <= cx.now {
        return Err(DomainError::invalid("window_end", "the window is already over"));
    }
    if let Some(note) = &c.note {
        non_empty("note", note, crate::limits::MAX_NOTE)?;
    }
    Ok(vec![CaseEvent::CallbackScheduled(CallbackScheduled {
        callback: case.callbacks.len() as u32,
        team: c.team.id,
        window_start: c.window_start,
        window_end: c.window_end,
        time_zone: c.time_zone.clone(),
        note: c.note.clone(),
    })])
}
