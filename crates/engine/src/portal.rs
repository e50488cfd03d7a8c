//! The customer portal's engine side: signed links, what a customer sees of their case,
//! and the few commands they may run on it.
//!
//! A link names one case and one customer and an expiry, signed with HMAC-SHA256 under a
//! key the servers generate once and keep in the store (`server_secrets`, name `portal`),
//! so a link works on every server and after a restart. A link that is malformed,
//! tampered with, expired, or for a case that is no longer its customer's is refused with
//! one answer ([`PortalError::Refused`]) that says nothing of which.
//!
//! The customer acts as [`CustomerPrincipal`] (`core::access` states what it may do); the
//! events record `Actor::Customer`. A reply is threaded onto the case as an email reply
//! would be (a resolved case reopens; a repeat contact for the matrix); asking for a
//! supervisor is a hierarchical escalation the customer initiates; a rating is the
//! customer's own CSAT.

use std::sync::{Arc, RwLock};

use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use ladder_core::access::CustomerPrincipal;
use ladder_core::case::{Actor, Case, Channel, Status, Visibility};
use ladder_core::command::{AddMessage, CaseCommand, Escalate, RecordCsat, TargetTeam, check_owner};
use ladder_core::event::{EscalationKind, Initiator};
use ladder_core::ids::{CaseId, CustomerId};
use ladder_core::matrix::{Surroundings, follow_up};
use ladder_core::{DomainError, decide, record};
use ladder_store::{CaseWrite, Decided, StoreError, StoredMessage};
use rand::RngExt;
use sha2::Sha256;

use crate::Engine;

/// The name of the portal's signing key among the servers' secrets.
pub const PORTAL_SECRET: &str = "portal";
/// How long a link works when nothing else is configured.
pub const DEFAULT_LINK_TTL: SignedDuration = SignedDuration::from_hours(30 * 24);
/// The longest reply, reason or comment the portal takes, in bytes.
pub const MAX_PORTAL_TEXT: usize = 5_000;
/// Bytes of the signature kept in a link (128 bits).
const MAC_BYTES: usize = 16;
/// Bytes of a link's claims: case, customer, expiry.
const CLAIM_BYTES: usize = 16 + 16 + 8;
/// A link's length in characters (hex).
pub const TOKEN_CHARS: usize = 2 * (CLAIM_BYTES + MAC_BYTES);

/// Where the portal is reached and how long its links live.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// The server's public base URL (`https://support.example.com`), without a trailing `/`.
    pub base_url: String,
    pub link_ttl: SignedDuration,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig { base_url: "http://localhost".into(), link_ttl: DEFAULT_LINK_TTL }
    }
}

/// The portal's configuration and its signing key, read once from the store.
#[derive(Default)]
pub(crate) struct PortalState {
    config: RwLock<PortalConfig>,
    secret: tokio::sync::OnceCell<Arc<Vec<u8>>>,
}

/// What a link says: this customer may open this case until then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortalLink {
    pub case: CaseId,
    pub customer: CustomerId,
    /// Whole seconds.
    pub expires_at: Timestamp,
}

fn mac(secret: &[u8], claims: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(b"ladder portal link v1\0");
    mac.update(claims);
    mac
}

fn claims(link: &PortalLink) -> [u8; CLAIM_BYTES] {
    let mut out = [0u8; CLAIM_BYTES];
    out[..16].copy_from_slice(link.case.0.as_bytes());
    out[16..32].copy_from_slice(link.customer.0.as_bytes());
    out[32..].copy_from_slice(&link.expires_at.as_second().to_be_bytes());
    out
}

/// The link's token: its claims and their signature, in hex.
pub fn mint_token(secret: &[u8], link: &PortalLink) -> String {
    let claims = claims(link);
    let tag = mac(secret, &claims).finalize().into_bytes();
    format!("{}{}", hex::encode(claims), hex::encode(&tag[..MAC_BYTES]))
}

/// The claims of a token signed with `secret` that has not expired at `now`; `None` for
/// anything else, with no word on why.
pub fn read_token(secret: &[u8], token: &str, now: Timestamp) -> Option<PortalLink> {
    // One spelling per link: lower-case hex, so no two tokens open the same link.
    if token.len() != TOKEN_CHARS || !token.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let bytes = hex::decode(token).ok()?;
    let (claims, tag) = bytes.split_at(CLAIM_BYTES);
    mac(secret, claims).verify_truncated_left(tag).ok()?;
    let case = CaseId(uuid::Uuid::from_slice(&claims[..16]).ok()?);
    let customer = CustomerId(uuid::Uuid::from_slice(&claims[16..32]).ok()?);
    let expires_at = Timestamp::from_second(i64::from_be_bytes(claims[32..].try_into().ok()?)).ok()?;
    (now < expires_at).then_some(PortalLink { case, customer, expires_at })
}

/// Why a portal request was not done.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// The link is not (or no longer) good: one answer for every reason.
    #[error("this link is not valid or has expired")]
    Refused,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DomainError> for PortalError {
    fn from(e: DomainError) -> Self {
        PortalError::Store(e.into())
    }
}

/// What the customer sees of their case.
#[derive(Debug, Clone)]
pub struct PortalView {
    pub case: Case,
    /// The public messages, oldest first: no internal note, no staff member's name.
    pub messages: Vec<StoredMessage>,
    pub link: PortalLink,
    /// Whether the case has a level above (asking for a supervisor can go somewhere).
    pub can_ask_supervisor: bool,
}

/// What a customer asks through the portal.
#[derive(Debug, Clone)]
pub enum PortalRequest {
    Reply { body: String },
    AskSupervisor { reason: String },
    Rate { score: u8, comment: Option<String> },
}

/// A text the portal takes: not blank, within [`MAX_PORTAL_TEXT`].
fn text(field: &str, value: &str) -> Result<(), DomainError> {
    if value.trim().is_empty() {
        return Err(DomainError::invalid(field, "write something"));
    }
    if value.len() > MAX_PORTAL_TEXT {
        return Err(DomainError::invalid(field, format!("at most {MAX_PORTAL_TEXT} bytes")));
    }
    Ok(())
}

/// A portal command as the customer's: the permission check of `core::access`, then the
/// one `decide`, the matrix's consequences, no orphan after an escalation.
struct CustomerCommand {
    principal: CustomerPrincipal,
    command: CaseCommand,
    ladder: Arc<ladder_core::Ladder>,
    active: Option<Arc<ladder_core::matrix::ActiveMatrix>>,
    teams: Vec<ladder_core::command::TeamRef>,
    customer: Option<ladder_core::directory::Customer>,
    repeat_contacts: u32,
    now: Timestamp,
}

impl CustomerCommand {
    fn apply(&self, case: Option<&Case>) -> Result<Decided, StoreError> {
        let Some(case) = case else { return Err(StoreError::Forbidden(PortalError::Refused.to_string())) };
        self.principal.may(case, &self.command).map_err(StoreError::Forbidden)?;
        let actor = Actor::Customer { id: Some(self.principal.customer) };
        let version = self.active.as_ref().map(|m| m.version);
        let cx = crate::write_context(&actor, &self.ladder, version, self.now);
        let events = decide(Some(case), &self.command, &cx)?;
        let mut recorded = record(case.id, case.version, &cx, events);
        let mut triggers = Vec::new();
        if let Some(active) = &self.active {
            let around = Surroundings { customer: self.customer.as_ref(), teams: &self.teams, ladder: &self.ladder };
            triggers = follow_up(
                active,
                Some(case),
                &mut recorded,
                &around,
                self.repeat_contacts,
                self.now,
                uuid::Uuid::now_v7,
            );
        }
        if let CaseCommand::Escalate(e) = &self.command {
            let after = recorded.iter().fold(case.clone(), |c, r| ladder_core::case::apply(Some(c), r));
            check_owner(&e.candidates, &after)?;
        }
        Ok(Decided { events: recorded, triggers })
    }
}

impl Engine {
    /// Sets where the portal is reached and how long its links live.
    pub fn configure_portal(&self, config: PortalConfig) {
        *self.inner.portal.config.write().expect("portal lock") = config;
    }

    /// The portal's configuration.
    pub fn portal_config(&self) -> PortalConfig {
        self.inner.portal.config.read().expect("portal lock").clone()
    }

    /// The signing key: generated by the first server that needs it, then shared.
    async fn portal_secret(&self) -> Result<Arc<Vec<u8>>, StoreError> {
        self.inner
            .portal
            .secret
            .get_or_try_init(|| async {
                let mut fresh = vec![0u8; 32];
                rand::rng().fill(&mut fresh[..]);
                self.store.server_secret(PORTAL_SECRET, fresh, self.now()).await.map(Arc::new)
            })
            .await
            .cloned()
    }

    /// A link for `customer` to `case`, good for the configured time from `now`: the
    /// whole URL, under the public base URL.
    pub async fn portal_url(&self, case: CaseId, customer: CustomerId, now: Timestamp) -> Result<String, StoreError> {
        let config = self.portal_config();
        let expires_at = Timestamp::from_second((now + config.link_ttl).as_second()).unwrap_or(now);
        let token = mint_token(&self.portal_secret().await?, &PortalLink { case, customer, expires_at });
        Ok(format!("{}/portal/{token}", config.base_url.trim_end_matches('/')))
    }

    /// Whether `token` is a link this server signed that has not expired (no read of the
    /// case: the check before a form's own).
    pub async fn portal_link_signed(&self, token: &str, now: Timestamp) -> Result<bool, StoreError> {
        Ok(read_token(&self.portal_secret().await?, token, now).is_some())
    }

    /// The customer a good link stands for, and their case.
    async fn portal_case(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<(CustomerPrincipal, Case, PortalLink), PortalError> {
        let link = read_token(&self.portal_secret().await?, token, now).ok_or(PortalError::Refused)?;
        let principal = CustomerPrincipal { customer: link.customer, case: link.case };
        let case = self.store.case(link.case).await?.ok_or(PortalError::Refused)?;
        principal.may_read(&case).map_err(|_| PortalError::Refused)?;
        Ok((principal, case, link))
    }

    /// The case a link opens, as its customer sees it.
    pub async fn portal_view(&self, token: &str, now: Timestamp) -> Result<PortalView, PortalError> {
        let (_, case, link) = self.portal_case(token, now).await?;
        let messages =
            self.store.messages(case.id).await?.into_iter().filter(|m| m.visibility == Visibility::Public).collect();
        let can_ask_supervisor = self.ladder().above(&case.level).is_some();
        Ok(PortalView { case, messages, link, can_ask_supervisor })
    }

    /// Runs what the customer asked through the portal, as the customer.
    pub async fn portal_act(&self, token: &str, request: PortalRequest, now: Timestamp) -> Result<Case, PortalError> {
        let now = ladder_core::instant::truncate(now);
        let (principal, case, _) = self.portal_case(token, now).await?;
        let command = match request {
            PortalRequest::Reply { body } => {
                text("body", &body)?;
                CaseCommand::AddMessage(AddMessage {
                    visibility: Visibility::Public,
                    channel: Some(Channel::Web),
                    body,
                    from_customer: true,
                    resume: false,
                })
            }
            PortalRequest::AskSupervisor { reason } => {
                text("reason", &reason)?;
                let mut to_team = None;
                let mut team_choice = None;
                let mut candidates = Vec::new();
                if let Some(level) = self.ladder().above(&case.level).cloned() {
                    match self.escalation_target(&case, &level, EscalationKind::Hierarchical, None).await? {
                        TargetTeam::One(t, chosen) => {
                            to_team = Some(t);
                            team_choice = chosen;
                        }
                        TargetTeam::Several(c) => candidates = c,
                        TargetTeam::NoTeam => {}
                    }
                }
                CaseCommand::Escalate(Escalate {
                    kind: EscalationKind::Hierarchical,
                    initiator: Initiator::Customer,
                    to_level: None,
                    to_team,
                    to_user: None,
                    reason,
                    tried: None,
                    candidates,
                    team_choice,
                })
            }
            PortalRequest::Rate { score, comment } => {
                let comment = comment.filter(|c| !c.trim().is_empty());
                if let Some(c) = &comment {
                    text("comment", c)?;
                }
                CaseCommand::RecordCsat(RecordCsat { score, comment, on_behalf: false })
            }
        };
        let active = self.active_matrix();
        let (customer, teams, repeat_contacts) = match &active {
            Some(_) => {
                // A customer writing again about their case is a repeat contact, as an
                // email reply is.
                let repeat = match &command {
                    CaseCommand::AddMessage(_) => self.recent_cases_of(principal.customer, now).await?.max(1) + 1,
                    _ => 0,
                };
                (self.store.customer(principal.customer).await?, self.team_refs().await?, repeat)
            }
            None => (None, Vec::new(), 0),
        };
        let write = CustomerCommand {
            principal,
            command,
            ladder: self.ladder(),
            active,
            teams,
            customer,
            repeat_contacts,
            now,
        };
        let decide = Box::new(move |case: Option<&Case>, _next: u64| write.apply(case));
        let outcome = self
            .store
            .execute(CaseWrite { case_id: case.id, expected_version: None, idempotency: None, decide })
            .await?;
        self.after_write(&outcome);
        let mut case = outcome.case.clone();
        // A supervisor asked for, or a reopened case waiting at a team, is offered to its
        // best person.
        if let Some(supervisor) = crate::routing::routing_cause(&outcome.events)
            && ladder_core::routing::is_queued(&case)
            && let Some(routed) = self.route_case(&case, supervisor, now).await?
        {
            case = routed;
        }
        Ok(case)
    }
}

impl Engine {
    /// A notice to a case's customer with its portal link, minted as it is sent (so the
    /// link is never stored, and a retry carries a fresh one).
    pub(crate) async fn with_portal_url(&self, mut d: ladder_store::Delivery) -> ladder_store::Delivery {
        if d.recipient != "customer" {
            return d;
        }
        let Some(customer) = d.placeholders.get(ladder_core::outbox::PORTAL_CUSTOMER).and_then(|c| c.parse().ok())
        else {
            return d;
        };
        match self.portal_url(d.case_id, customer, self.now()).await {
            Ok(url) => {
                d.placeholders.insert("portal_url".into(), url);
            }
            Err(e) => tracing::warn!(error = %e, "could not mint a portal link; the notice goes without it"),
        }
        d
    }
}

/// Whether a case's status lets its customer rate it.
pub fn may_rate(case: &Case) -> bool {
    matches!(case.status, Status::Resolved | Status::Closed) && case.resolution.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(expires: &str) -> PortalLink {
        PortalLink {
            case: CaseId(uuid::Uuid::from_u128(1)),
            customer: CustomerId(uuid::Uuid::from_u128(2)),
            expires_at: expires.parse().unwrap(),
        }
    }

    #[test]
    fn a_link_reads_back_until_it_expires_and_not_when_tampered_or_signed_otherwise() {
        let secret = b"k".repeat(32);
        let now: Timestamp = "2026-01-05T10:00:00Z".parse().unwrap();
        let l = link("2026-02-04T10:00:00Z");
        let token = mint_token(&secret, &l);
        assert_eq!(token.len(), TOKEN_CHARS);
        assert_eq!(read_token(&secret, &token, now), Some(l));
        assert_eq!(read_token(&secret, &token, l.expires_at), None, "expired at its instant");
        assert_eq!(read_token(b"another key", &token, now), None, "another server's key");
        // Any one character changed (a claim or the signature) is refused.
        for i in 0..token.len() {
            let mut t = token.clone().into_bytes();
            t[i] = if t[i] == b'0' { b'1' } else { b'0' };
            assert_eq!(read_token(&secret, std::str::from_utf8(&t).unwrap(), now), None, "position {i}");
        }
        for bad in ["", "zz", &token[..token.len() - 2], &format!("{token}00"), &token.to_uppercase()] {
            assert_eq!(read_token(&secret, bad, now), None, "{bad}");
        }
    }
}
