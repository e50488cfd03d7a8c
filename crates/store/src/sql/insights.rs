//! The facts "revise the rules" insights are computed from ([`ladder_core::insights`]),
//! kept with the writes that change them (`case_insights`, `insight_categories`,
//! `insight_codes`, `insight_approvals`, `insight_breaches`, migration 0010) so a period's
//! facts are read from per-day counts and a few indexed rows, never from every case opened
//! in the period.
//!
//! Each write folds the case's new state into what it says about itself
//! ([`CaseOutcome::of`], with the last escalation's instant kept in its row so the log is
//! not read again), moves the case's counts from its old values to its new ones, and
//! replaces its approval and breach rows when they changed. A query sums the counts of the
//! period's days per category; only a category whose counts may make a suggestion
//! ([`CategoryCounts::may_move_down`]) has its cases resolved above their first level read.

use std::collections::{BTreeMap, HashMap};

use super::{Store, duration_to_us, ts_to_us, us_to_duration, us_to_ts};
use crate::db::{Db, args};
use crate::{StoreError, StoreResult};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use ladder_core::Case;
use ladder_core::event::RecordedEvent;
use ladder_core::ids::UserId;
use ladder_core::insights::{
    Breach, CaseOutcome, CategoryCounts, CategoryOutcomes, MOVE_DOWN_MAX_MEDIAN, ResolvedAbove, breaches_24x7,
};

/// What the store knows about the cases opened in a period, for the insights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InsightFacts {
    /// The categories whose counts may make a `move_down` suggestion, in category order,
    /// with their cases resolved above their first level. The others cannot make one and
    /// are left out.
    pub categories: Vec<CategoryOutcomes>,
    /// Every approval request of those cases.
    pub approvals: Vec<ApprovalFact>,
    /// Breaches of clocks that counted in 24x7 time (no calendar).
    pub breaches_24x7: Vec<Breach>,
}

/// An approval request, as the `limit_margin` insight needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalFact {
    pub case_number: u64,
    pub action: String,
    pub amount: f64,
    /// The user who asked (none when it was not a person).
    pub requested_by: Option<UserId>,
}

impl Store {
    /// The facts of the cases opened from `from` to `to` (UTC days, inclusive).
    pub async fn insight_facts(&self, from: Date, to: Date) -> StoreResult<InsightFacts> {
        self.read(move |db| gather(db, from, to)).await
    }
}

fn opening_day(case: &Case) -> Date {
    case.created_at.to_zoned(TimeZone::UTC).date()
}

fn approval_facts(case: &Case) -> Vec<ApprovalFact> {
    case.approvals
        .iter()
        .map(|a| ApprovalFact {
            case_number: case.number,
            action: a.action.clone(),
            amount: a.amount,
            requested_by: a.requested_by.user_id(),
        })
        .collect()
}

/// A case's row of `case_insights`.
#[derive(Debug, Clone, PartialEq)]
struct CaseRow {
    day: Date,
    outcome: CaseOutcome,
    last_escalated_us: Option<i64>,
}

impl CaseRow {
    fn of(case: &Case, last_escalated_us: Option<i64>) -> CaseRow {
        CaseRow {
            day: opening_day(case),
            outcome: CaseOutcome::of(case, last_escalated_us.map(us_to_ts)),
            last_escalated_us,
        }
    }
}

fn parse_day(raw: &str) -> StoreResult<Date> {
    raw.parse().map_err(|e| StoreError::Internal(format!("bad day '{raw}' in case_insights: {e}")))
}

fn load_row(db: &mut Db, number: u64) -> StoreResult<Option<CaseRow>> {
    let row = db.first(
        "SELECT day, category, escalated, last_escalated_us, resolved_code, after_escalation_us
         FROM case_insights WHERE number = ?1",
        args![number],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<Option<String>>(1)?,
                r.get::<bool>(2)?,
                r.get::<Option<i64>>(3)?,
                r.get::<Option<String>>(4)?,
                r.get::<Option<i64>>(5)?,
            ))
        },
    )?;
    let Some((day, category, escalated, last_escalated_us, code, after_us)) = row else { return Ok(None) };
    let resolved_above = match (code, after_us) {
        (Some(code), Some(us)) => Some(ResolvedAbove { code, after_escalation: us_to_duration(us) }),
        _ => None,
    };
    Ok(Some(CaseRow {
        day: parse_day(&day)?,
        outcome: CaseOutcome { number, category, escalated, resolved_above },
        last_escalated_us,
    }))
}

fn save_row(db: &mut Db, row: &CaseRow) -> StoreResult<()> {
    let above = row.outcome.resolved_above.as_ref();
    db.defer(
        "INSERT INTO case_insights
         (number, day, category, escalated, last_escalated_us, resolved_code, after_escalation_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (number) DO UPDATE SET day = excluded.day, category = excluded.category,
             escalated = excluded.escalated, last_escalated_us = excluded.last_escalated_us,
             resolved_code = excluded.resolved_code, after_escalation_us = excluded.after_escalation_us",
        args![
            row.outcome.number,
            row.day.to_string(),
            row.outcome.category.as_deref(),
            row.outcome.escalated,
            row.last_escalated_us,
            above.map(|a| a.code.as_str()),
            above.map(|a| duration_to_us(a.after_escalation)),
        ],
    )?;
    Ok(())
}

/// Adds (`sign` 1) or takes away (`sign` -1) a case's counts on its day's rows. Rows left
/// with nothing counted are deleted.
fn count(db: &mut Db, row: &CaseRow, sign: i64) -> StoreResult<()> {
    let Some(category) = row.outcome.category.as_deref() else { return Ok(()) };
    let day = row.day.to_string();
    let above = row.outcome.resolved_above.as_ref();
    let quickly = above.is_some_and(|a| a.after_escalation <= MOVE_DOWN_MAX_MEDIAN);
    db.defer(
        "INSERT INTO insight_categories (day, category, cases, escalated, resolved_above, resolved_above_quickly)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (day, category) DO UPDATE SET cases = insight_categories.cases + excluded.cases,
             escalated = insight_categories.escalated + excluded.escalated,
             resolved_above = insight_categories.resolved_above + excluded.resolved_above,
             resolved_above_quickly = insight_categories.resolved_above_quickly + excluded.resolved_above_quickly",
        args![
            day.as_str(),
            category,
            sign,
            sign * row.outcome.escalated as i64,
            sign * above.is_some() as i64,
            sign * quickly as i64
        ],
    )?;
    if let Some(above) = above {
        db.defer(
            "INSERT INTO insight_codes (day, category, code, n) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (day, category, code) DO UPDATE SET n = insight_codes.n + excluded.n",
            args![day.as_str(), category, above.code.as_str(), sign],
        )?;
    }
    if sign < 0 {
        db.defer(
            "DELETE FROM insight_categories WHERE day = ?1 AND category = ?2 AND cases = 0",
            args![day.as_str(), category],
        )?;
        db.defer(
            "DELETE FROM insight_codes WHERE day = ?1 AND category = ?2 AND n = 0",
            args![day.as_str(), category],
        )?;
    }
    Ok(())
}

fn insert_details(db: &mut Db, day: Date, details: &Details) -> StoreResult<()> {
    let day = day.to_string();
    for (i, a) in details.approvals.iter().enumerate() {
        db.defer(
            "INSERT INTO insight_approvals (number, position, day, action, amount, requested_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            args![a.case_number, i, day.as_str(), a.action.as_str(), a.amount, a.requested_by.map(|u| u.to_string())],
        )?;
    }
    for (i, b) in details.breaches.iter().enumerate() {
        db.defer(
            "INSERT INTO insight_breaches (number, clock, day, level, due_us) VALUES (?1, ?2, ?3, ?4, ?5)",
            args![b.case_number, i, day.as_str(), b.level.as_str(), ts_to_us(b.due_at)],
        )?;
    }
    Ok(())
}

/// What of a case its insight facts depend on: the fields [`CaseOutcome::of`] reads (with
/// the last escalation, which only an `escalated` event moves), and its approval requests
/// and 24x7 breaches as their rows hold them. A write that leaves these as they were (most
/// messages) changes no insight row and reads none.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Details {
    category: Option<String>,
    n_escalations: u32,
    first_level: Option<ladder_core::LevelId>,
    level: ladder_core::LevelId,
    resolution: Option<ladder_core::case::Resolution>,
    approvals: Vec<ApprovalFact>,
    breaches: Vec<Breach>,
}

impl Details {
    pub(crate) fn of(case: &Case) -> Details {
        Details {
            category: case.category.clone(),
            n_escalations: case.n_escalations,
            first_level: case.escalation_path.first().map(|s| s.level.clone()),
            level: case.level.clone(),
            resolution: case.resolution.clone(),
            approvals: approval_facts(case),
            breaches: breaches_24x7(case),
        }
    }
}

/// Brings a case's insight facts in line with a write: `previous` are the details of the
/// case before it ([`Details::of`]), `case` is the case after it, `events` what it appended.
pub(crate) fn project(
    db: &mut Db,
    previous: Option<Details>,
    case: &Case,
    events: &[RecordedEvent],
) -> StoreResult<()> {
    let escalated_now = events.iter().filter(|e| e.event.kind() == "escalated").map(|e| ts_to_us(e.at)).max();
    let details = Details::of(case);
    if escalated_now.is_none() && previous.as_ref() == Some(&details) {
        return Ok(());
    }
    let old = load_row(db, case.number)?;
    let last_escalated_us = old.as_ref().and_then(|r| r.last_escalated_us).max(escalated_now);
    let new = CaseRow::of(case, last_escalated_us);
    if old.as_ref() != Some(&new) {
        if let Some(old) = &old {
            count(db, old, -1)?;
        }
        count(db, &new, 1)?;
        save_row(db, &new)?;
    }
    let changed = match &previous {
        Some(previous) => previous.approvals != details.approvals || previous.breaches != details.breaches,
        None => !details.approvals.is_empty() || !details.breaches.is_empty(),
    };
    if changed {
        db.defer("DELETE FROM insight_approvals WHERE number = ?1", args![case.number])?;
        db.defer("DELETE FROM insight_breaches WHERE number = ?1", args![case.number])?;
        insert_details(db, new.day, &details)?;
    }
    Ok(())
}

/// Recomputes every insight table from the case documents and the log's escalations (after
/// the migration, or `ladder admin rebuild` once the case documents are rebuilt).
pub(crate) fn rebuild(db: &mut Db) -> StoreResult<()> {
    db.batch(
        "DELETE FROM case_insights; DELETE FROM insight_categories; DELETE FROM insight_codes;
         DELETE FROM insight_approvals; DELETE FROM insight_breaches;",
    )?;
    let mut last_escalated: HashMap<String, i64> = HashMap::new();
    db.each("SELECT case_id, max(at_us) FROM events WHERE type = 'escalated' GROUP BY case_id", args![], |r| {
        last_escalated.insert(r.get(0)?, r.get(1)?);
        Ok(())
    })?;
    // Case documents in pages by number: PostgreSQL cannot write on the connection while it
    // streams a query's rows.
    let mut counts: BTreeMap<(Date, String), CategoryCounts> = BTreeMap::new();
    let mut after = 0i64;
    loop {
        let page: Vec<(i64, String)> = db.rows(
            "SELECT number, doc FROM case_docs WHERE number > ?1 ORDER BY number LIMIT 10000",
            args![after],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        for (_, doc) in page {
            let case: Case = serde_json::from_str(&doc)?;
            let new = CaseRow::of(&case, last_escalated.get(&case.id.to_string()).copied());
            if let Some(category) = &new.outcome.category {
                counts.entry((new.day, category.clone())).or_default().add(&new.outcome);
            }
            save_row(db, &new)?;
            insert_details(db, new.day, &Details::of(&case))?;
        }
    }
    for ((day, category), c) in counts {
        let day = day.to_string();
        db.exec(
            "INSERT INTO insight_categories (day, category, cases, escalated, resolved_above, resolved_above_quickly)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            args![day.as_str(), category.as_str(), c.cases, c.escalated, c.resolved_above, c.resolved_above_quickly],
        )?;
        for (code, n) in &c.codes {
            db.exec(
                "INSERT INTO insight_codes (day, category, code, n) VALUES (?1, ?2, ?3, ?4)",
                args![day.as_str(), category.as_str(), code.as_str(), *n],
            )?;
        }
    }
    Ok(())
}

fn gather(db: &mut Db, from: Date, to: Date) -> StoreResult<InsightFacts> {
    let (from, to) = (from.to_string(), to.to_string());
    let mut facts = InsightFacts::default();

    let mut counts: BTreeMap<String, CategoryCounts> = BTreeMap::new();
    db.each(
        "SELECT category, CAST(sum(cases) AS BIGINT), CAST(sum(escalated) AS BIGINT),
             CAST(sum(resolved_above) AS BIGINT), CAST(sum(resolved_above_quickly) AS BIGINT)
         FROM insight_categories WHERE day >= ?1 AND day <= ?2 GROUP BY category",
        args![from.as_str(), to.as_str()],
        |r| {
            let c = counts.entry(r.get(0)?).or_default();
            c.cases = r.get::<i64>(1)? as u64;
            c.escalated = r.get::<i64>(2)? as u64;
            c.resolved_above = r.get::<i64>(3)? as u64;
            c.resolved_above_quickly = r.get::<i64>(4)? as u64;
            Ok(())
        },
    )?;
    db.each(
        "SELECT category, code, CAST(sum(n) AS BIGINT) FROM insight_codes WHERE day >= ?1 AND day <= ?2
         GROUP BY category, code",
        args![from.as_str(), to.as_str()],
        |r| {
            let (category, code): (String, String) = (r.get(0)?, r.get(1)?);
            counts.entry(category).or_default().codes.insert(code, r.get::<i64>(2)? as u64);
            Ok(())
        },
    )?;

    // Only the categories that may be suggested need their cases' durations and numbers.
    for (category, c) in counts.into_iter().filter(|(_, c)| c.may_move_down()) {
        let resolved_above = db.rows(
            "SELECT number, resolved_code, after_escalation_us FROM case_insights
             WHERE category = ?1 AND day >= ?2 AND day <= ?3 AND resolved_code IS NOT NULL",
            args![category.as_str(), from.as_str(), to.as_str()],
            |r| {
                let code: String = r.get(1)?;
                let after = us_to_duration(r.get(2)?);
                Ok((r.get::<i64>(0)? as u64, ResolvedAbove { code, after_escalation: after }))
            },
        )?;
        facts.categories.push(CategoryOutcomes { category, cases: c.cases, escalated: c.escalated, resolved_above });
    }

    facts.approvals = db.rows(
        "SELECT number, action, amount, requested_by FROM insight_approvals WHERE day >= ?1 AND day <= ?2",
        args![from.as_str(), to.as_str()],
        |r| {
            let requested_by: Option<String> = r.get(3)?;
            Ok(ApprovalFact {
                case_number: r.get::<i64>(0)? as u64,
                action: r.get(1)?,
                amount: r.get(2)?,
                requested_by: requested_by.and_then(|u| u.parse().ok()),
            })
        },
    )?;
    facts.breaches_24x7 = db.rows(
        "SELECT number, level, due_us FROM insight_breaches WHERE day >= ?1 AND day <= ?2",
        args![from.as_str(), to.as_str()],
        |r| {
            Ok(Breach {
                case_number: r.get::<i64>(0)? as u64,
                level: ladder_core::LevelId::new(r.get::<String>(1)?),
                due_at: us_to_ts(r.get(2)?),
            })
        },
    )?;
    Ok(facts)
}
