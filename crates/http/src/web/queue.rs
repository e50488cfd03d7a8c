//! `/queue`: the agent's work — cases assigned to them and their teams' queues in the order
//! they should be worked — and "take next".

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use ladder_core::case::Status;
use ladder_core::directory::Team;
use ladder_engine::{AssigneeFilter, CaseFilter, PageRequest};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, badge, countdown, csrf_field, next_clock};
use super::session::{Flash, Posted, Session, redirect_with};
use super::{WebError, WebResult};
use crate::AppState;
use crate::dto::CaseDto;

pub fn router() -> Router<AppState> {
    Router::new().route("/queue", get(queue_page)).route("/queue/{team}/next", post(take_next))
}

/// How many rows each list shows; the page reads only these (index range scans).
const MINE_LIMIT: u32 = 50;
const QUEUE_LIMIT: u32 = 25;

async fn queue_page(State(state): State<AppState>, session: Session) -> WebResult<Markup> {
    let p = &session.principal;
    let teams: BTreeMap<_, Team> = state.engine.teams_by_id(p).await?;
    let filter = CaseFilter {
        status: Status::ALL.into_iter().filter(|s| s.is_active()).collect(),
        assignee: Some(AssigneeFilter::User(p.user_id)),
        ..Default::default()
    };
    let page = state.engine.list_cases(p, filter, PageRequest { before: None, limit: MINE_LIMIT }).await?;
    let mut mine: Vec<CaseDto> = page.cases.iter().map(|c| state.case_dto(c)).collect();
    // Most urgent first: the live clock due soonest, then priority.
    mine.sort_by_key(|c| {
        (next_clock(&c.clocks).map_or(i64::MAX, |k| k.remaining_seconds), std::cmp::Reverse(c.priority))
    });

    let mut queues = Vec::new();
    for team_id in &p.teams {
        let Some(team) = teams.get(team_id) else { continue };
        let (queued, length) = state.engine.queue(p, team, QUEUE_LIMIT).await?;
        let rows: Vec<(u32, CaseDto)> = queued.iter().map(|q| (q.score, state.case_dto(&q.case))).collect();
        queues.push((team, length, rows));
    }
    let mut on_page: Vec<uuid::Uuid> = mine.iter().filter_map(|c| c.customer_id).collect();
    for (_, _, rows) in &queues {
        on_page.extend(rows.iter().filter_map(|(_, c)| c.customer_id));
    }
    let customers = customer_names(&state, p, on_page).await?;
    let names = Names { teams: &teams, customers: &customers };

    let body = html! {
        h1 { "My queue" }
        (super::escalated::tabs("queue"))
        p #live-updated .live-updated role="status" hidden {}
        div #queue-live data-live-queue data-live-region {
        section aria-labelledby="mine-title" {
            h2 #mine-title { "Assigned to me " span.count { "(" (mine.len()) ")" } }
            @if mine.is_empty() {
                p.empty { "Nothing is assigned to you. Take the next case from a team queue below." }
            } @else {
                (case_table("Cases assigned to me", &mine, None, &names))
            }
        }
        @if queues.is_empty() && p.team_scope().is_some() {
            p.empty { "You are not in any team, so you have no team queue." }
        }
        @for (team, length, rows) in &queues {
            section aria-labelledby=(format!("queue-{}", team.slug)) {
                div.section-head {
                    h2 id=(format!("queue-{}", team.slug)) { (team.name) " queue " span.count { "(" (length) " waiting)" } }
                    form method="post" action=(format!("/queue/{}/next", team.slug)) {
                        (csrf_field(&session))
                        button type="submit" disabled[*length == 0] { "Take next" }
                    }
                }
                @if rows.is_empty() {
                    p.empty { "Nobody is waiting." }
                } @else {
                    @let cases: Vec<&CaseDto> = rows.iter().map(|(_, c)| c).collect();
                    @let scores: Vec<u32> = rows.iter().map(|(s, _)| *s).collect();
                    (case_table(&format!("{} queue in priority order", team.name), &cases, Some(&scores), &names))
                }
            }
        }
        }
    };
    Ok(layout::page(&session, "My queue", "/queue", body))
}

/// The customers on a page, by id: their name and segment. One primary-key read each, at
/// most one per row; a customer the principal does not reach is left out.
pub(super) async fn customer_names(
    state: &AppState,
    p: &ladder_core::access::Principal,
    on_page: Vec<uuid::Uuid>,
) -> WebResult<BTreeMap<uuid::Uuid, String>> {
    let mut customers = BTreeMap::new();
    for id in on_page {
        if let std::collections::btree_map::Entry::Vacant(slot) = customers.entry(id)
            && let Some(customer) = state.engine.customer(p, ladder_core::ids::CustomerId(id)).await?
        {
            slot.insert(format!(
                "{}{}",
                customer.name,
                customer.segment.map(|s| format!(" ({s})")).unwrap_or_default()
            ));
        }
    }
    Ok(customers)
}

/// Names of the teams and customers on the page.
pub(super) struct Names<'a> {
    pub(super) teams: &'a BTreeMap<ladder_core::ids::TeamId, Team>,
    pub(super) customers: &'a BTreeMap<uuid::Uuid, String>,
}

impl Names<'_> {
    fn team(&self, id: Option<uuid::Uuid>) -> String {
        id.and_then(|id| self.teams.get(&ladder_core::ids::TeamId(id))).map_or("—".to_string(), |t| t.name.clone())
    }
    fn customer(&self, id: Option<uuid::Uuid>) -> &str {
        id.and_then(|id| self.customers.get(&id)).map_or("—", String::as_str)
    }
}

/// The case list both sections use. `scores`: the queue's priority points, in row order.
pub(super) fn case_table<C: std::borrow::Borrow<CaseDto>>(
    caption: &str,
    cases: &[C],
    scores: Option<&[u32]>,
    names: &Names,
) -> Markup {
    html! {
        div.table-wrap {
            table.cases {
                caption.visually-hidden { (caption) }
                thead {
                    tr {
                        @if scores.is_some() { th scope="col" { "#" } }
                        th scope="col" { "Case" }
                        th scope="col" { "SLA" }
                        th scope="col" { "Status" }
                        th scope="col" { "Priority" }
                        th scope="col" { "Customer" }
                        th scope="col" { "Level · team" }
                        th scope="col" { "Channel" }
                        @if scores.is_some() { th scope="col" { abbr title="Queue priority points" { "Points" } } }
                    }
                }
                tbody {
                    @for (i, c) in cases.iter().map(|c| c.borrow()).enumerate() {
                        tr data-case=(c.number) data-version=(c.version) {
                            @if scores.is_some() { td { (i + 1) } }
                            td.subject {
                                a href=(format!("/cases/{}", c.number)) { "#" (c.number) " " (c.subject) }
                                @if let Some(cat) = &c.category { span.muted { " · " (cat) } }
                            }
                            td { @if let Some(k) = next_clock(&c.clocks) { (countdown(k)) } @else { span.muted { "—" } } }
                            td { (badge("status", c.status.as_str())) }
                            td { (badge("priority", c.priority.as_str())) }
                            td { (names.customer(c.customer_id)) }
                            td { (c.level) " · " (names.team(c.team_id)) }
                            td { (c.channel.as_str()) }
                            @if let Some(s) = scores { td { (s[i]) } }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct Empty {}

/// Takes the head of the team's queue (the engine's atomic claim, as
/// `POST /api/v1/queues/{team}/next`) and opens it.
async fn take_next(
    State(state): State<AppState>,
    Path(team): Path<String>,
    posted: Posted<Empty>,
) -> WebResult<Response> {
    let p = &posted.session.principal;
    let team =
        state.engine.resolve_team("team", &team).await.map_err(|_| WebError::not_found(format!("no team '{team}'")))?;
    match state.engine.claim_next(p, team.id, state.engine.now()).await {
        Ok(Some(outcome)) => Ok(redirect_with(
            &format!("/cases/{}", outcome.case.number),
            Some(Flash { ok: true, message: format!("Case #{} is now yours.", outcome.case.number) }),
        )),
        Ok(None) => {
            Ok(redirect_with("/queue", Some(Flash { ok: true, message: format!("The {} queue is empty.", team.name) })))
        }
        Err(ladder_engine::StoreError::Forbidden(m)) => Err(WebError::forbidden(m)),
        Err(e) => Ok(redirect_with(
            "/queue",
            Some(Flash { ok: false, message: crate::error::ApiError::from(e).0.detail.clone() }),
        )),
    }
}
