//! `/api/v1/matrix`: the escalation matrix's drafts, versions, activation and rollback.
//! Drafts are uploaded as TOML (`Content-Type: application/toml`, or JSON `{"source": …}`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use jiff::Timestamp;
use ladder_core::access::Action;
use ladder_core::matrix::Diagnostic;
use ladder_engine::{MatrixDraft, MatrixVersion};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::error::{ApiError, ApiResult, DiagnosticDto, Problem};
use crate::extract::{Auth, Write};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_drafts))
        .routes(routes!(get_draft, put_draft, delete_draft))
        .routes(routes!(activate))
        .routes(routes!(check))
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
        .routes(routes!(active))
        .routes(routes!(rollback))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DraftDto {
    pub name: String,
    /// The TOML text.
    pub source: String,
    pub updated_by: String,
    pub updated_at: Timestamp,
    /// Warnings found when it was saved (errors refuse the upload).
    pub warnings: Vec<DiagnosticDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDto {
    pub version: u32,
    /// The draft it was made from.
    pub name: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub active: bool,
    /// The TOML text (only when one version is asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckDto {
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
    pub diagnostics: Vec<DiagnosticDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// The version to put back in force; by default the one in force before the current.
    pub to_version: Option<u32>,
}

fn version_dto(v: &MatrixVersion, active: Option<u32>, with_source: bool) -> VersionDto {
    VersionDto {
        version: v.version,
        name: v.name.clone(),
        created_by: v.created_by.clone(),
        created_at: v.created_at,
        active: Some(v.version) == active,
        source: with_source.then(|| v.source.clone()),
    }
}

fn draft_dto(d: MatrixDraft, warnings: &[Diagnostic]) -> DraftDto {
    DraftDto {
        name: d.name,
        source: d.source,
        updated_by: d.updated_by,
        updated_at: d.updated_at,
        warnings: warnings.iter().map(DiagnosticDto::from).collect(),
    }
}

/// A matrix's TOML text, the body of an upload as `application/toml`.
#[derive(ToSchema)]
#[schema(min_length = 1)]
#[allow(dead_code)] // Only its schema is used: the handler reads the raw bytes.
pub struct MatrixText(String);

/// A matrix uploaded as `application/json`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatrixUpload {
    /// The TOML text.
    #[schema(min_length = 1)]
    pub source: String,
}

/// The TOML text of an upload: the raw body, or `{"source": …}` when it is JSON. An empty
/// one is refused (422): a request without a body is not a matrix.
fn source_of(headers: &HeaderMap, body: &Bytes) -> ApiResult<String> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let (field, source) = if is_json {
        ("source", crate::extract::parse_json::<MatrixUpload>(body)?.source)
    } else {
        let text = String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::bad_request("body", "the matrix is not UTF-8 text"))?;
        ("body", text)
    };
    if source.is_empty() {
        return Err(ApiError::validation(field, "the matrix is empty; send its TOML text"));
    }
    Ok(source)
}

fn check_name(name: &str) -> ApiResult<()> {
    ladder_core::validate::handle("name", name).map_err(ApiError::from)
}

/// Drafts being edited.
#[utoipa::path(get, path = "/api/v1/matrix/drafts", tag = "matrix", responses((status = 200, body = Vec<DraftDto>)))]
async fn list_drafts(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<DraftDto>>> {
    Ok(Json(s.engine.matrix_drafts(&auth.0).await?.into_iter().map(|d| draft_dto(d, &[])).collect()))
}

#[utoipa::path(get, path = "/api/v1/matrix/drafts/{name}", tag = "matrix", params(("name" = String, Path)),
    responses((status = 200, body = DraftDto), (status = 404, body = Problem)))]
async fn get_draft(State(s): State<AppState>, auth: Auth, Path(name): Path<String>) -> ApiResult<Json<DraftDto>> {
    Ok(Json(draft_dto(s.engine.matrix_draft(&auth.0, &name).await?, &[])))
}

/// Upload a draft (managers and admins). It is checked first: a draft with errors is refused
/// with every problem and its line and column (`errors` in the problem).
#[utoipa::path(put, path = "/api/v1/matrix/drafts/{name}", tag = "matrix", params(("name" = String, Path)),
    request_body(content((MatrixText = "application/toml"), (MatrixUpload = "application/json")),
        description = "The matrix in TOML, or `{\"source\": …}` in JSON"),
    responses((status = 200, body = DraftDto), (status = 422, body = Problem), (status = 403, body = Problem),
        (status = 503, body = Problem)))]
async fn put_draft(
    State(s): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<DraftDto>> {
    s.engine.check(&auth.0, &Action::ChangeMatrix)?;
    check_name(&name)?;
    let source = source_of(&headers, &body)?;
    let (draft, diagnostics) =
        s.engine.put_matrix_draft(&auth.0, name, source, s.engine.now()).await.map_err(ApiError::from)?;
    Ok(Json(draft_dto(draft, &diagnostics)))
}

#[utoipa::path(delete, path = "/api/v1/matrix/drafts/{name}", tag = "matrix", params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn delete_draft(State(s): State<AppState>, auth: Auth, Path(name): Path<String>) -> ApiResult<StatusCode> {
    s.engine.delete_matrix_draft(&auth.0, name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Freeze a draft as the next version and put it in force (managers and admins). A draft
/// that no longer checks clean is refused and the active matrix keeps running.
#[utoipa::path(post, path = "/api/v1/matrix/drafts/{name}/activate", tag = "matrix", params(("name" = String, Path)),
    responses((status = 201, body = VersionDto), (status = 422, body = Problem), (status = 404, body = Problem),
        (status = 503, body = Problem)))]
async fn activate(
    State(s): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<(StatusCode, Json<VersionDto>)> {
    let v = s.engine.activate_matrix(&auth.0, name, s.engine.now()).await.map_err(ApiError::from)?;
    tracing::info!(version = v.version, by = %auth.0.name, "matrix activated");
    reevaluate_in_background(&s);
    Ok((StatusCode::CREATED, Json(version_dto(&v, Some(v.version), false))))
}

/// Open cases' clocks are re-evaluated against the version now in force, after the answer.
fn reevaluate_in_background(s: &AppState) {
    let engine = s.engine.clone();
    tokio::spawn(async move {
        match engine.reevaluate_clocks(engine.now()).await {
            Ok(n) => tracing::info!(cases = n, "SLA clocks re-evaluated against the matrix in force"),
            Err(e) => tracing::warn!(error = %e, "could not re-evaluate SLA clocks"),
        }
    });
}

/// Check a matrix without storing it: every problem with its position. It is checked on a
/// worker thread within a budget: `503` when no worker was free, `422` when it took too long.
#[utoipa::path(post, path = "/api/v1/matrix/check", tag = "matrix",
    request_body(content((MatrixText = "application/toml"), (MatrixUpload = "application/json")),
        description = "The matrix in TOML, or `{\"source\": …}` in JSON"),
    responses((status = 200, body = CheckDto), (status = 403, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem)))]
async fn check(State(s): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> ApiResult<Json<CheckDto>> {
    s.engine.check(&auth.0, &Action::ReadMatrixDrafts)?;
    let source = source_of(&headers, &body)?;
    let diagnostics = s.engine.check_matrix(&auth.0, &source, "upload").await?;
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    Ok(Json(CheckDto {
        valid: errors == 0,
        errors,
        warnings: diagnostics.len() - errors,
        diagnostics: diagnostics.iter().map(DiagnosticDto::from).collect(),
    }))
}

/// Every version, oldest first.
#[utoipa::path(get, path = "/api/v1/matrix/versions", tag = "matrix", responses((status = 200, body = Vec<VersionDto>)))]
async fn list_versions(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<VersionDto>>> {
    let active = s.engine.matrix_in_force(&auth.0).await?.map(|v| v.version);
    Ok(Json(s.engine.matrix_versions(&auth.0).await?.iter().map(|v| version_dto(v, active, false)).collect()))
}

#[utoipa::path(get, path = "/api/v1/matrix/versions/{version}", tag = "matrix", params(("version" = u32, Path)),
    responses((status = 200, body = VersionDto), (status = 404, body = Problem)))]
async fn get_version(State(s): State<AppState>, auth: Auth, Path(version): Path<u32>) -> ApiResult<Json<VersionDto>> {
    let active = s.engine.matrix_in_force(&auth.0).await?.map(|v| v.version);
    let v = s.engine.matrix_version(&auth.0, version).await?;
    Ok(Json(version_dto(&v, active, true)))
}

/// The version in force, with its text.
#[utoipa::path(get, path = "/api/v1/matrix/active", tag = "matrix", responses((status = 200, body = VersionDto), (status = 404, body = Problem)))]
async fn active(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<VersionDto>> {
    let v = s.engine.matrix_in_force(&auth.0).await?.ok_or_else(|| ApiError::not_found("an active matrix"))?;
    Ok(Json(version_dto(&v, Some(v.version), true)))
}

/// Put an earlier version back in force (managers and admins).
#[utoipa::path(post, path = "/api/v1/matrix/rollback", tag = "matrix", request_body = RollbackBody,
    responses((status = 200, body = VersionDto), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn rollback(State(s): State<AppState>, auth: Auth, write: Write<RollbackBody>) -> ApiResult<Json<VersionDto>> {
    let v = s.engine.rollback_matrix(&auth.0, write.body.to_version, s.engine.now()).await.map_err(ApiError::from)?;
    tracing::info!(version = v.version, by = %auth.0.name, "matrix rolled back");
    reevaluate_in_background(&s);
    Ok(Json(version_dto(&v, Some(v.version), false)))
}
