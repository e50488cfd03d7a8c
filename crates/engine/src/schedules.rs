//! On-call schedules: storing them (checked by `core::oncall`, recorded in the audit history
//! like the directory), asking who is on call, their shifts and gaps, and the calendar feeds.
//!
//! [`Engine::on_call`] is the one question the incident policy runner asks: who answers a
//! page for `on_call:SLUG` at an instant. Every other method acts for a caller and asks
//! `core::access` first. Working out a timeline runs on a blocking thread, off the async
//! workers (a year of hourly turns is thousands of pieces).

use jiff::{SignedDuration, Timestamp};
use ladder_core::DomainError;
use ladder_core::access::{Action, Principal};
use ladder_core::ids::UserId;
use ladder_core::oncall::{
    Gap, OverrideEntry, Schedule, ScheduleError, ScheduleSpec, Shift, Source, StoredSchedule, validate_schedule,
};
use ladder_store::{FeedTarget, FeedToken, StoreError};
use serde_json::json;
use uuid::Uuid;

use crate::Engine;
use crate::credentials::token_hash;

/// How far ahead "until when" looks for the end of someone's stretch on call.
const UNTIL_HORIZON: SignedDuration = SignedDuration::from_hours(30 * 24);
/// The prefix of a calendar feed's secret.
pub const FEED_PREFIX: &str = "ldrcal_";

/// A schedule as it is written: slug, name and spec (zone, layers, fallback).
#[derive(Debug, Clone)]
pub struct ScheduleDraft {
    pub slug: String,
    pub name: String,
    pub spec: ScheduleSpec,
}

/// Who is on call for a schedule at an instant, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCallNow {
    /// The user's name as the schedule holds it.
    pub user: String,
    /// The user, when the name still names one.
    pub user_id: Option<UserId>,
    pub source: Source,
    /// The layer's name when a layer put them there.
    pub layer: Option<String>,
    /// When their stretch from this source ends (`None`: not within 30 days).
    pub until: Option<Timestamp>,
}

/// A schedule's shifts for a calendar feed.
#[derive(Debug, Clone)]
pub struct FeedShift {
    pub schedule: StoredSchedule,
    pub shift: Shift,
}

fn schedule_error(e: ScheduleError) -> StoreError {
    DomainError::invalid(e.path, e.reason).into()
}

/// Runs `f` on a blocking thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Internal(format!("a schedule computation failed: {e}")))
}

/// Compiles a stored schedule (it was checked when written; a failure now is the store's).
fn compiled(s: &StoredSchedule) -> Result<Schedule, StoreError> {
    s.compile().map_err(|e| StoreError::Internal(format!("schedule {} no longer compiles: {e}", s.slug)))
}

/// Who is on call at `at` in a compiled schedule, with until when.
fn answer(stored: &StoredSchedule, schedule: &Schedule, at: Timestamp) -> Option<OnCallNow> {
    let on = schedule.on_call_at(at)?;
    let horizon = at.checked_add(UNTIL_HORIZON).unwrap_or(at);
    let until = schedule
        .shifts(at, horizon)
        .ok()
        .and_then(|shifts| shifts.into_iter().next())
        .filter(|s| s.start <= at && s.end < horizon)
        .map(|s| s.end);
    let layer = match on.source {
        Source::Layer(i) => stored.spec.layers.get(i).map(|l| l.name.clone()),
        _ => None,
    };
    Some(OnCallNow { user: on.user.to_string(), user_id: None, source: on.source, layer, until })
}

impl Engine {
    /// Every schedule, by slug.
    pub async fn schedules(&self, principal: &Principal) -> Result<Vec<StoredSchedule>, StoreError> {
        self.check(principal, &Action::ReadSchedules)?;
        self.store.schedules().await
    }

    /// A schedule by id or slug.
    pub async fn schedule(&self, principal: &Principal, key: &str) -> Result<StoredSchedule, StoreError> {
        self.check(principal, &Action::ReadSchedules)?;
        self.schedule_by_key(key).await
    }

    async fn schedule_by_key(&self, key: &str) -> Result<StoredSchedule, StoreError> {
        let found = match key.parse::<Uuid>() {
            Ok(id) => self.store.schedule(id).await?,
            Err(_) => self.store.schedule_by_slug(key.to_string()).await?,
        };
        found.ok_or_else(|| StoreError::NotFound(format!("schedule '{key}'")))
    }

    /// The draft with every user name checked against the directory and written as the
    /// user's name (an id is accepted too); the error names the path (`spec.layers[0].users[1]`).
    async fn checked_draft(&self, mut draft: ScheduleDraft) -> Result<ScheduleDraft, StoreError> {
        draft.slug = draft.slug.trim().to_string();
        draft.name = draft.name.trim().to_string();
        validate_schedule(&draft.slug, &draft.name, &draft.spec).map_err(schedule_error)?;
        for (i, layer) in draft.spec.layers.iter_mut().enumerate() {
            for (j, user) in layer.users.iter_mut().enumerate() {
                *user = self.resolve_user(&format!("spec.layers[{i}].users[{j}]"), user).await?.name;
            }
        }
        if let Some(fallback) = draft.spec.fallback.as_mut() {
            *fallback = self.resolve_user("spec.fallback", fallback).await?.name;
        }
        Ok(draft)
    }

    /// Creates a schedule (managers and admins).
    pub async fn create_schedule(
        &self,
        principal: &Principal,
        draft: ScheduleDraft,
        now: Timestamp,
    ) -> Result<StoredSchedule, StoreError> {
        self.check(principal, &Action::ManageSchedules)?;
        let d = self.checked_draft(draft).await?;
        let s = StoredSchedule {
            id: Uuid::now_v7(),
            slug: d.slug,
            name: d.name,
            spec: d.spec,
            overrides: Vec::new(),
            version: 1,
            updated_at: now,
        };
        let detail = json!({ "slug": s.slug, "name": s.name });
        self.permitted(principal, &Action::ManageSchedules, "schedule.create", s.id, detail, now)?
            .create_schedule(s)
            .await
    }

    /// Replaces a schedule's slug, name and spec, keeping its overrides (managers and admins).
    /// With `expected_version`, refused when the schedule moved on (412).
    pub async fn replace_schedule(
        &self,
        principal: &Principal,
        key: &str,
        draft: ScheduleDraft,
        expected_version: Option<u64>,
        now: Timestamp,
    ) -> Result<StoredSchedule, StoreError> {
        self.check(principal, &Action::ManageSchedules)?;
        let before = self.schedule_by_key(key).await?;
        let d = self.checked_draft(draft).await?;
        let detail = json!({ "slug": d.slug, "name": d.name });
        self.permitted(principal, &Action::ManageSchedules, "schedule.update", before.id, detail, now)?
            .change_schedule(before.id, expected_version, move |s| {
                s.slug = d.slug;
                s.name = d.name;
                s.spec = d.spec;
                s.updated_at = now;
                // The new layers and fallback must still compile with the overrides kept.
                s.compile().map(|_| ()).map_err(schedule_error)
            })
            .await
    }

    /// Deletes a schedule and its feeds (managers and admins).
    pub async fn delete_schedule(&self, principal: &Principal, key: &str, now: Timestamp) -> Result<(), StoreError> {
        self.check(principal, &Action::ManageSchedules)?;
        let s = self.schedule_by_key(key).await?;
        let detail = json!({ "slug": s.slug, "name": s.name });
        self.permitted(principal, &Action::ManageSchedules, "schedule.delete", s.id, detail, now)?
            .delete_schedule(s.id)
            .await
    }

    /// Adds an override: `user` on call in place of the layers from `start` to `end`
    /// (supervisors, managers and admins). The user must exist; the last added wins.
    pub async fn add_override(
        &self,
        principal: &Principal,
        key: &str,
        user: &str,
        start: Timestamp,
        end: Timestamp,
        now: Timestamp,
    ) -> Result<(StoredSchedule, OverrideEntry), StoreError> {
        self.check(principal, &Action::OverrideSchedule)?;
        let s = self.schedule_by_key(key).await?;
        let user = self.resolve_user("user", user).await?;
        if end <= start {
            return Err(DomainError::invalid("end", "an override must end after it starts").into());
        }
        if end.duration_since(start) > ladder_core::oncall::MAX_SPAN {
            return Err(DomainError::invalid("end", "an override lasts at most 366 days").into());
        }
        let entry = OverrideEntry {
            id: Uuid::now_v7(),
            user: user.name,
            start,
            end,
            created_by: principal.name.clone(),
            created_at: now,
        };
        let detail = json!({ "slug": s.slug, "override": entry.id, "user": entry.user, "start": start, "end": end });
        let added = entry.clone();
        let s = self
            .permitted(principal, &Action::OverrideSchedule, "schedule.override.add", s.id, detail, now)?
            .change_schedule(s.id, None, move |s| {
                s.updated_at = now;
                s.add_override(added, now).map_err(schedule_error)
            })
            .await?;
        Ok((s, entry))
    }

    /// Removes an override (supervisors, managers and admins).
    pub async fn remove_override(
        &self,
        principal: &Principal,
        key: &str,
        override_id: Uuid,
        now: Timestamp,
    ) -> Result<StoredSchedule, StoreError> {
        self.check(principal, &Action::OverrideSchedule)?;
        let s = self.schedule_by_key(key).await?;
        if !s.overrides.iter().any(|o| o.id == override_id) {
            return Err(StoreError::NotFound(format!("override {override_id}")));
        }
        let detail = json!({ "slug": s.slug, "override": override_id });
        self.permitted(principal, &Action::OverrideSchedule, "schedule.override.remove", s.id, detail, now)?
            .change_schedule(s.id, None, move |s| {
                let before = s.overrides.len();
                s.overrides.retain(|o| o.id != override_id);
                if s.overrides.len() == before {
                    return Err(StoreError::NotFound(format!("override {override_id}")));
                }
                s.updated_at = now;
                Ok(())
            })
            .await
    }

    /// Who is on call for the schedule `slug` at `at`: the user, whose turn, until when;
    /// `Ok(None)` when nobody is (a gap and no fallback), `NotFound` when there is no such
    /// schedule. This is what a policy step `on_call:SLUG` pages; it acts for the system,
    /// not a caller, so it asks no permission.
    pub async fn on_call(&self, slug: &str, at: Timestamp) -> Result<Option<OnCallNow>, StoreError> {
        let s = self.schedule_by_key(slug).await?;
        let mut now = self.answer_at(s, at).await?;
        if let Some(n) = now.as_mut() {
            n.user_id = self.store.user_credentials(n.user.clone()).await?.map(|c| c.user.id);
        }
        Ok(now)
    }

    async fn answer_at(&self, s: StoredSchedule, at: Timestamp) -> Result<Option<OnCallNow>, StoreError> {
        blocking(move || compiled(&s).map(|c| answer(&s, &c, at))).await?
    }

    /// Who is on call for a schedule at `at`, for a caller.
    pub async fn who_is_on_call(
        &self,
        principal: &Principal,
        key: &str,
        at: Timestamp,
    ) -> Result<(StoredSchedule, Option<OnCallNow>), StoreError> {
        self.check(principal, &Action::ReadSchedules)?;
        let s = self.schedule_by_key(key).await?;
        let now = self.on_call(&s.id.to_string(), at).await?;
        Ok((s, now))
    }

    /// Who is on call at `at` for every schedule, by slug.
    pub async fn everyone_on_call(
        &self,
        principal: &Principal,
        at: Timestamp,
    ) -> Result<Vec<(StoredSchedule, Option<OnCallNow>)>, StoreError> {
        let all = self.schedules(principal).await?;
        let mut out = Vec::with_capacity(all.len());
        for s in all {
            let now = self.on_call(&s.id.to_string(), at).await?;
            out.push((s, now));
        }
        Ok(out)
    }

    /// The schedule's timeline from `from` to `to` (at most 366 days; the API allows less).
    pub async fn schedule_shifts(
        &self,
        principal: &Principal,
        key: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(StoredSchedule, Vec<Shift>), StoreError> {
        let s = self.schedule(principal, key).await?;
        let shifts = shifts_of(s.clone(), from, to).await?;
        Ok((s, shifts))
    }

    /// Where the schedule's layers and overrides leave nobody on call from `from` to `to`.
    pub async fn schedule_gaps(
        &self,
        principal: &Principal,
        key: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(StoredSchedule, Vec<Gap>), StoreError> {
        let s = self.schedule(principal, key).await?;
        let copy = s.clone();
        let gaps = blocking(move || compiled(&copy)?.gaps(from, to).map_err(schedule_error)).await??;
        Ok((s, gaps))
    }

    // ---- calendar feeds ----

    /// Mints a calendar feed token for `target`, owned by `owner` (oneself, or anyone as an
    /// admin). Answers the token and its secret, which is shown this once and stored only
    /// as its SHA-256.
    pub async fn mint_feed(
        &self,
        principal: &Principal,
        owner: UserId,
        target: FeedTarget,
        now: Timestamp,
    ) -> Result<(FeedToken, String), StoreError> {
        self.check(principal, &Action::ReadSchedules)?;
        let secret = format!("{FEED_PREFIX}{}", crate::credentials::random_secret());
        let feed = FeedToken { id: Uuid::now_v7(), owner, target, created_at: now };
        let detail = json!({ "owner": owner, "target": target });
        let feed = self
            .permitted(principal, &Action::ManageFeed { owner }, "feed.create", feed.id, detail, now)?
            .create_feed_token(feed, token_hash(&secret))
            .await?;
        Ok((feed, secret))
    }

    /// The caller's feed tokens (every user's for an admin).
    pub async fn feed_tokens(&self, principal: &Principal) -> Result<Vec<FeedToken>, StoreError> {
        let owner = if principal.allows(&Action::ListAllTokens).is_ok() { None } else { Some(principal.user_id) };
        self.store.feed_tokens(owner).await
    }

    /// Revokes a feed token (its owner, or an admin); one the caller may not manage is
    /// answered as one that does not exist.
    pub async fn revoke_feed(&self, principal: &Principal, id: Uuid, now: Timestamp) -> Result<(), StoreError> {
        let feed = self
            .store
            .feed_token(id)
            .await?
            .filter(|f| principal.allows(&Action::ManageFeed { owner: f.owner }).is_ok())
            .ok_or_else(|| StoreError::NotFound(format!("feed token {id}")))?;
        let detail = json!({ "owner": feed.owner, "target": feed.target });
        self.permitted(principal, &Action::ManageFeed { owner: feed.owner }, "feed.revoke", id, detail, now)?
            .delete_feed_token(id)
            .await
    }

    /// What the feed whose secret is `secret` shows from `from` to `to`: the schedule's
    /// shifts, or the user's shifts in every schedule. The secret is the credential: a
    /// revoked or unknown one is `NotFound`, and so is one whose owner was deactivated.
    pub async fn feed_shifts(
        &self,
        secret: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(FeedToken, String, Vec<FeedShift>), StoreError> {
        let not_found = || StoreError::NotFound("calendar feed".into());
        if !secret.starts_with(FEED_PREFIX) || secret.len() > 100 {
            return Err(not_found());
        }
        let feed = self.store.feed_token_by_hash(token_hash(secret)).await?.ok_or_else(not_found)?;
        self.store.user(feed.owner).await?.filter(|u| u.active).ok_or_else(not_found)?;
        let (title, schedules, only_user) = match feed.target {
            FeedTarget::Schedule(id) => {
                let s = self.store.schedule(id).await?.ok_or_else(not_found)?;
                (s.name.clone(), vec![s], None)
            }
            FeedTarget::User(id) => {
                let user = self.store.user(id).await?.ok_or_else(not_found)?;
                let title = format!("On call: {}", user.display_name);
                (title, self.store.schedules().await?, Some(user.name))
            }
        };
        let mut out = Vec::new();
        for s in schedules {
            if only_user.as_deref().is_some_and(|u| !s.user_names().contains(u)) {
                continue;
            }
            for shift in shifts_of(s.clone(), from, to).await? {
                if only_user.as_deref().is_none_or(|u| u == shift.user) {
                    out.push(FeedShift { schedule: s.clone(), shift });
                }
            }
        }
        out.sort_by_key(|f| (f.shift.start, f.schedule.slug.clone()));
        Ok((feed, title, out))
    }
}

async fn shifts_of(s: StoredSchedule, from: Timestamp, to: Timestamp) -> Result<Vec<Shift>, StoreError> {
    blocking(move || compiled(&s)?.shifts(from, to).map_err(schedule_error)).await?
}
