//! Close a resolved case. The command carries nothing (`CaseCommand::Close`).

use crate::case::{Case, Status};
use crate::error::DomainError;
use crate::event::{CaseEvent, Closed};

pub(crate) fn decide(case: &Case, action: &'static str) -> Result<Vec<CaseEvent>, DomainError> {
    if case.status != Status::Resolved {
        return Err(DomainError::transition(action, case.status, "resolve the case before closing it"));
    }
    Ok(vec![CaseEvent::Closed(Closed {})])
}
