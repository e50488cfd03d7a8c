//! SLA clocks at work: the durable timer engine that fires warnings and breaches, and the
//! re-evaluation of live clocks after a matrix change. The clock arithmetic itself (what a
//! write or a timer does to a case's clocks) is pure and lives in [`ladder_core::sla`].
//!
//! # The timer engine
//!
//! Every live clock with something to wait for (its next warning threshold or its due
//! instant) has a row in the store's `timers` table, written in the same transaction as
//! the case, carrying the clock's generation. Only the soonest instant is kept in memory:
//! [`Engine::run_timers`] sleeps until it (or until a write arms an earlier timer, which
//! wakes it), then fires what is due, oldest first, in batches. A fire re-reads the case and
//! fires only what its clock says is due at that generation ([`sla::fire`]), so a late,
//! stale or duplicate fire records nothing. On start the loop finds everything that fell
//! due while the server was down and fires it once; a breach records its true due instant.
//! The cost of a sweep is an index probe plus the work for what is due: it does not grow
//! with the number of open cases.

use std::sync::Mutex;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ladder_core::case::Case;
use ladder_core::matrix::apply::{self, Surroundings};
use ladder_core::sla::{self, SlaPolicy};
use ladder_store::{Decided, DueTimer, StoreError};
use tokio::sync::{Notify, watch};

use crate::Engine;

/// Timers fired per sweep step; the rest follow in the next step.
const BATCH: u32 = 256;

/// How long a server holds the timers it claimed; if it dies meanwhile, another server
/// claims them when this ends.
pub const TIMER_LEASE: SignedDuration = SignedDuration::from_secs(30);

/// How long the loop sleeps at most, in case a wake-up was missed.
const MAX_IDLE: Duration = Duration::from_secs(30);

/// The timer engine's shared state: the soonest armed instant and the bell that wakes it.
#[derive(Default)]
pub(crate) struct TimerState {
    soonest: Mutex<Option<Timestamp>>,
    wake: Notify,
    /// Sweeps the loop has completed, and when the last one ran (server time).
    sweeps: std::sync::atomic::AtomicU64,
    last_sweep: Mutex<Option<Timestamp>>,
}

/// How the timer loop is doing, for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerStatus {
    /// Sweeps completed since the server started; the first one is the catch-up on what
    /// fell due while it was down.
    pub sweeps: u64,
    pub last_sweep_at: Option<Timestamp>,
    /// The soonest armed timer, as the loop last saw it.
    pub next_fire_at: Option<Timestamp>,
}

/// What one sweep did.
#[derive(Debug, Default, Clone)]
pub struct FireReport {
    /// Timers that recorded something (a warning, a breach and what the rules did).
    pub fired: usize,
    /// Timers that found nothing to do (stale generation, already fired, case resolved).
    pub stale: usize,
    /// For each fired timer, how late it fired (fire time − the instant it was armed for).
    pub lags: Vec<SignedDuration>,
}

impl Engine {
    /// The current time as this engine sees it: the system clock, shifted by the offset the
    /// server was started with (for drills and restart tests; zero otherwise), to the
    /// microsecond: the precision the store keeps (`ladder_core::instant`).
    pub fn now(&self) -> Timestamp {
        ladder_core::instant::truncate(Timestamp::now() + self.inner.clock_offset)
    }

    /// How the timer loop is doing.
    pub fn timer_status(&self) -> TimerStatus {
        let t = &self.inner.timers;
        TimerStatus {
            sweeps: t.sweeps.load(std::sync::atomic::Ordering::Acquire),
            last_sweep_at: *t.last_sweep.lock().expect("timer lock"),
            next_fire_at: *t.soonest.lock().expect("timer lock"),
        }
    }

    /// Called after every case write: wakes the timer loop when the case armed a timer
    /// sooner than the one it sleeps towards.
    pub(crate) fn timers_armed(&self, case: &Case) {
        let Some(first) = case.clocks.iter().filter(|c| !c.state.is_final()).filter_map(|c| c.next_fire).min() else {
            return;
        };
        let mut soonest = self.inner.timers.soonest.lock().expect("timer lock");
        if soonest.is_none_or(|s| first < s) {
            *soonest = Some(first);
            self.inner.timers.wake.notify_one();
        }
    }

    /// Fires every timer due at `now`, in batches of the oldest first; every event is
    /// recorded at `now`.
    pub async fn fire_due(&self, now: Timestamp) -> Result<FireReport, StoreError> {
        self.sweep(now, false).await
    }

    /// Fires what is due at `now`; with `live`, each timer fires at the engine's clock when
    /// its turn comes (so a long catch-up records when each event really happened).
    async fn sweep(&self, now: Timestamp, live: bool) -> Result<FireReport, StoreError> {
        let mut report = FireReport::default();
        loop {
            let due = self.store.claim_due_timers(self.node().to_string(), now, TIMER_LEASE, BATCH).await?;
            let n = due.len();
            // Cases fire in parallel (their writes share commits); one case's timers fire in
            // due order, so a breach that escalates is seen before a later clock of the
            // level the case left (which it cancels).
            let mut by_case: Vec<(ladder_core::ids::CaseId, Vec<DueTimer>)> = Vec::new();
            for timer in due {
                match by_case.iter_mut().find(|(id, _)| *id == timer.case_id) {
                    Some((_, timers)) => timers.push(timer),
                    None => by_case.push((timer.case_id, vec![timer])),
                }
            }
            let mut tasks = tokio::task::JoinSet::new();
            for (_, timers) in by_case {
                let engine = self.clone();
                tasks.spawn(async move {
                    let mut out = Vec::with_capacity(timers.len());
                    for timer in timers {
                        let at = if live { engine.now().max(now) } else { now };
                        let fired = engine.fire_timer(&timer, at).await.map(|f| f.then_some(at));
                        out.push((timer, fired));
                    }
                    out
                });
            }
            let mut failed = None;
            while let Some(joined) = tasks.join_next().await {
                let results = joined.map_err(|e| StoreError::Internal(format!("timer task: {e}")))?;
                for (timer, fired) in results {
                    match fired {
                        Ok(Some(at)) => {
                            report.fired += 1;
                            let lag = at.duration_since(timer.fire_at);
                            report.lags.push(lag);
                            metrics::counter!("ladder_timers_fired_total").increment(1);
                            metrics::histogram!("ladder_timer_lag_seconds").record(lag.as_secs_f64().max(0.0));
                        }
                        Ok(None) => {
                            report.stale += 1;
                            metrics::counter!("ladder_timers_stale_total").increment(1);
                        }
                        Err(e) => failed = Some(e),
                    }
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
            if n < BATCH as usize {
                return Ok(report);
            }
        }
    }

    /// Plays case `id`'s clocks forward to `until`, in simulated time: every warning and
    /// breach due by then fires at its own instant, oldest first, as the timer loop would
    /// have fired it. For seeding a history (the demo) whose commands run at past instants,
    /// where no timer loop ran between them. Returns how many fired.
    pub async fn fire_case_clocks_until(
        &self,
        id: ladder_core::ids::CaseId,
        until: Timestamp,
    ) -> Result<u32, StoreError> {
        let mut fired = 0;
        // A clock fires at most once per warning and once for its breach.
        for _ in 0..32 {
            let Some(case) = self.store.case(id).await? else { return Ok(fired) };
            let due = case
                .clocks
                .iter()
                .enumerate()
                .filter(|(_, c)| c.state.is_counting())
                .filter_map(|(i, c)| c.next_fire.filter(|at| *at <= until).map(|at| (at, i, c.generation)))
                .min();
            let Some((at, index, generation)) = due else { return Ok(fired) };
            let timer =
                DueTimer { case_id: id, case_number: case.number, clock_index: index as u32, generation, fire_at: at };
            if !self.fire_timer(&timer, at).await? {
                return Ok(fired);
            }
            fired += 1;
        }
        Ok(fired)
    }

    /// Fires one timer at `now`: the clock's due warnings and breach, the matrix rules they
    /// trigger, and the clock changes that follow (an escalation starts the next level's
    /// clocks), in one write. Returns whether anything was recorded. A timer that finds
    /// nothing to do is re-armed from the case's clocks (never sooner than a second from
    /// `now`), so it is not picked up again at once.
    pub async fn fire_timer(&self, timer: &DueTimer, now: Timestamp) -> Result<bool, StoreError> {
        let Some(case) = self.store.case(timer.case_id).await? else {
            self.store.reset_timers(timer.case_id, now).await?;
            return Ok(false);
        };
        let active = self.active_matrix();
        let customer = match (&active, case.customer) {
            (Some(_), Some(id)) => self.store.customer(id).await?,
            _ => None,
        };
        let teams = self.team_refs().await?;
        let ladder = self.ladder();
        let (index, generation) = (timer.clock_index as usize, timer.generation);
        let decide = move |case: Option<&Case>, _next: u64| {
            let Some(case) = case else { return Ok(Decided::default()) };
            let (events, triggers) = match &active {
                Some(active) => {
                    let around = Surroundings { customer: customer.as_ref(), teams: &teams, ladder: &ladder };
                    apply::fire_timer(active, case, index, generation, &around, now, uuid::Uuid::now_v7)
                }
                // Without a matrix in force, only the clocks' own warnings and breach.
                None => {
                    let policy =
                        SlaPolicy::new(&Default::default(), None).map_err(|e| StoreError::Internal(e.to_string()))?;
                    (sla::fire_recorded(&policy, case, index, generation, &ladder, now), Vec::new())
                }
            };
            Ok(Decided { events, triggers })
        };
        let outcome = self.system_write(case.id, Box::new(decide)).await?;
        if outcome.events.is_empty() {
            self.store.reset_timers(case.id, now + SignedDuration::from_secs(1)).await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Re-evaluates the clocks of every case with live clocks against the matrix in force
    /// (after another version was activated or rolled back): a clock whose target or
    /// calendar changed is retargeted, the business time already spent counting against
    /// the new target; an open case without clocks gets its level's clocks from `now`.
    /// Returns how many cases changed. Runs in batches; cost grows with the open cases.
    pub async fn reevaluate_clocks(&self, now: Timestamp) -> Result<usize, StoreError> {
        let Some(active) = self.active_matrix() else { return Ok(0) };
        let ladder = self.ladder();
        let mut after = 0;
        let mut changed = 0;
        loop {
            let cases = self.store.cases_with_live_clocks(after, 500).await?;
            let Some(last) = cases.last() else { return Ok(changed) };
            after = last.number;
            for case in cases {
                let customer = match case.customer {
                    Some(id) => self.store.customer(id).await?,
                    None => None,
                };
                let (active, ladder) = (active.clone(), ladder.clone());
                let decide = move |case: Option<&Case>, _next: u64| {
                    let Some(case) = case else { return Ok(Vec::new()) };
                    Ok(sla::clock_events(&active.sla, Some(case), &[], customer.as_ref(), &ladder, now))
                };
                let outcome = self.system_write(case.id, crate::decided(decide)).await?;
                if !outcome.events.is_empty() {
                    changed += 1;
                }
            }
        }
    }

    /// The timer loop: fire what is due, sleep until the soonest armed timer (or a wake-up
    /// from a write that armed a sooner one), until `shutdown` turns true.
    pub async fn run_timers(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                if let Err(e) = self.store.release_timers(self.node().to_string()).await {
                    tracing::warn!(error = %e, "could not give back claimed timers; their claims end by themselves");
                }
                return;
            }
            let mut pause = Duration::ZERO;
            let now = self.now();
            let swept = self.sweep(now, true).await;
            if swept.is_ok() {
                *self.inner.timers.last_sweep.lock().expect("timer lock") = Some(now);
                self.inner.timers.sweeps.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            }
            match swept {
                Ok(r) if r.fired > 0 => tracing::debug!(fired = r.fired, stale = r.stale, "timers fired"),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not fire due timers; retrying");
                    pause = Duration::from_secs(1);
                }
            }
            let next = match self.store.next_timer_at().await {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the next timer");
                    pause = Duration::from_secs(1);
                    None
                }
            };
            *self.inner.timers.soonest.lock().expect("timer lock") = next;
            wait_for_work(self.now(), next, MAX_IDLE, pause, &self.inner.timers.wake, &mut shutdown).await;
        }
    }
}

/// A background loop's rest between rounds: until `next` is due (at most `max_idle`, at least
/// `pause`), until `wake` is notified, or until shutdown — at once when `next` is already due.
pub(crate) async fn wait_for_work(
    now: Timestamp,
    next: Option<Timestamp>,
    max_idle: Duration,
    pause: Duration,
    wake: &Notify,
    shutdown: &mut watch::Receiver<bool>,
) {
    let wait = match next {
        Some(t) => Duration::try_from(t.duration_since(now)).unwrap_or(Duration::ZERO).min(max_idle),
        None => max_idle,
    }
    .max(pause);
    if wait.is_zero() {
        return;
    }
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = wake.notified() => {}
        _ = shutdown.changed() => {}
    }
}
