//! `/api/v1/customers`, `/teams`, `/users`, `/tokens` and `/auth/login`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use ladder_core::access::Action;
use ladder_core::directory::{Customer, LevelId, Team, User, validate_customer, validate_team, validate_user};
use ladder_core::ids::{CustomerId, TeamId, UserId};
use ladder_engine::credentials::principal_of;
use ladder_engine::{CustomerFilter, Password};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Auth, Write};
use crate::limits::ClientIp;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_customer, list_customers))
        .routes(routes!(get_customer, replace_customer, delete_customer))
        .routes(routes!(set_customer_status))
        .routes(routes!(merge_customer))
        .routes(routes!(create_team, list_teams))
        .routes(routes!(get_team, replace_team, delete_team))
        .routes(routes!(create_user, list_users))
        .routes(routes!(get_user, replace_user, deactivate_user))
        .routes(routes!(set_password))
        .routes(routes!(create_token, list_tokens, revoke_all_tokens))
        .routes(routes!(revoke_token))
        .routes(routes!(login))
        .routes(routes!(logout))
}

type Created<T> = (StatusCode, Json<T>);

// ---- customers ----

fn customer_id(raw: &str) -> ApiResult<CustomerId> {
    raw.parse().map_err(|_| ApiError::bad_request("id", format!("'{raw}' is not a customer id (a UUID)")))
}

/// Create a customer (agents and above).
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CustomerBody,
    responses((status = 201, body = Customer), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_customer(
    State(s): State<AppState>,
    auth: Auth,
    write: Write<CustomerBody>,
) -> ApiResult<Created<Customer>> {
    let idem = write.idempotency(&auth.0);
    let customer = write.body.into_customer(CustomerId::new_v7(), s.engine.now());
    validate_customer(&customer)?;
    let c = s.engine.create_customer(&auth.0, customer, idem, s.engine.now()).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CustomerQuery {
    /// An email address, phone number or handle (exact).
    identity: Option<String>,
    /// Name prefix.
    name: Option<String>,
    segment: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// Customers to skip, 0–100000 (default 0).
    #[param(minimum = 0, maximum = 100_000)]
    offset: Option<u32>,
}

/// The furthest `offset` into a customer list: deeper pages are found by filtering.
const MAX_CUSTOMER_OFFSET: u32 = 100_000;

/// Find customers by identity, name prefix or segment.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, body = Vec<Customer>), (status = 422, body = Problem)))]
async fn list_customers(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<CustomerQuery>,
) -> ApiResult<Json<Vec<Customer>>> {
    let filter = CustomerFilter { identity: q.identity, name: q.name, segment: q.segment };
    let limit = crate::extract::limit_param("limit", q.limit, 50, 500)?;
    let offset = q.offset.unwrap_or(0);
    if offset > MAX_CUSTOMER_OFFSET {
        return Err(ApiError::validation(
            "offset",
            format!("{offset} is out of range; give 0 to {MAX_CUSTOMER_OFFSET}, and filter to narrow the list"),
        ));
    }
    let list = s.engine.customers(&auth.0, filter, limit, offset).await?;
    Ok(Json(list))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, body = Customer), (status = 404, body = Problem)))]
async fn get_customer(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<Customer>> {
    let c = find_customer(&s, &auth, &id).await?;
    Ok(Json(c))
}

/// Replace a customer's details (agents and above).
#[utoipa::path(put, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = Uuid, Path, description = "Customer id")), request_body = CustomerBody,
    responses((status = 200, body = Customer), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 409, body = Problem, description = "An identity belongs to another customer")))]
async fn replace_customer(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    write: Write<CustomerBody>,
) -> ApiResult<Json<Customer>> {
    let existing = find_customer(&s, &auth, &id).await?;
    let mut customer = write.body.into_customer(existing.id, existing.created_at);
    // The status has its own endpoint; replacing the details keeps it.
    customer.status = existing.status;
    customer.status_changed_at = existing.status_changed_at;
    validate_customer(&customer)?;
    Ok(Json(s.engine.update_customer(&auth.0, customer, s.engine.now()).await?))
}

/// Set a customer's status, `active` or `churned` (agents and above). Setting the status it
/// already has changes nothing (and keeps `status_changed_at`).
#[utoipa::path(put, path = "/api/v1/customers/{id}/status", tag = "customers", params(("id" = Uuid, Path, description = "Customer id")),
    request_body = CustomerStatusBody,
    responses((status = 200, body = Customer), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_customer_status(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    write: Write<CustomerStatusBody>,
) -> ApiResult<Json<Customer>> {
    let mut customer = find_customer(&s, &auth, &id).await?;
    if customer.status == write.body.status {
        return Ok(Json(customer));
    }
    customer.status = write.body.status;
    customer.status_changed_at = Some(s.engine.now());
    Ok(Json(s.engine.update_customer(&auth.0, customer, s.engine.now()).await?))
}

/// Merge a duplicate customer into this one (supervisors and above): the duplicate's
/// identities and cases move here (each case records an `updated` event naming its new
/// customer), the merge is in the audit history, and the duplicate is removed — it answers
/// 404 afterwards. Both customers must be ones the caller may read (else 404).
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers",
    params(("id" = Uuid, Path, description = "The surviving customer's id")), request_body = MergeCustomerBody,
    responses((status = 200, body = MergedCustomerDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "The duplicate has more than 1,000 cases"),
        (status = 422, body = Problem)))]
async fn merge_customer(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    write: Write<MergeCustomerBody>,
) -> ApiResult<Json<MergedCustomerDto>> {
    let survivor = customer_id(&id)?;
    let duplicate = CustomerId(write.body.duplicate);
    let (customer, cases_moved) = s.engine.merge_customers(&auth.0, survivor, duplicate, s.engine.now()).await?;
    Ok(Json(MergedCustomerDto { customer, cases_moved }))
}

/// The customer named in the path (404 when there is none).
async fn find_customer(s: &AppState, auth: &Auth, raw: &str) -> ApiResult<Customer> {
    let id = customer_id(raw)?;
    s.engine.customer(&auth.0, id).await?.ok_or_else(|| ApiError::not_found(format!("customer {id}")))
}

/// Delete a customer who has no cases (admins).
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 204), (status = 409, body = Problem), (status = 403, body = Problem)))]
async fn delete_customer(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.engine.delete_customer(&auth.0, customer_id(&id)?, s.engine.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- teams ----

pub(crate) fn team_from(body: TeamBody, id: TeamId, created_at: Timestamp) -> Team {
    Team {
        id,
        slug: body.slug,
        name: body.name,
        level: LevelId::new(body.level),
        kind: body.kind,
        skills: body.skills,
        created_at,
    }
}

/// Create a team (admins).
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = TeamBody,
    responses((status = 201, body = Team), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn create_team(State(s): State<AppState>, auth: Auth, write: Write<TeamBody>) -> ApiResult<Created<Team>> {
    s.engine.check(&auth.0, &Action::ManageTeams)?;
    let idem = write.idempotency(&auth.0);
    let team = team_from(write.body, TeamId::new_v7(), s.engine.now());
    validate_team(&team, &s.engine.ladder())?;
    let t = s.engine.create_team(&auth.0, team, idem, s.engine.now()).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", responses((status = 200, body = Vec<Team>)))]
async fn list_teams(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Team>>> {
    Ok(Json(s.engine.teams(&auth.0).await?))
}

/// A team by id or slug.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = String, Path, description = "Id or slug")),
    responses((status = 200, body = Team), (status = 404, body = Problem)))]
async fn get_team(State(s): State<AppState>, _auth: Auth, Path(id): Path<String>) -> ApiResult<Json<Team>> {
    let t = find_team(&s, &id).await?;
    Ok(Json(t))
}

#[utoipa::path(put, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = String, Path)), request_body = TeamBody,
    responses((status = 200, body = Team), (status = 404, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "Another team has that slug")))]
async fn replace_team(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    write: Write<TeamBody>,
) -> ApiResult<Json<Team>> {
    s.engine.check(&auth.0, &Action::ManageTeams)?;
    let existing = find_team(&s, &id).await?;
    let team = team_from(write.body, existing.id, existing.created_at);
    validate_team(&team, &s.engine.ladder())?;
    Ok(Json(s.engine.update_team(&auth.0, team, s.engine.now()).await?))
}

#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = String, Path)),
    responses((status = 204), (status = 409, body = Problem), (status = 403, body = Problem)))]
async fn delete_team(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.engine.check(&auth.0, &Action::ManageTeams)?;
    let existing = find_team(&s, &id).await?;
    s.engine.delete_team(&auth.0, existing.id, s.engine.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A team named in the path by id or slug.
async fn find_team(s: &AppState, key: &str) -> ApiResult<Team> {
    s.engine.resolve_team("id", key).await.map_err(|_| ApiError::not_found(format!("team {key}")))
}

// ---- users ----

pub(crate) async fn user_from(s: &AppState, body: &UserBody, id: UserId, created_at: Timestamp) -> ApiResult<User> {
    let mut teams = Vec::new();
    let mut team_levels: Vec<LevelId> = Vec::new();
    for (i, t) in body.teams.iter().enumerate() {
        let team = s.engine.resolve_team(&format!("teams[{i}]"), t).await?;
        if !team_levels.contains(&team.level) {
            team_levels.push(team.level.clone());
        }
        teams.push(team.id);
    }
    let user = User {
        id,
        name: body.name.clone(),
        display_name: body.display_name.clone().unwrap_or_else(|| body.name.clone()),
        email: body.email.clone(),
        role: body.role,
        teams,
        skills: body.skills.clone(),
        // Without explicit levels, a user works the levels of their teams.
        levels: if body.levels.is_empty() {
            team_levels
        } else {
            body.levels.iter().cloned().map(LevelId::new).collect()
        },
        active: body.active,
        created_at,
    };
    validate_user(&user, &s.engine.ladder())?;
    Ok(user)
}

pub(crate) fn check_password(p: &str) -> ApiResult<()> {
    Ok(ladder_core::directory::validate_password("password", p)?)
}

/// Create a user (admins).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserBody,
    responses((status = 201, body = User), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn create_user(State(s): State<AppState>, auth: Auth, write: Write<UserBody>) -> ApiResult<Created<User>> {
    s.engine.check(&auth.0, &Action::ManageUsers)?;
    let user = user_from(&s, &write.body, UserId::new_v7(), s.engine.now()).await?;
    if let Some(p) = &write.body.password {
        check_password(p)?;
    }
    let idem = write.idempotency(&auth.0);
    let u = s
        .engine
        .create_user(&auth.0, user, write.body.password.clone().map(Password::Plain), idem, s.engine.now())
        .await?;
    Ok((StatusCode::CREATED, Json(u)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UserQuery {
    /// Only members of this team (slug or id).
    team: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery), responses((status = 200, body = Vec<User>)))]
async fn list_users(State(s): State<AppState>, auth: Auth, Query(q): Query<UserQuery>) -> ApiResult<Json<Vec<User>>> {
    let team = match &q.team {
        Some(t) => Some(crate::extract::team_param(&s, t).await?),
        None => None,
    };
    Ok(Json(s.engine.users(&auth.0, team).await?))
}

/// The user named in the path: an id, a name, or `me` (404 when there is none).
pub(crate) async fn find_user(s: &AppState, auth: &Auth, key: &str) -> ApiResult<User> {
    Ok(s.engine.user(&auth.0, key).await?)
}

/// A user by id or name; `me` is the caller.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path, description = "Id, name or `me`")),
    responses((status = 200, body = User), (status = 404, body = Problem)))]
async fn get_user(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<User>> {
    Ok(Json(find_user(&s, &auth, &id).await?))
}

/// Replace a user's profile, role and teams (admins). The password is not changed here.
#[utoipa::path(put, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)), request_body = UserBody,
    responses((status = 200, body = User), (status = 404, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "Another user has that name")))]
async fn replace_user(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    write: Write<UserBody>,
) -> ApiResult<Json<User>> {
    s.engine.check(&auth.0, &Action::ManageUsers)?;
    let existing = find_user(&s, &auth, &id).await?;
    if write.body.password.is_some() {
        return Err(ApiError::validation("password", "change passwords with POST /api/v1/users/{id}/password"));
    }
    let user = user_from(&s, &write.body, existing.id, existing.created_at).await?;
    let u = s.engine.update_user(&auth.0, user, s.engine.now()).await?;
    Ok(Json(u))
}

/// Deactivate a user (admins): they can no longer sign in and their tokens are revoked.
/// Users are never deleted, because case histories name them.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem, description = "Deactivating yourself")))]
async fn deactivate_user(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<User>> {
    s.engine.check(&auth.0, &Action::ManageUsers)?;
    let mut user = find_user(&s, &auth, &id).await?;
    if user.id == auth.0.user_id {
        return Err(ApiError::validation("id", "you cannot deactivate yourself; ask another admin"));
    }
    user.active = false;
    let u = s.engine.update_user(&auth.0, user, s.engine.now()).await?;
    Ok(Json(u))
}

/// Set a password: your own (send `current_password`; your other sign-in sessions end), or
/// anyone's as an admin (a reset: every token of that user is revoked). The policy: at
/// least 12 characters, at most 1024 bytes.
#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "users", params(("id" = String, Path)), request_body = PasswordBody,
    responses((status = 200, body = PasswordChangedDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn set_password(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    write: Write<PasswordBody>,
) -> ApiResult<Json<PasswordChangedDto>> {
    let user = find_user(&s, &auth, &id).await?;
    let body = write.body;
    let revoked = s
        .engine
        .set_password(&auth.0, user.id, body.password, body.current_password.as_deref(), Some(&auth.1), s.engine.now())
        .await?;
    Ok(Json(PasswordChangedDto { revoked_tokens: revoked }))
}

// ---- tokens ----

/// Mint an API token for yourself (or, as an admin, for another user). The secret is
/// in the answer once; only its hash is stored. Every token expires (`expires_at`); made
/// with a sign-in session, the request needs your `password`.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = TokenBody,
    responses((status = 201, body = NewTokenDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_token(
    State(s): State<AppState>,
    auth: Auth,
    write: Write<TokenBody>,
) -> ApiResult<Created<NewTokenDto>> {
    if write.idempotency_key.is_some() {
        return Err(ApiError::validation(
            "Idempotency-Key",
            "tokens are not created idempotently, because the secret is never stored; retry without the key",
        ));
    }
    let owner = match &write.body.user {
        Some(u) => {
            let user = s.engine.resolve_user("user", u).await?;
            s.engine.check(&auth.0, &Action::MintToken { owner: user.id })?;
            user.id
        }
        None => auth.0.user_id,
    };
    ladder_core::validate::non_empty("name", &write.body.name, 200)?;
    // A sign-in session lives for hours; turning it into a long-lived token asks for the
    // password again, so a session left open is not a way to one.
    if s.engine.is_session_token(&auth.1).await? {
        s.engine.confirm_password(&auth.0, "password", write.body.password.as_deref()).await?;
    }
    let now = s.engine.now();
    let lifetime = match write.body.expires_in_seconds {
        Some(secs) => Some(
            i64::try_from(secs)
                .map(SignedDuration::from_secs)
                .map_err(|_| ApiError::validation("expires_in_seconds", "is too large"))?,
        ),
        None => None,
    };
    let t = s.engine.mint_token(&auth.0, owner, write.body.name.clone(), lifetime, now).await?;
    Ok((StatusCode::CREATED, Json(NewTokenDto { token: t.secret, info: TokenDto::from(&t.info) })))
}

/// Your tokens; admins see everyone's.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = Vec<TokenDto>)))]
async fn list_tokens(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<TokenDto>>> {
    Ok(Json(s.engine.tokens(&auth.0).await?.iter().map(TokenDto::from).collect()))
}

/// Revoke every token of yours at once, the one this request is made with included (sign
/// out everywhere).
#[utoipa::path(delete, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = TokensRevokedDto)))]
async fn revoke_all_tokens(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<TokensRevokedDto>> {
    let revoked = s.engine.revoke_all_tokens(&auth.0, auth.0.user_id, s.engine.now()).await?;
    Ok(Json(TokensRevokedDto { revoked }))
}

/// Revoke a token: your own, or anyone's as an admin.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn revoke_token(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.engine.revoke_token(&auth.0, &id, s.engine.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Exchange a user name and password for a 12-hour bearer token. Failed attempts are
/// throttled per account and per client address (`429` with `Retry-After`); password checks
/// at once are bounded (`503` with `Retry-After` when the server is saturated).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody, security(()),
    responses((status = 200, body = LoginDto), (status = 401, body = Problem),
        (status = 429, body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
async fn login(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    write: Write<LoginBody>,
) -> ApiResult<Json<LoginDto>> {
    let now = s.engine.now();
    let user = s.engine.login(&write.body.name, &write.body.password, ip, now).await?;
    let expires_at = now + SignedDuration::from_hours(12);
    let t =
        s.engine.sign_in_token(&user, ladder_engine::credentials::LOGIN_SESSION.into(), Some(expires_at), now).await?;
    tracing::info!(user = %principal_of(&user).name, "login");
    Ok(Json(LoginDto { token: t.secret, token_id: t.info.id, expires_at, user }))
}

/// Revoke the token this request is made with (sign out).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = Problem)))]
async fn logout(State(s): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    s.engine.sign_out(&auth.0, &auth.1, s.engine.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
