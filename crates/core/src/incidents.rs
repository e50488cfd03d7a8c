//! An IT incident is a case of kind `incident`: opened by a triggering alert for a service,
//! it carries the service, the severity, the deduplication key, how many alerts it took and
//! the latest alert's details ([`IncidentInfo`], on [`crate::case::Case::incident`]).
//! Further alerts with the same key while it is open are events on it, not new cases;
//! acknowledging and resolving are events with their actor. This module says which events an
//! alert or a responder's action makes (pure: `now` and the actor are passed in); how a
//! policy run pages people is [`crate::incident`].

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::alerts::{Alert, AlertAction, AlertLink};
use crate::case::{Actor, Case, Channel, Priority, Status};
use crate::directory::LevelId;
use crate::error::DomainError;
use crate::event::{CaseEvent, Opened, RecordedEvent, Resolved};
use crate::ids::CaseId;
use crate::incident::PolicyRun;
use crate::matrix::IncidentSeverity;
use crate::services::Service;

/// The largest `custom_details` kept with an alert, as JSON; larger ones are replaced by a
/// note saying so (the whole event was at most 512 KiB; a case keeps many alerts).
pub const MAX_DETAILS_BYTES: usize = 16 * 1024;
/// The resolution code of an incident resolved by its monitoring tool or by a responder.
pub const RESOLVED_CODE: &str = "incident_resolved";

/// An alert as kept in an incident's history: what the monitoring tool said, bounded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct AlertRecord {
    pub action: AlertAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `SEV1` … `SEV4`, when the alert says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    #[cfg_attr(feature = "schema", schema(value_type = Object))]
    pub custom_details: Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<AlertLink>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<AlertLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<Timestamp>,
}

impl AlertRecord {
    pub fn of(alert: &Alert) -> AlertRecord {
        let custom_details = match serde_json::to_string(&alert.details) {
            Ok(s) if s.len() > MAX_DETAILS_BYTES => serde_json::json!({
                "ladder_note": format!("custom_details of {} bytes were not kept (at most {MAX_DETAILS_BYTES})", s.len())
            }),
            _ => alert.details.clone(),
        };
        AlertRecord {
            action: alert.action,
            summary: alert.summary.clone(),
            source: alert.source.clone(),
            severity: alert.severity.map(|s| s.as_str().to_string()),
            component: alert.component.clone(),
            group: alert.group.clone(),
            class: alert.class.clone(),
            custom_details,
            links: alert.links.clone(),
            images: alert.images.clone(),
            client: alert.client.clone(),
            client_url: alert.client_url.clone(),
            occurred_at: alert.occurred_at,
        }
    }
}

/// The event that makes a new case an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentTriggered {
    pub service: Uuid,
    pub service_name: String,
    /// `SEV1` … `SEV4`.
    pub severity: String,
    pub dedup_key: String,
    pub alert: AlertRecord,
    /// The service was in a maintenance window: the incident is recorded, nobody is paged.
    #[serde(default)]
    pub in_maintenance: bool,
}

/// Another alert for an open incident (same deduplication key): a repeated trigger, or the
/// monitoring tool's acknowledge or resolve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertReceived {
    pub alert: AlertRecord,
}

/// Someone (or the monitoring tool) acknowledged the incident: paging stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentAcknowledged {}

/// The acknowledgement was withdrawn: paging resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentUnacknowledged {}

/// What makes a case an incident, folded from its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentInfo {
    pub service: Uuid,
    pub service_name: String,
    pub severity: String,
    pub dedup_key: String,
    /// Triggering alerts received, the first included.
    pub alert_count: u32,
    pub triggered_at: Timestamp,
    #[serde(default)]
    pub acknowledged_at: Option<Timestamp>,
    #[serde(default)]
    pub acknowledged_by: Option<Actor>,
    /// When the incident was first acknowledged (for the time to acknowledge).
    #[serde(default)]
    pub first_acknowledged_at: Option<Timestamp>,
    pub last_alert: AlertRecord,
    #[serde(default)]
    pub in_maintenance: bool,
    /// The policy run paging people, if one runs.
    #[serde(default)]
    pub run: Option<PolicyRun>,
}

impl IncidentInfo {
    /// Where the incident stands: `triggered`, `acknowledged` or `resolved`.
    pub fn status(&self, case: &Case) -> &'static str {
        if !case.status.is_active() {
            "resolved"
        } else if self.acknowledged_at.is_some() {
            "acknowledged"
        } else {
            "triggered"
        }
    }
}

/// Folds an incident event into the case (called by [`crate::case::apply`]).
pub(crate) fn apply(case: &mut Case, event: &CaseEvent, actor: &Actor, at: Timestamp) {
    match event {
        CaseEvent::IncidentTriggered(t) => {
            case.incident = Some(IncidentInfo {
                service: t.service,
                service_name: t.service_name.clone(),
                severity: t.severity.clone(),
                dedup_key: t.dedup_key.clone(),
                alert_count: 1,
                triggered_at: at,
                acknowledged_at: None,
                acknowledged_by: None,
                first_acknowledged_at: None,
                last_alert: t.alert.clone(),
                in_maintenance: t.in_maintenance,
                run: None,
            });
        }
        CaseEvent::AlertReceived(a) => {
            if let Some(i) = &mut case.incident
                && a.alert.action == AlertAction::Trigger
            {
                i.alert_count = i.alert_count.saturating_add(1);
                i.last_alert = a.alert.clone();
            }
        }
        CaseEvent::IncidentAcknowledged(_) => {
            if let Some(i) = &mut case.incident {
                i.acknowledged_at = Some(at);
                i.acknowledged_by = Some(actor.clone());
                i.first_acknowledged_at.get_or_insert(at);
            }
            if case.status == Status::New {
                case.status = Status::Open;
            }
        }
        CaseEvent::IncidentUnacknowledged(_) => {
            if let Some(i) = &mut case.incident {
                i.acknowledged_at = None;
                i.acknowledged_by = None;
            }
        }
        _ => {}
    }
}

/// The case priority of an incident severity.
pub fn priority_of(severity: IncidentSeverity) -> Priority {
    match severity {
        IncidentSeverity::Sev1 => Priority::Urgent,
        IncidentSeverity::Sev2 => Priority::High,
        IncidentSeverity::Sev3 => Priority::Normal,
        IncidentSeverity::Sev4 => Priority::Low,
    }
}

/// Builds a case's events one after another, numbered from its version.
struct Events<'a> {
    case_id: CaseId,
    version: u64,
    at: Timestamp,
    actor: &'a Actor,
    out: Vec<RecordedEvent>,
}

impl Events<'_> {
    fn push(&mut self, event: CaseEvent) {
        self.version += 1;
        self.out.push(RecordedEvent {
            case_id: self.case_id,
            version: self.version,
            at: self.at,
            actor: self.actor.clone(),
            event,
            matrix_version: None,
        });
    }
}

/// What opens an incident.
pub struct Trigger<'a> {
    pub service: &'a Service,
    pub alert: &'a Alert,
    /// The alert's severity, or the default when it gives none.
    pub severity: IncidentSeverity,
    /// The level the case opens at (the matrix's first).
    pub level: LevelId,
    pub number: u64,
}

/// The events of a new incident: the case opened at the service's team, then made an
/// incident.
pub fn trigger_events(case_id: CaseId, t: &Trigger, actor: &Actor, now: Timestamp) -> Vec<RecordedEvent> {
    let mut e = Events { case_id, version: 0, at: now, actor, out: Vec::new() };
    let summary = t.alert.summary.clone().unwrap_or_else(|| t.alert.dedup_key.clone());
    let description = [
        t.alert.source.as_deref().map(|s| format!("Source: {s}")),
        t.alert.component.as_deref().map(|c| format!("Component: {c}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n");
    e.push(CaseEvent::Opened(Opened {
        number: t.number,
        subject: truncate_chars(&summary, 500),
        description,
        category: Some("incident".into()),
        channel: Channel::Api,
        priority: priority_of(t.severity),
        level: t.level.clone(),
        team: Some(t.service.team),
        assignee: None,
        customer: None,
        tags: ["incident".to_string()].into_iter().collect(),
        custom_fields: Default::default(),
        // An alert is a machine's words: no customer's mood, and no contact-center risk.
        sentiment: None,
        risk: None,
    }));
    e.push(CaseEvent::IncidentTriggered(IncidentTriggered {
        service: t.service.id,
        service_name: t.service.name.clone(),
        severity: t.severity.as_str().to_string(),
        dedup_key: t.alert.dedup_key.clone(),
        alert: AlertRecord::of(t.alert),
        in_maintenance: t.service.in_maintenance(now),
    }));
    e.out
}

/// The events another alert makes on an open incident: the alert itself, and what its
/// action asks (an acknowledge of an unacknowledged incident, a resolve).
pub fn alert_events(case: &Case, alert: &Alert, actor: &Actor, now: Timestamp) -> Vec<RecordedEvent> {
    let mut e = Events { case_id: case.id, version: case.version, at: now, actor, out: Vec::new() };
    e.push(CaseEvent::AlertReceived(AlertReceived { alert: AlertRecord::of(alert) }));
    let acknowledged = case.incident.as_ref().is_some_and(|i| i.acknowledged_at.is_some());
    match alert.action {
        AlertAction::Trigger => {}
        AlertAction::Acknowledge if !acknowledged => e.push(CaseEvent::IncidentAcknowledged(IncidentAcknowledged {})),
        AlertAction::Acknowledge => {}
        AlertAction::Resolve => e.push(resolved(alert.summary.clone())),
    }
    e.out
}

fn resolved(note: Option<String>) -> CaseEvent {
    CaseEvent::Resolved(Resolved { code: RESOLVED_CODE.into(), note, article_id: None })
}

/// What a responder asks of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Acknowledge,
    Unacknowledge,
    Resolve,
}

impl Response {
    pub fn as_str(self) -> &'static str {
        match self {
            Response::Acknowledge => "acknowledge",
            Response::Unacknowledge => "unacknowledge",
            Response::Resolve => "resolve",
        }
    }
}

/// The events of a responder's action on an incident, or why it does not apply.
pub fn respond_events(
    case: &Case,
    response: Response,
    actor: &Actor,
    now: Timestamp,
) -> Result<Vec<RecordedEvent>, DomainError> {
    let Some(incident) = &case.incident else {
        return Err(DomainError::NoSuchCase(format!("case #{} is not an incident", case.number)));
    };
    if !case.status.is_active() {
        return Err(DomainError::transition(response.as_str(), case.status, "the incident is resolved"));
    }
    let mut e = Events { case_id: case.id, version: case.version, at: now, actor, out: Vec::new() };
    match response {
        Response::Acknowledge if incident.acknowledged_at.is_some() => {
            return Err(DomainError::transition("acknowledge", case.status, "the incident is already acknowledged"));
        }
        Response::Acknowledge => e.push(CaseEvent::IncidentAcknowledged(IncidentAcknowledged {})),
        Response::Unacknowledge if incident.acknowledged_at.is_none() => {
            return Err(DomainError::transition("unacknowledge", case.status, "the incident is not acknowledged"));
        }
        Response::Unacknowledge => e.push(CaseEvent::IncidentUnacknowledged(IncidentUnacknowledged {})),
        Response::Resolve => e.push(resolved(None)),
    }
    Ok(e.out)
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => s[..at].to_string(),
        None => s.to_string(),
    }
}
