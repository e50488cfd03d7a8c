//! Case requests as the API gives them (ids or names), resolved against the directory
//! and run through the store.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use ladder_core::access::{Action, Principal};
use ladder_core::command::*;
use ladder_core::directory::{Customer, Ladder, LevelId, Requester, Role, Team, User};
use ladder_core::event::{CaseEvent, EscalationKind, Initiator};
use ladder_core::ids::{CaseId, CustomerId, TeamId};
use ladder_core::matrix::{ActiveMatrix, Surroundings, follow_up};
use ladder_core::{Actor, DomainError, decide, record};
use ladder_store::{CaseOutcome, CaseWrite, Decided, Idempotency, StoreError};
use serde::Deserialize;
use serde_json::json;

use crate::Engine;

/// How many of a customer's most recent cases a `customer_day` authority window reads.
const GRANT_LOOKBACK_CASES: u32 = 1_000;

/// A user's command as a write decides it, inside the store's transaction: access, then
/// [`decide`], then the matrix's rules on what it produced and the clock changes that
/// follow ([`follow_up`]). Every write a user makes goes through [`UserCommand::apply`]
/// (`Engine::run`, `Engine::claim_next`); the engine's own writes (router, timers) decide
/// as the system through [`Engine::system_write`].
pub(crate) struct UserCommand {
    pub principal: Principal,
    pub command: CaseCommand,
    pub ladder: Arc<Ladder>,
    /// The matrix in force when the command was resolved.
    pub active: Option<Arc<ActiveMatrix>>,
    /// The directory's teams, for the rules (read before the write; empty without a matrix).
    pub teams: Vec<TeamRef>,
    /// For a new case, the risk model in force and the desk's load (cases opened in the
    /// last hour), read before the write: the case is scored as it is decided.
    pub risk: Option<(Arc<ladder_core::risk::RiskModel>, u32)>,
    pub now: Timestamp,
}

impl UserCommand {
    /// Decides the command against `case` (`None`: the case does not exist yet and gets
    /// `next_number`), with the customer and the number of their recent cases the rules see.
    pub(crate) fn apply(
        &self,
        case_id: CaseId,
        case: Option<&ladder_core::Case>,
        next_number: u64,
        customer: Option<&Customer>,
        repeat_contacts: u32,
    ) -> Result<Decided, StoreError> {
        // A case outside the principal's scope is answered as one that does not exist.
        if case.is_some_and(|c| crate::query::hidden(&self.principal, c)) {
            return Err(StoreError::NotFound(format!("case {case_id}")));
        }
        self.principal.may(case, &self.command).map_err(StoreError::Forbidden)?;
        let actor = Actor::User { id: self.principal.user_id };
        let version = self.active.as_ref().map(|m| m.version);
        let cx = ladder_core::Context { next_number, ..crate::write_context(&actor, &self.ladder, version, self.now) };
        let mut events = decide(case, &self.command, &cx).map_err(|e| match (case, e) {
            (None, DomainError::NoSuchCase(_)) => StoreError::NotFound(format!("case {case_id}")),
            (_, e) => StoreError::Domain(e),
        })?;
        // A new case is scored by the model in force (pure, microseconds), from its opening
        // as decided; the score and the model's version are recorded in the event.
        if let (Some((model, queue_load)), None, Some(CaseEvent::Opened(opened))) =
            (&self.risk, case, events.first_mut())
        {
            let (value, segment) = customer.map_or((0.0, None), |c| (c.value, c.segment.as_deref()));
            let opening = ladder_core::risk::opening_of(opened, value, segment, repeat_contacts, *queue_load, self.now);
            let assessment = model.assess(&opening);
            opened.risk = Some(assessment);
        }
        let mut recorded = record(case_id, case.map_or(0, |c| c.version), &cx, events);
        let mut triggers = Vec::new();
        if let Some(active) = &self.active {
            let around = Surroundings { customer, teams: &self.teams, ladder: &self.ladder };
            triggers = follow_up(active, case, &mut recorded, &around, repeat_contacts, self.now, uuid::Uuid::now_v7);
        }
        // No orphan: a move between levels, with whatever the rules did after it, leaves the
        // case with a team or a person.
        let candidates = match &self.command {
            CaseCommand::Escalate(e) => Some(e.candidates.as_slice()),
            CaseCommand::DeEscalate(_) => Some(&[][..]),
            _ => None,
        };
        if let Some(candidates) = candidates
            && let Some(after) = recorded.iter().fold(case.cloned(), |c, r| Some(ladder_core::case::apply(c, r)))
        {
            check_owner(candidates, &after)?;
        }
        Ok(Decided { events: recorded, triggers })
    }
}

/// Opening a case, with the team and the assignee named as the API and the console name
/// them (a team's slug or id, a user's name or id).
pub type OpenRequest = OpenCase<String, String>;

// The request types below are the one shape of their command as callers send it: the
// JSON API deserialises its body into them (their doc comments describe that body in the
// OpenAPI document, under the body's name there), and the console's forms post the same
// field names.

/// Escalate: functional (to a team with the skill) or hierarchical (to more authority).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = EscalateBody))]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    pub kind: EscalationKind,
    /// For hierarchical escalation; defaults to the next level up.
    #[cfg_attr(feature = "schema", schema(value_type = Option<String>))]
    pub to_level: Option<LevelId>,
    /// Team slug or id; required for functional escalation.
    pub to_team: Option<String>,
    /// A named supervisor or manager (user name or id).
    pub to_user: Option<String>,
    /// `agent` (default), `customer` ("let me speak to a supervisor") or `system`.
    #[serde(default = "agent")]
    pub initiator: Initiator,
    pub reason: String,
    /// What was already tried; required when an agent escalates.
    pub tried: Option<String>,
    /// A skill the receiving team must offer (`billing` …), when no team or person is
    /// named: the same as `skills` with this one skill.
    #[serde(default)]
    pub skill: Option<String>,
    /// The skills the receiving team must all offer, when no team or person is named:
    /// the engine chooses the team (by presence and capacity among those that offer them)
    /// and records why on the `escalated` event. At most 20.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schema(max_items = 20))]
    pub skills: Vec<String>,
}

impl Escalation {
    /// The skills asked for (`skill` and `skills` together, each once), checked, and the
    /// field a refusal names; `None` when none was asked.
    pub fn skills_wanted(&self) -> Result<Option<SkillsWanted>, DomainError> {
        let field = if self.skills.is_empty() { "skill" } else { "skills" };
        if self.skills.len() > MAX_SKILLS_ASKED {
            return Err(DomainError::invalid(
                "skills",
                format!("{} skills asked; at most {MAX_SKILLS_ASKED}", self.skills.len()),
            ));
        }
        let mut skills: Vec<String> = Vec::new();
        for s in self.skill.iter().chain(&self.skills) {
            ladder_core::validate::handle(field, s)?;
            if !skills.contains(s) {
                skills.push(s.clone());
            }
        }
        Ok((!skills.is_empty()).then(|| SkillsWanted::asked(field, skills)))
    }
}

fn agent() -> Initiator {
    Initiator::Agent
}

/// Assign (or, with `assignee: null`, unassign) the case.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = AssignBody))]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// User name, id or `me`; `null` unassigns. Required, so an empty body never unassigns by accident.
    #[serde(deserialize_with = "required_nullable")]
    #[cfg_attr(feature = "schema", schema(required = true))]
    pub assignee: Option<String>,
}

fn required_nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

/// Hand the case back down the ladder.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = DeEscalateBody))]
#[serde(deny_unknown_fields)]
pub struct DeEscalation {
    /// Defaults to the level the case came from.
    #[cfg_attr(feature = "schema", schema(value_type = Option<String>))]
    pub to_level: Option<LevelId>,
    pub to_team: Option<String>,
    pub to_user: Option<String>,
    /// What the lower level should do next.
    pub guidance: String,
}

/// Move the case to another team on the same level.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = TransferBody))]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// Team slug or id.
    pub to_team: String,
    pub to_user: Option<String>,
    #[serde(default)]
    pub reason: String,
}

/// Book a call-back in a window of local times; the time zone defaults to the customer's,
/// the team to the outbound team.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = CallbackBody))]
#[serde(deny_unknown_fields)]
pub struct CallbackRequest {
    /// Local date and time the window opens, e.g. `2026-11-24T14:00`.
    #[cfg_attr(feature = "schema", schema(value_type = String, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?$"))]
    pub window_start: jiff::civil::DateTime,
    /// Local date and time it closes.
    #[cfg_attr(feature = "schema", schema(value_type = String, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?$"))]
    pub window_end: jiff::civil::DateTime,
    /// IANA time zone of those times; default: the customer's, else UTC.
    pub time_zone: Option<String>,
    /// The outbound team (slug or id); default: the team of kind `outbound`.
    pub team: Option<String>,
    pub note: Option<String>,
}

/// An action with a value; the caller's authority comes from the matrix in force.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = ActionBody))]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// An action of the matrix's `[[authority]]` rules: `credit`, `refund`, `fee_waiver` …
    pub action: String,
    /// Above 0. Within your limit it applies at once; above it an approval is requested.
    #[cfg_attr(feature = "schema", schema(exclusive_minimum = 0))]
    pub amount: f64,
    #[cfg_attr(feature = "schema", schema(pattern = r"\S"))]
    pub note: Option<String>,
}

/// Every case command, before names are resolved.
#[derive(Debug, Clone)]
pub enum CaseRequest {
    Open(OpenRequest),
    AddMessage(AddMessage),
    Assign(Assignment),
    Transfer(TransferRequest),
    Escalate(Escalation),
    DeEscalate(DeEscalation),
    RequestInfo(RequestInfo),
    Update(UpdateCase),
    Resolve(Resolve),
    Reopen(Reopen),
    Close,
    AskFrontLine(AskFrontLine),
    AnswerTask(AnswerTask),
    RecordCsat(RecordCsat),
    ScheduleCallback(CallbackRequest),
    ApplyAction(ActionRequest),
    DecideApproval { approval: u32, decision: Decision, comment: Option<String> },
}

pub(crate) fn team_ref(t: &Team) -> TeamRef {
    TeamRef { id: t.id, slug: t.slug.clone(), level: t.level.clone() }
}

impl Engine {
    /// Every team, as deciding and the matrix's rules need them.
    pub(crate) async fn team_refs(&self) -> Result<Vec<TeamRef>, StoreError> {
        Ok(self.store.teams().await?.iter().map(team_ref).collect())
    }

    /// A team by slug or id; the error names the field.
    pub async fn resolve_team(&self, field: &str, key: &str) -> Result<Team, StoreError> {
        let found = match key.parse() {
            Ok(id) => self.store.team(id).await?,
            Err(_) => self.store.team_by_slug(key.to_string()).await?,
        };
        found.ok_or_else(|| DomainError::invalid(field, format!("no team '{key}'")).into())
    }

    /// A user by name or id; the error names the field.
    pub async fn resolve_user(&self, field: &str, key: &str) -> Result<User, StoreError> {
        let found = match key.parse() {
            Ok(id) => self.store.user(id).await?,
            Err(_) => self.store.user_credentials(key.to_string()).await?.map(|c| c.user),
        };
        found.ok_or_else(|| DomainError::invalid(field, format!("no user '{key}'")).into())
    }

    async fn resolve_team_opt(&self, field: &str, key: Option<&str>) -> Result<Option<TeamRef>, StoreError> {
        match key {
            Some(k) => Ok(Some(team_ref(&self.resolve_team(field, k).await?))),
            None => Ok(None),
        }
    }

    async fn resolve_user_opt(&self, field: &str, key: Option<&str>) -> Result<Option<UserRef>, StoreError> {
        match key {
            Some(k) => Ok(Some(self.user_ref(&self.resolve_user(field, k).await?).await?)),
            None => Ok(None),
        }
    }

    /// A user with their teams' levels, as deciding needs them.
    pub(crate) async fn user_ref(&self, u: &User) -> Result<UserRef, StoreError> {
        let mut teams = Vec::with_capacity(u.teams.len());
        for id in &u.teams {
            if let Some(t) = self.store.team(*id).await? {
                teams.push(team_ref(&t));
            }
        }
        Ok(UserRef { id: u.id, name: u.name.clone(), role: u.role, teams, levels: u.levels.clone(), active: u.active })
    }

    /// A user named in a request; `me` is the caller.
    async fn person(
        &self,
        principal: &Principal,
        field: &str,
        key: Option<&str>,
    ) -> Result<Option<UserRef>, StoreError> {
        let me = principal.user_id.to_string();
        self.resolve_user_opt(field, key.map(|k| if k == "me" { me.as_str() } else { k })).await
    }

    /// When a move to `level` names neither team nor person and exactly one team works that
    /// level, the case goes to that team (routing by skill comes with the routing rules).
    async fn only_team_at(&self, level: Option<&LevelId>) -> Result<Option<TeamRef>, StoreError> {
        Ok(ladder_core::matrix::apply::only_team_at(&self.team_refs().await?, level))
    }

    /// The teams, the matrix's lists of teams by level and the staffing of every team now
    /// (its members' presence, capacity and load on `channel`), as the choice of a target
    /// team needs them.
    pub(crate) async fn teams_now(
        &self,
        channel: ladder_core::Channel,
    ) -> Result<(Vec<Team>, BTreeMap<LevelId, Vec<String>>, BTreeMap<TeamId, TeamStaffing>), StoreError> {
        let teams = self.store.teams().await?;
        let listed = self
            .active_matrix()
            .map(|m| m.compiled.matrix().levels.iter().map(|l| (l.id.clone(), l.teams.clone())).collect())
            .unwrap_or_default();
        // Two reads whatever the number of teams: every member of any team, and their loads.
        let agents = self.store.agents(Some(teams.iter().map(|t| t.id).collect())).await?;
        let loads = self.store.agent_loads(agents.iter().map(|(u, _)| u.id).collect()).await?;
        let mut staffing: BTreeMap<TeamId, TeamStaffing> =
            teams.iter().map(|t| (t.id, TeamStaffing::default())).collect();
        for (user, profile) in &agents {
            let spare = loads.get(&user.id).map_or(profile.capacity_for(channel), |l| l.spare(profile, channel));
            let available = profile.presence.takes_new_work() && spare > 0;
            for team in &user.teams {
                let Some(s) = staffing.get_mut(team) else { continue };
                s.members += 1;
                if available {
                    s.available += 1;
                    s.spare += spare;
                }
            }
        }
        Ok((teams, listed, staffing))
    }

    /// The team an escalation of `case` to `level` goes to when the caller names neither
    /// team nor person ([`target_team`]): over the directory's teams, the matrix's list for
    /// the level, the skills asked for (chosen among by presence and capacity) and the
    /// case's category.
    pub async fn escalation_target(
        &self,
        case: &ladder_core::Case,
        level: &LevelId,
        kind: EscalationKind,
        wanted: Option<&SkillsWanted>,
    ) -> Result<TargetTeam, StoreError> {
        let (teams, listed, staffing) = self.teams_now(case.channel).await?;
        let now = TeamsNow { teams: &teams, listed: &listed, staffing: &staffing };
        Ok(target_team(&now, level, kind, wanted, case.category.as_deref())?)
    }

    /// The team a functional escalation of `case` naming no team or person goes to: by the
    /// skills asked for, else by the matrix's route for the case or its category
    /// ([`functional_target`], [`inferred_target`]); refused naming the missing skill, or
    /// `to_team` when nothing says where the case should go.
    async fn functional_by_skill(
        &self,
        case: &ladder_core::Case,
        to_level: Option<&LevelId>,
        wanted: Option<&SkillsWanted>,
        now_at: Timestamp,
    ) -> Result<(TeamRef, ladder_core::event::TeamChosen), StoreError> {
        let ladder = self.ladder();
        let levels: Vec<LevelId> = match to_level {
            Some(l) => vec![l.clone()],
            None => {
                let rank = ladder.rank(&case.level).unwrap_or(0);
                ladder.levels[rank + 1..].iter().chain(std::iter::once(&case.level)).cloned().collect()
            }
        };
        let (teams, listed, staffing) = self.teams_now(case.channel).await?;
        let now = TeamsNow { teams: &teams, listed: &listed, staffing: &staffing };
        if let Some(w) = wanted {
            return Ok(functional_target(&now, &levels, case.team, w)?);
        }
        let route = match self.active_matrix() {
            Some(active) => {
                let customer = match case.customer {
                    Some(id) => self.store.customer(id).await?,
                    None => None,
                };
                let slug = case.team.and_then(|id| teams.iter().find(|t| t.id == id)).map(|t| t.slug.as_str());
                ladder_core::matrix::route_for(&active.compiled, case, slug, customer.as_ref(), now_at)
            }
            None => None,
        };
        let route = route.as_ref().map(|(rule, team)| (rule.as_str(), team.as_str()));
        match inferred_target(&now, &levels, case.team, route, case.category.as_deref()) {
            Some(found) => Ok(found?),
            None => Err(DomainError::invalid(
                "to_team",
                match &case.category {
                    Some(c) => format!(
                        "a functional escalation needs the team (to_team) or the skills it must offer (skills); no rule of the matrix routes this case and no team at {} offers its category '{c}'",
                        levels.iter().map(|l| l.0.as_str()).collect::<Vec<_>>().join(" or ")
                    ),
                    None => "a functional escalation needs the team (to_team) or the skills it must offer (skills); the case has no category to go by and no rule of the matrix routes it".into(),
                },
            )
            .into()),
        }
    }

    /// Resolves names to directory entries and builds the domain command.
    async fn resolve(
        &self,
        principal: &Principal,
        case_id: CaseId,
        request: CaseRequest,
        now: Timestamp,
    ) -> Result<CaseCommand, StoreError> {
        Ok(match request {
            CaseRequest::Open(o) => {
                if let Some(c) = o.customer
                    && self.store.customer(c).await?.is_none()
                {
                    return Err(DomainError::invalid("customer", format!("no customer {c}")).into());
                }
                if let Some(level) = &o.level {
                    self.ladder().check("level", level)?;
                }
                let mut team = self.resolve_team_opt("team", o.team.as_deref()).await?;
                if team.is_none() && principal.role < Role::Manager {
                    // Default to the caller's own team at the requested level, so the case stays visible.
                    let level = o.level.clone().unwrap_or_else(|| self.ladder().bottom().clone());
                    for t in &principal.teams {
                        if let Some(t) = self.store.team(*t).await?
                            && t.level == level
                        {
                            team = Some(team_ref(&t));
                            break;
                        }
                    }
                    if team.is_none() {
                        return Err(DomainError::invalid(
                            "team",
                            format!("none of your teams works {level}; name the team that should own the case"),
                        )
                        .into());
                    }
                }
                self.check_custom_fields(&o.custom_fields, false)?;
                let assignee = self.person(principal, "assignee", o.assignee.as_deref()).await?;
                CaseCommand::Open(o.naming(team, assignee))
            }
            CaseRequest::AddMessage(m) => CaseCommand::AddMessage(m),
            CaseRequest::Assign(Assignment { assignee }) => {
                CaseCommand::Assign(Assign { assignee: self.person(principal, "assignee", assignee.as_deref()).await? })
            }
            CaseRequest::Transfer(TransferRequest { to_team, to_user, reason }) => CaseCommand::Transfer(Transfer {
                to_team: team_ref(&self.resolve_team("to_team", &to_team).await?),
                to_user: self.person(principal, "to_user", to_user.as_deref()).await?,
                reason,
            }),
            CaseRequest::Escalate(e) => {
                if e.initiator == Initiator::System && principal.role < Role::Admin {
                    return Err(StoreError::Forbidden(
                        "only rules and integrations (admin tokens) may escalate as the system".into(),
                    ));
                }
                let mut to_team = self.resolve_team_opt("to_team", e.to_team.as_deref()).await?;
                let to_user = self.person(principal, "to_user", e.to_user.as_deref()).await?;
                let wanted = e.skills_wanted()?;
                let mut candidates = Vec::new();
                let mut team_choice = None;
                if to_team.is_none()
                    && to_user.is_none()
                    && let Some(case) = self.store.case(case_id).await?
                {
                    match e.kind {
                        EscalationKind::Hierarchical => {
                            if let Some(level) =
                                e.to_level.clone().or_else(|| self.ladder().above(&case.level).cloned())
                            {
                                match self.escalation_target(&case, &level, e.kind, wanted.as_ref()).await? {
                                    TargetTeam::One(t, chosen) => {
                                        to_team = Some(t);
                                        team_choice = chosen;
                                    }
                                    TargetTeam::Several(c) => candidates = c,
                                    TargetTeam::NoTeam => {}
                                }
                            }
                        }
                        EscalationKind::Functional => {
                            if let Some(l) = &e.to_level {
                                self.ladder().check("to_level", l)?;
                            }
                            let (t, chosen) =
                                self.functional_by_skill(&case, e.to_level.as_ref(), wanted.as_ref(), now).await?;
                            to_team = Some(t);
                            team_choice = Some(chosen);
                        }
                    }
                }
                CaseCommand::Escalate(Escalate {
                    kind: e.kind,
                    initiator: e.initiator,
                    to_level: e.to_level,
                    to_team,
                    to_user,
                    reason: e.reason,
                    tried: e.tried,
                    candidates,
                    team_choice,
                })
            }
            CaseRequest::DeEscalate(DeEscalation { to_level, to_team, to_user, guidance }) => {
                let mut to_team = self.resolve_team_opt("to_team", to_team.as_deref()).await?;
                let to_user = self.person(principal, "to_user", to_user.as_deref()).await?;
                if to_team.is_none()
                    && to_user.is_none()
                    && let Some(case) = self.store.case(case_id).await?
                {
                    let ladder = self.ladder();
                    let current = ladder.rank(&case.level);
                    let came_from = case
                        .escalation_path
                        .iter()
                        .rev()
                        .find(|s| ladder.rank(&s.level) < current)
                        .map(|s| s.level.clone());
                    let target = to_level.clone().or(came_from).or_else(|| ladder.below(&case.level).cloned());
                    let known_stop =
                        case.escalation_path.iter().any(|s| Some(&s.level) == target.as_ref() && s.team.is_some());
                    if !known_stop {
                        to_team = self.only_team_at(target.as_ref()).await?;
                    }
                }
                CaseCommand::DeEscalate(DeEscalate { to_level, to_team, to_user, guidance })
            }
            CaseRequest::RequestInfo(r) => CaseCommand::RequestInfo(r),
            CaseRequest::Update(u) => {
                self.check_custom_fields(&u.custom_fields, true)?;
                CaseCommand::Update(u)
            }
            CaseRequest::Resolve(r) => {
                // "Solved by article" names an article the resolver may read and that is
                // published.
                if let Some(id) = r.article_id {
                    match self.article(principal, id).await {
                        Ok(a) if a.is_published() => {}
                        Ok(_) | Err(StoreError::NotFound(_)) => {
                            return Err(DomainError::invalid("article_id", format!("no published article {id}")).into());
                        }
                        Err(e) => return Err(e),
                    }
                }
                CaseCommand::Resolve(r)
            }
            CaseRequest::Reopen(r) => CaseCommand::Reopen(r),
            CaseRequest::Close => CaseCommand::Close,
            CaseRequest::AskFrontLine(a) => CaseCommand::AskFrontLine(a),
            CaseRequest::AnswerTask(a) => CaseCommand::AnswerTask(a),
            CaseRequest::RecordCsat(c) => CaseCommand::RecordCsat(c),
            CaseRequest::ApplyAction(ActionRequest { action, amount, note }) => {
                let matrix = self.active_matrix();
                let matrix = matrix.as_ref().map(|m| m.compiled.matrix());
                CaseCommand::ApplyAction(ApplyAction::resolve(
                    matrix,
                    principal.role,
                    &principal.name,
                    action,
                    amount,
                    note,
                ))
            }
            CaseRequest::DecideApproval { approval, decision, comment } => {
                // The approver's limit for the approval's action, as the case is now; `decide`
                // re-reads the approval inside the write.
                let action = self
                    .store
                    .case(case_id)
                    .await?
                    .and_then(|c| c.approvals.get(approval as usize).map(|a| a.action.clone()));
                let matrix = self.active_matrix();
                let approver_limit = match (matrix.as_ref(), action) {
                    (Some(m), Some(action)) => {
                        m.compiled.matrix().authority_limit(&action, principal.role, Some(&principal.name))
                    }
                    _ => None,
                };
                CaseCommand::DecideApproval(DecideApproval { approval, decision, comment, approver_limit })
            }
            CaseRequest::ScheduleCallback(CallbackRequest { team, window_start, window_end, time_zone, note }) => {
                let team = match team {
                    Some(key) => self.resolve_team("team", &key).await?,
                    None => self
                        .store
                        .teams()
                        .await?
                        .into_iter()
                        .find(|t| t.kind == ladder_core::directory::TeamKind::Outbound)
                        .ok_or_else(|| DomainError::invalid("team", "there is no outbound team; name the team"))?,
                };
                let zone_name = match time_zone {
                    Some(z) => z,
                    None => {
                        let case = self.store.case(case_id).await?;
                        let customer = match case.and_then(|c| c.customer) {
                            Some(id) => self.store.customer(id).await?,
                            None => None,
                        };
                        customer.and_then(|c| c.time_zone).unwrap_or_else(|| "UTC".to_string())
                    }
                };
                let zone = jiff::tz::TimeZone::get(&zone_name)
                    .map_err(|_| DomainError::invalid("time_zone", format!("unknown time zone '{zone_name}'")))?;
                let instant = |field: &str, dt: jiff::civil::DateTime| {
                    dt.to_zoned(zone.clone())
                        .map(|z| z.timestamp())
                        .map_err(|e| DomainError::invalid(field, format!("{dt} in {zone_name}: {e}")))
                        .and_then(|t| ladder_core::instant::check(field, t))
                };
                CaseCommand::ScheduleCallback(ScheduleCallback {
                    team: team_ref(&team),
                    window_start: instant("window_start", window_start)?,
                    window_end: instant("window_end", window_end)?,
                    time_zone: zone_name,
                    note,
                })
            }
        })
    }

    /// Custom fields must be declared, with their types, by the matrix in force.
    fn check_custom_fields(
        &self,
        fields: &BTreeMap<String, serde_json::Value>,
        removing: bool,
    ) -> Result<(), StoreError> {
        if fields.is_empty() {
            return Ok(());
        }
        let active = self.active_matrix();
        ladder_core::matrix::Matrix::check_custom_fields(
            active.as_ref().map(|m| m.compiled.matrix()),
            fields,
            removing,
        )?;
        Ok(())
    }

    /// The grants of `action` in the last 24 hours to `customer` on their cases other than
    /// `case_id` (a `customer_day` authority window). Reads up to the customer's
    /// [`GRANT_LOOKBACK_CASES`] most recent cases.
    async fn grants_to_customer(
        &self,
        customer: CustomerId,
        case_id: CaseId,
        action: &str,
        now: Timestamp,
    ) -> Result<Vec<EarlierGrant>, StoreError> {
        let window = ladder_core::matrix::AuthorityWindow::CustomerDay;
        let mut grants = Vec::new();
        let mut before = None;
        for _ in 0..GRANT_LOOKBACK_CASES / 100 {
            let filter = ladder_store::CaseFilter { customer: Some(customer), ..Default::default() };
            let page = ladder_store::PageRequest { before, limit: 100 };
            let page = self.store.list_cases(filter, ladder_core::access::CaseScope::All, page).await?;
            for case in page.cases.iter().filter(|c| c.id != case_id && window.counts(c.updated_at, now)) {
                grants.extend(grants_in(case, action, window, now));
            }
            before = page.next_before;
            if before.is_none() {
                break;
            }
        }
        Ok(grants)
    }

    /// Runs one case command for `principal` at `now`: resolve, then — inside the write
    /// transaction — check access, decide, append and project.
    pub async fn run(
        &self,
        principal: &Principal,
        case_id: CaseId,
        request: CaseRequest,
        expected_version: Option<u64>,
        idempotency: Option<Idempotency>,
        now: Timestamp,
    ) -> Result<CaseOutcome, StoreError> {
        self.run_for(principal, case_id, request, None, None, expected_version, idempotency, now).await
    }

    /// Opens a case for a requester named by their email, phone or handle rather than a
    /// customer id: the customer holding any of those identities, or a new one, created in
    /// the same write as the case (the answer's case carries its id).
    #[allow(clippy::too_many_arguments)]
    pub async fn open_for_requester(
        &self,
        principal: &Principal,
        case_id: CaseId,
        open: OpenRequest,
        requester: Requester,
        expected_version: Option<u64>,
        idempotency: Option<Idempotency>,
        now: Timestamp,
    ) -> Result<CaseOutcome, StoreError> {
        if open.customer.is_some() {
            return Err(DomainError::invalid("requester", "name either customer_id or requester, not both").into());
        }
        let request = CaseRequest::Open(open);
        self.run_for(principal, case_id, request, Some(requester), None, expected_version, idempotency, now).await
    }

    /// [`Engine::run`] for a case opened for a requester, and for a command that takes in
    /// an email (`mail`: kept with the write; a customer's message that comes in so counts
    /// as a repeat contact for the matrix).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn run_for(
        &self,
        principal: &Principal,
        case_id: CaseId,
        request: CaseRequest,
        requester: Option<Requester>,
        mail: Option<ladder_store::MailRecord>,
        expected_version: Option<u64>,
        idempotency: Option<Idempotency>,
        now: Timestamp,
    ) -> Result<CaseOutcome, StoreError> {
        // The store keeps instants to the microsecond; so do the events decided here.
        let now = ladder_core::instant::truncate(now);
        // A requester's customer as known now (the write matches again, and creates it if
        // still unknown): the rules see them, or the customer about to be created.
        let requester = match requester {
            Some(r) => {
                let candidate = r.new_customer("requester", CustomerId::new_v7(), now)?;
                let known = self.store.customer_by_identities(candidate.identities.clone()).await?;
                if known.is_none() {
                    self.check(principal, &Action::CreateCustomer)?;
                }
                Some((candidate, known))
            }
            None => None,
        };
        let mut command = self.resolve(principal, case_id, request, now).await?;
        if let (CaseCommand::Open(o), Some((_, Some(known)))) = (&mut command, &requester) {
            o.customer = Some(known.id);
        }
        let ladder = self.ladder();
        // What the matrix's rules need to know, read before the write so the writer never waits on I/O.
        let active = self.active_matrix();
        // A new case is scored by the risk model in force, from the same facts the rules see.
        let risk = match (&command, self.risk_model()) {
            (CaseCommand::Open(_), Some(model)) => {
                let load = self.store.count_opened(now - ladder_core::risk::QUEUE_LOAD_WINDOW, now).await?;
                Some((model, load.min(u64::from(u32::MAX)) as u32))
            }
            _ => None,
        };
        let (customer, teams, repeat_contacts) = match (&active, &risk) {
            (None, None) => (None, Vec::new(), 0),
            _ => {
                let customer_id = match &command {
                    CaseCommand::Open(o) => o.customer,
                    _ => self.store.case(case_id).await?.and_then(|c| c.customer),
                };
                let customer = match (customer_id, &requester) {
                    (_, Some((candidate, known))) => Some(known.clone().unwrap_or_else(|| candidate.clone())),
                    (Some(id), None) => self.store.customer(id).await?,
                    (None, None) => None,
                };
                // A `customer_day` authority window (only a matrix sets one) counts the
                // customer's grants on their other cases too.
                if let (CaseCommand::ApplyAction(a), Some(id)) = (&mut command, customer_id)
                    && a.window == ladder_core::matrix::AuthorityWindow::CustomerDay
                {
                    a.earlier_elsewhere = self.grants_to_customer(id, case_id, &a.action, now).await?;
                }
                // A new case from a customer who opened others lately is a repeat contact.
                let repeat_contacts = match (&command, customer_id) {
                    (CaseCommand::Open(_), Some(id)) => self.recent_cases_of(id, now).await? + 1,
                    (CaseCommand::Open(_), None) if requester.is_some() => 1,
                    // A customer writing again about a case of theirs: that case, their
                    // other recent ones, and this contact.
                    (CaseCommand::AddMessage(m), Some(id)) if mail.is_some() && m.from_customer => {
                        self.recent_cases_of(id, now).await?.max(1) + 1
                    }
                    _ => 0,
                };
                let teams = if active.is_some() { self.team_refs().await? } else { Vec::new() };
                (customer, teams, repeat_contacts)
            }
        };
        let write = UserCommand { principal: principal.clone(), command, ladder, active, teams, risk, now };
        let mut outcome = match requester {
            None => {
                let decide_fn = move |case: Option<&ladder_core::Case>, next_number: u64| {
                    write.apply(case_id, case, next_number, customer.as_ref(), repeat_contacts)
                };
                let write = CaseWrite { case_id, expected_version, idempotency, decide: Box::new(decide_fn) };
                match mail {
                    Some(mail) => self.store.execute_with_mail(write, mail).await?,
                    None => self.store.execute(write).await?,
                }
            }
            Some((candidate, _)) => {
                let audit = self.audit_entry(
                    principal,
                    "customer.create",
                    candidate.id,
                    json!({ "name": candidate.name, "via": "requester" }),
                    now,
                );
                let decide: ladder_store::RequesterDecider = Box::new(move |found: &Customer| {
                    let mut write = write;
                    if let CaseCommand::Open(o) = &mut write.command {
                        o.customer = Some(found.id);
                    }
                    let found = found.clone();
                    Box::new(move |case: Option<&ladder_core::Case>, next_number: u64| {
                        write.apply(case_id, case, next_number, Some(&found), repeat_contacts)
                    })
                });
                let requester = ladder_store::RequesterWrite { candidate, audit };
                self.store
                    .execute_for_requester(case_id, expected_version, idempotency, requester, decide, mail)
                    .await?
            }
        };
        self.after_write(&outcome);
        // A case that now waits unassigned at a team is offered to its best agent.
        if let Some(supervisor) = crate::routing::routing_cause(&outcome.events)
            && ladder_core::routing::is_queued(&outcome.case)
            && let Some(routed) = self.route_case(&outcome.case, supervisor, now).await?
        {
            outcome.case = routed;
        }
        Ok(outcome)
    }

    /// How many cases `customer` opened within the matrix's repeat-contact window before `now`.
    pub(crate) async fn recent_cases_of(&self, customer: CustomerId, now: Timestamp) -> Result<u32, StoreError> {
        let since = now - ladder_core::matrix::REPEAT_CONTACT_WINDOW;
        let filter = ladder_store::CaseFilter { customer: Some(customer), ..Default::default() };
        let page = ladder_store::PageRequest { before: None, limit: 100 };
        let recent = self.store.list_cases(filter, ladder_core::access::CaseScope::All, page).await?;
        Ok(recent.cases.iter().filter(|c| c.created_at >= since).count() as u32)
    }

    /// With several servers on one PostgreSQL database: what the others change reaches this
    /// server's live views, wakes its timer loop when they armed a sooner timer, and a
    /// matrix version another server put in force is loaded here too. Ends
    /// at `shutdown`; on SQLite (one server) it ends at once.
    pub async fn follow_other_servers(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let Some(mut changes) = self.store.changes_from_other_servers().await else { return };
        loop {
            tokio::select! {
                change = changes.recv() => {
                    let ids = match change {
                        None => return,
                        Some(ladder_store::Change::Cases(ids)) => ids,
                        Some(ladder_store::Change::Matrix) => {
                            if let Err(e) = self.load_matrix().await {
                                tracing::warn!(error = %e, "could not load the matrix another server put in force");
                            }
                            continue;
                        }
                    };
                    for id in ids {
                        match self.store.case(id).await {
                            Ok(Some(case)) => {
                                self.timers_armed(&case);
                                self.publish(&case);
                            }
                            Ok(None) => {}
                            Err(e) => tracing::warn!(error = %e, "could not read a case another server changed"),
                        }
                    }
                }
                _ = shutdown.changed() => return,
            }
        }
    }

    /// A write the engine makes on its own (the router, the timers, re-evaluation): no
    /// version to match, no idempotency key; followed by [`Engine::after_write`].
    pub(crate) async fn system_write(
        &self,
        case_id: CaseId,
        decide: ladder_store::Decider,
    ) -> Result<CaseOutcome, StoreError> {
        let outcome =
            self.store.execute(CaseWrite { case_id, expected_version: None, idempotency: None, decide }).await?;
        self.after_write(&outcome);
        Ok(outcome)
    }

    /// What follows every case write that recorded something: wake the timer loop if a
    /// sooner timer was armed, and tell live views.
    pub(crate) fn after_write(&self, outcome: &CaseOutcome) {
        if !outcome.events.is_empty() {
            self.timers_armed(&outcome.case);
            if outcome.events.iter().any(|e| ladder_core::outbox::notifies(&e.event)) {
                self.deliveries_queued();
            }
            self.publish(&outcome.case);
        }
    }
}
