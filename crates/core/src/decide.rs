//! `decide`: the one place that says whether a command applies to a case, and which
//! events it produces. Pure: the time, the actor and the ladder come in as arguments.

use jiff::Timestamp;

use crate::case::{Actor, Case, Status, Visibility};
use crate::command::*;
use crate::directory::{Ladder, LevelId, Role};
use crate::error::DomainError;
use crate::event::*;
use crate::ids::{CaseId, MessageId, TeamId};
use crate::validate::{handle, non_empty};

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

const MAX_TEXT: usize = 65_536;
const MAX_LINE: usize = 2_000;

/// Decides a command against the current state (`None` before the case is opened).
pub fn decide(case: Option<&Case>, command: &CaseCommand, cx: &Context) -> Result<Vec<CaseEvent>, DomainError> {
    let Some(case) = case else {
        return match command {
            CaseCommand::Open(open) => decide_open(open, cx),
            _ => Err(DomainError::NoSuchCase("the case does not exist".into())),
        };
    };
    let action = command.action();
    // Satisfaction is usually asked once the case is resolved, often after it is closed:
    // recording it changes nothing about the case's course, so a closed case takes it too.
    if let CaseCommand::RecordCsat(c) = command {
        return decide_csat(c);
    }
    if case.status == Status::Closed {
        return Err(DomainError::transition(action, case.status, "a closed case is final; open a follow-up case"));
    }
    match command {
        CaseCommand::Open(_) => Err(DomainError::transition("open", case.status, "the case is already open")),
        CaseCommand::AddMessage(m) => decide_message(case, m, cx),
        CaseCommand::Assign(a) => decide_assign(case, a),
        CaseCommand::Transfer(t) => {
            require_active(case, action)?;
            decide_transfer(case, t)
        }
        CaseCommand::Escalate(e) => {
            require_active(case, action)?;
            decide_escalate(case, e, cx)
        }
        CaseCommand::DeEscalate(d) => {
            require_active(case, action)?;
            decide_de_escalate(case, d, cx)
        }
        CaseCommand::RequestInfo(r) => {
            require_active(case, action)?;
            decide_request_info(case, r, cx)
        }
        CaseCommand::Update(u) => decide_update(case, u),
        CaseCommand::Resolve(r) => {
            require_active(case, action)?;
            handle("code", &r.code)?;
            if let Some(note) = &r.note {
                non_empty("note", note, MAX_TEXT)?;
            }
            Ok(vec![CaseEvent::Resolved(Resolved { code: r.code.clone(), note: r.note.clone() })])
        }
        CaseCommand::Reopen(r) => {
            if case.status != Status::Resolved {
                return Err(DomainError::transition(action, case.status, "only a resolved case can be reopened"));
            }
            non_empty("reason", &r.reason, MAX_LINE)?;
            Ok(vec![CaseEvent::Reopened(Reopened { reason: r.reason.clone() })])
        }
        CaseCommand::Close => {
            if case.status != Status::Resolved {
                return Err(DomainError::transition(action, case.status, "resolve the case before closing it"));
            }
            Ok(vec![CaseEvent::Closed(Closed {})])
        }
        CaseCommand::AskFrontLine(a) => {
            require_active(case, action)?;
            non_empty("question", &a.question, MAX_TEXT)?;
            let Some(origin) = case.escalation_path.first() else {
                return Err(DomainError::transition(
                    action,
                    case.status,
                    "the case did not come up from the front line; add an internal note or request information instead",
                ));
            };
            Ok(vec![CaseEvent::TaskCreated(crate::event::TaskCreated {
                task: case.tasks.len() as u32,
                question: a.question.clone(),
                to_team: origin.team,
                to_user: origin.assignee,
            })])
        }
        CaseCommand::AnswerTask(a) => {
            non_empty("answer", &a.answer, MAX_TEXT)?;
            match case.tasks.get(a.task as usize) {
                None => Err(DomainError::invalid("task", format!("the case has no task {}", a.task))),
                Some(t) if t.answer.is_some() => {
                    Err(DomainError::transition(action, case.status, format!("task {} is already answered", a.task)))
                }
                Some(_) => Ok(vec![CaseEvent::TaskAnswered(crate::event::TaskAnswered {
                    task: a.task,
                    answer: a.answer.clone(),
                })]),
            }
        }
        CaseCommand::ApplyAction(a) => {
            require_active(case, action)?;
            decide_apply_action(case, a)
        }
        CaseCommand::DecideApproval(d) => decide_approval(case, d, action),
        CaseCommand::RecordCsat(c) => decide_csat(c),
        CaseCommand::ScheduleCallback(c) => {
            require_active(case, action)?;
            if c.window_end <= c.window_start {
                return Err(DomainError::invalid("window_end", "must be after window_start"));
            }
            if c.window_end <= cx.now {
                return Err(DomainError::invalid("window_end", "the window is already over"));
            }
            if let Some(note) = &c.note {
                non_empty("note", note, MAX_TEXT)?;
            }
            Ok(vec![CaseEvent::CallbackScheduled(crate::event::CallbackScheduled {
                callback: case.callbacks.len() as u32,
                team: c.team.id,
                window_start: c.window_start,
                window_end: c.window_end,
                time_zone: c.time_zone.clone(),
                note: c.note.clone(),
            })])
        }
    }
}

/// Turns decided events into recorded ones, numbered after the case's current version.
pub fn record(
    case_id: CaseId,
    base_version: u64,
    cx: &Context,
    events: Vec<CaseEvent>,
) -> Vec<crate::event::RecordedEvent> {
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

fn decide_csat(c: &RecordCsat) -> Result<Vec<CaseEvent>, DomainError> {
    if !(1..=5).contains(&c.score) {
        return Err(DomainError::invalid(
            "score",
            format!("{} is not a score; give 1 (very dissatisfied) to 5 (very satisfied)", c.score),
        ));
    }
    if let Some(comment) = &c.comment {
        non_empty("comment", comment, MAX_TEXT)?;
    }
    Ok(vec![CaseEvent::CsatRecorded(CsatRecorded {
        score: c.score,
        comment: c.comment.clone(),
        by_customer: !c.on_behalf,
    })])
}

fn require_active(case: &Case, action: &'static str) -> Result<(), DomainError> {
    if case.status.is_active() {
        Ok(())
    } else {
        Err(DomainError::transition(action, case.status, "reopen the case first"))
    }
}

fn check_tags<'a>(field: &str, tags: impl IntoIterator<Item = &'a String>) -> Result<(), DomainError> {
    for t in tags {
        handle(field, t)?;
    }
    Ok(())
}

fn check_category(category: &Option<String>) -> Result<(), DomainError> {
    match category {
        Some(c) => handle("category", c),
        None => Ok(()),
    }
}

/// A user may take work on a team they belong to; managers and admins anywhere.
fn check_member(field: &str, user: &UserRef, team: Option<&TeamRef>) -> Result<(), DomainError> {
    if !user.active {
        return Err(DomainError::invalid(field, format!("user '{}' is deactivated", user.name)));
    }
    if let Some(team) = team
        && user.role < Role::Manager
        && !user.teams.iter().any(|t| t.id == team.id)
    {
        return Err(DomainError::invalid(
            field,
            format!("user '{}' is not a member of team '{}'", user.name, team.slug),
        ));
    }
    Ok(())
}

fn check_team_level(field: &str, team: &TeamRef, level: &LevelId) -> Result<(), DomainError> {
    if &team.level != level {
        return Err(DomainError::invalid(
            field,
            format!("team '{}' works level {}, not {level}", team.slug, team.level),
        ));
    }
    Ok(())
}

fn decide_open(open: &OpenCase, cx: &Context) -> Result<Vec<CaseEvent>, DomainError> {
    non_empty("subject", &open.subject, 500)?;
    if open.description.chars().count() > MAX_TEXT {
        return Err(DomainError::invalid("description", format!("is longer than {MAX_TEXT} characters")));
    }
    check_category(&open.category)?;
    check_tags("tags", &open.tags)?;
    let level = match (&open.level, &open.team) {
        (Some(l), _) => {
            cx.ladder.check("level", l)?;
            l.clone()
        }
        (None, Some(t)) => {
            cx.ladder.check("team", &t.level)?;
            t.level.clone()
        }
        (None, None) => cx.ladder.bottom().clone(),
    };
    if let Some(team) = &open.team {
        check_team_level("team", team, &level)?;
    }
    if let Some(user) = &open.assignee {
        check_member("assignee", user, open.team.as_ref())?;
    }
    Ok(vec![CaseEvent::Opened(Opened {
        number: cx.next_number,
        subject: open.subject.trim().to_string(),
        description: open.description.clone(),
        category: open.category.clone(),
        channel: open.channel,
        priority: open.priority,
        level,
        team: open.team.as_ref().map(|t| t.id),
        assignee: open.assignee.as_ref().map(|u| u.id),
        customer: open.customer,
        tags: open.tags.clone(),
        custom_fields: open.custom_fields.clone(),
    })])
}

fn decide_message(case: &Case, m: &AddMessage, cx: &Context) -> Result<Vec<CaseEvent>, DomainError> {
    non_empty("body", &m.body, MAX_TEXT)?;
    let customer_voice = m.from_customer || matches!(cx.actor, Actor::Customer { .. });
    if customer_voice && m.visibility == Visibility::Internal {
        return Err(DomainError::invalid("visibility", "a customer's message is always public"));
    }
    let author = if customer_voice { Actor::Customer { id: case.customer } } else { cx.actor.clone() };
    let mut events = Vec::new();
    match case.status {
        Status::Resolved if customer_voice => {
            events.push(CaseEvent::Reopened(Reopened { reason: "the customer replied".into() }))
        }
        Status::PendingCustomer if customer_voice || m.resume => {
            events.push(CaseEvent::Resumed(Resumed { from_status: case.status }))
        }
        Status::PendingInternal if m.resume => events.push(CaseEvent::Resumed(Resumed { from_status: case.status })),
        _ if m.resume && !case.status.is_pending() => {
            return Err(DomainError::transition(
                "resume",
                case.status,
                "only a pending_customer or pending_internal case can be resumed",
            ));
        }
        _ => {}
    }
    events.push(CaseEvent::MessageAdded(MessageAdded {
        message_id: MessageId(cx.new_id),
        author,
        visibility: m.visibility,
        channel: m.channel.unwrap_or(case.channel),
        body: m.body.clone(),
    }));
    Ok(events)
}

fn decide_assign(case: &Case, a: &Assign) -> Result<Vec<CaseEvent>, DomainError> {
    match (&a.assignee, case.assignee) {
        (None, None) => Err(DomainError::transition("unassign", case.status, "the case has no assignee")),
        (None, Some(previous)) => Ok(vec![CaseEvent::Unassigned(Unassigned { previous })]),
        (Some(user), previous) => {
            if previous == Some(user.id) {
                return Err(DomainError::transition(
                    "assign",
                    case.status,
                    format!("the case is already assigned to '{}'", user.name),
                ));
            }
            if !case.status.is_active() {
                return Err(DomainError::transition("assign", case.status, "reopen the case first"));
            }
            // Membership of the case's team is checked by team id only; the level is the case's.
            let team = case.team.map(|id| TeamRef { id, slug: id.to_string(), level: case.level.clone() });
            check_member_by_id(user, team.as_ref())?;
            Ok(vec![CaseEvent::Assigned(Assigned { assignee: user.id, previous })])
        }
    }
}

fn check_member_by_id(user: &UserRef, team: Option<&TeamRef>) -> Result<(), DomainError> {
    check_member("assignee", user, team).map_err(|e| match e {
        DomainError::Invalid { field, message } => {
            DomainError::Invalid { field, message: message.replace("team '", "the case's team '") }
        }
        other => other,
    })
}

fn decide_transfer(case: &Case, t: &Transfer) -> Result<Vec<CaseEvent>, DomainError> {
    if t.to_team.level != case.level {
        return Err(DomainError::invalid(
            "to_team",
            format!(
                "team '{}' works level {} but the case is at {}; a transfer stays on the same level (use escalate or de-escalate)",
                t.to_team.slug, t.to_team.level, case.level
            ),
        ));
    }
    if case.team == Some(t.to_team.id) && t.to_user.as_ref().map(|u| u.id) == case.assignee {
        return Err(DomainError::transition(
            "transfer",
            case.status,
            format!("the case is already with team '{}'", t.to_team.slug),
        ));
    }
    if let Some(user) = &t.to_user {
        check_member("to_user", user, Some(&t.to_team))?;
    }
    if t.reason.chars().count() > MAX_LINE {
        return Err(DomainError::invalid("reason", format!("is longer than {MAX_LINE} characters")));
    }
    Ok(vec![CaseEvent::Transferred(Transferred {
        from_team: case.team,
        to_team: t.to_team.id,
        to_user: t.to_user.as_ref().map(|u| u.id),
        reason: t.reason.clone(),
    })])
}

/// The team through which a named user works `level`: their first team at that level.
fn team_of_user_at(user: &UserRef, level: &LevelId) -> Option<TeamId> {
    user.teams.iter().find(|t| &t.level == level).map(|t| t.id)
}

fn decide_escalate(case: &Case, e: &Escalate, cx: &Context) -> Result<Vec<CaseEvent>, DomainError> {
    non_empty("reason", &e.reason, MAX_LINE)?;
    match &e.tried {
        Some(tried) => non_empty("tried", tried, MAX_TEXT)?,
        None if e.initiator == Initiator::Agent => {
            return Err(DomainError::invalid(
                "tried",
                "is required when an agent escalates: say what was already tried",
            ));
        }
        None => {}
    }
    let current = cx.ladder.check("level", &case.level)?;
    if let Some(l) = &e.to_level {
        cx.ladder.check("to_level", l)?;
    }
    let to_level = match e.kind {
        EscalationKind::Functional => {
            let Some(team) = &e.to_team else {
                return Err(DomainError::invalid(
                    "to_team",
                    "a functional escalation needs the team with the skill (to_team)",
                ));
            };
            if let Some(l) = &e.to_level {
                check_team_level("to_team", team, l)?;
            }
            let rank = cx.ladder.check("to_team", &team.level)?;
            if rank < current {
                return Err(DomainError::invalid(
                    "to_team",
                    format!(
                        "team '{}' works level {}, below the case's level {}; use de-escalate to hand a case down",
                        team.slug, team.level, case.level
                    ),
                ));
            }
            if case.team == Some(team.id) {
                return Err(DomainError::transition(
                    "escalate",
                    case.status,
                    format!("the case is already with team '{}'", team.slug),
                ));
            }
            team.level.clone()
        }
        EscalationKind::Hierarchical => {
            let target = match (&e.to_level, &e.to_team) {
                (Some(l), _) => l.clone(),
                (None, Some(t)) => t.level.clone(),
                (None, None) => match cx.ladder.above(&case.level) {
                    Some(l) => l.clone(),
                    None => {
                        return Err(DomainError::transition(
                            "escalate",
                            case.status,
                            format!("the case is already at the top level {}", case.level),
                        ));
                    }
                },
            };
            let rank = cx.ladder.check("to_level", &target)?;
            if rank <= current {
                let why = if current + 1 == cx.ladder.levels.len() {
                    format!("the case is already at the top level {}", case.level)
                } else {
                    format!(
                        "a hierarchical escalation goes up: choose a level above {} ({})",
                        case.level,
                        cx.ladder.levels[current + 1..].iter().map(|l| l.0.as_str()).collect::<Vec<_>>().join(", ")
                    )
                };
                return Err(DomainError::transition("escalate", case.status, why));
            }
            if let Some(t) = &e.to_team {
                check_team_level("to_team", t, &target)?;
            }
            if let Some(u) = &e.to_user
                && u.role < Role::Supervisor
            {
                return Err(DomainError::invalid(
                    "to_user",
                    format!(
                        "a hierarchical escalation to a person goes to a supervisor or manager; '{}' is an agent",
                        u.name
                    ),
                ));
            }
            target
        }
    };
    if let Some(u) = &e.to_user {
        check_member("to_user", u, e.to_team.as_ref())?;
        if !u.levels.is_empty() && !u.levels.contains(&to_level) {
            return Err(DomainError::invalid("to_user", format!("user '{}' does not work level {to_level}", u.name)));
        }
    }
    let to_team = match (&e.to_team, &e.to_user) {
        (Some(t), _) => Some(t.id),
        (None, Some(u)) => team_of_user_at(u, &to_level),
        (None, None) => None,
    };
    Ok(vec![CaseEvent::Escalated(Escalated {
        kind: e.kind,
        initiator: e.initiator,
        from_level: case.level.clone(),
        to_level,
        from_team: case.team,
        to_team,
        from_assignee: case.assignee,
        to_user: e.to_user.as_ref().map(|u| u.id),
        reason: e.reason.trim().to_string(),
        tried: e.tried.clone(),
    })])
}

fn decide_de_escalate(case: &Case, d: &DeEscalate, cx: &Context) -> Result<Vec<CaseEvent>, DomainError> {
    non_empty("guidance", &d.guidance, MAX_TEXT)?;
    let current = cx.ladder.check("level", &case.level)?;
    // The stop the case last came up from below this level; a lateral (same-level) escalation
    // also leaves a stop, and de-escalating to it would not go down.
    let last_stop = case.escalation_path.iter().rev().find(|s| cx.ladder.rank(&s.level).is_some_and(|r| r < current));
    let target = match (&d.to_level, &d.to_team, last_stop) {
        (Some(l), _, _) => l.clone(),
        (None, Some(t), _) => t.level.clone(),
        (None, None, Some(stop)) => stop.level.clone(),
        (None, None, None) => match cx.ladder.below(&case.level) {
            Some(l) => l.clone(),
            None => {
                return Err(DomainError::transition(
                    "de-escalate",
                    case.status,
                    format!("the case is already at the lowest level {}", case.level),
                ));
            }
        },
    };
    let rank = cx.ladder.check("to_level", &target)?;
    if rank >= current {
        return Err(DomainError::transition(
            "de-escalate",
            case.status,
            if current == 0 {
                format!("the case is already at the lowest level {}", case.level)
            } else {
                format!("de-escalation goes down: choose a level below {}", case.level)
            },
        ));
    }
    if let Some(t) = &d.to_team {
        check_team_level("to_team", t, &target)?;
    }
    if let Some(u) = &d.to_user {
        check_member("to_user", u, d.to_team.as_ref())?;
        if !u.levels.is_empty() && !u.levels.contains(&target) {
            return Err(DomainError::invalid("to_user", format!("user '{}' does not work level {target}", u.name)));
        }
    }
    // Without an explicit target, hand the case back to where it came from at that level.
    let stop = case.escalation_path.iter().rev().find(|s| s.level == target);
    let to_team =
        d.to_team.as_ref().map(|t| t.id).or_else(|| {
            d.to_user.as_ref().and_then(|u| team_of_user_at(u, &target)).or_else(|| stop.and_then(|s| s.team))
        });
    let to_user = match (&d.to_user, &d.to_team) {
        (Some(u), _) => Some(u.id),
        (None, Some(_)) => None,
        (None, None) => stop.and_then(|s| s.assignee),
    };
    Ok(vec![CaseEvent::DeEscalated(DeEscalated {
        from_level: case.level.clone(),
        to_level: target,
        from_team: case.team,
        to_team,
        to_user,
        guidance: d.guidance.clone(),
    })])
}

fn decide_request_info(case: &Case, r: &RequestInfo, cx: &Context) -> Result<Vec<CaseEvent>, DomainError> {
    non_empty("question", &r.question, MAX_TEXT)?;
    let waiting = match r.from {
        InfoSource::Customer => Status::PendingCustomer,
        InfoSource::Internal => Status::PendingInternal,
    };
    if case.status == waiting {
        return Err(DomainError::transition(
            "request information on",
            case.status,
            "the case is already waiting on that; add a message instead",
        ));
    }
    let message_id = MessageId(cx.new_id);
    let visibility = match r.from {
        InfoSource::Customer => Visibility::Public,
        InfoSource::Internal => Visibility::Internal,
    };
    Ok(vec![
        CaseEvent::MessageAdded(MessageAdded {
            message_id,
            author: cx.actor.clone(),
            visibility,
            channel: case.channel,
            body: r.question.clone(),
        }),
        CaseEvent::InfoRequested(InfoRequested {
            from: r.from,
            question: r.question.clone(),
            message_id: Some(message_id),
        }),
    ])
}

fn decide_update(case: &Case, u: &UpdateCase) -> Result<Vec<CaseEvent>, DomainError> {
    let mut change = Updated::default();
    if let Some(s) = &u.subject {
        non_empty("subject", s, 500)?;
        if s.trim() != case.subject {
            change.subject = Some(s.trim().to_string());
        }
    }
    if let Some(p) = u.priority
        && p != case.priority
    {
        change.priority = Some(p);
    }
    if let Some(c) = &u.category {
        check_category(c)?;
        if *c != case.category {
            change.category = Some(c.clone());
        }
    }
    check_tags("tags_added", &u.tags_added)?;
    check_tags("tags_removed", &u.tags_removed)?;
    let added: std::collections::BTreeSet<&String> = u.tags_added.iter().filter(|t| !case.tags.contains(*t)).collect();
    let removed: std::collections::BTreeSet<&String> =
        u.tags_removed.iter().filter(|t| case.tags.contains(*t)).collect();
    change.tags_added = added.into_iter().cloned().collect();
    change.tags_removed = removed.into_iter().cloned().collect();
    for (k, v) in &u.custom_fields {
        handle("custom_fields", k)?;
        // Unchanged: the same value, or a removal (null) of a field the case does not have.
        let unchanged = case.custom_fields.get(k) == Some(v) || (v.is_null() && !case.custom_fields.contains_key(k));
        if !unchanged {
            change.custom_fields.insert(k.clone(), v.clone());
        }
    }
    if change == Updated::default() {
        return Ok(Vec::new());
    }
    Ok(vec![CaseEvent::Updated(change)])
}

/// An amount of money or goods: a finite number above zero.
fn check_amount(amount: f64) -> Result<(), DomainError> {
    if !amount.is_finite() || amount <= 0.0 {
        return Err(DomainError::invalid("amount", format!("must be a finite number above 0, not {amount}")));
    }
    Ok(())
}

fn decide_apply_action(case: &Case, a: &ApplyAction) -> Result<Vec<CaseEvent>, DomainError> {
    handle("action", &a.action)?;
    check_amount(a.amount)?;
    if let Some(note) = &a.note {
        non_empty("note", note, MAX_TEXT)?;
    }
    // Exactly at the limit is within it.
    if a.limit.is_some_and(|limit| a.amount <= limit) {
        return Ok(vec![CaseEvent::ActionApplied(ActionApplied {
            action: a.action.clone(),
            amount: a.amount,
            note: a.note.clone(),
            approval: None,
        })]);
    }
    let Some(approver_role) = a.approver_role else {
        let why = match a.highest_limit {
            Some(highest) => format!(
                "no role may grant {} for '{}'; the highest limit is {highest}; ask for at most that",
                a.amount, a.action
            ),
            None => format!(
                "no role may grant '{}': the matrix in force sets no authority limits for it; add an [[authority]] rule",
                a.action
            ),
        };
        return Err(DomainError::invalid("amount", why));
    };
    Ok(vec![CaseEvent::ApprovalRequested(ApprovalRequested {
        approval: case.approvals.len() as u32,
        action: a.action.clone(),
        amount: a.amount,
        note: a.note.clone(),
        approver_role,
    })])
}

/// Who may decide is checked by [`crate::access::Principal::may`]; this checks the request
/// is still open and the decision is well-formed.
fn decide_approval(case: &Case, d: &DecideApproval, action: &'static str) -> Result<Vec<CaseEvent>, DomainError> {
    let Some(approval) = case.approvals.get(d.approval as usize) else {
        let known = match case.approvals.len() {
            0 => "it has none".to_string(),
            n => format!("valid numbers are 0 to {}", n - 1),
        };
        return Err(DomainError::invalid("approval", format!("the case has no approval {}; {known}", d.approval)));
    };
    if approval.state != crate::case::ApprovalState::Pending {
        return Err(DomainError::transition(
            action,
            case.status,
            format!("approval {} is already {}", d.approval, approval.state.as_str()),
        ));
    }
    if let Some(comment) = &d.comment {
        non_empty("comment", comment, MAX_TEXT)?;
    }
    let (outcome, amount) = match d.decision {
        Decision::Approve => (ApprovalOutcome::Approved, Some(approval.amount)),
        Decision::Deny => {
            if d.comment.is_none() {
                return Err(DomainError::invalid("comment", "is required to deny a request: say why"));
            }
            (ApprovalOutcome::Denied, None)
        }
        Decision::Counter { amount } => {
            check_amount(amount)?;
            if amount >= approval.amount {
                return Err(DomainError::invalid(
                    "amount",
                    format!("a counter-offer is below the {} requested; to grant it all, approve", approval.amount),
                ));
            }
            match d.approver_limit {
                Some(limit) if amount <= limit => {}
                Some(limit) => {
                    return Err(DomainError::invalid(
                        "amount",
                        format!("{amount} is above your limit of {limit} for '{}'", approval.action),
                    ));
                }
                None => {
                    return Err(DomainError::invalid(
                        "amount",
                        format!("you have no authority to grant '{}'", approval.action),
                    ));
                }
            }
            (ApprovalOutcome::Countered, Some(amount))
        }
    };
    let mut events = vec![CaseEvent::ApprovalDecided(ApprovalDecided {
        approval: d.approval,
        decision: outcome,
        amount,
        comment: d.comment.clone(),
    })];
    if let Some(amount) = amount {
        events.push(CaseEvent::ActionApplied(ActionApplied {
            action: approval.action.clone(),
            amount,
            note: approval.note.clone(),
            approval: Some(d.approval),
        }));
    }
    Ok(events)
}
