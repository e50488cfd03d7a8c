//! Online backup and restore of the SQLite store.
//!
//! A backup is `VACUUM INTO` a new file from a read connection: SQLite writes a consistent
//! snapshot of the whole database (write-ahead log included) while the server keeps
//! serving, then the copy is checked (`PRAGMA integrity_check`) and counted.

use std::path::{Path, PathBuf};

use std::os::unix::fs::OpenOptionsExt;

use rusqlite::{Connection, OpenFlags};

use super::Store;
use crate::StoreError;

/// Why a backup or a restore did not happen; the text says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackupError(pub String);

impl From<rusqlite::Error> for BackupError {
    fn from(e: rusqlite::Error) -> Self {
        BackupError(e.to_string())
    }
}

impl From<StoreError> for BackupError {
    fn from(e: StoreError) -> Self {
        BackupError(e.to_string())
    }
}

type BackupResult<T> = Result<T, BackupError>;

/// What a backup or a restore holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub path: PathBuf,
    pub bytes: u64,
    pub events: u64,
    pub cases: u64,
    /// The schema version (migrations applied).
    pub schema: u32,
}

/// Checks that `path` is a sound Ladder database and counts what it holds.
pub fn inspect(path: &Path) -> BackupResult<BackupSummary> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| BackupError(format!("{}: not a readable database: {e}", path.display())))?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| BackupError(format!("{}: not a SQLite database: {e}", path.display())))?;
    if check != "ok" {
        return Err(BackupError(format!("{}: the database is damaged: {check}", path.display())));
    }
    let schema: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let count = |table: &str| -> BackupResult<u64> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|_| BackupError(format!("{}: not a Ladder database (no {table} table)", path.display())))
    };
    let (events, cases) = (count("events")?, count("cases")?);
    if schema as usize > super::migrate::MIGRATIONS.len() {
        return Err(BackupError(format!(
            "{}: written by a newer Ladder (schema {schema}, this build knows {})",
            path.display(),
            super::migrate::MIGRATIONS.len()
        )));
    }
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(BackupSummary { path: path.to_path_buf(), bytes, events, cases, schema })
}

impl Store {
    /// Writes a consistent copy of the whole database to `to` (which must not exist) while
    /// the store stays in use, then checks and counts the copy.
    pub async fn backup_to(&self, to: PathBuf) -> BackupResult<BackupSummary> {
        if to.exists() {
            return Err(BackupError(format!("{} already exists; choose a new file", to.display())));
        }
        // An empty file made private first: VACUUM INTO writes into it, keeping its mode.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&to)
            .and_then(|_| super::private_file(&to))
            .map_err(|e| BackupError(format!("cannot create {}: {e}", to.display())))?;
        let target = to.clone();
        self.read_sqlite("ladder admin backup (on PostgreSQL use pg_dump)", move |conn| {
            conn.execute("VACUUM INTO ?1", [target.to_string_lossy().as_ref()])
                .map_err(|e| StoreError::Internal(format!("backup to {}: {e}", target.display())))?;
            Ok(())
        })
        .await?;
        tokio::task::spawn_blocking(move || inspect(&to)).await.map_err(|e| BackupError(e.to_string()))?
    }
}

/// Puts the backup `from` in place as the database of `data_dir`. Refuses when `data_dir`
/// already has a database unless `force`, in which case that database (with its `-wal` and
/// `-shm` files) is moved aside to `ladder.db.before-restore-SUFFIX`. The server must be
/// stopped. Returns what was restored.
pub fn restore(from: &Path, data_dir: &Path, force: bool, suffix: &str) -> BackupResult<BackupSummary> {
    let summary = inspect(from)?;
    let db = data_dir.join("ladder.db");
    if !data_dir.exists() {
        super::private_files(data_dir, &db.with_file_name("ladder.db.restoring"))
            .map_err(|e| BackupError(format!("cannot create {}: {e}", data_dir.display())))?;
    }
    let sidecars = ["ladder.db-wal", "ladder.db-shm"];
    if db.exists() {
        if !force {
            return Err(BackupError(format!(
                "{} already has a database; move it aside or pass --force (it is then kept as ladder.db.before-restore-…)",
                data_dir.display()
            )));
        }
        for name in std::iter::once("ladder.db").chain(sidecars) {
            let p = data_dir.join(name);
            if p.exists() {
                let aside = data_dir.join(format!("{name}.before-restore-{suffix}"));
                std::fs::rename(&p, &aside).map_err(|e| BackupError(format!("moving {} aside: {e}", p.display())))?;
            }
        }
    }
    for name in sidecars {
        let _ = std::fs::remove_file(data_dir.join(name));
    }
    let partial = data_dir.join("ladder.db.restoring");
    std::fs::copy(from, &partial).map_err(|e| BackupError(format!("copying {}: {e}", from.display())))?;
    super::private_file(&partial).map_err(|e| BackupError(e.to_string()))?;
    std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(|e| BackupError(e.to_string()))?;
    std::fs::rename(&partial, &db).map_err(|e| BackupError(format!("installing the backup: {e}")))?;
    Ok(BackupSummary { path: db, ..summary })
}
