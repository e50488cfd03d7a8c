//! `ladder bench store`: durable case commands straight through the store (group commit),
//! on SQLite or on a PostgreSQL schema of the run's own; latency per command, events per second.

use std::time::Instant;

use jiff::Timestamp;
use ladder_core::command::AddMessage;
use ladder_core::ids::CaseId;
use ladder_core::{Channel, Priority, Visibility};
use ladder_engine::CaseRequest;
use ladder_engine::credentials::principal_of;

use super::measure::report;
use super::pg_schema;
use super::world::{BenchWorld, bench_world_at, open_request};

pub(super) async fn bench_store(n_events: usize, concurrency: usize, database: Option<String>) -> anyhow::Result<()> {
    // On PostgreSQL, a schema of this run's own; both it and the directory go when it is dropped.
    let storage = pg_schema::BenchStorage::new("store", database.as_deref())?;
    let location = &storage.location;
    let BenchWorld { store, engine, admin } = bench_world_at(location).await?;
    let principal = principal_of(&admin);
    let durability = if storage.is_postgres() {
        "PostgreSQL with synchronous_commit as the server has it"
    } else {
        "SQLite with synchronous=FULL"
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
    let stats = store.stats().await?;
    println!(
        "events written: {} in {:.2}s = {:.0} events/s",
        stats.n_events,
        elapsed.as_secs_f64(),
        stats.n_events as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
