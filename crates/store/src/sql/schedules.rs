//! On-call schedules and their calendar feed tokens, on either backend. A schedule is one
//! document (spec, overrides, version); a change reads it, applies the caller's edit and
//! writes it back in one write transaction, so concurrent changes never lose one another.
//! Who may do what is decided by the caller (the engine asks `core::access`).

use jiff::Timestamp;
use ladder_core::ids::UserId;
use ladder_core::oncall::StoredSchedule;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::directory::{get_doc, list_docs, unique};
use super::{Store, ts_to_us, us_to_ts};
use crate::db::{Db, args};
use crate::{StoreError, StoreResult};

/// What a calendar feed shows: one schedule's shifts, or one user's across every schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum FeedTarget {
    Schedule(Uuid),
    User(UserId),
}

/// A calendar feed token as stored: never its secret, which only its SHA-256 finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedToken {
    pub id: Uuid,
    pub owner: UserId,
    pub target: FeedTarget,
    pub created_at: Timestamp,
}

fn target_columns(target: &FeedTarget) -> (&'static str, String) {
    match target {
        FeedTarget::Schedule(id) => ("schedule", id.to_string()),
        FeedTarget::User(id) => ("user", id.to_string()),
    }
}

fn feed_from_row(r: &crate::db::Row) -> StoreResult<FeedToken> {
    let parse = |s: String| s.parse::<Uuid>().map_err(|e| StoreError::Internal(format!("a feed token's id: {e}")));
    let kind: String = r.get(2)?;
    let target = parse(r.get(3)?)?;
    Ok(FeedToken {
        id: parse(r.get(0)?)?,
        owner: UserId(parse(r.get(1)?)?),
        target: if kind == "user" { FeedTarget::User(UserId(target)) } else { FeedTarget::Schedule(target) },
        created_at: us_to_ts(r.get(4)?),
    })
}

const FEED_COLUMNS: &str = "SELECT id, owner_id, kind, target, created_at_us FROM feed_tokens";

fn load(db: &mut Db, id: Uuid) -> StoreResult<Option<StoredSchedule>> {
    get_doc(db, "SELECT doc FROM schedules WHERE id = ?1", &id.to_string())
}

fn duplicate_slug(slug: &str) -> impl FnOnce(&str) -> String + '_ {
    move |_| format!("a schedule with the slug '{slug}' already exists")
}

impl Store {
    pub async fn create_schedule(&self, s: StoredSchedule) -> StoreResult<StoredSchedule> {
        self.write(move |db| {
            db.exec(
                "INSERT INTO schedules (id, slug, version, doc, updated_at_us) VALUES (?1, ?2, ?3, ?4, ?5)",
                args![s.id.to_string(), &s.slug, s.version as i64, serde_json::to_string(&s)?, ts_to_us(s.updated_at)],
            )
            .map_err(|e| unique(e, duplicate_slug(&s.slug)))?;
            Ok(s)
        })
        .await
    }

    /// Changes a schedule with `edit` inside one write: refused when `expected_version` is
    /// given and the schedule is at another; its version goes up by one.
    pub async fn change_schedule(
        &self,
        id: Uuid,
        expected_version: Option<u64>,
        edit: impl FnOnce(&mut StoredSchedule) -> StoreResult<()> + Send + 'static,
    ) -> StoreResult<StoredSchedule> {
        self.write(move |db| {
            let mut s = load(db, id)?.ok_or_else(|| StoreError::NotFound(format!("schedule {id}")))?;
            if let Some(expected) = expected_version.filter(|v| *v != s.version) {
                return Err(StoreError::VersionConflict { expected, actual: s.version });
            }
            let before = s.version;
            edit(&mut s)?;
            s.id = id;
            s.version = before + 1;
            let n = db
                .exec(
                    "UPDATE schedules SET slug = ?2, version = ?3, doc = ?4, updated_at_us = ?5 WHERE id = ?1 AND version = ?6",
                    args![
                        id.to_string(),
                        &s.slug,
                        s.version as i64,
                        serde_json::to_string(&s)?,
                        ts_to_us(s.updated_at),
                        before as i64
                    ],
                )
                .map_err(|e| unique(e, duplicate_slug(&s.slug)))?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("schedule {id}")));
            }
            Ok(s)
        })
        .await
    }

    /// Deletes a schedule and the feed tokens of its calendar.
    pub async fn delete_schedule(&self, id: Uuid) -> StoreResult<()> {
        self.write(move |db| {
            let n = db.exec("DELETE FROM schedules WHERE id = ?1", args![id.to_string()])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("schedule {id}")));
            }
            db.exec("DELETE FROM feed_tokens WHERE kind = 'schedule' AND target = ?1", args![id.to_string()])?;
            Ok(())
        })
        .await
    }

    pub async fn schedule(&self, id: Uuid) -> StoreResult<Option<StoredSchedule>> {
        self.read(move |db| load(db, id)).await
    }

    pub async fn schedule_by_slug(&self, slug: String) -> StoreResult<Option<StoredSchedule>> {
        self.read(move |db| get_doc(db, "SELECT doc FROM schedules WHERE slug = ?1", &slug)).await
    }

    /// Every schedule, by slug.
    pub async fn schedules(&self) -> StoreResult<Vec<StoredSchedule>> {
        self.read(move |db| list_docs(db, "SELECT doc FROM schedules ORDER BY slug", &[])).await
    }

    /// Stores a feed token by the SHA-256 of its secret (hex).
    pub async fn create_feed_token(&self, feed: FeedToken, hash: String) -> StoreResult<FeedToken> {
        self.write(move |db| {
            let (kind, target) = target_columns(&feed.target);
            db.exec(
                "INSERT INTO feed_tokens (id, hash, owner_id, kind, target, created_at_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                args![feed.id.to_string(), &hash, feed.owner.to_string(), kind, &target, ts_to_us(feed.created_at)],
            )?;
            Ok(feed)
        })
        .await
    }

    /// The feed token whose secret hashes to `hash`.
    pub async fn feed_token_by_hash(&self, hash: String) -> StoreResult<Option<FeedToken>> {
        self.read(move |db| db.first(&format!("{FEED_COLUMNS} WHERE hash = ?1"), args![&hash], feed_from_row)).await
    }

    pub async fn feed_token(&self, id: Uuid) -> StoreResult<Option<FeedToken>> {
        self.read(move |db| db.first(&format!("{FEED_COLUMNS} WHERE id = ?1"), args![id.to_string()], feed_from_row))
            .await
    }

    /// The feed tokens `owner` minted (`None`: everyone's), the newest first.
    pub async fn feed_tokens(&self, owner: Option<UserId>) -> StoreResult<Vec<FeedToken>> {
        self.read(move |db| match owner {
            Some(o) => db.rows(
                &format!("{FEED_COLUMNS} WHERE owner_id = ?1 ORDER BY created_at_us DESC, id"),
                args![o.to_string()],
                feed_from_row,
            ),
            None => db.rows(&format!("{FEED_COLUMNS} ORDER BY created_at_us DESC, id"), &[], feed_from_row),
        })
        .await
    }

    pub async fn delete_feed_token(&self, id: Uuid) -> StoreResult<()> {
        self.write(move |db| {
            let n = db.exec("DELETE FROM feed_tokens WHERE id = ?1", args![id.to_string()])?;
            if n == 0 { Err(StoreError::NotFound(format!("feed token {id}"))) } else { Ok(()) }
        })
        .await
    }
}
