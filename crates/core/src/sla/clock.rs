//! SLA clocks: the pure state of one respond / update / resolve clock of a case at a level,
//! and the transitions it goes through (start, pause, resume, re-evaluation, warnings,
//! breach, met, cancelled). No I/O and no clock reads: every instant comes in as `now`.
//!
//! # Business time
//!
//! Every function that measures or adds time takes an `Option<&BusinessCalendar>`: `Some`
//! counts only the calendar's open windows, `None` counts real elapsed time (24x7). The
//! caller resolves the clock's [`Clock::calendar`] name to that calendar.
//!
//! The business time *spent* is the open time between [`Clock::started_at`] and `now` (or the
//! instant the clock was met / cancelled), minus the open time inside the paused spans. It is
//! always measured in the calendar passed in, so after a calendar change (see
//! [`Clock::reevaluate`]) the history is re-measured in the new calendar.
//!
//! # Generations
//!
//! A timer engine arms a timer for [`Clock::next_due`] tagged with [`Clock::generation`].
//! Every transition that changes `due_at` or stops the clock (pause, resume, re-evaluation,
//! met, cancelled) bumps the generation, so a timer armed for an older generation fires
//! nothing ([`Clock::fire`]). Warnings and the breach are recorded on the clock, so a
//! duplicate fire of the current generation fires nothing either: each fires exactly once
//! per clock, also across re-evaluations (a breach is a fact and is not retracted when a
//! target is later extended; the state stays [`ClockState::Breached`]).

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::business_time::{BusinessCalendar, SlaError};
use crate::case::Status;
use crate::directory::LevelId;
use crate::event::CaseEvent;
use crate::matrix::model::TargetKind;

/// Which target a clock measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// Until the first public reply.
    Respond,
    /// Until the next update to the customer.
    Update,
    /// Until the case is resolved.
    Resolve,
    /// Until an approval request is decided (the matrix's `approve_within`; counts 24x7).
    Approval,
}

impl ClockKind {
    /// The clocks of a level, whose targets the matrix's `[[levels]]` set.
    pub const ALL: [ClockKind; 3] = [ClockKind::Respond, ClockKind::Update, ClockKind::Resolve];
    pub fn as_str(self) -> &'static str {
        match self.target_kind() {
            Some(k) => k.as_str(),
            None => "approval",
        }
    }
    /// The level target this clock measures; `None` for an approval clock.
    pub fn target_kind(self) -> Option<TargetKind> {
        match self {
            ClockKind::Respond => Some(TargetKind::Respond),
            ClockKind::Update => Some(TargetKind::Update),
            ClockKind::Resolve => Some(TargetKind::Resolve),
            ClockKind::Approval => None,
        }
    }
}

impl From<TargetKind> for ClockKind {
    fn from(k: TargetKind) -> Self {
        match k {
            TargetKind::Respond => ClockKind::Respond,
            TargetKind::Update => ClockKind::Update,
            TargetKind::Resolve => ClockKind::Resolve,
        }
    }
}

/// Where a clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// Counting, no warning fired yet.
    Running,
    /// Not counting (e.g. waiting on the customer).
    Paused,
    /// Counting, and at least one warning has fired.
    AtRisk,
    /// The breach has fired (the clock keeps counting: `remaining` goes negative).
    Breached,
    /// The target was met (final).
    Met,
    /// No longer relevant (final), e.g. the case was resolved before a response was due.
    Cancelled,
}

impl ClockState {
    /// Met or cancelled: nothing changes any more.
    pub fn is_final(self) -> bool {
        matches!(self, ClockState::Met | ClockState::Cancelled)
    }
    /// Counting business time (running, at risk or breached).
    pub fn is_counting(self) -> bool {
        matches!(self, ClockState::Running | ClockState::AtRisk | ClockState::Breached)
    }
}

/// What a timer fire produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClockFiring {
    /// `percent` of the target has been spent.
    Warning { percent: u8 },
    /// The target was missed; `due_at` is the true due instant (not the fire time).
    Breach { due_at: Timestamp },
}

/// One SLA clock of a case at a level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    pub kind: ClockKind,
    pub level: LevelId,
    /// The current target, in business time.
    pub target: SignedDuration,
    /// The calendar name in the matrix; `None` counts 24x7.
    pub calendar: Option<String>,
    pub started_at: Timestamp,
    /// `(paused at, resumed at)`; the last one is open (`None`) while paused.
    pub paused_spans: Vec<(Timestamp, Option<Timestamp>)>,
    pub state: ClockState,
    /// Bumped on every change of `due_at` or stop; timers of older generations are ignored.
    pub generation: u64,
    /// When the target falls due; `None` while paused.
    pub due_at: Option<Timestamp>,
    /// Warning percents already fired, in firing order.
    pub warnings_sent: Vec<u8>,
    pub breached_at: Option<Timestamp>,
    pub met_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    /// Earlier targets: `(replaced at, old target)`, oldest first.
    pub revisions: Vec<(Timestamp, SignedDuration)>,
    /// The instant the timer engine is armed for ([`Clock::arm`]); `None` when nothing is.
    #[serde(default)]
    pub next_fire: Option<Timestamp>,
    /// For an approval clock: the approval it waits on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<u32>,
}

/// Whether a clock is counting at an instant, and until when: what a countdown shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Ticking {
    /// Counting now; `until` is when its calendar closes next (`None`: it counts every hour,
    /// or the open time runs on beyond the search limit).
    Counting { until: Option<Timestamp> },
    /// The clock would count, but its calendar is closed: it resumes at `until` (`None`: the
    /// calendar has no open time within the search limit).
    OutOfHours { until: Option<Timestamp> },
    /// Paused by the case (waiting on the customer or another team); resumes with the case.
    Paused,
    /// Met or cancelled: it never counts again.
    Stopped,
}

impl Ticking {
    /// Whether a countdown of the clock moves at this instant.
    pub fn is_counting(self) -> bool {
        matches!(self, Ticking::Counting { .. })
    }
}

/// Open time in `[a, b)`; real time for 24x7.
fn between(cal: Option<&BusinessCalendar>, a: Timestamp, b: Timestamp) -> SignedDuration {
    match cal {
        Some(c) => c.between(a, b),
        None if b > a => b.duration_since(a),
        None => SignedDuration::ZERO,
    }
}

/// The instant `d` of open time after `from`; real time for 24x7.
fn add(cal: Option<&BusinessCalendar>, from: Timestamp, d: SignedDuration) -> Result<Timestamp, SlaError> {
    match cal {
        Some(c) => c.add(from, d),
        None if d.is_negative() => Err(SlaError::NegativeDuration(d)),
        None => from.checked_add(d).map_err(|_| SlaError::OutOfRange),
    }
}

/// `percent` of `target`.
fn fraction_of(target: SignedDuration, percent: u8) -> SignedDuration {
    SignedDuration::from_nanos((target.as_nanos() * i128::from(percent) / 100) as i64)
}

impl Clock {
    /// A running clock started at `now`, due `target` of business time later.
    pub fn start(
        kind: ClockKind,
        level: LevelId,
        target: SignedDuration,
        calendar_name: Option<String>,
        cal: Option<&BusinessCalendar>,
        now: Timestamp,
    ) -> Result<Clock, SlaError> {
        let due_at = add(cal, now, target)?;
        Ok(Clock {
            kind,
            level,
            target,
            calendar: calendar_name,
            started_at: now,
            paused_spans: Vec::new(),
            state: ClockState::Running,
            generation: 1,
            due_at: Some(due_at),
            warnings_sent: Vec::new(),
            breached_at: None,
            met_at: None,
            cancelled_at: None,
            revisions: Vec::new(),
            next_fire: None,
            approval: None,
        })
    }

    /// The instant the clock stopped for good (met or cancelled), if it did.
    pub fn ended_at(&self) -> Option<Timestamp> {
        self.met_at.or(self.cancelled_at)
    }

    /// Business time spent by `now` (frozen while paused and after met / cancelled).
    pub fn spent(&self, cal: Option<&BusinessCalendar>, now: Timestamp) -> SignedDuration {
        let end = self.ended_at().map_or(now, |e| e.min(now));
        let mut spent = between(cal, self.started_at, end);
        for &(from, to) in &self.paused_spans {
            let to = to.map_or(end, |t| t.min(end));
            spent -= between(cal, from, to);
        }
        spent
    }

    /// Total business time spent paused by `now`.
    pub fn paused_time(&self, cal: Option<&BusinessCalendar>, now: Timestamp) -> SignedDuration {
        let end = self.ended_at().map_or(now, |e| e.min(now));
        self.paused_spans.iter().map(|&(from, to)| between(cal, from, to.map_or(end, |t| t.min(end)))).sum()
    }

    /// Business time left; negative once the target is exceeded.
    pub fn remaining(&self, cal: Option<&BusinessCalendar>, now: Timestamp) -> SignedDuration {
        self.target - self.spent(cal, now)
    }

    /// Spent ÷ target (1.0 and above once due); a zero target counts as fully spent.
    pub fn elapsed_fraction(&self, cal: Option<&BusinessCalendar>, now: Timestamp) -> f64 {
        if self.target <= SignedDuration::ZERO {
            return 1.0;
        }
        self.spent(cal, now).as_secs_f64() / self.target.as_secs_f64()
    }

    /// Whether the clock counts at `now` in its calendar (`None` = 24x7) and until when, or
    /// why not: paused by the case, stopped, or out of business hours until the next opening.
    pub fn ticking(&self, cal: Option<&BusinessCalendar>, now: Timestamp) -> Ticking {
        if self.state.is_final() {
            return Ticking::Stopped;
        }
        if !self.state.is_counting() {
            return Ticking::Paused;
        }
        match cal {
            None => Ticking::Counting { until: None },
            Some(c) => match c.open_until(now) {
                Some(until) => Ticking::Counting { until: Some(until) },
                None if c.is_open(now) => Ticking::Counting { until: None },
                None => Ticking::OutOfHours { until: c.next_open(now) },
            },
        }
    }

    /// The counting state the clock returns to after resume or re-evaluation.
    fn counting_state(&self) -> ClockState {
        if self.breached_at.is_some() {
            ClockState::Breached
        } else if !self.warnings_sent.is_empty() {
            ClockState::AtRisk
        } else {
            ClockState::Running
        }
    }

    /// Recomputes `due_at` from `now` and the business time left (due `now` when none is).
    fn rearm(&mut self, cal: Option<&BusinessCalendar>, now: Timestamp) -> Result<(), SlaError> {
        let left = self.remaining(cal, now).max(SignedDuration::ZERO);
        let due = if left.is_zero() { now } else { add(cal, now, left)? };
        self.due_at = Some(due);
        self.generation += 1;
        Ok(())
    }

    /// Stops counting at `now` (no-op unless counting). `due_at` is cleared.
    pub fn pause(&mut self, now: Timestamp) {
        if !self.state.is_counting() {
            return;
        }
        self.paused_spans.push((now, None));
        self.state = ClockState::Paused;
        self.due_at = None;
        self.next_fire = None;
        self.generation += 1;
    }

    /// Counts again from `now` (no-op unless paused): the paused span is closed and `due_at`
    /// becomes `now` + the business time left.
    pub fn resume(&mut self, cal: Option<&BusinessCalendar>, now: Timestamp) -> Result<(), SlaError> {
        if self.state != ClockState::Paused {
            return Ok(());
        }
        if let Some(last) = self.paused_spans.last_mut()
            && last.1.is_none()
        {
            last.1 = Some(now.max(last.0));
        }
        self.state = self.counting_state();
        self.rearm(cal, now)
    }

    /// A new target and / or calendar (priority, level, segment or matrix changed). The old
    /// target is kept in [`Clock::revisions`]; the business time already spent counts against
    /// the new target, and a clock already past it falls due `now`. A paused clock stays
    /// paused (its `due_at` is computed on resume); a met or cancelled clock is left alone.
    pub fn reevaluate(
        &mut self,
        new_target: SignedDuration,
        new_calendar_name: Option<String>,
        cal: Option<&BusinessCalendar>,
        now: Timestamp,
    ) -> Result<(), SlaError> {
        if self.state.is_final() {
            return Ok(());
        }
        self.revisions.push((now, self.target));
        self.target = new_target;
        self.calendar = new_calendar_name;
        if self.state == ClockState::Paused {
            self.generation += 1;
            return Ok(());
        }
        self.state = self.counting_state();
        self.rearm(cal, now)
    }

    /// The instant at which `percent` of the target is spent, while counting.
    fn threshold_at(&self, cal: Option<&BusinessCalendar>, percent: u8) -> Option<Timestamp> {
        // Counting since the end of the last pause (or the start).
        let resumed = self.paused_spans.last().map_or(Some(self.started_at), |s| s.1)?;
        let spent_then = self.spent(cal, resumed);
        let left = fraction_of(self.target, percent) - spent_then;
        if left <= SignedDuration::ZERO { Some(resumed) } else { add(cal, resumed, left).ok() }
    }

    /// The next instant a timer should be armed for: the next unfired warning threshold
    /// (percents below 100, in ascending order) or else `due_at`; `None` when the clock is
    /// not counting or has already breached.
    pub fn next_due(&self, warn_at: &[u8], cal: Option<&BusinessCalendar>) -> Option<Timestamp> {
        if !self.state.is_counting() || self.breached_at.is_some() {
            return None;
        }
        let due = self.due_at?;
        let mut pending: Vec<u8> =
            warn_at.iter().copied().filter(|p| *p < 100 && !self.warnings_sent.contains(p)).collect();
        pending.sort_unstable();
        match pending.first() {
            Some(&p) => self.threshold_at(cal, p).map(|t| t.min(due)),
            None => Some(due),
        }
    }

    /// Sets [`Clock::next_fire`] to [`Clock::next_due`]: what a timer should be armed for now.
    pub fn arm(&mut self, warn_at: &[u8], cal: Option<&BusinessCalendar>) {
        self.next_fire = self.next_due(warn_at, cal);
    }

    /// A timer armed for `generation` went off at `now`. Fires, in order, every warning of
    /// `warn_at` (below 100 %) whose threshold is reached and that has not fired yet, then the
    /// breach if `due_at` is reached and it has not fired yet. A stale generation, a paused,
    /// met or cancelled clock fire nothing.
    pub fn fire(
        &mut self,
        generation: u64,
        warn_at: &[u8],
        cal: Option<&BusinessCalendar>,
        now: Timestamp,
    ) -> Vec<ClockFiring> {
        let mut out = Vec::new();
        if generation != self.generation || !self.state.is_counting() {
            return out;
        }
        let spent = self.spent(cal, now);
        let mut pending: Vec<u8> =
            warn_at.iter().copied().filter(|p| *p < 100 && !self.warnings_sent.contains(p)).collect();
        pending.sort_unstable();
        pending.dedup();
        for p in pending {
            if spent >= fraction_of(self.target, p) {
                self.warnings_sent.push(p);
                out.push(ClockFiring::Warning { percent: p });
            }
        }
        if let Some(due) = self.due_at
            && self.breached_at.is_none()
            && now >= due
        {
            self.breached_at = Some(due);
            out.push(ClockFiring::Breach { due_at: due });
        }
        self.state = self.counting_state();
        out
    }

    /// The target was met at `now` (e.g. the first public reply meets Respond). Final; a
    /// met clock never fires. No-op on a met or cancelled clock.
    pub fn meet(&mut self, now: Timestamp) {
        self.finish(ClockState::Met, now);
    }

    /// The clock no longer applies (e.g. the case was resolved). Final; never fires. No-op on
    /// a met or cancelled clock.
    pub fn cancel(&mut self, now: Timestamp) {
        self.finish(ClockState::Cancelled, now);
    }

    /// Ends the clock at `now` in a final `state` (met or cancelled), so no timer of it
    /// fires any more. No-op on a clock already ended.
    fn finish(&mut self, state: ClockState, now: Timestamp) {
        if self.state.is_final() {
            return;
        }
        self.close_pause(now);
        self.state = state;
        if state == ClockState::Met {
            self.met_at = Some(now);
        } else {
            self.cancelled_at = Some(now);
        }
        self.next_fire = None;
        self.generation += 1;
    }

    fn close_pause(&mut self, now: Timestamp) {
        if let Some(last) = self.paused_spans.last_mut()
            && last.1.is_none()
        {
            last.1 = Some(now.max(last.0));
        }
    }
}

/// Applies a case status change to its clocks:
///
/// - to `Resolved` or `Closed` from an active status: Resolve clocks are met, Respond and
///   Update clocks cancelled;
/// - into a status of `pause_on` (e.g. pending customer) from one outside it: every counting
///   clock pauses;
/// - from a status of `pause_on` to an active status outside it: every paused clock resumes,
///   in the calendar `cal_for` gives for it (`None` = 24x7).
///
/// Reopening a resolved case changes nothing here: the caller starts new clocks.
pub fn clocks_after_status<'a>(
    clocks: &mut [Clock],
    old: Status,
    new: Status,
    pause_on: &[Status],
    cal_for: impl Fn(&Clock) -> Option<&'a BusinessCalendar>,
    now: Timestamp,
) -> Result<(), SlaError> {
    if old == new {
        return Ok(());
    }
    if old.is_active() && !new.is_active() {
        for c in clocks.iter_mut() {
            match c.kind {
                ClockKind::Resolve => c.meet(now),
                ClockKind::Respond | ClockKind::Update | ClockKind::Approval => c.cancel(now),
            }
        }
        return Ok(());
    }
    let (was_paused, is_paused) = (pause_on.contains(&old), pause_on.contains(&new));
    if !was_paused && is_paused {
        clocks.iter_mut().for_each(|c| c.pause(now));
    } else if was_paused && !is_paused && new.is_active() {
        for c in clocks.iter_mut() {
            let cal = cal_for(c);
            c.resume(cal, now)?;
        }
    }
    Ok(())
}

/// Folds one clock event into a case's clocks, at `at`. It only records what the event says
/// (the decision, with its calendar arithmetic, was taken when the event was made), and
/// mirrors the transitions above field by field, generations included. Other events and
/// events naming a clock that does not exist change nothing.
pub fn apply_clock_event(clocks: &mut Vec<Clock>, event: &CaseEvent, at: Timestamp) {
    if let CaseEvent::ClockStarted(s) = event {
        clocks.push(Clock {
            kind: s.clock,
            level: s.level.clone(),
            target: s.target,
            calendar: s.calendar.clone(),
            started_at: at,
            paused_spans: Vec::new(),
            state: ClockState::Running,
            generation: 1,
            due_at: Some(s.due_at),
            warnings_sent: Vec::new(),
            breached_at: None,
            met_at: None,
            cancelled_at: None,
            revisions: Vec::new(),
            next_fire: s.next_fire,
            approval: s.approval,
        });
        return;
    }
    let index = match event {
        CaseEvent::ClockPaused(e) => e.index,
        CaseEvent::ClockResumed(e) => e.index,
        CaseEvent::ClockRetargeted(e) => e.index,
        CaseEvent::ClockAtRisk(e) => e.index,
        CaseEvent::ClockBreached(e) => e.index,
        CaseEvent::ClockMet(e) => e.index,
        CaseEvent::ClockCancelled(e) => e.index,
        _ => return,
    };
    let Some(c) = clocks.get_mut(index as usize) else { return };
    match event {
        CaseEvent::ClockPaused(_) => c.pause(at),
        CaseEvent::ClockResumed(e) => {
            c.close_pause(at);
            c.state = c.counting_state();
            c.due_at = Some(e.due_at);
            c.next_fire = e.next_fire;
            c.generation += 1;
        }
        CaseEvent::ClockRetargeted(e) => {
            c.revisions.push((at, c.target));
            c.target = e.target;
            c.calendar = e.calendar.clone();
            if c.state != ClockState::Paused {
                c.state = c.counting_state();
                c.due_at = e.due_at;
            }
            c.next_fire = e.next_fire;
            c.generation += 1;
        }
        CaseEvent::ClockAtRisk(e) => {
            if !c.warnings_sent.contains(&e.percent) {
                c.warnings_sent.push(e.percent);
            }
            c.state = c.counting_state();
            c.next_fire = e.next_fire;
        }
        CaseEvent::ClockBreached(e) => {
            c.breached_at = Some(e.due_at);
            c.state = c.counting_state();
            c.next_fire = None;
        }
        CaseEvent::ClockMet(_) => c.meet(at),
        CaseEvent::ClockCancelled(_) => c.cancel(at),
        _ => {}
    }
}
