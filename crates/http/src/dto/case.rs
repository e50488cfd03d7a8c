//! How a case, its clocks, history and messages are shown.

use std::collections::BTreeMap;

use jiff::Timestamp;
use ladder_core::case::{Actor, Case, Channel, Csat, Priority, Resolution, Status, Visibility};
use ladder_core::sla::Ticking;
use ladder_engine::{StoredEvent, StoredMessage};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::*;

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
    pub resolution: Option<Resolution>,
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
    pub csat: Option<Csat>,
    /// The sentiment of the customer's last message (or of the opening): VADER's compound
    /// score, −1.0 (most negative) to +1.0; absent before anything was scored.
    pub sentiment: Option<f64>,
    /// The escalation risk the model in force gave the case when it opened, with the model
    /// version and the features that pushed it most; absent without a model then.
    pub risk: Option<RiskDto>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Send as `If-Match` to make a write conditional on nothing having changed.
    pub version: u64,
}

/// A case's escalation risk, scored when it opened.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskDto {
    /// The probability that the case will be escalated, 0.0–1.0.
    pub probability: f64,
    /// The model version that scored it.
    pub model_version: u64,
    /// The features that pushed the score most, strongest first (at most 3).
    pub factors: Vec<RiskFactorDto>,
}

/// One feature's push on a risk score.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskFactorDto {
    /// `category=billing`, `word:refund`, `negative_sentiment`, `repeat_contacts` …
    pub feature: String,
    /// Its contribution to the log-odds of an escalation (positive: towards one).
    pub contribution: f64,
}

impl From<&ladder_core::risk::Assessment> for RiskDto {
    fn from(a: &ladder_core::risk::Assessment) -> Self {
        RiskDto {
            probability: a.probability(),
            model_version: a.model_version,
            factors: a
                .factors
                .iter()
                .map(|f| RiskFactorDto {
                    feature: f.feature.clone(),
                    contribution: f64::from(f.contribution_milli) / 1000.0,
                })
                .collect(),
        }
    }
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
    /// Whether `remaining_seconds` goes down right now: the clock counts and its calendar
    /// is open.
    pub counting: bool,
    /// While counting: when its calendar closes next (absent for a clock that counts every
    /// hour, or open on for more than a week).
    pub counting_until: Option<Timestamp>,
    /// Out of business hours: when the calendar opens again and the clock goes on counting
    /// (absent otherwise).
    pub resumes_at: Option<Timestamp>,
    /// The calendar's time zone (IANA name); absent for a clock that counts every hour.
    pub time_zone: Option<String>,
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
        let ticking = c.ticking(cal, now);
        let (counting_until, resumes_at) = match ticking {
            Ticking::Counting { until } => (until, None),
            Ticking::OutOfHours { until } => (None, until),
            Ticking::Paused | Ticking::Stopped => (None, None),
        };
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
            counting: ticking.is_counting(),
            counting_until,
            resumes_at,
            time_zone: cal.and_then(|k| k.time_zone().iana_name()).map(str::to_string),
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
            resolution: c.resolution.clone(),
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
            csat: c.csat.clone(),
            sentiment: c.sentiment.map(ladder_core::sentiment::compound),
            risk: c.risk.as_ref().map(RiskDto::from),
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

/// What an escalation of a case may choose from: the levels above the case's, their teams
/// and people, the skills those teams offer, and the team the ladder suggests.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationTargetsDto {
    /// The levels above the case's, lowest first (empty on the top level).
    pub levels: Vec<String>,
    /// The teams of those levels.
    pub teams: Vec<EscalationTeamDto>,
    /// Their active people, each once, by level then name.
    pub people: Vec<EscalationPersonDto>,
    /// Every skill those teams offer, for `skills` in the escalate body.
    pub skills: Vec<String>,
    /// The team a hierarchical escalation to the next level up goes to with nothing named
    /// (its slug), or `null` when several teams or none remain.
    pub suggested_team: Option<String>,
    /// When several teams remain for the next level up: their slugs, to choose from.
    pub candidates: Vec<String>,
}

/// A team an escalation may go to.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationTeamDto {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub level: String,
    pub kind: ladder_core::directory::TeamKind,
    pub skills: Vec<String>,
}

/// A person an escalation may be addressed to (`to_user`).
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationPersonDto {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub role: ladder_core::Role,
    /// The team (slug) through which they work `level`.
    pub team: String,
    pub level: String,
    pub presence: ladder_core::agents::Presence,
    /// Active cases assigned to them now.
    pub open_cases: u32,
    /// Available and with room on the case's channel.
    pub has_room: bool,
}

impl From<&ladder_engine::EscalationOptions> for EscalationTargetsDto {
    fn from(o: &ladder_engine::EscalationOptions) -> Self {
        use ladder_core::command::TargetTeam;
        let (suggested_team, candidates) = match &o.suggested {
            TargetTeam::One(t, _) => (Some(t.slug.clone()), Vec::new()),
            TargetTeam::Several(c) => (None, c.iter().map(|c| c.team.clone()).collect()),
            TargetTeam::NoTeam => (None, Vec::new()),
        };
        EscalationTargetsDto {
            levels: o.levels.iter().map(|l| l.0.clone()).collect(),
            teams: o
                .teams
                .iter()
                .map(|t| EscalationTeamDto {
                    id: t.id.0,
                    slug: t.slug.clone(),
                    name: t.name.clone(),
                    level: t.level.0.clone(),
                    kind: t.kind,
                    skills: t.skills.clone(),
                })
                .collect(),
            people: o
                .people
                .iter()
                .map(|p| EscalationPersonDto {
                    id: p.id.0,
                    name: p.name.clone(),
                    display_name: p.display_name.clone(),
                    role: p.role,
                    team: p.team.clone(),
                    level: p.level.0.clone(),
                    presence: p.presence,
                    open_cases: p.open_cases,
                    has_room: p.has_room,
                })
                .collect(),
            skills: o.skills.clone(),
            suggested_team,
            candidates,
        }
    }
}
