//! Transfer a case to another team on the same level.

use super::{MAX_LINE, check_member, require_active};
use crate::case::Case;
use crate::command::{TeamRef, UserRef};
use crate::error::DomainError;
use crate::event::{CaseEvent, Transferred};

#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub to_team: TeamRef,
    pub to_user: Option<UserRef>,
    pub reason: String,
}

pub(crate) fn decide(case: &Case, t: &Transfer, action: &'static str) -> Result<Vec<CaseEvent>, DomainError> {
    require_active(case, action)?;
    if t.to_team.level != case.level {
        return Err(DomainError::invalid(
            "to_team",
            format!(
                "team '{}' works level {} but the case is at {}; a transfer stays on the same level (use escalate or de-escalate)",
                t.to_team.slug, t.to_team.level, case.level
            ),
        ));
    }
    if case.team == Some(t.to_team.id) && t.to_user.as_ref().map(|u| u.id) == case.assignee {
        return Err(DomainError::transition(
            "transfer",
            case.status,
            format!("the case is already with team '{}'", t.to_team.slug),
        ));
    }
    if let Some(user) = &t.to_user {
        check_member("to_user", user, Some(&t.to_team))?;
    }
    if t.reason.chars().count() > MAX_LINE {
        return Err(DomainError::invalid("reason", format!("is longer than {MAX_LINE} characters")));
    }
    Ok(vec![CaseEvent::Transferred(Transferred {
        from_team: case.team,
        to_team: t.to_team.id,
        to_user: t.to_user.as_ref().map(|u| u.id),
        reason: t.reason.clone(),
    })])
}
