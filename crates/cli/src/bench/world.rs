//! The store a benchmark starts from: the bench world (two teams and an admin), the cases
//! benchmarks open, a matrix put in force, and the loop that seeds many cases at once
//! through the command path.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use jiff::Timestamp;
use ladder_core::directory::{LevelId, Team, TeamKind, User};
use ladder_core::ids::{TeamId, UserId};
use ladder_core::{Channel, Priority, Role};
use ladder_engine::rules::MatrixError;
use ladder_engine::{CaseRequest, Engine, command_line_principal};
use ladder_store::{Location, Store, StoreConfig};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::requests;

/// Tasks seeding cases at once: enough writes in flight that every commit carries many.
const SEED_WRITERS: u64 = 512;

/// A store with one front-line and one L2 team and an admin, and the engine over it.
pub(super) struct BenchWorld {
    /// The store the engine was built on: benchmarks read and seed it directly.
    pub(super) store: Store,
    pub(super) engine: Engine,
    pub(super) admin: User,
}

/// The bench world in a SQLite data directory.
pub(super) async fn bench_world(data_dir: &Path) -> anyhow::Result<BenchWorld> {
    bench_world_at(&Location::Sqlite(data_dir.to_path_buf())).await
}

/// [`bench_world`] at any location (a SQLite data directory or a PostgreSQL database).
pub(super) async fn bench_world_at(location: &Location) -> anyhow::Result<BenchWorld> {
    let store = Store::open_at(location, StoreConfig::default())?;
    let engine = Engine::new(store.clone());
    if let Some(admin) = store.user_credentials("bench-admin".into()).await? {
        return Ok(BenchWorld { store, engine, admin: admin.user });
    }
    for (slug, level, kind) in [("frontline", "L1", TeamKind::FrontLine), ("specialists", "L2", TeamKind::Specialist)] {
        let team = Team {
            id: TeamId::new_v7(),
            slug: slug.into(),
            name: slug.into(),
            level: LevelId::new(level),
            kind,
            skills: vec![],
            created_at: Timestamp::now(),
        };
        store.create_team(team, None).await?;
    }
    let admin = User {
        id: UserId::new_v7(),
        name: "bench-admin".into(),
        display_name: "Bench admin".into(),
        email: None,
        role: Role::Admin,
        teams: vec![],
        skills: vec![],
        levels: vec![],
        active: true,
        created_at: Timestamp::now(),
    };
    let admin = store.create_user(admin, None, None).await?;
    Ok(BenchWorld { store, engine, admin })
}

impl BenchWorld {
    /// Puts `source` in force as the matrix `name` (activating it puts it in force in the
    /// engine too), or, when it already is in the store, loads it into the engine.
    pub(super) async fn put_matrix_in_force(&self, name: &str, source: &str, now: Timestamp) -> anyhow::Result<()> {
        let engine = &self.engine;
        match self.store.active_matrix().await? {
            Some(active) if active.source == source => engine.load_matrix().await?,
            _ => {
                engine
                    .put_matrix_draft(&command_line_principal(), name.into(), source.into(), now)
                    .await
                    .map_err(matrix_error)?;
                engine.activate_matrix(&command_line_principal(), name.into(), now).await.map_err(matrix_error)?;
            }
        }
        Ok(())
    }
}

/// A bench matrix the engine refused, as an error that lists why.
pub(super) fn matrix_error(e: MatrixError) -> anyhow::Error {
    match e {
        MatrixError::Invalid(d) => {
            anyhow::anyhow!("invalid bench matrix: {}", d.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("; "))
        }
        other => anyhow::anyhow!("{other}"),
    }
}

/// Runs `seed(i, rng)` for every `i` of `cases`, on [`SEED_WRITERS`] tasks at once so that
/// commits carry many writes. Each task has a random generator of its own, seeded with the
/// task's number, which `seed` hands back for the task's next case. Prints a line every
/// `progress_every` cases, with the time since `started`.
pub(super) async fn seed_in_parallel<F, Fut>(
    cases: Range<usize>,
    progress_every: usize,
    started: Instant,
    seed: F,
) -> anyhow::Result<()>
where
    F: Fn(usize, StdRng) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<StdRng>> + Send + 'static,
{
    let seed = Arc::new(seed);
    let next = Arc::new(AtomicUsize::new(cases.start));
    let mut tasks = Vec::new();
    for w in 0..SEED_WRITERS {
        let (seed, next, cases) = (seed.clone(), next.clone(), cases.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(w);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= cases.end {
                    break;
                }
                rng = seed(i, rng).await?;
                if i % progress_every == 0 && i > cases.start {
                    println!("  {i} cases after {:.0}s", started.elapsed().as_secs_f64());
                }
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// The open request of bench case `i`.
pub(super) fn open_request(i: usize, team: Option<&str>, priority: Priority, channel: Channel) -> CaseRequest {
    CaseRequest::Open(requests::open(
        format!("Bench case {i}: router drops connection"),
        "The customer reports the connection drops every evening.",
        "technical",
        team,
        priority,
        channel,
    ))
}

/// Case `i` opened at the front line (seven in ten) or with the specialists, with a random
/// priority and channel; returns the team's slug too.
pub(super) fn random_open(i: usize, rng: &mut StdRng) -> (&'static str, CaseRequest) {
    let team = if rng.random_bool(0.7) { "frontline" } else { "specialists" };
    let priority =
        [Priority::Low, Priority::Normal, Priority::Normal, Priority::High, Priority::Urgent][rng.random_range(0..5)];
    let channel = Channel::ALL[rng.random_range(0..7)];
    (team, open_request(i, Some(team), priority, channel))
}

/// A case opened at the front line, with a random category, channel and priority.
pub(super) fn frontline_open(rng: &mut StdRng, subject: String, description: &str) -> CaseRequest {
    let category = ["billing", "technical", "technical", "account", "delivery"][rng.random_range(0..5)];
    let channel = Channel::ALL[rng.random_range(0..7)];
    let priority = [Priority::Low, Priority::Normal, Priority::Normal, Priority::High][rng.random_range(0..4)];
    CaseRequest::Open(requests::open(subject, description, category, Some("frontline"), priority, channel))
}

/// A directory for one run of a benchmark, in the temporary directory.
pub(super) fn tempfile_dir(name: &str) -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("ladder-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
