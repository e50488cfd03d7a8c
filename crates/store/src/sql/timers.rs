//! SLA timers and SLA lists. The `timers` rows are written with the case they
//! belong to (see `cases.rs`); here they are read: the soonest one, and those now due.

use jiff::Timestamp;
use ladder_core::access::CaseScope;
use ladder_core::case::Case;
use ladder_core::ids::CaseId;

use super::cases::{load_case_doc, push_scope, reset_timers};
use super::{Store, ts_to_us, us_to_ts};
use crate::db::{Arg, args};
use crate::{DueTimer, StoreError, StoreResult};

/// A timer row `(case_id, case_number, clock_index, generation, fire_at_us)`.
fn due_timer(r: &crate::db::Row) -> StoreResult<DueTimer> {
    let id: String = r.get(0)?;
    Ok(DueTimer {
        case_id: id.parse().map_err(|e| StoreError::Internal(format!("timer case id {id}: {e}")))?,
        case_number: r.get::<i64>(1)? as u64,
        clock_index: r.get::<i64>(2)? as u32,
        generation: r.get::<i64>(3)? as u64,
        fire_at: us_to_ts(r.get(4)?),
    })
}

impl Store {
    /// When a timer next needs a server: the soonest unclaimed timer's instant, or the
    /// soonest end of a claim (a server that died leaves its timers to be claimed again).
    /// Two index probes.
    pub async fn next_timer_at(&self) -> StoreResult<Option<Timestamp>> {
        self.read(|db| {
            let free: Option<i64> = db.value_opt(
                "SELECT fire_at_us FROM timers WHERE lease_until_us IS NULL ORDER BY fire_at_us LIMIT 1",
                args![],
            )?;
            let lease_ends: Option<i64> = db.value_opt(
                "SELECT lease_until_us FROM timers WHERE lease_until_us IS NOT NULL ORDER BY lease_until_us LIMIT 1",
                args![],
            )?;
            Ok(free.into_iter().chain(lease_ends).min().map(us_to_ts))
        })
        .await
    }

    /// Claims up to `limit` timers due at `now` for server `node` until `now + lease`:
    /// those nobody holds, or whose claim ended. Soonest first. On PostgreSQL the claim is
    /// its own short transaction beside the writer and skips rows another server is
    /// claiming or writing (`FOR UPDATE SKIP LOCKED`), so servers share the due timers
    /// without waiting for each other; on SQLite it goes through the one writer.
    pub async fn claim_due_timers(
        &self,
        node: String,
        now: Timestamp,
        lease: jiff::SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<DueTimer>> {
        let claim = move |db: &mut crate::db::Db| -> StoreResult<Vec<DueTimer>> {
            let sql = format!(
                "UPDATE timers SET lease_until_us = ?1, lease_node = ?2
                 WHERE (case_number, clock_index) IN (
                    SELECT case_number, clock_index FROM timers
                    WHERE fire_at_us <= ?3 AND (lease_until_us IS NULL OR lease_until_us <= ?3)
                    ORDER BY fire_at_us LIMIT ?4{})
                 RETURNING case_id, case_number, clock_index, generation, fire_at_us",
                if db.is_postgres() { " FOR UPDATE SKIP LOCKED" } else { "" }
            );
            let mut due =
                db.rows(&sql, args![ts_to_us(now + lease), node.as_str(), ts_to_us(now), limit], due_timer)?;
            due.sort_by_key(|t| (t.fire_at, t.case_number, t.clock_index));
            Ok(due)
        };
        if self.is_postgres() { self.read(claim).await } else { self.write(move |tx| claim(tx)).await }
    }

    /// Gives claimed timers back (a server shutting down), so others need not wait for
    /// the claims to end.
    pub async fn release_timers(&self, node: String) -> StoreResult<u64> {
        self.write(move |db| {
            Ok(db.exec(
                "UPDATE timers SET lease_until_us = NULL, lease_node = NULL WHERE lease_node = ?1",
                args![node.as_str()],
            )? as u64)
        })
        .await
    }

    /// Up to `limit` timers due at `now`, soonest first. Reads only the due part of the index.
    pub async fn due_timers(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<DueTimer>> {
        self.read(move |db| {
            db.rows(
                "SELECT case_id, case_number, clock_index, generation, fire_at_us FROM timers
                 WHERE fire_at_us <= ?1 ORDER BY fire_at_us LIMIT ?2",
                args![ts_to_us(now), limit],
                due_timer,
            )
        })
        .await
    }

    /// Cases with live SLA clocks or still open, with a number above `after`, by number:
    /// for re-evaluating (or starting) clocks when another matrix version is put in force.
    pub async fn cases_with_live_clocks(&self, after: u64, limit: u32) -> StoreResult<Vec<Case>> {
        self.read(move |db| {
            let numbers: Vec<i64> = db.rows(
                "SELECT number FROM cases WHERE (sla IS NOT NULL OR status NOT IN ('resolved', 'closed'))
                 AND number > ?1 ORDER BY number LIMIT ?2",
                args![after, limit],
                |r| Ok(r.get(0)?),
            )?;
            numbers.into_iter().map(|n| load_case_doc(db, n)).collect()
        })
        .await
    }

    /// How many clock timers are armed.
    pub async fn armed_timers(&self) -> StoreResult<u64> {
        self.read(|db| Ok(db.value::<i64>("SELECT count(*) FROM timers", args![])? as u64)).await
    }

    /// Rewrites a case's timer rows from its clocks, none sooner than `not_before`: after a
    /// timer that fired nothing (it was stale, or early), so the same row is not picked up
    /// again at once.
    pub async fn reset_timers(&self, id: CaseId, not_before: Timestamp) -> StoreResult<()> {
        self.write(move |tx| reset_timers(tx, id, not_before)).await
    }

    /// Cases the scope may see whose SLA standing is one of `standings`, or — with
    /// `due_before` — whose earliest counting clock falls due before that instant; ordered
    /// by that due instant, soonest (most overdue) first.
    pub async fn sla_cases(
        &self,
        standings: Vec<String>,
        due_before: Option<Timestamp>,
        scope: CaseScope,
        limit: u32,
    ) -> StoreResult<Vec<Case>> {
        self.read(move |db| {
            let mut args: Vec<Arg<'static>> = Vec::new();
            let mut sql = String::from("SELECT c.number FROM cases c WHERE c.sla IS NOT NULL AND (c.sla IN (");
            for (i, s) in standings.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                args.push(Arg::from(s.clone()));
                sql.push_str(&format!("?{}", args.len()));
            }
            if standings.is_empty() {
                sql.push_str("NULL");
            }
            sql.push(')');
            if let Some(t) = due_before {
                args.push(Arg::from(ts_to_us(t)));
                sql.push_str(&format!(" OR (c.sla = 'running' AND c.sla_due_at_us <= ?{})", args.len()));
            }
            sql.push(')');
            push_scope(&mut sql, &mut args, &scope);
            args.push(Arg::from(limit.clamp(1, 1000)));
            sql.push_str(&format!(
                " ORDER BY c.sla_due_at_us IS NULL, c.sla_due_at_us, c.number LIMIT ?{}",
                args.len()
            ));
            let numbers: Vec<i64> = db.rows(&sql, &args, |r| Ok(r.get(0)?))?;
            numbers.into_iter().map(|n| load_case_doc(db, n)).collect()
        })
        .await
    }
}
