//! SLA clocks (`ladder_core::sla::clock`) on fixed instants: no clock reads, no sleeps.
//!
//! Dates used: 2026-11-20 is a Friday, 2026-11-23 a Monday; the test calendar is New York,
//! Monday to Friday 08:00-20:00, with holidays on Thursday 26 and Friday 27 November.

use jiff::{SignedDuration, Timestamp};
use ladder_core::matrix::model::{TargetKind, parse_duration};
use ladder_core::matrix::{self, Calendar};
use ladder_core::sla::{BusinessCalendar, Clock, ClockFiring, ClockKind, ClockState, Ticking, clocks_after_status};
use ladder_core::{LevelId, Status};
use proptest::prelude::*;

const WEEKDAYS_NY: &str = r#"
timezone = "America/New_York"
hours = { "mon-fri" = "08:00-20:00" }
holidays = ["2026-11-26", "2026-11-27"]
"#;

fn calendar(body: &str) -> Calendar {
    let source = format!("[calendars.c]\n{body}\n");
    let (m, _) = matrix::parse(&source, "test.toml").unwrap_or_else(|d| panic!("{body}: {d:?}"));
    m.calendars["c"].clone()
}

fn ny() -> BusinessCalendar {
    BusinessCalendar::new(&calendar(WEEKDAYS_NY)).unwrap()
}

/// A New York local time on a November 2026 day (UTC-5).
fn ts(s: &str) -> Timestamp {
    let s = if s.len() > 8 { s.to_string() } else { format!("2026-11-{s}:00-05:00") };
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn d(s: &str) -> SignedDuration {
    match s.strip_prefix('-') {
        Some(rest) => -parse_duration(rest).unwrap(),
        None => parse_duration(s).unwrap(),
    }
}

fn start(target: &str, cal: Option<&BusinessCalendar>, at: &str) -> Clock {
    let name = cal.map(|_| "c".to_string());
    Clock::start(ClockKind::Resolve, LevelId::new("L1"), d(target), name, cal, ts(at)).unwrap()
}

#[test]
fn kinds_map_to_and_from_target_kinds() {
    for k in TargetKind::ALL {
        assert_eq!(ClockKind::from(k).target_kind(), Some(k));
        assert_eq!(ClockKind::from(k).as_str(), k.as_str());
    }
    assert_eq!(ClockKind::Approval.target_kind(), None);
    assert_eq!(ClockKind::Approval.as_str(), "approval");
}

#[test]
fn start_computes_due_in_business_time() {
    let cal = ny();
    // (calendar?, start, target, due)
    let cases: &[(bool, &str, &str, &str)] = &[
        (true, "23T10:00", "8h", "23T18:00"),
        // Friday evening: 2h on Friday, the rest on Monday.
        (true, "20T18:00", "8h", "23T14:00"),
        // Saturday: nothing counts until Monday 08:00.
        (true, "21T10:00", "4h", "23T12:00"),
        // Wednesday evening across the Thanksgiving holidays and the weekend.
        (true, "25T19:00", "3h", "30T10:00"),
        // 24x7 counts real time.
        (false, "20T18:00", "8h", "21T02:00"),
    ];
    for &(business, at, target, due) in cases {
        let c = start(target, business.then_some(&cal), at);
        assert_eq!(c.due_at, Some(ts(due)), "{at} + {target}");
        assert_eq!(c.state, ClockState::Running);
        assert_eq!(c.remaining(business.then_some(&cal), ts(at)), d(target));
    }
}

#[test]
fn pause_over_weekend_and_holiday_extends_due_by_paused_business_time_only() {
    let cal = Some(ny());
    let cal = cal.as_ref();
    let mut c = start("8h", cal, "25T10:00");
    assert_eq!(c.due_at, Some(ts("25T18:00")));
    let g0 = c.generation;
    c.pause(ts("25T12:00"));
    assert_eq!((c.state, c.due_at), (ClockState::Paused, None));
    assert!(c.generation > g0);
    // Spent time is frozen while paused.
    assert_eq!(c.spent(cal, ts("30T09:00")), d("2h"));
    c.resume(cal, ts("30T10:00")).unwrap();
    assert_eq!(c.state, ClockState::Running);
    assert_eq!(c.paused_spans, vec![(ts("25T12:00"), Some(ts("30T10:00")))]);
    // Paused business time: Wednesday 12:00-20:00 and Monday 08:00-10:00; the holidays and
    // the weekend count nothing.
    assert_eq!(c.paused_time(cal, ts("30T10:00")), d("10h"));
    assert_eq!(c.remaining(cal, ts("30T10:00")), d("6h"));
    assert_eq!(c.due_at, Some(ts("30T16:00")));
    // Original due + 10h of business time lands on the same instant.
    assert_eq!(cal.unwrap().add(ts("25T18:00"), d("10h")).unwrap(), ts("30T16:00"));
    // Pausing or resuming twice changes nothing.
    let before = c.clone();
    c.resume(cal, ts("30T11:00")).unwrap();
    assert_eq!(c, before);
}

#[test]
fn reevaluation_on_priority_change() {
    let cal = Some(ny());
    let cal = cal.as_ref();
    // (changed at, remaining, due, breached immediately)
    let cases = [("23T11:00", "1h", "23T12:00", false), ("23T13:00", "-1h", "23T13:00", true)];
    for (at, remaining, due, breached) in cases {
        let mut c = start("8h", cal, "23T08:00");
        let g0 = c.generation;
        c.reevaluate(d("4h"), Some("c".into()), cal, ts(at)).unwrap();
        assert_eq!(c.target, d("4h"));
        assert_eq!(c.revisions, vec![(ts(at), d("8h"))], "history kept");
        assert_eq!(c.remaining(cal, ts(at)), d(remaining), "{at}");
        assert_eq!(c.due_at, Some(ts(due)), "{at}");
        assert!(c.generation > g0);
        // An old timer does nothing; the new generation fires what is due.
        assert!(c.fire(g0, &[], cal, ts(at)).is_empty());
        let fired = c.fire(c.generation, &[], cal, ts(at));
        assert_eq!(fired == vec![ClockFiring::Breach { due_at: ts(due) }], breached, "{at}: {fired:?}");
        assert_eq!(c.state == ClockState::Breached, breached);
    }
}

#[test]
fn reevaluation_while_paused_applies_on_resume() {
    let cal = Some(ny());
    let cal = cal.as_ref();
    let mut c = start("8h", cal, "23T08:00");
    c.pause(ts("23T11:00"));
    c.reevaluate(d("4h"), Some("c".into()), cal, ts("23T15:00")).unwrap();
    assert_eq!((c.state, c.due_at), (ClockState::Paused, None));
    c.resume(cal, ts("24T08:00")).unwrap();
    assert_eq!(c.due_at, Some(ts("24T09:00")));
}

#[test]
fn warnings_fire_once_each_in_order_then_the_breach() {
    let cal = Some(ny());
    let cal = cal.as_ref();
    let warn = [75, 50];
    let mut c = start("8h", cal, "23T08:00");
    // (fire at, expected firings, state after)
    let steps: Vec<(&str, Vec<ClockFiring>, ClockState)> = vec![
        ("23T11:59", vec![], ClockState::Running),
        ("23T12:00", vec![ClockFiring::Warning { percent: 50 }], ClockState::AtRisk),
        ("23T12:00", vec![], ClockState::AtRisk),
        ("23T13:00", vec![], ClockState::AtRisk),
        ("23T14:00", vec![ClockFiring::Warning { percent: 75 }], ClockState::AtRisk),
        ("23T15:00", vec![], ClockState::AtRisk),
        ("23T16:00", vec![ClockFiring::Breach { due_at: ts("23T16:00") }], ClockState::Breached),
        ("23T16:00", vec![], ClockState::Breached),
        ("24T10:00", vec![], ClockState::Breached),
    ];
    for (at, expected, state) in steps {
        assert_eq!(c.fire(c.generation, &warn, cal, ts(at)), expected, "{at}");
        assert_eq!(c.state, state, "{at}");
    }
    assert_eq!(c.warnings_sent, vec![50, 75]);
    assert_eq!(c.breached_at, Some(ts("23T16:00")));
    assert_eq!(c.remaining(cal, ts("24T10:00")), d("-6h"));
    assert!((c.elapsed_fraction(cal, ts("24T10:00")) - 14.0 / 8.0).abs() < 1e-9);
}

#[test]
fn a_late_fire_catches_up_once_recording_the_true_due_time() {
    let cal = Some(ny());
    let cal = cal.as_ref();
    let mut c = start("8h", cal, "23T08:00");
    let fired = c.fire(c.generation, &[50, 75], cal, ts("24T09:00"));
    assert_eq!(
        fired,
        vec![
            ClockFiring::Warning { percent: 50 },
            ClockFiring::Warning { percent: 75 },
            ClockFiring::Breach { due_at: ts("23T16:00") }
        ]
    );
    assert!(c.fire(c.generation, &[50, 75], cal, ts("24T09:00")).is_empty());
}

#[test]
fn duplicate_or_stale_fires_change_nothing() {
    let cal = Some(ny());
    let cal = cal.as_ref();
    let mut c = start("8h", cal, "23T08:00");
    let stale = c.generation;
    c.pause(ts("23T09:00"));
    c.resume(cal, ts("23T10:00")).unwrap();
    assert_eq!(c.due_at, Some(ts("23T17:00")));
    let before = c.clone();
    // The old timer, armed for 16:00 of the old generation, and even one at the new due.
    for at in ["23T16:00", "23T17:00", "24T12:00"] {
        assert!(c.fire(stale, &[50, 75], cal, ts(at)).is_empty());
        assert_eq!(c, before);
    }
    // A paused clock never fires, even at its current generation.
    c.pause(ts("23T11:00"));
    let paused = c.clone();
    assert!(c.fire(c.generation, &[50, 75], cal, ts("24T12:00")).is_empty());
    assert_eq!(c, paused);
}

#[test]
fn met_or_cancelled_clocks_never_fire() {
    let cal = Some(ny());
    let cal = cal.as_ref();
    for meet in [true, false] {
        let mut c = start("8h", cal, "23T08:00");
        let g = c.generation;
        if meet {
            c.meet(ts("23T10:00"));
            assert_eq!((c.state, c.met_at), (ClockState::Met, Some(ts("23T10:00"))));
        } else {
            c.cancel(ts("23T10:00"));
            assert_eq!((c.state, c.cancelled_at), (ClockState::Cancelled, Some(ts("23T10:00"))));
        }
        for gen_ in [g, c.generation] {
            assert!(c.fire(gen_, &[50, 75], cal, ts("24T12:00")).is_empty());
        }
        assert_eq!(c.next_due(&[50, 75], cal), None);
        assert_eq!(c.spent(cal, ts("25T12:00")), d("2h"), "frozen when stopped");
        // Final: nothing moves it any more.
        let before = c.clone();
        c.pause(ts("23T11:00"));
        c.resume(cal, ts("23T12:00")).unwrap();
        c.reevaluate(d("1h"), None, None, ts("23T12:00")).unwrap();
        c.meet(ts("23T13:00"));
        c.cancel(ts("23T13:00"));
        assert_eq!(c, before);
    }
}

#[test]
fn next_due_walks_warning_thresholds_then_due_at() {
    let cal = Some(ny());
    let cal = cal.as_ref();
    // Monday evening: 2h on Monday, then Tuesday morning.
    let mut c = start("8h", cal, "23T18:00");
    let mut walk = vec![];
    while let Some(at) = c.next_due(&[50, 75], cal) {
        let fired = c.fire(c.generation, &[50, 75], cal, at);
        walk.push((at, fired));
        assert!(walk.len() < 10, "{walk:?}");
    }
    assert_eq!(
        walk,
        vec![
            (ts("24T10:00"), vec![ClockFiring::Warning { percent: 50 }]),
            (ts("24T12:00"), vec![ClockFiring::Warning { percent: 75 }]),
            (ts("24T14:00"), vec![ClockFiring::Breach { due_at: ts("24T14:00") }]),
        ]
    );
    // Without warnings, straight to due; a paused clock has nothing to arm.
    let mut c = start("8h", cal, "23T18:00");
    assert_eq!(c.next_due(&[], cal), Some(ts("24T14:00")));
    c.pause(ts("23T19:00"));
    assert_eq!(c.next_due(&[50], cal), None);
    // After a resume, thresholds count from the time already spent (1h of 8h).
    c.resume(cal, ts("24T08:00")).unwrap();
    assert_eq!(c.next_due(&[50], cal), Some(ts("24T11:00")));
}

#[test]
fn status_changes_pause_resume_meet_and_cancel() {
    let cal = ny();
    let lookup = |c: &Clock| c.calendar.as_ref().map(|_| &cal);
    let mut clocks: Vec<Clock> = ClockKind::ALL
        .iter()
        .map(|&k| Clock::start(k, LevelId::new("L1"), d("8h"), Some("c".into()), Some(&cal), ts("23T08:00")).unwrap())
        .collect();
    let pause_on = [Status::PendingCustomer];
    clocks_after_status(&mut clocks, Status::Open, Status::PendingCustomer, &pause_on, lookup, ts("23T10:00")).unwrap();
    assert!(clocks.iter().all(|c| c.state == ClockState::Paused));
    clocks_after_status(&mut clocks, Status::PendingCustomer, Status::Open, &pause_on, lookup, ts("23T12:00")).unwrap();
    assert!(clocks.iter().all(|c| c.state == ClockState::Running && c.due_at == Some(ts("23T18:00"))));
    clocks_after_status(&mut clocks, Status::Open, Status::Resolved, &pause_on, lookup, ts("23T13:00")).unwrap();
    let states: Vec<_> = clocks.iter().map(|c| (c.kind, c.state)).collect();
    assert_eq!(
        states,
        vec![
            (ClockKind::Respond, ClockState::Cancelled),
            (ClockKind::Update, ClockState::Cancelled),
            (ClockKind::Resolve, ClockState::Met)
        ]
    );
}

#[test]
fn clocks_round_trip_through_json() {
    let cal = Some(ny());
    let mut c = start("8h", cal.as_ref(), "23T08:00");
    c.pause(ts("23T09:00"));
    c.fire(c.generation, &[50], cal.as_ref(), ts("23T09:00"));
    let json = serde_json::to_string(&c).unwrap();
    assert!(json.contains(r#""state":"paused""#), "{json}");
    assert_eq!(serde_json::from_str::<Clock>(&json).unwrap(), c);
}

proptest! {
    /// Random pause / resume sequences: while counting, the business time spent plus the
    /// time left is the target, the time left is exactly the business time until `due_at`,
    /// and spent time never goes backwards (and stands still while paused).
    #[test]
    fn spent_plus_remaining_is_the_target(
        business in any::<bool>(),
        target_min in 1i64..(5 * 24 * 60),
        steps in prop::collection::vec((1i64..(3 * 24 * 60), any::<bool>()), 1..12),
        start_offset in 0i64..(7 * 24 * 60),
    ) {
        let cal = ny();
        let cal = business.then_some(&cal);
        let target = SignedDuration::from_mins(target_min);
        let mut now = ts("23T00:00").checked_add(SignedDuration::from_mins(start_offset)).unwrap();
        let name = cal.map(|_| "c".to_string());
        let mut c = Clock::start(ClockKind::Resolve, LevelId::new("L1"), target, name, cal, now).unwrap();
        let mut last_spent = SignedDuration::ZERO;
        for (delta, toggle) in steps {
            let was_paused = c.state == ClockState::Paused;
            now = now.checked_add(SignedDuration::from_mins(delta)).unwrap();
            let spent = c.spent(cal, now);
            prop_assert!(spent >= last_spent);
            if was_paused {
                prop_assert_eq!(spent, last_spent);
            }
            if toggle {
                if was_paused { c.resume(cal, now).unwrap() } else { c.pause(now) }
            }
            let spent = c.spent(cal, now);
            last_spent = spent;
            if c.state.is_counting() {
                let remaining = c.remaining(cal, now);
                prop_assert_eq!(spent + remaining, c.target);
                let due = c.due_at.unwrap();
                if remaining >= SignedDuration::ZERO {
                    let to_due = match cal { Some(b) => b.between(now, due), None => due.duration_since(now) };
                    prop_assert_eq!(to_due, remaining);
                    prop_assert_eq!(c.spent(cal, due), c.target);
                }
            }
        }
    }
}

#[test]
fn a_breach_is_not_retracted_nor_refired_when_the_target_grows() {
    let cal = Some(ny());
    let cal = cal.as_ref();
    let mut c = start("2h", cal, "23T08:00");
    assert_eq!(c.fire(c.generation, &[], cal, ts("23T10:00")), vec![ClockFiring::Breach { due_at: ts("23T10:00") }]);
    c.reevaluate(d("8h"), Some("c".into()), cal, ts("23T11:00")).unwrap();
    assert_eq!(c.state, ClockState::Breached);
    assert_eq!(c.due_at, Some(ts("23T16:00")));
    assert_eq!(c.remaining(cal, ts("23T11:00")), d("5h"));
    assert_eq!(c.next_due(&[], cal), None);
    assert!(c.fire(c.generation, &[], cal, ts("23T16:00")).is_empty());
    assert_eq!(c.revisions, vec![(ts("23T11:00"), d("2h"))]);
}

#[test]
fn a_clock_counts_until_its_calendar_closes_then_is_paused_until_the_next_opening() {
    let cal = ny();
    let clock = start("8h", Some(&cal), "20T10:00");
    // Friday 19:00: counting until the window closes at 20:00.
    assert_eq!(clock.ticking(Some(&cal), ts("20T19:00")), Ticking::Counting { until: Some(ts("20T20:00")) });
    // Friday 21:00: out of hours until Monday 08:00.
    assert_eq!(clock.ticking(Some(&cal), ts("20T21:00")), Ticking::OutOfHours { until: Some(ts("23T08:00")) });
    // The closing instant itself is already closed; the opening instant is open.
    assert_eq!(clock.ticking(Some(&cal), ts("20T20:00")), Ticking::OutOfHours { until: Some(ts("23T08:00")) });
    assert_eq!(clock.ticking(Some(&cal), ts("23T08:00")), Ticking::Counting { until: Some(ts("23T20:00")) });
    // Wednesday evening before Thanksgiving: the two holidays and the weekend pass first.
    assert_eq!(clock.ticking(Some(&cal), ts("25T20:30")), Ticking::OutOfHours { until: Some(ts("30T08:00")) });
    assert!(!clock.ticking(Some(&cal), ts("25T20:30")).is_counting());
}

#[test]
fn a_clock_without_business_hours_counts_on_and_a_stopped_or_paused_one_does_not() {
    let clock = start("4h", None, "20T10:00");
    assert_eq!(clock.ticking(None, ts("22T03:00")), Ticking::Counting { until: None });
    // A calendar open around the clock counts on beyond the run the countdown follows.
    let always =
        BusinessCalendar::new(&calendar("timezone = \"America/New_York\"\nhours = { daily = \"00:00-24:00\" }"))
            .unwrap();
    assert_eq!(clock.ticking(Some(&always), ts("22T03:00")), Ticking::Counting { until: None });
    assert_eq!(always.open_until(ts("22T03:00")), None);

    let cal = ny();
    let mut paused = start("8h", Some(&cal), "20T10:00");
    paused.pause(ts("20T11:00"));
    assert_eq!(paused.ticking(Some(&cal), ts("20T12:00")), Ticking::Paused);
    let mut met = start("8h", Some(&cal), "20T10:00");
    met.meet(ts("20T11:00"));
    assert_eq!(met.ticking(Some(&cal), ts("20T12:00")), Ticking::Stopped);
    assert_eq!(cal.open_until(ts("21T12:00")), None, "closed on a Saturday");
}
