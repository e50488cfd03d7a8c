//! Ladder's domain: cases, their commands and events, the directory of customers, users
//! and teams, and the access policy. Pure: no I/O, no async, no clock reads — the time
//! always comes in as an argument.
//!
//! # Layout
//! - [`ids`]: UUID newtypes.
//! - [`directory`]: customers, users, roles, teams, the ladder of levels.
//! - [`case`]: the case state and [`case::apply`], the fold from events.
//! - [`command`] and [`event`]: what may be asked, what happened.
//! - [`decide`]: the one function that turns a command into events or a refusal; it
//!   dispatches to one file per command under `cmd/` (the command's type and rules).
//! - [`access`]: who may see and do what.
//! - [`agents`]: agents' presence, skills, languages, capacity and load.
//! - [`matrix`]: the escalation matrix as code: parse, lint, evaluate and diff.
//! - [`sla`]: business time and SLA clocks.
//! - [`routing`]: queue priority and the choice of agent for a case.
//! - [`metrics`]: escalation metrics per case and their additive daily aggregate.
//! - [`instant`]: the instants Ladder accepts and keeps (to the microsecond, 1970–9999).
//! - [`limits`]: how much one case may hold (messages, list entries, notes).
//! - [`insights`]: "revise the rules" suggestions from facts about a period.
//! - [`simulate`]: the what-if replay of recorded cases under a candidate matrix.
//! - [`alerts`]: alerts read from the PagerDuty Events API v2 and Alertmanager formats.
//! - [`incident`]: an incident policy's run (page, wait, next step, repeat, acknowledge).
//! - [`oncall`]: on-call schedules (layers, hand-offs, restrictions, overrides): who
//!   answers a page at an instant, the timeline, and the gaps in coverage.

pub mod access;
pub mod agents;
pub mod alerts;
pub mod articles;
pub mod case;
mod cmd;
pub mod command;
pub mod decide;
pub mod directory;
pub mod email;
pub mod error;
pub mod event;
pub mod ids;
pub mod incident;
pub mod incidents;
pub mod insights;
pub mod instant;
pub mod limits;
pub mod macros;
pub mod matrix;
pub mod metrics;
pub mod oncall;
pub mod outbox;
pub mod risk;
pub mod routing;
pub mod sentiment;
pub mod services;
pub mod simulate;
pub mod sla;
pub mod validate;
pub mod words;

pub use case::{Actor, Case, Channel, Priority, Status, Visibility};
pub use decide::{Context, decide, record};
pub use directory::{Ladder, LevelId, Role};
pub use error::DomainError;
pub use event::{CaseEvent, RecordedEvent};
