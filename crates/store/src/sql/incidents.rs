//! Incidents: the `incidents` projection of the cases of kind `incident`, and the write an
//! alert makes — in one transaction, the open incident its deduplication key names is found
//! and updated, or a new one opened, so two alerts with one key never open two incidents.

use jiff::Timestamp;
use ladder_core::Case;
use ladder_core::alerts::{Alert, AlertAction};
use ladder_core::case::Actor;
use ladder_core::directory::LevelId;
use ladder_core::ids::{CaseId, TeamId};
use ladder_core::incidents::{Trigger, alert_events, trigger_events};
use ladder_core::matrix::IncidentSeverity;
use ladder_core::services::Service;
use uuid::Uuid;

use super::cases::{execute_case, load_case};
use super::{Store, ts_to_us};
use crate::db::{Arg, Db, args};
use crate::{CaseOutcome, CaseWrite, StoreResult};

/// Which incidents a list shows.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// `triggered`, `acknowledged` or `resolved`.
    pub status: Option<String>,
    /// `SEV1` … `SEV4`.
    pub severity: Option<String>,
    pub service: Option<Uuid>,
    /// Only these teams' services (`None`: every team's).
    pub teams: Option<Vec<TeamId>>,
    pub limit: u32,
}

fn open_key(service: Uuid, dedup_key: &str) -> String {
    format!("{service}/{dedup_key}")
}

/// Writes the incident row of a case of kind `incident` (with the case's row).
pub(super) fn project(db: &mut Db, case: &Case) -> StoreResult<()> {
    let Some(i) = &case.incident else { return Ok(()) };
    let status = i.status(case);
    let open = (status != "resolved").then(|| open_key(i.service, &i.dedup_key));
    let resolved_at = case.resolution.as_ref().map(|r| ts_to_us(r.at)).filter(|_| status == "resolved");
    db.defer(
        "INSERT INTO incidents (case_id, number, service_id, team_id, dedup_key, open_key, severity, status,
             triggered_at_us, acknowledged_at_us, resolved_at_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (case_id) DO UPDATE SET team_id = ?4, open_key = ?6, severity = ?7, status = ?8,
             acknowledged_at_us = ?10, resolved_at_us = ?11",
        args![
            case.id.to_string(),
            case.number,
            i.service.to_string(),
            case.team.map(|t| t.to_string()).unwrap_or_default(),
            &i.dedup_key,
            open,
            &i.severity,
            status,
            ts_to_us(i.triggered_at),
            i.first_acknowledged_at.map(ts_to_us),
            resolved_at
        ],
    )?;
    Ok(())
}

/// What an alert did.
#[derive(Debug, Clone)]
pub enum AlertWrite {
    /// A trigger opened a new incident.
    Opened(CaseOutcome),
    /// The alert went to the open incident its key names.
    Updated(CaseOutcome),
    /// An acknowledge or resolve named no open incident: nothing to do (as PagerDuty, it is
    /// accepted all the same).
    NoIncident,
}

/// How a new incident opens.
pub struct NewIncident {
    pub severity: IncidentSeverity,
    pub level: LevelId,
}

impl Store {
    /// Takes in one alert for `service`: in one write, the open incident of its key gets it,
    /// or a trigger opens a new incident.
    pub async fn take_alert(
        &self,
        service: Service,
        alert: Alert,
        new: NewIncident,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<AlertWrite> {
        self.write(move |tx| {
            let key = open_key(service.id, &alert.dedup_key);
            let open: Option<String> =
                tx.value_opt("SELECT case_id FROM incidents WHERE open_key = ?1", args![&key])?;
            let open = open.and_then(|id| id.parse::<Uuid>().ok()).map(CaseId);
            match open {
                Some(case_id) => {
                    let decide = Box::new(move |case: Option<&Case>, _next: u64| {
                        let case = case.ok_or_else(|| crate::StoreError::NotFound(format!("case {case_id}")))?;
                        Ok(alert_events(case, &alert, &actor, now).into())
                    });
                    let outcome =
                        execute_case(tx, CaseWrite { case_id, expected_version: None, idempotency: None, decide })?;
                    Ok(AlertWrite::Updated(outcome))
                }
                None if alert.action == AlertAction::Trigger => {
                    let case_id = CaseId::new_v7();
                    let decide = Box::new(move |_case: Option<&Case>, number: u64| {
                        let trigger = Trigger {
                            service: &service,
                            alert: &alert,
                            severity: new.severity,
                            level: new.level,
                            number,
                        };
                        Ok(trigger_events(case_id, &trigger, &actor, now).into())
                    });
                    let outcome =
                        execute_case(tx, CaseWrite { case_id, expected_version: Some(0), idempotency: None, decide })?;
                    Ok(AlertWrite::Opened(outcome))
                }
                None => Ok(AlertWrite::NoIncident),
            }
        })
        .await
    }

    /// Incidents, newest first, as their cases.
    pub async fn incidents(&self, filter: IncidentFilter) -> StoreResult<Vec<Case>> {
        self.read(move |db| {
            let mut sql = String::from("SELECT case_id FROM incidents WHERE 1 = 1");
            let mut params: Vec<Arg<'static>> = Vec::new();
            let mut push = |sql: &mut String, column: &str, value: String| {
                params.push(Arg::from(value));
                sql.push_str(&format!(" AND {column} = ?{}", params.len()));
            };
            if let Some(s) = &filter.status {
                push(&mut sql, "status", s.clone());
            }
            if let Some(s) = &filter.severity {
                push(&mut sql, "severity", s.clone());
            }
            if let Some(s) = filter.service {
                push(&mut sql, "service_id", s.to_string());
            }
            if let Some(teams) = &filter.teams {
                if teams.is_empty() {
                    return Ok(Vec::new());
                }
                sql.push_str(" AND team_id IN (");
                for (i, t) in teams.iter().enumerate() {
                    params.push(Arg::from(t.to_string()));
                    sql.push_str(&format!("{}?{}", if i > 0 { ", " } else { "" }, params.len()));
                }
                sql.push(')');
            }
            params.push(Arg::from(i64::from(filter.limit)));
            sql.push_str(&format!(" ORDER BY triggered_at_us DESC, case_id DESC LIMIT ?{}", params.len()));
            let ids: Vec<String> = db.rows(&sql, &params, |r| Ok(r.get::<String>(0)?))?;
            let mut cases = Vec::with_capacity(ids.len());
            for id in ids {
                if let Ok(id) = id.parse::<Uuid>()
                    && let Some(case) = load_case(db, CaseId(id))?
                {
                    cases.push(case);
                }
            }
            Ok(cases)
        })
        .await
    }
}
