//! `ladder bench simulate`: the what-if simulator over a large recorded history.
//!
//! Seeds (once, into `--data-dir`) `--cases` cases over the 90 days before now through the
//! real command path under [`SIM_MATRIX`]: each is opened, answered, a third escalated by
//! an agent, a tenth given a credit, and resolved, each at its own instant. Then replays
//! them all under a candidate with a shorter first-response target and a rule that sends
//! billing cases to L2 at once, printing the throughput and the report's totals.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use ladder_core::event::{EscalationKind, Initiator};
use ladder_core::ids::CaseId;
use ladder_engine::simulate::{Progress, SimulationBudget};
use ladder_engine::{ActionRequest, CaseRequest, command_line_principal};
use rand::RngExt;
use rand::rngs::StdRng;

use super::world::{BenchWorld, bench_world, frontline_open, matrix_error, seed_in_parallel};
use crate::requests::{escalation, public_message, resolve};

const SIM_MATRIX: &str = r#"
[sla]
warn_at = [75]

[calendars.support]
timezone = "Europe/Berlin"
hours = { "mon-fri" = "08:00-20:00", "sat" = "09:00-14:00" }

[[levels]]
id = "L1"
teams = ["frontline"]
calendar = "support"
respond = "2h"
resolve = "3d"

[[levels]]
id = "L2"
teams = ["specialists"]
respond = "4h"
resolve = "5d"

[[authority]]
action = "credit"
limits = { agent = 50, supervisor = 500, manager = 5000, admin = 50000 }

[[rules]]
name = "Legal threats go to specialists"
trigger = "message_received"
when = 'contact.body.contains("lawyer")'
then = { escalate = "L2", kind = "hierarchical", priority = "high" }

[[rules]]
name = "Missed first response escalates"
trigger = "clock_breached"
when = 'case.level == "L1" && event.clock == "respond"'
then = { escalate = "L2", kind = "hierarchical" }

[[rules]]
name = "Warn the team"
trigger = "clock_at_risk"
then = { notify = [{ who = "team", channel = "chat" }] }
"#;

/// The candidate: first response in 1 h, and billing straight to the specialists.
fn candidate() -> String {
    let faster = SIM_MATRIX.replacen("respond = \"2h\"", "respond = \"1h\"", 1);
    format!(
        "{faster}\n[[rules]]\nname = \"Billing to specialists\"\ntrigger = \"case_opened\"\n\
         when = 'case.category == \"billing\"'\nthen = {{ escalate = \"L2\", team = \"specialists\", kind = \"functional\" }}\n"
    )
}

pub async fn bench_simulate(cases: usize, data_dir: std::path::PathBuf) -> anyhow::Result<()> {
    let world = bench_world(&data_dir).await?;
    let BenchWorld { store, engine, admin } = &world;
    let now = Timestamp::now();
    ensure_matrix(&world, now).await?;
    let start = now - SignedDuration::from_hours(90 * 24);
    let have = store.count_opened(start - SignedDuration::from_hours(24 * 365), now).await? as usize;
    if have < cases {
        seed(engine, admin, have, cases, start).await?;
    }
    let stats = store.stats().await?;
    println!("history: {} cases, {} events", stats.n_cases, stats.n_events);

    // Reading alone, to see how the replay's time divides.
    let (from, read_started) = (start - SignedDuration::from_hours(24 * 365), Instant::now());
    let (mut after, mut read, mut events) = (0, 0, 0);
    loop {
        let batch = store.histories(from, now, after, 2_000, ladder_engine::rules::REPEAT_CONTACT_WINDOW).await?;
        let Some(last) = batch.last() else { break };
        after = last.number;
        read += batch.len();
        events += batch.iter().map(|h| h.events.len()).sum::<usize>();
    }
    let took = read_started.elapsed().as_secs_f64();
    println!("reading alone: {read} cases, {events} events in {took:.1}s = {:.0} cases/s", read as f64 / took);

    let candidate = engine
        .candidate_matrix(&command_line_principal(), &candidate(), "candidate.toml")
        .await
        .map_err(matrix_error)?;
    let progress = Arc::new(Progress::default());
    let started = Instant::now();
    let job = {
        let (engine, progress) = (engine.clone(), progress.clone());
        tokio::spawn(
            async move { engine.simulate(candidate, from, now, now, progress, SimulationBudget::UNLIMITED).await },
        )
    };
    let mut last = 0;
    while !job.is_finished() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let done = progress.done.load(Ordering::Acquire) as usize;
        if done >= last + 100_000 {
            last = done - done % 100_000;
            println!("  replayed {done} after {:.1}s", started.elapsed().as_secs_f64());
        }
    }
    let report = job.await??;
    let took = started.elapsed().as_secs_f64();
    println!(
        "simulate {} cases under a candidate: {took:.1}s = {:.0} cases/s ({} changed, {} escalations absorbed)",
        report.cases,
        report.cases as f64 / took,
        report.cases_changed,
        report.escalations_absorbed
    );
    let (a, p) = (&report.totals.actual, &report.totals.predicted);
    println!(
        "  escalations {} → {}, breaches {} → {}, approvals {} → {}",
        a.escalations, p.escalations, a.breaches, p.breaches, a.approvals, p.approvals
    );
    Ok(())
}

/// Seeds cases `from..to`, each with a day of history at its own instants (512 writers).
pub(super) async fn seed(
    engine: &ladder_engine::Engine,
    admin: &ladder_core::directory::User,
    from: usize,
    to: usize,
    start: Timestamp,
) -> anyhow::Result<()> {
    println!("seeding cases {from}..{to} with their histories (kept in the data directory for later runs) …");
    let principal = ladder_engine::credentials::principal_of(admin);
    let started = Instant::now();
    let span = 90 * 86_400 / (to as i64).max(1);
    let engine = engine.clone();
    seed_in_parallel(from..to, 50_000, started, move |i, mut rng| {
        let (engine, principal) = (engine.clone(), principal.clone());
        async move {
            let id = CaseId::new_v7();
            let mut t = start + SignedDuration::from_secs(i as i64 * span + rng.random_range(0..span.max(1)));
            let open = frontline_open(&mut rng, format!("Case {i}"), "The customer writes in.");
            engine.run(&principal, id, open, None, None, t).await?;
            let mut step = |rng: &mut StdRng, max_min: i64| {
                t += SignedDuration::from_mins(rng.random_range(1..max_min));
                t
            };
            let lawyer = rng.random_bool(0.02);
            let body = if lawyer { "My lawyer will call you." } else { "Any news?" };
            engine.run(&principal, id, public_message(body, true), None, None, step(&mut rng, 60)).await?;
            let reply = public_message("We are on it.", false);
            engine.run(&principal, id, reply, None, None, step(&mut rng, 180)).await?;
            if !lawyer && rng.random_bool(0.3) {
                let escalate = escalation(
                    EscalationKind::Hierarchical,
                    Initiator::Agent,
                    "specialists",
                    "needs a specialist",
                    "the usual checks",
                );
                engine.run(&principal, id, escalate, None, None, step(&mut rng, 240)).await?;
            }
            if rng.random_bool(0.1) {
                let credit = CaseRequest::ApplyAction(ActionRequest {
                    action: "credit".into(),
                    amount: rng.random_range(10..200) as f64,
                    note: None,
                });
                engine.run(&principal, id, credit, None, None, step(&mut rng, 60)).await?;
            }
            engine.run(&principal, id, resolve("solved"), None, None, step(&mut rng, 600)).await?;
            Ok(rng)
        }
    })
    .await?;
    println!("  seeded {} cases in {:.0}s", to - from, started.elapsed().as_secs_f64());
    Ok(())
}

/// Puts [`SIM_MATRIX`] in force unless it already is (`bench console` seeds the same store).
pub(super) async fn ensure_matrix(world: &BenchWorld, now: Timestamp) -> anyhow::Result<()> {
    world.put_matrix_in_force("bench-sim", SIM_MATRIX, now).await
}
