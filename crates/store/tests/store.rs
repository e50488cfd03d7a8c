//! Integration tests of the SQLite store: the event log, the projections, group commit,
//! idempotency, search and the directory.
//!
//! Every case command is decided by `ladder_core::decide` + `record` on simulated time
//! ([`ladder_testkit::store::at`]); nothing here reads the clock for an assertion. The simulated clock
//! deliberately has microseconds, as the engine's clock does (the precision the store keeps).

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ladder_core::access::CaseScope;
use ladder_core::directory::{Customer, Identity, Team, User};
use ladder_core::ids::{CaseId, CustomerId, TeamId, UserId};
use ladder_core::{Case, Channel, DomainError, LevelId, Priority, Role, Status};
use ladder_store::{
    AssigneeFilter, CaseFilter, CasePage, CustomerFilter, Idempotency, PageRequest, Store, StoreError, TokenInfo,
};
use ladder_testkit::directory;
use ladder_testkit::store::*;

fn all() -> PageRequest {
    PageRequest { before: None, limit: 500 }
}

fn numbers(page: &CasePage) -> Vec<u64> {
    page.cases.iter().map(|c| c.number).collect()
}

async fn list(store: &Store, filter: CaseFilter) -> Vec<u64> {
    numbers(&store.list_cases(filter, CaseScope::All, all()).await.expect("list_cases"))
}

async fn search(store: &Store, q: &str) -> Vec<u64> {
    list(store, CaseFilter { q: Some(q.into()), ..Default::default() }).await
}

/// A connection of its own to the store's database, behind the store's back.
enum Raw {
    Lite(rusqlite::Connection),
    /// Always `Some` until dropped.
    Pg(Option<Box<postgres::Client>>),
}

/// Runs `f` on a thread of its own: the blocking PostgreSQL client runs a runtime of its
/// own, which cannot start (or stop) on a thread of the test's runtime.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("a PostgreSQL call panicked"))
}

impl Raw {
    fn execute_batch(&mut self, sql: &str) -> Result<(), String> {
        match self {
            Raw::Lite(c) => c.execute_batch(sql).map_err(|e| e.to_string()),
            Raw::Pg(c) => {
                let c = c.as_mut().expect("the client lives until drop");
                off_runtime(|| c.batch_execute(sql))
                    .map_err(|e| format!("{e}: {:?}", e.as_db_error().map(|d| d.message())))
            }
        }
    }

    /// The first column of the first row of a PostgreSQL query, as an integer.
    fn pg_count(&mut self, sql: &str) -> i64 {
        match self {
            Raw::Lite(_) => panic!("a PostgreSQL query on SQLite: {sql}"),
            Raw::Pg(c) => {
                let c = c.as_mut().expect("the client lives until drop");
                off_runtime(|| c.query_one(sql, &[])).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
            }
        }
    }

    /// Takes the database's write lock until `COMMIT`, as another writer would.
    fn hold_write_lock(&mut self) {
        match self {
            Raw::Lite(_) => self.execute_batch("BEGIN IMMEDIATE"),
            Raw::Pg(_) => self.execute_batch("BEGIN; LOCK TABLE events IN EXCLUSIVE MODE"),
        }
        .expect("the write lock")
    }
}

fn raw_connection(store: &Store) -> Raw {
    match store.location() {
        ladder_store::Location::Sqlite(dir) => {
            let conn = rusqlite::Connection::open(dir.join("ladder.db")).expect("a raw connection");
            conn.busy_timeout(Duration::from_secs(10)).expect("busy timeout");
            Raw::Lite(conn)
        }
        ladder_store::Location::Postgres(url) => {
            let client = off_runtime(|| postgres::Client::connect(url, postgres::NoTls)).expect("a raw connection");
            Raw::Pg(Some(Box::new(client)))
        }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        if let Raw::Pg(c) = self
            && let Some(client) = c.take()
        {
            off_runtime(move || drop(client));
        }
    }
}

// ---------------------------------------------------------------------------------------
// The event log and the case projection
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opened_cases_load_by_id_and_number_with_increasing_numbers() {
    let (_dir, store) = open_store();
    let ids = [CaseId::new_v7(), CaseId::new_v7(), CaseId::new_v7()];
    for (i, id) in ids.iter().enumerate() {
        let mut spec = new_case(&format!("case {i}"), "the printer is on fire");
        spec.customer = Some(ADA);
        let out = run(&store, open(*id, spec, at(i as i64))).await;
        assert_eq!(out.case.number, i as u64 + 1);
        assert!(!out.replayed);
        assert_eq!(out.events.len(), 1);
    }
    // A later command folds into the projection.
    let out = run(&store, message(ids[1], "we are on it", at(10))).await;
    assert_eq!(out.case.version, 2);

    for (i, id) in ids.iter().enumerate() {
        let by_id = store.case(*id).await.unwrap().expect("the case by id");
        let by_number = store.case_by_number(i as u64 + 1).await.unwrap().expect("the case by number");
        assert_eq!(by_id, by_number);
        assert_eq!(by_id.id, *id);
        assert_eq!(by_id.number, i as u64 + 1);
        assert_eq!(by_id.subject, format!("case {i}"));
        assert_eq!(by_id.description, "the printer is on fire");
        assert_eq!(by_id.customer, Some(ADA));
        assert_eq!(by_id.level, level("L1"));
        assert_eq!(by_id.created_at, store.events(*id).await.unwrap()[0].recorded.at);
    }
    let first = store.case(ids[0]).await.unwrap().unwrap();
    assert_eq!((first.status, first.version, first.n_messages), (Status::New, 1, 0));
    let second = store.case(ids[1]).await.unwrap().unwrap();
    assert_eq!(second, out.case);
    assert_eq!((second.status, second.version, second.n_messages), (Status::Open, 2, 1));
    assert_eq!(second.first_response_at, Some(second.updated_at));

    assert_eq!(store.case(CaseId::new_v7()).await.unwrap(), None);
    assert_eq!(store.case_by_number(4).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cannot_be_updated_or_deleted() {
    let (_dir, store) = open_store();
    let id = CaseId::new_v7();
    run(&store, open(id, new_case("append only", "the log is the truth"), at(0))).await;
    run(&store, message(id, "first reply", at(1))).await;
    let before = store.events(id).await.unwrap();
    assert_eq!(before.len(), 2);

    let mut conn = raw_connection(&store);
    for sql in [
        "UPDATE events SET data = '{}'",
        "UPDATE events SET version = version + 10 WHERE seq = 1",
        "DELETE FROM events",
        "DELETE FROM events WHERE seq = 2",
    ] {
        let err = conn.execute_batch(sql).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    drop(conn);

    assert_eq!(store.events(id).await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_expected_version_is_a_conflict_and_a_current_one_succeeds() {
    let (_dir, store) = open_store();
    let id = CaseId::new_v7();

    let mut w = open(id, new_case("concurrency", "two agents at once"), at(0));
    w.expected_version = Some(3);
    match store.execute(w).await {
        Err(StoreError::VersionConflict { expected: 3, actual: 0 }) => {}
        other => panic!("expected a version conflict, got {other:?}"),
    }
    assert_eq!(store.case(id).await.unwrap(), None);

    let mut w = open(id, new_case("concurrency", "two agents at once"), at(0));
    w.expected_version = Some(0);
    assert_eq!(run(&store, w).await.case.version, 1);

    let mut w = message(id, "from a stale page", at(1));
    w.expected_version = Some(0);
    match store.execute(w).await {
        Err(StoreError::VersionConflict { expected: 0, actual: 1 }) => {}
        other => panic!("expected a version conflict, got {other:?}"),
    }
    assert_eq!(store.events(id).await.unwrap().len(), 1, "a refused write appends nothing");

    let mut w = message(id, "from a fresh page", at(2));
    w.expected_version = Some(1);
    let out = run(&store, w).await;
    assert_eq!((out.case.version, out.case.n_messages), (2, 1));

    let mut w = message(id, "raced", at(3));
    w.expected_version = Some(1);
    assert!(matches!(store.execute(w).await, Err(StoreError::VersionConflict { expected: 1, actual: 2 })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_command_does_not_roll_back_the_rest_of_its_batch() {
    let (_dir, store) = open_store();
    // Hold the database's write lock so the writer stalls on its first batch and the
    // other writes pile up into one batch behind it.
    let mut blocker = raw_connection(&store);
    blocker.hold_write_lock();

    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = store.clone();
        let id = CaseId::new_v7();
        let subject = if i % 5 == 4 { "   ".to_string() } else { format!("case {i}") };
        tasks.push((i, id, tokio::spawn(async move { store.execute(open(id, new_case(&subject, ""), at(i))).await })));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    blocker.execute_batch("COMMIT").unwrap();

    let mut numbers = Vec::new();
    for (i, id, task) in tasks {
        let result = task.await.expect("the task ran");
        if i % 5 == 4 {
            match result {
                Err(StoreError::Domain(DomainError::Invalid { field, .. })) => assert_eq!(field, "subject"),
                other => panic!("write {i} should be refused by the domain, got {other:?}"),
            }
            assert_eq!(store.case(id).await.unwrap(), None);
            assert!(store.events(id).await.unwrap().is_empty());
        } else {
            let out = result.unwrap_or_else(|e| panic!("write {i} failed: {e}"));
            let stored = store.case(id).await.unwrap().expect("a valid write is persisted");
            assert_eq!(stored, out.case);
            assert_eq!(stored.subject, format!("case {i}"));
            numbers.push(stored.number);
        }
    }
    numbers.sort();
    assert_eq!(numbers, (1..=40).collect::<Vec<_>>(), "refused writes take no number");
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.n_cases, stats.n_events), (40, 40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_opens_all_commit_with_distinct_numbers() {
    let (_dir, store) = open_store();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            let id = CaseId::new_v7();
            (id, tokio::spawn(async move { store.execute(open(id, new_case(&format!("bulk {i}"), ""), at(0))).await }))
        })
        .collect();

    let mut numbers = Vec::new();
    for (id, task) in tasks {
        let out = task.await.expect("the task ran").expect("the open commits");
        assert_eq!(out.case.id, id);
        let stored = store.case_by_number(out.case.number).await.unwrap().expect("the case by number");
        assert_eq!(stored.id, id);
        numbers.push(out.case.number);
    }
    numbers.sort();
    assert_eq!(numbers, (1..=200).collect::<Vec<_>>());
    assert_eq!(store.stats().await.unwrap().n_cases, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_retry_is_replayed_and_a_reused_key_is_refused() {
    let (_dir, store) = open_store();
    let id = CaseId::new_v7();
    let key = |key: &str, fingerprint: &str| Idempotency {
        scope: AGENT.to_string(),
        key: key.into(),
        fingerprint: fingerprint.into(),
    };

    let mut w = open(id, new_case("retry me", "the network dropped"), at(0));
    w.idempotency = Some(key("open-1", "POST /cases #1"));
    let first = run(&store, w).await;
    assert!(!first.replayed);

    let mut w = open(id, new_case("retry me", "the network dropped"), at(1));
    w.idempotency = Some(key("open-1", "POST /cases #1"));
    let retry = run(&store, w).await;
    assert!(retry.replayed);
    assert!(retry.events.is_empty());
    assert_eq!(retry.case, first.case);

    let mut w = message(id, "only once", at(2));
    w.idempotency = Some(key("msg-1", "POST /cases/1/messages"));
    assert!(!run(&store, w).await.replayed);
    let mut w = message(id, "only once", at(3));
    w.idempotency = Some(key("msg-1", "POST /cases/1/messages"));
    let retry = run(&store, w).await;
    assert!(retry.replayed);
    assert_eq!(retry.case.n_messages, 1);

    let mut w = message(id, "something else", at(4));
    w.idempotency = Some(key("msg-1", "POST /cases/1/messages with another body"));
    assert!(matches!(store.execute(w).await, Err(StoreError::IdempotencyMismatch)));

    assert_eq!(store.events(id).await.unwrap().len(), 2, "retries append nothing");
    assert_eq!(store.messages(id).await.unwrap().len(), 1);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.n_events, stats.n_cases), (2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_is_in_version_order_and_replays_to_the_projection() {
    let (_dir, store) = open_store();
    let id = CaseId::new_v7();
    let other = CaseId::new_v7();
    let mut spec = new_case("replay", "the modem blinks red");
    spec.team = Some(front());
    spec.assignee = Some(agent_on(AGENT, "alice", &[FRONT]));
    let mut returned = run(&store, open(id, spec, at(0))).await.events;
    // Interleave another case so the global sequence is not the case's version.
    run(&store, open(other, new_case("other", ""), at(1))).await;
    returned.extend(run(&store, message(id, "have you tried turning it off", at(2))).await.events);
    run(&store, message(other, "hello", at(3))).await;
    returned.extend(run(&store, escalate(id, tech(), at(4))).await.events);
    returned.extend(run(&store, escalate_up(id, at(5))).await.events);
    returned.extend(run(&store, resolve(id, "replaced-modem", at(6))).await.events);

    let events = store.events(id).await.unwrap();
    assert_eq!(events.iter().map(|e| e.recorded.version).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(events.iter().all(|e| e.recorded.case_id == id && e.schema == ladder_core::event::EVENT_SCHEMA));
    let kinds: Vec<_> = events.iter().map(|e| e.recorded.event.kind()).collect();
    assert_eq!(kinds, ["opened", "message_added", "escalated", "escalated", "resolved"]);
    // What the log gives back is what the writes returned, timestamps included.
    assert_eq!(events.iter().map(|e| e.recorded.clone()).collect::<Vec<_>>(), returned);

    let replayed = Case::replay(events.iter().map(|e| &e.recorded)).expect("a non-empty stream");
    let projected = store.case(id).await.unwrap().expect("the projection");
    assert_eq!(replayed, projected);
    assert_eq!(projected.status, Status::Resolved);
    assert_eq!(projected.level, level("L3"));
    assert_eq!((projected.n_escalations, projected.version), (2, 5));

    let after = store.events_after(events[2].seq, 100).await.unwrap();
    assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![events[3].seq, events[4].seq]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuilt_projections_match_the_ones_kept_while_writing() {
    let (_dir, store) = open_store();
    let ids: Vec<CaseId> = (0..6).map(|_| CaseId::new_v7()).collect();
    for (i, id) in ids.iter().enumerate() {
        let mut spec = new_case(&format!("rebuild {i}"), &format!("zebra number {i}"));
        spec.team = Some(if i % 2 == 0 { front() } else { billing() });
        if i % 3 == 0 {
            spec.assignee = Some(agent_on(AGENT, "alice", &[FRONT, BILLING]));
        }
        spec.customer = Some(if i < 3 { ADA } else { BOB });
        run(&store, open(*id, spec, at(i as i64))).await;
    }
    run(&store, message(ids[0], "a giraffe appeared", at(10))).await;
    run(&store, escalate(ids[0], tech(), at(11))).await;
    run(&store, message(ids[0], "the giraffe left", at(12))).await;
    run(&store, escalate_up(ids[1], at(13))).await;
    run(&store, resolve(ids[2], "done", at(14))).await;
    run(&store, message(ids[3], "okapi sighting", at(15))).await;

    let scope = CaseScope::TeamsOrWorkedBy { teams: vec![BILLING], user: AGENT, followed: vec![] };
    let snapshot = async |store: &Store| {
        let mut cases = Vec::new();
        let mut messages = Vec::new();
        for id in &ids {
            cases.push(store.case(*id).await.unwrap());
            messages.push(store.messages(*id).await.unwrap());
        }
        let everything = store.list_cases(CaseFilter::default(), CaseScope::All, all()).await.unwrap().cases;
        let scoped = numbers(&store.list_cases(CaseFilter::default(), scope.clone(), all()).await.unwrap());
        let giraffe = search(store, "giraffe").await;
        let zebra = search(store, "zebra").await;
        let okapi = search(store, "okap*").await;
        (cases, messages, everything, scoped, giraffe, zebra, okapi)
    };
    let before = snapshot(&store).await;
    assert_eq!(before.2.len(), 6);
    assert_eq!(before.4, vec![1]);
    assert_eq!(before.5, vec![6, 5, 4, 3, 2, 1]);
    assert_eq!(before.6, vec![4]);

    // Wreck the projections behind the store's back; the log alone must bring them back.
    raw_connection(&store)
        .execute_batch(
            "DELETE FROM cases; DELETE FROM case_docs; DELETE FROM case_workers; DELETE FROM messages;
             DELETE FROM case_text; INSERT INTO case_text (rowid, body) VALUES (6, 'stale giraffe');",
        )
        .unwrap();
    assert!(list(&store, CaseFilter::default()).await.is_empty());

    assert_eq!(store.rebuild_projections().await.unwrap(), 6);
    let after = snapshot(&store).await;
    assert_eq!(after.0, before.0, "case()");
    assert_eq!(after.1, before.1, "messages()");
    assert_eq!(after.2, before.2, "list_cases, all");
    assert_eq!(after.3, before.3, "list_cases, scoped");
    assert_eq!(after.4, before.4, "search 'giraffe'");
    assert_eq!(after.5, before.5, "search 'zebra'");
    assert_eq!(after.6, before.6, "search 'okap*'");
    for (id, case) in ids.iter().zip(&after.0) {
        let events = store.events(*id).await.unwrap();
        assert_eq!(Case::replay(events.iter().map(|e| &e.recorded)).as_ref(), case.as_ref());
    }

    // Writing carries on from the rebuilt state.
    let out = run(&store, message(ids[0], "and came back", at(20))).await;
    assert_eq!(out.case.version, before.0[0].as_ref().unwrap().version + 1);
    assert_eq!(store.case(ids[0]).await.unwrap().unwrap().n_messages, 3);
}

// ---------------------------------------------------------------------------------------
// Listing and search
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_cases_filters_by_each_field() {
    let (_dir, store) = open_store();
    let alice = agent_on(AGENT, "alice", &[FRONT]);
    let bob = agent_on(OTHER_AGENT, "bob", &[FRONT]);

    // #1: front line, alice, high, email, Ada, billing.
    let mut spec = new_case("one", "");
    spec.team = Some(front());
    spec.assignee = Some(alice.clone());
    spec.priority = Priority::High;
    spec.channel = Channel::Email;
    spec.customer = Some(ADA);
    spec.category = Some("billing".into());
    run(&store, open(CaseId::new_v7(), spec, at(0))).await;

    // #2: billing team, unassigned, low, phone, Bob, refund.
    let mut spec = new_case("two", "");
    spec.team = Some(billing());
    spec.priority = Priority::Low;
    spec.channel = Channel::Phone;
    spec.customer = Some(BOB);
    spec.category = Some("refund".into());
    run(&store, open(CaseId::new_v7(), spec, at(1))).await;

    // #3: opened on the front line, escalated to tech at L2; unassigned, normal, chat.
    let three = CaseId::new_v7();
    let mut spec = new_case("three", "");
    spec.team = Some(front());
    spec.channel = Channel::Chat;
    run(&store, open(three, spec, at(2))).await;
    run(&store, escalate(three, tech(), at(3))).await;

    // #4: front line, bob, urgent, web; resolved.
    let four = CaseId::new_v7();
    let mut spec = new_case("four", "");
    spec.team = Some(front());
    spec.assignee = Some(bob);
    spec.priority = Priority::Urgent;
    run(&store, open(four, spec, at(4))).await;
    run(&store, resolve(four, "done", at(5))).await;

    let f = CaseFilter::default;
    assert_eq!(list(&store, f()).await, vec![4, 3, 2, 1]);

    assert_eq!(list(&store, CaseFilter { status: vec![Status::Resolved], ..f() }).await, vec![4]);
    assert_eq!(list(&store, CaseFilter { status: vec![Status::New], ..f() }).await, vec![3, 2]);
    assert_eq!(list(&store, CaseFilter { status: vec![Status::Open, Status::Resolved], ..f() }).await, vec![4, 1]);
    assert_eq!(list(&store, CaseFilter { status: vec![Status::Closed], ..f() }).await, Vec::<u64>::new());

    assert_eq!(list(&store, CaseFilter { level: vec![level("L2")], ..f() }).await, vec![3]);
    assert_eq!(list(&store, CaseFilter { level: vec![level("L1")], ..f() }).await, vec![4, 2, 1]);

    assert_eq!(list(&store, CaseFilter { team: vec![BILLING], ..f() }).await, vec![2]);
    assert_eq!(list(&store, CaseFilter { team: vec![FRONT], ..f() }).await, vec![4, 1]);
    assert_eq!(list(&store, CaseFilter { team: vec![TECH, BILLING], ..f() }).await, vec![3, 2]);

    let assignee = |a| CaseFilter { assignee: Some(a), ..f() };
    assert_eq!(list(&store, assignee(AssigneeFilter::User(AGENT))).await, vec![1]);
    assert_eq!(list(&store, assignee(AssigneeFilter::User(OTHER_AGENT))).await, vec![4]);
    assert_eq!(list(&store, assignee(AssigneeFilter::Unassigned)).await, vec![3, 2]);

    assert_eq!(list(&store, CaseFilter { priority: vec![Priority::Urgent], ..f() }).await, vec![4]);
    assert_eq!(list(&store, CaseFilter { priority: vec![Priority::High, Priority::Low], ..f() }).await, vec![2, 1]);

    assert_eq!(list(&store, CaseFilter { channel: vec![Channel::Phone], ..f() }).await, vec![2]);
    assert_eq!(list(&store, CaseFilter { channel: vec![Channel::Chat, Channel::Web], ..f() }).await, vec![4, 3]);

    assert_eq!(list(&store, CaseFilter { customer: Some(ADA), ..f() }).await, vec![1]);
    assert_eq!(list(&store, CaseFilter { customer: Some(BOB), ..f() }).await, vec![2]);
    assert_eq!(list(&store, CaseFilter { customer: Some(CustomerId::new_v7()), ..f() }).await, Vec::<u64>::new());

    assert_eq!(list(&store, CaseFilter { category: Some("refund".into()), ..f() }).await, vec![2]);
    assert_eq!(list(&store, CaseFilter { category: Some("billing".into()), ..f() }).await, vec![1]);

    // Filters combine.
    let combined = CaseFilter { team: vec![FRONT], status: vec![Status::Open], channel: vec![Channel::Email], ..f() };
    assert_eq!(list(&store, combined).await, vec![1]);
    let disjoint = CaseFilter { team: vec![BILLING], priority: vec![Priority::High], ..f() };
    assert_eq!(list(&store, disjoint).await, Vec::<u64>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_scope_hides_other_teams_cases_but_shows_cases_the_user_worked() {
    let (_dir, store) = open_store();
    // #1: billing's, nobody assigned.
    let mut spec = new_case("billing's", "");
    spec.team = Some(billing());
    run(&store, open(CaseId::new_v7(), spec, at(0))).await;
    // #2: front line's, never touched by alice.
    let mut spec = new_case("front line's", "");
    spec.team = Some(front());
    run(&store, open(CaseId::new_v7(), spec, at(1))).await;
    // #3: alice worked it on the front line, then it went to tech without her.
    let worked = CaseId::new_v7();
    let mut spec = new_case("alice worked it", "");
    spec.team = Some(front());
    spec.assignee = Some(agent_on(AGENT, "alice", &[FRONT]));
    run(&store, open(worked, spec, at(2))).await;
    let moved = run(&store, escalate(worked, tech(), at(3))).await.case;
    assert_eq!((moved.team, moved.assignee), (Some(TECH), None));
    // #4: tech's, never alice's.
    let mut spec = new_case("tech's", "");
    spec.team = Some(tech());
    run(&store, open(CaseId::new_v7(), spec, at(4))).await;
    // #5: no team at all.
    run(&store, open(CaseId::new_v7(), new_case("nobody's", ""), at(5))).await;

    let scoped = async |teams: Vec<TeamId>, user: UserId, filter: CaseFilter| {
        let scope = CaseScope::TeamsOrWorkedBy { teams, user, followed: vec![] };
        numbers(&store.list_cases(filter, scope, all()).await.unwrap())
    };
    assert_eq!(scoped(vec![BILLING], AGENT, CaseFilter::default()).await, vec![3, 1]);
    assert_eq!(scoped(vec![BILLING], OTHER_AGENT, CaseFilter::default()).await, vec![1]);
    assert_eq!(scoped(vec![FRONT, TECH], OTHER_AGENT, CaseFilter::default()).await, vec![4, 3, 2]);
    assert_eq!(scoped(vec![], AGENT, CaseFilter::default()).await, vec![3]);
    assert_eq!(scoped(vec![], OTHER_AGENT, CaseFilter::default()).await, Vec::<u64>::new());
    // The scope narrows filters, never widens them.
    let only_billing = CaseFilter { team: vec![BILLING], ..Default::default() };
    assert_eq!(scoped(vec![BILLING], AGENT, only_billing).await, vec![1]);
    assert_eq!(list(&store, CaseFilter::default()).await, vec![5, 4, 3, 2, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_pages_are_newest_first_without_duplicates() {
    let (_dir, store) = open_store();
    for i in 0..25 {
        run(&store, open(CaseId::new_v7(), new_case(&format!("page {i}"), ""), at(i))).await;
    }
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut before = None;
    loop {
        let page = store.list_cases(CaseFilter::default(), CaseScope::All, PageRequest { before, limit: 10 }).await;
        let page = page.unwrap();
        let n = numbers(&page);
        assert!(n.windows(2).all(|w| w[0] > w[1]), "newest first: {n:?}");
        if let Some(last) = seen.last() {
            assert!(n.first().is_some_and(|first| first < last), "a page continues below the previous one");
        }
        sizes.push(n.len());
        seen.extend(n);
        match page.next_before {
            Some(next) => {
                assert_eq!(Some(next), page.cases.last().map(|c| c.number));
                before = Some(next);
            }
            None => break,
        }
        assert!(sizes.len() < 5, "pagination does not end");
    }
    assert_eq!(sizes, vec![10, 10, 5]);
    assert_eq!(seen, (1..=25).rev().collect::<Vec<_>>());
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 25, "no duplicates");

    // An exact multiple of the limit ends without an empty extra page.
    let page = store.list_cases(CaseFilter::default(), CaseScope::All, PageRequest { before: Some(21), limit: 20 });
    let page = page.await.unwrap();
    assert_eq!(numbers(&page), (1..=20).rev().collect::<Vec<_>>());
    assert_eq!(page.next_before, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_text_search_finds_descriptions_later_messages_and_prefixes() {
    let (_dir, store) = open_store();
    let invoice = CaseId::new_v7();
    let router = CaseId::new_v7();
    run(&store, open(invoice, new_case("Billing question", "The invoice for March was charged twice"), at(0))).await;
    run(&store, open(router, new_case("Connectivity", "Router keeps rebooting every night"), at(1))).await;
    run(&store, open(CaseId::new_v7(), new_case("Syntax", "foo and friends"), at(2))).await;

    assert_eq!(search(&store, "invoice").await, vec![1]);
    assert_eq!(search(&store, "INVOICE March").await, vec![1], "words are case-insensitive and all required");
    assert_eq!(search(&store, "invoice router").await, Vec::<u64>::new());
    assert_eq!(search(&store, "connectivity").await, vec![2], "the subject is searchable");

    assert_eq!(search(&store, "firmware").await, Vec::<u64>::new());
    run(&store, message(router, "Upgraded the firmware to 2.1", at(3))).await;
    assert_eq!(search(&store, "firmware").await, vec![2], "a word only in a later message");

    assert_eq!(search(&store, "rebo*").await, vec![2], "a word ending in * matches as a prefix");
    assert_eq!(search(&store, "rebo").await, Vec::<u64>::new(), "without * a word matches whole");
    assert_eq!(search(&store, "charged tw*").await, vec![1]);
    assert_eq!(search(&store, "invo charged").await, Vec::<u64>::new(), "words match whole");
    assert_eq!(search(&store, "invoices rebooted").await, Vec::<u64>::new());
    assert_eq!(search(&store, "rebooted").await, vec![2], "other forms of a word match (stemming)");
    assert_eq!(search(&store, "invoices").await, vec![1]);

    for q in [
        "\"foo AND (",
        "(",
        "\"",
        "*",
        "foo OR",
        "NOT foo",
        "NEAR(foo and, 2)",
        "body:foo",
        "^foo",
        "foo -bar",
        "'; DROP TABLE cases; --",
        "{body case_number}: x",
    ] {
        let page = store.list_cases(CaseFilter { q: Some(q.into()), ..Default::default() }, CaseScope::All, all());
        assert!(page.await.is_ok(), "query {q:?} must not be an error");
    }
    assert_eq!(search(&store, "\"foo AND (").await, vec![3]);
    assert_eq!(list(&store, CaseFilter::default()).await, vec![3, 2, 1], "the cases table survived");
}

// ---------------------------------------------------------------------------------------
// Durability
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_closing_and_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let location = ladder_store::test_location(dir.path());
    let id = CaseId::new_v7();
    let team = team_entity(FRONT, "front", "L1");
    let (case, events) = {
        let store = Store::open_at(&location, ladder_store::StoreConfig::default()).unwrap();
        run(&store, open(id, new_case("durable", "written before the restart"), at(0))).await;
        let case = run(&store, message(id, "and a reply", at(1))).await.case;
        store.create_team(team.clone(), None).await.unwrap();
        (case, store.events(id).await.unwrap())
    };

    let store = Store::open_at(&location, ladder_store::StoreConfig::default()).unwrap();
    assert_eq!(store.case(id).await.unwrap(), Some(case.clone()));
    assert_eq!(store.events(id).await.unwrap(), events);
    assert_eq!(store.messages(id).await.unwrap().len(), 1);
    assert_eq!(search(&store, "restart").await, vec![1]);
    assert_eq!(store.team(FRONT).await.unwrap(), Some(team));

    // And writing continues where it left off.
    let next = run(&store, open(CaseId::new_v7(), new_case("after", ""), at(2))).await;
    assert_eq!(next.case.number, 2);
    let mut w = message(id, "after the restart", at(3));
    w.expected_version = Some(case.version);
    assert_eq!(run(&store, w).await.case.version, 3);
}

// ---------------------------------------------------------------------------------------
// Maintenance
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planner_statistics_are_refreshed_for_the_stores_own_tables_only() {
    let (_dir, store) = open_store();
    for i in 0..3 {
        run(&store, open(CaseId::new_v7(), new_case(&format!("case {i}"), "statistics"), at(i))).await;
    }
    let mut conn = raw_connection(&store);
    // On PostgreSQL, another application's table in the same database (autovacuum kept off
    // it, so only an ANALYZE of ours could give it statistics).
    let other = format!("other_{}", uuid::Uuid::now_v7().simple());
    let postgres = matches!(store.location(), ladder_store::Location::Postgres(_));
    if postgres {
        conn.execute_batch(&format!(
            "CREATE SCHEMA {other}; CREATE TABLE {other}.t (x INTEGER) WITH (autovacuum_enabled = false); \
             INSERT INTO {other}.t SELECT generate_series(1, 100)"
        ))
        .unwrap();
    }

    store.optimize().await.unwrap();

    if postgres {
        let stats = |conn: &mut Raw, schema: &str, table: &str| {
            conn.pg_count(&format!(
                "SELECT count(*) FROM pg_stats WHERE schemaname = {schema} AND tablename = '{table}'"
            ))
        };
        assert!(stats(&mut conn, "current_schema()", "cases") > 0, "the store's tables are analyzed");
        assert_eq!(stats(&mut conn, &format!("'{other}'"), "t"), 0, "another schema's table is left alone");
        conn.execute_batch(&format!("DROP SCHEMA {other} CASCADE")).unwrap();
    }
    // Writing goes on afterwards.
    run(&store, open(CaseId::new_v7(), new_case("after", "statistics"), at(5))).await;
}

// ---------------------------------------------------------------------------------------
// Escalation metrics
// ---------------------------------------------------------------------------------------

/// Every dimension over a few periods (whole year, whole months, ragged ends, one day),
/// as the store answers them.
async fn metrics_snapshot(store: &Store) -> Vec<Vec<ladder_store::MetricsRow>> {
    use jiff::civil::date;
    use ladder_core::metrics::Dimension;
    let periods = [
        (date(2025, 1, 1), date(2025, 12, 31)),
        (date(2025, 6, 1), date(2025, 7, 31)),
        (date(2025, 6, 20), date(2025, 8, 10)),
        (date(2025, 7, 5), date(2025, 7, 5)),
    ];
    let mut out = Vec::new();
    for (from, to) in periods {
        for dim in Dimension::ALL {
            out.push(store.metrics(from, to, Some(dim)).await.unwrap());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_kept_while_writing_equal_the_log_recomputed_and_are_backfilled_by_the_migration() {
    use ladder_core::metrics::{CaseMetrics, Dimension, MetricsTable};
    // On SQLite: it winds the file's schema version back by hand (PRAGMA user_version). The
    // PostgreSQL migrations' metrics hooks are tested in the store's metrics tests.
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<CaseId> = (0..8).map(|_| CaseId::new_v7()).collect();
    let day = 24 * 60;
    let before = {
        let store = Store::open(dir.path(), ladder_store::StoreConfig::default()).unwrap();
        // Cases ten days apart from mid-June, so periods cut through months.
        for (i, id) in ids.iter().enumerate() {
            let start = i as i64 * 10 * day;
            let mut spec = new_case(&format!("metrics {i}"), "");
            spec.team = Some(if i % 2 == 0 { front() } else { billing() });
            spec.customer = Some(if i < 4 { ADA } else { BOB });
            run(&store, open(*id, spec, at(start))).await;
            if i % 3 == 0 {
                run(&store, escalate(*id, tech(), at(start + 5))).await;
            }
            if i % 4 == 1 {
                run(&store, escalate_up(*id, at(start + 7))).await;
            }
            if i % 2 == 0 {
                run(&store, resolve(*id, "done", at(start + 30))).await;
            }
        }
        // The figures kept while writing equal the events folded from scratch.
        let mut table = MetricsTable::default();
        for id in &ids {
            let events: Vec<_> = store.events(*id).await.unwrap().into_iter().map(|e| e.recorded).collect();
            table.replace(None, CaseMetrics::replay(&events, None).as_ref());
        }
        for (from, to) in METRICS_PERIODS {
            for dim in Dimension::ALL {
                let kept: Vec<_> = store
                    .metrics(from, to, Some(dim))
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| (r.value, r.counters))
                    .collect();
                let recomputed: Vec<_> = table.query(from, to, dim).into_iter().collect();
                assert_eq!(kept, recomputed, "{from}..{to} {}", dim.as_str());
            }
        }
        let total = store.metrics(jiff::civil::date(2025, 1, 1), jiff::civil::date(2025, 12, 31), None).await.unwrap();
        assert_eq!(total[0].counters.cases, 8);
        assert_eq!(total[0].counters.resolved, 4);
        metrics_snapshot(&store).await
    };

    // A database from before the metrics: the migration computes them from the log.
    let raw = rusqlite::Connection::open(dir.path().join("ladder.db")).unwrap();
    raw.execute_batch(&ladder_store::sql::undo_microseconds_sql(false)).unwrap();
    raw.execute_batch(
        "DROP TABLE case_metrics; DROP TABLE metrics_daily; DROP TABLE rule_activity; DROP TABLE case_insights; DROP TABLE insight_categories; DROP TABLE insight_codes; DROP TABLE insight_approvals; DROP TABLE insight_breaches; DROP INDEX timers_leased; ALTER TABLE timers DROP COLUMN lease_until_ns; ALTER TABLE timers DROP COLUMN lease_node; DROP TABLE audit_log; PRAGMA user_version = 6;",
    )
    .unwrap();
    drop(raw);
    let store = Store::open(dir.path(), ladder_store::StoreConfig::default()).unwrap();
    assert_eq!(metrics_snapshot(&store).await, before);
    drop(store);

    // A database from before the `team_agent` rows (migration 8): they are added from the
    // stored case figures.
    let raw = rusqlite::Connection::open(dir.path().join("ladder.db")).unwrap();
    let removed = raw.execute("DELETE FROM metrics_daily WHERE dim LIKE 'team_agent%'", []).unwrap();
    assert!(removed > 0, "team_agent rows were kept while writing");
    raw.execute_batch(&ladder_store::sql::undo_microseconds_sql(false)).unwrap();
    raw.execute_batch("DROP TABLE rule_activity; DROP TABLE case_insights; DROP TABLE insight_categories; DROP TABLE insight_codes; DROP TABLE insight_approvals; DROP TABLE insight_breaches; DROP INDEX timers_leased; ALTER TABLE timers DROP COLUMN lease_until_ns; ALTER TABLE timers DROP COLUMN lease_node; DROP TABLE audit_log; PRAGMA user_version = 7;").unwrap();
    drop(raw);
    let store = Store::open(dir.path(), ladder_store::StoreConfig::default()).unwrap();
    assert_eq!(metrics_snapshot(&store).await, before);

    // And so does rebuilding the projections.
    store.rebuild_projections().await.unwrap();
    assert_eq!(metrics_snapshot(&store).await, before);
}

// ---------------------------------------------------------------------------------------
// Insight facts
// ---------------------------------------------------------------------------------------

/// The insight facts of a period as they were read before the insight tables: every case
/// opened in the period, from its folded state and the last `escalated` event of its log.
/// The categories are those whose counts may make a suggestion, as the store answers.
async fn insight_facts_from_every_case(
    store: &Store,
    ids: &[CaseId],
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> (Vec<ladder_core::insights::CaseOutcome>, ladder_store::InsightFacts) {
    use ladder_core::insights::{CaseOutcome, CategoryCounts, CategoryOutcomes, breaches_24x7};
    let mut outcomes = Vec::new();
    let mut facts = ladder_store::InsightFacts::default();
    for id in ids {
        let case = store.case(*id).await.unwrap().unwrap();
        let day = case.created_at.to_zoned(jiff::tz::TimeZone::UTC).date();
        if day < from || day > to {
            continue;
        }
        let events = store.events(*id).await.unwrap();
        let last = events.iter().filter(|e| e.recorded.event.kind() == "escalated").map(|e| e.recorded.at).max();
        outcomes.push(CaseOutcome::of(&case, last));
        facts.approvals.extend(case.approvals.iter().map(|a| ladder_store::ApprovalFact {
            case_number: case.number,
            action: a.action.clone(),
            amount: a.amount,
            requested_by: a.requested_by.user_id(),
        }));
        facts.breaches_24x7.extend(breaches_24x7(&case));
    }
    let mut by_category: std::collections::BTreeMap<String, (CategoryCounts, CategoryOutcomes)> = Default::default();
    for o in &outcomes {
        let Some(category) = &o.category else { continue };
        let (counts, figures) = by_category.entry(category.clone()).or_default();
        counts.add(o);
        figures.category = category.clone();
        figures.cases += 1;
        figures.escalated += o.escalated as u64;
        figures.resolved_above.extend(o.resolved_above.clone().map(|r| (o.number, r)));
    }
    facts.categories =
        by_category.into_values().filter(|(counts, _)| counts.may_move_down()).map(|(_, figures)| figures).collect();
    (outcomes, facts)
}

/// Orders what the store may answer in any order.
fn sorted(mut facts: ladder_store::InsightFacts) -> ladder_store::InsightFacts {
    facts.categories.iter_mut().for_each(|c| c.resolved_above.sort_by_key(|(n, _)| *n));
    facts.approvals.sort_by_key(|a| (a.case_number, a.action.clone()));
    facts.breaches_24x7.sort_by_key(|b| (b.case_number, b.due_at));
    facts
}

const INSIGHT_PERIODS: [(i16, i8, i8, i16, i8, i8); 5] = [
    (2025, 1, 1, 2025, 12, 31),
    (2025, 6, 15, 2025, 6, 15),
    (2025, 6, 16, 2025, 6, 20),
    (2025, 6, 18, 2025, 7, 1),
    (2000, 1, 1, 2000, 1, 2),
];

async fn insight_snapshot(store: &Store) -> Vec<ladder_store::InsightFacts> {
    let mut out = Vec::new();
    for (y0, m0, d0, y1, m1, d1) in INSIGHT_PERIODS {
        let (from, to) = (jiff::civil::date(y0, m0, d0), jiff::civil::date(y1, m1, d1));
        out.push(sorted(store.insight_facts(from, to).await.unwrap()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insight_facts_kept_while_writing_equal_every_case_read_and_are_backfilled_by_the_migration() {
    use ladder_core::command::{CaseCommand, DeEscalate, Reopen, UpdateCase};
    use ladder_core::event::{ApprovalRequested, CaseEvent, ClockBreached, ClockStarted};
    use ladder_core::insights::{move_down, move_down_by_category};
    use ladder_core::sla::ClockKind;
    let dir = tempfile::tempdir().unwrap();
    let day = 24 * 60;
    let store = Store::open(dir.path(), ladder_store::StoreConfig::default()).unwrap();
    let mut ids = Vec::new();
    // Per case: its category, the minutes from escalation to resolution (None: never
    // escalated), and its day (0 = June 15th).
    let cases: &[(Option<&str>, Option<i64>, i64)] = &[
        // 'billing': six escalated and resolved above within the hour, two plain: suggested.
        (Some("billing"), Some(10), 0),
        (Some("billing"), Some(20), 1),
        (Some("billing"), Some(30), 1),
        (Some("billing"), Some(40), 2),
        (Some("billing"), Some(50), 3),
        (Some("billing"), Some(90), 4),
        (Some("billing"), None, 4),
        (Some("billing"), None, 5),
        // 'tech': slow above, never suggested; its counts alone say so.
        (Some("tech"), Some(300), 0),
        (Some("tech"), Some(400), 2),
        (Some("tech"), Some(500), 3),
        (Some("tech"), Some(600), 3),
        (Some("tech"), Some(20), 5),
        // 'tie': three of six within the hour: only the durations decide (a median of 1 h).
        (Some("tie"), Some(30), 1),
        (Some("tie"), Some(30), 1),
        (Some("tie"), Some(30), 2),
        (Some("tie"), Some(90), 2),
        (Some("tie"), Some(95), 3),
        (Some("tie"), Some(95), 20),
        (None, Some(10), 2),
        (None, None, 3),
    ];
    for (i, (category, minutes, on)) in cases.iter().enumerate() {
        let id = CaseId::new_v7();
        ids.push(id);
        let start = on * day + i as i64;
        let mut spec = new_case(&format!("insight {i}"), "");
        spec.category = category.map(String::from);
        spec.team = Some(front());
        run(&store, open(id, spec, at(start))).await;
        if let Some(minutes) = minutes {
            run(&store, escalate(id, tech(), at(start + 5))).await;
            run(&store, resolve(id, "refund", at(start + 5 + minutes))).await;
        }
    }
    // Changes after the facts: a case moves category, one is de-escalated back to its first
    // level before it is resolved, one is reopened and resolved again with another code.
    let update = |category: &str| {
        CaseCommand::Update(UpdateCase {
            subject: None,
            priority: None,
            category: Some(Some(category.into())),
            tags_added: vec![],
            tags_removed: vec![],
            custom_fields: Default::default(),
        })
    };
    run(&store, write(ids[8], update("billing"), at(10 * day))).await;
    let id = CaseId::new_v7();
    ids.push(id);
    let mut spec = new_case("de-escalated", "");
    spec.category = Some("billing".into());
    spec.team = Some(front());
    run(&store, open(id, spec, at(2 * day))).await;
    run(&store, escalate(id, tech(), at(2 * day + 5))).await;
    let down = DeEscalate { to_level: None, to_team: Some(front()), to_user: None, guidance: "yours".into() };
    run(&store, write(id, CaseCommand::DeEscalate(down), at(2 * day + 9))).await;
    run(&store, resolve(id, "refund", at(2 * day + 12))).await;
    run(&store, write(ids[2], CaseCommand::Reopen(Reopen { reason: "again".into() }), at(2 * day))).await;
    run(&store, resolve(ids[2], "explained", at(2 * day + 3))).await;
    // Approval requests and a 24x7 clock's breach, as a matrix and the timers would record.
    let requested = |approval: u32, amount: f64| {
        CaseEvent::ApprovalRequested(ApprovalRequested {
            approval,
            action: "credit".into(),
            amount,
            note: None,
            approver_role: Role::Supervisor,
            earlier: Vec::new(),
        })
    };
    run(&store, events_write(ids[0], at(30), vec![requested(0, 55.0), requested(1, 120.5)])).await;
    run(&store, events_write(ids[13], at(day + 40), vec![requested(0, 9.0)])).await;
    for (n, (case, calendar)) in
        [(ids[9], None), (ids[10], Some("support".to_string())), (ids[20], None)].into_iter().enumerate()
    {
        let due_at = at(3 * day + n as i64);
        let started = CaseEvent::ClockStarted(ClockStarted {
            index: 0,
            clock: ClockKind::Respond,
            level: level("L2"),
            target: SignedDuration::from_hours(1),
            calendar,
            due_at,
            next_fire: Some(due_at),
            approval: None,
        });
        let breached = CaseEvent::ClockBreached(ClockBreached { index: 0, clock: ClockKind::Respond, due_at });
        run(&store, events_write(case, due_at, vec![started, breached])).await;
    }

    let mut suggested = 0;
    for (y0, m0, d0, y1, m1, d1) in INSIGHT_PERIODS {
        let (from, to) = (jiff::civil::date(y0, m0, d0), jiff::civil::date(y1, m1, d1));
        let kept = sorted(store.insight_facts(from, to).await.unwrap());
        let (outcomes, read) = insight_facts_from_every_case(&store, &ids, from, to).await;
        assert_eq!(kept, sorted(read), "{from}..{to}");
        let suggestions = move_down_by_category(&kept.categories);
        assert_eq!(suggestions, move_down(&outcomes), "{from}..{to}");
        suggested += suggestions.len();
    }
    assert!(suggested >= 2, "the data makes suggestions (billing, and the tie at exactly 1 h)");
    let whole = store.insight_facts(jiff::civil::date(2025, 1, 1), jiff::civil::date(2025, 12, 31)).await.unwrap();
    let names: Vec<&str> = whole.categories.iter().map(|c| c.category.as_str()).collect();
    assert_eq!(names, ["billing", "tie"], "'tech' is left out by its counts");
    assert_eq!((whole.approvals.len(), whole.breaches_24x7.len()), (3, 2));
    let before = insight_snapshot(&store).await;
    drop(store);

    // A database from before the insight tables: the migration fills them from the case
    // documents and the log.
    let raw = rusqlite::Connection::open(dir.path().join("ladder.db")).unwrap();
    raw.execute_batch(&ladder_store::sql::undo_microseconds_sql(false)).unwrap();
    raw.execute_batch(
        "DROP TABLE case_insights; DROP TABLE insight_categories; DROP TABLE insight_codes;
         DROP TABLE insight_approvals; DROP TABLE insight_breaches; DROP TABLE audit_log; PRAGMA user_version = 9;",
    )
    .unwrap();
    drop(raw);
    let store = Store::open(dir.path(), ladder_store::StoreConfig::default()).unwrap();
    assert_eq!(insight_snapshot(&store).await, before);

    // And so does rebuilding the projections.
    store.rebuild_projections().await.unwrap();
    assert_eq!(insight_snapshot(&store).await, before);
}

// ---------------------------------------------------------------------------------------
// Directory
// ---------------------------------------------------------------------------------------

fn team_entity(id: TeamId, slug: &str, level: &str) -> Team {
    Team { name: format!("Team {slug}"), ..directory::team(id, slug, level, t0()) }
}

fn user_entity(id: UserId, name: &str, teams: &[TeamId]) -> User {
    User {
        display_name: name.to_uppercase(),
        email: Some(format!("{name}@ladder.test")),
        levels: vec![LevelId::new("L1")],
        ..directory::user(id, name, Role::Agent, teams, t0())
    }
}

fn customer_entity(id: CustomerId, name: &str, email: &str) -> Customer {
    Customer {
        identities: vec![Identity { channel: Channel::Email, value: email.into() }],
        value: 100.0,
        segment: Some("smb".into()),
        ..directory::customer(id, name, t0())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_have_unique_slugs_and_cannot_be_deleted_while_they_have_members() {
    let (_dir, store) = open_store();
    let front = store.create_team(team_entity(FRONT, "front", "L1"), None).await.unwrap();
    store.create_team(team_entity(TECH, "tech", "L2"), None).await.unwrap();
    assert_eq!(store.team_by_slug("front".into()).await.unwrap(), Some(front.clone()));

    match store.create_team(team_entity(BILLING, "front", "L1"), None).await {
        Err(StoreError::Duplicate(msg)) => assert!(msg.contains("front"), "{msg}"),
        other => panic!("expected a duplicate slug, got {other:?}"),
    }
    assert_eq!(store.team(BILLING).await.unwrap(), None);
    assert_eq!(store.teams().await.unwrap().len(), 2);

    let alice = store.create_user(user_entity(AGENT, "alice", &[FRONT]), None, None).await.unwrap();
    assert_eq!(store.users(Some(FRONT)).await.unwrap(), vec![alice.clone()]);
    assert!(matches!(
        store.create_user(user_entity(OTHER_AGENT, "alice", &[]), None, None).await,
        Err(StoreError::Duplicate(_))
    ));

    assert!(matches!(store.delete_team(FRONT).await, Err(StoreError::InUse(_))));
    assert_eq!(store.team(FRONT).await.unwrap(), Some(front));
    // Once the member moves, the team can go; an empty team goes at once.
    store.update_user(User { teams: vec![TECH], ..alice }).await.unwrap();
    assert!(matches!(store.delete_team(TECH).await, Err(StoreError::InUse(_))));
    store.delete_team(FRONT).await.unwrap();
    assert_eq!(store.team(FRONT).await.unwrap(), None);
    assert!(matches!(store.delete_team(FRONT).await, Err(StoreError::NotFound(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_identities_are_unique_and_found_case_insensitively() {
    let (_dir, store) = open_store();
    let ada = store.create_customer(customer_entity(ADA, "Ada", "Ada.Lovelace@Example.com"), None).await.unwrap();

    match store.create_customer(customer_entity(BOB, "Impostor", " ada.lovelace@example.COM "), None).await {
        Err(StoreError::Duplicate(msg)) => assert!(msg.contains("ada.lovelace@example.com"), "{msg}"),
        other => panic!("expected a duplicate identity, got {other:?}"),
    }
    assert_eq!(store.customer(BOB).await.unwrap(), None, "the refused customer left nothing behind");
    assert_eq!(store.customers(CustomerFilter::default(), None, 100, 0).await.unwrap(), vec![ada.clone()]);

    for identity in ["ada.lovelace@example.com", "ADA.LOVELACE@EXAMPLE.COM", "  Ada.Lovelace@example.com"] {
        let found = store
            .customers(CustomerFilter { identity: Some(identity.into()), ..Default::default() }, None, 100, 0)
            .await
            .unwrap();
        assert_eq!(found, vec![ada.clone()], "identity {identity:?}");
    }
    let nobody = CustomerFilter { identity: Some("someone@example.com".into()), ..Default::default() };
    assert!(store.customers(nobody, None, 100, 0).await.unwrap().is_empty());

    // A different address is a different customer.
    let bob = store.create_customer(customer_entity(BOB, "Bob", "bob@example.com"), None).await.unwrap();
    let by_name = CustomerFilter { name: Some("Bo".into()), ..Default::default() };
    assert_eq!(store.customers(by_name, None, 100, 0).await.unwrap(), vec![bob]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_authenticate_until_revoked_expired_or_their_user_is_deactivated() {
    let (_dir, store) = open_store();
    store.create_team(team_entity(FRONT, "front", "L1"), None).await.unwrap();
    let alice = store.create_user(user_entity(AGENT, "alice", &[FRONT]), None, None).await.unwrap();
    let bob = store.create_user(user_entity(OTHER_AGENT, "bob", &[FRONT]), None, None).await.unwrap();

    let token = |id: &str, user: UserId, expires_at: Option<Timestamp>| TokenInfo {
        id: id.into(),
        user_id: user,
        name: format!("token {id}"),
        created_at: t0(),
        expires_at,
        revoked_at: None,
    };
    let now = at(1);
    let lookup =
        async |hash: &str, now: Timestamp| store.user_for_token(hash.into(), now).await.map(|u| u.map(|(u, _, _)| u));

    // Revocation.
    let revocable = store.create_token(token("t1", AGENT, None), "hash-1".into()).await.unwrap();
    assert_eq!(store.token("t1".into()).await.unwrap(), Some(revocable));
    assert_eq!(lookup("hash-1", now).await.unwrap(), Some(alice.clone()));
    assert_eq!(lookup("hash-unknown", now).await.unwrap(), None);
    store.revoke_token("t1".into(), at(2)).await.unwrap();
    assert_eq!(lookup("hash-1", at(3)).await.unwrap(), None);
    assert_eq!(store.token("t1".into()).await.unwrap().unwrap().revoked_at, Some(at(2)));
    assert!(matches!(store.revoke_token("nope".into(), at(2)).await, Err(StoreError::NotFound(_))));

    // Expiry.
    let expires = at(60);
    store.create_token(token("t2", AGENT, Some(expires)), "hash-2".into()).await.unwrap();
    assert_eq!(lookup("hash-2", at(59)).await.unwrap(), Some(alice.clone()));
    assert_eq!(lookup("hash-2", expires).await.unwrap(), None);
    assert_eq!(lookup("hash-2", at(61)).await.unwrap(), None);

    // Deactivation.
    store.create_token(token("t3", OTHER_AGENT, None), "hash-3".into()).await.unwrap();
    assert_eq!(lookup("hash-3", now).await.unwrap(), Some(bob.clone()));
    store.update_user(User { active: false, ..bob }).await.unwrap();
    assert_eq!(lookup("hash-3", now).await.unwrap(), None);
    // Alice's live token is not affected by Bob's deactivation.
    assert_eq!(lookup("hash-2", now).await.unwrap(), Some(alice));
    assert_eq!(store.tokens(Some(OTHER_AGENT)).await.unwrap().len(), 1);
    assert_eq!(store.tokens(None).await.unwrap().len(), 3);
}

#[test]
fn the_simulated_clock_has_the_precision_the_store_keeps() {
    // Guards the point of `t0`: a clock without microseconds would hide precision bugs, and
    // one finer than the store keeps would fail the round trips for the wrong reason.
    assert_ne!(t0().subsec_nanosecond() % 1_000_000, 0);
    assert_eq!(ladder_core::instant::truncate(t0()), t0());
    assert_eq!(at(1).duration_since(at(0)), SignedDuration::from_mins(1));
}

// ---------------------------------------------------------------------------------------
// Escalation matrix versions
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_drafts_become_immutable_versions_that_can_be_rolled_back() {
    use ladder_store::MatrixDraft;
    let (dir, store) = open_store();
    assert_eq!(store.active_matrix().await.unwrap(), None);
    let draft = |source: &str| MatrixDraft {
        name: "main".into(),
        source: source.into(),
        updated_by: "root".into(),
        updated_at: at(0),
    };
    store.put_matrix_draft(draft("# one")).await.unwrap();
    store.put_matrix_draft(draft("# two")).await.unwrap();
    assert_eq!(store.matrix_draft("main".into()).await.unwrap().unwrap().source, "# two", "a draft is replaced");
    assert_eq!(store.matrix_drafts().await.unwrap().len(), 1);

    let v1 = store.activate_matrix("main".into(), "# one".into(), "root".into(), at(1)).await.unwrap();
    let v2 = store.activate_matrix("main".into(), "# two".into(), "root".into(), at(2)).await.unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(store.active_matrix().await.unwrap().unwrap().version, 2);

    let back = store.rollback_matrix(None, "root".into(), at(3)).await.unwrap();
    assert_eq!(back.version, 1, "rolling back goes to the version active before");
    assert_eq!(store.active_matrix().await.unwrap().unwrap().source, "# one");
    assert!(matches!(store.rollback_matrix(Some(1), "root".into(), at(4)).await, Err(StoreError::InUse(_))));
    assert!(matches!(store.rollback_matrix(Some(9), "root".into(), at(4)).await, Err(StoreError::NotFound(_))));
    let kinds: Vec<(u32, String)> =
        store.matrix_activations().await.unwrap().into_iter().map(|a| (a.version, a.kind)).collect();
    assert_eq!(kinds, vec![(1, "activate".into()), (2, "activate".into()), (1, "rollback".into())]);

    // Versions are immutable at the database level too. The raw PostgreSQL client blocks
    // on a runtime of its own, so it is used (and dropped) outside this test's runtime.
    tokio::task::block_in_place(|| {
        let mut raw = raw_connection(&store);
        assert!(raw.execute_batch("UPDATE matrix_versions SET source = 'x' WHERE version = 1").is_err());
        assert!(raw.execute_batch("DELETE FROM matrix_versions").is_err());
    });
    drop(dir);
}
