//! Login throttling: failed sign-ins per account and per client address, with a delay
//! that doubles with each failure beyond a free allowance. A throttled attempt is refused
//! before any password is hashed, so guessing costs the guesser time and the server nothing.
//! Time is an argument (`now`), so the rules are tested with simulated time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// How failed sign-ins are throttled.
#[derive(Debug, Clone)]
pub struct LoginThrottleConfig {
    /// Failures of one account before it is delayed.
    pub account_free: u32,
    /// Failures from one client address (an IPv6 /64) before it is delayed.
    pub client_free: u32,
    /// The delay after the first failure beyond the allowance; each further failure doubles it.
    pub first_delay: SignedDuration,
    /// The longest delay.
    pub max_delay: SignedDuration,
    /// Failures this old are forgotten.
    pub forget_after: SignedDuration,
}

impl Default for LoginThrottleConfig {
    fn default() -> Self {
        LoginThrottleConfig {
            account_free: 5,
            client_free: 20,
            first_delay: SignedDuration::from_secs(1),
            max_delay: SignedDuration::from_mins(15),
            forget_after: SignedDuration::from_hours(1),
        }
    }
}

/// Most accounts and addresses remembered; beyond, the forgotten-by-age are dropped first.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Client(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Timestamp,
    blocked_until: Timestamp,
}

/// Failed sign-ins by account and by client address.
#[derive(Default)]
pub(crate) struct LoginThrottle {
    config: LoginThrottleConfig,
    entries: Mutex<HashMap<Key, Failures>>,
}

/// The key of a user name: names compare without case and surrounding space.
fn account(name: &str) -> Key {
    Key::Account(name.trim().to_lowercase())
}

/// A client address as throttling and rate limits count it: IPv4 as is (also when mapped
/// into IPv6), IPv6 by its /64, which one host usually holds whole.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

fn client(ip: IpAddr) -> Key {
    Key::Client(address_key(ip))
}

impl LoginThrottle {
    pub(crate) fn new(config: LoginThrottleConfig) -> Self {
        LoginThrottle { config, entries: Mutex::default() }
    }

    fn keys(name: &str, ip: Option<IpAddr>) -> Vec<Key> {
        let mut keys = vec![account(name)];
        keys.extend(ip.map(client));
        keys
    }

    /// `Err(wait)` when the account or the address must wait before trying again.
    pub(crate) fn check(&self, name: &str, ip: Option<IpAddr>, now: Timestamp) -> Result<(), SignedDuration> {
        let entries = self.entries.lock().expect("login throttle");
        let wait = Self::keys(name, ip)
            .iter()
            .filter_map(|k| entries.get(k))
            .map(|f| f.blocked_until.duration_since(now))
            .max()
            .unwrap_or(SignedDuration::ZERO);
        if wait.is_positive() { Err(wait) } else { Ok(()) }
    }

    /// Records a failed sign-in; answers how long the next attempt must wait (zero within
    /// the allowance).
    pub(crate) fn failed(&self, name: &str, ip: Option<IpAddr>, now: Timestamp) -> SignedDuration {
        let mut entries = self.entries.lock().expect("login throttle");
        if entries.len() >= MAX_ENTRIES {
            let forget_after = self.config.forget_after;
            entries.retain(|_, f| now.duration_since(f.last) < forget_after || f.blocked_until > now);
            if entries.len() >= MAX_ENTRIES {
                tracing::warn!(entries = entries.len(), "login throttle full; forgetting every failure");
                entries.clear();
            }
        }
        let mut wait = SignedDuration::ZERO;
        for key in Self::keys(name, ip) {
            let free = match key {
                Key::Account(_) => self.config.account_free,
                Key::Client(_) => self.config.client_free,
            };
            let entry = entries.entry(key).or_insert(Failures { count: 0, last: now, blocked_until: now });
            if now.duration_since(entry.last) >= self.config.forget_after {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
            if entry.count > free {
                let doublings = (entry.count - free - 1).min(30);
                let delay = self
                    .config
                    .first_delay
                    .checked_mul(1i32 << doublings.min(20))
                    .unwrap_or(self.config.max_delay)
                    .min(self.config.max_delay);
                entry.blocked_until = now + delay;
                wait = wait.max(delay);
            }
        }
        wait
    }

    /// A successful sign-in clears the account's failures (the address's stay: one known
    /// password must not reset the count of guesses at others).
    pub(crate) fn succeeded(&self, name: &str) {
        self.entries.lock().expect("login throttle").remove(&account(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_account_is_delayed_after_its_free_failures_and_the_delay_doubles() {
        let t = LoginThrottle::new(LoginThrottleConfig::default());
        for i in 0..5 {
            assert_eq!(t.check("ana", ip("10.0.0.1"), at(i)), Ok(()));
            assert_eq!(t.failed("ana", ip("10.0.0.1"), at(i)), SignedDuration::ZERO);
        }
        // The sixth failure blocks for 1 s, the seventh for 2 s, the eighth for 4 s.
        assert_eq!(t.failed("ana", ip("10.0.0.2"), at(10)), SignedDuration::from_secs(1));
        assert_eq!(t.check("ANA ", ip("10.0.0.3"), at(10)), Err(SignedDuration::from_secs(1)));
        assert_eq!(t.check("ana", None, at(11)), Ok(()));
        assert_eq!(t.failed("ana", None, at(11)), SignedDuration::from_secs(2));
        assert_eq!(t.failed("ana", None, at(13)), SignedDuration::from_secs(4));
        assert_eq!(t.check("ana", None, at(14)), Err(SignedDuration::from_secs(3)));
        // Another account from the same address is not delayed.
        assert_eq!(t.check("bob", ip("10.0.0.1"), at(14)), Ok(()));
    }

    #[test]
    fn the_delay_is_capped() {
        let t = LoginThrottle::new(LoginThrottleConfig::default());
        let mut wait = SignedDuration::ZERO;
        for i in 0..100 {
            wait = t.failed("ana", None, at(i * 3600 / 100));
        }
        assert_eq!(wait, SignedDuration::from_mins(15));
    }

    #[test]
    fn a_client_guessing_many_accounts_is_delayed() {
        let t = LoginThrottle::new(LoginThrottleConfig::default());
        for i in 0..20 {
            assert_eq!(t.failed(&format!("user{i}"), ip("192.0.2.7"), at(0)), SignedDuration::ZERO);
        }
        assert_eq!(t.failed("user20", ip("192.0.2.7"), at(0)), SignedDuration::from_secs(1));
        assert_eq!(t.check("someone-else", ip("192.0.2.7"), at(0)), Err(SignedDuration::from_secs(1)));
        // The same host on another IPv6 address in its /64 counts as the same client.
        for i in 0..21 {
            t.failed(&format!("v6user{i}"), ip(&format!("2001:db8::{i:x}")), at(0));
        }
        assert!(t.check("x", ip("2001:db8::ffff:1"), at(0)).is_err());
        assert_eq!(t.check("x", ip("2001:db8:0:1::1"), at(0)), Ok(()));
    }

    #[test]
    fn success_clears_the_account_and_old_failures_are_forgotten() {
        let t = LoginThrottle::new(LoginThrottleConfig::default());
        for _ in 0..5 {
            t.failed("ana", None, at(0));
        }
        t.succeeded("ana");
        assert_eq!(t.failed("ana", None, at(1)), SignedDuration::ZERO);
        for _ in 0..5 {
            t.failed("bob", None, at(0));
        }
        // An hour later the count starts again.
        assert_eq!(t.failed("bob", None, at(3600)), SignedDuration::ZERO);
    }
}
