//! Macros (canned replies) on the wire.

use std::collections::BTreeMap;

use jiff::Timestamp;
use ladder_core::directory::Team;
use ladder_core::ids::TeamId;
use ladder_core::macros::{Macro, MacroOwner};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A macro: a canned reply with placeholders, and the actions sending it takes.
#[derive(Debug, Serialize, ToSchema)]
pub struct MacroDto {
    pub id: Uuid,
    pub name: String,
    /// The reply's text. Placeholders: `{{customer.name}}`, `{{case.number}}`,
    /// `{{case.subject}}`, `{{agent.name}}`.
    pub body: String,
    /// The team whose macro it is (its slug); absent for a personal macro.
    pub team: Option<String>,
    /// The user whose personal macro it is (their id); absent for a team's macro.
    pub user: Option<Uuid>,
    /// Tags added to the case when the reply is sent with this macro.
    pub add_tags: Vec<String>,
    /// The case is resolved with this code when the reply is sent with this macro.
    pub resolve_code: Option<String>,
    pub updated_at: Timestamp,
}

impl MacroDto {
    pub fn from_macro(m: &Macro, teams: &BTreeMap<TeamId, Team>) -> MacroDto {
        let (team, user) = match m.owner {
            MacroOwner::Team(t) => (Some(teams.get(&t).map_or_else(|| t.to_string(), |t| t.slug.clone())), None),
            MacroOwner::User(u) => (None, Some(u.0)),
        };
        MacroDto {
            id: m.id,
            name: m.name.clone(),
            body: m.body.clone(),
            team,
            user,
            add_tags: m.add_tags.clone(),
            resolve_code: m.resolve_code.clone(),
            updated_at: m.updated_at,
        }
    }
}

/// A macro to create or replace. Without `team` it is the caller's personal macro.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroBody {
    #[schema(pattern = r"\S", max_length = 100)]
    pub name: String,
    #[schema(pattern = r"\S", max_length = 10000)]
    pub body: String,
    /// The team (slug or id) whose macro it is: its supervisors, managers and admins manage it.
    pub team: Option<String>,
    #[serde(default)]
    pub add_tags: Vec<String>,
    pub resolve_code: Option<String>,
}
