//! `ladder bench …`: figures for docs/benchmarks.md.

#[derive(clap::Subcommand)]
pub enum BenchCommand {}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {}
}
