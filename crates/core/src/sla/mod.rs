//! Service-level clocks. For now the part every clock stands on: business-time arithmetic
//! over a matrix [`Calendar`](crate::matrix::Calendar) — when a target counted in business
//! hours falls due, and how much business time lies between two instants. Pure like the
//! rest of the crate: every instant comes in as an argument.
//!
//! - [`business_time`]: [`BusinessCalendar`] (a calendar with its time zone resolved once,
//!   for hot paths) and the one-shot free functions [`add_business_time`],
//!   [`business_time_between`], [`is_open`] and [`next_open`].
//! - [`clock`]: [`Clock`], the pure state of one respond / update / resolve clock (start,
//!   pause, resume, re-evaluation, warnings, breach, met, cancelled) with generations so a
//!   stale timer fires nothing; [`clocks_after_status`] applies a case status change;
//!   [`Ticking`] says whether a clock counts now or is paused until an instant.
//! - [`policy`]: [`SlaPolicy`] (a matrix's targets, calendars and `[sla]` settings) and the
//!   clock events a case change ([`reconcile`]) or a timer ([`fire`]) produces;
//!   [`clock_events`] and [`fire_recorded`] record them as the clocks (actor [`SLA_ACTOR`])
//!   after a write's events, as every write and the timer engine append them.

pub mod business_time;
pub mod clock;
pub mod policy;

pub use business_time::{
    BusinessCalendar, OpenInterval, OpenIntervals, SEARCH_LIMIT_DAYS, SlaError, add_business_time,
    business_time_between, is_open, next_open,
};
pub use clock::{Clock, ClockFiring, ClockKind, ClockState, Ticking, apply_clock_event, clocks_after_status};
pub use policy::{SLA_ACTOR, SlaPolicy, clock_events, fire, fire_recorded, reconcile, standing};
