//! The risk model's pure parts: hashed features, reproducible scores for a model version,
//! the top factors, and the evaluation's figures on hand-checked data.

use ladder_core::case::{Channel, Priority};
use ladder_core::risk::{Hashing, Opening, RiskModel, deciles, each_feature, evaluate, roc_auc, vector};

fn opening<'a>(subject: &'a str, description: &'a str) -> Opening<'a> {
    Opening {
        category: Some("billing"),
        channel: Channel::Email,
        priority: Priority::High,
        customer_value: 1_200.0,
        segment: Some("vip"),
        repeat_contacts: 2,
        sentiment: -700,
        subject,
        description,
        hour: 14,
        queue_load: 12,
    }
}

fn model(seed: u64) -> RiskModel {
    let hashing = Hashing::default();
    let mut x = seed;
    let weights = (0..hashing.dimensions)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        })
        .collect();
    RiskModel { version: 4, hashing, intercept: -1.0, weights }
}

#[test]
fn scores_are_reproducible_for_a_model_version() {
    let m = model(1);
    let o = opening("Refund not received", "I want my refund, this is the third time I write");
    let first = m.assess(&o);
    // The same model read back from JSON (as the store keeps it) scores the same.
    let stored: RiskModel = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(stored.assess(&o), first);
    assert_eq!(first.model_version, 4);
    assert!((m.probability(&o) - first.probability()).abs() < 1e-6);
    assert!((m.probability_of_vector(&vector(&o, &m.hashing)) - m.probability(&o)).abs() < 1e-9);
}

#[test]
fn feature_indices_are_stable() {
    // FNV-1a over the feature's kind and text: these numbers must never change, or stored
    // models would score differently after an upgrade.
    let v = vector(&opening("Refund", ""), &Hashing::default());
    let indices: Vec<u32> = v.iter().map(|(i, _)| *i).collect();
    assert_eq!(&indices[..5], &[0, 1, 2, 3, 4]);
    let again = vector(&opening("REFUND", ""), &Hashing::default());
    assert_eq!(v, again, "words are hashed lower-cased");
    assert!(indices.iter().all(|i| *i < 256));
    use ladder_core::risk::Feature;
    let pinned =
        [Feature::Word("refund").index(256), Feature::Category("billing").index(256), Feature::Hour(14).index(256)];
    assert_eq!(pinned, [127, 51, 13]);
}

#[test]
fn words_are_distinct_bounded_and_without_stop_words() {
    let hashing = Hashing { dimensions: 256, max_words: 3 };
    let o = opening("the router the ROUTER is broken", "again and again broken modem");
    let mut words = Vec::new();
    each_feature(&o, &hashing, |f, _| {
        if let ladder_core::risk::Feature::Word(w) = f {
            words.push(w.to_lowercase());
        }
    });
    // "the", "is", "and" and "again" are stop words.
    assert_eq!(words, ["router", "broken", "modem"]);
}

#[test]
fn top_factors_are_the_strongest_pushes() {
    let hashing = Hashing::default();
    let mut m = RiskModel { version: 1, hashing, intercept: 0.0, weights: vec![0.0; 256] };
    let o = opening("chargeback", "");
    let word = ladder_core::risk::Feature::Word("chargeback").index(256);
    let category = ladder_core::risk::Feature::Category("billing").index(256);
    m.weights[word] = 2.0;
    m.weights[category] = -0.5;
    m.weights[0] = 0.1;
    let a = m.assess(&o);
    let names: Vec<&str> = a.factors.iter().map(|f| f.feature.as_str()).collect();
    assert_eq!(names, ["word:chargeback", "category=billing", "customer_value"]);
    assert_eq!(a.factors[0].contribution_milli, 2000);
    assert_eq!(a.factors[1].contribution_milli, -500);
}

#[test]
fn auc_by_hand() {
    assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]), 1.0);
    assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]), 0.0);
    assert_eq!(roc_auc(&[0.5, 0.5, 0.5, 0.5], &[false, true, false, true]), 0.5);
    // One inversion of four pairs.
    assert_eq!(roc_auc(&[0.1, 0.6, 0.5, 0.9], &[false, false, true, true]), 0.75);
    assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), 0.5);
}

#[test]
fn calibration_splits_the_holdout_in_ten() {
    let scores: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
    let labels: Vec<bool> = (0..100).map(|i| i >= 90).collect();
    let d = deciles(&scores, &labels);
    assert_eq!(d.len(), 10);
    assert!(d.iter().all(|d| d.cases == 10));
    assert_eq!(d[9].observed, 1.0);
    assert_eq!(d[0].observed, 0.0);
}

#[test]
fn a_model_no_better_than_the_baseline_is_refused() {
    let labels: Vec<bool> = (0..400).map(|i| i % 4 == 0).collect();
    let perfect: Vec<f64> = labels.iter().map(|l| if *l { 0.9 } else { 0.1 }).collect();
    let flat = vec![0.25; 400];
    assert!(evaluate(&perfect, &flat, &labels, 1_600).beats_baseline);
    assert!(!evaluate(&flat, &flat, &labels, 1_600).beats_baseline);
    assert!(!evaluate(&flat, &perfect, &labels, 1_600).beats_baseline);
}
