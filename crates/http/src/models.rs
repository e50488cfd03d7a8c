//! `/api/v1/models`: the escalation-risk models trained from the history (`ladder model
//! train`), each with its evaluation on a time-ordered holdout. Managers and admins read
//! them; admins put one in force or none (`core::access`). A model that does not beat its
//! baseline is refused (422).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use ladder_core::risk::Evaluation;
use ladder_engine::StoredModel;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Auth;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_models))
        .routes(routes!(get_model))
        .routes(routes!(activate_model))
        .routes(routes!(deactivate_models))
}

/// A stored escalation-risk model (its weights left out).
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelDto {
    pub version: u64,
    /// Whether it scores new cases now.
    pub active: bool,
    /// The number of weights (hashed features).
    pub dimensions: u32,
    /// The distinct words of the subject and description it reads.
    pub max_words: u32,
    pub trained_by: String,
    pub created_at: Timestamp,
    /// How it did on the most recent cases, held out from its training.
    pub evaluation: Evaluation,
}

/// The stored models, oldest first, and the version in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelListDto {
    /// The version in force, if any.
    pub active: Option<u64>,
    pub models: Vec<ModelDto>,
}

fn dto(m: StoredModel, active: Option<u64>) -> ModelDto {
    ModelDto {
        version: m.model.version,
        active: active == Some(m.model.version),
        dimensions: m.model.hashing.dimensions,
        max_words: m.model.hashing.max_words,
        trained_by: m.trained_by,
        created_at: m.created_at,
        evaluation: m.evaluation,
    }
}

fn version(raw: &str) -> ApiResult<u64> {
    match raw.parse::<u64>() {
        Ok(v) if (1..=i64::MAX as u64).contains(&v) => Ok(v),
        _ => Err(ApiError::bad_request("version", format!("'{raw}' is not a model version (a positive integer)"))),
    }
}

/// The stored models with their evaluations (managers and admins).
#[utoipa::path(get, path = "/api/v1/models", tag = "models",
    responses((status = 200, body = ModelListDto), (status = 403, body = Problem)))]
async fn list_models(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<ModelListDto>> {
    let (models, active) = s.engine.risk_models(&auth.0).await?;
    Ok(Json(ModelListDto { active, models: models.into_iter().map(|m| dto(m, active)).collect() }))
}

/// One stored model with its evaluation (managers and admins).
#[utoipa::path(get, path = "/api/v1/models/{version}", tag = "models",
    params(("version" = u64, Path, description = "Model version", minimum = 1)),
    responses((status = 200, body = ModelDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn get_model(State(s): State<AppState>, auth: Auth, Path(raw): Path<String>) -> ApiResult<Json<ModelDto>> {
    let v = version(&raw)?;
    let model = s.engine.risk_model_version(&auth.0, v).await?;
    let active = s.engine.risk_model().map(|m| m.version);
    Ok(Json(dto(model, active)))
}

/// Put a model in force: it scores every new case from now on (admins). A model that does
/// not beat its baseline is refused with 422.
#[utoipa::path(post, path = "/api/v1/models/{version}/activate", tag = "models",
    params(("version" = u64, Path, description = "Model version", minimum = 1)),
    responses((status = 200, body = ModelDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn activate_model(State(s): State<AppState>, auth: Auth, Path(raw): Path<String>) -> ApiResult<Json<ModelDto>> {
    let v = version(&raw)?;
    let model = s
        .engine
        .activate_risk_model(&auth.0, Some(v))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("model {v}")))?;
    Ok(Json(dto(model, Some(v))))
}

/// Put no model in force: new cases are not scored (admins).
#[utoipa::path(post, path = "/api/v1/models/deactivate", tag = "models",
    responses((status = 204), (status = 403, body = Problem)))]
async fn deactivate_models(State(s): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    s.engine.activate_risk_model(&auth.0, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
