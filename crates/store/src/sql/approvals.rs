//! The approval inbox: pending approval requests a principal may decide, oldest
//! first, read through the `approval_role` / `approval_since_us` projection of `cases`.

use jiff::Timestamp;
use ladder_core::case::{Approval, Case};
use ladder_core::directory::Role;
use ladder_core::ids::TeamId;

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

/// Which pending approvals to keep: the caller's rule (`core::access`), asked of each
/// candidate the indexed reads found.
pub type ApprovalKeep = Box<dyn Fn(&Case, &Approval) -> bool + Send>;

/// Case numbers with a pending approval for one of `roles`, optionally of one team.
fn candidates(db: &mut Db, roles: &[&str], team: Option<String>, limit: i64) -> StoreResult<Vec<i64>> {
    let role = |i: usize| roles.get(i).copied();
    // The cast tells PostgreSQL the type of a team placeholder that may be NULL.
    db.rows(
        "SELECT number FROM cases
         WHERE approval_role IN (?1, ?2, ?3) AND (CAST(?4 AS TEXT) IS NULL OR team_id = ?4)
         ORDER BY approval_since_us, number LIMIT ?5",
        args![role(0), role(1), role(2), team, limit],
        |r| Ok(r.get(0)?),
    )
}

impl Store {
    /// How many cases of `teams` (`None`: every team) wait for a decision of one of `roles`,
    /// counted in the index up to `cap` (a cheap figure for the console's navigation; the
    /// inbox itself also leaves out what the caller's rule refuses, such as their own
    /// requests).
    pub async fn approval_case_count(
        &self,
        roles: Vec<Role>,
        teams: Option<Vec<TeamId>>,
        cap: u32,
    ) -> StoreResult<u64> {
        self.read(move |db| {
            let roles: Vec<&str> = roles.into_iter().map(Role::as_str).collect();
            if roles.is_empty() {
                return Ok(0);
            }
            let cap = i64::from(cap.clamp(1, 1000));
            let role = |i: usize| roles.get(i).copied();
            let mut count = |team: Option<String>| -> StoreResult<i64> {
                db.value(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM cases
                       WHERE approval_role IN (?1, ?2, ?3) AND (CAST(?4 AS TEXT) IS NULL OR team_id = ?4)
                       LIMIT ?5) AS waiting",
                    args![role(0), role(1), role(2), team, cap],
                )
            };
            let total = match teams {
                None => count(None)?,
                Some(teams) => {
                    let mut total = 0;
                    for team in &teams {
                        total += count(Some(team.to_string()))?;
                    }
                    total
                }
            };
            Ok(total.min(cap) as u64)
        })
        .await
    }

    /// Pending approvals for one of `roles` (the approver roles asked for), of the cases
    /// of `teams` (`None`: every team), that `keep` keeps; oldest request first, at most
    /// `limit`.
    pub async fn approval_inbox(
        &self,
        roles: Vec<Role>,
        teams: Option<Vec<TeamId>>,
        limit: u32,
        keep: ApprovalKeep,
    ) -> StoreResult<Vec<PendingApproval>> {
        self.read(move |db| {
            let roles: Vec<&str> = roles.into_iter().map(Role::as_str).collect();
            if roles.is_empty() {
                return Ok(Vec::new());
            }
            let limit = i64::from(limit.clamp(1, 1000));
            let mut numbers = Vec::new();
            match teams {
                None => numbers = candidates(db, &roles, None, limit)?,
                Some(teams) => {
                    for team in &teams {
                        numbers.extend(candidates(db, &roles, Some(team.to_string()), limit)?);
                    }
                    numbers.sort_unstable();
                    numbers.dedup();
                }
            }
            let mut inbox = Vec::new();
            for n in numbers {
                let case = load_case_doc(db, n)?;
                for (i, a) in case.pending_approvals() {
                    if keep(&case, a) {
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
