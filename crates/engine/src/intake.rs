//! Inbound email: the one intake behind `POST /api/v1/inbound/email` and the SMTP listener.
//! A raw message is parsed and classified ([`ladder_core::email::parse`]) on a blocking
//! thread (one per core at a time), then threaded: onto the case an earlier message of the
//! thread went into (Message-ID, `In-Reply-To`, `References`), else onto the case its subject
//! names as `[#1234]` when the sender is that case's customer, else into a new case for the
//! sender (the customer holding the address, or a new one — in the same write). The message's
//! Message-ID and attachments are kept in the write that records it; the answer comes after
//! the commit. Auto-replies, bounces and loops are counted and make no case.

use std::sync::OnceLock;

use jiff::Timestamp;
use ladder_core::access::{Action, Principal};
use ladder_core::case::{Case, Channel, Priority, Visibility};
use ladder_core::command::AddMessage;
use ladder_core::email::{Declined, EmailRefusal, InboundEmail, Parsed};
use ladder_core::ids::CaseId;
use ladder_store::{MailRecord, StoreError};
use tokio::sync::Semaphore;

use crate::{CaseRequest, Engine, OpenRequest};

/// What an inbound message brings, whatever its channel: for [`Engine::deliver_inbound`].
pub(crate) struct InboundMessage {
    pub channel: Channel,
    /// The subject a new case gets.
    pub subject: String,
    pub body: String,
    pub requester: ladder_core::directory::Requester,
    /// The team a new case goes to.
    pub team: Option<String>,
}

/// How this server takes in mail.
#[derive(Debug, Clone)]
pub struct MailIntake {
    /// The domain of the Message-IDs Ladder writes: a message carrying one is a loop.
    pub own_domain: String,
    /// The team (slug or id) new cases from email go to; `None`: the intake's own rules
    /// (the case waits without a team for a supervisor to place it).
    pub team: Option<String>,
}

impl Default for MailIntake {
    fn default() -> Self {
        MailIntake { own_domain: DEFAULT_MAIL_DOMAIN.into(), team: None }
    }
}

/// The Message-ID domain when none is configured.
pub const DEFAULT_MAIL_DOMAIN: &str = "ladder.invalid";

/// What the intake did with a message.
#[derive(Debug, Clone)]
pub enum Intake {
    /// A new case for the sender.
    Opened(Box<Case>),
    /// Added to an existing case as the customer's message.
    Threaded(Box<Case>),
    /// Taken in, but no case: an auto-reply, a bounce, a loop (counted per reason).
    Declined(Declined),
    /// This Message-ID was taken in before (an MTA's retry); nothing changed.
    Duplicate(CaseId),
}

/// Why a message was not taken in.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Refused(#[from] EmailRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Parses on a blocking thread, at most one message per core at a time.
pub async fn parse_off_workers(raw: Vec<u8>, own_domain: String) -> Result<Parsed, IntakeError> {
    static PARSERS: OnceLock<Semaphore> = OnceLock::new();
    let permits = PARSERS.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));
    let _permit = permits.acquire().await.map_err(|_| StoreError::Internal("the parsers are closed".into()))?;
    tokio::task::spawn_blocking(move || ladder_core::email::parse(&raw, &own_domain))
        .await
        .map_err(|e| StoreError::Internal(format!("parsing a message failed: {e}")))?
        .map_err(IntakeError::from)
}

/// The case message an email becomes: its text, and a line for each attachment left out.
fn message_text(email: &InboundEmail) -> String {
    let mut text = if email.text.trim().is_empty() { "(no text)".to_string() } else { email.text.clone() };
    for a in &email.attachments {
        text.push_str(&format!("\n[attachment: {} ({}, {} bytes)]", a.filename, a.content_type, a.bytes.len()));
    }
    for note in &email.left_out {
        text.push_str(&format!("\n[attachment left out: {note}]"));
    }
    text
}

impl Engine {
    /// Takes in one raw RFC 5322 message for `principal` (an integration allowed
    /// [`Action::TakeInMail`]). See the module's documentation for the rules.
    pub async fn take_in_email(
        &self,
        principal: &Principal,
        raw: Vec<u8>,
        intake: &MailIntake,
        now: Timestamp,
    ) -> Result<Intake, IntakeError> {
        self.check(principal, &Action::TakeInMail)?;
        let now = ladder_core::instant::truncate(now);
        let email = match parse_off_workers(raw, intake.own_domain.clone()).await? {
            Parsed::Decline(reason) => {
                self.store.count_declined(reason.as_str(), now).await?;
                return Ok(Intake::Declined(reason));
            }
            Parsed::Accept(email) => email,
        };
        if let Some(case) = self.store.case_of_messages(vec![email.message_id.clone()]).await? {
            return Ok(Intake::Duplicate(case));
        }
        self.take_in_parsed(principal, &email, intake, now).await
    }

    /// Threads a parsed message (the second half of [`Engine::take_in_email`]; the
    /// benchmark calls it with messages parsed beforehand).
    pub async fn take_in_parsed(
        &self,
        principal: &Principal,
        email: &InboundEmail,
        intake: &MailIntake,
        now: Timestamp,
    ) -> Result<Intake, IntakeError> {
        let mail = MailRecord {
            message_id: email.message_id.clone(),
            thread: None,
            attachments: email.attachments.clone(),
            at: now,
        };
        let target = self.thread_of(email).await?;
        let subject = if email.subject.trim().is_empty() { "(no subject)".to_string() } else { email.subject.clone() };
        let message = InboundMessage {
            channel: Channel::Email,
            subject,
            body: message_text(email),
            requester: email.from.clone(),
            team: intake.team.clone(),
        };
        Ok(self.deliver_inbound(principal, message, target, mail, now).await?)
    }

    /// A customer's inbound message (an email, an SMS, a chat or social message, a call
    /// starting) onto `target`, the case it threads to; when there is none, or that case is
    /// closed, a new case for its requester. `mail` records the message's id (and the thread
    /// key later contacts find the case by) in the same write, so a message delivered twice —
    /// a provider's retry racing the first delivery — is a [`Intake::Duplicate`].
    pub(crate) async fn deliver_inbound(
        &self,
        principal: &Principal,
        message: InboundMessage,
        target: Option<CaseId>,
        mail: MailRecord,
        now: Timestamp,
    ) -> Result<Intake, StoreError> {
        let message_id = mail.message_id.clone();
        match self.thread_or_open(principal, message, target, mail, now).await {
            Err(StoreError::Duplicate(_)) => match self.store.case_of_messages(vec![message_id]).await? {
                Some(case) => Ok(Intake::Duplicate(case)),
                None => Err(StoreError::Internal("a duplicate message without its case".into())),
            },
            other => other,
        }
    }

    async fn thread_or_open(
        &self,
        principal: &Principal,
        message: InboundMessage,
        target: Option<CaseId>,
        mail: MailRecord,
        now: Timestamp,
    ) -> Result<Intake, StoreError> {
        if let Some(case_id) = target {
            let add = AddMessage {
                visibility: Visibility::Public,
                channel: Some(message.channel),
                body: message.body.clone(),
                from_customer: true,
                resume: false,
            };
            let request = CaseRequest::AddMessage(add);
            match self.run_for(principal, case_id, request, None, Some(mail.clone()), None, None, now).await {
                Ok(outcome) => return Ok(Intake::Threaded(Box::new(outcome.case))),
                // A closed case takes no more messages: the message opens a new case.
                Err(StoreError::Domain(ladder_core::DomainError::InvalidTransition { .. })) => {}
                Err(e) => return Err(e),
            }
        }
        let open = OpenRequest {
            subject: message.subject,
            description: message.body,
            category: None,
            channel: message.channel,
            priority: Priority::Normal,
            level: None,
            team: message.team,
            assignee: None,
            customer: None,
            tags: Default::default(),
            custom_fields: Default::default(),
        };
        let request = CaseRequest::Open(open);
        let outcome = self
            .run_for(principal, CaseId::new_v7(), request, Some(message.requester), Some(mail), None, None, now)
            .await?;
        Ok(Intake::Opened(Box::new(outcome.case)))
    }

    /// The case a message belongs to: by its thread's Message-IDs, else by the case its
    /// subject names when the sender is that case's customer.
    async fn thread_of(&self, email: &InboundEmail) -> Result<Option<CaseId>, IntakeError> {
        if let Some(case) = self.store.case_of_messages(email.references.clone()).await? {
            return Ok(Some(case));
        }
        let Some(number) = email.case_number else { return Ok(None) };
        let Some(case) = self.store.case_by_number(number).await? else { return Ok(None) };
        let identities = email.from.identities("from").map_err(StoreError::from)?;
        let sender = self.store.customer_by_identities(identities).await?;
        Ok(sender.filter(|c| case.customer == Some(c.id)).map(|_| case.id))
    }

    /// Messages the intake declined, per reason (`auto_reply`, `bulk`, `bounce`, `loop`).
    pub async fn declined_mail(&self, principal: &Principal) -> Result<Vec<(String, u64)>, StoreError> {
        self.check(principal, &Action::TakeInMail)?;
        self.store.declined_counts().await
    }
}
