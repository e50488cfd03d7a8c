//! `ladder simulate`: what a candidate matrix would have done with recorded history.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use jiff::civil::Date;
use ladder_engine::rules::MatrixError;
use ladder_engine::simulate::{Compared, Figures, Progress, SimulationBudget, SimulationReport, day_span};
use ladder_engine::{Engine, command_line_principal};

use crate::DataArgs;

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The candidate matrix file (TOML).
    #[arg(long)]
    matrix: PathBuf,
    /// First UTC day of the cases to replay (opened on or after it).
    #[arg(long)]
    from: Date,
    /// Last UTC day of the cases to replay, included.
    #[arg(long)]
    to: Date,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    if args.from > args.to {
        anyhow::bail!("--from {} is after --to {}", args.from, args.to);
    }
    let source = std::fs::read_to_string(&args.matrix).with_context(|| format!("reading {}", args.matrix.display()))?;
    let name = args.matrix.file_name().map_or("candidate".into(), |n| n.to_string_lossy().into_owned());
    let engine = Engine::new(args.data.open()?);
    engine.load_matrix().await?;
    let candidate = match engine.candidate_matrix(&command_line_principal(), &source, &name).await {
        Ok(c) => c,
        Err(MatrixError::Invalid(diagnostics)) => {
            for d in diagnostics.iter().filter(|d| d.is_error()) {
                crate::matrix_cmd::print_diagnostic(d, &source);
            }
            anyhow::bail!("{} is not a valid matrix", args.matrix.display());
        }
        Err(e) => anyhow::bail!("{e}"),
    };
    let (from, to) = day_span(args.from, args.to);
    let progress = Arc::new(Progress::default());
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{spinner} replaying {bar:40} {pos}/{len} cases, {per_sec}, eta {eta}")
            .expect("a valid progress template"),
    );
    let started = std::time::Instant::now();
    let until = engine.now();
    let job = {
        let (engine, progress) = (engine.clone(), progress.clone());
        tokio::spawn(
            async move { engine.simulate(candidate, from, to, until, progress, SimulationBudget::UNLIMITED).await },
        )
    };
    while !job.is_finished() {
        bar.set_length(progress.total.load(Ordering::Acquire));
        bar.set_position(progress.done.load(Ordering::Acquire));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bar.finish_and_clear();
    let report = job.await??;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
        eprintln!("replayed {} cases in {:.1} s", report.cases, started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// One figure of a row of the report.
type Measure = fn(&Figures) -> i64;

/// The report as plain-text tables: what happened, what the candidate predicts, the change.
pub fn render(r: &SimulationReport) -> String {
    let mut out = format!(
        "Matrix {} over cases opened {} to {} ({} cases; timers to {})\n\
         {} cases would go differently; {} escalations by people would be made unnecessary.\n",
        r.matrix, r.from, r.to, r.cases, r.until, r.cases_changed, r.escalations_absorbed
    );
    let rows: [(&str, Measure); 9] = [
        ("escalations", |f| f.escalations as i64),
        ("  by people", |f| f.escalations_by_people as i64),
        ("  by rules", |f| f.escalations_by_rules as i64),
        ("breaches", |f| f.breaches as i64),
        ("warnings", |f| f.warnings as i64),
        ("approvals", |f| f.approvals as i64),
        ("actions applied", |f| f.actions_applied as i64),
        ("notifications", |f| f.notifications as i64),
        ("hours held", |f| f.held_seconds / 3600),
    ];
    let table = |title: &str, c: &Compared, out: &mut String| {
        out.push_str(&format!("\n{title}: {} (cases {} → {})\n", c.name, c.actual.cases, c.predicted.cases));
        out.push_str(&format!("  {:<18}{:>12}{:>12}{:>10}\n", "", "actual", "predicted", "change"));
        for (label, get) in rows {
            let (a, p) = (get(&c.actual), get(&c.predicted));
            out.push_str(&format!("  {label:<18}{a:>12}{p:>12}{:>+10}\n", p - a));
        }
    };
    table("All cases", &r.totals, &mut out);
    for l in &r.levels {
        table("Level", l, &mut out);
    }
    for t in &r.teams {
        table("Team", t, &mut out);
    }
    if !r.rules.is_empty() {
        out.push_str(&format!("\n{:<50}{:>10}{:>12}\n", "Rule actions", "actual", "predicted"));
        for rule in &r.rules {
            out.push_str(&format!("{:<50}{:>10}{:>12}\n", rule.rule, rule.actual, rule.predicted));
        }
    }
    out
}
