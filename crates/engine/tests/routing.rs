//! Routing and queues against a real store: cases go to the best available agent with the
//! decision recorded, wait in priority order when nobody is available, and `claim_next`
//! never hands one case to two agents.

use std::collections::HashSet;

use ladder_core::access::Principal;
use ladder_core::agents::Presence;
use ladder_core::directory::{Customer, Role};
use ladder_core::event::{CaseEvent, EscalationKind, Initiator};
use ladder_core::ids::{CaseId, CustomerId, TeamId};
use ladder_core::{Channel, Priority};
use ladder_engine::{CallbackRequest, CaseRequest, Engine, Escalation, OpenRequest};
use ladder_store::{Store, StoreError};
use ladder_testkit::engine::{TestEngine, activate_matrix, open_request, team, user};
use ladder_testkit::{directory, matrix, ts};

const NOW: &str = "2026-11-23T15:00:00Z";

struct World {
    engine: Engine,
    store: Store,
    frontline: TeamId,
    ana: Principal,
    ben: Principal,
    sam: Principal,
    root: Principal,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let TestEngine { dir, store, engine } = TestEngine::new();
    let frontline = team(&store, "frontline", "L1", &["billing"]).await.id;
    let other = team(&store, "tech", "L1", &[]).await.id;
    let ana = user(&store, "ana", Role::Agent, vec![frontline]).await;
    let ben = user(&store, "ben", Role::Agent, vec![frontline]).await;
    let sam = user(&store, "sam", Role::Supervisor, vec![frontline]).await;
    user(&store, "tess", Role::Agent, vec![other]).await;
    let root = user(&store, "root", Role::Admin, vec![]).await;
    World { engine, store, frontline, ana, ben, sam, root, _dir: dir }
}

fn open(priority: Priority, customer: Option<CustomerId>, category: Option<&str>) -> CaseRequest {
    CaseRequest::Open(OpenRequest {
        description: String::new(),
        category: category.map(str::to_string),
        channel: Channel::Chat,
        priority,
        customer,
        ..open_request()
    })
}

impl World {
    async fn available(&self, who: &Principal) {
        self.store.set_presence(who.user_id, Presence::Available, ts(NOW)).await.unwrap();
    }

    async fn open(&self, priority: Priority, customer: Option<CustomerId>) -> CaseId {
        let id = CaseId::new_v7();
        self.engine.run(&self.root, id, open(priority, customer, None), None, None, ts(NOW)).await.unwrap();
        id
    }

    async fn customer(&self, value: f64, segment: &str) -> CustomerId {
        let c = Customer {
            value,
            segment: Some(segment.into()),
            ..directory::customer(CustomerId::new_v7(), segment, ts("2026-01-01T00:00:00Z"))
        };
        ladder_testkit::engine::customer(&self.store, c).await.id
    }

    async fn routed(&self, id: CaseId) -> Vec<ladder_core::event::Routed> {
        let events = self.store.events(id).await.unwrap();
        events
            .into_iter()
            .filter_map(|e| match e.recorded.event {
                CaseEvent::Routed(r) => Some(r),
                _ => None,
            })
            .collect()
    }
}

#[tokio::test]
async fn a_new_case_goes_to_the_best_available_agent_with_the_decision_recorded() {
    let w = world().await;
    w.available(&w.ana).await;
    w.available(&w.ben).await;
    // Ben is busy on chat already: Ana has more room.
    let first = w.open(Priority::Normal, None).await;
    let case = w.store.case(first).await.unwrap().unwrap();
    let chosen = case.assignee.expect("assigned");
    let second = w.open(Priority::Normal, None).await;
    let other = w.store.case(second).await.unwrap().unwrap().assignee.expect("assigned");
    assert_ne!(chosen, other, "the second goes to the agent with more room");
    let routed = w.routed(second).await;
    assert_eq!(routed.len(), 1);
    assert_eq!(routed[0].to_user, Some(other));
    assert!(routed[0].candidates.len() >= 2, "{:?}", routed[0]);
    let events = w.store.events(second).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.recorded.event.kind()).collect();
    assert_eq!(kinds, ["opened", "routed", "assigned"]);
    assert!(matches!(&events[1].recorded.actor, ladder_core::Actor::System { name } if name == "router"));
}

#[tokio::test]
async fn with_nobody_available_cases_wait_in_priority_order() {
    let w = world().await;
    let plain = w.open(Priority::Normal, None).await;
    let vip_customer = w.customer(40_000.0, "vip").await;
    let vip = w.open(Priority::High, Some(vip_customer)).await;
    let low = w.open(Priority::Low, None).await;
    assert!(w.routed(plain).await.is_empty(), "nobody available: nothing to explain, the case is queued");
    let queue = w.store.queue(w.frontline, 10).await.unwrap();
    let order: Vec<CaseId> = queue.iter().map(|q| q.case.id).collect();
    assert_eq!(order, vec![vip, plain, low]);
    // Priority, customer value and segment, and 5 for the opening's mood: "Charged twice"
    // reads as negative to the sentiment analyser (the same for the three cases).
    assert_eq!(queue[0].score, 25 + 18 + 15 + 5);
    assert_eq!(w.store.queue_len(w.frontline).await.unwrap(), 3);

    // Ana takes the next one: the VIP case.
    let got = w.engine.claim_next(&w.ana, w.frontline, ts(NOW)).await.unwrap().expect("a case");
    assert_eq!((got.case.id, got.case.assignee), (vip, Some(w.ana.user_id)));
    assert_eq!(w.store.queue_len(w.frontline).await.unwrap(), 2);
    w.engine.claim_next(&w.ben, w.frontline, ts(NOW)).await.unwrap().unwrap();
    w.engine.claim_next(&w.ben, w.frontline, ts(NOW)).await.unwrap().unwrap();
    assert!(w.engine.claim_next(&w.ana, w.frontline, ts(NOW)).await.unwrap().is_none(), "empty queue");
}

#[tokio::test]
async fn only_members_take_from_a_queue() {
    let w = world().await;
    w.open(Priority::Normal, None).await;
    let tess = w.store.user_credentials("tess".into()).await.unwrap().unwrap().user;
    let tess = ladder_engine::credentials::principal_of(&tess);
    let err = w.engine.claim_next(&tess, w.frontline, ts(NOW)).await.unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)), "{err:?}");
    // An admin in no team cannot be handed a case of a team they are not in either.
    let err = w.engine.claim_next(&w.root, w.frontline, ts(NOW)).await.unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_agents_pulling_at_once_never_get_the_same_case() {
    let w = world().await;
    let mut agents = Vec::new();
    for i in 0..40 {
        agents.push(user(&w.store, &format!("agent{i}"), Role::Agent, vec![w.frontline]).await);
    }
    let mut ids = HashSet::new();
    for _ in 0..150 {
        ids.insert(w.open(Priority::Normal, None).await);
    }
    let mut tasks = Vec::new();
    for agent in agents {
        let engine = w.engine.clone();
        let team = w.frontline;
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(o) = engine.claim_next(&agent, team, ts(NOW)).await.unwrap() {
                assert_eq!(o.case.assignee, Some(agent.user_id));
                got.push(o.case.id);
            }
            got
        }));
    }
    let mut handed = Vec::new();
    for t in tasks {
        handed.extend(t.await.unwrap());
    }
    let distinct: HashSet<CaseId> = handed.iter().copied().collect();
    assert_eq!(handed.len(), 150, "every case handed out");
    assert_eq!(distinct, ids, "each exactly once");
    for id in ids {
        let assigned =
            w.store.events(id).await.unwrap().iter().filter(|e| e.recorded.event.kind() == "assigned").count();
        assert_eq!(assigned, 1);
    }
}

#[tokio::test]
async fn a_customer_asking_for_a_supervisor_gets_one() {
    let w = world().await;
    w.available(&w.ana).await;
    let id = w.open(Priority::Normal, None).await;
    assert_eq!(w.store.case(id).await.unwrap().unwrap().assignee, Some(w.ana.user_id));
    w.available(&w.sam).await;
    // The customer asks for a supervisor: a hierarchical escalation by the customer, to the
    // same team's supervisor (the front line's supervisors work L1 here).
    let l2 = team(&w.store, "supervisors", "L2", &[]).await;
    let mut sam = w.store.user(w.sam.user_id).await.unwrap().unwrap();
    sam.teams.push(l2.id);
    w.store.update_user(sam).await.unwrap();
    let escalate = CaseRequest::Escalate(Escalation {
        kind: EscalationKind::Hierarchical,
        initiator: Initiator::Customer,
        to_level: None,
        to_team: Some("supervisors".into()),
        to_user: None,
        reason: "the customer asked for a supervisor".into(),
        tried: None,
        skill: None,
        skills: Vec::new(),
    });
    w.engine.run(&w.root, id, escalate, None, None, ts(NOW)).await.unwrap();
    let case = w.store.case(id).await.unwrap().unwrap();
    assert_eq!(case.assignee, Some(w.sam.user_id), "routed to the available supervisor");
    let routed = w.routed(id).await;
    assert_eq!(routed.last().unwrap().to_user, Some(w.sam.user_id));
}

#[tokio::test]
async fn language_and_skill_steer_the_choice() {
    let w = world().await;
    w.available(&w.ana).await;
    w.available(&w.ben).await;
    w.store
        .edit_agent_profile(w.ben.user_id, ts(NOW), |_, p| {
            p.skills.insert("billing".into(), 5);
            p.languages = vec!["es".into()];
            Ok(())
        })
        .await
        .unwrap();
    w.store
        .edit_agent_profile(w.ana.user_id, ts(NOW), |_, p| {
            p.languages = vec!["en".into()];
            Ok(())
        })
        .await
        .unwrap();
    let id = CaseId::new_v7();
    w.engine.run(&w.root, id, open(Priority::Normal, None, Some("billing")), None, None, ts(NOW)).await.unwrap();
    let case = w.store.case(id).await.unwrap().unwrap();
    assert_eq!(case.assignee, Some(w.ben.user_id), "the billing specialist");
    let why = &w.routed(id).await[0];
    assert!(why.reason.contains("skill billing at 5"), "{why:?}");
    let ana = why.candidates.iter().find(|c| c.name == "ana").unwrap();
    assert!(!ana.eligible && ana.reason.contains("lacks the skill billing"), "{ana:?}");
}

#[tokio::test]
async fn a_call_back_surfaces_in_the_outbound_queue_when_its_window_opens() {
    let w = world().await;
    let outbound = ladder_core::directory::Team {
        name: "Outbound".into(),
        kind: ladder_core::directory::TeamKind::Outbound,
        ..directory::team(TeamId::new_v7(), "outbound", "L1", ts(NOW))
    };
    let outbound = w.store.create_team(outbound, None).await.unwrap().id;
    let olga = user(&w.store, "olga", Role::Agent, vec![outbound]).await;
    let id = w.open(Priority::Normal, None).await;
    let callback = CaseRequest::ScheduleCallback(CallbackRequest {
        team: None,
        window_start: "2026-11-24T14:00".parse().unwrap(),
        window_end: "2026-11-24T16:00".parse().unwrap(),
        time_zone: Some("Europe/Berlin".into()),
        note: None,
    });
    let case = w.engine.run(&w.root, id, callback, None, None, ts(NOW)).await.unwrap().case;
    assert_eq!(case.team, Some(outbound), "the default team is the outbound one");
    assert_eq!(case.callbacks[0].window_start, ts("2026-11-24T13:00:00Z"), "14:00 in Berlin");
    // Before the window: nothing to hand out. Once it opens: the case, and the call-back is taken.
    assert!(w.engine.claim_next(&olga, outbound, ts("2026-11-24T12:59:00Z")).await.unwrap().is_none());
    let got = w.engine.claim_next(&olga, outbound, ts("2026-11-24T13:00:00Z")).await.unwrap().expect("due");
    assert_eq!(got.case.id, id);
    assert_eq!(got.case.callbacks[0].taken_at, Some(ts("2026-11-24T13:00:00Z")));
}

#[tokio::test]
async fn cases_waiting_too_long_overflow_to_the_other_team() {
    let w = world().await;
    let matrix = r#"
[[levels]]
id = "L1"
teams = ["frontline", "tech"]

[[queues]]
team = "frontline"
overflow_to = "tech"
after = "10m"
"#;
    let at = ts(NOW);
    activate_matrix(&w.engine, "q", matrix, "root", at).await;
    let old = CaseId::new_v7();
    w.engine.run(&w.root, old, open(Priority::Normal, None, None), None, None, at).await.unwrap();
    let young = CaseId::new_v7();
    let later = at + jiff::SignedDuration::from_mins(8);
    w.engine.run(&w.root, young, open(Priority::Normal, None, None), None, None, later).await.unwrap();
    // A customer's message does not restart the wait.
    let nudge = CaseRequest::AddMessage(ladder_core::command::AddMessage {
        visibility: ladder_core::Visibility::Public,
        channel: None,
        body: "hello?".into(),
        from_customer: true,
        resume: false,
    });
    w.engine.run(&w.root, old, nudge, None, None, later).await.unwrap();
    // 10 minutes after the first: only it overflows, and tess (tech, available) gets it.
    let tess = w.store.user_credentials("tess".into()).await.unwrap().unwrap().user;
    w.store.set_presence(tess.id, Presence::Available, at).await.unwrap();
    let moved = w.engine.overflow_queues(at + jiff::SignedDuration::from_mins(10)).await.unwrap();
    assert_eq!(moved, 1);
    let case = w.store.case(old).await.unwrap().unwrap();
    let tech = w.store.team_by_slug("tech".into()).await.unwrap().unwrap();
    assert_eq!(case.team, Some(tech.id));
    assert_eq!(case.assignee, Some(tess.id), "offered to the overflow team's available agent");
    let events = w.store.events(old).await.unwrap();
    let transfer = events.iter().find(|e| e.recorded.event.kind() == "transferred").unwrap();
    let data = serde_json::to_value(&transfer.recorded.event).unwrap();
    assert_eq!(data["reason"], "waited more than 10m in the queue of frontline");
    assert_eq!(w.store.case(young).await.unwrap().unwrap().team, Some(w.frontline));
    assert_eq!(w.engine.overflow_queues(at + jiff::SignedDuration::from_mins(10)).await.unwrap(), 0, "once");
}

/// The contact-center example: a customer who asks for a supervisor at L1 reaches the
/// supervisors at L2 (not the managers at L3), and asking again at L2 reaches management.
#[tokio::test]
async fn a_customer_asking_for_a_supervisor_goes_one_step_at_a_time_in_the_example_matrix() {
    use ladder_core::event::{EscalationKind, Initiator};
    let TestEngine { dir: _dir, store, engine } = TestEngine::new();
    let mut teams = std::collections::HashMap::new();
    for (slug, level) in matrix::EXAMPLE_TEAMS {
        teams.insert(slug, team(&store, slug, level, &[]).await);
    }
    let ana = user(&store, "ana", ladder_core::Role::Agent, vec![teams["frontline"].id]).await;
    let root = user(&store, "root", ladder_core::Role::Admin, vec![]).await;
    let now = ts("2026-11-23T15:00:00Z");
    activate_matrix(&engine, "cc", matrix::EXAMPLE, "root", now).await;
    let id = ladder_core::ids::CaseId::new_v7();
    let open = ladder_engine::CaseRequest::Open(ladder_engine::OpenRequest {
        subject: "Wrong plan".into(),
        description: String::new(),
        category: Some("account".into()),
        channel: ladder_core::Channel::Phone,
        ..open_request()
    });
    engine.run(&ana, id, open, None, None, now).await.unwrap();
    let ask = || {
        ladder_engine::CaseRequest::Escalate(ladder_engine::Escalation {
            kind: EscalationKind::Hierarchical,
            initiator: Initiator::Customer,
            to_level: None,
            to_team: None,
            to_user: None,
            reason: "the customer asked for a supervisor".into(),
            tried: None,
            skill: None,
            skills: Vec::new(),
        })
    };
    let case = engine.run(&ana, id, ask(), None, None, now + jiff::SignedDuration::from_mins(5)).await.unwrap().case;
    assert_eq!(case.level.as_str(), "L2");
    assert_eq!(case.team, Some(teams["supervisors"].id), "{case:?}");
    let case = engine.run(&root, id, ask(), None, None, now + jiff::SignedDuration::from_mins(30)).await.unwrap().case;
    assert_eq!(case.level.as_str(), "L3");
    assert_eq!(case.team, Some(teams["management"].id));
    let events = store.events(id).await.unwrap();
    assert!(events.iter().all(|e| e.recorded.event.kind() != "rule_failed"), "{events:#?}");
}
