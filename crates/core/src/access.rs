//! Who may see and do what. The HTTP layer asks these questions for every request; they
//! live here so they are tested as plain data.

use serde::{Deserialize, Serialize};

use crate::articles::ArticleStatus;
use crate::case::{Approval, Case};
use crate::cmd::apply_action::within;
use crate::command::{CaseCommand, DecideApproval, Decision};
use crate::directory::{Ladder, Role, Team, User};
use crate::ids::{TeamId, UserId};
use crate::macros::MacroOwner;

/// An authenticated staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    pub teams: Vec<TeamId>,
}

/// Which cases a principal may see, in a form a query can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseScope {
    /// Managers and admins see every case.
    All,
    /// Cases of these teams, cases the user has worked or escalated, and cases escalated
    /// out of the `followed` teams (a supervisor's own; empty for an agent).
    TeamsOrWorkedBy { teams: Vec<TeamId>, user: UserId, followed: Vec<TeamId> },
}

/// The user id of [`Principal::signed_webhook`]: no stored user has it (ids are v7).
pub const SIGNED_WEBHOOK_USER: UserId = UserId(uuid::Uuid::from_u128(0x5197_ed00_0000_4000_8000_0000_0000_0001));

impl Principal {
    /// Who a webhook request whose signature was verified acts as (`name`: `sms webhook`,
    /// `contact webhook`): an integration with an admin's reach over cases and customers,
    /// the only principal allowed [`Action::TakeInContacts`]. Only the HTTP layer makes one,
    /// after checking the signature with the secret the server was configured with.
    pub fn signed_webhook(name: &str) -> Principal {
        Principal { user_id: SIGNED_WEBHOOK_USER, name: name.into(), role: Role::Admin, teams: Vec::new() }
    }

    pub fn is_at_least(&self, role: Role) -> bool {
        self.role >= role
    }

    pub fn case_scope(&self) -> CaseScope {
        if self.role >= Role::Manager {
            CaseScope::All
        } else {
            CaseScope::TeamsOrWorkedBy {
                teams: self.teams.clone(),
                user: self.user_id,
                followed: self.followed_teams().to_vec(),
            }
        }
    }

    /// The teams whose escalations this principal follows: a supervisor's own teams.
    fn followed_teams(&self) -> &[TeamId] {
        if self.role == Role::Supervisor { &self.teams } else { &[] }
    }

    /// An agent sees their teams' cases and the ones they have worked; supervisors their
    /// teams'; managers and admins all; and below a manager, the escalations one follows
    /// ([`Principal::follows`]).
    pub fn can_view(&self, case: &Case) -> bool {
        self.role >= Role::Manager || self.works_on(case) || self.follows(case)
    }

    /// The case is one of the principal's teams', assigned to them, worked by them before,
    /// or they have a task on it.
    fn works_on(&self, case: &Case) -> bool {
        case.team.is_some_and(|t| self.teams.contains(&t))
            || case.assignee == Some(self.user_id)
            || case.worked_by.contains(&self.user_id)
            || self.has_task_on(case)
    }

    /// Following an escalation, read-only: whoever escalated a case, and the supervisors of
    /// the teams it was escalated out of, keep reading it after it left.
    pub fn follows(&self, case: &Case) -> bool {
        case.escalated_by.contains(&self.user_id)
            || case.escalated_from.iter().any(|t| self.followed_teams().contains(t))
    }

    /// Whether the back office gave this principal (or one of their teams) a task on the
    /// case that is still open: they see the case and may answer it.
    pub fn has_task_on(&self, case: &Case) -> bool {
        case.open_tasks()
            .any(|t| t.to_user == Some(self.user_id) || t.to_team.is_some_and(|team| self.teams.contains(&team)))
    }

    /// Whether this principal may run `command` on `case` (which they can already see).
    /// Returns the reason when not.
    pub fn may(&self, case: Option<&Case>, command: &CaseCommand) -> Result<(), String> {
        if let Some(case) = case
            && !self.can_view(case)
        {
            return Err("the case belongs to a team you are not part of".into());
        }
        if let Some(case) = case
            && self.role < Role::Manager
            && !self.works_on(case)
        {
            return Err("you follow this escalation read-only: the case is with another team now".into());
        }
        // Having worked a case lets you follow it and add to it after it moved on, but
        // deciding its course (and recording what the customer thought of it) belongs to its
        // current team and assignee.
        if let Some(case) = case
            && self.role < Role::Manager
            && !case.team.is_some_and(|t| self.teams.contains(&t))
            && case.assignee != Some(self.user_id)
            && !matches!(command, CaseCommand::AddMessage(_))
            && !(matches!(command, CaseCommand::AnswerTask(_)) && self.has_task_on(case))
        {
            return Err("the case has moved on to another team; you can still add messages to it".into());
        }
        match command {
            CaseCommand::Assign(a) => match &a.assignee {
                Some(u) if u.id != self.user_id && self.role < Role::Supervisor => {
                    Err("agents can assign cases only to themselves; a supervisor assigns to others".into())
                }
                None if self.role < Role::Supervisor && case.and_then(|c| c.assignee) != Some(self.user_id) => {
                    Err("agents can only unassign themselves".into())
                }
                _ => Ok(()),
            },
            CaseCommand::DecideApproval(d) => self.may_decide(case, d),
            CaseCommand::Close if self.role < Role::Supervisor => {
                Err("closing a case takes a supervisor, manager or admin".into())
            }
            CaseCommand::Open(o) if self.role < Role::Manager => match (&o.team, &o.assignee) {
                (Some(t), _) if !self.teams.contains(&t.id) => {
                    Err(format!("you can open cases only for your own teams, not '{}'", t.slug))
                }
                (_, Some(u)) if u.id != self.user_id && self.role < Role::Supervisor => {
                    Err("agents can assign cases only to themselves; a supervisor assigns to others".into())
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Deciding an approval: a supervisor on their own teams' cases, managers and admins on
    /// any; never the requester; only someone of the approver role or above, whose own
    /// limit covers what they grant.
    fn may_decide(&self, case: Option<&Case>, d: &DecideApproval) -> Result<(), String> {
        if self.role < Role::Supervisor {
            return Err("agents cannot decide approvals; a supervisor, manager or admin does".into());
        }
        let Some(case) = case else { return Ok(()) };
        if self.role == Role::Supervisor && !case.team.is_some_and(|t| self.teams.contains(&t)) {
            return Err("a supervisor decides approvals only on cases of their own teams".into());
        }
        // An unknown approval is refused by `decide`, naming the field.
        let Some(approval) = case.approvals.get(d.approval as usize) else { return Ok(()) };
        if approval.requested_by.user_id() == Some(self.user_id) {
            return Err(format!("approval {} is your own request; nobody approves their own request", d.approval));
        }
        if self.role < approval.approver_role {
            return Err(format!(
                "approval {} of {} for '{}' needs a {} or above; you are a {}",
                d.approval,
                approval.amount,
                approval.action,
                approval.approver_role.as_str(),
                self.role.as_str()
            ));
        }
        // What the approver takes responsibility for: the whole window's total when earlier
        // grants add up with this one.
        let needed = approval.window_total().unwrap_or(approval.amount);
        if d.decision == Decision::Approve && d.approver_limit.is_none_or(|limit| !within(needed, limit)) {
            return Err(match d.approver_limit {
                Some(limit) if !approval.earlier.is_empty() => format!(
                    "your limit for '{}' is {limit}, below the {needed} that granting this would make in the window; counter-offer within it or leave it to someone with more authority",
                    approval.action
                ),
                Some(limit) => format!(
                    "your limit for '{}' is {limit}, below the {} requested; counter-offer within it or leave it to someone with more authority",
                    approval.action, approval.amount
                ),
                None => format!("you have no authority for '{}'", approval.action),
            });
        }
        Ok(())
    }
}

/// How a customer stands to a principal's case scope: the store counts, [`Principal::allows`]
/// decides. Below a manager, one reaches the customers of the cases one may see, and
/// customers with no case yet (just created, about to get their first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CustomerReach {
    /// The customer's cases.
    pub cases: u64,
    /// Those of them in the principal's [`CaseScope`].
    pub cases_in_scope: u64,
}

/// Something a principal asks of Ladder besides a case command, with what it is done to.
/// [`Principal::allows`] is the one place that says who may: the engine asks it before
/// every query and directory command, and nothing else decides.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// Read one case (its fields, history, messages) or follow it live.
    ReadCase(&'a Case),
    /// List and search cases (the list is then cut to [`Principal::case_scope`]).
    ListCases,
    /// List and read teams, users and matrix versions.
    ReadDirectory,
    /// Create a customer.
    CreateCustomer,
    /// Read this customer (a customer outside one's scope is answered as one that does not
    /// exist); lists of customers are cut to the same rule.
    ReadCustomer(&'a CustomerReach),
    /// Change this customer (including their status).
    WriteCustomer(&'a CustomerReach),
    /// Delete a customer who has no cases.
    DeleteCustomer,
    /// Merge a duplicate customer into another (identities and cases move; both must be
    /// customers one may read).
    MergeCustomers,
    /// Hand inbound mail (raw messages) to the intake: what a mail integration's token does.
    TakeInMail,
    /// Hand an SMS, a chat or social message or a call's events to the intake. Only a
    /// [`Principal::signed_webhook`] may: these webhooks (`/api/v1/inbound/sms`,
    /// `/api/v1/inbound/contact`) authenticate by a signature over the request (Twilio's
    /// `X-Twilio-Signature`, Ladder's `Ladder-Signature`), not by a bearer token — Twilio
    /// and chat platforms cannot send one — so no token, an admin's included, takes them in.
    TakeInContacts,
    /// Create, change or delete teams.
    ManageTeams,
    /// Create, change or deactivate users.
    ManageUsers,
    /// Set this user's password.
    SetPassword { user: UserId },
    /// Choose the time zone this user's console shows instants in.
    SetTimeZone { user: UserId },
    /// Mint an API token owned by this user.
    MintToken { owner: UserId },
    /// See or revoke a token owned by this user.
    ManageToken { owner: UserId },
    /// See every user's tokens, not only one's own.
    ListAllTokens,
    /// See an agent's working state (presence, skills, load).
    SeeAgent { user: &'a User },
    /// List the agents of a team, or (`None`) of one's own teams (everyone's for managers).
    ListAgents { team: Option<TeamId> },
    /// See who could take this case on an escalation to `team` (a team of a level above
    /// the case's): its people with their presence and load, as the escalate dialog lists
    /// them.
    SeeEscalationTargets { case: &'a Case, team: &'a Team, ladder: &'a Ladder },
    /// Change an agent's skills, languages and capacity.
    EditAgentProfile { user: &'a User },
    /// Set an agent's presence.
    SetPresence { user: &'a User },
    /// See a team's queue.
    WorkQueue { team: TeamId },
    /// Take the next case of a team's queue: it is assigned to the taker, who must be in the
    /// team.
    TakeFromQueue { team: TeamId },
    /// The supervisors' views: the live board, the timer engine's state, reassigning and
    /// taking over from the board.
    Supervise,
    /// See this case on the supervisors' board.
    SuperviseCase(&'a Case),
    /// Show the forms to decide this approval request (the inbox's rule; deciding checks
    /// limits again, in [`Principal::may`]).
    SeeApproval { case: &'a Case, approval: &'a Approval },
    /// The approvals inbox.
    ApprovalsInbox,
    /// Escalation metrics, team-scoped for supervisors.
    ReadMetrics,
    /// Metrics of every team and agent, insights, the dashboard and Prometheus figures.
    ReadAllMetrics,
    /// Read the matrix's drafts and check a matrix.
    ReadMatrixDrafts,
    /// Save or delete drafts, activate a draft, roll back.
    ChangeMatrix,
    /// Run and read what-if simulations.
    Simulate,
    /// Cancel (or forget) a simulation that this user started.
    CancelSimulation { requested_by: UserId },
    /// Read the audit history of directory changes.
    ReadAudit,
    /// See the notification outbox (deliveries, their attempts) and the templates, and
    /// preview a template.
    ReadDeliveries,
    /// Redeliver a notification; create, change or delete notification templates.
    ManageNotifications,
    /// See and use a macro (insert it into a reply).
    UseMacro { owner: MacroOwner },
    /// Create, change or delete a macro of this owner.
    ManageMacro { owner: MacroOwner },
    /// Read (and search, and be suggested) a knowledge article of this status.
    ReadArticle { status: ArticleStatus },
    /// Write, publish or delete knowledge articles.
    WriteArticle,
    /// Read on-call schedules: who is on call, their shifts and gaps.
    ReadSchedules,
    /// Create, change or delete on-call schedules.
    ManageSchedules,
    /// Add or remove an override on a schedule (someone covering another's shift).
    OverrideSchedule,
    /// Mint, list or revoke a calendar feed token owned by this user.
    ManageFeed { owner: UserId },
    /// See the monitored services and their integration keys (never a key's secret).
    ReadServices,
    /// Create, change or delete services; mint and revoke their integration keys.
    ManageServices,
    /// Acknowledge, un-acknowledge or resolve an incident of a service of this team.
    RespondToIncident { team: TeamId },
    /// List the escalation-risk models with their evaluations.
    ReadModels,
    /// Train, activate and deactivate escalation-risk models.
    ManageModels,
}

impl Action<'_> {
    /// A short stable name, for the audit history and the permission table.
    pub fn name(&self) -> &'static str {
        match self {
            Action::ReadCase(_) => "read-case",
            Action::ListCases => "list-cases",
            Action::ReadDirectory => "read-directory",
            Action::CreateCustomer => "create-customer",
            Action::ReadCustomer(_) => "read-customer",
            Action::WriteCustomer(_) => "write-customer",
            Action::DeleteCustomer => "delete-customer",
            Action::MergeCustomers => "merge-customers",
            Action::TakeInMail => "take-in-mail",
            Action::TakeInContacts => "take-in-contacts",
            Action::ManageTeams => "manage-teams",
            Action::ManageUsers => "manage-users",
            Action::SetPassword { .. } => "set-password",
            Action::SetTimeZone { .. } => "set-time-zone",
            Action::MintToken { .. } => "mint-token",
            Action::ManageToken { .. } => "manage-token",
            Action::ListAllTokens => "list-all-tokens",
            Action::SeeAgent { .. } => "see-agent",
            Action::ListAgents { .. } => "list-agents",
            Action::SeeEscalationTargets { .. } => "see-escalation-targets",
            Action::EditAgentProfile { .. } => "edit-agent-profile",
            Action::SetPresence { .. } => "set-presence",
            Action::WorkQueue { .. } => "work-queue",
            Action::TakeFromQueue { .. } => "take-from-queue",
            Action::Supervise => "supervise",
            Action::SuperviseCase(_) => "supervise-case",
            Action::SeeApproval { .. } => "see-approval",
            Action::ApprovalsInbox => "approvals-inbox",
            Action::ReadMetrics => "read-metrics",
            Action::ReadAllMetrics => "read-all-metrics",
            Action::ReadMatrixDrafts => "read-matrix-drafts",
            Action::ChangeMatrix => "change-matrix",
            Action::Simulate => "simulate",
            Action::CancelSimulation { .. } => "cancel-simulation",
            Action::ReadAudit => "read-audit",
            Action::ReadDeliveries => "read-deliveries",
            Action::ManageNotifications => "manage-notifications",
            Action::UseMacro { .. } => "use-macro",
            Action::ManageMacro { .. } => "manage-macro",
            Action::ReadArticle { .. } => "read-article",
            Action::WriteArticle => "write-article",
            Action::ReadSchedules => "read-schedules",
            Action::ManageSchedules => "manage-schedules",
            Action::OverrideSchedule => "override-schedule",
            Action::ManageFeed { .. } => "manage-feed",
            Action::ReadServices => "read-services",
            Action::ManageServices => "manage-services",
            Action::RespondToIncident { .. } => "respond-to-incident",
            Action::ReadModels => "read-models",
            Action::ManageModels => "manage-models",
        }
    }
}

impl Principal {
    /// Whether this principal may do `action`; the reason when not. Case commands are
    /// [`Principal::may`]'s.
    pub fn allows(&self, action: &Action) -> Result<(), String> {
        match *action {
            Action::ReadCase(case) => {
                if self.can_view(case) {
                    Ok(())
                } else {
                    Err("the case belongs to a team you are not part of".into())
                }
            }
            Action::ListCases | Action::ReadDirectory | Action::CreateCustomer | Action::ReadSchedules => Ok(()),
            Action::ReadCustomer(reach) | Action::WriteCustomer(reach) => {
                if self.role >= Role::Manager || reach.cases == 0 || reach.cases_in_scope > 0 {
                    Ok(())
                } else {
                    Err("the customer has no case you may see".into())
                }
            }
            Action::DeleteCustomer | Action::ManageTeams | Action::ManageUsers | Action::ListAllTokens => {
                self.at_least(Role::Admin)
            }
            Action::MergeCustomers => self.at_least(Role::Supervisor),
            // Mail from outside opens and threads cases as the system would: an integration's
            // token (an admin's, as for `initiator: system`), not an agent's.
            Action::TakeInMail => self.at_least(Role::Admin),
            Action::TakeInContacts if self.user_id == SIGNED_WEBHOOK_USER => Ok(()),
            Action::TakeInContacts => {
                Err("SMS, chat, social and voice contacts come in through a signed webhook, not with a token".into())
            }
            Action::ReadAudit | Action::ManageNotifications => self.at_least(Role::Admin),
            // Services say which team is paged for what: supervisors and up read them, and
            // their routing keys are secrets an admin mints.
            Action::ReadServices => self.at_least(Role::Supervisor),
            Action::ManageServices => self.at_least(Role::Admin),
            // Whoever may be paged for the service's team answers its incidents; managers and
            // admins answer any.
            Action::RespondToIncident { team } => {
                if self.role >= Role::Manager || self.teams.contains(&team) {
                    Ok(())
                } else {
                    Err("the incident is another team's; you respond to your teams' incidents".into())
                }
            }
            // Deliveries name cases and people of every team: not a team supervisor's view.
            Action::ReadDeliveries => self.at_least(Role::Manager),
            // Who is on call is everyone's business; the rota is its managers', and a
            // supervisor arranges cover for a shift.
            Action::ManageSchedules => self.at_least(Role::Manager),
            Action::OverrideSchedule => self.at_least(Role::Supervisor),
            Action::SetPassword { user }
            | Action::SetTimeZone { user }
            | Action::MintToken { owner: user }
            | Action::ManageToken { owner: user }
            | Action::ManageFeed { owner: user } => {
                if user == self.user_id {
                    Ok(())
                } else {
                    self.at_least(Role::Admin)
                }
            }
            Action::SeeAgent { user } => {
                if self.role >= Role::Manager || self.user_id == user.id || self.shares_team(user) {
                    Ok(())
                } else {
                    Err(format!("{} is not in one of your teams; you see the agents of your teams", user.name))
                }
            }
            Action::ListAgents { team: Some(team) } | Action::WorkQueue { team } => {
                if self.role >= Role::Manager || self.teams.contains(&team) {
                    Ok(())
                } else {
                    Err("you are not in that team; you see the agents and queues of your teams".into())
                }
            }
            Action::ListAgents { team: None } => Ok(()),
            // Whoever may escalate the case (its team, its assignee, managers and admins)
            // sees who could take it above: beyond their own teams, but only the teams of
            // the levels the case may climb to, and only presence and load.
            Action::SeeEscalationTargets { case, team, ladder } => {
                if self.role < Role::Manager
                    && !case.team.is_some_and(|t| self.teams.contains(&t))
                    && case.assignee != Some(self.user_id)
                {
                    return Err("only who works the case (its team or its assignee) sees who could take it next".into());
                }
                match (ladder.rank(&team.level), ladder.rank(&case.level)) {
                    (Some(to), Some(from)) if to > from => Ok(()),
                    _ => Err(format!(
                        "team '{}' works {}, not a level above the case's {}",
                        team.slug, team.level, case.level
                    )),
                }
            }
            Action::TakeFromQueue { team } => {
                if self.teams.contains(&team) {
                    Ok(())
                } else {
                    Err("you can take a case only from a queue of a team you are in".into())
                }
            }
            Action::EditAgentProfile { user } => {
                if self.manages(user) {
                    Ok(())
                } else if self.user_id == user.id {
                    Err("you may not change your own skills, languages or capacity; ask a supervisor of your team"
                        .into())
                } else {
                    Err(format!(
                        "only a supervisor of one of {}'s teams, a manager or an admin may change their profile",
                        user.name
                    ))
                }
            }
            Action::SetPresence { user } => {
                if self.user_id == user.id || self.manages(user) {
                    Ok(())
                } else {
                    Err(format!(
                        "you may set only your own presence; a supervisor of one of {}'s teams, a manager or an admin may set theirs",
                        user.name
                    ))
                }
            }
            Action::Supervise | Action::ApprovalsInbox | Action::ReadMetrics | Action::ReadMatrixDrafts => {
                self.at_least(Role::Supervisor)
            }
            Action::SuperviseCase(case) => {
                self.at_least(Role::Supervisor)?;
                if self.role >= Role::Manager || case.team.is_some_and(|t| self.teams.contains(&t)) {
                    Ok(())
                } else {
                    Err("the case is not in one of your teams".into())
                }
            }
            Action::SeeApproval { case, approval } => {
                self.at_least(Role::Supervisor)?;
                self.at_least(approval.approver_role)?;
                if self.role < Role::Manager && !case.team.is_some_and(|t| self.teams.contains(&t)) {
                    return Err("a supervisor decides approvals only on cases of their own teams".into());
                }
                if approval.requested_by.user_id() == Some(self.user_id) {
                    return Err("nobody approves their own request".into());
                }
                Ok(())
            }
            Action::ReadAllMetrics | Action::ChangeMatrix | Action::Simulate => self.at_least(Role::Manager),
            Action::ReadModels => self.at_least(Role::Manager),
            Action::ManageModels => self.at_least(Role::Admin),
            Action::UseMacro { owner: MacroOwner::Team(team) } => {
                if self.role >= Role::Manager || self.teams.contains(&team) {
                    Ok(())
                } else {
                    Err("the macro is another team's; you use the macros of your teams and your own".into())
                }
            }
            Action::ManageMacro { owner: MacroOwner::Team(team) } => {
                if self.role >= Role::Manager || (self.role == Role::Supervisor && self.teams.contains(&team)) {
                    Ok(())
                } else {
                    Err("a team's macros are managed by its supervisors, managers and admins".into())
                }
            }
            // A personal macro is its owner's alone.
            Action::UseMacro { owner: MacroOwner::User(user) }
            | Action::ManageMacro { owner: MacroOwner::User(user) } => {
                if user == self.user_id {
                    Ok(())
                } else {
                    Err("the macro is another user's personal macro".into())
                }
            }
            // Published articles are for everyone; drafts are their authors': the supervisors,
            // managers and admins who write articles (an agent proposes a fix by escalating it).
            Action::ReadArticle { status: ArticleStatus::Published } => Ok(()),
            Action::ReadArticle { status: ArticleStatus::Draft } | Action::WriteArticle => {
                self.at_least(Role::Supervisor).map_err(|_| {
                    "articles are written by supervisors, managers and admins; agents read the published ones"
                        .to_string()
                })
            }
            // One's own simulation, or anyone's as an admin; another manager's runs on.
            Action::CancelSimulation { requested_by } => {
                self.at_least(Role::Manager)?;
                if requested_by == self.user_id || self.role >= Role::Admin {
                    Ok(())
                } else {
                    Err("the simulation is another user's; they or an admin may cancel it".into())
                }
            }
        }
    }

    /// Where to look for the approvals this principal may decide: the approver roles their
    /// role reaches, and the teams whose cases they decide on (`None`: every team).
    pub fn approval_scope(&self) -> (Vec<Role>, Option<Vec<TeamId>>) {
        let roles = [Role::Supervisor, Role::Manager, Role::Admin].into_iter().filter(|r| *r <= self.role).collect();
        let teams = if self.role >= Role::Manager { None } else { Some(self.teams.clone()) };
        (roles, teams)
    }

    /// Whose agents this principal lists without naming a team, and whose cases their
    /// supervisors' board shows: every team (`None`) for managers and admins, else their own.
    pub fn team_scope(&self) -> Option<Vec<TeamId>> {
        if self.role >= Role::Manager { None } else { Some(self.teams.clone()) }
    }

    /// Refuses unless the principal has at least `role`.
    pub fn at_least(&self, role: Role) -> Result<(), String> {
        if self.role >= role {
            Ok(())
        } else {
            Err(format!("this needs the {} role or higher; you are {}", role.as_str(), self.role.as_str()))
        }
    }

    fn shares_team(&self, user: &User) -> bool {
        user.teams.iter().any(|t| self.teams.contains(t))
    }

    /// Managers and admins manage everyone; a supervisor the agents of their teams (not
    /// their peers).
    fn manages(&self, user: &User) -> bool {
        self.role >= Role::Manager
            || (self.role == Role::Supervisor && user.role == Role::Agent && self.shares_team(user))
    }
}

#[cfg(test)]
mod signed_webhook_tests {
    use super::*;

    #[test]
    fn only_a_signed_webhook_takes_in_contacts_not_a_token_of_any_role() {
        assert!(Principal::signed_webhook("sms webhook").allows(&Action::TakeInContacts).is_ok());
        for role in [Role::Agent, Role::Supervisor, Role::Manager, Role::Admin] {
            let token = Principal { user_id: UserId(uuid::Uuid::now_v7()), name: "x".into(), role, teams: Vec::new() };
            let refused = token.allows(&Action::TakeInContacts).unwrap_err();
            assert!(refused.to_string().contains("signed webhook"), "{role:?}: {refused}");
        }
    }
}

/// A customer on the portal: the holder of a signed link to one case of theirs, with no
/// account. [`CustomerPrincipal::may_read`] and [`CustomerPrincipal::may`] are the one
/// statement of what such a link allows: reading that case's public side, and only the
/// portal's commands on it — a public reply, asking for a supervisor (a hierarchical
/// escalation the customer initiates) and rating the resolution as themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerPrincipal {
    pub customer: crate::ids::CustomerId,
    pub case: crate::ids::CaseId,
}

impl CustomerPrincipal {
    /// The linked case, while it is still this customer's (a case moved to another
    /// customer is no longer reachable by an older link).
    pub fn may_read(&self, case: &Case) -> Result<(), String> {
        if case.id == self.case && case.customer == Some(self.customer) {
            Ok(())
        } else {
            Err("the link is not for this case or this customer".into())
        }
    }

    /// Whether the customer may run `command` on `case` through the portal.
    pub fn may(&self, case: &Case, command: &CaseCommand) -> Result<(), String> {
        self.may_read(case)?;
        match command {
            CaseCommand::AddMessage(m) if m.visibility == crate::case::Visibility::Public && !m.resume => Ok(()),
            CaseCommand::Escalate(e)
                if e.kind == crate::event::EscalationKind::Hierarchical
                    && e.initiator == crate::event::Initiator::Customer
                    && e.to_user.is_none() =>
            {
                Ok(())
            }
            CaseCommand::RecordCsat(c) if !c.on_behalf => Ok(()),
            other => Err(format!("a customer cannot {} a case through the portal", other.action())),
        }
    }
}
