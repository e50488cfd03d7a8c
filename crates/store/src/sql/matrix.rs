//! Escalation matrix drafts and versions on SQLite. The store keeps the text; parsing and
//! validation happen before anything is stored as a version.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, ns_to_ts, ts_to_ns};
use crate::{MatrixActivation, MatrixDraft, MatrixVersion, StoreError, StoreResult};

fn row_to_version(r: &rusqlite::Row) -> rusqlite::Result<MatrixVersion> {
    Ok(MatrixVersion {
        version: r.get::<_, i64>(0)? as u32,
        name: r.get(1)?,
        source: r.get(2)?,
        created_by: r.get(3)?,
        created_at: ns_to_ts(r.get(4)?),
    })
}

fn active_version(conn: &Connection) -> StoreResult<Option<u32>> {
    Ok(conn
        .prepare_cached("SELECT version FROM matrix_activations ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|v| v as u32))
}

fn record_activation(conn: &Connection, version: u32, kind: &str, by: &str, at: Timestamp) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO matrix_activations (version, kind, by_user, at_ns) VALUES (?1, ?2, ?3, ?4)",
        params![version as i64, kind, by, ts_to_ns(at)],
    )?;
    Ok(())
}

impl Store {
    /// Creates or replaces a draft.
    pub async fn put_matrix_draft(&self, draft: MatrixDraft) -> StoreResult<MatrixDraft> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO matrix_drafts (name, source, updated_by, updated_at_ns) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET source = excluded.source, updated_by = excluded.updated_by,
                    updated_at_ns = excluded.updated_at_ns",
                params![draft.name, draft.source, draft.updated_by, ts_to_ns(draft.updated_at)],
            )?;
            Ok(draft)
        })
        .await
    }

    pub async fn matrix_draft(&self, name: String) -> StoreResult<Option<MatrixDraft>> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT name, source, updated_by, updated_at_ns FROM matrix_drafts WHERE name = ?1")?
                .query_row([name], |r| {
                    Ok(MatrixDraft {
                        name: r.get(0)?,
                        source: r.get(1)?,
                        updated_by: r.get(2)?,
                        updated_at: ns_to_ts(r.get(3)?),
                    })
                })
                .optional()?)
        })
        .await
    }

    pub async fn matrix_drafts(&self) -> StoreResult<Vec<MatrixDraft>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT name, source, updated_by, updated_at_ns FROM matrix_drafts ORDER BY name")?;
            let rows = stmt.query_map([], |r| {
                Ok(MatrixDraft {
                    name: r.get(0)?,
                    source: r.get(1)?,
                    updated_by: r.get(2)?,
                    updated_at: ns_to_ts(r.get(3)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    pub async fn delete_matrix_draft(&self, name: String) -> StoreResult<()> {
        self.write(move |conn| {
            if conn.execute("DELETE FROM matrix_drafts WHERE name = ?1", [&name])? == 0 {
                return Err(StoreError::NotFound(format!("matrix draft '{name}'")));
            }
            Ok(())
        })
        .await
    }

    /// Freezes `source` as the next version and makes it active, in one transaction.
    /// The caller has validated it.
    pub async fn activate_matrix(
        &self,
        name: String,
        source: String,
        by: String,
        at: Timestamp,
    ) -> StoreResult<MatrixVersion> {
        self.write(move |conn| {
            let next: i64 =
                conn.query_row("SELECT coalesce(max(version), 0) + 1 FROM matrix_versions", [], |r| r.get(0))?;
            conn.execute(
                "INSERT INTO matrix_versions (version, name, source, created_by, created_at_ns) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![next, name, source, by, ts_to_ns(at)],
            )?;
            record_activation(conn, next as u32, "activate", &by, at)?;
            Ok(MatrixVersion { version: next as u32, name, source, created_by: by, created_at: at })
        })
        .await
    }

    /// Makes an earlier version active again: `to`, or else the one active before the current.
    pub async fn rollback_matrix(&self, to: Option<u32>, by: String, at: Timestamp) -> StoreResult<MatrixVersion> {
        self.write(move |conn| {
            let current = active_version(conn)?.ok_or_else(|| StoreError::NotFound("an active matrix".into()))?;
            let target = match to {
                Some(v) => v,
                None => conn
                    .prepare_cached(
                        "SELECT version FROM matrix_activations WHERE version <> ?1 ORDER BY seq DESC LIMIT 1",
                    )?
                    .query_row([current as i64], |r| r.get::<_, i64>(0))
                    .optional()?
                    .map(|v| v as u32)
                    .ok_or_else(|| StoreError::NotFound("an earlier matrix version to roll back to".into()))?,
            };
            if target == current {
                return Err(StoreError::InUse(format!("version {target} is already active")));
            }
            let version = conn
                .prepare_cached(
                    "SELECT version, name, source, created_by, created_at_ns FROM matrix_versions WHERE version = ?1",
                )?
                .query_row([target as i64], row_to_version)
                .optional()?
                .ok_or_else(|| StoreError::NotFound(format!("matrix version {target}")))?;
            record_activation(conn, target, "rollback", &by, at)?;
            Ok(version)
        })
        .await
    }

    /// The active version, if any matrix was ever activated.
    pub async fn active_matrix(&self) -> StoreResult<Option<MatrixVersion>> {
        self.read(|conn| {
            let Some(v) = active_version(conn)? else { return Ok(None) };
            Ok(conn
                .prepare_cached(
                    "SELECT version, name, source, created_by, created_at_ns FROM matrix_versions WHERE version = ?1",
                )?
                .query_row([v as i64], row_to_version)
                .optional()?)
        })
        .await
    }

    pub async fn matrix_version(&self, version: u32) -> StoreResult<Option<MatrixVersion>> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT version, name, source, created_by, created_at_ns FROM matrix_versions WHERE version = ?1",
                )?
                .query_row([version as i64], row_to_version)
                .optional()?)
        })
        .await
    }

    /// Every version, oldest first.
    pub async fn matrix_versions(&self) -> StoreResult<Vec<MatrixVersion>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT version, name, source, created_by, created_at_ns FROM matrix_versions ORDER BY version",
            )?;
            let rows = stmt.query_map([], row_to_version)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Every activation and rollback, oldest first.
    pub async fn matrix_activations(&self) -> StoreResult<Vec<MatrixActivation>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT version, kind, by_user, at_ns FROM matrix_activations ORDER BY seq")?;
            let rows = stmt.query_map([], |r| {
                Ok(MatrixActivation {
                    version: r.get::<_, i64>(0)? as u32,
                    kind: r.get(1)?,
                    by: r.get(2)?,
                    at: ns_to_ts(r.get(3)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}
