//! Directory entities with plain defaults: a test names what matters to it and takes the
//! rest from here, changing a field with struct update syntax
//! (`User { skills, ..directory::user(…) }`).

use jiff::Timestamp;
use ladder_core::directory::{Customer, Team, TeamKind, User};
use ladder_core::ids::{CustomerId, TeamId, UserId};
use ladder_core::{LevelId, Role};

/// A front-line team at `level`, named by its slug, without skills.
pub fn team(id: TeamId, slug: &str, level: &str, created_at: Timestamp) -> Team {
    Team {
        id,
        slug: slug.into(),
        name: slug.into(),
        level: LevelId::new(level),
        kind: TeamKind::FrontLine,
        skills: vec![],
        created_at,
    }
}

/// An active user of `teams`, shown by their name, with no e-mail, skills or levels.
pub fn user(id: UserId, name: &str, role: Role, teams: &[TeamId], created_at: Timestamp) -> User {
    User {
        id,
        name: name.into(),
        display_name: name.into(),
        email: None,
        role,
        teams: teams.to_vec(),
        skills: vec![],
        levels: vec![],
        active: true,
        created_at,
    }
}

/// A customer worth nothing, in no segment, known by no identity.
pub fn customer(id: CustomerId, name: &str, created_at: Timestamp) -> Customer {
    Customer {
        id,
        name: name.into(),
        identities: vec![],
        value: 0.0,
        segment: None,
        language: None,
        time_zone: None,
        custom_fields: Default::default(),
        created_at,
        status: Default::default(),
        status_changed_at: None,
    }
}
