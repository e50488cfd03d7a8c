//! The matrix in force applied to a case: the triggers a write's events raise, the facts
//! the conditions see, and what the fired rules' actions become (commands decided as the
//! system, or events recorded as they are), followed by the clock changes everything so
//! far calls for. Pure like the rest of the crate: the caller reads the customer and the
//! teams before the write and passes `now` and the id source.
//!
//! Only events caused by people and channels trigger rules; what rules do does not trigger
//! more rules, so a matrix cannot loop.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::eval::{self, CompiledMatrix, Facts, TriggerFired};
use super::model::{Action, Matrix, Recipient, Trigger};
use crate::case::{Actor, Case, Status};
use crate::command::{ApplyAction, CaseCommand, Escalate, TeamRef, Transfer, UpdateCase};
use crate::decide::{Context, decide, record};
use crate::directory::{Customer, Ladder, LevelId, Role};
use crate::event::{CaseEvent, EscalationKind, Initiator, NotificationRequested, RecordedEvent, RuleFailed};
use crate::sla::{self, SlaPolicy};

/// A customer who opens a case while they opened another within this span is a repeat contact.
pub const REPEAT_CONTACT_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);

/// The name rule-made events carry as their actor.
pub const MATRIX_ACTOR: &str = "matrix";

/// A matrix version ready to be put in force (or replayed by the simulator): its rules
/// compiled and its SLA policy built.
pub struct ActiveMatrix {
    pub version: u32,
    pub name: String,
    pub compiled: CompiledMatrix,
    /// Its SLA targets, calendars and settings.
    pub sla: SlaPolicy,
}

impl ActiveMatrix {
    /// A compiled matrix ready to be put in force. Fails only when a calendar's time zone
    /// is unknown, which the linter already refuses.
    pub fn new(version: u32, name: String, compiled: CompiledMatrix) -> Result<ActiveMatrix, String> {
        let sla = SlaPolicy::new(compiled.matrix(), Some(version)).map_err(|e| e.to_string())?;
        Ok(ActiveMatrix { version, name, compiled, sla })
    }
}

/// What the rules know of a case's surroundings besides the case itself, read before the
/// write so that applying the rules needs no lookups.
#[derive(Debug, Clone, Copy)]
pub struct Surroundings<'a> {
    /// The case's customer, when it has a known one.
    pub customer: Option<&'a Customer>,
    /// Every team: the case's team slug, routes and escalations to a named team.
    pub teams: &'a [TeamRef],
    /// The ladder of levels in force.
    pub ladder: &'a Ladder,
}

/// The triggers one recorded event raises.
/// `repeat_contacts` is how many cases the customer opened in the last
/// [`REPEAT_CONTACT_WINDOW`], this one included; for a customer's message taken in from a
/// channel (an inbound email threaded onto their case) those cases and this contact.
pub fn triggers_of(event: &RecordedEvent, before: Option<Status>, after: Status, repeat_contacts: u32) -> Vec<Trigger> {
    let mut triggers = Vec::new();
    match &event.event {
        CaseEvent::Opened(_) => {
            triggers.push(Trigger::CaseOpened);
            if repeat_contacts >= 2 {
                triggers.push(Trigger::RepeatContact);
            }
        }
        CaseEvent::MessageAdded(m) if matches!(m.author, Actor::Customer { .. }) => {
            triggers.push(Trigger::MessageReceived);
            // A customer's contact through a channel (an inbound email) counted with
            // their recent cases: they came back about this one.
            if repeat_contacts >= 2 {
                triggers.push(Trigger::RepeatContact);
            }
        }
        CaseEvent::Escalated(e) if e.initiator == Initiator::Customer => {
            triggers.push(Trigger::CustomerRequestedSupervisor)
        }
        CaseEvent::Reopened(_) => triggers.push(Trigger::Reopened),
        CaseEvent::ClockAtRisk(_) => triggers.push(Trigger::ClockAtRisk),
        CaseEvent::ClockBreached(_) => triggers.push(Trigger::ClockBreached),
        _ => {}
    }
    if before.is_some() && before != Some(after) {
        triggers.push(Trigger::StatusChanged);
    }
    triggers
}

/// The facts CEL conditions see (fields documented in docs/matrix.md).
pub fn facts(
    case: &Case,
    team_slug: Option<&str>,
    customer: Option<&Customer>,
    event: &RecordedEvent,
    repeat_contacts: u32,
    now: Timestamp,
) -> Facts {
    let mut event_value = serde_json::to_value(&event.event).unwrap_or(Value::Null);
    if let Some(obj) = event_value.as_object_mut() {
        obj.insert("version".into(), json!(event.version));
        obj.insert("count".into(), json!(repeat_contacts));
    }
    let contact = match &event.event {
        CaseEvent::MessageAdded(m) => json!({
            "channel": m.channel.as_str(),
            "body": m.body,
            "from_customer": matches!(m.author, Actor::Customer { .. }),
        }),
        _ => json!({"channel": case.channel.as_str(), "body": "", "from_customer": false}),
    };
    Facts {
        case: eval::case_facts(case, team_slug),
        customer: eval::customer_facts(customer),
        contact,
        event: event_value,
        now,
    }
}

/// The team that takes a case moved to `level` without a named team: the only team that
/// works that level, if exactly one does.
pub fn only_team_at(teams: &[TeamRef], level: Option<&LevelId>) -> Option<TeamRef> {
    let mut at_level = teams.iter().filter(|t| Some(&t.level) == level);
    match (at_level.next(), at_level.next()) {
        (Some(only), None) => Some(only.clone()),
        _ => None,
    }
}

/// The team the matrix routes `case` to, as its opening rules see the case now: the first
/// rule of trigger `case_opened` whose condition holds and that routes or escalates to a
/// named team, with that team's slug. What a functional escalation naming no team goes by
/// first ([`crate::command::inferred_target`]).
pub fn route_for(
    compiled: &CompiledMatrix,
    case: &Case,
    team_slug: Option<&str>,
    customer: Option<&Customer>,
    now: Timestamp,
) -> Option<(String, String)> {
    let facts = Facts {
        case: eval::case_facts(case, team_slug),
        customer: eval::customer_facts(customer),
        contact: json!({"channel": case.channel.as_str(), "body": "", "from_customer": false}),
        ..Facts::new(now)
    };
    compiled.evaluate(Trigger::CaseOpened, &facts).fired.into_iter().find_map(|fired| {
        fired.actions.iter().find_map(|a| match a {
            Action::Route { team } | Action::Escalate { to_team: Some(team), .. } => {
                Some((fired.rule.clone(), team.clone()))
            }
            _ => None,
        })
    })
}

/// What one fired action becomes.
pub enum Consequence {
    /// A command, decided as the system against the case as it is by then.
    Command(CaseCommand),
    /// An event to record as it is.
    Record(CaseEvent),
    /// Already so (a route to the team that has the case): nothing to do.
    Nothing,
}

/// Turns one fired action of rule `rule` into a command, or into an event to record as it is.
pub fn consequence(
    action: &Action,
    rule: &str,
    case: &Case,
    teams: &[TeamRef],
    ladder: &Ladder,
    active: &ActiveMatrix,
    now: Timestamp,
) -> Result<Consequence, String> {
    let team = |slug: &str| teams.iter().find(|t| t.slug == slug).cloned().ok_or_else(|| format!("no team '{slug}'"));
    let reason = format!("rule \"{rule}\"");
    let escalate = |kind: EscalationKind, to_level: Option<LevelId>, to_team: Option<TeamRef>, reason: String| {
        Consequence::Command(CaseCommand::Escalate(Escalate {
            kind,
            initiator: Initiator::System,
            to_level,
            to_team,
            to_user: None,
            reason,
            tried: None,
            candidates: Vec::new(),
            team_choice: None,
        }))
    };
    Ok(match action {
        Action::Escalate { kind, to_level, to_team, role: _ } => {
            let to_team = match to_team {
                Some(slug) => Some(team(slug)?),
                None => {
                    // Without a named team, the only team at the target level takes it.
                    let target = to_level.clone().or_else(|| ladder.above(&case.level).cloned());
                    only_team_at(teams, target.as_ref())
                }
            };
            escalate(*kind, to_level.clone(), to_team, reason)
        }
        Action::SetPriority(p) => {
            Consequence::Command(CaseCommand::Update(UpdateCase { priority: Some(*p), ..Default::default() }))
        }
        Action::AddTags(tags) => {
            Consequence::Command(CaseCommand::Update(UpdateCase { tags_added: tags.clone(), ..Default::default() }))
        }
        Action::Route { team: slug } => {
            let to = team(slug)?;
            if case.team == Some(to.id) {
                Consequence::Nothing
            } else if to.level == case.level {
                Consequence::Command(CaseCommand::Transfer(Transfer { to_team: to, to_user: None, reason }))
            } else {
                escalate(EscalationKind::Functional, None, Some(to), reason)
            }
        }
        Action::Notify { who, channel, template, within_hours } => {
            // The recipient's working hours: the calendar of the level they work.
            let level = match who {
                Recipient::Team(slug) => teams.iter().find(|t| &t.slug == slug).map(|t| &t.level),
                _ => None,
            }
            .unwrap_or(&case.level);
            let sla = &active.sla;
            let not_before = match sla.calendar(sla.level_calendar(level)) {
                Some(cal) if *within_hours && !cal.is_open(now) => cal.next_open(now),
                _ => None,
            };
            Consequence::Record(CaseEvent::NotificationRequested(NotificationRequested {
                rule: rule.to_string(),
                recipient: who.to_string(),
                channel: channel.as_str().to_string(),
                template: template.clone(),
                not_before,
            }))
        }
        Action::RequireApproval { action, amount_field } => {
            let amount = approval_amount(case, amount_field.as_deref())?;
            // The matrix has no authority of its own: the request goes to the lowest role
            // whose limit covers the amount.
            let matrix: &Matrix = active.compiled.matrix();
            let mut command =
                ApplyAction::resolve(Some(matrix), Role::Agent, MATRIX_ACTOR, action.clone(), amount, Some(reason));
            command.limit = None;
            Consequence::Command(CaseCommand::ApplyAction(command))
        }
    })
}

/// The amount a `require_approval` action asks about: a number at `amount_field`, a path
/// `case.custom_fields.NAME` (a number or a numeric string).
fn approval_amount(case: &Case, amount_field: Option<&str>) -> Result<f64, String> {
    let Some(path) = amount_field else {
        return Err("require_approval needs amount_field to know the amount".into());
    };
    let Some(name) = path.strip_prefix("case.custom_fields.") else {
        return Err(format!("amount_field '{path}' must be case.custom_fields.NAME"));
    };
    match case.custom_fields.get(name) {
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| format!("{path} is not a usable number")),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| format!("{path} is '{s}', not a number")),
        Some(other) => Err(format!("{path} is {other}, not a number")),
        None => Err(format!("the case has no {path}")),
    }
}

/// Splits a rule's actions: its priority and tag actions become one update (so the case
/// history shows one `updated` event per rule, not one per field); the rest stay in order.
fn split_updates(actions: &[Action]) -> (Vec<Action>, Option<UpdateCase>) {
    let mut others = Vec::with_capacity(actions.len());
    let mut update = UpdateCase::default();
    for action in actions {
        match action {
            Action::SetPriority(p) => update.priority = Some(*p),
            Action::AddTags(t) => update.tags_added.extend(t.iter().cloned()),
            other => others.push(other.clone()),
        }
    }
    let changes = update.priority.is_some() || !update.tags_added.is_empty();
    (others, changes.then_some(update))
}

/// Appends what follows a write's events in the same write: the matrix rules they trigger,
/// then the clock changes everything so far calls for. Returns the triggers raised and the
/// rules that fired on each, for the rule-activity counts.
pub fn follow_up(
    active: &ActiveMatrix,
    before: Option<&Case>,
    recorded: &mut Vec<RecordedEvent>,
    around: &Surroundings,
    repeat_contacts: u32,
    now: Timestamp,
    new_id: impl Fn() -> uuid::Uuid,
) -> Vec<TriggerFired> {
    let (rules, triggers) = apply_rules(active, before, recorded, around, repeat_contacts, now, new_id);
    recorded.extend(rules);
    let clocks = sla::clock_events(&active.sla, before, recorded, around.customer, around.ladder, now);
    recorded.extend(clocks);
    triggers
}

/// A timer of clock `index` at `generation` went off at `now`: the warnings and breach due
/// ([`sla::fire`]), recorded as the clocks, then what follows them in the same write (the
/// rules they trigger, the clock changes). Nothing when the timer is stale. Returns the
/// events and the triggers raised, as [`follow_up`].
pub fn fire_timer(
    active: &ActiveMatrix,
    case: &Case,
    index: usize,
    generation: u64,
    around: &Surroundings,
    now: Timestamp,
    new_id: impl Fn() -> uuid::Uuid,
) -> (Vec<RecordedEvent>, Vec<TriggerFired>) {
    let mut recorded = sla::fire_recorded(&active.sla, case, index, generation, around.ladder, now);
    if recorded.is_empty() {
        return (recorded, Vec::new());
    }
    let triggers = follow_up(active, Some(case), &mut recorded, around, 0, now, new_id);
    (recorded, triggers)
}

/// Applies the active matrix to the events a command produced: evaluates the rules of every
/// trigger those events raise and decides their consequences, as the system. Returns the
/// extra events, already numbered after `events`, and each trigger raised with the rules
/// whose condition held.
pub fn apply_rules(
    active: &ActiveMatrix,
    before: Option<&Case>,
    events: &[RecordedEvent],
    around: &Surroundings,
    repeat_contacts: u32,
    now: Timestamp,
    new_id: impl Fn() -> uuid::Uuid,
) -> (Vec<RecordedEvent>, Vec<TriggerFired>) {
    let Surroundings { customer, teams, ladder } = *around;
    let system = Actor::System { name: MATRIX_ACTOR.into() };
    let mut state: Option<Case> = before.cloned();
    let mut out: Vec<RecordedEvent> = Vec::new();
    let mut fired_triggers: Vec<(RecordedEvent, Option<Status>, Status)> = Vec::new();
    for e in events {
        let status_before = state.as_ref().map(|c| c.status);
        let next = crate::case::apply(state.take(), e);
        fired_triggers.push((e.clone(), status_before, next.status));
        state = Some(next);
    }
    let mut raised: Vec<TriggerFired> = Vec::new();
    let Some(mut case) = state else { return (out, raised) };
    // The context every rule-made event is decided and recorded in.
    let system_context = || Context {
        now,
        actor: &system,
        ladder,
        next_number: 0,
        new_id: new_id(),
        matrix_version: Some(active.version),
    };
    // Records events after the case's current version and folds them in.
    let append = |case: &mut Case, new_events: Vec<CaseEvent>, out: &mut Vec<RecordedEvent>| {
        for r in record(case.id, case.version, &system_context(), new_events) {
            *case = crate::case::apply(Some(case.clone()), &r);
            out.push(r);
        }
    };
    for (event, status_before, status_after) in fired_triggers {
        for trigger in triggers_of(&event, status_before, status_after, repeat_contacts) {
            if !active.compiled.has_rules(trigger) {
                // Nothing listens: the trigger still happened (rule activity counts it).
                raised.push(TriggerFired { trigger, rules: Vec::new() });
                continue;
            }
            let team_slug = case.team.and_then(|id| teams.iter().find(|t| t.id == id)).map(|t| t.slug.clone());
            let evaluation = active
                .compiled
                .evaluate(trigger, &facts(&case, team_slug.as_deref(), customer, &event, repeat_contacts, now));
            raised.push(TriggerFired { trigger, rules: evaluation.fired.iter().map(|f| f.rule.clone()).collect() });
            let mut failures: Vec<(String, String)> = evaluation.errors.clone();
            for fired in &evaluation.fired {
                let (actions, update) = split_updates(&fired.actions);
                for action in &actions {
                    let made = match consequence(action, &fired.rule, &case, teams, ladder, active, now) {
                        Ok(Consequence::Record(e)) => Ok(vec![e]),
                        Ok(Consequence::Nothing) => Ok(Vec::new()),
                        Ok(Consequence::Command(command)) => {
                            decide(Some(&case), &command, &system_context()).map_err(|e| e.to_string())
                        }
                        Err(why) => Err(why),
                    };
                    match made {
                        Ok(new_events) => append(&mut case, new_events, &mut out),
                        Err(why) => failures.push((fired.rule.clone(), format!("{action}: {why}"))),
                    }
                }
                if let Some(update) = update {
                    match decide(Some(&case), &CaseCommand::Update(update), &system_context()) {
                        Ok(new_events) => append(&mut case, new_events, &mut out),
                        Err(why) => failures.push((fired.rule.clone(), format!("set priority and tags: {why}"))),
                    }
                }
            }
            for (rule, error) in failures {
                let failed = CaseEvent::RuleFailed(RuleFailed { rule, trigger: trigger.as_str().to_string(), error });
                append(&mut case, vec![failed], &mut out);
            }
        }
    }
    (out, raised)
}
