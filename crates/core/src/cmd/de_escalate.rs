//! De-escalate a case: hand it down the ladder with guidance.

use super::{MAX_TEXT, check_target_user, check_team_level, require_active, target_level, team_of_user_at};
use crate::case::Case;
use crate::command::{TeamRef, UserRef};
use crate::decide::Context;
use crate::directory::LevelId;
use crate::error::DomainError;
use crate::event::{CaseEvent, DeEscalated};
use crate::validate::non_empty;

#[derive(Debug, Clone, PartialEq)]
pub struct DeEscalate {
    pub to_level: Option<LevelId>,
    pub to_team: Option<TeamRef>,
    pub to_user: Option<UserRef>,
    pub guidance: String,
}

pub(crate) fn decide(
    case: &Case,
    d: &DeEscalate,
    cx: &Context,
    action: &'static str,
) -> Result<Vec<CaseEvent>, DomainError> {
    require_active(case, action)?;
    non_empty("guidance", &d.guidance, MAX_TEXT)?;
    let current = cx.ladder.check("level", &case.level)?;
    // The stop the case last came up from below this level; a lateral (same-level) escalation
    // also leaves a stop, and de-escalating to it would not go down.
    let last_stop = case.escalation_path.iter().rev().find(|s| cx.ladder.rank(&s.level).is_some_and(|r| r < current));
    let next = last_stop.map(|stop| &stop.level).or_else(|| cx.ladder.below(&case.level));
    let target = target_level(case, "de-escalate", (&d.to_level, &d.to_team), next, || {
        format!("the case is already at the lowest level {}", case.level)
    })?;
    let rank = cx.ladder.check("to_level", &target)?;
    if rank >= current {
        return Err(DomainError::transition(
            "de-escalate",
            case.status,
            if current == 0 {
                format!("the case is already at the lowest level {}", case.level)
            } else {
                format!("de-escalation goes down: choose a level below {}", case.level)
            },
        ));
    }
    if let Some(t) = &d.to_team {
        check_team_level("to_team", t, &target)?;
    }
    if let Some(u) = &d.to_user {
        check_target_user(u, d.to_team.as_ref(), &target)?;
    }
    // Without an explicit target, hand the case back to where it came from at that level.
    let stop = case.escalation_path.iter().rev().find(|s| s.level == target);
    let to_team =
        d.to_team.as_ref().map(|t| t.id).or_else(|| {
            d.to_user.as_ref().and_then(|u| team_of_user_at(u, &target)).or_else(|| stop.and_then(|s| s.team))
        });
    let to_user = match (&d.to_user, &d.to_team) {
        (Some(u), _) => Some(u.id),
        (None, Some(_)) => None,
        (None, None) => stop.and_then(|s| s.assignee),
    };
    Ok(vec![CaseEvent::DeEscalated(DeEscalated {
        from_level: case.level.clone(),
        to_level: target,
        from_team: case.team,
        to_team,
        to_user,
        guidance: d.guidance.clone(),
    })])
}
