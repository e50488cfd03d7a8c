//! `/api/v1/simulations`: the what-if simulator over HTTP. A simulation of a large history
//! takes a while, so `POST` starts it and answers `202 Accepted` at once; `GET` on its
//! address shows its progress and, when done, the report. One simulation runs at a time per
//! server (a second is refused with 409); the last [`KEPT`] are remembered in memory (a
//! restart forgets them: run it again, it is deterministic).

use ladder_core::access::Action;
use ladder_core::access::Principal;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ladder_engine::simulate::{Progress, SimulationReport, day_span};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Auth, Write};

/// Finished simulations remembered.
const KEPT: usize = 20;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start, list)).routes(routes!(show))
}

/// Simulations of this server, newest last.
#[derive(Default)]
pub struct Simulations {
    jobs: Mutex<VecDeque<Job>>,
}

struct Job {
    id: String,
    matrix: String,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
    requested_by: String,
    requested_at: Timestamp,
    progress: Arc<Progress>,
    outcome: Option<Result<SimulationReport, String>>,
}

impl Job {
    fn dto(&self, with_report: bool) -> SimulationDto {
        let (status, report, error) = match &self.outcome {
            None => ("running", None, None),
            Some(Ok(r)) => ("done", with_report.then(|| r.clone()), None),
            Some(Err(e)) => ("failed", None, Some(e.clone())),
        };
        SimulationDto {
            id: self.id.clone(),
            status: status.into(),
            matrix: self.matrix.clone(),
            from: self.from.to_string(),
            to: self.to.to_string(),
            requested_by: self.requested_by.clone(),
            requested_at: self.requested_at.to_string(),
            done: self.progress.done.load(Ordering::Acquire),
            total: self.progress.total.load(Ordering::Acquire),
            report,
            error,
        }
    }
}

/// What to simulate: a candidate matrix (its TOML text, or the name of a saved draft) over
/// the cases opened in a period of UTC days.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulationRequest {
    /// The candidate's TOML text.
    matrix: Option<String>,
    /// Or the name of a saved matrix draft.
    draft: Option<String>,
    /// First UTC day, `YYYY-MM-DD`.
    from: String,
    /// Last UTC day, included.
    to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimulationDto {
    pub(crate) id: String,
    /// `running`, `done` or `failed`.
    pub(crate) status: String,
    pub(crate) matrix: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) requested_by: String,
    pub(crate) requested_at: String,
    /// Cases replayed so far, of `total`.
    pub(crate) done: u64,
    pub(crate) total: u64,
    /// When done: what happened and what the candidate predicts, side by side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) report: Option<SimulationReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// Starts a simulation: replays the cases opened in the period under the candidate matrix
/// (its rules, targets, calendars, authority limits and routes) and reports the predicted
/// escalations, breaches, approvals and load per level and team beside what happened.
/// Managers and admins. `202` with the simulation's address; `409` while another runs;
/// `422` with every problem of an invalid matrix.
#[utoipa::path(post, path = "/api/v1/simulations", tag = "metrics", request_body = SimulationRequest,
    responses((status = 202, body = SimulationDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn start(State(state): State<AppState>, auth: Auth, req: Write<SimulationRequest>) -> ApiResult<Response> {
    state.engine.check(&auth.0, &Action::Simulate)?;
    let principal = &auth.0;
    let body = req.body;
    let (from, to) = crate::metrics::period(Some(&body.from), Some(&body.to), state.engine.now())?;
    let (source, name) = match (body.matrix, body.draft) {
        (Some(source), None) => (source, "candidate".to_string()),
        (None, Some(draft)) => {
            let d = state.engine.matrix_draft(principal, &draft).await?;
            (d.source, d.name)
        }
        _ => {
            return Err(ApiError::bad_request(
                "matrix",
                "give exactly one of `matrix` (TOML text) and `draft` (a name)",
            ));
        }
    };
    let id = start_job(&state, principal, &source, name, from, to).await?;
    let dto = job(&state, &id);
    let location = format!("/api/v1/simulations/{id}");
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(dto)).into_response())
}

/// Starts a simulation of `source` (named `name`) over the cases opened from `from` to `to`
/// in the background and answers its id; refused while another runs (409) and for an
/// invalid matrix (422). The console's "simulate this draft" starts one through this too.
pub(crate) async fn start_job(
    state: &AppState,
    principal: &Principal,
    source: &str,
    name: String,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> ApiResult<String> {
    let requested_by = principal.name.clone();
    let candidate = state.engine.candidate_matrix(principal, source, &name).await?;
    let now = state.engine.now();
    let progress = Arc::new(Progress::default());
    let id = uuid::Uuid::now_v7().to_string();
    {
        let mut jobs = state.simulations.jobs.lock().expect("simulations lock");
        if jobs.iter().any(|j| j.outcome.is_none()) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "simulation-running",
                "A simulation is running",
                "one simulation runs at a time; wait for the running one (GET /api/v1/simulations)",
            ));
        }
        while jobs.len() >= KEPT {
            jobs.pop_front();
        }
        jobs.push_back(Job {
            id: id.clone(),
            matrix: name,
            from,
            to,
            requested_by,
            requested_at: now,
            progress: progress.clone(),
            outcome: None,
        });
    }
    let (start, end) = day_span(from, to);
    let (engine, simulations, job_id) = (state.engine.clone(), state.simulations.clone(), id.clone());
    tokio::spawn(async move {
        let outcome = engine.simulate(candidate, start, end, now, progress).await.map_err(|e| e.to_string());
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, "simulation failed");
        }
        let mut jobs = simulations.jobs.lock().expect("simulations lock");
        if let Some(job) = jobs.iter_mut().find(|j| j.id == job_id) {
            job.outcome = Some(outcome);
        }
    });
    Ok(id)
}

/// One simulation's progress and, once done, its report.
pub(crate) fn job(state: &AppState, id: &str) -> Option<SimulationDto> {
    state.simulations.jobs.lock().expect("simulations lock").iter().find(|j| j.id == id).map(|j| j.dto(true))
}

/// The simulations this server remembers, newest first, without their reports. Managers and admins.
#[utoipa::path(get, path = "/api/v1/simulations", tag = "metrics",
    responses((status = 200, body = Vec<SimulationDto>), (status = 403, body = Problem)))]
async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<SimulationDto>>> {
    state.engine.check(&auth.0, &Action::Simulate)?;
    let jobs = state.simulations.jobs.lock().expect("simulations lock");
    Ok(Json(jobs.iter().rev().map(|j| j.dto(false)).collect()))
}

/// One simulation: its progress, and its report once done. Managers and admins.
#[utoipa::path(get, path = "/api/v1/simulations/{id}", tag = "metrics",
    params(("id" = String, Path, description = "The simulation's id")),
    responses((status = 200, body = SimulationDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn show(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<SimulationDto>> {
    state.engine.check(&auth.0, &Action::Simulate)?;
    let jobs = state.simulations.jobs.lock().expect("simulations lock");
    let job = jobs.iter().find(|j| j.id == id).ok_or_else(|| ApiError::not_found(format!("simulation {id}")))?;
    Ok(Json(job.dto(true)))
}
