//! Pooled read connections: reads run on one of them off the async runtime and never wait
//! for writes; on PostgreSQL the reads in flight (and so its connections) are capped.

use std::panic::AssertUnwindSafe;
use std::sync::Mutex;

use rusqlite::Connection;

use super::connect::{READER_CACHE_KIB, open_connection, pg_connect};
use super::{Backend, Store};
use crate::db::{Db, PgConn};
use crate::{StoreError, StoreResult};

/// Reader connections the pool keeps; on PostgreSQL also the most reads in flight at once.
const MAX_POOLED_READERS: usize = 16;

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

/// The idle reader connections, and on PostgreSQL the permits for reads in flight.
pub(super) struct Readers {
    idle: Mutex<Vec<ReaderConn>>,
    /// On PostgreSQL, reads at once (and so reader connections) are capped: every
    /// connection is a server process, and the servers sharing a database share its
    /// `max_connections`. A burst of reads (a timer sweep fires hundreds of cases at once)
    /// would otherwise open a connection per read in flight.
    permits: Option<tokio::sync::Semaphore>,
}

impl Readers {
    pub(super) fn new(backend: &Backend) -> Readers {
        Readers {
            idle: Mutex::new(Vec::new()),
            permits: matches!(backend, Backend::Postgres { .. })
                .then(|| tokio::sync::Semaphore::new(MAX_POOLED_READERS)),
        }
    }
}

impl Store {
    /// Runs a read on a pooled connection off the async runtime.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let _permit = match &self.inner.readers.permits {
            Some(permits) => {
                Some(permits.acquire().await.map_err(|_| StoreError::Internal("the store is closed".into()))?)
            }
            None => None,
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
}
