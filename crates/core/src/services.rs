//! Services: what monitoring alerts about. A service belongs to a team, names the incident
//! policy it follows for each severity (the matrix's `incident_policies` of that severity
//! when it names none), and may be in maintenance, when its incidents are still recorded
//! but nobody is paged. Alerts reach a service through its integration keys (routing keys):
//! 32-character secrets shown once and stored as SHA-256 ([`crate::alerts::ROUTING_KEY_LEN`]).
//! Who may read or change a service is `access`'s rule ([`crate::access::Action::ReadServices`],
//! [`crate::access::Action::ManageServices`]).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::ids::TeamId;
use crate::matrix::{IncidentPolicy, IncidentSeverity, Matrix};
use crate::validate::{handle, non_empty};

/// The longest service name, in characters.
pub const MAX_SERVICE_NAME: usize = 100;
/// The longest description, in characters.
pub const MAX_SERVICE_DESCRIPTION: usize = 2_000;
/// At most this many maintenance windows a service keeps.
pub const MAX_MAINTENANCE_WINDOWS: usize = 50;
/// The longest reason given for a maintenance window.
pub const MAX_MAINTENANCE_REASON: usize = 500;
/// The longest integration key label.
pub const MAX_KEY_LABEL: usize = 100;
/// At most this many live (unrevoked) integration keys a service has.
pub const MAX_LIVE_KEYS: usize = 20;

/// A time when a service's incidents page nobody (`start` included, `end` excluded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct MaintenanceWindow {
    pub start: Timestamp,
    pub end: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A monitored service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: Uuid,
    /// Unique, a handle (`checkout-api`).
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The team that owns the service: its incidents are this team's cases.
    pub team: TeamId,
    /// The incident policy (a matrix `incident_policies` id) per severity (`SEV1` …);
    /// a severity not named follows the matrix's policy of that severity.
    #[serde(default)]
    pub policies: BTreeMap<String, String>,
    #[serde(default)]
    pub maintenance: Vec<MaintenanceWindow>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Service {
    /// Whether pages are suppressed at `now`.
    pub fn in_maintenance(&self, now: Timestamp) -> bool {
        self.maintenance.iter().any(|w| w.start <= now && now < w.end)
    }

    /// The policy an incident of `severity` follows under `matrix`: the one the service
    /// names for it, else the matrix's policy of that severity.
    pub fn policy_for<'m>(&self, severity: IncidentSeverity, matrix: &'m Matrix) -> Option<&'m IncidentPolicy> {
        match self.policies.get(severity.as_str()) {
            Some(id) => matrix.incident_policies.iter().find(|p| p.id.as_str() == id),
            None => matrix.incident_policies.iter().find(|p| p.severity == severity),
        }
    }
}

/// An integration key of a service, as listed: never the secret, which is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationKey {
    pub id: Uuid,
    pub service_id: Uuid,
    pub label: String,
    /// The key's last four characters, to tell keys apart.
    pub hint: String,
    pub created_at: Timestamp,
    #[serde(default)]
    pub revoked_at: Option<Timestamp>,
}

/// Checks a service's fields against the policies `matrix` has (when one is in force); the
/// error names the field. Severities are normalised to `SEV1` … `SEV4`.
pub fn validate_service(s: &mut Service, matrix: Option<&Matrix>) -> Result<(), DomainError> {
    non_empty("name", &s.name, MAX_SERVICE_NAME)?;
    handle("name", &s.name)?;
    if s.description.chars().count() > MAX_SERVICE_DESCRIPTION {
        return Err(DomainError::invalid(
            "description",
            format!("is longer than {MAX_SERVICE_DESCRIPTION} characters"),
        ));
    }
    let mut policies = BTreeMap::new();
    for (severity, policy) in std::mem::take(&mut s.policies) {
        let field = format!("policies.{severity}");
        let Some(sev) = IncidentSeverity::parse(&severity) else {
            return Err(DomainError::invalid(&field, "is not a severity; use SEV1, SEV2, SEV3 or SEV4"));
        };
        if let Some(m) = matrix {
            let known: Vec<&str> = m.incident_policies.iter().map(|p| p.id.as_str()).collect();
            if !known.contains(&policy.as_str()) {
                return Err(DomainError::invalid(
                    &field,
                    format!(
                        "'{policy}' is not an incident policy of the matrix in force; it has: {}",
                        if known.is_empty() { "none".to_string() } else { known.join(", ") }
                    ),
                ));
            }
        }
        handle(&field, &policy)?;
        policies.insert(sev.as_str().to_string(), policy);
    }
    s.policies = policies;
    if s.maintenance.len() > MAX_MAINTENANCE_WINDOWS {
        return Err(DomainError::invalid("maintenance", format!("at most {MAX_MAINTENANCE_WINDOWS} windows")));
    }
    for (i, w) in s.maintenance.iter().enumerate() {
        crate::instant::check(&format!("maintenance[{i}].start"), w.start)?;
        crate::instant::check(&format!("maintenance[{i}].end"), w.end)?;
        if w.end <= w.start {
            return Err(DomainError::invalid(format!("maintenance[{i}].end"), "must be after its start"));
        }
        if w.reason.as_deref().is_some_and(|r| r.chars().count() > MAX_MAINTENANCE_REASON) {
            return Err(DomainError::invalid(
                format!("maintenance[{i}].reason"),
                format!("is longer than {MAX_MAINTENANCE_REASON} characters"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> Service {
        let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        Service {
            id: Uuid::nil(),
            name: "checkout-api".into(),
            description: String::new(),
            team: TeamId(Uuid::nil()),
            policies: BTreeMap::new(),
            maintenance: vec![MaintenanceWindow {
                start: at,
                end: "2026-01-01T02:00:00Z".parse().unwrap(),
                reason: None,
            }],
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn maintenance_includes_its_start_and_excludes_its_end() {
        let s = service();
        assert!(s.in_maintenance("2026-01-01T00:00:00Z".parse().unwrap()));
        assert!(s.in_maintenance("2026-01-01T01:59:59Z".parse().unwrap()));
        assert!(!s.in_maintenance("2026-01-01T02:00:00Z".parse().unwrap()));
    }

    #[test]
    fn severities_are_normalised_and_unknown_ones_named() {
        let mut s = service();
        s.policies.insert("sev1".into(), "critical".into());
        validate_service(&mut s, None).unwrap();
        assert_eq!(s.policies.keys().collect::<Vec<_>>(), ["SEV1"]);
        s.policies.insert("P1".into(), "x".into());
        let e = validate_service(&mut s, None).unwrap_err();
        assert!(e.to_string().contains("policies.P1"), "{e}");
    }

    #[test]
    fn a_window_must_end_after_it_starts() {
        let mut s = service();
        s.maintenance[0].end = s.maintenance[0].start;
        let e = validate_service(&mut s, None).unwrap_err();
        assert!(e.to_string().contains("maintenance[0].end"), "{e}");
    }
}
