//! The SLA timer engine against a real store (SQLite, or PostgreSQL with
//! `LADDER_TEST_BACKEND=postgres`), in simulated time: cases are written
//! at given instants and `Engine::fire_due` is called at given instants. Nothing sleeps.
//!
//! Dates: 2026-11-23 is a Monday.

use jiff::Timestamp;
use ladder_core::access::{CaseScope, Principal};
use ladder_core::command::{AddMessage, Resolve};
use ladder_core::directory::{Customer, LevelId};
use ladder_core::ids::{CaseId, CustomerId};
use ladder_core::{Priority, Role, Visibility};
use ladder_engine::{CaseRequest, Engine, OpenRequest};
use ladder_store::{CaseFilter, PageRequest, Store};
use ladder_testkit::engine::{TestEngine, activate_matrix, open_request, user};
use ladder_testkit::matrix::SUPPORT_HOURS;
use ladder_testkit::{directory, ts};

/// Business hours and two rules.
fn matrix() -> String {
    [SUPPORT_HOURS, RULES].concat()
}

const RULES: &str = r#"
[[rules]]
name = "Missed first response goes to the back office"
trigger = "clock_breached"
when = 'case.level == "L1" && event.clock == "respond"'
then = { escalate = "L2", kind = "hierarchical", tags = ["sla-breach"] }

[[rules]]
name = "Warn the team, in its working hours"
trigger = "clock_at_risk"
then = { notify = [{ who = "team", channel = "chat", within_hours = true }] }
"#;

async fn team(store: &Store, slug: &str, level: &str) -> ladder_core::directory::Team {
    ladder_testkit::engine::team(store, slug, level, &[]).await
}

struct World {
    engine: Engine,
    store: Store,
    admin: Principal,
    agent: Principal,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let TestEngine { dir, store, engine } = TestEngine::new();
    let frontline = team(&store, "frontline", "L1").await;
    team(&store, "billing", "L2").await;
    let admin = user(&store, "root", Role::Admin, vec![]).await;
    let agent = user(&store, "ana", Role::Agent, vec![frontline.id]).await;
    activate_matrix(&engine, "main", &matrix(), "root", ts("2026-11-01T00:00:00Z")).await;
    World { engine, store, admin, agent, _dir: dir }
}

fn open(team: &str, priority: Priority, customer: Option<CustomerId>) -> CaseRequest {
    CaseRequest::Open(OpenRequest { priority, team: Some(team.into()), customer, ..open_request() })
}

impl World {
    async fn open_at(&self, at: &str) -> CaseId {
        let id = CaseId::new_v7();
        self.engine.run(&self.agent, id, open("frontline", Priority::Normal, None), None, None, ts(at)).await.unwrap();
        id
    }

    async fn kinds(&self, id: CaseId) -> Vec<String> {
        let events = self.store.events(id).await.unwrap();
        events.iter().map(|e| e.recorded.event.kind().to_string()).collect()
    }

    async fn count(&self, id: CaseId, kind: &str) -> usize {
        self.kinds(id).await.iter().filter(|k| *k == kind).count()
    }
}

#[tokio::test]
async fn a_breach_fires_once_and_the_matrix_escalates() {
    let w = world().await;
    let id = w.open_at("2026-11-23T10:00:00-05:00").await;
    assert_eq!(w.store.armed_timers().await.unwrap(), 2, "respond and resolve are armed");
    assert_eq!(w.store.next_timer_at().await.unwrap(), Some(ts("2026-11-23T10:30:00-05:00")));

    // Nothing is due before the first warning.
    let r = w.engine.fire_due(ts("2026-11-23T10:29:59-05:00")).await.unwrap();
    assert_eq!((r.fired, r.stale), (0, 0));

    // The respond clock warns at 50 %, and the team is told at once (it is working hours).
    let r = w.engine.fire_due(ts("2026-11-23T10:30:00-05:00")).await.unwrap();
    assert_eq!(r.fired, 1);
    assert_eq!(w.count(id, "clock_at_risk").await, 1);
    let events = w.store.events(id).await.unwrap();
    let note = events.iter().find(|e| e.recorded.event.kind() == "notification_requested").expect("a notification");
    let data = serde_json::to_value(&note.recorded.event).unwrap();
    assert_eq!(data["recipient"], "team");
    assert!(data.get("not_before").is_none(), "sent at once in working hours: {data}");

    // Fired late (the server was busy): the breach records the true due time, and the
    // matrix rule escalates the case to L2, where new clocks start.
    let r = w.engine.fire_due(ts("2026-11-23T11:00:02-05:00")).await.unwrap();
    assert_eq!(r.fired, 1);
    assert_eq!(r.lags, vec![jiff::SignedDuration::from_secs(2)]);
    let events = w.store.events(id).await.unwrap();
    let breach = events.iter().find(|e| e.recorded.event.kind() == "clock_breached").unwrap();
    let data = serde_json::to_value(&breach.recorded.event).unwrap();
    assert_eq!(data["clock"], "respond");
    assert_eq!(data["due_at"].as_str().unwrap().parse::<Timestamp>().unwrap(), ts("2026-11-23T11:00:00-05:00"));
    assert_eq!(breach.recorded.at, ts("2026-11-23T11:00:02-05:00"));
    let case = w.store.case(id).await.unwrap().unwrap();
    assert_eq!(case.level, LevelId::new("L2"));
    assert!(case.tags.contains("sla-breach"));
    let escalated = events.iter().find(|e| e.recorded.event.kind() == "escalated").unwrap();
    assert_eq!(escalated.recorded.at, ts("2026-11-23T11:00:02-05:00"));
    let live: Vec<_> = case.clocks.iter().filter(|c| !c.state.is_final()).collect();
    assert!(live.iter().all(|c| c.level == LevelId::new("L2")), "{live:?}");
    assert_eq!(live.len(), 2);

    // Firing the same instant again, or any later instant before the L2 clocks are due,
    // records nothing more.
    let before = w.kinds(id).await.len();
    w.engine.fire_due(ts("2026-11-23T11:00:02-05:00")).await.unwrap();
    w.engine.fire_due(ts("2026-11-23T11:10:00-05:00")).await.unwrap();
    assert_eq!(w.kinds(id).await.len(), before);
    assert_eq!(w.count(id, "clock_breached").await, 1);
    assert_eq!(w.count(id, "escalated").await, 1);
}

#[tokio::test]
async fn notifications_out_of_hours_wait_for_the_calendar() {
    let w = world().await;
    // Opened Friday 19:50: 10 minutes of business time left on Friday; 50 % of the respond
    // target (30 min) is reached Monday 08:20.
    let id = w.open_at("2026-11-27T19:50:00-05:00").await;
    assert_eq!(w.store.next_timer_at().await.unwrap(), Some(ts("2026-11-30T08:20:00-05:00")));
    // Saturday: nothing is due; business time does not pass at weekends.
    assert_eq!(w.engine.fire_due(ts("2026-11-28T12:00:00-05:00")).await.unwrap().fired, 0);
    w.engine.fire_due(ts("2026-11-30T08:20:00-05:00")).await.unwrap();
    assert_eq!(w.count(id, "clock_at_risk").await, 1);

    // A warning that fires outside the team's hours is held to the next opening. L1's
    // calendar is closed at 21:00, so a notification then waits until 08:00 the next day.
    let late = w.open_at("2026-11-30T19:00:00-05:00").await;
    w.engine.fire_due(ts("2026-11-30T21:00:00-05:00")).await.unwrap();
    let events = w.store.events(late).await.unwrap();
    let note = events.iter().find(|e| e.recorded.event.kind() == "notification_requested").expect("notification");
    let data = serde_json::to_value(&note.recorded.event).unwrap();
    let not_before: Timestamp = data["not_before"].as_str().expect("held").parse().unwrap();
    assert_eq!(not_before, ts("2026-12-01T08:00:00-05:00"));
}

#[tokio::test]
async fn a_resolved_case_never_fires() {
    let w = world().await;
    let id = w.open_at("2026-11-23T10:00:00-05:00").await;
    let resolve = CaseRequest::Resolve(Resolve { code: "refunded".into(), note: None, article_id: None });
    w.engine.run(&w.agent, id, resolve, None, None, ts("2026-11-23T10:05:00-05:00")).await.unwrap();
    assert_eq!(w.store.armed_timers().await.unwrap(), 0, "resolving disarms every timer");
    let before = w.kinds(id).await;
    let r = w.engine.fire_due(ts("2026-12-31T00:00:00Z")).await.unwrap();
    assert_eq!((r.fired, r.stale), (0, 0));
    assert_eq!(w.kinds(id).await, before);
}

#[tokio::test]
async fn a_reply_disarms_respond_and_arms_nothing_stale() {
    let w = world().await;
    let id = w.open_at("2026-11-23T10:00:00-05:00").await;
    let reply = CaseRequest::AddMessage(AddMessage {
        visibility: Visibility::Public,
        channel: None,
        body: "Looking into it".into(),
        from_customer: false,
        resume: false,
    });
    w.engine.run(&w.agent, id, reply, None, None, ts("2026-11-23T10:10:00-05:00")).await.unwrap();
    // Respond is met; resolve stays armed (L1 has no update target).
    assert_eq!(w.store.armed_timers().await.unwrap(), 1);
    assert_eq!(w.store.next_timer_at().await.unwrap(), Some(ts("2026-11-23T14:00:00-05:00")));
    w.engine.fire_due(ts("2026-11-23T11:30:00-05:00")).await.unwrap();
    assert_eq!(w.count(id, "clock_breached").await, 0);
}

#[tokio::test]
async fn timers_survive_a_restart_and_catch_up_once() {
    let w = world().await;
    let id = w.open_at("2026-11-23T10:00:00-05:00").await;
    // Stop the engine, keeping its data (the directory, or the PostgreSQL schema).
    let World { engine, store, _dir, .. } = w;
    let location = store.location().clone();
    drop((engine, store));
    // A new engine on the same data: the matrix is reloaded and the timers are still armed.
    let (store, engine) = ladder_testkit::engine::open(&location);
    engine.load_matrix().await.unwrap();
    assert_eq!(store.armed_timers().await.unwrap(), 2);
    // It was down all day: everything due since fires once, in order.
    let r = engine.fire_due(ts("2026-11-23T23:00:00-05:00")).await.unwrap();
    assert_eq!((r.fired, r.stale), (1, 1), "{r:?}");
    let kinds: Vec<String> =
        store.events(id).await.unwrap().iter().map(|e| e.recorded.event.kind().to_string()).collect();
    // The respond breach escalated the case (at the catch-up instant), which cancelled L1's
    // resolve clock before its own timer came up: one breach, one escalation.
    assert_eq!(kinds.iter().filter(|k| *k == "clock_breached").count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "escalated").count(), 1, "{kinds:?}");
    let again = engine.fire_due(ts("2026-11-23T23:00:00-05:00")).await.unwrap();
    assert_eq!(again.fired, 0);
    let after: Vec<String> =
        store.events(id).await.unwrap().iter().map(|e| e.recorded.event.kind().to_string()).collect();
    assert_eq!(after, kinds);
}

#[tokio::test]
async fn at_risk_lists_follow_time_left_and_scope() {
    let w = world().await;
    // Two cases at L2 (24x7, no escalation rule there), opened by an admin for billing, and
    // one at the front line opened by Ana.
    let at_l2 = |at: &'static str| {
        let engine = w.engine.clone();
        let admin = w.admin.clone();
        async move {
            let id = CaseId::new_v7();
            engine.run(&admin, id, open("billing", Priority::Normal, None), None, None, ts(at)).await.unwrap();
            id
        }
    };
    let overdue = at_l2("2026-11-23T10:00:00-05:00").await;
    let warned = at_l2("2026-11-23T10:20:00-05:00").await;
    let calm = w.open_at("2026-11-23T11:00:00-05:00").await;
    // 11:10: the first L2 case's respond clock has breached, the second has warned at 50 %.
    w.engine.fire_due(ts("2026-11-23T11:10:00-05:00")).await.unwrap();
    let risky = || vec!["breached".to_string(), "at_risk".to_string()];
    let all = w.store.sla_cases(risky(), None, CaseScope::All, 10).await.unwrap();
    let ids: Vec<CaseId> = all.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![overdue, warned], "the least time left first: due 11:00, then 11:20");
    // With a horizon, cases due soon are listed too (the front-line case is due at 12:00).
    let horizon = Some(ts("2026-11-23T13:00:00-05:00"));
    let soon = w.store.sla_cases(risky(), horizon, CaseScope::All, 10).await.unwrap();
    assert_eq!(soon.iter().map(|c| c.id).collect::<Vec<_>>(), vec![overdue, warned, calm]);
    // The case list filters on the standing.
    let filter = CaseFilter { sla: vec!["at_risk".into()], ..Default::default() };
    let page = w.store.list_cases(filter, CaseScope::All, PageRequest { before: None, limit: 10 }).await;
    assert_eq!(page.unwrap().cases.iter().map(|c| c.id).collect::<Vec<_>>(), vec![warned]);
    // Ana (front line) sees none of billing's cases, only her own.
    let scoped = w.store.sla_cases(risky(), None, w.agent.case_scope(), 10).await.unwrap();
    assert!(scoped.is_empty(), "{scoped:?}");
    let scoped = w.store.sla_cases(risky(), horizon, w.agent.case_scope(), 10).await.unwrap();
    assert_eq!(scoped.iter().map(|c| c.id).collect::<Vec<_>>(), vec![calm]);
}

#[tokio::test]
async fn segment_targets_come_from_the_customer() {
    let w = world().await;
    let vip = Customer {
        value: 50_000.0,
        segment: Some("vip".into()),
        ..directory::customer(CustomerId::new_v7(), "Vera", ts("2026-11-01T00:00:00Z"))
    };
    let vip = ladder_testkit::engine::customer(&w.store, vip).await;
    let source = matrix().replace("resolve = \"8h\"", "resolve = \"8h\"\nby_segment = { vip = { respond = \"15m\" } }");
    activate_matrix(&w.engine, "vip", &source, "root", ts("2026-11-02T00:00:00Z")).await;
    let id = CaseId::new_v7();
    let at = ts("2026-11-23T10:00:00-05:00");
    w.engine.run(&w.agent, id, open("frontline", Priority::Normal, Some(vip.id)), None, None, at).await.unwrap();
    let case = w.store.case(id).await.unwrap().unwrap();
    let respond = case.clocks.iter().find(|c| c.kind == ladder_core::sla::ClockKind::Respond).unwrap();
    assert_eq!(respond.target, jiff::SignedDuration::from_mins(15));
    assert_eq!(respond.due_at, Some(ts("2026-11-23T10:15:00-05:00")));
}

#[tokio::test]
async fn a_new_matrix_version_retargets_open_clocks() {
    let w = world().await;
    let id = w.open_at("2026-11-23T10:00:00-05:00").await;
    let resolved = w.open_at("2026-11-23T10:00:00-05:00").await;
    let resolve = CaseRequest::Resolve(Resolve { code: "done".into(), note: None, article_id: None });
    w.engine.run(&w.agent, resolved, resolve, None, None, ts("2026-11-23T10:05:00-05:00")).await.unwrap();
    // Version 2 gives the front line two hours to respond.
    let v2 = matrix().replace("respond = \"1h\"", "respond = \"2h\"");
    let now = ts("2026-11-23T10:30:00-05:00");
    activate_matrix(&w.engine, "v2", &v2, "root", now).await;
    assert_eq!(w.engine.reevaluate_clocks(now).await.unwrap(), 1, "only the open case has live clocks");
    let case = w.store.case(id).await.unwrap().unwrap();
    let respond = case.clocks.iter().find(|c| c.kind == ladder_core::sla::ClockKind::Respond).unwrap();
    assert_eq!(respond.target, jiff::SignedDuration::from_hours(2));
    assert_eq!(respond.revisions, vec![(now, jiff::SignedDuration::from_hours(1))], "history kept");
    assert_eq!(respond.due_at, Some(ts("2026-11-23T12:00:00-05:00")), "30 min spent, 90 min left");
    let events = w.store.events(id).await.unwrap();
    let retarget = events.iter().find(|e| e.recorded.event.kind() == "clock_retargeted").unwrap();
    assert_eq!(retarget.recorded.matrix_version, Some(2));
    // The timer follows: the 50 % warning is now at 11:00, not 10:30.
    assert_eq!(w.store.next_timer_at().await.unwrap(), Some(ts("2026-11-23T11:00:00-05:00")));
    // Running it again changes nothing.
    assert_eq!(w.engine.reevaluate_clocks(now).await.unwrap(), 0);
}

#[tokio::test]
async fn open_cases_adopt_clocks_when_a_matrix_comes_in_force() {
    let TestEngine { dir: _dir, store, engine } = TestEngine::new();
    let frontline = team(&store, "frontline", "L1").await;
    team(&store, "billing", "L2").await;
    let agent = user(&store, "ana", Role::Agent, vec![frontline.id]).await;
    let id = CaseId::new_v7();
    let at = ts("2026-11-23T09:00:00-05:00");
    engine.run(&agent, id, open("frontline", Priority::Normal, None), None, None, at).await.unwrap();
    assert!(store.case(id).await.unwrap().unwrap().clocks.is_empty(), "no matrix, no clocks");
    let now = ts("2026-11-23T10:00:00-05:00");
    activate_matrix(&engine, "main", &matrix(), "ana", now).await;
    assert_eq!(engine.reevaluate_clocks(now).await.unwrap(), 1);
    let case = store.case(id).await.unwrap().unwrap();
    assert_eq!(case.clocks.len(), 2, "respond and resolve, from now");
    assert!(case.clocks.iter().all(|c| c.started_at == now));
    assert_eq!(store.armed_timers().await.unwrap(), 2);
}

#[tokio::test]
async fn rebuilding_projections_rebuilds_the_timers() {
    let w = world().await;
    w.open_at("2026-11-23T10:00:00-05:00").await;
    let second = w.open_at("2026-11-23T10:20:00-05:00").await;
    let reply = CaseRequest::AddMessage(AddMessage {
        visibility: Visibility::Public,
        channel: None,
        body: "On it".into(),
        from_customer: false,
        resume: false,
    });
    w.engine.run(&w.agent, second, reply, None, None, ts("2026-11-23T10:25:00-05:00")).await.unwrap();
    w.engine.fire_due(ts("2026-11-23T10:40:00-05:00")).await.unwrap();
    let armed = w.store.armed_timers().await.unwrap();
    let next = w.store.next_timer_at().await.unwrap();
    let due = w.store.due_timers(ts("2027-01-01T00:00:00Z"), 100).await.unwrap();
    w.store.rebuild_projections().await.unwrap();
    assert_eq!(w.store.armed_timers().await.unwrap(), armed);
    assert_eq!(w.store.next_timer_at().await.unwrap(), next);
    assert_eq!(w.store.due_timers(ts("2027-01-01T00:00:00Z"), 100).await.unwrap(), due);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_on_one_database_share_due_timers_and_take_over_a_dead_servers_claims() {
    let w = world().await;
    let ids = [
        w.open_at("2026-11-23T10:00:00-05:00").await,
        w.open_at("2026-11-23T10:00:00-05:00").await,
        w.open_at("2026-11-23T10:00:00-05:00").await,
    ];
    // A second server on the same database.
    let (other_store, other) = ladder_testkit::engine::open(w.store.location());
    other.load_matrix().await.unwrap();
    assert_ne!(other.node(), w.engine.node());
    let lease = ladder_engine::timers::TIMER_LEASE;

    // Server "a" claims the three due warnings, then dies before firing them.
    let warn_at = ts("2026-11-23T10:30:00-05:00");
    let claimed = w.store.claim_due_timers("a".into(), warn_at, lease, 100).await.unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(w.store.claim_due_timers("b".into(), warn_at, lease, 100).await.unwrap().is_empty());
    // While the claims last, the other server leaves them alone, and waits for their end.
    let r = other.fire_due(warn_at + jiff::SignedDuration::from_secs(29)).await.unwrap();
    assert_eq!((r.fired, r.stale), (0, 0));
    assert_eq!(other_store.next_timer_at().await.unwrap(), Some(warn_at + lease));
    // When they end, it fires each warning once.
    let r = other.fire_due(warn_at + lease).await.unwrap();
    assert_eq!(r.fired, 3, "{r:?}");
    for id in ids {
        assert_eq!(w.count(id, "clock_at_risk").await, 1);
    }
    // The first server, back, finds nothing left to do.
    let r = w.engine.fire_due(warn_at + lease + jiff::SignedDuration::from_secs(1)).await.unwrap();
    assert_eq!((r.fired, r.stale), (0, 0));

    // A server that stops gives its claims back at once.
    let due = ts("2026-11-23T11:00:00-05:00");
    assert_eq!(w.store.claim_due_timers("a".into(), due, lease, 100).await.unwrap().len(), 3);
    assert_eq!(w.store.release_timers("a".into()).await.unwrap(), 3);
    let r = other.fire_due(due).await.unwrap();
    assert_eq!(r.fired, 3, "{r:?}");
    for id in ids {
        assert_eq!(w.count(id, "clock_breached").await, 1);
        assert_eq!(w.count(id, "escalated").await, 1);
    }
}
