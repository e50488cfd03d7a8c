//! Escalation matrix drafts and versions, on either backend. The store keeps the text;
//! parsing and validation happen before anything is stored as a version.

use jiff::Timestamp;

use super::{Store, ts_to_us, us_to_ts};
use crate::db::{Db, Row, args};
use crate::{MatrixActivation, MatrixDraft, MatrixVersion, StoreError, StoreResult};

const VERSION_BY_NUMBER: &str =
    "SELECT version, name, source, created_by, created_at_us FROM matrix_versions WHERE version = ?1";
const VERSIONS_IN_ORDER: &str =
    "SELECT version, name, source, created_by, created_at_us FROM matrix_versions ORDER BY version";

fn row_to_version(r: &Row) -> StoreResult<MatrixVersion> {
    Ok(MatrixVersion {
        version: r.get::<i64>(0)? as u32,
        name: r.get(1)?,
        source: r.get(2)?,
        created_by: r.get(3)?,
        created_at: us_to_ts(r.get(4)?),
    })
}

fn row_to_draft(r: &Row) -> StoreResult<MatrixDraft> {
    Ok(MatrixDraft { name: r.get(0)?, source: r.get(1)?, updated_by: r.get(2)?, updated_at: us_to_ts(r.get(3)?) })
}

fn version(db: &mut Db, version: u32) -> StoreResult<Option<MatrixVersion>> {
    db.first(VERSION_BY_NUMBER, args![version], row_to_version)
}

fn active_version(db: &mut Db) -> StoreResult<Option<u32>> {
    let v: Option<i64> = db.value_opt("SELECT version FROM matrix_activations ORDER BY seq DESC LIMIT 1", args![])?;
    Ok(v.map(|v| v as u32))
}

fn record_activation(db: &mut Db, version: u32, kind: &str, by: &str, at: Timestamp) -> StoreResult<()> {
    db.exec(
        "INSERT INTO matrix_activations (version, kind, by_user, at_us) VALUES (?1, ?2, ?3, ?4)",
        args![version, kind, by, ts_to_us(at)],
    )?;
    Ok(())
}

impl Store {
    /// Creates or replaces a draft.
    pub async fn put_matrix_draft(&self, draft: MatrixDraft) -> StoreResult<MatrixDraft> {
        self.write(move |conn| {
            conn.exec(
                "INSERT INTO matrix_drafts (name, source, updated_by, updated_at_us) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET source = excluded.source, updated_by = excluded.updated_by,
                    updated_at_us = excluded.updated_at_us",
                args![&draft.name, &draft.source, &draft.updated_by, ts_to_us(draft.updated_at)],
            )?;
            Ok(draft)
        })
        .await
    }

    pub async fn matrix_draft(&self, name: String) -> StoreResult<Option<MatrixDraft>> {
        self.read(move |db| {
            db.first(
                "SELECT name, source, updated_by, updated_at_us FROM matrix_drafts WHERE name = ?1",
                args![name],
                row_to_draft,
            )
        })
        .await
    }

    pub async fn matrix_drafts(&self) -> StoreResult<Vec<MatrixDraft>> {
        self.read(|db| {
            db.rows(
                "SELECT name, source, updated_by, updated_at_us FROM matrix_drafts ORDER BY name",
                args![],
                row_to_draft,
            )
        })
        .await
    }

    pub async fn delete_matrix_draft(&self, name: String) -> StoreResult<()> {
        self.write(move |conn| {
            if conn.exec("DELETE FROM matrix_drafts WHERE name = ?1", args![&name])? == 0 {
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
            // One writer per process numbers the versions; the primary key refuses a race.
            let next: i64 = conn.value("SELECT coalesce(max(version), 0) + 1 FROM matrix_versions", args![])?;
            conn.exec(
                "INSERT INTO matrix_versions (version, name, source, created_by, created_at_us) VALUES (?1, ?2, ?3, ?4, ?5)",
                args![next, &name, &source, &by, ts_to_us(at)],
            )?;
            record_activation(conn, next as u32, "activate", &by, at)?;
            conn.pending_matrix = true;
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
                    .value_opt::<i64>(
                        "SELECT version FROM matrix_activations WHERE version <> ?1 ORDER BY seq DESC LIMIT 1",
                        args![current],
                    )?
                    .map(|v| v as u32)
                    .ok_or_else(|| StoreError::NotFound("an earlier matrix version to roll back to".into()))?,
            };
            if target == current {
                return Err(StoreError::InUse(format!("version {target} is already active")));
            }
            let found =
                version(conn, target)?.ok_or_else(|| StoreError::NotFound(format!("matrix version {target}")))?;
            record_activation(conn, target, "rollback", &by, at)?;
            conn.pending_matrix = true;
            Ok(found)
        })
        .await
    }

    /// The active version, if any matrix was ever activated.
    pub async fn active_matrix(&self) -> StoreResult<Option<MatrixVersion>> {
        self.read(|db| {
            let Some(v) = active_version(db)? else { return Ok(None) };
            version(db, v)
        })
        .await
    }

    pub async fn matrix_version(&self, version: u32) -> StoreResult<Option<MatrixVersion>> {
        self.read(move |db| self::version(db, version)).await
    }

    /// Every version, oldest first.
    pub async fn matrix_versions(&self) -> StoreResult<Vec<MatrixVersion>> {
        self.read(|db| db.rows(VERSIONS_IN_ORDER, args![], row_to_version)).await
    }

    /// Every activation and rollback, oldest first.
    pub async fn matrix_activations(&self) -> StoreResult<Vec<MatrixActivation>> {
        self.read(|db| {
            db.rows("SELECT version, kind, by_user, at_us FROM matrix_activations ORDER BY seq", args![], |r| {
                Ok(MatrixActivation {
                    version: r.get::<i64>(0)? as u32,
                    kind: r.get(1)?,
                    by: r.get(2)?,
                    at: us_to_ts(r.get(3)?),
                })
            })
        })
        .await
    }
}
