//! Apply an action with a value (a credit, a refund …), or ask for approval above one's limit.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{check_amount, require_active};
use crate::case::Case;
use crate::directory::Role;
use crate::error::DomainError;
use crate::event::{ActionApplied, ApprovalRequested, CaseEvent};
use crate::matrix::{AuthorityWindow, Matrix};
use crate::validate::{handle, non_empty};

/// A grant that counts against a limit together with a new one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct EarlierGrant {
    /// The number of the case it was granted on.
    pub case: u64,
    pub amount: f64,
    pub at: Timestamp,
}

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
    /// Each role's limit for the action (the matrix's rule; empty without one): the lowest
    /// role from supervisor up whose limit covers the window's total decides the approval.
    pub role_limits: BTreeMap<Role, f64>,
    /// Over what grants add up against the limits.
    pub window: AuthorityWindow,
    /// Grants of the action in the window on the customer's other cases (the engine reads
    /// them for a `customer_day` window; those on this case come from the case itself).
    pub earlier_elsewhere: Vec<EarlierGrant>,
}

impl ApplyAction {
    /// The command for `user_name` (of `role`) asking to grant `amount` of `action`, with
    /// the authority the matrix in force gives: the user's limit (their own override, else
    /// their role's), the role limits that route a request (overrides do not, and agents
    /// never decide approvals) and the rule's window. No matrix or no rule for the action:
    /// no authority anywhere.
    pub fn resolve(
        matrix: Option<&Matrix>,
        role: Role,
        user_name: &str,
        action: String,
        amount: f64,
        note: Option<String>,
    ) -> ApplyAction {
        let rule = matrix.and_then(|m| m.authority.iter().find(|a| a.action == action));
        ApplyAction {
            limit: matrix.and_then(|m| m.authority_limit(&action, role, Some(user_name))),
            role_limits: rule.map(|r| r.limits.clone()).unwrap_or_default(),
            window: rule.map(|r| r.window).unwrap_or_default(),
            earlier_elsewhere: Vec::new(),
            action,
            amount,
            note,
        }
    }

    /// The grants this one adds up with: the case's own of the same action inside the
    /// window, then those on the customer's other cases, oldest first.
    pub fn earlier(&self, case: &Case, now: Timestamp) -> Vec<EarlierGrant> {
        let mut earlier: Vec<EarlierGrant> = grants_in(case, &self.action, self.window, now)
            .chain(self.earlier_elsewhere.iter().filter(|g| self.window.counts(g.at, now)).cloned())
            .collect();
        earlier.sort_by_key(|g| g.at);
        earlier
    }

    /// The lowest role from supervisor up whose limit covers `total`.
    fn approver_role(&self, total: f64) -> Option<Role> {
        Role::ALL
            .into_iter()
            .filter(|r| *r >= Role::Supervisor)
            .find(|r| self.role_limits.get(r).is_some_and(|limit| within(total, *limit)))
    }
}

/// The grants of `action` on `case` that count in `window` at `now`.
pub fn grants_in<'a>(
    case: &'a Case,
    action: &'a str,
    window: AuthorityWindow,
    now: Timestamp,
) -> impl Iterator<Item = EarlierGrant> + 'a {
    case.applied_actions.iter().filter(move |g| g.action == action && window.counts(g.at, now)).map(|g| EarlierGrant {
        case: case.number,
        amount: g.amount,
        at: g.at,
    })
}

/// Whether `total` is within `limit` (exactly at it is within). Grants are summed in
/// floating point; a tolerance keeps `0.1 + 0.2` within a limit of `0.3`. Every comparison
/// of an amount with a limit — granting, routing, approving, countering — goes through here.
pub(crate) fn within(total: f64, limit: f64) -> bool {
    total <= limit + 1e-9
}

pub(crate) fn decide(
    case: &Case,
    a: &ApplyAction,
    now: Timestamp,
    action: &'static str,
) -> Result<Vec<CaseEvent>, DomainError> {
    require_active(case, action)?;
    handle("action", &a.action)?;
    check_amount(a.amount)?;
    if let Some(note) = &a.note {
        non_empty("note", note, crate::limits::MAX_NOTE)?;
    }
    let earlier = a.earlier(case, now);
    let earlier_total: f64 = earlier.iter().map(|g| g.amount).sum();
    let total = earlier_total + a.amount;
    // Exactly at the limit is within it.
    if a.limit.is_some_and(|limit| within(total, limit)) {
        return Ok(vec![CaseEvent::ActionApplied(ActionApplied {
            action: a.action.clone(),
            amount: a.amount,
            note: a.note.clone(),
            approval: None,
        })]);
    }
    let Some(approver_role) = a.approver_role(total) else {
        let highest = a.role_limits.values().copied().reduce(f64::max);
        let why = match highest {
            Some(highest) if earlier.is_empty() => format!(
                "no role may grant {} for '{}'; the highest limit is {highest}; ask for at most that",
                a.amount, a.action
            ),
            Some(highest) => format!(
                "no role may grant {} more for '{}': with {earlier_total} granted {} ({}) the total would be {total}; the highest limit is {highest}; ask for at most {}",
                a.amount,
                a.action,
                a.window.describe(),
                amounts(&earlier),
                (highest - earlier_total).max(0.0)
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
        earlier,
    })])
}

/// `50 on case 12, 50 on case 14`.
pub(crate) fn amounts(earlier: &[EarlierGrant]) -> String {
    earlier.iter().map(|g| format!("{} on case {}", g.amount, g.case)).collect::<Vec<_>>().join(", ")
}
