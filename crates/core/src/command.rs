//! Case commands: imperative requests that [`crate::decide`] turns into events or refuses.
//!
//! Commands carry *resolved* references ([`TeamRef`], [`UserRef`]): the engine looks the
//! ids up in the directory before deciding, so the domain can check levels, membership
//! and roles without doing I/O. Each command's type lives with its rules in its own file
//! under `cmd/` and is re-exported here.

use serde::{Deserialize, Serialize};

pub use crate::cmd::answer_task::AnswerTask;
pub use crate::cmd::apply_action::{ApplyAction, EarlierGrant, grants_in};
pub use crate::cmd::approval::{DecideApproval, Decision};
pub use crate::cmd::ask_front_line::AskFrontLine;
pub use crate::cmd::assign::Assign;
pub use crate::cmd::callback::ScheduleCallback;
pub use crate::cmd::csat::RecordCsat;
pub use crate::cmd::de_escalate::DeEscalate;
pub use crate::cmd::escalate::{Escalate, check_owner};
pub use crate::cmd::escalate_target::{
    MAX_SKILLS_ASKED, SkillsWanted, TargetTeam, TeamStaffing, TeamsNow, choose_by_skill, functional_target,
    inferred_target, target_team,
};
pub use crate::cmd::message::AddMessage;
pub use crate::cmd::open::OpenCase;
pub use crate::cmd::reopen::Reopen;
pub use crate::cmd::request_info::RequestInfo;
pub use crate::cmd::resolve::Resolve;
pub use crate::cmd::transfer::Transfer;
pub use crate::cmd::update::UpdateCase;
use crate::directory::{LevelId, Role};
use crate::ids::{TeamId, UserId};

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
