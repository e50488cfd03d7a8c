//! `ladder model train|list|activate|deactivate`: escalation-risk models from the store's
//! own history (docs/risk.md).

use ladder_core::risk::{Evaluation, Hashing};
use ladder_engine::command_line_principal;
use ladder_engine::risk::{TrainOptions, Trained};

use crate::DataArgs;

#[derive(clap::Subcommand)]
pub enum ModelCommand {
    /// Train a model on the store's history, evaluate it on the most recent cases, store
    /// it, and with --activate put it in force if it beats the baseline.
    Train {
        /// Put the model in force if it beats the baseline (a model that does not is
        /// stored but refused).
        #[arg(long)]
        activate: bool,
        /// The share of the most recent cases held out for the evaluation.
        #[arg(long, default_value_t = 0.2)]
        holdout: f64,
        /// The number of weights (hashed features), 32 to 65536.
        #[arg(long, default_value_t = Hashing::default().dimensions)]
        dimensions: u32,
        /// The most training cases fitted (the most recent before the holdout).
        #[arg(long, default_value_t = TrainOptions::default().max_fit_cases)]
        max_fit_cases: usize,
        /// Print the evaluation as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the stored models and their evaluations.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Put a stored model in force.
    Activate {
        version: u64,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Score new cases with no model.
    Deactivate {
        #[command(flatten)]
        data: DataArgs,
    },
}

pub async fn run(command: ModelCommand) -> anyhow::Result<()> {
    let principal = command_line_principal();
    match command {
        ModelCommand::Train { activate, holdout, dimensions, max_fit_cases, json, data } => {
            if !(0.01..=0.5).contains(&holdout) {
                anyhow::bail!("--holdout must be between 0.01 and 0.5");
            }
            if !(ladder_core::risk::MIN_DIMENSIONS..=ladder_core::risk::MAX_DIMENSIONS).contains(&dimensions) {
                anyhow::bail!("--dimensions must be 32 to 65536");
            }
            let engine = data.engine().await?;
            let options = TrainOptions {
                hashing: Hashing { dimensions, ..Hashing::default() },
                holdout,
                max_fit_cases,
                ..TrainOptions::default()
            };
            let started = std::time::Instant::now();
            let trained = engine.train_risk_model(&principal, options).await?;
            let took = started.elapsed();
            if json {
                println!("{}", serde_json::to_string_pretty(&trained.evaluation)?);
            } else {
                print_training(&trained, took);
            }
            let beats = trained.evaluation.beats_baseline;
            let stored = engine.store_risk_model(&principal, trained).await?;
            println!("stored as model {}", stored.model.version);
            if !beats {
                anyhow::bail!("model {} does not beat the baseline: not activated", stored.model.version);
            }
            if activate {
                engine.activate_risk_model(&principal, Some(stored.model.version)).await?;
                println!("model {} is in force", stored.model.version);
            }
            Ok(())
        }
        ModelCommand::List { data } => {
            let engine = data.engine().await?;
            let (models, active) = engine.risk_models(&principal).await?;
            println!("{:>7}  {:>6}  {:>8}  {:>6}  {:>9}  trained", "version", "AUC", "baseline", "lift", "beats");
            for m in models {
                let e = &m.evaluation;
                let mark = if Some(m.model.version) == active { " (in force)" } else { "" };
                println!(
                    "{:>7}  {:>6.3}  {:>8.3}  {:>+6.3}  {:>9}  {} by {}{mark}",
                    m.model.version, e.auc, e.baseline_auc, e.lift, e.beats_baseline, m.created_at, m.trained_by
                );
            }
            Ok(())
        }
        ModelCommand::Activate { version, data } => {
            let engine = data.engine().await?;
            engine.activate_risk_model(&principal, Some(version)).await?;
            println!("model {version} is in force");
            Ok(())
        }
        ModelCommand::Deactivate { data } => {
            let engine = data.engine().await?;
            engine.activate_risk_model(&principal, None).await?;
            println!("no model is in force");
            Ok(())
        }
    }
}

fn print_training(trained: &Trained, took: std::time::Duration) {
    let e: &Evaluation = &trained.evaluation;
    println!(
        "read {} cases; fitted {} (of {} for training), held out the latest {} in {:.1} s",
        trained.cases_read,
        trained.cases_fitted,
        e.train_cases,
        e.holdout_cases,
        took.as_secs_f64()
    );
    println!("escalation rate in the holdout: {:.1} %", e.escalation_rate * 100.0);
    println!("ROC AUC          model {:.3}   baseline (category rate) {:.3}", e.auc, e.baseline_auc);
    println!("lift             {:+.3} (at least {:.3} counts)", e.lift, e.required_lift);
    println!("log loss         model {:.4}   baseline {:.4}", e.log_loss, e.baseline_log_loss);
    println!("calibration by decile (predicted → observed):");
    for (i, d) in e.deciles.iter().enumerate() {
        println!(
            "  {:>2}  {:>6} cases  {:>6.1} % → {:>6.1} %",
            i + 1,
            d.cases,
            d.predicted * 100.0,
            d.observed * 100.0
        );
    }
    println!("beats the baseline: {}", if e.beats_baseline { "yes" } else { "no" });
}
