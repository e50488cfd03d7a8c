//! `/api/v1/services`: monitored services and their integration keys. Supervisors, managers
//! and admins read them; admins create, change and delete them and mint and revoke keys
//! (`core::access`). A key's secret is in the answer that mints it and nowhere else.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ladder_core::access::Principal;
use ladder_core::services::Service;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::dto::{IntegrationKeyBody, IntegrationKeyDto, NewIntegrationKeyDto, ServiceBody, ServiceDto};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Auth, Write};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_services, create_service))
        .routes(routes!(get_service, replace_service, delete_service))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
}

fn uuid_in(field: &str, raw: &str, what: &str) -> ApiResult<Uuid> {
    raw.parse().map_err(|_| ApiError::bad_request(field, format!("'{raw}' is not {what} id (a UUID)")))
}

async fn service_from(s: &AppState, id: Uuid, body: ServiceBody) -> ApiResult<Service> {
    let team = s.engine.resolve_team("team", body.team.trim()).await?;
    let now = s.engine.now();
    Ok(Service {
        id,
        name: body.name.trim().to_string(),
        description: body.description,
        team: team.id,
        policies: body.policies,
        maintenance: body.maintenance,
        created_at: now,
        updated_at: now,
    })
}

async fn dto(s: &AppState, p: &Principal, service: &Service) -> ApiResult<ServiceDto> {
    Ok(ServiceDto::from_service(service, &s.engine.teams_by_id(p).await?, s.engine.now()))
}

/// Every service, by name (supervisors and up).
#[utoipa::path(get, path = "/api/v1/services", tag = "incidents",
    responses((status = 200, body = Vec<ServiceDto>), (status = 403, body = Problem)))]
async fn list_services(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<ServiceDto>>> {
    let services = s.engine.services(&auth.0).await?;
    let teams = s.engine.teams_by_id(&auth.0).await?;
    let now = s.engine.now();
    Ok(Json(services.iter().map(|x| ServiceDto::from_service(x, &teams, now)).collect()))
}

/// Create a service (admins).
#[utoipa::path(post, path = "/api/v1/services", tag = "incidents", request_body = ServiceBody,
    responses((status = 201, body = ServiceDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_service(
    State(s): State<AppState>,
    auth: Auth,
    write: Write<ServiceBody>,
) -> ApiResult<(StatusCode, Json<ServiceDto>)> {
    let service = service_from(&s, Uuid::now_v7(), write.body).await?;
    let service = s.engine.create_service(&auth.0, service, s.engine.now()).await?;
    Ok((StatusCode::CREATED, Json(dto(&s, &auth.0, &service).await?)))
}

/// One service (supervisors and up).
#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "incidents",
    params(("id" = Uuid, Path, description = "Service id")),
    responses((status = 200, body = ServiceDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn get_service(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<ServiceDto>> {
    let service = s.engine.service(&auth.0, uuid_in("id", &id, "a service")?).await?;
    Ok(Json(dto(&s, &auth.0, &service).await?))
}

/// Replace a service's fields (admins).
#[utoipa::path(put, path = "/api/v1/services/{id}", tag = "incidents",
    params(("id" = Uuid, Path, description = "Service id")), request_body = ServiceBody,
    responses((status = 200, body = ServiceDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn replace_service(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    write: Write<ServiceBody>,
) -> ApiResult<Json<ServiceDto>> {
    let service = service_from(&s, uuid_in("id", &id, "a service")?, write.body).await?;
    let service = s.engine.update_service(&auth.0, service, s.engine.now()).await?;
    Ok(Json(dto(&s, &auth.0, &service).await?))
}

/// Delete a service and its integration keys (admins); its incidents stay.
#[utoipa::path(delete, path = "/api/v1/services/{id}", tag = "incidents",
    params(("id" = Uuid, Path, description = "Service id")),
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn delete_service(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.engine.delete_service(&auth.0, uuid_in("id", &id, "a service")?, s.engine.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A service's integration keys, oldest first, without their secrets (supervisors and up).
#[utoipa::path(get, path = "/api/v1/services/{id}/keys", tag = "incidents",
    params(("id" = Uuid, Path, description = "Service id")),
    responses((status = 200, body = Vec<IntegrationKeyDto>), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_keys(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<IntegrationKeyDto>>> {
    let keys = s.engine.service_keys(&auth.0, uuid_in("id", &id, "a service")?).await?;
    Ok(Json(keys.iter().map(IntegrationKeyDto::from).collect()))
}

/// Mint an integration key (admins): its secret `routing_key` is shown in this answer only.
#[utoipa::path(post, path = "/api/v1/services/{id}/keys", tag = "incidents",
    params(("id" = Uuid, Path, description = "Service id")), request_body = IntegrationKeyBody,
    responses((status = 201, body = NewIntegrationKeyDto), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_key(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    write: Write<IntegrationKeyBody>,
) -> ApiResult<(StatusCode, Json<NewIntegrationKeyDto>)> {
    let service = uuid_in("id", &id, "a service")?;
    let (routing_key, key) = s.engine.create_service_key(&auth.0, service, write.body.label, s.engine.now()).await?;
    Ok((StatusCode::CREATED, Json(NewIntegrationKeyDto { routing_key, key: IntegrationKeyDto::from(&key) })))
}

/// Revoke an integration key (admins): alerts sent with it are refused from now on.
#[utoipa::path(delete, path = "/api/v1/services/{id}/keys/{key}", tag = "incidents",
    params(("id" = Uuid, Path, description = "Service id"), ("key" = Uuid, Path, description = "Key id")),
    responses((status = 200, body = IntegrationKeyDto), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_key(
    State(s): State<AppState>,
    auth: Auth,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Json<IntegrationKeyDto>> {
    let service = uuid_in("id", &id, "a service")?;
    let key = uuid_in("key", &key, "an integration key")?;
    let key = s.engine.revoke_service_key(&auth.0, service, key, s.engine.now()).await?;
    Ok(Json(IntegrationKeyDto::from(&key)))
}
