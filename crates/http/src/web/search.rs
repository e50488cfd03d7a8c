//! `/search`: a case by its number, words of its subject or messages, or its customer's name,
//! email address or phone number — only among the cases the reader may see
//! ([`ladder_engine::Engine::search_cases`]). Every page's header carries the search box.

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;

use super::queue::{Names, case_table, customer_names};
use super::session::Session;
use super::{WebResult, layout};
use crate::AppState;
use crate::dto::CaseDto;

pub fn router() -> Router<AppState> {
    Router::new().route("/search", get(search_page))
}

/// How many cases a search shows.
const SEARCH_LIMIT: u32 = 50;

/// The search box of every page's header.
pub fn search_box(q: &str) -> Markup {
    html! {
        form.search role="search" method="get" action="/search" {
            label.visually-hidden for="search-q" { "Search cases" }
            input #search-q type="search" name="q" value=(q) placeholder="Search: number, words, customer, email, phone"
                autocomplete="off" maxlength="200" accesskey="s";
            button type="submit" { "Search" }
        }
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn search_page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<SearchQuery>,
) -> WebResult<Markup> {
    let p = &session.principal;
    let q = query.q.trim();
    let results = state.engine.search_cases(p, q, SEARCH_LIMIT).await?;
    let cases: Vec<CaseDto> = results.cases.iter().map(|c| state.case_dto(c)).collect();
    let teams = state.engine.teams_by_id(p).await?;
    let customers = customer_names(&state, p, cases.iter().filter_map(|c| c.customer_id).collect()).await?;
    let names = Names { teams: &teams, customers: &customers };
    let title = if q.is_empty() { "Search".to_string() } else { format!("Search: {q}") };
    let body = html! {
        h1 { "Search" }
        form.search-page role="search" method="get" action="/search" {
            label for="search-page-q" { "Case number, words from the subject or messages, customer name, email or phone" }
            div.inline {
                input #search-page-q type="search" name="q" value=(q) maxlength="200" autofocus;
                button type="submit" { "Search" }
            }
        }
        @if q.is_empty() {
            p.empty { "Type what you know of the case: its number, a word from it, or its customer." }
        } @else if cases.is_empty() {
            p.empty #search-none { "No case you can see matches " strong { (q) } "." }
        } @else {
            p #search-count {
                (cases.len()) @if results.more { "+" } " case(s) match " strong { (q) } "."
                @if results.more { " Only the newest are shown: add words to narrow the search." }
            }
            (case_table(&format!("Cases matching {q}"), &cases, None, &names))
        }
    };
    Ok(layout::page(&session, &title, "/search", body))
}
