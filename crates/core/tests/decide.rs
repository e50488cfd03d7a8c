//! Table-style unit tests for `decide` + `record` + `apply`, and for the access policy.
//!
//! Everything runs on simulated time: the first command is decided at [`T0`] and each later
//! command one minute after the previous one. Nothing reads the clock.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use ladder_core::access::Principal;
use ladder_core::case::{LevelStop, apply};
use ladder_core::command::{
    AddMessage, Assign, CaseCommand, DeEscalate, Escalate, OpenCase, Reopen, RequestInfo, Resolve, TeamRef, Transfer,
    UpdateCase, UserRef,
};
use ladder_core::event::{EscalationKind, InfoSource, Initiator, Updated};
use ladder_core::ids::{TeamId, UserId};
use ladder_core::{
    Actor, Case, CaseEvent, Channel, Context, DomainError, Ladder, LevelId, Priority, RecordedEvent, Role, Status,
    Visibility, decide, record,
};
use ladder_testkit::domain::*;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/// Simulated time of the `step`-th command (0-based).
fn at(step: i64) -> Timestamp {
    t0() + SignedDuration::from_mins(step)
}

fn lvl(s: &str) -> LevelId {
    LevelId::new(s)
}

/// L1, L2, L3.
fn ladder() -> Ladder {
    Ladder::default()
}

fn staff(u: &UserRef) -> Actor {
    Actor::User { id: u.id }
}

fn customer() -> Actor {
    Actor::Customer { id: Some(CUSTOMER) }
}

fn system() -> Actor {
    Actor::System { name: "sla-timer".into() }
}

fn cx<'a>(actor: &'a Actor, ladder: &'a Ladder, now: Timestamp) -> Context<'a> {
    Context { now, actor, ladder, next_number: 1042, new_id: Uuid::now_v7(), matrix_version: None }
}

// ---------------------------------------------------------------------------------------
// Running command histories
// ---------------------------------------------------------------------------------------

/// A case's event stream, built command by command on simulated time.
struct Sim {
    ladder: Ladder,
    case: Option<Case>,
    events: Vec<RecordedEvent>,
    step: i64,
}

impl Sim {
    fn new() -> Self {
        Sim { ladder: ladder(), case: None, events: Vec::new(), step: 0 }
    }

    /// Decides `cmd` as `actor`; on success records and applies the events.
    fn exec(&mut self, actor: &Actor, cmd: &CaseCommand) -> Result<Vec<RecordedEvent>, DomainError> {
        let now = at(self.step);
        self.step += 1;
        let cx = cx(actor, &self.ladder, now);
        let events = decide(self.case.as_ref(), cmd, &cx)?;
        let base = self.case.as_ref().map_or(0, |c| c.version);
        let recorded = record(CASE, base, &cx, events);
        for e in &recorded {
            self.case = Some(apply(self.case.take(), e));
        }
        self.events.extend(recorded.iter().cloned());
        Ok(recorded)
    }

    /// Like [`Sim::exec`] but the command must be accepted.
    #[track_caller]
    fn ok(&mut self, actor: &Actor, cmd: CaseCommand) -> &mut Self {
        if let Err(e) = self.exec(actor, &cmd) {
            panic!("setup command {cmd:?} was refused: {e}");
        }
        self
    }

    fn case(&self) -> &Case {
        self.case.as_ref().expect("the case was opened")
    }
}

/// Decides each command as the front-line agent, recording and folding the events.
fn run(history: &[CaseCommand]) -> Result<Case, DomainError> {
    run_as(&staff(&agent()), history)
}

fn run_as(actor: &Actor, history: &[CaseCommand]) -> Result<Case, DomainError> {
    let mut sim = Sim::new();
    for cmd in history {
        sim.exec(actor, cmd)?;
    }
    sim.case.ok_or_else(|| DomainError::NoSuchCase("empty history".into()))
}

/// The events of an accepted command and the state after it, or the refusal.
type Outcome = Result<(Vec<CaseEvent>, Case), DomainError>;

/// Runs `setup` (which must all be accepted), then decides `last` as `actor`.
/// Returns the state after setup and the outcome of `last`, already folded on success.
fn then(setup: &[CaseCommand], actor: &Actor, last: CaseCommand) -> (Case, Outcome) {
    let mut sim = Sim::new();
    for cmd in setup {
        sim.ok(&staff(&agent()), cmd.clone());
    }
    let before = sim.case().clone();
    let outcome = sim.exec(actor, &last).map(|rec| (rec.into_iter().map(|r| r.event).collect(), sim.case().clone()));
    (before, outcome)
}

/// `last` must be accepted; returns its events and the folded state.
#[track_caller]
fn accepted(setup: &[CaseCommand], actor: &Actor, last: CaseCommand) -> (Vec<CaseEvent>, Case) {
    let shown = format!("{last:?}");
    match then(setup, actor, last).1 {
        Ok(x) => x,
        Err(e) => panic!("{shown} was refused: {e}"),
    }
}

/// `last` must be refused; returns the refusal.
#[track_caller]
fn refused(setup: &[CaseCommand], actor: &Actor, last: CaseCommand) -> DomainError {
    match then(setup, actor, last).1 {
        Ok((events, _)) => panic!("expected a refusal, got {events:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_invalid(err: &DomainError, field: &str) {
    match err {
        DomainError::Invalid { field: f, message } => {
            assert_eq!(f, field, "refusal names the wrong field: {message}");
            assert!(!message.is_empty());
        }
        other => panic!("expected Invalid {{ field: {field} }}, got {other:?}"),
    }
}

#[track_caller]
fn assert_transition(err: &DomainError, action: &str, current: Status, reason_contains: &str) {
    match err {
        DomainError::InvalidTransition { action: a, current: c, reason } => {
            assert_eq!(*a, action, "{err}");
            assert_eq!(*c, current, "{err}");
            assert!(reason.contains(reason_contains), "reason {reason:?} should mention {reason_contains:?}");
        }
        other => panic!("expected InvalidTransition for {action}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Command builders
// ---------------------------------------------------------------------------------------

fn open_case() -> OpenCase {
    OpenCase {
        subject: "Printer is on fire".into(),
        description: "It started after the firmware update.".into(),
        category: Some("hardware".into()),
        channel: Channel::Email,
        priority: Priority::Normal,
        level: None,
        team: None,
        assignee: None,
        customer: Some(CUSTOMER),
        tags: Default::default(),
        custom_fields: Default::default(),
    }
}

fn open() -> CaseCommand {
    CaseCommand::Open(open_case())
}

fn open_with(f: impl FnOnce(&mut OpenCase)) -> CaseCommand {
    let mut o = open_case();
    f(&mut o);
    CaseCommand::Open(o)
}

/// Opened with a team (at the team's level) and optionally an assignee.
fn open_at(team: TeamRef, assignee: Option<UserRef>) -> CaseCommand {
    open_with(|o| {
        o.team = Some(team);
        o.assignee = assignee;
    })
}

fn message(visibility: Visibility, from_customer: bool, resume: bool) -> CaseCommand {
    CaseCommand::AddMessage(AddMessage { visibility, channel: None, body: "Hello".into(), from_customer, resume })
}

fn reply() -> CaseCommand {
    message(Visibility::Public, false, false)
}

fn note() -> CaseCommand {
    message(Visibility::Internal, false, false)
}

/// The customer's words, recorded by whoever sends it.
fn customer_words() -> CaseCommand {
    message(Visibility::Public, true, false)
}

fn assign(u: UserRef) -> CaseCommand {
    CaseCommand::Assign(Assign { assignee: Some(u) })
}

fn unassign() -> CaseCommand {
    CaseCommand::Assign(Assign { assignee: None })
}

fn transfer(to_team: TeamRef, to_user: Option<UserRef>) -> CaseCommand {
    CaseCommand::Transfer(Transfer { to_team, to_user, reason: "wrong queue".into() })
}

fn escalation(kind: EscalationKind) -> Escalate {
    Escalate {
        kind,
        initiator: Initiator::Agent,
        to_level: None,
        to_team: None,
        to_user: None,
        reason: "needs more than L1 can do".into(),
        tried: Some("restarted the printer".into()),
        candidates: Vec::new(),
        team_choice: None,
    }
}

fn escalate_with(kind: EscalationKind, f: impl FnOnce(&mut Escalate)) -> CaseCommand {
    let mut e = escalation(kind);
    f(&mut e);
    CaseCommand::Escalate(e)
}

/// Functional escalation to a team.
fn escalate_to(team: TeamRef) -> CaseCommand {
    escalate_with(EscalationKind::Functional, |e| e.to_team = Some(team))
}

/// Hierarchical escalation with every target left to the default.
fn escalate_up() -> CaseCommand {
    CaseCommand::Escalate(escalation(EscalationKind::Hierarchical))
}

fn de_escalation() -> DeEscalate {
    DeEscalate { to_level: None, to_team: None, to_user: None, guidance: "refund approved; tell the customer".into() }
}

fn de_escalate() -> CaseCommand {
    CaseCommand::DeEscalate(de_escalation())
}

fn de_escalate_with(f: impl FnOnce(&mut DeEscalate)) -> CaseCommand {
    let mut d = de_escalation();
    f(&mut d);
    CaseCommand::DeEscalate(d)
}

fn request_info(from: InfoSource) -> CaseCommand {
    CaseCommand::RequestInfo(RequestInfo { from, question: "Which model is it?".into() })
}

fn resolve_with(code: &str, note: Option<&str>) -> CaseCommand {
    CaseCommand::Resolve(Resolve { code: code.into(), note: note.map(Into::into), article_id: None })
}

fn resolve() -> CaseCommand {
    resolve_with("fixed", Some("replaced the fuser"))
}

fn reopen() -> CaseCommand {
    CaseCommand::Reopen(Reopen { reason: "it burns again".into() })
}

fn update(f: impl FnOnce(&mut UpdateCase)) -> CaseCommand {
    let mut u = UpdateCase::default();
    f(&mut u);
    CaseCommand::Update(u)
}

fn kinds(events: &[CaseEvent]) -> Vec<&'static str> {
    events.iter().map(CaseEvent::kind).collect()
}

// ---------------------------------------------------------------------------------------
// run()
// ---------------------------------------------------------------------------------------

#[test]
fn run_folds_every_recorded_event_and_counts_versions() {
    let case = run(&[open(), reply(), request_info(InfoSource::Customer)]).unwrap();
    // Opened, MessageAdded, MessageAdded + InfoRequested.
    assert_eq!(case.version, 4);
    assert_eq!(case.n_messages, 2);
    assert_eq!(case.created_at, at(0));
    assert_eq!(case.updated_at, at(2));
    assert_eq!(case.id, CASE);
}

#[test]
fn run_stops_at_the_first_refusal() {
    let err = run(&[open(), CaseCommand::Close, reply()]).unwrap_err();
    assert_transition(&err, "close", Status::New, "resolve the case");
}

#[test]
fn command_before_open_is_no_such_case() {
    for cmd in [reply(), resolve(), CaseCommand::Close, escalate_up()] {
        let err = run(&[cmd]).unwrap_err();
        assert!(matches!(err, DomainError::NoSuchCase(_)), "{err:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------------------

/// Opens with the given level/team and checks the resulting level (or the refused field).
#[track_caller]
fn check_open_level(level: Option<&str>, team: Option<TeamRef>, expect: Result<&str, &str>) {
    let cmd = open_with(|o| {
        o.level = level.map(lvl);
        o.team = team.clone();
    });
    match (run(&[cmd]), expect) {
        (Ok(case), Ok(want)) => {
            assert_eq!(case.level, lvl(want));
            assert_eq!(case.team, team.map(|t| t.id));
        }
        (Err(e), Err(field)) => assert_invalid(&e, field),
        (got, want) => panic!("expected {want:?}, got {got:?}"),
    }
}

#[test]
fn open_defaults_to_the_bottom_level() {
    check_open_level(None, None, Ok("L1"));
}

#[test]
fn open_defaults_to_the_teams_level() {
    check_open_level(None, Some(billing()), Ok("L2"));
    check_open_level(None, Some(managers()), Ok("L3"));
}

#[test]
fn open_at_an_explicit_level() {
    check_open_level(Some("L3"), None, Ok("L3"));
    check_open_level(Some("L2"), Some(tech()), Ok("L2"));
}

#[test]
fn open_team_level_mismatch_is_refused_naming_team() {
    check_open_level(Some("L1"), Some(billing()), Err("team"));
    check_open_level(Some("L3"), Some(front_line()), Err("team"));
}

#[test]
fn open_at_an_unknown_level_is_refused_naming_level() {
    check_open_level(Some("L4"), None, Err("level"));
}

#[test]
fn open_with_a_team_off_the_ladder_is_refused_naming_team() {
    check_open_level(None, Some(team(TeamId(Uuid::from_u128(0xBAD)), "ghosts", "L9")), Err("team"));
}

#[test]
fn open_with_a_blank_subject_is_refused_naming_subject() {
    for subject in ["", "   ", "\n\t"] {
        let err = run(&[open_with(|o| o.subject = subject.into())]).unwrap_err();
        assert_invalid(&err, "subject");
    }
}

#[test]
fn open_with_an_overlong_subject_is_refused_naming_subject() {
    let err = run(&[open_with(|o| o.subject = "x".repeat(501))]).unwrap_err();
    assert_invalid(&err, "subject");
}

#[test]
fn open_with_a_bad_category_or_tag_is_refused() {
    assert_invalid(&run(&[open_with(|o| o.category = Some("Not A Handle".into()))]).unwrap_err(), "category");
    assert_invalid(&run(&[open_with(|o| o.tags = ["VIP!".to_string()].into())]).unwrap_err(), "tags");
}

#[test]
fn open_records_the_opening_fields() {
    let case = run(&[open_with(|o| {
        o.subject = "  Printer is on fire  ".into();
        o.priority = Priority::Urgent;
        o.tags = ["vip".to_string()].into();
        o.custom_fields = BTreeMap::from([("model".to_string(), serde_json::json!("LX-5"))]);
    })])
    .unwrap();
    assert_eq!(case.subject, "Printer is on fire", "subject is trimmed");
    assert_eq!(case.number, 1042);
    assert_eq!(case.priority, Priority::Urgent);
    assert_eq!(case.customer, Some(CUSTOMER));
    assert_eq!(case.category.as_deref(), Some("hardware"));
    assert!(case.tags.contains("vip"));
    assert_eq!(case.custom_fields["model"], "LX-5");
    assert_eq!(case.version, 1);
    assert_eq!((case.n_messages, case.n_escalations, case.first_response_at), (0, 0, None));
}

#[test]
fn open_without_assignee_is_new() {
    let case = run(&[open()]).unwrap();
    assert_eq!(case.status, Status::New);
    assert_eq!(case.assignee, None);
    assert_eq!(case.worked_by, BTreeSet::from([AGENT]), "the person who opened it follows it");
    let by_the_system = run_as(&system(), &[open()]).unwrap();
    assert!(by_the_system.worked_by.is_empty());
}

#[test]
fn open_with_assignee_is_open_and_worked_by() {
    let case = run(&[open_at(front_line(), Some(agent()))]).unwrap();
    assert_eq!(case.status, Status::Open);
    assert_eq!(case.assignee, Some(AGENT));
    assert!(case.worked_by.contains(&AGENT));
}

#[test]
fn open_with_assignee_outside_the_team_is_refused_naming_assignee() {
    assert_invalid(&run(&[open_at(billing(), Some(agent()))]).unwrap_err(), "assignee");
}

#[test]
fn open_with_a_deactivated_assignee_is_refused() {
    let mut gone = agent();
    gone.active = false;
    assert_invalid(&run(&[open_at(front_line(), Some(gone))]).unwrap_err(), "assignee");
}

#[test]
fn opening_twice_is_refused() {
    let err = run(&[open(), open()]).unwrap_err();
    assert_transition(&err, "open", Status::New, "already open");
}

// ---------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------

/// `setup` then a message `cmd` as `actor`; checks the new status, the emitted event kinds
/// and whether `first_response_at` is the time of this message.
#[track_caller]
fn check_message(
    setup: &[CaseCommand],
    actor: &Actor,
    cmd: CaseCommand,
    status: Status,
    events: &[&str],
    first_response_now: bool,
) {
    let (before, outcome) = then(setup, actor, cmd);
    let (got, case) = outcome.unwrap_or_else(|e| panic!("message refused: {e}"));
    assert_eq!(kinds(&got), events);
    assert_eq!(case.status, status);
    assert_eq!(case.n_messages, before.n_messages + 1);
    let now = at(setup.len() as i64);
    if first_response_now {
        assert_eq!(case.first_response_at, Some(now));
    } else {
        assert_eq!(case.first_response_at, before.first_response_at);
    }
}

#[test]
fn staff_public_reply_sets_first_response_and_opens_a_new_case() {
    check_message(&[open()], &staff(&agent()), reply(), Status::Open, &["message_added"], true);
}

#[test]
fn internal_note_does_not_set_first_response() {
    check_message(&[open()], &staff(&agent()), note(), Status::New, &["message_added"], false);
}

#[test]
fn customer_message_does_not_set_first_response() {
    check_message(&[open()], &customer(), reply(), Status::New, &["message_added"], false);
    check_message(&[open()], &staff(&agent()), customer_words(), Status::New, &["message_added"], false);
}

#[test]
fn system_message_does_not_set_first_response() {
    check_message(&[open()], &system(), reply(), Status::New, &["message_added"], false);
}

#[test]
fn first_response_is_kept_by_later_replies() {
    let case = run(&[open(), note(), reply(), reply()]).unwrap();
    assert_eq!(case.first_response_at, Some(at(2)));
}

#[test]
fn customer_reply_resumes_pending_customer() {
    let setup = [open(), request_info(InfoSource::Customer)];
    check_message(&setup, &customer(), reply(), Status::Open, &["resumed", "message_added"], false);
    check_message(&setup, &staff(&agent()), customer_words(), Status::Open, &["resumed", "message_added"], false);
}

#[test]
fn resumed_event_remembers_the_pending_status() {
    let (events, _) = accepted(&[open(), request_info(InfoSource::Customer)], &customer(), reply());
    assert!(matches!(&events[0], CaseEvent::Resumed(r) if r.from_status == Status::PendingCustomer), "{events:?}");
}

#[test]
fn staff_reply_without_resume_keeps_the_case_pending() {
    let setup = [open(), request_info(InfoSource::Customer)];
    check_message(&setup, &staff(&agent()), reply(), Status::PendingCustomer, &["message_added"], false);
}

#[test]
fn staff_message_with_resume_resumes_pending_internal() {
    let setup = [open(), request_info(InfoSource::Internal)];
    let cmd = message(Visibility::Internal, false, true);
    check_message(&setup, &staff(&agent()), cmd, Status::Open, &["resumed", "message_added"], false);
}

#[test]
fn customer_reply_does_not_resume_pending_internal() {
    let setup = [open(), request_info(InfoSource::Internal)];
    check_message(&setup, &customer(), reply(), Status::PendingInternal, &["message_added"], false);
}

#[test]
fn resume_on_a_case_that_is_not_pending_is_refused() {
    let err = refused(&[open(), reply()], &staff(&agent()), message(Visibility::Public, false, true));
    assert_transition(&err, "resume", Status::Open, "pending");
}

#[test]
fn customer_reply_reopens_a_resolved_case() {
    let setup = [open(), reply(), resolve()];
    check_message(&setup, &customer(), reply(), Status::Open, &["reopened", "message_added"], false);
    let (_, case) = accepted(&setup, &customer(), reply());
    assert_eq!(case.resolution, None);
    assert_eq!(case.n_reopens, 1);
}

#[test]
fn staff_reply_on_a_resolved_case_keeps_it_resolved() {
    let setup = [open(), reply(), resolve()];
    check_message(&setup, &staff(&agent()), reply(), Status::Resolved, &["message_added"], false);
}

#[test]
fn internal_note_from_a_customer_is_refused() {
    assert_invalid(&refused(&[open()], &customer(), note()), "visibility");
    let marked = message(Visibility::Internal, true, false);
    assert_invalid(&refused(&[open()], &staff(&agent()), marked), "visibility");
}

#[test]
fn customer_words_are_authored_by_the_cases_customer() {
    let (events, _) = accepted(&[open()], &staff(&agent()), customer_words());
    let CaseEvent::MessageAdded(m) = &events[0] else { panic!("{events:?}") };
    assert_eq!(m.author, Actor::Customer { id: Some(CUSTOMER) });
    assert_eq!(m.channel, Channel::Email, "defaults to the case's channel");
}

#[test]
fn message_with_a_blank_body_is_refused_naming_body() {
    let cmd = CaseCommand::AddMessage(AddMessage {
        visibility: Visibility::Public,
        channel: Some(Channel::Chat),
        body: "  ".into(),
        from_customer: false,
        resume: false,
    });
    assert_invalid(&refused(&[open()], &staff(&agent()), cmd), "body");
}

// ---------------------------------------------------------------------------------------
// Assign / unassign
// ---------------------------------------------------------------------------------------

/// Assigns `who` as a supervisor after `setup`; `Ok(status)` or the refusal.
#[track_caller]
fn check_assign(setup: &[CaseCommand], who: Option<UserRef>, expect: Result<Status, &dyn Fn(&DomainError)>) {
    let wanted = who.as_ref().map(|u| u.id);
    let (before, outcome) = then(setup, &staff(&supervisor()), CaseCommand::Assign(Assign { assignee: who }));
    match (outcome, expect) {
        (Ok((events, case)), Ok(status)) => {
            assert_eq!(events.len(), 1);
            assert_eq!(case.assignee, wanted);
            assert_eq!(case.status, status);
            assert!(before.worked_by.iter().all(|u| case.worked_by.contains(u)), "worked_by only grows");
            if let Some(id) = wanted {
                assert!(case.worked_by.contains(&id));
            }
        }
        (Err(e), Err(check)) => check(&e),
        (got, _) => panic!("unexpected outcome {got:?}"),
    }
}

#[test]
fn assign_sets_the_assignee_and_opens_a_new_case() {
    check_assign(&[open()], Some(agent()), Ok(Status::Open));
}

#[test]
fn assign_records_the_previous_assignee() {
    let (events, _) = accepted(&[open_at(tech(), Some(supervisor()))], &staff(&supervisor()), assign(specialist()));
    assert!(
        matches!(&events[0], CaseEvent::Assigned(a) if a.assignee == SPECIALIST && a.previous == Some(SUPERVISOR)),
        "{events:?}"
    );
}

#[test]
fn assign_to_the_current_assignee_is_refused() {
    check_assign(
        &[open_at(front_line(), Some(agent()))],
        Some(agent()),
        Err(&|e| assert_transition(e, "assign", Status::Open, "already assigned")),
    );
}

#[test]
fn assign_to_a_non_member_is_refused_naming_assignee() {
    check_assign(&[open_at(billing(), None)], Some(agent()), Err(&|e| assert_invalid(e, "assignee")));
    check_assign(&[open_at(front_line(), None)], Some(specialist()), Err(&|e| assert_invalid(e, "assignee")));
}

#[test]
fn assign_to_a_deactivated_user_is_refused() {
    let mut gone = agent();
    gone.active = false;
    check_assign(&[open_at(front_line(), None)], Some(gone), Err(&|e| assert_invalid(e, "assignee")));
}

#[test]
fn manager_may_be_assigned_to_any_team() {
    for t in [front_line(), billing(), tech()] {
        check_assign(&[open_at(t, None)], Some(manager()), Ok(Status::Open));
    }
}

#[test]
fn anyone_may_be_assigned_a_case_without_a_team() {
    check_assign(&[open()], Some(specialist()), Ok(Status::Open));
}

#[test]
fn unassign_clears_the_assignee_and_keeps_worked_by() {
    check_assign(&[open_at(front_line(), Some(agent()))], None, Ok(Status::Open));
    let case = run(&[open_at(front_line(), Some(agent())), unassign()]).unwrap();
    assert!(case.worked_by.contains(&AGENT));
}

#[test]
fn unassign_without_an_assignee_is_refused() {
    check_assign(&[open()], None, Err(&|e| assert_transition(e, "unassign", Status::New, "no assignee")));
}

#[test]
fn assign_on_a_resolved_case_is_refused() {
    check_assign(
        &[open_at(front_line(), None), resolve()],
        Some(agent()),
        Err(&|e| assert_transition(e, "assign", Status::Resolved, "reopen")),
    );
}

// ---------------------------------------------------------------------------------------
// Transfer
// ---------------------------------------------------------------------------------------

#[track_caller]
fn check_transfer(setup: &[CaseCommand], to_team: TeamRef, to_user: Option<UserRef>, expect: Result<(), &str>) {
    let (team_id, user_id) = (to_team.id, to_user.as_ref().map(|u| u.id));
    let (before, outcome) = then(setup, &staff(&supervisor()), transfer(to_team, to_user));
    match (outcome, expect) {
        (Ok((events, case)), Ok(())) => {
            assert!(
                matches!(&events[..], [CaseEvent::Transferred(t)] if t.from_team == before.team && t.to_team == team_id),
                "{events:?}"
            );
            assert_eq!(case.team, Some(team_id));
            assert_eq!(case.assignee, user_id);
            assert_eq!(case.level, before.level, "a transfer stays on the level");
            assert_eq!(case.n_escalations, before.n_escalations);
        }
        (Err(e), Err(field)) => assert_invalid(&e, field),
        (got, want) => panic!("expected {want:?}, got {got:?}"),
    }
}

#[test]
fn transfer_on_the_same_level_moves_team_and_assignee() {
    check_transfer(&[open_at(billing(), None)], tech(), Some(specialist()), Ok(()));
}

#[test]
fn transfer_without_a_user_clears_the_assignee() {
    check_transfer(&[open_at(tech(), Some(specialist()))], billing(), None, Ok(()));
}

#[test]
fn transfer_to_a_team_at_another_level_is_refused_naming_to_team() {
    check_transfer(&[open_at(front_line(), None)], billing(), None, Err("to_team"));
    check_transfer(&[open_at(billing(), None)], front_line(), None, Err("to_team"));
}

#[test]
fn transfer_to_a_user_outside_the_team_is_refused_naming_to_user() {
    check_transfer(&[open_at(billing(), None)], billing(), Some(specialist()), Err("to_user"));
}

#[test]
fn transfer_to_where_the_case_already_is_is_refused() {
    let err =
        refused(&[open_at(tech(), Some(specialist()))], &staff(&supervisor()), transfer(tech(), Some(specialist())));
    assert_transition(&err, "transfer", Status::Open, "already with team 'tech'");
}

#[test]
fn transfer_of_a_resolved_case_is_refused() {
    let err = refused(&[open_at(billing(), None), resolve()], &staff(&supervisor()), transfer(tech(), None));
    assert_transition(&err, "transfer", Status::Resolved, "reopen");
}

// ---------------------------------------------------------------------------------------
// Escalate: functional
// ---------------------------------------------------------------------------------------

/// What an accepted escalation should leave behind.
struct Moved {
    level: &'static str,
    team: Option<TeamId>,
    assignee: Option<UserId>,
}

/// Escalates as `actor` after `setup` and checks where the case went and the stop it left.
#[track_caller]
fn check_escalate(
    setup: &[CaseCommand],
    actor: &Actor,
    cmd: CaseCommand,
    expect: Result<Moved, &dyn Fn(&DomainError)>,
) {
    let (before, outcome) = then(setup, actor, cmd);
    match (outcome, expect) {
        (Ok((events, case)), Ok(want)) => {
            let [CaseEvent::Escalated(e)] = &events[..] else { panic!("{events:?}") };
            assert_eq!(e.from_level, before.level);
            assert_eq!(case.level, lvl(want.level));
            assert_eq!(case.team, want.team);
            assert_eq!(case.assignee, want.assignee);
            assert_eq!(case.n_escalations, before.n_escalations + 1);
            let stop = LevelStop { level: before.level.clone(), team: before.team, assignee: before.assignee };
            assert_eq!(case.escalation_path.last(), Some(&stop));
            assert_eq!(case.escalation_path.len(), before.escalation_path.len() + 1);
            assert!(want.assignee.is_none_or(|u| case.worked_by.contains(&u)), "the new assignee has worked it");
        }
        (Err(e), Err(check)) => check(&e),
        (got, _) => panic!("unexpected outcome {got:?}"),
    }
}

fn at_front_line() -> Vec<CaseCommand> {
    vec![open_at(front_line(), Some(agent()))]
}

#[test]
fn functional_escalation_needs_to_team() {
    let cmd = CaseCommand::Escalate(escalation(EscalationKind::Functional));
    check_escalate(&at_front_line(), &staff(&agent()), cmd, Err(&|e| assert_invalid(e, "to_team")));
}

#[test]
fn functional_escalation_moves_to_the_teams_level() {
    let want = Moved { level: "L2", team: Some(BILLING), assignee: None };
    check_escalate(&at_front_line(), &staff(&agent()), escalate_to(billing()), Ok(want));
}

#[test]
fn functional_escalation_to_a_named_user() {
    let cmd = escalate_with(EscalationKind::Functional, |e| {
        e.to_team = Some(tech());
        e.to_user = Some(specialist());
    });
    let want = Moved { level: "L2", team: Some(TECH), assignee: Some(SPECIALIST) };
    check_escalate(&at_front_line(), &staff(&agent()), cmd, Ok(want));
}

#[test]
fn functional_escalation_to_a_user_outside_the_team_is_refused_naming_to_user() {
    let cmd = escalate_with(EscalationKind::Functional, |e| {
        e.to_team = Some(billing());
        e.to_user = Some(specialist());
    });
    check_escalate(&at_front_line(), &staff(&agent()), cmd, Err(&|e| assert_invalid(e, "to_user")));
}

#[test]
fn functional_escalation_to_a_lower_level_is_refused_naming_to_team() {
    let setup = [open_at(billing(), None)];
    check_escalate(&setup, &staff(&supervisor()), escalate_to(front_line()), Err(&|e| assert_invalid(e, "to_team")));
}

#[test]
fn functional_lateral_escalation_is_allowed() {
    let setup = [open_at(billing(), Some(supervisor()))];
    let want = Moved { level: "L2", team: Some(TECH), assignee: None };
    check_escalate(&setup, &staff(&supervisor()), escalate_to(tech()), Ok(want));
}

#[test]
fn functional_escalation_to_the_current_team_is_refused() {
    let check = |e: &DomainError| assert_transition(e, "escalate", Status::New, "already with team 'billing'");
    check_escalate(&[open_at(billing(), None)], &staff(&supervisor()), escalate_to(billing()), Err(&check));
}

#[test]
fn functional_escalation_with_a_to_level_the_team_does_not_work_is_refused() {
    let cmd = escalate_with(EscalationKind::Functional, |e| {
        e.to_team = Some(billing());
        e.to_level = Some(lvl("L3"));
    });
    check_escalate(&at_front_line(), &staff(&agent()), cmd, Err(&|e| assert_invalid(e, "to_team")));
}

// ---------------------------------------------------------------------------------------
// Escalate: hierarchical
// ---------------------------------------------------------------------------------------

#[test]
fn hierarchical_escalation_defaults_to_the_next_level() {
    let want = Moved { level: "L2", team: None, assignee: None };
    check_escalate(&at_front_line(), &staff(&agent()), escalate_up(), Ok(want));
    let want = Moved { level: "L3", team: None, assignee: None };
    check_escalate(&[open_at(billing(), None)], &staff(&supervisor()), escalate_up(), Ok(want));
}

#[test]
fn hierarchical_escalation_to_a_given_level_may_skip_levels() {
    let cmd = escalate_with(EscalationKind::Hierarchical, |e| e.to_level = Some(lvl("L3")));
    let want = Moved { level: "L3", team: None, assignee: None };
    check_escalate(&at_front_line(), &staff(&agent()), cmd, Ok(want));
}

#[test]
fn hierarchical_escalation_to_a_team_goes_to_its_level() {
    let cmd = escalate_with(EscalationKind::Hierarchical, |e| e.to_team = Some(managers()));
    let want = Moved { level: "L3", team: Some(MANAGERS), assignee: None };
    check_escalate(&at_front_line(), &staff(&agent()), cmd, Ok(want));
}

#[test]
fn hierarchical_escalation_to_a_supervisor() {
    let cmd = escalate_with(EscalationKind::Hierarchical, |e| e.to_user = Some(supervisor()));
    // The supervisor's first team is taken as the case's team.
    let want = Moved { level: "L2", team: Some(BILLING), assignee: Some(SUPERVISOR) };
    check_escalate(&at_front_line(), &staff(&agent()), cmd, Ok(want));
}

#[test]
fn hierarchical_escalation_past_the_top_level_is_refused() {
    let setup = [open_at(managers(), Some(manager()))];
    let check = |e: &DomainError| assert_transition(e, "escalate", Status::Open, "top level");
    check_escalate(&setup, &staff(&manager()), escalate_up(), Err(&check));
    let to_top = escalate_with(EscalationKind::Hierarchical, |e| e.to_level = Some(lvl("L3")));
    check_escalate(&setup, &staff(&manager()), to_top, Err(&check));
}

#[test]
fn hierarchical_escalation_downwards_or_sideways_is_refused() {
    let setup = [open_at(billing(), None)];
    let check =
        |e: &DomainError| assert_transition(e, "escalate", Status::New, "goes up: choose a level above L2 (L3)");
    for to in ["L1", "L2"] {
        let cmd = escalate_with(EscalationKind::Hierarchical, |e| e.to_level = Some(lvl(to)));
        check_escalate(&setup, &staff(&supervisor()), cmd, Err(&check));
    }
}

#[test]
fn hierarchical_escalation_to_an_unknown_level_is_refused_naming_to_level() {
    let cmd = escalate_with(EscalationKind::Hierarchical, |e| e.to_level = Some(lvl("L7")));
    check_escalate(&at_front_line(), &staff(&agent()), cmd, Err(&|e| assert_invalid(e, "to_level")));
}

#[test]
fn hierarchical_escalation_to_an_agent_is_refused_naming_to_user() {
    let cmd = escalate_with(EscalationKind::Hierarchical, |e| e.to_user = Some(specialist()));
    check_escalate(&at_front_line(), &staff(&agent()), cmd, Err(&|e| assert_invalid(e, "to_user")));
}

#[test]
fn escalation_to_a_user_who_does_not_work_the_level_is_refused_naming_to_user() {
    let cmd = escalate_with(EscalationKind::Hierarchical, |e| e.to_user = Some(manager()));
    check_escalate(&at_front_line(), &staff(&agent()), cmd, Err(&|e| assert_invalid(e, "to_user")));
}

#[test]
fn hierarchical_escalation_with_a_team_off_the_target_level_is_refused_naming_to_team() {
    let cmd = escalate_with(EscalationKind::Hierarchical, |e| {
        e.to_level = Some(lvl("L3"));
        e.to_team = Some(billing());
    });
    check_escalate(&at_front_line(), &staff(&agent()), cmd, Err(&|e| assert_invalid(e, "to_team")));
}

/// Escalates up as `initiator` with `tried`; `None` expected means accepted.
#[track_caller]
fn check_tried(initiator: Initiator, actor: &Actor, tried: Option<&str>, refused_field: Option<&str>) {
    let cmd = escalate_with(EscalationKind::Hierarchical, |e| {
        e.initiator = initiator;
        e.tried = tried.map(Into::into);
    });
    match (then(&at_front_line(), actor, cmd).1, refused_field) {
        (Ok((events, _)), None) => {
            let [CaseEvent::Escalated(e)] = &events[..] else { panic!("{events:?}") };
            assert_eq!(e.initiator, initiator);
            assert_eq!(e.tried.as_deref(), tried);
        }
        (Err(e), Some(field)) => assert_invalid(&e, field),
        (got, want) => panic!("expected refusal of {want:?}, got {got:?}"),
    }
}

#[test]
fn agent_initiated_escalation_requires_tried() {
    check_tried(Initiator::Agent, &staff(&agent()), None, Some("tried"));
    check_tried(Initiator::Agent, &staff(&agent()), Some("rebooted"), None);
}

#[test]
fn customer_and_system_initiated_escalations_may_omit_tried() {
    check_tried(Initiator::Customer, &customer(), None, None);
    check_tried(Initiator::System, &system(), None, None);
    check_tried(Initiator::Customer, &customer(), Some("called twice"), None);
}

#[test]
fn blank_tried_is_refused_even_when_optional() {
    check_tried(Initiator::Customer, &customer(), Some("  "), Some("tried"));
}

#[test]
fn escalation_requires_a_reason() {
    for kind in [EscalationKind::Hierarchical, EscalationKind::Functional] {
        let cmd = escalate_with(kind, |e| {
            e.reason = " ".into();
            e.to_team = Some(billing());
        });
        check_escalate(&at_front_line(), &staff(&agent()), cmd, Err(&|e| assert_invalid(e, "reason")));
    }
}

#[test]
fn escalation_of_a_resolved_case_is_refused() {
    let setup = [open_at(front_line(), Some(agent())), resolve()];
    let check = |e: &DomainError| assert_transition(e, "escalate", Status::Resolved, "reopen");
    check_escalate(&setup, &staff(&agent()), escalate_up(), Err(&check));
}

#[test]
fn escalation_takes_a_pending_case_out_of_waiting() {
    let case = run(&[open_at(front_line(), Some(agent())), request_info(InfoSource::Customer), escalate_up()]).unwrap();
    assert_eq!(case.status, Status::Open);
}

// ---------------------------------------------------------------------------------------
// De-escalate
// ---------------------------------------------------------------------------------------

/// De-escalates as a supervisor after `setup`; checks the destination or the refusal.
#[track_caller]
fn check_de_escalate(setup: &[CaseCommand], cmd: CaseCommand, expect: Result<Moved, &dyn Fn(&DomainError)>) {
    let (before, outcome) = then(setup, &staff(&supervisor()), cmd);
    match (outcome, expect) {
        (Ok((events, case)), Ok(want)) => {
            let [CaseEvent::DeEscalated(d)] = &events[..] else { panic!("{events:?}") };
            assert_eq!(d.from_level, before.level);
            assert_eq!(d.from_team, before.team);
            assert_eq!(case.level, lvl(want.level));
            assert_eq!(case.team, want.team);
            assert_eq!(case.assignee, want.assignee);
            assert_eq!(case.n_de_escalations, before.n_de_escalations + 1);
            assert_eq!(case.n_escalations, before.n_escalations, "de-escalation is not counted as escalation");
            assert!(want.assignee.is_none_or(|u| case.worked_by.contains(&u)), "the new assignee has worked it");
            assert!(
                case.escalation_path.iter().all(|s| s.level != case.level),
                "the stop de-escalated to is taken off the path: {:?}",
                case.escalation_path
            );
        }
        (Err(e), Err(check)) => check(&e),
        (got, _) => panic!("unexpected outcome {got:?}"),
    }
}

#[test]
fn de_escalation_returns_to_the_previous_stops_team_and_assignee() {
    let setup = [open_at(front_line(), Some(agent())), escalate_to(billing())];
    let want = Moved { level: "L1", team: Some(FRONT_LINE), assignee: Some(AGENT) };
    check_de_escalate(&setup, de_escalate(), Ok(want));
}

#[test]
fn de_escalation_goes_back_one_stop_at_a_time() {
    let setup = [open_at(front_line(), Some(agent())), escalate_to(tech()), escalate_up()];
    let want = Moved { level: "L2", team: Some(TECH), assignee: None };
    check_de_escalate(&setup, de_escalate(), Ok(want));
    let case = run(&[setup.to_vec(), vec![de_escalate(), de_escalate()]].concat()).unwrap();
    assert_eq!((case.level.clone(), case.team, case.assignee), (lvl("L1"), Some(FRONT_LINE), Some(AGENT)));
    assert!(case.escalation_path.is_empty());
}

#[test]
fn de_escalation_after_a_lateral_escalation_goes_below_the_current_level() {
    // L1 → billing (L2) → tech (L2, lateral): handing the case down goes back to L1.
    let setup = [open_at(front_line(), Some(agent())), escalate_to(billing()), escalate_to(tech())];
    let want = Moved { level: "L1", team: Some(FRONT_LINE), assignee: Some(AGENT) };
    check_de_escalate(&setup, de_escalate(), Ok(want));
}

#[test]
fn de_escalation_to_an_explicit_level_skips_stops() {
    let setup = [open_at(front_line(), Some(agent())), escalate_to(tech()), escalate_up()];
    let cmd = de_escalate_with(|d| d.to_level = Some(lvl("L1")));
    let want = Moved { level: "L1", team: Some(FRONT_LINE), assignee: Some(AGENT) };
    check_de_escalate(&setup, cmd, Ok(want));
    let case = run(&[setup.to_vec(), vec![de_escalate_with(|d| d.to_level = Some(lvl("L1")))]].concat()).unwrap();
    assert!(case.escalation_path.is_empty());
}

#[test]
fn de_escalation_to_an_explicit_team_leaves_it_unassigned() {
    let setup = [open_at(front_line(), Some(agent())), escalate_to(tech()), escalate_up()];
    let cmd = de_escalate_with(|d| d.to_team = Some(billing()));
    check_de_escalate(&setup, cmd, Ok(Moved { level: "L2", team: Some(BILLING), assignee: None }));
}

#[test]
fn de_escalation_without_a_path_goes_one_level_down() {
    let setup = [open_at(managers(), Some(manager()))];
    check_de_escalate(&setup, de_escalate(), Ok(Moved { level: "L2", team: None, assignee: None }));
}

#[test]
fn de_escalation_at_the_bottom_level_is_refused() {
    let check = |e: &DomainError| assert_transition(e, "de-escalate", Status::Open, "lowest level L1");
    check_de_escalate(&at_front_line(), de_escalate(), Err(&check));
    let explicit = de_escalate_with(|d| d.to_level = Some(lvl("L1")));
    check_de_escalate(&at_front_line(), explicit, Err(&check));
}

#[test]
fn de_escalation_upwards_is_refused() {
    let cmd = de_escalate_with(|d| d.to_level = Some(lvl("L3")));
    let check = |e: &DomainError| assert_transition(e, "de-escalate", Status::New, "goes down");
    check_de_escalate(&[open_at(billing(), None)], cmd, Err(&check));
}

#[test]
fn de_escalation_with_a_team_off_the_target_level_is_refused_naming_to_team() {
    let cmd = de_escalate_with(|d| {
        d.to_level = Some(lvl("L1"));
        d.to_team = Some(billing());
    });
    check_de_escalate(&[open_at(managers(), None)], cmd, Err(&|e| assert_invalid(e, "to_team")));
}

#[test]
fn de_escalation_requires_guidance() {
    let cmd = de_escalate_with(|d| d.guidance = String::new());
    check_de_escalate(&[open_at(billing(), None)], cmd, Err(&|e| assert_invalid(e, "guidance")));
}

// ---------------------------------------------------------------------------------------
// Request information
// ---------------------------------------------------------------------------------------

#[track_caller]
fn check_request_info(from: InfoSource, status: Status, visibility: Visibility) {
    let actor = staff(&agent());
    let (events, case) = accepted(&at_front_line(), &actor, request_info(from));
    let [CaseEvent::MessageAdded(m), CaseEvent::InfoRequested(r)] = &events[..] else { panic!("{events:?}") };
    assert_eq!(m.visibility, visibility);
    assert_eq!(m.author, actor);
    assert_eq!(m.body, r.question);
    assert_eq!(r.from, from);
    assert_eq!(r.message_id, Some(m.message_id), "the request points at the message that carried it");
    assert_eq!(case.status, status);
    assert_eq!(case.n_messages, 1);
}

#[test]
fn request_info_from_the_customer_waits_on_the_customer_with_a_public_message() {
    check_request_info(InfoSource::Customer, Status::PendingCustomer, Visibility::Public);
}

#[test]
fn request_info_internally_waits_internally_with_an_internal_note() {
    check_request_info(InfoSource::Internal, Status::PendingInternal, Visibility::Internal);
}

#[test]
fn request_info_twice_from_the_same_source_is_refused() {
    let setup = [open(), request_info(InfoSource::Internal)];
    let err = refused(&setup, &staff(&agent()), request_info(InfoSource::Internal));
    assert_transition(&err, "request information on", Status::PendingInternal, "already waiting");
    // Switching whom the case waits on is fine.
    let (_, case) = accepted(&setup, &staff(&agent()), request_info(InfoSource::Customer));
    assert_eq!(case.status, Status::PendingCustomer);
}

#[test]
fn request_info_on_a_resolved_case_is_refused() {
    let err = refused(&[open(), resolve()], &staff(&agent()), request_info(InfoSource::Customer));
    assert_transition(&err, "request information on", Status::Resolved, "reopen");
}

#[test]
fn request_info_with_a_blank_question_is_refused_naming_question() {
    let cmd = CaseCommand::RequestInfo(RequestInfo { from: InfoSource::Customer, question: "".into() });
    assert_invalid(&refused(&[open()], &staff(&agent()), cmd), "question");
}

// ---------------------------------------------------------------------------------------
// Resolve, reopen, close
// ---------------------------------------------------------------------------------------

#[test]
fn resolve_records_the_resolution() {
    let case = run(&[open(), reply(), resolve()]).unwrap();
    assert_eq!(case.status, Status::Resolved);
    let r = case.resolution.expect("resolution set");
    assert_eq!((r.code.as_str(), r.note.as_deref(), r.at), ("fixed", Some("replaced the fuser"), at(2)));
}

#[test]
fn resolve_without_a_note() {
    let case = run(&[open(), resolve_with("duplicate", None)]).unwrap();
    assert_eq!(case.resolution.map(|r| (r.code, r.note)), Some(("duplicate".to_string(), None)));
}

#[test]
fn resolve_validates_the_code() {
    for code in ["", "Fixed", "not fixed", "fixé", &"x".repeat(65)] {
        assert_invalid(&refused(&[open()], &staff(&agent()), resolve_with(code, None)), "code");
    }
    for code in ["fixed", "wont-fix", "dup_of.42"] {
        accepted(&[open()], &staff(&agent()), resolve_with(code, None));
    }
}

#[test]
fn resolve_with_a_blank_note_is_refused_naming_note() {
    assert_invalid(&refused(&[open()], &staff(&agent()), resolve_with("fixed", Some(" "))), "note");
}

#[test]
fn resolving_a_resolved_case_is_refused() {
    let err = refused(&[open(), resolve()], &staff(&agent()), resolve());
    assert_transition(&err, "resolve", Status::Resolved, "reopen");
}

#[test]
fn reopen_from_resolved_clears_the_resolution() {
    let case = run(&[open(), resolve(), reopen()]).unwrap();
    assert_eq!(case.status, Status::Open);
    assert_eq!(case.resolution, None);
    assert_eq!(case.n_reopens, 1);
}

#[test]
fn reopen_only_from_resolved() {
    for (setup, status) in [
        (vec![open()], Status::New),
        (vec![open(), reply()], Status::Open),
        (vec![open(), request_info(InfoSource::Customer)], Status::PendingCustomer),
        (vec![open(), request_info(InfoSource::Internal)], Status::PendingInternal),
    ] {
        let err = refused(&setup, &staff(&agent()), reopen());
        assert_transition(&err, "reopen", status, "only a resolved case");
    }
}

#[test]
fn reopen_requires_a_reason() {
    let cmd = CaseCommand::Reopen(Reopen { reason: "\t".into() });
    assert_invalid(&refused(&[open(), resolve()], &staff(&agent()), cmd), "reason");
}

#[test]
fn close_only_from_resolved() {
    for (setup, status) in [
        (vec![open()], Status::New),
        (vec![open(), reply()], Status::Open),
        (vec![open(), request_info(InfoSource::Internal)], Status::PendingInternal),
        (vec![open(), resolve(), reopen()], Status::Open),
    ] {
        let err = refused(&setup, &staff(&supervisor()), CaseCommand::Close);
        assert_transition(&err, "close", status, "resolve the case before closing");
    }
}

#[test]
fn close_from_resolved_keeps_the_resolution() {
    let case = run(&[open(), resolve(), CaseCommand::Close]).unwrap();
    assert_eq!(case.status, Status::Closed);
    assert_eq!(case.resolution.map(|r| r.code), Some("fixed".to_string()));
}

/// One of each command; all but open, reopen and close are accepted on an open L2 case.
fn one_of_each() -> Vec<CaseCommand> {
    vec![
        open(),
        reply(),
        customer_words(),
        assign(manager()),
        unassign(),
        transfer(tech(), None),
        escalate_up(),
        de_escalate(),
        request_info(InfoSource::Customer),
        update(|u| u.priority = Some(Priority::High)),
        resolve(),
        reopen(),
        CaseCommand::Close,
    ]
}

#[test]
fn a_closed_case_refuses_everything() {
    let closed = [open_at(billing(), Some(supervisor())), resolve(), CaseCommand::Close];
    for actor in [staff(&supervisor()), staff(&manager()), customer(), system()] {
        for cmd in one_of_each() {
            let action = cmd.action();
            let shown = format!("{cmd:?}");
            let err = refused(&closed, &actor, cmd);
            match err {
                DomainError::InvalidTransition { current, action: a, .. } => {
                    assert_eq!(current, Status::Closed, "{shown}");
                    assert_eq!(a, action, "{shown}");
                }
                other => panic!("{shown}: expected InvalidTransition, got {other:?}"),
            }
        }
    }
}

#[test]
fn every_command_but_open_reopen_and_close_is_accepted_on_an_open_case() {
    // Guards the closed-case test: there, it must be the closing that refuses, not the command.
    let setup = [open_at(billing(), Some(supervisor())), reply()];
    for cmd in one_of_each() {
        let needs_other_status = matches!(cmd, CaseCommand::Open(_) | CaseCommand::Reopen(_) | CaseCommand::Close);
        let shown = format!("{cmd:?}");
        let outcome = then(&setup, &staff(&supervisor()), cmd).1;
        assert_eq!(outcome.is_ok(), !needs_other_status, "{shown}: {outcome:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Update
// ---------------------------------------------------------------------------------------

#[track_caller]
fn check_update(setup: &[CaseCommand], cmd: CaseCommand, want: Option<Updated>) {
    let (before, outcome) = then(setup, &staff(&agent()), cmd);
    let (events, after) = outcome.unwrap_or_else(|e| panic!("update refused: {e}"));
    match want {
        None => {
            assert!(events.is_empty(), "{events:?}");
            assert_eq!(after, before, "a no-op update changes nothing, not even the version");
        }
        Some(want) => {
            assert_eq!(events, vec![CaseEvent::Updated(want)]);
            assert_eq!(after.version, before.version + 1);
        }
    }
}

fn tagged() -> Vec<CaseCommand> {
    vec![open_with(|o| {
        o.tags = ["vip".to_string(), "printer".to_string()].into();
        o.custom_fields = BTreeMap::from([("model".to_string(), serde_json::json!("LX-5"))]);
    })]
}

#[test]
fn update_records_only_changed_fields() {
    let cmd = update(|u| {
        u.subject = Some("Printer is on fire".into());
        u.priority = Some(Priority::Urgent);
        u.category = Some(Some("hardware".into()));
        u.tags_added = vec!["vip".into(), "fire".into()];
        u.tags_removed = vec!["printer".into(), "absent".into()];
        u.custom_fields =
            BTreeMap::from([("model".into(), serde_json::json!("LX-5")), ("floor".into(), serde_json::json!(3))]);
    });
    let want = Updated {
        priority: Some(Priority::Urgent),
        tags_added: vec!["fire".into()],
        tags_removed: vec!["printer".into()],
        custom_fields: BTreeMap::from([("floor".into(), serde_json::json!(3))]),
        ..Updated::default()
    };
    check_update(&tagged(), cmd, Some(want));
    let case = run(&[tagged(), vec![update(|u| u.tags_added = vec!["fire".into()])]].concat()).unwrap();
    assert_eq!(case.tags.iter().map(String::as_str).collect::<Vec<_>>(), ["fire", "printer", "vip"]);
}

#[test]
fn update_with_nothing_new_yields_no_events() {
    check_update(&tagged(), update(|_| {}), None);
    let same = update(|u| {
        u.subject = Some("  Printer is on fire ".into());
        u.priority = Some(Priority::Normal);
        u.category = Some(Some("hardware".into()));
        u.tags_added = vec!["vip".into()];
        u.tags_removed = vec!["absent".into()];
        u.custom_fields =
            BTreeMap::from([("model".into(), serde_json::json!("LX-5")), ("gone".into(), serde_json::Value::Null)]);
    });
    check_update(&tagged(), same, None);
}

#[test]
fn update_clears_the_category_and_removes_null_fields() {
    let cmd = update(|u| {
        u.category = Some(None);
        u.custom_fields = BTreeMap::from([("model".into(), serde_json::Value::Null)]);
    });
    let want = Updated {
        category: Some(None),
        custom_fields: BTreeMap::from([("model".into(), serde_json::Value::Null)]),
        ..Updated::default()
    };
    check_update(&tagged(), cmd.clone(), Some(want));
    let case = run(&[tagged(), vec![cmd]].concat()).unwrap();
    assert_eq!(case.category, None);
    assert!(case.custom_fields.is_empty());
}

#[test]
fn update_changes_the_subject_trimmed() {
    let want = Updated { subject: Some("Smoke".into()), ..Updated::default() };
    check_update(&tagged(), update(|u| u.subject = Some(" Smoke ".into())), Some(want));
}

#[test]
fn update_validates_its_fields() {
    for (cmd, field) in [
        (update(|u| u.subject = Some(" ".into())), "subject"),
        (update(|u| u.category = Some(Some("Hard Ware".into()))), "category"),
        (update(|u| u.tags_added = vec!["VIP".into()]), "tags_added"),
        (update(|u| u.tags_removed = vec!["".into()]), "tags_removed"),
        (update(|u| u.custom_fields = BTreeMap::from([("Bad Key".into(), serde_json::json!(1))])), "custom_fields"),
    ] {
        assert_invalid(&refused(&tagged(), &staff(&agent()), cmd), field);
    }
}

#[test]
fn update_is_allowed_on_a_resolved_case() {
    let want = Updated { priority: Some(Priority::Low), ..Updated::default() };
    check_update(&[open(), resolve()], update(|u| u.priority = Some(Priority::Low)), Some(want));
}

// ---------------------------------------------------------------------------------------
// Stored events
// ---------------------------------------------------------------------------------------

#[test]
fn clearing_the_category_survives_a_json_round_trip() {
    let mut sim = Sim::new();
    sim.ok(&staff(&agent()), tagged().remove(0));
    sim.ok(&staff(&agent()), update(|u| u.category = Some(None)));
    let json = serde_json::to_string(&sim.events).unwrap();
    let back: Vec<RecordedEvent> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sim.events);
    assert_eq!(Case::replay(&back).unwrap().category, None);
}

#[test]
fn replay_equals_the_incremental_fold() {
    let mut sim = Sim::new();
    sim.ok(&staff(&agent()), open_at(front_line(), Some(agent())))
        .ok(&staff(&agent()), escalate_to(billing()))
        .ok(&staff(&supervisor()), assign(supervisor()))
        .ok(&staff(&supervisor()), request_info(InfoSource::Customer))
        .ok(&customer(), reply())
        .ok(&staff(&supervisor()), de_escalate())
        .ok(&staff(&agent()), resolve())
        .ok(&staff(&supervisor()), CaseCommand::Close);
    assert_eq!(Case::replay(&sim.events).as_ref(), Some(sim.case()));
    assert_eq!(sim.case().version, sim.events.len() as u64);
    assert!(Case::replay(&[]).is_none());
}

// ---------------------------------------------------------------------------------------
// Access
// ---------------------------------------------------------------------------------------

fn principal(u: &UserRef) -> Principal {
    Principal { user_id: u.id, name: u.name.clone(), role: u.role, teams: u.teams.iter().map(|t| t.id).collect() }
}

#[track_caller]
fn check_view(setup: &[CaseCommand], who: &UserRef, can: bool) {
    // Opened by a channel, so nobody follows it as its opener.
    let case = run_as(&system(), setup).unwrap();
    assert_eq!(principal(who).can_view(&case), can, "{} viewing a case of {:?}", who.name, case.team);
}

#[test]
fn agent_sees_their_teams_cases_only() {
    check_view(&[open_at(front_line(), None)], &agent(), true);
    check_view(&[open_at(billing(), None)], &agent(), false);
    check_view(&[open()], &agent(), false);
}

#[test]
fn agent_sees_a_case_assigned_to_them_outside_their_teams() {
    check_view(&[open(), assign(agent())], &agent(), true);
}

#[test]
fn supervisor_sees_their_teams_cases_only() {
    check_view(&[open_at(billing(), None)], &supervisor(), true);
    check_view(&[open_at(tech(), None)], &supervisor(), true);
    check_view(&[open_at(front_line(), None)], &supervisor(), false);
    check_view(&[open_at(managers(), None)], &supervisor(), false);
}

#[test]
fn manager_sees_every_case() {
    for setup in [vec![open()], vec![open_at(front_line(), None)], vec![open_at(tech(), None)]] {
        check_view(&setup, &manager(), true);
    }
}

#[test]
fn worked_by_keeps_visibility_after_escalation() {
    let setup = [open_at(front_line(), Some(agent())), escalate_to(billing())];
    let case = run(&setup).unwrap();
    assert_eq!((case.team, case.assignee), (Some(BILLING), None), "the case moved on");
    check_view(&setup, &agent(), true);
    // Someone else on the front line who never worked it no longer sees it.
    let colleague = user(UserId(Uuid::from_u128(0xA5)), "bob", Role::Agent, &[FRONT_LINE], &["L1"]);
    check_view(&setup, &colleague, false);
}

#[track_caller]
fn check_may(who: &UserRef, setup: &[CaseCommand], cmd: CaseCommand, allowed: bool) {
    let case = if setup.is_empty() { None } else { Some(run_as(&system(), setup).unwrap()) };
    let got = principal(who).may(case.as_ref(), &cmd);
    assert_eq!(got.is_ok(), allowed, "{} may {:?}: {got:?}", who.name, cmd);
}

#[test]
fn agent_cannot_assign_to_others() {
    let setup = [open_at(front_line(), None)];
    let bob = user(UserId(Uuid::from_u128(0xA5)), "bob", Role::Agent, &[FRONT_LINE], &["L1"]);
    check_may(&agent(), &setup, assign(bob.clone()), false);
    check_may(&agent(), &setup, assign(agent()), true);
    check_may(&supervisor(), &[open_at(tech(), None)], assign(specialist()), true);
}

#[test]
fn agent_can_only_unassign_themselves() {
    let bob = user(UserId(Uuid::from_u128(0xA5)), "bob", Role::Agent, &[FRONT_LINE], &["L1"]);
    check_may(&agent(), &[open_at(front_line(), Some(bob))], unassign(), false);
    check_may(&agent(), &[open_at(front_line(), Some(agent()))], unassign(), true);
}

#[test]
fn agent_cannot_close() {
    let setup = [open_at(front_line(), Some(agent())), resolve()];
    check_may(&agent(), &setup, CaseCommand::Close, false);
    check_may(&agent(), &setup, reopen(), true);
    let supervised = [open_at(billing(), None), resolve()];
    check_may(&supervisor(), &supervised, CaseCommand::Close, true);
    check_may(&manager(), &supervised, CaseCommand::Close, true);
}

#[test]
fn nobody_may_act_on_a_case_they_cannot_see() {
    check_may(&agent(), &[open_at(billing(), None)], reply(), false);
    check_may(&supervisor(), &[open_at(front_line(), None)], reply(), false);
}

#[test]
fn agent_opens_cases_only_for_their_own_teams() {
    check_may(&agent(), &[], open_at(front_line(), None), true);
    check_may(&agent(), &[], open(), true);
    check_may(&agent(), &[], open_at(billing(), None), false);
    check_may(&supervisor(), &[], open_at(front_line(), None), false);
    check_may(&manager(), &[], open_at(front_line(), None), true);
}

#[test]
fn case_scope_matches_role() {
    use ladder_core::access::CaseScope;
    assert_eq!(principal(&manager()).case_scope(), CaseScope::All);
    assert_eq!(
        principal(&supervisor()).case_scope(),
        CaseScope::TeamsOrWorkedBy { teams: vec![BILLING, TECH], user: SUPERVISOR, followed: vec![BILLING, TECH] }
    );
    assert!(principal(&supervisor()).is_at_least(Role::Agent));
    assert!(!principal(&agent()).is_at_least(Role::Supervisor));
}

// ---------------------------------------------------------------------------------------
// Named people, their teams' levels, and determinism.

#[test]
fn escalation_to_a_named_user_takes_their_team_at_the_target_level() {
    // A supervisor on the front line (L1) and on the management team (L3).
    let both = user(SUPERVISOR, "sam", Role::Supervisor, &[FRONT_LINE, MANAGERS], &["L1", "L3"]);
    let cmd = escalate_with(EscalationKind::Hierarchical, |e| {
        e.to_level = Some(lvl("L3"));
        e.to_user = Some(both.clone());
    });
    let (_, case) = accepted(&[open_at(front_line(), None)], &staff(&agent()), cmd);
    assert_eq!(case.level, lvl("L3"));
    assert_eq!(case.team, Some(MANAGERS), "the team is the one the user works L3 through, not their first team");
    assert_eq!(case.assignee, Some(SUPERVISOR));
    assert_eq!(case.status, Status::Open, "a named assignee means the case is being worked");
}

#[test]
fn de_escalation_to_a_user_who_does_not_work_the_level_is_refused_naming_to_user() {
    let setup = [open_at(front_line(), Some(agent())), escalate_to(billing())];
    let cmd = de_escalate_with(|d| d.to_user = Some(specialist())); // works L2, not L1
    assert_invalid(&refused(&setup, &staff(&supervisor()), cmd), "to_user");
}

#[test]
fn deciding_is_deterministic_given_the_same_context() {
    let ladder = ladder();
    let actor = staff(&agent());
    let case = run(&[open_at(front_line(), Some(agent()))]).unwrap();
    let context = Context {
        now: at(5),
        actor: &actor,
        ladder: &ladder,
        next_number: 1,
        new_id: Uuid::from_u128(42),
        matrix_version: None,
    };
    let first = decide(Some(&case), &reply(), &context).unwrap();
    let second = decide(Some(&case), &reply(), &context).unwrap();
    assert_eq!(first, second);
    let CaseEvent::MessageAdded(m) = &first[0] else { panic!("expected a message, got {first:?}") };
    assert_eq!(m.message_id.0, Uuid::from_u128(42), "the message id comes from the context");
}

#[test]
fn having_worked_a_case_allows_messages_but_not_decisions_after_it_moved_on() {
    let setup = [open_at(front_line(), Some(agent())), escalate_to(billing())];
    let case = run(&setup).unwrap();
    let alice = Principal { user_id: AGENT, name: "alice".into(), role: Role::Agent, teams: vec![FRONT_LINE] };
    assert!(alice.can_view(&case), "she still follows the case she worked");
    assert!(alice.may(Some(&case), &note()).is_ok(), "and may add notes to it");
    for command in [resolve(), de_escalate(), escalate_up(), request_info(InfoSource::Customer)] {
        let refused = alice.may(Some(&case), &command).unwrap_err();
        assert!(refused.contains("moved on"), "{refused}");
    }
}

#[test]
fn an_agent_opening_a_case_may_assign_only_themselves() {
    let alice = Principal { user_id: AGENT, name: "alice".into(), role: Role::Agent, teams: vec![FRONT_LINE] };
    let for_someone_else = open_with(|o| {
        o.team = Some(front_line());
        o.assignee = Some(user(SPECIALIST, "tom", Role::Agent, &[FRONT_LINE], &["L1"]));
    });
    assert!(alice.may(None, &for_someone_else).is_err());
    assert!(alice.may(None, &open_at(front_line(), Some(agent()))).is_ok());
}

// ---------------------------------------------------------------------------------------
// How much one case may hold
// ---------------------------------------------------------------------------------------

fn callback_with_note(note: Option<String>) -> CaseCommand {
    CaseCommand::ScheduleCallback(ladder_core::command::ScheduleCallback {
        team: front_line(),
        window_start: at(100),
        window_end: at(160),
        time_zone: "UTC".into(),
        note,
    })
}

#[test]
fn a_case_holds_a_bounded_number_of_messages_and_list_entries_and_short_notes() {
    use ladder_core::limits::{MAX_ENTRIES_PER_CASE, MAX_MESSAGES_PER_CASE, MAX_NOTE};
    let ladder = ladder();
    let actor = staff(&agent());
    let decide_on = |case: &Case, command: &CaseCommand| decide(Some(case), command, &cx(&actor, &ladder, at(50)));

    // Messages: the last one fits, one more is refused naming the case.
    let mut case = run(&[open()]).unwrap();
    case.n_messages = MAX_MESSAGES_PER_CASE - 1;
    assert!(decide_on(&case, &note()).is_ok());
    case.n_messages = MAX_MESSAGES_PER_CASE;
    let e = decide_on(&case, &note()).unwrap_err();
    assert_invalid(&e, "case");
    assert!(e.to_string().contains("10000 messages"), "{e}");
    // A request for information is a message too.
    let ask = CaseCommand::RequestInfo(RequestInfo { question: "Which invoice?".into(), from: InfoSource::Customer });
    assert_invalid(&decide_on(&case, &ask).unwrap_err(), "case");

    // List entries: the hundredth call-back fits, the next is refused.
    let mut case = run(&[open(), callback_with_note(None)]).unwrap();
    let booked = case.callbacks[0].clone();
    case.callbacks = vec![booked.clone(); MAX_ENTRIES_PER_CASE - 1];
    assert!(decide_on(&case, &callback_with_note(None)).is_ok());
    case.callbacks.push(booked);
    let e = decide_on(&case, &callback_with_note(None)).unwrap_err();
    assert_invalid(&e, "case");
    assert!(e.to_string().contains("100 call-backs"), "{e}");

    // Notes the case document keeps are short; message bodies may be long.
    let case = run(&[open()]).unwrap();
    assert!(decide_on(&case, &callback_with_note(Some("x".repeat(MAX_NOTE)))).is_ok());
    assert_invalid(&decide_on(&case, &callback_with_note(Some("x".repeat(MAX_NOTE + 1)))).unwrap_err(), "note");
    let long_body = CaseCommand::AddMessage(AddMessage {
        visibility: Visibility::Internal,
        channel: None,
        body: "x".repeat(65_536),
        from_customer: false,
        resume: false,
    });
    assert!(decide_on(&case, &long_body).is_ok());
}

// ---------------------------------------------------------------------------------------
// The customer portal: the customer's own rating, and what a portal link allows
// ---------------------------------------------------------------------------------------

fn csat(score: u8, on_behalf: bool) -> CaseCommand {
    CaseCommand::RecordCsat(ladder_core::command::RecordCsat { score, comment: None, on_behalf })
}

#[test]
fn the_customer_may_change_their_own_rating_while_the_case_is_resolved_then_it_stands() {
    let mut sim = Sim::new();
    sim.ok(&staff(&agent()), open()).ok(&staff(&agent()), resolve());
    sim.ok(&customer(), csat(2, false)).ok(&customer(), csat(4, false));
    assert_eq!(sim.case().csat.as_ref().map(|c| (c.score, c.by_customer)), Some((4, true)));
    assert!(sim.exec(&staff(&agent()), &csat(1, true)).is_err(), "an agent does not overwrite the customer's");
    sim.ok(&staff(&supervisor()), CaseCommand::Close);
    assert!(sim.exec(&customer(), &csat(5, false)).is_err(), "closed: the rating stands");
    assert_eq!(sim.case().csat.as_ref().map(|c| c.score), Some(4));
}

#[test]
fn a_portal_link_allows_its_customer_only_the_portals_commands_on_their_own_case() {
    use ladder_core::access::CustomerPrincipal;
    let mut sim = Sim::new();
    sim.ok(&staff(&agent()), CaseCommand::Open(OpenCase { customer: Some(CUSTOMER), ..open_case() }));
    let case = sim.case().clone();
    let me = CustomerPrincipal { customer: CUSTOMER, case: case.id };
    let reply = |visibility| {
        CaseCommand::AddMessage(AddMessage {
            visibility,
            channel: None,
            body: "hi".into(),
            from_customer: true,
            resume: false,
        })
    };
    let escalate = |kind, initiator| {
        CaseCommand::Escalate(Escalate {
            kind,
            initiator,
            to_level: None,
            to_team: None,
            to_user: None,
            reason: "please".into(),
            tried: None,
            candidates: Vec::new(),
            team_choice: None,
        })
    };
    let check = |who: &CustomerPrincipal, command: &CaseCommand, allowed: bool| {
        assert_eq!(who.may(&case, command).is_ok(), allowed, "{command:?} by {who:?}");
    };
    check(&me, &reply(Visibility::Public), true);
    check(&me, &reply(Visibility::Internal), false);
    check(&me, &escalate(EscalationKind::Hierarchical, Initiator::Customer), true);
    check(&me, &escalate(EscalationKind::Hierarchical, Initiator::Agent), false);
    check(&me, &escalate(EscalationKind::Functional, Initiator::Customer), false);
    check(&me, &csat(5, false), true);
    check(&me, &csat(5, true), false);
    check(&me, &resolve(), false);
    check(&me, &CaseCommand::Close, false);
    // Another customer, or another case, reads and does nothing.
    let stranger = CustomerPrincipal { customer: ladder_core::ids::CustomerId(Uuid::from_u128(7)), case: case.id };
    let elsewhere = CustomerPrincipal { customer: CUSTOMER, case: ladder_core::ids::CaseId(Uuid::from_u128(8)) };
    for other in [stranger, elsewhere] {
        assert!(other.may_read(&case).is_err());
        check(&other, &reply(Visibility::Public), false);
    }
}
