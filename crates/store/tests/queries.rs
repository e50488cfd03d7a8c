//! The store's read paths beyond the case log, on whichever backend
//! `LADDER_TEST_DATABASE_URL` picks (SQLite otherwise): team queues and the hand-out of
//! their first case, timers and SLA lists, the approval inbox, recorded histories, and
//! text search across pages.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use ladder_core::access::{CaseScope, Principal};
use ladder_core::command::{AddMessage, Assign, CaseCommand, OpenCase, TeamRef, UserRef};
use ladder_core::ids::{CaseId, CustomerId};
use ladder_core::{Channel, LevelId, Priority, Role, Visibility};
use ladder_store::{CaseFilter, PageRequest, Store};

use ladder_testkit::store::{ADA, AGENT, FRONT, at, decided, front, open_store, write};

fn new_case(subject: &str, team: Option<TeamRef>, customer: Option<CustomerId>) -> OpenCase {
    OpenCase {
        subject: subject.into(),
        description: "the printer is on fire".into(),
        category: None,
        channel: Channel::Web,
        priority: Priority::Normal,
        level: None,
        team,
        assignee: None,
        customer,
        tags: BTreeSet::new(),
        custom_fields: BTreeMap::new(),
    }
}

async fn open(store: &Store, spec: OpenCase, now: Timestamp) -> ladder_core::Case {
    let id = CaseId::new_v7();
    store.execute(write(id, CaseCommand::Open(spec), now)).await.expect("the case opens").case
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_queue_is_worked_in_order_and_hands_out_each_case_once() {
    let (_dir, store) = open_store();
    for i in 0..3 {
        open(&store, new_case(&format!("queued {i}"), Some(front()), Some(ADA)), at(i)).await;
    }
    open(&store, new_case("no team", None, None), at(3)).await;

    // ADA's repeat contacts move her later cases up.
    let queue = store.queue(FRONT, 10).await.unwrap();
    let order: Vec<u64> = queue.iter().map(|q| q.case.number).collect();
    assert_eq!(order, vec![3, 1, 2]);
    assert!(queue.windows(2).all(|w| (w[0].rank_at, w[0].case.number) < (w[1].rank_at, w[1].case.number)));
    assert_eq!(store.queue_len(FRONT).await.unwrap(), 3);
    let waiting = store.queued_since(FRONT, at(1), 10).await.unwrap();
    assert_eq!(waiting.iter().map(|c| c.number).collect::<Vec<_>>(), vec![1, 2], "waiting since at(1) or earlier");

    let agent = UserRef {
        id: AGENT,
        name: "agent".into(),
        role: Role::Agent,
        teams: vec![front()],
        levels: vec![LevelId::new("L1")],
        active: true,
    };
    let claim = |agent: UserRef| -> ladder_store::ClaimDecider {
        Box::new(move |case, _customer| {
            Ok(decided(case.id, Some(case), &CaseCommand::Assign(Assign { assignee: Some(agent) }), at(10)))
        })
    };
    let first = store.claim_next(FRONT, at(10), claim(agent.clone())).await.unwrap().expect("a waiting case");
    assert_eq!((first.case.number, first.case.assignee), (3, Some(AGENT)));
    let second = store.claim_next(FRONT, at(10), claim(agent.clone())).await.unwrap().expect("a waiting case");
    assert_eq!(second.case.number, 1);
    assert_eq!(store.queue_len(FRONT).await.unwrap(), 1);
    store.claim_next(FRONT, at(10), claim(agent.clone())).await.unwrap().expect("the last case");
    assert!(store.claim_next(FRONT, at(10), claim(agent)).await.unwrap().is_none(), "the queue is empty");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_sla_lists_approvals_and_histories_answer() {
    let (_dir, store) = open_store();
    let a = open(&store, new_case("first", Some(front()), Some(ADA)), at(0)).await;
    open(&store, new_case("second", Some(front()), Some(ADA)), at(5)).await;
    open(&store, new_case("third", None, None), at(6)).await;

    // Without an SLA matrix no clock is armed.
    assert_eq!(store.next_timer_at().await.unwrap(), None);
    assert!(store.due_timers(at(1000), 10).await.unwrap().is_empty());
    assert_eq!(store.armed_timers().await.unwrap(), 0);
    store.reset_timers(a.id, at(1)).await.unwrap();
    store.reset_timers(CaseId::new_v7(), at(1)).await.unwrap();
    let live = store.cases_with_live_clocks(1, 10).await.unwrap();
    assert_eq!(live.iter().map(|c| c.number).collect::<Vec<_>>(), vec![2, 3], "open cases after number 1");
    let scope = CaseScope::TeamsOrWorkedBy { teams: vec![FRONT], user: AGENT, followed: vec![] };
    for standings in [vec![], vec!["running".to_string(), "breached".to_string()]] {
        let listed = store.sla_cases(standings.clone(), Some(at(1000)), scope.clone(), 10).await.unwrap();
        assert!(listed.is_empty(), "no clock runs: {standings:?}");
        assert!(store.sla_cases(standings, None, CaseScope::All, 10).await.unwrap().is_empty());
    }

    let principal = |role: Role| Principal { user_id: AGENT, name: "p".into(), role, teams: vec![FRONT] };
    for role in [Role::Agent, Role::Supervisor, Role::Manager] {
        let (roles, teams) = principal(role).approval_scope();
        let inbox = store.approval_inbox(roles, teams, 10, Box::new(|_, _| true)).await.unwrap();
        assert!(inbox.is_empty(), "{role:?}");
    }

    assert_eq!(store.count_opened(at(0), at(6)).await.unwrap(), 2);
    let histories = store.histories(at(0), at(100), 0, 10, SignedDuration::from_hours(1)).await.unwrap();
    let summary: Vec<_> = histories.iter().map(|h| (h.number, h.events.len(), h.repeat_contacts)).collect();
    assert_eq!(summary, vec![(1, 1, 1), (2, 1, 2), (3, 1, 1)], "the second case of ADA within the hour repeats");
    let later = store.histories(at(0), at(100), 1, 1, SignedDuration::from_hours(1)).await.unwrap();
    assert_eq!(later.iter().map(|h| h.number).collect::<Vec<_>>(), vec![2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_search_pages_through_matching_cases_newest_first() {
    let (_dir, store) = open_store();
    for i in 0..5 {
        let case = open(&store, new_case(&format!("printer {i}"), None, None), at(i)).await;
        // Several matching texts of one case still make one result.
        let reply = CaseCommand::AddMessage(AddMessage {
            visibility: Visibility::Public,
            channel: None,
            body: "the printer was restarted".into(),
            from_customer: false,
            resume: false,
        });
        store.execute(write(case.id, reply, at(10 + i))).await.unwrap();
    }
    open(&store, new_case("scanner", None, None), at(20)).await;

    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let filter = CaseFilter { q: Some("printer restart*".into()), ..Default::default() };
        let page = store.list_cases(filter, CaseScope::All, PageRequest { before, limit: 2 }).await.unwrap();
        pages.push(page.cases.iter().map(|c| c.number).collect::<Vec<_>>());
        match page.next_before {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, vec![vec![5, 4], vec![3, 2], vec![1]]);
    let no_words = CaseFilter { q: Some("(*)".into()), ..Default::default() };
    let page = store.list_cases(no_words, CaseScope::All, PageRequest { before: None, limit: 2 }).await;
    assert!(page.unwrap().cases.is_empty());
}
