//! IT incidents: alerts taken in for a service (the Events API v2 and Alertmanager routes
//! call [`Engine::take_alert`] with the service their key names), the list of incidents a
//! principal may see, and a responder's acknowledge, un-acknowledge and resolve — each an
//! event on the incident's case with its actor. Which events an alert makes is
//! [`ladder_core::incidents`]; deduplication happens inside the write
//! ([`ladder_store::Store::take_alert`]).

use jiff::Timestamp;
use ladder_core::Case;
use ladder_core::access::{Action, Principal};
use ladder_core::alerts::Alert;
use ladder_core::case::Actor;
use ladder_core::directory::LevelId;
use ladder_core::ids::CaseId;
use ladder_core::incidents::{Response, respond_events};
use ladder_core::matrix::IncidentSeverity;
use ladder_core::services::Service;
use ladder_store::{AlertWrite, CaseOutcome, CaseWrite, IncidentFilter, NewIncident, StoreError};

use crate::Engine;

/// The most incidents one list answers.
pub const MAX_INCIDENTS_LISTED: u32 = 500;

/// The severity an alert that names none opens an incident with.
pub const DEFAULT_SEVERITY: IncidentSeverity = IncidentSeverity::Sev3;

impl Engine {
    /// Takes in an alert for `service`: opens an incident, or adds to the open one its
    /// deduplication key names (acknowledging or resolving it when the alert says so).
    pub async fn take_alert(&self, service: Service, alert: Alert, now: Timestamp) -> Result<AlertWrite, StoreError> {
        let now = ladder_core::instant::truncate(now);
        let level = self.ladder().levels.first().cloned().unwrap_or_else(|| LevelId::new("L1"));
        let new = NewIncident { severity: alert.severity.unwrap_or(DEFAULT_SEVERITY), level };
        let actor = Actor::System { name: format!("service:{}", service.name) };
        let written = self.store.take_alert(service, alert, new, actor, now).await?;
        if let AlertWrite::Opened(outcome) | AlertWrite::Updated(outcome) = &written {
            self.after_write(outcome);
        }
        Ok(written)
    }

    /// Incidents the principal may see (their teams' services'; managers and admins every
    /// one), newest first.
    pub async fn incidents(&self, principal: &Principal, mut filter: IncidentFilter) -> Result<Vec<Case>, StoreError> {
        self.check(principal, &Action::ListCases)?;
        filter.teams = principal.team_scope();
        filter.limit = filter.limit.clamp(1, MAX_INCIDENTS_LISTED);
        let cases = self.store.incidents(filter).await?;
        Ok(cases.into_iter().filter(|c| principal.allows(&Action::ReadCase(c)).is_ok()).collect())
    }

    /// One incident the principal may see.
    pub async fn incident(&self, principal: &Principal, id: CaseId) -> Result<Case, StoreError> {
        let case = self.store.case(id).await?.filter(|c| c.incident.is_some());
        let case = case.ok_or_else(|| StoreError::NotFound(format!("incident {id}")))?;
        self.check(principal, &Action::ReadCase(&case))?;
        Ok(case)
    }

    /// A responder acknowledges, un-acknowledges or resolves an incident.
    pub async fn respond_to_incident(
        &self,
        principal: &Principal,
        id: CaseId,
        response: Response,
        now: Timestamp,
    ) -> Result<CaseOutcome, StoreError> {
        let now = ladder_core::instant::truncate(now);
        let case = self.incident(principal, id).await?;
        let team = case.team.ok_or_else(|| StoreError::Forbidden("the incident has no team".into()))?;
        self.check(principal, &Action::RespondToIncident { team })?;
        let actor = Actor::User { id: principal.user_id };
        let decide = Box::new(move |case: Option<&Case>, _next: u64| {
            let case = case.ok_or_else(|| StoreError::NotFound(format!("incident {id}")))?;
            Ok(respond_events(case, response, &actor, now)?.into())
        });
        let outcome =
            self.store.execute(CaseWrite { case_id: id, expected_version: None, idempotency: None, decide }).await?;
        self.after_write(&outcome);
        Ok(outcome)
    }
}
