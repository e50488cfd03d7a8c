//! Wire types of the API where the wire differs from the domain (names of references,
//! figures at `now`, internals hidden); they convert explicitly. Where the wire shape is
//! the domain shape, the core type is the wire type (`ToSchema` under core's `schema`
//! feature) and no copy of it lives here.
//!
//! # Layout
//! - [`case`]: a case, its clocks, history and messages as the API shows them.
//! - [`commands`]: the request bodies of case commands.
//! - [`directory`]: customers, teams, users, tokens and sign-in.
//! - [`approvals`]: approval requests and granted actions.
//! - [`macros`]: canned replies.
//! - [`articles`]: knowledge articles and the suggestions for a case.
//! - [`services`]: monitored services and their integration keys.
//! - [`incidents`]: IT incidents (cases of kind `incident`).

mod approvals;
mod articles;
mod case;
mod commands;
mod directory;
mod incidents;
mod macros;
mod schedules;
mod services;

pub use approvals::*;
pub use articles::*;
pub use case::*;
pub use commands::*;
pub use directory::*;
pub use incidents::*;
pub use macros::*;
pub use schedules::*;
pub use services::*;
