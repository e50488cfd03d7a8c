//! Property tests: random command histories against `decide` / `record` / `apply`.
//!
//! A history is an `Open` followed by up to 40 commands of every kind, each sent by a random
//! actor with random but plausible parameters over a small directory (four teams over the
//! default ladder L1–L3, four users). Each command is decided against the current state;
//! accepted ones are recorded and folded. Time is simulated: one minute per command.

use std::collections::{BTreeMap, BTreeSet};

use jiff::SignedDuration;
use ladder_core::case::apply;
use ladder_core::command::{
    AddMessage, Assign, CaseCommand, DeEscalate, Escalate, OpenCase, Reopen, RequestInfo, Resolve, TeamRef, Transfer,
    UpdateCase, UserRef,
};
use ladder_core::event::{EscalationKind, InfoSource, Initiator};
use ladder_core::ids::TeamId;
use ladder_core::{
    Actor, Case, CaseEvent, Channel, Context, DomainError, Ladder, LevelId, Priority, RecordedEvent, Role, Status,
    Visibility, decide, record,
};
use ladder_testkit::domain::{self, CASE, CUSTOMER, t0};
use proptest::prelude::*;
use proptest::sample::select;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

fn lvl(s: &str) -> LevelId {
    LevelId::new(s)
}

/// The level each fixture team works.
fn team_levels() -> BTreeMap<TeamId, LevelId> {
    domain::teams().into_iter().map(|t| (t.id, t.level)).collect()
}

fn actors() -> Vec<Actor> {
    let mut a: Vec<Actor> = domain::users().into_iter().map(|u| Actor::User { id: u.id }).collect();
    a.push(Actor::Customer { id: Some(CUSTOMER) });
    a.push(Actor::System { name: "sla-timer".into() });
    a
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

fn team() -> impl Strategy<Value = TeamRef> {
    select(domain::teams())
}

fn user() -> impl Strategy<Value = UserRef> {
    select(domain::users())
}

/// Mostly rungs of the ladder, now and then one that is not.
fn level() -> impl Strategy<Value = LevelId> {
    prop_oneof![8 => select(vec!["L1", "L2", "L3"]), 1 => Just("L9")].prop_map(lvl)
}

/// Mostly valid free text, sometimes blank.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![6 => Just("Tried the usual things".to_string()), 1 => Just(String::new()), 1 => Just("  ".to_string())]
}

/// Mostly valid handles, sometimes not.
fn handle() -> impl Strategy<Value = String> {
    prop_oneof![8 => select(vec!["vip", "printer", "refund", "outage"]), 1 => Just("Not A Handle")]
        .prop_map(str::to_string)
}

fn priority() -> impl Strategy<Value = Priority> {
    select(Priority::ALL.to_vec())
}

fn channel() -> impl Strategy<Value = Channel> {
    select(Channel::ALL.to_vec())
}

fn custom_fields() -> impl Strategy<Value = BTreeMap<String, serde_json::Value>> {
    let value = prop_oneof![
        any::<i32>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::from),
        "[a-z ]{0,8}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        Just(serde_json::json!({"nested": [1, "two", null]})),
    ];
    prop::collection::btree_map(select(vec!["model", "floor", "contract"]).prop_map(str::to_string), value, 0..3)
}

/// An opening that is valid most of the time: the level is left to the team, or is the
/// team's, or is drawn independently.
fn open_case() -> impl Strategy<Value = OpenCase> {
    (
        prop_oneof![8 => Just("Printer is on fire".to_string()), 1 => Just(" ".to_string())],
        prop::option::of(team()),
        0..4u8,
        level(),
        prop::option::weighted(0.5, user()),
        (channel(), priority(), prop::option::of(handle())),
        (prop::collection::btree_set(handle(), 0..3), custom_fields()),
    )
        .prop_map(
            |(subject, team, how, any_level, assignee, (channel, priority, category), (tags, custom_fields))| {
                let level = match (how, &team) {
                    (0 | 1, _) => None,
                    (2, Some(t)) => Some(t.level.clone()),
                    _ => Some(any_level),
                };
                OpenCase {
                    subject,
                    description: "It started after the firmware update.".into(),
                    category,
                    channel,
                    priority,
                    level,
                    team,
                    assignee,
                    customer: Some(CUSTOMER),
                    tags,
                    custom_fields,
                }
            },
        )
}

fn command() -> impl Strategy<Value = CaseCommand> {
    let message = (any::<bool>(), prop::option::of(channel()), text(), prop::bool::weighted(0.3), any::<bool>())
        .prop_map(|(public, channel, body, from_customer, resume)| {
            let visibility = if public { Visibility::Public } else { Visibility::Internal };
            CaseCommand::AddMessage(AddMessage { visibility, channel, body, from_customer, resume })
        });
    let assign = prop::option::weighted(0.8, user()).prop_map(|assignee| CaseCommand::Assign(Assign { assignee }));
    let transfer = (team(), prop::option::of(user()), text())
        .prop_map(|(to_team, to_user, reason)| CaseCommand::Transfer(Transfer { to_team, to_user, reason }));
    let escalate = (
        prop_oneof![Just(EscalationKind::Functional), Just(EscalationKind::Hierarchical)],
        select(vec![Initiator::Agent, Initiator::Customer, Initiator::System]),
        prop::option::weighted(0.3, level()),
        prop::option::of(team()),
        prop::option::weighted(0.3, user()),
        text(),
        prop::option::weighted(0.8, text()),
    )
        .prop_map(|(kind, initiator, to_level, to_team, to_user, reason, tried)| {
            CaseCommand::Escalate(Escalate {
                kind,
                initiator,
                to_level,
                to_team,
                to_user,
                reason,
                tried,
                candidates: Vec::new(),
                team_choice: None,
            })
        });
    let de_escalate = (
        prop::option::weighted(0.3, level()),
        prop::option::weighted(0.3, team()),
        prop::option::weighted(0.2, user()),
        text(),
    )
        .prop_map(|(to_level, to_team, to_user, guidance)| {
            CaseCommand::DeEscalate(DeEscalate { to_level, to_team, to_user, guidance })
        });
    let request_info = (prop_oneof![Just(InfoSource::Customer), Just(InfoSource::Internal)], text())
        .prop_map(|(from, question)| CaseCommand::RequestInfo(RequestInfo { from, question }));
    let update = (
        prop::option::weighted(0.3, prop_oneof![Just("Smoke".to_string()), Just("".to_string())]),
        prop::option::of(priority()),
        prop::option::weighted(0.3, prop::option::of(handle())),
        prop::collection::vec(handle(), 0..3),
        prop::collection::vec(handle(), 0..3),
        custom_fields(),
    )
        .prop_map(|(subject, priority, category, tags_added, tags_removed, custom_fields)| {
            CaseCommand::Update(UpdateCase { subject, priority, category, tags_added, tags_removed, custom_fields })
        });
    let resolve = (
        prop_oneof![4 => Just("fixed"), 2 => Just("wont-fix"), 1 => Just("Not Fixed")],
        prop::option::weighted(0.5, text()),
    )
        .prop_map(|(code, note)| CaseCommand::Resolve(Resolve { code: code.into(), note, article_id: None }));
    let reopen = text().prop_map(|reason| CaseCommand::Reopen(Reopen { reason }));
    prop_oneof![
        1 => open_case().prop_map(CaseCommand::Open),
        6 => message,
        4 => assign,
        3 => transfer,
        6 => escalate,
        4 => de_escalate,
        3 => request_info,
        3 => update,
        2 => resolve,
        2 => reopen,
        1 => Just(CaseCommand::Close),
    ]
}

/// Repairs an opening so it is accepted: valid subject, handles and level, and an assignee
/// only when they may work the team.
fn make_valid(mut o: OpenCase) -> OpenCase {
    let valid = |h: &String| h.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    o.subject = "Printer is on fire".into();
    o.level = None;
    o.category = o.category.filter(valid);
    o.tags.retain(valid);
    if let (Some(u), Some(t)) = (&o.assignee, &o.team)
        && u.role < Role::Manager
        && !u.teams.iter().any(|x| x.id == t.id)
    {
        o.assignee = None;
    }
    o
}

/// An opening (accepted most of the time) followed by up to 40 commands, each with the
/// index of its actor.
fn history() -> impl Strategy<Value = Vec<(usize, CaseCommand)>> {
    let n_actors = actors().len();
    let step = (0..n_actors, command());
    let first = prop_oneof![3 => open_case().prop_map(make_valid), 1 => open_case()].prop_map(CaseCommand::Open);
    ((0..n_actors, first), prop::collection::vec(step, 0..=40)).prop_map(|(first, rest)| {
        let mut all = vec![first];
        all.extend(rest);
        all
    })
}

// ---------------------------------------------------------------------------------------
// Simulation
// ---------------------------------------------------------------------------------------

/// One decided command.
struct Step {
    command: CaseCommand,
    before: Option<Case>,
    outcome: Result<Vec<RecordedEvent>, DomainError>,
    after: Option<Case>,
}

/// Decides every command in turn, folding the accepted ones.
fn simulate(history: &[(usize, CaseCommand)]) -> (Vec<Step>, Vec<RecordedEvent>) {
    let ladder = Ladder::default();
    let actors = actors();
    let mut state: Option<Case> = None;
    let mut events = Vec::new();
    let mut steps = Vec::new();
    for (i, (actor, command)) in history.iter().enumerate() {
        let cx = Context {
            now: t0() + SignedDuration::from_mins(i as i64),
            actor: &actors[*actor],
            ladder: &ladder,
            next_number: 1,
            new_id: Uuid::from_u128(0x5EED_0000 + i as u128),
            matrix_version: None,
        };
        let before = state.clone();
        let outcome = decide(state.as_ref(), command, &cx).map(|decided| {
            let base = state.as_ref().map_or(0, |c| c.version);
            let recorded = record(CASE, base, &cx, decided);
            for e in &recorded {
                state = Some(apply(state.take(), e));
            }
            recorded
        });
        if let Ok(recorded) = &outcome {
            events.extend(recorded.iter().cloned());
        }
        steps.push(Step { command: command.clone(), before, outcome, after: state.clone() });
    }
    (steps, events)
}

/// The team a command names explicitly, if any.
fn named_team(command: &CaseCommand) -> Option<TeamId> {
    match command {
        CaseCommand::Open(o) => o.team.as_ref().map(|t| t.id),
        CaseCommand::Transfer(t) => Some(t.to_team.id),
        CaseCommand::Escalate(e) => e.to_team.as_ref().map(|t| t.id),
        CaseCommand::DeEscalate(d) => d.to_team.as_ref().map(|t| t.id),
        _ => None,
    }
}

fn count(events: &[RecordedEvent], kind: &str) -> u64 {
    events.iter().filter(|e| e.event.kind() == kind).count() as u64
}

/// Checks every invariant of the state after each step.
fn check_invariants(steps: &[Step]) -> Result<(), TestCaseError> {
    let ladder = Ladder::default();
    let levels = team_levels();
    let mut so_far: Vec<RecordedEvent> = Vec::new();
    // Whether the case's current team was put there by a command that named it.
    let mut team_was_named = false;
    for (i, step) in steps.iter().enumerate() {
        let at = format!("step {i}: {:?}", step.command);
        match (&step.before, &step.outcome) {
            (None, Err(e)) if !matches!(step.command, CaseCommand::Open(_)) => {
                prop_assert!(matches!(e, DomainError::NoSuchCase(_)), "{at}: {e:?}");
            }
            (Some(before), outcome) if before.status == Status::Closed => match outcome {
                Err(DomainError::InvalidTransition { current: Status::Closed, .. }) => {}
                other => return Err(TestCaseError::fail(format!("{at}: a closed case answered {other:?}"))),
            },
            (Some(_), Err(DomainError::NoSuchCase(_))) => {
                return Err(TestCaseError::fail(format!("{at}: NoSuchCase on an open case")));
            }
            _ => {}
        }
        let Ok(recorded) = &step.outcome else { continue };
        for (j, e) in recorded.iter().enumerate() {
            prop_assert_eq!(e.version, so_far.len() as u64 + 1 + j as u64, "{}: versions are consecutive", &at);
            prop_assert_eq!(e.case_id, CASE);
        }
        so_far.extend(recorded.iter().cloned());
        let Some(case) = &step.after else {
            prop_assert!(so_far.is_empty(), "{at}: events but no case");
            continue;
        };

        prop_assert!(ladder.rank(&case.level).is_some(), "{at}: level {} is off the ladder", case.level);
        prop_assert_eq!(case.version, so_far.len() as u64, "{}: version", &at);
        prop_assert_eq!(
            case.resolution.is_some(),
            matches!(case.status, Status::Resolved | Status::Closed),
            "{}: resolution {:?} with status {}",
            &at,
            &case.resolution,
            case.status
        );
        if case.status == Status::Resolved {
            let last_resolved = so_far.iter().rev().find_map(|e| match &e.event {
                CaseEvent::Resolved(r) => Some((r.code.clone(), e.at)),
                _ => None,
            });
            prop_assert_eq!(case.resolution.as_ref().map(|r| (r.code.clone(), r.at)), last_resolved, "{}", &at);
        }
        prop_assert_eq!(u64::from(case.n_escalations), count(&so_far, "escalated"), "{}: n_escalations", &at);
        prop_assert_eq!(u64::from(case.n_de_escalations), count(&so_far, "de_escalated"), "{}", &at);
        prop_assert_eq!(u64::from(case.n_messages), count(&so_far, "message_added"), "{}: n_messages", &at);
        prop_assert_eq!(u64::from(case.n_reopens), count(&so_far, "reopened"), "{}: n_reopens", &at);
        if let Some(a) = case.assignee {
            prop_assert!(case.worked_by.contains(&a), "{at}: assignee missing from worked_by");
        }
        let staff_reply = so_far.iter().find(|e| {
            matches!(&e.event, CaseEvent::MessageAdded(m)
                if matches!(m.author, Actor::User { .. }) && m.visibility == Visibility::Public)
        });
        prop_assert_eq!(case.first_response_at, staff_reply.map(|e| e.at), "{}: first_response_at", &at);
        prop_assert_eq!(case.created_at, so_far[0].at);
        prop_assert_eq!(case.updated_at, so_far.last().unwrap().at);

        // Team and level: a team named by the command must be the case's team, at its level,
        // and stays consistent until something else moves the case.
        let named = named_team(&step.command);
        if let Some(id) = named {
            prop_assert_eq!(case.team, Some(id), "{}: the named team", &at);
            team_was_named = true;
        } else if step.before.as_ref().is_none_or(|b| (b.team, &b.level) != (case.team, &case.level)) {
            team_was_named = false;
        }
        if team_was_named && let Some(t) = case.team {
            prop_assert_eq!(&levels[&t], &case.level, "{}: team {} does not work the case's level", &at, t);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// (a) Whatever is asked, the folded state stays valid.
    #[test]
    fn state_never_becomes_invalid(history in history()) {
        let (steps, _) = simulate(&history);
        check_invariants(&steps)?;
    }

    /// (b) Replaying the recorded stream from scratch gives the incrementally folded state,
    /// after every step.
    #[test]
    fn replay_equals_incremental_fold(history in history()) {
        let (steps, events) = simulate(&history);
        let mut n = 0;
        for step in &steps {
            if let Ok(recorded) = &step.outcome {
                n += recorded.len();
            }
            prop_assert_eq!(Case::replay(&events[..n]), step.after.clone());
        }
    }

    /// (c) Every recorded event survives a JSON round trip, and so does the whole stream's meaning.
    #[test]
    fn events_round_trip_through_json(history in history()) {
        let (steps, events) = simulate(&history);
        for e in &events {
            let json = serde_json::to_string(e).unwrap();
            let back: RecordedEvent = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, e, "{}", json);
        }
        let stored: Vec<RecordedEvent> =
            serde_json::from_value(serde_json::to_value(&events).unwrap()).unwrap();
        prop_assert_eq!(Case::replay(&stored), steps.last().and_then(|s| s.after.clone()));
    }
}

/// The generators reach the interesting states; otherwise the properties above prove little.
#[test]
fn histories_cover_every_event_kind_and_status() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};

    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let strategy = history();
    let mut kinds = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    let mut accepted_after_open = 0usize;
    for _ in 0..300 {
        let h = strategy.new_tree(&mut runner).unwrap().current();
        let (steps, events) = simulate(&h);
        kinds.extend(events.iter().map(|e| e.event.kind()));
        statuses.extend(steps.iter().filter_map(|s| s.after.as_ref().map(|c| c.status.as_str())));
        accepted_after_open += steps.iter().skip(1).filter(|s| s.outcome.is_ok()).count();
    }
    let all_kinds = [
        "opened",
        "message_added",
        "assigned",
        "unassigned",
        "transferred",
        "escalated",
        "de_escalated",
        "info_requested",
        "resumed",
        "updated",
        "resolved",
        "reopened",
        "closed",
    ];
    assert_eq!(kinds, all_kinds.into_iter().collect(), "event kinds seen");
    assert_eq!(statuses, Status::ALL.iter().map(|s| s.as_str()).collect(), "statuses seen");
    assert!(accepted_after_open > 1_000, "only {accepted_after_open} commands accepted");
}
