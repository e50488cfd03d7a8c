//! Services and integration keys on the wire.

use std::collections::BTreeMap;

use jiff::Timestamp;
use ladder_core::directory::Team;
use ladder_core::ids::TeamId;
use ladder_core::services::{IntegrationKey, MaintenanceWindow, Service};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A monitored service: the team its incidents go to, the incident policy per severity,
/// its maintenance windows.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDto {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// The owning team's slug.
    pub team: String,
    /// The incident policy id per severity (`SEV1` … `SEV4`) the service names; a severity
    /// not listed follows the matrix's policy of that severity.
    pub policies: BTreeMap<String, String>,
    pub maintenance: Vec<MaintenanceWindow>,
    /// Whether the service is in a maintenance window now (its incidents page nobody).
    pub in_maintenance: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ServiceDto {
    pub fn from_service(s: &Service, teams: &BTreeMap<TeamId, Team>, now: Timestamp) -> ServiceDto {
        ServiceDto {
            id: s.id,
            name: s.name.clone(),
            description: s.description.clone(),
            team: teams.get(&s.team).map_or_else(|| s.team.to_string(), |t| t.slug.clone()),
            policies: s.policies.clone(),
            maintenance: s.maintenance.clone(),
            in_maintenance: s.in_maintenance(now),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A service to create or replace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceBody {
    /// Unique: lower-case letters, digits, `-`, `_` and `.`.
    #[schema(pattern = r"^[a-z0-9_.-]+$", max_length = 64)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    /// The owning team (slug or id).
    pub team: String,
    /// Incident policy id per severity (`SEV1` … `SEV4`).
    #[serde(default)]
    pub policies: BTreeMap<String, String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub maintenance: Vec<MaintenanceWindow>,
}

/// An integration key as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationKeyDto {
    pub id: Uuid,
    pub label: String,
    /// The key's last four characters.
    pub hint: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl From<&IntegrationKey> for IntegrationKeyDto {
    fn from(k: &IntegrationKey) -> IntegrationKeyDto {
        IntegrationKeyDto {
            id: k.id,
            label: k.label.clone(),
            hint: k.hint.clone(),
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new integration key: `routing_key` is the secret, shown only in this answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewIntegrationKeyDto {
    /// 32 characters: the Events API v2 `routing_key`, or the Alertmanager bearer token.
    pub routing_key: String,
    pub key: IntegrationKeyDto,
}

/// A key to mint.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationKeyBody {
    /// What the key is for (`prometheus-prod`).
    #[serde(default)]
    #[schema(max_length = 100)]
    pub label: String,
}
