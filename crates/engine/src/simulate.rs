//! The what-if simulator at work: the cases opened in a period read from the store in
//! batches (the next one read while this one is replayed), each batch replayed on all
//! cores, and the counts summed into a report. The replay itself and the counting are pure
//! and live in [`ladder_core::simulate`], which documents how a case is replayed.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use jiff::Timestamp;
use ladder_core::directory::Role;
use ladder_core::ids::{TeamId, UserId};
use ladder_core::matrix::apply::{ActiveMatrix, REPEAT_CONTACT_WINDOW};
use ladder_store::StoreError;

use crate::Engine;

// The report's types, and the replay for tests, under the names callers know.
pub use ladder_core::simulate::{
    Compared, Figures, Replay, Replayed, RuleActivity, SimTotals, SimulationReport, Tally,
};

/// Cases read and replayed per step.
const BATCH: u32 = 2_000;

/// Cases replayed between two looks at the cancel flag and the clock.
const STEP: usize = 64;

/// How far a simulation has got: cases replayed and cases to replay; and whether it was
/// asked to stop.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub total: AtomicU64,
    cancelled: AtomicBool,
}

impl Progress {
    /// Asks the simulation to stop: it does within [`STEP`] cases per core.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

/// What one simulation may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulationBudget {
    /// The most cases it replays: a longer period is refused before it starts.
    pub max_cases: u64,
    /// The longest it runs; then it stops with an error.
    pub max_time: std::time::Duration,
}

/// The longest period a simulation covers, in days.
pub const MAX_DAYS: i64 = 366;

impl SimulationBudget {
    /// No limit: for the command line, where the operator runs it on purpose.
    pub const UNLIMITED: SimulationBudget =
        SimulationBudget { max_cases: u64::MAX, max_time: std::time::Duration::MAX };
}

impl Default for SimulationBudget {
    fn default() -> Self {
        SimulationBudget { max_cases: 1_000_000, max_time: std::time::Duration::from_secs(600) }
    }
}

/// Why a simulation did not give a report.
#[derive(Debug, thiserror::Error)]
pub enum SimulationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the period holds {cases} cases, more than the {limit} a simulation replays; shorten it")]
    TooManyCases { cases: u64, limit: u64 },
    #[error("the simulation ran longer than its budget of {} s and was stopped; simulate a shorter period", .0.as_secs())]
    TooLong(std::time::Duration),
    #[error("the simulation was cancelled")]
    Cancelled,
}

impl Engine {
    /// How many cases were opened in `[from, to)`: what a simulation of that period replays.
    pub async fn simulation_size(
        &self,
        principal: &ladder_core::access::Principal,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<u64, StoreError> {
        self.check(principal, &ladder_core::access::Action::Simulate)?;
        self.store.count_opened(from, to).await
    }

    /// Replays the cases opened in `[from, to)` under `candidate`, firing timers up to
    /// `until`, and compares with what was recorded. `progress` is updated as batches finish
    /// and its cancel flag is looked at every [`STEP`] cases, as is the budget's clock.
    pub async fn simulate(
        &self,
        candidate: Arc<ActiveMatrix>,
        from: Timestamp,
        to: Timestamp,
        until: Timestamp,
        progress: Arc<Progress>,
        budget: SimulationBudget,
    ) -> Result<SimulationReport, SimulationError> {
        let started = std::time::Instant::now();
        let deadline = started.checked_add(budget.max_time);
        let late = move || deadline.is_some_and(|d| std::time::Instant::now() > d);
        let total = self.store.count_opened(from, to).await?;
        if total > budget.max_cases {
            return Err(SimulationError::TooManyCases { cases: total, limit: budget.max_cases });
        }
        progress.total.store(total, Ordering::Release);
        let teams = Arc::new(self.team_refs().await?);
        let team_names: Arc<HashMap<TeamId, String>> = Arc::new(teams.iter().map(|t| (t.id, t.slug.clone())).collect());
        let users: Arc<HashMap<UserId, (Role, String)>> =
            Arc::new(self.store.users(None).await?.into_iter().map(|u| (u.id, (u.role, u.name))).collect());
        let ladder = Arc::new(candidate.compiled.matrix().ladder().unwrap_or_else(|| (*self.ladder()).clone()));
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8);
        let mut totals = SimTotals::default();
        let fetch = |after: u64| {
            let store = self.store.clone();
            tokio::spawn(async move { store.histories(from, to, after, BATCH, REPEAT_CONTACT_WINDOW).await })
        };
        let joined = |e: tokio::task::JoinError| StoreError::Internal(format!("simulation: {e}"));
        let mut pending = fetch(0);
        loop {
            if progress.is_cancelled() {
                return Err(SimulationError::Cancelled);
            }
            if late() {
                return Err(SimulationError::TooLong(budget.max_time));
            }
            let batch = pending.await.map_err(joined)??;
            let Some(last) = batch.last() else { break };
            // Read the next batch while this one is replayed.
            pending = fetch(last.number);
            let (candidate, teams, ladder, users, names) =
                (candidate.clone(), teams.clone(), ladder.clone(), users.clone(), team_names.clone());
            let stop = progress.clone();
            let part = tokio::task::spawn_blocking(move || {
                let replay = Replay { matrix: &candidate, teams: &teams, ladder: &ladder, users: &users, until };
                let chunk = batch.len().div_ceil(workers).max(1);
                std::thread::scope(|scope| {
                    let handles: Vec<_> = batch
                        .chunks(chunk)
                        .map(|c| {
                            let (replay, names, stop) = (&replay, &names, &stop);
                            scope.spawn(move || {
                                let mut sum = SimTotals::default();
                                for step in c.chunks(STEP) {
                                    if stop.is_cancelled() || late() {
                                        return None;
                                    }
                                    sum.merge(&SimTotals::of(replay, step, names));
                                    stop.done.fetch_add(step.len() as u64, Ordering::AcqRel);
                                }
                                Some(sum)
                            })
                        })
                        .collect();
                    let mut sum = SimTotals::default();
                    for h in handles {
                        sum.merge(&h.join().expect("replay thread")?);
                    }
                    Some(sum)
                })
            })
            .await
            .map_err(joined)?;
            match part {
                Some(part) => totals.merge(&part),
                None if progress.is_cancelled() => return Err(SimulationError::Cancelled),
                None => return Err(SimulationError::TooLong(budget.max_time)),
            }
        }
        Ok(totals.report(candidate.name.clone(), from, to, until))
    }
}

/// The instants a period of UTC days covers, both days included: `[from 00:00, to + 1 day 00:00)`.
pub fn day_span(from: jiff::civil::Date, to: jiff::civil::Date) -> (Timestamp, Timestamp) {
    let start = |d: jiff::civil::Date| d.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp());
    let from = start(from).unwrap_or(Timestamp::MIN);
    let to = to.tomorrow().ok().and_then(|d| start(d).ok()).unwrap_or(Timestamp::MAX);
    (from, to)
}

impl Engine {
    /// A candidate matrix for the simulator: linted against the teams that exist and compiled
    /// as the version after the last one. Refused with every problem when it has errors; only
    /// for those who may simulate.
    pub async fn candidate_matrix(
        &self,
        principal: &ladder_core::access::Principal,
        source: &str,
        name: &str,
    ) -> Result<Arc<ActiveMatrix>, crate::rules::MatrixError> {
        self.check(principal, &ladder_core::access::Action::Simulate)?;
        let next = self.store.matrix_versions().await?.last().map_or(1, |v| v.version + 1);
        Ok(Arc::new(self.compile_checked(source, name, next).await?))
    }
}
