//! Passwords (argon2id) and API tokens (random secrets, stored as SHA-256 hashes).
//!
//! Argon2 is slow and memory-hard on purpose (19 MiB per hash), so the hashing in flight
//! is bounded: [`PasswordWork`] hands out one permit per core, each with a block buffer
//! reused from hash to hash. Memory for passwords is then `cores × 19 MiB` however many
//! sign-ins arrive, and returns to nothing new after a burst (fresh 19 MiB allocations
//! per attempt are what the allocator's arenas used to keep). Attempts beyond wait up to
//! [`PasswordLimits::wait`], then get [`StoreError::Busy`]. Failed sign-ins are throttled
//! per account and per client address ([`crate::login_throttle`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
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
    /// Too many failed sign-ins for this account or from this address.
    #[error("too many failed sign-ins; try again in {} s", whole_seconds(*retry_after))]
    Throttled { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token as handed to its owner, once.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub secret: String,
    pub info: TokenInfo,
}

/// A cached token: its principal, when it was read, when the token expires, and the user's
/// console time zone.
type CachedToken = (Principal, Instant, Option<Timestamp>, Option<String>);

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

/// How much password hashing runs at once.
#[derive(Debug, Clone)]
pub struct PasswordLimits {
    /// Hashes computed at once (each holds a 19 MiB buffer); by default one per core.
    pub concurrent: usize,
    /// How long an attempt beyond waits for a turn before it is refused as busy.
    pub wait: Duration,
}

impl Default for PasswordLimits {
    fn default() -> Self {
        PasswordLimits {
            concurrent: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            wait: Duration::from_secs(5),
        }
    }
}

/// The permits for argon2 work, and a block buffer per permit, reused.
pub(crate) struct PasswordWork {
    permits: Arc<tokio::sync::Semaphore>,
    buffers: Mutex<Vec<Vec<Block>>>,
    wait: Duration,
}

impl PasswordWork {
    pub(crate) fn new(limits: &PasswordLimits) -> Self {
        PasswordWork {
            permits: Arc::new(tokio::sync::Semaphore::new(limits.concurrent.max(1))),
            buffers: Mutex::default(),
            wait: limits.wait,
        }
    }

    /// Runs argon2 work `f` off the async workers with a permit and a reused block buffer;
    /// [`StoreError::Busy`] when no permit comes within the configured wait.
    pub(crate) async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let work = self.clone();
        let busy =
            || StoreError::Busy { what: "too many password checks at once".into(), retry_after: BUSY_RETRY_AFTER };
        let permit = match tokio::time::timeout(work.wait, work.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            _ => return Err(busy()),
        };
        tokio::task::spawn_blocking(move || {
            // One buffer per permit at most: a holder of a permit takes one, or makes one.
            let mut buffer = work.buffers.lock().expect("password buffers").pop().unwrap_or_default();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut buffer)));
            work.buffers.lock().expect("password buffers").push(buffer);
            drop(permit);
            result.map_err(|_| StoreError::Internal("password hashing panicked".into()))
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))?
    }
}

/// How long a client refused as busy is told to wait.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(2);

/// Hashes a password with argon2id (the default parameters) into `buffer`'s blocks.
pub fn hash_password_with(password: &str, buffer: &mut Vec<Block>) -> Result<String, StoreError> {
    let err = |e: &dyn std::fmt::Display| StoreError::Internal(format!("argon2: {e}"));
    let params = Params::default();
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    let salt = Salt::new(&salt).map_err(|e| err(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    buffer.resize(params.block_count(), Block::new());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut buffer[..])
        .map_err(|e| err(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| err(&e))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| err(&e))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash`, computing in `buffer`'s blocks.
pub fn verify_password_with(password: &str, hash: &str, buffer: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else { return false };
    let Ok(algorithm) = Algorithm::new(parsed.algorithm.as_str()) else { return false };
    let Ok(version) = parsed.version.map(Version::try_from).transpose() else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let mut out = vec![0u8; expected.len()];
    buffer.resize(params.block_count(), Block::new());
    let argon = Argon2::new(algorithm, version.unwrap_or_default(), params);
    if argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut buffer[..]).is_err() {
        return false;
    }
    // `Output` compares in constant time.
    Output::new(&out).is_ok_and(|computed| &computed == expected)
}

#[cfg(test)]
fn verify_password(password: &str, hash: &str) -> bool {
    verify_password_with(password, hash, &mut Vec::new())
}

impl Engine {
    /// The principal behind a bearer token.
    pub async fn authenticate_token(&self, secret: &str, now: Timestamp) -> Result<Principal, AuthError> {
        Ok(self.authenticate_session(secret, now).await?.0)
    }

    /// The principal behind a bearer token and the console time zone its user chose
    /// (`None`: the browser's), read together and cached together: a console page pays one
    /// read for both, and none within the cache's five seconds.
    pub async fn authenticate_session(
        &self,
        secret: &str,
        now: Timestamp,
    ) -> Result<(Principal, Option<String>), AuthError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Err(AuthError::BadToken);
        }
        let hash = token_hash(secret);
        if let Some((p, at, expires, zone)) = self.inner.tokens.entries.lock().expect("token cache").get(&hash)
            && at.elapsed() < CACHE_TTL
        {
            // An expired token is refused at once, not when its cache entry goes stale.
            if expires.is_some_and(|e| e <= now) {
                return Err(AuthError::BadToken);
            }
            return Ok((p.clone(), zone.clone()));
        }
        let generation = *self.inner.credentials.borrow();
        let (user, expires, zone) = self.store.user_for_token(hash.clone(), now).await?.ok_or(AuthError::BadToken)?;
        let principal = principal_of(&user);
        let mut cache = self.inner.tokens.entries.lock().expect("token cache");
        if cache.len() > 10_000 {
            cache.clear();
        }
        // A change of credentials while the store was read may have made this answer stale:
        // use it once, but do not remember it.
        if *self.inner.credentials.borrow() == generation {
            cache.insert(hash, (principal.clone(), Instant::now(), expires, zone.clone()));
        }
        Ok((principal, zone))
    }

    /// Forgets the cached sessions of one user (their settings changed), without telling
    /// live streams to re-check: their credentials did not change.
    pub(crate) fn forget_cached_sessions_of(&self, user: UserId) {
        self.inner.tokens.entries.lock().expect("token cache").retain(|_, (p, ..)| p.user_id != user);
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
        let token = self.token_in_use(secret).await?;
        Ok(token.is_some_and(|t| t.name == CONSOLE_SESSION || t.name == LOGIN_SESSION))
    }

    /// The token with this secret (the one a request is made with), if it exists.
    pub async fn token_in_use(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        self.store.token_by_hash(token_hash(secret)).await
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
        // Within the password work's bound, like every other argon2 computation.
        let ok = self
            .inner
            .password_work
            .run(move |buffer| hash.is_some_and(|h| verify_password_with(&password, &h, buffer)))
            .await?;
        if ok { Ok(()) } else { Err(StoreError::Forbidden(format!("{field} is not your current password"))) }
    }

    /// Checks a user name and password from `client` (the peer's address, when known); the
    /// same error whether the name or the password is wrong. Refused as
    /// [`AuthError::Throttled`] — before any hashing — while the account or the address
    /// is delayed for its failed attempts.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        client: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<User, AuthError> {
        let throttle = &self.inner.login_throttle;
        throttle.check(name, client, now).map_err(|wait| AuthError::Throttled { retry_after: wait.unsigned_abs() })?;
        let creds = self.store.user_credentials(name.to_string()).await?;
        let password = password.to_string();
        let (user, hash) = match creds {
            Some(c) if c.user.active => (Some(c.user), c.password_hash),
            _ => (None, None),
        };
        // Verify against a dummy hash when the user is unknown so timing does not tell.
        let ok = self
            .inner
            .password_work
            .run(move |buffer| match hash {
                Some(h) => verify_password_with(&password, &h, buffer),
                None => {
                    let _ = verify_password_with(&password, DUMMY_HASH, buffer);
                    false
                }
            })
            .await?;
        match (ok, user) {
            (true, Some(u)) => {
                throttle.succeeded(name);
                Ok(u)
            }
            _ => {
                let wait = throttle.failed(name, client, now);
                if wait.is_positive() {
                    tracing::warn!(user = name, client = ?client, wait = %format!("{wait:#}"), "sign-ins throttled");
                }
                Err(AuthError::BadPassword)
            }
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

    /// Hashes off the async runtime, within the password work's bound.
    pub async fn hash_password(&self, password: String) -> Result<String, StoreError> {
        self.inner.password_work.run(move |buffer| hash_password_with(&password, buffer)).await?
    }
}

/// 256 random bits, hex: a secret nobody can guess (the console's sign-in form token).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    hex::encode(bytes)
}

/// A wait in whole seconds, rounded up, at least one (what `Retry-After` can say).
pub fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_made_with_a_reused_buffer_verify_like_the_library_s_own() {
        use argon2::PasswordVerifier;
        let mut buffer = Vec::new();
        let ours = hash_password_with("correct horse", &mut buffer).unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        // The same buffer again, for a hash the library made.
        let theirs = argon2::PasswordHasher::hash_password(&Argon2::default(), b"battery staple").unwrap().to_string();
        assert!(verify_password_with("battery staple", &theirs, &mut buffer));
        assert!(!verify_password_with("battery stapler", &theirs, &mut buffer));
        assert!(verify_password_with("correct horse", &ours, &mut buffer));
        assert!(!verify_password_with("correct horse", "not a hash", &mut buffer));
        assert!(!verify_password("anything", DUMMY_HASH));
    }

    #[tokio::test]
    async fn password_work_beyond_the_permits_is_refused_as_busy_after_the_wait() {
        let work = Arc::new(PasswordWork::new(&PasswordLimits { concurrent: 1, wait: Duration::ZERO }));
        let held = work.permits.clone().try_acquire_owned().unwrap();
        match work.run(|_| ()).await {
            Err(StoreError::Busy { retry_after, .. }) => assert_eq!(retry_after, BUSY_RETRY_AFTER),
            other => panic!("expected busy, got {other:?}"),
        }
        drop(held);
        assert!(work.run(|_| ()).await.is_ok());
    }

    #[tokio::test]
    async fn password_work_keeps_one_buffer_per_permit_however_many_ask() {
        let work = Arc::new(PasswordWork::new(&PasswordLimits { concurrent: 2, wait: Duration::from_secs(600) }));
        let runs = (0..16).map(|_| {
            let work = work.clone();
            tokio::spawn(async move { work.run(|buffer| buffer.resize(1024, Block::new())).await })
        });
        for run in runs.collect::<Vec<_>>() {
            run.await.unwrap().unwrap();
        }
        let buffers = work.buffers.lock().unwrap();
        assert!(buffers.len() <= 2, "{} buffers kept for 2 permits", buffers.len());
    }
}
