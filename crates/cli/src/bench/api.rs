//! `ladder bench api`: concurrent HTTP clients open a case then escalate it, against a
//! server in this process; throughput and latency.

use ladder_engine::command_line_principal;
use std::time::Duration;

use jiff::Timestamp;

use super::server::{case_load, start_server};
use super::world::{BenchWorld, bench_world, tempfile_dir};

pub(super) async fn bench_api(concurrency: usize, duration: Duration) -> anyhow::Result<()> {
    let dir = tempfile_dir("api")?;
    let BenchWorld { engine, admin, .. } = bench_world(&dir).await?;
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
