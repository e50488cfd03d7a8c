//! `ladder bench routing`: routing decisions with many agents online (the pure choice, and
//! the whole decision with its reads and write), then agents taking cases from one team's
//! queue at once, in process and over HTTP.

use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::Timestamp;
use ladder_core::directory::{LevelId, Team, TeamKind, User};
use ladder_core::ids::{CaseId, TeamId, UserId};
use ladder_core::{Channel, Priority, Role};
use ladder_engine::command_line_principal;
use ladder_engine::credentials::principal_of;
use ladder_store::Store;

use super::measure::report;
use super::server::start_server;
use super::world::{BenchWorld, bench_world, open_request, tempfile_dir};

/// Creates `n` agents in `team`, returning them.
async fn bench_agents(store: &Store, team: TeamId, prefix: &str, n: usize) -> anyhow::Result<Vec<User>> {
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
        out.push(store.create_user(user, None, None).await?);
    }
    Ok(out)
}

pub(super) async fn bench_routing(
    n_agents: usize,
    n_queued: usize,
    n_pullers: usize,
    n_decisions: usize,
    duration: Duration,
    think: Duration,
) -> anyhow::Result<()> {
    use ladder_core::agents::Presence;
    let dir = tempfile_dir("routing")?;
    let BenchWorld { store, engine, admin } = bench_world(&dir).await?;
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
        teams.push(store.create_team(team, None).await?);
    }
    let pullers = bench_agents(&store, teams[0].id, "puller", n_pullers).await?;
    let per_team = n_agents.saturating_sub(n_pullers) / 19;
    let mut routed_teams = Vec::new();
    for team in &teams[1..] {
        routed_teams.push((team.clone(), bench_agents(&store, team.id, &format!("{}-a", team.slug), per_team).await?));
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
        store.set_presence(user.id, Presence::Available, now).await?;
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
        let case = store.case(*id).await?.context("a seeded case")?;
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
            store.queue_len(teams[0].id).await?
        );
    }
    let _ = stop.send(());
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
