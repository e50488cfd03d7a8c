//! The store's vocabulary: what it is asked and what it answers.

use jiff::Timestamp;
use ladder_core::access::CaseScope;
use ladder_core::case::{Case, Channel, Priority, Status};
use ladder_core::directory::{Customer, LevelId, User};
use ladder_core::event::RecordedEvent;
use ladder_core::ids::{CaseId, CustomerId, TeamId, UserId};
use ladder_core::{DomainError, Ladder};
use serde::{Deserialize, Serialize};

/// Why a store call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The domain refused the command.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The caller may not do this; the text says why.
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    /// Optimistic concurrency: the case moved on since the caller read it.
    #[error("the case is at version {actual}, not {expected}")]
    VersionConflict { expected: u64, actual: u64 },
    /// A unique value is already taken (a team slug, a user name, a customer's email …).
    #[error("{0}")]
    Duplicate(String),
    /// The entity is still referenced and cannot be removed.
    #[error("{0}")]
    InUse(String),
    /// The Idempotency-Key was used before with a different request.
    #[error("the Idempotency-Key was already used for a different request")]
    IdempotencyMismatch,
    /// The server is at capacity for this kind of work (readers, password hashing); the
    /// caller may retry after `retry_after`.
    #[error("the server is busy: {what}")]
    Busy { what: String, retry_after: std::time::Duration },
    /// The database refuses writes (read-only, or the disk or its size limit is full);
    /// reads still work. The message says which, for the operator and the client.
    #[error("{0}")]
    WritesUnavailable(String),
    /// Storage failed; the message is for the log, not for the client.
    #[error("storage error: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        crate::db::DbError::from(e).into()
    }
}

/// What a client and the log are told when the database refuses writes as read-only.
pub(crate) const READ_ONLY: &str =
    "the database is read-only (check the data directory's permissions and mount); reads still work";
/// … and when its disk, or its size limit, is full.
pub(crate) const DISK_FULL: &str =
    "the database's disk (or its size limit) is full; free space, then retry; reads still work";

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Internal(format!("json: {e}"))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A retry-safe write: the same `(scope, key)` with the same fingerprint gets the first answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// Whose key it is (the caller's user id), so keys of different callers never collide.
    pub scope: String,
    pub key: String,
    /// A digest of the request (method, path, body): a reused key with another request is refused.
    pub fingerprint: String,
}

/// Decides a command against the case as the store has it (or `None`), given the next
/// case number. Runs inside the write transaction, so check-then-append is atomic.
pub type Decider = Box<dyn FnOnce(Option<&Case>, u64) -> StoreResult<Decided> + Send>;

/// What a decider decided: the events to append, and the matrix triggers they raised with
/// the rules that fired (counted per day in `rule_activity` with the write).
#[derive(Debug, Clone, Default)]
pub struct Decided {
    pub events: Vec<RecordedEvent>,
    pub triggers: Vec<ladder_core::matrix::TriggerFired>,
}

impl From<Vec<RecordedEvent>> for Decided {
    fn from(events: Vec<RecordedEvent>) -> Self {
        Decided { events, triggers: Vec::new() }
    }
}

/// Decides what to do with the case taken from a queue, given its customer. Runs inside
/// the write transaction.
pub type ClaimDecider = Box<dyn FnOnce(&Case, Option<&Customer>) -> StoreResult<Decided> + Send>;

/// A command for one case.
pub struct CaseWrite {
    pub case_id: CaseId,
    /// `If-Match`: refuse unless the case is at exactly this version (0 = does not exist yet).
    pub expected_version: Option<u64>,
    pub idempotency: Option<Idempotency>,
    pub decide: Decider,
}

/// The customer a case is opened for when the opener names a requester, not a customer:
/// inside the case's write the store finds the customer holding any of the candidate's
/// identities (in their order) or creates the candidate, recording `audit` (its action and
/// target are set there). A matched customer gains the candidate's identities nobody holds.
pub struct RequesterWrite {
    /// A new customer (fresh id) carrying the requester's identities, normalised.
    pub candidate: Customer,
    pub audit: crate::AuditEntry,
}

/// Makes the case write's decider once the requester's customer is known.
pub type RequesterDecider = Box<dyn FnOnce(&Customer) -> Decider + Send>;

/// An inbound email kept with the case write that takes it in: its Message-ID (threading
/// later replies; a second delivery of the same message is refused as a duplicate) and its
/// attachments.
#[derive(Debug, Clone)]
pub struct MailRecord {
    pub message_id: String,
    /// A conversation's or call's key that later contacts find the case by, kept beside the
    /// message id in the same write (once: the first case keeps it).
    pub thread: Option<String>,
    pub attachments: Vec<ladder_core::email::Attachment>,
    pub at: Timestamp,
}

/// An attachment as listed with its case (the bytes are read on their own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    pub id: String,
    pub message_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub at: Timestamp,
}

/// Decides the event that moves one case to another customer (a merge), for each case.
pub type CaseMover = std::sync::Arc<dyn Fn(&Case) -> StoreResult<Decided> + Send + Sync>;

/// The most cases one customer merge moves (in one transaction).
pub const MAX_MERGED_CASES: usize = 1_000;

/// What a case write did.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub case: Case,
    pub events: Vec<RecordedEvent>,
    /// True when this was a retry answered from the idempotency record.
    pub replayed: bool,
}

/// An event as stored, with its global position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub seq: i64,
    pub schema: u16,
    #[serde(flatten)]
    pub recorded: RecordedEvent,
}

/// Filters for the case list; empty means "any".
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Vec<Status>,
    pub level: Vec<LevelId>,
    pub team: Vec<TeamId>,
    pub assignee: Option<AssigneeFilter>,
    pub priority: Vec<Priority>,
    pub channel: Vec<Channel>,
    pub customer: Option<CustomerId>,
    pub category: Option<String>,
    /// Full-text query over subject, description and messages.
    pub q: Option<String>,
    /// SLA standings: `breached`, `at_risk`, `running`, `paused`.
    pub sla: Vec<String>,
    /// Escalated by this user, or out of one of these teams.
    pub escalated_by: Option<EscalatedBy>,
}

/// Whose escalations a case list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalatedBy {
    /// Cases this user escalated.
    User(UserId),
    /// Cases escalated out of one of these teams.
    Teams(Vec<TeamId>),
}

/// An armed clock timer that has fallen due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTimer {
    pub case_id: CaseId,
    pub case_number: u64,
    pub clock_index: u32,
    pub generation: u64,
    pub fire_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    User(UserId),
    Unassigned,
}

/// Keyset pagination: newest first, continuing below `before` (a case number).
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub before: Option<u64>,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct CasePage {
    pub cases: Vec<Case>,
    /// Pass as `before` to get the next page; `None` on the last page.
    pub next_before: Option<u64>,
}

/// A stored message (a contact on a case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub id: String,
    pub seq: i64,
    pub author: ladder_core::Actor,
    pub visibility: ladder_core::Visibility,
    pub channel: Channel,
    pub body: String,
    pub at: Timestamp,
}

/// A user with their credential hash, for login.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: Option<String>,
}

/// An API token's metadata (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: String,
    pub user_id: UserId,
    pub name: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// Which of a user's live tokens a write revokes.
#[derive(Debug, Clone, Default)]
pub struct RevokeTokens {
    /// Only the tokens with one of these names (`None`: whatever their name).
    pub named: Option<Vec<String>>,
    /// Keep the token with this hash (the one the request is made with).
    pub keep_hash: Option<String>,
}

/// Filters for the customer list.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Exact identity on any channel (email address, phone number, handle).
    pub identity: Option<String>,
    /// Name prefix.
    pub name: Option<String>,
    pub segment: Option<String>,
}

/// Counts for health and metrics.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StoreStats {
    pub n_events: i64,
    pub n_cases: i64,
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub ladder: Ladder,
    /// Most writes one transaction takes.
    pub max_batch: usize,
    /// `FULL` survives power loss; `NORMAL` survives process crashes only.
    pub synchronous_full: bool,
    /// Reads in flight at once (each on its own connection); more wait for a turn.
    pub max_readers: usize,
    /// How long a read waits for a turn before it is refused as [`StoreError::Busy`].
    pub read_wait: std::time::Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            ladder: Ladder::default(),
            max_batch: 1024,
            synchronous_full: true,
            max_readers: 16,
            read_wait: std::time::Duration::from_secs(5),
        }
    }
}

pub(crate) fn customer_identity_values(c: &Customer) -> impl Iterator<Item = (String, String)> + '_ {
    c.identities.iter().map(|i| (i.channel.as_str().to_string(), normalise_identity(&i.value)))
}

/// Identities compare case-insensitively and without surrounding space.
pub fn normalise_identity(v: &str) -> String {
    v.trim().to_lowercase()
}

/// A limited scope's teams, user and followed teams; `None` for every case.
pub(crate) fn scope_teams(scope: &CaseScope) -> Option<(&[TeamId], UserId, &[TeamId])> {
    match scope {
        CaseScope::All => None,
        CaseScope::TeamsOrWorkedBy { teams, user, followed } => Some((teams.as_slice(), *user, followed.as_slice())),
    }
}

/// A matrix being edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixDraft {
    pub name: String,
    /// The TOML text.
    pub source: String,
    pub updated_by: String,
    pub updated_at: Timestamp,
}

/// A frozen, numbered matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixVersion {
    pub version: u32,
    /// The draft it was made from.
    pub name: String,
    pub source: String,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// One activation or rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixActivation {
    pub version: u32,
    /// `activate` or `rollback`.
    pub kind: String,
    pub by: String,
    pub at: Timestamp,
}
