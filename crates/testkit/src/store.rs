//! A fresh store on the test backend, and case commands as store writes: each is decided by
//! `ladder_core::decide` + `record` as DESK on simulated time ([`at`]), so the store's tests
//! never read the clock for an assertion. The fixture teams and people here are the store
//! tests' own: front and billing at L1, tech at L2 (with the ids of [`crate::domain`]).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, date};
use jiff::{SignedDuration, Timestamp};
use ladder_core::command::{AddMessage, CaseCommand, Escalate, OpenCase, Resolve, TeamRef, UserRef};
use ladder_core::event::{EscalationKind, Initiator};
use ladder_core::ids::{CaseId, CustomerId, TeamId, UserId};
use ladder_core::{
    Actor, Case, CaseEvent, Channel, Context, DomainError, Ladder, LevelId, Priority, Role, Visibility, decide, record,
};
use ladder_store::{CaseOutcome, CaseWrite, Decided, Decider, Store, StoreConfig};
use tempfile::TempDir;
use uuid::Uuid;

pub use crate::domain::{AGENT, BILLING, TECH};
pub const FRONT: TeamId = crate::domain::FRONT_LINE;

pub const OTHER_AGENT: UserId = UserId(Uuid::from_u128(0xA2));
/// The staff member at the desk who runs the test commands (not one whose scope is tested).
pub const DESK: UserId = UserId(Uuid::from_u128(0xD5));

pub const ADA: CustomerId = CustomerId(Uuid::from_u128(0xC1));
pub const BOB: CustomerId = CustomerId(Uuid::from_u128(0xC2));

/// Periods for the metrics of cases opened from mid-June 2025, cut every way: ragged ends
/// read as days, or as a month's roll-up minus the days outside the period; whole months;
/// within one month.
pub const METRICS_PERIODS: [(Date, Date); 6] = [
    (date(2025, 6, 20), date(2025, 8, 10)),
    (date(2025, 6, 3), date(2025, 8, 28)),
    (date(2025, 7, 2), date(2025, 7, 30)),
    (date(2025, 7, 1), date(2025, 7, 31)),
    (date(2025, 5, 31), date(2025, 9, 1)),
    (date(2025, 7, 5), date(2025, 7, 5)),
];

/// Simulated time of the first command. Sub-millisecond on purpose: the engine's clock
/// has microseconds too, the precision the store keeps (`ladder_core::instant`).
pub fn t0() -> Timestamp {
    "2025-06-15T09:30:00.123456Z".parse().expect("a valid timestamp")
}

/// Simulated time `step` minutes after [`t0`].
pub fn at(step: i64) -> Timestamp {
    t0() + SignedDuration::from_mins(step)
}

pub fn level(s: &str) -> LevelId {
    LevelId::new(s)
}

pub fn front() -> TeamRef {
    TeamRef { id: FRONT, slug: "front".into(), level: level("L1") }
}

pub fn billing() -> TeamRef {
    TeamRef { id: BILLING, slug: "billing".into(), level: level("L1") }
}

pub fn tech() -> TeamRef {
    TeamRef { id: TECH, slug: "tech".into(), level: level("L2") }
}

pub fn agent_on(id: UserId, name: &str, teams: &[TeamId]) -> UserRef {
    UserRef {
        id,
        name: name.into(),
        role: Role::Agent,
        teams: teams
            .iter()
            .map(|id| [front(), billing(), tech()].into_iter().find(|t| t.id == *id).expect("fixture team"))
            .collect(),
        levels: vec![level("L1")],
        active: true,
    }
}

/// A store in a fresh temporary directory (kept alive by the returned guard), or in a schema
/// of its own in the test PostgreSQL database (see [`ladder_store::test_location`]).
pub fn open_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store =
        Store::open_at(&ladder_store::test_location(dir.path()), StoreConfig::default()).expect("the store opens");
    (dir, store)
}

/// A decider that runs `command` through the domain as DESK at `now`.
pub fn decider(case_id: CaseId, command: CaseCommand, now: Timestamp) -> Decider {
    Box::new(move |case, next_number| {
        desk_records(case_id, case, next_number, now, |cx| decide(case, &command, cx)).map_err(Into::into)
    })
}

/// The events `command` makes of `case` as DESK at `now`, recorded; the domain must accept
/// the command.
pub fn decided(case_id: CaseId, case: Option<&Case>, command: &CaseCommand, now: Timestamp) -> Decided {
    desk_records(case_id, case, 0, now, |cx| decide(case, command, cx)).expect("the domain accepts the command")
}

/// A write whose events are given as they are, recorded as DESK at `now` (for facts no
/// command makes alone: approval requests, 24x7 clocks and their breaches).
pub fn events_write(case_id: CaseId, now: Timestamp, events: Vec<CaseEvent>) -> CaseWrite {
    let decide: Decider =
        Box::new(move |case, next_number| Ok(desk_records(case_id, case, next_number, now, |_| Ok(events))?));
    CaseWrite { case_id, expected_version: None, idempotency: None, decide }
}

/// Records what `events` makes of `case` in the context of DESK at `now`.
fn desk_records(
    case_id: CaseId,
    case: Option<&Case>,
    next_number: u64,
    now: Timestamp,
    events: impl FnOnce(&Context) -> Result<Vec<CaseEvent>, DomainError>,
) -> Result<Decided, DomainError> {
    let ladder = Ladder::default();
    let actor = Actor::User { id: DESK };
    let cx = Context { now, actor: &actor, ladder: &ladder, next_number, new_id: Uuid::now_v7(), matrix_version: None };
    let events = events(&cx)?;
    Ok(record(case_id, case.map_or(0, |c| c.version), &cx, events).into())
}

/// A write with no `If-Match` and no idempotency key.
pub fn write(case_id: CaseId, command: CaseCommand, now: Timestamp) -> CaseWrite {
    CaseWrite { case_id, expected_version: None, idempotency: None, decide: decider(case_id, command, now) }
}

/// An unassigned, untriaged web case at L1.
pub fn new_case(subject: &str, description: &str) -> OpenCase {
    OpenCase {
        subject: subject.into(),
        description: description.into(),
        category: None,
        channel: Channel::Web,
        priority: Priority::Normal,
        level: None,
        team: None,
        assignee: None,
        customer: None,
        tags: BTreeSet::new(),
        custom_fields: BTreeMap::new(),
    }
}

pub fn open(case_id: CaseId, spec: OpenCase, now: Timestamp) -> CaseWrite {
    write(case_id, CaseCommand::Open(spec), now)
}

/// A public staff reply.
pub fn message(case_id: CaseId, body: &str, now: Timestamp) -> CaseWrite {
    write(
        case_id,
        CaseCommand::AddMessage(AddMessage {
            visibility: Visibility::Public,
            channel: None,
            body: body.into(),
            from_customer: false,
            resume: false,
        }),
        now,
    )
}

/// A functional escalation to `team`, nobody named.
pub fn escalate(case_id: CaseId, team: TeamRef, now: Timestamp) -> CaseWrite {
    write(
        case_id,
        CaseCommand::Escalate(Escalate {
            kind: EscalationKind::Functional,
            initiator: Initiator::Agent,
            to_level: None,
            to_team: Some(team),
            to_user: None,
            reason: "needs a specialist".into(),
            tried: Some("restarted the router".into()),
            candidates: Vec::new(),
            team_choice: None,
        }),
        now,
    )
}

/// A hierarchical escalation one level up.
pub fn escalate_up(case_id: CaseId, now: Timestamp) -> CaseWrite {
    write(
        case_id,
        CaseCommand::Escalate(Escalate {
            kind: EscalationKind::Hierarchical,
            initiator: Initiator::Customer,
            to_level: None,
            to_team: None,
            to_user: None,
            reason: "the customer asked for a supervisor".into(),
            tried: None,
            candidates: Vec::new(),
            team_choice: None,
        }),
        now,
    )
}

pub fn resolve(case_id: CaseId, code: &str, now: Timestamp) -> CaseWrite {
    write(
        case_id,
        CaseCommand::Resolve(Resolve { code: code.into(), note: Some("fixed".into()), article_id: None }),
        now,
    )
}

/// Runs a write that must succeed.
pub async fn run(store: &Store, w: CaseWrite) -> CaseOutcome {
    let id = w.case_id;
    store.execute(w).await.unwrap_or_else(|e| panic!("write to case {id} failed: {e}"))
}
