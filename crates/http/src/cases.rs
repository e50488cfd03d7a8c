//! `/api/v1/cases`: open, read, list, search, and every case command.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ladder_core::case::{Case, Channel, Priority, Status};
use ladder_core::command::{AddMessage, AskFrontLine, Reopen, RequestInfo, Resolve, UpdateCase};
use ladder_core::directory::LevelId;
use ladder_core::ids::CaseId;
use ladder_engine::{
    ActionRequest, Assignment, CallbackRequest, CaseRequest, DeEscalation, Escalation, OpenRequest, TransferRequest,
};
use ladder_engine::{AssigneeFilter, CaseFilter, EscalatedBy, PageRequest};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Auth, Write};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_case, list_cases))
        .routes(routes!(get_case, update_case))
        .routes(routes!(case_events))
        .routes(routes!(case_messages, add_message))
        .routes(routes!(assign))
        .routes(routes!(transfer))
        .routes(routes!(escalate))
        .routes(routes!(escalation_targets))
        .routes(routes!(de_escalate))
        .routes(routes!(request_info))
        .routes(routes!(resolve))
        .routes(routes!(reopen))
        .routes(routes!(close))
        .routes(routes!(ask_front_line))
        .routes(routes!(answer_task))
        .routes(routes!(record_csat))
        .routes(routes!(schedule_callback))
        .routes(routes!(apply_action))
        .routes(routes!(decide_approval))
        .routes(routes!(approval_inbox))
}

fn case_response(state: &AppState, status: StatusCode, case: &Case) -> Response {
    let mut r = (status, Json(state.case_dto(case))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", case.version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&format!("/api/v1/cases/{}", case.id))
    {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn case_id(raw: &str) -> ApiResult<CaseId> {
    raw.parse().map_err(|_| ApiError::bad_request("id", format!("'{raw}' is not a case id (a UUID)")))
}

/// Runs a command for the caller and answers with the case.
async fn run(
    state: &AppState,
    auth: &Auth,
    id: CaseId,
    request: CaseRequest,
    write: &Write<impl Sized>,
    created: bool,
) -> ApiResult<Response> {
    let now = state.engine.now();
    let outcome = state.engine.run(&auth.0, id, request, write.if_match, write.idempotency(&auth.0), now).await?;
    Ok(case_response(state, if created { StatusCode::CREATED } else { StatusCode::OK }, &outcome.case))
}

/// Loads a case the caller may see.
pub(crate) async fn visible_case(state: &AppState, auth: &Auth, id: CaseId) -> ApiResult<Case> {
    Ok(state.engine.case(&auth.0, id).await?)
}

fn levels(raw: Option<String>) -> Option<LevelId> {
    raw.map(LevelId::new)
}

/// Open a case.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = OpenCaseBody,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes a retry return the first result")),
    responses((status = 201, body = CaseDto), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn open_case(State(state): State<AppState>, auth: Auth, write: Write<OpenCaseBody>) -> ApiResult<Response> {
    let b = &write.body;
    let open = OpenRequest {
        subject: b.subject.clone(),
        description: b.description.clone(),
        category: b.category.clone(),
        channel: b.channel,
        priority: b.priority,
        level: levels(b.level.clone()),
        team: b.team.clone(),
        assignee: b.assignee.clone(),
        customer: b.customer_id.map(ladder_core::ids::CustomerId),
        tags: b.tags.iter().cloned().collect(),
        custom_fields: b.custom_fields.clone(),
    };
    let Some(requester) = b.requester.clone() else {
        return run(&state, &auth, CaseId::new_v7(), CaseRequest::Open(open), &write, true).await;
    };
    if b.customer_id.is_some() {
        return Err(ApiError::validation("requester", "name either customer_id or requester, not both"));
    }
    let now = state.engine.now();
    let outcome = state
        .engine
        .open_for_requester(
            &auth.0,
            CaseId::new_v7(),
            open,
            requester.into(),
            write.if_match,
            write.idempotency(&auth.0),
            now,
        )
        .await?;
    Ok(case_response(&state, StatusCode::CREATED, &outcome.case))
}

/// Filters for the case list. Several values are comma-separated.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// e.g. `new,open`
    #[param(
        pattern = r"^ *(new|open|pending_customer|pending_internal|resolved|closed)? *(, *(new|open|pending_customer|pending_internal|resolved|closed)? *)*$"
    )]
    status: Option<String>,
    /// Levels of the matrix in force, e.g. `L2`; an unknown one is a 422.
    level: Option<String>,
    /// Team slugs or ids; an unknown one is a 422.
    team: Option<String>,
    /// A user name or id, `me`, or `none` for unassigned cases; an unknown user is a 422.
    assignee: Option<String>,
    #[param(pattern = r"^ *(low|normal|high|urgent)? *(, *(low|normal|high|urgent)? *)*$")]
    priority: Option<String>,
    #[param(pattern = r"^ *(phone|email|chat|sms|social|web|api)? *(, *(phone|email|chat|sms|social|web|api)? *)*$")]
    channel: Option<String>,
    /// Customer id.
    customer: Option<Uuid>,
    category: Option<String>,
    /// Full-text search over subjects, descriptions and messages: at most 1,000 bytes and
    /// 16 distinct words (English stop words not counted).
    q: Option<String>,
    /// SLA standing of the live clocks: `breached`, `at_risk`, `running`, `paused`.
    #[param(pattern = r"^ *(breached|at_risk|running|paused)? *(, *(breached|at_risk|running|paused)? *)*$")]
    sla: Option<String>,
    /// `me`: cases the caller escalated; `my_team`: cases escalated out of one of the
    /// caller's teams (by anyone, rules included).
    #[param(pattern = "^(me|my_team)$")]
    escalated_by: Option<String>,
    /// From `next_cursor` of the previous page.
    #[param(pattern = "^n[0-9]{1,18}$")]
    cursor: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

fn parse_list<T>(field: &str, raw: &Option<String>, all: &[T], name: impl Fn(&T) -> &'static str) -> ApiResult<Vec<T>>
where
    T: Copy,
{
    let Some(raw) = raw else { return Ok(Vec::new()) };
    raw.split(',')
        .map(|s| s.trim_matches(' '))
        .filter(|s| !s.is_empty())
        .map(|s| {
            all.iter().copied().find(|v| name(v) == s).ok_or_else(|| {
                ApiError::bad_request(
                    field,
                    format!("'{s}' is not one of {}", all.iter().map(&name).collect::<Vec<_>>().join(", ")),
                )
            })
        })
        .collect()
}

/// List and search cases the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(ListQuery),
    responses((status = 200, body = CasePageDto), (status = 400, body = Problem), (status = 422, body = Problem)))]
async fn list_cases(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<CasePageDto>> {
    let mut filter = CaseFilter {
        status: parse_list("status", &q.status, &Status::ALL, |s| s.as_str())?,
        priority: parse_list("priority", &q.priority, &Priority::ALL, |p| p.as_str())?,
        channel: parse_list("channel", &q.channel, &Channel::ALL, |c| c.as_str())?,
        customer: q.customer.map(ladder_core::ids::CustomerId),
        category: q.category.clone(),
        q: q.q.clone().filter(|s| !s.trim().is_empty()),
        sla: crate::sla::parse_standings(q.sla.as_deref())?,
        ..Default::default()
    };
    if let Some(levels) = &q.level {
        for l in levels.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let level = LevelId::new(l);
            state.engine.ladder().check("level", &level).map_err(|e| match e {
                ladder_core::DomainError::Invalid { message, .. } => ApiError::validation("level", message),
                other => other.into(),
            })?;
            filter.level.push(level);
        }
    }
    if let Some(teams) = &q.team {
        for t in teams.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            filter.team.push(crate::extract::team_param(&state, t).await?);
        }
    }
    filter.assignee = match q.assignee.as_deref() {
        None | Some("") => None,
        Some("none") => Some(AssigneeFilter::Unassigned),
        Some("me") => Some(AssigneeFilter::User(auth.0.user_id)),
        Some(u) => Some(AssigneeFilter::User(crate::extract::user_param(&state, "assignee", u).await?)),
    };
    filter.escalated_by = match q.escalated_by.as_deref() {
        None => None,
        Some(key) => Some(
            escalated_by(key, &auth.0)
                .ok_or_else(|| ApiError::bad_request("escalated_by", format!("'{key}' is not one of me, my_team")))?,
        ),
    };
    let before = crate::extract::cursor_param(q.cursor.as_deref(), 'n')?.map(i64::unsigned_abs);
    let limit = crate::extract::limit_param("limit", q.limit, 50, 500)?;
    let page = state.engine.list_cases(&auth.0, filter, PageRequest { before, limit }).await?;
    Ok(Json(CasePageDto {
        items: page.cases.iter().map(|c| state.case_dto(c)).collect(),
        next_cursor: page.next_before.map(|n| format!("n{n}")),
    }))
}

/// One case. The `ETag` is its version, for `If-Match`.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = Uuid, Path, description = "Case id")),
    responses((status = 200, body = CaseDto), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn get_case(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let case = visible_case(&state, &auth, case_id(&id)?).await?;
    Ok(case_response(&state, StatusCode::OK, &case))
}

/// Change subject, priority, category, tags or custom fields.
#[utoipa::path(patch, path = "/api/v1/cases/{id}", tag = "cases", request_body = UpdateCaseBody,
    params(("id" = Uuid, Path, description = "Case id"), ("If-Match" = Option<String>, Header, pattern = r#"^(\*|(W/)?"?[0-9]{1,19}"?)$"#, description = "Case version from the ETag")),
    responses((status = 200, body = CaseDto), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn update_case(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    write: Write<UpdateCaseBody>,
) -> ApiResult<Response> {
    let b = &write.body;
    let request = CaseRequest::Update(UpdateCase {
        subject: b.subject.clone(),
        priority: b.priority,
        category: b.category.clone(),
        tags_added: b.add_tags.clone(),
        tags_removed: b.remove_tags.clone(),
        custom_fields: b.custom_fields.clone(),
    });
    run(&state, &auth, case_id(&id)?, request, &write, false).await
}

async fn user_names(state: &AppState, auth: &Auth) -> ApiResult<BTreeMap<Uuid, String>> {
    Ok(state.engine.user_names(&auth.0).await?.into_iter().map(|(id, name)| (id.0, name)).collect())
}

/// The full history: who opened it, who worked it, who escalated it to whom and why,
/// every status change, with actor and time.
#[utoipa::path(get, path = "/api/v1/cases/{id}/events", tag = "cases", params(("id" = Uuid, Path, description = "Case id")),
    responses((status = 200, body = Vec<EventDto>), (status = 404, body = Problem)))]
async fn case_events(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<EventDto>>> {
    let case = visible_case(&state, &auth, case_id(&id)?).await?;
    let events = state.engine.case_events(&auth.0, &case).await?;
    Ok(Json(EventDto::list(&events, &user_names(&state, &auth).await?)))
}

/// What an escalation of the case may choose from, for those who may escalate it (its
/// team, its assignee, managers and admins): the levels above the case's, their teams, their
/// people with presence and open cases (even of teams one is not in), the skills offered and
/// the team the ladder suggests.
#[utoipa::path(get, path = "/api/v1/cases/{id}/escalation-targets", tag = "cases",
    params(("id" = Uuid, Path, description = "Case id")),
    responses((status = 200, body = EscalationTargetsDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn escalation_targets(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<EscalationTargetsDto>> {
    let options = state.engine.escalation_options(&auth.0, case_id(&id)?).await?;
    Ok(Json(EscalationTargetsDto::from(&options)))
}

/// Messages (contacts) on the case, oldest first.
#[utoipa::path(get, path = "/api/v1/cases/{id}/messages", tag = "cases", params(("id" = Uuid, Path, description = "Case id")),
    responses((status = 200, body = Vec<MessageDto>), (status = 404, body = Problem)))]
async fn case_messages(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<MessageDto>>> {
    let case = visible_case(&state, &auth, case_id(&id)?).await?;
    let names = user_names(&state, &auth).await?;
    let messages = state.engine.case_messages(&auth.0, &case).await?;
    Ok(Json(messages.iter().map(|m| MessageDto::from_stored(m, &names)).collect()))
}

macro_rules! command_endpoint {
    ($name:ident, $path:literal, $body:ty, $doc:literal, |$b:ident| $make:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "cases", request_body = $body,
            params(("id" = Uuid, Path, description = "Case id"),
                   ("If-Match" = Option<String>, Header, pattern = r#"^(\*|(W/)?"?[0-9]{1,19}"?)$"#, description = "Case version from the ETag"),
                   ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes a retry return the first result")),
            responses((status = 200, body = CaseDto), (status = 404, body = Problem), (status = 409, body = Problem),
                      (status = 412, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
        async fn $name(State(state): State<AppState>, auth: Auth, Path(id): Path<String>, write: Write<$body>) -> ApiResult<Response> {
            let id = case_id(&id)?;
            let request = {
                let $b = &write.body;
                $make
            };
            run(&state, &auth, id, request, &write, false).await
        }
    };
}

command_endpoint!(
    add_message,
    "/api/v1/cases/{id}/messages",
    AddMessage,
    "Add a public reply or an internal note. A customer's reply resumes a pending case.",
    |b| CaseRequest::AddMessage(b.clone())
);

command_endpoint!(
    assign,
    "/api/v1/cases/{id}/assign",
    Assignment,
    "Assign the case to a user, or unassign it with `assignee: null`.",
    |b| CaseRequest::Assign(b.clone())
);

command_endpoint!(
    transfer,
    "/api/v1/cases/{id}/transfer",
    TransferRequest,
    "Move the case to another team on the same level.",
    |b| CaseRequest::Transfer(b.clone())
);

command_endpoint!(
    escalate,
    "/api/v1/cases/{id}/escalate",
    Escalation,
    "Escalate: functional (to a team with the skill) or hierarchical (to a higher level or a named supervisor).",
    |b| CaseRequest::Escalate(b.clone())
);

command_endpoint!(
    de_escalate,
    "/api/v1/cases/{id}/de-escalate",
    DeEscalation,
    "Hand the case back down the ladder with guidance.",
    |b| CaseRequest::DeEscalate(b.clone())
);

command_endpoint!(
    request_info,
    "/api/v1/cases/{id}/request-info",
    RequestInfo,
    "Ask the customer (or another team) for information; the case waits in a pending status.",
    |b| CaseRequest::RequestInfo(b.clone())
);

command_endpoint!(resolve, "/api/v1/cases/{id}/resolve", Resolve, "Resolve the case with a resolution code.", |b| {
    CaseRequest::Resolve(b.clone())
});

command_endpoint!(reopen, "/api/v1/cases/{id}/reopen", Reopen, "Reopen a resolved case.", |b| CaseRequest::Reopen(
    b.clone()
));

command_endpoint!(
    close,
    "/api/v1/cases/{id}/close",
    EmptyBody,
    "Close a resolved case for good (supervisors and above).",
    |_b| CaseRequest::Close
);

command_endpoint!(
    ask_front_line,
    "/api/v1/cases/{id}/ask-front-line",
    AskFrontLine,
    "Back office: ask the front line (the agent or team the case was escalated from) to get something from the customer. The case waits (pending_internal) until the task is answered.",
    |b| CaseRequest::AskFrontLine(b.clone())
);

command_endpoint!(
    record_csat,
    "/api/v1/cases/{id}/csat",
    CsatBody,
    "Record the customer's satisfaction score (1–5, with an optional comment), as a user the case belongs to (its team, its assignee, a manager) on the customer's behalf. Once per resolution: the case must be resolved (or closed after that); a second score for the same resolution is a 409, a reopened and resolved-again case takes a new one.",
    |b| CaseRequest::RecordCsat(ladder_core::command::RecordCsat {
        score: b.score,
        comment: b.comment.clone(),
        on_behalf: true,
    })
);

command_endpoint!(
    schedule_callback,
    "/api/v1/cases/{id}/callbacks",
    CallbackRequest,
    "Book a call-back: the case moves to the outbound team's queue and is handed out once the window opens. Times are local to `time_zone` (default: the customer's).",
    |b| CaseRequest::ScheduleCallback(b.clone())
);

/// Answer a task the back office gave the front line; the case resumes when no task is open.
#[utoipa::path(post, path = "/api/v1/cases/{id}/tasks/{task}/answer", tag = "cases", request_body = AnswerTaskBody,
    params(("id" = Uuid, Path, description = "Case id"), ("task" = u32, Path, description = "Task number, from 0"),
           ("If-Match" = Option<String>, Header, pattern = r#"^(\*|(W/)?"?[0-9]{1,19}"?)$"#, description = "Case version from the ETag"),
           ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes a retry return the first result")),
    responses((status = 200, body = CaseDto), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn answer_task(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, task)): Path<(String, u32)>,
    write: Write<AnswerTaskBody>,
) -> ApiResult<Response> {
    let id = case_id(&id)?;
    let request = CaseRequest::AnswerTask(ladder_core::command::AnswerTask { task, answer: write.body.answer.clone() });
    run(&state, &auth, id, request, &write, false).await
}

command_endpoint!(
    apply_action,
    "/api/v1/cases/{id}/actions",
    ActionRequest,
    "Grant an action with a value (credit, refund, fee waiver …). Within your authority limit (the matrix's `[[authority]]`, with per-user overrides) it applies at once; above it an approval request goes to the lowest role with enough authority, with its own SLA clock when the rule sets `approve_within`.",
    |b| CaseRequest::ApplyAction(b.clone())
);

/// Approve, deny (with a comment) or counter (a smaller amount) an approval request.
#[utoipa::path(post, path = "/api/v1/cases/{id}/approvals/{approval}", tag = "cases", request_body = DecideApprovalBody,
    params(("id" = Uuid, Path, description = "Case id"), ("approval" = u32, Path, description = "Approval number, from 0"),
           ("If-Match" = Option<String>, Header, pattern = r#"^(\*|(W/)?"?[0-9]{1,19}"?)$"#, description = "Case version from the ETag"),
           ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes a retry return the first result")),
    responses((status = 200, body = CaseDto), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn decide_approval(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, approval)): Path<(String, u32)>,
    write: Write<DecideApprovalBody>,
) -> ApiResult<Response> {
    let id = case_id(&id)?;
    let b = &write.body;
    let decision = match (b.decision, b.amount) {
        (DecisionKind::Approve, None) => ladder_core::command::Decision::Approve,
        (DecisionKind::Deny, None) => ladder_core::command::Decision::Deny,
        (DecisionKind::Counter, Some(amount)) => ladder_core::command::Decision::Counter { amount },
        (DecisionKind::Counter, None) => {
            return Err(ApiError::validation("amount", "a counter-offer needs the amount to grant"));
        }
        (_, Some(_)) => {
            return Err(ApiError::validation("amount", "only a counter-offer has an amount"));
        }
    };
    let request = CaseRequest::DecideApproval { approval, decision, comment: b.comment.clone() };
    run(&state, &auth, id, request, &write, false).await
}

/// Pending approval requests the caller may decide (their role reaches the approver role;
/// a supervisor's only on their own teams' cases), oldest first.
#[utoipa::path(get, path = "/api/v1/approvals", tag = "cases",
    responses((status = 200, body = Vec<ApprovalInboxItemDto>), (status = 401, body = Problem)))]
async fn approval_inbox(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<ApprovalInboxItemDto>>> {
    let inbox = state.engine.approval_inbox(&auth.0, 500).await?;
    Ok(Json(
        inbox
            .iter()
            .map(|p| ApprovalInboxItemDto {
                case_id: p.case.id.0,
                case_number: p.case.number,
                subject: p.case.subject.clone(),
                team_id: p.case.team.map(|t| t.0),
                approval: ApprovalDto::new(p.approval, p.request()),
            })
            .collect(),
    ))
}

/// The escalations `key` names for `principal`: `me`, the cases they escalated; `my_team`, the
/// cases escalated out of one of their teams. The API's filter and the console's tabs.
pub(crate) fn escalated_by(key: &str, principal: &ladder_core::access::Principal) -> Option<EscalatedBy> {
    match key {
        "me" => Some(EscalatedBy::User(principal.user_id)),
        "my_team" => Some(EscalatedBy::Teams(principal.teams.clone())),
        _ => None,
    }
}
