//! Opening a connection: SQLite with the pragmas every connection of ours runs with, and
//! PostgreSQL with its client settings and an error that names the database.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::location::redact_url;
use crate::db::PgConn;
use crate::{StoreConfig, StoreError, StoreResult};

/// Page cache of the writer, and of each pooled reader (KiB). Readers share the OS page
/// cache; a smaller private cache each keeps the process small under read load (16 readers
/// at most are kept: 256 MiB plus the writer's 64 MiB in the worst case).
pub(super) const WRITER_CACHE_KIB: i64 = 64_000;
pub(super) const READER_CACHE_KIB: i64 = 16_000;

pub(super) fn open_connection(path: &Path, config: &StoreConfig, cache_kib: i64) -> rusqlite::Result<Connection> {
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

pub(super) fn pg_config(url: &str) -> StoreResult<tokio_postgres::Config> {
    let mut config: tokio_postgres::Config =
        url.parse().map_err(|e| StoreError::Internal(format!("bad PostgreSQL URL {}: {e}", redact_url(url))))?;
    if config.get_application_name().is_none() {
        config.application_name("ladder");
    }
    config.connect_timeout(Duration::from_secs(10));
    Ok(config)
}

pub(super) fn pg_connect(config: &tokio_postgres::Config, url: &str) -> StoreResult<PgConn> {
    PgConn::connect(config)
        .map_err(|e| StoreError::Internal(format!("cannot connect to PostgreSQL at {}: {e}", redact_url(url))))
}
