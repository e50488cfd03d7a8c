//! `ladder bench …`: the figures in docs/benchmarks.md. Run with a release build. Each
//! benchmark prints what it measured, on what, and how long it took; none asserts a time.

use std::path::PathBuf;
use std::time::Duration;

mod api;
mod articles;
mod calendar;
mod case_size;
mod cluster;
mod console;
mod crash;
mod email;
mod hostile;
mod login;
mod matrix;
mod measure;
mod metrics;
mod outbox;
mod pg_schema;
mod read;
mod routing;
mod server;
mod simulate;
mod store;
mod timers;
mod world;

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
    /// Inbound email: raw messages parsed, classified, threaded and written through the
    /// intake, messages per second.
    Email {
        /// Messages in total (threads of 5: a new sender, then 4 replies).
        #[arg(long, default_value_t = 20_000)]
        messages: usize,
        /// Concurrent senders.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// A PostgreSQL database to write to, in a schema of its own dropped afterwards;
        /// without it, a new SQLite store in a temporary directory.
        #[arg(long = "database")]
        database: Option<String>,
    },
    /// Crash safety: cycles of mixed load against `ladder serve` on SQLite, killed with
    /// SIGKILL at a random moment and restarted; checks every acknowledged write survived
    /// and every due SLA clock fired exactly once. Exits non-zero on any loss.
    Crash {
        #[arg(long, default_value_t = 25)]
        cycles: usize,
        /// Concurrent clients driving the load.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Where the SQLite database lives (default: a new temporary directory).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Seed of the random kill moments and load mix.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The longest load before the kill, in milliseconds.
        #[arg(long, default_value_t = 1500)]
        max_load_ms: u64,
    },
    /// Memory under concurrent logins: RSS of `ladder serve` idle, at its peak and after
    /// bursts of concurrent `POST /api/v1/auth/login`.
    Login {
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
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
    /// Hostile input: `/healthz` latency while `--checks` clients send matrices with
    /// runaway CEL conditions to `POST /api/v1/matrix/check`, beside the same server idle.
    Hostile {
        #[arg(long, default_value_t = 10)]
        checks: usize,
        /// How long each phase (idle, then under load) lasts.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
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
    /// The notification outbox: signed webhooks per second to a local receiver (a backlog
    /// sent by the delivery worker), and the latency from an escalation's acknowledgement
    /// to its notification reaching the receiver (median/p99).
    Outbox {
        /// Notifications queued before the worker starts.
        #[arg(long, default_value_t = 20_000)]
        backlog: usize,
        /// Escalations timed afterwards, at `--rate` per second.
        #[arg(long, default_value_t = 1000)]
        paced: usize,
        #[arg(long, default_value_t = 200)]
        rate: usize,
        /// Deliveries in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
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
    /// A write (an internal note) on a case holding many messages next to the same write on
    /// a new case: median ms per write of each, several runs.
    CaseSize {
        /// Messages the big case holds.
        #[arg(long, default_value_t = 1000)]
        messages: usize,
        /// Characters per message of the big case (65,536 is the most a body takes).
        #[arg(long, default_value_t = 65_536)]
        body_chars: usize,
        /// Writes of each kind per run.
        #[arg(long, default_value_t = 200)]
        writes: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// A PostgreSQL database to run in (a schema of its own, dropped after); without
        /// it, a new SQLite store in a temporary directory.
        #[arg(long = "database")]
        database: Option<String>,
    },
    /// Knowledge-article suggestions for a case with many published articles: p50/p95/p99 ms.
    Articles {
        #[arg(long, default_value_t = 10_000)]
        articles: usize,
        /// Cases to ask suggestions for.
        #[arg(long, default_value_t = 200)]
        cases: usize,
        /// Times each case is asked.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// A PostgreSQL database to run in (a schema of its own, dropped after); without
        /// it, a new SQLite store in a temporary directory.
        #[arg(long = "database")]
        database: Option<String>,
    },
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    println!("machine: {} cores, {}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), build_kind());
    match command {
        BenchCommand::Store { events, concurrency, database } => {
            store::bench_store(events, concurrency, database).await
        }
        BenchCommand::Email { messages, concurrency, database } => {
            email::bench_email(messages, concurrency, database).await
        }
        BenchCommand::Crash { cycles, clients, data_dir, seed, max_load_ms } => {
            crash::bench_crash(cycles, clients, data_dir, seed, max_load_ms).await
        }
        BenchCommand::Login { concurrency, rounds } => login::bench_login(concurrency, rounds).await,
        BenchCommand::Api { concurrency, seconds } => api::bench_api(concurrency, Duration::from_secs(seconds)).await,
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
        BenchCommand::Hostile { checks, seconds } => hostile::bench_hostile(checks, Duration::from_secs(seconds)).await,
        BenchCommand::Read { cases, data_dir, requests } => read::bench_read(cases, data_dir, requests).await,
        BenchCommand::Matrix { rules, evaluations, check_rules } => {
            matrix::bench_matrix(rules, evaluations, check_rules)
        }
        BenchCommand::Outbox { backlog, paced, rate, concurrency } => {
            outbox::bench_outbox(backlog, paced, rate, concurrency).await
        }
        BenchCommand::Calendar { deadlines } => calendar::bench_calendar(deadlines),
        BenchCommand::Timers { clocks, data_dir, due_rate, seconds, sweeps } => {
            timers::bench_timers(clocks, data_dir, due_rate, seconds, sweeps).await
        }
        BenchCommand::Metrics { events, data, queries } => metrics::bench_metrics(events, data, queries).await,
        BenchCommand::Routing { agents, queued, pullers, decisions, seconds, think_ms } => {
            let pace = Duration::from_millis(think_ms);
            routing::bench_routing(agents, queued, pullers, decisions, Duration::from_secs(seconds), pace).await
        }
        BenchCommand::Simulate { cases, data_dir } => simulate::bench_simulate(cases, data_dir).await,
        BenchCommand::Console { cases, data_dir, requests } => console::bench_console(cases, data_dir, requests).await,
        BenchCommand::CaseSize { messages, body_chars, writes, runs, database } => {
            case_size::bench_case_size(messages, body_chars, writes, runs, database).await
        }
        BenchCommand::Articles { articles, cases, rounds, database } => {
            articles::bench_articles(articles, cases, rounds, database).await
        }
    }
}

fn build_kind() -> &'static str {
    if cfg!(debug_assertions) { "DEBUG build (figures are not meaningful)" } else { "release build" }
}
