//! SLA clocks on cases, in simulated time: commands are decided at given instants, then
//! `sla::reconcile` brings the clocks in line and timers are fired with `sla::fire` at given
//! instants. Nothing reads the real clock and nothing sleeps.
//!
//! Dates: 2026-11-23 is a Monday; 2026-11-26 is Thanksgiving (a holiday in `support`).

use jiff::{SignedDuration, Timestamp};
use ladder_core::case::{Actor, Case, Priority, Status, Visibility};
use ladder_core::command::*;
use ladder_core::directory::{Ladder, LevelId};
use ladder_core::event::{CaseEvent, EscalationKind, InfoSource, Initiator, RecordedEvent};
use ladder_core::ids::{CaseId, UserId};
use ladder_core::matrix;
use ladder_core::sla::{self, ClockKind, ClockState, SlaPolicy};
use ladder_core::{Context, decide, record};
use ladder_testkit::ts;

const MATRIX: &str = r#"
[sla]
pause_on = ["pending_customer", "pending_internal"]
warn_at = [50, 75]

[calendars.support]
timezone = "America/New_York"
hours = { "mon-fri" = "08:00-20:00" }
holidays = ["2026-11-26"]

[[levels]]
id = "L1"
calendar = "support"
respond = "1h"
update = "4h"
resolve = "8h"
by_priority = { urgent = { respond = "15m", resolve = "2h" } }
by_segment = { vip = { respond = "30m" } }

[[levels]]
id = "L2"
respond = "30m"
resolve = "4h"
"#;

fn policy(source: &str, version: u32) -> SlaPolicy {
    let (m, _) = matrix::parse(source, "test.toml").unwrap_or_else(|d| panic!("{d:?}"));
    SlaPolicy::new(&m, Some(version)).unwrap()
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

/// One case driven through commands and timers.
struct Sim {
    policy: SlaPolicy,
    ladder: Ladder,
    case: Option<Case>,
    segment: Option<String>,
    history: Vec<RecordedEvent>,
}

impl Sim {
    fn new() -> Sim {
        Sim::with(policy(MATRIX, 1), None)
    }

    fn with(policy: SlaPolicy, segment: Option<&str>) -> Sim {
        let ladder = Ladder { levels: vec![LevelId::new("L1"), LevelId::new("L2")] };
        Sim { policy, ladder, case: None, segment: segment.map(str::to_string), history: Vec::new() }
    }

    fn case(&self) -> &Case {
        self.case.as_ref().unwrap()
    }

    fn append(&mut self, at: Timestamp, events: Vec<CaseEvent>) -> Vec<RecordedEvent> {
        let actor = Actor::User { id: UserId(uuid::Uuid::nil()) };
        let cx = self.context(&actor, at);
        let base = self.case.as_ref().map_or(0, |c| c.version);
        let id = self.case.as_ref().map_or_else(|| CaseId(uuid::Uuid::nil()), |c| c.id);
        let recorded = record(id, base, &cx, events);
        for r in &recorded {
            self.case = Some(ladder_core::case::apply(self.case.take(), r));
        }
        self.history.extend(recorded.clone());
        recorded
    }

    fn context<'a>(&'a self, actor: &'a Actor, at: Timestamp) -> Context<'a> {
        Context {
            now: at,
            actor,
            ladder: &self.ladder,
            next_number: 1,
            new_id: uuid::Uuid::now_v7(),
            matrix_version: self.policy.version,
        }
    }

    /// Decides `command` at `at`, then reconciles the clocks; returns the clock events.
    fn run(&mut self, at: &str, command: CaseCommand) -> Vec<CaseEvent> {
        let at = ts(at);
        let before = self.case.clone();
        let actor = Actor::User { id: UserId(uuid::Uuid::nil()) };
        let events = decide(before.as_ref(), &command, &self.context(&actor, at))
            .unwrap_or_else(|e| panic!("{command:?} refused: {e}"));
        let recorded = self.append(at, events);
        let clock_events =
            sla::reconcile(&self.policy, before.as_ref(), &recorded, self.case(), self.segment.as_deref(), at);
        self.append(at, clock_events.clone());
        clock_events
    }

    /// Fires the timer of every clock that is armed at or before `at`, as the timer engine
    /// would; returns what fired.
    fn fire_due(&mut self, at: &str) -> Vec<CaseEvent> {
        let at = ts(at);
        let mut fired = Vec::new();
        loop {
            let armed: Vec<(usize, u64)> = self
                .case()
                .clocks
                .iter()
                .enumerate()
                .filter(|(_, c)| c.next_fire.is_some_and(|f| f <= at))
                .map(|(i, c)| (i, c.generation))
                .collect();
            let mut any = false;
            for (i, generation) in armed {
                let events = sla::fire(&self.policy, self.case(), i, generation, at);
                any |= !events.is_empty();
                self.append(at, events.clone());
                fired.extend(events);
            }
            if !any {
                return fired;
            }
        }
    }

    fn clock(&self, kind: ClockKind) -> &sla::Clock {
        self.case().clocks.iter().rev().find(|c| c.kind == kind).unwrap_or_else(|| panic!("no {kind:?} clock"))
    }
}

fn open(priority: Priority) -> CaseCommand {
    CaseCommand::Open(OpenCase { priority, ..ladder_testkit::domain::open_case() })
}

fn reply() -> CaseCommand {
    CaseCommand::AddMessage(AddMessage {
        visibility: Visibility::Public,
        channel: None,
        body: "We are on it".into(),
        from_customer: false,
        resume: false,
    })
}

fn customer_writes() -> CaseCommand {
    CaseCommand::AddMessage(AddMessage {
        visibility: Visibility::Public,
        channel: None,
        body: "Here is the receipt".into(),
        from_customer: true,
        resume: true,
    })
}

fn ask_customer() -> CaseCommand {
    CaseCommand::RequestInfo(RequestInfo { from: InfoSource::Customer, question: "Which card?".into() })
}

fn escalate() -> CaseCommand {
    CaseCommand::Escalate(Escalate {
        kind: EscalationKind::Hierarchical,
        initiator: Initiator::System,
        to_level: None,
        to_team: None,
        to_user: None,
        reason: "needs authority".into(),
        tried: None,
        candidates: Vec::new(),
        team_choice: None,
    })
}

fn set_priority(p: Priority) -> CaseCommand {
    CaseCommand::Update(UpdateCase { priority: Some(p), ..Default::default() })
}

fn kinds(events: &[CaseEvent]) -> Vec<&'static str> {
    events.iter().map(CaseEvent::kind).collect()
}

#[test]
fn opening_starts_respond_and_resolve_in_business_time() {
    let mut sim = Sim::new();
    // Monday 19:30 New York: 30 minutes left today, the rest tomorrow from 08:00.
    let events = sim.run("2026-11-23T19:30:00-05:00", open(Priority::Normal));
    assert_eq!(kinds(&events), ["clock_started", "clock_started"]);
    let respond = sim.clock(ClockKind::Respond);
    assert_eq!(respond.target, hours(1));
    assert_eq!(respond.due_at, Some(ts("2026-11-24T08:30:00-05:00")));
    // The first warning (50 %) is the first thing armed.
    assert_eq!(respond.next_fire, Some(ts("2026-11-23T20:00:00-05:00")));
    let resolve = sim.clock(ClockKind::Resolve);
    assert_eq!(resolve.due_at, Some(ts("2026-11-24T15:30:00-05:00")));
    assert!(sim.case().clocks.iter().all(|c| c.state == ClockState::Running));
}

#[test]
fn targets_follow_priority_and_segment() {
    let mut sim = Sim::new();
    sim.run("2026-11-23T10:00:00-05:00", open(Priority::Urgent));
    assert_eq!(sim.clock(ClockKind::Respond).target, mins(15));
    assert_eq!(sim.clock(ClockKind::Resolve).target, hours(2));

    let mut vip = Sim::with(policy(MATRIX, 1), Some("vip"));
    vip.run("2026-11-23T10:00:00-05:00", open(Priority::Normal));
    assert_eq!(vip.clock(ClockKind::Respond).target, mins(30));
    assert_eq!(vip.clock(ClockKind::Resolve).target, hours(8));
}

#[test]
fn warnings_and_breach_fire_once_with_the_true_due_time() {
    let mut sim = Sim::new();
    sim.run("2026-11-23T10:00:00-05:00", open(Priority::Normal));
    assert!(sim.fire_due("2026-11-23T10:29:00-05:00").is_empty(), "nothing is due before 50 %");
    let fired = sim.fire_due("2026-11-23T10:30:00-05:00");
    assert_eq!(kinds(&fired), ["clock_at_risk"]);
    assert_eq!(sim.clock(ClockKind::Respond).state, ClockState::AtRisk);
    // Fired late (the server was down): the 75 % warning and the breach fire together,
    // and the breach records when the target really fell due.
    let fired = sim.fire_due("2026-11-23T13:00:00-05:00");
    assert_eq!(kinds(&fired), ["clock_at_risk", "clock_breached"]);
    let CaseEvent::ClockBreached(b) = &fired[1] else { panic!() };
    assert_eq!(b.clock, ClockKind::Respond);
    assert_eq!(b.due_at, ts("2026-11-23T11:00:00-05:00"));
    // The resolve clock (8 h) warns at 50 % on its own timer, at 14:00.
    let fired = sim.fire_due("2026-11-23T14:00:00-05:00");
    let [CaseEvent::ClockAtRisk(w)] = fired.as_slice() else { panic!("{fired:?}") };
    assert_eq!((w.clock, w.percent), (ClockKind::Resolve, 50));
    // Firing again, with the same or a stale generation, changes nothing.
    let respond_index = sim.case().clocks.iter().position(|c| c.kind == ClockKind::Respond).unwrap();
    let generation = sim.case().clocks[respond_index].generation;
    let at = ts("2026-11-23T13:00:00-05:00");
    assert!(sla::fire(&sim.policy, sim.case(), respond_index, generation, at).is_empty());
    assert!(sla::fire(&sim.policy, sim.case(), respond_index, generation - 1, at).is_empty());
    assert_eq!(sim.clock(ClockKind::Respond).state, ClockState::Breached);
    assert_eq!(sim.clock(ClockKind::Respond).next_fire, None);
}

#[test]
fn a_reply_meets_respond_and_starts_update() {
    let mut sim = Sim::new();
    sim.run("2026-11-23T10:00:00-05:00", open(Priority::Normal));
    let events = sim.run("2026-11-23T10:20:00-05:00", reply());
    assert_eq!(kinds(&events), ["clock_met", "clock_started"]);
    assert_eq!(sim.clock(ClockKind::Respond).state, ClockState::Met);
    let update = sim.clock(ClockKind::Update);
    assert_eq!(update.due_at, Some(ts("2026-11-23T14:20:00-05:00")));
    // The next reply meets that update clock and starts a fresh one.
    let events = sim.run("2026-11-23T12:00:00-05:00", reply());
    assert_eq!(kinds(&events), ["clock_met", "clock_started"]);
    assert_eq!(sim.clock(ClockKind::Update).due_at, Some(ts("2026-11-23T16:00:00-05:00")));
    let updates = sim.case().clocks.iter().filter(|c| c.kind == ClockKind::Update).count();
    assert_eq!(updates, 2);
}

#[test]
fn pause_across_a_holiday_keeps_the_business_time_left() {
    let mut sim = Sim::new();
    // Wednesday 25 Nov 18:00: resolve (8 h) has 2 h today.
    sim.run("2026-11-25T18:00:00-05:00", open(Priority::Normal));
    // 19:00: asked the customer; every clock pauses (1 h of resolve spent).
    let events = sim.run("2026-11-25T19:00:00-05:00", ask_customer());
    assert!(kinds(&events).contains(&"clock_paused"), "{events:?}");
    assert!(sim.case().clocks.iter().filter(|c| !c.state.is_final()).all(|c| c.state == ClockState::Paused));
    assert_eq!(sim.case().status, Status::PendingCustomer);
    assert!(sim.fire_due("2026-11-30T00:00:00-05:00").is_empty(), "a paused clock never fires");
    // The customer answers on Thanksgiving (closed): resolve resumes with 7 h left, counted
    // from Friday 08:00.
    let events = sim.run("2026-11-26T11:00:00-05:00", customer_writes());
    assert!(kinds(&events).contains(&"clock_resumed"), "{events:?}");
    let resolve = sim.clock(ClockKind::Resolve);
    assert_eq!(resolve.state, ClockState::Running);
    assert_eq!(resolve.due_at, Some(ts("2026-11-27T15:00:00-05:00")));
    let cal = sim.policy.calendar_of(resolve);
    assert_eq!(resolve.paused_time(cal, ts("2026-11-27T08:00:00-05:00")), hours(1), "19:00-20:00 Wednesday");
    assert_eq!(resolve.remaining(cal, ts("2026-11-27T08:00:00-05:00")), hours(7));
}

#[test]
fn priority_change_retargets_and_keeps_history() {
    let mut sim = Sim::new();
    sim.run("2026-11-23T10:00:00-05:00", open(Priority::Normal));
    // 20 minutes later the case becomes urgent: 15 min respond target, already exceeded.
    let events = sim.run("2026-11-23T10:20:00-05:00", set_priority(Priority::Urgent));
    assert_eq!(kinds(&events), ["clock_retargeted", "clock_retargeted"]);
    let CaseEvent::ClockRetargeted(r) = &events[0] else { panic!() };
    assert_eq!(r.reason, "priority normal → urgent");
    assert_eq!((r.previous_target, r.target), (hours(1), mins(15)));
    let respond = sim.clock(ClockKind::Respond);
    assert_eq!(respond.revisions, vec![(ts("2026-11-23T10:20:00-05:00"), hours(1))]);
    assert_eq!(respond.due_at, Some(ts("2026-11-23T10:20:00-05:00")), "already past: due now");
    let resolve = sim.clock(ClockKind::Resolve);
    assert_eq!(resolve.due_at, Some(ts("2026-11-23T12:00:00-05:00")), "2 h from 10:00");
    let fired = sim.fire_due("2026-11-23T10:20:00-05:00");
    assert!(kinds(&fired).contains(&"clock_breached"), "{fired:?}");
}

#[test]
fn matrix_change_mid_clock_retargets_on_the_next_change() {
    let mut sim = Sim::new();
    sim.run("2026-11-23T10:00:00-05:00", open(Priority::Normal));
    // Version 2 gives L1 a 2 h respond target.
    sim.policy = policy(&MATRIX.replace("respond = \"1h\"", "respond = \"2h\""), 2);
    let events = sim.run("2026-11-23T10:30:00-05:00", set_priority(Priority::High));
    let CaseEvent::ClockRetargeted(r) = &events[0] else { panic!("{events:?}") };
    assert_eq!(r.target, hours(2));
    assert_eq!(sim.clock(ClockKind::Respond).due_at, Some(ts("2026-11-23T12:00:00-05:00")));
    assert_eq!(sim.clock(ClockKind::Resolve).target, hours(8), "unchanged targets are left alone");
    assert_eq!(sim.clock(ClockKind::Resolve).revisions, vec![]);
}

#[test]
fn escalation_ends_the_old_levels_clocks_and_starts_the_new_ones() {
    let mut sim = Sim::new();
    sim.run("2026-11-23T10:00:00-05:00", open(Priority::Normal));
    let events = sim.run("2026-11-23T10:40:00-05:00", escalate());
    assert_eq!(kinds(&events), ["clock_cancelled", "clock_cancelled", "clock_started", "clock_started"]);
    let CaseEvent::ClockCancelled(c) = &events[0] else { panic!() };
    assert_eq!(c.reason, "left level L1");
    // L2 counts 24x7.
    let respond = sim.clock(ClockKind::Respond);
    assert_eq!(respond.level, LevelId::new("L2"));
    assert_eq!(respond.calendar, None);
    assert_eq!(respond.due_at, Some(ts("2026-11-23T11:10:00-05:00")));
    assert_eq!(sim.case().clocks.len(), 4, "the L1 clocks stay in the history");
}

#[test]
fn resolving_meets_resolve_and_a_resolved_case_never_fires() {
    let mut sim = Sim::new();
    sim.run("2026-11-23T10:00:00-05:00", open(Priority::Normal));
    let armed: Vec<(usize, u64)> = sim.case().clocks.iter().enumerate().map(|(i, c)| (i, c.generation)).collect();
    let events = sim.run(
        "2026-11-23T10:10:00-05:00",
        CaseCommand::Resolve(Resolve { code: "refunded".into(), note: None, article_id: None }),
    );
    assert_eq!(kinds(&events), ["clock_cancelled", "clock_met"]);
    assert!(sim.case().clocks.iter().all(|c| c.state.is_final() && c.next_fire.is_none()));
    // The timers armed before resolution go off later: nothing happens.
    for (i, generation) in armed {
        assert!(sla::fire(&sim.policy, sim.case(), i, generation, ts("2026-11-24T10:00:00-05:00")).is_empty());
    }
    // Reopening starts fresh clocks at the level.
    let events = sim.run("2026-11-24T09:00:00-05:00", CaseCommand::Reopen(Reopen { reason: "charged again".into() }));
    assert_eq!(kinds(&events), ["clock_started", "clock_started"]);
}

#[test]
fn standing_reports_the_worst_live_clock() {
    let mut sim = Sim::new();
    sim.run("2026-11-23T10:00:00-05:00", open(Priority::Normal));
    assert_eq!(sla::standing(sim.case()), (Some("running"), Some(ts("2026-11-23T11:00:00-05:00"))));
    sim.fire_due("2026-11-23T10:45:00-05:00");
    assert_eq!(sla::standing(sim.case()).0, Some("at_risk"));
    sim.fire_due("2026-11-23T11:00:00-05:00");
    assert_eq!(sla::standing(sim.case()).0, Some("breached"));
    sim.run("2026-11-23T11:05:00-05:00", ask_customer());
    assert_eq!(sla::standing(sim.case()), (Some("paused"), None));
}

#[test]
fn replaying_the_history_gives_the_same_clocks() {
    let mut sim = Sim::new();
    sim.run("2026-11-23T10:00:00-05:00", open(Priority::Normal));
    sim.run("2026-11-23T10:20:00-05:00", reply());
    sim.run("2026-11-23T10:30:00-05:00", ask_customer());
    sim.run("2026-11-23T15:00:00-05:00", customer_writes());
    sim.fire_due("2026-11-23T19:00:00-05:00");
    sim.run("2026-11-23T19:10:00-05:00", set_priority(Priority::High));
    sim.run("2026-11-24T09:00:00-05:00", escalate());
    let replayed = Case::replay(&sim.history).unwrap();
    assert_eq!(replayed.clocks, sim.case().clocks);
    assert!(!replayed.clocks.is_empty());
}

#[test]
fn cases_open_before_any_target_adopt_clocks() {
    // Opened and answered while no matrix set targets.
    let mut sim = Sim::with(policy("", 1), None);
    sim.run("2026-11-23T10:00:00-05:00", open(Priority::Normal));
    sim.run("2026-11-23T10:05:00-05:00", reply());
    assert!(sim.case().clocks.is_empty());
    // With targets in force, the next change starts the resolve clock (the customer has
    // had a reply, so no respond clock), counting from then.
    sim.policy = policy(MATRIX, 2);
    let events = sim.run("2026-11-23T11:00:00-05:00", set_priority(Priority::High));
    assert_eq!(kinds(&events), ["clock_started"]);
    let resolve = sim.clock(ClockKind::Resolve);
    assert_eq!((resolve.started_at, resolve.target), (ts("2026-11-23T11:00:00-05:00"), hours(8)));
    // Once adopted, later changes do not start more clocks.
    assert!(sim.run("2026-11-23T11:30:00-05:00", set_priority(Priority::Normal)).is_empty());
}
