//! Assign a case to a user, or unassign it.

use super::check_member;
use crate::case::Case;
use crate::command::{TeamRef, UserRef};
use crate::error::DomainError;
use crate::event::{Assigned, CaseEvent, Unassigned};

/// `None` unassigns.
#[derive(Debug, Clone, PartialEq)]
pub struct Assign {
    pub assignee: Option<UserRef>,
}

pub(crate) fn decide(case: &Case, a: &Assign) -> Result<Vec<CaseEvent>, DomainError> {
    match (&a.assignee, case.assignee) {
        (None, None) => Err(DomainError::transition("unassign", case.status, "the case has no assignee")),
        (None, Some(previous)) => Ok(vec![CaseEvent::Unassigned(Unassigned { previous })]),
        (Some(user), previous) => {
            if previous == Some(user.id) {
                return Err(DomainError::transition(
                    "assign",
                    case.status,
                    format!("the case is already assigned to '{}'", user.name),
                ));
            }
            if !case.status.is_active() {
                return Err(DomainError::transition("assign", case.status, "reopen the case first"));
            }
            // Membership of the case's team is checked by team id only; the level is the case's.
            let team = case.team.map(|id| TeamRef { id, slug: id.to_string(), level: case.level.clone() });
            check_member_by_id(user, team.as_ref())?;
            Ok(vec![CaseEvent::Assigned(Assigned { assignee: user.id, previous })])
        }
    }
}

fn check_member_by_id(user: &UserRef, team: Option<&TeamRef>) -> Result<(), DomainError> {
    check_member("assignee", user, team).map_err(|e| match e {
        DomainError::Invalid { field, message } => {
            DomainError::Invalid { field, message: message.replace("team '", "the case's team '") }
        }
        other => other,
    })
}
