//! The case: its fields, its state, and how events change it.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::directory::{LevelId, Role};
use crate::event::{CaseEvent, RecordedEvent};
use crate::ids::{CaseId, CustomerId, TeamId, UserId};

/// The channel a contact arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Phone,
    Email,
    Chat,
    Sms,
    Social,
    Web,
    Api,
}

impl Channel {
    pub const ALL: [Channel; 7] =
        [Channel::Phone, Channel::Email, Channel::Chat, Channel::Sms, Channel::Social, Channel::Web, Channel::Api];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::Email => "email",
            Channel::Chat => "chat",
            Channel::Sms => "sms",
            Channel::Social => "social",
            Channel::Web => "web",
            Channel::Api => "api",
        }
    }
}

/// How urgent a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// Where a case is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Opened and nobody has worked it yet.
    New,
    /// Being worked.
    Open,
    /// Waiting for the customer to answer a question.
    PendingCustomer,
    /// Waiting for another team inside the company.
    PendingInternal,
    /// A resolution was given; the customer may still come back.
    Resolved,
    /// Final. A closed case is never changed again.
    Closed,
}

impl Status {
    pub const ALL: [Status; 6] =
        [Status::New, Status::Open, Status::PendingCustomer, Status::PendingInternal, Status::Resolved, Status::Closed];
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::PendingCustomer => "pending_customer",
            Status::PendingInternal => "pending_internal",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }
    /// Still needs work from someone (not resolved or closed).
    pub fn is_active(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }
    pub fn is_pending(self) -> bool {
        matches!(self, Status::PendingCustomer | Status::PendingInternal)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    User { id: UserId },
    Customer { id: Option<CustomerId> },
    System { name: String },
}

impl Actor {
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::User { id } => Some(*id),
            _ => None,
        }
    }
}

/// Whether a message is seen by the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// A reply the customer sees (or a message the customer sent).
    Public,
    /// A note only staff see.
    Internal,
}

/// Where the case came from when it was escalated, so de-escalation can hand it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelStop {
    pub level: LevelId,
    pub team: Option<TeamId>,
    pub assignee: Option<UserId>,
}

/// The resolution given to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Resolution {
    pub code: String,
    pub note: Option<String>,
    /// The knowledge article that solved the case, if the agent said so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_id: Option<uuid::Uuid>,
    pub at: Timestamp,
}

/// The customer's satisfaction with the case (the latest score recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Csat {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub score: u8,
    pub comment: Option<String>,
    /// Given by the customer; `false` when an agent recorded it on their behalf.
    pub by_customer: bool,
    pub at: Timestamp,
}

/// Something a back-office team asked the front line to do on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub question: String,
    pub to_team: Option<TeamId>,
    pub to_user: Option<UserId>,
    pub asked_by: Actor,
    pub asked_at: Timestamp,
    pub answer: Option<String>,
    pub answered_by: Option<Actor>,
    pub answered_at: Option<Timestamp>,
}

/// A call-back booked for the outbound team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    pub team: TeamId,
    pub window_start: Timestamp,
    pub window_end: Timestamp,
    pub time_zone: String,
    pub note: Option<String>,
    /// When someone took the case for the call.
    pub taken_at: Option<Timestamp>,
}

/// Where an approval request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    Approved,
    Denied,
    /// A smaller amount was granted instead.
    Countered,
}

impl ApprovalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Denied => "denied",
            ApprovalState::Countered => "countered",
        }
    }
}

/// A request to grant an action above the requester's authority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub action: String,
    pub amount: f64,
    pub note: Option<String>,
    pub requested_by: Actor,
    pub requested_at: Timestamp,
    /// The lowest role that may decide it.
    pub approver_role: Role,
    pub state: ApprovalState,
    pub decided_by: Option<Actor>,
    pub decided_at: Option<Timestamp>,
    pub comment: Option<String>,
    /// What was granted: the amount or the counter-offer; `None` while pending or denied.
    pub final_amount: Option<f64>,
    /// Earlier grants in the authority window this request adds up with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<crate::cmd::apply_action::EarlierGrant>,
}

/// An action with a value that was granted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedAction {
    pub action: String,
    pub amount: f64,
    pub note: Option<String>,
    pub by: Actor,
    pub at: Timestamp,
    /// The approval it went through, if it needed one.
    pub approval: Option<u32>,
}

impl Approval {
    /// Why the request needs approval, e.g. `credit of 50 with 100 granted earlier in the
    /// window (50 on case 12, 50 on case 12): 150 in all`.
    pub fn reason(&self) -> String {
        match self.window_total() {
            Some(total) => format!(
                "{} of {} with {} granted earlier in the window ({}): {total} in all",
                self.action,
                self.amount,
                self.earlier_total(),
                crate::cmd::apply_action::amounts(&self.earlier)
            ),
            None => format!("{} of {}", self.action, self.amount),
        }
    }

    /// What was granted earlier in the window.
    pub fn earlier_total(&self) -> f64 {
        self.earlier.iter().map(|g| g.amount).sum()
    }

    /// The window's total with this amount (what an approver answers for); `None` when
    /// nothing was granted before.
    pub fn window_total(&self) -> Option<f64> {
        (!self.earlier.is_empty()).then(|| self.earlier_total() + self.amount)
    }
}

impl Case {
    /// The mood of the customer's last message (or of the case's opening), −2 (angry) to +2
    /// ([`crate::sentiment::mood`] of [`Case::sentiment`]).
    pub fn customer_sentiment(&self) -> Option<i8> {
        self.sentiment.map(crate::sentiment::mood)
    }

    /// Approval requests nobody has decided yet, with their numbers.
    pub fn pending_approvals(&self) -> impl Iterator<Item = (u32, &Approval)> {
        self.approvals.iter().enumerate().filter(|(_, a)| a.state == ApprovalState::Pending).map(|(i, a)| (i as u32, a))
    }

    /// Tasks not answered yet.
    pub fn open_tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks.iter().filter(|t| t.answer.is_none())
    }

    /// The booked call-back nobody has taken yet, if any.
    pub fn pending_callback(&self) -> Option<&Callback> {
        self.callbacks.iter().rev().find(|c| c.taken_at.is_none())
    }
}

/// The state of one case, folded from its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: CaseId,
    /// Human-friendly sequence number (`#1042`).
    pub number: u64,
    pub subject: String,
    pub description: String,
    pub category: Option<String>,
    pub channel: Channel,
    pub priority: Priority,
    pub status: Status,
    pub level: LevelId,
    pub team: Option<TeamId>,
    pub assignee: Option<UserId>,
    pub customer: Option<CustomerId>,
    pub tags: BTreeSet<String>,
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// Everyone who opened the case or has had it assigned, so they keep seeing it (and may
    /// add messages) after it moves on.
    pub worked_by: BTreeSet<UserId>,
    /// The levels the case came up through, most recent last.
    pub escalation_path: Vec<LevelStop>,
    /// Everyone who escalated the case, for "escalated by me" (kept after de-escalation,
    /// unlike `escalation_path`).
    #[serde(default)]
    pub escalated_by: BTreeSet<UserId>,
    /// The teams the case was escalated out of: their supervisors follow it
    /// ([`crate::access`]) and it is in "escalated by my team".
    #[serde(default)]
    pub escalated_from: BTreeSet<TeamId>,
    pub n_messages: u32,
    pub n_escalations: u32,
    pub n_de_escalations: u32,
    pub n_reopens: u32,
    pub first_response_at: Option<Timestamp>,
    pub resolution: Option<Resolution>,
    /// The sentiment of the customer's last message (or of the opening), VADER's compound
    /// score in thousandths ([`crate::sentiment`]): `case.sentiment` in the matrix.
    #[serde(default)]
    pub sentiment: Option<crate::sentiment::Sentiment>,
    /// The sentiment of the case's opening (its subject and description), as scored then.
    #[serde(default)]
    pub opening_sentiment: Option<crate::sentiment::Sentiment>,
    /// The escalation risk scored when the case opened, with the model version.
    #[serde(default)]
    pub risk: Option<crate::risk::Assessment>,
    /// SLA clocks, oldest first (every level the case has been at; ended ones stay).
    #[serde(default)]
    pub clocks: Vec<crate::sla::Clock>,
    /// Tasks the back office gave the front line, oldest first.
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Call-backs booked, oldest first.
    #[serde(default)]
    pub callbacks: Vec<Callback>,
    /// Approval requests for actions above the requester's authority, oldest first.
    #[serde(default)]
    pub approvals: Vec<Approval>,
    /// Actions with a value that were granted, oldest first.
    #[serde(default)]
    pub applied_actions: Vec<AppliedAction>,
    /// The customer's satisfaction score, the latest recorded.
    #[serde(default)]
    pub csat: Option<Csat>,
    /// Set on a case of kind `incident` (an IT incident opened by an alert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<crate::incidents::IncidentInfo>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Number of events in the stream; the version for optimistic concurrency.
    pub version: u64,
}

impl Case {
    /// Folds a whole stream. Returns `None` for an empty stream.
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a RecordedEvent>) -> Option<Case> {
        let mut state = None;
        for e in events {
            state = Some(apply(state, e));
        }
        state
    }
}

/// A case escalated or de-escalated to `level`: it is there now, with `team` and `user`
/// (who has worked it from then on), and open again unless nobody has touched it yet.
fn moved_to(case: &mut Case, level: &LevelId, team: Option<TeamId>, user: Option<UserId>) {
    case.level = level.clone();
    case.team = team;
    case.assignee = user;
    case.worked_by.extend(user);
    if case.status != Status::New {
        case.status = Status::Open;
    }
}

/// Applies one recorded event. Applying is total: events are facts and never fail.
pub fn apply(state: Option<Case>, recorded: &RecordedEvent) -> Case {
    let at = recorded.at;
    let mut case = match (&recorded.event, state) {
        (CaseEvent::Opened(o), _) => Case {
            id: recorded.case_id,
            number: o.number,
            subject: o.subject.clone(),
            description: o.description.clone(),
            category: o.category.clone(),
            channel: o.channel,
            priority: o.priority,
            status: if o.assignee.is_some() { Status::Open } else { Status::New },
            level: o.level.clone(),
            team: o.team,
            assignee: o.assignee,
            customer: o.customer,
            tags: o.tags.clone(),
            custom_fields: o.custom_fields.clone(),
            // The person who opened the case follows it, like whoever is assigned it.
            worked_by: o.assignee.into_iter().chain(recorded.actor.user_id()).collect(),
            escalation_path: Vec::new(),
            escalated_by: BTreeSet::new(),
            escalated_from: BTreeSet::new(),
            n_messages: 0,
            n_escalations: 0,
            n_de_escalations: 0,
            n_reopens: 0,
            first_response_at: None,
            resolution: None,
            sentiment: o.sentiment,
            opening_sentiment: o.sentiment,
            risk: o.risk.clone(),
            clocks: Vec::new(),
            tasks: Vec::new(),
            callbacks: Vec::new(),
            approvals: Vec::new(),
            applied_actions: Vec::new(),
            csat: None,
            incident: None,
            created_at: at,
            updated_at: at,
            version: 0,
        },
        (_, Some(case)) => case,
        (_, None) => panic!("event {} applied to a case that was never opened", recorded.event.kind()),
    };
    match &recorded.event {
        CaseEvent::Opened(_) => {}
        CaseEvent::MessageAdded(m) => {
            case.n_messages += 1;
            let staff_reply = matches!(m.author, Actor::User { .. }) && m.visibility == Visibility::Public;
            if staff_reply && case.first_response_at.is_none() {
                case.first_response_at = Some(at);
            }
            if staff_reply && case.status == Status::New {
                case.status = Status::Open;
            }
            if matches!(m.author, Actor::Customer { .. }) {
                // Events written before scores were stored are scored now, with the same lexicon.
                let score = m.sentiment.unwrap_or_else(|| crate::sentiment::score(&m.body));
                case.sentiment = Some(score);
            }
        }
        CaseEvent::Assigned(a) => {
            if let Some(cb) = case.callbacks.iter_mut().rev().find(|c| c.taken_at.is_none()) {
                cb.taken_at = Some(at);
            }
            case.assignee = Some(a.assignee);
            case.worked_by.insert(a.assignee);
            if case.status == Status::New {
                case.status = Status::Open;
            }
        }
        CaseEvent::Unassigned(_) => case.assignee = None,
        CaseEvent::Transferred(t) => {
            case.team = Some(t.to_team);
            case.assignee = t.to_user;
            case.worked_by.extend(t.to_user);
        }
        CaseEvent::Escalated(e) => {
            case.escalation_path.push(LevelStop {
                level: e.from_level.clone(),
                team: e.from_team,
                assignee: e.from_assignee,
            });
            case.escalated_by.extend(recorded.actor.user_id());
            case.escalated_from.extend(e.from_team);
            moved_to(&mut case, &e.to_level, e.to_team, e.to_user);
            case.n_escalations += 1;
        }
        CaseEvent::DeEscalated(d) => {
            if let Some(pos) = case.escalation_path.iter().rposition(|s| s.level == d.to_level) {
                case.escalation_path.truncate(pos);
            }
            moved_to(&mut case, &d.to_level, d.to_team, d.to_user);
            case.n_de_escalations += 1;
        }
        CaseEvent::InfoRequested(r) => {
            case.status = match r.from {
                crate::event::InfoSource::Customer => Status::PendingCustomer,
                crate::event::InfoSource::Internal => Status::PendingInternal,
            }
        }
        CaseEvent::Resumed(_) => case.status = Status::Open,
        CaseEvent::Updated(u) => {
            if let Some(s) = &u.subject {
                case.subject = s.clone();
            }
            if let Some(p) = u.priority {
                case.priority = p;
            }
            if let Some(c) = &u.category {
                case.category = c.clone();
            }
            if let Some(customer) = u.customer {
                case.customer = Some(customer);
            }
            for t in &u.tags_added {
                case.tags.insert(t.clone());
            }
            for t in &u.tags_removed {
                case.tags.remove(t);
            }
            for (k, v) in &u.custom_fields {
                if v.is_null() {
                    case.custom_fields.remove(k);
                } else {
                    case.custom_fields.insert(k.clone(), v.clone());
                }
            }
        }
        CaseEvent::Resolved(r) => {
            case.status = Status::Resolved;
            case.resolution =
                Some(Resolution { code: r.code.clone(), note: r.note.clone(), article_id: r.article_id, at });
        }
        CaseEvent::Reopened(_) => {
            case.status = Status::Open;
            case.resolution = None;
            case.n_reopens += 1;
        }
        CaseEvent::Closed(_) => case.status = Status::Closed,
        CaseEvent::NotificationRequested(_) | CaseEvent::RuleFailed(_) | CaseEvent::Routed(_) => {}
        CaseEvent::TaskCreated(t) => {
            case.tasks.push(Task {
                question: t.question.clone(),
                to_team: t.to_team,
                to_user: t.to_user,
                asked_by: recorded.actor.clone(),
                asked_at: at,
                answer: None,
                answered_by: None,
                answered_at: None,
            });
            case.status = Status::PendingInternal;
        }
        CaseEvent::TaskAnswered(t) => {
            if let Some(task) = case.tasks.get_mut(t.task as usize) {
                task.answer = Some(t.answer.clone());
                task.answered_by = Some(recorded.actor.clone());
                task.answered_at = Some(at);
            }
            if case.status == Status::PendingInternal && case.open_tasks().next().is_none() {
                case.status = Status::Open;
            }
        }
        CaseEvent::CallbackScheduled(c) => {
            case.callbacks.push(Callback {
                team: c.team,
                window_start: c.window_start,
                window_end: c.window_end,
                time_zone: c.time_zone.clone(),
                note: c.note.clone(),
                taken_at: None,
            });
            case.team = Some(c.team);
            case.assignee = None;
            if case.status != Status::New {
                case.status = Status::Open;
            }
        }
        CaseEvent::ApprovalRequested(r) => case.approvals.push(Approval {
            action: r.action.clone(),
            amount: r.amount,
            note: r.note.clone(),
            requested_by: recorded.actor.clone(),
            requested_at: at,
            approver_role: r.approver_role,
            state: ApprovalState::Pending,
            decided_by: None,
            decided_at: None,
            comment: None,
            final_amount: None,
            earlier: r.earlier.clone(),
        }),
        CaseEvent::ApprovalDecided(d) => {
            if let Some(a) = case.approvals.get_mut(d.approval as usize) {
                a.state = match d.decision {
                    crate::event::ApprovalOutcome::Approved => ApprovalState::Approved,
                    crate::event::ApprovalOutcome::Denied => ApprovalState::Denied,
                    crate::event::ApprovalOutcome::Countered => ApprovalState::Countered,
                };
                a.decided_by = Some(recorded.actor.clone());
                a.decided_at = Some(at);
                a.comment = d.comment.clone();
                a.final_amount = d.amount;
            }
        }
        CaseEvent::ActionApplied(a) => case.applied_actions.push(AppliedAction {
            action: a.action.clone(),
            amount: a.amount,
            note: a.note.clone(),
            by: recorded.actor.clone(),
            at,
            approval: a.approval,
        }),
        CaseEvent::CsatRecorded(c) => {
            case.csat = Some(Csat { score: c.score, comment: c.comment.clone(), by_customer: c.by_customer, at })
        }
        e if e.is_clock() => crate::sla::clock::apply_clock_event(&mut case.clocks, e, at),
        e @ (CaseEvent::IncidentTriggered(_)
        | CaseEvent::AlertReceived(_)
        | CaseEvent::IncidentAcknowledged(_)
        | CaseEvent::IncidentUnacknowledged(_)) => crate::incidents::apply(&mut case, e, &recorded.actor, at),
        _ => {}
    }
    // "New" means nobody owns the case yet: once someone is assigned, it is being worked.
    if case.status == Status::New && case.assignee.is_some() {
        case.status = Status::Open;
    }
    case.updated_at = at;
    case.version = recorded.version;
    case
}
