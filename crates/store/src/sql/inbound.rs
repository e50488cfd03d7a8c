//! Inbound email beside its case: Message-IDs for threading, attachments, and the count of
//! messages the intake declined (auto-replies, bounces, loops).

use ladder_core::ids::CaseId;

use super::cases::execute_case;
use super::{Store, Tx, ts_to_us, us_to_ts};
use crate::db::{DbErrorKind, args};
use crate::{AttachmentInfo, CaseOutcome, CaseWrite, MailRecord, StoreError, StoreResult};

/// Records `mail` with the case it was taken into, in the case write's transaction. A
/// Message-ID already taken in is a [`StoreError::Duplicate`].
pub(crate) fn record_mail(tx: &mut Tx, case_id: CaseId, mail: &MailRecord) -> StoreResult<()> {
    let at = ts_to_us(mail.at);
    tx.exec(
        "INSERT INTO email_messages (message_id, case_id, at_us) VALUES (?1, ?2, ?3)",
        args![&mail.message_id, case_id.to_string(), at],
    )
    .map_err(|e| match e.kind {
        DbErrorKind::Unique => StoreError::Duplicate(format!("the message <{}> was taken in before", mail.message_id)),
        _ => e.into(),
    })?;
    if let Some(thread) = &mail.thread {
        tx.exec(
            "INSERT INTO email_messages (message_id, case_id, at_us) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            args![thread, case_id.to_string(), at],
        )?;
    }
    for a in &mail.attachments {
        tx.exec(
            "INSERT INTO attachments (id, case_id, message_id, filename, content_type, size, bytes, at_us)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            args![
                uuid::Uuid::now_v7().to_string(),
                case_id.to_string(),
                &mail.message_id,
                &a.filename,
                &a.content_type,
                a.bytes.len() as i64,
                a.bytes.as_slice(),
                at
            ],
        )?;
    }
    Ok(())
}

impl Store {
    /// A case write that takes in an email: the case's events, the message's Message-ID
    /// and its attachments commit together.
    pub async fn execute_with_mail(&self, write: CaseWrite, mail: MailRecord) -> StoreResult<CaseOutcome> {
        self.write(move |tx| {
            let case_id = write.case_id;
            let outcome = execute_case(tx, write)?;
            record_mail(tx, case_id, &mail)?;
            Ok(outcome)
        })
        .await
    }

    /// The case an email with one of these Message-IDs went into (the first known, in order).
    pub async fn case_of_messages(&self, message_ids: Vec<String>) -> StoreResult<Option<CaseId>> {
        self.read(move |db| {
            for id in &message_ids {
                let case: Option<String> =
                    db.value_opt("SELECT case_id FROM email_messages WHERE message_id = ?1", args![id])?;
                if let Some(case) = case {
                    return case.parse().map(Some).map_err(|_| StoreError::Internal(format!("case id '{case}'")));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Counts a message the intake declined, under its reason and the day (UTC).
    pub async fn count_declined(&self, reason: &'static str, at: jiff::Timestamp) -> StoreResult<()> {
        let day = at.strftime("%Y-%m-%d").to_string();
        self.write(move |tx| {
            tx.exec(
                "INSERT INTO inbound_declined (day, reason, count) VALUES (?1, ?2, 1)
                 ON CONFLICT (day, reason) DO UPDATE SET count = inbound_declined.count + 1",
                args![day, reason],
            )?;
            Ok(())
        })
        .await
    }

    /// Messages the intake declined, per reason, over all days.
    pub async fn declined_counts(&self) -> StoreResult<Vec<(String, u64)>> {
        self.read(|db| {
            db.rows("SELECT reason, sum(count) FROM inbound_declined GROUP BY reason ORDER BY reason", args![], |r| {
                Ok((r.get::<String>(0)?, r.get::<i64>(1)? as u64))
            })
        })
        .await
    }

    /// The attachments kept with a case, oldest first (without their bytes).
    pub async fn attachments(&self, case_id: CaseId) -> StoreResult<Vec<AttachmentInfo>> {
        self.read(move |db| {
            db.rows(
                "SELECT id, message_id, filename, content_type, size, at_us FROM attachments
                 WHERE case_id = ?1 ORDER BY at_us, id",
                args![case_id.to_string()],
                |r| {
                    Ok(AttachmentInfo {
                        id: r.get(0)?,
                        message_id: r.get(1)?,
                        filename: r.get(2)?,
                        content_type: r.get(3)?,
                        size: r.get::<i64>(4)? as u64,
                        at: us_to_ts(r.get(5)?),
                    })
                },
            )
        })
        .await
    }
}
