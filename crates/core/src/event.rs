//! Case events: past-tense facts. Stored events are a wire format: fields are only ever
//! added (with defaults), never renamed or removed; [`EVENT_SCHEMA`] is bumped when the
//! meaning of a stored field changes, and readers upcast older versions.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::case::{Actor, Channel, Priority, Status, Visibility};
use crate::directory::{LevelId, Role};
use crate::ids::{CaseId, CustomerId, MessageId, TeamId, UserId};
use crate::sla::ClockKind;

/// Version of the stored event format written by this build.
pub const EVENT_SCHEMA: u16 = 1;

/// One event as recorded in a case's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub case_id: CaseId,
    /// 1 for the opening event, then +1 per event.
    pub version: u64,
    pub at: Timestamp,
    pub actor: Actor,
    pub event: CaseEvent,
    /// The version of the escalation matrix in force when this was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix_version: Option<u32>,
}

/// Everything that can happen to a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CaseEvent {
    Opened(Opened),
    MessageAdded(MessageAdded),
    Assigned(Assigned),
    Unassigned(Unassigned),
    Transferred(Transferred),
    Escalated(Escalated),
    DeEscalated(DeEscalated),
    InfoRequested(InfoRequested),
    Resumed(Resumed),
    Updated(Updated),
    Resolved(Resolved),
    Reopened(Reopened),
    Closed(Closed),
    /// A matrix rule asked for a notification (delivered by the notifier).
    NotificationRequested(NotificationRequested),
    /// A matrix rule could not be evaluated or its action could not be applied.
    RuleFailed(RuleFailed),
    /// An SLA clock started counting at the case's level.
    ClockStarted(ClockStarted),
    /// A clock stopped counting (the case waits on someone outside the team).
    ClockPaused(ClockPaused),
    ClockResumed(ClockResumed),
    /// A clock's target or calendar changed (priority, level, segment or matrix changed).
    ClockRetargeted(ClockRetargeted),
    /// A warning threshold of a clock was crossed.
    ClockAtRisk(ClockAtRisk),
    /// A clock's target was missed.
    ClockBreached(ClockBreached),
    ClockMet(ClockMet),
    ClockCancelled(ClockCancelled),
    /// The router looked for an agent for the case (the assignment, if any, follows).
    Routed(Routed),
    /// A back-office team asked the front line for something; the case waits on it.
    TaskCreated(TaskCreated),
    TaskAnswered(TaskAnswered),
    /// A call-back was booked; the case moves to the outbound team's queue.
    CallbackScheduled(CallbackScheduled),
    /// An action with a value was granted (at once, or once approved).
    ActionApplied(ActionApplied),
    /// An action above the actor's limit waits for someone with the authority.
    ApprovalRequested(ApprovalRequested),
    /// An approver approved, denied or countered a request.
    ApprovalDecided(ApprovalDecided),
    /// A customer satisfaction score was recorded; a later one replaces it.
    CsatRecorded(CsatRecorded),
    /// A triggering alert made the case an IT incident ([`crate::incidents`]).
    IncidentTriggered(crate::incidents::IncidentTriggered),
    /// Another alert with the incident's deduplication key arrived.
    AlertReceived(crate::incidents::AlertReceived),
    /// The incident was acknowledged: paging stops.
    IncidentAcknowledged(crate::incidents::IncidentAcknowledged),
    /// The acknowledgement was withdrawn: paging resumes.
    IncidentUnacknowledged(crate::incidents::IncidentUnacknowledged),
}

impl CaseEvent {
    /// The stable name stored in the `type` column.
    pub fn kind(&self) -> &'static str {
        match self {
            CaseEvent::Opened(_) => "opened",
            CaseEvent::MessageAdded(_) => "message_added",
            CaseEvent::Assigned(_) => "assigned",
            CaseEvent::Unassigned(_) => "unassigned",
            CaseEvent::Transferred(_) => "transferred",
            CaseEvent::Escalated(_) => "escalated",
            CaseEvent::DeEscalated(_) => "de_escalated",
            CaseEvent::InfoRequested(_) => "info_requested",
            CaseEvent::Resumed(_) => "resumed",
            CaseEvent::Updated(_) => "updated",
            CaseEvent::Resolved(_) => "resolved",
            CaseEvent::Reopened(_) => "reopened",
            CaseEvent::Closed(_) => "closed",
            CaseEvent::NotificationRequested(_) => "notification_requested",
            CaseEvent::RuleFailed(_) => "rule_failed",
            CaseEvent::ClockStarted(_) => "clock_started",
            CaseEvent::ClockPaused(_) => "clock_paused",
            CaseEvent::ClockResumed(_) => "clock_resumed",
            CaseEvent::ClockRetargeted(_) => "clock_retargeted",
            CaseEvent::ClockAtRisk(_) => "clock_at_risk",
            CaseEvent::ClockBreached(_) => "clock_breached",
            CaseEvent::ClockMet(_) => "clock_met",
            CaseEvent::ClockCancelled(_) => "clock_cancelled",
            CaseEvent::Routed(_) => "routed",
            CaseEvent::TaskCreated(_) => "task_created",
            CaseEvent::TaskAnswered(_) => "task_answered",
            CaseEvent::CallbackScheduled(_) => "callback_scheduled",
            CaseEvent::ActionApplied(_) => "action_applied",
            CaseEvent::ApprovalRequested(_) => "approval_requested",
            CaseEvent::ApprovalDecided(_) => "approval_decided",
            CaseEvent::CsatRecorded(_) => "csat_recorded",
            CaseEvent::IncidentTriggered(_) => "incident_triggered",
            CaseEvent::AlertReceived(_) => "alert_received",
            CaseEvent::IncidentAcknowledged(_) => "incident_acknowledged",
            CaseEvent::IncidentUnacknowledged(_) => "incident_unacknowledged",
        }
    }

    /// Whether this is a change to an SLA clock.
    pub fn is_clock(&self) -> bool {
        matches!(
            self,
            CaseEvent::ClockStarted(_)
                | CaseEvent::ClockPaused(_)
                | CaseEvent::ClockResumed(_)
                | CaseEvent::ClockRetargeted(_)
                | CaseEvent::ClockAtRisk(_)
                | CaseEvent::ClockBreached(_)
                | CaseEvent::ClockMet(_)
                | CaseEvent::ClockCancelled(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opened {
    pub number: u64,
    pub subject: String,
    pub description: String,
    pub category: Option<String>,
    pub channel: Channel,
    pub priority: Priority,
    pub level: LevelId,
    pub team: Option<TeamId>,
    pub assignee: Option<UserId>,
    pub customer: Option<CustomerId>,
    #[serde(default)]
    pub tags: BTreeSet<String>,
    #[serde(default)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// The sentiment of the subject and description, the customer's first words
    /// ([`crate::sentiment`], thousandths); absent in events written before it was scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<crate::sentiment::Sentiment>,
    /// The escalation risk the model in force gave the case when it opened, with that
    /// model's version ([`crate::risk`]); absent without an active model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<crate::risk::Assessment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAdded {
    pub message_id: MessageId,
    pub author: Actor,
    pub visibility: Visibility,
    pub channel: Channel,
    pub body: String,
    /// The sentiment of a customer's message ([`crate::sentiment`], thousandths), scored
    /// when it was decided; absent for staff messages and in older events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<crate::sentiment::Sentiment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assigned {
    pub assignee: UserId,
    pub previous: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unassigned {
    pub previous: UserId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transferred {
    pub from_team: Option<TeamId>,
    pub to_team: TeamId,
    pub to_user: Option<UserId>,
    pub reason: String,
}

/// Functional: to a team with the needed skill. Hierarchical: to more authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EscalationKind {
    Functional,
    Hierarchical,
}

/// Who asked for the escalation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Initiator {
    Agent,
    Customer,
    System,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalated {
    pub kind: EscalationKind,
    pub initiator: Initiator,
    pub from_level: LevelId,
    pub to_level: LevelId,
    pub from_team: Option<TeamId>,
    pub to_team: Option<TeamId>,
    pub from_assignee: Option<UserId>,
    pub to_user: Option<UserId>,
    pub reason: String,
    pub tried: Option<String>,
    /// Why the case went to `to_team` when the escalation named neither team nor person and
    /// the team was chosen by skill: the skills, the teams weighed and their scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_choice: Option<TeamChosen>,
}

/// How the team of an escalation by skill was chosen ([`crate::command::choose_by_skill`]),
/// recorded on the `escalated` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamChosen {
    /// The skills the receiving team had to offer, every one of them.
    pub skills: Vec<String>,
    /// Where they came from: `asked` (the request's `skills`), `category` (the case's
    /// category) or `rule "NAME"` (the matrix's route for the case).
    pub source: String,
    /// The chosen team's slug.
    pub team: String,
    /// Why it won, in words.
    pub reason: String,
    /// Every team of the target level weighed, best first.
    pub candidates: Vec<TeamScore>,
}

/// One team weighed by the choice by skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamScore {
    pub team: String,
    /// Whether its skills cover every skill asked; a team that does not scores 0.
    pub covers: bool,
    /// 10 per member available with room on the case's channel, plus 1 per free slot
    /// (at most 50).
    pub score: u32,
    /// What counted, or which skill it lacks.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeEscalated {
    pub from_level: LevelId,
    pub to_level: LevelId,
    pub from_team: Option<TeamId>,
    pub to_team: Option<TeamId>,
    pub to_user: Option<UserId>,
    /// What the lower level should do next.
    pub guidance: String,
}

/// Whom the case is waiting on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InfoSource {
    Customer,
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoRequested {
    pub from: InfoSource,
    pub question: String,
    /// The message that carried the question to the customer, if any.
    pub message_id: Option<MessageId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    pub from_status: Status,
}

/// A change to the case's descriptive fields; only what changed is set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Updated {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// `Some(None)` clears the category (stored as `null`; an absent field is `None`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub category: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_added: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_removed: Vec<String>,
    /// A `null` value removes the field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// The case moved to this customer (a duplicate customer was merged into it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerId>,
}

/// For a field that is present in the stored event, even as `null`: `null` must read back
/// as `Some(None)` ("cleared"), which plain `Option<Option<T>>` would read as `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    pub code: String,
    pub note: Option<String>,
    /// "Solved by article": the knowledge article the agent says solved the case (added
    /// later: absent from older events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_id: Option<uuid::Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reopened {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRequested {
    /// The rule that asked.
    pub rule: String,
    /// `assignee`, `customer`, `team`, `team:SLUG`, `role:ROLE`, `user:NAME` or `on_call:SLUG`.
    pub recipient: String,
    pub channel: String,
    pub template: Option<String>,
    /// Held until the recipient's working hours begin: not to be sent before this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFailed {
    pub rule: String,
    pub trigger: String,
    /// What went wrong, for the matrix's authors.
    pub error: String,
}

// SLA clock events. `index` is the clock's position in the case's clock list (clocks are
// only ever appended); `clock` is its kind, so conditions can say `event.clock == "respond"`.
// `next_fire` is the instant the timer engine was armed for (the next warning threshold or
// the due instant), `None` when nothing is armed.

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockStarted {
    pub index: u32,
    pub clock: ClockKind,
    pub level: LevelId,
    /// Business time allowed.
    pub target: SignedDuration,
    /// The matrix calendar it counts in; `None` counts every hour.
    pub calendar: Option<String>,
    pub due_at: Timestamp,
    pub next_fire: Option<Timestamp>,
    /// For an `approval` clock: the approval it waits on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockPaused {
    pub index: u32,
    pub clock: ClockKind,
    /// The status the case is waiting in.
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockResumed {
    pub index: u32,
    pub clock: ClockKind,
    pub due_at: Timestamp,
    pub next_fire: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockRetargeted {
    pub index: u32,
    pub clock: ClockKind,
    pub target: SignedDuration,
    pub previous_target: SignedDuration,
    pub calendar: Option<String>,
    /// `None` while the clock is paused.
    pub due_at: Option<Timestamp>,
    pub next_fire: Option<Timestamp>,
    /// What changed, e.g. `priority normal → high` or `matrix version 3`.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAtRisk {
    pub index: u32,
    pub clock: ClockKind,
    /// The share of the target spent.
    pub percent: u8,
    pub due_at: Timestamp,
    pub next_fire: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockBreached {
    pub index: u32,
    pub clock: ClockKind,
    /// When the target fell due; the event's own time is when the breach was noticed.
    pub due_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockMet {
    pub index: u32,
    pub clock: ClockKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockCancelled {
    pub index: u32,
    pub clock: ClockKind,
    /// Why it no longer applies, e.g. `left level L1`, `resolved`.
    pub reason: String,
}

/// A routing decision: the team, the chosen agent (or none: the case waits in the team's
/// queue), why, and every candidate with their score, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Routed {
    pub team: Option<TeamId>,
    pub to_user: Option<UserId>,
    pub reason: String,
    /// The best candidates (at most [`crate::routing::LISTED`]).
    pub candidates: Vec<crate::routing::ScoredCandidate>,
    /// The other candidates, counted by why they were not chosen.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub others: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCreated {
    /// The task's number on the case, from 0.
    pub task: u32,
    pub question: String,
    /// Who should do it: the front-line stop the case was escalated from.
    pub to_team: Option<TeamId>,
    pub to_user: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskAnswered {
    pub task: u32,
    pub answer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackScheduled {
    /// The call-back's number on the case, from 0.
    pub callback: u32,
    pub team: TeamId,
    pub window_start: Timestamp,
    pub window_end: Timestamp,
    pub time_zone: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionApplied {
    pub action: String,
    pub amount: f64,
    pub note: Option<String>,
    /// The approval it was granted through; `None` when within the actor's own limit.
    #[serde(default)]
    pub approval: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequested {
    /// The approval's number on the case, from 0.
    pub approval: u32,
    pub action: String,
    pub amount: f64,
    pub note: Option<String>,
    /// The lowest role with the authority to grant the amount (with the window's earlier
    /// grants, when there are any).
    pub approver_role: Role,
    /// The earlier grants of the action in the authority window that this one adds up with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<crate::cmd::apply_action::EarlierGrant>,
}

/// How an approval request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalOutcome {
    Approved,
    Denied,
    /// A smaller amount was granted instead.
    Countered,
}

impl ApprovalOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalOutcome::Approved => "approved",
            ApprovalOutcome::Denied => "denied",
            ApprovalOutcome::Countered => "countered",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalDecided {
    pub approval: u32,
    pub decision: ApprovalOutcome,
    /// The amount granted: the requested one, the counter-offer, or `None` when denied.
    pub amount: Option<f64>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatRecorded {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub score: u8,
    pub comment: Option<String>,
    /// Given by the customer themself; `false` when an agent recorded it on their behalf.
    pub by_customer: bool,
}
