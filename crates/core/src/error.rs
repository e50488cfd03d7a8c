//! Why a command was refused.

use crate::case::Status;

/// A refusal from the domain. Each variant says what was wrong and what would be valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// A field of the command is missing or malformed.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The command does not apply to the case in its current state.
    #[error("cannot {action} a case that is {current}: {reason}")]
    InvalidTransition { action: &'static str, current: Status, reason: String },
    /// The command needs a case that does not exist yet, or opens one that does.
    #[error("{0}")]
    NoSuchCase(String),
    /// An escalation would leave the case at a level with no team and nobody assigned: no
    /// team works the level, or several do and nothing says which. `candidates` are the
    /// teams to choose from (empty when no team works the level).
    #[error("to_team: {message}")]
    NoOwner { level: String, message: String, candidates: Vec<TeamChoice> },
}

/// A team offered as a choice when a command cannot tell which team should take a case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TeamChoice {
    /// The team's slug, as `to_team` takes it.
    pub team: String,
    pub name: String,
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid { field: field.into(), message: message.into() }
    }
    pub fn transition(action: &'static str, current: Status, reason: impl Into<String>) -> Self {
        DomainError::InvalidTransition { action, current, reason: reason.into() }
    }
}
