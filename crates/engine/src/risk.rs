//! Escalation-risk models at work: training on the store's own history, the models'
//! lifecycle (stored, listed, activated) and the model in force, kept in memory so the
//! writer scores a new case without a read (like the matrix in force).
//!
//! Training reads the cases in batches through the store's readers (never the writer), in
//! the order they opened, and builds each case's features as they were known when it
//! opened: the customer's repeat contacts and the desk's load are counted from the cases
//! before it. The most recent share of cases is held out (a time-ordered holdout); the
//! rest trains a logistic regression (`linfa-logistic`, L-BFGS) on a blocking thread. The
//! holdout is scored by the same pure function that scores new cases
//! ([`ladder_core::risk::RiskModel::probability`]) and compared with the baseline "the
//! escalation rate of the category" ([`ladder_core::risk::evaluate`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use jiff::Timestamp;
use ladder_core::access::{Action, Principal};
use ladder_core::risk::{CategoryBaseline, Evaluation, Hashing, QUEUE_LOAD_WINDOW, RiskModel, opening_of, vector};
use ladder_store::{StoreError, StoredModel, TrainingCase};
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};

use crate::Engine;

/// A held-out case: its features, its category (for the baseline) and whether it escalated.
type HeldOut = (Vec<(u32, f32)>, Option<String>, bool);

/// Cases read per batch.
const BATCH: u32 = 5_000;

/// How a model is trained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    pub hashing: Hashing,
    /// The share of the most recent cases held out for the evaluation.
    pub holdout: f64,
    /// The most training cases fitted (the most recent ones before the holdout): bounds the
    /// memory of the dense matrix the solver works on (cases × dimensions × 4 bytes).
    pub max_fit_cases: usize,
    /// L2 regularisation (linfa's `alpha`, on the summed loss).
    pub alpha: f64,
    pub max_iterations: u64,
    /// The fewest cases worth training on.
    pub min_cases: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            hashing: Hashing::default(),
            holdout: 0.2,
            max_fit_cases: 300_000,
            alpha: 1.0,
            max_iterations: 100,
            min_cases: 200,
        }
    }
}

/// A trained model and its evaluation, not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    pub model: RiskModel,
    pub evaluation: Evaluation,
    /// Cases read from the history.
    pub cases_read: u64,
    /// Training cases fitted (at most [`TrainOptions::max_fit_cases`]).
    pub cases_fitted: u64,
}

/// Why no model was trained.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the history holds {cases} cases; a model needs at least {needed}")]
    TooFewCases { cases: u64, needed: u64 },
    #[error("the training cases are all escalated or none is: nothing to learn")]
    OneClass,
    #[error("the logistic regression did not fit: {0}")]
    Fit(String),
}

/// The features of cases in the order they opened: each case's repeat contacts and the
/// desk's load, counted from the cases before it (what the engine counts at opening).
#[derive(Debug, Default)]
pub struct HistoryFeatures {
    by_customer: HashMap<String, VecDeque<Timestamp>>,
    recent: VecDeque<Timestamp>,
}

/// The engine counts at most a customer's last 100 cases.
const REPEAT_LOOKBACK: usize = 100;

impl HistoryFeatures {
    /// The sparse feature vector of `case`, the next one in opening order.
    pub fn next(&mut self, case: &TrainingCase, hashing: &Hashing) -> Vec<(u32, f32)> {
        let at = case.opened_at;
        while self.recent.front().is_some_and(|t| *t < at - QUEUE_LOAD_WINDOW) {
            self.recent.pop_front();
        }
        let queue_load = self.recent.len() as u32;
        self.recent.push_back(at);
        let (value, segment, repeat) = match &case.customer {
            Some((id, value, segment)) => {
                let seen = self.by_customer.entry(id.clone()).or_default();
                let since = at - ladder_core::matrix::REPEAT_CONTACT_WINDOW;
                while seen.front().is_some_and(|t| *t < since) || seen.len() > REPEAT_LOOKBACK {
                    seen.pop_front();
                }
                let repeat = seen.len().min(REPEAT_LOOKBACK) as u32 + 1;
                seen.push_back(at);
                (*value, segment.as_deref(), repeat)
            }
            None => (0.0, None, 1),
        };
        vector(&opening_of(&case.opened, value, segment, repeat, queue_load, at), hashing)
    }
}

/// Fits a logistic regression on `rows` (sparse vectors) and `labels` with linfa, and reads
/// it back as a [`RiskModel`] (version 0 until stored).
pub fn fit(rows: &[Vec<(u32, f32)>], labels: &[bool], options: &TrainOptions) -> Result<RiskModel, TrainError> {
    let dimensions = options.hashing.dimensions as usize;
    let mut x = Array2::<f32>::zeros((rows.len(), dimensions));
    for (mut row, features) in x.rows_mut().into_iter().zip(rows) {
        for (i, v) in features {
            row[*i as usize] += *v;
        }
    }
    fit_dense(x, labels, options)
}

fn fit_dense(x: Array2<f32>, labels: &[bool], options: &TrainOptions) -> Result<RiskModel, TrainError> {
    if !labels.iter().any(|l| *l) || labels.iter().all(|l| *l) {
        return Err(TrainError::OneClass);
    }
    let y = Array1::from_iter(labels.iter().copied());
    let dataset = Dataset::new(x, y);
    let fitted = LogisticRegression::default()
        .alpha(options.alpha as f32)
        .max_iterations(options.max_iterations)
        .gradient_tolerance(1e-4)
        .fit(&dataset)
        .map_err(|e| TrainError::Fit(e.to_string()))?;
    // linfa's probabilities are of its "positive" class, whichever label that is.
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    let model = RiskModel {
        version: 0,
        hashing: options.hashing,
        intercept: sign * f64::from(fitted.intercept()),
        weights: fitted.params().iter().map(|w| sign * f64::from(*w)).collect(),
    };
    model.check().map_err(TrainError::Fit)?;
    Ok(model)
}

impl Engine {
    /// Trains a model on the whole history and evaluates it on the most recent cases; the
    /// model is not stored ([`Engine::store_risk_model`]).
    pub async fn train_risk_model(&self, principal: &Principal, options: TrainOptions) -> Result<Trained, TrainError> {
        self.check(principal, &Action::ManageModels)?;
        let total = self.store.count_cases().await?;
        if total < options.min_cases {
            return Err(TrainError::TooFewCases { cases: total, needed: options.min_cases });
        }
        let holdout = ((total as f64 * options.holdout).round() as u64).clamp(1, total - 1);
        let train = total - holdout;
        let fit_from = train.saturating_sub(options.max_fit_cases as u64);
        let dimensions = options.hashing.dimensions as usize;
        let mut x = Array2::<f32>::zeros(((train - fit_from) as usize, dimensions));
        let mut labels = Vec::with_capacity((train - fit_from) as usize);
        let mut baseline = CategoryBaseline::default();
        let mut held: Vec<HeldOut> = Vec::with_capacity(holdout as usize);
        let mut features = HistoryFeatures::default();
        let mut seen = 0u64;
        let mut after = 0u64;
        // Read the next batch while this one is turned into features.
        let fetch = |after: u64| {
            let store = self.store.clone();
            tokio::spawn(async move { store.training_cases(after, BATCH).await })
        };
        let mut pending = Some(fetch(0));
        'read: while let Some(fetching) = pending.take() {
            let batch = fetching.await.map_err(|e| StoreError::Internal(format!("training: {e}")))??;
            let Some(last) = batch.last() else { break };
            after = after.max(last.number);
            pending = Some(fetch(after));
            for case in &batch {
                if seen == total {
                    break 'read;
                }
                let v = features.next(case, &options.hashing);
                if seen < train {
                    baseline.add(case.opened.category.as_deref(), case.escalated);
                    if seen >= fit_from {
                        let mut row = x.row_mut((seen - fit_from) as usize);
                        for (i, value) in &v {
                            row[*i as usize] += *value;
                        }
                        labels.push(case.escalated);
                    }
                } else {
                    held.push((v, case.opened.category.clone(), case.escalated));
                }
                seen += 1;
            }
        }
        if let Some(fetching) = pending {
            fetching.abort();
        }
        if seen < total {
            // Cases were deleted while reading (a restore): fit what was read.
            x = x.slice_move(ndarray::s![..labels.len(), ..]);
        }
        let fit_options = options;
        let model = tokio::task::spawn_blocking(move || fit_dense(x, &labels, &fit_options))
            .await
            .map_err(|e| TrainError::Fit(e.to_string()))??;
        let fitted = (train - fit_from).min(seen);
        let scores: Vec<f64> = held.iter().map(|(v, _, _)| model.probability_of_vector(v)).collect();
        let base: Vec<f64> = held.iter().map(|(_, c, _)| baseline.rate(c.as_deref())).collect();
        let truth: Vec<bool> = held.iter().map(|(_, _, e)| *e).collect();
        let evaluation = ladder_core::risk::evaluate(&scores, &base, &truth, seen.min(train));
        Ok(Trained { model, evaluation, cases_read: seen, cases_fitted: fitted })
    }

    /// Stores a trained model as the next version (not in force).
    pub async fn store_risk_model(&self, principal: &Principal, trained: Trained) -> Result<StoredModel, StoreError> {
        self.check(principal, &Action::ManageModels)?;
        let by = principal.name.clone();
        self.store.put_model(trained.model, trained.evaluation, by, self.now()).await
    }

    /// Every stored model and the version in force.
    pub async fn risk_models(&self, principal: &Principal) -> Result<(Vec<StoredModel>, Option<u64>), StoreError> {
        self.check(principal, &Action::ReadModels)?;
        self.store.models().await
    }

    /// One stored model.
    pub async fn risk_model_version(&self, principal: &Principal, version: u64) -> Result<StoredModel, StoreError> {
        self.check(principal, &Action::ReadModels)?;
        self.store.model(version).await?.ok_or_else(|| StoreError::NotFound(format!("model {version}")))
    }

    /// Puts `version` in force (`None`: none) and scores new cases with it from now on. A
    /// model that does not beat its baseline is refused.
    pub async fn activate_risk_model(
        &self,
        principal: &Principal,
        version: Option<u64>,
    ) -> Result<Option<StoredModel>, StoreError> {
        self.check(principal, &Action::ManageModels)?;
        let activated = self.store.activate_model(version, principal.name.clone(), self.now()).await?;
        *self.inner.risk_model.write().expect("risk model lock") =
            activated.as_ref().map(|m| Arc::new(m.model.clone()));
        Ok(activated)
    }

    /// Loads the model in force from the store (at start).
    pub async fn load_risk_model(&self) -> Result<(), StoreError> {
        let active = self.store.active_model().await?;
        if let Some(m) = &active {
            tracing::info!(version = m.model.version, "escalation-risk model in force");
        }
        *self.inner.risk_model.write().expect("risk model lock") = active.map(|m| Arc::new(m.model));
        Ok(())
    }

    /// The model in force, which scores every new case.
    pub fn risk_model(&self) -> Option<Arc<RiskModel>> {
        self.inner.risk_model.read().expect("risk model lock").clone()
    }
}
