//! `/api/v1/simulations`: the what-if simulator over HTTP. A simulation of a large history
//! takes a while, so `POST` starts it and answers `202 Accepted` at once; `GET` on its
//! address shows its progress and, when done, the report; `DELETE` cancels it. Each user
//! has one simulation queued or running at a time (a second is refused with 409); the server
//! runs [`Limits::slots`] at once, the others wait their turn. A simulation covers at most
//! [`MAX_DAYS`] days and [`Limits::budget`]'s cases and time. The last [`KEPT`] are
//! remembered in memory (a restart forgets them: run it again, it is deterministic).

use ladder_core::access::Action;
use ladder_core::access::Principal;
use ladder_core::ids::UserId;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ladder_engine::simulate::{MAX_DAYS, Progress, SimulationBudget, SimulationError, SimulationReport, day_span};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, Semaphore};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Auth, Write};

/// Finished simulations remembered.
const KEPT: usize = 20;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start, list)).routes(routes!(show, cancel))
}

/// What simulations may take on this server, from the environment: `LADDER_SIMULATION_SLOTS`
/// (how many run at once, 1 by default; 0 queues them without running any),
/// `LADDER_SIMULATION_MAX_CASES` and `LADDER_SIMULATION_MAX_SECONDS`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub slots: usize,
    pub budget: SimulationBudget,
}

impl Limits {
    fn from_env() -> Limits {
        let number = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok());
        let default = SimulationBudget::default();
        Limits {
            slots: number("LADDER_SIMULATION_SLOTS").map_or(1, |n| n as usize),
            budget: SimulationBudget {
                max_cases: number("LADDER_SIMULATION_MAX_CASES").unwrap_or(default.max_cases),
                max_time: number("LADDER_SIMULATION_MAX_SECONDS")
                    .map_or(default.max_time, std::time::Duration::from_secs),
            },
        }
    }
}

/// Simulations of this server, newest last.
pub struct Simulations {
    jobs: Mutex<VecDeque<Job>>,
    limits: Limits,
    slots: Arc<Semaphore>,
}

impl Default for Simulations {
    fn default() -> Self {
        let limits = Limits::from_env();
        Simulations { jobs: Mutex::default(), slots: Arc::new(Semaphore::new(limits.slots)), limits }
    }
}

enum Outcome {
    Done(Box<SimulationReport>),
    Cancelled,
    Failed(String),
}

struct Job {
    id: String,
    matrix: String,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
    requested_by: String,
    /// Who may cancel it (with admins).
    requested_by_id: UserId,
    requested_at: Timestamp,
    progress: Arc<Progress>,
    /// Wakes the job while it waits for a slot, when it is cancelled.
    wake: Arc<Notify>,
    started: bool,
    outcome: Option<Outcome>,
}

impl Job {
    fn dto(&self, with_report: bool) -> SimulationDto {
        let (status, report, error) = match &self.outcome {
            None if self.progress.is_cancelled() => ("cancelling", None, None),
            None if !self.started => ("queued", None, None),
            None => ("running", None, None),
            Some(Outcome::Done(r)) => ("done", with_report.then(|| (**r).clone()), None),
            Some(Outcome::Cancelled) => ("cancelled", None, None),
            Some(Outcome::Failed(e)) => ("failed", None, Some(e.clone())),
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
    #[schema(format = Date, pattern = r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-[0-9]{2}-[0-9]{2}$")]
    from: String,
    /// Last UTC day, included (at most 366 days after `from`).
    #[schema(format = Date, pattern = r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-[0-9]{2}-[0-9]{2}$")]
    to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimulationDto {
    pub(crate) id: String,
    /// `queued` (waiting for a free slot), `running`, `cancelling`, `done`, `cancelled` or
    /// `failed` (with `error`: over its budget, or the store failed).
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
/// Managers and admins. `202` with the simulation's address; `409` while the caller has
/// another queued or running; `422` for a period outside 1970–9999, longer than the limit
/// or holding more cases than the limit, and with every problem of an invalid matrix; `503`
/// when no worker was free to check the matrix.
#[utoipa::path(post, path = "/api/v1/simulations", tag = "metrics", request_body = SimulationRequest,
    responses((status = 202, body = SimulationDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem, description = "The candidate draft does not exist"),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
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
            return Err(ApiError::validation(
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

/// Refuses a period longer than [`MAX_DAYS`] (422 naming `to`). The days themselves were
/// range-checked where they were parsed (`metrics::period`).
fn check_period(from: jiff::civil::Date, to: jiff::civil::Date) -> ApiResult<()> {
    let days = (to - from).get_days() as i64 + 1;
    if days > MAX_DAYS {
        return Err(ApiError::validation(
            "to",
            format!("the period is {days} days long; a simulation covers at most {MAX_DAYS}: split it"),
        ));
    }
    Ok(())
}

/// Starts a simulation of `source` (named `name`) over the cases opened from `from` to `to`
/// in the background and answers its id; refused while the caller has another (409), for a
/// period over the limits and for an invalid matrix (422). The console's "simulate this
/// draft" starts one through this too.
pub(crate) async fn start_job(
    state: &AppState,
    principal: &Principal,
    source: &str,
    name: String,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> ApiResult<String> {
    check_period(from, to)?;
    let requested_by = principal.name.clone();
    let simulations = &state.simulations;
    let budget = simulations.limits.budget;
    let (start, end) = day_span(from, to);
    let cases = state.engine.simulation_size(principal, start, end).await?;
    if cases > budget.max_cases {
        return Err(ApiError::validation(
            "from",
            SimulationError::TooManyCases { cases, limit: budget.max_cases }.to_string(),
        ));
    }
    let candidate = state.engine.candidate_matrix(principal, source, &name).await?;
    let now = state.engine.now();
    let progress = Arc::new(Progress::default());
    let wake = Arc::new(Notify::new());
    let id = uuid::Uuid::now_v7().to_string();
    {
        let mut jobs = simulations.jobs.lock().expect("simulations lock");
        if let Some(mine) = jobs.iter().find(|j| j.outcome.is_none() && j.requested_by_id == principal.user_id) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "simulation-running",
                "A simulation is running",
                format!(
                    "you have a simulation {} ({}); wait for it (GET /api/v1/simulations/{id}) or cancel it \
                     (DELETE /api/v1/simulations/{id})",
                    if mine.started { "running" } else { "queued" },
                    mine.id,
                    id = mine.id
                ),
            ));
        }
        while jobs.len() >= KEPT {
            // The oldest finished one; running ones are kept whatever their number.
            match jobs.iter().position(|j| j.outcome.is_some()) {
                Some(i) => drop(jobs.remove(i)),
                None => break,
            }
        }
        jobs.push_back(Job {
            id: id.clone(),
            matrix: name,
            from,
            to,
            requested_by,
            requested_by_id: principal.user_id,
            requested_at: now,
            progress: progress.clone(),
            wake: wake.clone(),
            started: false,
            outcome: None,
        });
    }
    let (engine, simulations, job_id) = (state.engine.clone(), state.simulations.clone(), id.clone());
    tokio::spawn(async move {
        let set = |outcome: Option<Outcome>, started: bool| {
            let mut jobs = simulations.jobs.lock().expect("simulations lock");
            if let Some(job) = jobs.iter_mut().find(|j| j.id == job_id) {
                job.started |= started;
                if outcome.is_some() {
                    job.outcome = outcome;
                }
            }
        };
        // Wait for a slot, unless cancelled meanwhile.
        let slots = Arc::clone(&simulations.slots);
        let permit = tokio::select! {
            permit = slots.acquire_owned() => permit.ok(),
            _ = wake.notified() => None,
        };
        let Some(_permit) = permit.filter(|_| !progress.is_cancelled()) else {
            set(Some(Outcome::Cancelled), false);
            return;
        };
        set(None, true);
        let outcome = match engine.simulate(candidate, start, end, now, progress, budget).await {
            Ok(report) => Outcome::Done(Box::new(report)),
            Err(SimulationError::Cancelled) => Outcome::Cancelled,
            Err(e) => {
                tracing::warn!(error = %e, "simulation failed");
                Outcome::Failed(e.to_string())
            }
        };
        set(Some(outcome), true);
    });
    Ok(id)
}

/// Cancels a queued or running simulation (`202`, the simulation as it is: `cancelling`,
/// then `cancelled` once it has stopped, within a moment), or forgets a finished one
/// (`204`). The manager or admin who started it, or an admin (`403` for another manager).
#[utoipa::path(delete, path = "/api/v1/simulations/{id}", tag = "metrics",
    params(("id" = String, Path, description = "The simulation's id")),
    responses((status = 202, body = SimulationDto), (status = 204), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn cancel(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Response> {
    state.engine.check(&auth.0, &Action::Simulate)?;
    let mut jobs = state.simulations.jobs.lock().expect("simulations lock");
    let i = jobs.iter().position(|j| j.id == id).ok_or_else(|| ApiError::not_found(format!("simulation {id}")))?;
    state.engine.check(&auth.0, &Action::CancelSimulation { requested_by: jobs[i].requested_by_id })?;
    if jobs[i].outcome.is_some() {
        jobs.remove(i);
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let job = &jobs[i];
    job.progress.cancel();
    job.wake.notify_one();
    tracing::info!(simulation = %id, by = %auth.0.name, "simulation cancelled");
    Ok((StatusCode::ACCEPTED, Json(job.dto(false))).into_response())
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
