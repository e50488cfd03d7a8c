//! Reopen a resolved case.

use serde::Deserialize;

use super::MAX_LINE;
use crate::case::{Case, Status};
use crate::error::DomainError;
use crate::event::{CaseEvent, Reopened};
use crate::validate::non_empty;

// Also the JSON API's body (it needs no resolving).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = ReopenBody))]
#[serde(deny_unknown_fields)]
pub struct Reopen {
    #[cfg_attr(feature = "schema", schema(pattern = r"\S"))]
    pub reason: String,
}

pub(crate) fn decide(case: &Case, r: &Reopen, action: &'static str) -> Result<Vec<CaseEvent>, DomainError> {
    if case.status != Status::Resolved {
        return Err(DomainError::transition(action, case.status, "only a resolved case can be reopened"));
    }
    non_empty("reason", &r.reason, MAX_LINE)?;
    Ok(vec![CaseEvent::Reopened(Reopened { reason: r.reason.clone() })])
}
