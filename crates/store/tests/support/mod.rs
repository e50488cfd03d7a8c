//! Builders of case commands as store deciders, fixtures and small helpers, shared by
//! the store's test files.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use ladder_core::command::{AddMessage, CaseCommand, Escalate, OpenCase, Resolve, TeamRef, UserRef};
use ladder_core::event::{EscalationKind, Initiator};
use ladder_core::ids::{CaseId, CustomerId, TeamId, UserId};
use ladder_core::{Actor, Channel, Context, Ladder, LevelId, Priority, Role, Visibility, decide, record};
use ladder_store::{CaseOutcome, CaseWrite, Decider, Store, StoreConfig};
use tempfile::TempDir;
use uuid::Uuid;

pub const FRONT: TeamId = TeamId(Uuid::from_u128(0x7E01));
pub const BILLING: TeamId = TeamId(Uuid::from_u128(0x7E02));
pub const TECH: TeamId = TeamId(Uuid::from_u128(0x7E03));

pub const AGENT: UserId = UserId(Uuid::from_u128(0xA1));
pub const OTHER_AGENT: UserId = UserId(Uuid::from_u128(0xA2));
/// The staff member at the desk who runs the test commands (not one whose scope is tested).
pub const DESK: UserId = UserId(Uuid::from_u128(0xD5));

pub const ADA: CustomerId = CustomerId(Uuid::from_u128(0xC1));
pub const BOB: CustomerId = CustomerId(Uuid::from_u128(0xC2));

/// Simulated time of the first command. Sub-microsecond on purpose: the server's
/// clock has nanoseconds too.
pub fn t0() -> Timestamp {
    "2025-06-15T09:30:00.123456789Z".parse().expect("a valid timestamp")
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

/// A store in a fresh temporary directory (kept alive by the returned guard).
pub fn open_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store =
        Store::open_at(&ladder_store::test_location(dir.path()), StoreConfig::default()).expect("the store opens");
    (dir, store)
}

/// A decider that runs `command` through the domain as DESK at `now`.
pub fn decider(case_id: CaseId, command: CaseCommand, now: Timestamp) -> Decider {
    Box::new(move |case, next_number| {
        let ladder = Ladder::default();
        let actor = Actor::User { id: DESK };
        let cx = Context {
            now,
            actor: &actor,
            ladder: &ladder,
            next_number,
            new_id: uuid::Uuid::now_v7(),
            matrix_version: None,
        };
        let events = decide(case, &command, &cx)?;
        Ok(record(case_id, case.map_or(0, |c| c.version), &cx, events).into())
    })
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
        }),
        now,
    )
}

pub fn resolve(case_id: CaseId, code: &str, now: Timestamp) -> CaseWrite {
    write(case_id, CaseCommand::Resolve(Resolve { code: code.into(), note: Some("fixed".into()) }), now)
}

/// Runs a write that must succeed.
pub async fn run(store: &Store, w: CaseWrite) -> CaseOutcome {
    let id = w.case_id;
    store.execute(w).await.unwrap_or_else(|e| panic!("write to case {id} failed: {e}"))
}
