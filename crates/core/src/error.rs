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
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid { field: field.into(), message: message.into() }
    }
    pub fn transition(action: &'static str, current: Status, reason: impl Into<String>) -> Self {
        DomainError::InvalidTransition { action, current, reason: reason.into() }
    }
}
