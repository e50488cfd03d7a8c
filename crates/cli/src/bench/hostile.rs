//! `ladder bench hostile`: how a `ladder serve` process of this build answers `/healthz`
//! while `--checks` clients send it hostile escalation matrices to check at once, compared
//! with the same server idle, in the same run.
//!
//! The matrices are what a supervisor could paste into `POST /api/v1/matrix/check`: a
//! condition of 3,000 chained additions, of 3,000 member accesses, of 3,000 nested
//! brackets (refused by the flat scan before the CEL parser), a runaway comprehension
//! (refused by the cost estimate), and a costly condition the limits accept. Each check runs on a worker thread, one per core, so the
//! async workers that answer `/healthz` stay free.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use ladder_engine::command_line_principal;

use super::measure::{ms, percentile, report};
use super::server::ServeProcess;
use super::world::{BenchWorld, bench_world, tempfile_dir};

const LEVELS: &str = "[[levels]]\nid = \"L1\"\nrespond = \"0m\"\n\n[[levels]]\nid = \"L2\"\nrespond = \"1h\"\n";

/// The hostile matrices, by name.
fn hostile() -> Vec<(&'static str, String)> {
    let rule = |when: String| format!("{LEVELS}\n[[rules]]\nname = \"r\"\nwhen = '{when}'\ntags = \"a\"\n");
    vec![
        ("3000 additions", rule(format!("{} == 1", vec!["1"; 3000].join("+")))),
        ("3000 members", rule(format!("case{} == 1", ".a".repeat(3000)))),
        ("3000 brackets", rule(format!("{}true{}", "(".repeat(3000), ")".repeat(3000)))),
        ("runaway comprehension", rule("lists.range(100000).all(x, lists.range(100000).all(y, x + y >= 0))".into())),
        ("costly but accepted", {
            let list = format!("[{}]", (0..200).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
            rule(format!("{list}.exists(x, {list}.exists(y, x * y == case.number))"))
        }),
    ]
}

/// How long conditions near the cost limit take to evaluate, against a case with 1,000 tags:
/// what the estimate's steps are worth in time.
fn evaluation_times() -> anyhow::Result<()> {
    use ladder_core::matrix::{Facts, eval::evaluate_condition, limits};
    let list = |n: usize| format!("[{}]", (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    let mut facts = Facts::new(Timestamp::now());
    let tags: Vec<String> = (0..1000).map(|i| format!("tag-{i}")).collect();
    facts.case = serde_json::json!({"number": 7, "tags": tags});
    for source in [
        format!("{}.exists(x, {}.exists(y, x * y == case.number))", list(200), list(200)),
        format!("{}.exists(x, {}.exists(y, x * y == case.number))", list(100), list(100)),
        "case.tags.filter(t, t.startsWith('tag-9')).size() > 100".to_string(),
    ] {
        let steps = limits::estimated_cost(&source).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut times = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let _ = evaluate_condition(&source, &facts);
            times.push(started.elapsed());
        }
        times.sort();
        let shown: String = source.chars().take(60).collect();
        println!(
            "evaluate {shown}…: estimated {steps} steps, median {:.1}ms ({:.0} ns per estimated step)",
            ms(times[2]),
            times[2].as_nanos() as f64 / steps.max(1) as f64
        );
    }
    Ok(())
}

pub(super) async fn bench_hostile(checks: usize, duration: Duration) -> anyhow::Result<()> {
    evaluation_times()?;
    let dir = tempfile_dir("hostile")?;
    let BenchWorld { store, engine, admin } = bench_world(&dir).await?;
    let token =
        engine.mint_token(&command_line_principal(), admin.id, "bench".into(), None, Timestamp::now()).await?.secret;
    drop(engine);
    drop(store);
    let log_path = std::env::temp_dir().join(format!("ladder-bench-hostile-server-{}.log", std::process::id()));
    let server = ServeProcess::spawn(log_path, |command| {
        command.arg("--data-dir").arg(&dir);
    })
    .await?;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    println!(
        "hostile bench: /healthz back to back for {}s idle, then for {}s while {checks} clients send hostile \
         matrices to POST /api/v1/matrix/check; server in its own process, load from this one",
        duration.as_secs(),
        duration.as_secs()
    );

    let (idle, idle_elapsed) = probe(&client, &base, duration).await?;
    report("healthz idle", idle.clone(), idle_elapsed);

    let stop = Instant::now() + duration;
    let mut senders = Vec::new();
    for i in 0..checks {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        senders.push(tokio::spawn(async move {
            let matrices = hostile();
            let mut answered: Vec<(usize, u16, Duration)> = Vec::new();
            let mut n = i;
            while Instant::now() < stop {
                let which = n % matrices.len();
                let sent = Instant::now();
                let status = client
                    .post(format!("{base}/api/v1/matrix/check"))
                    .bearer_auth(&token)
                    .header("content-type", "application/toml")
                    .body(matrices[which].1.clone())
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                answered.push((which, status, sent.elapsed()));
                n += 1;
            }
            answered
        }));
    }
    let (loaded, loaded_elapsed) = probe(&client, &base, duration).await?;
    let mut answered = Vec::new();
    for s in senders {
        answered.extend(s.await?);
    }
    report(&format!("healthz under {checks} hostile checks"), loaded.clone(), loaded_elapsed);
    for (i, (name, _)) in hostile().iter().enumerate() {
        let mine: Vec<_> = answered.iter().filter(|(w, _, _)| *w == i).collect();
        let mut statuses: Vec<u16> = mine.iter().map(|(_, s, _)| *s).collect();
        statuses.sort_unstable();
        statuses.dedup();
        let latencies: Vec<Duration> = mine.iter().map(|(_, _, d)| *d).collect();
        report(&format!("check '{name}' (status {statuses:?})"), latencies, loaded_elapsed);
    }
    let (mut idle, mut loaded) = (idle, loaded);
    idle.sort();
    loaded.sort();
    println!(
        "healthz p99: idle {:.2}ms, under load {:.2}ms (target: under 100 ms)",
        ms(percentile(&idle, 0.99)),
        ms(percentile(&loaded, 0.99))
    );
    server.stop("the hostile bench server").await?;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// `GET /healthz` back to back for `duration`: each answer's latency, and the time taken.
async fn probe(client: &reqwest::Client, base: &str, duration: Duration) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < duration {
        let sent = Instant::now();
        let status = client.get(format!("{base}/healthz")).send().await?.status();
        samples.push(sent.elapsed());
        anyhow::ensure!(status.is_success(), "/healthz answered {status}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok((samples, started.elapsed()))
}
