//! `ladder bench login`: the memory of a `ladder serve` process under a burst of
//! concurrent `POST /api/v1/auth/login` (argon2id, 19 MiB per check): resident memory
//! idle, at its peak and after the burst, and how the logins were answered.

use std::time::{Duration, Instant};

use serde_json::json;

use super::server::ServeProcess;
use super::timers::rss_mib;
use super::world::{bench_world, tempfile_dir};

const PASSWORD: &str = "correct horse battery staple";

pub(super) async fn bench_login(concurrency: usize, rounds: usize) -> anyhow::Result<()> {
    let dir = tempfile_dir("login")?;
    {
        let world = bench_world(&dir).await?;
        let hash = world.engine.hash_password(PASSWORD.into()).await?;
        // No token is revoked: only tokens named in the (empty) list would be.
        let keep_tokens = ladder_store::RevokeTokens { named: Some(Vec::new()), keep_hash: None };
        world.store.set_password(world.admin.id, hash, keep_tokens, jiff::Timestamp::now()).await?;
    }
    let server = ServeProcess::spawn(dir.join("serve.log"), |c| {
        c.arg("--data-dir").arg(&dir);
    })
    .await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let url = format!("{}/api/v1/auth/login", server.base);
    let login = |client: reqwest::Client, url: String| async move {
        let started = Instant::now();
        let status = client
            .post(url)
            .json(&json!({"name": "bench-admin", "password": PASSWORD}))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        (status, started.elapsed())
    };
    // One login first, so the idle figure includes what any server that has served a login holds.
    login(client.clone(), url.clone()).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle, _) = rss_mib(server.pid)?;
    println!(
        "login bench: {rounds} bursts of {concurrency} concurrent POST /api/v1/auth/login (argon2id m=19 MiB), {} cores; rate limits off",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let mut statuses: std::collections::BTreeMap<u16, usize> = Default::default();
    let mut latencies = Vec::new();
    let mut peak: f64 = idle;
    let started = Instant::now();
    for _ in 0..rounds {
        let burst: Vec<_> = (0..concurrency).map(|_| tokio::spawn(login(client.clone(), url.clone()))).collect();
        // Sample the resident memory while the burst runs.
        let sampling = {
            let pid = server.pid;
            tokio::spawn(async move {
                let mut peak: f64 = 0.0;
                for _ in 0..200 {
                    peak = peak.max(rss_mib(pid).map(|r| r.0).unwrap_or(0.0));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                peak
            })
        };
        for b in burst {
            let (status, took) = b.await?;
            *statuses.entry(status).or_default() += 1;
            latencies.push(took);
        }
        sampling.abort();
        peak = peak.max(rss_mib(server.pid)?.0);
        let _ = sampling.await.map(|p| peak = peak.max(p));
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (after, hwm) = rss_mib(server.pid)?;
    latencies.sort();
    let pct = |p: f64| super::measure::ms(super::measure::percentile(&latencies, p));
    println!("  answers: {}", statuses.iter().map(|(s, n)| format!("{n}× {s}")).collect::<Vec<_>>().join(", "));
    println!(
        "  latency p50={:.0}ms p95={:.0}ms max={:.0}ms; {:.1} logins/s",
        pct(0.50),
        pct(0.95),
        super::measure::ms(super::measure::slowest(&latencies)),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  RSS idle {idle:.0} MiB, peak {:.0} MiB (high-water {hwm:.0} MiB), 2 s after {after:.0} MiB: +{:.0} MiB over idle at peak, +{:.0} MiB after",
        peak.max(hwm),
        peak.max(hwm) - idle,
        after - idle
    );
    server.stop("the login bench server").await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
