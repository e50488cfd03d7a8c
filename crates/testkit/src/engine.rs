//! An engine on a fresh store, with the store kept beside it: tests arrange the directory
//! and read what a command did through [`TestEngine::store`], never through the engine.

use jiff::Timestamp;
use ladder_core::access::Principal;
use ladder_core::directory::{Customer, Team};
use ladder_core::ids::{TeamId, UserId};
use ladder_core::{Channel, Priority, Role};
use ladder_engine::credentials::principal_of;
use ladder_engine::{Engine, OpenRequest};
use ladder_store::{Location, Store, StoreConfig};
use tempfile::TempDir;

use crate::directory;

/// When the fixture teams and users were created.
const CREATED: &str = "2026-11-01T00:00:00Z";

/// An engine on a fresh store (in `dir`, or in PostgreSQL: see
/// [`ladder_store::test_location`]), and that store. Destructure it as
/// `TestEngine { dir, store, engine }`, so the bindings drop the other way round: the engine
/// and the store close before their directory goes.
pub struct TestEngine {
    pub engine: Engine,
    pub store: Store,
    /// Holds the SQLite database until the test ends.
    pub dir: TempDir,
}

impl TestEngine {
    pub fn new() -> TestEngine {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (store, engine) = open(&ladder_store::test_location(dir.path()));
        TestEngine { engine, store, dir }
    }
}

impl Default for TestEngine {
    fn default() -> TestEngine {
        TestEngine::new()
    }
}

/// A store and an engine on the data at `location`: a restarted server, or a second server
/// on the same database.
pub fn open(location: &Location) -> (Store, Engine) {
    let store = Store::open_at(location, StoreConfig::default()).expect("the store opens");
    (store.clone(), Engine::new(store))
}

/// Creates a front-line team `slug` at `level` with `skills`.
pub async fn team(store: &Store, slug: &str, level: &str, skills: &[&str]) -> Team {
    let team = Team {
        skills: skills.iter().map(|s| s.to_string()).collect(),
        ..directory::team(TeamId::new_v7(), slug, level, crate::ts(CREATED))
    };
    store.create_team(team, None).await.expect("the team is created")
}

/// Creates an active user `name` with `role` in `teams`; returns them as the engine sees
/// a caller.
pub async fn user(store: &Store, name: &str, role: Role, teams: Vec<TeamId>) -> Principal {
    let user = directory::user(UserId::new_v7(), name, role, &teams, crate::ts(CREATED));
    principal_of(&store.create_user(user, None, None).await.expect("the user is created"))
}

/// Creates `customer`; returns it as stored.
pub async fn customer(store: &Store, customer: Customer) -> Customer {
    store.create_customer(customer, None).await.expect("the customer is created")
}

/// Saves `source` as the draft `name` and puts it in force, by an admin named `by` at
/// `now`; both must succeed.
pub async fn activate_matrix(engine: &Engine, name: &str, source: &str, by: &str, now: Timestamp) {
    let by = Principal { name: by.into(), ..ladder_engine::command_line_principal() };
    engine
        .put_matrix_draft(&by, name.into(), source.into(), now)
        .await
        .unwrap_or_else(|e| panic!("draft {name}: {e:?}"));
    engine.activate_matrix(&by, name.into(), now).await.unwrap_or_else(|e| panic!("activate {name}: {e:?}"));
}

/// An email about a double charge, opened at the front line: category `billing`, normal
/// priority, nobody assigned, no customer, tags or custom fields. A test changes what it
/// needs with struct update syntax (`OpenRequest { priority, ..open_request() }`).
pub fn open_request() -> OpenRequest {
    OpenRequest {
        subject: "Charged twice".into(),
        description: "Two charges for one order".into(),
        category: Some("billing".into()),
        channel: Channel::Email,
        priority: Priority::Normal,
        level: None,
        team: Some("frontline".into()),
        assignee: None,
        customer: None,
        tags: Default::default(),
        custom_fields: Default::default(),
    }
}
