//! Wire types of the API. They convert to and from domain types explicitly, so a change
//! in the domain is never silently a change of the API.

use std::collections::BTreeMap;

use jiff::Timestamp;
use ladder_core::case::{Actor, Case, Channel, Priority, Status, Visibility};
use ladder_core::directory::{Customer, CustomerStatus, Identity, Role, Team, TeamKind, User};
use ladder_engine::{StoredEvent, StoredMessage, TokenInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDto {
    pub id: Uuid,
    /// Human-friendly number, unique and increasing.
    pub number: u64,
    pub subject: String,
    pub description: String,
    pub category: Option<String>,
    pub channel: Channel,
    pub priority: Priority,
    pub status: Status,
    /// The rung of the ladder the case is on, e.g. `L2`.
    pub level: String,
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// Levels the case came up through, most recent last.
    pub escalation_path: Vec<LevelStopDto>,
    pub n_messages: u32,
    pub n_escalations: u32,
    pub n_de_escalations: u32,
    pub n_reopens: u32,
    pub first_response_at: Option<Timestamp>,
    pub resolution: Option<ResolutionDto>,
    /// The worst standing of the live SLA clocks: `breached`, `at_risk`, `running`,
    /// `paused`; absent without live clocks.
    pub sla: Option<String>,
    /// SLA clocks, oldest first: every level the case has been at.
    pub clocks: Vec<ClockDto>,
    /// Tasks the back office gave the front line.
    pub tasks: Vec<TaskDto>,
    /// Call-backs booked.
    pub callbacks: Vec<CallbackDto>,
    /// Approval requests for actions above the requester's authority, oldest first.
    pub approvals: Vec<ApprovalDto>,
    /// Actions with a value that were granted, oldest first.
    pub applied_actions: Vec<AppliedActionDto>,
    /// The customer's satisfaction score, the latest recorded.
    pub csat: Option<CsatDto>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Send as `If-Match` to make a write conditional on nothing having changed.
    pub version: u64,
}

/// One SLA clock of a case, as of the moment of the answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockDto {
    /// `respond`, `update` or `resolve`.
    pub kind: String,
    pub level: String,
    /// `running`, `paused`, `at_risk`, `breached`, `met` or `cancelled`.
    pub state: String,
    /// The target in business time, ISO 8601 (`PT1H`).
    #[schema(value_type = String)]
    pub target: jiff::SignedDuration,
    pub target_seconds: i64,
    /// The calendar it counts in; absent = every hour (24x7).
    pub calendar: Option<String>,
    pub started_at: Timestamp,
    /// When the target falls due; absent while paused or once ended.
    pub due_at: Option<Timestamp>,
    /// Business time left, in seconds; negative once overdue.
    pub remaining_seconds: i64,
    /// Business time spent paused, in seconds.
    pub paused_seconds: i64,
    /// When the clock was paused and resumed (`to` absent while still paused).
    pub paused_spans: Vec<PausedSpanDto>,
    /// Share of the target spent, in percent.
    pub elapsed_percent: f64,
    /// Warning percentages already fired.
    pub warnings: Vec<u8>,
    pub breached_at: Option<Timestamp>,
    pub met_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    /// Earlier targets, oldest first.
    pub revisions: Vec<ClockRevisionDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PausedSpanDto {
    pub from: Timestamp,
    pub to: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClockRevisionDto {
    /// When the target was replaced.
    pub at: Timestamp,
    /// The target it had until then, ISO 8601.
    #[schema(value_type = String)]
    pub target: jiff::SignedDuration,
}

impl ClockDto {
    /// The clock at `now`, measured in its calendar (`sla` resolves calendar names; without
    /// a matrix in force, clocks count 24x7).
    pub fn new(c: &ladder_core::sla::Clock, sla: Option<&ladder_core::sla::SlaPolicy>, now: Timestamp) -> ClockDto {
        let cal = sla.and_then(|p| p.calendar_of(c));
        let state = serde_json::to_value(c.state).ok().and_then(|v| v.as_str().map(str::to_string));
        ClockDto {
            kind: c.kind.as_str().to_string(),
            level: c.level.0.clone(),
            state: state.unwrap_or_default(),
            target: c.target,
            target_seconds: c.target.as_secs(),
            calendar: c.calendar.clone(),
            started_at: c.started_at,
            due_at: if c.state.is_final() { None } else { c.due_at },
            remaining_seconds: c.remaining(cal, now).as_secs(),
            paused_seconds: c.paused_time(cal, now).as_secs(),
            paused_spans: c.paused_spans.iter().map(|&(from, to)| PausedSpanDto { from, to }).collect(),
            elapsed_percent: (c.elapsed_fraction(cal, now) * 1000.0).round() / 10.0,
            warnings: c.warnings_sent.clone(),
            breached_at: c.breached_at,
            met_at: c.met_at,
            cancelled_at: c.cancelled_at,
            revisions: c.revisions.iter().map(|(at, target)| ClockRevisionDto { at: *at, target: *target }).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LevelStopDto {
    pub level: String,
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
}

/// A customer satisfaction score.
#[derive(Debug, Serialize, ToSchema)]
pub struct CsatDto {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub score: u8,
    pub comment: Option<String>,
    /// Given by the customer; `false` when an agent recorded it on their behalf.
    pub by_customer: bool,
    pub at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResolutionDto {
    pub code: String,
    pub note: Option<String>,
    pub at: Timestamp,
}

impl CaseDto {
    /// The case as of `now`; `sla` measures its clocks in their calendars.
    pub fn new(c: &Case, sla: Option<&ladder_core::sla::SlaPolicy>, now: Timestamp) -> Self {
        CaseDto {
            id: c.id.0,
            number: c.number,
            subject: c.subject.clone(),
            description: c.description.clone(),
            category: c.category.clone(),
            channel: c.channel,
            priority: c.priority,
            status: c.status,
            level: c.level.0.clone(),
            team_id: c.team.map(|t| t.0),
            assignee_id: c.assignee.map(|u| u.0),
            customer_id: c.customer.map(|u| u.0),
            tags: c.tags.iter().cloned().collect(),
            custom_fields: c.custom_fields.clone(),
            escalation_path: c
                .escalation_path
                .iter()
                .map(|s| LevelStopDto {
                    level: s.level.0.clone(),
                    team_id: s.team.map(|t| t.0),
                    assignee_id: s.assignee.map(|u| u.0),
                })
                .collect(),
            n_messages: c.n_messages,
            n_escalations: c.n_escalations,
            n_de_escalations: c.n_de_escalations,
            n_reopens: c.n_reopens,
            first_response_at: c.first_response_at,
            resolution: c.resolution.as_ref().map(|r| ResolutionDto {
                code: r.code.clone(),
                note: r.note.clone(),
                at: r.at,
            }),
            sla: ladder_core::sla::standing(c).0.map(str::to_string),
            clocks: c.clocks.iter().map(|k| ClockDto::new(k, sla, now)).collect(),
            tasks: c
                .tasks
                .iter()
                .enumerate()
                .map(|(i, t)| TaskDto {
                    task: i as u32,
                    question: t.question.clone(),
                    to_team_id: t.to_team.map(|x| x.0),
                    to_user_id: t.to_user.map(|x| x.0),
                    asked_at: t.asked_at,
                    answer: t.answer.clone(),
                    answered_at: t.answered_at,
                })
                .collect(),
            callbacks: c
                .callbacks
                .iter()
                .map(|cb| CallbackDto {
                    team_id: cb.team.0,
                    window_start: cb.window_start,
                    window_end: cb.window_end,
                    time_zone: cb.time_zone.clone(),
                    note: cb.note.clone(),
                    taken_at: cb.taken_at,
                })
                .collect(),
            approvals: c.approvals.iter().enumerate().map(|(i, a)| ApprovalDto::new(i as u32, a)).collect(),
            applied_actions: c
                .applied_actions
                .iter()
                .map(|a| AppliedActionDto {
                    action: a.action.clone(),
                    amount: a.amount,
                    note: a.note.clone(),
                    by_id: a.by.user_id().map(|u| u.0),
                    at: a.at,
                    approval: a.approval,
                })
                .collect(),
            csat: c.csat.as_ref().map(|s| CsatDto {
                score: s.score,
                comment: s.comment.clone(),
                by_customer: s.by_customer,
                at: s.at,
            }),
            created_at: c.created_at,
            updated_at: c.updated_at,
            version: c.version,
        }
    }
}

/// A page of cases.
#[derive(Debug, Serialize, ToSchema)]
pub struct CasePageDto {
    pub items: Vec<CaseDto>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Who did something.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorDto {
    /// `user`, `customer` or `system`.
    pub kind: String,
    pub id: Option<String>,
    /// The user's login name, or the system component's name.
    pub name: Option<String>,
}

impl ActorDto {
    pub fn from_actor(a: &Actor, user_names: &BTreeMap<Uuid, String>) -> Self {
        match a {
            Actor::User { id } => {
                ActorDto { kind: "user".into(), id: Some(id.to_string()), name: user_names.get(&id.0).cloned() }
            }
            Actor::Customer { id } => ActorDto { kind: "customer".into(), id: id.map(|i| i.to_string()), name: None },
            Actor::System { name } => ActorDto { kind: "system".into(), id: None, name: Some(name.clone()) },
        }
    }
}

/// One entry of a case's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    /// Global position in the event log.
    pub seq: i64,
    /// Position in the case's stream (1 = opened).
    pub version: u64,
    /// `opened`, `message_added`, `assigned`, `escalated`, `de_escalated`, `resolved` …
    #[serde(rename = "type")]
    pub kind: String,
    pub at: Timestamp,
    pub actor: ActorDto,
    /// The event's facts (see the API guide for each type's fields).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub status_before: Option<Status>,
    pub status_after: Status,
    /// The escalation matrix version in force when this was decided.
    pub matrix_version: Option<u32>,
}

impl EventDto {
    pub fn list(events: &[StoredEvent], user_names: &BTreeMap<Uuid, String>) -> Vec<EventDto> {
        let mut state: Option<Case> = None;
        events
            .iter()
            .map(|e| {
                let before = state.as_ref().map(|c| c.status);
                let next = ladder_core::case::apply(state.take(), &e.recorded);
                let after = next.status;
                state = Some(next);
                let mut data = serde_json::to_value(&e.recorded.event).unwrap_or_default();
                if let Some(obj) = data.as_object_mut() {
                    obj.remove("type");
                }
                EventDto {
                    seq: e.seq,
                    version: e.recorded.version,
                    kind: e.recorded.event.kind().to_string(),
                    at: e.recorded.at,
                    actor: ActorDto::from_actor(&e.recorded.actor, user_names),
                    data,
                    status_before: before,
                    status_after: after,
                    matrix_version: e.recorded.matrix_version,
                }
            })
            .collect()
    }
}

/// A message (contact) on a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDto {
    pub id: String,
    pub author: ActorDto,
    pub visibility: Visibility,
    pub channel: Channel,
    pub body: String,
    pub at: Timestamp,
}

impl MessageDto {
    pub fn from_stored(m: &StoredMessage, user_names: &BTreeMap<Uuid, String>) -> Self {
        MessageDto {
            id: m.id.clone(),
            author: ActorDto::from_actor(&m.author, user_names),
            visibility: m.visibility,
            channel: m.channel,
            body: m.body.clone(),
            at: m.at,
        }
    }
}

fn default_channel() -> Channel {
    Channel::Api
}
fn default_priority() -> Priority {
    Priority::Normal
}
fn default_visibility() -> Visibility {
    Visibility::Public
}

/// Open a case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCaseBody {
    pub subject: String,
    #[serde(default)]
    pub description: String,
    pub category: Option<String>,
    /// Defaults to `api`.
    #[serde(default = "default_channel")]
    pub channel: Channel,
    /// Defaults to `normal`.
    #[serde(default = "default_priority")]
    pub priority: Priority,
    /// Defaults to the team's level, else the front line.
    pub level: Option<String>,
    /// Team slug or id. Defaults to the caller's team at that level.
    pub team: Option<String>,
    /// User name or id.
    pub assignee: Option<String>,
    pub customer_id: Option<Uuid>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

/// Add a public reply or an internal note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    pub body: String,
    /// `public` (default; the customer sees it) or `internal` (a note for staff).
    #[serde(default = "default_visibility")]
    pub visibility: Visibility,
    /// Defaults to the case's channel.
    pub channel: Option<Channel>,
    /// Record the customer's own words (a call transcript, an inbound email).
    #[serde(default)]
    pub from_customer: bool,
    /// Take the case out of `pending_customer` / `pending_internal`.
    #[serde(default)]
    pub resume: bool,
}

/// Move the case to another team on the same level.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// Team slug or id.
    pub to_team: String,
    pub to_user: Option<String>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenBody {
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskFrontLineBody {
    /// What the front line should get from the customer.
    pub question: String,
}

/// A satisfaction score the customer gave, recorded by an agent on their behalf.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CsatBody {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub score: u8,
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerTaskBody {
    pub answer: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackBody {
    /// Local date and time the window opens, e.g. `2026-11-24T14:00`.
    #[schema(value_type = String)]
    pub window_start: jiff::civil::DateTime,
    /// Local date and time it closes.
    #[schema(value_type = String)]
    pub window_end: jiff::civil::DateTime,
    /// IANA time zone of those times; default: the customer's, else UTC.
    pub time_zone: Option<String>,
    /// The outbound team (slug or id); default: the team of kind `outbound`.
    pub team: Option<String>,
    pub note: Option<String>,
}

/// A task the back office gave the front line.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskDto {
    /// Its number on the case, for `/tasks/{task}/answer`.
    pub task: u32,
    pub question: String,
    pub to_team_id: Option<Uuid>,
    pub to_user_id: Option<Uuid>,
    pub asked_at: Timestamp,
    pub answer: Option<String>,
    pub answered_at: Option<Timestamp>,
}

/// A booked call-back.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackDto {
    pub team_id: Uuid,
    pub window_start: Timestamp,
    pub window_end: Timestamp,
    pub time_zone: String,
    pub note: Option<String>,
    /// When someone took the case for the call.
    pub taken_at: Option<Timestamp>,
}

/// Change descriptive fields; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCaseBody {
    pub subject: Option<String>,
    pub priority: Option<Priority>,
    /// A string sets the category, `null` clears it; leave it out to keep it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    #[serde(default)]
    pub add_tags: Vec<String>,
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// A `null` value removes the field.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

// ---- directory ----

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityDto {
    pub channel: Channel,
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDto {
    pub id: Uuid,
    pub name: String,
    pub identities: Vec<IdentityDto>,
    pub value: f64,
    pub segment: Option<String>,
    pub language: Option<String>,
    pub time_zone: Option<String>,
    #[schema(value_type = Object)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    pub created_at: Timestamp,
    /// `active` or `churned`.
    pub status: CustomerStatus,
    /// When the status last changed; absent if it never did.
    pub status_changed_at: Option<Timestamp>,
}

impl From<&Customer> for CustomerDto {
    fn from(c: &Customer) -> Self {
        CustomerDto {
            id: c.id.0,
            name: c.name.clone(),
            identities: c
                .identities
                .iter()
                .map(|i| IdentityDto { channel: i.channel, value: i.value.clone() })
                .collect(),
            value: c.value,
            segment: c.segment.clone(),
            language: c.language.clone(),
            time_zone: c.time_zone.clone(),
            custom_fields: c.custom_fields.clone(),
            created_at: c.created_at,
            status: c.status,
            status_changed_at: c.status_changed_at,
        }
    }
}

/// Set whether a customer still does business with the company.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerStatusBody {
    /// `active` or `churned`.
    pub status: CustomerStatus,
}

/// Create or replace a customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    pub name: String,
    #[serde(default)]
    pub identities: Vec<IdentityDto>,
    /// Lifetime value.
    #[serde(default)]
    pub value: f64,
    pub segment: Option<String>,
    pub language: Option<String>,
    /// IANA time zone, e.g. `America/New_York`.
    pub time_zone: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

impl CustomerBody {
    pub fn into_customer(self, id: ladder_core::ids::CustomerId, created_at: Timestamp) -> Customer {
        Customer {
            id,
            name: self.name,
            identities: self.identities.into_iter().map(|i| Identity { channel: i.channel, value: i.value }).collect(),
            value: self.value,
            segment: self.segment,
            language: self.language,
            time_zone: self.time_zone,
            custom_fields: self.custom_fields,
            created_at,
            status: Default::default(),
            status_changed_at: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamDto {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub level: String,
    pub kind: TeamKind,
    pub skills: Vec<String>,
    pub created_at: Timestamp,
}

impl From<&Team> for TeamDto {
    fn from(t: &Team) -> Self {
        TeamDto {
            id: t.id.0,
            slug: t.slug.clone(),
            name: t.name.clone(),
            level: t.level.0.clone(),
            kind: t.kind,
            skills: t.skills.clone(),
            created_at: t.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamBody {
    /// Short unique handle, e.g. `billing`.
    pub slug: String,
    pub name: String,
    pub level: String,
    pub kind: TeamKind,
    #[serde(default)]
    pub skills: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub teams: Vec<Uuid>,
    pub skills: Vec<String>,
    pub levels: Vec<String>,
    pub active: bool,
    pub created_at: Timestamp,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        UserDto {
            id: u.id.0,
            name: u.name.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            role: u.role,
            teams: u.teams.iter().map(|t| t.0).collect(),
            skills: u.skills.clone(),
            levels: u.levels.iter().map(|l| l.0.clone()).collect(),
            active: u.active,
            created_at: u.created_at,
        }
    }
}

/// Create or replace a user. Teams by slug or id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    pub name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub levels: Vec<String>,
    /// Only on create; change it later with `POST /users/{id}/password`.
    pub password: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    pub id: String,
    pub user_id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl From<&TokenInfo> for TokenDto {
    fn from(t: &TokenInfo) -> Self {
        TokenDto {
            id: t.id.clone(),
            user_id: t.user_id.0,
            name: t.name.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A new token. `token` is shown once and cannot be recovered.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenDto {
    pub token: String,
    #[serde(flatten)]
    pub info: TokenDto,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub name: String,
    /// Admins may mint tokens for another user (name or id).
    pub user: Option<String>,
    /// Lifetime in seconds; absent means no expiry.
    pub expires_in_seconds: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub name: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginDto {
    /// A bearer token valid for 12 hours. `POST /api/v1/auth/logout` revokes it.
    pub token: String,
    pub token_id: String,
    pub expires_at: Timestamp,
    pub user: UserDto,
}

/// A request to grant an action above the requester's authority.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalDto {
    /// Its number on the case, for `/approvals/{approval}`.
    pub approval: u32,
    pub action: String,
    pub amount: f64,
    pub note: Option<String>,
    pub requested_by_id: Option<Uuid>,
    pub requested_at: Timestamp,
    /// The lowest role that may decide it.
    pub approver_role: Role,
    /// `pending`, `approved`, `denied` or `countered`.
    pub state: String,
    pub decided_by_id: Option<Uuid>,
    pub decided_at: Option<Timestamp>,
    pub comment: Option<String>,
    /// What was granted: the amount or the counter-offer; absent while pending or denied.
    pub final_amount: Option<f64>,
}

impl ApprovalDto {
    pub fn new(n: u32, a: &ladder_core::case::Approval) -> Self {
        ApprovalDto {
            approval: n,
            action: a.action.clone(),
            amount: a.amount,
            note: a.note.clone(),
            requested_by_id: a.requested_by.user_id().map(|u| u.0),
            requested_at: a.requested_at,
            approver_role: a.approver_role,
            state: a.state.as_str().to_string(),
            decided_by_id: a.decided_by.as_ref().and_then(Actor::user_id).map(|u| u.0),
            decided_at: a.decided_at,
            comment: a.comment.clone(),
            final_amount: a.final_amount,
        }
    }
}

/// An action with a value that was granted.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedActionDto {
    pub action: String,
    pub amount: f64,
    pub note: Option<String>,
    /// Who granted it (the approver, when it went through an approval).
    pub by_id: Option<Uuid>,
    pub at: Timestamp,
    /// The approval it went through; absent when within the requester's own limit.
    pub approval: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// An action of the matrix's `[[authority]]` rules: `credit`, `refund`, `fee_waiver` …
    pub action: String,
    /// Above 0. Within your limit it applies at once; above it an approval is requested.
    pub amount: f64,
    pub note: Option<String>,
}

/// What an approver decides.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Deny,
    /// Grant a smaller `amount` instead.
    Counter,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideApprovalBody {
    pub decision: DecisionKind,
    /// The counter-offer (only with `counter`): above 0, below the amount requested and
    /// within your own limit.
    pub amount: Option<f64>,
    /// Required to deny.
    pub comment: Option<String>,
}

/// A pending approval the caller may decide, with its case.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalInboxItemDto {
    pub case_id: Uuid,
    pub case_number: u64,
    pub subject: String,
    pub team_id: Option<Uuid>,
    #[serde(flatten)]
    pub approval: ApprovalDto,
}
