//! The approval inbox: pending approval requests a principal may decide, oldest
//! first, read through the `approval_role` / `approval_since_ns` projection of `cases`.

use jiff::Timestamp;
use ladder_core::access::Principal;
use ladder_core::case::{Approval, Case};
use ladder_core::directory::Role;

use super::Store;
use super::cases::load_case_doc;
use crate::StoreResult;
use crate::db::{Db, args};

/// A pending approval request and its case.
#[derive(Debug, Clone)]
pub struct PendingApproval {
    pub case: Case,
    /// The approval's number on the case.
    pub approval: u32,
}

impl PendingApproval {
    pub fn request(&self) -> &Approval {
        &self.case.approvals[self.approval as usize]
    }
}

/// The approval columns of a case row: the lowest approver role among its pending
/// approvals and when the oldest of them was requested; `None` without one.
pub(crate) fn approval_columns(case: &Case) -> Option<(&'static str, Timestamp)> {
    let pending = || case.pending_approvals().map(|(_, a)| a);
    let role = pending().map(|a| a.approver_role).min()?;
    let since = pending().map(|a| a.requested_at).min()?;
    Some((role.as_str(), since))
}

/// Whether `principal` may decide approval `n` of `case`, as far as the inbox goes: their
/// role reaches the approver role, a supervisor's teams include the case's, and it is not
/// their own request (the full check, limits included, is `Principal::may`).
fn may_decide(principal: &Principal, case: &Case, approval: &Approval) -> bool {
    principal.role >= approval.approver_role
        && (principal.role >= Role::Manager || case.team.is_some_and(|t| principal.teams.contains(&t)))
        && approval.requested_by.user_id() != Some(principal.user_id)
}

/// Case numbers with a pending approval for one of `roles`, optionally of one team.
fn candidates(db: &mut Db, roles: &[&str], team: Option<String>, limit: i64) -> StoreResult<Vec<i64>> {
    let role = |i: usize| roles.get(i).copied();
    // The cast tells PostgreSQL the type of a team placeholder that may be NULL.
    db.rows(
        "SELECT number FROM cases
         WHERE approval_role IN (?1, ?2, ?3) AND (CAST(?4 AS TEXT) IS NULL OR team_id = ?4)
         ORDER BY approval_since_ns, number LIMIT ?5",
        args![role(0), role(1), role(2), team, limit],
        |r| Ok(r.get(0)?),
    )
}

impl Store {
    /// Pending approvals `principal` may decide, oldest request first, at most `limit`.
    /// Agents have none.
    pub async fn approval_inbox(&self, principal: Principal, limit: u32) -> StoreResult<Vec<PendingApproval>> {
        self.read(move |db| {
            let roles: Vec<&str> = [Role::Supervisor, Role::Manager, Role::Admin]
                .into_iter()
                .filter(|r| *r <= principal.role)
                .map(Role::as_str)
                .collect();
            if roles.is_empty() {
                return Ok(Vec::new());
            }
            let limit = i64::from(limit.clamp(1, 1000));
            let mut numbers = Vec::new();
            if principal.role >= Role::Manager {
                numbers = candidates(db, &roles, None, limit)?;
            } else {
                for team in &principal.teams {
                    numbers.extend(candidates(db, &roles, Some(team.to_string()), limit)?);
                }
                numbers.sort_unstable();
                numbers.dedup();
            }
            let mut inbox = Vec::new();
            for n in numbers {
                let case = load_case_doc(db, n)?;
                for (i, a) in case.pending_approvals() {
                    if may_decide(&principal, &case, a) {
                        inbox.push(PendingApproval { case: case.clone(), approval: i });
                    }
                }
            }
            inbox.sort_by_key(|p| (p.request().requested_at, p.case.number, p.approval));
            inbox.truncate(limit as usize);
            Ok(inbox)
        })
        .await
    }
}
