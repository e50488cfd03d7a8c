//! Ladder's storage: the append-only event log, the projections queries read, and the
//! directory of customers, users, teams and API tokens.
//!
//! # Layout
//! - [`Store`]: the one storage facade the engine and HTTP layers use. It hides the
//!   backend; today SQLite ([`sqlite`]), PostgreSQL next behind the same methods.
//! - [`sqlite`]: one writer thread with group commit, a pool of WAL readers, embedded
//!   migrations, projections and FTS5 search.
//!
//! Writes go through [`Store::execute`] (case commands: load, decide, append, project in
//! one transaction) or the directory methods. Every write of every concurrent caller that
//! arrives while a commit is in flight is batched into the next transaction.

pub mod sqlite;
pub use sqlite::{
    ApprovalFact, CaseHistory, InsightFacts, MetricsRow, PendingApproval, QueuedCase, RuleActivityRow, Store,
    TeamGrouping,
};
mod types;

pub use types::*;
