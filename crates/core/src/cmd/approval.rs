//! Approve, deny or counter an approval request.

use super::check_amount;
use crate::case::{ApprovalState, Case};
use crate::error::DomainError;
use crate::event::{ActionApplied, ApprovalDecided, ApprovalOutcome, CaseEvent};
use crate::validate::non_empty;

/// What an approver decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Approve,
    /// Refuse (a comment is required).
    Deny,
    /// Grant a smaller amount instead.
    Counter {
        amount: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecideApproval {
    /// The approval's number on the case (from 0).
    pub approval: u32,
    pub decision: Decision,
    pub comment: Option<String>,
    /// The most the approver may grant for the approval's action; `None`: no authority.
    pub approver_limit: Option<f64>,
}

/// Who may decide is checked by [`crate::access::Principal::may`]; this checks the request
/// is still open and the decision is well-formed.
pub(crate) fn decide(case: &Case, d: &DecideApproval, action: &'static str) -> Result<Vec<CaseEvent>, DomainError> {
    let Some(approval) = case.approvals.get(d.approval as usize) else {
        let known = match case.approvals.len() {
            0 => "it has none".to_string(),
            n => format!("valid numbers are 0 to {}", n - 1),
        };
        return Err(DomainError::invalid("approval", format!("the case has no approval {}; {known}", d.approval)));
    };
    if approval.state != ApprovalState::Pending {
        return Err(DomainError::transition(
            action,
            case.status,
            format!("approval {} is already {}", d.approval, approval.state.as_str()),
        ));
    }
    if let Some(comment) = &d.comment {
        non_empty("comment", comment, crate::limits::MAX_NOTE)?;
    }
    let (outcome, amount) = match d.decision {
        Decision::Approve => (ApprovalOutcome::Approved, Some(approval.amount)),
        Decision::Deny => {
            if d.comment.is_none() {
                return Err(DomainError::invalid("comment", "is required to deny a request: say why"));
            }
            (ApprovalOutcome::Denied, None)
        }
        Decision::Counter { amount } => {
            check_amount(amount)?;
            if amount >= approval.amount {
                return Err(DomainError::invalid(
                    "amount",
                    format!("a counter-offer is below the {} requested; to grant it all, approve", approval.amount),
                ));
            }
            // Earlier grants in the window count against the approver's limit too.
            let earlier = approval.earlier_total();
            match d.approver_limit {
                Some(limit) if super::apply_action::within(amount + earlier, limit) => {}
                Some(limit) if earlier > 0.0 => {
                    return Err(DomainError::invalid(
                        "amount",
                        format!(
                            "{amount} with the {earlier} granted earlier in the window is above your limit of {limit} for '{}'",
                            approval.action
                        ),
                    ));
                }
                Some(limit) => {
                    return Err(DomainError::invalid(
                        "amount",
                        format!("{amount} is above your limit of {limit} for '{}'", approval.action),
                    ));
                }
                None => {
                    return Err(DomainError::invalid(
                        "amount",
                        format!("you have no authority to grant '{}'", approval.action),
                    ));
                }
            }
            (ApprovalOutcome::Countered, Some(amount))
        }
    };
    let mut events = vec![CaseEvent::ApprovalDecided(ApprovalDecided {
        approval: d.approval,
        decision: outcome,
        amount,
        comment: d.comment.clone(),
    })];
    if let Some(amount) = amount {
        events.push(CaseEvent::ActionApplied(ActionApplied {
            action: approval.action.clone(),
            amount,
            note: approval.note.clone(),
            approval: Some(d.approval),
        }));
    }
    Ok(events)
}
