//! The what-if simulator against a history recorded by the real engine in simulated time:
//! replaying under the matrix in force gives the recorded streams back event for event, and
//! candidates with a shorter target or a higher authority limit move the figures as
//! worked out by hand below.
//!
//! The day: Monday 2026-11-23 in New York, L1 open 08:00–20:00, L2 around the clock,
//! warnings at 50 %.
//! - Case A (10:00): nobody answers; L1 respond breaches at 11:00 and the rule escalates to
//!   L2; bob answers at 11:20 and resolves at 12:00.
//! - Case B (10:05): ana answers at 10:45 and escalates to L2 herself at 11:00; nobody
//!   answers at L2, whose respond clock breaches at 12:00; bob resolves at 12:30.
//! - Case C (10:10): ana answers at 10:20, applies a credit of 80 at 10:25 (above her limit
//!   of 50: an approval request), sue approves at 10:50, ana resolves at 11:00.

use std::sync::Arc;

use jiff::Timestamp;
use ladder_core::access::Principal;
use ladder_core::command::{AddMessage, Decision, Resolve};
use ladder_core::event::{EscalationKind, Initiator};
use ladder_core::ids::CaseId;
use ladder_core::matrix::{self, CompiledMatrix};
use ladder_core::{Role, Visibility};
use ladder_engine::rules::ActiveMatrix;
use ladder_engine::simulate::{Progress, Replay, SimulationBudget, SimulationError, SimulationReport};
use ladder_engine::{ActionRequest, CaseRequest, Engine, Escalation};
use ladder_store::Store;
use ladder_testkit::engine::{TestEngine, activate_matrix, open_request, team, user};
use ladder_testkit::matrix::{CREDIT_LIMITS, SUPPORT_HOURS};
use ladder_testkit::ts;

/// Business hours, a credit limit, and two rules.
fn matrix() -> String {
    [SUPPORT_HOURS, CREDIT_LIMITS, RULES].concat()
}

const RULES: &str = r#"
[[rules]]
name = "Missed first response goes to the back office"
trigger = "clock_breached"
when = 'case.level == "L1" && event.clock == "respond"'
then = { escalate = "L2", kind = "hierarchical" }

[[rules]]
name = "Warn the team"
trigger = "clock_at_risk"
then = { notify = [{ who = "team", channel = "chat" }] }
"#;

struct World {
    engine: Engine,
    store: Store,
    ana: Principal,
    bob: Principal,
    sue: Principal,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let TestEngine { dir, store, engine } = TestEngine::new();
    let frontline = team(&store, "frontline", "L1", &[]).await;
    let billing = team(&store, "billing", "L2", &[]).await;
    let ana = user(&store, "ana", Role::Agent, vec![frontline.id]).await;
    let bob = user(&store, "bob", Role::Agent, vec![billing.id]).await;
    let sue = user(&store, "sue", Role::Supervisor, vec![frontline.id, billing.id]).await;
    activate_matrix(&engine, "main", &matrix(), "sue", ts("2026-11-01T00:00:00Z")).await;
    World { engine, store, ana, bob, sue, _dir: dir }
}

fn at(time: &str) -> Timestamp {
    ts(&format!("2026-11-23T{time}-05:00"))
}

fn open() -> CaseRequest {
    CaseRequest::Open(open_request())
}

fn reply() -> CaseRequest {
    CaseRequest::AddMessage(AddMessage {
        visibility: Visibility::Public,
        channel: None,
        body: "We are looking into it.".into(),
        from_customer: false,
        resume: false,
    })
}

fn resolve() -> CaseRequest {
    CaseRequest::Resolve(Resolve { code: "refunded".into(), note: None, article_id: None })
}

impl World {
    /// Fires every timer due up to `to`, each at its own instant, as a punctual server would.
    async fn advance(&self, to: Timestamp) {
        while let Some(next) = self.store.next_timer_at().await.unwrap() {
            if next > to {
                break;
            }
            self.engine.fire_due(next).await.unwrap();
        }
    }

    async fn run(&self, who: &Principal, id: CaseId, request: CaseRequest, time: &str) {
        self.advance(at(time) - jiff::SignedDuration::from_nanos(1)).await;
        self.engine.run(who, id, request, None, None, at(time)).await.unwrap();
    }

    /// Records the day described at the top.
    async fn record_the_day(&self) {
        let (a, b, c) = (CaseId::new_v7(), CaseId::new_v7(), CaseId::new_v7());
        self.run(&self.ana, a, open(), "10:00:00").await;
        self.run(&self.ana, b, open(), "10:05:00").await;
        self.run(&self.ana, c, open(), "10:10:00").await;
        self.run(&self.ana, c, reply(), "10:20:00").await;
        let credit = CaseRequest::ApplyAction(ActionRequest {
            action: "credit".into(),
            amount: 80.0,
            note: Some("goodwill".into()),
        });
        self.run(&self.ana, c, credit, "10:25:00").await;
        self.run(&self.ana, b, reply(), "10:45:00").await;
        let approve = CaseRequest::DecideApproval { approval: 0, decision: Decision::Approve, comment: None };
        self.run(&self.sue, c, approve, "10:50:00").await;
        let escalate = CaseRequest::Escalate(Escalation {
            kind: EscalationKind::Hierarchical,
            initiator: Initiator::Agent,
            to_level: None,
            to_team: Some("billing".into()),
            to_user: None,
            reason: "needs a billing specialist".into(),
            tried: Some("checked the order".into()),
            skill: None,
            skills: Vec::new(),
        });
        self.run(&self.ana, b, escalate, "11:00:00").await;
        self.run(&self.ana, c, resolve(), "11:00:00").await;
        self.run(&self.bob, a, reply(), "11:20:00").await;
        self.run(&self.bob, a, resolve(), "12:00:00").await;
        self.run(&self.bob, b, resolve(), "12:30:00").await;
        self.advance(until()).await;
    }

    /// Simulates the matrix in force with `progress` and `budget`.
    async fn simulate_with(
        &self,
        progress: Arc<Progress>,
        budget: SimulationBudget,
    ) -> Result<SimulationReport, SimulationError> {
        let (parsed, _) = matrix::parse(&matrix(), "candidate.toml").unwrap();
        let compiled = CompiledMatrix::compile(parsed, 2).unwrap();
        let candidate = Arc::new(ActiveMatrix::new(2, "candidate".into(), compiled).unwrap());
        self.engine.simulate(candidate, from(), to(), until(), progress, budget).await
    }

    async fn simulate(&self, source: &str) -> SimulationReport {
        let (parsed, _) = matrix::parse(source, "candidate.toml").unwrap();
        let compiled = CompiledMatrix::compile(parsed, 2).unwrap();
        let candidate = Arc::new(ActiveMatrix::new(2, "candidate".into(), compiled).unwrap());
        let progress = Arc::new(Progress::default());
        let report =
            self.engine.simulate(candidate, from(), to(), until(), progress.clone(), Default::default()).await.unwrap();
        assert_eq!(progress.done.load(std::sync::atomic::Ordering::Acquire), 3);
        assert_eq!(progress.total.load(std::sync::atomic::Ordering::Acquire), 3);
        report
    }
}

fn from() -> Timestamp {
    at("00:00:00")
}
fn to() -> Timestamp {
    at("23:59:59")
}
fn until() -> Timestamp {
    ts("2026-11-24T18:00:00-05:00")
}

#[tokio::test]
async fn replaying_under_the_matrix_in_force_reproduces_every_stream() {
    let w = world().await;
    w.record_the_day().await;
    let active = w.engine.active_matrix().unwrap();
    let histories = w.store.histories(from(), to(), 0, 100, ladder_engine::rules::REPEAT_CONTACT_WINDOW).await.unwrap();
    assert_eq!(histories.len(), 3);
    let teams: Vec<_> = w
        .store
        .teams()
        .await
        .unwrap()
        .iter()
        .map(|t| ladder_core::command::TeamRef { id: t.id, slug: t.slug.clone(), level: t.level.clone() })
        .collect();
    let users = w.store.users(None).await.unwrap().into_iter().map(|u| (u.id, (u.role, u.name))).collect();
    let ladder = w.engine.ladder();
    let replay = Replay { matrix: &active, teams: &teams, ladder: &ladder, users: &users, until: until() };
    for h in &histories {
        let replayed = replay.case(h);
        assert_eq!(replayed.events, h.events, "case #{} replays as recorded", h.number);
        assert_eq!(replayed.absorbed, 0);
    }

    // The same through the engine, and as figures: no case changed, both columns equal.
    let report = w.simulate(&matrix()).await;
    assert_eq!(report.cases, 3);
    assert_eq!(report.cases_changed, 0);
    assert_eq!(report.totals.actual, report.totals.predicted);
    assert!(report.levels.iter().all(|l| l.actual == l.predicted), "{:#?}", report.levels);
    let t = &report.totals.actual;
    assert_eq!((t.escalations_by_rules, t.escalations_by_people), (1, 1));
    assert_eq!(t.breaches, 2, "A's L1 respond and B's L2 respond");
    assert_eq!(t.warnings, 3);
    assert_eq!((t.approvals, t.actions_applied, t.resolved), (1, 1, 3));
    let rule = report.rules.iter().find(|r| r.rule == "Missed first response goes to the back office").unwrap();
    assert_eq!((rule.actual, rule.predicted), (1, 1));
}

#[tokio::test]
async fn a_shorter_first_response_target_moves_breaches_and_escalations_as_expected() {
    let w = world().await;
    w.record_the_day().await;
    let candidate = matrix().replacen("respond = \"1h\"", "respond = \"30m\"", 1);
    let report = w.simulate(&candidate).await;
    assert_eq!(report.cases, 3);
    let level = |name: &str| report.levels.iter().find(|l| l.name == name).unwrap().clone();
    // Actual: A breached L1 at 11:00, B breached L2 at 12:00.
    assert_eq!((level("L1").actual.breaches, level("L2").actual.breaches), (1, 1));
    // Predicted: A breaches L1 at 10:30 and B at 10:35 (ana's answer at 10:45 comes too
    // late); both are escalated by the rule, B's L2 respond clock (from 10:35) is met by
    // that 10:45 answer, and A's (from 10:30) by bob's at 11:20. C was answered in 10 min.
    assert_eq!((level("L1").predicted.breaches, level("L2").predicted.breaches), (2, 0));
    let t = &report.totals;
    assert_eq!((t.actual.escalations_by_rules, t.actual.escalations_by_people), (1, 1));
    assert_eq!((t.predicted.escalations_by_rules, t.predicted.escalations_by_people), (2, 0));
    // Ana's own escalation of B at 11:00 finds it already at L2.
    assert_eq!(report.escalations_absorbed, 1);
    // Warnings: actual A 10:30, B 10:35 and 11:30; predicted A 10:15 and 11:00 (L2 from
    // 10:30, answered 11:20) and B 10:20; C, answered at 10:20, would have warned at 10:25.
    assert_eq!((t.actual.warnings, t.predicted.warnings), (3, 3));
    assert_eq!(t.predicted.notifications, 3);
    // B reaches L2 25 minutes sooner; A 30 minutes sooner.
    assert_eq!(level("L2").predicted.held_seconds - level("L2").actual.held_seconds, 55 * 60);
    // C's figures do not move, but its stream does: its clock starts with the new target.
    assert_eq!(report.cases_changed, 3);
    let c_team = |c: &ladder_engine::simulate::Compared| (c.actual.breaches, c.predicted.breaches);
    assert_eq!(c_team(&report.teams.iter().find(|t| t.name == "frontline").unwrap().clone()), (1, 2));
}

#[tokio::test]
async fn a_higher_agent_limit_removes_the_approval_and_the_report_is_deterministic() {
    let w = world().await;
    w.record_the_day().await;
    let candidate = matrix().replacen("agent = 50,", "agent = 100,", 1);
    let report = w.simulate(&candidate).await;
    let t = &report.totals;
    assert_eq!((t.actual.approvals, t.predicted.approvals), (1, 0));
    // The credit still happens: at once, within ana's new limit; sue's decision is dropped.
    assert_eq!((t.actual.actions_applied, t.predicted.actions_applied), (1, 1));
    assert_eq!(report.cases_changed, 1);
    assert_eq!(t.actual.breaches, t.predicted.breaches);
    // The same inputs give the same report.
    assert_eq!(w.simulate(&candidate).await, report);
}

#[tokio::test]
async fn a_simulation_stops_when_cancelled_or_over_its_budget() {
    let w = world().await;
    w.record_the_day().await;
    let budget = SimulationBudget::default();

    // Cancelled: it stops before replaying anything more.
    let progress = Arc::new(Progress::default());
    progress.cancel();
    let r = w.simulate_with(progress.clone(), budget).await;
    assert!(matches!(r, Err(SimulationError::Cancelled)), "{r:?}");
    assert_eq!(progress.done.load(std::sync::atomic::Ordering::Acquire), 0);

    // More cases than it may replay: refused before it starts.
    let r = w.simulate_with(Arc::default(), SimulationBudget { max_cases: 2, ..budget }).await;
    match r {
        Err(e @ SimulationError::TooManyCases { cases: 3, limit: 2 }) => {
            assert!(e.to_string().contains("the period holds 3 cases, more than the 2"), "{e}")
        }
        other => panic!("{other:?}"),
    }

    // No time at all: stopped at its first look at the clock.
    let r = w.simulate_with(Arc::default(), SimulationBudget { max_time: std::time::Duration::ZERO, ..budget }).await;
    assert!(matches!(r, Err(SimulationError::TooLong(_))), "{r:?}");

    // Within its budget, the report as usual.
    let r = w.simulate_with(Arc::default(), SimulationBudget { max_cases: 3, ..budget }).await.unwrap();
    assert_eq!(r.cases, 3);
}
