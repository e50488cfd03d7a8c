//! Request information from the customer or from inside, putting the case on hold.

use serde::Deserialize;

use super::{MAX_TEXT, require_active};
use crate::case::{Case, Status, Visibility};
use crate::decide::Context;
use crate::error::DomainError;
use crate::event::{CaseEvent, InfoRequested, InfoSource, MessageAdded};
use crate::ids::MessageId;
use crate::validate::non_empty;

/// Ask the customer (or another team) for information; the case waits.
// Also the JSON API's body and the console's form (it needs no resolving).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = RequestInfoBody))]
#[serde(deny_unknown_fields)]
pub struct RequestInfo {
    pub question: String,
    /// `customer` (default; status `pending_customer`) or `internal` (`pending_internal`).
    #[serde(default = "customer")]
    pub from: InfoSource,
}

fn customer() -> InfoSource {
    InfoSource::Customer
}

pub(crate) fn decide(
    case: &Case,
    r: &RequestInfo,
    cx: &Context,
    action: &'static str,
) -> Result<Vec<CaseEvent>, DomainError> {
    require_active(case, action)?;
    non_empty("question", &r.question, MAX_TEXT)?;
    let waiting = match r.from {
        InfoSource::Customer => Status::PendingCustomer,
        InfoSource::Internal => Status::PendingInternal,
    };
    if case.status == waiting {
        return Err(DomainError::transition(
            "request information on",
            case.status,
            "the case is already waiting on that; add a message instead",
        ));
    }
    let message_id = MessageId(cx.new_id);
    let visibility = match r.from {
        InfoSource::Customer => Visibility::Public,
        InfoSource::Internal => Visibility::Internal,
    };
    Ok(vec![
        CaseEvent::MessageAdded(MessageAdded {
            message_id,
            author: cx.actor.clone(),
            visibility,
            channel: case.channel,
            body: r.question.clone(),
            sentiment: None,
        }),
        CaseEvent::InfoRequested(InfoRequested {
            from: r.from,
            question: r.question.clone(),
            message_id: Some(message_id),
        }),
    ])
}
