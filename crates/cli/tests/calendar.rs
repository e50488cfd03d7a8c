//! `ladder calendar …` on the contact-center example: fixed instants, no store.

use ladder_testkit::server::Ladder;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

/// The example, relative to the repository root, where `ladder` runs.
const EXAMPLE: &str = "examples/contact-center.toml";

fn ladder(args: &[&str]) -> (bool, String) {
    let out = LADDER.command(args).output().expect("run ladder");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// `ladder calendar add` on the example's `calendar`.
fn add(calendar: &str, from: &str, duration: &str) -> (bool, String) {
    ladder(&["calendar", "add", "--matrix", EXAMPLE, "--calendar", calendar, "--from", from, "--duration", duration])
}

#[test]
fn calendar_add_prints_the_deadline_and_the_windows_crossed() {
    let (ok, out) = add("support", "2026-11-27T17:00:00-05:00", "8h");
    assert!(ok, "{out}");
    assert!(out.contains("deadline  Mon 2026-11-30 09:00:00 -05:00 (America/New_York)"), "{out}");
    assert!(out.contains("Mon 2026-11-30 14:00:00 UTC"), "{out}");
    assert!(out.contains("Fri 2026-11-27 17:00:00 -05:00 – 20:00:00  3h"), "{out}");
    assert!(out.contains("Sat 2026-11-28 09:00:00 -05:00 – 13:00:00  4h"), "{out}");
    assert!(out.contains("Mon 2026-11-30 08:00:00 -05:00 – 09:00:00  1h"), "{out}");

    // A local start in the calendar's zone, across Thanksgiving.
    let (ok, out) = add("support", "2026-11-25T17:00", "8h");
    assert!(ok, "{out}");
    assert!(out.contains("deadline  Fri 2026-11-27 13:00:00 -05:00"), "{out}");

    let (ok, out) = add("suport", "2026-11-25T17:00", "8h");
    assert!(!ok);
    assert!(out.contains("the calendars are: back-office, management, support"), "{out}");
}

#[test]
fn calendar_check_prints_weekly_hours_and_next_holidays() {
    let (ok, out) = ladder(&["calendar", "check", EXAMPLE, "--since", "2026-11-23"]);
    assert!(ok, "{out}");
    assert!(out.contains("calendar support (America/New_York): 64h open a week"), "{out}");
    assert!(out.contains("next holidays from 2026-11-23: Thu 2026-11-26, Fri 2026-12-25"), "{out}");
    assert!(out.contains("calendar back-office (America/New_York): 37h30m open a week"), "{out}");
    assert!(out.contains("3 calendars: 0 errors, 0 warnings"), "{out}");
}

#[test]
fn calendar_check_fails_on_a_calendar_without_hours() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.toml");
    std::fs::write(&file, "[calendars.never]\ntimezone = \"Europe/Berlin\"\n").unwrap();
    let (ok, out) = ladder(&["calendar", "check", file.to_str().unwrap(), "--since", "2026-11-23"]);
    assert!(!ok, "{out}");
    assert!(out.contains("calendar 'never' has no open hours"), "{out}");
    assert!(out.contains("calendar never (Europe/Berlin): 0m open a week"), "{out}");
}
