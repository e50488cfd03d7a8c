//! `ladder bench …`: the figures in docs/benchmarks.md. Run with a release build. Each
//! benchmark prints what it measured, on what, and how long it took; none asserts a time.

use ladder_engine::command_line_principal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::Timestamp;
use ladder_core::command::AddMessage;
use ladder_core::directory::{LevelId, Team, TeamKind, User};
use ladder_core::event::{EscalationKind, Initiator};
use ladder_core::ids::{CaseId, TeamId, UserId};
use ladder_core::{Channel, Priority, Role, Visibility};
use ladder_engine::credentials::principal_of;
use ladder_engine::{CaseRequest, Engine, Escalation, OpenRequest};
use ladder_store::{Location, Store, StoreConfig};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::json;

mod cluster;
mod console;
mod metrics;
mod pg_schema;
mod simulate;

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Durable case commands through the store (group commit), events per second.
    Store {
        /// Events to write in total.
        #[arg(long, default_value_t = 200_000)]
        events: usize,
        /// Concurrent writers.
        #[arg(long, default_value_t = 256)]
        concurrency: usize,
        /// A PostgreSQL database (`postgres://user@host/db`) to write to, in a schema of
        /// its own that is dropped afterwards; without it, a new SQLite store in a
        /// temporary directory.
        #[arg(long = "database")]
        database: Option<String>,
    },
    /// HTTP: POST a case then escalate it, from concurrent clients; throughput and latency.
    Api {
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 15)]
        seconds: u64,
    },
    /// Several `ladder serve` processes on one PostgreSQL database: HTTP throughput and
    /// latency per node count (POST a case then escalate it, clients spread round-robin
    /// over the nodes), then the lag of SLA breaches the nodes share on the largest count.
    Cluster {
        /// The PostgreSQL database (each run works in a schema of its own, dropped after).
        #[arg(long = "database", env = "LADDER_DATABASE_URL")]
        database: String,
        /// Node counts to measure, in order.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
        nodes: Vec<usize>,
        /// How long the load runs per node count.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Concurrent HTTP clients.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Clocks falling due per second in the timer window (on the largest node count).
        #[arg(long, default_value_t = 1000)]
        due_rate: usize,
        /// Length of the timer window (0: no timer window).
        #[arg(long, default_value_t = 10)]
        due_seconds: u64,
    },
    /// HTTP reads with a large store: case by id and filtered lists; p50/p95/p99.
    Read {
        /// Cases in the store (seeded once into --data-dir and reused).
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        #[arg(long, default_value = "./ladder-bench-data")]
        data_dir: PathBuf,
        /// Requests per kind of read.
        #[arg(long, default_value_t = 2000)]
        requests: usize,
    },
    /// Escalation matrix: evaluate a 500-rule matrix against a case (median/p99), and
    /// `matrix check` a 5,000-rule file.
    Matrix {
        #[arg(long, default_value_t = 500)]
        rules: usize,
        #[arg(long, default_value_t = 20_000)]
        evaluations: usize,
        #[arg(long, default_value_t = 5000)]
        check_rules: usize,
    },
    /// Business time: `add_business_time` of an 8h target on the contact-center example's
    /// `support` calendar from many starting instants (median/p99).
    Calendar {
        #[arg(long, default_value_t = 200_000)]
        deadlines: usize,
    },
    /// SLA timers: a server restarted on 1,000,000 armed clocks (time to ready, RSS), the
    /// lag of breaches while `--due-rate` clocks fall due per second, and the cost of an
    /// idle sweep with 10k, 100k and 1M armed clocks.
    Timers {
        /// Armed clocks when the server starts (the far-future ones are seeded once into
        /// --data-dir and reused; the due window is added on every run).
        #[arg(long, default_value_t = 1_000_000)]
        clocks: usize,
        #[arg(long, default_value = "./ladder-bench-timers")]
        data_dir: PathBuf,
        /// Clocks falling due per second during the window.
        #[arg(long, default_value_t = 1000)]
        due_rate: usize,
        /// Length of the due window.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Idle sweeps timed per store size.
        #[arg(long, default_value_t = 200)]
        sweeps: usize,
    },
    /// Escalation metrics: `GET /api/v1/metrics` and the store query over `--events` events
    /// (about a million cases over a year, populated once into `--data` through the real
    /// command path and reused), for a day, a month, a quarter and a year, by every grouping.
    Metrics {
        #[arg(long, default_value_t = 10_000_000)]
        events: usize,
        #[arg(long, default_value = "./ladder-bench-metrics")]
        data: PathBuf,
        /// Queries timed per period and grouping (each over HTTP and directly).
        #[arg(long, default_value_t = 200)]
        queries: usize,
    },
    /// Routing and queues: routing decisions with `--agents` online in 20 teams (the pure
    /// choice, and the whole decision with its reads and write), then `--pullers` agents
    /// taking cases from one team's queue of `--queued` cases over HTTP at once.
    Routing {
        #[arg(long, default_value_t = 2000)]
        agents: usize,
        #[arg(long, default_value_t = 50_000)]
        queued: usize,
        #[arg(long, default_value_t = 200)]
        pullers: usize,
        /// Routing decisions timed.
        #[arg(long, default_value_t = 2000)]
        decisions: usize,
        /// How long the pullers pull.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Pause of each puller between two `next` calls in the paced run (an agent works a
        /// case before taking the next; the unpaced run pulls back to back).
        #[arg(long, default_value_t = 500)]
        think_ms: u64,
    },
    /// What-if simulator: `--cases` cases with their histories (seeded once into
    /// --data-dir and reused) replayed under a candidate matrix; cases per second.
    Simulate {
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        #[arg(long, default_value = "./ladder-bench-simulate")]
        data_dir: PathBuf,
    },
    /// Console pages (queue, case, dashboard) over HTTP with a large store; p50/p95/p99.
    Console {
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        #[arg(long, default_value = "./ladder-bench-console")]
        data_dir: PathBuf,
        /// Requests per page (at most 200 for the dashboard).
        #[arg(long, default_value_t = 1000)]
        requests: usize,
    },
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    println!("machine: {} cores, {}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), build_kind());
    match command {
        BenchCommand::Store { events, concurrency, database } => bench_store(events, concurrency, database).await,
        BenchCommand::Api { concurrency, seconds } => bench_api(concurrency, Duration::from_secs(seconds)).await,
        BenchCommand::Cluster { database, nodes, seconds, clients, due_rate, due_seconds } => {
            let config = cluster::ClusterConfig {
                database,
                nodes,
                load_for: Duration::from_secs(seconds),
                clients,
                due_rate,
                due_for: Duration::from_secs(due_seconds),
            };
            cluster::bench_cluster(config).await
        }
        BenchCommand::Read { cases, data_dir, requests } => bench_read(cases, data_dir, requests).await,
        BenchCommand::Matrix { rules, evaluations, check_rules } => bench_matrix(rules, evaluations, check_rules),
        BenchCommand::Calendar { deadlines } => bench_calendar(deadlines),
        BenchCommand::Timers { clocks, data_dir, due_rate, seconds, sweeps } => {
            bench_timers(clocks, data_dir, due_rate, seconds, sweeps).await
        }
        BenchCommand::Metrics { events, data, queries } => metrics::bench_metrics(events, data, queries).await,
        BenchCommand::Routing { agents, queued, pullers, decisions, seconds, think_ms } => {
            let pace = Duration::from_millis(think_ms);
            bench_routing(agents, queued, pullers, decisions, Duration::from_secs(seconds), pace).await
        }
        BenchCommand::Simulate { cases, data_dir } => simulate::bench_simulate(cases, data_dir).await,
        BenchCommand::Console { cases, data_dir, requests } => console::bench_console(cases, data_dir, requests).await,
    }
}

fn build_kind() -> &'static str {
    if cfg!(debug_assertions) { "DEBUG build (figures are not meaningful)" } else { "release build" }
}

/// How the breaches of some cases' clocks went.
struct BreachTally {
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
async fn breach_tally(engine: &Engine, ids: &[ladder_core::ids::CaseId]) -> anyhow::Result<BreachTally> {
    let mut tally = BreachTally { lags: Vec::with_capacity(ids.len()), missing: 0, duplicates: 0, early: 0 };
    for id in ids {
        let mut breaches = 0;
        for e in engine.store.events(*id).await? {
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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(label: &str, mut samples: Vec<Duration>, elapsed: Duration) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label}: n={} throughput={:.0}/s p50={:.2}ms p95={:.2}ms p99={:.2}ms max={:.2}ms",
        samples.len(),
        samples.len() as f64 / elapsed.as_secs_f64(),
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.95)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().unwrap_or(&Duration::ZERO)),
    );
}

/// A store with one front-line and one L2 team and an admin; returns the engine and the admin.
async fn bench_world(data_dir: &std::path::Path) -> anyhow::Result<(Engine, User)> {
    bench_world_at(&Location::Sqlite(data_dir.to_path_buf())).await
}

/// [`bench_world`] at any location (a SQLite data directory or a PostgreSQL database).
async fn bench_world_at(location: &Location) -> anyhow::Result<(Engine, User)> {
    let engine = Engine::new(Store::open_at(location, StoreConfig::default())?);
    if let Some(admin) = engine.store.user_credentials("bench-admin".into()).await? {
        return Ok((engine, admin.user));
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
        engine.store.create_team(team, None).await?;
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
    let admin = engine.store.create_user(admin, None, None).await?;
    Ok((engine, admin))
}

fn open_request(i: usize, team: Option<&str>, priority: Priority, channel: Channel) -> CaseRequest {
    CaseRequest::Open(OpenRequest {
        subject: format!("Bench case {i}: router drops connection"),
        description: "The customer reports the connection drops every evening.".into(),
        category: Some("technical".into()),
        channel,
        priority,
        level: None,
        team: team.map(str::to_string),
        assignee: None,
        customer: None,
        tags: Default::default(),
        custom_fields: Default::default(),
    })
}

async fn bench_store(n_events: usize, concurrency: usize, database: Option<String>) -> anyhow::Result<()> {
    let dir = tempfile_dir("store")?;
    // On PostgreSQL, a schema of this run's own (dropped when it goes out of scope).
    let schema = database.as_deref().map(pg_schema::BenchSchema::create).transpose()?;
    let location = match &schema {
        Some(schema) => schema.location(),
        None => Location::Sqlite(dir.clone()),
    };
    let (engine, admin) = bench_world_at(&location).await?;
    let principal = principal_of(&admin);
    let durability = match &schema {
        Some(_) => "PostgreSQL with synchronous_commit as the server has it",
        None => "SQLite with synchronous=FULL",
    };
    println!(
        "store bench: {n_events} events, {concurrency} concurrent writers, each opening a case then adding 4 messages (5 events per case), {durability}, data in {}",
        location.redacted()
    );
    let per_writer = n_events / concurrency / 5;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (engine, principal) = (engine.clone(), principal.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(per_writer * 5);
            for i in 0..per_writer {
                let id = CaseId::new_v7();
                let t = Instant::now();
                engine
                    .run(
                        &principal,
                        id,
                        open_request(w * per_writer + i, None, Priority::Normal, Channel::Email),
                        None,
                        None,
                        Timestamp::now(),
                    )
                    .await?;
                samples.push(t.elapsed());
                for m in 0..4 {
                    let t = Instant::now();
                    let msg = AddMessage {
                        visibility: Visibility::Internal,
                        channel: None,
                        body: format!("note {m}"),
                        from_customer: false,
                        resume: false,
                    };
                    engine.run(&principal, id, CaseRequest::AddMessage(msg), None, None, Timestamp::now()).await?;
                    samples.push(t.elapsed());
                }
            }
            anyhow::Ok(samples)
        }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await??);
    }
    let elapsed = started.elapsed();
    report("store commands (1 event each)", samples, elapsed);
    let stats = engine.store.stats().await?;
    println!(
        "events written: {} in {:.2}s = {:.0} events/s",
        stats.n_events,
        elapsed.as_secs_f64(),
        stats.n_events as f64 / elapsed.as_secs_f64()
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn tempfile_dir(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("ladder-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn start_server(engine: Engine) -> anyhow::Result<(String, tokio::sync::oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(ladder_http::serve(listener, engine, async move {
        let _ = stopped.await;
    }));
    Ok((format!("http://{addr}"), stop))
}

async fn bench_api(concurrency: usize, duration: Duration) -> anyhow::Result<()> {
    let dir = tempfile_dir("api")?;
    let (engine, admin) = bench_world(&dir).await?;
    let token =
        engine.mint_token(&command_line_principal(), admin.id, "bench".into(), None, Timestamp::now()).await?.secret;
    let (base, stop) = start_server(engine).await?;
    println!(
        "api bench: {concurrency} clients for {}s, each looping POST /cases then POST /cases/{{id}}/escalate; the load generator runs in the same process on the same cores",
        duration.as_secs()
    );
    let load = case_load(&[base], &token, concurrency, duration).await?;
    load.report();
    let _ = stop.send(());
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// What [`case_load`] measured.
struct CaseLoad {
    /// Latencies of the `POST /cases` and the `POST /cases/{id}/escalate` that succeeded.
    opens: Vec<Duration>,
    escalations: Vec<Duration>,
    /// Requests answered with another status than expected.
    errors: usize,
    elapsed: Duration,
}

impl CaseLoad {
    fn all(&self) -> Vec<Duration> {
        self.opens.iter().chain(&self.escalations).copied().collect()
    }

    fn report(&self) {
        report("POST /cases", self.opens.clone(), self.elapsed);
        report("POST /cases/{id}/escalate", self.escalations.clone(), self.elapsed);
        report("all requests", self.all(), self.elapsed);
        println!("errors: {}", self.errors);
    }
}

/// `concurrency` clients loop `POST /cases` then `POST /cases/{id}/escalate` (to the
/// specialists team of [`bench_world`]) for `duration`; client `c` talks to server
/// `bases[c % bases.len()]`.
async fn case_load(bases: &[String], token: &str, concurrency: usize, duration: Duration) -> anyhow::Result<CaseLoad> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let (client, base, token) = (client.clone(), bases[c % bases.len()].clone(), token.to_string());
        tasks.push(tokio::spawn(async move {
            let (mut opens, mut escalations, mut errors) = (Vec::new(), Vec::new(), 0usize);
            let mut i = 0;
            while Instant::now() < deadline {
                i += 1;
                let t = Instant::now();
                let resp = client
                    .post(format!("{base}/api/v1/cases"))
                    .bearer_auth(&token)
                    .json(&json!({"subject": format!("client {c} case {i}"), "team": "frontline", "channel": "chat"}))
                    .send()
                    .await?;
                if resp.status().as_u16() != 201 {
                    errors += 1;
                    continue;
                }
                let case: serde_json::Value = resp.json().await?;
                opens.push(t.elapsed());
                let id = case["id"].as_str().context("case id")?;
                let t = Instant::now();
                let resp = client
                    .post(format!("{base}/api/v1/cases/{id}/escalate"))
                    .bearer_auth(&token)
                    .json(&json!({"kind": "hierarchical", "to_team": "specialists", "reason": "needs a specialist", "tried": "the standard script"}))
                    .send()
                    .await?;
                if resp.status().as_u16() == 200 {
                    let _ = resp.bytes().await?;
                    escalations.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            anyhow::Ok((opens, escalations, errors))
        }));
    }
    let mut load = CaseLoad { opens: Vec::new(), escalations: Vec::new(), errors: 0, elapsed: Duration::ZERO };
    for t in tasks {
        let (o, e, x) = t.await??;
        load.opens.extend(o);
        load.escalations.extend(e);
        load.errors += x;
    }
    load.elapsed = started.elapsed();
    Ok(load)
}

async fn bench_read(n_cases: usize, data_dir: PathBuf, requests: usize) -> anyhow::Result<()> {
    let (engine, admin) = bench_world(&data_dir).await?;
    let have = engine.store.stats().await?.n_cases as usize;
    if have < n_cases {
        seed_cases(&engine, &admin, have, n_cases).await?;
    }
    let stats = engine.store.stats().await?;
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
        if let Some(c) = engine.store.case_by_number(n).await? {
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
    let concurrency = 512;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(from));
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (engine, principal, next) = (engine.clone(), principal.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(w as u64);
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= to {
                    break;
                }
                let team = if rng.random_bool(0.7) { "frontline" } else { "specialists" };
                let priority = [Priority::Low, Priority::Normal, Priority::Normal, Priority::High, Priority::Urgent]
                    [rng.random_range(0..5)];
                let channel = ladder_core::Channel::ALL[rng.random_range(0..7)];
                let id = CaseId::new_v7();
                engine
                    .run(&principal, id, open_request(i, Some(team), priority, channel), None, None, Timestamp::now())
                    .await?;
                if rng.random_bool(0.6) {
                    let resolve =
                        CaseRequest::Resolve(ladder_core::command::Resolve { code: "fixed".into(), note: None });
                    engine.run(&principal, id, resolve, None, None, Timestamp::now()).await?;
                } else if team == "frontline" && rng.random_bool(0.2) {
                    let esc = CaseRequest::Escalate(Escalation {
                        kind: EscalationKind::Hierarchical,
                        initiator: Initiator::Agent,
                        to_level: None,
                        to_team: Some("specialists".into()),
                        to_user: None,
                        reason: "needs a specialist".into(),
                        tried: Some("script".into()),
                    });
                    engine.run(&principal, id, esc, None, None, Timestamp::now()).await?;
                }
                if i % 100_000 == 0 && i > from {
                    println!("  {i} cases after {:.0}s", started.elapsed().as_secs_f64());
                }
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    println!("seeded {} cases in {:.1}s", to - from, started.elapsed().as_secs_f64());
    Ok(())
}

/// A matrix of `n` rules shaped like a large contact center's: most rules test the case's
/// category (25 of them), channel or priority first, some only the customer. With
/// `functions`, every condition also calls a function, which only CEL can decide.
fn generated_matrix(n: usize, functions: bool) -> String {
    let mut s = String::from(
        "[calendars.support]\ntimezone = \"America/New_York\"\nhours = { \"mon-fri\" = \"08:00-20:00\" }\n\n\
         [[levels]]\nid = \"L1\"\nrespond = \"0m\"\n\n[[levels]]\nid = \"L2\"\nrespond = \"1h\"\ncalendar = \"support\"\n\n\
         [[levels]]\nid = \"L3\"\nrespond = \"24h\"\ncalendar = \"support\"\n\n",
    );
    let channels = ["phone", "email", "chat", "sms", "social", "web"];
    let priorities = ["low", "normal", "high", "urgent"];
    for i in 0..n {
        let category = format!("category-{}", i % 25);
        let when = match i % 10 {
            // Distinct thresholds keep every condition distinct (20,011 is prime).
            0..=5 => format!("case.category == \"{category}\" && customer.value >= {}", (i * 37) % 20_011),
            6 => format!(
                "case.channel == \"{}\" && \"tag-{}\" in case.tags && case.n_messages < {i}",
                channels[i % 6],
                i % 7
            ),
            7 => format!(
                "case.priority == \"{}\" && case.n_reopens > {} && case.n_messages < {i}",
                priorities[i % 4],
                i % 3
            ),
            8 => format!(
                "case.category == \"{category}\" && case.channel == \"{}\" && customer.value >= {i}",
                channels[i % 6]
            ),
            _ => format!("customer.value >= {} && customer.segment == \"segment-{}\"", 1000 + i, i % 5),
        };
        let when = if functions { format!("{when} && !case.subject.startsWith(\"spam-{}\")", i % 13) } else { when };
        let then = match i % 4 {
            0 => "{ escalate = \"L2\", priority = \"high\" }".to_string(),
            1 => format!("{{ tags = [\"rule-{i}\"] }}"),
            2 => "{ priority = \"urgent\" }".to_string(),
            _ => "{ notify = { who = \"assignee\", channel = \"chat\" } }".to_string(),
        };
        s.push_str(&format!("[[rules]]\nname = \"rule {i}\"\nwhen = '{when}'\nthen = {then}\n\n"));
    }
    s
}

fn bench_matrix(n_rules: usize, evaluations: usize, check_rules: usize) -> anyhow::Result<()> {
    use ladder_core::matrix::{self, CompiledMatrix, Facts, Trigger};

    let facts = Facts {
        case: json!({
            "id": "0193a0c2-7a51-7c3e-9b1e-1f2d3c4b5a69", "number": 1042, "subject": "Charged twice",
            "description": "My card was charged twice for the November invoice.", "category": "category-3",
            "channel": "email", "priority": "normal", "status": "new", "level": "L1", "team": "frontline",
            "assigned": false, "tags": ["tag-1", "tag-4"], "custom_fields": {"order": "A-1001"},
            "n_messages": 1, "n_escalations": 0, "n_reopens": 0, "created_at": "2026-11-23T14:55:00Z",
        }),
        customer: json!({"id": "c1", "name": "Wei", "value": 12_500.0, "segment": "vip", "language": "en", "time_zone": "", "custom_fields": {}}),
        contact: json!({"channel": "email", "body": "Charged twice", "from_customer": true}),
        event: json!({"type": "opened", "version": 1}),
        now: Timestamp::now(),
    };
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    for (label, functions) in [("simple tests", false), ("every condition also calls a function", true)] {
        let source = generated_matrix(n_rules, functions);
        let (parsed, _) = matrix::parse(&source, "bench.toml").map_err(|e| anyhow::anyhow!("{}", e[0]))?;
        let compiled = CompiledMatrix::compile(parsed, 1).map_err(|e| anyhow::anyhow!("{}", e[0]))?;
        let mut fired = 0;
        let mut judged = 0;
        let mut samples = Vec::with_capacity(evaluations);
        for i in 0..evaluations + evaluations / 10 {
            let started = Instant::now();
            let e = std::hint::black_box(compiled.evaluate(Trigger::CaseOpened, std::hint::black_box(&facts)));
            let took = started.elapsed();
            // The first tenth warms caches up and is not counted.
            if i >= evaluations / 10 {
                samples.push(took);
            }
            (fired, judged) = (e.fired.len(), e.considered.len());
        }
        samples.sort();
        println!(
            "matrix evaluate ({label}): {n_rules} rules, {judged} left after the index and the JSON tests, {fired} fired; n={} p50={:.1}µs p99={:.1}µs max={:.1}µs",
            samples.len(),
            us(percentile(&samples, 0.50)),
            us(percentile(&samples, 0.99)),
            us(*samples.last().unwrap_or(&Duration::ZERO)),
        );
        let mut unindexed = Vec::with_capacity(1000);
        for _ in 0..1000 {
            let started = Instant::now();
            std::hint::black_box(compiled.evaluate_unindexed(Trigger::CaseOpened, std::hint::black_box(&facts)));
            unindexed.push(started.elapsed());
        }
        unindexed.sort();
        println!(
            "  every condition through CEL (no index), for comparison: n=1000 p50={:.1}µs p99={:.1}µs",
            us(percentile(&unindexed, 0.50)),
            us(percentile(&unindexed, 0.99)),
        );
    }

    let big = generated_matrix(check_rules, true);
    let mut runs = Vec::new();
    let mut n_diagnostics = 0;
    for _ in 0..5 {
        let started = Instant::now();
        n_diagnostics = matrix::check(std::hint::black_box(&big), "big.toml", None).len();
        runs.push(started.elapsed());
    }
    runs.sort();
    println!(
        "matrix check: {check_rules} rules, {} KiB, {n_diagnostics} diagnostics; 5 runs, best {:.0}ms median {:.0}ms worst {:.0}ms",
        big.len() / 1024,
        runs[0].as_secs_f64() * 1000.0,
        runs[2].as_secs_f64() * 1000.0,
        runs[4].as_secs_f64() * 1000.0,
    );
    Ok(())
}

fn bench_calendar(n: usize) -> anyhow::Result<()> {
    use ladder_core::matrix;
    use ladder_core::sla::{BusinessCalendar, add_business_time};

    let source = include_str!("../../../examples/contact-center.toml");
    let (m, _) = matrix::parse(source, "contact-center.toml").map_err(|e| anyhow::anyhow!("{}", e[0]))?;
    let calendar = m.calendars.get("support").context("the example has no 'support' calendar")?;
    let business = BusinessCalendar::new(calendar)?;
    let target = jiff::SignedDuration::from_hours(8);
    // Starting instants spread over 2026 (holidays, overrides, weekends, both DST changes).
    let mut rng = StdRng::seed_from_u64(5);
    let year_start = "2026-01-01T00:00:00Z".parse::<Timestamp>()?.as_second();
    let starts: Vec<Timestamp> = (0..n)
        .map(|_| Timestamp::from_second(year_start + rng.random_range(0..365 * 86_400)))
        .collect::<Result<_, _>>()?;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mut samples = Vec::with_capacity(n);
    let mut last = Timestamp::UNIX_EPOCH;
    for (i, from) in starts.iter().chain(starts.iter().take(n / 10)).enumerate() {
        let started = Instant::now();
        last = std::hint::black_box(business.add(std::hint::black_box(*from), target))?;
        let took = started.elapsed();
        // The first tenth warms caches up and is not counted.
        if i >= n / 10 {
            samples.push(took);
        }
    }
    samples.sort();
    println!(
        "add_business_time (BusinessCalendar, time zone resolved once): support calendar, 8h target, n={} p50={:.2}µs p99={:.2}µs max={:.2}µs (last deadline {last})",
        samples.len(),
        us(percentile(&samples, 0.50)),
        us(percentile(&samples, 0.99)),
        us(*samples.last().unwrap_or(&Duration::ZERO)),
    );
    let started = Instant::now();
    for from in &starts {
        std::hint::black_box(business.add(std::hint::black_box(*from), target))?;
    }
    println!("  back to back: {:.2}µs per deadline on average", us(started.elapsed()) / n as f64);
    let mut oneshot = Vec::with_capacity(10_000);
    for from in starts.iter().take(10_000) {
        let started = Instant::now();
        std::hint::black_box(add_business_time(calendar, std::hint::black_box(*from), target))?;
        oneshot.push(started.elapsed());
    }
    oneshot.sort();
    println!(
        "  free function add_business_time (looks the time zone up and copies the calendar on every call): n={} p50={:.2}µs p99={:.2}µs",
        oneshot.len(),
        us(percentile(&oneshot, 0.50)),
        us(percentile(&oneshot, 0.99)),
    );
    Ok(())
}

/// The matrix `bench timers` runs under: one resolve target per level, every hour counts,
/// no warnings, so a clock's only fire is its breach.
const TIMERS_MATRIX: &str = "[sla]\nwarn_at = []\n\n\
    [[levels]]\nid = \"L1\"\nteams = [\"frontline\"]\nresolve = \"90d\"\n\n\
    [[levels]]\nid = \"L2\"\nteams = [\"specialists\"]\nresolve = \"90d\"\n";

/// The resolve target of [`TIMERS_MATRIX`]: a case opened at `t` breaches at `t + this`.
const TIMERS_TARGET: jiff::SignedDuration = jiff::SignedDuration::from_hours(90 * 24);

/// [`bench_world`] with [`TIMERS_MATRIX`] in force.
async fn timers_world(data_dir: &std::path::Path) -> anyhow::Result<(Engine, User)> {
    timers_world_at(&Location::Sqlite(data_dir.to_path_buf())).await
}

/// [`timers_world`] at any location.
async fn timers_world_at(location: &Location) -> anyhow::Result<(Engine, User)> {
    let (engine, admin) = bench_world_at(location).await?;
    match engine.store.active_matrix().await? {
        Some(v) if v.source == TIMERS_MATRIX => engine.load_matrix().await?,
        _ => {
            let now = Timestamp::now();
            let invalid = |e| match e {
                ladder_engine::rules::MatrixError::Invalid(d) => {
                    anyhow::anyhow!(
                        "the bench matrix is invalid: {}",
                        d.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("; ")
                    )
                }
                ladder_engine::rules::MatrixError::Store(e) => anyhow::anyhow!("{e}"),
            };
            engine
                .put_matrix_draft(&command_line_principal(), "bench-timers".into(), TIMERS_MATRIX.into(), now)
                .await
                .map_err(invalid)?;
            engine.activate_matrix(&command_line_principal(), "bench-timers".into(), now).await.map_err(invalid)?;
        }
    }
    Ok((engine, admin))
}

/// Opens `opened_at.len()` cases through the real command path (512 writers), case `i`
/// "opened" at `opened_at[i]`, so its resolve clock falls due at `opened_at[i] + 90d`.
/// Returns the case ids in the same order.
async fn seed_clocks(engine: &Engine, admin: &User, opened_at: Vec<Timestamp>) -> anyhow::Result<Vec<CaseId>> {
    let principal = principal_of(admin);
    let n = opened_at.len();
    let opened_at = Arc::new(opened_at);
    let ids: Arc<Vec<CaseId>> = Arc::new((0..n).map(|_| CaseId::new_v7()).collect());
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..512 {
        let (engine, principal, next, ids, opened_at) =
            (engine.clone(), principal.clone(), next.clone(), ids.clone(), opened_at.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(w as u64);
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let team = if rng.random_bool(0.7) { "frontline" } else { "specialists" };
                let priority = [Priority::Low, Priority::Normal, Priority::Normal, Priority::High, Priority::Urgent]
                    [rng.random_range(0..5)];
                let channel = Channel::ALL[rng.random_range(0..7)];
                engine
                    .run(&principal, ids[i], open_request(i, Some(team), priority, channel), None, None, opened_at[i])
                    .await?;
                if i % 100_000 == 0 && i > 0 {
                    println!("  {i} cases after {:.0}s", started.elapsed().as_secs_f64());
                }
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let took = started.elapsed().as_secs_f64();
    println!("  seeded {n} cases with an armed resolve clock in {took:.1}s = {:.0} cases/s", n as f64 / took);
    Ok(Arc::try_unwrap(ids).unwrap_or_else(|a| (*a).clone()))
}

/// Far-future clocks (due 90 days from now), topped up to `n` armed timers.
async fn seed_far_clocks(engine: &Engine, admin: &User, n: usize) -> anyhow::Result<()> {
    let armed = engine.store.armed_timers().await? as usize;
    if armed < n {
        let todo = n - armed;
        println!("seeding {todo} far-future clocks ({armed} armed already; reused on later runs) …");
        // Opened over the last 30 days, so they fall due spread over days 60 to 90 from now.
        let now = Timestamp::now();
        let span_ns = 30 * 86_400 * 1_000_000_000_i64 / todo as i64;
        let opened = (0..todo).map(|i| now - jiff::SignedDuration::from_nanos(i as i64 * span_ns)).collect();
        seed_clocks(engine, admin, opened).await?;
    }
    Ok(())
}

/// `VmRSS` and `VmHWM` of a process, in MiB.
fn rss_mib(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status.lines().find(|l| l.starts_with(name)).with_context(|| format!("no {name} in status"))?;
        let kib: f64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse()?;
        Ok(kib / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

async fn bench_timers(
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
    let (engine, admin) = timers_world(&data_dir).await?;
    // Timers an interrupted earlier run left armed in the past would be caught up at start.
    if let Some(next) = engine.store.next_timer_at().await?
        && next < Timestamp::now() + jiff::SignedDuration::from_hours(24)
    {
        let r = engine.fire_due(Timestamp::now() + jiff::SignedDuration::from_hours(24)).await?;
        println!("fired {} timers an earlier run left due ({} stale)", r.fired, r.stale);
    }
    seed_far_clocks(&engine, &admin, n_far).await?;

    // The window: clock i falls due at window_start + i/due_rate. The server is spawned 5 s
    // before the window opens; the allowance covers seeding the window at ≥ 1,500 cases/s.
    let allowance = jiff::SignedDuration::from_secs_f64(n_window as f64 / 1500.0 + 2.0);
    let window_start = Timestamp::now() + allowance + jiff::SignedDuration::from_secs(5);
    let step_ns = 1_000_000_000 / due_rate.max(1) as i64;
    let due: Vec<Timestamp> =
        (0..n_window).map(|i| window_start + jiff::SignedDuration::from_nanos(i as i64 * step_ns)).collect();
    println!("seeding the due window ({n_window} cases opened 90 days before their clock falls due) …");
    let window_ids = seed_clocks(&engine, &admin, due.iter().map(|d| *d - TIMERS_TARGET).collect()).await?;
    let armed = engine.store.armed_timers().await?;
    println!("armed timers before the restart: {armed}");
    drop(engine);

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
    // A rebuild while the bench ran replaces the file; /proc/self/exe still runs this build.
    let exe = std::env::current_exe().ok().filter(|p| p.exists()).unwrap_or_else(|| "/proc/self/exe".into());
    let mut child = tokio::process::Command::new(exe)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log_path)?)
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("server pid")?;
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stdout.take().context("stdout")?));
    let base = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .context("the server did not announce itself within 60 s")??
            .with_context(|| format!("the server exited; see {}", log_path.display()))?;
        if let Some(addr) = line.strip_prefix("ladder listening on ") {
            break addr.trim().to_string();
        }
    };
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
        listening.as_secs_f64() * 1000.0,
        ready.as_secs_f64() * 1000.0
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
    // Stop it as an operator would (SIGTERM), then make sure.
    let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    if tokio::time::timeout(Duration::from_secs(15), child.wait()).await.is_err() {
        println!("warning: the server did not stop within 15 s of SIGTERM; killing it");
        child.kill().await?;
    }
    std::fs::remove_file(&log_path).ok();

    // The lag, from the events the server recorded.
    let (engine, _) = timers_world(&data_dir).await?;
    let BreachTally { lags, missing, duplicates, early } = breach_tally(&engine, &window_ids).await?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "breach lag (event time − due instant) at {due_rate}/s: fired {} of {n_window}, p50={:.1}ms p95={:.1}ms p99={:.1}ms max={:.1}ms; missing {missing}, duplicates {duplicates}, early {early}",
        lags.len(),
        ms(percentile(&lags, 0.50)),
        ms(percentile(&lags, 0.95)),
        ms(percentile(&lags, 0.99)),
        ms(*lags.last().unwrap_or(&Duration::ZERO)),
    );

    // Sweep cost with nothing due, by number of armed clocks.
    let mut rows = Vec::new();
    for n in [10_000, 100_000] {
        if n >= clocks {
            continue;
        }
        let dir = tempfile_dir(&format!("timers-{n}"))?;
        let (small, small_admin) = timers_world(&dir).await?;
        seed_far_clocks(&small, &small_admin, n).await?;
        rows.push(sweep_cost(&small, sweeps).await?);
        drop(small);
        std::fs::remove_dir_all(&dir).ok();
    }
    rows.push(sweep_cost(&engine, sweeps).await?);
    println!("idle sweep (nothing due), {sweeps} calls each:");
    println!("  armed clocks | fire_due p50 | fire_due p99 | next_timer_at p50 | next_timer_at p99");
    for (armed, fire, next) in rows {
        println!(
            "  {armed:>12} | {:>10.1}µs | {:>10.1}µs | {:>15.1}µs | {:>15.1}µs",
            percentile(&fire, 0.5).as_secs_f64() * 1e6,
            percentile(&fire, 0.99).as_secs_f64() * 1e6,
            percentile(&next, 0.5).as_secs_f64() * 1e6,
            percentile(&next, 0.99).as_secs_f64() * 1e6,
        );
    }
    Ok(())
}

/// Times `fire_due(now)` and `next_timer_at()` with nothing due: (armed, sorted fire_due
/// samples, sorted next_timer_at samples).
async fn sweep_cost(engine: &Engine, sweeps: usize) -> anyhow::Result<(u64, Vec<Duration>, Vec<Duration>)> {
    let armed = engine.store.armed_timers().await?;
    let (mut fire, mut next) = (Vec::with_capacity(sweeps), Vec::with_capacity(sweeps));
    for i in 0..sweeps + sweeps / 10 {
        let t = Instant::now();
        let r = engine.fire_due(Timestamp::now()).await?;
        let took = t.elapsed();
        anyhow::ensure!(r.fired == 0 && r.stale == 0, "an idle sweep fired {} timers", r.fired + r.stale);
        let t = Instant::now();
        std::hint::black_box(engine.store.next_timer_at().await?);
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

/// Creates `n` agents in `team`, returning them.
async fn bench_agents(engine: &Engine, team: TeamId, prefix: &str, n: usize) -> anyhow::Result<Vec<User>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let user = User {
            id: UserId::new_v7(),
            name: format!("{prefix}{i}"),
            display_name: format!("{prefix} {i}"),
            email: None,
            role: Role::Agent,
            teams: vec![team],
            skills: if i % 3 == 0 { vec!["technical".into()] } else { vec![] },
            levels: vec![],
            active: true,
            created_at: Timestamp::now(),
        };
        out.push(engine.store.create_user(user, None, None).await?);
    }
    Ok(out)
}

async fn bench_routing(
    n_agents: usize,
    n_queued: usize,
    n_pullers: usize,
    n_decisions: usize,
    duration: Duration,
    think: Duration,
) -> anyhow::Result<()> {
    use ladder_core::agents::Presence;
    let dir = tempfile_dir("routing")?;
    let (engine, admin) = bench_world(&dir).await?;
    let principal = principal_of(&admin);
    let now = Timestamp::now();
    // One team holds the big queue and the pullers; the other agents are spread over 19 teams.
    let mut teams = Vec::new();
    for t in 0..20 {
        let team = Team {
            id: TeamId::new_v7(),
            slug: format!("t{t}"),
            name: format!("Team {t}"),
            level: LevelId::new("L1"),
            kind: TeamKind::FrontLine,
            skills: vec!["technical".into()],
            created_at: now,
        };
        teams.push(engine.store.create_team(team, None).await?);
    }
    let pullers = bench_agents(&engine, teams[0].id, "puller", n_pullers).await?;
    let per_team = n_agents.saturating_sub(n_pullers) / 19;
    let mut routed_teams = Vec::new();
    for team in &teams[1..] {
        routed_teams.push((team.clone(), bench_agents(&engine, team.id, &format!("{}-a", team.slug), per_team).await?));
    }
    println!(
        "routing bench: {} agents ({} pullers in t0, {per_team} in each of 19 teams), {n_queued} cases queued in t0",
        n_pullers + per_team * 19,
        n_pullers
    );
    // The queue: nobody of t0 is available yet, so every case waits.
    let started = Instant::now();
    let n_tasks = 256.min(n_queued.max(1));
    let mut tasks = Vec::new();
    for w in 0..n_tasks {
        let (engine, principal) = (engine.clone(), principal.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < n_queued {
                let priority = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent][i % 4];
                let request = open_request(i, Some("t0"), priority, Channel::Email);
                engine.run(&principal, CaseId::new_v7(), request, None, None, Timestamp::now()).await?;
                i += n_tasks;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    println!("seeded {n_queued} queued cases in {:.1}s", started.elapsed().as_secs_f64());
    let mut decision_cases = Vec::with_capacity(n_decisions);
    for i in 0..n_decisions {
        let (team, _) = &routed_teams[i % routed_teams.len()];
        let id = CaseId::new_v7();
        let request = open_request(i, Some(&team.slug), Priority::Normal, Channel::Chat);
        engine.run(&principal, id, request, None, None, Timestamp::now()).await?;
        decision_cases.push(id);
    }
    for user in pullers.iter().chain(routed_teams.iter().flat_map(|(_, a)| a.iter())) {
        engine.store.set_presence(user.id, Presence::Available, now).await?;
    }

    // The pure choice among the agents of one team, and among all 2,000 as one team.
    for size in [per_team, n_pullers + per_team * 19] {
        let candidates: Vec<ladder_core::routing::Candidate> = (0..size)
            .map(|i| ladder_core::routing::Candidate {
                user_id: UserId::new_v7(),
                name: format!("a{i}"),
                role: Role::Agent,
                available: i % 5 != 0,
                presence_since: now,
                skills: if i % 3 == 0 {
                    [("technical".to_string(), (i % 5) as u8 + 1)].into()
                } else {
                    Default::default()
                },
                languages: if i % 4 == 0 { vec!["es".into()] } else { vec![] },
                capacity: 3,
                load: (i % 4) as u32,
                handled_customer_before: i == size / 2,
            })
            .collect();
        let needs = ladder_core::routing::RouteNeeds {
            skill: Some("technical".into()),
            language: Some("en".into()),
            min_role: None,
        };
        let mut samples = Vec::with_capacity(n_decisions);
        let t0 = Instant::now();
        for _ in 0..n_decisions {
            let t = Instant::now();
            std::hint::black_box(ladder_core::routing::choose(&needs, std::hint::black_box(&candidates)));
            samples.push(t.elapsed());
        }
        report(&format!("routing choice among {size} candidates (pure)"), samples, t0.elapsed());
    }

    // Whole decisions on cases queued in the 19 teams before their agents came online: the
    // reads of the team's agents and loads, the choice, and the routed + assigned write.
    let mut samples = Vec::with_capacity(decision_cases.len());
    let t0 = Instant::now();
    for id in &decision_cases {
        let t = Instant::now();
        let case = engine.store.case(*id).await?.context("a seeded case")?;
        engine.route_case(&case, false, Timestamp::now()).await?;
        samples.push(t.elapsed());
    }
    report(&format!("routing decision end to end (team of {per_team}: reads + choice + write)"), samples, t0.elapsed());

    // `next` over HTTP from many agents at once.
    let mut tokens = Vec::new();
    for user in &pullers {
        tokens.push(engine.mint_token(&command_line_principal(), user.id, "bench".into(), None, now).await?.secret);
    }
    // The same paced pulls without HTTP (the engine called directly, for a short while): how
    // much of `next`'s time is the claim itself.
    {
        let started = Instant::now();
        let deadline = started + duration / 3;
        let mut tasks = Vec::new();
        for (k, user) in pullers.iter().enumerate() {
            let (engine, principal, team) = (engine.clone(), principal_of(user), teams[0].id);
            tasks.push(tokio::spawn(async move {
                let mut samples = Vec::new();
                tokio::time::sleep(think.mul_f64(k as f64 / n_pullers.max(1) as f64)).await;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let got = engine.claim_next(&principal, team, Timestamp::now()).await?;
                    samples.push(t.elapsed());
                    if got.is_none() {
                        break;
                    }
                    tokio::time::sleep(think).await;
                }
                anyhow::Ok(samples)
            }));
        }
        let mut samples = Vec::new();
        for t in tasks {
            samples.extend(t.await??);
        }
        let label = format!("claim_next in process, {n_pullers} agents, {}ms between cases", think.as_millis());
        report(&label, samples, started.elapsed());
    }
    let (base, stop) = start_server(engine.clone()).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(n_pullers).build()?;
    // First paced (each agent pauses `think` between cases), then back to back.
    for pause in [think, Duration::ZERO] {
        let started = Instant::now();
        let deadline = started + duration;
        let mut tasks = Vec::new();
        for (k, token) in tokens.iter().enumerate() {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut got = Vec::new();
                // Spread the paced pullers' first calls over one pause.
                tokio::time::sleep(pause.mul_f64(k as f64 / n_pullers.max(1) as f64)).await;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let resp = client.post(format!("{base}/api/v1/queues/t0/next")).bearer_auth(&token).send().await?;
                    let status = resp.status().as_u16();
                    let body: serde_json::Value =
                        if status == 200 { resp.json().await? } else { serde_json::Value::Null };
                    samples.push(t.elapsed());
                    match status {
                        200 => got.push(body["id"].as_str().unwrap_or_default().to_string()),
                        204 => break,
                        other => anyhow::bail!("next answered {other}"),
                    }
                    tokio::time::sleep(pause).await;
                }
                anyhow::Ok((samples, got))
            }));
        }
        let (mut samples, mut got) = (Vec::new(), Vec::new());
        for t in tasks {
            let (s, g) = t.await??;
            samples.extend(s);
            got.extend(g);
        }
        let elapsed = started.elapsed();
        let label = if pause.is_zero() {
            format!("POST /queues/t0/next, {n_pullers} agents back to back")
        } else {
            format!("POST /queues/t0/next, {n_pullers} agents, {}ms between cases", pause.as_millis())
        };
        report(&label, samples, elapsed);
        let distinct: std::collections::HashSet<&String> = got.iter().collect();
        println!(
            "cases handed out: {} (distinct: {}), left in the queue: {}",
            got.len(),
            distinct.len(),
            engine.store.queue_len(teams[0].id).await?
        );
    }
    let _ = stop.send(());
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
