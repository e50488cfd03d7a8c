//! Escalation risk: the probability that a newly opened case will be escalated, from what
//! is known when it opens. Pure: features, the scoring of a trained model, and the
//! evaluation of a model against a holdout. Training (logistic regression with `linfa`)
//! and reading the history are the engine's; storing models is the store's.
//!
//! Layout:
//! - [`Opening`]: the facts known at opening; [`each_feature`] turns them into named,
//!   hashed features (a fixed slot per number, FNV-1a hashing for categories and words);
//! - [`RiskModel`]: weights, intercept and the [`Hashing`] they were trained with;
//!   [`RiskModel::assess`] scores an opening (µs-scale: a few dozen multiply-adds) with the
//!   features that pushed it most ([`Assessment`]);
//! - [`evaluate`]: ROC AUC, calibration by decile, log loss, and the comparison with the
//!   baseline "escalation rate of the category" that decides whether a model may be
//!   activated ([`Evaluation::beats_baseline`]).

use std::collections::HashMap;
use std::hash::Hasher;

use serde::{Deserialize, Serialize};

use crate::case::{Channel, Priority};
use crate::sentiment::Sentiment;

/// The facts of a case known when it opens.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening<'a> {
    pub category: Option<&'a str>,
    pub channel: Channel,
    pub priority: Priority,
    /// The customer's lifetime value (0 without a customer).
    pub customer_value: f64,
    pub segment: Option<&'a str>,
    /// The customer's cases of the last 7 days, this one included (1 without a customer).
    pub repeat_contacts: u32,
    /// The sentiment of the opening ([`crate::sentiment::score_opening`]).
    pub sentiment: Sentiment,
    pub subject: &'a str,
    pub description: &'a str,
    /// The hour of day (UTC) it opened, 0–23.
    pub hour: u8,
    /// The desk's load: cases opened in the hour before this one.
    pub queue_load: u32,
}

/// How features are hashed: the size of the weight vector and how many words of the
/// subject and description count. Stored with a model, so a model always scores with the
/// hashing it was trained with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Hashing {
    /// The number of weights; features beyond the fixed numeric slots share the rest by hash.
    pub dimensions: u32,
    /// The distinct words (of at least three letters, stop words left out) read from the
    /// subject and then the description.
    pub max_words: u32,
}

impl Default for Hashing {
    fn default() -> Self {
        Hashing { dimensions: 256, max_words: 48 }
    }
}

/// The fewest weights a model may have: the numeric slots and some room to hash into.
pub const MIN_DIMENSIONS: u32 = 32;
/// The most weights a model may have.
pub const MAX_DIMENSIONS: u32 = 1 << 16;

/// Numeric features, each in a slot of its own (not hashed), scaled to about 0–1.
const NUMERIC: [&str; 5] =
    ["customer_value", "repeat_contacts", "negative_sentiment", "positive_sentiment", "queue_load"];

/// How much of the description is read for words.
const MAX_TEXT_CHARS: usize = 4_096;

/// One feature of an opening: its name (for explaining a score) and value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Feature<'a> {
    Numeric(&'static str),
    Category(&'a str),
    Channel(&'static str),
    Priority(&'static str),
    Segment(&'a str),
    Hour(u8),
    Word(&'a str),
}

impl Feature<'_> {
    /// The name a person reads: `category=billing`, `word:refund`, `sentiment` …
    pub fn name(&self) -> String {
        match self {
            Feature::Numeric(n) => (*n).to_string(),
            Feature::Category(c) => format!("category={c}"),
            Feature::Channel(c) => format!("channel={c}"),
            Feature::Priority(p) => format!("priority={p}"),
            Feature::Segment(s) => format!("segment={s}"),
            Feature::Hour(h) => format!("hour={h}"),
            Feature::Word(w) => format!("word:{}", w.to_lowercase()),
        }
    }

    /// Its index among `dimensions` weights: a numeric feature's own slot, or a stable
    /// FNV-1a hash of its kind and text over the remaining slots.
    pub fn index(&self, dimensions: u32) -> usize {
        let (kind, text): (u8, &str) = match self {
            Feature::Numeric(n) => return NUMERIC.iter().position(|x| x == n).unwrap_or(0),
            Feature::Category(c) => (1, c),
            Feature::Channel(c) => (2, c),
            Feature::Priority(p) => (3, p),
            Feature::Segment(s) => (4, s),
            Feature::Hour(h) => (5, HOURS[usize::from(*h).min(23)]),
            Feature::Word(w) => (6, w),
        };
        let mut hasher = fnv::FnvHasher::default();
        hasher.write(&[kind]);
        if kind == 6 {
            // A word is hashed lower-cased ("Refund" and "refund" share a weight); FNV-1a
            // reads bytes one by one, so writing it a character at a time hashes the same.
            let mut buf = [0u8; 4];
            for c in text.chars().flat_map(char::to_lowercase) {
                hasher.write(c.encode_utf8(&mut buf).as_bytes());
            }
        } else {
            hasher.write(text.as_bytes());
        }
        let hashed = dimensions as usize - NUMERIC.len();
        NUMERIC.len() + (hasher.finish() % hashed as u64) as usize
    }
}

const HOURS: [&str; 24] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20",
    "21", "22", "23",
];

/// Calls `f` with every feature of `opening` and its value, numeric slots first. Words are
/// the distinct ones of the subject, then the description, up to `hashing.max_words`.
pub fn each_feature<'a>(opening: &'a Opening<'a>, hashing: &Hashing, mut f: impl FnMut(Feature<'a>, f64)) {
    let compound = crate::sentiment::compound(opening.sentiment);
    f(Feature::Numeric("customer_value"), (opening.customer_value.max(0.0) + 1.0).log10() / 5.0);
    f(Feature::Numeric("repeat_contacts"), f64::from(opening.repeat_contacts.saturating_sub(1).min(5)) / 5.0);
    f(Feature::Numeric("negative_sentiment"), (-compound).max(0.0));
    f(Feature::Numeric("positive_sentiment"), compound.max(0.0));
    f(Feature::Numeric("queue_load"), (f64::from(opening.queue_load) + 1.0).ln() / 5.0);
    if let Some(c) = opening.category.filter(|c| !c.is_empty()) {
        f(Feature::Category(c), 1.0);
    }
    f(Feature::Channel(opening.channel.as_str()), 1.0);
    f(Feature::Priority(opening.priority.as_str()), 1.0);
    if let Some(s) = opening.segment.filter(|s| !s.is_empty()) {
        f(Feature::Segment(s), 1.0);
    }
    f(Feature::Hour(opening.hour.min(23)), 1.0);
    let description = match opening.description.char_indices().nth(MAX_TEXT_CHARS) {
        Some((end, _)) => &opening.description[..end],
        None => opening.description,
    };
    let mut seen: Vec<&'a str> = Vec::with_capacity(hashing.max_words as usize);
    for text in [opening.subject, description] {
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            if seen.len() >= hashing.max_words as usize {
                return;
            }
            if word.len() < 3 || seen.iter().any(|s| s.eq_ignore_ascii_case(word)) {
                continue;
            }
            if crate::words::STOP_WORDS.iter().any(|stop| stop.eq_ignore_ascii_case(word)) {
                continue;
            }
            seen.push(word);
            f(Feature::Word(word), 1.0);
        }
    }
}

/// The sparse feature vector of an opening: (index, value), in feature order; indices may
/// repeat (hash collisions), their values then add up.
pub fn vector(opening: &Opening, hashing: &Hashing) -> Vec<(u32, f32)> {
    let mut out = Vec::with_capacity(16 + hashing.max_words as usize);
    each_feature(opening, hashing, |feature, value| {
        out.push((feature.index(hashing.dimensions) as u32, value as f32));
    });
    out
}

/// A trained logistic-regression model: `P(escalated) = σ(intercept + Σ weight[i]·x[i])`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskModel {
    /// The model's version in the store (0 before it is stored).
    pub version: u64,
    pub hashing: Hashing,
    pub intercept: f64,
    /// One weight per dimension.
    pub weights: Vec<f64>,
}

/// One feature's push on a score: its weight times its value, in log-odds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct RiskFactor {
    /// `category=billing`, `word:refund`, `negative_sentiment` …
    pub feature: String,
    /// Its contribution to the log-odds, in thousandths (positive: towards escalation).
    pub contribution_milli: i32,
}

/// A case's risk as scored when it opened: recorded in its `opened` event with the model
/// version, so the score of a case never changes when models do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Assessment {
    /// The model version that scored it.
    pub model_version: u64,
    /// The probability of an escalation, in millionths (0–1,000,000).
    pub probability_ppm: u32,
    /// The features that pushed the score most, strongest first (at most [`TOP_FACTORS`]).
    pub factors: Vec<RiskFactor>,
}

impl Assessment {
    /// The probability, 0.0–1.0.
    pub fn probability(&self) -> f64 {
        f64::from(self.probability_ppm) / 1_000_000.0
    }
}

/// How many factors an assessment keeps.
pub const TOP_FACTORS: usize = 3;

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl RiskModel {
    /// Whether the model's shape is sound: its weights match its hashing, all finite.
    pub fn check(&self) -> Result<(), String> {
        if !(MIN_DIMENSIONS..=MAX_DIMENSIONS).contains(&self.hashing.dimensions) {
            return Err(format!("dimensions must be {MIN_DIMENSIONS} to {MAX_DIMENSIONS}"));
        }
        if self.weights.len() != self.hashing.dimensions as usize {
            return Err(format!("{} weights for {} dimensions", self.weights.len(), self.hashing.dimensions));
        }
        if !self.intercept.is_finite() || self.weights.iter().any(|w| !w.is_finite()) {
            return Err("a weight is not a finite number".into());
        }
        Ok(())
    }

    /// The probability that `opening` will be escalated.
    pub fn probability(&self, opening: &Opening) -> f64 {
        let mut z = self.intercept;
        each_feature(opening, &self.hashing, |feature, value| {
            z += self.weights[feature.index(self.hashing.dimensions)] * value;
        });
        sigmoid(z)
    }

    /// The probability from a sparse vector made by [`vector`] with this model's hashing.
    pub fn probability_of_vector(&self, x: &[(u32, f32)]) -> f64 {
        sigmoid(self.intercept + x.iter().map(|(i, v)| self.weights[*i as usize] * f64::from(*v)).sum::<f64>())
    }

    /// Scores `opening`, with the [`TOP_FACTORS`] features that pushed it most either way.
    pub fn assess(&self, opening: &Opening) -> Assessment {
        let mut z = self.intercept;
        let mut top: [(f64, Option<Feature>); TOP_FACTORS] = [(0.0, None); TOP_FACTORS];
        each_feature(opening, &self.hashing, |feature, value| {
            let contribution = self.weights[feature.index(self.hashing.dimensions)] * value;
            z += contribution;
            // Keep the strongest few by absolute contribution (ties: the first seen).
            if let Some(weakest) = (0..TOP_FACTORS).min_by(|a, b| top[*a].0.abs().total_cmp(&top[*b].0.abs()))
                && (top[weakest].1.is_none() || contribution.abs() > top[weakest].0.abs())
                && contribution != 0.0
            {
                top[weakest] = (contribution, Some(feature));
            }
        });
        let mut factors: Vec<(f64, Feature)> = top.into_iter().filter_map(|(c, f)| f.map(|f| (c, f))).collect();
        factors.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
        Assessment {
            model_version: self.version,
            probability_ppm: (sigmoid(z) * 1_000_000.0).round() as u32,
            factors: factors
                .into_iter()
                .map(|(c, f)| RiskFactor { feature: f.name(), contribution_milli: (c * 1000.0).round() as i32 })
                .collect(),
        }
    }
}

/// One decile of the holdout, by predicted risk (lowest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Decile {
    pub cases: u64,
    /// The mean predicted probability.
    pub predicted: f64,
    /// The share that was escalated.
    pub observed: f64,
}

/// How a model did on the holdout, beside the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Evaluation {
    /// Cases trained on and held out (the most recent ones).
    pub train_cases: u64,
    pub holdout_cases: u64,
    /// The share of holdout cases that were escalated.
    pub escalation_rate: f64,
    /// The model's ROC AUC on the holdout.
    pub auc: f64,
    /// The AUC of the baseline: each case scored with its category's escalation rate in
    /// the training cases.
    pub baseline_auc: f64,
    /// `auc − baseline_auc`.
    pub lift: f64,
    /// The smallest lift that counts (twice the AUC's standard error, Hanley–McNeil, at
    /// least 0.01): less could be chance.
    pub required_lift: f64,
    /// Mean log loss on the holdout, the model's and the baseline's.
    pub log_loss: f64,
    pub baseline_log_loss: f64,
    /// Calibration: the holdout in ten equal parts by predicted risk.
    pub deciles: Vec<Decile>,
    /// Whether the model beats the baseline: a lift of at least `required_lift` and a lower
    /// log loss. A model that does not is refused activation.
    pub beats_baseline: bool,
}

/// The ROC AUC of `scores` against `labels`: the chance that an escalated case scores above
/// one that was not (ties count half). 0.5 when either class is empty.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let positives = labels.iter().filter(|l| **l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return 0.5;
    }
    // Mann–Whitney U from average ranks, ties sharing their rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += order[i..=j].iter().filter(|k| labels[**k]).count() as f64 * rank;
        i = j + 1;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// The standard error of an AUC (Hanley & McNeil, 1982).
fn auc_standard_error(auc: f64, positives: f64, negatives: f64) -> f64 {
    if positives == 0.0 || negatives == 0.0 {
        return 0.0;
    }
    let q1 = auc / (2.0 - auc);
    let q2 = 2.0 * auc * auc / (1.0 + auc);
    let variance = (auc * (1.0 - auc) + (positives - 1.0) * (q1 - auc * auc) + (negatives - 1.0) * (q2 - auc * auc))
        / (positives * negatives);
    variance.max(0.0).sqrt()
}

fn log_loss(scores: &[f64], labels: &[bool]) -> f64 {
    if scores.is_empty() {
        return 0.0;
    }
    let eps = 1e-9;
    let total: f64 = scores
        .iter()
        .zip(labels)
        .map(|(p, y)| {
            let p = p.clamp(eps, 1.0 - eps);
            if *y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    total / scores.len() as f64
}

/// The holdout in ten parts of (nearly) equal size by predicted risk.
pub fn deciles(scores: &[f64], labels: &[bool]) -> Vec<Decile> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let n = order.len();
    (0..10)
        .map(|d| &order[d * n / 10..(d + 1) * n / 10])
        .filter(|part| !part.is_empty())
        .map(|part| Decile {
            cases: part.len() as u64,
            predicted: part.iter().map(|i| scores[*i]).sum::<f64>() / part.len() as f64,
            observed: part.iter().filter(|i| labels[**i]).count() as f64 / part.len() as f64,
        })
        .collect()
}

/// The baseline: the escalation rate of each category in the training cases (smoothed
/// towards the overall rate, so a rare category is not scored 0 or 1).
#[derive(Debug, Clone, Default)]
pub struct CategoryBaseline {
    counts: HashMap<String, (u64, u64)>,
    escalated: u64,
    total: u64,
}

impl CategoryBaseline {
    pub fn add(&mut self, category: Option<&str>, escalated: bool) {
        let entry = self.counts.entry(category.unwrap_or_default().to_string()).or_default();
        entry.0 += u64::from(escalated);
        entry.1 += 1;
        self.escalated += u64::from(escalated);
        self.total += 1;
    }

    pub fn rate(&self, category: Option<&str>) -> f64 {
        let overall = (self.escalated as f64 + 1.0) / (self.total as f64 + 2.0);
        let (e, n) = self.counts.get(category.unwrap_or_default()).copied().unwrap_or((0, 0));
        // Ten pseudo-cases at the overall rate.
        (e as f64 + 10.0 * overall) / (n as f64 + 10.0)
    }
}

/// Evaluates a model's holdout `scores` against the `baseline` scores of the same cases.
pub fn evaluate(scores: &[f64], baseline: &[f64], labels: &[bool], train_cases: u64) -> Evaluation {
    let auc = roc_auc(scores, labels);
    let baseline_auc = roc_auc(baseline, labels);
    let positives = labels.iter().filter(|l| **l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    let required_lift = (2.0 * auc_standard_error(auc, positives, negatives)).max(0.01);
    let loss = log_loss(scores, labels);
    let baseline_loss = log_loss(baseline, labels);
    let lift = auc - baseline_auc;
    Evaluation {
        train_cases,
        holdout_cases: labels.len() as u64,
        escalation_rate: if labels.is_empty() { 0.0 } else { positives / labels.len() as f64 },
        auc,
        baseline_auc,
        lift,
        required_lift,
        log_loss: loss,
        baseline_log_loss: baseline_loss,
        deciles: deciles(scores, labels),
        beats_baseline: positives > 0.0 && negatives > 0.0 && lift >= required_lift && loss < baseline_loss,
    }
}

/// The facts of a case at opening, from its `opened` event and what was read around it:
/// the one way both training and scoring build an [`Opening`]. `at` is when it opened; an
/// event without a stored sentiment (older than scoring) is scored here.
pub fn opening_of<'a>(
    opened: &'a crate::event::Opened,
    customer_value: f64,
    segment: Option<&'a str>,
    repeat_contacts: u32,
    queue_load: u32,
    at: jiff::Timestamp,
) -> Opening<'a> {
    Opening {
        category: opened.category.as_deref(),
        channel: opened.channel,
        priority: opened.priority,
        customer_value,
        segment,
        repeat_contacts,
        sentiment: opened
            .sentiment
            .unwrap_or_else(|| crate::sentiment::score_opening(&opened.subject, &opened.description)),
        subject: &opened.subject,
        description: &opened.description,
        hour: at.to_zoned(jiff::tz::TimeZone::UTC).hour() as u8,
        queue_load,
    }
}

/// How long before an opening counts towards its queue load.
pub const QUEUE_LOAD_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);
