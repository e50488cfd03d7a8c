//! Approval requests, granted actions and the approvals inbox.

use jiff::Timestamp;
use ladder_core::case::Actor;
use ladder_core::directory::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A request to grant an action above the requester's authority.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalDto {
    /// Its number on the case, for `/approvals/{approval}`.
    pub approval: u32,
    pub action: String,
    pub amount: f64,
    pub note: Option<String>,
    pub requested_by_id: Option<Uuid>,
    pub requested_at: Timestamp,
    /// The lowest role that may decide it.
    pub approver_role: Role,
    /// `pending`, `approved`, `denied` or `countered`.
    pub state: String,
    pub decided_by_id: Option<Uuid>,
    pub decided_at: Option<Timestamp>,
    pub comment: Option<String>,
    /// What was granted: the amount or the counter-offer; absent while pending or denied.
    pub final_amount: Option<f64>,
    /// Earlier grants of the action in the authority window (the matrix's `window`) that
    /// this request adds up with, oldest first; empty when there were none.
    pub earlier: Vec<ladder_core::command::EarlierGrant>,
    /// The window's total with this amount (what the approver answers for); absent when
    /// nothing was granted before.
    pub window_total: Option<f64>,
    /// Why it needs approval, in words: the amount, and the earlier grants it adds up with.
    pub reason: String,
}

impl ApprovalDto {
    pub fn new(n: u32, a: &ladder_core::case::Approval) -> Self {
        ApprovalDto {
            approval: n,
            action: a.action.clone(),
            amount: a.amount,
            note: a.note.clone(),
            requested_by_id: a.requested_by.user_id().map(|u| u.0),
            requested_at: a.requested_at,
            approver_role: a.approver_role,
            state: a.state.as_str().to_string(),
            decided_by_id: a.decided_by.as_ref().and_then(Actor::user_id).map(|u| u.0),
            decided_at: a.decided_at,
            comment: a.comment.clone(),
            final_amount: a.final_amount,
            earlier: a.earlier.clone(),
            window_total: a.window_total(),
            reason: a.reason(),
        }
    }
}

/// An action with a value that was granted.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedActionDto {
    pub action: String,
    pub amount: f64,
    pub note: Option<String>,
    /// Who granted it (the approver, when it went through an approval).
    pub by_id: Option<Uuid>,
    pub at: Timestamp,
    /// The approval it went through; absent when within the requester's own limit.
    pub approval: Option<u32>,
}

/// What an approver decides.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Deny,
    /// Grant a smaller `amount` instead.
    Counter,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideApprovalBody {
    pub decision: DecisionKind,
    /// The counter-offer (only with `counter`): above 0, below the amount requested and
    /// within your own limit.
    #[schema(exclusive_minimum = 0)]
    pub amount: Option<f64>,
    /// Required to deny.
    #[schema(pattern = r"\S")]
    pub comment: Option<String>,
}

/// A pending approval the caller may decide, with its case.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalInboxItemDto {
    pub case_id: Uuid,
    pub case_number: u64,
    pub subject: String,
    pub team_id: Option<Uuid>,
    #[serde(flatten)]
    pub approval: ApprovalDto,
}
