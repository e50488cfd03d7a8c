//! `/admin`: the directory at a glance (admins only). The place later phases grow users,
//! teams, skills and calendars editing.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use ladder_core::Role;
use maud::{Markup, html};

use super::layout;
use super::session::Session;
use super::{WebResult, require};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin", get(admin_page))
}

async fn admin_page(State(state): State<AppState>, session: Session) -> WebResult<Markup> {
    require(&session, Role::Admin)?;
    let teams = state.engine.store.teams().await?;
    let users = state.engine.store.users(None).await?;
    let body = html! {
        h1 { "Admin" }
        section aria-labelledby="teams-title" {
            h2 #teams-title { "Teams" }
            div.table-wrap { table {
                thead { tr { th scope="col" { "Team" } th scope="col" { "Slug" } th scope="col" { "Level" } th scope="col" { "Skills" } } }
                tbody { @for t in &teams { tr { td { (t.name) } td { (t.slug) } td { (t.level.0) } td { (t.skills.join(", ")) } } } }
            } }
        }
        section aria-labelledby="users-title" {
            h2 #users-title { "Users" }
            div.table-wrap { table {
                thead { tr { th scope="col" { "User" } th scope="col" { "Role" } th scope="col" { "Teams" } th scope="col" { "Active" } } }
                tbody { @for u in &users { tr {
                    td { (u.name) } td { (u.role.as_str()) }
                    td { (u.teams.iter().filter_map(|id| teams.iter().find(|t| t.id == *id)).map(|t| t.slug.as_str()).collect::<Vec<_>>().join(", ")) }
                    td { @if u.active { "yes" } @else { "no" } }
                } } }
            } }
        }
    };
    Ok(layout::page(&session, "Admin", "/admin", body))
}
