//! `ladder bench cluster`: several `ladder serve` processes on one PostgreSQL database.
//! For each node count, HTTP throughput and latency with the load spread round-robin over
//! the nodes; then, on the largest count, the lag of SLA breaches falling due while the
//! nodes share the timers, and a check that each breach fired exactly once.
//!
//! Every run works in a PostgreSQL schema of its own (see [`BenchSchema`]), so node counts
//! start from the same empty store and nothing is left behind.

use ladder_engine::command_line_principal;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};

use super::measure::{ms, percentile};
use super::pg_schema::BenchSchema;
use super::server::{ServeProcess, case_load};
use super::timers::{TIMERS_TARGET, breach_tally, seed_clocks, timers_world_at};
use super::world::{BenchWorld, bench_world_at};

/// What `bench cluster` runs.
pub struct ClusterConfig {
    pub database: String,
    pub nodes: Vec<usize>,
    pub load_for: Duration,
    pub clients: usize,
    /// Clocks falling due per second in the timer window, and for how long (0 s: no window).
    pub due_rate: usize,
    pub due_for: Duration,
}

pub async fn bench_cluster(config: ClusterConfig) -> anyhow::Result<()> {
    anyhow::ensure!(!config.nodes.is_empty() && !config.nodes.contains(&0), "--nodes takes counts of 1 or more");
    println!(
        "cluster bench: `ladder serve` processes on one PostgreSQL database ({}), load average {}",
        ladder_store::redact_url(&config.database),
        load_average()
    );
    let mut rows = Vec::new();
    for &n in &config.nodes {
        if !config.load_for.is_zero() {
            rows.push(throughput(&config, n).await?);
        }
    }
    if !rows.is_empty() {
        println!("summary ({} clients, {}s per node count):", config.clients, config.load_for.as_secs());
        println!("  nodes | requests/s | p50 ms | p95 ms | p99 ms | errors | vs the first");
    }
    let first = rows.first().map_or(1.0, |r| r.per_second);
    for r in &rows {
        println!(
            "  {:>5} | {:>10.0} | {:>6.2} | {:>6.2} | {:>6.2} | {:>6} | {:>8.2}×",
            r.nodes,
            r.per_second,
            ms(r.p50),
            ms(r.p95),
            ms(r.p99),
            r.errors,
            r.per_second / first
        );
    }
    if !config.due_for.is_zero() && config.due_rate > 0 {
        let n = *config.nodes.iter().max().expect("checked non-empty");
        timer_lag(&config, n).await?;
    }
    println!("load average at the end: {}", load_average());
    Ok(())
}

/// One node count's figures.
struct Throughput {
    nodes: usize,
    per_second: f64,
    p50: Duration,
    p95: Duration,
    p99: Duration,
    errors: usize,
}

/// `n` nodes on a fresh schema, `clients` HTTP clients spread over them round-robin.
async fn throughput(config: &ClusterConfig, n: usize) -> anyhow::Result<Throughput> {
    let schema = BenchSchema::create(&config.database)?;
    let BenchWorld { engine, admin, .. } = bench_world_at(&schema.location()).await?;
    let token =
        engine.mint_token(&command_line_principal(), admin.id, "bench".into(), None, Timestamp::now()).await?.secret;
    let nodes = start_nodes(&schema.url(), n, &[]).await?;
    let bases: Vec<String> = nodes.iter().map(|node| node.base.clone()).collect();
    println!(
        "{n} node(s): {} clients for {}s, each looping POST /cases then POST /cases/{{id}}/escalate, client c on node c mod {n}; load average {}",
        config.clients,
        config.load_for.as_secs(),
        load_average()
    );
    let load = case_load(&bases, &token, config.clients, config.load_for).await?;
    load.report();
    for node in nodes {
        let name = format!("node {}", node.base);
        node.stop(&name).await?;
    }
    let mut all = load.all();
    all.sort();
    Ok(Throughput {
        nodes: n,
        per_second: all.len() as f64 / load.elapsed.as_secs_f64(),
        p50: percentile(&all, 0.50),
        p95: percentile(&all, 0.95),
        p99: percentile(&all, 0.99),
        errors: load.errors,
    })
}

/// `n` nodes on a fresh schema while `due_rate` clocks fall due per second: the lag of
/// each breach (its `clock_breached` event's time − its due instant), whether each fired
/// exactly once, and how many each node fired (from its debug log).
async fn timer_lag(config: &ClusterConfig, n: usize) -> anyhow::Result<()> {
    let schema = BenchSchema::create(&config.database)?;
    let BenchWorld { store, engine, admin } = timers_world_at(&schema.location()).await?;
    let n_window = config.due_rate * config.due_for.as_secs() as usize;
    // Clock i falls due at window_start + i / due_rate; the allowance covers seeding the
    // window at ≥ 250 cases/s (a fresh schema on a busy machine) and starting the nodes.
    let allowance = SignedDuration::from_secs_f64(n_window as f64 / 250.0 + 10.0);
    let window_start = Timestamp::now() + allowance;
    let step = SignedDuration::from_nanos(1_000_000_000 / config.due_rate as i64);
    let due: Vec<Timestamp> = (0..n_window).map(|i| window_start + step * i as i32).collect();
    let window_end = *due.last().unwrap_or(&window_start);
    println!(
        "timer lag: {n} nodes, {n_window} clocks falling due at {}/s for {}s (cases opened 90 days before), seeding …",
        config.due_rate,
        config.due_for.as_secs()
    );
    let ids = seed_clocks(&engine, &admin, due.iter().map(|d| *d - TIMERS_TARGET).collect()).await?;
    // The nodes log each sweep's fires at debug level, as JSON lines.
    let env = [("LADDER_LOG", "info,tower_http=warn,ladder_engine::timers=debug"), ("LADDER_LOG_JSON", "true")];
    let nodes = start_nodes(&schema.url(), n, &env).await?;
    let opens_in = window_start.duration_since(Timestamp::now());
    if opens_in.is_negative() {
        println!(
            "warning: seeding and starting overran the allowance; the window opened {:.1}s ago",
            -opens_in.as_secs_f64()
        );
    } else {
        println!("nodes ready; the window opens in {:.1}s (load average {})", opens_in.as_secs_f64(), load_average());
    }
    // Let the window fire, then wait (up to 120 s more) until every clock has fired: the
    // schema holds no other timers.
    let wait = window_end.duration_since(Timestamp::now());
    tokio::time::sleep(Duration::try_from(wait).unwrap_or(Duration::ZERO)).await;
    println!("load average at the end of the window: {}", load_average());
    let mut armed = store.armed_timers().await?;
    while armed > 0 && Timestamp::now() < window_end + SignedDuration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        armed = store.armed_timers().await?;
    }
    let drained = Timestamp::now().duration_since(window_end);
    println!(
        "{armed} clocks still armed {:.1}s after the window closed (load average {})",
        drained.as_secs_f64(),
        load_average()
    );
    let mut fired_by_node = Vec::new();
    for node in nodes {
        let (log, name) = (node.log_path.clone(), format!("node {}", node.base));
        node.stop(&name).await?;
        let (fired, failed) = fired_in_log(&log)?;
        if failed == 0 {
            std::fs::remove_file(&log).ok();
        }
        fired_by_node.push(format!("{fired} ({failed} failed sweeps)"));
    }

    breach_tally(&store, &ids).await?.print(&format!(", {n} nodes, {}/s", config.due_rate), n_window);
    let shares: Vec<String> = fired_by_node.iter().enumerate().map(|(i, f)| format!("node {}: {f}", i + 1)).collect();
    println!(
        "fired per node (from each node's `timers fired` log lines; a sweep that failed logs no count, its log is kept in {}): {}",
        std::env::temp_dir().display(),
        shares.join(", ")
    );
    Ok(())
}

/// Starts `n` nodes (`ladder serve --database URL`, with `env`) at once and waits until
/// each answers `/readyz`.
async fn start_nodes(url: &str, n: usize, env: &[(&str, &str)]) -> anyhow::Result<Vec<ServeProcess>> {
    let started = Instant::now();
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let log_path =
            std::env::temp_dir().join(format!("ladder-bench-cluster-{}-node{}.log", std::process::id(), i + 1));
        let node = ServeProcess::spawn(log_path, |command| {
            command.args(["--database", url]).env_remove("LADDER_DATA_DIR");
            for (key, value) in env {
                command.env(key, value);
            }
        })
        .await?;
        nodes.push(node);
    }
    let client = reqwest::Client::new();
    for node in &nodes {
        loop {
            if let Ok(resp) = client.get(format!("{}/readyz", node.base)).send().await
                && resp.status().as_u16() == 200
            {
                break;
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(120), "node {} not ready after 120 s", node.base);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Ok(nodes)
}

/// From a node's JSON log: the sum of `fired` over its `timers fired` lines, and how many
/// sweeps failed (`could not fire due timers`).
fn fired_in_log(path: &std::path::Path) -> anyhow::Result<(u64, u64)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (mut fired, mut failed) = (0, 0);
    for line in text.lines() {
        let Ok(entry) = serde_json::from_str::<HashMap<String, serde_json::Value>>(line) else { continue };
        let Some(fields) = entry.get("fields") else { continue };
        if fields["message"] == "timers fired" {
            fired += fields["fired"].as_u64().unwrap_or(0);
        } else if fields["message"] == "could not fire due timers; retrying" {
            failed += 1;
        }
    }
    Ok((fired, failed))
}

/// `/proc/loadavg`'s 1-, 5- and 15-minute figures.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
