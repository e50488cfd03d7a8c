//! Ladder's engine: turns requests into case commands (resolving names to directory
//! entries, checking who may do what), runs them through the store, and owns
//! credentials (argon2 passwords, hashed API tokens).
//!
//! # Layout
//! - [`commands`]: [`CaseRequest`] (ids and names as the API gives them) → resolved
//!   [`ladder_core::command::CaseCommand`] → store write.
//! - [`credentials`]: password hashing, token minting and authentication with a small cache.
//! - [`rules`]: the escalation matrix's lifecycle and the version in force (applying its
//!   rules to a write's events is [`ladder_core::matrix::apply`]).
//! - [`deliveries`]: the delivery worker (the outbox's notifications, at least once).
//! - [`timers`]: the durable timer engine (the clock arithmetic is [`ladder_core::sla`]).
//! - [`routing`]: choosing the agent for a case, and handing out the next queued case.
//! - [`budget`]: CPU-bound work for a caller (a matrix's lint and compilation) on worker
//!   threads with a large stack, one per core, within a wall-clock budget.

pub mod articles;
pub mod budget;
pub mod channels;
pub mod commands;
pub mod credentials;
pub mod deliveries;
pub mod directory;
pub mod escalation;
pub mod incidents;
pub mod intake;
pub mod login_throttle;
pub mod macros;
pub mod portal;
pub mod query;
pub mod risk;
pub mod routing;
pub mod rules;
pub mod schedules;
pub mod search;
pub mod services;
pub mod simulate;
pub mod timers;

use std::sync::{Arc, RwLock};

use ladder_core::Ladder;
use ladder_store::Store;

pub use channels::{ContactEvent, ContactIntake, InboundSms, SmsSigning};
pub use commands::{
    ActionRequest, Assignment, CallbackRequest, CaseRequest, DeEscalation, Escalation, OpenRequest, TransferRequest,
};
pub use credentials::{AuthError, NewToken, PasswordLimits, TokenPolicy};
pub use deliveries::{DeliveryConfig, DeliveryReport, SmsConfig, SmtpConfig, WebhookConfig};
pub use directory::{Password, command_line_principal};
pub use escalation::{EscalationOptions, EscalationPerson};
pub use intake::{Intake, IntakeError, MailIntake};
/// The store's plain data types that queries answer with and filters are written in, so
/// callers above the engine need no dependency on the store.
pub use ladder_store::{
    AlertWrite, ArticlePage, ArticleQuery, AssigneeFilter, AuditEntry, AuditFilter, CaseFilter, CaseOutcome, CasePage,
    CustomerFilter, Delivery, DeliveryAttempt, DeliveryFilter, EscalatedBy, FeedTarget, FeedToken, Idempotency,
    IncidentFilter, InsightFacts, MatrixActivation, MatrixDraft, MatrixVersion, MetricsRow, PageRequest,
    PendingApproval, QueuedCase, StoreError, StoreStats, StoredEvent, StoredMessage, StoredModel, StoredTemplate,
    TokenInfo, TrainingCase,
};
pub use login_throttle::LoginThrottleConfig;
pub use portal::{PortalConfig, PortalError, PortalRequest, PortalView};
pub use search::SearchResults;
pub use timers::{FireReport, TimerStatus};

/// The context a write is decided and recorded in: no new case number (a command that
/// opens a case sets its own), a fresh id, the matrix version in force.
pub(crate) fn write_context<'a>(
    actor: &'a ladder_core::Actor,
    ladder: &'a Ladder,
    matrix_version: Option<u32>,
    now: jiff::Timestamp,
) -> ladder_core::Context<'a> {
    ladder_core::Context { now, actor, ladder, next_number: 0, new_id: uuid::Uuid::now_v7(), matrix_version }
}

/// Bounds on the engine's expensive work for unauthenticated callers.
#[derive(Debug, Clone, Default)]
pub struct EngineLimits {
    pub passwords: PasswordLimits,
    pub login: LoginThrottleConfig,
}

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    inner: Arc<EngineInner>,
}

struct EngineInner {
    /// The levels in force: the active matrix's, else the configured default.
    ladder: RwLock<Arc<Ladder>>,
    matrix: RwLock<Option<Arc<rules::ActiveMatrix>>>,
    /// The escalation-risk model in force, which scores every new case ([`risk`]).
    risk_model: RwLock<Option<Arc<ladder_core::risk::RiskModel>>>,
    tokens: credentials::TokenCache,
    /// Argon2 work in flight, bounded, with its reused buffers.
    password_work: Arc<credentials::PasswordWork>,
    /// Failed sign-ins by account and address.
    login_throttle: login_throttle::LoginThrottle,
    timers: timers::TimerState,
    /// The delivery worker's configuration and wake-up bell.
    deliveries: deliveries::DeliveryState,
    /// Added to the system clock by [`Engine::now`].
    clock_offset: jiff::SignedDuration,
    /// Every case that changed, for live views.
    changes: tokio::sync::broadcast::Sender<ladder_core::Case>,
    /// This server's name among the servers sharing a database (timer claims).
    node: String,
    /// Counts credential and directory changes (a revocation, a password, a user's role,
    /// teams or state), so live streams re-check the principal they serve.
    credentials: tokio::sync::watch::Sender<u64>,
    /// How long new API tokens live.
    token_policy: RwLock<credentials::TokenPolicy>,
    /// Where a matrix is linted and compiled: off the async workers, within a budget.
    workers: budget::Workers,
    /// The customer portal's configuration and signing key.
    portal: portal::PortalState,
}

impl Engine {
    /// An engine without a matrix in force; call [`Engine::load_matrix`] to load the active one.
    pub fn new(store: Store) -> Engine {
        Engine::with_clock_offset(store, jiff::SignedDuration::ZERO)
    }

    /// An engine whose [`Engine::now`] runs `offset` ahead of (or behind) the system clock:
    /// for drills and restart tests that need time to have passed.
    pub fn with_clock_offset(store: Store, offset: jiff::SignedDuration) -> Engine {
        Engine::with_limits(store, offset, EngineLimits::default())
    }

    /// An engine with a clock offset (see [`Engine::with_clock_offset`]) and the given
    /// bounds on password work and sign-in attempts.
    pub fn with_limits(store: Store, offset: jiff::SignedDuration, limits: EngineLimits) -> Engine {
        let ladder = Arc::new(store.config().ladder.clone());
        Engine {
            store,
            inner: Arc::new(EngineInner {
                ladder: RwLock::new(ladder),
                matrix: RwLock::new(None),
                risk_model: RwLock::new(None),
                tokens: credentials::TokenCache::default(),
                password_work: Arc::new(credentials::PasswordWork::new(&limits.passwords)),
                login_throttle: login_throttle::LoginThrottle::new(limits.login),
                timers: timers::TimerState::default(),
                deliveries: deliveries::DeliveryState::default(),
                clock_offset: offset,
                changes: tokio::sync::broadcast::channel(1024).0,
                node: node_name(),
                credentials: tokio::sync::watch::channel(0).0,
                token_policy: RwLock::new(credentials::TokenPolicy::default()),
                workers: budget::Workers::new(budget::Budget::default()),
                portal: portal::PortalState::default(),
            }),
        }
    }

    /// This server's name among the servers sharing the database: host, process and a
    /// random part (a restarted process is a new node).
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// Every case that changes from now on (by a command or a timer), for live views.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ladder_core::Case> {
        self.inner.changes.subscribe()
    }

    /// Tells live subscribers that a case changed.
    pub(crate) fn publish(&self, case: &ladder_core::Case) {
        if self.inner.changes.receiver_count() > 0 {
            let _ = self.inner.changes.send(case.clone());
        }
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// Hourly upkeep: forget idempotency records older than `keep`, refresh the planner's
    /// statistics. Failures are logged; the next round tries again.
    pub async fn housekeep(&self, now: jiff::Timestamp, keep: jiff::SignedDuration) {
        match self.store.expire_idempotency(now - keep).await {
            Ok(n) if n > 0 => tracing::info!(expired = n, "forgot old idempotency keys"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not expire idempotency keys"),
        }
        match self.prune_deliveries(now).await {
            Ok(n) if n > 0 => tracing::info!(pruned = n, "removed old delivered notifications"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not remove old delivered notifications"),
        }
        if let Err(e) = self.store.optimize().await {
            tracing::warn!(error = %e, "could not refresh planner statistics");
        }
    }

    /// The ladder of levels in force.
    pub fn ladder(&self) -> Arc<Ladder> {
        self.inner.ladder.read().expect("ladder lock").clone()
    }
}

fn node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = if host.trim().is_empty() { "host" } else { host.trim() };
    let random = uuid::Uuid::now_v7().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &random[random.len() - 6..])
}

/// A decider for a write that raises no matrix triggers (only events, no rules evaluated).
pub(crate) fn decided<F>(decide: F) -> ladder_store::Decider
where
    F: FnOnce(
            Option<&ladder_core::Case>,
            u64,
        ) -> Result<Vec<ladder_core::event::RecordedEvent>, ladder_store::StoreError>
        + Send
        + 'static,
{
    Box::new(move |case, next| decide(case, next).map(ladder_store::Decided::from))
}
