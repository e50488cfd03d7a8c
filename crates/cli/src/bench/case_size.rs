//! `ladder bench case-size`: what a write costs on a case that holds many messages, next to
//! the same write on a new case. A case's folded state is one document the store reads and
//! writes whole on every command; its messages live in rows of their own, so a case with a
//! thousand 64 KiB messages should cost about what a new one does.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use ladder_core::command::AddMessage;
use ladder_core::ids::CaseId;
use ladder_core::{Channel, Priority, Visibility};
use ladder_engine::credentials::principal_of;
use ladder_engine::{CaseRequest, Engine};

use super::pg_schema;
use super::world::{BenchWorld, bench_world_at, open_request};

fn note(body: String) -> CaseRequest {
    CaseRequest::AddMessage(AddMessage {
        visibility: Visibility::Internal,
        channel: None,
        body,
        from_customer: false,
        resume: false,
    })
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

pub(super) async fn bench_case_size(
    messages: usize,
    body_chars: usize,
    writes: usize,
    runs: usize,
    database: Option<String>,
) -> anyhow::Result<()> {
    // On PostgreSQL, a schema of this run's own; both it and the directory go when it is dropped.
    let storage = pg_schema::BenchStorage::new("case-size", database.as_deref())?;
    let location = &storage.location;
    let BenchWorld { store: _store, engine, admin } = bench_world_at(location).await?;
    let principal = principal_of(&admin);
    println!(
        "case-size bench: one internal note per write, one writer; a new case vs a case holding {messages} \
         messages of {body_chars} characters; {writes} writes of each kind per run, {runs} runs; data in {}",
        location.redacted()
    );

    // The big case.
    let big = CaseId::new_v7();
    let started = Instant::now();
    engine
        .run(&principal, big, open_request(0, None, Priority::Normal, Channel::Email), None, None, Timestamp::now())
        .await?;
    let body = "x".repeat(body_chars);
    let mut outcome = None;
    for _ in 0..messages {
        outcome = Some(engine.run(&principal, big, note(body.clone()), None, None, Timestamp::now()).await?);
    }
    let doc_bytes = outcome.map(|o| serde_json::to_string(&o.case).map(|d| d.len())).transpose()?.unwrap_or(0);
    println!(
        "seeded the big case in {:.1}s; its document (the state every write reads and writes) is {doc_bytes} bytes",
        started.elapsed().as_secs_f64()
    );

    let write = |engine: Engine, id: CaseId| {
        let principal = principal.clone();
        async move {
            let t = Instant::now();
            engine.run(&principal, id, note("one more note".into()), None, None, Timestamp::now()).await?;
            anyhow::Ok(t.elapsed())
        }
    };
    let mut ratios = Vec::new();
    for run in 1..=runs {
        let (mut fresh, mut full) = (Vec::with_capacity(writes), Vec::with_capacity(writes));
        for i in 0..writes {
            // Interleaved, so both kinds see the same state of the machine.
            let id = CaseId::new_v7();
            let open = open_request(run * writes + i, None, Priority::Normal, Channel::Email);
            engine.run(&principal, id, open, None, None, Timestamp::now()).await?;
            fresh.push(write(engine.clone(), id).await?);
            full.push(write(engine.clone(), big).await?);
        }
        let (fresh, full) = (median_ms(fresh), median_ms(full));
        ratios.push(full / fresh);
        println!(
            "run {run}: median ms per write: new case {fresh:.3}, case with {messages} messages {full:.3} ({:.2}x)",
            full / fresh
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "ratio (case with {messages} messages / new case): median {:.2}x, range {:.2}x–{:.2}x",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
    Ok(())
}
