//! The store on either backend: one writer with group commit, pooled readers, embedded
//! migrations per backend. SQLite (WAL mode, one file in the data directory) is the
//! default; PostgreSQL is chosen by a `postgres://` URL. Every query is written once, in the
//! SQL both speak (see [`crate::db`]).
//!
//! # Layout
//! - this file: [`Store`], opening it, and the questions about the store as a whole.
//! - `location`: [`Location`] and the locations tests use; `connect`: opening a connection.
//! - `writer`: the writer thread (group commit, a savepoint per write) and `Store::write`;
//!   `tx`: the write transaction and the work a batch defers to its end.
//! - `readers`: the pool of read connections and `Store::read`.
//! - `migrate`: the migrations of each backend; `announce`: the changes servers sharing a
//!   PostgreSQL database tell each other.
//! - one module per part of the data (cases, history, queues, timers, …), using only `Db`.

mod agents;
mod announce;
mod approvals;
mod articles;
mod audit;
pub mod backup;
mod cases;
mod connect;
mod directory;
#[cfg(test)]
mod faults_tests;
mod history;
mod inbound;
mod incidents;
mod insights;
mod instants;
mod location;
mod macros;
mod matrix;
mod metrics;
mod migrate;
mod models;
mod outbox;
mod queues;
mod readers;
mod rule_activity;
mod schedules;
mod services;
mod settings;
mod timers;
mod transfer;
mod tx;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::db::Db;
use crate::{StoreConfig, StoreError, StoreResult};

pub use announce::Change;
pub use approvals::{ApprovalKeep, PendingApproval};
pub use articles::{ArticlePage, ArticleQuery};
pub use audit::{AuditEntry, AuditFilter};
pub use cases::{MAX_SEARCH_BYTES, MAX_SEARCH_WORDS};
pub use history::CaseHistory;
pub use incidents::{AlertWrite, IncidentFilter, NewIncident};
pub use insights::{ApprovalFact, InsightFacts};
pub(crate) use instants::{duration_to_us, ts_to_us, us_to_duration, us_to_ts};
pub use location::{Location, TEST_POSTGRES_URL, redact_url, test_location, test_postgres_location};
pub use metrics::{MetricsRow, TeamGrouping};
pub use migrate::undo_microseconds_sql;
pub use models::{StoredModel, TrainingCase};
pub use outbox::{Delivery, DeliveryAttempt, DeliveryFilter, DeliveryOutcome, DeliveryResult, StoredTemplate};
pub use queues::QueuedCase;
pub use rule_activity::RuleActivityRow;
pub use schedules::{FeedTarget, FeedToken};
pub use transfer::TransferSummary;
pub(crate) use tx::Tx;

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

struct Inner {
    location: Location,
    /// This store's name in change announcements to other servers.
    origin: String,
    jobs: mpsc::Sender<writer::Job>,
    readers: readers::Readers,
    backend: Backend,
    config: StoreConfig,
    /// The teams, read at most once a second (routing, rules and every team lookup read
    /// them): dropped on this store's own team writes, and stale for at most a second after
    /// another process (`ladder admin team …`) changes them.
    teams_cache: Mutex<Option<(std::time::Instant, Arc<Vec<ladder_core::directory::Team>>)>>,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir/ladder.db` and starts the writer.
    pub fn open(data_dir: &Path, config: StoreConfig) -> StoreResult<Store> {
        Store::open_at(&Location::Sqlite(data_dir.to_path_buf()), config)
    }

    /// Opens the store at `location` (migrating it) and starts the writer.
    pub fn open_at(location: &Location, config: StoreConfig) -> StoreResult<Store> {
        let origin = uuid::Uuid::now_v7().simple().to_string();
        let (backend, writer) = match location {
            Location::Sqlite(data_dir) => {
                let path = data_dir.join("ladder.db");
                private_files(data_dir, &path)
                    .map_err(|e| StoreError::Internal(format!("cannot create data dir {}: {e}", data_dir.display())))?;
                let mut conn = connect::open_connection(&path, &config, connect::WRITER_CACHE_KIB)?;
                migrate::migrate(&mut conn)?;
                // Keep the query planner's statistics fresh (cheap: bounded sampling), so a list
                // filter uses the most selective index.
                conn.execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")?;
                (Backend::Sqlite { path }, writer::Writer::Lite(conn))
            }
            Location::Postgres(url) => {
                let pg = connect::pg_config(url)?;
                let mut conn = connect::pg_connect(&pg, url)?;
                crate::db::off_runtime(|| migrate::migrate_pg(&mut conn))?;
                let schema: String = crate::db::off_runtime(|| {
                    Db::Pg(&mut conn).value("SELECT CAST(current_schema() AS TEXT)", crate::db::args![])
                })?;
                let channel = format!("ladder_changes_{schema}");
                let writer =
                    writer::Writer::Pg { conn, config: pg.clone(), url: url.clone(), channel: channel.clone() };
                (Backend::Postgres { config: pg, url: url.clone(), channel }, writer)
            }
        };
        let jobs = writer::start(writer, config.max_batch.max(1), origin.clone())?;
        Ok(Store {
            inner: Arc::new(Inner {
                location: location.clone(),
                origin,
                jobs,
                readers: readers::Readers::new(&config),
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

/// Creates the data directory readable by its owner only (0700) and the database file
/// (0600) before SQLite opens it, so its `-wal` and `-shm` files, which SQLite creates with
/// the database's mode, are private too. Modes are set explicitly, whatever the umask; an
/// existing database file is made private as well.
pub fn private_files(data_dir: &Path, db: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if !data_dir.exists() {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(data_dir)?;
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))?;
    }
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(db)?;
    private_file(db)?;
    for sidecar in ["-wal", "-shm"] {
        let path = db.with_file_name(format!("{}{sidecar}", db.file_name().unwrap_or_default().to_string_lossy()));
        if path.exists() {
            private_file(&path)?;
        }
    }
    Ok(())
}

/// Makes a file readable and writable by its owner only (0600).
pub fn private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}
