//! Wire types of the API. They convert to and from domain types explicitly, so a change
//! in the domain is never silently a change of the API.
//!
//! # Layout
//! - [`case`]: a case, its clocks, history and messages as the API shows them.
//! - [`commands`]: the request bodies of case commands.
//! - [`directory`]: customers, teams, users, tokens and sign-in.
//! - [`approvals`]: approval requests and granted actions.
//! - [`macros`]: canned replies.
//! - [`articles`]: knowledge articles and the suggestions for a case.

mod approvals;
mod articles;
mod case;
mod commands;
mod directory;
mod macros;

pub use approvals::*;
pub use articles::*;
pub use case::*;
pub use commands::*;
pub use directory::*;
pub use macros::*;
