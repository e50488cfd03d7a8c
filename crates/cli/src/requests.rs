//! Case requests as the demo seeder and the benchmarks write them: the fields they leave at
//! their defaults written once, so each caller names only what its story needs.

use ladder_core::command::{AddMessage, Resolve};
use ladder_core::event::{EscalationKind, Initiator};
use ladder_core::{Channel, Priority, Visibility};
use ladder_engine::{CaseRequest, Escalation, OpenRequest};

/// Opening a case in `category` at `team` (or the caller's team), with nobody assigned, no
/// customer, tags or custom fields; change what else is needed with struct update syntax.
pub fn open(
    subject: String,
    description: &str,
    category: &str,
    team: Option<&str>,
    priority: Priority,
    channel: Channel,
) -> OpenRequest {
    OpenRequest {
        subject,
        description: description.into(),
        category: Some(category.into()),
        channel,
        priority,
        level: None,
        team: team.map(str::to_string),
        assignee: None,
        customer: None,
        tags: Default::default(),
        custom_fields: Default::default(),
    }
}

/// A message on the case's own channel that does not resume a waiting case.
pub fn message(visibility: Visibility, body: &str, from_customer: bool) -> CaseRequest {
    CaseRequest::AddMessage(AddMessage { visibility, channel: None, body: body.into(), from_customer, resume: false })
}

/// A public message, from the customer or to them.
pub fn public_message(body: &str, from_customer: bool) -> CaseRequest {
    message(Visibility::Public, body, from_customer)
}

/// A resolution with `code`.
pub fn resolve(code: &str) -> CaseRequest {
    CaseRequest::Resolve(Resolve { code: code.into(), note: None, article_id: None })
}

/// An escalation to `team` by `initiator`, saying why and what was tried (the level and the
/// person left to the engine's defaults).
pub fn escalate(
    kind: EscalationKind,
    initiator: Initiator,
    team: &str,
    reason: &str,
    tried: Option<&str>,
) -> Escalation {
    Escalation {
        kind,
        initiator,
        to_level: None,
        to_team: Some(team.into()),
        to_user: None,
        reason: reason.into(),
        tried: tried.map(str::to_string),
        skill: None,
        skills: Vec::new(),
    }
}

/// [`escalate`] as a request, with what was tried.
pub fn escalation(kind: EscalationKind, initiator: Initiator, team: &str, reason: &str, tried: &str) -> CaseRequest {
    CaseRequest::Escalate(escalate(kind, initiator, team, reason, Some(tried)))
}
