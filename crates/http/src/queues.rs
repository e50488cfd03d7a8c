//! `/api/v1/queues/{team}`: a team's queue in the order it should be worked, and taking the
//! next case from it.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ladder_core::routing::PriorityFactors;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::dto::CaseDto;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Auth;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(queue)).routes(routes!(next))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct QueueQuery {
    /// 1–1000, default 50.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Why a case sits where it does in the queue: its priority points by reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorsDto {
    pub urgency: u32,
    pub value: u32,
    pub segment: u32,
    pub repeat: u32,
    pub sentiment: u32,
}

impl From<PriorityFactors> for FactorsDto {
    fn from(f: PriorityFactors) -> Self {
        FactorsDto { urgency: f.urgency, value: f.value, segment: f.segment, repeat: f.repeat, sentiment: f.sentiment }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedDto {
    /// Position in the queue, from 1.
    pub position: u32,
    /// The priority score (the sum of the points in `factors`).
    pub priority_score: u32,
    /// The case's virtual deadline: its earliest SLA due instant (or 4 hours after it was
    /// opened) brought forward 6 minutes per point. The queue is sorted by it.
    pub rank_at: jiff::Timestamp,
    /// The points by reason.
    pub factors: FactorsDto,
    pub case: CaseDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueDto {
    pub team: String,
    /// Cases waiting in the queue in all.
    pub length: u64,
    pub items: Vec<QueuedDto>,
}

/// The team named in the path (404 when there is none). Who may see and take from its
/// queue is the engine's to say.
async fn team_of(state: &AppState, key: &str) -> ApiResult<ladder_core::directory::Team> {
    state.engine.resolve_team("team", key).await.map_err(|_| ApiError::not_found(format!("team '{key}'")))
}

/// The team's queue: cases waiting for someone, in the order they should be worked.
#[utoipa::path(get, path = "/api/v1/queues/{team}", tag = "queues", params(("team" = String, Path), QueueQuery),
    responses((status = 200, body = QueueDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn queue(
    State(state): State<AppState>,
    auth: Auth,
    Path(team): Path<String>,
    Query(q): Query<QueueQuery>,
) -> ApiResult<Json<QueueDto>> {
    let limit = crate::extract::limit_param("limit", q.limit, 50, 1000)?;
    let team = team_of(&state, &team).await?;
    let (queued, length) = state.engine.queue(&auth.0, &team, limit).await?;
    let items = queued
        .iter()
        .enumerate()
        .map(|(i, q)| QueuedDto {
            position: i as u32 + 1,
            priority_score: q.score,
            rank_at: q.rank_at,
            factors: q.factors.into(),
            case: state.case_dto(&q.case),
        })
        .collect();
    Ok(Json(QueueDto { team: team.slug, length, items }))
}

/// Take the next case of the team's queue: it is assigned to you, atomically (two agents
/// never get the same case). 204 when the queue is empty.
#[utoipa::path(post, path = "/api/v1/queues/{team}/next", tag = "queues", params(("team" = String, Path)),
    responses((status = 200, body = CaseDto), (status = 204, description = "The queue is empty"),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn next(State(state): State<AppState>, auth: Auth, Path(team): Path<String>) -> ApiResult<Response> {
    let team = team_of(&state, &team).await?;
    match state.engine.claim_next(&auth.0, team.id, state.engine.now()).await? {
        Some(outcome) => Ok(Json(state.case_dto(&outcome.case)).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}
