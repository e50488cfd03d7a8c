//! `/api/v1/macros`: canned replies of a team or of one user. Everyone lists and reads the
//! macros they may use (their teams' and their own); a team's supervisors, managers and admins
//! manage the team's, and each user their own (`core::access`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ladder_core::access::Principal;
use ladder_core::macros::{Macro, MacroOwner};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::dto::{MacroBody, MacroDto};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Auth, Write};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_macros, create_macro)).routes(routes!(
        get_macro,
        replace_macro,
        delete_macro
    ))
}

fn macro_id(raw: &str) -> ApiResult<Uuid> {
    raw.parse().map_err(|_| ApiError::bad_request("id", format!("'{raw}' is not a macro id (a UUID)")))
}

/// The macro a body describes, owned by its team or by the caller.
pub(crate) async fn macro_from(s: &AppState, p: &Principal, id: Uuid, body: MacroBody) -> ApiResult<Macro> {
    let owner = match body.team.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(team) => MacroOwner::Team(s.engine.resolve_team("team", team).await?.id),
        None => MacroOwner::User(p.user_id),
    };
    Ok(Macro {
        id,
        owner,
        name: body.name.trim().to_string(),
        body: body.body,
        add_tags: body.add_tags,
        resolve_code: body.resolve_code.map(|c| c.trim().to_string()).filter(|c| !c.is_empty()),
        updated_at: s.engine.now(),
    })
}

async fn dto(s: &AppState, p: &Principal, m: &Macro) -> ApiResult<MacroDto> {
    Ok(MacroDto::from_macro(m, &s.engine.teams_by_id(p).await?))
}

/// The macros the caller may use: their teams' and their own, by owner and name.
#[utoipa::path(get, path = "/api/v1/macros", tag = "macros", responses((status = 200, body = Vec<MacroDto>)))]
async fn list_macros(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<MacroDto>>> {
    let teams = s.engine.teams_by_id(&auth.0).await?;
    let macros = s.engine.macros(&auth.0).await?;
    Ok(Json(macros.iter().map(|m| MacroDto::from_macro(m, &teams)).collect()))
}

/// Create a macro: a team's (`team`: its supervisors, managers and admins) or one's own.
#[utoipa::path(post, path = "/api/v1/macros", tag = "macros", request_body = MacroBody,
    responses((status = 201, body = MacroDto), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn create_macro(
    State(s): State<AppState>,
    auth: Auth,
    write: Write<MacroBody>,
) -> ApiResult<(StatusCode, Json<MacroDto>)> {
    let m = macro_from(&s, &auth.0, Uuid::now_v7(), write.body).await?;
    let m = s.engine.create_macro(&auth.0, m, s.engine.now()).await?;
    Ok((StatusCode::CREATED, Json(dto(&s, &auth.0, &m).await?)))
}

/// One macro the caller may use.
#[utoipa::path(get, path = "/api/v1/macros/{id}", tag = "macros", params(("id" = Uuid, Path, description = "Macro id")),
    responses((status = 200, body = MacroDto), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn get_macro(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<MacroDto>> {
    let m = s.engine.macro_by_id(&auth.0, macro_id(&id)?).await?;
    Ok(Json(dto(&s, &auth.0, &m).await?))
}

/// Replace a macro the caller manages.
#[utoipa::path(put, path = "/api/v1/macros/{id}", tag = "macros", params(("id" = Uuid, Path, description = "Macro id")),
    request_body = MacroBody,
    responses((status = 200, body = MacroDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn replace_macro(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    write: Write<MacroBody>,
) -> ApiResult<Json<MacroDto>> {
    let m = macro_from(&s, &auth.0, macro_id(&id)?, write.body).await?;
    let m = s.engine.update_macro(&auth.0, m, s.engine.now()).await?;
    Ok(Json(dto(&s, &auth.0, &m).await?))
}

/// Delete a macro the caller manages.
#[utoipa::path(delete, path = "/api/v1/macros/{id}", tag = "macros", params(("id" = Uuid, Path, description = "Macro id")),
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_macro(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.engine.delete_macro(&auth.0, macro_id(&id)?, s.engine.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
