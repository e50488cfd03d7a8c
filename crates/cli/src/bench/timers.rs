//! `ladder bench timers`: SLA timers. A server (this build, as a process) restarted on many
//! armed clocks: time to ready and memory; the lag of breaches while clocks fall due at a
//! given rate; the cost of an idle sweep by number of armed clocks. Its world, seeding and
//! breach tally serve `bench cluster` too.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::Timestamp;
use ladder_core::directory::User;
use ladder_core::ids::CaseId;
use ladder_engine::Engine;
use ladder_engine::credentials::principal_of;
use ladder_store::{Location, Store};

use super::measure::{ms, percentile, slowest, us};
use super::server::ServeProcess;
use super::world::{BenchWorld, bench_world_at, random_open, seed_in_parallel, tempfile_dir};

/// How the breaches of some cases' clocks went.
pub(super) struct BreachTally {
    /// Each breach's lag (event time − due instant), sorted; a breach recorded early counts 0.
    lags: Vec<Duration>,
    /// Cases with no breach.
    missing: usize,
    /// Breaches beyond one per case.
    duplicates: usize,
    /// Breaches recorded before their due instant.
    early: usize,
}

/// Reads the `clock_breached` events of `ids` (cases with one clock that should breach once).
pub(super) async fn breach_tally(store: &Store, ids: &[CaseId]) -> anyhow::Result<BreachTally> {
    let mut tally = BreachTally { lags: Vec::with_capacity(ids.len()), missing: 0, duplicates: 0, early: 0 };
    for id in ids {
        let mut breaches = 0;
        for e in store.events(*id).await? {
            if let ladder_core::event::CaseEvent::ClockBreached(b) = &e.recorded.event {
                breaches += 1;
                let lag = e.recorded.at.duration_since(b.due_at);
                if lag.is_negative() {
                    tally.early += 1;
                }
                tally.lags.push(Duration::try_from(lag).unwrap_or(Duration::ZERO));
            }
        }
        match breaches {
            0 => tally.missing += 1,
            1 => {}
            n => tally.duplicates += n - 1,
        }
    }
    tally.lags.sort();
    Ok(tally)
}

impl BreachTally {
    /// Prints the lag line: `breach lag (event time − due instant){context}: fired …`, of
    /// `expected` clocks.
    pub(super) fn print(&self, context: &str, expected: usize) {
        let BreachTally { lags, missing, duplicates, early } = self;
        println!(
            "breach lag (event time − due instant){context}: fired {} of {expected}, p50={:.1}ms p95={:.1}ms p99={:.1}ms max={:.1}ms; missing {missing}, duplicates {duplicates}, early {early}",
            lags.len(),
            ms(percentile(lags, 0.50)),
            ms(percentile(lags, 0.95)),
            ms(percentile(lags, 0.99)),
            ms(slowest(lags)),
        );
    }
}

/// The matrix `bench timers` runs under: one resolve target per level, every hour counts,
/// no warnings, so a clock's only fire is its breach.
const TIMERS_MATRIX: &str = "[sla]\nwarn_at = []\n\n\
    [[levels]]\nid = \"L1\"\nteams = [\"frontline\"]\nresolve = \"90d\"\n\n\
    [[levels]]\nid = \"L2\"\nteams = [\"specialists\"]\nresolve = \"90d\"\n";

/// The resolve target of [`TIMERS_MATRIX`]: a case opened at `t` breaches at `t + this`.
pub(super) const TIMERS_TARGET: jiff::SignedDuration = jiff::SignedDuration::from_hours(90 * 24);

/// The bench world with [`TIMERS_MATRIX`] in force.
async fn timers_world(data_dir: &std::path::Path) -> anyhow::Result<BenchWorld> {
    timers_world_at(&Location::Sqlite(data_dir.to_path_buf())).await
}

/// [`timers_world`] at any location.
pub(super) async fn timers_world_at(location: &Location) -> anyhow::Result<BenchWorld> {
    let world = bench_world_at(location).await?;
    world.put_matrix_in_force("bench-timers", TIMERS_MATRIX, Timestamp::now()).await?;
    Ok(world)
}

/// Opens `opened_at.len()` cases through the real command path (512 writers), case `i`
/// "opened" at `opened_at[i]`, so its resolve clock falls due at `opened_at[i] + 90d`.
/// Returns the case ids in the same order.
pub(super) async fn seed_clocks(
    engine: &Engine,
    admin: &User,
    opened_at: Vec<Timestamp>,
) -> anyhow::Result<Vec<CaseId>> {
    let principal = principal_of(admin);
    let n = opened_at.len();
    let opened_at = Arc::new(opened_at);
    let ids: Arc<Vec<CaseId>> = Arc::new((0..n).map(|_| CaseId::new_v7()).collect());
    let started = Instant::now();
    let (engine, seeded_ids) = (engine.clone(), ids.clone());
    seed_in_parallel(0..n, 100_000, started, move |i, mut rng| {
        let (engine, principal, ids, opened_at) =
            (engine.clone(), principal.clone(), seeded_ids.clone(), opened_at.clone());
        async move {
            let (_, open) = random_open(i, &mut rng);
            engine.run(&principal, ids[i], open, None, None, opened_at[i]).await?;
            Ok(rng)
        }
    })
    .await?;
    let took = started.elapsed().as_secs_f64();
    println!("  seeded {n} cases with an armed resolve clock in {took:.1}s = {:.0} cases/s", n as f64 / took);
    Ok(Arc::try_unwrap(ids).unwrap_or_else(|a| (*a).clone()))
}

/// Far-future clocks (due 90 days from now), topped up to `n` armed timers.
async fn seed_far_clocks(world: &BenchWorld, n: usize) -> anyhow::Result<()> {
    let armed = world.store.armed_timers().await? as usize;
    if armed < n {
        let todo = n - armed;
        println!("seeding {todo} far-future clocks ({armed} armed already; reused on later runs) …");
        // Opened over the last 30 days, so they fall due spread over days 60 to 90 from now.
        let now = Timestamp::now();
        let span_ns = 30 * 86_400 * 1_000_000_000_i64 / todo as i64;
        let opened = (0..todo).map(|i| now - jiff::SignedDuration::from_nanos(i as i64 * span_ns)).collect();
        seed_clocks(&world.engine, &world.admin, opened).await?;
    }
    Ok(())
}

/// `VmRSS` and `VmHWM` of a process, in MiB.
pub(super) fn rss_mib(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status.lines().find(|l| l.starts_with(name)).with_context(|| format!("no {name} in status"))?;
        let kib: f64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse()?;
        Ok(kib / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

pub(super) async fn bench_timers(
    clocks: usize,
    data_dir: PathBuf,
    due_rate: usize,
    seconds: u64,
    sweeps: usize,
) -> anyhow::Result<()> {
    let n_window = (due_rate * seconds as usize).min(clocks);
    let n_far = clocks - n_window;
    println!(
        "timers bench: {clocks} armed clocks in {} ({n_far} due in 60–90 days, seeded once; {n_window} due at {due_rate}/s for {seconds}s, added on each run)",
        data_dir.display()
    );
    let world = timers_world(&data_dir).await?;
    let BenchWorld { store, engine, admin } = &world;
    // Timers an interrupted earlier run left armed in the past would be caught up at start.
    if let Some(next) = store.next_timer_at().await?
        && next < Timestamp::now() + jiff::SignedDuration::from_hours(24)
    {
        let r = engine.fire_due(Timestamp::now() + jiff::SignedDuration::from_hours(24)).await?;
        println!("fired {} timers an earlier run left due ({} stale)", r.fired, r.stale);
    }
    seed_far_clocks(&world, n_far).await?;

    // The window: clock i falls due at window_start + i/due_rate. The server is spawned 5 s
    // before the window opens; the allowance covers seeding the window at ≥ 1,500 cases/s.
    let allowance = jiff::SignedDuration::from_secs_f64(n_window as f64 / 1500.0 + 2.0);
    let window_start = Timestamp::now() + allowance + jiff::SignedDuration::from_secs(5);
    let step_ns = 1_000_000_000 / due_rate.max(1) as i64;
    let due: Vec<Timestamp> =
        (0..n_window).map(|i| window_start + jiff::SignedDuration::from_nanos(i as i64 * step_ns)).collect();
    println!("seeding the due window ({n_window} cases opened 90 days before their clock falls due) …");
    let window_ids = seed_clocks(engine, admin, due.iter().map(|d| *d - TIMERS_TARGET).collect()).await?;
    let armed = store.armed_timers().await?;
    println!("armed timers before the restart: {armed}");
    // The store is closed before the server opens it.
    drop(world);

    // Restart: the real binary on the data dir.
    let spawn_at = window_start - jiff::SignedDuration::from_secs(5);
    let wait = spawn_at.duration_since(Timestamp::now());
    if wait.is_positive() {
        tokio::time::sleep(Duration::try_from(wait)?).await;
    } else {
        println!("warning: seeding the window overran its allowance by {:.1}s", -wait.as_secs_f64());
    }
    let log_path = std::env::temp_dir().join(format!("ladder-bench-timers-server-{}.log", std::process::id()));
    let spawned_at = Timestamp::now();
    let spawned = Instant::now();
    let server = ServeProcess::spawn(log_path, |command| {
        command.arg("--data-dir").arg(&data_dir);
    })
    .await?;
    let (pid, base) = (server.pid, server.base.clone());
    let listening = spawned.elapsed();
    let client = reqwest::Client::new();
    loop {
        if let Ok(resp) = client.get(format!("{base}/readyz")).send().await
            && resp.status().as_u16() == 200
        {
            break;
        }
        anyhow::ensure!(spawned.elapsed() < Duration::from_secs(120), "not ready after 120 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ready = spawned.elapsed();
    println!(
        "restart on {armed} armed clocks: listening after {:.0}ms, /readyz 200 after {:.0}ms (spawn to ready)",
        ms(listening),
        ms(ready)
    );
    let window_end = *due.last().unwrap_or(&window_start);
    println!(
        "due window opens {:.1}s after spawn, closes {:.1}s after spawn",
        window_start.duration_since(spawned_at).as_secs_f64(),
        window_end.duration_since(spawned_at).as_secs_f64()
    );
    // Idle RSS half a second before the window opens (or at once if that has passed).
    tokio::time::sleep(Duration::from_millis(4500).saturating_sub(spawned.elapsed())).await;
    let (rss_idle, _) = rss_mib(pid)?;
    println!("RSS {:.1}s after spawn, before the window: VmRSS {rss_idle:.0} MiB", spawned.elapsed().as_secs_f64());
    // Sample RSS while the window fires, until 3 s after it closes.
    let mut rss_max = rss_idle;
    while Timestamp::now() < window_end + jiff::SignedDuration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        rss_max = rss_max.max(rss_mib(pid)?.0);
    }
    let (rss_after, hwm) = rss_mib(pid)?;
    println!(
        "RSS after the window: VmRSS {rss_after:.0} MiB (max sampled {rss_max:.0} MiB), VmHWM {hwm:.0} MiB (peak since spawn)"
    );
    let log_path = server.log_path.clone();
    server.stop("the server").await?;
    std::fs::remove_file(&log_path).ok();

    // The lag, from the events the server recorded.
    let world = timers_world(&data_dir).await?;
    breach_tally(&world.store, &window_ids).await?.print(&format!(" at {due_rate}/s"), n_window);

    // Sweep cost with nothing due, by number of armed clocks.
    let mut rows = Vec::new();
    for n in [10_000, 100_000] {
        if n >= clocks {
            continue;
        }
        let dir = tempfile_dir(&format!("timers-{n}"))?;
        let small = timers_world(&dir).await?;
        seed_far_clocks(&small, n).await?;
        rows.push(sweep_cost(&small, sweeps).await?);
        drop(small);
        std::fs::remove_dir_all(&dir).ok();
    }
    rows.push(sweep_cost(&world, sweeps).await?);
    println!("idle sweep (nothing due), {sweeps} calls each:");
    println!("  armed clocks | fire_due p50 | fire_due p99 | next_timer_at p50 | next_timer_at p99");
    for (armed, fire, next) in rows {
        println!(
            "  {armed:>12} | {:>10.1}µs | {:>10.1}µs | {:>15.1}µs | {:>15.1}µs",
            us(percentile(&fire, 0.5)),
            us(percentile(&fire, 0.99)),
            us(percentile(&next, 0.5)),
            us(percentile(&next, 0.99)),
        );
    }
    Ok(())
}

/// Times `fire_due(now)` and `next_timer_at()` with nothing due: (armed, sorted fire_due
/// samples, sorted next_timer_at samples).
async fn sweep_cost(world: &BenchWorld, sweeps: usize) -> anyhow::Result<(u64, Vec<Duration>, Vec<Duration>)> {
    let BenchWorld { store, engine, .. } = world;
    let armed = store.armed_timers().await?;
    let (mut fire, mut next) = (Vec::with_capacity(sweeps), Vec::with_capacity(sweeps));
    for i in 0..sweeps + sweeps / 10 {
        let t = Instant::now();
        let r = engine.fire_due(Timestamp::now()).await?;
        let took = t.elapsed();
        anyhow::ensure!(r.fired == 0 && r.stale == 0, "an idle sweep fired {} timers", r.fired + r.stale);
        let t = Instant::now();
        std::hint::black_box(store.next_timer_at().await?);
        // The first tenth warms caches up and is not counted.
        if i >= sweeps / 10 {
            fire.push(took);
            next.push(t.elapsed());
        }
    }
    fire.sort();
    next.sort();
    Ok((armed, fire, next))
}
