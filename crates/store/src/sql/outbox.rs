//! The notification outbox (`deliveries`, `delivery_attempts`), its templates and the
//! contacts it resolves recipients to. Rows are written by [`enqueue`] inside the case
//! write's transaction (so a notification exists exactly when its event does), claimed
//! with leases like timers, and finished by [`Store::finish_deliveries`].

use std::collections::BTreeMap;

use jiff::Timestamp;
use ladder_core::case::Case;
use ladder_core::directory::{Customer, User};
use ladder_core::event::RecordedEvent;
use ladder_core::ids::{CaseId, UserId};
use ladder_core::outbox::{self, Template};

use super::{Store, ts_to_us, us_to_ts};
use crate::db::{Arg, Db, Row, args};
use crate::{StoreError, StoreResult};

/// One notification to one address on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub case_id: CaseId,
    pub case_number: u64,
    pub event_kind: String,
    pub recipient: String,
    pub channel: String,
    /// An email address, an E.164 phone number, or for the webhook channels who it is for
    /// (`user:ana`, `customer:ID`).
    pub address: String,
    pub language: String,
    pub template: Option<String>,
    pub placeholders: BTreeMap<String, String>,
    pub idempotency_key: String,
    /// `pending`, `failed` (will be retried), `delivered` or `dead`.
    pub status: String,
    /// Failed attempts since it was queued or redelivered.
    pub attempts: u32,
    pub created_at: Timestamp,
    pub next_attempt_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub at: Timestamp,
    pub node: String,
    pub ok: bool,
    pub error: Option<String>,
}

/// Which deliveries a list shows, newest first.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub case_number: Option<u64>,
    /// Only deliveries with a smaller id (the cursor of the previous page).
    pub before: Option<i64>,
    pub limit: u32,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    Delivered,
    /// Failed; tried again at `retry_at`, or dead when `None`.
    Failed {
        error: String,
        retry_at: Option<Timestamp>,
    },
}

/// An attempt's outcome, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    pub id: i64,
    pub at: Timestamp,
    pub result: DeliveryResult,
}

/// A configured template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTemplate {
    pub event_kind: String,
    pub language: String,
    pub template: Template,
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "id, case_id, case_number, event_kind, recipient, channel, address, language, template, \
     placeholders, idempotency_key, status, attempts, created_at_us, next_attempt_us, delivered_at_us, last_error";

fn delivery(r: &Row) -> StoreResult<Delivery> {
    let case_id: String = r.get(1)?;
    let placeholders: String = r.get(9)?;
    Ok(Delivery {
        id: r.get(0)?,
        case_id: case_id.parse().map_err(|e| StoreError::Internal(format!("delivery case id {case_id}: {e}")))?,
        case_number: r.get::<i64>(2)? as u64,
        event_kind: r.get(3)?,
        recipient: r.get(4)?,
        channel: r.get(5)?,
        address: r.get(6)?,
        language: r.get(7)?,
        template: r.get(8)?,
        placeholders: serde_json::from_str(&placeholders)?,
        idempotency_key: r.get(10)?,
        status: r.get(11)?,
        attempts: r.get::<i64>(12)? as u32,
        created_at: us_to_ts(r.get(13)?),
        next_attempt_at: r.get::<Option<i64>>(14)?.map(us_to_ts),
        delivered_at: r.get::<Option<i64>>(15)?.map(us_to_ts),
        last_error: r.get(16)?,
    })
}

/// Someone a notice resolves to.
struct Person {
    /// `user:NAME` or `customer:ID`.
    who: String,
    email: Option<String>,
    phone: Option<String>,
    language: String,
}

/// Writes the outbox rows for the notifications `recorded` asks for (`case` is the case
/// after it), in the caller's transaction: one row per person and channel. A recipient
/// with no address on the channel (or nobody at all) still gets a row, dead at once with
/// the reason, so the gap shows in the deliveries list rather than nowhere.
pub(crate) fn enqueue(db: &mut Db, case: &Case, recorded: &RecordedEvent) -> StoreResult<()> {
    let notices = outbox::notices(case, &recorded.event);
    if notices.is_empty() {
        return Ok(());
    }
    let mut values = outbox::placeholders(case, &recorded.event);
    let mut n = 0;
    for notice in notices {
        let people = resolve(db, case, &notice.recipient)?;
        values.insert("recipient".into(), notice.recipient.clone());
        let placeholders = serde_json::to_string(&values)?;
        let rows: Vec<(String, Result<String, String>)> = if people.is_empty() {
            vec![("en".into(), Err(format!("{} resolves to nobody", notice.recipient)))]
        } else {
            people
                .into_iter()
                .map(|p| {
                    let address = match notice.channel.as_str() {
                        "email" => p.email.ok_or_else(|| format!("{} has no email address", p.who)),
                        "sms" | "voice" => p.phone.ok_or_else(|| format!("{} has no phone number", p.who)),
                        _ => Ok(p.who.clone()),
                    };
                    (p.language, address)
                })
                .collect()
        };
        for (language, address) in rows {
            n += 1;
            let release = outbox::release_at(recorded.at, notice.not_before);
            let (address, status, next, error) = match address {
                Ok(a) => (a, "pending", Some(ts_to_us(release)), None),
                Err(e) => (String::new(), "dead", None, Some(e)),
            };
            db.defer(
                "INSERT INTO deliveries (case_id, case_number, event_version, event_kind, recipient, channel, address,
                    language, template, placeholders, idempotency_key, status, attempts, created_at_us,
                    next_attempt_us, last_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, ?13, ?14, ?15)",
                args![
                    case.id.to_string(),
                    case.number as i64,
                    recorded.version as i64,
                    notice.event_kind,
                    notice.recipient.as_str(),
                    notice.channel.as_str(),
                    address,
                    language,
                    notice.template.clone(),
                    placeholders.as_str(),
                    format!("{}-{}-{n}", case.id, recorded.version),
                    status,
                    ts_to_us(recorded.at),
                    next,
                    error,
                ],
            )?;
        }
    }
    Ok(())
}

/// The people a recipient names, for `case`.
fn resolve(db: &mut Db, case: &Case, recipient: &str) -> StoreResult<Vec<Person>> {
    const USERS: &str = "SELECT u.id, u.doc, c.address FROM users u
         LEFT JOIN user_contacts c ON c.user_id = u.id AND c.channel = 'sms' WHERE u.active = 1";
    let team_members = |db: &mut Db, team_id: String| -> StoreResult<Vec<Person>> {
        db.rows(
            &format!(
                "{USERS} AND u.id IN (SELECT user_id FROM user_teams WHERE team_id = ?1) ORDER BY u.name LIMIT 100"
            ),
            args![team_id],
            user_person,
        )
    };
    let (kind, name) = recipient.split_once(':').unwrap_or((recipient, ""));
    match (kind, name) {
        ("assignee", _) => match case.assignee {
            Some(id) => db.rows(&format!("{USERS} AND u.id = ?1"), args![id.to_string()], user_person),
            None => Ok(Vec::new()),
        },
        ("team", "") => match case.team {
            Some(id) => team_members(db, id.to_string()),
            None => Ok(Vec::new()),
        },
        ("team" | "on_call", slug) => {
            let id: Option<String> = db.value_opt("SELECT id FROM teams WHERE slug = ?1", args![slug])?;
            match id {
                Some(id) => team_members(db, id),
                None => Ok(Vec::new()),
            }
        }
        ("role", role) => {
            db.rows(&format!("{USERS} AND u.role = ?1 ORDER BY u.name LIMIT 100"), args![role], user_person)
        }
        ("user", name) => db.rows(&format!("{USERS} AND u.name = ?1"), args![name], user_person),
        ("customer", _) => {
            let Some(id) = case.customer else { return Ok(Vec::new()) };
            let doc: Option<String> = db.value_opt("SELECT doc FROM customers WHERE id = ?1", args![id.to_string()])?;
            let Some(doc) = doc else { return Ok(Vec::new()) };
            let customer: Customer = serde_json::from_str(&doc)?;
            let identity = |channel: &str| {
                customer.identities.iter().find(|i| i.channel.as_str() == channel).map(|i| i.value.clone())
            };
            Ok(vec![Person {
                who: format!("customer:{}", customer.id),
                email: identity("email"),
                phone: identity("phone").or_else(|| identity("sms")),
                language: customer.language.clone().unwrap_or_else(|| "en".into()),
            }])
        }
        _ => Ok(Vec::new()),
    }
}

fn user_person(r: &Row) -> StoreResult<Person> {
    let doc: String = r.get(1)?;
    let user: User = serde_json::from_str(&doc)?;
    Ok(Person { who: format!("user:{}", user.name), email: user.email, phone: r.get(2)?, language: "en".into() })
}

impl Store {
    /// Removes the deliveries delivered before `before`, with their attempts; dead letters
    /// and rows still waiting are kept (a dead letter stays until redelivered). Answers how
    /// many deliveries went.
    pub async fn prune_delivered(&self, before: jiff::Timestamp) -> StoreResult<usize> {
        self.write(move |tx| {
            let before = ts_to_us(before);
            tx.exec(
                "DELETE FROM delivery_attempts WHERE delivery_id IN
                 (SELECT id FROM deliveries WHERE status = 'delivered' AND delivered_at_us < ?1)",
                args![before],
            )?;
            Ok(tx.exec("DELETE FROM deliveries WHERE status = 'delivered' AND delivered_at_us < ?1", args![before])?)
        })
        .await
    }

    /// When a delivery next needs a server: the soonest unclaimed due instant, or the
    /// soonest end of a claim.
    pub async fn next_delivery_at(&self) -> StoreResult<Option<Timestamp>> {
        self.read(|db| {
            let free: Option<i64> = db.value_opt(
                "SELECT next_attempt_us FROM deliveries WHERE next_attempt_us IS NOT NULL AND lease_until_us IS NULL
                 ORDER BY next_attempt_us LIMIT 1",
                args![],
            )?;
            let lease_ends: Option<i64> = db.value_opt(
                "SELECT lease_until_us FROM deliveries WHERE lease_until_us IS NOT NULL ORDER BY lease_until_us LIMIT 1",
                args![],
            )?;
            Ok(free.into_iter().chain(lease_ends).min().map(us_to_ts))
        })
        .await
    }

    /// Claims up to `limit` deliveries due at `now` for server `node` until `now + lease`,
    /// soonest first, as [`Store::claim_due_timers`] claims timers: on PostgreSQL in a short
    /// transaction of its own that skips rows another server is claiming.
    pub async fn claim_due_deliveries(
        &self,
        node: String,
        now: Timestamp,
        lease: jiff::SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        let claim = move |db: &mut Db| -> StoreResult<Vec<Delivery>> {
            let sql = format!(
                "UPDATE deliveries SET lease_until_us = ?1, lease_node = ?2
                 WHERE id IN (
                    SELECT id FROM deliveries
                    WHERE next_attempt_us <= ?3 AND (lease_until_us IS NULL OR lease_until_us <= ?3)
                    ORDER BY next_attempt_us LIMIT ?4{})
                 RETURNING {COLUMNS}",
                if db.is_postgres() { " FOR UPDATE SKIP LOCKED" } else { "" }
            );
            let mut due = db.rows(&sql, args![ts_to_us(now + lease), node.as_str(), ts_to_us(now), limit], delivery)?;
            due.sort_by_key(|d| d.id);
            Ok(due)
        };
        if self.is_postgres() { self.read(claim).await } else { self.write(move |tx| claim(tx)).await }
    }

    /// Records how attempts ended, in one write: the delivery's state and an attempt row each.
    pub async fn finish_deliveries(&self, node: String, outcomes: Vec<DeliveryOutcome>) -> StoreResult<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        self.write(move |db| {
            for o in &outcomes {
                let at = ts_to_us(o.at);
                match &o.result {
                    DeliveryResult::Delivered => db.defer(
                        "UPDATE deliveries SET status = 'delivered', delivered_at_us = ?2, next_attempt_us = NULL,
                            lease_until_us = NULL, lease_node = NULL, last_error = NULL WHERE id = ?1",
                        args![o.id, at],
                    )?,
                    DeliveryResult::Failed { error, retry_at } => db.defer(
                        "UPDATE deliveries SET status = ?2, attempts = attempts + 1, next_attempt_us = ?3,
                            lease_until_us = NULL, lease_node = NULL, last_error = ?4
                         WHERE id = ?1 AND status <> 'delivered'",
                        args![
                            o.id,
                            if retry_at.is_some() { "failed" } else { "dead" },
                            retry_at.map(ts_to_us),
                            error.as_str()
                        ],
                    )?,
                }
                let (ok, error) = match &o.result {
                    DeliveryResult::Delivered => (1i64, None),
                    DeliveryResult::Failed { error, .. } => (0, Some(error.as_str())),
                };
                db.defer(
                    "INSERT INTO delivery_attempts (delivery_id, at_us, node, ok, error) VALUES (?1, ?2, ?3, ?4, ?5)",
                    args![o.id, at, node.as_str(), ok, error],
                )?;
            }
            Ok(())
        })
        .await
    }

    /// Gives claimed deliveries back (a server shutting down).
    pub async fn release_deliveries(&self, node: String) -> StoreResult<u64> {
        self.write(move |db| {
            Ok(db.exec(
                "UPDATE deliveries SET lease_until_us = NULL, lease_node = NULL WHERE lease_node = ?1",
                args![node.as_str()],
            )? as u64)
        })
        .await
    }

    /// At a server's start: on SQLite, where one server owns the database, the claims of a
    /// server that died (a kill -9) are ended at once rather than when their leases run out.
    /// On PostgreSQL other servers may be at work, so their claims are left to end.
    pub async fn release_dead_delivery_claims(&self) -> StoreResult<u64> {
        if self.is_postgres() {
            return Ok(0);
        }
        self.write(|db| {
            Ok(db.exec(
                "UPDATE deliveries SET lease_until_us = NULL, lease_node = NULL WHERE lease_until_us IS NOT NULL",
                args![],
            )? as u64)
        })
        .await
    }

    /// Queues a delivery again at `now` with its attempts counted afresh (a dead or failed
    /// one, or a delivered one sent once more — with the same idempotency key).
    pub async fn redeliver(&self, id: i64, now: Timestamp) -> StoreResult<Delivery> {
        self.write(move |db| {
            let changed = db.exec(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_us = ?2,
                    lease_until_us = NULL, lease_node = NULL WHERE id = ?1 AND address <> ''",
                args![id, ts_to_us(now)],
            )?;
            if changed == 0 {
                let exists: Option<i64> = db.value_opt("SELECT id FROM deliveries WHERE id = ?1", args![id])?;
                return Err(match exists {
                    Some(_) => StoreError::Domain(ladder_core::error::DomainError::invalid(
                        "id",
                        "this delivery has no address to send to; fix the directory, the next notification will use it",
                    )),
                    None => StoreError::NotFound(format!("delivery {id}")),
                });
            }
            db.rows(&format!("SELECT {COLUMNS} FROM deliveries WHERE id = ?1"), args![id], delivery)?
                .pop()
                .ok_or_else(|| StoreError::NotFound(format!("delivery {id}")))
        })
        .await
    }

    /// One delivery and its attempts, oldest first.
    pub async fn delivery(&self, id: i64) -> StoreResult<Option<(Delivery, Vec<DeliveryAttempt>)>> {
        self.read(move |db| {
            let Some(d) =
                db.rows(&format!("SELECT {COLUMNS} FROM deliveries WHERE id = ?1"), args![id], delivery)?.pop()
            else {
                return Ok(None);
            };
            let attempts = db.rows(
                "SELECT at_us, node, ok, error FROM delivery_attempts WHERE delivery_id = ?1 ORDER BY id LIMIT 1000",
                args![id],
                |r| {
                    Ok(DeliveryAttempt {
                        at: us_to_ts(r.get(0)?),
                        node: r.get(1)?,
                        ok: r.get::<i64>(2)? != 0,
                        error: r.get(3)?,
                    })
                },
            )?;
            Ok(Some((d, attempts)))
        })
        .await
    }

    /// Deliveries matching `filter`, newest first.
    pub async fn deliveries(&self, filter: DeliveryFilter) -> StoreResult<Vec<Delivery>> {
        self.read(move |db| {
            let mut sql = format!("SELECT {COLUMNS} FROM deliveries WHERE 1 = 1");
            let mut params: Vec<Arg<'static>> = Vec::new();
            let mut param = |sql: &mut String, clause: &str, value: Arg<'static>| {
                params.push(value);
                sql.push_str(&clause.replace('#', &format!("?{}", params.len())));
            };
            if let Some(status) = filter.status {
                param(&mut sql, " AND status = #", Arg::from(status));
            }
            if let Some(channel) = filter.channel {
                param(&mut sql, " AND channel = #", Arg::from(channel));
            }
            if let Some(number) = filter.case_number {
                param(&mut sql, " AND case_number = #", Arg::from(number as i64));
            }
            if let Some(before) = filter.before {
                param(&mut sql, " AND id < #", Arg::from(before));
            }
            param(&mut sql, " ORDER BY id DESC LIMIT #", Arg::from(i64::from(filter.limit.clamp(1, 1000))));
            db.rows(&sql, &params, delivery)
        })
        .await
    }

    /// How many deliveries are in each status.
    pub async fn delivery_counts(&self) -> StoreResult<BTreeMap<String, u64>> {
        self.read(|db| {
            let rows = db.rows("SELECT status, count(*) FROM deliveries GROUP BY status", args![], |r| {
                Ok((r.get::<String>(0)?, r.get::<i64>(1)? as u64))
            })?;
            Ok(rows.into_iter().collect())
        })
        .await
    }

    /// The configured templates, by event kind and language.
    pub async fn notification_templates(&self) -> StoreResult<Vec<StoredTemplate>> {
        self.read(|db| {
            db.rows(
                "SELECT event_kind, language, subject, body, updated_at_us FROM notification_templates
                 ORDER BY event_kind, language LIMIT 1000",
                args![],
                |r| {
                    Ok(StoredTemplate {
                        event_kind: r.get(0)?,
                        language: r.get(1)?,
                        template: Template { subject: r.get(2)?, body: r.get(3)? },
                        updated_at: us_to_ts(r.get(4)?),
                    })
                },
            )
        })
        .await
    }

    /// Saves (creates or replaces) the template of an event kind in a language.
    pub async fn put_notification_template(&self, t: StoredTemplate) -> StoreResult<()> {
        self.write(move |db| {
            db.exec(
                "INSERT INTO notification_templates (event_kind, language, subject, body, updated_at_us)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (event_kind, language) DO UPDATE SET
                    subject = excluded.subject, body = excluded.body, updated_at_us = excluded.updated_at_us",
                args![
                    t.event_kind.as_str(),
                    t.language.as_str(),
                    t.template.subject.as_str(),
                    t.template.body.as_str(),
                    ts_to_us(t.updated_at)
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Removes a template (the built-in one applies again); whether there was one.
    pub async fn delete_notification_template(&self, event_kind: String, language: String) -> StoreResult<bool> {
        self.write(move |db| {
            Ok(db.exec(
                "DELETE FROM notification_templates WHERE event_kind = ?1 AND language = ?2",
                args![event_kind.as_str(), language.as_str()],
            )? > 0)
        })
        .await
    }

    /// Sets (or with `None` clears) the number a user is reached at by SMS.
    pub async fn set_user_phone(&self, user_id: UserId, phone: Option<String>) -> StoreResult<()> {
        self.write(move |db| {
            match phone {
                Some(p) => db.exec(
                    "INSERT INTO user_contacts (user_id, channel, address) VALUES (?1, 'sms', ?2)
                     ON CONFLICT (user_id, channel) DO UPDATE SET address = excluded.address",
                    args![user_id.to_string(), p],
                )?,
                None => db.exec(
                    "DELETE FROM user_contacts WHERE user_id = ?1 AND channel = 'sms'",
                    args![user_id.to_string()],
                )?,
            };
            Ok(())
        })
        .await
    }
}
