//! Load protection at the edge: request rates per client address and per credential (a
//! bearer token or a console session), each a token bucket; a request over either answers
//! `429 Too Many Requests` with `Retry-After`. Health probes are never limited. Time is an
//! argument of the buckets, so they are tested with simulated time.
//!
//! The client address is the TCP peer's: behind a reverse proxy every request comes from
//! the proxy, so raise or turn off the per-address limit there (`--rate-per-ip 0`) and let
//! the proxy limit by address.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

/// A sustained rate and the burst allowed above it. A `per_second` of zero means no limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Rate {
    pub const UNLIMITED: Rate = Rate { per_second: 0, burst: 0 };
}

/// The request-rate limits of a server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    /// Per bearer token or console session.
    pub per_token: Rate,
    /// Per client address (an IPv6 /64).
    pub per_ip: Rate,
    /// Alerts per routing key (the Events API v2 and Alertmanager routes): a storm is
    /// answered `429` (PagerDuty's answer, which its clients retry with a backoff) rather
    /// than queued without end.
    pub per_routing_key: Rate,
}

impl RateLimits {
    pub const UNLIMITED: RateLimits =
        RateLimits { per_token: Rate::UNLIMITED, per_ip: Rate::UNLIMITED, per_routing_key: Rate::UNLIMITED };
}

impl Default for RateLimits {
    /// Generous enough for a busy integration and a team of console users behind one
    /// address; low enough that one client cannot take the server.
    fn default() -> Self {
        RateLimits {
            per_token: Rate { per_second: 500, burst: 1000 },
            per_ip: Rate { per_second: 1000, burst: 2000 },
            per_routing_key: ALERTS_PER_ROUTING_KEY,
        }
    }
}

/// Most keys remembered per limit; beyond, full buckets (idle keys) are forgotten first.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Duration,
}

/// Token buckets by key, refilled at `rate.per_second` up to `rate.burst`.
pub struct KeyedBuckets<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq> KeyedBuckets<K> {
    pub fn new(rate: Rate) -> Self {
        KeyedBuckets { rate, buckets: Mutex::default() }
    }

    /// Takes one token from `key`'s bucket at `now` (time since any fixed origin); `Err`
    /// with how long until a token is there when it is empty.
    pub fn take(&self, key: K, now: Duration) -> Result<(), Duration> {
        if self.rate.per_second == 0 {
            return Ok(());
        }
        let per_second = f64::from(self.rate.per_second);
        let burst = f64::from(self.rate.burst.max(1));
        let mut buckets = self.buckets.lock().expect("rate buckets");
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(&key) {
            buckets.retain(|_, b| b.tokens + (now.saturating_sub(b.at)).as_secs_f64() * per_second < burst);
            if buckets.len() >= MAX_KEYS {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: burst, at: now });
        let refill = now.saturating_sub(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.at = bucket.at.max(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

/// The server's limiters.
pub struct RateLimiter {
    origin: Instant,
    per_token: KeyedBuckets<u64>,
    per_ip: KeyedBuckets<IpAddr>,
    /// Alerts per routing key (the Events API v2 and Alertmanager routes).
    per_routing_key: KeyedBuckets<u64>,
    /// Keys credentials without keeping them.
    hasher: std::collections::hash_map::RandomState,
}

/// Alerts one routing key may send: a storm is answered `429` (PagerDuty's answer, which
/// its clients retry with a backoff) rather than queued without end.
pub const ALERTS_PER_ROUTING_KEY: Rate = Rate { per_second: 5_000, burst: 20_000 };

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        RateLimiter {
            origin: Instant::now(),
            per_token: KeyedBuckets::new(limits.per_token),
            per_ip: KeyedBuckets::new(limits.per_ip),
            per_routing_key: KeyedBuckets::new(limits.per_routing_key),
            hasher: Default::default(),
        }
    }

    /// Charges a request from `ip` with `credential` (its bearer token or session cookie)
    /// at `now`; `Err` with the wait when either is over its limit.
    pub fn check(&self, ip: Option<IpAddr>, credential: Option<&str>, now: Duration) -> Result<(), Duration> {
        if let Some(ip) = ip {
            self.per_ip.take(ladder_engine::login_throttle::address_key(ip), now)?;
        }
        if let Some(credential) = credential {
            self.per_token.take(self.hasher.hash_one(credential), now)?;
        }
        Ok(())
    }
}

impl RateLimiter {
    /// Charges one alert to `routing_key` now; `Err` with the wait when over its rate.
    pub fn check_routing_key(&self, routing_key: &str) -> Result<(), Duration> {
        self.per_routing_key.take(self.hasher.hash_one(routing_key), self.origin.elapsed())
    }
}

/// The request's bearer token or console session cookie, if any: what `Auth` and the
/// console's session read.
fn credential(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(crate::extract::bearer);
    bearer.or_else(|| crate::web::session::cookie_str(headers, crate::web::session::SESSION_COOKIE))
}

/// The TCP peer's address, when the server was started with it (tests calling the router
/// directly have none).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

/// Middleware: refuses a request over its address's or its credential's rate.
pub(crate) async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/healthz" || path == "/readyz" {
        return next.run(request).await;
    }
    let ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let limiter = &state.limits;
    if let Err(wait) = limiter.check(ip, credential(request.headers()), limiter.origin.elapsed()) {
        return ApiError::too_many_requests("too many requests from this client or token; slow down", wait)
            .into_response();
    }
    next.run(request).await
}

/// Adds to every operation of the OpenAPI document (the health probes aside) the answers
/// any request may get from load protection: `429` over a rate, `503` busy or timed out,
/// each a problem document with `Retry-After`.
pub(crate) struct LimitResponses;

impl utoipa::Modify for LimitResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::schema::{Object, Type};
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let answer = |description: &str| {
            let retry_after = HeaderBuilder::new()
                .schema(Some(Object::with_type(Type::Integer)))
                .description(Some("Seconds to wait before retrying"))
                .build();
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                )
                .header("Retry-After", retry_after)
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path == "/healthz" || path == "/readyz" {
                continue;
            }
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
            ];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                responses.entry("429".into()).or_insert_with(|| {
                    answer("Too many requests from this client or token, or failed sign-ins").into()
                });
                responses.entry("503".into()).or_insert_with(|| {
                    answer("Busy (database readers or password checks), writes unavailable, or timed out").into()
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate_and_says_how_long_to_wait() {
        let buckets = KeyedBuckets::new(Rate { per_second: 10, burst: 3 });
        for _ in 0..3 {
            assert_eq!(buckets.take("a", secs(0.0)), Ok(()));
        }
        assert_eq!(buckets.take("a", secs(0.0)), Err(secs(0.1)));
        // Another key has its own bucket.
        assert_eq!(buckets.take("b", secs(0.0)), Ok(()));
        // A tenth of a second refills one token, not more than the burst after a pause.
        assert_eq!(buckets.take("a", secs(0.1)), Ok(()));
        assert!(buckets.take("a", secs(0.1)).is_err());
        for _ in 0..3 {
            assert_eq!(buckets.take("a", secs(100.0)), Ok(()));
        }
        assert!(buckets.take("a", secs(100.0)).is_err());
    }

    #[test]
    fn a_zero_rate_is_no_limit() {
        let buckets = KeyedBuckets::new(Rate::UNLIMITED);
        for _ in 0..10_000 {
            assert_eq!(buckets.take(1, secs(0.0)), Ok(()));
        }
    }

    #[test]
    fn a_request_is_charged_to_its_address_and_its_token() {
        let limiter = RateLimiter::new(RateLimits {
            per_token: Rate { per_second: 1, burst: 2 },
            per_ip: Rate { per_second: 1, burst: 3 },
            per_routing_key: Rate::UNLIMITED,
        });
        let (a, b) = (Some("10.0.0.1".parse().unwrap()), Some("10.0.0.2".parse().unwrap()));
        assert!(limiter.check(a, Some("ldr_one"), secs(0.0)).is_ok());
        assert!(limiter.check(b, Some("ldr_one"), secs(0.0)).is_ok());
        // The token's burst is spent, whichever address it comes from.
        assert_eq!(limiter.check(b, Some("ldr_one"), secs(0.0)), Err(secs(1.0)));
        assert!(limiter.check(b, Some("ldr_two"), secs(0.0)).is_ok());
        // Address b has now made three requests: its burst is spent, whatever the token.
        assert!(limiter.check(b, Some("ldr_three"), secs(0.0)).is_err());
        assert!(limiter.check(a, None, secs(0.0)).is_ok());
        // IPv6 addresses in one /64 share a bucket.
        let v6 = |s: &str| Some(s.parse().unwrap());
        for _ in 0..3 {
            assert!(limiter.check(v6("2001:db8::1"), None, secs(0.0)).is_ok());
        }
        assert!(limiter.check(v6("2001:db8::2"), None, secs(0.0)).is_err());
        assert!(limiter.check(v6("2001:db8:1::1"), None, secs(0.0)).is_ok());
    }

    #[test]
    fn the_credential_is_the_bearer_token_or_the_session_cookie() {
        let mut headers = HeaderMap::new();
        assert_eq!(credential(&headers), None);
        headers.insert(header::COOKIE, "theme=dark; ladder_session=ldr_abc".parse().unwrap());
        assert_eq!(credential(&headers), Some("ldr_abc"));
        headers.insert(header::AUTHORIZATION, "Bearer ldr_xyz".parse().unwrap());
        assert_eq!(credential(&headers), Some("ldr_xyz"));
    }
}
