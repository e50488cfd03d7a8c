//! Incidents on the wire: a case of kind `incident` as the incidents API shows it.

use std::collections::BTreeMap;

use jiff::Timestamp;
use ladder_core::Case;
use ladder_core::case::Actor;
use ladder_core::directory::Team;
use ladder_core::ids::TeamId;
use ladder_core::incidents::AlertRecord;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// An IT incident: a case of kind `incident`, with its service, severity, deduplication key
/// and alerts.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDto {
    /// The case's id (the incident is a case: `/api/v1/cases/{id}` shows it too).
    pub id: Uuid,
    pub number: u64,
    /// Always `incident`.
    pub kind: &'static str,
    pub summary: String,
    /// `triggered`, `acknowledged` or `resolved`.
    pub status: &'static str,
    /// `SEV1` … `SEV4`.
    pub severity: String,
    pub service_id: Uuid,
    pub service: String,
    /// The owning team's slug.
    pub team: Option<String>,
    pub dedup_key: String,
    /// Triggering alerts received, the first included.
    pub alert_count: u32,
    pub triggered_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    /// Who acknowledged: a user's id, or `service:NAME` when the monitoring tool did.
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<Timestamp>,
    /// The service was in maintenance when the incident opened: nobody is paged.
    pub in_maintenance: bool,
    pub last_alert: AlertRecord,
}

impl IncidentDto {
    /// The incident view of a case; `None` when the case is not an incident.
    pub fn from_case(case: &Case, teams: &BTreeMap<TeamId, Team>) -> Option<IncidentDto> {
        let i = case.incident.as_ref()?;
        let status = i.status(case);
        Some(IncidentDto {
            id: case.id.0,
            number: case.number,
            kind: "incident",
            summary: case.subject.clone(),
            status,
            severity: i.severity.clone(),
            service_id: i.service,
            service: i.service_name.clone(),
            team: case.team.map(|t| teams.get(&t).map_or_else(|| t.to_string(), |t| t.slug.clone())),
            dedup_key: i.dedup_key.clone(),
            alert_count: i.alert_count,
            triggered_at: i.triggered_at,
            acknowledged_at: i.acknowledged_at,
            acknowledged_by: i.acknowledged_by.as_ref().map(|a| match a {
                Actor::User { id } => id.to_string(),
                Actor::System { name } => name.clone(),
                Actor::Customer { .. } => "customer".to_string(),
            }),
            resolved_at: case.resolution.as_ref().filter(|_| status == "resolved").map(|r| r.at),
            in_maintenance: i.in_maintenance,
            last_alert: i.last_alert.clone(),
        })
    }
}
