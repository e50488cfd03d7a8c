//! Case commands: imperative requests that [`crate::decide`] turns into events or refuses.
//!
//! Commands carry *resolved* references ([`TeamRef`], [`UserRef`]): the engine looks the
//! ids up in the directory before deciding, so the domain can check levels, membership
//! and roles without doing I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::case::{Channel, Priority, Visibility};
use crate::directory::{LevelId, Role};
use crate::event::{EscalationKind, InfoSource, Initiator};
use crate::ids::{CustomerId, TeamId, UserId};
use crate::matrix::Matrix;

/// A team as far as deciding needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRef {
    pub id: TeamId,
    pub slug: String,
    pub level: LevelId,
}

/// A user as far as deciding needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    /// The user's teams, with the level each works.
    pub teams: Vec<TeamRef>,
    pub levels: Vec<LevelId>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CaseCommand {
    Open(OpenCase),
    AddMessage(AddMessage),
    Assign(Assign),
    Transfer(Transfer),
    Escalate(Escalate),
    DeEscalate(DeEscalate),
    RequestInfo(RequestInfo),
    Update(UpdateCase),
    Resolve(Resolve),
    Reopen(Reopen),
    Close,
    /// A back-office team asks the front line to get something from the customer.
    AskFrontLine(AskFrontLine),
    /// The front line answers such a task.
    AnswerTask(AnswerTask),
    /// Book a call-back for the outbound team, in a window of the customer's time.
    ScheduleCallback(ScheduleCallback),
    /// Grant something with a value (a credit, a refund …), or ask for approval above one's limit.
    ApplyAction(ApplyAction),
    /// Approve, deny or counter an approval request.
    DecideApproval(DecideApproval),
    /// Record the customer's satisfaction score (CSAT) for the case.
    RecordCsat(RecordCsat),
}

impl CaseCommand {
    /// The verb used in refusals ("cannot escalate a case that is closed").
    pub fn action(&self) -> &'static str {
        match self {
            CaseCommand::Open(_) => "open",
            CaseCommand::AddMessage(_) => "add a message to",
            CaseCommand::Assign(_) => "assign",
            CaseCommand::Transfer(_) => "transfer",
            CaseCommand::Escalate(_) => "escalate",
            CaseCommand::DeEscalate(_) => "de-escalate",
            CaseCommand::RequestInfo(_) => "request information on",
            CaseCommand::Update(_) => "update",
            CaseCommand::Resolve(_) => "resolve",
            CaseCommand::Reopen(_) => "reopen",
            CaseCommand::Close => "close",
            CaseCommand::AskFrontLine(_) => "ask the front line about",
            CaseCommand::AnswerTask(_) => "answer a task on",
            CaseCommand::ScheduleCallback(_) => "schedule a call-back on",
            CaseCommand::ApplyAction(_) => "apply an action to",
            CaseCommand::DecideApproval(_) => "decide an approval on",
            CaseCommand::RecordCsat(_) => "record a satisfaction score on",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpenCase {
    pub subject: String,
    pub description: String,
    pub category: Option<String>,
    pub channel: Channel,
    pub priority: Priority,
    /// Defaults to the team's level, else the bottom of the ladder.
    pub level: Option<LevelId>,
    pub team: Option<TeamRef>,
    pub assignee: Option<UserRef>,
    pub customer: Option<CustomerId>,
    pub tags: BTreeSet<String>,
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AddMessage {
    pub visibility: Visibility,
    /// Defaults to the case's channel.
    pub channel: Option<Channel>,
    pub body: String,
    /// Record the customer's own words (an inbound email, a call transcript).
    pub from_customer: bool,
    /// Take the case out of a pending status.
    pub resume: bool,
}

/// `None` unassigns.
#[derive(Debug, Clone, PartialEq)]
pub struct Assign {
    pub assignee: Option<UserRef>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub to_team: TeamRef,
    pub to_user: Option<UserRef>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Escalate {
    pub kind: EscalationKind,
    pub initiator: Initiator,
    pub to_level: Option<LevelId>,
    pub to_team: Option<TeamRef>,
    pub to_user: Option<UserRef>,
    pub reason: String,
    pub tried: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeEscalate {
    pub to_level: Option<LevelId>,
    pub to_team: Option<TeamRef>,
    pub to_user: Option<UserRef>,
    pub guidance: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestInfo {
    pub from: InfoSource,
    pub question: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateCase {
    pub subject: Option<String>,
    pub priority: Option<Priority>,
    pub category: Option<Option<String>>,
    pub tags_added: Vec<String>,
    pub tags_removed: Vec<String>,
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resolve {
    pub code: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reopen {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AskFrontLine {
    /// What the front line should get from the customer.
    pub question: String,
}

/// A customer satisfaction score, given by the customer or recorded by an agent on their behalf.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordCsat {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub score: u8,
    pub comment: Option<String>,
    /// An agent records what the customer said (a phone survey, an email).
    pub on_behalf: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnswerTask {
    /// The task's number on the case (from 0).
    pub task: u32,
    pub answer: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleCallback {
    /// The outbound team that makes the call.
    pub team: TeamRef,
    /// The window, as instants (the engine converts the customer's local times).
    pub window_start: jiff::Timestamp,
    pub window_end: jiff::Timestamp,
    /// The customer's time zone the window was given in.
    pub time_zone: String,
    pub note: Option<String>,
}

/// An action with a value. The engine resolves the authority the matrix gives: within the
/// actor's `limit` it applies at once; above it an approval goes to `approver_role`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyAction {
    /// `credit`, `refund`, `fee_waiver`, `replacement` … (an `[[authority]]` action).
    pub action: String,
    pub amount: f64,
    pub note: Option<String>,
    /// The most the actor may grant without approval; `None`: no authority at all.
    pub limit: Option<f64>,
    /// The lowest role whose limit covers the amount (at least a supervisor); `None` when
    /// no role's does.
    pub approver_role: Option<Role>,
    /// The highest role limit for the action, for the refusal when no role suffices;
    /// `None` when the matrix in force has no authority rule for it.
    pub highest_limit: Option<f64>,
}

impl ApplyAction {
    /// The command for `user_name` (of `role`) asking to grant `amount` of `action`, with
    /// the authority the matrix in force gives: the user's limit (their own override, else
    /// their role's), the lowest role from supervisor up whose *role* limit covers the
    /// amount (overrides do not route requests, and agents never decide approvals), and the
    /// highest role limit. No matrix or no rule for the action: no authority anywhere.
    pub fn resolve(
        matrix: Option<&Matrix>,
        role: Role,
        user_name: &str,
        action: String,
        amount: f64,
        note: Option<String>,
    ) -> ApplyAction {
        let rule = matrix.and_then(|m| m.authority.iter().find(|a| a.action == action));
        let approver_role = rule.and_then(|rule| {
            Role::ALL
                .into_iter()
                .filter(|r| *r >= Role::Supervisor)
                .find(|r| rule.limits.get(r).is_some_and(|limit| amount <= *limit))
        });
        ApplyAction {
            limit: matrix.and_then(|m| m.authority_limit(&action, role, Some(user_name))),
            approver_role,
            highest_limit: rule.and_then(|rule| rule.limits.values().copied().reduce(f64::max)),
            action,
            amount,
            note,
        }
    }
}

/// What an approver decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Approve,
    /// Refuse (a comment is required).
    Deny,
    /// Grant a smaller amount instead.
    Counter {
        amount: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecideApproval {
    /// The approval's number on the case (from 0).
    pub approval: u32,
    pub decision: Decision,
    pub comment: Option<String>,
    /// The most the approver may grant for the approval's action; `None`: no authority.
    pub approver_limit: Option<f64>,
}
