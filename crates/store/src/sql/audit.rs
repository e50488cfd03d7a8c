//! The audit history of directory changes: one append-only row per change, written in the
//! same transaction as the change it records.

use std::sync::Arc;

use jiff::Timestamp;
use ladder_core::ids::UserId;
use serde::{Deserialize, Serialize};

use super::{Store, Tx, ts_to_us, us_to_ts};
use crate::db::{Arg, args};
use crate::{StoreError, StoreResult};

/// One directory change: who did what to which entry, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its place in the history (assigned when stored; 0 before).
    pub seq: i64,
    pub at: Timestamp,
    /// The user who made the change; `None` for the command line and the system.
    pub actor_id: Option<UserId>,
    pub actor_name: String,
    /// What was done, as `entity.verb` (`team.create`, `user.deactivate`, `token.revoke` …).
    pub action: String,
    /// The entry changed: its id (a team, user, customer or token id).
    pub target: String,
    /// What the change set (never a secret or a password hash).
    pub detail: serde_json::Value,
}

/// Which audit entries to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<UserId>,
    /// An exact action (`user.update`) or an entity (`user`: every `user.*`).
    pub action: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Only entries before this `seq` (the cursor of the previous page).
    pub before: Option<i64>,
    pub limit: u32,
}

pub(crate) fn record(tx: &mut Tx, entry: &AuditEntry) -> StoreResult<()> {
    tx.exec(
        "INSERT INTO audit_log (at_us, actor_id, actor_name, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![
            ts_to_us(entry.at),
            entry.actor_id.map(|u| u.to_string()),
            &entry.actor_name,
            &entry.action,
            &entry.target,
            entry.detail.to_string()
        ],
    )?;
    Ok(())
}

impl Store {
    /// A handle whose every write also records `entry` in the audit history, in the same
    /// transaction: the change and its record are committed together or not at all.
    pub fn audited(&self, entry: AuditEntry) -> Store {
        Store { inner: self.inner.clone(), audit: Some(Arc::new(entry)) }
    }

    /// Audit entries matching `filter`, newest first.
    pub async fn audit_log(&self, filter: AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        self.read(move |db| {
            let mut sql = String::from(
                "SELECT seq, at_us, actor_id, actor_name, action, target, detail FROM audit_log WHERE 1 = 1",
            );
            let mut params: Vec<Arg<'static>> = Vec::new();
            let mut param = |sql: &mut String, clause: &str, value: Arg<'static>| {
                params.push(value);
                sql.push_str(&clause.replace('#', &format!("?{}", params.len())));
            };
            if let Some(actor) = filter.actor {
                param(&mut sql, " AND actor_id = #", Arg::from(actor.to_string()));
            }
            match filter.action.as_deref() {
                Some(a) if a.contains('.') => param(&mut sql, " AND action = #", Arg::from(a.to_string())),
                Some(entity) => param(&mut sql, " AND action LIKE #", Arg::from(format!("{entity}.%"))),
                None => {}
            }
            let saturating = ts_to_us;
            if let Some(from) = filter.from {
                param(&mut sql, " AND at_us >= #", Arg::from(saturating(from)));
            }
            if let Some(to) = filter.to {
                param(&mut sql, " AND at_us < #", Arg::from(saturating(to)));
            }
            if let Some(before) = filter.before {
                param(&mut sql, " AND seq < #", Arg::from(before));
            }
            let limit = i64::from(filter.limit.clamp(1, 1000));
            param(&mut sql, " ORDER BY seq DESC LIMIT #", Arg::from(limit));
            db.rows(&sql, &params, |r| {
                let actor_id: Option<String> = r.get(2)?;
                let detail: String = r.get(6)?;
                Ok(AuditEntry {
                    seq: r.get(0)?,
                    at: us_to_ts(r.get(1)?),
                    actor_id: actor_id
                        .map(|a| a.parse::<UserId>())
                        .transpose()
                        .map_err(|e| StoreError::Internal(format!("audit actor id: {e}")))?,
                    actor_name: r.get(3)?,
                    action: r.get(4)?,
                    target: r.get(5)?,
                    detail: serde_json::from_str(&detail)?,
                })
            })
        })
        .await
    }
}
