//! Reopen a resolved case.

use super::MAX_LINE;
use crate::case::{Case, Status};
use crate::error::DomainError;
use crate::event::{CaseEvent, Reopened};
use crate::validate::non_empty;

#[derive(Debug, Clone, PartialEq)]
pub struct Reopen {
    pub reason: String,
}

pub(crate) fn decide(case: &Case, r: &Reopen, action: &'static str) -> Result<Vec<CaseEvent>, DomainError> {
    if case.status != Status::Resolved {
        return Err(DomainError::transition(action, case.status, "only a resolved case can be reopened"));
    }
    non_empty("reason", &r.reason, MAX_LINE)?;
    Ok(vec![CaseEvent::Reopened(Reopened { reason: r.reason.clone() })])
}
