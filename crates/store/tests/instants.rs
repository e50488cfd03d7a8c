//! Instants in the store: every instant the API accepts (`ladder_core::instant`, 1970 to
//! 9999, to the microsecond) is kept exactly and sorts in time order, on both backends.

use jiff::{SignedDuration, Timestamp};
use ladder_core::command::{CaseCommand, ScheduleCallback};
use ladder_core::ids::CaseId;
use ladder_core::instant;
use ladder_store::Store;
use ladder_testkit::store::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn queued_case(subject: &str) -> ladder_core::command::OpenCase {
    let mut spec = new_case(subject, "");
    spec.team = Some(front());
    spec
}

fn callback(case_id: CaseId, start: Timestamp, now: Timestamp) -> ladder_store::CaseWrite {
    write(
        case_id,
        CaseCommand::ScheduleCallback(ScheduleCallback {
            team: front(),
            window_start: start,
            window_end: start + SignedDuration::from_hours(1),
            time_zone: "UTC".into(),
            note: None,
        }),
        now,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_due_in_the_year_3000_waits_behind_todays_cases_and_keeps_its_date() {
    // With nanoseconds in an i64 the year 3000 wrapped to 1830 and jumped the queue.
    let (_dir, store) = open_store();
    let (later, today) = (CaseId::new_v7(), CaseId::new_v7());
    run(&store, open(later, queued_case("call me in the year 3000"), at(0))).await;
    run(&store, open(today, queued_case("today"), at(1))).await;
    let due: Timestamp = "3000-01-01T09:00:00Z".parse().unwrap();
    run(&store, callback(later, due, at(2))).await;

    let queue = store.queue(FRONT, 10).await.unwrap();
    let order: Vec<(CaseId, Timestamp)> = queue.iter().map(|q| (q.case.id, q.rank_at)).collect();
    assert_eq!(order.len(), 2);
    assert_eq!(order[0].0, today);
    assert_eq!(order[1], (later, due));
}

/// Opens a case at `t` in the front line's queue with a message at `t`, and reads the
/// instants back from the log, the message table and the case.
async fn round_trip(store: &Store, t: Timestamp) -> (Timestamp, Timestamp, Timestamp) {
    let id = CaseId::new_v7();
    run(store, open(id, queued_case("round trip"), t)).await;
    run(store, message(id, "at the same instant", t)).await;
    let events = store.events(id).await.unwrap();
    let messages = store.messages(id).await.unwrap();
    let case = store.case(id).await.unwrap().unwrap();
    (events[1].recorded.at, messages[0].at, case.updated_at)
}

/// `us` microseconds after the epoch (`Timestamp::from_microsecond` stops at the last whole
/// second jiff can hold).
fn micros(us: i64) -> Timestamp {
    Timestamp::from_nanosecond(i128::from(us) * 1_000).unwrap()
}

#[test]
fn every_accepted_instant_round_trips_exactly_and_in_order() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (_dir, store) = rt.block_on(async { open_store() });
    let (lo, hi) = (instant::MIN.as_microsecond(), instant::max().as_microsecond());
    // The ends of the range and the instants either side of where nanoseconds wrapped.
    let wrap = Timestamp::from_nanosecond(i64::MAX.into()).unwrap().as_microsecond();
    for us in [lo, hi, wrap, wrap + 1, "3000-01-01T00:00:00Z".parse::<Timestamp>().unwrap().as_microsecond()] {
        let t = micros(us);
        assert_eq!(rt.block_on(round_trip(&store, t)), (t, t, t), "{t}");
    }
    let mut runner = TestRunner::new(Config { cases: 48, ..Config::default() });
    runner
        .run(&(lo..=hi, lo..=hi), |(a, b)| {
            let (a, b) = (micros(a), micros(b));
            let (ra, rb) = (rt.block_on(round_trip(&store, a)), rt.block_on(round_trip(&store, b)));
            prop_assert_eq!(ra, (a, a, a));
            prop_assert_eq!(rb, (b, b, b));
            Ok(())
        })
        .unwrap();
    // Every case waits in the queue since it opened: the column sorts them in time order.
    let waiting = rt.block_on(store.queued_since(FRONT, instant::max(), 1000)).unwrap();
    assert_eq!(waiting.len(), 5 + 2 * 48);
    let opened: Vec<Timestamp> = waiting.iter().map(|c| c.created_at).collect();
    let mut sorted = opened.clone();
    sorted.sort();
    assert_eq!(opened, sorted);
}
