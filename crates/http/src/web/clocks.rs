//! How SLA clocks and instants read in the console: a clock's countdown says whether it is
//! counting, paused by the case, or out of business hours until the calendar opens again
//! ("paused until Mon 30 Nov 08:00 (America/New_York)", in the calendar's zone), and every
//! instant is a `<time>` that `/assets/clocks.js` shows in the user's time zone (their
//! profile's, else the browser's). The pure decision of "counting or paused until" is
//! `ladder_core::sla::Clock::ticking`; the DTO carries its answer.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use maud::{Markup, html};

use super::layout::duration_text;
use crate::dto::ClockDto;

/// `Mon 30 Nov 08:00 (America/New_York)`: an instant in a calendar's zone, named.
pub fn in_zone(at: Timestamp, zone: Option<&str>) -> String {
    match zone.and_then(|z| TimeZone::get(z).ok().map(|tz| (z, tz))) {
        Some((name, tz)) => format!("{} ({name})", at.to_zoned(tz).strftime("%a %-d %b %H:%M")),
        None => format!("{} (UTC)", at.strftime("%a %-d %b %H:%M")),
    }
}

/// What a clock's countdown says, and the class that colours it.
fn reading(clock: &ClockDto) -> (String, &str) {
    let left = duration_text(clock.remaining_seconds);
    let live = matches!(clock.state.as_str(), "running" | "at_risk" | "breached");
    let standing = if clock.remaining_seconds < 0 && live { "breached" } else { clock.state.as_str() };
    let text = match clock.state.as_str() {
        "met" => "met".to_string(),
        "cancelled" => "cancelled".to_string(),
        "paused" => format!("paused, {left} left"),
        _ if clock.remaining_seconds < 0 => format!("{left} overdue"),
        _ => format!("{left} left"),
    };
    match clock.resumes_at {
        Some(at) if !clock.counting && live => {
            (format!("{text} · paused until {}", in_zone(at, clock.time_zone.as_deref())), standing)
        }
        _ => (text, standing),
    }
}

/// A clock's countdown: business time left (or overdue), its state as a word and a colour.
/// A counting clock ticks in the browser until its calendar closes (`data-until`); out of
/// business hours it says until when it is paused.
pub fn countdown(clock: &ClockDto) -> Markup {
    let (text, standing) = reading(clock);
    let why = if clock.counting {
        "counting".to_string()
    } else if clock.resumes_at.is_some() {
        "out of business hours".to_string()
    } else {
        clock.state.replace('_', " ")
    };
    html! {
        span.countdown.(standing).out-of-hours[clock.resumes_at.is_some() && !clock.counting]
            data-remaining=[clock.counting.then_some(clock.remaining_seconds)]
            data-until=[clock.counting.then_some(clock.counting_until).flatten().map(|t| t.to_string())]
            title=(format!("{} clock at {}: {why}", clock.kind, clock.level)) {
            (text)
        }
    }
}

/// An instant for people, with a machine-readable `datetime`: UTC as served, shown in the
/// user's time zone by `/assets/clocks.js`.
pub fn time(at: Timestamp) -> Markup {
    html! { time datetime=(at.to_string()) { (at.strftime("%Y-%m-%d %H:%M UTC")) } }
}

#[cfg(test)]
mod tests {
    use super::in_zone;

    #[test]
    fn an_instant_reads_in_the_calendars_zone_with_its_name() {
        let at: jiff::Timestamp = "2026-11-30T13:00:00Z".parse().unwrap();
        assert_eq!(in_zone(at, Some("America/New_York")), "Mon 30 Nov 08:00 (America/New_York)");
        assert_eq!(in_zone(at, None), "Mon 30 Nov 13:00 (UTC)");
        assert_eq!(in_zone(at, Some("Nowhere/Else")), "Mon 30 Nov 13:00 (UTC)");
    }
}
