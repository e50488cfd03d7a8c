//! `/dashboard`: the escalation metrics of a period as server-drawn SVG charts, and the
//! "revise the rules" insights with their evidence (managers and admins). The figures are
//! the API's: [`crate::metrics::rows`] over the store's incremental aggregates, and
//! [`crate::insights::suggestions`]; nothing here reads events.

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use jiff::civil::Date;
use ladder_core::access::Action;
use ladder_core::metrics::Dimension;
use maud::{Markup, html};
use serde::Deserialize;

use super::charts::{self, Point, Unit};
use super::layout;
use super::session::Session;
use super::{WebResult, allow};
use crate::AppState;
use crate::metrics::MetricsRowDto;

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard", get(dashboard_page))
}

#[derive(Debug, Deserialize)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Categories shown in a bar chart at most (the ones with the most cases).
const MAX_BARS: usize = 12;
/// Up to this many days, the line is drawn per day; beyond, per week.
const DAILY_UP_TO: i64 = 62;

fn name_of(row: &MetricsRowDto) -> String {
    row.label.clone().or_else(|| row.value.clone()).unwrap_or_else(|| "(none)".to_string())
}

/// The rows with the most cases, at most [`MAX_BARS`], as points of `value`.
fn points(rows: &[MetricsRowDto], value: impl Fn(&MetricsRowDto) -> Option<f64>) -> Vec<Point> {
    let mut rows: Vec<&MetricsRowDto> = rows.iter().filter(|r| r.cases > 0).collect();
    rows.sort_by(|a, b| b.cases.cmp(&a.cases).then_with(|| name_of(a).cmp(&name_of(b))));
    rows.into_iter().take(MAX_BARS).map(|r| Point::new(name_of(r), value(r))).collect()
}

/// The periods of the line chart: days, or weeks (the last one possibly shorter).
fn buckets(from: Date, to: Date) -> Vec<(Date, Date)> {
    let days = (to - from).get_days() as i64 + 1;
    let step = if days <= DAILY_UP_TO { 1 } else { 7 };
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = start.checked_add(jiff::Span::new().days(step - 1)).unwrap_or(to).min(to);
        out.push((start, end));
        match end.tomorrow() {
            Ok(next) => start = next,
            Err(_) => break,
        }
    }
    out
}

fn stat(label: &str, id: &str, value: String) -> Markup {
    html! { div.stat { dt { (label) } dd #(id) { (value) } } }
}

async fn dashboard_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<PeriodQuery>,
) -> WebResult<Markup> {
    allow(&state, &session, &Action::ReadAllMetrics)?;
    let now = state.engine.now();
    let blank = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let (from, to) = crate::metrics::period(blank(q.from).as_deref(), blank(q.to).as_deref(), now)?;
    let rows = |group_by| crate::metrics::rows(&state, &session.principal, from, to, group_by, now);
    let total = rows(None).await?.into_iter().next();
    let by_category = rows(Some(Dimension::Category)).await?;
    let by_channel = rows(Some(Dimension::Channel)).await?;
    let by_team = rows(Some(Dimension::Team)).await?;
    let by_agent = rows(Some(Dimension::Agent)).await?;
    let by_level = rows(Some(Dimension::Level)).await?;
    let mut over_time = Vec::new();
    let periods = buckets(from, to);
    let weekly = periods.first().is_some_and(|(a, b)| a != b);
    for (start, end) in periods {
        let row = crate::metrics::rows(&state, &session.principal, start, end, None, now).await?.into_iter().next();
        let label =
            if weekly { format!("{}…", start.strftime("%m-%d")) } else { start.strftime("%m-%d").to_string() };
        over_time.push(Point::new(label, row.and_then(|r| r.escalation_rate)));
    }
    let (agents, teams) = (crate::insights::peers(&by_agent), crate::insights::peers(&by_team));
    let suggestions = crate::insights::suggestions(&state, &session.principal, from, to, &agents, &teams).await?;

    let pct = |v: Option<f64>| Unit::Percent.format(v);
    let t = total.as_ref();
    let mut csat_groups = vec![(
        "all cases".to_string(),
        vec![t.and_then(|t| t.csat_escalated_avg), t.and_then(|t| t.csat_not_escalated_avg)],
    )];
    csat_groups.extend(
        points(&by_channel, |_| None)
            .into_iter()
            .filter_map(|p| by_channel.iter().find(|r| name_of(r) == p.label))
            .map(|r| (name_of(r), vec![r.csat_escalated_avg, r.csat_not_escalated_avg])),
    );
    let body = html! {
        (super::matrix::stylesheet())
        h1 { "Dashboard" }
        form.period method="get" action="/dashboard" {
            label for="from" { "From" } input #from type="date" name="from" value=(from.to_string());
            label for="to" { "To" } input #to type="date" name="to" value=(to.to_string());
            button type="submit" { "Show" }
            p.hint { "Cases opened from " (from) " to " (to) " (UTC days, both included)." }
        }
        section aria-labelledby="totals-title" {
            h2 #totals-title { "The period at a glance" }
            dl.stats {
                (stat("Cases", "stat-cases", t.map_or(0, |t| t.cases).to_string()))
                (stat("Escalated", "stat-escalated", t.map_or(0, |t| t.escalated).to_string()))
                (stat("Escalation rate", "stat-escalation-rate", pct(t.and_then(|t| t.escalation_rate))))
                (stat("Supervisor escalation rate", "stat-supervisor-rate", pct(t.and_then(|t| t.supervisor_escalation_rate))))
                (stat("Resolved", "stat-resolved", t.map_or(0, |t| t.resolved).to_string()))
                (stat("First-contact resolution", "stat-fcr", pct(t.and_then(|t| t.fcr_rate))))
                (stat("CSAT after escalation", "stat-csat-escalated", Unit::Score.format(t.and_then(|t| t.csat_escalated_avg))))
                (stat("CSAT without escalation", "stat-csat-not-escalated", Unit::Score.format(t.and_then(|t| t.csat_not_escalated_avg))))
                (stat("SLA compliance", "stat-sla", pct(t.and_then(|t| t.sla_compliance))))
                (stat("Open backlog", "stat-open", t.map_or(0, |t| t.open).to_string()))
            }
        }
        section.charts aria-labelledby="charts-title" {
            h2 #charts-title { "Escalations" }
            (charts::line_chart("rate-over-time", &format!("Escalation rate per {}", if weekly { "week" } else { "day" }), Unit::Percent, &over_time))
            (charts::bar_chart("rate-by-category", "Escalation rate by category", Unit::Percent, &points(&by_category, |r| r.escalation_rate)))
            (charts::bar_chart("rate-by-channel", "Escalation rate by channel", Unit::Percent, &points(&by_channel, |r| r.escalation_rate)))
            (charts::bar_chart("rate-by-team", "Escalation rate by team", Unit::Percent, &points(&by_team, |r| r.escalation_rate)))
            (charts::bar_chart("rate-by-agent", "Escalation rate by agent (most cases first)", Unit::Percent, &points(&by_agent, |r| r.escalation_rate)))
            (charts::bar_chart("supervisor-rate-by-team", "Supervisor escalation rate by team", Unit::Percent, &points(&by_team, |r| r.supervisor_escalation_rate)))
        }
        section.charts aria-labelledby="outcomes-title" {
            h2 #outcomes-title { "Outcomes" }
            (charts::bar_chart("fcr-by-channel", "First-contact resolution by channel", Unit::Percent, &points(&by_channel, |r| r.fcr_rate)))
            (charts::grouped_bar_chart("csat-escalated", "CSAT (1–5) after escalation and without", Unit::Score, &["after escalation", "without escalation"], &csat_groups))
            (charts::bar_chart("sla-by-level", "SLA compliance per level", Unit::Percent, &points(&by_level, |r| r.sla_compliance)))
            (charts::bar_chart("time-at-level", "Average time spent at each level", Unit::Seconds, &points(&by_level, |r| r.avg_time_at_level_s)))
        }
        section aria-labelledby="insights-title" {
            h2 #insights-title { "Insights: revise the rules" }
            @if suggestions.is_empty() {
                p #no-insights { "Nothing stands out in this period." }
            } @else {
                ul.insights {
                    @for s in &suggestions {
                        li.insight {
                            p { (layout::badge("insight", &s.kind)) " " strong { (s.title) } }
                            p { (s.suggestion) }
                            details {
                                summary { "Evidence" }
                                dl.evidence {
                                    @for (name, value) in &s.evidence {
                                        dt { (name.replace('_', " ")) }
                                        dd { (evidence_value(value)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&session, "Dashboard", "/dashboard", body))
}

/// An evidence figure for people: case numbers as links, fractions as they are.
fn evidence_value(value: &serde_json::Value) -> Markup {
    match value {
        serde_json::Value::Array(items) => html! {
            @for (i, item) in items.iter().enumerate() {
                @if i > 0 { ", " }
                @if let Some(n) = item.as_i64() { a href=(format!("/cases/{n}")) { "#" (n) } } @else { (item.to_string()) }
            }
        },
        serde_json::Value::String(s) => html! { (s) },
        other => html! { (other.to_string()) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_periods_are_drawn_per_day_and_long_ones_per_week() {
        let day = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(buckets(day("2026-01-01"), day("2026-01-03")).len(), 3);
        let weeks = buckets(day("2026-01-01"), day("2026-06-30"));
        assert_eq!(weeks.first().unwrap(), &(day("2026-01-01"), day("2026-01-07")));
        assert_eq!(weeks.last().unwrap().1, day("2026-06-30"));
        assert_eq!(weeks.len(), 26);
    }
}
