//! `/api/v1/incidents`: IT incidents (cases of kind `incident`) — the list, filtered by
//! status, severity and service, one incident, and a responder's acknowledge,
//! un-acknowledge and resolve (each an event on the case with its actor). Who sees an
//! incident is who sees its case; who responds is the service's team, managers and admins
//! (`core::access`).

use axum::Json;
use axum::extract::{Path, Query, State};
use ladder_core::ids::CaseId;
use ladder_core::incidents::Response;
use ladder_engine::IncidentFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::dto::IncidentDto;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Auth;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_incidents))
        .routes(routes!(get_incident))
        .routes(routes!(acknowledge))
        .routes(routes!(unacknowledge))
        .routes(routes!(resolve))
}

fn incident_id(raw: &str) -> ApiResult<CaseId> {
    raw.parse::<Uuid>()
        .map(CaseId)
        .map_err(|_| ApiError::bad_request("id", format!("'{raw}' is not an incident id (a UUID)")))
}

/// Filters of the incident list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentQuery {
    /// `triggered`, `acknowledged` or `resolved`.
    #[param(pattern = "^(triggered|acknowledged|resolved)$")]
    status: Option<String>,
    /// `SEV1`, `SEV2`, `SEV3` or `SEV4`.
    #[param(pattern = "^SEV[1-4]$")]
    severity: Option<String>,
    /// A service's id.
    service: Option<Uuid>,
    /// 1–500, default 100.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

async fn dto(s: &AppState, auth: &Auth, case: &ladder_core::Case) -> ApiResult<IncidentDto> {
    let teams = s.engine.teams_by_id(&auth.0).await?;
    IncidentDto::from_case(case, &teams).ok_or_else(|| ApiError::not_found(format!("incident {}", case.id)))
}

/// Incidents the caller may see (their teams' services'; managers and admins every one),
/// newest first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(IncidentQuery),
    responses((status = 200, body = Vec<IncidentDto>), (status = 400, body = Problem)))]
async fn list_incidents(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<IncidentQuery>,
) -> ApiResult<Json<Vec<IncidentDto>>> {
    if let Some(status) = q.status.as_deref()
        && !["triggered", "acknowledged", "resolved"].contains(&status)
    {
        return Err(ApiError::bad_request("status", format!("'{status}' is not triggered, acknowledged or resolved")));
    }
    if let Some(severity) = q.severity.as_deref()
        && !["SEV1", "SEV2", "SEV3", "SEV4"].contains(&severity)
    {
        return Err(ApiError::bad_request("severity", format!("'{severity}' is not SEV1, SEV2, SEV3 or SEV4")));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit", "is from 1 to 500"));
    }
    let filter = IncidentFilter { status: q.status, severity: q.severity, service: q.service, teams: None, limit };
    let cases = s.engine.incidents(&auth.0, filter).await?;
    let teams = s.engine.teams_by_id(&auth.0).await?;
    Ok(Json(cases.iter().filter_map(|c| IncidentDto::from_case(c, &teams)).collect()))
}

/// One incident the caller may see.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = Uuid, Path, description = "Incident (case) id")),
    responses((status = 200, body = IncidentDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn get_incident(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<IncidentDto>> {
    let case = s.engine.incident(&auth.0, incident_id(&id)?).await?;
    Ok(Json(dto(&s, &auth, &case).await?))
}

async fn respond(s: AppState, auth: Auth, id: String, response: Response) -> ApiResult<Json<IncidentDto>> {
    let outcome = s.engine.respond_to_incident(&auth.0, incident_id(&id)?, response, s.engine.now()).await?;
    Ok(Json(dto(&s, &auth, &outcome.case).await?))
}

/// Acknowledge an incident: paging stops. Its team, managers and admins.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/acknowledge", tag = "incidents",
    params(("id" = Uuid, Path, description = "Incident (case) id")),
    responses((status = 200, body = IncidentDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "Already acknowledged, or resolved")))]
async fn acknowledge(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<IncidentDto>> {
    respond(s, auth, id, Response::Acknowledge).await
}

/// Withdraw the acknowledgement: paging resumes where it stopped.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/unacknowledge", tag = "incidents",
    params(("id" = Uuid, Path, description = "Incident (case) id")),
    responses((status = 200, body = IncidentDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "Not acknowledged, or resolved")))]
async fn unacknowledge(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<IncidentDto>> {
    respond(s, auth, id, Response::Unacknowledge).await
}

/// Resolve an incident: paging ends; a later trigger with its key opens a new incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/resolve", tag = "incidents",
    params(("id" = Uuid, Path, description = "Incident (case) id")),
    responses((status = 200, body = IncidentDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "Already resolved")))]
async fn resolve(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<IncidentDto>> {
    respond(s, auth, id, Response::Resolve).await
}
