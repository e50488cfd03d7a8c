//! Add a message to a case (a reply, an internal note, the customer's own words).

use serde::Deserialize;

use super::MAX_TEXT;
use crate::case::{Actor, Case, Channel, Status, Visibility};
use crate::decide::Context;
use crate::error::DomainError;
use crate::event::{CaseEvent, MessageAdded, Reopened, Resumed};
use crate::ids::MessageId;
use crate::validate::non_empty;

/// Add a public reply or an internal note. Also the JSON API's body (it needs no resolving).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = MessageBody))]
#[serde(deny_unknown_fields)]
pub struct AddMessage {
    /// `public` (default; the customer sees it) or `internal` (a note for staff).
    #[serde(default = "public")]
    pub visibility: Visibility,
    /// Defaults to the case's channel.
    pub channel: Option<Channel>,
    #[cfg_attr(feature = "schema", schema(pattern = r"\S"))]
    pub body: String,
    /// Record the customer's own words (a call transcript, an inbound email).
    #[serde(default)]
    pub from_customer: bool,
    /// Take the case out of `pending_customer` / `pending_internal`.
    #[serde(default)]
    pub resume: bool,
}

fn public() -> Visibility {
    Visibility::Public
}

pub(crate) fn decide(case: &Case, m: &AddMessage, cx: &Context) -> Result<Vec<CaseEvent>, DomainError> {
    non_empty("body", &m.body, MAX_TEXT)?;
    let customer_voice = m.from_customer || matches!(cx.actor, Actor::Customer { .. });
    if customer_voice && m.visibility == Visibility::Internal {
        return Err(DomainError::invalid("visibility", "a customer's message is always public"));
    }
    let author = if customer_voice { Actor::Customer { id: case.customer } } else { cx.actor.clone() };
    let mut events = Vec::new();
    match case.status {
        Status::Resolved if customer_voice => {
            events.push(CaseEvent::Reopened(Reopened { reason: "the customer replied".into() }))
        }
        Status::PendingCustomer if customer_voice || m.resume => {
            events.push(CaseEvent::Resumed(Resumed { from_status: case.status }))
        }
        Status::PendingInternal if m.resume => events.push(CaseEvent::Resumed(Resumed { from_status: case.status })),
        _ if m.resume && !case.status.is_pending() => {
            return Err(DomainError::transition(
                "resume",
                case.status,
                "only a pending_customer or pending_internal case can be resumed",
            ));
        }
        _ => {}
    }
    events.push(CaseEvent::MessageAdded(MessageAdded {
        message_id: MessageId(cx.new_id),
        author,
        visibility: m.visibility,
        channel: m.channel.unwrap_or(case.channel),
        body: m.body.clone(),
        sentiment: customer_voice.then(|| crate::sentiment::score(&m.body)),
    }));
    Ok(events)
}
