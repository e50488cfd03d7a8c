//! CPU-bound work done for a caller — linting a matrix someone sent, compiling a candidate
//! for the simulator, compiling the version to put in force — runs off the async workers:
//! on a thread of its own with a large stack ([`STACK`]), at most one such job per core at a
//! time, within a wall-clock budget. The async workers stay free for everything else
//! (`/healthz` answers while ten checks run), and a job that is slower than its budget is
//! answered as such instead of keeping its caller waiting.
//!
//! The matrix's own limits ([`ladder_core::matrix::limits`]) already bound what one
//! expression may cost; this is the second line: a bug in a CEL library, or a huge matrix
//! of many cheap rules, still cannot take the server's workers or its stack.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// The stack of a worker thread: far more than any expression within the matrix's limits
/// needs, so a parser or evaluator deeper than expected still does not abort the process.
pub const STACK: usize = 64 * 1024 * 1024;

/// How long a job waits for a free worker, and how long it may then run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub wait: Duration,
    pub run: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { wait: Duration::from_secs(5), run: Duration::from_secs(10) }
    }
}

/// Why a job was not done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Overloaded {
    /// Every worker stayed busy for the whole wait.
    #[error("the server is busy checking other matrices; no worker was free within {} s, try again", .0.as_secs())]
    Busy(Duration),
    /// The job ran longer than its budget (it is left to finish on its thread, which stays
    /// counted as busy until it does).
    #[error("the work took longer than {} s and was abandoned", .0.as_secs())]
    TooSlow(Duration),
    /// The job panicked; the process carries on.
    #[error("the work failed unexpectedly: {0}")]
    Failed(String),
}

/// The workers: a permit per core.
pub(crate) struct Workers {
    permits: Arc<Semaphore>,
    budget: Budget,
}

impl Workers {
    pub(crate) fn new(budget: Budget) -> Workers {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Workers { permits: Arc::new(Semaphore::new(cores)), budget }
    }

    /// Runs `job` on a worker thread, within the budget.
    pub(crate) async fn run<T, F>(&self, what: &'static str, job: F) -> Result<T, Overloaded>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let Budget { wait, run } = self.budget;
        let permit = match tokio::time::timeout(wait, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            // The semaphore is never closed.
            Ok(Err(_)) | Err(_) => return Err(Overloaded::Busy(wait)),
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new().name(format!("ladder-{what}")).stack_size(STACK).spawn(move || {
            // The permit is held until the job ends, answered or not: a runaway job keeps
            // its core counted as busy.
            let _permit = permit;
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            let _ = answer.send(outcome);
        });
        if let Err(e) = spawned {
            return Err(Overloaded::Failed(format!("could not start a worker thread: {e}")));
        }
        match tokio::time::timeout(run, answered).await {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(panic))) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".to_string());
                tracing::error!(job = what, panic = %message, "a worker job panicked");
                Err(Overloaded::Failed(message))
            }
            Ok(Err(_)) => Err(Overloaded::Failed("the worker thread ended without an answer".to_string())),
            Err(_) => {
                tracing::warn!(job = what, budget_s = run.as_secs_f64(), "a worker job ran over its budget");
                Err(Overloaded::TooSlow(run))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workers(wait_ms: u64, run_ms: u64) -> Workers {
        Workers::new(Budget { wait: Duration::from_millis(wait_ms), run: Duration::from_millis(run_ms) })
    }

    #[tokio::test]
    async fn a_job_answers_from_its_thread() {
        let w = workers(1000, 5000);
        let name = w.run("test", || std::thread::current().name().map(str::to_string)).await.unwrap();
        assert_eq!(name.as_deref(), Some("ladder-test"));
    }

    #[tokio::test]
    async fn deep_recursion_fits_in_a_worker_stack() {
        fn depth(n: u64) -> u64 {
            let pad = std::hint::black_box([0u8; 512]);
            if n == 0 { pad[0] as u64 } else { 1 + depth(n - 1) + pad[1] as u64 }
        }
        // About 20 MiB of stack: ten times what a default thread has.
        let w = workers(1000, 30_000);
        assert_eq!(w.run("deep", || depth(40_000)).await, Ok(40_000));
    }

    #[tokio::test]
    async fn a_job_over_its_budget_is_abandoned_and_keeps_its_worker() {
        let w = Workers { permits: Arc::new(Semaphore::new(1)), ..workers(50, 50) };
        let (release, released) = std::sync::mpsc::channel::<()>();
        let slow = w.run("slow", move || released.recv().is_ok()).await;
        assert_eq!(slow, Err(Overloaded::TooSlow(Duration::from_millis(50))));
        // Its thread still holds the only worker: the next job finds none free.
        assert_eq!(w.run("next", || 1).await, Err(Overloaded::Busy(Duration::from_millis(50))));
        release.send(()).unwrap();
        let w = Workers { budget: Budget { wait: Duration::from_secs(10), run: Duration::from_secs(10) }, ..w };
        assert_eq!(w.run("after", || 2).await, Ok(2));
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_crash() {
        let w = workers(1000, 5000);
        let r: Result<(), _> = w.run("panics", || panic!("boom")).await;
        assert_eq!(r, Err(Overloaded::Failed("boom".to_string())));
    }
}
