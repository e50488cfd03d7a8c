//! `/approvals`: the approvals inbox — pending requests to grant an action above the
//! requester's authority that this session may decide — with approve, deny (a comment is
//! required) and counter-offer forms; the same forms on the case page; and the form an agent
//! grants an action with (within their limit it applies, above it an approval is requested).
//! Every form runs the engine command of the API (`POST /api/v1/cases/{id}/approvals/{n}`,
//! `POST /api/v1/cases/{id}/actions`).

use ladder_core::access::Action;
use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use ladder_core::access::Principal;
use ladder_core::case::{Approval, Case};
use ladder_core::command::Decision;
use ladder_core::directory::Customer;
use ladder_core::ids::UserId;
use ladder_engine::{ActionRequest, CaseRequest};
use maud::{Markup, html};
use serde::Deserialize;

use super::board::run_command;
use super::case::visible_case;
use super::layout::{self, csrf_field, time};
use super::session::{Flash, Posted, Session, redirect_with};
use super::{WebError, WebResult, allow, given};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/approvals", get(inbox_page))
        .route("/cases/{number}/approvals/{approval}", post(decide))
        .route("/cases/{number}/actions", post(apply_action))
}

/// How many pending approvals the inbox shows (oldest first).
const INBOX_LIMIT: u32 = 100;

async fn user_names(state: &AppState, p: &Principal) -> WebResult<BTreeMap<UserId, String>> {
    Ok(state.engine.user_names(p).await?)
}

async fn inbox_page(State(state): State<AppState>, session: Session) -> WebResult<Markup> {
    allow(&state, &session, &Action::ApprovalsInbox)?;
    let inbox = state.engine.approval_inbox(&session.principal, INBOX_LIMIT).await?;
    let users = user_names(&state, &session.principal).await?;
    let mut customers = BTreeMap::new();
    for id in inbox.iter().filter_map(|item| item.case.customer) {
        if let std::collections::btree_map::Entry::Vacant(slot) = customers.entry(id)
            && let Some(customer) = state.engine.customer(&session.principal, id).await?
        {
            slot.insert(customer);
        }
    }
    let body = html! {
        link rel="stylesheet" href="/assets/approvals.css";
        h1 { "Approvals " span.count { "(" (inbox.len()) " waiting)" } }
        @if inbox.is_empty() {
            p.empty { "No approval is waiting for you." }
        }
        ol.approvals {
            @for item in &inbox {
                li.approval {
                    h2 {
                        a href=(format!("/cases/{}", item.case.number)) { "#" (item.case.number) " " (item.case.subject) }
                    }
                    @let customer = item.case.customer.and_then(|id| customers.get(&id));
                    (approval_card(&state, &session, &item.case, customer, item.approval, item.request(), &users, "/approvals"))
                }
            }
        }
    };
    Ok(layout::page(&session, "Approvals", "/approvals", body))
}

/// One pending approval: what is asked, by whom, for which customer (their value), the
/// case's priority, the decider's own limit, and the three decisions.
#[allow(clippy::too_many_arguments)]
fn approval_card(
    state: &AppState,
    session: &Session,
    case: &Case,
    customer: Option<&Customer>,
    n: u32,
    a: &Approval,
    users: &BTreeMap<UserId, String>,
    back: &str,
) -> Markup {
    let who = a.requested_by.user_id().and_then(|u| users.get(&u)).map_or("someone", String::as_str);
    let action = format!("/cases/{}/approvals/{n}", case.number);
    let id = format!("{}-{n}", case.number);
    let p = &session.principal;
    // The decider's own limit for this action, from the matrix in force.
    let own_limit = state
        .engine
        .active_matrix()
        .and_then(|m| m.compiled.matrix().authority_limit(&a.action, p.role, Some(&p.name)));
    let currency = super::currency(state);
    let money = |amount: f64| super::layout::money(amount, &currency);
    html! {
        p.request {
            strong { (super::case::action_name(&a.action)) " of " (money(a.amount)) }
            " requested by " (who) " " (time(a.requested_at))
            " · needs a " (a.approver_role.as_str()) " or above"
        }
        p.approval-facts {
            @match customer {
                Some(c) => {
                    "Customer " strong { (c.name) } @if let Some(segment) = &c.segment { " (" (segment) ")" }
                    ", value " strong.customer-value { (money(c.value)) } " · "
                }
                None => "No customer on the case · ",
            }
            "Case priority " (super::layout::badge("priority", case.priority.as_str()))
            " · your own limit for " (super::case::action_name(&a.action)) ": "
            strong { @match own_limit { Some(l) => (money(l)), None => "none set (approval only)" } }
            @if own_limit.is_none_or(|l| a.window_total().unwrap_or(a.amount) > l) {
                span.muted { " — above it: counter-offer within it, or leave it to someone with more authority" }
            }
        }
        @if let Some(note) = &a.note { p.muted { "“" (note) "”" } }
        @if !a.earlier.is_empty() { p.muted { "Adds up with earlier grants: " (a.reason()) } }
        div.decide {
            form.decide-approve method="post" action=(action) {
                (csrf_field(session))
                input type="hidden" name="decision" value="approve";
                input type="hidden" name="back" value=(back);
                button.approve type="submit" aria-label=(format!("Approve {} of {} on case #{}", super::case::action_name(&a.action), money(a.amount), case.number)) { "Approve" }
            }
            form.decide-deny method="post" action=(action) {
                (csrf_field(session))
                input type="hidden" name="decision" value="deny";
                input type="hidden" name="back" value=(back);
                label for=(format!("deny-{id}")) { "Why deny (required)" }
                input #(format!("deny-{id}")) type="text" name="comment" required;
                button.deny type="submit" { "Deny" }
            }
            form.decide-counter method="post" action=(action) {
                (csrf_field(session))
                input type="hidden" name="decision" value="counter";
                input type="hidden" name="back" value=(back);
                label for=(format!("counter-{id}")) { "Counter-offer amount (" (currency) ")" }
                input #(format!("counter-{id}")) type="number" name="amount" min="0" step="0.01" required;
                label for=(format!("counter-note-{id}")) { "Comment" }
                input #(format!("counter-note-{id}")) type="text" name="comment";
                button.counter type="submit" { "Counter-offer" }
            }
        }
    }
}

/// The case page's approvals panel: the pending requests with their forms for those who may
/// decide them, the pending requests as facts for the others, and the form to grant an
/// action (for the actions the matrix in force names). Empty on a closed case.
pub async fn case_panel(state: &AppState, session: &Session, case: &Case) -> WebResult<Markup> {
    if !case.status.is_active() {
        return Ok(html! {});
    }
    let p = &session.principal;
    let users = user_names(state, p).await?;
    let actions: Vec<String> = state
        .engine
        .active_matrix()
        .map(|m| m.compiled.matrix().authority.iter().map(|a| a.action.clone()).collect())
        .unwrap_or_default();
    let pending: Vec<(u32, &Approval)> = case.pending_approvals().collect();
    let currency = super::currency(state);
    let customer = match case.customer {
        Some(id) if !pending.is_empty() => state.engine.customer(p, id).await?,
        _ => None,
    };
    let back = format!("/cases/{}", case.number);
    Ok(html! {
        link rel="stylesheet" href="/assets/approvals.css";
        @if !pending.is_empty() {
            section #approvals aria-labelledby="approvals-title" {
                h2 #approvals-title { "Approvals waiting" }
                @for (n, a) in &pending {
                    div.approval {
                        @if p.allows(&Action::SeeApproval { case, approval: a }).is_ok() {
                            (approval_card(state, session, case, customer.as_ref(), *n, a, &users, &back))
                        } @else {
                            p.request {
                                strong { (super::case::action_name(&a.action)) " of " (super::layout::money(a.amount, &currency)) }
                                " waits for a " (a.approver_role.as_str()) " (requested " (time(a.requested_at)) ")"
                            }
                        }
                    }
                }
            }
        }
        @if !actions.is_empty() {
            section #grant aria-labelledby="grant-title" {
                h2 #grant-title { "Grant an action" }
                form method="post" action=(format!("/cases/{}/actions", case.number)) {
                    (csrf_field(session))
                    label for="grant-action" { "Action" }
                    select #grant-action name="action" {
                        @for a in &actions { option value=(a) { (a.replace('_', " ")) } }
                    }
                    label for="grant-amount" { "Amount (" (currency) ")" }
                    input #grant-amount type="number" name="amount" min="0.01" step="0.01" required;
                    label for="grant-note" { "Reason (the approver sees it)" }
                    input #grant-note type="text" name="note";
                    button type="submit" { "Grant" }
                }
                p.muted { "Above your authority it becomes a request for approval." }
            }
        }
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum DecisionKind {
    Approve,
    Deny,
    Counter,
}

#[derive(Deserialize)]
struct DecideForm {
    decision: DecisionKind,
    #[serde(default)]
    amount: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    /// The inbox, or (by default) the case page.
    #[serde(default)]
    back: Option<String>,
}

/// Approve, deny or counter one approval (the engine's DecideApproval, as the API's
/// `POST /api/v1/cases/{id}/approvals/{approval}`).
async fn decide(
    State(state): State<AppState>,
    Path((number, approval)): Path<(String, u32)>,
    posted: Posted<DecideForm>,
) -> WebResult<Response> {
    let f = posted.form;
    let comment = given(f.comment);
    let back = f.back.filter(|b| b == "/approvals");
    let refuse = |message: String| {
        let to = back.clone().unwrap_or_else(|| format!("/cases/{}", number.trim_start_matches('#')));
        Ok(redirect_with(&to, Some(Flash { ok: false, message })))
    };
    let (decision, done) = match f.decision {
        DecisionKind::Approve => (Decision::Approve, "Approved."),
        DecisionKind::Deny if comment.is_none() => {
            return refuse("Not done: a denial needs a comment saying why.".into());
        }
        DecisionKind::Deny => (Decision::Deny, "Denied."),
        DecisionKind::Counter => match given(f.amount).map(|a| a.parse::<f64>()) {
            Some(Ok(amount)) if amount.is_finite() => (Decision::Counter { amount }, "Counter-offer granted."),
            _ => return refuse("Not done: a counter-offer needs the amount to grant, e.g. 50.".into()),
        },
    };
    let case = visible_case(&state, &posted.session.principal, &number).await?;
    let done = format!("Case #{}: {done}", case.number);
    let request = CaseRequest::DecideApproval { approval, decision, comment };
    run_command(&state, &posted.session, &number, request, &done, back.as_deref()).await
}

#[derive(Deserialize)]
struct ActionForm {
    action: String,
    amount: String,
    #[serde(default)]
    note: Option<String>,
}

/// Grants an action (the engine's ApplyAction, as `POST /api/v1/cases/{id}/actions`): it
/// applies within the caller's limit, or asks for approval above it; the flash says which.
async fn apply_action(
    State(state): State<AppState>,
    Path(number): Path<String>,
    posted: Posted<ActionForm>,
) -> WebResult<Response> {
    let session = &posted.session;
    let case = visible_case(&state, &session.principal, &number).await?;
    let back = format!("/cases/{}", case.number);
    let f = posted.form;
    let Ok(amount) = f.amount.trim().parse::<f64>() else {
        return Ok(redirect_with(
            &back,
            Some(Flash { ok: false, message: format!("Not done: '{}' is not an amount; write e.g. 120", f.amount) }),
        ));
    };
    let request = CaseRequest::ApplyAction(ActionRequest { action: f.action.clone(), amount, note: given(f.note) });
    let (what, shown) = (super::case::action_name(&f.action), super::layout::money(amount, &super::currency(&state)));
    let flash = match state.engine.run(&session.principal, case.id, request, None, None, state.engine.now()).await {
        Ok(outcome) if outcome.case.approvals.len() > case.approvals.len() => {
            let a = outcome.case.approvals.last().expect("a new approval");
            Flash {
                ok: true,
                message: if a.earlier.is_empty() {
                    format!(
                        "{what} of {shown} is above your authority: approval requested from a {}.",
                        a.approver_role.as_str()
                    )
                } else {
                    format!(
                        "{} is above your authority: approval requested from a {}.",
                        a.reason(),
                        a.approver_role.as_str()
                    )
                },
            }
        }
        Ok(_) => Flash { ok: true, message: format!("{what} of {shown} applied.") },
        Err(ladder_engine::StoreError::Forbidden(m)) => return Err(WebError::forbidden(m)),
        Err(e) => Flash { ok: false, message: format!("Not done: {}", crate::error::ApiError::from(e).0.detail) },
    };
    Ok(redirect_with(&back, Some(flash)))
}
