//! `/api/v1/metrics` (escalation metrics as JSON or CSV) and `/metrics` (Prometheus text).
//! The figures come from the store's incrementally maintained daily aggregate; the
//! definitions are in [`ladder_core::metrics`] and `docs/api.md`.

use ladder_core::access::Action;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::Date;
use ladder_core::metrics::{Counters, Dimension, Rates};

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Auth;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics)).routes(routes!(prometheus))
}

/// The dimensions `group_by` accepts: every one but the total and the per-team agent rows
/// the store keeps for supervisors.
fn group_by_dimensions() -> impl Iterator<Item = Dimension> {
    Dimension::ALL.into_iter().filter(|d| !matches!(d, Dimension::All | Dimension::TeamAgent))
}

/// The period defaults to the 30 UTC days ending today.
const DEFAULT_DAYS: i64 = 30;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    /// First UTC day of the cases' opening, `YYYY-MM-DD` (default: 29 days before `to`).
    #[param(format = Date, pattern = r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-[0-9]{2}-[0-9]{2}$")]
    from: Option<String>,
    /// Last UTC day, inclusive, `YYYY-MM-DD` (default: today).
    #[param(format = Date, pattern = r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-[0-9]{2}-[0-9]{2}$")]
    to: Option<String>,
    /// `channel`, `category`, `priority`, `team`, `agent`, `level`, `initiator` or `segment`;
    /// absent: one total row.
    #[param(pattern = "^(channel|category|priority|team|agent|level|initiator|segment)$")]
    group_by: Option<String>,
    /// `json` (default) or `csv`; `Accept: text/csv` also asks for CSV.
    #[param(pattern = "^(json|csv)$")]
    format: Option<String>,
}

/// Escalation metrics over a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsDto {
    pub from: String,
    pub to: String,
    pub group_by: Option<String>,
    /// One row per value of `group_by` (or one total row), by value.
    pub rows: Vec<MetricsRowDto>,
}

/// The figures of one value of the grouping dimension. Rates are fractions (0–1), absent
/// when their denominator is 0; durations are in seconds.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsRowDto {
    /// The dimension's value (a channel, a level, a team or user id …); absent for the total
    /// and for cases without a value.
    pub value: Option<String>,
    /// The team's slug or the user's name, for `team` and `agent`.
    pub label: Option<String>,
    pub cases: i64,
    pub escalated: i64,
    pub n_escalations: i64,
    pub supervisor_escalated: i64,
    pub de_escalated: i64,
    pub transferred: i64,
    pub resolved: i64,
    pub fcr: i64,
    pub reopened: i64,
    /// Cases still active now (the backlog).
    pub open: i64,
    pub csat_n: i64,
    pub sla_met: i64,
    pub sla_breached: i64,
    /// Cases with a customer, and of those the ones whose customer has churned.
    pub with_customer: i64,
    pub churned: i64,
    /// The rates and averages of these counters.
    #[serde(flatten)]
    pub rates: Rates,
}

/// The CSV columns, in order (the JSON row's fields).
const CSV_COLUMNS: &[&str] = &[
    "value",
    "label",
    "cases",
    "escalated",
    "n_escalations",
    "supervisor_escalated",
    "de_escalated",
    "transferred",
    "resolved",
    "fcr",
    "reopened",
    "open",
    "csat_n",
    "sla_met",
    "sla_breached",
    "with_customer",
    "churned",
    "escalation_rate",
    "supervisor_escalation_rate",
    "fcr_rate",
    "de_escalation_rate",
    "reopen_rate",
    "transfer_rate",
    "csat_avg",
    "csat_escalated_avg",
    "csat_not_escalated_avg",
    "sla_compliance",
    "avg_time_to_first_escalation_s",
    "avg_time_to_resolution_s",
    "avg_time_at_level_s",
    "backlog_avg_age_s",
    "churn_rate_escalated",
    "churn_rate_not_escalated",
];

impl MetricsRowDto {
    fn new(value: String, label: Option<String>, c: &Counters, now: Timestamp) -> Self {
        MetricsRowDto {
            value: (!value.is_empty()).then_some(value),
            label,
            cases: c.cases,
            escalated: c.escalated,
            n_escalations: c.n_escalations,
            supervisor_escalated: c.supervisor_escalated,
            de_escalated: c.de_escalated,
            transferred: c.transferred,
            resolved: c.resolved,
            fcr: c.fcr,
            reopened: c.reopened,
            open: c.open,
            csat_n: c.csat_n,
            sla_met: c.sla_met,
            sla_breached: c.sla_breached,
            with_customer: c.with_customer,
            churned: c.churned,
            rates: c.rates(now),
        }
    }
}

/// A UTC day: a 400 when it is not `YYYY-MM-DD`, a 422 outside the days whose instants the
/// API keeps (1970-01-01 to 9999-12-30, [`ladder_core::instant`]).
fn parse_day(field: &str, raw: &str) -> ApiResult<Date> {
    let day = raw
        .parse::<Date>()
        .map_err(|_| ApiError::bad_request(field, format!("'{raw}' is not a date; use YYYY-MM-DD")))?;
    // The days whose instants the store keeps (`core::instant`): 1970-01-01 to 9999-12-30.
    let (first, last) = (today(ladder_core::instant::MIN), today(ladder_core::instant::max()));
    if !(first..=last).contains(&day) {
        return Err(ApiError::validation(field, format!("{day} is out of range; give {first} to {last}")));
    }
    Ok(day)
}

fn today(now: Timestamp) -> Date {
    now.to_zoned(jiff::tz::TimeZone::UTC).date()
}

/// The period of a metrics or insights request: UTC days, both ends included; `to`
/// defaults to today and `from` to [`DEFAULT_DAYS`] days ending at `to`. A date that does
/// not parse is a 400 naming the field; one out of range, or a `from` after `to`, a 422.
pub(crate) fn period(from: Option<&str>, to: Option<&str>, now: Timestamp) -> ApiResult<(Date, Date)> {
    let to = match to {
        Some(raw) => parse_day("to", raw)?,
        None => today(now),
    };
    let from = match from {
        Some(raw) => parse_day("from", raw)?,
        None => to.checked_sub(jiff::Span::new().days(DEFAULT_DAYS - 1)).unwrap_or(to),
    };
    if from > to {
        return Err(ApiError::validation("from", format!("{from} is after `to` ({to})")));
    }
    Ok((from, to))
}

/// Escalation metrics of the cases opened in a period (UTC days, inclusive), grouped by one
/// dimension: escalation, supervisor-escalation, first-contact-resolution, de-escalation,
/// reopen and transfer rates, CSAT (overall, escalated, not escalated), SLA compliance, time
/// to first escalation and to resolution, time at level, backlog and its age, churn among
/// escalated cases' customers versus the others'. JSON, or CSV
/// with `Accept: text/csv` or `format=csv`. Managers and admins see every case; a supervisor
/// sees the cases of their own teams (first team), ungrouped or grouped by `team` or
/// `agent` only (other groupings are a 403); agents are refused.
#[utoipa::path(get, path = "/api/v1/metrics", tag = "metrics", params(MetricsQuery),
    responses((status = 200, body = MetricsDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn metrics(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Query(q): Query<MetricsQuery>,
) -> ApiResult<Response> {
    state.engine.check(&auth.0, &Action::ReadMetrics)?;
    let principal = &auth.0;
    let now = state.engine.now();
    let (from, to) = period(q.from.as_deref(), q.to.as_deref(), now)?;
    let group_by = match q.group_by.as_deref() {
        None => None,
        Some(raw) => Some(group_by_dimensions().find(|d| d.as_str() == raw).ok_or_else(|| {
            ApiError::bad_request(
                "group_by",
                format!(
                    "'{raw}' is not one of {}",
                    group_by_dimensions().map(|d| d.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
        })?),
    };
    let csv = match q.format.as_deref() {
        None => {
            headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/csv"))
        }
        Some("json") => false,
        Some("csv") => true,
        Some(other) => return Err(ApiError::bad_request("format", format!("'{other}' is not one of json, csv"))),
    };
    let dto = MetricsDto {
        from: from.to_string(),
        to: to.to_string(),
        group_by: group_by.map(|d| d.as_str().to_string()),
        rows: rows(&state, principal, from, to, group_by, now).await?,
    };
    if !csv {
        return Ok(Json(dto).into_response());
    }
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for row in &dto.rows {
        let value = serde_json::to_value(row).unwrap_or_default();
        let cells: Vec<String> = CSV_COLUMNS.iter().map(|c| csv_cell(&value[*c])).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    let mut response = out.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    Ok(response)
}

fn csv_cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) if s.contains([',', '"', '\n', '\r']) => format!("\"{}\"", s.replace('"', "\"\"")),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The rows of a metrics answer: the store's summed counters per value of `group_by`, with
/// their rates and, for teams and agents, their slug or name. The console's dashboard reads
/// its figures through this too.
pub(crate) async fn rows(
    state: &AppState,
    principal: &ladder_core::access::Principal,
    from: Date,
    to: Date,
    group_by: Option<Dimension>,
    now: Timestamp,
) -> ApiResult<Vec<MetricsRowDto>> {
    // Supervisors see the cases of their own teams: the aggregates can say that for the
    // total, per team and per agent, not for the other groupings (the engine refuses those).
    let rows = state.engine.metrics(principal, from, to, group_by).await.map_err(|e| {
        let mut e = ApiError::from(e);
        if e.0.status == 403 && group_by.is_some() {
            e.0.field = Some("group_by".into());
        }
        e
    })?;
    let labels: BTreeMap<String, String> = match group_by {
        Some(Dimension::Team) => {
            state.engine.teams(principal).await?.into_iter().map(|t| (t.id.to_string(), t.slug)).collect()
        }
        Some(Dimension::Agent) => {
            state.engine.user_names(principal).await?.into_iter().map(|(id, name)| (id.to_string(), name)).collect()
        }
        _ => BTreeMap::new(),
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let label = labels.get(&r.value).cloned();
            MetricsRowDto::new(r.value, label, &r.counters, now)
        })
        .collect())
}

/// Operational figures and the main business gauges in the Prometheus text format
/// (managers and admins, bearer token): cases by status, armed SLA timers, events in the
/// log, and over the cases opened in the last 30 days the escalation rate, first-contact
/// resolution rate, average CSAT and SLA compliance; the open backlog over all cases; then
/// what the server measures of itself (writer, timers, outbox, HTTP latency by route:
/// docs/operations.md#metrics).
#[utoipa::path(get, path = "/metrics", tag = "metrics",
    responses((status = 200, body = String, content_type = "text/plain"), (status = 403, body = Problem)))]
async fn prometheus(State(state): State<AppState>, auth: Auth) -> ApiResult<Response> {
    let now = state.engine.now();
    let (by_status, timers, stats) = state.engine.operational_figures(&auth.0).await?;
    let to = today(now);
    let from = to.checked_sub(jiff::Span::new().days(DEFAULT_DAYS - 1)).unwrap_or(to);
    let recent =
        state.engine.metrics(&auth.0, from, to, None).await?.into_iter().next().map(|r| r.counters).unwrap_or_default();
    let rates = recent.rates(now);
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let statuses: Vec<(String, f64)> = ladder_core::Status::ALL
        .iter()
        .map(|s| (format!("{{status=\"{}\"}}", s.as_str()), by_status.get(s.as_str()).copied().unwrap_or(0) as f64))
        .collect();
    gauge("ladder_cases", "Cases by status.", &statuses);
    let open: u64 =
        ladder_core::Status::ALL.iter().filter(|s| s.is_active()).filter_map(|s| by_status.get(s.as_str())).sum();
    gauge("ladder_backlog_cases", "Cases not resolved or closed.", &[(String::new(), open as f64)]);
    gauge("ladder_sla_timers_armed", "SLA clocks with an armed timer.", &[(String::new(), timers as f64)]);
    gauge("ladder_events", "Events in the log.", &[(String::new(), stats.n_events as f64)]);
    gauge("ladder_cases_opened_30d", "Cases opened in the last 30 UTC days.", &[(String::new(), recent.cases as f64)]);
    // A rate without a denominator is a gauge without samples.
    let rate_gauges = [
        (
            "ladder_escalation_rate_30d",
            "Share of the cases opened in the last 30 days that were escalated.",
            rates.escalation_rate,
        ),
        (
            "ladder_fcr_rate_30d",
            "First-contact resolutions among the resolved cases opened in the last 30 days.",
            rates.fcr_rate,
        ),
        ("ladder_csat_avg_30d", "Average CSAT (1-5) of the cases opened in the last 30 days.", rates.csat_avg),
        (
            "ladder_sla_compliance_30d",
            "SLA clocks met among those met or breached, cases opened in the last 30 days.",
            rates.sla_compliance,
        ),
    ];
    for (name, help, rate) in rate_gauges {
        let samples: Vec<(String, f64)> = rate.map(|v| (String::new(), v)).into_iter().collect();
        gauge(name, help, &samples);
    }
    out.push_str(&crate::observe::render());
    let mut response = out.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    Ok(response)
}
