//! On-call schedules on the wire.

use jiff::Timestamp;
use ladder_core::oncall::{OverrideEntry, ScheduleSpec, Shift, Source, StoredSchedule};
use ladder_engine::schedules::OnCallNow;
use ladder_engine::{FeedTarget, FeedToken};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A schedule to create or replace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// Unique, 1–64 of `a-z 0-9 - _ .`; policies page `on_call:SLUG`.
    #[schema(pattern = r"^[a-z0-9._-]{1,64}$")]
    pub slug: String,
    /// 1–100 bytes, no control characters.
    #[schema(pattern = r"\S", max_length = 100)]
    pub name: String,
    /// Zone, layers and fallback; overrides are added with `POST …/overrides`.
    pub spec: ScheduleSpec,
}

/// A schedule: its spec, the overrides in force and its version (also its `ETag`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleDto {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// The spec's zone, repeated for lists.
    pub time_zone: String,
    pub spec: ScheduleSpec,
    /// In the order they were added; where two overlap, the later wins.
    pub overrides: Vec<OverrideEntry>,
    pub version: u64,
    pub updated_at: Timestamp,
}

impl From<&StoredSchedule> for ScheduleDto {
    fn from(s: &StoredSchedule) -> ScheduleDto {
        ScheduleDto {
            id: s.id,
            slug: s.slug.clone(),
            name: s.name.clone(),
            time_zone: s.spec.time_zone.clone(),
            spec: s.spec.clone(),
            overrides: s.overrides.clone(),
            version: s.version,
            updated_at: s.updated_at,
        }
    }
}

/// An override to add: `user` on call in place of the layers from `start` to `end`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    /// The user's name or id.
    #[schema(max_length = 100)]
    pub user: String,
    /// RFC 3339, inclusive.
    #[schema(format = DateTime)]
    pub start: String,
    /// RFC 3339, exclusive; after `start`, at most 366 days later.
    #[schema(format = DateTime)]
    pub end: String,
}

/// Where an answer comes from: `layer`, `override` or `fallback`.
fn source_kind(source: Source) -> &'static str {
    match source {
        Source::Layer(_) => "layer",
        Source::Override => "override",
        Source::Fallback => "fallback",
    }
}

/// Who is on call for a schedule at `at`. Without anyone on call (a gap and no fallback),
/// `user` and `source` are absent.
#[derive(Debug, Serialize, ToSchema)]
pub struct OnCallDto {
    /// The schedule's slug.
    pub schedule: String,
    pub schedule_name: String,
    pub at: Timestamp,
    /// The user's name.
    pub user: Option<String>,
    pub user_id: Option<Uuid>,
    /// `layer`, `override` or `fallback`.
    pub source: Option<String>,
    /// The layer's name, when a layer put them there.
    pub layer: Option<String>,
    /// When their stretch ends (absent: not within 30 days).
    pub until: Option<Timestamp>,
}

impl OnCallDto {
    pub fn new(s: &StoredSchedule, at: Timestamp, now: Option<&OnCallNow>) -> OnCallDto {
        OnCallDto {
            schedule: s.slug.clone(),
            schedule_name: s.name.clone(),
            at,
            user: now.map(|n| n.user.clone()),
            user_id: now.and_then(|n| n.user_id).map(|u| u.0),
            source: now.map(|n| source_kind(n.source).to_string()),
            layer: now.and_then(|n| n.layer.clone()),
            until: now.and_then(|n| n.until),
        }
    }
}

/// One stretch of a schedule's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftDto {
    pub user: String,
    pub start: Timestamp,
    pub end: Timestamp,
    /// `layer`, `override` or `fallback`.
    pub source: String,
    /// The layer's name, for a layer's shift.
    pub layer: Option<String>,
}

impl ShiftDto {
    pub fn new(s: &StoredSchedule, shift: &Shift) -> ShiftDto {
        ShiftDto {
            user: shift.user.clone(),
            start: shift.start,
            end: shift.end,
            source: source_kind(shift.source).to_string(),
            layer: match shift.source {
                Source::Layer(i) => s.spec.layers.get(i).map(|l| l.name.clone()),
                _ => None,
            },
        }
    }
}

/// A schedule's timeline from `from` to `to`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftsDto {
    pub schedule: String,
    pub from: Timestamp,
    pub to: Timestamp,
    /// Stretches nobody answers (a gap and no fallback) are left out.
    pub shifts: Vec<ShiftDto>,
}

/// One stretch no layer and no override covers.
#[derive(Debug, Serialize, ToSchema)]
pub struct GapDto {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Where a schedule's rota leaves nobody on call from `from` to `to`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GapsDto {
    pub schedule: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub gaps: Vec<GapDto>,
    /// Whether a fallback answers the gaps (they are still gaps in the rota).
    pub fallback: Option<String>,
}

/// A calendar feed to mint: a schedule's (`schedule`) or a user's (`user`: their shifts in
/// every schedule; by default the caller's own). At most one of the two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedBody {
    /// The schedule's slug or id.
    #[schema(max_length = 100)]
    pub schedule: Option<String>,
    /// The user's name or id: oneself, or anyone as an admin.
    #[schema(max_length = 100)]
    pub user: Option<String>,
}

/// A calendar feed token. `token` and `url` are answered once, when it is minted.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedDto {
    pub id: Uuid,
    /// `schedule` or `user`.
    pub kind: String,
    /// The schedule's or the user's id.
    pub target: Uuid,
    /// Who minted it.
    pub owner: Uuid,
    pub created_at: Timestamp,
    /// The secret (`ldrcal_…`): shown only in the answer that minted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The feed's path (`/api/v1/calendars/{token}`), for a calendar app to subscribe to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl FeedDto {
    pub fn new(f: &FeedToken, secret: Option<&str>) -> FeedDto {
        let (kind, target) = match f.target {
            FeedTarget::Schedule(id) => ("schedule", id),
            FeedTarget::User(u) => ("user", u.0),
        };
        FeedDto {
            id: f.id,
            kind: kind.into(),
            target,
            owner: f.owner.0,
            created_at: f.created_at,
            token: secret.map(str::to_string),
            url: secret.map(|s| format!("/api/v1/calendars/{s}")),
        }
    }
}
