//! SMS, chat, social and voice contacts: the intake behind `POST /api/v1/inbound/sms`
//! (Twilio's webhook) and `POST /api/v1/inbound/contact` (Ladder's signed JSON webhook).
//!
//! Both authenticate by a signature over the request, checked here with the secret the
//! server was configured with ([`twilio_signature`], [`verify_contact_signature`]); a request
//! that passes acts as [`Principal::signed_webhook`], the only principal allowed
//! [`Action::TakeInContacts`]. A contact then lands like an email: the customer found by
//! phone (E.164) or `platform:handle`, or created in the same write; threaded onto the case
//! of its conversation or call, else onto the customer's open case (a customer's message
//! there counts as a repeat contact), else a new case on its channel. Each SMS and event is
//! taken in once: its id (`sms:MessageSid`, `contact:ID`) is kept with the write that records
//! it, in the table that keeps emails' Message-IDs, so a provider's retry is a duplicate.

use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use ladder_core::DomainError;
use ladder_core::access::{Action, Principal};
use ladder_core::case::{Channel, Status, Visibility};
use ladder_core::command::AddMessage;
use ladder_core::directory::{Requester, normalise_handle, normalise_phone};
use ladder_core::event::{EscalationKind, Initiator};
use ladder_core::ids::{CaseId, CustomerId};
use ladder_store::{MailRecord, StoreError};
use serde::Deserialize;
use sha1::Sha1;
use sha2::Sha256;

use crate::intake::InboundMessage;
use crate::{CaseRequest, Engine, Escalation, Intake};

/// The most media references one SMS may carry (Twilio sends at most 10).
pub const MAX_MEDIA: usize = 10;
/// The longest text of one message or note taken in, in characters.
pub const MAX_CONTACT_TEXT: usize = 65_536;
/// The longest id (event, conversation, call, MessageSid) taken, in bytes.
pub const MAX_ID_BYTES: usize = 200;
/// How far a contact webhook's signed timestamp may be from the server's clock.
pub const SIGNATURE_TOLERANCE: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// How this server takes in SMS and contacts; each webhook is off without its secret.
#[derive(Debug, Clone, Default)]
pub struct ContactIntake {
    /// Twilio's signing key (the account's auth token) and the public base URL Twilio
    /// posts to (`https://help.example.com`): the URL it signs is this plus the route.
    pub sms: Option<SmsSigning>,
    /// The HMAC-SHA256 key of `POST /api/v1/inbound/contact` (`Ladder-Signature`).
    pub contact_secret: Option<Vec<u8>>,
    /// The team (slug or id) new cases from these channels go to.
    pub team: Option<String>,
}

/// What Twilio's `X-Twilio-Signature` is checked with. The token never reaches a log: its
/// `Debug` is redacted.
#[derive(Clone)]
pub struct SmsSigning {
    pub auth_token: Vec<u8>,
    pub public_url: String,
}

impl std::fmt::Debug for SmsSigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsSigning").field("auth_token", &"<redacted>").field("public_url", &self.public_url).finish()
    }
}

/// Twilio's request signature: base64 of the HMAC-SHA1, keyed with the auth token, of the
/// full URL Twilio posted to followed by each POST parameter's name and value, sorted by
/// name (then value).
pub fn twilio_signature(auth_token: &[u8], url: &str, params: &[(String, String)]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(twilio_mac(auth_token, url, params).finalize().into_bytes())
}

/// Whether `signature` (the `X-Twilio-Signature` header) is Twilio's for this request,
/// compared in constant time.
pub fn twilio_signature_is_valid(auth_token: &[u8], url: &str, params: &[(String, String)], signature: &str) -> bool {
    use base64::Engine as _;
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else { return false };
    twilio_mac(auth_token, url, params).verify_slice(&given).is_ok()
}

fn twilio_mac(auth_token: &[u8], url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(auth_token).expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// Why a contact webhook's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRefusal {
    #[error("the Ladder-Signature header is missing")]
    Missing,
    #[error("the Ladder-Signature header is not t=UNIX_SECONDS,v1=HEX")]
    Malformed,
    #[error("the signature's timestamp is more than 5 minutes from the server's clock (a replay?)")]
    Stale,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks `Ladder-Signature: t=…,v1=…` (the scheme of Ladder's outbound webhooks,
/// [`crate::deliveries::webhook_signature`]) over the raw body: HMAC-SHA256 of
/// `t + "." + body`, compared in constant time, `t` within [`SIGNATURE_TOLERANCE`] of `now`.
pub fn verify_contact_signature(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<(), SignatureRefusal> {
    let header = header.ok_or(SignatureRefusal::Missing)?;
    let (mut t, mut v1) = (None, Vec::new());
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1.push(hex::decode(value).map_err(|_| SignatureRefusal::Malformed)?),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureRefusal::Malformed)?;
    if v1.is_empty() {
        return Err(SignatureRefusal::Malformed);
    }
    let skew = (now.as_second() - t).unsigned_abs();
    if skew > SIGNATURE_TOLERANCE.as_secs().unsigned_abs() {
        return Err(SignatureRefusal::Stale);
    }
    let valid = v1.iter().any(|given| {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(given).is_ok()
    });
    if valid { Ok(()) } else { Err(SignatureRefusal::Mismatch) }
}

/// An SMS as Twilio's webhook posts it (`From`, `To`, `Body`, `MessageSid`, `NumMedia`,
/// `MediaUrl0` …); the media are kept as references, never fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundSms {
    pub message_sid: String,
    pub from: String,
    pub to: String,
    pub body: String,
    /// Each media's URL and content type.
    pub media: Vec<(String, String)>,
}

impl InboundSms {
    /// Reads Twilio's form parameters; the error names the parameter.
    pub fn from_params(params: &[(String, String)]) -> Result<InboundSms, DomainError> {
        let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let required = |name: &str| {
            get(name).filter(|v| !v.trim().is_empty()).ok_or_else(|| DomainError::invalid(name, "is required"))
        };
        let message_sid = required("MessageSid")?;
        if message_sid.len() > MAX_ID_BYTES {
            return Err(DomainError::invalid("MessageSid", format!("is longer than {MAX_ID_BYTES} bytes")));
        }
        let from = required("From")?;
        let body = get("Body").unwrap_or_default();
        if body.chars().count() > MAX_CONTACT_TEXT {
            return Err(DomainError::invalid("Body", format!("is longer than {MAX_CONTACT_TEXT} characters")));
        }
        let n_media =
            match get("NumMedia") {
                None => 0,
                Some(n) => n.trim().parse::<usize>().ok().filter(|n| *n <= MAX_MEDIA).ok_or_else(|| {
                    DomainError::invalid("NumMedia", format!("must be a number from 0 to {MAX_MEDIA}"))
                })?,
            };
        let mut media = Vec::new();
        for i in 0..n_media {
            let url = required(&format!("MediaUrl{i}"))?;
            if url.len() > 2048 {
                return Err(DomainError::invalid(format!("MediaUrl{i}"), "is longer than 2048 bytes"));
            }
            let kind = get(&format!("MediaContentType{i}")).unwrap_or_else(|| "application/octet-stream".into());
            media.push((url, kind.chars().take(200).collect()));
        }
        if body.trim().is_empty() && media.is_empty() {
            return Err(DomainError::invalid("Body", "an SMS needs a body or media"));
        }
        Ok(InboundSms { message_sid, from, to: get("To").unwrap_or_default(), body, media })
    }

    fn text(&self) -> String {
        let mut text = if self.body.trim().is_empty() { "(no text)".to_string() } else { self.body.clone() };
        for (url, kind) in &self.media {
            text.push_str(&format!("\n[media: {url} ({kind})]"));
        }
        text
    }
}

/// What happened, in a contact webhook's body (`kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// A chat or social message from the customer.
    Message,
    /// A call reached the company.
    CallStarted,
    /// The caller chose an option of the phone menu.
    IvrChoice,
    /// The call was transferred (to a supervisor: an escalation).
    Transferred,
    /// The call ended.
    Ended,
}

/// One event of `POST /api/v1/inbound/contact`. Which fields are needed depends on `kind`
/// (see docs/channels.md).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = ContactEvent))]
#[serde(deny_unknown_fields)]
pub struct ContactEvent {
    /// The event's unique id: an event taken in before is a duplicate.
    #[cfg_attr(feature = "schema", schema(min_length = 1, max_length = 200))]
    pub id: String,
    pub kind: ContactKind,
    /// `chat` (default) or `social`, for a `message`.
    pub channel: Option<Channel>,
    /// The platform (`whatsapp`, `webchat`, `twitter` …): with `handle`, the customer's
    /// identity `platform:handle`.
    pub platform: Option<String>,
    pub handle: Option<String>,
    /// The customer's phone number in international form (a call's caller).
    pub phone: Option<String>,
    /// The customer's name, for a customer not known yet.
    pub name: Option<String>,
    /// A `message`'s conversation: its messages thread onto one case.
    pub conversation_id: Option<String>,
    /// A `message`'s text.
    pub text: Option<String>,
    /// A voice event's call: its events are recorded on one case.
    pub call_id: Option<String>,
    /// `ivr_choice`: the option chosen (and its label, if the menu has one).
    pub choice: Option<String>,
    /// `transferred`: the supervisor (user name or id), level or team the call went to.
    pub to_user: Option<String>,
    pub to_level: Option<String>,
    pub to_team: Option<String>,
    /// `transferred`: `agent` (default) or `customer` (asked for a supervisor).
    pub initiator: Option<Initiator>,
    /// `transferred`: the agent who was on the call.
    pub agent: Option<String>,
    /// `transferred`: why.
    pub reason: Option<String>,
    /// `ended`: seconds talked, and (optional) seconds the caller waited in the queue.
    pub duration_seconds: Option<u32>,
    pub wait_seconds: Option<u32>,
}

fn required<'a>(field: &str, value: &'a Option<String>) -> Result<&'a str, DomainError> {
    let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty());
    let value = value.ok_or_else(|| DomainError::invalid(field, "is required for this kind"))?;
    if field.ends_with("_id") && value.len() > MAX_ID_BYTES {
        return Err(DomainError::invalid(field, format!("is longer than {MAX_ID_BYTES} bytes")));
    }
    Ok(value)
}

fn bounded(field: &str, value: &Option<String>, max_chars: usize) -> Result<(), DomainError> {
    match value {
        Some(v) if v.chars().count() > max_chars => {
            Err(DomainError::invalid(field, format!("is longer than {max_chars} characters")))
        }
        _ => Ok(()),
    }
}

impl ContactEvent {
    /// The customer this event is about: by `platform:handle` and/or phone.
    fn requester(&self) -> Result<Requester, DomainError> {
        let handle = match (&self.platform, &self.handle) {
            (Some(p), Some(h)) => Some(normalise_handle("handle", &format!("{p}:{h}"))?),
            (None, Some(_)) => return Err(DomainError::invalid("platform", "is required with handle")),
            _ => None,
        };
        let phone = match &self.phone {
            Some(p) => Some(normalise_phone("phone", p)?),
            None => None,
        };
        if handle.is_none() && phone.is_none() {
            return Err(DomainError::invalid("handle", "name the customer by platform and handle, or phone"));
        }
        Ok(Requester { name: self.name.clone().filter(|n| !n.trim().is_empty()), email: None, phone, handle })
    }

    /// Checks the fields' sizes and what `kind` needs.
    fn validate(&self) -> Result<(), DomainError> {
        if self.id.trim().is_empty() || self.id.len() > MAX_ID_BYTES {
            return Err(DomainError::invalid("id", format!("must be 1 to {MAX_ID_BYTES} bytes")));
        }
        bounded("text", &self.text, MAX_CONTACT_TEXT)?;
        for (field, value) in
            [("choice", &self.choice), ("agent", &self.agent), ("reason", &self.reason), ("name", &self.name)]
        {
            bounded(field, value, 2_000)?;
        }
        for (field, value) in [("platform", &self.platform), ("to_user", &self.to_user), ("to_level", &self.to_level)] {
            bounded(field, value, 320)?;
        }
        bounded("to_team", &self.to_team, 320)?;
        match self.kind {
            ContactKind::Message => {
                required("platform", &self.platform)?;
                required("conversation_id", &self.conversation_id)?;
                required("text", &self.text)?;
                if let Some(c) = self.channel
                    && !matches!(c, Channel::Chat | Channel::Social)
                {
                    return Err(DomainError::invalid("channel", "a message comes in on chat or social"));
                }
            }
            ContactKind::CallStarted | ContactKind::Ended => {
                required("call_id", &self.call_id)?;
            }
            ContactKind::IvrChoice => {
                required("call_id", &self.call_id)?;
                required("choice", &self.choice)?;
            }
            ContactKind::Transferred => {
                required("call_id", &self.call_id)?;
                if self.to_user.is_none() && self.to_level.is_none() && self.to_team.is_none() {
                    return Err(DomainError::invalid("to_user", "a transfer names to_user, to_level or to_team"));
                }
                if self.initiator == Some(Initiator::System) {
                    return Err(DomainError::invalid("initiator", "a transfer is initiated by agent or customer"));
                }
            }
        }
        if self.kind == ContactKind::Ended && self.duration_seconds.is_none() {
            return Err(DomainError::invalid("duration_seconds", "is required when a call ends"));
        }
        Ok(())
    }
}

/// The thread key of a conversation or a call (kept beside emails' Message-IDs).
fn thread_key(kind: &str, scope: &str, id: &str) -> String {
    format!("{kind}:{scope}:{id}")
}

/// The cases a customer's new contact threads onto: not resolved or closed.
const OPEN_STATUSES: [Status; 4] = [Status::New, Status::Open, Status::PendingCustomer, Status::PendingInternal];

fn subject_of(text: &str, fallback: &str) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or(fallback);
    let mut subject: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        subject.push('…');
    }
    subject
}

fn duration_text(seconds: u32) -> String {
    format!("{}m {:02}s", seconds / 60, seconds % 60)
}

impl Engine {
    /// Takes in one SMS for a signed webhook's principal (see the module's documentation).
    pub async fn take_in_sms(
        &self,
        principal: &Principal,
        sms: &InboundSms,
        intake: &ContactIntake,
        now: Timestamp,
    ) -> Result<Intake, StoreError> {
        self.check(principal, &Action::TakeInContacts)?;
        let phone = normalise_phone("From", &sms.from)?;
        let key = format!("sms:{}", sms.message_sid);
        let requester = Requester { phone: Some(phone.clone()), ..Default::default() };
        let text = sms.text();
        let contact = Contact { key, requester, channel: Channel::Sms, text, subject_fallback: "SMS" };
        self.take_in_contact_message(principal, contact, None, intake, now).await
    }

    /// Takes in one event of the contact webhook for a signed webhook's principal.
    pub async fn take_in_contact(
        &self,
        principal: &Principal,
        event: &ContactEvent,
        intake: &ContactIntake,
        now: Timestamp,
    ) -> Result<Intake, StoreError> {
        self.check(principal, &Action::TakeInContacts)?;
        event.validate()?;
        let key = format!("contact:{}", event.id.trim());
        if let Some(case) = self.store.case_of_messages(vec![key.clone()]).await? {
            return Ok(Intake::Duplicate(case));
        }
        let now = ladder_core::instant::truncate(now);
        match event.kind {
            ContactKind::Message => {
                let platform = required("platform", &event.platform)?.to_lowercase();
                let conversation = required("conversation_id", &event.conversation_id)?;
                let thread = thread_key("conversation", &platform, conversation);
                let contact = Contact {
                    key,
                    requester: event.requester()?,
                    channel: event.channel.unwrap_or(Channel::Chat),
                    text: required("text", &event.text)?.to_string(),
                    subject_fallback: "Message",
                };
                self.take_in_contact_message(principal, contact, Some(thread), intake, now).await
            }
            ContactKind::CallStarted => {
                let call = required("call_id", &event.call_id)?;
                let requester = event.requester()?;
                let caller = requester.phone.clone().or(requester.handle.clone()).unwrap_or_default();
                let contact = Contact {
                    key,
                    requester,
                    channel: Channel::Phone,
                    text: format!("Phone call from {caller} started (call {call})."),
                    subject_fallback: "Phone call",
                };
                let thread = thread_key("call", "voice", call);
                self.take_in_contact_message(principal, contact, Some(thread), intake, now).await
            }
            ContactKind::IvrChoice | ContactKind::Ended | ContactKind::Transferred => {
                let call = required("call_id", &event.call_id)?;
                let thread = thread_key("call", "voice", call);
                let Some(case_id) = self.store.case_of_messages(vec![thread]).await? else {
                    return Err(DomainError::invalid(
                        "call_id",
                        format!("no call '{call}' was started: send call_started first"),
                    )
                    .into());
                };
                let request = match event.kind {
                    ContactKind::Transferred => CaseRequest::Escalate(transfer_escalation(event, call)),
                    _ => CaseRequest::AddMessage(AddMessage {
                        visibility: Visibility::Internal,
                        channel: Some(Channel::Phone),
                        body: voice_note(event, call),
                        from_customer: false,
                        resume: false,
                    }),
                };
                let mail = MailRecord { message_id: key, thread: None, attachments: Vec::new(), at: now };
                let outcome = self.run_for(principal, case_id, request, None, Some(mail), None, None, now).await?;
                Ok(Intake::Threaded(Box::new(outcome.case)))
            }
        }
    }

    /// A customer's message (an SMS, a chat or social message, a call starting): onto the
    /// case of its thread, else the customer's open case, else a new case.
    async fn take_in_contact_message(
        &self,
        principal: &Principal,
        contact: Contact,
        thread: Option<String>,
        intake: &ContactIntake,
        now: Timestamp,
    ) -> Result<Intake, StoreError> {
        let now = ladder_core::instant::truncate(now);
        if let Some(case) = self.store.case_of_messages(vec![contact.key.clone()]).await? {
            return Ok(Intake::Duplicate(case));
        }
        let identities = contact.requester.identities("requester")?;
        let customer = self.store.customer_by_identities(identities).await?.map(|c| c.id);
        let mut target = match &thread {
            Some(t) => self.store.case_of_messages(vec![t.clone()]).await?,
            None => None,
        };
        if target.is_none()
            && let Some(customer) = customer
        {
            target = self.open_case_of(customer).await?;
        }
        // The thread key goes with the write, so later messages of the conversation (or
        // events of the call) find this case.
        let mail = MailRecord { message_id: contact.key, thread, attachments: Vec::new(), at: now };
        let message = InboundMessage {
            channel: contact.channel,
            subject: subject_of(&contact.text, contact.subject_fallback),
            body: contact.text,
            requester: contact.requester,
            team: intake.team.clone(),
        };
        self.deliver_inbound(principal, message, target, mail, now).await
    }

    /// The customer's most recent case that is not resolved or closed.
    async fn open_case_of(&self, customer: CustomerId) -> Result<Option<CaseId>, StoreError> {
        let filter =
            ladder_store::CaseFilter { customer: Some(customer), status: OPEN_STATUSES.to_vec(), ..Default::default() };
        let page = ladder_store::PageRequest { before: None, limit: 20 };
        let cases = self.store.list_cases(filter, ladder_core::access::CaseScope::All, page).await?;
        Ok(cases.cases.iter().max_by_key(|c| c.updated_at).map(|c| c.id))
    }
}

/// A customer's message on its way to a case.
struct Contact {
    /// Its id, kept with the write (a second delivery is a duplicate).
    key: String,
    requester: Requester,
    channel: Channel,
    text: String,
    subject_fallback: &'static str,
}

/// The note a call's IVR choice or end leaves in the case's history.
fn voice_note(event: &ContactEvent, call: &str) -> String {
    match event.kind {
        ContactKind::IvrChoice => {
            format!("Call {call}: the caller chose '{}' in the phone menu.", event.choice.as_deref().unwrap_or(""))
        }
        _ => {
            let talk = duration_text(event.duration_seconds.unwrap_or(0));
            match event.wait_seconds {
                Some(wait) => format!("Call {call} ended after {talk} (waited {}).", duration_text(wait)),
                None => format!("Call {call} ended after {talk}."),
            }
        }
    }
}

/// A call transferred to a supervisor, as the hierarchical escalation it is.
fn transfer_escalation(event: &ContactEvent, call: &str) -> Escalation {
    let initiator = event.initiator.unwrap_or(Initiator::Agent);
    let by = match (initiator, event.agent.as_deref()) {
        (Initiator::Customer, _) => "at the caller's request".to_string(),
        (_, Some(agent)) => format!("by agent {agent}"),
        _ => "by the agent".to_string(),
    };
    let reason = match event.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => format!("Call {call} transferred {by}: {r}"),
        None => format!("Call {call} transferred {by}"),
    };
    Escalation {
        kind: EscalationKind::Hierarchical,
        to_level: event.to_level.clone().map(ladder_core::directory::LevelId::new),
        to_team: event.to_team.clone(),
        to_user: event.to_user.clone(),
        initiator,
        reason,
        tried: (initiator == Initiator::Agent).then(|| format!("handled on call {call} before the transfer")),
        skill: None,
        skills: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contact_signature_is_checked_over_timestamp_and_body_within_five_minutes() {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let body = br#"{"id":"e1"}"#;
        let header = crate::deliveries::webhook_signature(b"secret", now.as_second() - 10, body);
        assert_eq!(verify_contact_signature(b"secret", Some(&header), body, now), Ok(()));
        assert_eq!(verify_contact_signature(b"other", Some(&header), body, now), Err(SignatureRefusal::Mismatch));
        assert_eq!(verify_contact_signature(b"secret", Some(&header), b"{}", now), Err(SignatureRefusal::Mismatch));
        let old = crate::deliveries::webhook_signature(b"secret", now.as_second() - 301, body);
        assert_eq!(verify_contact_signature(b"secret", Some(&old), body, now), Err(SignatureRefusal::Stale));
        assert_eq!(verify_contact_signature(b"secret", None, body, now), Err(SignatureRefusal::Missing));
        assert_eq!(verify_contact_signature(b"secret", Some("v1=zz"), body, now), Err(SignatureRefusal::Malformed));
    }

    #[test]
    fn twilio_signatures_sort_the_parameters_by_name() {
        let params = vec![("To".to_string(), "+1".to_string()), ("Body".to_string(), "hi".to_string())];
        let signature = twilio_signature(b"token", "https://x.example/sms", &params);
        assert!(twilio_signature_is_valid(b"token", "https://x.example/sms", &params, &signature));
        let reversed: Vec<_> = params.iter().rev().cloned().collect();
        assert!(twilio_signature_is_valid(b"token", "https://x.example/sms", &reversed, &signature));
        assert!(!twilio_signature_is_valid(b"token", "https://x.example/other", &params, &signature));
        assert!(!twilio_signature_is_valid(b"token", "https://x.example/sms", &params, "not base64!"));
    }
}
