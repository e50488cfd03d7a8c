//! On-call schedules: who answers a page at an instant.
//!
//! A schedule lives in one time zone and stacks rotation layers. A later layer wins wherever
//! it has someone on call, an override wins over every layer (the last listed over earlier
//! ones), and the fallback answers where neither does. A layer hands off from one user to the
//! next every turn: a turn counted in hours is elapsed time, one counted in days or weeks is
//! calendar days in the schedule's zone, so a weekly hand-off at 09:00 stays at 09:00 across a
//! daylight-saving change. A layer may be restricted to weekly hours ("mon-fri",
//! "09:00-17:00"); a restriction masks the rotation without pausing it, so the turns keep
//! their order whatever the restriction hides.
//!
//! Pure: every instant is an argument. Everything a schedule holds and every span asked of it
//! is bounded (the `MAX_*` constants), so no input makes an answer expensive.

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp, Zoned};
use serde::{Deserialize, Serialize};

use crate::matrix::model::{Calendar, WeeklyHours, parse_days, parse_window};
use crate::sla::BusinessCalendar;

/// Layers one schedule may stack.
pub const MAX_LAYERS: usize = 10;
/// Users one layer may rotate through.
pub const MAX_USERS_PER_LAYER: usize = 100;
/// Overrides one schedule may hold (past ones are pruned by whoever stores them).
pub const MAX_OVERRIDES: usize = 1_000;
/// Restriction windows one layer may have.
pub const MAX_RESTRICTIONS: usize = 28;
/// The longest turn: a year of days.
pub const MAX_TURN_DAYS: i64 = 366;
/// The longest stretch a timeline or a coverage check may cover.
pub const MAX_SPAN: SignedDuration = SignedDuration::from_hours(366 * 24);
/// The longest name of a layer or a user.
pub const MAX_NAME_LEN: usize = 100;

/// A schedule as it is written and stored (JSON or TOML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// IANA time zone of the hand-offs and restrictions, e.g. "Europe/Berlin".
    pub time_zone: String,
    /// Rotation layers, lowest first: a later layer wins where it has someone on call.
    #[serde(default)]
    pub layers: Vec<LayerSpec>,
    /// One-off replacements; the last listed wins where two overlap.
    #[serde(default)]
    pub overrides: Vec<Override>,
    /// Who answers where no layer and no override does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// One rotation layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    pub name: String,
    /// Users in the order they take their turns.
    pub users: Vec<String>,
    /// The first hand-off, wall-clock time in the schedule's zone ("2026-01-05T09:00").
    #[cfg_attr(feature = "schema", schema(value_type = String, example = "2026-01-05T09:00"))]
    pub start: DateTime,
    /// How long one turn lasts: "12h", "1d", "1w", "2w" …
    #[cfg_attr(feature = "schema", schema(value_type = String, example = "1w"))]
    pub turn: Turn,
    /// When the layer is on at all; empty means always.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restrictions: Vec<Restriction>,
}

/// Weekly hours a layer is restricted to: `days` as a calendar's ("mon-fri", "sat,sun",
/// "daily"), `hours` one window ("09:00-17:00"; an end not after the start runs overnight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    pub days: String,
    pub hours: String,
}

/// Someone on call in place of the layers from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub user: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// The length of a turn: a count of hours, days or weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Turn {
    pub count: i64,
    pub unit: TurnUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnUnit {
    Hours,
    Days,
    Weeks,
}

impl Turn {
    /// Parses `N` followed by `h`, `d` or `w` (at least one hour, at most [`MAX_TURN_DAYS`]).
    pub fn parse(s: &str) -> Result<Turn, String> {
        let s = s.trim();
        let expected =
            || format!("{s:?} is not a turn: expected a count and h, d or w, such as \"12h\", \"1d\" or \"1w\"");
        let unit = match s.chars().last() {
            Some('h') => TurnUnit::Hours,
            Some('d') => TurnUnit::Days,
            Some('w') => TurnUnit::Weeks,
            _ => return Err(expected()),
        };
        let digits = &s[..s.len() - 1];
        if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(expected());
        }
        let count: i64 = digits.parse().map_err(|_| expected())?;
        let turn = Turn { count, unit };
        let days = turn.nominal().as_secs() as f64 / 86_400.0;
        if count == 0 || days > MAX_TURN_DAYS as f64 {
            return Err(format!("a turn lasts from 1h to {MAX_TURN_DAYS}d, not {s:?}"));
        }
        Ok(turn)
    }

    /// The turn's length ignoring daylight-saving changes.
    fn nominal(&self) -> SignedDuration {
        let hours = match self.unit {
            TurnUnit::Hours => self.count,
            TurnUnit::Days => self.count * 24,
            TurnUnit::Weeks => self.count * 24 * 7,
        };
        SignedDuration::from_hours(hours)
    }
}

impl fmt::Display for Turn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            TurnUnit::Hours => 'h',
            TurnUnit::Days => 'd',
            TurnUnit::Weeks => 'w',
        };
        write!(f, "{}{unit}", self.count)
    }
}

impl TryFrom<String> for Turn {
    type Error = String;
    fn try_from(s: String) -> Result<Turn, String> {
        Turn::parse(&s)
    }
}

impl From<Turn> for String {
    fn from(t: Turn) -> String {
        t.to_string()
    }
}

/// What is wrong with a schedule or a question put to it: the field's path and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ScheduleError {
    pub path: String,
    pub reason: String,
}

fn invalid(path: impl Into<String>, reason: impl Into<String>) -> ScheduleError {
    ScheduleError { path: path.into(), reason: reason.into() }
}

/// Where an answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "layer", rename_all = "snake_case")]
pub enum Source {
    Override,
    /// The layer's index in the schedule.
    Layer(usize),
    Fallback,
}

/// Who is on call at an instant, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnCall<'a> {
    pub user: &'a str,
    pub source: Source,
}

/// One stretch of the final timeline: `user` on call from `start` to `end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shift {
    pub user: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub source: Source,
}

/// A stretch with nobody on call from a layer or an override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Gap {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// A schedule checked and ready to answer: its zone resolved, its restrictions laid out.
#[derive(Debug, Clone)]
pub struct Schedule {
    layers: Vec<Layer>,
    overrides: Vec<Override>,
    fallback: Option<String>,
}

#[derive(Debug, Clone)]
struct Layer {
    users: Vec<String>,
    start: Zoned,
    turn: Turn,
    restriction: Option<BusinessCalendar>,
}

impl Schedule {
    /// Checks a schedule (every bound, every name, every window) and prepares it.
    pub fn compile(spec: &ScheduleSpec) -> Result<Schedule, ScheduleError> {
        let tz = TimeZone::get(&spec.time_zone)
            .map_err(|_| invalid("time_zone", format!("{:?} is not an IANA time zone", spec.time_zone)))?;
        if spec.layers.len() > MAX_LAYERS {
            return Err(invalid("layers", format!("at most {MAX_LAYERS} layers")));
        }
        if spec.overrides.len() > MAX_OVERRIDES {
            return Err(invalid("overrides", format!("at most {MAX_OVERRIDES} overrides")));
        }
        if spec.layers.is_empty() && spec.fallback.is_none() {
            return Err(invalid("layers", "a schedule needs a layer or a fallback"));
        }
        let mut layers = Vec::with_capacity(spec.layers.len());
        for (i, l) in spec.layers.iter().enumerate() {
            layers.push(
                Layer::compile(l, &tz, &spec.time_zone)
                    .map_err(|e| invalid(format!("layers[{i}].{}", e.path), e.reason))?,
            );
        }
        for (i, o) in spec.overrides.iter().enumerate() {
            check_name(&o.user).map_err(|r| invalid(format!("overrides[{i}].user"), r))?;
            if o.end <= o.start {
                return Err(invalid(format!("overrides[{i}].end"), "an override must end after it starts"));
            }
        }
        if let Some(f) = &spec.fallback {
            check_name(f).map_err(|r| invalid("fallback", r))?;
        }
        Ok(Schedule { layers, overrides: spec.overrides.clone(), fallback: spec.fallback.clone() })
    }

    /// Who is on call at `at`: an override, else the highest layer with someone on call, else
    /// the fallback; `None` when none of them answers.
    pub fn on_call_at(&self, at: Timestamp) -> Option<OnCall<'_>> {
        self.covered_at(at).or_else(|| self.fallback.as_deref().map(|user| OnCall { user, source: Source::Fallback }))
    }

    /// The answer without the fallback: an override or a layer.
    fn covered_at(&self, at: Timestamp) -> Option<OnCall<'_>> {
        if let Some(o) = self.overrides.iter().rev().find(|o| o.start <= at && at < o.end) {
            return Some(OnCall { user: &o.user, source: Source::Override });
        }
        self.layers
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, l)| l.user_at(at).map(|user| OnCall { user, source: Source::Layer(i) }))
    }

    /// The final timeline from `from` to `to` (at most [`MAX_SPAN`]): consecutive shifts, each
    /// as long as one user stays on call from one source. Stretches nobody answers (not even
    /// the fallback) are left out.
    pub fn shifts(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Shift>, ScheduleError> {
        let mut shifts: Vec<Shift> = Vec::new();
        for (start, end) in self.pieces(from, to)? {
            let Some(on) = self.on_call_at(start) else { continue };
            match shifts.last_mut() {
                Some(last) if last.end == start && last.user == on.user && last.source == on.source => last.end = end,
                _ => shifts.push(Shift { user: on.user.to_string(), start, end, source: on.source }),
            }
        }
        Ok(shifts)
    }

    /// The stretches from `from` to `to` (at most [`MAX_SPAN`]) where no layer and no
    /// override has anyone on call — where the fallback answers, or nobody when there is none.
    pub fn gaps(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Gap>, ScheduleError> {
        let mut gaps: Vec<Gap> = Vec::new();
        for (start, end) in self.pieces(from, to)? {
            if self.covered_at(start).is_some() {
                continue;
            }
            match gaps.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ => gaps.push(Gap { start, end }),
            }
        }
        Ok(gaps)
    }

    /// Whether a page at `at` reaches someone.
    pub fn has_fallback(&self) -> bool {
        self.fallback.is_some()
    }

    /// `[from, to)` cut at every instant the answer may change: hand-offs, restriction edges,
    /// override edges. Within one piece the answer is the same throughout.
    fn pieces(&self, from: Timestamp, to: Timestamp) -> Result<Vec<(Timestamp, Timestamp)>, ScheduleError> {
        if to <= from {
            return Err(invalid("to", "the end must come after the start"));
        }
        if to.duration_since(from) > MAX_SPAN {
            return Err(invalid("to", format!("at most {} days at a time", MAX_SPAN.as_hours() / 24)));
        }
        let mut cuts = BTreeSet::from([from, to]);
        let mut inside = |t: Timestamp| {
            if from < t && t < to {
                cuts.insert(t);
            }
        };
        for layer in &self.layers {
            layer.hand_offs(from, to, &mut inside);
            if let Some(cal) = &layer.restriction {
                for iv in cal.intervals_from(from).take_while(|iv| iv.start < to) {
                    inside(iv.start);
                    inside(iv.end);
                }
            }
        }
        for o in &self.overrides {
            inside(o.start);
            inside(o.end);
        }
        let cuts: Vec<Timestamp> = cuts.into_iter().collect();
        Ok(cuts.windows(2).map(|w| (w[0], w[1])).collect())
    }
}

impl Layer {
    fn compile(spec: &LayerSpec, tz: &TimeZone, zone_name: &str) -> Result<Layer, ScheduleError> {
        check_name(&spec.name).map_err(|r| invalid("name", r))?;
        if spec.users.is_empty() {
            return Err(invalid("users", "a layer needs at least one user"));
        }
        if spec.users.len() > MAX_USERS_PER_LAYER {
            return Err(invalid("users", format!("at most {MAX_USERS_PER_LAYER} users")));
        }
        for (i, u) in spec.users.iter().enumerate() {
            check_name(u).map_err(|r| invalid(format!("users[{i}]"), r))?;
        }
        let start = tz
            .to_ambiguous_zoned(spec.start)
            .compatible()
            .map_err(|e| invalid("start", format!("{} has no instant in {zone_name}: {e}", spec.start)))?;
        if spec.restrictions.len() > MAX_RESTRICTIONS {
            return Err(invalid("restrictions", format!("at most {MAX_RESTRICTIONS} windows")));
        }
        let restriction = if spec.restrictions.is_empty() {
            None
        } else {
            let mut hours = WeeklyHours::default();
            for (i, r) in spec.restrictions.iter().enumerate() {
                let days = parse_days(&r.days).ok_or_else(|| {
                    invalid(
                        format!("restrictions[{i}].days"),
                        format!("{:?} is not a day spec such as \"mon-fri\"", r.days),
                    )
                })?;
                let window = parse_window(&r.hours).ok_or_else(|| {
                    invalid(
                        format!("restrictions[{i}].hours"),
                        format!("{:?} is not a window such as \"09:00-17:00\"", r.hours),
                    )
                })?;
                for d in days {
                    hours.days[d].push(window);
                }
            }
            let calendar = Calendar {
                timezone: zone_name.to_string(),
                hours,
                holidays: Vec::new(),
                overrides: Default::default(),
            };
            Some(BusinessCalendar::with_time_zone(&calendar, tz.clone()))
        };
        Ok(Layer { users: spec.users.clone(), start, turn: spec.turn, restriction })
    }

    /// The instant turn `k` begins (`None` beyond the representable instants).
    fn boundary(&self, k: i64) -> Option<Timestamp> {
        let span = match self.turn.unit {
            TurnUnit::Hours => {
                return self
                    .start
                    .timestamp()
                    .checked_add(SignedDuration::from_hours(self.turn.count.checked_mul(k)?))
                    .ok();
            }
            TurnUnit::Days => Span::new().try_days(self.turn.count.checked_mul(k)?).ok()?,
            TurnUnit::Weeks => Span::new().try_days(self.turn.count.checked_mul(7)?.checked_mul(k)?).ok()?,
        };
        self.start.checked_add(span).ok().map(|z| z.timestamp())
    }

    /// The turn under way at `at`; `None` before the first hand-off.
    fn turn_at(&self, at: Timestamp) -> Option<i64> {
        let start = self.start.timestamp();
        if at < start {
            return None;
        }
        let mut k = at.duration_since(start).as_secs() / self.turn.nominal().as_secs();
        // Daylight-saving changes move calendar hand-offs by at most a few hours a year, so
        // the estimate is off by a turn or so; step to the turn that holds `at`.
        while k > 0 && self.boundary(k).is_none_or(|b| b > at) {
            k -= 1;
        }
        while self.boundary(k + 1).is_some_and(|b| b <= at) {
            k += 1;
        }
        Some(k)
    }

    fn user_at(&self, at: Timestamp) -> Option<&str> {
        if let Some(cal) = &self.restriction
            && !cal.is_open(at)
        {
            return None;
        }
        let k = self.turn_at(at)?;
        Some(&self.users[k.rem_euclid(self.users.len() as i64) as usize])
    }

    /// Calls `cut` with every hand-off after `from` and before `to`, and the first hand-off.
    fn hand_offs(&self, from: Timestamp, to: Timestamp, cut: &mut impl FnMut(Timestamp)) {
        cut(self.start.timestamp());
        let mut k = self.turn_at(from).unwrap_or(0) + 1;
        while let Some(b) = self.boundary(k) {
            if b >= to {
                break;
            }
            cut(b);
            k += 1;
        }
    }
}

/// The longest slug of a schedule (a handle: `a-z 0-9 - _ .`).
pub const MAX_SLUG_LEN: usize = 64;
/// The largest schedule document (its spec as JSON), in bytes.
pub const MAX_SPEC_BYTES: usize = 64 * 1024;
/// How long an override is kept after it ended: older ones are pruned at the next change, so
/// the past this far back is answered with its overrides.
pub const OVERRIDE_RETENTION: SignedDuration = SignedDuration::from_hours(90 * 24);

/// A schedule as Ladder keeps it: its slug and name, its spec (zone, layers, fallback) and its
/// overrides, each with an id of its own so it can be removed. `version` counts every change
/// (the spec replaced, an override added or removed), for `If-Match`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSchedule {
    pub id: uuid::Uuid,
    pub slug: String,
    pub name: String,
    /// Its `overrides` are always empty: the schedule's are [`StoredSchedule::overrides`].
    pub spec: ScheduleSpec,
    #[serde(default)]
    pub overrides: Vec<OverrideEntry>,
    pub version: u64,
    pub updated_at: Timestamp,
}

/// One override of a stored schedule, in the order they were added (the later wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct OverrideEntry {
    pub id: uuid::Uuid,
    pub user: String,
    pub start: Timestamp,
    pub end: Timestamp,
    /// The user who added it.
    pub created_by: String,
    pub created_at: Timestamp,
}

impl StoredSchedule {
    /// The spec with the overrides in force, as [`Schedule::compile`] takes it.
    pub fn full_spec(&self) -> ScheduleSpec {
        let overrides =
            self.overrides.iter().map(|o| Override { user: o.user.clone(), start: o.start, end: o.end }).collect();
        ScheduleSpec { overrides, ..self.spec.clone() }
    }

    /// The schedule ready to answer.
    pub fn compile(&self) -> Result<Schedule, ScheduleError> {
        Schedule::compile(&self.full_spec())
    }

    /// Adds an override after pruning those that ended over [`OVERRIDE_RETENTION`] before
    /// `now`; refuses one that does not end after it starts, or beyond [`MAX_OVERRIDES`].
    pub fn add_override(&mut self, entry: OverrideEntry, now: Timestamp) -> Result<(), ScheduleError> {
        check_name(&entry.user).map_err(|r| invalid("user", r))?;
        if entry.end <= entry.start {
            return Err(invalid("end", "an override must end after it starts"));
        }
        let horizon = now.checked_sub(OVERRIDE_RETENTION).unwrap_or(now);
        self.overrides.retain(|o| o.end > horizon);
        if self.overrides.len() >= MAX_OVERRIDES {
            return Err(invalid("overrides", format!("a schedule holds at most {MAX_OVERRIDES} overrides")));
        }
        self.overrides.push(entry);
        Ok(())
    }

    /// Every user name the schedule puts on call: layers, overrides and the fallback.
    pub fn user_names(&self) -> BTreeSet<&str> {
        spec_user_names(&self.spec).into_iter().chain(self.overrides.iter().map(|o| o.user.as_str())).collect()
    }
}

/// Every user name a spec puts on call.
pub fn spec_user_names(spec: &ScheduleSpec) -> BTreeSet<&str> {
    spec.layers
        .iter()
        .flat_map(|l| l.users.iter().map(String::as_str))
        .chain(spec.overrides.iter().map(|o| o.user.as_str()))
        .chain(spec.fallback.as_deref())
        .collect()
}

/// Checks what a schedule is written with: its slug, name and spec (every bound of
/// [`Schedule::compile`], and the spec's size); the error's path is the body's (`slug`,
/// `spec.layers[0].turn` …). A stored spec holds no overrides: they are added one by one.
pub fn validate_schedule(slug: &str, name: &str, spec: &ScheduleSpec) -> Result<(), ScheduleError> {
    let handle = !slug.is_empty()
        && slug.len() <= MAX_SLUG_LEN
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if !handle {
        return Err(invalid("slug", format!("{slug:?} is not a slug: use 1–64 of a-z, 0-9, '-', '_' and '.'")));
    }
    check_name(name).map_err(|r| invalid("name", r))?;
    if !spec.overrides.is_empty() {
        return Err(invalid("spec.overrides", "add overrides one by one, with POST /api/v1/schedules/{id}/overrides"));
    }
    let size = serde_json::to_vec(spec).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_SPEC_BYTES {
        return Err(invalid("spec", format!("the spec is {size} bytes as JSON; the limit is {MAX_SPEC_BYTES}")));
    }
    Schedule::compile(spec).map(|_| ()).map_err(|e| invalid(format!("spec.{}", e.path), e.reason))
}

fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("at most {MAX_NAME_LEN} bytes"));
    }
    if name.chars().any(char::is_control) {
        return Err("must not hold control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn layer(name: &str, users: &[&str], start: &str, turn: &str) -> LayerSpec {
        LayerSpec {
            name: name.into(),
            users: users.iter().map(|u| u.to_string()).collect(),
            start: start.parse().unwrap(),
            turn: Turn::parse(turn).unwrap(),
            restrictions: Vec::new(),
        }
    }

    fn spec(tz: &str, layers: Vec<LayerSpec>) -> ScheduleSpec {
        ScheduleSpec { time_zone: tz.into(), layers, overrides: Vec::new(), fallback: None }
    }

    fn who(s: &Schedule, at: &str) -> Option<String> {
        s.on_call_at(ts(at)).map(|o| o.user.to_string())
    }

    #[test]
    fn a_weekly_rotation_hands_off_at_the_same_wall_clock_time_across_daylight_saving() {
        // New York springs forward on 2026-03-08 and falls back on 2026-11-01.
        let s = Schedule::compile(&spec(
            "America/New_York",
            vec![layer("primary", &["ana", "ben", "cy"], "2026-03-02T09:00", "1w")],
        ))
        .unwrap();
        // Before the change: 09:00 EST is 14:00 UTC.
        assert_eq!(who(&s, "2026-03-02T14:00:00Z").as_deref(), Some("ana"));
        assert_eq!(who(&s, "2026-03-08T23:00:00Z").as_deref(), Some("ana"));
        // After it: 09:00 EDT is 13:00 UTC, so ben's turn starts an hour earlier in UTC.
        assert_eq!(who(&s, "2026-03-09T13:00:00Z").as_deref(), Some("ben"));
        assert_eq!(who(&s, "2026-03-09T12:59:59Z").as_deref(), Some("ana"));
        assert_eq!(who(&s, "2026-03-16T13:00:00Z").as_deref(), Some("cy"));
        assert_eq!(who(&s, "2026-03-23T13:00:00Z").as_deref(), Some("ana"));
        // Before the first hand-off nobody is on call.
        assert_eq!(who(&s, "2026-03-02T13:59:59Z"), None);
        // Months later the hand-off is still at 09:00 local: 2026-11-02 is after fall back.
        let t = s.on_call_at(ts("2026-11-02T14:00:00Z")).unwrap();
        let before = s.on_call_at(ts("2026-11-02T13:59:59Z")).unwrap();
        assert_ne!(t.user, before.user, "the turn changes at 09:00 EST = 14:00 UTC");
    }

    #[test]
    fn an_hourly_turn_is_elapsed_time_even_across_a_daylight_saving_change() {
        let s = Schedule::compile(&spec("Europe/Berlin", vec![layer("night", &["a", "b"], "2026-03-28T20:00", "12h")]))
            .unwrap();
        // 2026-03-28T20:00 CET = 19:00 UTC; twelve hours later is 07:00 UTC, 09:00 CEST.
        assert_eq!(who(&s, "2026-03-29T06:59:59Z").as_deref(), Some("a"));
        assert_eq!(who(&s, "2026-03-29T07:00:00Z").as_deref(), Some("b"));
    }

    #[test]
    fn a_restriction_masks_the_rotation_without_pausing_it() {
        let mut l = layer("business", &["ana", "ben"], "2026-01-05T00:00", "1d");
        l.restrictions = vec![Restriction { days: "mon-fri".into(), hours: "09:00-17:00".into() }];
        let s = Schedule::compile(&spec("UTC", vec![l])).unwrap();
        assert_eq!(who(&s, "2026-01-05T08:59:00Z"), None);
        assert_eq!(who(&s, "2026-01-05T09:00:00Z").as_deref(), Some("ana"));
        assert_eq!(who(&s, "2026-01-06T12:00:00Z").as_deref(), Some("ben"));
        // Saturday is masked; Monday the rotation has moved on by seven days (odd: ben).
        assert_eq!(who(&s, "2026-01-10T12:00:00Z"), None);
        assert_eq!(who(&s, "2026-01-12T12:00:00Z").as_deref(), Some("ben"));
    }

    #[test]
    fn an_overnight_restriction_covers_the_small_hours_of_the_next_day() {
        let mut l = layer("nights", &["owl"], "2026-01-01T00:00", "1w");
        l.restrictions = vec![Restriction { days: "daily".into(), hours: "22:00-06:00".into() }];
        let s = Schedule::compile(&spec("UTC", vec![l])).unwrap();
        assert_eq!(who(&s, "2026-01-07T23:00:00Z").as_deref(), Some("owl"));
        assert_eq!(who(&s, "2026-01-08T05:59:00Z").as_deref(), Some("owl"));
        assert_eq!(who(&s, "2026-01-08T06:00:00Z"), None);
    }

    #[test]
    fn a_higher_layer_wins_where_it_is_on_and_the_lower_answers_elsewhere() {
        let base = layer("all day", &["day1", "day2"], "2026-01-05T00:00", "1w");
        let mut top = layer("evenings", &["eve"], "2026-01-05T00:00", "1w");
        top.restrictions = vec![Restriction { days: "daily".into(), hours: "18:00-22:00".into() }];
        let s = Schedule::compile(&spec("UTC", vec![base, top])).unwrap();
        assert_eq!(who(&s, "2026-01-06T12:00:00Z").as_deref(), Some("day1"));
        let on = s.on_call_at(ts("2026-01-06T19:00:00Z")).unwrap();
        assert_eq!((on.user, on.source), ("eve", Source::Layer(1)));
    }

    #[test]
    fn an_override_wins_over_every_layer_and_the_last_listed_wins_where_two_overlap() {
        let mut sp = spec("UTC", vec![layer("primary", &["ana"], "2026-01-01T00:00", "1w")]);
        sp.overrides = vec![
            Override { user: "ben".into(), start: ts("2026-01-02T00:00:00Z"), end: ts("2026-01-03T00:00:00Z") },
            Override { user: "cy".into(), start: ts("2026-01-02T12:00:00Z"), end: ts("2026-01-02T13:00:00Z") },
        ];
        let s = Schedule::compile(&sp).unwrap();
        assert_eq!(who(&s, "2026-01-02T11:00:00Z").as_deref(), Some("ben"));
        assert_eq!(who(&s, "2026-01-02T12:30:00Z").as_deref(), Some("cy"));
        assert_eq!(s.on_call_at(ts("2026-01-02T12:30:00Z")).unwrap().source, Source::Override);
        assert_eq!(who(&s, "2026-01-03T00:00:00Z").as_deref(), Some("ana"), "an override's end is exclusive");
    }

    #[test]
    fn the_timeline_merges_a_users_stretch_and_shows_overrides_as_their_own_shifts() {
        let mut sp = spec("UTC", vec![layer("primary", &["ana", "ben"], "2026-01-05T09:00", "1d")]);
        sp.overrides =
            vec![Override { user: "cy".into(), start: ts("2026-01-05T12:00:00Z"), end: ts("2026-01-05T14:00:00Z") }];
        let s = Schedule::compile(&sp).unwrap();
        let shifts = s.shifts(ts("2026-01-05T00:00:00Z"), ts("2026-01-07T09:00:00Z")).unwrap();
        let seen: Vec<(&str, String, String)> =
            shifts.iter().map(|x| (x.user.as_str(), x.start.to_string(), x.end.to_string())).collect();
        assert_eq!(
            seen,
            vec![
                ("ana", "2026-01-05T09:00:00Z".into(), "2026-01-05T12:00:00Z".into()),
                ("cy", "2026-01-05T12:00:00Z".into(), "2026-01-05T14:00:00Z".into()),
                ("ana", "2026-01-05T14:00:00Z".into(), "2026-01-06T09:00:00Z".into()),
                ("ben", "2026-01-06T09:00:00Z".into(), "2026-01-07T09:00:00Z".into()),
            ]
        );
    }

    #[test]
    fn gaps_are_where_no_layer_or_override_answers_and_the_fallback_fills_them() {
        let mut l = layer("business", &["ana"], "2026-01-05T00:00", "1w");
        l.restrictions = vec![Restriction { days: "mon-fri".into(), hours: "09:00-17:00".into() }];
        let mut sp = spec("UTC", vec![l]);
        let s = Schedule::compile(&sp).unwrap();
        let gaps = s.gaps(ts("2026-01-05T00:00:00Z"), ts("2026-01-06T00:00:00Z")).unwrap();
        assert_eq!(
            gaps,
            vec![
                Gap { start: ts("2026-01-05T00:00:00Z"), end: ts("2026-01-05T09:00:00Z") },
                Gap { start: ts("2026-01-05T17:00:00Z"), end: ts("2026-01-06T00:00:00Z") },
            ]
        );
        assert_eq!(who(&s, "2026-01-05T18:00:00Z"), None);
        sp.fallback = Some("duty manager".into());
        let s = Schedule::compile(&sp).unwrap();
        let on = s.on_call_at(ts("2026-01-05T18:00:00Z")).unwrap();
        assert_eq!((on.user, on.source), ("duty manager", Source::Fallback));
        // The fallback answers the gaps, but they are still gaps in the rota.
        assert_eq!(s.gaps(ts("2026-01-05T00:00:00Z"), ts("2026-01-06T00:00:00Z")).unwrap().len(), 2);
        let shifts = s.shifts(ts("2026-01-05T00:00:00Z"), ts("2026-01-06T00:00:00Z")).unwrap();
        assert_eq!(shifts.iter().map(|x| x.user.as_str()).collect::<Vec<_>>(), ["duty manager", "ana", "duty manager"]);
    }

    #[test]
    fn a_week_of_daily_turns_in_a_zone_with_a_dst_change_leaves_no_gap_and_no_overlap() {
        let s = Schedule::compile(&spec(
            "Europe/London",
            vec![layer("primary", &["a", "b", "c"], "2026-03-25T08:00", "1d")],
        ))
        .unwrap();
        let from = ts("2026-03-25T08:00:00Z");
        let to = ts("2026-04-01T07:00:00Z");
        let shifts = s.shifts(from, to).unwrap();
        assert_eq!(shifts.first().unwrap().start, from);
        assert_eq!(shifts.last().unwrap().end, to);
        for w in shifts.windows(2) {
            assert_eq!(w[0].end, w[1].start);
            assert_ne!(w[0].user, w[1].user);
        }
        // London springs forward on 2026-03-29: the hand-off that day is 08:00 BST = 07:00 UTC.
        assert!(shifts.iter().any(|x| x.start == ts("2026-03-29T07:00:00Z")));
        assert!(s.gaps(from, to).unwrap().is_empty());
    }

    #[test]
    fn a_schedule_with_bad_parts_is_refused_with_the_field_named() {
        let err = |sp: ScheduleSpec| Schedule::compile(&sp).unwrap_err().to_string();
        assert!(err(spec("Mars/Olympus", vec![])).starts_with("time_zone:"));
        assert!(err(spec("UTC", vec![])).starts_with("layers:"));
        let mut l = layer("x", &["a"], "2026-01-01T00:00", "1d");
        l.users.clear();
        assert!(err(spec("UTC", vec![l])).starts_with("layers[0].users:"));
        let mut l = layer("x", &["a"], "2026-01-01T00:00", "1d");
        l.restrictions = vec![Restriction { days: "someday".into(), hours: "09:00-17:00".into() }];
        assert!(err(spec("UTC", vec![l])).starts_with("layers[0].restrictions[0].days:"));
        let mut sp = spec("UTC", vec![layer("x", &["a"], "2026-01-01T00:00", "1d")]);
        sp.overrides =
            vec![Override { user: "b".into(), start: ts("2026-01-02T00:00:00Z"), end: ts("2026-01-02T00:00:00Z") }];
        assert!(err(sp).starts_with("overrides[0].end:"));
        assert!(Turn::parse("0d").is_err());
        assert!(Turn::parse("367d").is_err());
        assert!(Turn::parse("53w").is_err());
        assert!(Turn::parse("1y").is_err());
        assert!(Turn::parse("").is_err());
        assert_eq!(Turn::parse("2w").unwrap().to_string(), "2w");
    }

    #[test]
    fn a_timeline_longer_than_the_limit_or_backwards_is_refused() {
        let s = Schedule::compile(&spec("UTC", vec![layer("x", &["a"], "2026-01-01T00:00", "1h")])).unwrap();
        assert!(s.shifts(ts("2026-01-01T00:00:00Z"), ts("2027-06-01T00:00:00Z")).is_err());
        assert!(s.shifts(ts("2026-01-02T00:00:00Z"), ts("2026-01-01T00:00:00Z")).is_err());
        // A year of hourly turns with one user merges into one shift.
        let year = s.shifts(ts("2026-01-01T00:00:00Z"), ts("2026-12-31T00:00:00Z")).unwrap();
        assert_eq!(year.len(), 1);
    }

    #[test]
    fn a_schedule_reads_from_json_as_stored() {
        let sp: ScheduleSpec = serde_json::from_str(
            r#"{"time_zone":"Asia/Tokyo","layers":[{"name":"primary","users":["ana","ben"],
                "start":"2026-01-05T09:00","turn":"1w",
                "restrictions":[{"days":"mon-fri","hours":"09:00-18:00"}]}],
                "overrides":[{"user":"cy","start":"2026-01-06T00:00:00Z","end":"2026-01-06T03:00:00Z"}],
                "fallback":"lead"}"#,
        )
        .unwrap();
        let s = Schedule::compile(&sp).unwrap();
        // 2026-01-05 10:00 JST = 01:00 UTC.
        assert_eq!(who(&s, "2026-01-05T01:00:00Z").as_deref(), Some("ana"));
        assert_eq!(who(&s, "2026-01-06T01:00:00Z").as_deref(), Some("cy"));
        assert!(serde_json::from_str::<ScheduleSpec>(r#"{"time_zone":"UTC","extra":1}"#).is_err());
        assert!(
            serde_json::from_str::<ScheduleSpec>(
                r#"{"time_zone":"UTC","layers":[{"name":"x","users":["a"],"start":"2026-01-01T00:00","turn":"5y"}]}"#
            )
            .is_err()
        );
    }

    mod timeline_agrees_with_point_queries {
        use proptest::prelude::*;

        use super::*;

        const ZONES: [&str; 4] = ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe"];
        const TURNS: [&str; 6] = ["1h", "7h", "12h", "1d", "3d", "1w"];
        const DAYS: [&str; 4] = ["mon-fri", "sat,sun", "daily", "fri-mon"];
        const HOURS: [&str; 4] = ["09:00-17:00", "22:00-06:00", "00:00-24:00", "01:30-02:30"];

        fn arb_layer() -> impl Strategy<Value = LayerSpec> {
            (1usize..4, 0i64..2_000, 0usize..TURNS.len(), proptest::collection::vec((0usize..4, 0usize..4), 0..3))
                .prop_map(|(users, start_h, turn, restrictions)| LayerSpec {
                    name: "layer".into(),
                    users: (0..users).map(|u| format!("u{u}")).collect(),
                    start: "2026-03-01T00:00".parse::<DateTime>().unwrap() + Span::new().hours(start_h),
                    turn: Turn::parse(TURNS[turn]).unwrap(),
                    restrictions: restrictions
                        .into_iter()
                        .map(|(d, h)| Restriction { days: DAYS[d].into(), hours: HOURS[h].into() })
                        .collect(),
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            /// Every instant of the range is answered by the shift that holds it, or by nobody
            /// when no shift holds it; shifts never overlap.
            #[test]
            fn every_instant(
                zone in 0usize..ZONES.len(),
                layers in proptest::collection::vec(arb_layer(), 1..4),
                overrides in proptest::collection::vec((0i64..3_000, 1i64..48), 0..3),
                fallback in proptest::bool::ANY,
                probes in proptest::collection::vec(0i64..(30 * 24 * 60), 40),
            ) {
                let base: Timestamp = "2026-03-20T00:00:00Z".parse().unwrap();
                let sp = ScheduleSpec {
                    time_zone: ZONES[zone].into(),
                    layers,
                    overrides: overrides
                        .into_iter()
                        .map(|(h, len)| Override {
                            user: "ov".into(),
                            start: base + SignedDuration::from_hours(h - 500),
                            end: base + SignedDuration::from_hours(h - 500 + len),
                        })
                        .collect(),
                    fallback: fallback.then(|| "fb".to_string()),
                };
                let s = Schedule::compile(&sp).unwrap();
                let to = base + SignedDuration::from_hours(30 * 24);
                let shifts = s.shifts(base, to).unwrap();
                for w in shifts.windows(2) {
                    prop_assert!(w[0].end <= w[1].start);
                }
                for m in probes {
                    let t = base + SignedDuration::from_mins(m);
                    let expected = shifts.iter().find(|x| x.start <= t && t < x.end).map(|x| (x.user.as_str(), x.source));
                    let got = s.on_call_at(t).map(|o| (o.user, o.source));
                    prop_assert_eq!(got, expected, "at {}", t);
                }
            }
        }
    }
}
