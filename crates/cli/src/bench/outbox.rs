//! `ladder bench outbox`: the notification outbox. An engine on a SQLite store sends signed
//! webhooks to a receiver in this process (HTTP over loopback, answering 200): first the
//! throughput of a backlog (`--backlog` notifications queued while the worker is stopped,
//! then sent), then the latency from an escalation's acknowledgement to its notification
//! reaching the receiver, for cases escalated by the matrix at a steady pace.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use ladder_core::ids::CaseId;
use ladder_core::{Channel, Priority};
use ladder_engine::credentials::principal_of;
use ladder_engine::{DeliveryConfig, WebhookConfig};
use tokio::sync::watch;

use super::measure::{ms, percentile, slowest};
use super::world::{bench_world, open_request, seed_in_parallel, tempfile_dir};

/// Every case opened is escalated by the matrix to the specialists, and the escalation
/// notifies the bench admin by webhook.
const MATRIX: &str = r#"
[[levels]]
id = "L1"
name = "Front line"
teams = ["frontline"]

[[levels]]
id = "L2"
name = "Specialists"
teams = ["specialists"]

[[rules]]
name = "Escalate and tell the integration"
when = 'case.category == "technical"'
then = [{ escalate = "L2", team = "specialists" }, { notify = { who = "user:bench-admin", channel = "webhook" } }]
"#;

/// What the receiver saw: when each case's notification arrived, and how many requests.
#[derive(Default)]
struct Arrivals {
    at: Mutex<HashMap<u64, Instant>>,
    requests: std::sync::atomic::AtomicUsize,
}

async fn receive(State(arrivals): State<Arc<Arrivals>>, body: Bytes) -> StatusCode {
    let now = Instant::now();
    arrivals.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
        && let Some(n) = v["case"]["number"].as_u64()
    {
        arrivals.at.lock().expect("arrivals").entry(n).or_insert(now);
    }
    StatusCode::OK
}

pub async fn bench_outbox(backlog: usize, paced: usize, rate: usize, concurrency: usize) -> anyhow::Result<()> {
    println!("bench outbox ({}): {backlog} queued webhooks, then {paced} escalations at {rate}/s", super::build_kind());
    let arrivals = Arc::new(Arrivals::default());
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile_dir("outbox")?;
    let world = Arc::new(bench_world(&dir).await?);
    world.put_matrix_in_force("outbox", MATRIX, Timestamp::now()).await?;
    world
        .engine
        .configure_deliveries(DeliveryConfig {
            webhook: Some(WebhookConfig { url, secret: b"bench-outbox-secret".to_vec() }),
            concurrency,
            ..DeliveryConfig::default()
        })
        .map_err(anyhow::Error::msg)?;
    let principal = principal_of(&world.admin);

    // 1. Throughput: a backlog queued while no worker runs, then sent.
    let started = Instant::now();
    let (w, p) = (world.clone(), principal.clone());
    seed_in_parallel(0..backlog, 10_000, started, move |i, rng| {
        let (w, p) = (w.clone(), p.clone());
        async move {
            let open = open_request(i, Some("frontline"), Priority::Normal, Channel::Email);
            w.engine.run(&p, CaseId::new_v7(), open, None, None, Timestamp::now()).await?;
            Ok(rng)
        }
    })
    .await?;
    println!("  queued {backlog} in {:.1}s", started.elapsed().as_secs_f64());
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let worker = tokio::spawn(world.engine.clone().run_deliveries(stopped));
    while arrivals.at.lock().expect("arrivals").len() < backlog {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "the backlog was not delivered in 10 minutes");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    println!(
        "  delivered {backlog} webhooks in {:.2}s: {:.0} webhooks/s ({} requests; target >= 5,000/s)",
        took.as_secs_f64(),
        backlog as f64 / took.as_secs_f64(),
        arrivals.requests.load(std::sync::atomic::Ordering::Relaxed)
    );

    // 2. Latency: escalations at a steady pace while the worker runs.
    let mut acked: Vec<(u64, Instant)> = Vec::with_capacity(paced);
    let mut writes = tokio::task::JoinSet::new();
    let gap = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let begin = Instant::now();
    for i in 0..paced {
        let due = begin + gap * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (w, p) = (world.clone(), principal.clone());
        writes.spawn(async move {
            let open = open_request(backlog + i, Some("frontline"), Priority::High, Channel::Phone);
            let outcome = w.engine.run(&p, CaseId::new_v7(), open, None, None, Timestamp::now()).await?;
            anyhow::Ok((outcome.case.number, Instant::now()))
        });
    }
    while let Some(done) = writes.join_next().await {
        acked.push(done??);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let lags = loop {
        let arrived: Option<Vec<Duration>> = {
            let got = arrivals.at.lock().expect("arrivals");
            acked
                .iter()
                .map(|(n, at)| got.get(n).map(|t| t.checked_duration_since(*at).unwrap_or(Duration::ZERO)))
                .collect()
        };
        if let Some(lags) = arrived {
            break lags;
        }
        anyhow::ensure!(Instant::now() < deadline, "some escalations' notifications did not arrive in 60 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let mut lags = lags;
    lags.sort();
    println!(
        "  escalation acknowledged -> notification received, {paced} escalations: median {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 <= 1,000 ms)",
        ms(percentile(&lags, 0.5)),
        ms(percentile(&lags, 0.99)),
        ms(slowest(&lags))
    );
    let _ = stop.send(true);
    let _ = worker.await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
