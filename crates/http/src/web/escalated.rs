//! `/queue/escalated`: the escalations one follows after they left — "Escalated by me"
//! (`?by=me`) and "Escalated by my team" (`?by=my_team`) — as tabs beside the queue. The
//! list is `GET /api/v1/cases?escalated_by=…`; who may read each case is `core::access`'s
//! rule (the escalating user and the supervisors of the team the case left follow it).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use ladder_core::directory::Team;
use ladder_engine::{CaseFilter, EscalatedBy, PageRequest};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout;
use super::queue::{Names, case_table};
use super::session::Session;
use super::{WebError, WebResult};
use crate::AppState;
use crate::dto::CaseDto;

pub fn router() -> Router<AppState> {
    Router::new().route("/queue/escalated", get(escalated_page))
}

/// How many escalations the page lists, newest first.
const LIMIT: u32 = 50;

/// The queue's tabs: `current` is `queue`, `me` or `my_team`.
pub fn tabs(current: &str) -> Markup {
    let tab = |key: &str, href: &str, label: &str| {
        html! {
            li {
                @if key == current {
                    a href=(href) aria-current="page" { (label) }
                } @else {
                    a href=(href) { (label) }
                }
            }
        }
    };
    html! {
        nav.tabs aria-label="Queue views" {
            ul {
                (tab("queue", "/queue", "My queue"))
                (tab("me", "/queue/escalated?by=me", "Escalated by me"))
                (tab("my_team", "/queue/escalated?by=my_team", "Escalated by my team"))
            }
        }
    }
}

#[derive(Deserialize)]
struct ByQuery {
    by: Option<String>,
}

async fn escalated_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ByQuery>,
) -> WebResult<Markup> {
    let p = &session.principal;
    let key = q.by.as_deref().unwrap_or("me");
    let Some(by) = crate::cases::escalated_by(key, p) else {
        return Err(WebError::status(
            axum::http::StatusCode::BAD_REQUEST,
            "Bad request",
            format!("by: '{key}' is not one of me, my_team"),
        ));
    };
    let (title, empty) = match by {
        EscalatedBy::User(_) => ("Escalated by me", "You have not escalated any case."),
        EscalatedBy::Teams(_) => ("Escalated by my team", "No case was escalated out of your teams."),
    };
    let filter = CaseFilter { escalated_by: Some(by), ..Default::default() };
    let page = state.engine.list_cases(p, filter, PageRequest { before: None, limit: LIMIT }).await?;
    let cases: Vec<CaseDto> = page.cases.iter().map(|c| state.case_dto(c)).collect();
    let teams: BTreeMap<_, Team> = state.engine.teams_by_id(p).await?;
    let customers = BTreeMap::new();
    let names = Names { teams: &teams, customers: &customers };
    let body = html! {
        h1 { (title) }
        (tabs(key))
        p.muted { "Cases that left for another team, newest first. You follow them read-only unless they are yours." }
        @if cases.is_empty() {
            p.empty { (empty) }
        } @else {
            (case_table(title, &cases, None, &names))
        }
    };
    Ok(layout::page(&session, title, "/queue", body))
}
