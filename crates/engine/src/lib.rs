//! Ladder's engine: turns requests into case commands (resolving names to directory
//! entries, checking who may do what), runs them through the store, and owns
//! credentials (argon2 passwords, hashed API tokens).
//!
//! # Layout
//! - [`commands`]: [`CaseRequest`] (ids and names as the API gives them) → resolved
//!   [`ladder_core::command::CaseCommand`] → store write.
//! - [`credentials`]: password hashing, token minting and authentication with a small cache.

pub mod commands;
pub mod credentials;

use std::sync::Arc;

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
    ladder: Ladder,
    tokens: credentials::TokenCache,
}

impl Engine {
    pub fn new(store: Store) -> Engine {
        let ladder = store.config().ladder.clone();
        Engine { store, inner: Arc::new(EngineInner { ladder, tokens: credentials::TokenCache::default() }) }
    }

    pub fn ladder(&self) -> &Ladder {
        &self.inner.ladder
    }
}
