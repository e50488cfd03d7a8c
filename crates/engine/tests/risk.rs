//! The escalation-risk pipeline on histories written by the real engine in simulated time:
//! a planted signal (cases whose customer threatens a chargeback are escalated far more
//! often, in every category alike) gives a model well above the category baseline, which is
//! activated and then scores new cases at opening; pure noise gives a model that is refused.

use jiff::{SignedDuration, Timestamp};
use ladder_core::Role;
use ladder_core::access::Principal;
use ladder_core::event::{EscalationKind, Initiator};
use ladder_core::ids::CaseId;
use ladder_engine::risk::{TrainOptions, Trained};
use ladder_engine::{CaseRequest, Engine, Escalation, OpenRequest};
use ladder_store::{Store, StoreError};
use ladder_testkit::engine::{TestEngine, open_request, team, user};
use ladder_testkit::ts;

const CATEGORIES: [&str; 4] = ["billing", "shipping", "technical", "account"];

/// A small deterministic generator (xorshift64*), so each history is the same every run.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct World {
    engine: Engine,
    store: Store,
    ana: Principal,
    admin: Principal,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let TestEngine { dir, store, engine } = TestEngine::new();
    let frontline = team(&store, "frontline", "L1", &[]).await;
    let billing = team(&store, "billing", "L2", &[]).await;
    let ana = user(&store, "ana", Role::Agent, vec![frontline.id]).await;
    let admin = user(&store, "root", Role::Admin, vec![frontline.id, billing.id]).await;
    World { engine, store, ana, admin, _dir: dir }
}

fn start() -> Timestamp {
    ts("2026-09-01T08:00:00Z")
}

fn opening(category: &str, threat: bool, dice: &mut Dice) -> OpenRequest {
    let words = ["order", "invoice", "router", "password", "delivery", "screen", "account", "parcel"];
    let pick = |d: &mut Dice| words[(d.next() * words.len() as f64) as usize % words.len()];
    let description = if threat {
        format!("My {} is wrong, I will file a chargeback with my bank", pick(dice))
    } else {
        format!("Question about my {} and the {}", pick(dice), pick(dice))
    };
    OpenRequest {
        subject: format!("About my {}", pick(dice)),
        description,
        category: Some(category.into()),
        assignee: Some("ana".into()),
        ..open_request()
    }
}

fn escalation() -> CaseRequest {
    CaseRequest::Escalate(Escalation {
        kind: EscalationKind::Hierarchical,
        initiator: Initiator::Agent,
        to_level: None,
        to_team: Some("billing".into()),
        to_user: None,
        reason: "needs the back office".into(),
        tried: Some("checked the order".into()),
        skill: None,
        skills: Vec::new(),
    })
}

/// Opens `n` cases ten minutes apart and escalates each with probability `p(threat)`.
async fn history(w: &World, n: usize, seed: u64, p: impl Fn(bool) -> f64) {
    let mut dice = Dice(seed);
    for i in 0..n {
        let at = start() + SignedDuration::from_mins(10 * i as i64);
        let category = CATEGORIES[i % CATEGORIES.len()];
        let threat = dice.next() < 0.3;
        let id = CaseId::new_v7();
        w.engine
            .run(&w.ana, id, CaseRequest::Open(opening(category, threat, &mut dice)), None, None, at)
            .await
            .unwrap();
        if dice.next() < p(threat) {
            w.engine.run(&w.ana, id, escalation(), None, None, at + SignedDuration::from_mins(5)).await.unwrap();
        }
    }
}

async fn train(w: &World) -> Trained {
    w.engine.train_risk_model(&w.admin, TrainOptions::default()).await.unwrap()
}

#[tokio::test]
async fn a_planted_signal_beats_the_category_baseline_and_scores_new_cases() {
    let w = world().await;
    history(&w, 1_000, 7, |threat| if threat { 0.8 } else { 0.08 }).await;
    let trained = train(&w).await;
    let e = &trained.evaluation;
    assert_eq!((trained.cases_read, e.holdout_cases, e.train_cases), (1_000, 200, 800));
    // The signal is in the words, not the category: the baseline guesses.
    assert!(e.auc > 0.8, "AUC {e:?}");
    assert!(e.baseline_auc < 0.65, "baseline {e:?}");
    assert!(e.beats_baseline && e.lift >= e.required_lift, "{e:?}");
    assert!(e.log_loss < e.baseline_log_loss, "{e:?}");
    // Calibrated: the riskiest decile is escalated far more often than the safest.
    assert_eq!(e.deciles.len(), 10);
    assert!(e.deciles[9].observed > e.deciles[0].observed + 0.4, "{:?}", e.deciles);

    let stored = w.engine.store_risk_model(&w.admin, trained.clone()).await.unwrap();
    assert_eq!(stored.model.version, 1);
    // The stored model is the trained one, weight for weight.
    let read = w.store.model(1).await.unwrap().unwrap();
    assert_eq!(read.model.weights, trained.model.weights);
    assert_eq!(read.evaluation, trained.evaluation);

    w.engine.activate_risk_model(&w.admin, Some(1)).await.unwrap();
    let at = start() + SignedDuration::from_hours(24 * 30);
    let mut dice = Dice(99);
    let risky =
        w.engine.run(&w.ana, CaseId::new_v7(), CaseRequest::Open(opening("billing", true, &mut dice)), None, None, at);
    let risky = risky.await.unwrap().case.risk.expect("a new case is scored");
    let calm = w
        .engine
        .run(&w.ana, CaseId::new_v7(), CaseRequest::Open(opening("billing", false, &mut dice)), None, None, at)
        .await
        .unwrap()
        .case
        .risk
        .expect("a new case is scored");
    assert_eq!((risky.model_version, calm.model_version), (1, 1));
    assert!(risky.probability() > 0.5 && calm.probability() < 0.3, "{risky:?} {calm:?}");
    // The strongest push is a word of the threat (they always come together, so share it).
    let threat = ["word:chargeback", "word:file", "word:wrong", "word:bank"];
    assert!(
        threat.contains(&risky.factors[0].feature.as_str()) && risky.factors[0].contribution_milli > 0,
        "{risky:?}"
    );
    assert!(risky.factors.len() <= ladder_core::risk::TOP_FACTORS);

    // No model in force: new cases are not scored.
    w.engine.activate_risk_model(&w.admin, None).await.unwrap();
    let unscored =
        w.engine.run(&w.ana, CaseId::new_v7(), CaseRequest::Open(opening("billing", true, &mut dice)), None, None, at);
    assert_eq!(unscored.await.unwrap().case.risk, None);
}

#[tokio::test]
async fn pure_noise_is_refused() {
    let w = world().await;
    history(&w, 600, 11, |_| 0.25).await;
    let trained = train(&w).await;
    let e = &trained.evaluation;
    assert!(!e.beats_baseline, "a model of noise must not beat the baseline: {e:?}");
    assert!((e.auc - 0.5).abs() < 0.12, "{e:?}");
    let stored = w.engine.store_risk_model(&w.admin, trained).await.unwrap();
    let refused = w.engine.activate_risk_model(&w.admin, Some(stored.model.version)).await;
    assert!(matches!(refused, Err(StoreError::Domain(_))), "{refused:?}");
    assert_eq!(w.engine.risk_model(), None);
}

#[tokio::test]
async fn training_and_activation_are_for_admins() {
    let w = world().await;
    let refused = w.engine.train_risk_model(&w.ana, TrainOptions::default()).await;
    assert!(matches!(refused, Err(ladder_engine::risk::TrainError::Store(StoreError::Forbidden(_)))), "{refused:?}");
    assert!(matches!(w.engine.activate_risk_model(&w.ana, None).await, Err(StoreError::Forbidden(_))));
    assert!(matches!(w.engine.risk_models(&w.ana).await, Err(StoreError::Forbidden(_))));
    // Too little history: nothing to learn from.
    let few = w.engine.train_risk_model(&w.admin, TrainOptions::default()).await;
    assert!(matches!(few, Err(ladder_engine::risk::TrainError::TooFewCases { cases: 0, .. })), "{few:?}");
}
