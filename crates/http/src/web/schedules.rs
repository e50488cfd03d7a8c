//! `/schedules`: the on-call schedules — who is on call now, and for each schedule a
//! timeline of the next 7 days (an SVG bar and the same shifts as a table): overrides
//! marked, gaps in red (with the fallback that answers them, if any). Read-only; the API
//! changes schedules. Works without JavaScript (`<time>`s are shown in the user's zone by
//! `clocks.js` when it runs).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use jiff::{SignedDuration, Timestamp};
use ladder_core::oncall::{Gap, Shift, Source, StoredSchedule};
use maud::{Markup, html};

use super::clocks::time;
use super::session::Session;
use super::{WebResult, layout};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/schedules", get(schedules_page))
}

/// The timeline's length.
const DAYS: i64 = 7;
/// The SVG's width in user units; a day is a seventh of it.
const WIDTH: f64 = 700.0;

/// One row of a schedule's timeline table, in order: a shift or a gap.
enum Stretch<'a> {
    Shift(&'a Shift),
    Gap(&'a Gap),
}

impl Stretch<'_> {
    fn start(&self) -> Timestamp {
        match self {
            Stretch::Shift(s) => s.start,
            Stretch::Gap(g) => g.start,
        }
    }
}

/// A schedule's shifts and gaps as one list, in time order.
fn stretches<'a>(shifts: &'a [Shift], gaps: &'a [Gap]) -> Vec<Stretch<'a>> {
    let mut rows: Vec<Stretch> = shifts.iter().map(Stretch::Shift).chain(gaps.iter().map(Stretch::Gap)).collect();
    rows.sort_by_key(|r| r.start());
    rows
}

/// A stable colour for a user, from a small palette that reads on white.
fn colour(user: &str) -> &'static str {
    const PALETTE: [&str; 8] = ["#3b6fb6", "#2f8f5b", "#8a5cc2", "#c27c2c", "#2b8c9c", "#9c4f7a", "#5f7d2b", "#6b6b9c"];
    let n = user.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    PALETTE[(n as usize) % PALETTE.len()]
}

fn x_of(t: Timestamp, from: Timestamp, to: Timestamp) -> f64 {
    let total = to.duration_since(from).as_secs_f64();
    (t.duration_since(from).as_secs_f64() / total * WIDTH).clamp(0.0, WIDTH)
}

fn source_text(s: &StoredSchedule, source: Source) -> String {
    match source {
        Source::Layer(i) => format!("layer {}", s.spec.layers.get(i).map_or("?", |l| l.name.as_str())),
        Source::Override => "override".into(),
        Source::Fallback => "fallback".into(),
    }
}

/// The SVG bar of a week: a rectangle per shift in its user's colour (an override striped
/// with a dark outline), red where no layer or override covers.
fn timeline(s: &StoredSchedule, shifts: &[Shift], gaps: &[Gap], from: Timestamp, to: Timestamp) -> Markup {
    html! {
        svg.timeline viewBox=(format!("0 0 {WIDTH} 48")) width="100%" role="img"
            aria-label=(format!("Who is on call for {} over the next {DAYS} days", s.name)) {
            @for g in gaps {
                @let (x1, x2) = (x_of(g.start, from, to), x_of(g.end, from, to));
                rect x=(format!("{x1:.1}")) y="4" width=(format!("{:.1}", (x2 - x1).max(0.5))) height="28" fill="#d93025" {
                    title { "Gap " (g.start) " – " (g.end) }
                }
            }
            @for sh in shifts {
                @let (x1, x2) = (x_of(sh.start, from, to), x_of(sh.end, from, to));
                @let over = sh.source == Source::Override;
                @let gap_filled = sh.source == Source::Fallback;
                rect x=(format!("{x1:.1}")) y=(if gap_filled { "18" } else { "4" }) width=(format!("{:.1}", (x2 - x1).max(0.5)))
                    height=(if gap_filled { "14" } else { "28" }) fill=(colour(&sh.user))
                    stroke=[over.then_some("#111")] stroke-width=[over.then_some("2")] stroke-dasharray=[over.then_some("4 2")] {
                    title { (sh.user) " (" (source_text(s, sh.source)) ") " (sh.start) " – " (sh.end) }
                }
            }
            @for d in 0..=DAYS {
                @let x = WIDTH * d as f64 / DAYS as f64;
                line x1=(format!("{x:.1}")) x2=(format!("{x:.1}")) y1="0" y2="36" stroke="#999" stroke-width="0.5" {}
            }
            @for d in 0..DAYS {
                @let day = from + SignedDuration::from_hours(24 * d);
                text x=(format!("{:.1}", WIDTH * d as f64 / DAYS as f64 + 3.0)) y="46" font-size="9" fill="#444" {
                    (day.strftime("%a %-d %b"))
                }
            }
        }
    }
}

async fn schedules_page(State(state): State<AppState>, session: Session) -> WebResult<Markup> {
    let p = &session.principal;
    let now = state.engine.now();
    let to = now + SignedDuration::from_hours(24 * DAYS);
    let everyone = state.engine.everyone_on_call(p, now).await?;
    let mut sections = Vec::with_capacity(everyone.len());
    for (s, on_call) in &everyone {
        let key = s.id.to_string();
        let (_, shifts) = state.engine.schedule_shifts(p, &key, now, to).await?;
        let (_, gaps) = state.engine.schedule_gaps(p, &key, now, to).await?;
        sections.push((s, on_call, shifts, gaps));
    }
    let body = html! {
        h1 { "On-call schedules" }
        p { "Who answers a page now, and the next " (DAYS) " days of each schedule. Overrides are outlined and dashed; "
            span.gap-text { "red" } " is a gap no layer or override covers (a lower bar there is the fallback answering it)." }
        @if everyone.is_empty() {
            p.empty { "No schedules yet. Managers create them with the API (POST /api/v1/schedules); see docs/oncall.md." }
        } @else {
            div.table-wrap { table.on-call-now {
                caption { "On call now" }
                thead { tr { th scope="col" { "Schedule" } th scope="col" { "On call" } th scope="col" { "Because of" } th scope="col" { "Until" } } }
                tbody {
                    @for (s, on_call) in &everyone {
                        tr {
                            td { a href=(format!("#schedule-{}", s.slug)) { (s.name) } " " code { (s.slug) } }
                            @match on_call {
                                Some(n) => {
                                    td { strong { (n.user) } }
                                    td { (source_text(s, n.source)) }
                                    td { @if let Some(until) = n.until { (time(until)) } @else { "beyond 30 days" } }
                                }
                                None => { td.gap-text colspan="3" { "Nobody: a gap with no fallback" } }
                            }
                        }
                    }
                }
            } }
            @for (s, _, shifts, gaps) in &sections {
                section.schedule aria-labelledby=(format!("schedule-{}", s.slug)) {
                    h2 id=(format!("schedule-{}", s.slug)) { (s.name) " " small.muted { (s.slug) " · " (s.spec.time_zone) } }
                    (timeline(s, shifts, gaps, now, to))
                    @let rows = stretches(shifts, gaps);
                    div.table-wrap { table {
                        caption.visually-hidden { "Shifts of " (s.name) }
                        thead { tr { th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "Who" } th scope="col" { "Because of" } } }
                        tbody {
                            @for r in &rows {
                                @match r {
                                    Stretch::Shift(sh) => {
                                        tr.override[sh.source == Source::Override] {
                                            td { (time(sh.start)) } td { (time(sh.end)) } td { (sh.user) }
                                            td { @if sh.source == Source::Override { (layout::badge("source", "override")) } @else { (source_text(s, sh.source)) } }
                                        }
                                    }
                                    Stretch::Gap(g) => {
                                        tr.gap {
                                            td { (time(g.start)) } td { (time(g.end)) }
                                            td colspan="2" { "Gap" @if let Some(f) = &s.spec.fallback { " — the fallback " (f) " answers" } @else { " — nobody answers" } }
                                        }
                                    }
                                }
                            }
                        }
                    } }
                }
            }
        }
    };
    Ok(layout::page(&session, "On-call schedules", "/schedules", body))
}
