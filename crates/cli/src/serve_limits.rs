//! `ladder serve`'s load protection: request rates per token and per client address, the
//! request timeout, and how many password checks run at once.

use std::time::Duration;

use ladder_engine::{EngineLimits, PasswordLimits};
use ladder_http::ServeConfig;
use ladder_http::limits::{Rate, RateLimits};

#[derive(clap::Args, Clone, Debug)]
pub struct LimitArgs {
    /// Requests per second one bearer token or console session may make (0: no limit).
    #[arg(long, env = "LADDER_RATE_PER_TOKEN", default_value_t = 500)]
    rate_per_token: u32,
    /// Requests one token or session may make at once above its rate.
    #[arg(long, env = "LADDER_BURST_PER_TOKEN", default_value_t = 1000)]
    burst_per_token: u32,
    /// Requests per second from one client address, an IPv6 /64 (0: no limit; behind a
    /// reverse proxy every request comes from the proxy).
    #[arg(long, env = "LADDER_RATE_PER_IP", default_value_t = 1000)]
    rate_per_ip: u32,
    /// Requests from one client address at once above its rate.
    #[arg(long, env = "LADDER_BURST_PER_IP", default_value_t = 2000)]
    burst_per_ip: u32,
    /// Alerts per second one routing key may send to /v2/enqueue or /api/v1/alertmanager
    /// (0: no limit); beyond, 429 as PagerDuty answers.
    #[arg(long, env = "LADDER_RATE_PER_ROUTING_KEY", default_value_t = 5000)]
    rate_per_routing_key: u32,
    /// Alerts one routing key may send at once above its rate.
    #[arg(long, env = "LADDER_BURST_PER_ROUTING_KEY", default_value_t = 20000)]
    burst_per_routing_key: u32,
    /// How long a request may take before it is answered 503 (e.g. `30s`, `2m`); a live
    /// stream, once answered, runs on.
    #[arg(long, env = "LADDER_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_timeout)]
    request_timeout: Duration,
    /// Password checks (argon2id, 19 MiB each) computed at once; more wait up to 5 s, then
    /// get 503. Default: one per core.
    #[arg(long, env = "LADDER_PASSWORD_WORKERS")]
    password_workers: Option<usize>,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    ladder_core::matrix::model::parse_duration(s)
        .and_then(|d| Duration::try_from(d).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("'{s}' is not a positive duration such as 30s or 2m"))
}

impl LimitArgs {
    pub fn serve_config(&self) -> ServeConfig {
        ServeConfig {
            rate_limits: RateLimits {
                per_token: Rate { per_second: self.rate_per_token, burst: self.burst_per_token },
                per_ip: Rate { per_second: self.rate_per_ip, burst: self.burst_per_ip },
                per_routing_key: Rate { per_second: self.rate_per_routing_key, burst: self.burst_per_routing_key },
            },
            request_timeout: self.request_timeout,
        }
    }

    pub fn engine_limits(&self) -> EngineLimits {
        let mut passwords = PasswordLimits::default();
        if let Some(n) = self.password_workers {
            passwords.concurrent = n.max(1);
        }
        EngineLimits { passwords, ..EngineLimits::default() }
    }
}
