//! The one page frame of the console, its role-aware navigation, and small view helpers.

use axum::http::StatusCode;
use ladder_core::access::Action;
use ladder_core::articles::ArticleStatus;
use maud::{DOCTYPE, Markup, html};

use super::session::{CSRF_FIELD, Session};
use crate::dto::ClockDto;

/// A top-level page in the navigation.
pub struct NavEntry {
    pub path: &'static str,
    pub label: &'static str,
    /// The lowest role that sees (and may open) the page.
    /// What the page does: the entry shows when the user may do it (`core::access`).
    pub action: Action<'static>,
}

/// The navigation, in order: a new page adds its entry here, with the `Action` that opens it.
pub const NAV: &[NavEntry] = &[
    NavEntry { path: "/queue", label: "My queue", action: Action::ListCases },
    NavEntry { path: "/macros", label: "Macros", action: Action::ListCases },
    NavEntry { path: "/articles", label: "Articles", action: Action::ReadArticle { status: ArticleStatus::Published } },
    NavEntry { path: "/schedules", label: "On call", action: Action::ReadSchedules },
    NavEntry { path: "/board", label: "Board", action: Action::Supervise },
    NavEntry { path: "/approvals", label: "Approvals", action: Action::ApprovalsInbox },
    NavEntry { path: "/dashboard", label: "Dashboard", action: Action::ReadAllMetrics },
    NavEntry { path: "/matrix", label: "Matrix", action: Action::ReadMatrixDrafts },
    NavEntry { path: "/admin", label: "Admin", action: Action::ManageUsers },
];

/// A full page: skip link, header with navigation and sign-out, the flash message, `main`.
/// `current` is the navigation path to mark as the current page.
pub fn page(session: &Session, title: &str, current: &str, main: Markup) -> Markup {
    let p = &session.principal;
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body data-time-zone=[session.time_zone.as_deref()] {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/queue" { "Ladder" }
                    nav aria-label="Main" {
                        ul {
                            @for entry in NAV.iter().filter(|e| p.allows(&e.action).is_ok()) {
                                li {
                                    @if entry.path == current {
                                        a href=(entry.path) aria-current="page" { (entry.label) (nav_count(session, entry)) }
                                    } @else {
                                        a href=(entry.path) { (entry.label) (nav_count(session, entry)) }
                                    }
                                }
                            }
                        }
                    }
                    (super::search::search_box(""))
                    div.who {
                        span {
                            @if current == "/profile" {
                                a href="/profile" aria-current="page" title="Your profile" { (p.name) }
                            } @else {
                                a href="/profile" title="Your profile" { (p.name) }
                            }
                            " · " span.role { (p.role.as_str()) }
                        }
                        form method="post" action="/logout" {
                            (csrf_field(session))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    @if let Some(flash) = &session.flash {
                        @if flash.ok {
                            p.flash.ok role="status" { (flash.message) }
                        } @else {
                            p.flash.error role="alert" { (flash.message) }
                        }
                    }
                    (main)
                }
                (super::shortcuts::help())
                script src="/assets/console.js" defer {}
                script src="/assets/nav.js" defer {}
                script src="/assets/clocks.js" defer {}
                script src="/assets/live.js" defer {}
            }
        }
    }
}

/// The count beside a navigation entry: the approvals waiting for the user's decision.
fn nav_count(session: &Session, entry: &NavEntry) -> Markup {
    match session.pending_approvals {
        Some(n) if n > 0 && entry.path == "/approvals" => {
            let shown = if n > super::session::PENDING_SHOWN as usize {
                format!("{}+", super::session::PENDING_SHOWN)
            } else {
                n.to_string()
            };
            html! { " " span.nav-count #pending-approvals aria-label=(format!("{shown} waiting")) { (shown) } }
        }
        _ => html! {},
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Ladder" }
            link rel="stylesheet" href="/assets/console.css";
            link rel="stylesheet" href="/assets/nav.css";
        }
    }
}

/// A page outside a session (the login page, error pages).
pub fn bare(title: &str, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top { a.brand href="/" { "Ladder" } }
                main #main tabindex="-1" { (main) }
            }
        }
    }
}

/// The page for a refused or failed request.
pub fn error_page(status: StatusCode, title: &str, detail: &str) -> Markup {
    bare(
        title,
        html! {
            section.problem aria-labelledby="problem-title" {
                h1 #problem-title { (title) }
                p.status { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                p { (detail) }
                p { a href="/queue" { "Back to my queue" } }
            }
        },
    )
}

/// The hidden field every console form carries.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf()); }
}

/// `1h 05m`, `3d 2h`, `45s`.
pub fn duration_text(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

/// An amount with its currency's ISO 4217 code, in thousands: `1,250.50 EUR`, `-30.00 USD`.
pub fn money(amount: f64, currency: &str) -> String {
    let fixed = format!("{:.2}", amount.abs());
    let (whole, cents) = fixed.split_once('.').unwrap_or((&fixed, "00"));
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount < 0.0 && fixed != "0.00" { "-" } else { "" };
    format!("{sign}{grouped}.{cents} {currency}")
}

pub use super::clocks::{countdown, time};

/// The clock that matters most for a list: the live one due soonest.
pub fn next_clock(clocks: &[ClockDto]) -> Option<&ClockDto> {
    clocks
        .iter()
        .filter(|c| matches!(c.state.as_str(), "running" | "at_risk" | "breached" | "paused"))
        .min_by_key(|c| c.remaining_seconds)
}

/// A small labelled badge, coloured by its value (`priority-urgent`, `status-open` …).
pub fn badge(kind: &str, value: &str) -> Markup {
    html! { span class=(format!("badge {kind}-{value}")) { (value.replace('_', " ")) } }
}

/// Text with line breaks kept.
pub fn paragraphs(text: &str) -> Markup {
    html! {
        @for line in text.lines() { (line) br; }
    }
}

#[cfg(test)]
mod tests {
    use super::{duration_text, money};

    #[test]
    fn amounts_carry_their_currency() {
        for (amount, text) in [
            (0.0, "0.00 EUR"),
            (12.5, "12.50 EUR"),
            (1250.0, "1,250.00 EUR"),
            (-30.0, "-30.00 EUR"),
            (1_234_567.891, "1,234,567.89 EUR"),
        ] {
            assert_eq!(money(amount, "EUR"), text, "{amount}");
        }
    }

    #[test]
    fn durations_read_well() {
        for (secs, text) in [(45, "45s"), (60, "1m"), (3900, "1h 05m"), (-3900, "1h 05m"), (90_000, "1d 1h")] {
            assert_eq!(duration_text(secs), text, "{secs}");
        }
    }
}
