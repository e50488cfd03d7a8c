//! The store on either backend: one writer with group commit, pooled readers, embedded
//! migrations per backend. SQLite (WAL mode, one file in the data directory) is the
//! default; PostgreSQL is chosen by a `postgres://` URL. Every query is written once, in the
//! SQL both speak (see [`crate::db`]).

mod agents;
mod approvals;
mod audit;
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
mod transfer;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::db::{Db, PgConn};
use crate::{StoreConfig, StoreError, StoreResult};

pub use approvals::{ApprovalKeep, PendingApproval};
pub use audit::{AuditEntry, AuditFilter};
pub use history::CaseHistory;
pub use insights::{ApprovalFact, InsightFacts};
pub use metrics::{MetricsRow, TeamGrouping};
pub use queues::QueuedCase;
pub use rule_activity::RuleActivityRow;
pub use transfer::TransferSummary;

/// SQLite migrations, applied in order; `PRAGMA user_version` records how many ran. A tiny
/// runner keeps us off a second SQLite binding (the migration crates pin older rusqlite).
const MIGRATIONS: &[&str] = &[
    include_str!("sqlite/0001_init.sql"),
    include_str!("sqlite/0002_matrix.sql"),
    include_str!("sqlite/0003_sla.sql"),
    include_str!("sqlite/0004_agents.sql"),
    include_str!("sqlite/0005_queues.sql"),
    include_str!("sqlite/0006_approvals.sql"),
    include_str!("sqlite/0007_metrics.sql"),
    include_str!("sqlite/0008_rule_activity.sql"),
    include_str!("sqlite/0009_timer_leases.sql"),
    include_str!("sqlite/0010_insights.sql"),
    include_str!("sqlite/0011_audit.sql"),
];

/// The PostgreSQL twins of [`MIGRATIONS`], one for one; `ladder_schema` records how many ran.
const PG_MIGRATIONS: &[&str] = &[
    include_str!("postgres/0001_init.sql"),
    include_str!("postgres/0002_matrix.sql"),
    include_str!("postgres/0003_sla.sql"),
    include_str!("postgres/0004_agents.sql"),
    include_str!("postgres/0005_queues.sql"),
    include_str!("postgres/0006_approvals.sql"),
    include_str!("postgres/0007_metrics.sql"),
    include_str!("postgres/0008_rule_activity.sql"),
    include_str!("postgres/0009_timer_leases.sql"),
    include_str!("postgres/0010_insights.sql"),
    include_str!("postgres/0011_audit.sql"),
];

/// The migration that created the metrics tables: a database migrated across it has its
/// metrics computed from the event log once.
const METRICS_MIGRATION: usize = 7;

/// The migration that added the metrics' `team_agent` rows: filled from `case_metrics`.
const TEAM_AGENT_MIGRATION: usize = 8;

/// The migration that added the insight tables: filled from the case documents and the log.
const INSIGHTS_MIGRATION: usize = 10;

/// Runs after a commit with its outcome, to answer the caller.
type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// One write: runs inside the batch transaction (or, given `None`, does not run because
/// the transaction could not be had) and returns how to answer.
type Job = Box<dyn for<'t, 'c> FnOnce(Option<&'t mut Tx<'c>>) -> Completion + Send>;

/// The write transaction as one write sees it: the connection, plus work deferred to the
/// end of the batch.
pub(crate) struct Tx<'c> {
    db: Db<'c>,
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
    /// Cases the batch's committed writes changed: announced to the other servers on the
    /// database (PostgreSQL `NOTIFY`, delivered with the commit).
    pub(crate) pending_changed: Vec<ladder_core::ids::CaseId>,
    /// Whether the batch put another matrix version in force (announced like cases).
    pub(crate) pending_matrix: bool,
    /// On PostgreSQL, the last write's savepoint is released together with the next write's
    /// `SAVEPOINT` (or by the commit): one round trip per write less.
    release_pending: bool,
    /// On PostgreSQL, the event sequence number the batch assigns next: read once per batch
    /// (the writers' advisory lock keeps it ours), so an event's insert needs no answer and
    /// can be deferred. The identity sequence is moved past it at the batch's end.
    next_event_seq: Option<i64>,
    /// This store's name in those announcements (so it skips its own), and their channel.
    origin: &'c str,
    channel: &'c str,
}

impl<'c> std::ops::Deref for Tx<'c> {
    type Target = Db<'c>;
    fn deref(&self) -> &Db<'c> {
        &self.db
    }
}

impl<'c> std::ops::DerefMut for Tx<'c> {
    fn deref_mut(&mut self) -> &mut Db<'c> {
        &mut self.db
    }
}

impl Tx<'_> {
    fn new<'a>(db: Db<'a>, origin: &'a str, channel: &'a str) -> Tx<'a> {
        Tx {
            db,
            pending_text: Vec::new(),
            pending_metrics: Vec::new(),
            pending_rules: Vec::new(),
            pending_changed: Vec::new(),
            pending_matrix: false,
            release_pending: false,
            next_event_seq: None,
            origin,
            channel,
        }
    }

    /// Indexes the batch's texts, in rowid order so FTS5 can append without flushing. On
    /// PostgreSQL, many rows per statement (each statement is a round trip to the server).
    fn flush_text(&mut self) -> StoreResult<()> {
        self.pending_text.sort_by_key(|(_, rowid)| *rowid);
        let texts = std::mem::take(&mut self.pending_text);
        if !self.db.is_postgres() {
            for (text, rowid) in texts {
                self.db.exec("INSERT INTO case_text (rowid, body) VALUES (?1, ?2)", crate::db::args![rowid, text])?;
            }
            return Ok(());
        }
        for chunk in texts.chunks(TEXT_ROWS_PER_INSERT) {
            let rows: Vec<serde_json::Value> =
                chunk.iter().map(|(text, rowid)| serde_json::json!([rowid, text])).collect();
            self.db.exec(
                "INSERT INTO case_text (rowid, body)
                 SELECT CAST(t.r->>0 AS BIGINT), t.r->>1 FROM jsonb_array_elements(CAST(CAST(?1 AS TEXT) AS JSONB)) AS t(r)",
                crate::db::args![serde_json::Value::Array(rows).to_string()],
            )?;
        }
        Ok(())
    }

    /// The sequence number of the next event this batch writes on PostgreSQL (numbers of a
    /// write that is rolled back are skipped, as the identity sequence would skip them).
    pub(crate) fn next_event_seq(&mut self) -> StoreResult<i64> {
        let next = match self.next_event_seq {
            Some(next) => next,
            None => self.db.value::<i64>("SELECT coalesce(max(seq), 0) + 1 FROM events", crate::db::args![])?,
        };
        self.next_event_seq = Some(next + 1);
        Ok(next)
    }

    /// Writes what the batch deferred to its end.
    fn flush(&mut self) -> StoreResult<()> {
        if let Some(next) = self.next_event_seq.take() {
            // Events written without an explicit number (none today) follow ours.
            self.db
                .defer("SELECT setval(pg_get_serial_sequence('events', 'seq'), ?1, false)", crate::db::args![next])?;
        }
        self.flush_text()?;
        metrics::write_batch_deltas(&mut self.db, std::mem::take(&mut self.pending_metrics))?;
        rule_activity::write_batch(&mut self.db, std::mem::take(&mut self.pending_rules))?;
        self.announce()
    }

    /// On PostgreSQL, tells the other servers which cases changed (`NOTIFY`, delivered on
    /// commit, in payloads under PostgreSQL's 8000-byte limit).
    fn announce(&mut self) -> StoreResult<()> {
        let mut changed = std::mem::take(&mut self.pending_changed);
        let matrix = std::mem::take(&mut self.pending_matrix);
        if !self.db.is_postgres() {
            return Ok(());
        }
        changed.sort();
        changed.dedup();
        let mut payloads: Vec<String> = changed
            .chunks(150)
            .map(|chunk| chunk.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(","))
            .collect();
        if matrix {
            payloads.push(MATRIX_CHANGED.to_string());
        }
        for payload in payloads {
            self.db.value::<String>(
                "SELECT CAST(pg_notify(?1, ?2) AS TEXT)",
                crate::db::args![self.channel, format!("{} {payload}", self.origin)],
            )?;
        }
        Ok(())
    }
}

/// The announcement that another matrix version is in force.
const MATRIX_CHANGED: &str = "matrix";

/// What another server on the database changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// These cases.
    Cases(Vec<ladder_core::ids::CaseId>),
    /// Which matrix version is in force.
    Matrix,
}
/// Full-text rows per `INSERT` on PostgreSQL (sent as one JSON array argument).
const TEXT_ROWS_PER_INSERT: usize = 1024;

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Location {
    /// A SQLite database `ladder.db` in this directory.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by URL (`postgres://user@host:port/db`).
    Postgres(String),
}

impl Location {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else is a SQLite data directory
    /// (`sqlite://DIR` or a plain path).
    pub fn parse(s: &str) -> Location {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Location::Postgres(s.to_string())
        } else {
            Location::Sqlite(PathBuf::from(s.strip_prefix("sqlite://").unwrap_or(s)))
        }
    }

    /// For logs and messages: the URL without its password.
    pub fn redacted(&self) -> String {
        match self {
            Location::Sqlite(dir) => dir.join("ladder.db").display().to_string(),
            Location::Postgres(url) => redact_url(url),
        }
    }
}

/// The PostgreSQL database tests use: `LADDER_TEST_POSTGRES_URL`, or the one on this machine.
pub const TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Where a test's store lives: `dir` (SQLite), or, when `LADDER_TEST_BACKEND=postgres`, a
/// new empty schema of its own in the test PostgreSQL database — so the same tests run on
/// both backends, in parallel.
pub fn test_location(dir: &Path) -> Location {
    match std::env::var("LADDER_TEST_BACKEND").as_deref() {
        Ok("postgres") => test_postgres_location(),
        _ => Location::Sqlite(dir.to_path_buf()),
    }
}

/// A new empty schema in the test PostgreSQL database (see [`TEST_POSTGRES_URL`]).
pub fn test_postgres_location() -> Location {
    let url = std::env::var("LADDER_TEST_POSTGRES_URL").unwrap_or_else(|_| TEST_POSTGRES_URL.to_string());
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let config = pg_config(&url).expect("LADDER_TEST_POSTGRES_URL is a PostgreSQL URL");
    let mut conn = pg_connect(&config, &url).expect("the test PostgreSQL database answers");
    crate::db::off_runtime(|| conn.batch_execute(&format!("CREATE SCHEMA {schema}"))).expect("a test schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    Location::Postgres(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
    /// Written with every write made through this handle (see [`Store::audited`]).
    audit: Option<Arc<audit::AuditEntry>>,
}

#[allow(clippy::large_enum_variant)] // a handful live per process
enum Backend {
    Sqlite {
        path: PathBuf,
    },
    Postgres {
        config: tokio_postgres::Config,
        url: String,
        /// The `NOTIFY` channel of this database and schema (servers of other Ladder
        /// installations in other schemas of the same database do not hear each other).
        channel: String,
    },
}

/// A pooled reader of either backend.
#[allow(clippy::large_enum_variant)] // a handful live per process
enum ReaderConn {
    Lite(Connection),
    Pg(PgConn),
}

impl ReaderConn {
    fn db(&mut self) -> Db<'_> {
        match self {
            ReaderConn::Lite(c) => Db::Lite(c),
            ReaderConn::Pg(c) => Db::Pg(c),
        }
    }
}

struct Inner {
    location: Location,
    /// This store's name in change announcements to other servers.
    origin: String,
    jobs: mpsc::Sender<Job>,
    readers: Mutex<Vec<ReaderConn>>,
    /// On PostgreSQL, reads at once (and so reader connections) are capped: every
    /// connection is a server process, and the servers sharing a database share its
    /// `max_connections`. A burst of reads (a timer sweep fires hundreds of cases at once)
    /// would otherwise open a connection per read in flight.
    read_permits: Option<tokio::sync::Semaphore>,
    backend: Backend,
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

/// Reader connections the pool keeps; on PostgreSQL also the most reads in flight at once.
const MAX_POOLED_READERS: usize = 16;
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

fn pg_config(url: &str) -> StoreResult<tokio_postgres::Config> {
    let mut config: tokio_postgres::Config =
        url.parse().map_err(|e| StoreError::Internal(format!("bad PostgreSQL URL {}: {e}", redact_url(url))))?;
    if config.get_application_name().is_none() {
        config.application_name("ladder");
    }
    config.connect_timeout(Duration::from_secs(10));
    Ok(config)
}

fn pg_connect(config: &tokio_postgres::Config, url: &str) -> StoreResult<PgConn> {
    PgConn::connect(config)
        .map_err(|e| StoreError::Internal(format!("cannot connect to PostgreSQL at {}: {e}", redact_url(url))))
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let done: usize = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    check_schema(done, MIGRATIONS.len())?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        after_migration(&mut Db::Lite(&tx), i + 1, done)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied migration");
    }
    Ok(())
}

fn check_schema(done: usize, known: usize) -> StoreResult<()> {
    if done > known {
        return Err(StoreError::Internal(format!(
            "the database is at schema version {done}, newer than this build knows ({known}); upgrade ladder"
        )));
    }
    Ok(())
}

/// Data work a migration needs beyond its SQL.
fn after_migration(db: &mut Db, version: usize, done: usize) -> StoreResult<()> {
    if version == METRICS_MIGRATION {
        metrics::rebuild(db)?;
    } else if version == TEAM_AGENT_MIGRATION && done >= METRICS_MIGRATION {
        // A database built before: add the new dimension's rows (a rebuild just above
        // already counted them).
        metrics::add_dimension(db, ladder_core::metrics::Dimension::TeamAgent)?;
    } else if version == INSIGHTS_MIGRATION {
        insights::rebuild(db)?;
    }
    Ok(())
}

/// PostgreSQL migrations, each in its own transaction under an advisory lock, so nodes
/// starting together migrate once.
fn migrate_pg(conn: &mut PgConn) -> StoreResult<()> {
    let mut db = Db::Pg(conn);
    db.batch("CREATE TABLE IF NOT EXISTS ladder_schema (version BIGINT NOT NULL)")?;
    // The version the database had before this run, as SQLite's runner sees it.
    let mut before: Option<usize> = None;
    loop {
        db.batch("BEGIN; SELECT pg_advisory_xact_lock(7365421)")?;
        let done = db.value_opt::<i64>("SELECT version FROM ladder_schema", crate::db::args![])?.unwrap_or(0) as usize;
        let start = *before.get_or_insert(done);
        let step = (|| -> StoreResult<bool> {
            check_schema(done, PG_MIGRATIONS.len())?;
            let Some(sql) = PG_MIGRATIONS.get(done) else { return Ok(false) };
            db.batch(sql)?;
            after_migration(&mut db, done + 1, start)?;
            db.exec("DELETE FROM ladder_schema", crate::db::args![])?;
            db.exec("INSERT INTO ladder_schema (version) VALUES (?1)", crate::db::args![(done + 1) as i64])?;
            Ok(true)
        })();
        match step {
            Ok(more) => {
                db.batch("COMMIT")?;
                if !more {
                    return Ok(());
                }
                tracing::info!(version = done + 1, "applied migration");
            }
            Err(e) => {
                let _ = db.batch("ROLLBACK");
                return Err(e);
            }
        }
    }
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir/ladder.db` and starts the writer.
    pub fn open(data_dir: &Path, config: StoreConfig) -> StoreResult<Store> {
        Store::open_at(&Location::Sqlite(data_dir.to_path_buf()), config)
    }

    /// Opens the store at `location` (migrating it) and starts the writer.
    pub fn open_at(location: &Location, config: StoreConfig) -> StoreResult<Store> {
        let (jobs, rx) = mpsc::channel::<Job>(8192);
        let max_batch = config.max_batch.max(1);
        let origin = uuid::Uuid::now_v7().simple().to_string();
        let writer_origin = origin.clone();
        let backend = match location {
            Location::Sqlite(data_dir) => {
                std::fs::create_dir_all(data_dir)
                    .map_err(|e| StoreError::Internal(format!("cannot create data dir {}: {e}", data_dir.display())))?;
                let path = data_dir.join("ladder.db");
                let mut writer = open_connection(&path, &config, WRITER_CACHE_KIB)?;
                migrate(&mut writer)?;
                // Keep the query planner's statistics fresh (cheap: bounded sampling), so a list
                // filter uses the most selective index.
                writer.execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")?;
                spawn_writer(move || writer_loop(Writer::Lite(writer), rx, max_batch, writer_origin))?;
                Backend::Sqlite { path }
            }
            Location::Postgres(url) => {
                let pg = pg_config(url)?;
                let mut writer = pg_connect(&pg, url)?;
                crate::db::off_runtime(|| migrate_pg(&mut writer))?;
                let schema: String = crate::db::off_runtime(|| {
                    Db::Pg(&mut writer).value("SELECT CAST(current_schema() AS TEXT)", crate::db::args![])
                })?;
                let channel = format!("ladder_changes_{schema}");
                let writer_channel = channel.clone();
                let (config, writer_url) = (pg.clone(), url.clone());
                spawn_writer(move || {
                    let writer = Writer::Pg { conn: writer, config, url: writer_url, channel: writer_channel };
                    writer_loop(writer, rx, max_batch, writer_origin)
                })?;
                Backend::Postgres { config: pg, url: url.clone(), channel }
            }
        };
        Ok(Store {
            inner: Arc::new(Inner {
                location: location.clone(),
                origin,
                jobs,
                readers: Mutex::new(Vec::new()),
                read_permits: matches!(backend, Backend::Postgres { .. })
                    .then(|| tokio::sync::Semaphore::new(MAX_POOLED_READERS)),
                backend,
                config,
                teams_cache: Mutex::new(None),
            }),
            audit: None,
        })
    }

    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// Where this store's data lives (to open it again).
    pub fn location(&self) -> &Location {
        &self.inner.location
    }

    /// The SQLite database file, or `None` on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.inner.backend {
            Backend::Sqlite { path } => Some(path),
            Backend::Postgres { .. } => None,
        }
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self.inner.backend, Backend::Postgres { .. })
    }

    /// Runs `f` in the next write transaction (inside its own savepoint, so a failing
    /// write never spoils the others in the batch) and answers after the commit.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tx) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (tx, rx) = oneshot::channel::<StoreResult<T>>();
        let audit = self.audit.clone();
        let job: Job = Box::new(move |conn: Option<&mut Tx>| {
            let result = match conn {
                Some(conn) => run_in_savepoint(conn, move |conn| {
                    let value = f(conn)?;
                    if let Some(entry) = &audit {
                        audit::record(conn, entry)?;
                    }
                    Ok(value)
                }),
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
        f: impl FnOnce(&mut Db) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let _permit = match &self.inner.read_permits {
            Some(permits) => {
                Some(permits.acquire().await.map_err(|_| StoreError::Internal("the store is closed".into()))?)
            }
            None => None,
        };
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.readers.lock().expect("reader pool poisoned").pop();
            let mut conn = match conn {
                Some(c) => c,
                None => match &inner.backend {
                    Backend::Sqlite { path } => {
                        ReaderConn::Lite(open_connection(path, &inner.config, READER_CACHE_KIB)?)
                    }
                    Backend::Postgres { config, url, .. } => ReaderConn::Pg(pg_connect(config, url)?),
                },
            };
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(&mut conn.db())))
                .unwrap_or_else(|_| Err(StoreError::Internal("a read panicked".into())));
            let broken = matches!(&conn, ReaderConn::Pg(c) if c.is_closed());
            let mut pool = inner.readers.lock().expect("reader pool poisoned");
            if pool.len() < MAX_POOLED_READERS && !broken {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))?
    }

    /// Runs a read on a SQLite connection; PostgreSQL answers `unsupported` with `what`.
    pub(crate) async fn read_sqlite<T: Send + 'static>(
        &self,
        what: &'static str,
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        if self.is_postgres() {
            return Err(StoreError::Internal(format!("{what} is for the SQLite store only")));
        }
        self.read(move |db| match db {
            Db::Lite(c) => f(c),
            Db::Pg(_) => unreachable!("checked above"),
        })
        .await
    }

    /// Refreshes the query planner's statistics where they are stale (cheap; run hourly).
    ///
    /// On PostgreSQL only the store's own tables (those of its schema) are analyzed, on a
    /// reader connection so each table commits on its own and writes go on meanwhile. A bare
    /// `ANALYZE` would take every table of the database, other schemas' and other
    /// applications' too, in one transaction: on a shared database that is slow and runs out
    /// of lock slots ("out of shared memory").
    pub async fn optimize(&self) -> StoreResult<()> {
        if self.is_postgres() {
            return self
                .read(|db| {
                    let tables: Option<String> = db.value(
                        "SELECT string_agg(quote_ident(tablename), ', ' ORDER BY tablename) FROM pg_tables \
                         WHERE schemaname = current_schema()",
                        crate::db::args![],
                    )?;
                    match tables {
                        Some(tables) => Ok(db.batch(&format!("ANALYZE {tables}"))?),
                        None => Ok(()),
                    }
                })
                .await;
        }
        self.write(|conn| Ok(conn.batch("PRAGMA analysis_limit = 1000; PRAGMA optimize;")?)).await
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> StoreResult<()> {
        self.read(|c| c.value::<i64>("SELECT 1", crate::db::args![]).map(|_| ())).await
    }

    /// Counts of events and cases.
    pub async fn stats(&self) -> StoreResult<crate::StoreStats> {
        self.read(|c| {
            let n_events: i64 = c.value("SELECT coalesce(max(seq), 0) FROM events", crate::db::args![])?;
            let n_cases: i64 = c.value("SELECT count(*) FROM cases", crate::db::args![])?;
            Ok(crate::StoreStats { n_events, n_cases })
        })
        .await
    }
}

impl Store {
    /// On PostgreSQL, the cases other servers on the database change, as they commit
    /// (`LISTEN`); `None` on SQLite, which one server owns. A listening thread reconnects
    /// after a lost connection (announcements made meanwhile are missed: live views catch
    /// up on their next change, timers on their next sweep). It stops when the receiver is
    /// dropped. Answers once the first `LISTEN` is in place (or after 10 s without one).
    pub async fn changes_from_other_servers(&self) -> Option<mpsc::Receiver<Change>> {
        let Backend::Postgres { config, url, channel } = &self.inner.backend else { return None };
        let (tx, rx) = mpsc::channel(1024);
        let (config, url, channel) = (config.clone(), url.clone(), channel.clone());
        let origin = self.inner.origin.clone();
        let (ready, listening) = oneshot::channel();
        std::thread::Builder::new()
            .name("ladder-listen".into())
            .spawn(move || listen_loop(&config, &url, &channel, &origin, &tx, ready))
            .map_err(|e| tracing::error!(error = %e, "could not start listening to other servers"))
            .ok()?;
        if tokio::time::timeout(Duration::from_secs(10), listening).await.is_err() {
            tracing::warn!("not yet listening to other servers; carrying on");
        }
        Some(rx)
    }
}

fn listen_loop(
    config: &tokio_postgres::Config,
    url: &str,
    channel: &str,
    origin: &str,
    tx: &mpsc::Sender<Change>,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    use postgres::fallible_iterator::FallibleIterator;
    while !tx.is_closed() {
        // A blocking client of its own: it hands out the notifications.
        let mut conn = match postgres::Config::from(config.clone()).connect(postgres::NoTls) {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, url = %redact_url(url), "cannot listen to other servers; retrying");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if let Err(e) = conn.batch_execute(&format!("LISTEN \"{}\"", channel.replace('"', ""))) {
            tracing::warn!(error = %e, "cannot listen to other servers; retrying");
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        while !tx.is_closed() {
            let next = conn.notifications().timeout_iter(Duration::from_secs(2)).next();
            match next {
                Ok(Some(note)) => {
                    let Some((from, ids)) = note.payload().split_once(' ') else { continue };
                    if from == origin {
                        continue;
                    }
                    let change = if ids == MATRIX_CHANGED {
                        Change::Matrix
                    } else {
                        Change::Cases(ids.split(',').filter_map(|id| id.parse().ok()).collect())
                    };
                    if tx.blocking_send(change).is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "lost the connection listening to other servers; reconnecting");
                    break;
                }
            }
        }
    }
}

fn spawn_writer(run: impl FnOnce() + Send + 'static) -> StoreResult<()> {
    std::thread::Builder::new()
        .name("ladder-writer".into())
        .spawn(run)
        .map(|_| ())
        .map_err(|e| StoreError::Internal(e.to_string()))
}

fn run_in_savepoint<T>(conn: &mut Tx, f: impl FnOnce(&mut Tx) -> StoreResult<T>) -> StoreResult<T> {
    let release = std::mem::take(&mut conn.release_pending);
    if conn.is_postgres() {
        // Sent with the write's first statement.
        if release {
            conn.defer("RELEASE job", crate::db::args![])?;
        }
        conn.defer("SAVEPOINT job", crate::db::args![])?;
    } else {
        conn.batch(if release { "RELEASE job; SAVEPOINT job" } else { "SAVEPOINT job" })?;
    }
    // What the write defers from here on is its own, and dropped if it fails.
    let deferred_mark = conn.deferred_len();
    let pending_mark = conn.pending_text.len();
    let metrics_mark = conn.pending_metrics.len();
    let rules_mark = conn.pending_rules.len();
    let changed_mark = conn.pending_changed.len();
    let matrix_before = conn.pending_matrix;
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %what, "a write panicked; rolled back");
        Err(StoreError::Internal(format!("a write panicked: {what}")))
    });
    // A deferred statement's failure is the write's failure.
    let result = result.and_then(|value| conn.sync().map(|()| value).map_err(StoreError::from));
    match &result {
        // Released with the next write's savepoint, or by the commit (the statements the
        // batch runs at its end then run inside it, and commit with it).
        Ok(_) if conn.is_postgres() => conn.release_pending = true,
        Ok(_) => conn.batch("RELEASE job")?,
        Err(_) => {
            conn.discard_deferred_after(deferred_mark);
            conn.pending_text.truncate(pending_mark);
            conn.pending_metrics.truncate(metrics_mark);
            conn.pending_rules.truncate(rules_mark);
            conn.pending_changed.truncate(changed_mark);
            conn.pending_matrix = matrix_before;
            conn.batch("ROLLBACK TO job; RELEASE job")?
        }
    }
    result
}

/// The writer's connection.
#[allow(clippy::large_enum_variant)] // a handful live per process
enum Writer {
    Lite(Connection),
    Pg { conn: PgConn, config: tokio_postgres::Config, url: String, channel: String },
}

impl Writer {
    fn db(&mut self) -> Db<'_> {
        match self {
            Writer::Lite(c) => Db::Lite(c),
            Writer::Pg { conn, .. } => Db::Pg(conn),
        }
    }

    /// After a failed batch: roll back what is open, and reconnect a dropped PostgreSQL
    /// connection (the next batch then runs on the new one).
    fn recover(&mut self) {
        match self {
            Writer::Lite(c) => {
                if !c.is_autocommit() {
                    let _ = c.execute_batch("ROLLBACK");
                }
            }
            Writer::Pg { conn, config, url, .. } => {
                if conn.is_closed() {
                    match pg_connect(config, url) {
                        Ok(fresh) => *conn = fresh,
                        Err(e) => tracing::error!(error = %e, "the writer could not reconnect"),
                    }
                } else {
                    conn.discard_deferred();
                    let _ = conn.batch_execute("ROLLBACK");
                }
            }
        }
    }
}

fn writer_loop(mut conn: Writer, mut rx: mpsc::Receiver<Job>, max_batch: usize, origin: String) {
    let begin = match conn {
        Writer::Lite(_) => "BEGIN IMMEDIATE",
        // Writes of every server on the database take turns (one batch at a time): case
        // numbers and versions are decided on what is committed, and the event log's
        // sequence follows commit order, so a reader of `events_after` never skips one.
        Writer::Pg { .. } => "BEGIN; SELECT pg_advisory_xact_lock(7365422)",
    };
    // Where a PostgreSQL batch announces its changes.
    let channel = match &conn {
        Writer::Pg { channel, .. } => channel.clone(),
        Writer::Lite(_) => String::new(),
    };
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // A dropped PostgreSQL connection is replaced before the batch begins.
        if matches!(&conn, Writer::Pg { conn, .. } if conn.is_closed()) {
            conn.recover();
        }
        let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
        let commit = match conn.db().batch(begin) {
            Ok(()) => {
                let mut lost = None;
                let mut tx = Tx::new(conn.db(), &origin, &channel);
                for job in batch.drain(..) {
                    if lost.is_some() {
                        completions.push(job(None));
                        continue;
                    }
                    completions.push(job(Some(&mut tx)));
                    // SQLite rolls the whole transaction back by itself on some errors (disk
                    // full, I/O); a PostgreSQL connection may drop.
                    if matches!(&tx.db, Db::Lite(c) if c.is_autocommit())
                        || matches!(&tx.db, Db::Pg(c) if c.is_closed())
                    {
                        lost = Some(StoreError::Internal("the write transaction was lost".into()));
                    }
                }
                if lost.is_none()
                    && let Err(e) = tx.flush()
                {
                    lost = Some(e);
                }
                drop(tx);
                match lost {
                    Some(e) => Err(e),
                    None => conn.db().batch("COMMIT").map_err(StoreError::from),
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
            conn.recover();
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
