//! SLA timers and SLA lists. The `timers` rows are written with the case they
//! belong to (see `cases.rs`); here they are read: the soonest one, and those now due.

use jiff::Timestamp;
use ladder_core::access::CaseScope;
use ladder_core::case::Case;
use ladder_core::ids::CaseId;

use super::cases::{load_case_doc, push_scope, reset_timers};
use super::{Store, ns_to_ts, ts_to_ns};
use crate::db::{Arg, args};
use crate::{DueTimer, StoreError, StoreResult};

impl Store {
    /// When the soonest armed timer falls due, if any timer is armed. One index probe.
    pub async fn next_timer_at(&self) -> StoreResult<Option<Timestamp>> {
        self.read(|db| {
            let ns: Option<i64> = db.value_opt("SELECT fire_at_ns FROM timers ORDER BY fire_at_ns LIMIT 1", args![])?;
            Ok(ns.map(ns_to_ts))
        })
        .await
    }

    /// Up to `limit` timers due at `now`, soonest first. Reads only the due part of the index.
    pub async fn due_timers(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<DueTimer>> {
        self.read(move |db| {
            db.rows(
                "SELECT case_id, case_number, clock_index, generation, fire_at_ns FROM timers
                 WHERE fire_at_ns <= ?1 ORDER BY fire_at_ns LIMIT ?2",
                args![ts_to_ns(now), limit],
                |r| {
                    let id: String = r.get(0)?;
                    Ok(DueTimer {
                        case_id: id.parse().map_err(|e| StoreError::Internal(format!("timer case id {id}: {e}")))?,
                        case_number: r.get::<i64>(1)? as u64,
                        clock_index: r.get::<i64>(2)? as u32,
                        generation: r.get::<i64>(3)? as u64,
                        fire_at: ns_to_ts(r.get(4)?),
                    })
                },
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
                args.push(Arg::from(ts_to_ns(t)));
                sql.push_str(&format!(" OR (c.sla = 'running' AND c.sla_due_at_ns <= ?{})", args.len()));
            }
            sql.push(')');
            push_scope(&mut sql, &mut args, &scope);
            args.push(Arg::from(limit.clamp(1, 1000)));
            sql.push_str(&format!(
                " ORDER BY c.sla_due_at_ns IS NULL, c.sla_due_at_ns, c.number LIMIT ?{}",
                args.len()
            ));
            let numbers: Vec<i64> = db.rows(&sql, &args, |r| Ok(r.get(0)?))?;
            numbers.into_iter().map(|n| load_case_doc(db, n)).collect()
        })
        .await
    }
}
