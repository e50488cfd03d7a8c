//! Escalate a case: up the ladder (hierarchical) or to a team with the skill (functional).

use super::{MAX_LINE, MAX_TEXT, check_target_user, check_team_level, require_active, target_level, team_of_user_at};
use crate::case::Case;
use crate::command::{TeamRef, UserRef};
use crate::decide::Context;
use crate::directory::{LevelId, Role};
use crate::error::{DomainError, TeamChoice};
use crate::event::{CaseEvent, Escalated, EscalationKind, Initiator, TeamChosen};
use crate::validate::non_empty;

#[derive(Debug, Clone, PartialEq)]
pub struct Escalate {
    pub kind: EscalationKind,
    pub initiator: Initiator,
    pub to_level: Option<LevelId>,
    pub to_team: Option<TeamRef>,
    pub to_user: Option<UserRef>,
    pub reason: String,
    pub tried: Option<String>,
    /// When the escalation names neither team nor person and [`target_team`] could not
    /// choose one: the teams that work the target level. If nothing else in the write (a
    /// matrix rule) gives the case a team either, the escalation is refused with them
    /// ([`check_owner`]).
    pub candidates: Vec<TeamChoice>,
    /// How the engine chose `to_team` by skill, when it did ([`super::escalate_target`]):
    /// recorded on the event.
    pub team_choice: Option<TeamChosen>,
}

/// No orphan: after a move between levels (an escalation or a de-escalation) and
/// everything that followed it in the same write (the matrix's rules), the case has a team
/// or a person. Refuses otherwise, listing `candidates`, the teams to choose from.
pub fn check_owner(candidates: &[TeamChoice], after: &Case) -> Result<(), DomainError> {
    if after.team.is_some() || after.assignee.is_some() {
        return Ok(());
    }
    let level = after.level.to_string();
    let message = if candidates.is_empty() {
        format!("the case would be at {level} with no team and nobody assigned; name the team in to_team")
    } else {
        let names: Vec<&str> = candidates.iter().map(|c| c.team.as_str()).collect();
        format!(
            "several teams work {level} ({}) and nothing says which should take the case; choose one in to_team",
            names.join(", ")
        )
    };
    Err(DomainError::NoOwner { level, message, candidates: candidates.to_vec() })
}

pub(crate) fn decide(
    case: &Case,
    e: &Escalate,
    cx: &Context,
    action: &'static str,
) -> Result<Vec<CaseEvent>, DomainError> {
    require_active(case, action)?;
    non_empty("reason", &e.reason, MAX_LINE)?;
    match &e.tried {
        Some(tried) => non_empty("tried", tried, MAX_TEXT)?,
        None if e.initiator == Initiator::Agent => {
            return Err(DomainError::invalid(
                "tried",
                "is required when an agent escalates: say what was already tried",
            ));
        }
        None => {}
    }
    let current = cx.ladder.check("level", &case.level)?;
    if let Some(l) = &e.to_level {
        cx.ladder.check("to_level", l)?;
    }
    let to_level = match e.kind {
        EscalationKind::Functional => {
            let Some(team) = &e.to_team else {
                return Err(DomainError::invalid(
                    "to_team",
                    "a functional escalation needs the team with the skill (to_team) or the skills it must offer (skills)",
                ));
            };
            if let Some(l) = &e.to_level {
                check_team_level("to_team", team, l)?;
            }
            let rank = cx.ladder.check("to_team", &team.level)?;
            if rank < current {
                return Err(DomainError::invalid(
                    "to_team",
                    format!(
                        "team '{}' works level {}, below the case's level {}; use de-escalate to hand a case down",
                        team.slug, team.level, case.level
                    ),
                ));
            }
            if case.team == Some(team.id) {
                return Err(DomainError::transition(
                    "escalate",
                    case.status,
                    format!("the case is already with team '{}'", team.slug),
                ));
            }
            team.level.clone()
        }
        EscalationKind::Hierarchical => {
            let target =
                target_level(case, "escalate", (&e.to_level, &e.to_team), cx.ladder.above(&case.level), || {
                    format!("the case is already at the top level {}", case.level)
                })?;
            let rank = cx.ladder.check("to_level", &target)?;
            if rank <= current {
                let why = if current + 1 == cx.ladder.levels.len() {
                    format!("the case is already at the top level {}", case.level)
                } else {
                    format!(
                        "a hierarchical escalation goes up: choose a level above {} ({})",
                        case.level,
                        cx.ladder.levels[current + 1..].iter().map(|l| l.0.as_str()).collect::<Vec<_>>().join(", ")
                    )
                };
                return Err(DomainError::transition("escalate", case.status, why));
            }
            if let Some(t) = &e.to_team {
                check_team_level("to_team", t, &target)?;
            }
            if let Some(u) = &e.to_user
                && u.role < Role::Supervisor
            {
                return Err(DomainError::invalid(
                    "to_user",
                    format!(
                        "a hierarchical escalation to a person goes to a supervisor or manager; '{}' is an agent",
                        u.name
                    ),
                ));
            }
            target
        }
    };
    if let Some(u) = &e.to_user {
        check_target_user(u, e.to_team.as_ref(), &to_level)?;
    }
    let to_team = match (&e.to_team, &e.to_user) {
        (Some(t), _) => Some(t.id),
        (None, Some(u)) => team_of_user_at(u, &to_level),
        (None, None) => None,
    };
    Ok(vec![CaseEvent::Escalated(Escalated {
        kind: e.kind,
        initiator: e.initiator,
        from_level: case.level.clone(),
        to_level,
        from_team: case.team,
        to_team,
        from_assignee: case.assignee,
        to_user: e.to_user.as_ref().map(|u| u.id),
        reason: e.reason.trim().to_string(),
        tried: e.tried.clone(),
        team_choice: e.team_choice.clone(),
    })])
}
