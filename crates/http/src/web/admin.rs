//! `/admin` (admins): users (create, role, teams, deactivate), teams (create, level, kind,
//! skills) and the calendars of the matrix in force (read-only: calendars live in the
//! matrix; change them in the matrix editor). Forms build the API's `UserBody`/`TeamBody`
//! and go through the same conversion and validation as `/api/v1/users` and `/api/v1/teams`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use jiff::civil::Weekday;
use ladder_core::Role;
use ladder_core::access::Action;
use ladder_core::directory::{TeamKind, User, validate_team};
use ladder_core::ids::{TeamId, UserId};
use ladder_engine::Password;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, csrf_field};
use super::session::{Flash, Posted, Session, redirect_with};
use super::{WebResult, allow};
use crate::AppState;
use crate::dto::{TeamBody, UserBody};
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin_page))
        .route("/admin/users", post(create_user))
        .route("/admin/users/{name}", post(update_user))
        .route("/admin/users/{name}/deactivate", post(deactivate_user))
        .route("/admin/teams", post(create_team))
}

const KINDS: [(&str, TeamKind); 6] = [
    ("front_line", TeamKind::FrontLine),
    ("specialist", TeamKind::Specialist),
    ("back_office", TeamKind::BackOffice),
    ("outbound", TeamKind::Outbound),
    ("management", TeamKind::Management),
    ("on_call", TeamKind::OnCall),
];

fn kind_name(kind: TeamKind) -> &'static str {
    KINDS.iter().find(|(_, k)| *k == kind).map_or("?", |(n, _)| n)
}

/// `a, b c` → `["a", "b", "c"]`.
fn list(raw: &str) -> Vec<String> {
    raw.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn done(message: impl Into<String>) -> Response {
    redirect_with("/admin", Some(Flash { ok: true, message: message.into() }))
}

fn refused(e: ApiError) -> Response {
    let field = e.0.field.clone().map(|f| format!(" ({f})")).unwrap_or_default();
    redirect_with("/admin", Some(Flash { ok: false, message: format!("{}{field}", e.0.detail) }))
}

async fn admin_page(State(state): State<AppState>, session: Session) -> WebResult<Markup> {
    allow(&state, &session, &Action::ManageUsers)?;
    let teams = state.engine.teams(&session.principal).await?;
    let users = state.engine.users(&session.principal, None).await?;
    let active = state.engine.active_matrix();
    let levels: Vec<String> = state.engine.ladder().levels.iter().map(|l| l.0.clone()).collect();
    let team_slugs = |u: &User| {
        u.teams.iter().filter_map(|id| teams.iter().find(|t| t.id == *id)).map(|t| t.slug.as_str()).collect::<Vec<_>>()
    };
    let role_select = |id: &str, current: Role| {
        html! {
            select id=(id) name="role" {
                @for r in Role::ALL { option value=(r.as_str()) selected[r == current] { (r.as_str()) } }
            }
        }
    };
    let body = html! {
        h1 { "Admin" }
        section aria-labelledby="users-title" {
            h2 #users-title { "Users" }
            div.table-wrap { table #users {
                thead { tr { th scope="col" { "User" } th scope="col" { "Role and teams" } th scope="col" { "Active" } th scope="col" { "" } } }
                tbody { @for u in &users { tr {
                    td { (u.name) @if u.display_name != u.name { br; small { (u.display_name) } } }
                    td {
                        form.inline method="post" action=(format!("/admin/users/{}", u.name)) {
                            (csrf_field(&session))
                            label.visually-hidden for=(format!("role-{}", u.name)) { "Role of " (u.name) }
                            (role_select(&format!("role-{}", u.name), u.role))
                            label.visually-hidden for=(format!("teams-{}", u.name)) { "Teams of " (u.name) }
                            input id=(format!("teams-{}", u.name)) type="text" name="teams" value=(team_slugs(u).join(", ")) placeholder="team slugs";
                            button type="submit" { "Save " (u.name) }
                        }
                    }
                    td { @if u.active { "yes" } @else { "no" } }
                    td { @if u.active && u.id != session.principal.user_id {
                        form method="post" action=(format!("/admin/users/{}/deactivate", u.name)) {
                            (csrf_field(&session))
                            button type="submit" { "Deactivate " (u.name) }
                        }
                    } }
                } } }
            } }
            details {
                summary { "New user" }
                form method="post" action="/admin/users" {
                    (csrf_field(&session))
                    label for="new-user-name" { "User name" } input #new-user-name type="text" name="name" required;
                    label for="new-user-display" { "Display name" } input #new-user-display type="text" name="display_name";
                    label for="new-user-role" { "Role" } (role_select("new-user-role", Role::Agent))
                    label for="new-user-teams" { "Teams (slugs, comma-separated)" } input #new-user-teams type="text" name="teams";
                    label for="new-user-password" { "Password (12 characters or more)" } input #new-user-password type="password" name="password" autocomplete="new-password" required;
                    button type="submit" { "Create user" }
                }
            }
        }
        section aria-labelledby="teams-title" {
            h2 #teams-title { "Teams" }
            div.table-wrap { table #teams {
                thead { tr { th scope="col" { "Team" } th scope="col" { "Slug" } th scope="col" { "Level" } th scope="col" { "Kind" } th scope="col" { "Skills" } } }
                tbody { @for t in &teams { tr { td { (t.name) } td { (t.slug) } td { (t.level.0) } td { (kind_name(t.kind)) } td { (t.skills.join(", ")) } } } }
            } }
            details {
                summary { "New team" }
                form method="post" action="/admin/teams" {
                    (csrf_field(&session))
                    label for="new-team-slug" { "Slug" } input #new-team-slug type="text" name="slug" required;
                    label for="new-team-name" { "Name" } input #new-team-name type="text" name="name" required;
                    label for="new-team-level" { "Level" }
                    @if levels.is_empty() { input #new-team-level type="text" name="level" required; }
                    @else { select #new-team-level name="level" { @for l in &levels { option value=(l) { (l) } } } }
                    label for="new-team-kind" { "Kind" }
                    select #new-team-kind name="kind" { @for (n, _) in KINDS { option value=(n) { (n.replace('_', " ")) } } }
                    label for="new-team-skills" { "Skills (comma-separated)" } input #new-team-skills type="text" name="skills";
                    button type="submit" { "Create team" }
                }
            }
        }
        section aria-labelledby="calendars-title" {
            h2 #calendars-title { "Calendars" }
            p.hint { "Calendars are part of the escalation matrix: change them in " a href="/matrix" { "the matrix editor" } "." }
            @match &active {
                None => p { "No matrix is in force, so no calendar: clocks count every hour." },
                Some(a) if a.compiled.matrix().calendars.is_empty() => p { "The matrix in force defines no calendar: clocks count every hour." },
                Some(a) => {
                    @for (name, c) in &a.compiled.matrix().calendars {
                        h3 { (name) " (" (c.timezone) ")" }
                        div.table-wrap { table.calendar {
                            thead { tr { @for d in WEEK { th scope="col" { (d.1) } } } }
                            tbody { tr { @for d in WEEK { td {
                                @let windows = c.hours.on(d.0);
                                @if windows.is_empty() { "closed" } @else { (windows.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
                            } } } }
                        } }
                        @if !c.holidays.is_empty() { p { "Holidays: " (c.holidays.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) } }
                        @if !c.overrides.is_empty() { p { "Special days: " (c.overrides.keys().map(ToString::to_string).collect::<Vec<_>>().join(", ")) } }
                    }
                }
            }
        }
    };
    Ok(layout::page(&session, "Admin", "/admin", body))
}

const WEEK: [(Weekday, &str); 7] = [
    (Weekday::Monday, "Mon"),
    (Weekday::Tuesday, "Tue"),
    (Weekday::Wednesday, "Wed"),
    (Weekday::Thursday, "Thu"),
    (Weekday::Friday, "Fri"),
    (Weekday::Saturday, "Sat"),
    (Weekday::Sunday, "Sun"),
];

#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    name: String,
    #[serde(default)]
    display_name: String,
    role: String,
    #[serde(default)]
    teams: String,
    password: String,
}

fn role_of(raw: &str) -> Result<Role, ApiError> {
    Role::parse(raw)
        .ok_or_else(|| ApiError::validation("role", format!("'{raw}' is not agent, supervisor, manager or admin")))
}

async fn create_user(State(state): State<AppState>, posted: Posted<NewUserForm>) -> WebResult<Response> {
    allow(&state, &posted.session, &Action::ManageUsers)?;
    let principal = &posted.session.principal;
    let f = posted.form;
    let result = async {
        let body = UserBody {
            name: f.name.trim().to_string(),
            display_name: Some(f.display_name.trim().to_string()).filter(|s| !s.is_empty()),
            email: None,
            role: role_of(&f.role)?,
            teams: list(&f.teams),
            skills: vec![],
            levels: vec![],
            password: None,
            active: true,
        };
        crate::directory::check_password(&f.password)?;
        let user = crate::directory::user_from(&state, &body, UserId::new_v7(), state.engine.now()).await?;
        let now = state.engine.now();
        Ok::<_, ApiError>(
            state.engine.create_user(principal, user, Some(Password::Plain(f.password.clone())), None, now).await?,
        )
    }
    .await;
    Ok(match result {
        Ok(u) => done(format!("User {} created ({}).", u.name, u.role.as_str())),
        Err(e) => refused(e),
    })
}

#[derive(Debug, Deserialize)]
pub struct UserForm {
    role: String,
    #[serde(default)]
    teams: String,
}

/// Changes a user's role and teams (their levels follow the teams', as in the API).
async fn update_user(
    State(state): State<AppState>,
    axum::extract::Path(name): axum::extract::Path<String>,
    posted: Posted<UserForm>,
) -> WebResult<Response> {
    let session = posted.session;
    allow(&state, &session, &Action::ManageUsers)?;
    let result = async {
        let existing = state.engine.resolve_user("user", &name).await?;
        let role = role_of(&posted.form.role)?;
        let body = UserBody {
            name: existing.name.clone(),
            display_name: Some(existing.display_name.clone()),
            email: existing.email.clone(),
            role,
            teams: list(&posted.form.teams),
            skills: existing.skills.clone(),
            levels: vec![],
            password: None,
            active: existing.active,
        };
        let user = crate::directory::user_from(&state, &body, existing.id, existing.created_at).await?;
        Ok::<_, ApiError>(state.engine.update_user(&session.principal, user, state.engine.now()).await?)
    }
    .await;
    Ok(match result {
        Ok(u) => done(format!("User {} saved: {}.", u.name, u.role.as_str())),
        Err(e) => refused(e),
    })
}

#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// Deactivates a user: they can no longer sign in and their sessions stop working.
async fn deactivate_user(
    State(state): State<AppState>,
    axum::extract::Path(name): axum::extract::Path<String>,
    posted: Posted<NoFields>,
) -> WebResult<Response> {
    let session = posted.session;
    allow(&state, &session, &Action::ManageUsers)?;
    let result = async {
        let mut user = state.engine.resolve_user("user", &name).await?;
        if user.id == session.principal.user_id {
            return Err(ApiError::validation("user", "you cannot deactivate yourself; ask another admin"));
        }
        user.active = false;
        Ok::<_, ApiError>(state.engine.update_user(&session.principal, user, state.engine.now()).await?)
    }
    .await;
    Ok(match result {
        Ok(u) => done(format!("User {} deactivated.", u.name)),
        Err(e) => refused(e),
    })
}

#[derive(Debug, Deserialize)]
pub struct TeamForm {
    slug: String,
    name: String,
    level: String,
    kind: String,
    #[serde(default)]
    skills: String,
}

async fn create_team(State(state): State<AppState>, posted: Posted<TeamForm>) -> WebResult<Response> {
    allow(&state, &posted.session, &Action::ManageTeams)?;
    let principal = &posted.session.principal;
    let f = posted.form;
    let result = async {
        let kind = KINDS.iter().find(|(n, _)| *n == f.kind).map(|(_, k)| *k).ok_or_else(|| {
            ApiError::validation("kind", format!("'{}' is not one of {}", f.kind, KINDS.map(|(n, _)| n).join(", ")))
        })?;
        let body = TeamBody {
            slug: f.slug.trim().to_string(),
            name: f.name.trim().to_string(),
            level: f.level.trim().to_string(),
            kind,
            skills: list(&f.skills),
        };
        let team = crate::directory::team_from(body, TeamId::new_v7(), state.engine.now());
        validate_team(&team, &state.engine.ladder())?;
        Ok::<_, ApiError>(state.engine.create_team(principal, team, None, state.engine.now()).await?)
    }
    .await;
    Ok(match result {
        Ok(t) => done(format!("Team {} created at {}.", t.slug, t.level.0)),
        Err(e) => refused(e),
    })
}
