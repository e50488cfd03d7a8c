//! `ladder bench metrics`: the escalation-metrics query over a store of `--events` events
//! (10,000,000 by default: about a million cases over the last year), populated once through
//! the real command path (`Engine::run`, the contact-center matrix in force, so rules escalate
//! and notify) into `--data` and reused on later runs. Then `GET /api/v1/metrics` over HTTP
//! and `Store::metrics` directly, for a day, a month, a quarter and a year, ungrouped and by
//! every dimension.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use ladder_core::access::Principal;
use ladder_core::command::{RecordCsat, Reopen};
use ladder_core::directory::{Customer, LevelId, Team, TeamKind, User};
use ladder_core::event::{EscalationKind, Initiator};
use ladder_core::ids::{CaseId, CustomerId, TeamId, UserId};
use ladder_core::metrics::Dimension;
use ladder_core::{Channel, Priority, Role};
use ladder_engine::credentials::principal_of;
use ladder_engine::{
    Assignment, CaseRequest, DeEscalation, Engine, OpenRequest, TransferRequest, command_line_principal,
};
use ladder_store::{Store, StoreConfig};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};

use super::measure::{ms, percentile};
use super::server::start_server;
use crate::requests::{self, escalation, public_message, resolve};

/// Teams of the populated center: three front-line teams, back office, specialists,
/// supervisors and management (the contact-center example's slugs, so its rules apply).
const TEAMS: &[(&str, &str, TeamKind, usize)] = &[
    ("frontline", "L1", TeamKind::FrontLine, 80),
    ("frontline-west", "L1", TeamKind::FrontLine, 80),
    ("frontline-night", "L1", TeamKind::FrontLine, 80),
    ("outbound", "L1", TeamKind::Outbound, 10),
    ("billing", "L2", TeamKind::BackOffice, 30),
    ("tech", "L2", TeamKind::Specialist, 30),
    ("supervisors", "L2", TeamKind::Management, 12),
    ("management", "L3", TeamKind::Management, 4),
];
const N_CUSTOMERS: usize = 20_000;
const CATEGORIES: &[&str] = &["billing", "technical", "account", "shipping", "general", "sales", "returns"];

/// The people of the populated center, by team slug.
struct World {
    admin: Principal,
    staff: Vec<(String, Vec<String>)>,
    customers: Vec<CustomerId>,
}

impl World {
    fn members(&self, team: &str) -> &[String] {
        self.staff.iter().find(|(t, _)| t == team).map(|(_, m)| m.as_slice()).unwrap_or(&[])
    }
}

pub async fn bench_metrics(n_events: usize, data: PathBuf, queries: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(&data)?;
    let store = Store::open(&data, StoreConfig::default())?;
    let engine = Engine::new(store.clone());
    engine.load_matrix().await?;
    let world = Arc::new(world(&store, &engine, &data).await?);
    let have = store.stats().await?.n_events as usize;
    if have < n_events {
        populate(&store, &engine, &world, have, n_events).await?;
    }
    let stats = store.stats().await?;
    println!("metrics bench: {} cases, {} events in {}", stats.n_cases, stats.n_events, data.display());

    let token = engine
        .mint_token(&command_line_principal(), world.admin.user_id, "bench".into(), None, Timestamp::now())
        .await?
        .secret;
    let (base, stop) = start_server(engine.clone()).await?;
    let client = reqwest::Client::new();
    let yesterday = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date().yesterday()?;
    let periods = [("day", 1), ("month", 30), ("quarter", 91), ("year", 365)];
    let groupings: Vec<Option<Dimension>> = std::iter::once(None)
        .chain(Dimension::ALL.into_iter().filter(|d| !matches!(d, Dimension::All | Dimension::TeamAgent)).map(Some))
        .collect();
    let (mut worst_store, mut worst_http) = ((Duration::ZERO, String::new()), (Duration::ZERO, String::new()));
    println!("{queries} queries per line, the period ending on one of the last 30 days in turn (ragged months)");
    println!(
        "{:<8} {:<10} {:>5} {:>9}   store p50/p95/p99 ms      HTTP p50/p95/p99 ms",
        "period", "group_by", "rows", "cases"
    );
    for (period, days) in periods {
        for group_by in &groupings {
            let mut direct = Vec::with_capacity(queries);
            let mut http = Vec::with_capacity(queries);
            let (mut rows, mut cases) = (0, 0);
            for i in 0..queries {
                let to = yesterday.checked_sub(jiff::Span::new().days((i % 30) as i64))?;
                let from = to.checked_sub(jiff::Span::new().days(days - 1))?;
                let t = Instant::now();
                let result = store.metrics(from, to, *group_by).await?;
                direct.push(t.elapsed());
                if i == 0 {
                    rows = result.len();
                    cases = result.iter().map(|r| r.counters.cases).sum::<i64>();
                }
                let mut url = format!("{base}/api/v1/metrics?from={from}&to={to}");
                if let Some(d) = group_by {
                    url.push_str(&format!("&group_by={}", d.as_str()));
                }
                let t = Instant::now();
                let resp = client.get(url).bearer_auth(&token).send().await?;
                anyhow::ensure!(resp.status().is_success(), "GET /api/v1/metrics: {}", resp.status());
                let _ = resp.bytes().await?;
                http.push(t.elapsed());
            }
            direct.sort();
            http.sort();
            let name = group_by.map_or("-", |d| d.as_str());
            let label = format!("{period} by {name}");
            if percentile(&direct, 0.95) > worst_store.0 {
                worst_store = (percentile(&direct, 0.95), label.clone());
            }
            if percentile(&http, 0.95) > worst_http.0 {
                worst_http = (percentile(&http, 0.95), label);
            }
            println!(
                "{period:<8} {name:<10} {rows:>5} {cases:>9}   {:>6.2} {:>6.2} {:>6.2}      {:>6.2} {:>6.2} {:>6.2}",
                ms(percentile(&direct, 0.50)),
                ms(percentile(&direct, 0.95)),
                ms(percentile(&direct, 0.99)),
                ms(percentile(&http, 0.50)),
                ms(percentile(&http, 0.95)),
                ms(percentile(&http, 0.99)),
            );
        }
    }
    println!(
        "worst p95: store {:.2} ms ({}), HTTP {:.2} ms ({})",
        ms(worst_store.0),
        worst_store.1,
        ms(worst_http.0),
        worst_http.1
    );
    let _ = stop.send(());
    Ok(())
}

/// The teams, staff and customers, created on the first run and read back on later ones.
async fn world(store: &Store, engine: &Engine, data: &Path) -> anyhow::Result<World> {
    let customers_file = data.join("bench-customers.txt");
    if let Some(admin) = store.user_credentials("bench-admin".into()).await? {
        let teams = store.teams().await?;
        let mut staff = Vec::new();
        for team in teams {
            let members = store.users(Some(team.id)).await?;
            staff.push((team.slug, members.into_iter().filter(|u| u.role == Role::Agent).map(|u| u.name).collect()));
        }
        let customers = std::fs::read_to_string(&customers_file)
            .context("the customers of an earlier run")?
            .lines()
            .map(|l| l.parse().map_err(|e| anyhow::anyhow!("customer id {l}: {e}")))
            .collect::<anyhow::Result<_>>()?;
        return Ok(World { admin: principal_of(&admin.user), staff, customers });
    }
    let now = Timestamp::now();
    println!("creating {} teams, their staff and {N_CUSTOMERS} customers …", TEAMS.len());
    let mut staff = Vec::new();
    let mut team_ids = Vec::new();
    for (slug, level, kind, _) in TEAMS {
        let team = Team {
            id: TeamId::new_v7(),
            slug: slug.to_string(),
            name: slug.to_string(),
            level: LevelId::new(*level),
            kind: *kind,
            skills: vec![],
            created_at: now,
        };
        team_ids.push(store.create_team(team, None).await?.id);
    }
    let person = |name: String, role: Role, teams: Vec<TeamId>, levels: Vec<LevelId>| User {
        id: UserId::new_v7(),
        display_name: name.clone(),
        name,
        email: None,
        role,
        teams,
        skills: vec![],
        levels,
        active: true,
        created_at: now,
    };
    let admin = store.create_user(person("bench-admin".into(), Role::Admin, vec![], vec![]), None, None).await?;
    for (i, (slug, level, _, n)) in TEAMS.iter().enumerate() {
        let role = match *slug {
            "supervisors" => Role::Supervisor,
            "management" => Role::Manager,
            _ => Role::Agent,
        };
        let mut members = Vec::new();
        for k in 0..*n {
            let name = format!("{slug}-{k:03}");
            let user = person(name.clone(), role, vec![team_ids[i]], vec![LevelId::new(*level)]);
            store.create_user(user, None, None).await?;
            members.push(name);
        }
        staff.push((slug.to_string(), members));
    }
    let mut rng = StdRng::seed_from_u64(11);
    let mut tasks = Vec::new();
    for chunk in 0..N_CUSTOMERS / 250 {
        let store = store.clone();
        let seed = rng.random::<u64>();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut ids = Vec::new();
            for i in 0..250 {
                let segment = match rng.random_range(0..100) {
                    0..8 => Some("vip"),
                    8..33 => Some("business"),
                    33..95 => Some("consumer"),
                    _ => None,
                };
                let value: f64 = match segment {
                    Some("vip") => rng.random_range(10_000.0..80_000.0),
                    Some("business") => rng.random_range(2_000.0..20_000.0),
                    _ => rng.random_range(50.0..3_000.0),
                };
                let customer = Customer {
                    id: CustomerId::new_v7(),
                    name: format!("Customer {chunk}-{i}"),
                    identities: vec![],
                    value: value.round(),
                    segment: segment.map(str::to_string),
                    language: Some("en".into()),
                    time_zone: Some("America/New_York".into()),
                    custom_fields: Default::default(),
                    created_at: now,
                    status: Default::default(),
                    status_changed_at: None,
                };
                ids.push(store.create_customer(customer, None).await?.id);
            }
            anyhow::Ok(ids)
        }));
    }
    let mut customers = Vec::new();
    for t in tasks {
        customers.extend(t.await??);
    }
    std::fs::write(&customers_file, customers.iter().map(|c| format!("{c}\n")).collect::<String>())?;
    engine
        .put_matrix_draft(
            &command_line_principal(),
            "contact-center".into(),
            include_str!("../../../../examples/contact-center.toml").into(),
            now,
        )
        .await
        .map_err(|e| anyhow::anyhow!("example matrix: {e:?}"))?;
    engine
        .activate_matrix(&command_line_principal(), "contact-center".into(), now)
        .await
        .map_err(|e| anyhow::anyhow!("activating the example matrix: {e:?}"))?;
    Ok(World { admin: principal_of(&admin), staff, customers })
}

/// Plays case histories (opened over the last 365 days) until the store holds `target`
/// events; 512 cases at a time, so commits carry many writes. Then fires the clocks that fell
/// due and marks some customers churned.
async fn populate(
    store: &Store,
    engine: &Engine,
    world: &Arc<World>,
    have: usize,
    target: usize,
) -> anyhow::Result<()> {
    println!("populating {have} → {target} events through Engine::run (reused on later runs) …");
    let started = Instant::now();
    let written = Arc::new(AtomicUsize::new(have));
    let refused = Arc::new(AtomicUsize::new(0));
    let next_case = Arc::new(AtomicUsize::new(0));
    let now = Timestamp::now();
    let mut tasks = Vec::new();
    for w in 0..512u64 {
        let (engine, world, written, refused, next_case) =
            (engine.clone(), world.clone(), written.clone(), refused.clone(), next_case.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(have as u64 * 1000 + w);
            while written.load(Ordering::Relaxed) < target {
                let i = next_case.fetch_add(1, Ordering::Relaxed);
                let (n, failed) = one_case(&engine, &world, &mut rng, now).await?;
                let total = written.fetch_add(n, Ordering::Relaxed) + n;
                refused.fetch_add(failed, Ordering::Relaxed);
                if i % 50_000 == 0 && i > 0 {
                    let secs = started.elapsed().as_secs_f64();
                    println!(
                        "  {i} cases, {total} events after {secs:.0}s ({:.0} events/s)",
                        (total - have) as f64 / secs
                    );
                }
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let cases = next_case.load(Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    let n = written.load(Ordering::Relaxed) - have;
    println!(
        "populated {cases} cases, {n} events in {secs:.0}s ({:.0} events/s, {:.1} events per case); {} commands refused",
        n as f64 / secs,
        n as f64 / cases.max(1) as f64,
        refused.load(Ordering::Relaxed)
    );
    let t = Instant::now();
    let mut fired = 0;
    loop {
        let report = engine.fire_due(Timestamp::now()).await?;
        fired += report.fired;
        if report.fired + report.stale == 0 {
            break;
        }
    }
    println!("fired {fired} clocks that fell due in {:.0}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut rng = StdRng::seed_from_u64(have as u64 + 5);
    let mut churned = 0;
    for id in world.customers.iter() {
        if rng.random_range(0..100) < 5
            && let Some(mut customer) = store.customer(*id).await?
            && customer.status != ladder_core::directory::CustomerStatus::Churned
        {
            customer.status = ladder_core::directory::CustomerStatus::Churned;
            customer.status_changed_at = Some(Timestamp::now());
            store.update_customer(customer).await?;
            churned += 1;
        }
    }
    println!("{churned} customers marked churned in {:.0}s", t.elapsed().as_secs_f64());
    println!("population took {:.0}s in all", started.elapsed().as_secs_f64());
    Ok(())
}

/// One case's life, opened at a random instant of the last year; returns the events written
/// and the commands refused (a rule may already have moved the case).
async fn one_case(engine: &Engine, world: &World, rng: &mut StdRng, now: Timestamp) -> anyhow::Result<(usize, usize)> {
    let id = CaseId::new_v7();
    let opened_at = now - SignedDuration::from_secs(rng.random_range(0..365 * 24 * 3600));
    let fresh = now.duration_since(opened_at) < SignedDuration::from_hours(48);
    let mut t = opened_at;
    let mut step = |rng: &mut StdRng, mins: std::ops::Range<i64>| {
        t = (t + SignedDuration::from_mins(rng.random_range(mins))).min(now);
        t
    };
    let team =
        ["frontline", "frontline", "frontline-west", "frontline-night"].choose(rng).copied().unwrap_or("frontline");
    let agent = world.members(team).choose(rng).cloned();
    let category = CATEGORIES.choose(rng).copied().unwrap_or("general");
    let channel = *crate::demo::CHANNEL_MIX.choose(rng).unwrap_or(&Channel::Phone);
    let priority =
        [Priority::Low, Priority::Normal, Priority::Normal, Priority::Normal, Priority::High, Priority::Urgent]
            .choose(rng)
            .copied()
            .unwrap_or(Priority::Normal);
    let customer = if rng.random_range(0..10) < 9 { world.customers.choose(rng).copied() } else { None };
    let (mut events, mut refused) = (0, 0);
    let admin = &world.admin;
    let mut run = async |request: CaseRequest, when: Timestamp| -> anyhow::Result<bool> {
        match engine.run(admin, id, request, None, None, when).await {
            Ok(outcome) => {
                events += outcome.events.len();
                Ok(true)
            }
            Err(e @ ladder_store::StoreError::Domain(_)) | Err(e @ ladder_store::StoreError::Forbidden(_)) => {
                if std::env::var_os("BENCH_SHOW_REFUSED").is_some() {
                    eprintln!("refused: {e}");
                }
                refused += 1;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    };
    let message = public_message;
    let escalate =
        |kind, initiator, team: &str, reason: &str| escalation(kind, initiator, team, reason, "The standard script.");
    let open = CaseRequest::Open(OpenRequest {
        assignee: agent,
        customer,
        ..requests::open(
            format!("{category} question"),
            "The customer describes the problem.",
            category,
            Some(team),
            priority,
            channel,
        )
    });
    if !run(open, opened_at).await? {
        return Ok((events, refused));
    }
    let when = step(rng, 1..30);
    run(message("Thanks, I'm looking into it.", false), when).await?;
    let when = step(rng, 5..240);
    run(message("Here is more detail about my problem.", true), when).await?;
    if fresh && rng.random_bool(0.5) {
        return Ok((events, refused)); // still being worked
    }
    let specialists = if category == "billing" { "billing" } else { "tech" };
    let roll = rng.random_range(0..1000);
    let code = match roll {
        0..560 => {
            let when = step(rng, 5..120);
            run(message("That should fix it.", false), when).await?;
            "answered"
        }
        560..760 => {
            let when = step(rng, 10..120);
            run(escalate(EscalationKind::Functional, Initiator::Agent, specialists, "needs a specialist"), when)
                .await?;
            let when = step(rng, 20..600);
            let specialist = world.members(specialists).choose(rng).cloned();
            run(CaseRequest::Assign(Assignment { assignee: specialist }), when).await?;
            let when = step(rng, 10..300);
            run(message("Our specialists are on it.", false), when).await?;
            if rng.random_bool(0.25) {
                let when = step(rng, 10..240);
                let guidance = "Fixed on our side; confirm with the customer.".to_string();
                run(
                    CaseRequest::DeEscalate(DeEscalation { to_level: None, to_team: None, to_user: None, guidance }),
                    when,
                )
                .await?;
            }
            "fixed"
        }
        760..860 => {
            let when = step(rng, 5..60);
            let asked =
                escalate(EscalationKind::Hierarchical, Initiator::Customer, "supervisors", "asked for a supervisor");
            run(asked, when).await?;
            let when = step(rng, 5..240);
            run(message("I'm the supervisor; here is what we'll do.", false), when).await?;
            "goodwill_credit"
        }
        860..900 => {
            let when = step(rng, 5..600);
            run(message("If this is not fixed I will talk to my lawyer.", true), when).await?;
            "manager_exception"
        }
        900..940 => {
            let when = step(rng, 30..600);
            let reason = "wrong queue".to_string();
            let other = if team == "frontline" { "frontline-west" } else { "frontline" };
            run(CaseRequest::Transfer(TransferRequest { to_team: other.into(), to_user: None, reason }), when).await?;
            "answered"
        }
        _ => {
            let when = step(rng, 5..90);
            run(resolve("answered"), when).await?;
            for _ in 0..rng.random_range(1..3) {
                let when = step(rng, 120..2880);
                run(CaseRequest::Reopen(Reopen { reason: "The problem is back".into() }), when).await?;
                let when = step(rng, 10..240);
                run(message("Trying another fix.", false), when).await?;
                let when = step(rng, 10..240);
                run(resolve("fixed"), when).await?;
            }
            ""
        }
    };
    if !code.is_empty() {
        let when = step(rng, 5..600);
        run(resolve(code), when).await?;
    }
    if rng.random_range(0..10) < 4 {
        let score = rng.random_range(1..=5);
        let when = step(rng, 30..720);
        run(CaseRequest::RecordCsat(RecordCsat { score, comment: None, on_behalf: true }), when).await?;
    }
    let last = step(rng, 0..1);
    if now.duration_since(last) > SignedDuration::from_hours(100) && rng.random_bool(0.5) {
        let when = step(rng, 96 * 60..100 * 60);
        run(CaseRequest::Close, when).await?;
    }
    Ok((events, refused))
}
