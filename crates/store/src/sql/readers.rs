//! Pooled read connections: reads run on one of them off the async runtime and never wait
//! for writes. The reads in flight (and so the connections and blocking threads they hold)
//! are capped at `StoreConfig::max_readers`; a read beyond waits `read_wait` for a turn,
//! then is refused as busy (the API answers 503 with `Retry-After`).

use std::panic::AssertUnwindSafe;
use std::sync::Mutex;

use rusqlite::Connection;

use super::connect::{READER_CACHE_KIB, open_connection, pg_connect};
use super::{Backend, Store};
use crate::db::{Db, PgConn};
use crate::{StoreError, StoreResult};

/// How long a read refused as busy is told to wait.
const BUSY_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

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

/// The idle reader connections, and the permits for reads in flight.
pub(super) struct Readers {
    idle: Mutex<Vec<ReaderConn>>,
    /// Reads at once (and so reader connections) are capped: a burst of reads (a timer
    /// sweep fires hundreds of cases at once, a flood of requests) would otherwise open a
    /// connection and hold a blocking thread per read in flight — on PostgreSQL each
    /// connection is a server process, and servers sharing a database share its
    /// `max_connections`.
    permits: tokio::sync::Semaphore,
    max: usize,
    wait: std::time::Duration,
}

impl Readers {
    pub(super) fn new(config: &crate::StoreConfig) -> Readers {
        let max = config.max_readers.max(1);
        Readers { idle: Mutex::new(Vec::new()), permits: tokio::sync::Semaphore::new(max), max, wait: config.read_wait }
    }
}

impl Store {
    /// Runs a read on a pooled connection off the async runtime.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let readers = &self.inner.readers;
        let _permit = match tokio::time::timeout(readers.wait, readers.permits.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(StoreError::Internal("the store is closed".into())),
            Err(_) => {
                return Err(StoreError::Busy {
                    what: format!("all {} database readers are in use", readers.max),
                    retry_after: BUSY_RETRY_AFTER,
                });
            }
        };
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.readers.idle.lock().expect("reader pool poisoned").pop();
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
            let mut pool = inner.readers.idle.lock().expect("reader pool poisoned");
            if pool.len() < inner.readers.max && !broken {
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
}
