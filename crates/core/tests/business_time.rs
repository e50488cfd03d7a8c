//! Business-time arithmetic (`ladder_core::sla`) on fixed instants: no clock reads, no
//! sleeps. Each case is data — a calendar, a start, a target and the expected deadline —
//! checked by [`check`], which also measures the business time back from the deadline.
//!
//! Dates used: 2026-11-23 is a Monday; 2026-11-26 is Thanksgiving. DST in 2026: New York
//! springs forward on Sunday 8 March and falls back on Sunday 1 November; Berlin on Sunday
//! 29 March and Sunday 25 October.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use ladder_core::matrix::model::{parse_duration, parse_window};
use ladder_core::matrix::{self, Calendar, WeeklyHours};
use ladder_core::sla::{self, BusinessCalendar, SlaError};
use ladder_testkit::ts;
use proptest::prelude::*;

/// A calendar from the body of a `[calendars.c]` table.
fn calendar(body: &str) -> Calendar {
    let source = format!("[calendars.c]\n{body}\n");
    let (m, _) = matrix::parse(&source, "test.toml").unwrap_or_else(|d| panic!("{body}: {d:?}"));
    m.calendars["c"].clone()
}

/// `from + duration` in `calendar`'s business time must be `expected`, through the free
/// function and a cached [`BusinessCalendar`] alike, and measuring back must give `duration`.
fn check(calendar: &Calendar, from: &str, duration: &str, expected: &str) {
    let (from, expected) = (ts(from), ts(expected));
    let d = parse_duration(duration).unwrap();
    let got = sla::add_business_time(calendar, from, d).unwrap();
    assert_eq!(got, expected, "{from} + {duration}: got {got}, expected {expected}");
    let cached = BusinessCalendar::new(calendar).unwrap();
    assert_eq!(cached.add(from, d).unwrap(), expected);
    assert_eq!(sla::business_time_between(calendar, from, got), d, "{from} → {got}");
}

fn check_all(calendar: &Calendar, cases: &[(&str, &str, &str)]) {
    for (from, duration, expected) in cases {
        check(calendar, from, duration, expected);
    }
}

const SUPPORT: &str = r#"
timezone = "America/New_York"
hours = { "mon-fri" = "08:00-20:00", sat = "09:00-13:00" }
holidays = ["2026-11-26", "2026-12-25"]
overrides = { "2026-12-24" = "08:00-13:00", "2026-12-26" = "closed", "2026-11-29" = "10:00-12:00" }
"#;

const WEEKDAYS_NY: &str = r#"
timezone = "America/New_York"
hours = { "mon-fri" = "08:00-20:00" }
"#;

const WEEKDAYS_BERLIN: &str = r#"
timezone = "Europe/Berlin"
hours = { "mon-fri" = "08:00-20:00" }
"#;

#[test]
fn starting_inside_and_outside_hours() {
    check_all(
        &calendar(WEEKDAYS_NY),
        &[
            // Inside a window: straight through.
            ("2026-11-23T10:00:00-05:00", "8h", "2026-11-23T18:00:00-05:00"),
            // Before opening: the clock starts at 08:00.
            ("2026-11-23T06:00:00-05:00", "8h", "2026-11-23T16:00:00-05:00"),
            // After closing: the next morning.
            ("2026-11-23T21:30:00-05:00", "8h", "2026-11-24T16:00:00-05:00"),
            // Exactly a window's worth ends at its closing instant, not the next opening.
            ("2026-11-23T08:00:00-05:00", "12h", "2026-11-23T20:00:00-05:00"),
            ("2026-11-23T08:00:00-05:00", "12h1m", "2026-11-24T08:01:00-05:00"),
            // Five business days.
            ("2026-11-16T08:00:00-05:00", "60h", "2026-11-20T20:00:00-05:00"),
        ],
    );
}

#[test]
fn weekend_crossing() {
    check_all(
        &calendar(WEEKDAYS_NY),
        &[
            // Friday 17:00: 3h on Friday, 5h on Monday.
            ("2026-11-20T17:00:00-05:00", "8h", "2026-11-23T13:00:00-05:00"),
            // Starting on Saturday counts from Monday's opening.
            ("2026-11-21T12:00:00-05:00", "8h", "2026-11-23T16:00:00-05:00"),
        ],
    );
    // With Saturday hours, Saturday morning counts.
    check(&calendar(SUPPORT), "2026-11-20T17:00:00-05:00", "8h", "2026-11-23T09:00:00-05:00");
}

#[test]
fn holiday_crossing() {
    check_all(
        &calendar(SUPPORT),
        &[
            // Wednesday 17:00: 3h, Thanksgiving closed, Friday 08:00 + 5h.
            ("2026-11-25T17:00:00-05:00", "8h", "2026-11-27T13:00:00-05:00"),
            // Starting on the holiday itself.
            ("2026-11-26T10:00:00-05:00", "1h", "2026-11-27T09:00:00-05:00"),
        ],
    );
}

#[test]
fn override_days() {
    check_all(
        &calendar(SUPPORT),
        &[
            // Christmas Eve closes at 13:00; Christmas is a holiday; Saturday 26 is
            // overridden closed; Monday 08:00 + 5h.
            ("2026-12-24T10:00:00-05:00", "8h", "2026-12-28T13:00:00-05:00"),
            // An override opens a Sunday for two hours: Saturday 09-13 (4h), Sunday 10-12 (2h).
            ("2026-11-28T09:00:00-05:00", "7h", "2026-11-30T09:00:00-05:00"),
            ("2026-11-29T11:00:00-05:00", "1h", "2026-11-29T12:00:00-05:00"),
        ],
    );
    // An override on a holiday wins over the holiday.
    let c = calendar(&format!(
        "{WEEKDAYS_NY}holidays = [\"2026-11-26\"]\noverrides = {{ \"2026-11-26\" = \"09:00-10:00\" }}"
    ));
    check(&c, "2026-11-25T19:00:00-05:00", "2h", "2026-11-26T10:00:00-05:00");
}

#[test]
fn overnight_windows() {
    let night = calendar(
        r#"
timezone = "Europe/Berlin"
hours = { "mon-fri" = "22:00-06:00" }
holidays = ["2026-11-25"]
"#,
    );
    check_all(
        &night,
        &[
            // Monday 23:00: 7h to Tuesday 06:00, then Tuesday 22:00 + 1h.
            ("2026-11-23T23:00:00+01:00", "8h", "2026-11-24T23:00:00+01:00"),
            // Tuesday 03:00 is inside Monday's window (a window belongs to the day it starts).
            ("2026-11-24T03:00:00+01:00", "3h", "2026-11-24T06:00:00+01:00"),
            // Wednesday is a holiday: its 22:00 window never opens, but Tuesday's window
            // runs into Wednesday morning; the next is Thursday 22:00.
            ("2026-11-25T03:00:00+01:00", "4h", "2026-11-26T23:00:00+01:00"),
            // Friday's window runs into Saturday; Saturday and Sunday have none.
            ("2026-11-28T05:00:00+01:00", "2h", "2026-11-30T23:00:00+01:00"),
            // A Monday 01:00 start: Sunday has no window, so nothing is open until 22:00.
            ("2026-11-30T01:00:00+01:00", "1h", "2026-11-30T23:00:00+01:00"),
        ],
    );
}

#[test]
fn split_windows() {
    let back_office = calendar(
        r#"
timezone = "America/New_York"
hours = { "mon-fri" = ["09:00-12:30", "13:30-17:30"] }
"#,
    );
    check_all(
        &back_office,
        &[
            // 1.5h before lunch, 0.5h after.
            ("2026-11-23T11:00:00-05:00", "2h", "2026-11-23T14:00:00-05:00"),
            // Starting at lunch waits for 13:30.
            ("2026-11-23T12:45:00-05:00", "1h", "2026-11-23T14:30:00-05:00"),
            // A morning's worth ends at 12:30, not at 13:30.
            ("2026-11-23T09:00:00-05:00", "3h30m", "2026-11-23T12:30:00-05:00"),
            // A full day is 7.5h; 16h from Monday 09:00 is Wednesday 10:00.
            ("2026-11-23T09:00:00-05:00", "16h", "2026-11-25T10:00:00-05:00"),
        ],
    );
}

#[test]
fn dst_new_york() {
    let weekdays = calendar(WEEKDAYS_NY);
    check_all(
        &weekdays,
        &[
            // 8h from the Friday before each DST weekend: Monday's 08:00 is local time.
            ("2026-03-06T17:00:00-05:00", "8h", "2026-03-09T13:00:00-04:00"),
            ("2026-10-30T17:00:00-04:00", "8h", "2026-11-02T13:00:00-05:00"),
        ],
    );
    let always = calendar("timezone = \"America/New_York\"\nhours = { daily = \"00:00-24:00\" }");
    check_all(
        &always,
        &[
            // 24x7 counts real elapsed time across both changes.
            ("2026-03-07T12:00:00-05:00", "24h", "2026-03-08T13:00:00-04:00"),
            ("2026-10-31T12:00:00-04:00", "24h", "2026-11-01T11:00:00-05:00"),
            ("2026-03-08T00:00:00-05:00", "23h", "2026-03-09T00:00:00-04:00"),
            ("2026-11-01T00:00:00-04:00", "25h", "2026-11-02T00:00:00-05:00"),
        ],
    );
    // A window spanning the change is the real time between its local ends: 00:00-06:00 is
    // 5 hours on the spring-forward day and 7 on the fall-back day.
    let early = calendar("timezone = \"America/New_York\"\nhours = { daily = \"00:00-06:00\" }");
    check_all(
        &early,
        &[
            ("2026-03-08T00:00:00-05:00", "5h", "2026-03-08T06:00:00-04:00"),
            ("2026-03-08T00:00:00-05:00", "6h", "2026-03-09T01:00:00-04:00"),
            ("2026-11-01T00:00:00-04:00", "7h", "2026-11-01T06:00:00-05:00"),
        ],
    );
    let sunday = calendar("timezone = \"America/New_York\"\nhours = { sun = \"08:00-20:00\" }");
    check(&sunday, "2026-03-08T08:00:00-04:00", "12h", "2026-03-08T20:00:00-04:00");
}

#[test]
fn dst_berlin() {
    check_all(
        &calendar(WEEKDAYS_BERLIN),
        &[
            ("2026-03-27T17:00:00+01:00", "8h", "2026-03-30T13:00:00+02:00"),
            ("2026-10-23T17:00:00+02:00", "8h", "2026-10-26T13:00:00+01:00"),
        ],
    );
    let always = calendar("timezone = \"Europe/Berlin\"\nhours = { daily = \"00:00-24:00\" }");
    check_all(
        &always,
        &[
            ("2026-03-28T12:00:00+01:00", "24h", "2026-03-29T13:00:00+02:00"),
            ("2026-10-24T12:00:00+02:00", "24h", "2026-10-25T11:00:00+01:00"),
        ],
    );
    // An overnight window across the spring change is 7 real hours.
    let night = calendar("timezone = \"Europe/Berlin\"\nhours = { daily = \"22:00-06:00\" }");
    check_all(
        &night,
        &[
            ("2026-03-28T22:00:00+01:00", "7h", "2026-03-29T06:00:00+02:00"),
            ("2026-03-28T22:00:00+01:00", "8h", "2026-03-29T23:00:00+02:00"),
            // … and 9 across the autumn change.
            ("2026-10-24T22:00:00+02:00", "9h", "2026-10-25T06:00:00+01:00"),
        ],
    );
}

#[test]
fn zero_duration() {
    let c = calendar(WEEKDAYS_NY);
    check_all(
        &c,
        &[
            // Inside a window: the start itself.
            ("2026-11-23T10:00:00-05:00", "0m", "2026-11-23T10:00:00-05:00"),
            // At the opening instant: open.
            ("2026-11-23T08:00:00-05:00", "0m", "2026-11-23T08:00:00-05:00"),
            // At the closing instant or outside: the next opening.
            ("2026-11-23T20:00:00-05:00", "0m", "2026-11-24T08:00:00-05:00"),
            ("2026-11-21T10:00:00-05:00", "0m", "2026-11-23T08:00:00-05:00"),
        ],
    );
    assert!(sla::is_open(&c, ts("2026-11-23T08:00:00-05:00")));
    assert!(!sla::is_open(&c, ts("2026-11-23T20:00:00-05:00")));
    assert_eq!(sla::next_open(&c, ts("2026-11-21T10:00:00-05:00")), Some(ts("2026-11-23T08:00:00-05:00")));
}

#[test]
fn a_calendar_without_open_time_is_an_error() {
    let empty = calendar("timezone = \"Europe/Berlin\"");
    let from = ts("2026-11-23T10:00:00Z");
    assert_eq!(sla::add_business_time(&empty, from, SignedDuration::from_hours(8)), Err(SlaError::NoOpenTime(from)));
    assert_eq!(sla::add_business_time(&empty, from, SignedDuration::ZERO), Err(SlaError::NoOpenTime(from)));
    assert_eq!(sla::next_open(&empty, from), None);
    assert_eq!(sla::business_time_between(&empty, from, ts("2027-11-23T10:00:00Z")), SignedDuration::ZERO);
    // Only one override day open: usable until it has passed.
    let once = calendar("timezone = \"UTC\"\noverrides = { \"2026-12-01\" = \"09:00-10:00\" }");
    check(&once, "2026-11-23T10:00:00Z", "1h", "2026-12-01T10:00:00Z");
    assert_eq!(sla::add_business_time(&once, from, SignedDuration::from_mins(61)), Err(SlaError::NoOpenTime(from)));
    // Closed every day by holidays for more than the search limit.
    let mut closed = calendar("timezone = \"UTC\"\nhours = { daily = \"09:00-17:00\" }");
    let start = Date::constant(2026, 1, 1);
    closed.holidays = (0..sla::SEARCH_LIMIT_DAYS as i64 + 10)
        .map(|i| start.checked_add(jiff::Span::new().days(i)).unwrap())
        .collect();
    assert!(matches!(
        sla::add_business_time(&closed, ts("2026-01-01T00:00:00Z"), SignedDuration::from_hours(1)),
        Err(SlaError::NoOpenTime(_))
    ));
}

#[test]
fn business_time_between_measures_open_time() {
    let c = calendar(SUPPORT);
    let between = |a: &str, b: &str| sla::business_time_between(&c, ts(a), ts(b));
    assert_eq!(
        between("2026-11-23T00:00:00-05:00", "2026-11-30T00:00:00-05:00"),
        SignedDuration::from_hours(12 * 4 + 4 + 2)
    );
    assert_eq!(between("2026-11-23T12:00:00-05:00", "2026-11-23T11:00:00-05:00"), SignedDuration::ZERO);
    assert_eq!(between("2026-11-23T12:00:00-05:00", "2026-11-23T12:00:00-05:00"), SignedDuration::ZERO);
    assert_eq!(between("2026-11-23T19:30:00-05:00", "2026-11-24T08:30:00-05:00"), SignedDuration::from_hours(1));
}

// ---------------------------------------------------------------------------------------
// Properties over random calendars, starts and targets.

const ZONES: &[&str] = &["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"];

fn arb_window() -> impl Strategy<Value = matrix::Window> {
    (0u32..96, 1u32..=96).prop_map(|(start, quarters)| {
        let (s, e) = (start * 15, (start * 15 + quarters * 15) % (24 * 60));
        let text = format!("{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, if e == 0 { 24 } else { e / 60 }, e % 60);
        parse_window(&text).unwrap_or_else(|| panic!("{text}"))
    })
}

prop_compose! {
    fn arb_calendar()(
        zone in prop::sample::select(ZONES),
        days in prop::collection::vec(prop::collection::vec(arb_window(), 0..3), 7),
        open_day in 0usize..7,
        open_window in arb_window(),
        holidays in prop::collection::vec(0i64..1200, 0..20),
        overrides in prop::collection::vec((0i64..1200, prop::collection::vec(arb_window(), 0..2)), 0..10),
    ) -> Calendar {
        let mut hours = WeeklyHours::default();
        for (i, windows) in days.into_iter().enumerate() {
            hours.days[i] = windows;
        }
        hours.days[open_day].push(open_window);
        let base = Date::constant(2025, 1, 1);
        let day = |n: i64| base.checked_add(jiff::Span::new().days(n)).unwrap();
        Calendar {
            timezone: zone.to_string(),
            hours,
            holidays: holidays.into_iter().map(day).collect(),
            overrides: overrides.into_iter().map(|(n, w)| (day(n), w)).collect::<BTreeMap<_, _>>(),
        }
    }
}

fn arb_instant() -> impl Strategy<Value = Timestamp> {
    // 2025-01-01 to about 2028-04.
    (1_735_689_600i64..1_835_689_600).prop_map(|s| Timestamp::from_second(s).unwrap())
}

fn arb_duration() -> impl Strategy<Value = SignedDuration> {
    prop_oneof![Just(SignedDuration::ZERO), (1i64..200 * 3600).prop_map(SignedDuration::from_secs)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn measuring_what_was_added_gives_it_back(c in arb_calendar(), from in arb_instant(), d in arb_duration()) {
        let b = BusinessCalendar::new(&c).unwrap();
        let due = b.add(from, d).unwrap();
        prop_assert!(due >= from);
        prop_assert_eq!(b.between(from, due), d);
    }

    #[test]
    fn deadlines_are_monotonic_in_the_target(
        c in arb_calendar(), from in arb_instant(), d1 in arb_duration(), d2 in arb_duration()
    ) {
        let b = BusinessCalendar::new(&c).unwrap();
        let (short, long) = if d1 <= d2 { (d1, d2) } else { (d2, d1) };
        prop_assert!(b.add(from, short).unwrap() <= b.add(from, long).unwrap());
    }

    #[test]
    fn a_deadline_is_inside_or_at_the_end_of_an_open_window(
        c in arb_calendar(), from in arb_instant(), d in arb_duration()
    ) {
        let b = BusinessCalendar::new(&c).unwrap();
        let due = b.add(from, d).unwrap();
        if d.is_zero() {
            prop_assert!(b.is_open(due), "{} is not open", due);
            prop_assert_eq!(b.next_open(from), Some(due));
        } else {
            // Open just before the deadline: the last nanosecond counted was open time.
            let before = due.checked_sub(SignedDuration::from_nanos(1)).unwrap();
            prop_assert!(b.is_open(before), "{} is not open", before);
        }
    }

    #[test]
    fn open_time_is_additive_and_never_exceeds_elapsed_time(
        c in arb_calendar(), a in arb_instant(), gap1 in 0i64..30 * 86_400, gap2 in 0i64..30 * 86_400
    ) {
        let cal = BusinessCalendar::new(&c).unwrap();
        let b = a.checked_add(SignedDuration::from_secs(gap1)).unwrap();
        let end = b.checked_add(SignedDuration::from_secs(gap2)).unwrap();
        let (ab, bc, ac) = (cal.between(a, b), cal.between(b, end), cal.between(a, end));
        prop_assert_eq!(ab + bc, ac);
        prop_assert!(ab <= b.duration_since(a));
        prop_assert!(ac <= end.duration_since(a));
    }

    #[test]
    fn a_24x7_calendar_counts_real_elapsed_time(
        zone in prop::sample::select(ZONES), from in arb_instant(), d in arb_duration()
    ) {
        let c = calendar(&format!("timezone = \"{zone}\"\nhours = {{ daily = \"00:00-24:00\" }}"));
        prop_assert_eq!(sla::add_business_time(&c, from, d).unwrap(), from.checked_add(d).unwrap());
    }
}
