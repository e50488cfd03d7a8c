//! The delivery worker: sends the outbox's notifications, at least once.
//!
//! The outbox rows are written with the events that ask for them (see the store's
//! `outbox`); here they are claimed with a lease (so servers sharing a PostgreSQL database
//! never send a row at the same time, and a dead server's rows are claimed again when its
//! lease ends), sent concurrently, and their outcomes recorded in one write per batch. A
//! failure is retried with exponential backoff and jitter
//! ([`ladder_core::outbox::next_attempt`]) until the row is dead. Every attempt carries the
//! row's idempotency key, so the duplicates at-least-once allows (a crash between sending
//! and recording) can be dropped by the receiver.
//!
//! Channels: `email` over SMTP (lettre, async); `sms` through a Twilio-compatible REST API;
//! `webhook`, `chat`, `push` and `voice` as a JSON POST to the configured webhook endpoint,
//! signed with HMAC-SHA256 over `timestamp + "." + body` in `Ladder-Signature: t=…,v1=…`.

use crate::timers::wait_for_work;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use ladder_core::outbox::{self, RetryPolicy, Template};
use ladder_store::{Delivery, DeliveryOutcome, DeliveryResult, StoreError, StoredTemplate};
use lettre::AsyncTransport;
use rand::RngExt;
use sha2::Sha256;
use tokio::sync::{Notify, watch};

use crate::Engine;

/// How long a server holds the deliveries it claimed: a step claims twice as many as it
/// sends at once, each attempt bounded by [`ATTEMPT_TIMEOUT`], so a step ends well within.
pub const DELIVERY_LEASE: SignedDuration = SignedDuration::from_secs(30);
/// The longest the loop sleeps: other servers' writes do not wake it.
const MAX_IDLE: Duration = Duration::from_secs(1);
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest error text kept for an attempt.
const MAX_ERROR: usize = 500;

/// The header carrying a webhook's signature.
pub const SIGNATURE_HEADER: &str = "Ladder-Signature";

/// Where the notifications go. A channel that is not configured fails its deliveries
/// (retried, then dead), so they show in the deliveries list.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub webhook: Option<WebhookConfig>,
    pub smtp: Option<SmtpConfig>,
    pub sms: Option<SmsConfig>,
    pub retry: RetryPolicy,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// How long a delivered row is kept (the hourly upkeep removes older ones; dead letters
    /// are kept until redelivered).
    pub keep_delivered: jiff::SignedDuration,
}

/// How long delivered rows are kept when nothing else is configured.
pub const DEFAULT_KEEP_DELIVERED: jiff::SignedDuration = jiff::SignedDuration::from_hours(30 * 24);

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            webhook: None,
            smtp: None,
            sms: None,
            retry: RetryPolicy::default(),
            concurrency: 64,
            keep_delivered: DEFAULT_KEEP_DELIVERED,
        }
    }
}

/// The endpoint every `webhook`, `chat`, `push` and `voice` notification is posted to.
#[derive(Clone)]
pub struct WebhookConfig {
    pub url: String,
    /// The HMAC-SHA256 key receivers verify signatures with.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig").field("url", &self.url).field("secret", &"<redacted>").finish()
    }
}

/// An SMTP relay (plain SMTP; TLS is not built in yet).
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The sender, `Name <address>` or an address.
    pub from: String,
}

/// A Twilio-compatible SMS API.
#[derive(Clone)]
pub struct SmsConfig {
    /// e.g. `https://api.twilio.com`.
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    /// The sending number, E.164.
    pub from: String,
}

impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("from", &self.from)
            .finish()
    }
}

/// The worker's shared state: its configuration, senders and the bell a write rings.
#[derive(Default)]
pub(crate) struct DeliveryState {
    senders: Mutex<Option<Arc<Senders>>>,
    wake: Notify,
}

struct Senders {
    config: DeliveryConfig,
    http: reqwest::Client,
    smtp: Option<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>>,
}

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub failed: usize,
}

/// The signature header's value for `body` sent at `unix_seconds`:
/// `t=UNIX_SECONDS,v1=HEX(HMAC-SHA256(secret, "UNIX_SECONDS." + body))`.
pub fn webhook_signature(secret: &[u8], unix_seconds: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix_seconds},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The template for a delivery: the configured one for its key (a rule's template name,
/// else its event kind) in its language, else in English, else the built-in one.
fn template_for(d: &Delivery, templates: &[StoredTemplate]) -> Template {
    let key = d.template.as_deref().unwrap_or(&d.event_kind);
    let find = |lang: &str| templates.iter().find(|t| t.event_kind == key && t.language == lang);
    find(&d.language)
        .or_else(|| find("en"))
        .map(|t| t.template.clone())
        .unwrap_or_else(|| outbox::default_template(&d.event_kind))
}

/// A delivery's words: subject, text body, HTML body.
pub fn render_delivery(template: &Template, placeholders: &BTreeMap<String, String>) -> (String, String, String) {
    let subject = outbox::render(&template.subject, placeholders, false);
    let text = outbox::render(&template.body, placeholders, false);
    let html = format!(
        "<!doctype html><html><body><p>{}</p></body></html>",
        outbox::render(&template.body, placeholders, true)
    );
    (subject, text, html)
}

impl Engine {
    /// Sets where notifications go; the worker uses it from its next sweep.
    pub fn configure_deliveries(&self, config: DeliveryConfig) -> Result<(), String> {
        let http = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .pool_max_idle_per_host(config.concurrency.max(1))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let smtp = config.smtp.as_ref().map(|s| {
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(&s.host)
                .port(s.port)
                .timeout(Some(ATTEMPT_TIMEOUT))
                .build()
        });
        if let Some(s) = &config.smtp {
            s.from.parse::<lettre::message::Mailbox>().map_err(|e| format!("--smtp-from {}: {e}", s.from))?;
        }
        *self.inner.deliveries.senders.lock().expect("delivery lock") = Some(Arc::new(Senders { config, http, smtp }));
        self.inner.deliveries.wake.notify_one();
        Ok(())
    }

    /// Removes delivered rows older than the configured retention (`keep_delivered`) at
    /// `now`; the hourly upkeep calls it.
    pub async fn prune_deliveries(&self, now: Timestamp) -> Result<usize, StoreError> {
        let keep = self.senders().config.keep_delivered;
        self.store.prune_delivered(now - keep).await
    }

    fn senders(&self) -> Arc<Senders> {
        let mut slot = self.inner.deliveries.senders.lock().expect("delivery lock");
        slot.get_or_insert_with(|| {
            Arc::new(Senders { config: DeliveryConfig::default(), http: reqwest::Client::new(), smtp: None })
        })
        .clone()
    }

    /// Called after a case write that queued notifications: wakes the worker.
    pub(crate) fn deliveries_queued(&self) {
        self.inner.deliveries.wake.notify_one();
    }

    /// Sends every delivery due at `now`, in batches; returns what happened.
    pub async fn deliver_due(&self, now: Timestamp) -> Result<DeliveryReport, StoreError> {
        let senders = self.senders();
        let mut report = DeliveryReport::default();
        let batch = (senders.config.concurrency.max(1) * 2) as u32;
        loop {
            let due = self.store.claim_due_deliveries(self.node().to_string(), now, DELIVERY_LEASE, batch).await?;
            let n = due.len();
            if n == 0 {
                return Ok(report);
            }
            let templates = Arc::new(self.store.notification_templates().await?);
            let outcomes: Vec<DeliveryOutcome> = futures_util::stream::iter(due)
                .map(|d| {
                    let (senders, templates, engine) = (senders.clone(), templates.clone(), self.clone());
                    async move {
                        let d = engine.with_portal_url(d).await;
                        let sent = senders.send(&d, &templates).await;
                        let at = engine.now();
                        let result = match sent {
                            Ok(()) => DeliveryResult::Delivered,
                            Err(mut error) => {
                                error.truncate(error.floor_char_boundary(MAX_ERROR));
                                let jitter = rand::rng().random::<u64>();
                                let retry_at = outbox::next_attempt(&senders.config.retry, d.attempts + 1, at, jitter);
                                DeliveryResult::Failed { error, retry_at }
                            }
                        };
                        DeliveryOutcome { id: d.id, at, result }
                    }
                })
                .buffer_unordered(senders.config.concurrency.max(1))
                .collect()
                .await;
            let delivered = outcomes.iter().filter(|o| matches!(o.result, DeliveryResult::Delivered)).count();
            report.delivered += delivered;
            report.failed += outcomes.len() - delivered;
            metrics::counter!("ladder_deliveries_sent_total").increment(delivered as u64);
            metrics::counter!("ladder_delivery_attempts_failed_total").increment((outcomes.len() - delivered) as u64);
            self.store.finish_deliveries(self.node().to_string(), outcomes).await?;
            if n < batch as usize {
                return Ok(report);
            }
        }
    }

    /// The delivery worker: send what is due, sleep until the next due row (at most a
    /// second, or until a write queues one), until `shutdown` turns true.
    pub async fn run_deliveries(self, mut shutdown: watch::Receiver<bool>) {
        if let Err(e) = self.store.release_dead_delivery_claims().await {
            tracing::warn!(error = %e, "could not end the claims of a previous run; they end by themselves");
        }
        loop {
            if *shutdown.borrow() {
                if let Err(e) = self.store.release_deliveries(self.node().to_string()).await {
                    tracing::warn!(error = %e, "could not give back claimed deliveries; their claims end by themselves");
                }
                return;
            }
            let mut pause = Duration::ZERO;
            match self.deliver_due(self.now()).await {
                Ok(r) if r.delivered + r.failed > 0 => {
                    tracing::debug!(delivered = r.delivered, failed = r.failed, "deliveries sent")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not send due deliveries; retrying");
                    pause = Duration::from_secs(1);
                }
            }
            let next = self.store.next_delivery_at().await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not read the next delivery");
                None
            });
            wait_for_work(self.now(), next, MAX_IDLE, pause, &self.inner.deliveries.wake, &mut shutdown).await;
        }
    }
}

impl Senders {
    async fn send(&self, d: &Delivery, templates: &[StoredTemplate]) -> Result<(), String> {
        let (subject, text, html) = render_delivery(&template_for(d, templates), &d.placeholders);
        match d.channel.as_str() {
            "email" => self.email(d, subject, text, html).await,
            "sms" => self.sms(d, text).await,
            _ => self.webhook(d, subject, text).await,
        }
    }

    async fn webhook(&self, d: &Delivery, subject: String, text: String) -> Result<(), String> {
        let Some(hook) = &self.config.webhook else {
            return Err(format!("the {} channel is not configured (serve --webhook-url)", d.channel));
        };
        let body = serde_json::to_vec(&serde_json::json!({
            "delivery_id": d.id,
            "idempotency_key": d.idempotency_key,
            "event": d.event_kind,
            "channel": d.channel,
            "recipient": d.recipient,
            "to": d.address,
            "case": { "id": d.case_id.to_string(), "number": d.case_number },
            "subject": subject,
            "text": text,
        }))
        .map_err(|e| e.to_string())?;
        let signature = webhook_signature(&hook.secret, Timestamp::now().as_second(), &body);
        let answer = self
            .http
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("idempotency-key", &d.idempotency_key)
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("webhook: {e}"))?;
        answered(answer.status())
    }

    async fn sms(&self, d: &Delivery, text: String) -> Result<(), String> {
        let Some(sms) = &self.config.sms else {
            return Err("the sms channel is not configured (serve --sms-base-url)".into());
        };
        let url =
            format!("{}/2010-04-01/Accounts/{}/Messages.json", sms.base_url.trim_end_matches('/'), sms.account_sid);
        let form = serde_urlencoded::to_string([("To", d.address.as_str()), ("From", &sms.from), ("Body", &text)])
            .map_err(|e| e.to_string())?;
        let answer = self
            .http
            .post(url)
            .basic_auth(&sms.account_sid, Some(&sms.auth_token))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("idempotency-key", &d.idempotency_key)
            .body(form)
            .send()
            .await
            .map_err(|e| format!("sms: {e}"))?;
        answered(answer.status())
    }

    async fn email(&self, d: &Delivery, subject: String, text: String, html: String) -> Result<(), String> {
        let (Some(smtp), Some(config)) = (&self.smtp, &self.config.smtp) else {
            return Err("the email channel is not configured (serve --smtp-url)".into());
        };
        let to: lettre::message::Mailbox = d.address.parse().map_err(|e| format!("address {}: {e}", d.address))?;
        let from: lettre::message::Mailbox = config.from.parse().map_err(|e| format!("sender: {e}"))?;
        let message = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            // The same key on every attempt: a receiver sees a resent message as the same one.
            .message_id(Some(format!("<{}@ladder.invalid>", d.idempotency_key)))
            .multipart(lettre::message::MultiPart::alternative_plain_html(text, html))
            .map_err(|e| format!("message: {e}"))?;
        smtp.send(message).await.map(|_| ()).map_err(|e| format!("smtp: {e}"))
    }
}

fn answered(status: reqwest::StatusCode) -> Result<(), String> {
    if status.is_success() { Ok(()) } else { Err(format!("answered HTTP {}", status.as_u16())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            webhook_signature(b"key", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
        );
    }
}

/// A notification template as the API names it: a key (an event kind, or a template name a
/// matrix rule gives) and a language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateKey {
    pub key: String,
    pub language: String,
}

impl TemplateKey {
    /// Checks the key and language: lowercase handles (`escalated`, `vip_page`; `en`, `pt-br`).
    pub fn new(key: &str, language: &str) -> Result<TemplateKey, ladder_core::error::DomainError> {
        let handle = |field: &str, v: &str, max: usize| {
            if v.is_empty()
                || v.len() > max
                || !v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
            {
                Err(ladder_core::error::DomainError::invalid(
                    field,
                    format!("1 to {max} characters of a-z, 0-9, _ and -"),
                ))
            } else {
                Ok(v.to_string())
            }
        };
        Ok(TemplateKey { key: handle("key", key, 64)?, language: handle("language", language, 16)? })
    }
}

impl Engine {
    /// Deliveries matching `filter`, newest first.
    pub async fn deliveries(
        &self,
        principal: &ladder_core::access::Principal,
        filter: ladder_store::DeliveryFilter,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.check(principal, &ladder_core::access::Action::ReadDeliveries)?;
        self.store.deliveries(filter).await
    }

    /// One delivery and its attempts.
    pub async fn delivery(
        &self,
        principal: &ladder_core::access::Principal,
        id: i64,
    ) -> Result<(Delivery, Vec<ladder_store::DeliveryAttempt>), StoreError> {
        self.check(principal, &ladder_core::access::Action::ReadDeliveries)?;
        self.store.delivery(id).await?.ok_or_else(|| StoreError::NotFound(format!("delivery {id}")))
    }

    /// Queues a delivery again, now, with its attempts counted afresh (recorded in the
    /// audit history).
    pub async fn redeliver(
        &self,
        principal: &ladder_core::access::Principal,
        id: i64,
        now: Timestamp,
    ) -> Result<Delivery, StoreError> {
        let action = ladder_core::access::Action::ManageNotifications;
        let d = self
            .permitted(principal, &action, "delivery.redeliver", id, serde_json::json!({}), now)?
            .redeliver(id, now)
            .await?;
        self.deliveries_queued();
        Ok(d)
    }

    /// The configured templates.
    pub async fn notification_templates(
        &self,
        principal: &ladder_core::access::Principal,
    ) -> Result<Vec<StoredTemplate>, StoreError> {
        self.check(principal, &ladder_core::access::Action::ReadDeliveries)?;
        self.store.notification_templates().await
    }

    /// Creates or replaces a template (checked, and recorded in the audit history).
    pub async fn put_notification_template(
        &self,
        principal: &ladder_core::access::Principal,
        key: TemplateKey,
        template: Template,
        now: Timestamp,
    ) -> Result<StoredTemplate, StoreError> {
        outbox::validate_template(&template)?;
        let stored = StoredTemplate { event_kind: key.key, language: key.language, template, updated_at: now };
        let target = format!("{}/{}", stored.event_kind, stored.language);
        self.permitted(
            principal,
            &ladder_core::access::Action::ManageNotifications,
            "template.put",
            target,
            serde_json::json!({ "subject": stored.template.subject }),
            now,
        )?
        .put_notification_template(stored.clone())
        .await?;
        Ok(stored)
    }

    /// Deletes a template (the built-in one applies again).
    pub async fn delete_notification_template(
        &self,
        principal: &ladder_core::access::Principal,
        key: TemplateKey,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let target = format!("{}/{}", key.key, key.language);
        let deleted = self
            .permitted(
                principal,
                &ladder_core::access::Action::ManageNotifications,
                "template.delete",
                &target,
                serde_json::json!({}),
                now,
            )?
            .delete_notification_template(key.key, key.language)
            .await?;
        if deleted { Ok(()) } else { Err(StoreError::NotFound(format!("template {target}"))) }
    }

    /// What a template renders to for a case's recent state: subject, text and HTML, with
    /// the values an event of `key` on case `case_number` would give (the case as it is now).
    pub async fn preview_notification_template(
        &self,
        principal: &ladder_core::access::Principal,
        template: Template,
        event_kind: &str,
        case_number: Option<u64>,
    ) -> Result<(String, String, String), StoreError> {
        self.check(principal, &ladder_core::access::Action::ReadDeliveries)?;
        outbox::validate_template(&template)?;
        let mut values = match case_number {
            Some(n) => {
                let case =
                    self.store.case_by_number(n).await?.ok_or_else(|| StoreError::NotFound(format!("case {n}")))?;
                self.check(principal, &ladder_core::access::Action::ReadCase(&case))?;
                outbox::case_placeholders(&case)
            }
            None => BTreeMap::from([
                ("case.number".to_string(), "1042".to_string()),
                ("case.subject".to_string(), "Invoice <charged twice> & late".to_string()),
                ("case.level".to_string(), "L2".to_string()),
            ]),
        };
        for (k, v) in [
            ("case.priority", "high"),
            ("case.status", "open"),
            ("event.detail", "an example of what happened"),
            ("recipient", "team"),
            ("message.body", "Thanks for waiting: the refund is on its way."),
            ("portal_url", "https://support.example.com/portal/…"),
        ] {
            values.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
        values.insert("event.kind".to_string(), event_kind.to_string());
        Ok(render_delivery(&template, &values))
    }
}
