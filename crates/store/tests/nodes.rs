//! Several stores (servers) on one PostgreSQL database: their writes take turns, so case
//! numbers and versions never collide, and each announces the cases it changed to the
//! others. Always on PostgreSQL (a fresh schema in the test database).

use std::collections::BTreeSet;
use std::time::Duration;

use ladder_core::ids::CaseId;
use ladder_store::{Change, Store, StoreConfig};
use ladder_testkit::store::*;

fn two_servers() -> (Store, Store) {
    let location = ladder_store::test_postgres_location();
    let a = Store::open_at(&location, StoreConfig::default()).expect("server a opens");
    let b = Store::open_at(&location, StoreConfig::default()).expect("server b opens");
    (a, b)
}

async fn next(changes: &mut tokio::sync::mpsc::Receiver<Change>) -> Vec<CaseId> {
    match next_change(changes).await {
        Change::Cases(ids) => ids,
        other => panic!("expected cases, got {other:?}"),
    }
}

async fn next_change(changes: &mut tokio::sync::mpsc::Receiver<Change>) -> Change {
    tokio::time::timeout(Duration::from_secs(10), changes.recv())
        .await
        .expect("an announcement within 10 s")
        .expect("the listener is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_hears_the_cases_another_changed_and_not_its_own() {
    let (a, b) = two_servers();
    let mut heard_by_b = b.changes_from_other_servers().await.expect("PostgreSQL announces changes");
    let mut heard_by_a = a.changes_from_other_servers().await.expect("PostgreSQL announces changes");

    let first = CaseId::new_v7();
    a.execute(open(first, new_case("first", ""), at(0))).await.unwrap();
    assert_eq!(next(&mut heard_by_b).await, vec![first]);

    // A refused write announces nothing: the next thing heard is the next real change.
    let refused = CaseId::new_v7();
    assert!(a.execute(open(refused, new_case("   ", ""), at(1))).await.is_err());
    let second = CaseId::new_v7();
    a.execute(open(second, new_case("second", ""), at(2))).await.unwrap();
    assert_eq!(next(&mut heard_by_b).await, vec![second]);

    // And the other way round; a hears b's change, never its own two.
    b.execute(message(first, "from b", at(3))).await.unwrap();
    assert_eq!(next(&mut heard_by_a).await, vec![first]);
    assert!(heard_by_a.try_recv().is_err());

    // A matrix version put in force is announced too.
    let at0 = at(4);
    b.activate_matrix("main".into(), "[[levels]]\nid = \"L1\"\n".into(), "root".into(), at0).await.unwrap();
    assert_eq!(next_change(&mut heard_by_a).await, Change::Matrix);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_of_two_servers_get_distinct_numbers_and_versions() {
    let (a, b) = two_servers();
    let mut tasks = Vec::new();
    for i in 0..60 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let id = CaseId::new_v7();
            store.execute(open(id, new_case(&format!("case {i}"), ""), at(i))).await.unwrap();
            // Both servers reply to the same case at once: one after the other, never lost.
            let (first, second) = (store.clone(), store);
            let (x, y) = tokio::join!(
                first.execute(message(id, "one", at(i + 1))),
                second.execute(message(id, "two", at(i + 1)))
            );
            (id, x.unwrap().case.version, y.unwrap().case.version)
        }));
    }
    let mut numbers = BTreeSet::new();
    for task in tasks {
        let (id, x, y) = task.await.unwrap();
        assert_eq!(BTreeSet::from([x, y]), BTreeSet::from([2, 3]), "two versions, one each");
        let case = b.case(id).await.unwrap().expect("the case");
        assert_eq!(case.version, 3);
        numbers.insert(case.number);
        let events = a.events(id).await.unwrap();
        assert_eq!(events.iter().map(|e| e.recorded.version).collect::<Vec<_>>(), [1, 2, 3]);
    }
    assert_eq!(numbers, (1..=60).collect::<BTreeSet<u64>>(), "every number once");
    // The log's order is the commit order: sequence numbers of the whole log are unique and
    // each case's events come in version order.
    let log = a.events_after(0, 1000).await.unwrap();
    assert_eq!(log.len(), 180);
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
}
