//! A small contact center as resolved references, with fixed ids so failures read the same
//! on every run: front line (L1), billing and tech (L2), managers (L3); alice (agent, front
//! line), sam (supervisor of billing and tech), maria (manager), tom (agent, tech).

use jiff::Timestamp;
use ladder_core::command::{OpenCase, TeamRef, UserRef};
use ladder_core::ids::{CaseId, CustomerId, TeamId, UserId};
use ladder_core::{Channel, LevelId, Priority, Role};
use uuid::Uuid;

pub const CASE: CaseId = CaseId(Uuid::from_u128(0xCA5E));
pub const CUSTOMER: CustomerId = CustomerId(Uuid::from_u128(0xC0570));

pub const FRONT_LINE: TeamId = TeamId(Uuid::from_u128(0x7E01));
pub const BILLING: TeamId = TeamId(Uuid::from_u128(0x7E02));
pub const TECH: TeamId = TeamId(Uuid::from_u128(0x7E03));
pub const MANAGERS: TeamId = TeamId(Uuid::from_u128(0x7E04));

pub const AGENT: UserId = UserId(Uuid::from_u128(0xA1));
pub const SUPERVISOR: UserId = UserId(Uuid::from_u128(0xA2));
pub const MANAGER: UserId = UserId(Uuid::from_u128(0xA3));
pub const SPECIALIST: UserId = UserId(Uuid::from_u128(0xA4));

/// Simulated "now" of a history's first command.
pub fn t0() -> Timestamp {
    Timestamp::from_second(1_750_000_000).unwrap()
}

pub fn team(id: TeamId, slug: &str, level: &str) -> TeamRef {
    TeamRef { id, slug: slug.into(), level: LevelId::new(level) }
}

/// Front line, L1.
pub fn front_line() -> TeamRef {
    team(FRONT_LINE, "front-line", "L1")
}

/// Billing back office, L2.
pub fn billing() -> TeamRef {
    team(BILLING, "billing", "L2")
}

/// Technical specialists, L2.
pub fn tech() -> TeamRef {
    team(TECH, "tech", "L2")
}

/// Managers, L3.
pub fn managers() -> TeamRef {
    team(MANAGERS, "managers", "L3")
}

/// Every fixture team.
pub fn teams() -> Vec<TeamRef> {
    vec![front_line(), billing(), tech(), managers()]
}

/// The fixture team with this id.
pub fn team_by_id(id: TeamId) -> TeamRef {
    teams().into_iter().find(|t| t.id == id).expect("a fixture team")
}

/// An active user of the fixture teams `teams`, working `levels`.
pub fn user(id: UserId, name: &str, role: Role, teams: &[TeamId], levels: &[&str]) -> UserRef {
    UserRef {
        id,
        name: name.into(),
        role,
        teams: teams.iter().map(|id| team_by_id(*id)).collect(),
        levels: levels.iter().map(|l| LevelId::new(*l)).collect(),
        active: true,
    }
}

/// A front-line agent (L1).
pub fn agent() -> UserRef {
    user(AGENT, "alice", Role::Agent, &[FRONT_LINE], &["L1"])
}

/// A supervisor of both L2 teams.
pub fn supervisor() -> UserRef {
    user(SUPERVISOR, "sam", Role::Supervisor, &[BILLING, TECH], &["L2"])
}

/// A manager (L3).
pub fn manager() -> UserRef {
    user(MANAGER, "maria", Role::Manager, &[MANAGERS], &["L3"])
}

/// An agent on the tech team (L2).
pub fn specialist() -> UserRef {
    user(SPECIALIST, "tom", Role::Agent, &[TECH], &["L2"])
}

/// Every fixture user.
pub fn users() -> Vec<UserRef> {
    vec![agent(), supervisor(), manager(), specialist()]
}

/// A billing case by email at normal priority, for no team and no customer yet: tests set
/// what they need with struct update syntax (`OpenCase { priority, ..open_case() }`).
pub fn open_case() -> OpenCase {
    OpenCase {
        subject: "Card charged twice".into(),
        description: "Two charges for one order".into(),
        category: Some("billing".into()),
        channel: Channel::Email,
        priority: Priority::Normal,
        level: None,
        team: None,
        assignee: None,
        customer: None,
        tags: Default::default(),
        custom_fields: Default::default(),
    }
}
