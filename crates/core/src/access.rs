//! Who may see and do what. The HTTP layer asks these questions for every request; they
//! live here so they are tested as plain data.

use serde::{Deserialize, Serialize};

use crate::case::Case;
use crate::command::{CaseCommand, DecideApproval, Decision};
use crate::directory::Role;
use crate::ids::{TeamId, UserId};

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
    /// Cases of these teams, plus cases the user has been assigned.
    TeamsOrWorkedBy { teams: Vec<TeamId>, user: UserId },
}

impl Principal {
    pub fn is_at_least(&self, role: Role) -> bool {
        self.role >= role
    }

    pub fn case_scope(&self) -> CaseScope {
        if self.role >= Role::Manager {
            CaseScope::All
        } else {
            CaseScope::TeamsOrWorkedBy { teams: self.teams.clone(), user: self.user_id }
        }
    }

    /// An agent sees their teams' cases and the ones they have worked; supervisors their
    /// teams'; managers and admins all.
    pub fn can_view(&self, case: &Case) -> bool {
        match self.case_scope() {
            CaseScope::All => true,
            CaseScope::TeamsOrWorkedBy { teams, user } => {
                case.team.is_some_and(|t| teams.contains(&t))
                    || case.assignee == Some(user)
                    || case.worked_by.contains(&user)
                    || self.has_task_on(case)
            }
        }
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
        // Having worked a case lets you follow it and add to it after it moved on, but
        // deciding its course belongs to its current team and assignee.
        if let Some(case) = case
            && self.role < Role::Manager
            && !case.team.is_some_and(|t| self.teams.contains(&t))
            && case.assignee != Some(self.user_id)
            && !matches!(command, CaseCommand::AddMessage(_) | CaseCommand::RecordCsat(_))
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
        if d.decision == Decision::Approve && d.approver_limit.is_none_or(|limit| approval.amount > limit) {
            return Err(match d.approver_limit {
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
