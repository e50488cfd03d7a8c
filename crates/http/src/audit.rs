//! `/api/v1/audit`: the history of directory changes (teams, users, passwords, customers,
//! tokens, agents' profiles and presence), for admins.

use axum::Json;
use axum::extract::{Query, State};
use jiff::Timestamp;
use ladder_engine::{AuditEntry, AuditFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Auth;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only changes made by this user (id or name); an unknown one is a 422.
    actor: Option<String>,
    /// Only this action (`user.create`), or every action on one kind of entry (`user`).
    #[param(pattern = r"^[a-z.]{1,64}$")]
    action: Option<String>,
    /// Only changes at or after this instant (RFC 3339, 1970 to 9999, to the microsecond).
    #[param(format = DateTime, pattern = r"^(197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$")]
    from: Option<String>,
    /// Only changes before this instant (RFC 3339, 1970 to 9999, to the microsecond).
    #[param(format = DateTime, pattern = r"^(197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$")]
    to: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^a[0-9]{1,18}$")]
    cursor: Option<String>,
    /// Entries per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// One directory change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryDto {
    /// Its place in the history: later changes have larger numbers.
    pub seq: i64,
    pub at: Timestamp,
    /// The user who made the change; `null` for `ladder admin` at the command line.
    pub actor_id: Option<uuid::Uuid>,
    pub actor_name: String,
    /// `entity.verb`: `customer.create|update|delete`, `team.create|update|delete`,
    /// `user.create|update|deactivate|password`, `token.create|revoke`,
    /// `agent.profile|presence`.
    pub action: String,
    /// The id of the entry changed (a customer, team, user or token).
    pub target: String,
    /// What the change set: names, roles, teams, status, presence … never a secret.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEntry> for AuditEntryDto {
    fn from(e: AuditEntry) -> Self {
        AuditEntryDto {
            seq: e.seq,
            at: e.at,
            actor_id: e.actor_id.map(|u| u.0),
            actor_name: e.actor_name,
            action: e.action,
            target: e.target,
            detail: e.detail,
        }
    }
}

/// A page of the audit history, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageDto {
    pub items: Vec<AuditEntryDto>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Who changed which team, user, password, customer, token or agent profile, and when
/// (admins). Filter by `actor`, `action` and time; newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPageDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 422, body = Problem),
        (status = 403, body = Problem)))]
async fn audit_log(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<AuditPageDto>> {
    state.engine.check(&auth.0, &ladder_core::access::Action::ReadAudit)?;
    let limit = crate::extract::limit_param("limit", q.limit, 100, 500)?;
    let actor = match &q.actor {
        Some(key) => Some(crate::extract::user_param(&state, "actor", key).await?),
        None => None,
    };
    if let Some(action) = &q.action
        && (action.is_empty() || action.len() > 64 || !action.chars().all(|c| c.is_ascii_lowercase() || c == '.'))
    {
        return Err(ApiError::bad_request("action", "an action like user.create, or an entity like user"));
    }
    let before = crate::extract::cursor_param(q.cursor.as_deref(), 'a')?;
    let filter = AuditFilter {
        actor,
        action: q.action.clone(),
        from: crate::extract::instant_param("from", q.from.as_deref())?,
        to: crate::extract::instant_param("to", q.to.as_deref())?,
        before,
        limit: limit + 1,
    };
    let entries = state.engine.audit_log(&auth.0, filter).await?;
    let (entries, next_cursor) = crate::extract::cursor_page(entries, limit, 'a', |e| e.seq);
    Ok(Json(AuditPageDto { items: entries.into_iter().map(AuditEntryDto::from).collect(), next_cursor }))
}
