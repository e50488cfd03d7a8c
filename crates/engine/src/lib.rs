//! Ladder's engine: turns requests into case commands (resolving names to directory
//! entries, checking who may do what), runs them through the store, and owns
//! credentials (argon2 passwords, hashed API tokens).
//!
//! # Layout
//! - [`commands`]: [`CaseRequest`] (ids and names as the API gives them) → resolved
//!   [`ladder_core::command::CaseCommand`] → store write.
//! - [`credentials`]: password hashing, token minting and authentication with a small cache.
//! - [`rules`]: the escalation matrix's lifecycle and its rules applied to case events.

pub mod commands;
pub mod credentials;
pub mod rules;

use std::sync::{Arc, RwLock};

use ladder_core::Ladder;
use ladder_store::Store;

pub use commands::{CaseRequest, Escalation, OpenRequest};
pub use credentials::{AuthError, NewToken};

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub store: Store,
    inner: Arc<EngineInner>,
}

struct EngineInner {
    /// The levels in force: the active matrix's, else the configured default.
    ladder: RwLock<Arc<Ladder>>,
    matrix: RwLock<Option<Arc<rules::ActiveMatrix>>>,
    tokens: credentials::TokenCache,
}

impl Engine {
    /// An engine without a matrix in force; call [`Engine::load_matrix`] to load the active one.
    pub fn new(store: Store) -> Engine {
        let ladder = Arc::new(store.config().ladder.clone());
        Engine {
            store,
            inner: Arc::new(EngineInner {
                ladder: RwLock::new(ladder),
                matrix: RwLock::new(None),
                tokens: credentials::TokenCache::default(),
            }),
        }
    }

    /// The ladder of levels in force.
    pub fn ladder(&self) -> Arc<Ladder> {
        self.inner.ladder.read().expect("ladder lock").clone()
    }
}
