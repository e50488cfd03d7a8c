//! `/api/v1/agents`: agents' presence, skills, languages, capacity and load.
//!
//! Who sees whom: agents and supervisors see the agents of their own teams (and
//! themselves); managers and admins see everyone. Who changes what: anyone sets their own
//! presence; a supervisor of one of the agent's teams, a manager or an admin sets anyone's
//! presence and profile. An agent never changes their own skills or capacity.

use ladder_core::access::Action;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use jiff::Timestamp;
use ladder_core::Channel;
use ladder_core::agents::{AgentLoad, AgentProfile, Presence};
use ladder_core::directory::{Role, User};
use ladder_core::ids::UserId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AppState;
use crate::directory::find_user;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Auth, Write};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents))
        .routes(routes!(get_agent))
        .routes(routes!(put_profile))
        .routes(routes!(put_presence))
}

// ---- wire types ----

/// An agent as boards and routing see them: who they are, whether they take work, what
/// they are good at, and how much they carry against how much they can.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentDto {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub role: Role,
    /// Team ids.
    pub teams: Vec<Uuid>,
    pub active: bool,
    pub presence: Presence,
    /// When `presence` last changed.
    pub presence_since: Timestamp,
    /// Skill → proficiency, 1 (basics) to 5 (expert).
    pub skills: BTreeMap<String, u8>,
    /// BCP-47 language tags; empty means any language.
    pub languages: Vec<String>,
    /// Most concurrent active cases, for every channel (0: takes none on it).
    pub capacity: BTreeMap<Channel, u32>,
    /// Assigned cases that are not resolved or closed, for every channel.
    pub load: BTreeMap<Channel, u32>,
    /// When the profile or presence last changed (the user's creation while never set).
    pub updated_at: Timestamp,
}

impl AgentDto {
    pub fn new(user: &User, profile: &AgentProfile, load: &AgentLoad) -> AgentDto {
        AgentDto {
            id: user.id.0,
            name: user.name.clone(),
            display_name: user.display_name.clone(),
            role: user.role,
            teams: user.teams.iter().map(|t| t.0).collect(),
            active: user.active,
            presence: profile.presence,
            presence_since: profile.presence_since,
            skills: profile.skills.clone(),
            languages: profile.languages.clone(),
            capacity: Channel::ALL.into_iter().map(|c| (c, profile.capacity_for(c))).collect(),
            load: Channel::ALL.into_iter().map(|c| (c, load.on(c))).collect(),
            updated_at: profile.updated_at,
        }
    }
}

/// Changes to an agent's profile. A field left out is kept; `skills` and `languages`
/// replace the lists; `capacity` sets the channels it names and keeps the others.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentProfileBody {
    /// Skill → proficiency, 1 (basics) to 5 (expert). Replaces the agent's skills.
    pub skills: Option<BTreeMap<String, u8>>,
    /// BCP-47 tags such as `en`, `es`, `pt-BR`; empty for any language.
    pub languages: Option<Vec<String>>,
    /// Channel (`phone`, `email`, `chat`, `sms`, `social`, `web`, `api`) → most concurrent
    /// active cases, 0 to 100.
    pub capacity: Option<BTreeMap<String, u32>>,
}

/// A presence change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceBody {
    pub presence: Presence,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AgentQuery {
    /// Only the agents of this team (slug or id).
    team: Option<String>,
    /// Only agents with this presence: `available`, `busy`, `away` or `offline`.
    #[param(pattern = "^(available|busy|away|offline)$")]
    presence: Option<String>,
}

/// Channel names to channels; an unknown one is a 422 naming it and listing the valid ones.
fn parse_capacity(raw: BTreeMap<String, u32>) -> ApiResult<BTreeMap<Channel, u32>> {
    raw.into_iter()
        .map(|(name, n)| match Channel::ALL.into_iter().find(|c| c.as_str() == name) {
            Some(channel) => Ok((channel, n)),
            None => {
                let valid: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
                Err(ApiError::validation(
                    format!("capacity.{name}"),
                    format!("'{name}' is not a channel; use one of {}", valid.join(", ")),
                ))
            }
        })
        .collect()
}

// ---- handlers ----

/// One agent as the API shows them, with their load now.
async fn agent_dto(s: &AppState, auth: &Auth, user: &User, profile: &AgentProfile) -> ApiResult<AgentDto> {
    let loads = s.engine.agent_loads(&auth.0, vec![user.id]).await?;
    Ok(AgentDto::new(user, profile, &loads.get(&user.id).cloned().unwrap_or_default()))
}

/// Agents you may see, ordered by name: the members of your teams (managers and admins:
/// everyone), or of one team with `team`. Deactivated users are left out.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", params(AgentQuery),
    responses((status = 200, body = Vec<AgentDto>), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn list_agents(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<AgentQuery>,
) -> ApiResult<Json<Vec<AgentDto>>> {
    let presence = match q.presence.as_deref() {
        None => None,
        Some(p) => Some(Presence::parse(p).ok_or_else(|| {
            let valid: Vec<&str> = Presence::ALL.iter().map(|p| p.as_str()).collect();
            ApiError::bad_request("presence", format!("'{p}' is not one of {}", valid.join(", ")))
        })?),
    };
    let team = match &q.team {
        Some(key) => Some(crate::extract::team_param(&s, key).await?),
        None => None,
    };
    let mut agents = s.engine.agents(&auth.0, team).await?;
    if let Some(presence) = presence {
        agents.retain(|(_, p)| p.presence == presence);
    }
    let ids: Vec<UserId> = agents.iter().map(|(u, _)| u.id).collect();
    let loads = s.engine.agent_loads(&auth.0, ids).await?;
    let empty = AgentLoad::default();
    Ok(Json(agents.iter().map(|(u, p)| AgentDto::new(u, p, loads.get(&u.id).unwrap_or(&empty))).collect()))
}

/// One agent by id or name; `me` is the caller. Same visibility as the list.
#[utoipa::path(get, path = "/api/v1/agents/{user}", tag = "agents",
    params(("user" = String, Path, description = "Id, name or `me`")),
    responses((status = 200, body = AgentDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_agent(State(s): State<AppState>, auth: Auth, Path(user): Path<String>) -> ApiResult<Json<AgentDto>> {
    let user = find_user(&s, &auth, &user).await?;
    let profile = s.engine.agent(&auth.0, &user).await?;
    Ok(Json(agent_dto(&s, &auth, &user, &profile).await?))
}

/// Change an agent's skills, languages and capacity: a supervisor of one of their teams
/// (for agents and supervisors), a manager or an admin. Not the agents themselves.
#[utoipa::path(put, path = "/api/v1/agents/{user}/profile", tag = "agents",
    params(("user" = String, Path, description = "Id, name or `me`")), request_body = AgentProfileBody,
    responses((status = 200, body = AgentDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn put_profile(
    State(s): State<AppState>,
    auth: Auth,
    Path(user): Path<String>,
    write: Write<AgentProfileBody>,
) -> ApiResult<Json<AgentDto>> {
    let user = find_user(&s, &auth, &user).await?;
    s.engine.check(&auth.0, &Action::EditAgentProfile { user: &user })?;
    let body = write.body;
    let capacity = body.capacity.map(parse_capacity).transpose()?;
    let changes = serde_json::json!({ "skills": body.skills, "languages": body.languages, "capacity": capacity });
    let profile = s
        .engine
        .edit_agent_profile(&auth.0, &user, changes, s.engine.now(), move |_, profile| {
            if let Some(skills) = body.skills {
                profile.skills = skills;
            }
            if let Some(languages) = body.languages {
                profile.languages = languages;
            }
            if let Some(capacity) = capacity {
                profile.capacity.extend(capacity);
            }
            Ok(())
        })
        .await?;
    tracing::info!(agent = %user.name, by = %auth.0.name, "agent profile changed");
    Ok(Json(agent_dto(&s, &auth, &user, &profile).await?))
}

/// Set an agent's presence: your own (`me`), or, as a supervisor of one of their teams, a
/// manager or an admin, anyone's.
#[utoipa::path(put, path = "/api/v1/agents/{user}/presence", tag = "agents",
    params(("user" = String, Path, description = "Id, name or `me`")), request_body = PresenceBody,
    responses((status = 200, body = AgentDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_presence(
    State(s): State<AppState>,
    auth: Auth,
    Path(user): Path<String>,
    write: Write<PresenceBody>,
) -> ApiResult<Json<AgentDto>> {
    let user = find_user(&s, &auth, &user).await?;
    s.engine.check(&auth.0, &Action::SetPresence { user: &user })?;
    if !user.active && write.body.presence != Presence::Offline {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "inactive-user",
            "Inactive user",
            format!("{} is deactivated and can only be offline", user.name),
        ));
    }
    let profile = s.engine.set_presence(&auth.0, &user, write.body.presence, s.engine.now()).await?;
    Ok(Json(agent_dto(&s, &auth, &user, &profile).await?))
}
