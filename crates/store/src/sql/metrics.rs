//! The escalation-metrics projection (`case_metrics`, `metrics_daily`), kept in the same
//! transaction as the events that change it. See [`ladder_core::metrics`] for the
//! definitions; this module only stores what the pure code computes.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use ladder_core::directory::{Customer, CustomerStatus};
use ladder_core::event::RecordedEvent;
use ladder_core::ids::{CaseId, CustomerId, TeamId};
use ladder_core::metrics::{CaseMetrics, Counters, Dimension, delta};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use super::Store;
use crate::StoreResult;

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
        self.read(move |conn| query(conn, from, to, group_by.unwrap_or(Dimension::All))).await
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
        self.read(move |conn| {
            let teams: BTreeSet<String> = teams.iter().map(|t| t.to_string()).collect();
            let dimension = if grouping == TeamGrouping::Agent { Dimension::TeamAgent } else { Dimension::Team };
            let mut by_value: BTreeMap<String, Counters> = BTreeMap::new();
            for row in query(conn, from, to, dimension)? {
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
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT status, count(*) FROM cases GROUP BY status")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
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

fn query(conn: &Connection, from: Date, to: Date, dimension: Dimension) -> StoreResult<Vec<MetricsRow>> {
    let segments = segments(from, to)?;
    let sums = Counters::NAMES.iter().map(|n| format!("sum({n})")).collect::<Vec<_>>().join(", ");
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
        "SELECT value, {sums} FROM ({}) GROUP BY value HAVING sum(cases) <> 0 ORDER BY value",
        parts.join(" UNION ALL ")
    );
    let mut args: Vec<Value> = Vec::new();
    for segment in &segments {
        let dim = if segment.monthly { monthly(dimension) } else { dimension.as_str().to_string() };
        args.extend([
            Value::Integer(segment.sign),
            Value::Text(dim),
            Value::Text(segment.first.to_string()),
            Value::Text(segment.last.to_string()),
        ]);
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        let value: String = r.get(0)?;
        let values =
            (0..Counters::NAMES.len()).map(|i| r.get::<_, i64>(i + 1)).collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(MetricsRow { value, counters: Counters::from_array(&values) })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn load(conn: &Connection, id: CaseId) -> StoreResult<Option<CaseMetrics>> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM case_metrics WHERE case_id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    doc.map(|d| serde_json::from_str(&d).map_err(Into::into)).transpose()
}

fn save(conn: &Connection, id: CaseId, metrics: &CaseMetrics) -> StoreResult<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO case_metrics (case_id, doc) VALUES (?1, ?2)")?
        .execute([id.to_string(), serde_json::to_string(metrics)?])?;
    Ok(())
}

/// Whether the customer has churned, as the directory has it now.
fn churned(conn: &Connection, customer: Option<CustomerId>) -> StoreResult<bool> {
    let Some(customer) = customer else { return Ok(false) };
    Ok(super::directory::load_customer(&mut crate::db::Db::Lite(conn), customer)?
        .is_some_and(|c| c.status == CustomerStatus::Churned))
}

/// The customer's segment as the directory has it now.
fn segment(conn: &Connection, customer: Option<CustomerId>) -> Option<String> {
    let customer = customer?;
    conn.prepare_cached("SELECT segment FROM customers WHERE id = ?1")
        .and_then(|mut s| s.query_row([customer.to_string()], |r| r.get::<_, Option<String>>(0)).optional())
        .ok()
        .flatten()
        .flatten()
}

/// How the aggregate rows must change: `(day, dimension, value) → counters to add`.
pub(crate) type Deltas = BTreeMap<(jiff::civil::Date, ladder_core::metrics::Dimension, String), Counters>;

/// Folds a write's new events into the case's metrics (saved at once) and returns how its
/// contribution to the aggregate moves from the old figures to the new ones. The caller adds
/// the deltas of a whole batch together and writes them once ([`write_deltas`]), so a batch
/// of many writes touches each aggregate row once.
pub(crate) fn project(
    conn: &Connection,
    id: CaseId,
    customer: Option<CustomerId>,
    events: &[RecordedEvent],
) -> StoreResult<Deltas> {
    let old = load(conn, id)?;
    let mut state = old.clone();
    for e in events {
        state = CaseMetrics::apply(state, e, || segment(conn, customer));
    }
    let Some(mut new) = state else { return Ok(Deltas::new()) };
    if old.is_none() {
        new.customer_churned = churned(conn, new.customer)?;
    }
    if old.as_ref() == Some(&new) {
        return Ok(Deltas::new());
    }
    save(conn, id, &new)?;
    Ok(delta(old.as_ref(), Some(&new)))
}

/// Sums the deltas of a batch's writes and writes them, each aggregate row once.
pub(crate) fn write_batch_deltas(conn: &Connection, batch: Vec<Deltas>) -> StoreResult<()> {
    let mut sum = Deltas::new();
    for deltas in batch {
        for (key, c) in deltas {
            sum.entry(key).or_default().add(&c);
        }
    }
    sum.retain(|_, c| !c.is_zero());
    write_deltas(conn, sum)
}

fn apply_delta(conn: &Connection, old: Option<&CaseMetrics>, new: Option<&CaseMetrics>) -> StoreResult<()> {
    write_deltas(conn, delta(old, new))
}

/// Writes aggregate changes: each to its day's row and its month's roll-up row.
pub(crate) fn write_deltas(conn: &Connection, changes: Deltas) -> StoreResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let columns = Counters::NAMES.join(", ");
    let placeholders = (4..4 + Counters::NAMES.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let updates = Counters::NAMES.iter().map(|n| format!("{n} = {n} + excluded.{n}")).collect::<Vec<_>>().join(", ");
    let upsert = format!(
        "INSERT INTO metrics_daily (dim, day, value, {columns}) VALUES (?1, ?2, ?3, {placeholders})
         ON CONFLICT (dim, day, value) DO UPDATE SET {updates}"
    );
    for ((day, dim, value), counters) in changes {
        // The day's row and the month's roll-up row.
        for (dim, day) in [(dim.as_str().to_string(), day), (monthly(dim), first_of_month(day))] {
            let mut args = vec![Value::Text(dim), Value::Text(day.to_string()), Value::Text(value.clone())];
            args.extend(counters.to_array().into_iter().map(Value::Integer));
            conn.prepare_cached(&upsert)?.execute(params_from_iter(args.iter()))?;
            // Every contributing case adds 1 to `cases`: at 0 nothing contributes any more.
            if counters.cases < 0 {
                conn.prepare_cached(
                    "DELETE FROM metrics_daily WHERE dim = ?1 AND day = ?2 AND value = ?3 AND cases = 0",
                )?
                .execute(params_from_iter(args[..3].iter()))?;
            }
        }
    }
    Ok(())
}

/// After a customer changed: re-counts the churn of their cases whose figures say otherwise.
pub(crate) fn customer_changed(conn: &Connection, customer: &Customer) -> StoreResult<()> {
    let churned = customer.status == CustomerStatus::Churned;
    let ids: Vec<String> = conn
        .prepare_cached("SELECT id FROM cases WHERE customer_id = ?1")?
        .query_map([customer.id.to_string()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in ids {
        let id: CaseId = id.parse().map_err(|e| crate::StoreError::Internal(format!("bad case id: {e}")))?;
        let Some(old) = load(conn, id)? else { continue };
        if old.customer_churned != churned {
            let new = CaseMetrics { customer_churned: churned, ..old.clone() };
            apply_delta(conn, Some(&old), Some(&new))?;
            save(conn, id, &new)?;
        }
    }
    Ok(())
}

/// Adds the rows of a dimension introduced after the aggregates were built, from each case's
/// stored figures (no events are read): summed in memory, written once per row.
pub(crate) fn add_dimension(conn: &Connection, dimension: Dimension) -> StoreResult<()> {
    let mut sum = Deltas::new();
    let mut stmt = conn.prepare("SELECT doc FROM case_metrics")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let metrics: CaseMetrics = serde_json::from_str(&row.get::<_, String>(0)?)?;
        let day = metrics.day();
        for (dim, value, c) in metrics.contributions() {
            if dim == dimension {
                sum.entry((day, dim, value)).or_default().add(&c);
            }
        }
    }
    write_deltas(conn, sum)
}

/// Recomputes both tables from the event log (after a migration, or `ladder admin rebuild`).
pub(crate) fn rebuild(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch("DELETE FROM case_metrics; DELETE FROM metrics_daily;")?;
    let mut stmt = conn.prepare("SELECT case_id, at_ns, version, actor, data FROM events ORDER BY case_id, version")?;
    let mut rows = stmt.query([])?;
    let mut current: Option<(CaseId, Option<CaseMetrics>)> = None;
    let finish = |conn: &Connection, done: Option<(CaseId, Option<CaseMetrics>)>| -> StoreResult<()> {
        if let Some((id, Some(mut m))) = done {
            m.customer_churned = churned(conn, m.customer)?;
            apply_delta(conn, None, Some(&m))?;
            save(conn, id, &m)?;
        }
        Ok(())
    };
    while let Some(row) = rows.next()? {
        let case_id: CaseId = row
            .get::<_, String>(0)?
            .parse()
            .map_err(|e| crate::StoreError::Internal(format!("bad case id in log: {e}")))?;
        let recorded = RecordedEvent {
            case_id,
            version: row.get::<_, i64>(2)? as u64,
            at: super::ns_to_ts(row.get(1)?),
            actor: serde_json::from_str(&row.get::<_, String>(3)?)?,
            event: serde_json::from_str(&row.get::<_, String>(4)?)?,
            matrix_version: None,
        };
        if current.as_ref().is_some_and(|(id, _)| *id != case_id) {
            finish(conn, current.take())?;
        }
        let state = current.take().and_then(|(_, m)| m);
        let customer = match &recorded.event {
            ladder_core::event::CaseEvent::Opened(o) => o.customer,
            _ => None,
        };
        current = Some((case_id, CaseMetrics::apply(state, &recorded, || segment(conn, customer))));
    }
    finish(conn, current.take())
}
