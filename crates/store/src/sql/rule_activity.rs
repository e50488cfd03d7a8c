//! How often each matrix trigger happened and each rule fired, per UTC day (`rule_activity`),
//! counted with the writes that raised them. The engine says what it evaluated
//! ([`crate::Decided::triggers`]); the store sums a batch's counts and writes each row once
//! before the commit, like the metrics aggregates.

use std::collections::BTreeMap;

use super::Store;
use crate::StoreResult;
use crate::db::{Db, args};
use jiff::civil::Date;
use ladder_core::matrix::TriggerFired;

/// One write's triggers: the day they happened, the case's number, what fired.
pub(crate) type Pending = (Date, u64, Vec<TriggerFired>);

/// Over a period: how often a trigger happened (`rule` empty) or a rule of it fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleActivityRow {
    pub trigger: String,
    /// The rule's name; empty for the trigger's own count.
    pub rule: String,
    pub n: u64,
    /// A few case numbers it happened on (the highest of each day, newest days first).
    pub examples: Vec<u64>,
}

impl Store {
    /// The trigger and rule counts of the UTC days `from` to `to` (inclusive).
    pub async fn rule_activity(&self, from: Date, to: Date) -> StoreResult<Vec<RuleActivityRow>> {
        self.read(move |db| {
            let mut out: Vec<RuleActivityRow> = Vec::new();
            db.each(
                "SELECT trigger, rule, n, last_case FROM rule_activity
                 WHERE day >= ?1 AND day <= ?2 ORDER BY trigger, rule, day DESC",
                args![from.to_string(), to.to_string()],
                |row| {
                    let (trigger, rule): (String, String) = (row.get(0)?, row.get(1)?);
                    let (n, last_case) = (row.get::<i64>(2)? as u64, row.get::<i64>(3)? as u64);
                    match out.last_mut() {
                        Some(last) if last.trigger == trigger && last.rule == rule => {
                            last.n += n;
                            if last.examples.len() < 5 && !last.examples.contains(&last_case) {
                                last.examples.push(last_case);
                            }
                        }
                        _ => out.push(RuleActivityRow { trigger, rule, n, examples: vec![last_case] }),
                    }
                    Ok(())
                },
            )?;
            Ok(out)
        })
        .await
    }
}

/// Sums a batch's triggers per `(day, trigger, rule)` and upserts each row once.
pub(crate) fn write_batch(db: &mut Db, pending: Vec<Pending>) -> StoreResult<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let mut sum: BTreeMap<(Date, &'static str, String), (i64, u64)> = BTreeMap::new();
    let mut count = |key: (Date, &'static str, String), case: u64| {
        let entry = sum.entry(key).or_insert((0, case));
        entry.0 += 1;
        entry.1 = entry.1.max(case);
    };
    for (day, case, triggers) in pending {
        for fired in triggers {
            let trigger = fired.trigger.as_str();
            count((day, trigger, String::new()), case);
            for rule in fired.rules {
                count((day, trigger, rule), case);
            }
        }
    }
    // Qualified columns (PostgreSQL finds bare ones ambiguous next to `excluded`), and CASE
    // for the larger number: SQLite's scalar max() is PostgreSQL's greatest().
    for ((day, trigger, rule), (n, case)) in sum {
        db.defer(
            "INSERT INTO rule_activity (day, trigger, rule, n, last_case) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (day, trigger, rule) DO UPDATE SET n = rule_activity.n + excluded.n,
                 last_case = CASE WHEN excluded.last_case > rule_activity.last_case
                     THEN excluded.last_case ELSE rule_activity.last_case END",
            args![day.to_string(), trigger, rule, n, case],
        )?;
    }
    Ok(())
}
