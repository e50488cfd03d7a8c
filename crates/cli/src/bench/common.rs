//! What the benchmarks share: the store they start from, a server in this process, the
//! HTTP load of `bench api` and `bench cluster`, and how latencies are summed up and printed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::Timestamp;
use ladder_core::directory::{LevelId, Team, TeamKind, User};
use ladder_core::ids::{TeamId, UserId};
use ladder_core::{Channel, Priority, Role};
use ladder_engine::{CaseRequest, Engine, OpenRequest};
use ladder_store::{Location, Store, StoreConfig};
use serde_json::json;

pub(super) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

pub(super) fn report(label: &str, mut samples: Vec<Duration>, elapsed: Duration) {
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
pub(super) async fn bench_world(data_dir: &std::path::Path) -> anyhow::Result<(Engine, User)> {
    bench_world_at(&Location::Sqlite(data_dir.to_path_buf())).await
}

/// [`bench_world`] at any location (a SQLite data directory or a PostgreSQL database).
pub(super) async fn bench_world_at(location: &Location) -> anyhow::Result<(Engine, User)> {
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

pub(super) fn open_request(i: usize, team: Option<&str>, priority: Priority, channel: Channel) -> CaseRequest {
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

pub(super) fn tempfile_dir(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("ladder-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

pub(super) async fn start_server(engine: Engine) -> anyhow::Result<(String, tokio::sync::oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(ladder_http::serve(listener, engine, async move {
        let _ = stopped.await;
    }));
    Ok((format!("http://{addr}"), stop))
}

/// What [`case_load`] measured.
pub(super) struct CaseLoad {
    /// Latencies of the `POST /cases` and the `POST /cases/{id}/escalate` that succeeded.
    pub(super) opens: Vec<Duration>,
    pub(super) escalations: Vec<Duration>,
    /// Requests answered with another status than expected.
    pub(super) errors: usize,
    pub(super) elapsed: Duration,
}

impl CaseLoad {
    pub(super) fn all(&self) -> Vec<Duration> {
        self.opens.iter().chain(&self.escalations).copied().collect()
    }

    pub(super) fn report(&self) {
        report("POST /cases", self.opens.clone(), self.elapsed);
        report("POST /cases/{id}/escalate", self.escalations.clone(), self.elapsed);
        report("all requests", self.all(), self.elapsed);
        println!("errors: {}", self.errors);
    }
}

/// `concurrency` clients loop `POST /cases` then `POST /cases/{id}/escalate` (to the
/// specialists team of [`bench_world`]) for `duration`; client `c` talks to server
/// `bases[c % bases.len()]`.
pub(super) async fn case_load(
    bases: &[String],
    token: &str,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<CaseLoad> {
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
