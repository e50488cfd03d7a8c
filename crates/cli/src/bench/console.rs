//! `ladder bench console`: server time of the console's queue, case and dashboard pages with
//! a large store, over real HTTP with a console session cookie; p50/p95/p99.
//!
//! The store is the one `bench simulate` builds (seeded once into `--data-dir` through the
//! real command path, reused on later runs): `--cases` cases over the 90 days before now,
//! each with a day of history (contacts, replies, escalations, credits, resolution) under
//! its matrix, so the metrics aggregates and the case pages have real content. Those cases
//! are all resolved, so the front line's queue is topped up to [`QUEUED`] open cases (opened
//! through the same command path, unassigned at the front line) and an agent of the front
//! line is added for the queue page. The case pages are random seeded cases; the bench says
//! how long their histories are.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use ladder_core::Role;
use ladder_core::directory::User;
use ladder_core::ids::UserId;
use ladder_engine::command_line_principal;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::measure::report;
use super::server::start_server;
use super::world::{BenchWorld, bench_world, frontline_open};

/// Open cases waiting in the front line's queue while the pages are timed.
const QUEUED: u64 = 5_000;

/// Tops the front line's queue up to [`QUEUED`] cases, opened at `now` through the command
/// path. Clocks that fell due since an earlier run fire first (their rules may move earlier
/// queued cases up to L2), so the server's timer task has nothing to catch up on while the
/// pages are timed.
async fn fill_queue(world: &BenchWorld, frontline: ladder_core::ids::TeamId, now: Timestamp) -> anyhow::Result<u64> {
    use ladder_core::ids::CaseId;
    let BenchWorld { store, engine, admin } = world;
    engine.fire_due(now).await?;
    let waiting = store.queue_len(frontline).await?;
    let principal = ladder_engine::credentials::principal_of(admin);
    let mut rng = StdRng::seed_from_u64(waiting);
    let mut tasks = Vec::new();
    for w in 0..QUEUED.saturating_sub(waiting) {
        let (engine, principal) = (engine.clone(), principal.clone());
        let open = frontline_open(&mut rng, format!("Waiting {w}"), "The customer writes in and waits for an answer.");
        // Spread over the last minutes, so the queue's ranks differ.
        let at = now - SignedDuration::from_millis(rng.random_range(0..600_000));
        tasks.push(tokio::spawn(async move { engine.run(&principal, CaseId::new_v7(), open, None, None, at).await }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(store.queue_len(frontline).await?)
}

pub async fn bench_console(cases: usize, data_dir: std::path::PathBuf, requests: usize) -> anyhow::Result<()> {
    let world = bench_world(&data_dir).await?;
    let BenchWorld { store, engine, admin } = &world;
    let now = Timestamp::now();
    super::simulate::ensure_matrix(&world, now).await?;
    let start = now - SignedDuration::from_hours(90 * 24);
    let have = store.stats().await?.n_cases as usize;
    if have < cases {
        super::simulate::seed(engine, admin, have, cases, start).await?;
    }
    let frontline = store
        .teams()
        .await?
        .into_iter()
        .find(|t| t.slug == "frontline")
        .ok_or_else(|| anyhow::anyhow!("the bench store has no front-line team"))?;
    let agent = match store.user_credentials("bench-agent".into()).await? {
        Some(c) => c.user,
        None => {
            let user = User {
                id: UserId::new_v7(),
                name: "bench-agent".into(),
                display_name: "Bench agent".into(),
                email: None,
                role: Role::Agent,
                teams: vec![frontline.id],
                skills: vec![],
                levels: vec![],
                active: true,
                created_at: now,
            };
            store.create_user(user, None, None).await?
        }
    };
    let queued = fill_queue(&world, frontline.id, now).await?;
    let stats = store.stats().await?;
    println!(
        "console bench: {} cases, {} events in {}; {queued} cases waiting in the front line's queue",
        stats.n_cases,
        stats.n_events,
        data_dir.display()
    );

    // Console sessions are tokens; the cookie carries the secret, as after a sign-in.
    let admin_session =
        engine.mint_token(&command_line_principal(), admin.id, "web session".into(), None, now).await?.secret;
    let agent_session =
        engine.mint_token(&command_line_principal(), agent.id, "web session".into(), None, now).await?.secret;
    let (base, stop) = start_server(engine.clone()).await?;
    let client = reqwest::Client::new();
    let get = |path: String, session: &str| {
        let (client, cookie) = (client.clone(), format!("ladder_session={session}"));
        async move {
            let t = Instant::now();
            let resp = client.get(&path).header("cookie", cookie).send().await?;
            anyhow::ensure!(resp.status().is_success(), "{path}: status {}", resp.status());
            let body = resp.text().await?;
            anyhow::Ok((t.elapsed(), body.len()))
        }
    };
    let time = |label: &str, samples: Vec<Duration>, started: Instant, bytes: usize| {
        report(&format!("{label} (~{} KiB)", bytes / 1024), samples, started.elapsed());
    };

    // Warm-up: the first request of each page pays for cold caches.
    get(format!("{base}/queue"), &agent_session).await?;
    get(format!("{base}/dashboard"), &admin_session).await?;

    let (started, mut samples, mut bytes) = (Instant::now(), Vec::new(), 0);
    for _ in 0..requests {
        let (took, n) = get(format!("{base}/queue"), &agent_session).await?;
        samples.push(took);
        bytes = n;
    }
    time("GET /queue (front-line agent)", samples, started, bytes);

    // Random cases of the seeded history (the cases opened for the queue have none yet).
    let mut rng = StdRng::seed_from_u64(7);
    let seeded = cases.min(stats.n_cases as usize).max(1) as u64;
    let numbers: Vec<u64> = (0..requests).map(|_| rng.random_range(1..=seeded)).collect();
    let (started, mut samples) = (Instant::now(), Vec::new());
    for n in &numbers {
        let (took, b) = get(format!("{base}/cases/{n}"), &admin_session).await?;
        samples.push(took);
        bytes = b;
    }
    time("GET /cases/{number} (random seeded case, admin)", samples, started, bytes);
    let mut lengths = Vec::new();
    for n in numbers.iter().take(200) {
        lengths.extend(store.case_by_number(*n).await?.map(|c| c.version));
    }
    println!(
        "  their histories (first 200 sampled): {:.1} events on average, {} to {}",
        lengths.iter().sum::<u64>() as f64 / lengths.len().max(1) as f64,
        lengths.iter().min().unwrap_or(&0),
        lengths.iter().max().unwrap_or(&0)
    );

    for (label, query) in [
        ("default: last 30 days", String::new()),
        ("90 days, weekly line", {
            let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
            let from = today.checked_sub(jiff::Span::new().days(90))?;
            format!("?from={from}&to={today}")
        }),
    ] {
        let (started, mut samples) = (Instant::now(), Vec::new());
        for _ in 0..requests.min(200) {
            let (took, b) = get(format!("{base}/dashboard{query}"), &admin_session).await?;
            samples.push(took);
            bytes = b;
        }
        time(&format!("GET /dashboard ({label})"), samples, started, bytes);
    }
    let _ = stop.send(());
    Ok(())
}
