//! The SLA side of a matrix, ready for use ([`SlaPolicy`]), and how a case's clocks follow
//! what happens to the case ([`reconcile`]) and what a timer does when it goes off
//! ([`fire`]). Both return clock events; folding them with [`crate::case::apply`] gives
//! exactly the clocks computed here (tested below).
//!
//! # What starts, stops and changes a clock
//!
//! - **Reaching a level** (the case is opened, escalated, de-escalated or reopened): the
//!   clocks of the level it left are cancelled, and the new level's `respond` and `resolve`
//!   clocks start, with the targets for the case's priority and customer segment.
//! - **A public reply from staff** meets the `respond` clock and the running `update` clock,
//!   and starts a new `update` clock: the customer must hear again within that target.
//! - **Waiting** in a status of the matrix's `[sla] pause_on` pauses every clock; leaving it
//!   resumes them with the business time they had left.
//! - **Resolving or closing** meets the `resolve` clock and cancels the others.
//! - **Adoption**: an active case without any clock (opened before a matrix set targets)
//!   gets its level's clocks on its next change or when a matrix version is put in force.
//! - **Re-evaluation**: a clock whose target or calendar is no longer what the matrix gives
//!   for the case (priority, segment or matrix version changed) is retargeted; the business
//!   time already spent counts against the new target. A clock whose target was removed is
//!   cancelled.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use super::business_time::{BusinessCalendar, SlaError};
use super::clock::{Clock, ClockFiring, ClockKind, ClockState};
use crate::case::{Actor, Case, Priority, Visibility};
use crate::decide::{Context, record};
use crate::directory::{Customer, Ladder, LevelId};
use crate::event::{
    CaseEvent, ClockAtRisk, ClockBreached, ClockCancelled, ClockMet, ClockPaused, ClockResumed, ClockRetargeted,
    ClockStarted, RecordedEvent,
};
use crate::matrix::model::{LevelSpec, Matrix, SlaSettings};

/// The targets, calendars and settings of one matrix version, with every calendar's time
/// zone resolved once.
#[derive(Debug, Clone)]
pub struct SlaPolicy {
    /// The matrix version it comes from (for re-evaluation reasons).
    pub version: Option<u32>,
    pub settings: SlaSettings,
    calendars: BTreeMap<String, BusinessCalendar>,
    levels: Vec<LevelSpec>,
    /// How long an approval request for each action may wait (the authority rules'
    /// `approve_within`), by action.
    approve_within: BTreeMap<String, SignedDuration>,
}

impl SlaPolicy {
    /// Builds the policy of a (linted) matrix. Fails only on a calendar whose time zone is
    /// unknown, which the linter already refuses.
    pub fn new(matrix: &Matrix, version: Option<u32>) -> Result<SlaPolicy, SlaError> {
        let mut calendars = BTreeMap::new();
        for (name, c) in &matrix.calendars {
            calendars.insert(name.clone(), BusinessCalendar::new(c)?);
        }
        let approve_within =
            matrix.authority.iter().filter_map(|a| Some((a.action.clone(), a.approve_within?))).collect();
        Ok(SlaPolicy {
            version,
            settings: matrix.sla.clone(),
            calendars,
            levels: matrix.levels.clone(),
            approve_within,
        })
    }

    /// A calendar by name; `None` (24x7) for no name or a name the matrix does not have.
    pub fn calendar(&self, name: Option<&str>) -> Option<&BusinessCalendar> {
        name.and_then(|n| self.calendars.get(n))
    }

    /// The calendar a clock counts in.
    pub fn calendar_of(&self, clock: &Clock) -> Option<&BusinessCalendar> {
        self.calendar(clock.calendar.as_deref())
    }

    /// The calendar name of a level (`None` = 24x7).
    pub fn level_calendar(&self, level: &LevelId) -> Option<&str> {
        self.levels.iter().find(|l| &l.id == level).and_then(|l| l.calendar.as_deref())
    }

    /// The target of a clock of `kind` at `level` for a case of `priority` and a customer
    /// of `segment`, with the calendar it counts in; `None` when the matrix sets none.
    pub fn target(
        &self,
        level: &LevelId,
        kind: ClockKind,
        priority: Priority,
        segment: Option<&str>,
    ) -> Option<(SignedDuration, Option<String>)> {
        let spec = self.levels.iter().find(|l| &l.id == level)?;
        let target = spec.targets_for(priority, segment).get(kind.target_kind()?)?;
        Some((target, spec.calendar.clone()))
    }

    /// How long an approval request for `action` may wait; `None`: no clock.
    pub fn approve_within(&self, action: &str) -> Option<SignedDuration> {
        self.approve_within.get(action).copied()
    }
}

/// The clocks being changed and the events that record each change.
struct Recorder<'p> {
    policy: &'p SlaPolicy,
    clocks: Vec<Clock>,
    out: Vec<CaseEvent>,
    now: Timestamp,
}

impl Recorder<'_> {
    fn warn_at(&self) -> &[u8] {
        &self.policy.settings.warn_at
    }

    /// Indices of the clocks still running, paused, at risk or breached, approval clocks included.
    fn all_live(&self) -> Vec<usize> {
        (0..self.clocks.len()).filter(|i| !self.clocks[*i].state.is_final()).collect()
    }

    /// Indices of the live clocks of the case's levels (approval clocks follow their
    /// approval, not the level or the status).
    fn live(&self) -> Vec<usize> {
        self.all_live().into_iter().filter(|i| self.clocks[*i].kind != ClockKind::Approval).collect()
    }

    fn start(&mut self, kind: ClockKind, level: &LevelId, target: SignedDuration, calendar: Option<String>) {
        self.start_for(kind, level, target, calendar, None);
    }

    fn start_for(
        &mut self,
        kind: ClockKind,
        level: &LevelId,
        target: SignedDuration,
        calendar: Option<String>,
        approval: Option<u32>,
    ) {
        let cal = self.policy.calendar(calendar.as_deref());
        let Ok(mut clock) = Clock::start(kind, level.clone(), target, calendar.clone(), cal, self.now) else {
            // A calendar with no open time within the search limit: such a target can never
            // fall due, so no clock is kept (the linter warns about such calendars).
            return;
        };
        clock.arm(self.warn_at(), cal);
        self.out.push(CaseEvent::ClockStarted(ClockStarted {
            index: self.clocks.len() as u32,
            clock: kind,
            level: level.clone(),
            target,
            calendar,
            due_at: clock.due_at.unwrap_or(self.now),
            next_fire: clock.next_fire,
            approval,
        }));
        clock.approval = approval;
        self.clocks.push(clock);
    }

    fn pause(&mut self, i: usize, status: crate::case::Status) {
        let c = &mut self.clocks[i];
        if !c.state.is_counting() {
            return;
        }
        c.pause(self.now);
        self.out.push(CaseEvent::ClockPaused(ClockPaused { index: i as u32, clock: c.kind, status }));
    }

    fn resume(&mut self, i: usize) {
        let policy = self.policy;
        let c = &mut self.clocks[i];
        if c.state != ClockState::Paused {
            return;
        }
        let cal = policy.calendar_of(c);
        if c.resume(cal, self.now).is_err() {
            return;
        }
        c.arm(&policy.settings.warn_at, cal);
        self.out.push(CaseEvent::ClockResumed(ClockResumed {
            index: i as u32,
            clock: c.kind,
            due_at: c.due_at.unwrap_or(self.now),
            next_fire: c.next_fire,
        }));
    }

    fn meet(&mut self, i: usize) {
        let c = &mut self.clocks[i];
        if c.state.is_final() {
            return;
        }
        c.meet(self.now);
        self.out.push(CaseEvent::ClockMet(ClockMet { index: i as u32, clock: c.kind }));
    }

    fn cancel(&mut self, i: usize, reason: &str) {
        let c = &mut self.clocks[i];
        if c.state.is_final() {
            return;
        }
        c.cancel(self.now);
        self.out.push(CaseEvent::ClockCancelled(ClockCancelled {
            index: i as u32,
            clock: c.kind,
            reason: reason.to_string(),
        }));
    }

    fn retarget(&mut self, i: usize, target: SignedDuration, calendar: Option<String>, reason: &str) {
        let policy = self.policy;
        let c = &mut self.clocks[i];
        let previous_target = c.target;
        let cal = policy.calendar(calendar.as_deref());
        if c.reevaluate(target, calendar.clone(), cal, self.now).is_err() {
            return;
        }
        c.arm(&policy.settings.warn_at, cal);
        self.out.push(CaseEvent::ClockRetargeted(ClockRetargeted {
            index: i as u32,
            clock: c.kind,
            target,
            previous_target,
            calendar,
            due_at: c.due_at,
            next_fire: c.next_fire,
            reason: reason.to_string(),
        }));
    }
}

/// Whether an event is a reply the customer sees, written by staff.
fn is_staff_reply(e: &RecordedEvent) -> bool {
    matches!(&e.event, CaseEvent::MessageAdded(m) if matches!(m.author, Actor::User { .. }) && m.visibility == Visibility::Public)
}

/// The clock events that bring `after`'s clocks in line with the case: `before` is the case
/// before this write, `events` what the write recorded so far (folded into `after`),
/// `segment` the customer's segment. See the module documentation for the rules.
pub fn reconcile(
    policy: &SlaPolicy,
    before: Option<&Case>,
    events: &[RecordedEvent],
    after: &Case,
    segment: Option<&str>,
    now: Timestamp,
) -> Vec<CaseEvent> {
    let mut r = Recorder { policy, clocks: after.clocks.clone(), out: Vec::new(), now };
    if !after.status.is_active() {
        let reason = after.status.as_str();
        for i in r.all_live() {
            if r.clocks[i].kind == ClockKind::Resolve {
                r.meet(i);
            } else {
                r.cancel(i, reason);
            }
        }
        return r.out;
    }
    let entered = match before {
        None => Some("opened".to_string()),
        Some(b) if b.level != after.level => Some(format!("left level {}", b.level)),
        Some(b) if !b.status.is_active() => Some("reopened".to_string()),
        Some(_) => None,
    };
    let target = |kind| policy.target(&after.level, kind, after.priority, segment);
    if let Some(reason) = entered {
        for i in r.live() {
            r.cancel(i, &reason);
        }
        for kind in [ClockKind::Respond, ClockKind::Resolve] {
            if let Some((t, cal)) = target(kind) {
                r.start(kind, &after.level, t, cal);
            }
        }
    } else if after.clocks.iter().all(|c| c.kind == ClockKind::Approval) {
        // A case that was open before any matrix set targets for it: its clocks start now
        // (respond only if nobody has answered the customer yet).
        let kinds: &[ClockKind] = if after.first_response_at.is_none() {
            &[ClockKind::Respond, ClockKind::Resolve]
        } else {
            &[ClockKind::Resolve]
        };
        for &kind in kinds {
            if let Some((t, cal)) = target(kind) {
                r.start(kind, &after.level, t, cal);
            }
        }
    }
    if events.iter().any(is_staff_reply) {
        for i in r.live() {
            if matches!(r.clocks[i].kind, ClockKind::Respond | ClockKind::Update) {
                r.meet(i);
            }
        }
        if let Some((t, cal)) = target(ClockKind::Update) {
            r.start(ClockKind::Update, &after.level, t, cal);
        }
    }
    // Re-evaluation: every live clock should carry what the matrix gives the case now.
    let reason = match before {
        Some(b) if b.priority != after.priority => {
            format!("priority {} → {}", b.priority.as_str(), after.priority.as_str())
        }
        _ => match policy.version {
            Some(v) => format!("targets of matrix version {v} for this case"),
            None => "targets for this case".to_string(),
        },
    };
    for i in r.live() {
        let c = &r.clocks[i];
        if c.level != after.level {
            r.cancel(i, &format!("left level {}", c.level));
            continue;
        }
        match target(c.kind) {
            None => r.cancel(i, &format!("no {} target any more", c.kind.as_str())),
            Some((t, cal)) if t != c.target || cal != c.calendar => r.retarget(i, t, cal, &reason),
            Some(_) => {}
        }
    }
    let pause = policy.settings.pause_on.contains(&after.status);
    for i in r.live() {
        if pause {
            r.pause(i, after.status);
        } else {
            r.resume(i);
        }
    }
    // Approval clocks: one per pending approval whose action has an `approve_within`, met
    // by the decision. They count 24x7 and do not pause while the case waits.
    for (n, approval) in after.approvals.iter().enumerate() {
        let n = n as u32;
        let live = r.all_live().into_iter().find(|i| r.clocks[*i].approval == Some(n));
        match (approval.state, live) {
            (crate::case::ApprovalState::Pending, None) => {
                if let Some(within) = policy.approve_within(&approval.action) {
                    r.start_for(ClockKind::Approval, &after.level, within, None, Some(n));
                }
            }
            (crate::case::ApprovalState::Pending, Some(_)) | (_, None) => {}
            (_, Some(i)) => r.meet(i),
        }
    }
    check_mirror(&after.clocks, &r.out, &r.clocks, now);
    r.out
}

/// The name clock events carry as their actor.
pub const SLA_ACTOR: &str = "sla";

/// Records clock events as the clocks ([`SLA_ACTOR`]), numbered after `case`'s version,
/// naming the policy's matrix version.
fn record_as_clocks(
    policy: &SlaPolicy,
    case: &Case,
    ladder: &Ladder,
    now: Timestamp,
    events: Vec<CaseEvent>,
) -> Vec<RecordedEvent> {
    let actor = Actor::System { name: SLA_ACTOR.into() };
    // Clock events create nothing that needs an id.
    let cx = Context {
        now,
        actor: &actor,
        ladder,
        next_number: 0,
        new_id: uuid::Uuid::nil(),
        matrix_version: policy.version,
    };
    record(case.id, case.version, &cx, events)
}

/// The clock events that bring a case's clocks in line after `recorded` (a write's events
/// so far, folded onto `before`), recorded as the clocks and numbered after them: what
/// [`reconcile`] says for the case as it ends up, with the customer's segment.
pub fn clock_events(
    policy: &SlaPolicy,
    before: Option<&Case>,
    recorded: &[RecordedEvent],
    customer: Option<&Customer>,
    ladder: &Ladder,
    now: Timestamp,
) -> Vec<RecordedEvent> {
    let mut after = before.cloned();
    for e in recorded {
        after = Some(crate::case::apply(after, e));
    }
    let Some(after) = after else { return Vec::new() };
    let segment = customer.and_then(|c| c.segment.as_deref());
    let events = reconcile(policy, before, recorded, &after, segment, now);
    record_as_clocks(policy, &after, ladder, now, events)
}

/// [`fire`], recorded as the clocks: the warnings and breach due on clock `index` at
/// `generation`, numbered after the case's version. Empty for a stale timer.
pub fn fire_recorded(
    policy: &SlaPolicy,
    case: &Case,
    index: usize,
    generation: u64,
    ladder: &Ladder,
    now: Timestamp,
) -> Vec<RecordedEvent> {
    let events = fire(policy, case, index, generation, now);
    if events.is_empty() {
        return Vec::new();
    }
    record_as_clocks(policy, case, ladder, now, events)
}

/// In debug builds: folding `events` onto `clocks` must give `expected` exactly.
fn check_mirror(clocks: &[Clock], events: &[CaseEvent], expected: &[Clock], now: Timestamp) {
    if cfg!(debug_assertions) {
        let mut folded = clocks.to_vec();
        for e in events {
            super::clock::apply_clock_event(&mut folded, e, now);
        }
        assert_eq!(folded, expected, "clock events do not fold to the clocks they were computed from");
    }
}

/// A timer armed for clock `index` at `generation` went off at `now`: the warnings and the
/// breach now due, as events, each carrying the instant to arm next. A stale generation, a
/// clock that is not counting, or a case that is not active give nothing.
pub fn fire(policy: &SlaPolicy, case: &Case, index: usize, generation: u64, now: Timestamp) -> Vec<CaseEvent> {
    let Some(clock) = case.clocks.get(index) else { return Vec::new() };
    if !case.status.is_active() || clock.generation != generation {
        return Vec::new();
    }
    let mut c = clock.clone();
    let cal = policy.calendar_of(&c);
    let warn_at = &policy.settings.warn_at;
    let firings = c.fire(generation, warn_at, cal, now);
    c.arm(warn_at, cal);
    let due_at = c.due_at.unwrap_or(now);
    let events: Vec<CaseEvent> = firings
        .into_iter()
        .map(|f| match f {
            ClockFiring::Warning { percent } => CaseEvent::ClockAtRisk(ClockAtRisk {
                index: index as u32,
                clock: c.kind,
                percent,
                due_at,
                next_fire: c.next_fire,
            }),
            ClockFiring::Breach { due_at } => {
                CaseEvent::ClockBreached(ClockBreached { index: index as u32, clock: c.kind, due_at })
            }
        })
        .collect();
    let mut expected = case.clocks.clone();
    if !events.is_empty() {
        expected[index] = c;
    }
    check_mirror(&case.clocks, &events, &expected, now);
    events
}

/// The SLA standing of a case for lists and filters: `breached` when a live clock has
/// breached, `at_risk` when one has warned, `running` when one counts, `paused` when all
/// live clocks wait; `None` without live clocks. With the earliest due instant of the
/// counting clocks.
pub fn standing(case: &Case) -> (Option<&'static str>, Option<Timestamp>) {
    let live: Vec<&Clock> = case.clocks.iter().filter(|c| !c.state.is_final()).collect();
    let due = live.iter().filter(|c| c.state.is_counting()).filter_map(|c| c.due_at).min();
    let s = if live.iter().any(|c| c.state == ClockState::Breached) {
        Some("breached")
    } else if live.iter().any(|c| c.state == ClockState::AtRisk) {
        Some("at_risk")
    } else if live.iter().any(|c| c.state == ClockState::Running) {
        Some("running")
    } else if !live.is_empty() {
        Some("paused")
    } else {
        None
    };
    (s, due)
}
