//! `/macros`: the canned replies one may use (one's teams' and one's own), and the forms to
//! write, change and delete those one manages; and, for the case page, the picker that
//! inserts a macro into the reply box and the actions a macro takes when its reply is sent.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use ladder_core::access::{Action, Principal};
use ladder_core::case::Case;
use ladder_core::command::{Resolve, UpdateCase};
use ladder_core::directory::Team;
use ladder_core::ids::TeamId;
use ladder_core::macros::{Macro, MacroContext, MacroOwner, PLACEHOLDERS, render};
use ladder_engine::CaseRequest;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::forms::{FormState, refused, selected, text_area, text_input};
use super::session::{Flash, Posted, Session, redirect_with};
use super::{WebResult, layout};
use crate::AppState;
use crate::dto::MacroBody;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/macros", get(macros_page).post(create))
        .route("/macros/{id}", post(update))
        .route("/macros/{id}/delete", post(delete))
}

fn owner_name(owner: &MacroOwner, teams: &BTreeMap<TeamId, Team>) -> String {
    match owner {
        MacroOwner::Team(t) => teams.get(t).map_or_else(|| t.to_string(), |t| format!("Team {}", t.name)),
        MacroOwner::User(_) => "Personal".to_string(),
    }
}

/// Whether the principal may change macros of `owner` (`core::access`).
fn manages(p: &Principal, owner: MacroOwner) -> bool {
    p.allows(&Action::ManageMacro { owner }).is_ok()
}

/// The fields of a macro form; `m` fills them in (an edit), else what a refusal kept.
fn macro_fields(form: FormState, id: &str, m: Option<&Macro>, p: &Principal, teams: &BTreeMap<TeamId, Team>) -> Markup {
    let owned_by = |owner: MacroOwner| m.map(|m| m.owner == owner);
    html! {
        (text_input(form, &format!("{id}-name"), "name", "Name", true, None))
        label for=(format!("{id}-team")) { "Whose" }
        select id=(format!("{id}-team")) name="team" {
            option value="" selected[selected(form, "team", "", owned_by(MacroOwner::User(p.user_id)).unwrap_or(true))] { "Mine (personal)" }
            @for t in teams.values().filter(|t| manages(p, MacroOwner::Team(t.id))) {
                option value=(t.slug) selected[selected(form, "team", &t.slug, owned_by(MacroOwner::Team(t.id)).unwrap_or(false))] { "Team " (t.name) }
            }
        }
        (text_area(form, &format!("{id}-body"), "body", "Reply text", 5, true))
        p.muted { "Placeholders: " @for (i, (name, what)) in PLACEHOLDERS.iter().enumerate() { @if i > 0 { ", " } code { "{{" (name) "}}" } " (" (what) ")" } "." }
        (text_input(form, &format!("{id}-tags"), "add_tags", "Tags to add (comma-separated)", false, None))
        (text_input(form, &format!("{id}-resolve"), "resolve_code", "Resolve with this code (empty: leave the status)", false, None))
    }
}

/// A macro form's values as the edit form starts with them.
fn filled(m: &Macro, teams: &BTreeMap<TeamId, Team>) -> super::forms::Kept {
    let team = match m.owner {
        MacroOwner::Team(t) => teams.get(&t).map(|t| t.slug.clone()).unwrap_or_default(),
        MacroOwner::User(_) => String::new(),
    };
    super::forms::Kept {
        action: format!("/macros/{}", m.id),
        values: vec![
            ("name".into(), m.name.clone()),
            ("team".into(), team),
            ("body".into(), m.body.clone()),
            ("add_tags".into(), m.add_tags.join(", ")),
            ("resolve_code".into(), m.resolve_code.clone().unwrap_or_default()),
        ],
        field: None,
        error: String::new(),
    }
}

async fn macros_page(State(state): State<AppState>, session: Session) -> WebResult<Markup> {
    let p = &session.principal;
    let macros = state.engine.macros(p).await?;
    let teams = state.engine.teams_by_id(p).await?;
    let kept = session.kept.as_ref();
    let body = html! {
        h1 { "Macros" }
        p { "Canned replies for the reply box of a case: press " kbd { "m" } " on a case, choose one, and Enter inserts it. "
            "A team's macros are managed by its supervisors; your personal ones by you." }
        @if macros.is_empty() {
            p.empty { "No macros yet." }
        } @else {
            div.table-wrap { table {
                caption.visually-hidden { "Macros you may use" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Whose" } th scope="col" { "Reply text" } th scope="col" { "Actions" } th scope="col" { "Change" } } }
                tbody {
                    @for m in &macros {
                        tr {
                            td { (m.name) }
                            td { (owner_name(&m.owner, &teams)) }
                            td { (layout::paragraphs(&m.body)) }
                            td {
                                @if !m.add_tags.is_empty() { "adds " (m.add_tags.join(", ")) br; }
                                @if let Some(code) = &m.resolve_code { "resolves as " (code) }
                            }
                            td {
                                @if manages(p, m.owner) {
                                    @let action = format!("/macros/{}", m.id);
                                    @let own = filled(m, &teams);
                                    @let form = FormState::of(Some(kept.filter(|k| k.action == action).unwrap_or(&own)), &action);
                                    details open[kept.is_some_and(|k| k.action == action)] {
                                        summary { "Edit" }
                                        form method="post" action=(action) {
                                            (layout::csrf_field(&session))
                                            (macro_fields(form, &format!("edit-{}", m.id), Some(m), p, &teams))
                                            button type="submit" { "Save" }
                                        }
                                    }
                                    form method="post" action=(format!("/macros/{}/delete", m.id)) {
                                        (layout::csrf_field(&session))
                                        button.secondary type="submit" { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
        }
        section aria-labelledby="new-macro" {
            h2 #new-macro { "New macro" }
            form method="post" action="/macros" {
                (layout::csrf_field(&session))
                (macro_fields(FormState::of(kept, "/macros"), "new", None, p, &teams))
                button type="submit" { "Create" }
            }
        }
    };
    Ok(layout::page(&session, "Macros", "/macros", body))
}

#[derive(Deserialize)]
struct MacroForm {
    name: String,
    body: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    add_tags: String,
    #[serde(default)]
    resolve_code: String,
}

impl MacroForm {
    fn into_body(self) -> MacroBody {
        MacroBody {
            name: self.name,
            body: self.body,
            team: Some(self.team),
            add_tags: self.add_tags.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect(),
            resolve_code: Some(self.resolve_code),
        }
    }
}

/// Back to the macros page: done, or refused with the form kept. A macro one may not change
/// (403) or not see (404) is an error page, as for the case page's forms.
fn outcome(result: Result<String, ApiError>, posted: &super::session::Sent) -> WebResult<Response> {
    match result {
        Ok(message) => Ok(redirect_with("/macros", Some(Flash { ok: true, message }))),
        Err(e) if matches!(e.0.status, 403 | 404) => Err(e.into()),
        Err(e) => Ok(refused("/macros", &posted.action, &posted.fields, e)),
    }
}

async fn create(State(state): State<AppState>, posted: Posted<MacroForm>) -> WebResult<Response> {
    let p = &posted.session.principal;
    let result = async {
        let m = crate::macros::macro_from(&state, p, Uuid::now_v7(), posted.form.into_body()).await?;
        let m = state.engine.create_macro(p, m, state.engine.now()).await?;
        Ok(format!("Macro \"{}\" created.", m.name))
    }
    .await;
    outcome(result, &posted.sent)
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(format!("macro {raw}")))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<MacroForm>,
) -> WebResult<Response> {
    let p = &posted.session.principal;
    let result = async {
        let m = crate::macros::macro_from(&state, p, parse_id(&id)?, posted.form.into_body()).await?;
        let m = state.engine.update_macro(p, m, state.engine.now()).await?;
        Ok(format!("Macro \"{}\" saved.", m.name))
    }
    .await;
    outcome(result, &posted.sent)
}

#[derive(Deserialize)]
struct Empty {}

async fn delete(State(state): State<AppState>, Path(id): Path<String>, posted: Posted<Empty>) -> WebResult<Response> {
    let p = &posted.session.principal;
    let result = async {
        state.engine.delete_macro(p, parse_id(&id)?, state.engine.now()).await?;
        Ok("Macro deleted.".to_string())
    }
    .await;
    outcome(result, &posted.sent)
}

// ---- on the case page ----

/// The macro picker of the reply box: each macro's text with its placeholders filled in for
/// this case (`assets/nav.js` inserts it; `m` focuses the picker).
pub async fn picker(state: &AppState, session: &Session, case: &Case, customer: Option<&str>) -> WebResult<Markup> {
    let p = &session.principal;
    let macros = state.engine.macros(p).await?;
    if macros.is_empty() {
        return Ok(html! { p.muted { a href="/macros" { "Macros" } " make common replies one keystroke away." } });
    }
    let teams = state.engine.teams_by_id(p).await?;
    let cx = MacroContext {
        customer_name: customer,
        case_number: case.number,
        case_subject: &case.subject,
        agent_name: &p.name,
    };
    Ok(html! {
        div.macro-picker {
            div {
                label for="macro-pick" { "Macro" }
                select #macro-pick {
                    option value="" { "Choose a macro (m)" }
                    @for m in &macros {
                        option value=(m.id) data-body=(render(&m.body, &cx)) { (m.name) " · " (owner_name(&m.owner, &teams)) }
                    }
                }
            }
            button #macro-insert type="button" { "Insert" }
        }
    })
}

/// After a reply sent with macro `id`: the macro's actions (tags, resolution) on the case.
/// Returns what was done, for the flash message.
pub async fn after_reply(state: &AppState, session: &Session, case: &Case, id: &str) -> Result<Vec<String>, ApiError> {
    let p = &session.principal;
    let m = state.engine.macro_by_id(p, parse_id(id)?).await?;
    let mut done = Vec::new();
    let now = state.engine.now();
    if !m.add_tags.is_empty() {
        let update = UpdateCase { tags_added: m.add_tags.clone(), ..Default::default() };
        state.engine.run(p, case.id, CaseRequest::Update(update), None, None, now).await?;
        done.push(format!("tagged {}", m.add_tags.join(", ")));
    }
    if let Some(code) = &m.resolve_code {
        let resolve =
            Resolve { code: code.clone(), note: Some(format!("with the macro \"{}\"", m.name)), article_id: None };
        state.engine.run(p, case.id, CaseRequest::Resolve(resolve), None, None, now).await?;
        done.push(format!("resolved as {code}"));
    }
    Ok(done)
}
