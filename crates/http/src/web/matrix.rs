//! `/matrix`: the escalation matrix in the console. Managers read it (the version in force,
//! drafts, history, diffs) and may simulate a draft; admins also edit drafts (with live lint),
//! activate them and roll back. Every change goes through the engine's matrix lifecycle
//! (`put_matrix_draft`, `activate_matrix`, `rollback_matrix`), like the API's.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ladder_core::access::Action;
use ladder_core::matrix::{Change, Diagnostic, by_section, diff};
use ladder_engine::MatrixVersion;
use ladder_engine::rules::MatrixError;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, csrf_field};
use super::session::{Flash, Posted, Session, redirect_with};
use super::{WebError, WebResult, allow};
use crate::AppState;
use crate::error::DiagnosticDto;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/matrix", get(overview))
        .route("/matrix/edit", get(editor))
        .route("/matrix/check", post(check))
        .route("/matrix/drafts", post(save_draft))
        .route("/matrix/drafts/{name}/activate", post(activate))
        .route("/matrix/drafts/{name}/simulate", post(simulate))
        .route("/matrix/rollback", post(rollback))
        .route("/matrix/versions/{version}", get(version_page))
        .route("/matrix/compare", get(compare))
        .route("/matrix/simulations/{id}", get(simulation_page))
        .route("/assets/manager.css", get(css))
        .route("/assets/matrix.js", get(js))
}

const CSS: &str = include_str!("assets/manager.css");
const JS: &str = include_str!("assets/matrix.js");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

/// The stylesheet of the manager pages (charts, editor), linked from their bodies.
pub fn stylesheet() -> Markup {
    html! { link rel="stylesheet" href="/assets/manager.css"; }
}

fn ok(message: impl Into<String>) -> Option<Flash> {
    Some(Flash { ok: true, message: message.into() })
}

fn refused(message: impl Into<String>) -> Option<Flash> {
    Some(Flash { ok: false, message: message.into() })
}

fn matrix_error_text(e: MatrixError) -> String {
    match e {
        MatrixError::Invalid(d) => d.iter().map(diagnostic_text).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

fn diagnostic_text(d: &Diagnostic) -> String {
    let d = DiagnosticDto::from(d);
    format!("line {}, column {}: {} {}", d.line, d.column, d.severity, d.message)
}

/// The changes from the version in force to `source`; `None` when either does not parse.
fn changes_from_active(active: Option<&str>, source: &str) -> Option<Vec<Change>> {
    changes_between(active, source)
}

/// The changes from `old` (`None`: an empty matrix) to `new`; `None` when either does not
/// parse.
fn changes_between(old: Option<&str>, new: &str) -> Option<Vec<Change>> {
    let (new, _) = ladder_core::matrix::parse(new, "new").ok()?;
    let old = match old {
        Some(a) => ladder_core::matrix::parse(a, "old").ok()?.0,
        None => ladder_core::matrix::Matrix::default(),
    };
    Some(diff(&old, &new))
}

fn diff_section(title: &str, changes: Option<Vec<Change>>) -> Markup {
    html! {
        section #diff aria-labelledby="diff-title" {
            h2 #diff-title { (title) }
            @match changes {
                None => p { "The text does not parse; fix its errors to see the changes." },
                Some(c) if c.is_empty() => p { "No change." },
                Some(c) => {
                    p.diff-legend {
                        span.diff-added { "added" } " " span.diff-removed { "removed" } " " span.diff-changed { "changed" }
                    }
                    @for (item, changes) in by_section(&c) {
                        section.diff-section data-section=(item.as_str()) {
                            h3 { (item.section()) " " span.count { "(" (changes.len()) ")" } }
                            ul.diff { @for change in changes {
                                @let kind = change.kind().as_str();
                                li class=(format!("diff-{kind}")) { span.visually-hidden { (kind) ": " } (change.to_string()) }
                            } }
                        }
                    }
                }
            }
        }
    }
}

fn diagnostics_list(diagnostics: &[Diagnostic]) -> Markup {
    html! {
        ul #lint.lint aria-live="polite" {
            @for d in diagnostics {
                @let dto = DiagnosticDto::from(d);
                li class=(dto.severity) {
                    "line " (dto.line) ", column " (dto.column) ": " strong { (dto.severity) } " " (dto.message)
                    @if let Some(h) = &dto.hint { " — " (h) }
                }
            }
        }
    }
}

async fn overview(State(state): State<AppState>, session: Session) -> WebResult<Markup> {
    allow(&state, &session, &Action::ReadMatrixDrafts)?;
    let (engine, p) = (&state.engine, &session.principal);
    let active = engine.matrix_in_force(p).await?;
    let drafts = engine.matrix_drafts(p).await?;
    let versions = engine.matrix_versions(p).await?;
    let activations = engine.matrix_activations(p).await?;
    let admin = p.allows(&Action::ChangeMatrix).is_ok();
    let body = html! {
        (stylesheet())
        h1 { "Escalation matrix" }
        @if !admin { p.hint { "You may read the matrix; managers and admins simulate, edit, activate and roll back." } }
        section aria-labelledby="active-title" {
            h2 #active-title { "In force" }
            @match &active {
                Some(v) => {
                    p #active-version { "Version " strong { (v.version) } " (" (v.name) "), by " (v.created_by) " at " (layout::time(v.created_at)) "." }
                    details { summary { "The text" } pre.source { code { (v.source) } } }
                }
                None => p #active-version { "No matrix is in force." },
            }
        }
        section aria-labelledby="drafts-title" {
            h2 #drafts-title { "Drafts" }
            @if admin { p { a.button href="/matrix/edit" { "New draft" } } }
            @if drafts.is_empty() { p { "No draft." } } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Draft" } th scope="col" { "Saved by" } th scope="col" { "At" } } }
                    tbody { @for d in &drafts { tr {
                        td { a href=(format!("/matrix/edit?draft={}", d.name)) { (d.name) } }
                        td { (d.updated_by) } td { (layout::time(d.updated_at)) }
                    } } }
                } }
            }
        }
        section aria-labelledby="history-title" {
            h2 #history-title { "Version history" }
            div.table-wrap { table #history {
                thead { tr { th scope="col" { "Version" } th scope="col" { "Draft" } th scope="col" { "By" } th scope="col" { "At" } th scope="col" { "" } } }
                tbody { @for v in versions.iter().rev() { tr {
                    td { a href=(format!("/matrix/versions/{}", v.version)) { (v.version) } }
                    td { (v.name) } td { (v.created_by) } td { (layout::time(v.created_at)) }
                    td {
                        @if active.as_ref().is_some_and(|a| a.version == v.version) { (layout::badge("status", "in_force")) }
                        @else if admin {
                            form method="post" action="/matrix/rollback" {
                                (csrf_field(&session))
                                input type="hidden" name="to_version" value=(v.version);
                                button type="submit" { "Roll back to " (v.version) }
                            }
                        }
                    }
                } } }
            } }
            @if versions.len() > 1 {
                @let newest = versions.iter().map(|v| v.version).max();
                (compare_form(&versions, newest.and_then(|n| n.checked_sub(1)), newest))
            }
            @if !activations.is_empty() {
                details #activations { summary { "Activations and rollbacks" } ul {
                    @for a in activations.iter().rev() {
                        li {
                            (layout::time(a.at)) ": "
                            @if a.kind == "rollback" { "rolled back to " } @else { "activated " }
                            a href=(format!("/matrix/versions/{}", a.version)) { "version " (a.version) }
                            " by " (a.by)
                        }
                    }
                } }
            }
        }
    };
    Ok(layout::page(&session, "Matrix", "/matrix", body))
}

#[derive(Debug, Deserialize)]
pub struct EditQuery {
    draft: Option<String>,
}

/// The editor page: a saved draft (or, for a new draft, the version in force as a start).
async fn editor(State(state): State<AppState>, session: Session, Query(q): Query<EditQuery>) -> WebResult<Markup> {
    allow(&state, &session, &Action::ReadMatrixDrafts)?;
    let (engine, p) = (&state.engine, &session.principal);
    let active = engine.matrix_in_force(p).await?;
    let (name, source, saved) = match q.draft.filter(|d| !d.is_empty()) {
        Some(name) => {
            let d = engine.matrix_draft(p, &name).await?;
            (d.name, d.source, true)
        }
        None => (String::new(), active.as_ref().map(|a| a.source.clone()).unwrap_or_default(), false),
    };
    let diagnostics = engine.check_matrix(p, &source, "draft").await?;
    Ok(editor_page(&state, &session, &name, &source, saved, &diagnostics, active.as_ref().map(|a| a.source.as_str())))
}

fn editor_page(
    state: &AppState,
    session: &Session,
    name: &str,
    source: &str,
    saved: bool,
    diagnostics: &[Diagnostic],
    active: Option<&str>,
) -> Markup {
    let admin = session.principal.allows(&Action::ChangeMatrix).is_ok();
    let may_simulate = session.principal.allows(&Action::Simulate).is_ok();
    let today = state.engine.now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let month_ago = today.checked_sub(jiff::Span::new().days(29)).unwrap_or(today);
    let body = html! {
        (stylesheet())
        h1 { @if !admin { "Matrix " (if name.is_empty() { "in force" } else { name }) " (read only)" }
            @else if name.is_empty() { "New matrix draft" } @else { "Matrix draft " (name) } }
        p { a href="/matrix" { "← The matrix" } }
        @if !admin {
            // Who may only read gets the text and its lint as of loading, nothing to type in.
            p.hint { "You may read the matrix; managers and admins edit, activate and roll back." }
            pre.source #source-view { code { (source) } }
            p #lint-summary {
                @let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                (errors) " error(s), " (diagnostics.len() - errors) " warning(s)"
            }
            (diagnostics_list(diagnostics))
        } @else {
        form #editor method="post" action="/matrix/drafts" {
            (csrf_field(session))
            label for="draft-name" { "Draft name" }
            input #draft-name type="text" name="name" value=(name) required pattern="[a-z0-9][a-z0-9_.\\-]*";
            label for="source" { "TOML (lint runs as you type)" }
            textarea #source name="source" rows="28" spellcheck="false" data-check="/matrix/check" { (source) }
            p #lint-summary aria-live="polite" {
                @let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                (errors) " error(s), " (diagnostics.len() - errors) " warning(s)"
            }
            (diagnostics_list(diagnostics))
            button type="submit" { "Save draft" }
        }
        }
        @if saved && admin {
            form method="post" action=(format!("/matrix/drafts/{name}/activate")) {
                (csrf_field(session))
                button type="submit" { "Activate " (name) }
            }
        }
        @if saved && may_simulate {
            form.simulate method="post" action=(format!("/matrix/drafts/{name}/simulate")) {
                (csrf_field(session))
                label for="sim-from" { "From" } input #sim-from type="date" name="from" value=(month_ago.to_string());
                label for="sim-to" { "To" } input #sim-to type="date" name="to" value=(today.to_string());
                button type="submit" { "Simulate this draft" }
            }
        }
        (diff_section("Changes from the version in force", changes_from_active(active, source)))
        @if admin { script src="/assets/matrix.js" defer {} }
    };
    layout::page(session, "Matrix editor", "/matrix", body)
}

#[derive(Debug, Deserialize)]
pub struct SourceForm {
    source: String,
}

/// Live lint: the diagnostics of the text, with line and column, as JSON (the editor's
/// script calls this as the admin types).
async fn check(State(state): State<AppState>, posted: Posted<SourceForm>) -> WebResult<Response> {
    let diagnostics = state.engine.check_matrix(&posted.session.principal, &posted.form.source, "draft").await?;
    let dtos: Vec<DiagnosticDto> = diagnostics.iter().map(DiagnosticDto::from).collect();
    Ok(axum::Json(dtos).into_response())
}

#[derive(Debug, Deserialize)]
pub struct DraftForm {
    name: String,
    source: String,
}

/// The editor shown again after a refused save (422): the text kept, why in the flash, and
/// every problem listed under the text.
async fn refused_draft(
    state: &AppState,
    mut session: Session,
    why: String,
    name: &str,
    source: &str,
    diagnostics: &[Diagnostic],
) -> WebResult<Response> {
    session.flash = refused(why);
    let active = state.engine.matrix_in_force(&session.principal).await?;
    let page =
        editor_page(state, &session, name, source, false, diagnostics, active.as_ref().map(|a| a.source.as_str()));
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// Saves a draft; an invalid one is refused with the editor shown again, the text kept and
/// every problem listed with its line and column.
async fn save_draft(State(state): State<AppState>, posted: Posted<DraftForm>) -> WebResult<Response> {
    let session = posted.session;
    allow(&state, &session, &Action::ChangeMatrix)?;
    let p = session.principal.clone();
    let DraftForm { name, source } = posted.form;
    let name = name.trim().to_string();
    if let Err(e) = ladder_core::validate::handle("name", &name) {
        let diagnostics = state.engine.check_matrix(&p, &source, "draft").await?;
        return refused_draft(&state, session, format!("{e}"), &name, &source, &diagnostics).await;
    }
    let now = state.engine.now();
    match state.engine.put_matrix_draft(&p, name.clone(), source.clone(), now).await {
        Ok((_, warnings)) => Ok(redirect_with(
            &format!("/matrix/edit?draft={name}"),
            ok(format!("Draft {name} saved ({} warning(s)).", warnings.len())),
        )),
        Err(MatrixError::Invalid(diagnostics)) => {
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            let why = format!("Draft not saved: {errors} error(s) (listed under the text).");
            refused_draft(&state, session, why, &name, &source, &diagnostics).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn activate(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted<NoFields>,
) -> WebResult<Response> {
    let session = posted.session;
    allow(&state, &session, &Action::ChangeMatrix)?;
    let now = state.engine.now();
    match state.engine.activate_matrix(&session.principal, name.clone(), now).await {
        Ok(v) => {
            tracing::info!(version = v.version, by = %session.principal.name, "matrix activated (console)");
            reevaluate(&state);
            Ok(redirect_with("/matrix", ok(format!("Version {} (from {name}) is in force.", v.version))))
        }
        Err(e) => Ok(redirect_with(
            &format!("/matrix/edit?draft={name}"),
            refused(format!("Not activated: {}", matrix_error_text(e))),
        )),
    }
}

/// A form with only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

#[derive(Debug, Deserialize)]
pub struct RollbackForm {
    to_version: Option<String>,
}

async fn rollback(State(state): State<AppState>, posted: Posted<RollbackForm>) -> WebResult<Response> {
    let session = posted.session;
    allow(&state, &session, &Action::ChangeMatrix)?;
    let to = match posted.form.to_version.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => match raw.parse::<u32>() {
            Ok(v) => Some(v),
            Err(_) => return Ok(redirect_with("/matrix", refused(format!("'{raw}' is not a version number")))),
        },
    };
    let now = state.engine.now();
    match state.engine.rollback_matrix(&session.principal, to, now).await {
        Ok(v) => {
            tracing::info!(version = v.version, by = %session.principal.name, "matrix rolled back (console)");
            reevaluate(&state);
            Ok(redirect_with("/matrix", ok(format!("Rolled back: version {} is in force.", v.version))))
        }
        Err(e) => Ok(redirect_with("/matrix", refused(format!("Not rolled back: {}", matrix_error_text(e))))),
    }
}

/// Open cases' clocks follow the version now in force (as after the API's activation).
fn reevaluate(state: &AppState) {
    let engine = state.engine.clone();
    tokio::spawn(async move {
        if let Err(e) = engine.reevaluate_clocks(engine.now()).await {
            tracing::warn!(error = %e, "could not re-evaluate SLA clocks");
        }
    });
}

#[derive(Debug, Deserialize)]
pub struct PeriodForm {
    from: String,
    to: String,
}

/// Starts a what-if simulation of a saved draft (managers and admins) and opens its page.
async fn simulate(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted<PeriodForm>,
) -> WebResult<Response> {
    let session = posted.session;
    allow(&state, &session, &Action::Simulate)?;
    let back = format!("/matrix/edit?draft={name}");
    let (from, to) = match crate::metrics::period(Some(&posted.form.from), Some(&posted.form.to), state.engine.now()) {
        Ok(p) => p,
        Err(e) => return Ok(redirect_with(&back, refused(e.0.detail))),
    };
    let draft = state.engine.matrix_draft(&session.principal, &name).await?;
    match crate::simulations::start_job(&state, &session.principal, &draft.source, draft.name, from, to).await {
        Ok(id) => Ok(redirect_with(&format!("/matrix/simulations/{id}"), ok("Simulation started."))),
        Err(e) => Ok(redirect_with(&back, refused(format!("Not started: {}", e.0.detail)))),
    }
}

async fn simulation_page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> WebResult<Response> {
    allow(&state, &session, &Action::Simulate)?;
    let job = crate::simulations::job(&state, &id).ok_or_else(|| WebError::not_found(format!("simulation {id}")))?;
    let running = matches!(job.status.as_str(), "queued" | "running" | "cancelling");
    let body = html! {
        (stylesheet())
        h1 { "Simulation of " (job.matrix) }
        p { a href="/matrix" { "← The matrix" } }
        p #sim-status { "Status: " strong { (job.status) } " · cases " (job.from) " to " (job.to) " · " (job.done) " of " (job.total) " replayed" }
        @if running {
            progress max=(job.total.max(1)) value=(job.done) aria-label="Cases replayed" {}
            p.hint { "This page reloads every two seconds until the simulation is done." }
        }
        @if let Some(e) = &job.error { p.flash.error role="alert" { (e) } }
        @if let Some(r) = &job.report {
            p #sim-summary { (r.cases) " cases replayed, " (r.cases_changed) " would go differently; " (r.escalations_absorbed) " escalations asked for by people the candidate would have made earlier." }
            (compared_table("sim-totals", "Totals", std::slice::from_ref(&r.totals)))
            (compared_table("sim-levels", "Per level", &r.levels))
            (compared_table("sim-teams", "Per team", &r.teams))
            section aria-labelledby="sim-rules-title" {
                h2 #sim-rules-title { "Rules" }
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Rule" } th scope="col" { "Actual" } th scope="col" { "Predicted" } } }
                    tbody { @for rule in &r.rules { tr { th scope="row" { (rule.rule) } td { (rule.actual) } td { (rule.predicted) } } } }
                } }
            }
        }
    };
    let mut response = layout::page(&session, "Simulation", "/matrix", body).into_response();
    if running {
        response.headers_mut().insert("refresh", HeaderValue::from_static("2"));
    }
    Ok(response)
}

/// Actual beside predicted for each row (a level, a team, the totals).
fn compared_table(id: &str, title: &str, rows: &[ladder_engine::simulate::Compared]) -> Markup {
    let figures = |f: &ladder_engine::simulate::Figures| {
        [f.cases, f.escalations, f.escalations_by_rules, f.breaches, f.approvals, f.resolved]
    };
    html! {
        section aria-labelledby=(format!("{id}-title")) {
            h2 id=(format!("{id}-title")) { (title) }
            div.table-wrap { table #(id) .compared {
                thead {
                    tr { th scope="col" rowspan="2" { "" } @for h in ["Cases", "Escalations", "By rules", "Breaches", "Approvals", "Resolved"] { th scope="colgroup" colspan="2" { (h) } } }
                    tr { @for _ in 0..6 { th scope="col" { "actual" } th scope="col" { "predicted" } } }
                }
                tbody { @for row in rows { tr {
                    th scope="row" { (row.name) }
                    @for (a, p) in figures(&row.actual).into_iter().zip(figures(&row.predicted)) {
                        td { (a) } td class=(if a == p { "same" } else { "changed" }) { (p) }
                    }
                } } }
            } }
        }
    }
}

async fn version_page(State(state): State<AppState>, session: Session, Path(version): Path<u32>) -> WebResult<Markup> {
    allow(&state, &session, &Action::ReadMatrixDrafts)?;
    let v = state.engine.matrix_version(&session.principal, version).await?;
    let active = state.engine.matrix_in_force(&session.principal).await?;
    let body = html! {
        (stylesheet())
        h1 { "Matrix version " (v.version) }
        p { a href="/matrix" { "← The matrix" } }
        p { "From draft " (v.name) ", by " (v.created_by) " at " (layout::time(v.created_at)) "." }
        (diff_section("Changes from the version in force", changes_from_active(active.as_ref().map(|a| a.source.as_str()), &v.source)))
        pre.source { code { (v.source) } }
    };
    Ok(layout::page(&session, "Matrix version", "/matrix", body))
}

/// The form that picks two versions to compare (`from` may be the empty matrix).
fn compare_form(versions: &[MatrixVersion], from: Option<u32>, to: Option<u32>) -> Markup {
    let picker = |id: &str, name: &str, label: &str, chosen: Option<u32>| {
        html! {
            label for=(id) { (label) }
            select #(id) name=(name) {
                @if name == "from" { option value="" selected[chosen.is_none()] { "(empty matrix)" } }
                @for v in versions.iter().rev() {
                    option value=(v.version) selected[chosen == Some(v.version)] { "version " (v.version) " (" (v.name) ")" }
                }
            }
        }
    };
    html! {
        form.compare method="get" action="/matrix/compare" {
            (picker("compare-from", "from", "Compare", from))
            (picker("compare-to", "to", "with", to))
            button type="submit" { "Compare" }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A version number from the query (`None` when absent or empty); a malformed one is a 400.
fn version_param(name: &str, value: Option<&str>) -> WebResult<Option<u32>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse::<u32>().map(Some).map_err(|_| {
            WebError::status(
                StatusCode::BAD_REQUEST,
                "Bad version",
                format!("{name} must be a version number, not {v:?}"),
            )
        }),
    }
}

/// `/matrix/compare?from=&to=`: the changes between any two versions, grouped by section.
/// `to` defaults to the version in force (else the newest), `from` to the version before it.
async fn compare(State(state): State<AppState>, session: Session, Query(q): Query<CompareQuery>) -> WebResult<Markup> {
    allow(&state, &session, &Action::ReadMatrixDrafts)?;
    let (engine, p) = (&state.engine, &session.principal);
    let versions = engine.matrix_versions(p).await?;
    let active = engine.matrix_in_force(p).await?;
    let newest = active.as_ref().map(|a| a.version).or_else(|| versions.iter().map(|v| v.version).max());
    let to = version_param("to", q.to.as_deref())?.or(newest);
    let from =
        version_param("from", q.from.as_deref())?.or_else(|| to.and_then(|t| t.checked_sub(1)).filter(|f| *f > 0));
    let source = async |version: Option<u32>| -> WebResult<Option<String>> {
        Ok(match version {
            Some(v) => Some(engine.matrix_version(p, v).await?.source),
            None => None,
        })
    };
    let (old, new) = (source(from).await?, source(to).await?);
    let body = html! {
        (stylesheet())
        h1 { "Compare matrix versions" }
        p { a href="/matrix" { "← The matrix" } }
        (compare_form(&versions, from, to))
        @match new {
            None => p { "No version to compare yet." },
            Some(new) => {
                @let title = format!("From {} to version {}", from.map_or("an empty matrix".to_string(), |f| format!("version {f}")), to.unwrap_or_default());
                (diff_section(&title, changes_between(old.as_deref(), &new)))
            }
        }
    };
    Ok(layout::page(&session, "Compare matrix versions", "/matrix", body))
}
