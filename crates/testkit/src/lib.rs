//! Ladder's shared test fixtures. Only ever a dev-dependency: the tests of every crate take
//! their worlds from here instead of each keeping a copy.
//!
//! # Layout
//!
//! - [`ts`] and [`period_around_today`]: instants as the tests write them.
//! - [`domain`]: a small directory as resolved references (`TeamRef`, `UserRef`) with fixed
//!   ids, for tests of `decide` that need no store.
//! - [`directory`]: directory entities (`Team`, `User`, `Customer`) with plain defaults.
//! - [`matrix`]: the contact-center example matrix, and the small matrices several tests
//!   share.
//! - [`store`] (feature `store`): a fresh store on the test backend
//!   ([`ladder_store::test_location`]), and case commands as store writes.
//! - [`engine`] (feature `engine`): an engine on a fresh store, the store kept for the test;
//!   teams, users and matrices put in place through them.
//! - [`server`] (feature `server`): the real `ladder` binary, named by the caller: data
//!   directories on the test backend, `ladder admin`, the seeded world with a token per user
//!   of every role, and `ladder serve` on `127.0.0.1:0`.
//! - [`http`] (feature `server`): the API client (bearer tokens, JSON or problem+json) and the
//!   console client (forms, cookies, redirects not followed).
//! - [`browser`] (feature `server`): the playwright walks in Debian's Chromium.
//! - [`smtp`] (feature `server`): a local SMTP sink that keeps what the server sends.

use jiff::Timestamp;

#[cfg(feature = "server")]
pub mod browser;
pub mod directory;
pub mod domain;
#[cfg(feature = "engine")]
pub mod engine;
#[cfg(feature = "server")]
pub mod http;
pub mod matrix;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod smtp;
#[cfg(feature = "store")]
pub mod store;

/// An instant written as RFC 3339 (`2026-11-23T10:00:00-05:00`).
pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Yesterday and tomorrow (UTC) as `YYYY-MM-DD`: a period that holds the cases a test just
/// wrote, even when it runs around midnight.
pub fn period_around_today() -> (String, String) {
    let today = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC).date();
    (today.yesterday().unwrap().to_string(), today.tomorrow().unwrap().to_string())
}
