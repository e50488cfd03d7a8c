//! `decide`: the one place that says whether a command applies to a case, and which
//! events it produces. Pure: the time, the actor and the ladder come in as arguments.
//! Each command's rules are in its own file under `cmd/`; this dispatches to them.

use jiff::Timestamp;

use crate::case::{Actor, Case, Status};
use crate::cmd;
use crate::command::CaseCommand;
use crate::directory::Ladder;
use crate::error::DomainError;
use crate::event::{CaseEvent, RecordedEvent};
use crate::ids::CaseId;

/// What deciding needs besides the case and the command.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub now: Timestamp,
    pub actor: &'a Actor,
    pub ladder: &'a Ladder,
    /// The number the case gets if this command opens it.
    pub next_number: u64,
    /// A fresh unique id for whatever this command creates (a message), supplied by the
    /// caller so deciding stays free of clocks and randomness.
    pub new_id: uuid::Uuid,
    /// The escalation matrix version in force, recorded on every event decided.
    pub matrix_version: Option<u32>,
}

/// Decides a command against the current state (`None` before the case is opened).
pub fn decide(case: Option<&Case>, command: &CaseCommand, cx: &Context) -> Result<Vec<CaseEvent>, DomainError> {
    let Some(case) = case else {
        return match command {
            CaseCommand::Open(open) => cmd::open::decide(open, cx),
            _ => Err(DomainError::NoSuchCase("the case does not exist".into())),
        };
    };
    let action = command.action();
    // Satisfaction is usually asked once the case is resolved, often after it is closed:
    // recording it changes nothing about the case's course, so a closed case takes it too.
    if case.status == Status::Closed && !matches!(command, CaseCommand::RecordCsat(_)) {
        return Err(DomainError::transition(action, case.status, "a closed case is final; open a follow-up case"));
    }
    let events = match command {
        CaseCommand::Open(_) => Err(DomainError::transition("open", case.status, "the case is already open")),
        CaseCommand::AddMessage(m) => cmd::message::decide(case, m, cx),
        CaseCommand::Assign(a) => cmd::assign::decide(case, a),
        CaseCommand::Transfer(t) => cmd::transfer::decide(case, t, action),
        CaseCommand::Escalate(e) => cmd::escalate::decide(case, e, cx, action),
        CaseCommand::DeEscalate(d) => cmd::de_escalate::decide(case, d, cx, action),
        CaseCommand::RequestInfo(r) => cmd::request_info::decide(case, r, cx, action),
        CaseCommand::Update(u) => cmd::update::decide(case, u),
        CaseCommand::Resolve(r) => cmd::resolve::decide(case, r, action),
        CaseCommand::Reopen(r) => cmd::reopen::decide(case, r, action),
        CaseCommand::Close => cmd::close::decide(case, action),
        CaseCommand::AskFrontLine(a) => cmd::ask_front_line::decide(case, a, action),
        CaseCommand::AnswerTask(a) => cmd::answer_task::decide(case, a, action),
        CaseCommand::ApplyAction(a) => cmd::apply_action::decide(case, a, cx.now, action),
        CaseCommand::DecideApproval(d) => cmd::approval::decide(case, d, action),
        CaseCommand::RecordCsat(c) => cmd::csat::decide(case, c, action),
        CaseCommand::ScheduleCallback(c) => cmd::callback::decide(case, c, cx, action),
    }?;
    crate::limits::check_room(case, &events)?;
    Ok(events)
}

/// Turns decided events into recorded ones, numbered after the case's current version.
pub fn record(case_id: CaseId, base_version: u64, cx: &Context, events: Vec<CaseEvent>) -> Vec<RecordedEvent> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| RecordedEvent {
            case_id,
            version: base_version + 1 + i as u64,
            at: cx.now,
            actor: cx.actor.clone(),
            event,
            matrix_version: cx.matrix_version,
        })
        .collect()
}
