//! `/board`: the supervisor's live board — escalations arriving, clocks at risk or breached,
//! approvals waiting, team load and agent presence — and the supervisor's controls on a case:
//! reassign to an agent of the team, take over.
//!
//! The page is complete without JavaScript (a server-rendered list on load). With it,
//! `/assets/board.js` listens to `/board/stream` (Server-Sent Events fed by the engine's
//! `subscribe()`, filtered by the session's scope) and inserts each row the server rendered.

use ladder_core::access::Action;
use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{Stream, StreamExt};
use ladder_core::access::Principal;
use ladder_core::case::{Case, Status};
use ladder_core::directory::Team;
use ladder_core::ids::{TeamId, UserId};
use ladder_engine::{Assignment, CaseRequest};
use ladder_engine::{CaseFilter, PageRequest};
use maud::{Markup, html};
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;

use super::case::visible_case;
use super::layout::{self, badge, countdown, csrf_field, next_clock};
use super::session::{Flash, Posted, Session, redirect_with};
use super::{WebError, WebResult, allow, given};
use crate::AppState;
use crate::dto::CaseDto;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/board", get(board_page))
        .route("/board/stream", get(board_stream))
        .route("/assets/board.js", get(board_js))
        .route("/cases/{number}/reassign", post(reassign))
        .route("/cases/{number}/take-over", post(take_over))
}

/// Rows per list; each list is one indexed read with this limit.
const ESCALATED_LIMIT: u32 = 25;
const AT_RISK_LIMIT: u32 = 25;
const APPROVALS_LIMIT: u32 = 25;

/// Whether a case belongs on this principal's board (`core::access`'s rule).
pub fn in_scope(p: &Principal, case: &Case) -> bool {
    p.allows(&Action::SuperviseCase(case)).is_ok()
}

/// Why an active case needs a supervisor's eye; empty when it does not.
fn reasons(case: &Case, dto: &CaseDto) -> Vec<&'static str> {
    let mut why = Vec::new();
    if !case.status.is_active() {
        return why;
    }
    match dto.sla.as_deref() {
        Some("breached") => why.push("breached"),
        Some("at_risk") => why.push("at_risk"),
        _ => {}
    }
    if case.pending_approvals().next().is_some() {
        why.push("approval");
    }
    if case.n_escalations > 0 {
        why.push("escalated");
    }
    why
}

/// Names of teams and users on the board; the directory tables are small.
struct Names {
    users: BTreeMap<UserId, String>,
    teams: BTreeMap<TeamId, Team>,
}

impl Names {
    async fn load(state: &AppState, p: &Principal) -> WebResult<Names> {
        Ok(Names { users: state.engine.user_names(p).await?, teams: state.engine.teams_by_id(p).await? })
    }
    fn user(&self, id: Option<UserId>) -> &str {
        id.and_then(|id| self.users.get(&id)).map_or("nobody", String::as_str)
    }
    fn team(&self, id: Option<TeamId>) -> &str {
        id.and_then(|id| self.teams.get(&id)).map_or("no team", |t| t.name.as_str())
    }
}

/// One row of the board, the same whether rendered with the page or sent live.
fn board_row(session: &Session, case: &Case, dto: &CaseDto, why: &[&str], names: &Names) -> Markup {
    let mine = case.assignee == Some(session.principal.user_id);
    html! {
        tr id=(format!("board-{}", case.number)) data-number=(case.number) {
            td.subject {
                a href=(format!("/cases/{}", case.number)) { "#" (case.number) " " (case.subject) }
                @if let Some(cat) = &case.category { span.muted { " · " (cat) } }
            }
            td.why { @for w in why { (badge("why", w)) " " } }
            td { @if let Some(k) = next_clock(&dto.clocks) { (countdown(k)) } @else { span.muted { "—" } } }
            td { (badge("priority", case.priority.as_str())) }
            td { (case.level.0) " · " (names.team(case.team)) }
            td { (names.user(case.assignee)) }
            td.row-actions {
                @if mine {
                    span.muted { "yours" }
                } @else {
                    form method="post" action=(format!("/cases/{}/take-over", case.number)) {
                        (csrf_field(session))
                        input type="hidden" name="back" value="/board";
                        button type="submit" aria-label=(format!("Take over case #{}", case.number)) { "Take over" }
                    }
                }
                " " a href=(format!("/cases/{}#supervise", case.number)) { "Reassign" }
            }
        }
    }
}

fn board_table(rows: Markup, empty: bool) -> Markup {
    html! {
        div.table-wrap {
            table.cases.board {
                caption.visually-hidden { "Cases that need attention, the most urgent first" }
                thead {
                    tr {
                        th scope="col" { "Case" }
                        th scope="col" { "Why" }
                        th scope="col" { "SLA" }
                        th scope="col" { "Priority" }
                        th scope="col" { "Level · team" }
                        th scope="col" { "Assignee" }
                        th scope="col" { "Act" }
                    }
                }
                tbody #board-rows data-live-board="/board/stream" { (rows) }
            }
        }
        p.empty #board-empty hidden[!empty] { "Nothing needs attention: no escalations, no clocks at risk, no approvals waiting." }
    }
}

async fn board_page(State(state): State<AppState>, session: Session) -> WebResult<Markup> {
    allow(&state, &session, &Action::Supervise)?;
    let p = &session.principal;
    let engine = &state.engine;
    let names = Names::load(&state, p).await?;
    let scope = p.team_scope();
    let teams: Vec<&Team> =
        names.teams.values().filter(|t| scope.as_ref().is_none_or(|mine| mine.contains(&t.id))).collect();

    // Three indexed reads, each limited: clocks breached or at risk (due soonest first),
    // approvals waiting (oldest first), and escalated cases above the bottom rung (newest
    // first). A case in more than one appears once, with every reason.
    let mut cases: Vec<Case> = Vec::new();
    let at_risk = engine.sla_cases(p, vec!["breached".into(), "at_risk".into()], None, AT_RISK_LIMIT).await?;
    cases.extend(at_risk);
    cases.extend(engine.approval_inbox(p, APPROVALS_LIMIT).await?.into_iter().map(|a| a.case));
    if scope.as_ref().is_some_and(Vec::is_empty) {
        // A supervisor in no team has nothing on the board.
    } else {
        let ladder = state.engine.ladder();
        let filter = CaseFilter {
            status: Status::ALL.into_iter().filter(|s| s.is_active()).collect(),
            level: ladder.levels.iter().skip(1).cloned().collect(),
            team: scope.clone().unwrap_or_default(),
            ..Default::default()
        };
        if !filter.level.is_empty() {
            let page = engine.list_cases(p, filter, PageRequest { before: None, limit: ESCALATED_LIMIT }).await?;
            cases.extend(page.cases);
        }
    }
    let mut seen = BTreeSet::new();
    cases.retain(|c| in_scope(p, c) && seen.insert(c.number));
    let mut rows: Vec<(Case, CaseDto, Vec<&str>)> = cases
        .into_iter()
        .map(|c| {
            let dto = state.case_dto(&c);
            (c, dto, Vec::new())
        })
        .collect();
    for (c, dto, why) in &mut rows {
        *why = reasons(c, dto);
    }
    rows.retain(|(_, _, why)| !why.is_empty());
    // Breached, then at risk, then approvals, then escalations; the newest first within each.
    let rank = |why: &[&str]| match why.first().copied() {
        Some("breached") => 0,
        Some("at_risk") => 1,
        Some("approval") => 2,
        _ => 3,
    };
    rows.sort_by_key(|(c, _, why)| (rank(why), std::cmp::Reverse(c.number)));

    // Team load: the queue's length and each agent's presence and open cases.
    let mut load = Vec::new();
    for team in &teams {
        let waiting = engine.queue_length(p, team).await?;
        let agents = engine.agents(p, Some(team.id)).await?;
        let loads = engine.agent_loads(p, agents.iter().map(|(u, _)| u.id).collect()).await?;
        let agents: Vec<(String, &'static str, u32)> = agents
            .iter()
            .map(|(u, profile)| (u.name.clone(), profile.presence.as_str(), loads.get(&u.id).map_or(0, |l| l.total())))
            .collect();
        load.push((*team, waiting, agents));
    }

    let body = html! {
        div.section-head {
            h1 { "Board" }
            p.muted #board-live role="status" { "Showing the board as of loading the page." }
        }
        section aria-labelledby="attention-title" {
            h2 #attention-title { "Needs attention " span.count { "(" span #board-count { (rows.len()) } ")" } }
            p.muted { "Escalations, clocks at risk or breached and approvals waiting"
                @if scope.is_none() { ", in every team." } @else { ", in your teams." }
                " New ones appear at the top as they happen." }
            (board_table(html! { @for (c, dto, why) in &rows { (board_row(&session, c, dto, why, &names)) } }, rows.is_empty()))
        }
        section aria-labelledby="load-title" {
            h2 #load-title { "Team load" }
            @if load.is_empty() {
                p.empty { "You are not in any team." }
            }
            div.team-load {
                @for (team, waiting, agents) in &load {
                    section.team aria-labelledby=(format!("load-{}", team.slug)) {
                        h3 id=(format!("load-{}", team.slug)) { (team.name) " " span.muted { "(" (team.level.0) ")" } }
                        p { strong { (waiting) } " waiting in the queue" }
                        @if agents.is_empty() {
                            p.muted { "No agents." }
                        } @else {
                            table.agents {
                                caption.visually-hidden { (team.name) " agents" }
                                thead { tr { th scope="col" { "Agent" } th scope="col" { "Presence" } th scope="col" { "Open cases" } } }
                                tbody {
                                    @for (name, presence, open) in agents {
                                        tr { td { (name) } td { (badge("presence", presence)) } td { (open) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        link rel="stylesheet" href="/assets/board.css";
        script src="/assets/board.js" defer {}
    };
    Ok(layout::page(&session, "Board", "/board", body))
}

/// What the live board receives about one case.
#[derive(serde::Serialize)]
struct LiveRow {
    number: u64,
    /// The row to insert, or absent when the case left the board (resolved, nothing at risk).
    html: Option<String>,
}

/// `GET /board/stream`: one `case` event per change to a case on this session's board, with
/// the row rendered as on the page (or without a row when it no longer needs attention).
/// Needs a session of a supervisor or above, like the page.
async fn board_stream(
    State(state): State<AppState>,
    session: Session,
) -> WebResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    allow(&state, &session, &Action::Supervise)?;
    let ended = crate::live::stream_ends(state.clone(), session.secret().to_string(), session.principal.clone());
    let changes = BroadcastStream::new(state.engine.subscribe()).filter_map(move |change| {
        let (state, session) = (state.clone(), session.clone());
        async move {
            let case = change.ok()?;
            if !in_scope(&session.principal, &case) || session.principal.allows(&Action::ReadCase(&case)).is_err() {
                return None;
            }
            let dto = state.case_dto(&case);
            let why = reasons(&case, &dto);
            let html = if why.is_empty() {
                None
            } else {
                let names = Names::load(&state, &session.principal).await.ok()?;
                Some(board_row(&session, &case, &dto, &why, &names).into_string())
            };
            Event::default().event("case").json_data(LiveRow { number: case.number, html }).ok().map(Ok)
        }
    });
    // The stream ends when the session does (signed out, revoked, the user deactivated,
    // demoted or moved), or when the server shuts down.
    Ok(Sse::new(changes.take_until(ended)).keep_alive(KeepAlive::default()))
}

const BOARD_JS: &str = include_str!("assets/board.js");

async fn board_js() -> Response {
    let mut r = BOARD_JS.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

/// The supervisor's panel on a case page: reassign to an agent of the case's team, or take
/// it over. Empty for agents, and for resolved or closed cases.
pub async fn case_controls(state: &AppState, session: &Session, case: &Case) -> WebResult<Markup> {
    let p = &session.principal;
    if p.allows(&Action::Supervise).is_err() || !case.status.is_active() {
        return Ok(html! {});
    }
    let agents = match case.team {
        // Only a supervisor who sees the team's agents can pick one of them.
        Some(team) if p.allows(&Action::ListAgents { team: Some(team) }).is_ok() => {
            state.engine.agents(p, Some(team)).await?
        }
        _ => Vec::new(),
    };
    let back = format!("/cases/{}", case.number);
    Ok(html! {
        section #supervise aria-labelledby="supervise-title" {
            h2 #supervise-title { "Supervise" }
            @if case.assignee != Some(p.user_id) {
                form method="post" action=(format!("/cases/{}/take-over", case.number)) {
                    (csrf_field(session))
                    input type="hidden" name="back" value=(back);
                    button type="submit" { "Take over" }
                }
            }
            form method="post" action=(format!("/cases/{}/reassign", case.number)) {
                (csrf_field(session))
                label for="reassign-to" { "Reassign to" }
                select #reassign-to name="assignee" required {
                    @for (u, profile) in &agents {
                        @if Some(u.id) != case.assignee {
                            option value=(u.name) { (u.name) " (" (profile.presence.as_str()) ")" }
                        }
                    }
                }
                button type="submit" { "Reassign" }
            }
        }
    })
}

/// Reassigns the case to a user (the engine's Assign command, as `POST
/// /api/v1/cases/{id}/assign`). Supervisors and above: an agent's post is refused here even
/// where the engine would let them assign to themselves.
async fn reassign(
    State(state): State<AppState>,
    Path(number): Path<String>,
    posted: Posted<Assignment>,
) -> WebResult<Response> {
    allow(&state, &posted.session, &Action::Supervise)?;
    // The form names someone: a blank field is not the API's unassigning `null`.
    let Some(assignee) = given(posted.form.assignee) else {
        return Err(WebError::status(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid form",
            "choose the agent to reassign the case to",
        ));
    };
    let done = format!("Reassigned to {assignee}.");
    run_command(
        &state,
        &posted.session,
        &number,
        CaseRequest::Assign(Assignment { assignee: Some(assignee) }),
        &done,
        None,
    )
    .await
}

#[derive(Deserialize)]
struct TakeOverForm {
    /// Where to go afterwards: the board, or (by default) the case.
    #[serde(default)]
    back: Option<String>,
}

/// Assigns the case to the supervisor themselves.
async fn take_over(
    State(state): State<AppState>,
    Path(number): Path<String>,
    posted: Posted<TakeOverForm>,
) -> WebResult<Response> {
    allow(&state, &posted.session, &Action::Supervise)?;
    let me = posted.session.principal.name.clone();
    // Only the board is another place to return to; anything else goes back to the case.
    let back = posted.form.back.filter(|b| b == "/board");
    let case = visible_case(&state, &posted.session.principal, &number).await?;
    let done = format!("You took over case #{}.", case.number);
    run_command(
        &state,
        &posted.session,
        &number,
        CaseRequest::Assign(Assignment { assignee: Some(me) }),
        &done,
        back.as_deref(),
    )
    .await
}

/// Runs a command on a case the way the API does and goes back to `back` (the case page by
/// default) with what happened; a refusal is shown there, not lost.
pub(super) async fn run_command(
    state: &AppState,
    session: &Session,
    number: &str,
    request: CaseRequest,
    done: &str,
    back: Option<&str>,
) -> WebResult<Response> {
    let case = visible_case(state, &session.principal, number).await?;
    let back = back.map_or_else(|| format!("/cases/{}", case.number), str::to_string);
    let now = state.engine.now();
    let flash = match state.engine.run(&session.principal, case.id, request, None, None, now).await {
        Ok(_) => Flash { ok: true, message: done.to_string() },
        Err(ladder_engine::StoreError::Forbidden(m)) => return Err(WebError::forbidden(m)),
        Err(e) => Flash { ok: false, message: format!("Not done: {}", crate::error::ApiError::from(e).0.detail) },
    };
    Ok(redirect_with(&back, Some(flash)))
}
