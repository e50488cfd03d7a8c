//! The escalation-metrics projection (`case_metrics`, `metrics_daily`), kept in the same
//! transaction as the events that change it. See [`ladder_core::metrics`] for the
//! definitions; this module only stores what the pure code computes.

use std::collections::{BTreeMap, BTreeSet};

use super::Store;
use crate::StoreResult;
use crate::db::{Arg, Db, args};
use jiff::civil::Date;
use ladder_core::directory::{Customer, CustomerStatus};
use ladder_core::event::RecordedEvent;
use ladder_core::ids::{CaseId, CustomerId, TeamId};
use ladder_core::metrics::{CaseMetrics, Counters, Dimension, delta};

/// One value of the grouping dimension over a period: the summed counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsRow {
    /// The dimension's value (a channel, a team id …); empty for the total and for cases
    /// without a value.
    pub value: String,
    pub counters: Counters,
}

/// How a supervisor's figures may be grouped ([`Store::team_metrics`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamGrouping {
    /// One row: the sum over the teams.
    Total,
    Team,
    Agent,
}

impl Store {
    /// The summed counters of the cases opened from `from` to `to` (UTC days, inclusive),
    /// one row per value of `group_by`, or one total row without it.
    pub async fn metrics(&self, from: Date, to: Date, group_by: Option<Dimension>) -> StoreResult<Vec<MetricsRow>> {
        self.read(move |db| query(db, from, to, group_by.unwrap_or(Dimension::All))).await
    }

    /// The figures of the cases whose first team is one of `teams` (a supervisor's view),
    /// from the same aggregates: the total, one row per team, or one row per agent counting
    /// only those teams' cases. Other groupings cannot be limited to teams with the stored
    /// rows, so they are not offered here.
    pub async fn team_metrics(
        &self,
        from: Date,
        to: Date,
        grouping: TeamGrouping,
        teams: Vec<TeamId>,
    ) -> StoreResult<Vec<MetricsRow>> {
        self.read(move |db| {
            let teams: BTreeSet<String> = teams.iter().map(|t| t.to_string()).collect();
            let dimension = if grouping == TeamGrouping::Agent { Dimension::TeamAgent } else { Dimension::Team };
            let mut by_value: BTreeMap<String, Counters> = BTreeMap::new();
            for row in query(db, from, to, dimension)? {
                let (team, agent) = match grouping {
                    TeamGrouping::Agent => match row.value.split_once('/') {
                        Some((team, agent)) => (team.to_string(), agent.to_string()),
                        None => continue,
                    },
                    TeamGrouping::Team => (row.value.clone(), row.value),
                    TeamGrouping::Total => (row.value, String::new()),
                };
                if teams.contains(&team) {
                    by_value.entry(agent).or_default().add(&row.counters);
                }
            }
            Ok(by_value.into_iter().map(|(value, counters)| MetricsRow { value, counters }).collect())
        })
        .await
    }

    /// How many cases are in each status (for the operational gauges).
    pub async fn cases_by_status(&self) -> StoreResult<BTreeMap<String, u64>> {
        self.read(|db| {
            let rows = db.rows("SELECT status, count(*) FROM cases GROUP BY status", args![], |r| {
                Ok((r.get::<String>(0)?, r.get::<i64>(1)? as u64))
            })?;
            Ok(rows.into_iter().collect())
        })
        .await
    }
}

/// The name under which a dimension's monthly roll-up is kept: the same counters summed per
/// calendar month, keyed by the month's first day. A long period reads whole months from the
/// roll-up and only its ragged ends from the daily rows, so a year grouped by 300 agents sums
/// about 20,000 rows instead of 110,000.
fn monthly(dimension: Dimension) -> String {
    format!("{}@month", dimension.as_str())
}

fn date_error(e: jiff::Error) -> crate::StoreError {
    crate::StoreError::Internal(format!("metrics period out of range: {e}"))
}

fn first_of_month(day: Date) -> Date {
    day.first_of_month()
}

/// One range of aggregate rows to add (`sign` 1) or take away (`sign` -1): days of the
/// daily rows, or months of the monthly roll-up (keyed by their first day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    monthly: bool,
    first: Date,
    last: Date,
    sign: i64,
}

fn day_before(day: Date) -> StoreResult<Date> {
    day.yesterday().map_err(date_error)
}

fn day_after(day: Date) -> StoreResult<Date> {
    day.tomorrow().map_err(date_error)
}

/// The rows a period sums: whole months from the roll-up (consecutive ones as one range),
/// and each ragged month either as its days in the period or as the month's roll-up row
/// minus its days outside the period, whichever reads fewer rows. So a ragged end costs at
/// most 16 rows per value, not 30.
fn segments(from: Date, to: Date) -> StoreResult<Vec<Segment>> {
    let mut out: Vec<Segment> = Vec::new();
    let mut month = first_of_month(from);
    while month <= to {
        let month_end = month.last_of_month();
        let (first, last) = (from.max(month), to.min(month_end));
        let inside = first.until(last).map_err(date_error)?.get_days() as i64 + 1;
        let whole = i64::from(month.days_in_month());
        let whole_month = Segment { monthly: true, first: month, last: month, sign: 1 };
        if inside == whole {
            match out.last_mut() {
                Some(previous) if previous.monthly && previous.sign == 1 && previous.last < month => {
                    previous.last = month
                }
                _ => out.push(whole_month),
            }
        } else if 1 + (whole - inside) < inside {
            out.push(whole_month);
            if first > month {
                out.push(Segment { monthly: false, first: month, last: day_before(first)?, sign: -1 });
            }
            if last < month_end {
                out.push(Segment { monthly: false, first: day_after(last)?, last: month_end, sign: -1 });
            }
        } else {
            out.push(Segment { monthly: false, first, last, sign: 1 });
        }
        month = day_after(month_end)?;
    }
    Ok(out)
}

fn query(db: &mut Db, from: Date, to: Date, dimension: Dimension) -> StoreResult<Vec<MetricsRow>> {
    let segments = segments(from, to)?;
    // PostgreSQL sums BIGINT columns as NUMERIC: cast back to read them as i64.
    let sums = Counters::NAMES.iter().map(|n| format!("CAST(sum({n}) AS BIGINT)")).collect::<Vec<_>>().join(", ");
    // Each part: `?sign * column …` over `dim = ?dim AND day BETWEEN ?first AND ?last`.
    let parts: Vec<String> = (0..segments.len())
        .map(|i| {
            let p = 1 + 4 * i;
            let signed = Counters::NAMES.iter().map(|n| format!("?{p} * {n} AS {n}")).collect::<Vec<_>>().join(", ");
            format!(
                "SELECT value, {signed} FROM metrics_daily WHERE dim = ?{} AND day >= ?{} AND day <= ?{}",
                p + 1,
                p + 2,
                p + 3
            )
        })
        .collect();
    // A value whose rows were all taken away again has no case in the period.
    let sql = format!(
        "SELECT value, {sums} FROM ({}) AS parts GROUP BY value HAVING sum(cases) <> 0 ORDER BY value",
        parts.join(" UNION ALL ")
    );
    let mut args: Vec<Arg> = Vec::new();
    for segment in &segments {
        let dim = if segment.monthly { monthly(dimension) } else { dimension.as_str().to_string() };
        args.extend([
            Arg::from(segment.sign),
            Arg::from(dim),
            Arg::from(segment.first.to_string()),
            Arg::from(segment.last.to_string()),
        ]);
    }
    db.rows(&sql, &args, |r| {
        let value: String = r.get(0)?;
        let values = (0..Counters::NAMES.len()).map(|i| r.get::<i64>(i + 1)).collect::<Result<Vec<_>, _>>()?;
        Ok(MetricsRow { value, counters: Counters::from_array(&values) })
    })
}

fn load(db: &mut Db, id: CaseId) -> StoreResult<Option<CaseMetrics>> {
    let doc: Option<String> = db.value_opt("SELECT doc FROM case_metrics WHERE case_id = ?1", args![id.to_string()])?;
    doc.map(|d| serde_json::from_str(&d).map_err(Into::into)).transpose()
}

fn save(db: &mut Db, id: CaseId, metrics: &CaseMetrics) -> StoreResult<()> {
    db.defer(
        "INSERT INTO case_metrics (case_id, doc) VALUES (?1, ?2)
         ON CONFLICT (case_id) DO UPDATE SET doc = excluded.doc",
        args![id.to_string(), serde_json::to_string(metrics)?],
    )?;
    Ok(())
}

/// Whether the customer has churned, as the directory has it now.
fn churned(db: &mut Db, customer: Option<CustomerId>) -> StoreResult<bool> {
    let Some(customer) = customer else { return Ok(false) };
    Ok(super::directory::load_customer(db, customer)?.is_some_and(|c| c.status == CustomerStatus::Churned))
}

/// The customer's segment as the directory has it now.
fn segment(db: &mut Db, customer: Option<CustomerId>) -> StoreResult<Option<String>> {
    let Some(customer) = customer else { return Ok(None) };
    Ok(db
        .value_opt::<Option<String>>("SELECT segment FROM customers WHERE id = ?1", args![customer.to_string()])?
        .flatten())
}

/// Folds one event into a case's metrics, reading the customer's segment only if the event
/// needs it. A failed read is returned, not taken for "no segment": on PostgreSQL it has
/// aborted the transaction anyway.
fn apply_event(
    db: &mut Db,
    state: Option<CaseMetrics>,
    event: &RecordedEvent,
    customer: Option<CustomerId>,
) -> StoreResult<Option<CaseMetrics>> {
    let mut failed = None;
    let next = CaseMetrics::apply(state, event, || {
        segment(db, customer).unwrap_or_else(|e| {
            failed = Some(e);
            None
        })
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(next),
    }
}

/// How the aggregate rows must change: `(day, dimension, value) → counters to add`.
pub(crate) type Deltas = BTreeMap<(jiff::civil::Date, ladder_core::metrics::Dimension, String), Counters>;

/// Folds a write's new events into the case's metrics (saved at once) and returns how its
/// contribution to the aggregate moves from the old figures to the new ones. The caller adds
/// the deltas of a whole batch together and writes them once ([`write_deltas`]), so a batch
/// of many writes touches each aggregate row once.
pub(crate) fn project(
    db: &mut Db,
    id: CaseId,
    customer: Option<CustomerId>,
    events: &[RecordedEvent],
) -> StoreResult<Deltas> {
    let old = load(db, id)?;
    let mut state = old.clone();
    for e in events {
        state = apply_event(db, state, e, customer)?;
    }
    let Some(mut new) = state else { return Ok(Deltas::new()) };
    if old.is_none() {
        new.customer_churned = churned(db, new.customer)?;
    }
    if old.as_ref() == Some(&new) {
        return Ok(Deltas::new());
    }
    save(db, id, &new)?;
    Ok(delta(old.as_ref(), Some(&new)))
}

/// Sums the deltas of a batch's writes and writes them, each aggregate row once.
pub(crate) fn write_batch_deltas(db: &mut Db, batch: Vec<Deltas>) -> StoreResult<()> {
    let mut sum = Deltas::new();
    for deltas in batch {
        add_deltas(&mut sum, deltas);
    }
    write_deltas(db, sum)
}

/// Adds `deltas` into `sum`.
fn add_deltas(sum: &mut Deltas, deltas: Deltas) {
    for (key, c) in deltas {
        sum.entry(key).or_default().add(&c);
    }
}

fn apply_delta(db: &mut Db, old: Option<&CaseMetrics>, new: Option<&CaseMetrics>) -> StoreResult<()> {
    write_deltas(db, delta(old, new))
}

/// Writes aggregate changes: each to its day's row and its month's roll-up row (changes
/// that come to nothing are skipped).
pub(crate) fn write_deltas(db: &mut Db, mut changes: Deltas) -> StoreResult<()> {
    changes.retain(|_, c| !c.is_zero());
    if changes.is_empty() {
        return Ok(());
    }
    let columns = Counters::NAMES.join(", ");
    let placeholders = (4..4 + Counters::NAMES.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    // Qualified: PostgreSQL finds a bare column name ambiguous next to `excluded`.
    let updates = Counters::NAMES
        .iter()
        .map(|n| format!("{n} = metrics_daily.{n} + excluded.{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let upsert = format!(
        "INSERT INTO metrics_daily (dim, day, value, {columns}) VALUES (?1, ?2, ?3, {placeholders})
         ON CONFLICT (dim, day, value) DO UPDATE SET {updates}"
    );
    for ((day, dim, value), counters) in changes {
        // The day's row and the month's roll-up row.
        for (dim, day) in [(dim.as_str().to_string(), day), (monthly(dim), first_of_month(day))] {
            let mut args = vec![Arg::from(dim), Arg::from(day.to_string()), Arg::from(value.as_str())];
            args.extend(counters.to_array().into_iter().map(Arg::from));
            db.defer(&upsert, &args)?;
            // Every contributing case adds 1 to `cases`: at 0 nothing contributes any more.
            if counters.cases < 0 {
                db.defer(
                    "DELETE FROM metrics_daily WHERE dim = ?1 AND day = ?2 AND value = ?3 AND cases = 0",
                    &args[..3],
                )?;
            }
        }
    }
    Ok(())
}

/// After a customer changed: re-counts the churn of their cases whose figures say otherwise.
pub(crate) fn customer_changed(db: &mut Db, customer: &Customer) -> StoreResult<()> {
    let churned = customer.status == CustomerStatus::Churned;
    let ids: Vec<String> =
        db.rows("SELECT id FROM cases WHERE customer_id = ?1", args![customer.id.to_string()], |r| Ok(r.get(0)?))?;
    for id in ids {
        let id: CaseId = id.parse().map_err(|e| crate::StoreError::Internal(format!("bad case id: {e}")))?;
        let Some(old) = load(db, id)? else { continue };
        if old.customer_churned != churned {
            let new = CaseMetrics { customer_churned: churned, ..old.clone() };
            apply_delta(db, Some(&old), Some(&new))?;
            save(db, id, &new)?;
        }
    }
    Ok(())
}

/// Adds the rows of a dimension introduced after the aggregates were built, from each case's
/// stored figures (no events are read): summed in memory, written once per row. Rows the
/// dimension already has are replaced, not added to: on PostgreSQL the migration runner
/// cannot tell whether a rebuild just counted them (it commits each migration on its own,
/// and another node may have run the one before).
pub(crate) fn add_dimension(db: &mut Db, dimension: Dimension) -> StoreResult<()> {
    db.exec("DELETE FROM metrics_daily WHERE dim IN (?1, ?2)", args![dimension.as_str(), monthly(dimension)])?;
    let mut sum = Deltas::new();
    db.each("SELECT doc FROM case_metrics", args![], |row| {
        let metrics: CaseMetrics = serde_json::from_str(&row.get::<String>(0)?)?;
        let day = metrics.day();
        for (dim, value, c) in metrics.contributions() {
            if dim == dimension {
                sum.entry((day, dim, value)).or_default().add(&c);
            }
        }
        Ok(())
    })?;
    write_deltas(db, sum)
}

/// How many events [`rebuild`] reads at a time: it writes between reads, which a
/// PostgreSQL connection cannot do while a query is still streaming rows.
const REBUILD_PAGE: i64 = 10_000;

/// Recomputes both tables from the event log (after a migration, or `ladder admin rebuild`).
/// The aggregate rows are summed in memory and written once each at the end.
pub(crate) fn rebuild(db: &mut Db) -> StoreResult<()> {
    rebuild_in_pages(db, REBUILD_PAGE)
}

fn rebuild_in_pages(db: &mut Db, page_size: i64) -> StoreResult<()> {
    db.batch("DELETE FROM case_metrics; DELETE FROM metrics_daily;")?;
    let mut sum = Deltas::new();
    let mut current: Option<(CaseId, Option<CaseMetrics>)> = None;
    let mut finish = |db: &mut Db, done: Option<(CaseId, Option<CaseMetrics>)>| -> StoreResult<()> {
        if let Some((id, Some(mut m))) = done {
            m.customer_churned = churned(db, m.customer)?;
            add_deltas(&mut sum, delta(None, Some(&m)));
            save(db, id, &m)?;
        }
        Ok(())
    };
    // Pages of the log in (case, version) order, each after the last event of the one before.
    let mut after: (String, i64) = (String::new(), -1);
    loop {
        let page: Vec<(String, RecordedEvent)> = db.rows(
            "SELECT case_id, at_us, version, actor, data FROM events
             WHERE (case_id, version) > (?1, ?2) ORDER BY case_id, version LIMIT ?3",
            args![after.0.as_str(), after.1, page_size],
            |row| {
                let raw_id: String = row.get(0)?;
                let case_id: CaseId =
                    raw_id.parse().map_err(|e| crate::StoreError::Internal(format!("bad case id in log: {e}")))?;
                let recorded = RecordedEvent {
                    case_id,
                    version: row.get::<i64>(2)? as u64,
                    at: super::us_to_ts(row.get(1)?),
                    actor: serde_json::from_str(&row.get::<String>(3)?)?,
                    event: serde_json::from_str(&row.get::<String>(4)?)?,
                    matrix_version: None,
                };
                Ok((raw_id, recorded))
            },
        )?;
        let Some((last_id, last)) = page.last() else { break };
        after = (last_id.clone(), last.version as i64);
        let full = page.len() as i64 == page_size;
        for (_, recorded) in page {
            let case_id = recorded.case_id;
            if current.as_ref().is_some_and(|(id, _)| *id != case_id) {
                finish(db, current.take())?;
            }
            let state = current.take().and_then(|(_, m)| m);
            let customer = match &recorded.event {
                ladder_core::event::CaseEvent::Opened(o) => o.customer,
                _ => None,
            };
            current = Some((case_id, apply_event(db, state, &recorded, customer)?));
        }
        if !full {
            break;
        }
    }
    finish(db, current.take())?;
    write_deltas(db, sum)
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
