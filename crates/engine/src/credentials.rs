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
/// The name of the tokens behind console sessions.
pub const CONSOLE_SESSION: &str = "web session";
/// The name of the tokens `POST /api/v1/auth/login` hands out.
pub const LOGIN_SESSION: &str = "login session";

/// How long new API tokens live: `default` when the request names no lifetime, and never
/// longer than `max` (`ladder serve --token-expiry-default/--token-expiry-max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    pub default: jiff::SignedDuration,
    pub max: jiff::SignedDuration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy {
            default: jiff::SignedDuration::from_hours(90 * 24),
            max: jiff::SignedDuration::from_hours(365 * 24),
        }
    }
}

impl TokenPolicy {
    /// When a token minted at `now` asking to live `requested` expires; refuses a lifetime
    /// that is not positive or is longer than the maximum, naming `field`.
    pub fn expiry(
        &self,
        field: &str,
        requested: Option<jiff::SignedDuration>,
        now: Timestamp,
    ) -> Result<Timestamp, StoreError> {
        let lifetime = requested.unwrap_or(self.default.min(self.max));
        if lifetime <= jiff::SignedDuration::ZERO {
            return Err(ladder_core::DomainError::invalid(field, "a token's lifetime must be positive").into());
        }
        if lifetime > self.max {
            return Err(ladder_core::DomainError::invalid(
                field,
                format!(
                    "a token lives at most {} seconds on this server (--token-expiry-max); ask for less",
                    self.max.as_secs()
                ),
            )
            .into());
        }
        now.checked_add(lifetime).map_err(|e| ladder_core::DomainError::invalid(field, e.to_string()).into())
    }
}

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

/// A cached token: its principal, when it was read, and when the token expires.
type CachedToken = (Principal, Instant, Option<Timestamp>);

#[derive(Default)]
pub(crate) struct TokenCache {
    /// By token hash.
    entries: Mutex<HashMap<String, CachedToken>>,
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
        if let Some((p, at, expires)) = self.inner.tokens.entries.lock().expect("token cache").get(&hash)
            && at.elapsed() < CACHE_TTL
        {
            // An expired token is refused at once, not when its cache entry goes stale.
            if expires.is_some_and(|e| e <= now) {
                return Err(AuthError::BadToken);
            }
            return Ok(p.clone());
        }
        let generation = *self.inner.credentials.borrow();
        let (user, expires) = self.store.user_for_token(hash.clone(), now).await?.ok_or(AuthError::BadToken)?;
        let principal = principal_of(&user);
        let mut cache = self.inner.tokens.entries.lock().expect("token cache");
        if cache.len() > 10_000 {
            cache.clear();
        }
        // A change of credentials while the store was read may have made this answer stale:
        // use it once, but do not remember it.
        if *self.inner.credentials.borrow() == generation {
            cache.insert(hash, (principal.clone(), Instant::now(), expires));
        }
        Ok(principal)
    }

    /// Forgets cached authentications after a revocation or a change to a user, and tells
    /// live streams to check their principal again.
    pub fn forget_cached_tokens(&self) {
        self.inner.tokens.entries.lock().expect("token cache").clear();
        self.inner.credentials.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes whenever credentials or the directory change (a token revoked, a password
    /// set, a user's role, teams or state changed): a live stream re-authenticates then.
    pub fn credential_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.credentials.subscribe()
    }

    /// The lifetime rules of new API tokens.
    pub fn token_policy(&self) -> TokenPolicy {
        *self.inner.token_policy.read().expect("token policy")
    }

    /// Sets the lifetime rules of new API tokens (`ladder serve`'s flags).
    pub fn set_token_policy(&self, policy: TokenPolicy) {
        *self.inner.token_policy.write().expect("token policy") = policy;
    }

    /// Whether the token with this secret is a sign-in session (console or login), which
    /// lives for hours and is never handed to a machine.
    pub async fn is_session_token(&self, secret: &str) -> Result<bool, StoreError> {
        let token = self.store.token_by_hash(token_hash(secret)).await?;
        Ok(token.is_some_and(|t| t.name == CONSOLE_SESSION || t.name == LOGIN_SESSION))
    }

    /// Checks that `password` is the principal's own password (for an action that asks for
    /// it again); `field` names the field in the refusal.
    pub async fn confirm_password(
        &self,
        principal: &Principal,
        field: &str,
        password: Option<&str>,
    ) -> Result<(), StoreError> {
        let Some(password) = password else {
            return Err(ladder_core::DomainError::invalid(field, "enter your current password to confirm this").into());
        };
        let creds = self.store.user_credentials(principal.name.clone()).await?;
        let hash = creds.filter(|c| c.user.id == principal.user_id).and_then(|c| c.password_hash);
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || hash.is_some_and(|h| verify_password(&password, &h)))
            .await
            .unwrap_or(false);
        if ok { Ok(()) } else { Err(StoreError::Forbidden(format!("{field} is not your current password"))) }
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

/// 256 random bits, hex: a secret nobody can guess (the console's sign-in form token).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    hex::encode(bytes)
}

/// A new token's secret and its metadata (the secret is never stored).
pub(crate) fn new_token(
    user: UserId,
    name: String,
    expires_at: Option<Timestamp>,
    now: Timestamp,
) -> (String, TokenInfo) {
    let secret = format!("{TOKEN_PREFIX}{}", random_secret());
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
