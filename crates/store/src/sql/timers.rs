//! SLA timers and SLA lists on SQLite. The `timers` rows are written with the case they
//! belong to (see `cases.rs`); here they are read: the soonest one, and those now due.

use jiff::Timestamp;
use ladder_core::access::CaseScope;
use ladder_core::case::Case;
use ladder_core::ids::CaseId;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};

use super::cases::{load_case_doc, push_scope, reset_timers};
use super::{Store, ns_to_ts, ts_to_ns};
use crate::{DueTimer, StoreError, StoreResult};

impl Store {
    /// When the soonest armed timer falls due, if any timer is armed. One index probe.
    pub async fn next_timer_at(&self) -> StoreResult<Option<Timestamp>> {
        self.read(|conn| {
            let ns: Option<i64> = conn
                .prepare_cached("SELECT fire_at_ns FROM timers ORDER BY fire_at_ns LIMIT 1")?
                .query_row([], |r| r.get(0))
                .optional()?;
            Ok(ns.map(ns_to_ts))
        })
        .await
    }

    /// Up to `limit` timers due at `now`, soonest first. Reads only the due part of the index.
    pub async fn due_timers(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<DueTimer>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT case_id, case_number, clock_index, generation, fire_at_ns FROM timers
                 WHERE fire_at_ns <= ?1 ORDER BY fire_at_ns LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![ts_to_ns(now), limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?, r.get(4)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, number, index, generation, at): (String, i64, i64, i64, i64) = row?;
                out.push(DueTimer {
                    case_id: id.parse().map_err(|e| StoreError::Internal(format!("timer case id {id}: {e}")))?,
                    case_number: number as u64,
                    clock_index: index as u32,
                    generation: generation as u64,
                    fire_at: ns_to_ts(at),
                });
            }
            Ok(out)
        })
        .await
    }

    /// Cases with live SLA clocks or still open, with a number above `after`, by number:
    /// for re-evaluating (or starting) clocks when another matrix version is put in force.
    pub async fn cases_with_live_clocks(&self, after: u64, limit: u32) -> StoreResult<Vec<Case>> {
        self.read(move |conn| {
            let numbers: Vec<i64> = conn
                .prepare_cached(
                    "SELECT number FROM cases WHERE (sla IS NOT NULL OR status NOT IN ('resolved', 'closed'))
                     AND number > ?1 ORDER BY number LIMIT ?2",
                )?
                .query_map(params![after as i64, limit as i64], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            numbers.into_iter().map(|n| load_case_doc(conn, n)).collect()
        })
        .await
    }

    /// How many clock timers are armed.
    pub async fn armed_timers(&self) -> StoreResult<u64> {
        self.read(|conn| {
            Ok(conn.prepare_cached("SELECT count(*) FROM timers")?.query_row([], |r| r.get::<_, i64>(0))? as u64)
        })
        .await
    }

    /// Rewrites a case's timer rows from its clocks, none sooner than `not_before`: after a
    /// timer that fired nothing (it was stale, or early), so the same row is not picked up
    /// again at once.
    pub async fn reset_timers(&self, id: CaseId, not_before: Timestamp) -> StoreResult<()> {
        self.write(move |conn| reset_timers(conn, id, not_before)).await
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
        self.read(move |conn| {
            let mut args: Vec<Value> = Vec::new();
            let mut sql = String::from("SELECT c.number FROM cases c WHERE c.sla IS NOT NULL AND (c.sla IN (");
            for (i, s) in standings.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                args.push(Value::Text(s.clone()));
                sql.push_str(&format!("?{}", args.len()));
            }
            if standings.is_empty() {
                sql.push_str("NULL");
            }
            sql.push(')');
            if let Some(t) = due_before {
                args.push(Value::Integer(ts_to_ns(t)));
                sql.push_str(&format!(" OR (c.sla = 'running' AND c.sla_due_at_ns <= ?{})", args.len()));
            }
            sql.push(')');
            push_scope(&mut sql, &mut args, &scope);
            args.push(Value::Integer(limit.clamp(1, 1000) as i64));
            sql.push_str(&format!(
                " ORDER BY c.sla_due_at_ns IS NULL, c.sla_due_at_ns, c.number LIMIT ?{}",
                args.len()
            ));
            let numbers: Vec<i64> = conn
                .prepare_cached(&sql)?
                .query_map(params_from_iter(args), |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            numbers.into_iter().map(|n| load_case_doc(conn, n)).collect()
        })
        .await
    }
}
