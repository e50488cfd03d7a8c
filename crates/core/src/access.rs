//! Who may see and do what. The HTTP layer asks these questions for every request; they
//! live here so they are tested as plain data.

use serde::{Deserialize, Serialize};

use crate::case::Case;
use crate::command::CaseCommand;
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
}
