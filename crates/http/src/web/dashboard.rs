//! `/dashboard`: the escalation metrics of a period as server-drawn SVG charts, and the
//! "revise the rules" insights with their evidence (managers and admins). The figures are
//! the API's: [`crate::metrics::rows`] over the store's incremental aggregates, and
//! [`crate::insights::suggestions`]; nothing here reads events.

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use jiff::civil::Date;
use ladder_core::access::Action;
use ladder_core::matrix::MetricTargets;
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

/// A CSAT average with the matrix's CSAT target beside it (the figure is `#id`).
fn csat_stat(label: &str, id: &str, value: Option<f64>, targets: &MetricTargets) -> Markup {
    html! { div.stat { dt { (label) } dd { span #(id) { (Unit::Score.format(value)) } (target_note(id, "csat", Unit::Score, value, targets)) } } }
}

/// One rate of a row: its value, and the count it is the share of (`numerator`,
/// `denominator`), so "100 %" out of one case reads as such.
struct Rate {
    value: Option<f64>,
    of: (i64, i64),
}

impl Rate {
    fn of(
        row: Option<&MetricsRowDto>,
        value: impl Fn(&MetricsRowDto) -> Option<f64>,
        of: impl Fn(&MetricsRowDto) -> (i64, i64),
    ) -> Rate {
        Rate { value: row.and_then(&value), of: row.map_or((0, 0), of) }
    }

    fn count(&self) -> String {
        format!("{} of {}", self.of.0, self.of.1)
    }
}

/// The matrix's target for a figure (`#id-target`), met or missed, when the matrix in force
/// sets one (`[metric_targets]`); nothing otherwise.
fn target_note(id: &str, metric: &str, unit: Unit, value: Option<f64>, targets: &MetricTargets) -> Markup {
    let Some(target) = targets.get(metric) else { return html! {} };
    let bound = if metric == "escalation_rate" { "at most" } else { "at least" };
    let (class, verdict) = match value.and_then(|v| targets.met(metric, v)) {
        Some(true) => ("target target-met", "met"),
        Some(false) => ("target target-missed", "missed"),
        None => ("target", "no figure yet"),
    };
    html! {
        br;
        span class=(class) id=(format!("{id}-target")) { "target: " (bound) " " (unit.format(Some(target))) " — " strong { (verdict) } }
    }
}

/// A rate of the period with its count (n) and the previous period's beside it: the
/// figure (`#id`), `#id-n` and `#id-previous`; its target (`#id-target`) when the matrix
/// sets one for `metric`.
fn rate_stat(label: &str, id: &str, now: Rate, before: Rate, target: (&str, &MetricTargets)) -> Markup {
    let pct = |v: Option<f64>| Unit::Percent.format(v);
    let trend = match (now.value, before.value) {
        (Some(a), Some(b)) if (a - b).abs() >= 0.0005 => {
            format!(" ({:+.1} points)", (a - b) * 100.0)
        }
        _ => String::new(),
    };
    html! {
        div.stat {
            dt { (label) }
            dd {
                span #(id) { (pct(now.value)) }
                " " span.n #(format!("{id}-n")) { "n = " (now.count()) }
                br;
                span.previous #(format!("{id}-previous")) {
                    "previous period: " (pct(before.value)) " (n = " (before.count()) ")" (trend)
                }
                (target_note(id, target.0, Unit::Percent, now.value, target.1))
            }
        }
    }
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
    // The period of the same length just before, for comparison.
    let length = jiff::Span::new().days((to - from).get_days() + 1);
    let (prev_from, prev_to) = (from.checked_sub(length).unwrap_or(from), from.yesterday().unwrap_or(from));
    let previous =
        crate::metrics::rows(&state, &session.principal, prev_from, prev_to, None, now).await?.into_iter().next();
    let by_category = rows(Some(Dimension::Category)).await?;
    let by_channel = rows(Some(Dimension::Channel)).await?;
    let mut by_team = rows(Some(Dimension::Team)).await?;
    // Teams by their names, not their slugs.
    let teams = state.engine.teams_by_id(&session.principal).await?;
    for row in &mut by_team {
        let team =
            row.value.as_deref().and_then(|v| v.parse().ok()).and_then(|id| teams.get(&ladder_core::ids::TeamId(id)));
        if let Some(team) = team {
            row.label = Some(team.name.clone());
        }
    }
    let by_agent = rows(Some(Dimension::Agent)).await?;
    let by_level = rows(Some(Dimension::Level)).await?;
    let mut over_time = Vec::new();
    let periods = buckets(from, to);
    let weekly = periods.first().is_some_and(|(a, b)| a != b);
    for (start, end) in periods {
        let row = crate::metrics::rows(&state, &session.principal, start, end, None, now).await?.into_iter().next();
        let label =
            if weekly { format!("{}…", start.strftime("%m-%d")) } else { start.strftime("%m-%d").to_string() };
        over_time.push(Point::new(label, row.and_then(|r| r.rates.escalation_rate)));
    }
    let (agents, teams) = (crate::insights::peers(&by_agent), crate::insights::peers(&by_team));
    let suggestions = crate::insights::suggestions(&state, &session.principal, from, to, &agents, &teams).await?;
    let knowledge = state.engine.knowledge_insights(&session.principal, from, to).await?;

    let t = total.as_ref();
    let prev = previous.as_ref();
    let targets = state.engine.active_matrix().map(|m| m.compiled.matrix().metric_targets).unwrap_or_default();
    let target = |metric| (metric, &targets);
    let escalation = |r| Rate::of(r, |r| r.rates.escalation_rate, |r| (r.escalated, r.cases));
    let supervisor = |r| Rate::of(r, |r| r.rates.supervisor_escalation_rate, |r| (r.supervisor_escalated, r.cases));
    let fcr = |r| Rate::of(r, |r| r.rates.fcr_rate, |r| (r.fcr, r.resolved));
    let sla = |r| Rate::of(r, |r| r.rates.sla_compliance, |r| (r.sla_met, r.sla_met + r.sla_breached));
    let mut csat_groups = vec![(
        "all cases".to_string(),
        vec![t.and_then(|t| t.rates.csat_escalated_avg), t.and_then(|t| t.rates.csat_not_escalated_avg)],
    )];
    csat_groups.extend(
        points(&by_channel, |_| None)
            .into_iter()
            .filter_map(|p| by_channel.iter().find(|r| name_of(r) == p.label))
            .map(|r| (name_of(r), vec![r.rates.csat_escalated_avg, r.rates.csat_not_escalated_avg])),
    );
    let body = html! {
        (super::matrix::stylesheet())
        h1 { "Dashboard" }
        form.period method="get" action="/dashboard" {
            label for="from" { "From" } input #from type="date" name="from" value=(from.to_string());
            label for="to" { "To" } input #to type="date" name="to" value=(to.to_string());
            button type="submit" { "Show" }
            p.hint { "Cases opened from " (from) " to " (to) " (UTC days, both included); the previous period is "
                (prev_from) " to " (prev_to) ". Each rate says what it counts (n); targets come from the matrix in force ("
                code { "[metric_targets]" } ")." }
        }
        section aria-labelledby="totals-title" {
            h2 #totals-title { "The period at a glance" }
            dl.stats {
                (stat("Cases", "stat-cases", t.map_or(0, |t| t.cases).to_string()))
                (stat("Escalated", "stat-escalated", t.map_or(0, |t| t.escalated).to_string()))
                (rate_stat("Escalation rate", "stat-escalation-rate", escalation(t), escalation(prev), target("escalation_rate")))
                (rate_stat("Supervisor escalation rate", "stat-supervisor-rate", supervisor(t), supervisor(prev), target("")))
                (stat("Resolved", "stat-resolved", t.map_or(0, |t| t.resolved).to_string()))
                (rate_stat("First-contact resolution", "stat-fcr", fcr(t), fcr(prev), target("fcr")))
                (csat_stat("CSAT", "stat-csat", t.and_then(|t| t.rates.csat_avg), &targets))
                (stat("CSAT after escalation", "stat-csat-escalated", Unit::Score.format(t.and_then(|t| t.rates.csat_escalated_avg))))
                (stat("CSAT without escalation", "stat-csat-not-escalated", Unit::Score.format(t.and_then(|t| t.rates.csat_not_escalated_avg))))
                (stat("CSAT answers", "stat-csat-n", t.map_or(0, |t| t.csat_n).to_string()))
                (rate_stat("SLA compliance (clocks met of those ended)", "stat-sla", sla(t), sla(prev), target("sla_compliance")))
                (stat("Open backlog", "stat-open", t.map_or(0, |t| t.open).to_string()))
            }
        }
        section.charts aria-labelledby="charts-title" {
            h2 #charts-title { "Escalations" }
            (charts::line_chart("rate-over-time", &format!("Escalation rate per {}", if weekly { "week" } else { "day" }), Unit::Percent, &over_time))
            (charts::bar_chart("rate-by-category", "Escalation rate by category", Unit::Percent, &points(&by_category, |r| r.rates.escalation_rate)))
            (charts::bar_chart("rate-by-channel", "Escalation rate by channel", Unit::Percent, &points(&by_channel, |r| r.rates.escalation_rate)))
            (charts::bar_chart("rate-by-team", "Escalation rate by team", Unit::Percent, &points(&by_team, |r| r.rates.escalation_rate)))
            (charts::bar_chart("rate-by-agent", "Escalation rate by agent (most cases first)", Unit::Percent, &points(&by_agent, |r| r.rates.escalation_rate)))
            (charts::bar_chart("supervisor-rate-by-team", "Supervisor escalation rate by team", Unit::Percent, &points(&by_team, |r| r.rates.supervisor_escalation_rate)))
        }
        section.charts aria-labelledby="outcomes-title" {
            h2 #outcomes-title { "Outcomes" }
            (charts::bar_chart("fcr-by-channel", "First-contact resolution by channel", Unit::Percent, &points(&by_channel, |r| r.rates.fcr_rate)))
            (charts::grouped_bar_chart("csat-escalated", "CSAT (1–5) after escalation and without", Unit::Score, &["after escalation", "without escalation"], &csat_groups))
            (charts::bar_chart("sla-by-level", "SLA compliance per level", Unit::Percent, &points(&by_level, |r| r.rates.sla_compliance)))
            (charts::bar_chart("time-at-level", "Average time spent at each level", Unit::Seconds, &points(&by_level, |r| r.rates.avg_time_at_level_s)))
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
        (knowledge_section(&knowledge))
    };
    Ok(layout::page(&session, "Dashboard", "/dashboard", body))
}

/// The knowledge insights (the insights API's `knowledge`): escalations of a category before
/// and after an article for it was published, the articles that solved cases at the first
/// level, and the categories that escalate with no article.
fn knowledge_section(k: &ladder_core::articles::KnowledgeInsights) -> Markup {
    let rate = |e: &ladder_core::articles::Escalations| match e.cases {
        0 => "– (no cases)".to_string(),
        n => format!("{:.0} % ({} of {n})", e.escalated as f64 * 100.0 / n as f64, e.escalated),
    };
    html! {
        section #knowledge aria-labelledby="knowledge-title" {
            h2 #knowledge-title { "Knowledge" }
            p.hint { "Articles at work: escalations of a category in the "
                (ladder_core::articles::EFFECT_WINDOW_DAYS) " days before and after an article for it was published, the articles that solved cases at the first level, and the categories that escalate with no article yet." }
            h3 { "Escalations before and after an article" }
            @if k.effects.is_empty() {
                p.muted #knowledge-no-effects { "No article was published for a category yet." }
            } @else {
                table #knowledge-effects {
                    thead { tr { th { "Article" } th { "Category" } th { "Published" } th { "Escalated before" } th { "Escalated after" } } }
                    tbody {
                        @for e in &k.effects {
                            tr {
                                td { a href=(format!("/articles/{}", e.article)) { (e.title) } }
                                td { (e.category) }
                                td { (e.published) }
                                td { (rate(&e.before)) }
                                td { (rate(&e.after)) }
                            }
                        }
                    }
                }
            }
            h3 { "Articles that solved cases at the first level" }
            @if k.solved_at_first_level.is_empty() {
                p.muted #knowledge-no-solved { "No first-level resolution named an article in this period." }
            } @else {
                ul #knowledge-solved {
                    @for s in &k.solved_at_first_level {
                        li { a href=(format!("/articles/{}", s.article)) { (s.title) } " — " (s.cases) " case(s)" }
                    }
                }
            }
            h3 { "Categories that escalate with no article: write one" }
            @if k.write_one.is_empty() {
                p.muted #knowledge-no-gaps { "Every category that escalated has a published article." }
            } @else {
                ul #knowledge-write-one {
                    @for w in &k.write_one {
                        li {
                            strong { (w.category) } ": " (w.escalated) " of " (w.cases) " case(s) escalated — "
                            a href="/articles/new" { "write one" }
                        }
                    }
                }
            }
        }
    }
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
