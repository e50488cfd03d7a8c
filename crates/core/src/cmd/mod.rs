//! One file per case command: each holds the command's type, its validation and the
//! function that decides it (`decide`), which [`crate::decide::decide`] dispatches to.
//! The checks several commands share live here.

use crate::case::Case;
use crate::command::{TeamRef, UserRef};
use crate::directory::{LevelId, Role};
use crate::error::DomainError;
use crate::ids::TeamId;
use crate::validate::handle;

pub mod answer_task;
pub mod apply_action;
pub mod approval;
pub mod ask_front_line;
pub mod assign;
pub mod callback;
pub mod close;
pub mod csat;
pub mod de_escalate;
pub mod escalate;
pub mod escalate_target;
pub mod message;
pub mod open;
pub mod reopen;
pub mod request_info;
pub mod resolve;
pub mod transfer;
pub mod update;

/// The longest free text a command takes (a message body, a description, a question to
/// the customer); notes the case document keeps take [`crate::limits::MAX_NOTE`].
pub(crate) const MAX_TEXT: usize = 65_536;
/// The longest one-line text a command takes (a reason).
pub(crate) const MAX_LINE: usize = 2_000;

/// Commands that move a case's work along need it active (not resolved or closed).
pub(crate) fn require_active(case: &Case, action: &'static str) -> Result<(), DomainError> {
    if case.status.is_active() {
        Ok(())
    } else {
        Err(DomainError::transition(action, case.status, "reopen the case first"))
    }
}

pub(crate) fn check_tags<'a>(field: &str, tags: impl IntoIterator<Item = &'a String>) -> Result<(), DomainError> {
    for t in tags {
        handle(field, t)?;
    }
    Ok(())
}

pub(crate) fn check_category(category: &Option<String>) -> Result<(), DomainError> {
    match category {
        Some(c) => handle("category", c),
        None => Ok(()),
    }
}

/// A user may take work on a team they belong to; managers and admins anywhere.
pub(crate) fn check_member(field: &str, user: &UserRef, team: Option<&TeamRef>) -> Result<(), DomainError> {
    if !user.active {
        return Err(DomainError::invalid(field, format!("user '{}' is deactivated", user.name)));
    }
    if let Some(team) = team
        && user.role < Role::Manager
        && !user.teams.iter().any(|t| t.id == team.id)
    {
        return Err(DomainError::invalid(
            field,
            format!("user '{}' is not a member of team '{}'", user.name, team.slug),
        ));
    }
    Ok(())
}

pub(crate) fn check_team_level(field: &str, team: &TeamRef, level: &LevelId) -> Result<(), DomainError> {
    if &team.level != level {
        return Err(DomainError::invalid(
            field,
            format!("team '{}' works level {}, not {level}", team.slug, team.level),
        ));
    }
    Ok(())
}

/// The person an escalation or de-escalation names (`to_user`): a member of the named team
/// (see [`check_member`]) who works the level the case goes to.
pub(crate) fn check_target_user(user: &UserRef, team: Option<&TeamRef>, level: &LevelId) -> Result<(), DomainError> {
    check_member("to_user", user, team)?;
    if !user.levels.is_empty() && !user.levels.contains(level) {
        return Err(DomainError::invalid("to_user", format!("user '{}' does not work level {level}", user.name)));
    }
    Ok(())
}

/// The level a move up or down goes to: the one named, else the named team's, else `next`
/// (the next level in the move's direction). Without any, the move is refused as a
/// transition of `case` saying `none_left`.
pub(crate) fn target_level(
    case: &Case,
    action: &'static str,
    (to_level, to_team): (&Option<LevelId>, &Option<TeamRef>),
    next: Option<&LevelId>,
    none_left: impl FnOnce() -> String,
) -> Result<LevelId, DomainError> {
    match (to_level, to_team, next) {
        (Some(l), _, _) => Ok(l.clone()),
        (None, Some(t), _) => Ok(t.level.clone()),
        (None, None, Some(l)) => Ok(l.clone()),
        (None, None, None) => Err(DomainError::transition(action, case.status, none_left())),
    }
}

/// The team through which a named user works `level`: their first team at that level.
pub(crate) fn team_of_user_at(user: &UserRef, level: &LevelId) -> Option<TeamId> {
    user.teams.iter().find(|t| &t.level == level).map(|t| t.id)
}

/// An amount of money or goods: a finite number above zero.
pub(crate) fn check_amount(amount: f64) -> Result<(), DomainError> {
    if !amount.is_finite() || amount <= 0.0 {
        return Err(DomainError::invalid("amount", format!("must be a finite number above 0, not {amount}")));
    }
    Ok(())
}
