//! `/cases/{number}`: one case — its timeline, clocks, customer, past and similar cases —
//! and the forms that work it (reply, note, escalate, de-escalate, request info, resolve).
//! Each form posts to a handler here that runs the same engine command as the API and
//! redirects back to the page with the outcome as a flash message.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use ladder_core::case::{Actor, Case, Status, Visibility};
use ladder_core::command::{AddMessage, RequestInfo, Resolve};
use ladder_core::directory::{LevelId, Team};
use ladder_core::event::{CaseEvent, EscalationKind, InfoSource, Initiator};
use ladder_core::ids::{TeamId, UserId};
use ladder_engine::{CaseFilter, PageRequest, StoredEvent};
use ladder_engine::{CaseRequest, DeEscalation, Escalation};
use maud::{Markup, html};
use serde::Deserialize;

use super::forms::{FormState, selected, text_area, text_input};
use super::layout::{self, badge, countdown, csrf_field, paragraphs, time};
use super::session::{Flash, Posted, Sent, Session, redirect_with};
use super::{WebError, WebResult, given};
use crate::AppState;
use crate::dto::CaseDto;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cases/{number}", get(case_page))
        .route("/cases/{number}/reply", post(reply))
        .route("/cases/{number}/note", post(note))
        .route("/cases/{number}/escalate", post(escalate))
        .route("/cases/{number}/de-escalate", post(de_escalate))
        .route("/cases/{number}/request-info", post(request_info))
        .route("/cases/{number}/resolve", post(resolve))
}

/// Loads a case by number, if the principal may see it (the engine asks `core::access`).
pub(super) async fn visible_case(
    state: &AppState,
    principal: &ladder_core::access::Principal,
    number: &str,
) -> WebResult<Case> {
    let n: u64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| WebError::not_found(format!("'{number}' is not a case number")))?;
    state.engine.case_by_number(principal, n).await.map_err(|e| match e {
        // Also a case outside the principal's scope: its existence does not leak.
        ladder_engine::StoreError::NotFound(_) => WebError::not_found(format!("case #{n} does not exist")),
        other => other.into(),
    })
}

/// Names for ids on the page; the directory tables are small.
struct Names {
    users: BTreeMap<UserId, String>,
    teams: BTreeMap<TeamId, Team>,
    /// The currency amounts are shown in.
    currency: String,
}

impl Names {
    async fn load(state: &AppState, p: &ladder_core::access::Principal) -> WebResult<Names> {
        Ok(Names {
            users: state.engine.user_names(p).await?,
            teams: state.engine.teams_by_id(p).await?,
            currency: super::currency(state),
        })
    }
    fn user(&self, id: Option<UserId>) -> String {
        id.map_or("nobody".into(), |id| self.users.get(&id).cloned().unwrap_or_else(|| id.to_string()))
    }
    fn team(&self, id: Option<TeamId>) -> String {
        id.map_or("no team".into(), |id| self.teams.get(&id).map_or_else(|| id.to_string(), |t| t.name.clone()))
    }
    fn actor(&self, a: &Actor) -> String {
        match a {
            Actor::User { id } => self.user(Some(*id)),
            Actor::Customer { .. } => "the customer".into(),
            Actor::System { name } => name.clone(),
        }
    }
}

const RELATED_LIMIT: u32 = 8;

/// `?show=all` shows the system lines (clock starts, pauses, warnings) the timeline hides by
/// default.
#[derive(Debug, Default, Deserialize)]
struct CaseView {
    show: Option<String>,
}

async fn case_page(
    State(state): State<AppState>,
    session: Session,
    Path(number): Path<String>,
    axum::extract::Query(view): axum::extract::Query<CaseView>,
) -> WebResult<Markup> {
    let p = &session.principal;
    let case = visible_case(&state, p, &number).await?;
    let dto = state.case_dto(&case);
    let names = Names::load(&state, p).await?;
    let events = state.engine.case_events(p, &case).await?;
    let customer = match case.customer {
        Some(id) => state.engine.customer(p, id).await?,
        None => None,
    };
    let past = match case.customer {
        Some(id) => related(&state, p, CaseFilter { customer: Some(id), ..Default::default() }, &case).await?,
        None => Vec::new(),
    };
    let similar = match similar_query(&case.subject) {
        Some(q) => {
            let filter =
                CaseFilter { q: Some(q), status: vec![Status::Resolved, Status::Closed], ..Default::default() };
            related(&state, p, filter, &case).await?
        }
        None => Vec::new(),
    };
    let ladder = state.engine.ladder();
    let active = state.engine.active_matrix();
    let matrix = active.as_ref().map(|a| a.compiled.matrix());
    let authority: Vec<(String, Option<f64>)> = matrix
        .map(|m| {
            m.authority
                .iter()
                .map(|a| (a.action.clone(), m.authority_limit(&a.action, p.role, Some(&p.name))))
                .collect()
        })
        .unwrap_or_default();
    let level_name = |l: &LevelId| -> String {
        matrix
            .and_then(|m| m.levels.iter().find(|x| &x.id == l))
            .map_or(l.0.clone(), |x| format!("{} — {}", x.id.0, x.name))
    };
    let open = case.status.is_active();
    let supervise = super::board::case_controls(&state, &session, &case).await?;
    let approvals = super::approvals::case_panel(&state, &session, &case).await?;
    let action = |what: &str| format!("/cases/{}/{what}", case.number);
    let macro_picker =
        super::macros::picker(&state, &session, &case, customer.as_ref().map(|c| c.name.as_str())).await?;
    // A form refused on the last post comes back open, with what was typed.
    let form = |what: &str| FormState::of(session.kept.as_ref(), &action(what));
    let escalate_panel = super::escalate::panel(&state, &session, &case, &level_name, form("escalate")).await?;
    let marks = super::live::LiveMarks::of(&state, &session, &case);
    let (articles, suggested) = super::articles::suggestions(&state, &session, &case).await?;
    // Escalating, de-escalating, asking and resolving steer the case: offered only to who may
    // do it now (a case escalated away takes messages only).
    let probe = ladder_core::command::CaseCommand::Resolve(Resolve { code: "-".into(), note: None, article_id: None });
    let steer = state.engine.may_command(p, &case, &probe).map_err(|e| ApiError::from(e).0.detail).err();
    let minor_lines = events.iter().filter(|e| timeline_class(&e.recorded.event) == "minor").count();
    let show_all = view.show.as_deref() == Some("all");

    let body = html! {
        div.case-head data-live-case=(case.number) data-live-marks=(marks.attribute()) {
            h1 { span.muted { "#" (case.number) } " " (case.subject) }
            p #live-updated .live-updated role="status" hidden {}
            p.facts #case-facts data-live-region {
                (badge("status", case.status.as_str())) " "
                (badge("priority", case.priority.as_str())) " "
                span { "Level " strong { (case.level.0) } } " · "
                span { (names.team(case.team)) } " · "
                span { "Assigned to " strong { (names.user(case.assignee)) } } " · "
                span { "via " (case.channel.as_str()) }
                @if let Some(cat) = &case.category { " · " span { (cat) } }
            }
        }
        div.case-grid {
            div.case-main {
                section aria-labelledby="desc-title" {
                    h2 #desc-title .visually-hidden { "Description" }
                    div.description { (paragraphs(&case.description)) }
                }
                section aria-labelledby="timeline-title" {
                    h2 #timeline-title { "Timeline" }
                    (timeline_filter(case.number, show_all, minor_lines))
                    ol.timeline #timeline data-live-region {
                        @for e in events.iter().filter(|e| show_all || timeline_class(&e.recorded.event) != "minor") {
                            (timeline_entry(e, &names))
                        }
                    }
                }
                @if open {
                    section.actions aria-labelledby="actions-title" {
                        h2 #actions-title { "Work the case" }
                        details open {
                            summary { "Reply to the customer" }
                            form method="post" action=(action("reply")) {
                                (csrf_field(&session))
                                (macro_picker)
                                input #reply-macro type="hidden" name="macro" value=(form("reply").value("macro").unwrap_or_default());
                                (text_area(form("reply"), "reply-body", "body", "Reply (the customer sees this)", 4, true))
                                button type="submit" { "Send reply" }
                            }
                        }
                        details open[form("note").refused()] {
                            summary { "Internal note" }
                            form method="post" action=(action("note")) {
                                (csrf_field(&session))
                                (text_area(form("note"), "note-body", "body", "Note (staff only)", 3, true))
                                button type="submit" { "Add note" }
                            }
                        }
                        @if let Some(why) = &steer {
                            p.hint #steer-note { "Escalate, de-escalate, request information and resolve are not offered: " (why) "." }
                        }
                        @if steer.is_none() {
                        (escalate_panel)
                        @if ladder.below(&case.level).is_some() {
                            details open[form("de-escalate").refused()] {
                                summary { "De-escalate" }
                                form method="post" action=(action("de-escalate")) {
                                    (csrf_field(&session))
                                    label for="de-level" { "To level" }
                                    select #de-level name="to_level" {
                                        option value="" { "Default (one level down)" }
                                        @for l in &ladder.levels { option value=(l.0) { (level_name(l)) } }
                                    }
                                    (text_area(form("de-escalate"), "de-guidance", "guidance", "Guidance for the lower level", 2, true))
                                    button type="submit" { "De-escalate" }
                                }
                            }
                        }
                        details open[form("request-info").refused()] {
                            summary { "Request information" }
                            form method="post" action=(action("request-info")) {
                                (csrf_field(&session))
                                label for="ri-from" { "From" }
                                select #ri-from name="from" {
                                    option value="customer" selected[selected(form("request-info"), "from", "customer", true)] { "The customer" }
                                    option value="internal" selected[selected(form("request-info"), "from", "internal", false)] { "Another team" }
                                }
                                (text_area(form("request-info"), "ri-question", "question", "Question", 2, true))
                                button type="submit" { "Ask and wait" }
                            }
                        }
                        details open[form("resolve").refused()] {
                            summary { "Resolve" }
                            form method="post" action=(action("resolve")) {
                                (csrf_field(&session))
                                (text_input(form("resolve"), "res-code", "code", "Resolution code", true, Some("resolution-codes")))
                                datalist #resolution-codes {
                                    @for c in ["fixed", "answered", "refunded", "workaround", "duplicate", "no_fault_found"] { option value=(c) {} }
                                }
                                (text_area(form("resolve"), "res-note", "note", "Note", 2, false))
                                (super::articles::solved_by_picker(&suggested, form("resolve").value("article_id")))
                                button type="submit" { "Resolve" }
                            }
                        }
                        }
                    }
                }
            }
            aside.case-side aria-label="Case details" {
                (clocks_panel(&dto))
                @if let Some(risk) = &dto.risk {
                    section aria-labelledby="risk-title" {
                        h2 #risk-title { "Escalation risk" }
                        p { strong { (format!("{:.0} %", risk.probability * 100.0)) } " · model " (risk.model_version) }
                        ul {
                            @for f in &risk.factors { li { (f.feature) " " (format!("{:+.2}", f.contribution)) } }
                        }
                    }
                }
                div #approvals-live data-live-region { (approvals) }
                (supervise)
                section aria-labelledby="customer-title" {
                    h2 #customer-title { "Customer" }
                    @if let Some(c) = &customer {
                        dl.profile {
                            dt { "Name" } dd { (c.name) }
                            dt { "Segment" } dd { (c.segment.as_deref().unwrap_or("—")) }
                            dt { "Value" } dd { (layout::money(c.value, &names.currency)) }
                            dt { "Status" } dd { (c.status.as_str()) }
                            @if let Some(lang) = &c.language { dt { "Language" } dd { (lang) } }
                            @for id in c.identities.iter().take(3) { dt { (id.channel.as_str()) } dd { (id.value) } }
                        }
                        h3 { "Past cases" }
                        (case_links(&past, "No other cases."))
                    } @else {
                        p.muted { "No customer on this case." }
                    }
                }
                section aria-labelledby="similar-title" {
                    h2 #similar-title { "Similar resolved cases" }
                    (case_links(&similar, "None found."))
                }
                (articles)
                section aria-labelledby="authority-title" {
                    h2 #authority-title { "Your authority" }
                    @if authority.is_empty() {
                        p.muted { "The matrix in force sets no authority limits." }
                    } @else {
                        dl.profile {
                            @for (action, limit) in &authority {
                                dt { (action_name(action)) }
                                dd { @match limit { Some(l) => { "up to " (layout::money(*l, &names.currency)) }, None => "needs approval" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&session, &format!("#{} {}", case.number, case.subject), "", body))
}

/// A few cases the caller may see that match `filter`, without `this` one.
async fn related(
    state: &AppState,
    p: &ladder_core::access::Principal,
    filter: CaseFilter,
    this: &Case,
) -> WebResult<Vec<Case>> {
    let page = state.engine.list_cases(p, filter, PageRequest { before: None, limit: RELATED_LIMIT }).await?;
    Ok(page.cases.into_iter().filter(|c| c.id != this.id).collect())
}

/// The two longest words of a subject: every FTS term is required, so a short query finds
/// cases about the same thing without demanding the same sentence. Numbers (order and
/// invoice numbers) are left out: they say nothing about the topic, and a rare term behind
/// a common one makes the search read every case that has the common one.
fn similar_query(subject: &str) -> Option<String> {
    let mut words: Vec<&str> = subject
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4 && !w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    words.dedup();
    let q = words.into_iter().take(2).collect::<Vec<_>>().join(" ");
    (!q.is_empty()).then_some(q)
}

fn case_links(cases: &[Case], empty: &str) -> Markup {
    html! {
        @if cases.is_empty() {
            p.muted { (empty) }
        } @else {
            ul.case-links {
                @for c in cases {
                    li {
                        a href=(format!("/cases/{}", c.number)) { "#" (c.number) " " (c.subject) }
                        " " (badge("status", c.status.as_str()))
                        @if let Some(r) = &c.resolution { span.muted { " " (r.code) } }
                    }
                }
            }
        }
    }
}

fn clocks_panel(dto: &CaseDto) -> Markup {
    html! {
        section #clocks aria-labelledby="clocks-title" data-live-region {
            h2 #clocks-title { "SLA clocks" }
            @if dto.clocks.is_empty() {
                p.muted { "No clocks: the matrix in force sets no targets for this case." }
            } @else {
                ul.clocks {
                    @for k in dto.clocks.iter().rev() {
                        li {
                            span.clock-name { (k.kind) " at " (k.level) }
                            " " (countdown(k))
                            @if let Some(due) = k.due_at { span.muted { " due " (time(due)) } }
                        }
                    }
                }
            }
        }
    }
}

fn timeline_entry(e: &StoredEvent, n: &Names) -> Markup {
    let r = &e.recorded;
    let (class, title, detail): (&str, String, Markup) = match &r.event {
        CaseEvent::Opened(o) => {
            ("opened", format!("Opened: the customer got in touch by {}", o.channel.as_str()), html! {})
        }
        CaseEvent::MessageAdded(m) => {
            let (class, what) = match m.visibility {
                Visibility::Public if matches!(m.author, Actor::Customer { .. }) => ("contact", "Customer contact"),
                Visibility::Public => ("reply", "Reply"),
                Visibility::Internal => ("note", "Internal note"),
            };
            (class, format!("{what} · {}", m.channel.as_str()), html! { div.body { (paragraphs(&m.body)) } })
        }
        CaseEvent::Assigned(a) => ("routing", format!("Assigned to {}", n.user(Some(a.assignee))), html! {}),
        CaseEvent::Unassigned(_) => ("routing", "Unassigned".into(), html! {}),
        CaseEvent::Transferred(t) => (
            "routing",
            format!("Transferred from {} to {}", n.team(t.from_team), n.team(Some(t.to_team))),
            html! { p { "Why: " (t.reason) } },
        ),
        CaseEvent::Escalated(x) => (
            "escalated",
            format!(
                "Escalated ({}, asked by {}) {} → {}",
                match x.kind {
                    EscalationKind::Functional => "functional",
                    EscalationKind::Hierarchical => "hierarchical",
                },
                match x.initiator {
                    Initiator::Agent => "the agent",
                    Initiator::Customer => "the customer",
                    Initiator::System => "the system",
                },
                x.from_level.0,
                x.to_level.0
            ),
            html! {
                p { "From " (n.team(x.from_team)) " (" (n.user(x.from_assignee)) ") to " (n.team(x.to_team))
                    @if x.to_user.is_some() { " (" (n.user(x.to_user)) ")" } }
                p { strong { "Why: " } (x.reason) }
                @if let Some(t) = &x.tried { p { strong { "Tried: " } (t) } }
            },
        ),
        CaseEvent::DeEscalated(x) => (
            "de-escalated",
            format!("De-escalated {} → {} to {}", x.from_level.0, x.to_level.0, n.team(x.to_team)),
            html! { p { strong { "Guidance: " } (x.guidance) } },
        ),
        CaseEvent::InfoRequested(i) => (
            "status",
            format!(
                "Waiting on {}",
                match i.from {
                    InfoSource::Customer => "the customer",
                    InfoSource::Internal => "another team",
                }
            ),
            html! { p { (i.question) } },
        ),
        CaseEvent::Resumed(_) => ("status", "Resumed".into(), html! {}),
        CaseEvent::Resolved(x) => {
            ("resolved", format!("Resolved: {}", x.code), html! { @if let Some(note) = &x.note { p { (note) } } })
        }
        CaseEvent::Reopened(x) => ("status", "Reopened".into(), html! { p { (x.reason) } }),
        CaseEvent::Closed(_) => ("status", "Closed".into(), html! {}),
        CaseEvent::Routed(x) => (
            "routing",
            match x.to_user {
                Some(u) => format!("Routed to {} in {}", n.user(Some(u)), n.team(x.team)),
                None => format!("Queued at {}", n.team(x.team)),
            },
            html! { p.muted { (x.reason) } },
        ),
        CaseEvent::ClockStarted(c) => (
            "minor",
            format!(
                "{} clock started at {} (target {})",
                c.clock.as_str(),
                c.level.0,
                layout::duration_text(c.target.as_secs())
            ),
            html! {},
        ),
        CaseEvent::ClockCancelled(c) => {
            ("minor", format!("{} clock cancelled: {}", c.clock.as_str(), c.reason), html! {})
        }
        CaseEvent::ClockPaused(c) => ("minor", format!("{} clock paused", c.clock.as_str()), html! {}),
        CaseEvent::ClockResumed(c) => ("minor", format!("{} clock resumed", c.clock.as_str()), html! {}),
        CaseEvent::ClockBreached(c) => ("breached", format!("{} clock breached", c.clock.as_str()), html! {}),
        CaseEvent::ClockMet(c) => ("met", format!("{} clock met", c.clock.as_str()), html! {}),
        CaseEvent::ClockAtRisk(c) => ("at-risk", format!("{} clock at {}%", c.clock.as_str(), c.percent), html! {}),
        CaseEvent::ApprovalRequested(a) => (
            "approval",
            format!(
                "Approval requested: {} of {} (needs a {})",
                action_name(&a.action),
                layout::money(a.amount, &n.currency),
                a.approver_role.as_str()
            ),
            html! { @if let Some(note) = &a.note { p { (note) } } },
        ),
        CaseEvent::ApprovalDecided(a) => (
            "approval",
            format!("Approval {} {}", a.approval, a.decision.as_str()),
            html! { @if let Some(c) = &a.comment { p { (c) } } },
        ),
        CaseEvent::ActionApplied(a) => (
            "approval",
            format!("{} of {} applied", action_name(&a.action), layout::money(a.amount, &n.currency)),
            html! {},
        ),
        other => ("minor", other.kind().replace('_', " "), html! {}),
    };
    html! {
        li class=(format!("event {class}")) {
            div.event-head {
                strong { (title) }
                span.muted { " · " @if class == "opened" { "recorded by " } (n.actor(&r.actor)) " · " (time(r.at))
                    @if let Some(v) = r.matrix_version { " · matrix v" (v) } }
            }
            (detail)
        }
    }
}

/// An action of the matrix's authority as people say it: `fee_waiver` is "fee waiver".
pub(super) fn action_name(action: &str) -> String {
    action.replace('_', " ")
}

/// The timeline's class for an event: `minor` for the system's clock lines, hidden unless
/// asked for.
fn timeline_class(event: &CaseEvent) -> &'static str {
    match event {
        CaseEvent::ClockStarted(_)
        | CaseEvent::ClockCancelled(_)
        | CaseEvent::ClockPaused(_)
        | CaseEvent::ClockResumed(_)
        | CaseEvent::ClockAtRisk(_) => "minor",
        _ => "",
    }
}

/// The filter above the timeline: the system lines are hidden by default, a link shows them.
fn timeline_filter(number: u64, show_all: bool, minor: usize) -> Markup {
    html! {
        @if minor > 0 {
            p.timeline-filter #timeline-filter {
                @if show_all {
                    "Showing everything, with " (minor) " system line(s). "
                    a href=(format!("/cases/{number}#timeline-title")) { "Hide system lines" }
                } @else {
                    (minor) " system line(s) (clocks started, paused, resumed, at risk) hidden. "
                    a href=(format!("/cases/{number}?show=all#timeline-title")) { "Show everything" }
                }
            }
        }
    }
}

/// Runs a command on the case the way the API does, then goes back to the case page with
/// what happened; a refusal is shown there, not lost.
async fn run_and_return(
    state: &AppState,
    session: &Session,
    sent: &Sent,
    number: &str,
    request: CaseRequest,
    done: &str,
) -> WebResult<Response> {
    Ok(match run_command(state, session, sent, number, request).await? {
        Ok(case) => {
            redirect_with(&format!("/cases/{}", case.number), Some(Flash { ok: true, message: done.to_string() }))
        }
        Err(refusal) => refusal,
    })
}

/// Runs a command on the case the way the API does: the case after it, or the answer that
/// takes the refused form back to the case page.
async fn run_command(
    state: &AppState,
    session: &Session,
    sent: &Sent,
    number: &str,
    request: CaseRequest,
) -> WebResult<Result<Case, Response>> {
    let case = visible_case(state, &session.principal, number).await?;
    let back = format!("/cases/{}", case.number);
    let now = state.engine.now();
    match state.engine.run(&session.principal, case.id, request, None, None, now).await {
        Ok(outcome) => Ok(Ok(outcome.case)),
        Err(ladder_engine::StoreError::Forbidden(m)) => Err(WebError::forbidden(m)),
        Err(e) => Ok(Err(super::forms::refused(&back, &sent.action, &sent.fields, ApiError::from(e)))),
    }
}

fn given_level(level: Option<LevelId>) -> Option<LevelId> {
    given(level.map(|l| l.0)).map(LevelId)
}

#[derive(Deserialize)]
struct MessageForm {
    body: String,
    /// The macro the reply was written with: its actions follow the reply.
    #[serde(default, rename = "macro")]
    macro_id: String,
}

/// A staff member's reply (`Public`) or note (`Internal`) written on the case page.
fn staff_message(visibility: Visibility, body: String) -> CaseRequest {
    CaseRequest::AddMessage(AddMessage { visibility, channel: None, body, from_customer: false, resume: false })
}

async fn reply(
    State(state): State<AppState>,
    Path(number): Path<String>,
    posted: Posted<MessageForm>,
) -> WebResult<Response> {
    let request = staff_message(Visibility::Public, posted.form.body);
    let case = match run_command(&state, &posted.session, &posted.sent, &number, request).await? {
        Ok(case) => case,
        Err(refusal) => return Ok(refusal),
    };
    let back = format!("/cases/{}", case.number);
    let flash = match given(Some(posted.form.macro_id)) {
        None => Flash { ok: true, message: "Reply sent.".into() },
        Some(id) => match super::macros::after_reply(&state, &posted.session, &case, &id).await {
            Ok(done) if done.is_empty() => Flash { ok: true, message: "Reply sent.".into() },
            Ok(done) => Flash { ok: true, message: format!("Reply sent; {}.", done.join("; ")) },
            Err(e) => {
                Flash { ok: false, message: format!("Reply sent, but the macro's actions were not: {}", e.0.detail) }
            }
        },
    };
    Ok(redirect_with(&back, Some(flash)))
}

async fn note(
    State(state): State<AppState>,
    Path(number): Path<String>,
    posted: Posted<MessageForm>,
) -> WebResult<Response> {
    let request = staff_message(Visibility::Internal, posted.form.body);
    run_and_return(&state, &posted.session, &posted.sent, &number, request, "Note added.").await
}

async fn escalate(
    State(state): State<AppState>,
    Path(number): Path<String>,
    posted: Posted<Vec<(String, String)>>,
) -> WebResult<Response> {
    // The API's body, but `skills` comes once per ticked box, which a form decoder into a
    // struct does not take: they are gathered apart.
    let (skills, rest): (Vec<_>, Vec<_>) = posted.form.iter().cloned().partition(|(k, _)| k == "skills");
    let f: Escalation = super::forms::decode_fields(rest.iter())?;
    let request = CaseRequest::Escalate(Escalation {
        to_level: given_level(f.to_level),
        to_team: given(f.to_team),
        to_user: given(f.to_user),
        tried: given(f.tried),
        skill: given(f.skill),
        skills: skills.into_iter().map(|(_, v)| v).filter(|v| !v.is_empty()).collect(),
        ..f
    });
    run_and_return(&state, &posted.session, &posted.sent, &number, request, "Escalated.").await
}

async fn de_escalate(
    State(state): State<AppState>,
    Path(number): Path<String>,
    posted: Posted<DeEscalation>,
) -> WebResult<Response> {
    let f = posted.form;
    let request = CaseRequest::DeEscalate(DeEscalation { to_level: given_level(f.to_level), ..f });
    run_and_return(&state, &posted.session, &posted.sent, &number, request, "De-escalated.").await
}

async fn request_info(
    State(state): State<AppState>,
    Path(number): Path<String>,
    posted: Posted<RequestInfo>,
) -> WebResult<Response> {
    let request = CaseRequest::RequestInfo(posted.form);
    run_and_return(
        &state,
        &posted.session,
        &posted.sent,
        &number,
        request,
        "Question sent; the case waits for the answer.",
    )
    .await
}

async fn resolve(
    State(state): State<AppState>,
    Path(number): Path<String>,
    posted: Posted<Vec<(String, String)>>,
) -> WebResult<Response> {
    // "No article" posts an empty `article_id`, which is no id: left out.
    let f: Resolve =
        super::forms::decode_fields(posted.form.iter().filter(|(k, v)| !(k == "article_id" && v.is_empty())))?;
    let request = CaseRequest::Resolve(Resolve {
        code: f.code.trim().to_string(),
        note: given(f.note),
        article_id: f.article_id,
    });
    run_and_return(&state, &posted.session, &posted.sent, &number, request, "Resolved.").await
}

#[cfg(test)]
mod tests {
    use super::similar_query;

    #[test]
    fn similar_cases_are_searched_by_the_longest_words_without_numbers() {
        assert_eq!(similar_query("Router drops Wi-Fi every evening").as_deref(), Some("evening Router"));
        assert_eq!(similar_query("Invoice 20261123 charged twice").as_deref(), Some("Invoice charged"));
        assert_eq!(similar_query("Case 8557"), Some("Case".to_string()));
        assert_eq!(similar_query("#42 ok"), None);
    }
}
