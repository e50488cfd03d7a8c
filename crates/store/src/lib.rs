//! Ladder's storage: the append-only event log, the projections queries read, and the
//! directory of customers, users, teams and API tokens.
//!
//! # Layout
//! - [`Store`]: the one storage facade the engine and HTTP layers use. It hides the
//!   backend: SQLite (the default, one file) or PostgreSQL (chosen by URL, see [`Location`]).
//! - [`sql`]: one writer thread with group commit, a pool of readers, embedded migrations
//!   per backend, projections and full-text search (FTS5 on SQLite, `tsvector` on
//!   PostgreSQL). Queries are written once through `db`, the common SQL interface.
//!
//! Writes go through [`Store::execute`] (case commands: load, decide, append, project in
//! one transaction) or the directory methods. Every write of every concurrent caller that
//! arrives while a commit is in flight is batched into the next transaction.

mod db;
pub mod sql;
pub use sql::{
    AlertWrite, ApprovalFact, ApprovalKeep, ArticlePage, ArticleQuery, AuditEntry, AuditFilter, CaseHistory, Change,
    Delivery, DeliveryAttempt, DeliveryFilter, DeliveryOutcome, DeliveryResult, FeedTarget, FeedToken, IncidentFilter,
    InsightFacts, Location, MAX_SEARCH_BYTES, MAX_SEARCH_WORDS, MetricsRow, NewIncident, PendingApproval, QueuedCase,
    RuleActivityRow, Store, StoredModel, StoredTemplate, TEST_POSTGRES_URL, TeamGrouping, TrainingCase,
    TransferSummary, redact_url, test_location, test_postgres_location,
};
mod types;

pub use types::*;
