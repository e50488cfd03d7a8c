//! `ladder bench console`: server time of the console's queue, case and dashboard pages with
//! a large store, over real HTTP with a console session cookie; p50/p95/p99.
//!
//! The store is the one `bench simulate` builds (seeded once into `--data-dir` through the
//! real command path, reused on later runs): `--cases` cases over the 90 days before now,
//! each with a day of history (contacts, replies, escalations, credits, resolution) under
//! its matrix, so the metrics aggregates and the case pages have real content. An agent of
//! the front line is added for the queue page.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use ladder_core::Role;
use ladder_core::directory::User;
use ladder_core::ids::UserId;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{bench_world, report, start_server};

pub async fn bench_console(cases: usize, data_dir: std::path::PathBuf, requests: usize) -> anyhow::Result<()> {
    let (engine, admin) = bench_world(&data_dir).await?;
    let now = Timestamp::now();
    super::simulate::ensure_matrix(&engine, now).await?;
    let start = now - SignedDuration::from_hours(90 * 24);
    let have = engine.store.stats().await?.n_cases as usize;
    if have < cases {
        super::simulate::seed(&engine, &admin, have, cases, start).await?;
    }
    let agent = match engine.store.user_credentials("bench-agent".into()).await? {
        Some(c) => c.user,
        None => {
            let frontline = engine.store.teams().await?.into_iter().find(|t| t.slug == "frontline");
            let user = User {
                id: UserId::new_v7(),
                name: "bench-agent".into(),
                display_name: "Bench agent".into(),
                email: None,
                role: Role::Agent,
                teams: frontline.map(|t| t.id).into_iter().collect(),
                skills: vec![],
                levels: vec![],
                active: true,
                created_at: now,
            };
            engine.store.create_user(user, None, None).await?
        }
    };
    let stats = engine.store.stats().await?;
    println!("console bench: {} cases, {} events in {}", stats.n_cases, stats.n_events, data_dir.display());

    // Console sessions are tokens; the cookie carries the secret, as after a sign-in.
    let admin_session = engine.create_token(admin.id, "web session".into(), None, now).await?.secret;
    let agent_session = engine.create_token(agent.id, "web session".into(), None, now).await?.secret;
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

    let mut rng = StdRng::seed_from_u64(7);
    let (started, mut samples) = (Instant::now(), Vec::new());
    for _ in 0..requests {
        let n = rng.random_range(1..=stats.n_cases.max(1));
        let (took, b) = get(format!("{base}/cases/{n}"), &admin_session).await?;
        samples.push(took);
        bytes = b;
    }
    time("GET /cases/{number} (random case, admin)", samples, started, bytes);

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
