//! `ladder bench read`: HTTP reads with a large store (seeded once into the data directory
//! through the command path and reused): a case by id and filtered lists; p50/p95/p99.

use std::path::PathBuf;
use std::time::Instant;

use jiff::Timestamp;
use ladder_core::directory::User;
use ladder_core::event::{EscalationKind, Initiator};
use ladder_core::ids::CaseId;
use ladder_engine::credentials::principal_of;
use ladder_engine::{Engine, command_line_principal};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::measure::report;
use super::server::start_server;
use super::world::{BenchWorld, bench_world, random_open, seed_in_parallel};
use crate::requests::{escalation, resolve};

pub(super) async fn bench_read(n_cases: usize, data_dir: PathBuf, requests: usize) -> anyhow::Result<()> {
    let BenchWorld { store, engine, admin } = bench_world(&data_dir).await?;
    let have = store.stats().await?.n_cases as usize;
    if have < n_cases {
        seed_cases(&engine, &admin, have, n_cases).await?;
    }
    let stats = store.stats().await?;
    println!("read bench: {} cases, {} events in {}", stats.n_cases, stats.n_events, data_dir.display());
    let token =
        engine.mint_token(&command_line_principal(), admin.id, "bench".into(), None, Timestamp::now()).await?.secret;
    let (base, stop) = start_server(engine.clone()).await?;
    let client = reqwest::Client::new();
    let mut rng = StdRng::seed_from_u64(1);
    let max_number = stats.n_cases as u64;
    let mut ids = Vec::new();
    for _ in 0..requests {
        let n = rng.random_range(1..=max_number);
        if let Some(c) = store.case_by_number(n).await? {
            ids.push(c.id);
        }
    }
    let get = |path: String| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let t = Instant::now();
            let resp = client.get(path).bearer_auth(&token).send().await?;
            anyhow::ensure!(resp.status().is_success(), "status {}", resp.status());
            let body: serde_json::Value = resp.json().await?;
            let n_items = body["items"].as_array().map_or(1, |a| a.len());
            anyhow::Ok((t.elapsed(), n_items))
        }
    };
    let started = Instant::now();
    let mut samples = Vec::new();
    for id in &ids {
        samples.push(get(format!("{base}/api/v1/cases/{id}")).await?.0);
    }
    report("GET /cases/{id}", samples, started.elapsed());
    let lists = [
        "limit=50",
        "status=new,open&limit=50",
        "team=frontline&status=new,open&limit=50",
        "level=L2&priority=high&limit=50",
        "assignee=none&channel=phone&priority=urgent&limit=50",
        "status=resolved&team=specialists&channel=sms&limit=50",
        "q=router&limit=50",
        // A combination nothing matches: the worst case, a whole index range is scanned.
        "status=pending_customer&channel=phone&limit=50",
    ];
    for query in lists {
        let started = Instant::now();
        let mut samples = Vec::new();
        let mut n_items = 0;
        for _ in 0..requests.min(500) {
            let (took, n) = get(format!("{base}/api/v1/cases?{query}")).await?;
            samples.push(took);
            n_items = n;
        }
        report(&format!("GET /cases?{query} ({n_items} items)"), samples, started.elapsed());
    }
    let _ = stop.send(());
    Ok(())
}

/// Seeds cases through the real command path, many writers at once (group commit).
async fn seed_cases(engine: &Engine, admin: &User, from: usize, to: usize) -> anyhow::Result<()> {
    let principal = principal_of(admin);
    println!("seeding cases {from}..{to} (reused on later runs) …");
    let started = Instant::now();
    let engine = engine.clone();
    seed_in_parallel(from..to, 100_000, started, move |i, mut rng| {
        let (engine, principal) = (engine.clone(), principal.clone());
        async move {
            let (team, open) = random_open(i, &mut rng);
            let id = CaseId::new_v7();
            engine.run(&principal, id, open, None, None, Timestamp::now()).await?;
            if rng.random_bool(0.6) {
                engine.run(&principal, id, resolve("fixed"), None, None, Timestamp::now()).await?;
            } else if team == "frontline" && rng.random_bool(0.2) {
                let esc = escalation(
                    EscalationKind::Hierarchical,
                    Initiator::Agent,
                    "specialists",
                    "needs a specialist",
                    "script",
                );
                engine.run(&principal, id, esc, None, None, Timestamp::now()).await?;
            }
            Ok(rng)
        }
    })
    .await?;
    println!("seeded {} cases in {:.1}s", to - from, started.elapsed().as_secs_f64());
    Ok(())
}
