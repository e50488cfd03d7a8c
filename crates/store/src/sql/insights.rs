//! The facts "revise the rules" insights are computed from ([`ladder_core::insights`]),
//! gathered over the cases opened in a period. Only reads; bounded by `cases.created_at_ns`.

use super::{Store, ns_to_ts, ts_to_ns};
use crate::db::{Db, args};
use crate::{StoreError, StoreResult};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use ladder_core::Case;
use ladder_core::case::Approval;
use ladder_core::insights::{Breach, CaseOutcome, ResolvedAbove};

/// What the store knows about the cases opened in a period, for the insights.
#[derive(Debug, Clone, Default)]
pub struct InsightFacts {
    pub cases_opened: u64,
    pub outcomes: Vec<CaseOutcome>,
    /// Every approval request of those cases, with the case's number.
    pub approvals: Vec<(u64, Approval)>,
    /// Breaches of clocks that counted in 24x7 time (no calendar).
    pub breaches_24x7: Vec<Breach>,
}

impl Store {
    /// The facts of the cases opened from `from` to `to` (UTC days, inclusive).
    pub async fn insight_facts(&self, from: Date, to: Date) -> StoreResult<InsightFacts> {
        self.read(move |db| gather(db, from, to)).await
    }
}

fn day_start_ns(day: Date) -> StoreResult<i64> {
    let at = day
        .to_zoned(TimeZone::UTC)
        .map_err(|e| StoreError::Internal(format!("insights period out of range: {e}")))?
        .timestamp();
    Ok(ts_to_ns(at))
}

fn gather(db: &mut Db, from: Date, to: Date) -> StoreResult<InsightFacts> {
    let start = day_start_ns(from)?;
    let end = day_start_ns(to.tomorrow().map_err(|e| StoreError::Internal(format!("insights period: {e}")))?)?;
    let mut facts = InsightFacts::default();

    db.each(
        "SELECT d.doc,
                (SELECT max(e.at_ns) FROM events e WHERE e.case_id = c.id AND e.type = 'escalated')
         FROM cases c JOIN case_docs d ON d.number = c.number
         WHERE c.created_at_ns >= ?1 AND c.created_at_ns < ?2",
        args![start, end],
        |row| {
            let case: Case = serde_json::from_str(&row.get::<String>(0)?)?;
            let last_escalation = row.get::<Option<i64>>(1)?.map(ns_to_ts);
            facts.cases_opened += 1;
            let escalated = case.n_escalations > 0;
            let first_level = case.escalation_path.first().map(|s| &s.level);
            let resolved_above = match (&case.resolution, last_escalation) {
                (Some(resolution), Some(escalated_at))
                    if escalated && first_level.is_some_and(|l| *l != case.level) =>
                {
                    Some(ResolvedAbove {
                        code: resolution.code.clone(),
                        after_escalation: resolution.at.duration_since(escalated_at),
                    })
                }
                _ => None,
            };
            for clock in &case.clocks {
                if clock.calendar.is_none()
                    && let Some(due_at) = clock.breached_at.and(clock.due_at)
                {
                    facts.breaches_24x7.push(Breach { case_number: case.number, level: clock.level.clone(), due_at });
                }
            }
            facts.approvals.extend(case.approvals.iter().map(|a| (case.number, a.clone())));
            facts.outcomes.push(CaseOutcome {
                number: case.number,
                category: case.category.clone(),
                escalated,
                resolved_above,
            });
            Ok(())
        },
    )?;

    Ok(facts)
}
