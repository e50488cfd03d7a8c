//! iCalendar (RFC 5545) output for the on-call feeds: one `VEVENT` per shift, times in UTC,
//! a UID derived from what the shift is (so a calendar app updates rather than duplicates it
//! on each refresh), text escaped (section 3.3.11) and lines folded at 75 octets (3.1).

use jiff::Timestamp;
use sha2::{Digest, Sha256};

/// One event of a calendar.
pub struct Event<'a> {
    /// What the UID is derived from: equal keys, equal UIDs.
    pub key: &'a str,
    pub start: Timestamp,
    pub end: Timestamp,
    pub summary: &'a str,
    pub description: &'a str,
}

/// A whole `VCALENDAR` named `name`, stamped `now`, with CRLF line ends.
pub fn calendar(name: &str, now: Timestamp, events: &[Event]) -> String {
    let mut out = String::new();
    for line in ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Ladder//On-call schedules//EN", "CALSCALE:GREGORIAN"] {
        push_line(&mut out, line);
    }
    push_line(&mut out, "METHOD:PUBLISH");
    push_line(&mut out, &format!("X-WR-CALNAME:{}", escape_text(name)));
    let stamp = utc(now);
    for e in events {
        push_line(&mut out, "BEGIN:VEVENT");
        push_line(&mut out, &format!("UID:{}@ladder", uid(e.key)));
        push_line(&mut out, &format!("DTSTAMP:{stamp}"));
        push_line(&mut out, &format!("DTSTART:{}", utc(e.start)));
        push_line(&mut out, &format!("DTEND:{}", utc(e.end)));
        push_line(&mut out, &format!("SUMMARY:{}", escape_text(e.summary)));
        push_line(&mut out, &format!("DESCRIPTION:{}", escape_text(e.description)));
        push_line(&mut out, "TRANSP:TRANSPARENT");
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

/// A UTC date-time as RFC 5545 writes it: `20260105T090000Z` (whole seconds).
pub fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

fn uid(key: &str) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..16])
}

/// TEXT escaped: backslash, semicolon and comma with a backslash, a line break as `\n`;
/// other control characters (which TEXT may not hold) are dropped.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` folded so no physical line exceeds 75 octets (a continuation starts with
/// one space, which counts), never inside a UTF-8 character, and ends it with CRLF.
pub fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_as_rfc_5545_says() {
        assert_eq!(escape_text(r"a\b"), r"a\\b");
        assert_eq!(escape_text("on call; primary, then backup"), r"on call\; primary\, then backup");
        assert_eq!(escape_text("line one\nline two\r\nthree"), r"line one\nline two\nthree");
        assert_eq!(escape_text("bell\u{7}gone"), "bellgone");
        assert_eq!(escape_text("Zoë: “quoted”"), "Zoë: “quoted”");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let mut out = String::new();
        let long = format!("SUMMARY:{}", "é".repeat(100));
        push_line(&mut out, &long);
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines.last(), Some(&""), "ends with CRLF");
        for (i, l) in lines[..lines.len() - 1].iter().enumerate() {
            assert!(l.len() <= 75, "line {i} is {} octets", l.len());
            assert_eq!(i > 0, l.starts_with(' '), "continuations start with a space");
        }
        // Unfolding (remove CRLF + space) gives the line back.
        assert_eq!(out.trim_end_matches("\r\n").replace("\r\n ", ""), long);
        let mut short = String::new();
        push_line(&mut short, "BEGIN:VEVENT");
        assert_eq!(short, "BEGIN:VEVENT\r\n");
        let mut exact = String::new();
        push_line(&mut exact, &"x".repeat(75));
        assert_eq!(exact.matches("\r\n").count(), 1, "75 octets need no fold");
    }

    #[test]
    fn a_calendar_has_utc_times_and_stable_uids() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let event = Event {
            key: "schedule/ana/2026-01-05T09:00:00Z",
            start: t("2026-01-05T09:00:00Z"),
            end: t("2026-01-12T09:00:00.5Z"),
            summary: "On call: ana",
            description: "Primary, layer day",
        };
        let cal = calendar("Primary, ops", t("2026-01-01T00:00:00Z"), &[event]);
        assert!(cal.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"), "{cal}");
        assert!(cal.contains("\r\nDTSTART:20260105T090000Z\r\nDTEND:20260112T090000Z\r\n"), "{cal}");
        assert!(cal.contains("X-WR-CALNAME:Primary\\, ops\r\n"), "{cal}");
        assert!(cal.ends_with("END:VCALENDAR\r\n"));
        let again = calendar(
            "Primary, ops",
            t("2026-02-01T00:00:00Z"),
            &[Event {
                key: "schedule/ana/2026-01-05T09:00:00Z",
                start: t("2026-01-05T09:00:00Z"),
                end: t("2026-01-12T09:00:00Z"),
                summary: "x",
                description: "y",
            }],
        );
        let uid = |c: &str| c.lines().find(|l| l.starts_with("UID:")).unwrap().to_string();
        assert_eq!(uid(&cal), uid(&again));
    }
}
