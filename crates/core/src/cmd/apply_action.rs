//! Apply an action with a value (a credit, a refund …), or ask for approval above one's limit.

use super::{check_amount, require_active};
use crate::case::Case;
use crate::directory::Role;
use crate::error::DomainError;
use crate::event::{ActionApplied, ApprovalRequested, CaseEvent};
use crate::matrix::Matrix;
use crate::validate::{handle, non_empty};

/// An action with a value. The engine resolves the authority the matrix gives: within the
/// actor's `limit` it applies at once; above it an approval goes to `approver_role`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyAction {
    /// `credit`, `refund`, `fee_waiver`, `replacement` … (an `[[authority]]` action).
    pub action: String,
    pub amount: f64,
    pub note: Option<String>,
    /// The most the actor may grant without approval; `None`: no authority at all.
    pub limit: Option<f64>,
    /// The lowest role whose limit covers the amount (at least a supervisor); `None` when
    /// no role's does.
    pub approver_role: Option<Role>,
    /// The highest role limit for the action, for the refusal when no role suffices;
    /// `None` when the matrix in force has no authority rule for it.
    pub highest_limit: Option<f64>,
}

impl ApplyAction {
    /// The command for `user_name` (of `role`) asking to grant `amount` of `action`, with
    /// the authority the matrix in force gives: the user's limit (their own override, else
    /// their role's), the lowest role from supervisor up whose *role* limit covers the
    /// amount (overrides do not route requests, and agents never decide approvals), and the
    /// highest role limit. No matrix or no rule for the action: no authority anywhere.
    pub fn resolve(
        matrix: Option<&Matrix>,
        role: Role,
        user_name: &str,
        action: String,
        amount: f64,
        note: Option<String>,
    ) -> ApplyAction {
        let rule = matrix.and_then(|m| m.authority.iter().find(|a| a.action == action));
        let approver_role = rule.and_then(|rule| {
            Role::ALL
                .into_iter()
                .filter(|r| *r >= Role::Supervisor)
                .find(|r| rule.limits.get(r).is_some_and(|limit| amount <= *limit))
        });
        ApplyAction {
            limit: matrix.and_then(|m| m.authority_limit(&action, role, Some(user_name))),
            approver_role,
            highest_limit: rule.and_then(|rule| rule.limits.values().copied().reduce(f64::max)),
            action,
            amount,
            note,
        }
    }
}

pub(crate) fn decide(case: &Case, a: &ApplyAction, action: &'static str) -> Result<Vec<CaseEvent>, DomainError> {
    require_active(case, action)?;
    handle("action", &a.action)?;
    check_amount(a.amount)?;
    if let Some(note) = &a.note {
        non_empty("note", note, crate::limits::MAX_NOTE)?;
    }
    // Exactly at the limit is within it.
    if a.limit.is_some_and(|limit| a.amount <= limit) {
        return Ok(vec![CaseEvent::ActionApplied(ActionApplied {
            action: a.action.clone(),
            amount: a.amount,
            note: a.note.clone(),
            approval: None,
        })]);
    }
    let Some(approver_role) = a.approver_role else {
        let why = match a.highest_limit {
            Some(highest) => format!(
                "no role may grant {} for '{}'; the highest limit is {highest}; ask for at most that",
                a.amount, a.action
            ),
            None => format!(
                "no role may grant '{}': the matrix in force sets no authority limits for it; add an [[authority]] rule",
                a.action
            ),
        };
        return Err(DomainError::invalid("amount", why));
    };
    Ok(vec![CaseEvent::ApprovalRequested(ApprovalRequested {
        approval: case.approvals.len() as u32,
        action: a.action.clone(),
        amount: a.amount,
        note: a.note.clone(),
        approver_role,
    })])
}
