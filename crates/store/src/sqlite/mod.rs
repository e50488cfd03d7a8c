//! The SQLite backend: WAL mode, one writer thread with group commit, pooled readers.

mod agents;
mod approvals;
pub mod backup;
mod cases;
mod directory;
mod history;
mod insights;
mod matrix;
mod metrics;
mod queues;
mod rule_activity;
mod timers;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::{StoreConfig, StoreError, StoreResult};

pub use approvals::PendingApproval;
pub use history::CaseHistory;
pub use insights::{ApprovalFact, InsightFacts};
pub use metrics::{MetricsRow, TeamGrouping};
pub use queues::QueuedCase;
pub use rule_activity::RuleActivityRow;

/// Migrations, applied in order; `PRAGMA user_version` records how many ran. A tiny
/// runner keeps us off a second SQLite binding (the migration crates pin older rusqlite).
const MIGRATIONS: &[&str] = &[
    include_str!("0001_init.sql"),
    include_str!("0002_matrix.sql"),
    include_str!("0003_sla.sql"),
    include_str!("0004_agents.sql"),
    include_str!("0005_queues.sql"),
    include_str!("0006_approvals.sql"),
    include_str!("0007_metrics.sql"),
    include_str!("0008_rule_activity.sql"),
    include_str!("0009_insights.sql"),
];

/// The migration that created the metrics tables: a database migrated across it has its
/// metrics computed from the event log once.
const METRICS_MIGRATION: usize = 7;

/// The migration that added the metrics' `team_agent` rows: filled from `case_metrics`.
const TEAM_AGENT_MIGRATION: usize = 8;

/// The migration that added the insight tables: filled from the case documents and the log.
const INSIGHTS_MIGRATION: usize = 9;

/// Runs after a commit with its outcome, to answer the caller.
type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// One write: runs inside the batch transaction (or, given `None`, does not run because
/// the transaction could not be had) and returns how to answer.
type Job = Box<dyn for<'t, 'c> FnOnce(Option<&'t mut Tx<'c>>) -> Completion + Send>;

/// The write transaction as one write sees it: the connection, plus work deferred to the
/// end of the batch.
pub(crate) struct Tx<'c> {
    conn: &'c Connection,
    /// Full-text rows `(text, rowid)` indexed just before the commit. FTS5 flushes its
    /// in-memory index at every savepoint, so indexing inside each write's savepoint would
    /// cost one flush per write instead of one per batch.
    pub(crate) pending_text: Vec<(String, i64)>,
    /// Metrics aggregate changes of the batch's committed writes, summed, written just
    /// before the commit: one upsert per aggregate row per batch, not per write.
    pub(crate) pending_metrics: Vec<metrics::Deltas>,
    /// Matrix triggers of the batch's committed writes `(day, case number, triggers)`,
    /// counted into `rule_activity` just before the commit.
    pub(crate) pending_rules: Vec<rule_activity::Pending>,
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Tx<'_> {
    /// Indexes the batch's texts, in rowid order so FTS5 can append without flushing.
    fn flush_text(&mut self) -> rusqlite::Result<()> {
        self.pending_text.sort_by_key(|(_, rowid)| *rowid);
        let mut insert = self.conn.prepare_cached("INSERT INTO case_text (rowid, body) VALUES (?1, ?2)")?;
        for (text, rowid) in self.pending_text.drain(..) {
            insert.execute(rusqlite::params![rowid, text])?;
        }
        Ok(())
    }
}

/// The store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: mpsc::Sender<Job>,
    readers: Mutex<Vec<Connection>>,
    path: PathBuf,
    config: StoreConfig,
    /// The teams, read at most once a second (routing, rules and every team lookup read
    /// them): dropped on this store's own team writes, and stale for at most a second after
    /// another process (`ladder admin team …`) changes them.
    teams_cache: Mutex<Option<(std::time::Instant, Arc<Vec<ladder_core::directory::Team>>)>>,
}

/// Page cache of the writer, and of each pooled reader (KiB). Readers share the OS page
/// cache; a smaller private cache each keeps the process small under read load (16 readers
/// at most are kept: 256 MiB plus the writer's 64 MiB in the worst case).
const WRITER_CACHE_KIB: i64 = 64_000;
const READER_CACHE_KIB: i64 = 16_000;

fn open_connection(path: &Path, config: &StoreConfig, cache_kib: i64) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", if config.synchronous_full { "FULL" } else { "NORMAL" })?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let done: usize = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if done > MIGRATIONS.len() {
        return Err(StoreError::Internal(format!(
            "the database is at schema version {done}, newer than this build knows ({}); upgrade ladder",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if i + 1 == METRICS_MIGRATION {
            metrics::rebuild(&tx)?;
        } else if i + 1 == TEAM_AGENT_MIGRATION && done >= METRICS_MIGRATION {
            // A database built before: add the new dimension's rows (a rebuild just above
            // already counted them).
            metrics::add_dimension(&tx, ladder_core::metrics::Dimension::TeamAgent)?;
        } else if i + 1 == INSIGHTS_MIGRATION {
            insights::rebuild(&tx)?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied migration");
    }
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir/ladder.db` and starts the writer.
    pub fn open(data_dir: &Path, config: StoreConfig) -> StoreResult<Store> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Internal(format!("cannot create data dir {}: {e}", data_dir.display())))?;
        let path = data_dir.join("ladder.db");
        let mut writer = open_connection(&path, &config, WRITER_CACHE_KIB)?;
        migrate(&mut writer)?;
        // Keep the query planner's statistics fresh (cheap: bounded sampling), so a list
        // filter uses the most selective index.
        writer.execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")?;
        let (jobs, rx) = mpsc::channel::<Job>(8192);
        let max_batch = config.max_batch.max(1);
        std::thread::Builder::new()
            .name("ladder-writer".into())
            .spawn(move || writer_loop(writer, rx, max_batch))
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        Ok(Store {
            inner: Arc::new(Inner {
                jobs,
                readers: Mutex::new(Vec::new()),
                path,
                config,
                teams_cache: Mutex::new(None),
            }),
        })
    }

    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in the next write transaction (inside its own savepoint, so a failing
    /// write never spoils the others in the batch) and answers after the commit.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tx) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (tx, rx) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |conn: Option<&mut Tx>| {
            let result = match conn {
                Some(conn) => run_in_savepoint(conn, f),
                None => Err(StoreError::Internal("the write transaction failed".into())),
            };
            Box::new(move |commit: Result<(), StoreError>| {
                let _ = tx.send(commit.and(result));
            })
        });
        self.inner.jobs.send(job).await.map_err(|_| StoreError::Internal("the writer has stopped".into()))?;
        rx.await.map_err(|_| StoreError::Internal("the writer dropped the write".into()))?
    }

    /// Runs a read on a pooled connection off the async runtime.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.readers.lock().expect("reader pool poisoned").pop();
            let conn = match conn {
                Some(c) => c,
                None => open_connection(&inner.path, &inner.config, READER_CACHE_KIB)?,
            };
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(&conn)))
                .unwrap_or_else(|_| Err(StoreError::Internal("a read panicked".into())));
            let mut pool = inner.readers.lock().expect("reader pool poisoned");
            if pool.len() < 16 {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))?
    }

    /// Refreshes the query planner's statistics where they are stale (cheap; run hourly).
    pub async fn optimize(&self) -> StoreResult<()> {
        self.write(|conn| Ok(conn.execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize;")?)).await
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> StoreResult<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).map(|_| ())?)).await
    }

    /// Counts of events and cases.
    pub async fn stats(&self) -> StoreResult<crate::StoreStats> {
        self.read(|c| {
            let n_events = c.query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))?;
            let n_cases = c.query_row("SELECT count(*) FROM cases", [], |r| r.get(0))?;
            Ok(crate::StoreStats { n_events, n_cases })
        })
        .await
    }
}

fn run_in_savepoint<T>(conn: &mut Tx, f: impl FnOnce(&mut Tx) -> StoreResult<T>) -> StoreResult<T> {
    conn.execute_batch("SAVEPOINT job")?;
    let pending_mark = conn.pending_text.len();
    let metrics_mark = conn.pending_metrics.len();
    let rules_mark = conn.pending_rules.len();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %what, "a write panicked; rolled back");
        Err(StoreError::Internal(format!("a write panicked: {what}")))
    });
    match &result {
        Ok(_) => conn.execute_batch("RELEASE job")?,
        Err(_) => {
            conn.pending_text.truncate(pending_mark);
            conn.pending_metrics.truncate(metrics_mark);
            conn.pending_rules.truncate(rules_mark);
            conn.execute_batch("ROLLBACK TO job; RELEASE job")?
        }
    }
    result
}

fn writer_loop(conn: Connection, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
        let commit = match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {
                let mut lost = None;
                let mut tx = Tx {
                    conn: &conn,
                    pending_text: Vec::new(),
                    pending_metrics: Default::default(),
                    pending_rules: Vec::new(),
                };
                for job in batch.drain(..) {
                    if lost.is_some() {
                        completions.push(job(None));
                        continue;
                    }
                    completions.push(job(Some(&mut tx)));
                    // SQLite rolls the whole transaction back by itself on some errors (disk
                    // full, I/O): then nothing of this batch will be committed.
                    if conn.is_autocommit() {
                        lost = Some(StoreError::Internal("the write transaction was rolled back by SQLite".into()));
                    }
                }
                if lost.is_none()
                    && let Err(e) = tx.flush_text()
                {
                    lost = Some(StoreError::from(e));
                }
                if lost.is_none()
                    && let Err(e) = metrics::write_batch_deltas(&conn, std::mem::take(&mut tx.pending_metrics))
                {
                    lost = Some(e);
                }
                if lost.is_none()
                    && let Err(e) = rule_activity::write_batch(&conn, std::mem::take(&mut tx.pending_rules))
                {
                    lost = Some(e);
                }
                match lost {
                    Some(e) => Err(e),
                    None => conn.execute_batch("COMMIT").map_err(StoreError::from),
                }
            }
            Err(e) => {
                // Could not even begin: run none, answer every caller with the error.
                completions.extend(batch.drain(..).map(|job| job(None)));
                Err(StoreError::from(e))
            }
        };
        if let Err(e) = &commit {
            tracing::error!(error = %e, "the write batch failed and was rolled back");
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
        for done in completions {
            done(commit.clone());
        }
    }
}

/// Instants are stored as nanoseconds since the Unix epoch (an i64 covers 1677–2262),
/// so a stored event carries exactly the time the domain saw.
pub(crate) fn ts_to_ns(t: jiff::Timestamp) -> i64 {
    t.as_nanosecond() as i64
}

pub(crate) fn ns_to_ts(ns: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_nanosecond(ns as i128).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}
