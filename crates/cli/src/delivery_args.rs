//! `ladder serve`'s notification channels: where the delivery worker sends email, SMS and
//! webhooks, and how it retries (see docs/notifications.md).

use anyhow::{Context, bail};
use jiff::SignedDuration;
use ladder_core::outbox::RetryPolicy;
use ladder_engine::{DeliveryConfig, SmsConfig, SmtpConfig, WebhookConfig};

#[derive(clap::Args, Clone, Debug)]
pub struct DeliveryArgs {
    /// Where `webhook`, `chat`, `push` and `voice` notifications are POSTed (JSON, signed).
    #[arg(long, env = "LADDER_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// The key webhook signatures are made with (HMAC-SHA256). From the environment only,
    /// so it shows in no process list.
    #[arg(skip = std::env::var("LADDER_WEBHOOK_SECRET").ok())]
    webhook_secret: Option<String>,
    /// The SMTP relay email notifications go through: `smtp://HOST:PORT` (plain SMTP).
    #[arg(long, env = "LADDER_SMTP_URL")]
    smtp_url: Option<String>,
    /// The sender of notification email.
    #[arg(long, env = "LADDER_SMTP_FROM", default_value = "Ladder <ladder@localhost>")]
    smtp_from: String,
    /// The base URL of a Twilio-compatible SMS API (e.g. `https://api.twilio.com`).
    #[arg(long, env = "LADDER_SMS_BASE_URL")]
    sms_base_url: Option<String>,
    /// The SMS API's account SID.
    #[arg(long, env = "LADDER_SMS_ACCOUNT_SID")]
    sms_account_sid: Option<String>,
    /// The SMS API's auth token: from the environment only (`LADDER_SMS_AUTH_TOKEN`).
    #[arg(skip = std::env::var("LADDER_SMS_AUTH_TOKEN").ok())]
    sms_auth_token: Option<String>,
    /// The number SMS are sent from (E.164).
    #[arg(long, env = "LADDER_SMS_FROM")]
    sms_from: Option<String>,
    /// The wait after a delivery's first failure, in milliseconds; it doubles per failure.
    #[arg(long, env = "LADDER_DELIVERY_RETRY_BASE_MS", default_value_t = 10_000)]
    delivery_retry_base_ms: u32,
    /// The longest wait between two attempts, in seconds.
    #[arg(long, env = "LADDER_DELIVERY_RETRY_CAP_SECS", default_value_t = 3600)]
    delivery_retry_cap_secs: u32,
    /// Failed attempts after which a delivery is dead (listed; redeliverable).
    #[arg(long, env = "LADDER_DELIVERY_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    delivery_max_attempts: u32,
    /// Deliveries sent at once.
    #[arg(long, env = "LADDER_DELIVERY_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
    delivery_concurrency: u16,
    /// Days a delivered notification is kept (listed by `GET /api/v1/deliveries`); the
    /// hourly upkeep removes older ones. Dead letters are kept until redelivered.
    #[arg(long, env = "LADDER_DELIVERIES_KEEP_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    deliveries_keep_days: u32,
}

impl DeliveryArgs {
    pub fn config(&self) -> anyhow::Result<DeliveryConfig> {
        let webhook = match &self.webhook_url {
            Some(url) => {
                http_url("--webhook-url", url)?;
                let Some(secret) = self.webhook_secret.as_ref().filter(|s| s.len() >= 16) else {
                    bail!("--webhook-url needs LADDER_WEBHOOK_SECRET (at least 16 characters) in the environment");
                };
                Some(WebhookConfig { url: url.clone(), secret: secret.as_bytes().to_vec() })
            }
            None => None,
        };
        let smtp = match &self.smtp_url {
            Some(url) => {
                let rest = url.strip_prefix("smtp://").context("--smtp-url must be smtp://HOST:PORT")?;
                let (host, port) = match rest.trim_end_matches('/').rsplit_once(':') {
                    Some((h, p)) => (h.to_string(), p.parse().context("--smtp-url: the port is not a number")?),
                    None => (rest.trim_end_matches('/').to_string(), 25),
                };
                Some(SmtpConfig { host, port, from: self.smtp_from.clone() })
            }
            None => None,
        };
        let sms = match &self.sms_base_url {
            Some(base) => {
                http_url("--sms-base-url", base)?;
                let (Some(sid), Some(token), Some(from)) =
                    (&self.sms_account_sid, &self.sms_auth_token, &self.sms_from)
                else {
                    bail!("--sms-base-url needs --sms-account-sid, --sms-from and LADDER_SMS_AUTH_TOKEN");
                };
                Some(SmsConfig {
                    base_url: base.clone(),
                    account_sid: sid.clone(),
                    auth_token: token.clone(),
                    from: from.clone(),
                })
            }
            None => None,
        };
        Ok(DeliveryConfig {
            webhook,
            smtp,
            sms,
            retry: RetryPolicy {
                base: SignedDuration::from_millis(i64::from(self.delivery_retry_base_ms.max(1))),
                cap: SignedDuration::from_secs(i64::from(self.delivery_retry_cap_secs.max(1))),
                max_attempts: self.delivery_max_attempts,
            },
            concurrency: usize::from(self.delivery_concurrency),
            keep_delivered: SignedDuration::from_hours(i64::from(self.deliveries_keep_days) * 24),
        })
    }
}

fn http_url(flag: &str, url: &str) -> anyhow::Result<()> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        bail!("{flag} must be an http:// or https:// URL")
    }
}
