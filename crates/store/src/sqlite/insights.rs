//! The facts "revise the rules" insights are computed from ([`ladder_core::insights`]),
//! kept with the writes that change them (`case_insights`, `insight_categories`,
//! `insight_codes`, `insight_approvals`, `insight_breaches`, migration 0009) so a period's
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

use jiff::civil::Date;
use jiff::tz::TimeZone;
use ladder_core::Case;
use ladder_core::event::RecordedEvent;
use ladder_core::ids::UserId;
use ladder_core::insights::{
    Breach, CaseOutcome, CategoryCounts, CategoryOutcomes, MOVE_DOWN_MAX_MEDIAN, ResolvedAbove, breaches_24x7,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, ns_to_ts, ts_to_ns};
use crate::{StoreError, StoreResult};

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
        self.read(move |conn| gather(conn, from, to)).await
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
    last_escalated_ns: Option<i64>,
}

impl CaseRow {
    fn of(case: &Case, last_escalated_ns: Option<i64>) -> CaseRow {
        CaseRow {
            day: opening_day(case),
            outcome: CaseOutcome::of(case, last_escalated_ns.map(ns_to_ts)),
            last_escalated_ns,
        }
    }
}

fn parse_day(raw: &str) -> StoreResult<Date> {
    raw.parse().map_err(|e| StoreError::Internal(format!("bad day '{raw}' in case_insights: {e}")))
}

fn load_row(conn: &Connection, number: u64) -> StoreResult<Option<CaseRow>> {
    let row = conn
        .prepare_cached(
            "SELECT day, category, escalated, last_escalated_ns, resolved_code, after_escalation_ns
             FROM case_insights WHERE number = ?1",
        )?
        .query_row([number as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })
        .optional()?;
    let Some((day, category, escalated, last_escalated_ns, code, after_ns)) = row else { return Ok(None) };
    let resolved_above = match (code, after_ns) {
        (Some(code), Some(ns)) => Some(ResolvedAbove { code, after_escalation: jiff::SignedDuration::from_nanos(ns) }),
        _ => None,
    };
    Ok(Some(CaseRow {
        day: parse_day(&day)?,
        outcome: CaseOutcome { number, category, escalated, resolved_above },
        last_escalated_ns,
    }))
}

fn save_row(conn: &Connection, row: &CaseRow) -> StoreResult<()> {
    let above = row.outcome.resolved_above.as_ref();
    conn.prepare_cached(
        "INSERT OR REPLACE INTO case_insights
         (number, day, category, escalated, last_escalated_ns, resolved_code, after_escalation_ns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        row.outcome.number as i64,
        row.day.to_string(),
        row.outcome.category,
        row.outcome.escalated,
        row.last_escalated_ns,
        above.map(|a| a.code.as_str()),
        above.map(|a| a.after_escalation.as_nanos() as i64),
    ])?;
    Ok(())
}

/// Adds (`sign` 1) or takes away (`sign` -1) a case's counts on its day's rows. Rows left
/// with nothing counted are deleted.
fn count(conn: &Connection, row: &CaseRow, sign: i64) -> StoreResult<()> {
    let Some(category) = row.outcome.category.as_deref() else { return Ok(()) };
    let day = row.day.to_string();
    let above = row.outcome.resolved_above.as_ref();
    let quickly = above.is_some_and(|a| a.after_escalation <= MOVE_DOWN_MAX_MEDIAN);
    conn.prepare_cached(
        "INSERT INTO insight_categories (day, category, cases, escalated, resolved_above, resolved_above_quickly)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (day, category) DO UPDATE SET cases = cases + excluded.cases,
             escalated = escalated + excluded.escalated, resolved_above = resolved_above + excluded.resolved_above,
             resolved_above_quickly = resolved_above_quickly + excluded.resolved_above_quickly",
    )?
    .execute(params![
        day,
        category,
        sign,
        sign * row.outcome.escalated as i64,
        sign * above.is_some() as i64,
        sign * quickly as i64
    ])?;
    if let Some(above) = above {
        conn.prepare_cached(
            "INSERT INTO insight_codes (day, category, code, n) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (day, category, code) DO UPDATE SET n = n + excluded.n",
        )?
        .execute(params![day, category, above.code, sign])?;
    }
    if sign < 0 {
        conn.prepare_cached("DELETE FROM insight_categories WHERE day = ?1 AND category = ?2 AND cases = 0")?
            .execute(params![day, category])?;
        conn.prepare_cached("DELETE FROM insight_codes WHERE day = ?1 AND category = ?2 AND n = 0")?
            .execute(params![day, category])?;
    }
    Ok(())
}

fn insert_details(conn: &Connection, day: Date, details: &Details) -> StoreResult<()> {
    let (approvals, breaches) = (&details.approvals, &details.breaches);
    let day = day.to_string();
    let mut insert = conn.prepare_cached(
        "INSERT INTO insight_approvals (number, position, day, action, amount, requested_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (i, a) in approvals.iter().enumerate() {
        let by = a.requested_by.map(|u| u.to_string());
        insert.execute(params![a.case_number as i64, i as i64, day, a.action, a.amount, by])?;
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO insight_breaches (number, clock, day, level, due_ns) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (i, b) in breaches.iter().enumerate() {
        insert.execute(params![b.case_number as i64, i as i64, day, b.level.as_str(), ts_to_ns(b.due_at)])?;
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
    conn: &Connection,
    previous: Option<Details>,
    case: &Case,
    events: &[RecordedEvent],
) -> StoreResult<()> {
    let escalated_now = events.iter().filter(|e| e.event.kind() == "escalated").map(|e| ts_to_ns(e.at)).max();
    let details = Details::of(case);
    if escalated_now.is_none() && previous.as_ref() == Some(&details) {
        return Ok(());
    }
    let old = load_row(conn, case.number)?;
    let last_escalated_ns = old.as_ref().and_then(|r| r.last_escalated_ns).max(escalated_now);
    let new = CaseRow::of(case, last_escalated_ns);
    if old.as_ref() != Some(&new) {
        if let Some(old) = &old {
            count(conn, old, -1)?;
        }
        count(conn, &new, 1)?;
        save_row(conn, &new)?;
    }
    let changed = match &previous {
        Some(previous) => previous.approvals != details.approvals || previous.breaches != details.breaches,
        None => !details.approvals.is_empty() || !details.breaches.is_empty(),
    };
    if changed {
        let number = case.number as i64;
        conn.prepare_cached("DELETE FROM insight_approvals WHERE number = ?1")?.execute([number])?;
        conn.prepare_cached("DELETE FROM insight_breaches WHERE number = ?1")?.execute([number])?;
        insert_details(conn, new.day, &details)?;
    }
    Ok(())
}

/// Recomputes every insight table from the case documents and the log's escalations (after
/// the migration, or `ladder admin rebuild` once the case documents are rebuilt).
pub(crate) fn rebuild(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(
        "DELETE FROM case_insights; DELETE FROM insight_categories; DELETE FROM insight_codes;
         DELETE FROM insight_approvals; DELETE FROM insight_breaches;",
    )?;
    let mut last_escalated: HashMap<String, i64> = HashMap::new();
    {
        let mut stmt =
            conn.prepare("SELECT case_id, max(at_ns) FROM events WHERE type = 'escalated' GROUP BY case_id")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            last_escalated.insert(row.get(0)?, row.get(1)?);
        }
    }
    let mut counts: BTreeMap<(Date, String), CategoryCounts> = BTreeMap::new();
    let mut stmt = conn.prepare("SELECT doc FROM case_docs")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let case: Case = serde_json::from_str(&row.get::<_, String>(0)?)?;
        let new = CaseRow::of(&case, last_escalated.get(&case.id.to_string()).copied());
        if let Some(category) = &new.outcome.category {
            counts.entry((new.day, category.clone())).or_default().add(&new.outcome);
        }
        save_row(conn, &new)?;
        insert_details(conn, new.day, &Details::of(&case))?;
    }
    let mut categories = conn.prepare(
        "INSERT INTO insight_categories (day, category, cases, escalated, resolved_above, resolved_above_quickly)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut codes = conn.prepare("INSERT INTO insight_codes (day, category, code, n) VALUES (?1, ?2, ?3, ?4)")?;
    for ((day, category), c) in counts {
        let day = day.to_string();
        categories.execute(params![
            day,
            category,
            c.cases as i64,
            c.escalated as i64,
            c.resolved_above as i64,
            c.resolved_above_quickly as i64
        ])?;
        for (code, n) in &c.codes {
            codes.execute(params![day, category, code, *n as i64])?;
        }
    }
    Ok(())
}

fn gather(conn: &Connection, from: Date, to: Date) -> StoreResult<InsightFacts> {
    let (from, to) = (from.to_string(), to.to_string());
    let mut facts = InsightFacts::default();

    let mut counts: BTreeMap<String, CategoryCounts> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT category, sum(cases), sum(escalated), sum(resolved_above), sum(resolved_above_quickly)
         FROM insight_categories WHERE day >= ?1 AND day <= ?2 GROUP BY category",
    )?;
    let mut rows = stmt.query([&from, &to])?;
    while let Some(row) = rows.next()? {
        let c = counts.entry(row.get(0)?).or_default();
        c.cases = row.get::<_, i64>(1)? as u64;
        c.escalated = row.get::<_, i64>(2)? as u64;
        c.resolved_above = row.get::<_, i64>(3)? as u64;
        c.resolved_above_quickly = row.get::<_, i64>(4)? as u64;
    }
    let mut stmt = conn.prepare_cached(
        "SELECT category, code, sum(n) FROM insight_codes WHERE day >= ?1 AND day <= ?2 GROUP BY category, code",
    )?;
    let mut rows = stmt.query([&from, &to])?;
    while let Some(row) = rows.next()? {
        let (category, code): (String, String) = (row.get(0)?, row.get(1)?);
        counts.entry(category).or_default().codes.insert(code, row.get::<_, i64>(2)? as u64);
    }

    // Only the categories that may be suggested need their cases' durations and numbers.
    let mut above = conn.prepare_cached(
        "SELECT number, resolved_code, after_escalation_ns FROM case_insights
         WHERE category = ?1 AND day >= ?2 AND day <= ?3 AND resolved_code IS NOT NULL",
    )?;
    for (category, c) in counts.into_iter().filter(|(_, c)| c.may_move_down()) {
        let resolved_above = above
            .query_map(params![category, from, to], |r| {
                let code: String = r.get(1)?;
                let after = jiff::SignedDuration::from_nanos(r.get(2)?);
                Ok((r.get::<_, i64>(0)? as u64, ResolvedAbove { code, after_escalation: after }))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        facts.categories.push(CategoryOutcomes { category, cases: c.cases, escalated: c.escalated, resolved_above });
    }

    let mut stmt = conn.prepare_cached(
        "SELECT number, action, amount, requested_by FROM insight_approvals WHERE day >= ?1 AND day <= ?2",
    )?;
    let mut rows = stmt.query([&from, &to])?;
    while let Some(row) = rows.next()? {
        let requested_by: Option<String> = row.get(3)?;
        facts.approvals.push(ApprovalFact {
            case_number: row.get::<_, i64>(0)? as u64,
            action: row.get(1)?,
            amount: row.get(2)?,
            requested_by: requested_by.and_then(|u| u.parse().ok()),
        });
    }
    let mut stmt =
        conn.prepare_cached("SELECT number, level, due_ns FROM insight_breaches WHERE day >= ?1 AND day <= ?2")?;
    let mut rows = stmt.query([&from, &to])?;
    while let Some(row) = rows.next()? {
        facts.breaches_24x7.push(Breach {
            case_number: row.get::<_, i64>(0)? as u64,
            level: ladder_core::LevelId::new(row.get::<_, String>(1)?),
            due_at: ns_to_ts(row.get(2)?),
        });
    }
    Ok(facts)
}
