//! A back-office team asks the front line to get something from the customer (a task).

use serde::Deserialize;

use super::require_active;
use crate::case::Case;
use crate::error::DomainError;
use crate::event::{CaseEvent, TaskCreated};
use crate::validate::non_empty;

// Also the JSON API's body (it needs no resolving).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = AskFrontLineBody))]
#[serde(deny_unknown_fields)]
pub struct AskFrontLine {
    /// What the front line should get from the customer.
    #[cfg_attr(feature = "schema", schema(pattern = r"\S"))]
    pub question: String,
}

pub(crate) fn decide(case: &Case, a: &AskFrontLine, action: &'static str) -> Result<Vec<CaseEvent>, DomainError> {
    require_active(case, action)?;
    non_empty("question", &a.question, crate::limits::MAX_NOTE)?;
    let Some(origin) = case.escalation_path.first() else {
        return Err(DomainError::transition(
            action,
            case.status,
            "the case did not come up from the front line; add an internal note or request information instead",
        ));
    };
    Ok(vec![CaseEvent::TaskCreated(TaskCreated {
        task: case.tasks.len() as u32,
        question: a.question.clone(),
        to_team: origin.team,
        to_user: origin.assignee,
    })])
}
