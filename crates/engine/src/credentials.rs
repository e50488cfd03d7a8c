//! Passwords (argon2id) and API tokens (random secrets, stored as SHA-256 hashes).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use jiff::Timestamp;
use ladder_core::access::Principal;
use ladder_core::directory::User;
use ladder_core::ids::UserId;
use ladder_store::{StoreError, TokenInfo};
use rand::RngExt;
use sha2::{Digest, Sha256};

use crate::Engine;

/// Prefix of every token, so leaked tokens are easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "ldr_";
/// How long an authenticated token is trusted without asking the store again.
const CACHE_TTL: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing or malformed credentials")]
    Missing,
    #[error("the token is unknown, expired or revoked")]
    BadToken,
    #[error("wrong user name or password")]
    BadPassword,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token as handed to its owner, once.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub secret: String,
    pub info: TokenInfo,
}

#[derive(Default)]
pub(crate) struct TokenCache {
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
}

pub fn principal_of(user: &User) -> Principal {
    Principal { user_id: user.id, name: user.name.clone(), role: user.role, teams: user.teams.clone() }
}

/// SHA-256 of a token secret, hex. Tokens carry 256 bits of randomness, so a fast hash
/// is enough; passwords, which people choose, get argon2.
pub fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Hashes a password with argon2id (call from a blocking thread: it is slow on purpose).
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Internal(format!("argon2: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

impl Engine {
    /// The principal behind a bearer token.
    pub async fn authenticate_token(&self, secret: &str, now: Timestamp) -> Result<Principal, AuthError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Err(AuthError::BadToken);
        }
        let hash = token_hash(secret);
        if let Some((p, at)) = self.inner.tokens.entries.lock().expect("token cache").get(&hash)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(p.clone());
        }
        let user = self.store.user_for_token(hash.clone(), now).await?.ok_or(AuthError::BadToken)?;
        let principal = principal_of(&user);
        let mut cache = self.inner.tokens.entries.lock().expect("token cache");
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(hash, (principal.clone(), Instant::now()));
        Ok(principal)
    }

    /// Forgets cached authentications, after a revocation or a change to a user.
    pub fn forget_cached_tokens(&self) {
        self.inner.tokens.entries.lock().expect("token cache").clear();
    }

    /// Checks a user name and password; the same error whether the name or the password is wrong.
    pub async fn login(&self, name: &str, password: &str) -> Result<User, AuthError> {
        let creds = self.store.user_credentials(name.to_string()).await?;
        let password = password.to_string();
        let (user, hash) = match creds {
            Some(c) if c.user.active => (Some(c.user), c.password_hash),
            _ => (None, None),
        };
        // Verify against a dummy hash when the user is unknown so timing does not tell.
        let ok = tokio::task::spawn_blocking(move || match hash {
            Some(h) => verify_password(&password, &h),
            None => {
                let _ = verify_password(&password, DUMMY_HASH);
                false
            }
        })
        .await
        .unwrap_or(false);
        match (ok, user) {
            (true, Some(u)) => Ok(u),
            _ => Err(AuthError::BadPassword),
        }
    }

    /// Mints a session token for a user who has just signed in with their password; the
    /// secret is returned once and only its hash is stored.
    pub async fn sign_in_token(
        &self,
        user: &User,
        name: String,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<NewToken, StoreError> {
        self.store_token(&principal_of(user), user.id, name, expires_at, now).await
    }

    /// Hashes off the async runtime.
    pub async fn hash_password(&self, password: String) -> Result<String, StoreError> {
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?
    }
}

/// A new token's secret and its metadata (the secret is never stored).
pub(crate) fn new_token(
    user: UserId,
    name: String,
    expires_at: Option<Timestamp>,
    now: Timestamp,
) -> (String, TokenInfo) {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let info = TokenInfo {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user,
        name,
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    (secret, info)
}

/// An argon2id hash of a random string nobody knows, used to equalise login timing.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Qx1yrnKx/1JyQN9ic5WmRzB2vPVnWBsUH6ls7G4sG8";
