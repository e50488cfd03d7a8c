//! What the engine tests share: a fresh store (SQLite in a temporary directory, or a schema
//! of its own in the test PostgreSQL database when `LADDER_TEST_BACKEND=postgres`), teams
//! and users.

#![allow(dead_code)]

use jiff::Timestamp;
use ladder_core::Role;
use ladder_core::access::Principal;
use ladder_core::directory::{LevelId, Team, TeamKind, User};
use ladder_core::ids::{TeamId, UserId};
use ladder_engine::Engine;
use ladder_engine::credentials::principal_of;
use ladder_store::{Store, StoreConfig};

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// An engine on a fresh store: in `dir`, or in PostgreSQL (see [`ladder_store::test_location`]).
pub fn engine(dir: &tempfile::TempDir) -> Engine {
    Engine::new(Store::open_at(&ladder_store::test_location(dir.path()), StoreConfig::default()).unwrap())
}

pub async fn team(engine: &Engine, slug: &str, level: &str, skills: &[&str]) -> Team {
    let team = Team {
        id: TeamId::new_v7(),
        slug: slug.into(),
        name: slug.into(),
        level: LevelId::new(level),
        kind: TeamKind::FrontLine,
        skills: skills.iter().map(|s| s.to_string()).collect(),
        created_at: ts("2026-11-01T00:00:00Z"),
    };
    engine.store.create_team(team, None).await.unwrap()
}

pub async fn user(engine: &Engine, name: &str, role: Role, teams: Vec<TeamId>) -> Principal {
    let user = User {
        id: UserId::new_v7(),
        name: name.into(),
        display_name: name.into(),
        email: None,
        role,
        teams,
        skills: vec![],
        levels: vec![],
        active: true,
        created_at: ts("2026-11-01T00:00:00Z"),
    };
    principal_of(&engine.store.create_user(user, None, None).await.unwrap())
}
