//! `ladder bench crash`: crash safety. Cycles of: start `ladder serve` on a SQLite data
//! directory, drive mixed load (open, message, escalate, resolve; SLA timers falling due),
//! `kill -9` it at a random moment, restart it and check that every acknowledged write is
//! there. Each cycle runs the server's clock two hours further (`LADDER_CLOCK_OFFSET`), so
//! the one-hour resolve clocks armed before the kill are due at the restart and fire in its
//! catch-up, itself killed at times. At the end a last server catches up on every due
//! clock and the event log is checked: every due clock fired, none twice.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::Timestamp;
use ladder_core::event::CaseEvent;
use ladder_core::ids::CaseId;
use ladder_engine::command_line_principal;
use ladder_store::{Location, Store, StoreConfig};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use super::server::ServeProcess;
use super::world::{bench_world, tempfile_dir};

/// One-hour resolve clocks at both levels, no warnings: a case's clocks fire only as breaches.
const CRASH_MATRIX: &str = "[sla]\nwarn_at = []\n\n\
    [[levels]]\nid = \"L1\"\nteams = [\"frontline\"]\nresolve = \"1h\"\n\n\
    [[levels]]\nid = \"L2\"\nteams = [\"specialists\"]\nresolve = \"1h\"\n";

/// The server clock's step per cycle: more than the clocks' target, so each restart finds
/// every clock armed before it due.
const HOURS_PER_CYCLE: i64 = 2;

/// Case id → the highest version the server acknowledged for it.
type Acknowledged = Arc<Mutex<HashMap<String, u64>>>;

pub(super) async fn bench_crash(
    cycles: usize,
    clients: usize,
    data_dir: Option<PathBuf>,
    seed: u64,
    max_load_ms: u64,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = match data_dir {
        Some(d) => {
            std::fs::create_dir_all(&d)?;
            d
        }
        None => tempfile_dir("crash")?,
    };
    let token = {
        let world = bench_world(&dir).await?;
        world.put_matrix_in_force("crash", CRASH_MATRIX, Timestamp::now()).await?;
        let engine = &world.engine;
        engine
            .mint_token(&command_line_principal(), world.admin.id, "crash".into(), None, Timestamp::now())
            .await?
            .secret
    };
    println!(
        "crash test: {cycles} cycles of {clients} clients (open, message, escalate, resolve) killed with SIGKILL after 0.1–{:.1} s; data in {}",
        max_load_ms as f64 / 1000.0,
        dir.display()
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let acknowledged: Acknowledged = Arc::default();
    let last_cycle: Acknowledged = Arc::default();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let mut lost_total = 0;
    let mut writes_total = 0;
    for cycle in 0..cycles {
        let server = start(&dir, cycle as i64 * HOURS_PER_CYCLE, cycle).await?;
        // The writes the last cycle acknowledged before its kill; the last server reads
        // back every write of the run.
        lost_total += verify(&client, &server.base, &token, &last_cycle).await?;
        last_cycle.lock().expect("acks").clear();
        let before = acknowledged.lock().expect("acks").values().sum::<u64>();
        let load_for = Duration::from_millis(rng.random_range(100..=max_load_ms.max(100)));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        for c in 0..clients {
            let (client, base, token, stop) = (client.clone(), server.base.clone(), token.clone(), stop.clone());
            let acks = [acknowledged.clone(), last_cycle.clone()];
            let seed = rng.random::<u64>();
            tasks.push(tokio::spawn(async move { load(client, base, token, acks, stop, c, cycle, seed).await }));
        }
        tokio::time::sleep(load_for).await;
        let _ = std::process::Command::new("kill").args(["-KILL", &server.pid.to_string()]).status();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in tasks {
            t.await?;
        }
        drop(server);
        let after = acknowledged.lock().expect("acks").values().sum::<u64>();
        writes_total += after - before;
        if cycle % 25 == 24 || cycle + 1 == cycles {
            println!(
                "  {} cycles: {} cases, {writes_total} acknowledged writes, {lost_total} lost ({:.0}s)",
                cycle + 1,
                acknowledged.lock().expect("acks").len(),
                started.elapsed().as_secs_f64()
            );
        }
    }

    // A last server catches up on every clock due, then stops as an operator would.
    let server = start(&dir, (cycles as i64 + 1) * HOURS_PER_CYCLE, cycles).await?;
    lost_total += verify(&client, &server.base, &token, &acknowledged).await?;
    let server_now = caught_up(&client, &server.base, &token).await?;
    server.stop("the last crash-test server").await?;

    let store = Store::open_at(&Location::Sqlite(dir.clone()), StoreConfig::default())?;
    let still_due = store.due_timers(server_now, 10_000).await?.len();
    let (mut breaches, mut duplicates) = (0, 0);
    let ids: Vec<String> = acknowledged.lock().expect("acks").keys().cloned().collect();
    for id in &ids {
        let id: CaseId = id.parse().map_err(|e| anyhow::anyhow!("case id {id}: {e:?}"))?;
        let mut fired: HashMap<(u32, String), usize> = HashMap::new();
        for e in store.events(id).await? {
            if let CaseEvent::ClockBreached(b) = &e.recorded.event {
                *fired.entry((b.index, format!("{:?}", b.clock))).or_default() += 1;
            }
        }
        breaches += fired.values().sum::<usize>();
        duplicates += fired.values().map(|n| n - 1).sum::<usize>();
    }
    // A backup is checked with `PRAGMA integrity_check`, and fails unless it says ok.
    let check = dir.join("integrity-check.db");
    let _ = std::fs::remove_file(&check);
    let integrity = match store.backup_to(check.clone()).await {
        Ok(_) => "ok".to_string(),
        Err(e) => format!("FAILED: {e}"),
    };
    let _ = std::fs::remove_file(&check);
    println!(
        "crash test: {cycles} kill -9 cycles in {:.0}s: {} cases, {writes_total} acknowledged writes, {lost_total} lost; {breaches} clocks breached, {duplicates} twice, {still_due} due but not fired; integrity {integrity}",
        started.elapsed().as_secs_f64(),
        ids.len()
    );
    if lost_total > 0 || duplicates > 0 || still_due > 0 || integrity != "ok" {
        anyhow::bail!("crash test failed; the data directory is kept: {}", dir.display());
    }
    Ok(())
}

/// Starts `ladder serve` on `dir` with its clock `hours` ahead.
async fn start(dir: &std::path::Path, hours: i64, cycle: usize) -> anyhow::Result<ServeProcess> {
    let log = dir.join(format!("serve-{}.log", cycle % 2));
    ServeProcess::spawn(log, |c| {
        c.arg("--data-dir").arg(dir).env("LADDER_CLOCK_OFFSET", format!("{hours}h"));
    })
    .await
    .with_context(|| format!("starting the server for cycle {cycle}"))
}

/// Every acknowledged write is there: each case at its acknowledged version or later.
/// Answers how many are missing (and prints the first few).
async fn verify(client: &reqwest::Client, base: &str, token: &str, acks: &Acknowledged) -> anyhow::Result<usize> {
    let expected: Vec<(String, u64)> = acks.lock().expect("acks").iter().map(|(k, v)| (k.clone(), *v)).collect();
    let mut lost = 0;
    for chunk in expected.chunks(32) {
        let mut checks = Vec::new();
        for (id, version) in chunk.iter().cloned() {
            let (client, url, token) = (client.clone(), format!("{base}/api/v1/cases/{id}"), token.to_string());
            checks.push(tokio::spawn(async move {
                let resp = client.get(url).bearer_auth(token).send().await?;
                let status = resp.status().as_u16();
                let case: Value = resp.json().await.unwrap_or_default();
                let found = case["version"].as_u64().unwrap_or(0);
                anyhow::Ok((id, version, status, found))
            }));
        }
        for check in checks {
            let (id, version, status, found) = check.await??;
            if status != 200 || found < version {
                lost += 1;
                if lost <= 5 {
                    println!("  LOST: case {id} acknowledged at version {version}, found {found} (HTTP {status})");
                }
            }
        }
    }
    Ok(lost)
}

/// Waits until the server's timer loop has swept and has nothing due; answers its clock.
async fn caught_up(client: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<Timestamp> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status: Value =
            client.get(format!("{base}/api/v1/sla/timers")).bearer_auth(token).send().await?.json().await?;
        let now: Timestamp = status["now"].as_str().context("timers: now")?.parse()?;
        let next: Option<Timestamp> = status["next_fire_at"].as_str().and_then(|s| s.parse().ok());
        if status["sweeps"].as_u64().unwrap_or(0) >= 1 && next.is_none_or(|n| n > now) {
            return Ok(now);
        }
        anyhow::ensure!(Instant::now() < deadline, "the timer loop did not catch up within 120 s: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One client: opens a case, adds a message, escalates it, resolves one case in four,
/// recording each acknowledged version, until the server is gone.
#[allow(clippy::too_many_arguments)]
async fn load(
    client: reqwest::Client,
    base: String,
    token: String,
    acks: [Acknowledged; 2],
    stop: Arc<std::sync::atomic::AtomicBool>,
    c: usize,
    cycle: usize,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut i = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        i += 1;
        let subject = format!("cycle {cycle} client {c} case {i}");
        let case = match call(
            &client,
            &format!("{base}/api/v1/cases"),
            &token,
            json!({"subject": subject, "team": "frontline"}),
        )
        .await
        {
            Answer::Acknowledged(case) => case,
            Answer::Refused(status, problem) => {
                println!("  refused: POST /cases: {status} {problem}");
                continue;
            }
            Answer::Gone => return,
        };
        let Some(id) = case["id"].as_str().map(str::to_string) else { return };
        let ack = |case: &Value| {
            if let Some(v) = case["version"].as_u64() {
                for acks in &acks {
                    let mut acks = acks.lock().expect("acks");
                    let e = acks.entry(id.clone()).or_default();
                    *e = (*e).max(v);
                }
            }
        };
        ack(&case);
        let steps: [(&str, Value); 3] = [
            ("messages", json!({"body": "a note"})),
            (
                "escalate",
                json!({"kind": "hierarchical", "to_team": "specialists", "reason": "needs a specialist", "tried": "the script"}),
            ),
            ("resolve", json!({"code": "fixed"})),
        ];
        for (n, (path, body)) in steps.into_iter().enumerate() {
            // Every case gets a message; three in four are escalated; one in four resolved.
            if (n == 1 && rng.random_range(0..4) == 0) || (n == 2 && rng.random_range(0..4) != 0) {
                continue;
            }
            match call(&client, &format!("{base}/api/v1/cases/{id}/{path}"), &token, body).await {
                Answer::Acknowledged(case) => ack(&case),
                Answer::Refused(status, problem) => {
                    println!("  refused: POST /cases/{{id}}/{path}: {status} {problem}")
                }
                Answer::Gone => return,
            }
        }
    }
}

enum Answer {
    /// A 2xx and its body: the write is committed.
    Acknowledged(Value),
    /// The server answered, refusing the write.
    Refused(u16, Value),
    /// No answer, or not all of it: the server is gone.
    Gone,
}

/// POSTs `body`.
async fn call(client: &reqwest::Client, url: &str, token: &str, body: Value) -> Answer {
    let Ok(resp) = client.post(url).bearer_auth(token).json(&body).send().await else { return Answer::Gone };
    let status = resp.status();
    match resp.json::<Value>().await {
        Ok(body) if status.is_success() => Answer::Acknowledged(body),
        Ok(body) => Answer::Refused(status.as_u16(), body),
        Err(_) => Answer::Gone,
    }
}
