//! The escalation matrix at work: its lifecycle (drafts, activation, rollback) and its
//! rules applied to every case event.
//!
//! Rules run inside the same write as the command that triggered them: the command's events,
//! the rules' consequences (escalations, priority, tags, routing, notification requests) and
//! any rule that failed are appended together, each event naming the matrix version. Only
//! events caused by people and channels trigger rules; what rules do does not trigger more
//! rules, so a matrix cannot loop.

use std::sync::Arc;

use jiff::Timestamp;
use ladder_core::access;
use ladder_core::case::{Actor, Case, Status};
use ladder_core::command::{CaseCommand, Escalate, TeamRef, Transfer, UpdateCase};
use ladder_core::directory::{Customer, Ladder, LevelId};
use ladder_core::event::{CaseEvent, EscalationKind, Initiator, NotificationRequested, RecordedEvent, RuleFailed};
use ladder_core::matrix::{self, Action, CompiledMatrix, Diagnostic, Facts, Recipient, Trigger, TriggerFired};
use ladder_core::sla::SlaPolicy;
use ladder_core::{Context, decide, record};
use ladder_store::{MatrixDraft, MatrixVersion, StoreError};
use serde_json::{Value, json};

use crate::Engine;

/// A customer who opens a case while they opened another within this span is a repeat contact.
pub const REPEAT_CONTACT_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(7 * 24);

/// The name rule-made events carry as their actor.
pub const MATRIX_ACTOR: &str = "matrix";

/// The matrix in force.
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

/// Why a matrix was refused.
#[derive(Debug)]
pub enum MatrixError {
    /// The text has problems: every one, with its position.
    Invalid(Vec<Diagnostic>),
    Store(StoreError),
}

impl From<StoreError> for MatrixError {
    fn from(e: StoreError) -> Self {
        MatrixError::Store(e)
    }
}

impl Engine {
    /// The matrix in force, if any.
    pub fn active_matrix(&self) -> Option<Arc<ActiveMatrix>> {
        self.inner.matrix.read().expect("matrix lock").clone()
    }

    /// What `ladder matrix check` would say, with the teams that exist.
    pub async fn check_matrix(
        &self,
        principal: &access::Principal,
        source: &str,
        file: &str,
    ) -> Result<Vec<Diagnostic>, StoreError> {
        self.check(principal, &access::Action::ReadMatrixDrafts)?;
        self.lint_matrix(source, file).await
    }

    /// The matrix checked against the teams that exist.
    async fn lint_matrix(&self, source: &str, file: &str) -> Result<Vec<Diagnostic>, StoreError> {
        let teams = self.store.teams().await?;
        let directory = matrix::Directory { teams: teams.iter().map(|t| (t.slug.clone(), t.level.clone())).collect() };
        Ok(matrix::check(source, file, Some(&directory)))
    }

    /// Parses, lints and compiles; refuses on any error.
    pub(crate) async fn compile_checked(
        &self,
        source: &str,
        name: &str,
        version: u32,
    ) -> Result<ActiveMatrix, MatrixError> {
        let diagnostics = self.lint_matrix(source, name).await?;
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Err(MatrixError::Invalid(diagnostics));
        }
        let (parsed, _) = matrix::parse(source, name).map_err(MatrixError::Invalid)?;
        let compiled = CompiledMatrix::compile(parsed, version).map_err(MatrixError::Invalid)?;
        ActiveMatrix::new(version, name.to_string(), compiled).map_err(|message| {
            MatrixError::Invalid(vec![Diagnostic {
                severity: matrix::Severity::Error,
                file: name.to_string(),
                line: 0,
                column: 0,
                message,
                hint: None,
                path: "calendars".into(),
            }])
        })
    }

    /// Stores a draft if it is valid; an invalid one is refused with every problem.
    pub async fn put_matrix_draft(
        &self,
        principal: &access::Principal,
        name: String,
        source: String,
        now: Timestamp,
    ) -> Result<(MatrixDraft, Vec<Diagnostic>), MatrixError> {
        self.check(principal, &access::Action::ChangeMatrix)?;
        let by = principal.name.clone();
        let diagnostics = self.check_matrix(principal, &source, &name).await?;
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Err(MatrixError::Invalid(diagnostics));
        }
        let draft = self.store.put_matrix_draft(MatrixDraft { name, source, updated_by: by, updated_at: now }).await?;
        Ok((draft, diagnostics))
    }

    /// Deletes a saved draft.
    pub async fn delete_matrix_draft(&self, principal: &access::Principal, name: String) -> Result<(), StoreError> {
        self.check(principal, &access::Action::ChangeMatrix)?;
        self.store.delete_matrix_draft(name).await
    }

    /// Freezes a draft as the next version and puts it in force. An invalid draft (the
    /// directory may have changed since it was saved) is refused and the active matrix stays.
    pub async fn activate_matrix(
        &self,
        principal: &access::Principal,
        name: String,
        now: Timestamp,
    ) -> Result<MatrixVersion, MatrixError> {
        self.check(principal, &access::Action::ChangeMatrix)?;
        let by = principal.name.clone();
        let draft = self
            .store
            .matrix_draft(name.clone())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("matrix draft '{name}'")))?;
        let next = self.store.matrix_versions().await?.last().map_or(1, |v| v.version + 1);
        let compiled = self.compile_checked(&draft.source, &name, next).await?;
        let version = self.store.activate_matrix(name, draft.source, by, now).await?;
        self.put_in_force(compiled);
        Ok(version)
    }

    /// Puts an earlier version back in force (by default the one before the current).
    pub async fn rollback_matrix(
        &self,
        principal: &access::Principal,
        to: Option<u32>,
        now: Timestamp,
    ) -> Result<MatrixVersion, MatrixError> {
        self.check(principal, &access::Action::ChangeMatrix)?;
        let by = principal.name.clone();
        let target = match to {
            Some(v) => self
                .store
                .matrix_version(v)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("matrix version {v}")))?,
            None => {
                // Validate before switching: find what the store would pick.
                let active = self.store.active_matrix().await?.map(|v| v.version);
                let activations = self.store.matrix_activations().await?;
                let previous = activations.iter().rev().map(|a| a.version).find(|v| Some(*v) != active);
                let v =
                    previous.ok_or_else(|| StoreError::NotFound("an earlier matrix version to roll back to".into()))?;
                self.store
                    .matrix_version(v)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("matrix version {v}")))?
            }
        };
        let compiled = self.compile_checked(&target.source, &target.name, target.version).await?;
        let version = self.store.rollback_matrix(Some(target.version), by, now).await?;
        self.put_in_force(compiled);
        Ok(version)
    }

    /// Loads the active version from the store (at start-up). A stored version that no
    /// longer compiles (say, a team it names was deleted) is reported and the server runs
    /// without rules rather than not at all.
    pub async fn load_matrix(&self) -> Result<(), StoreError> {
        let Some(version) = self.store.active_matrix().await? else { return Ok(()) };
        let (parsed, _) = match matrix::parse(&version.source, &version.name) {
            Ok(p) => p,
            Err(d) => {
                tracing::error!(
                    version = version.version,
                    problems = d.len(),
                    "the active matrix does not parse; running without rules"
                );
                return Ok(());
            }
        };
        let compiled = CompiledMatrix::compile(parsed, version.version)
            .map_err(|d| format!("{} problems", d.len()))
            .and_then(|c| ActiveMatrix::new(version.version, version.name, c));
        match compiled {
            Ok(active) => {
                self.put_in_force(active);
                tracing::info!(version = version.version, "escalation matrix in force");
            }
            Err(e) => tracing::error!(
                version = version.version,
                error = %e,
                "the active matrix does not compile; running without rules"
            ),
        }
        Ok(())
    }

    fn put_in_force(&self, active: ActiveMatrix) {
        if let Some(ladder) = active.compiled.matrix().ladder() {
            *self.inner.ladder.write().expect("ladder lock") = Arc::new(ladder);
        }
        *self.inner.matrix.write().expect("matrix lock") = Some(Arc::new(active));
    }
}

/// The triggers one recorded event raises.
/// `repeat_contacts` is how many cases the customer opened in the last
/// [`REPEAT_CONTACT_WINDOW`], this one included.
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
            triggers.push(Trigger::MessageReceived)
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
        case: matrix::eval::case_facts(case, team_slug),
        customer: matrix::eval::customer_facts(customer),
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

/// Turns one fired action into a command, or into an event to record as it is.
pub enum Consequence {
    Command(CaseCommand),
    Record(CaseEvent),
    /// Already so (a route to the team that has the case): nothing to do.
    Nothing,
}

#[allow(clippy::too_many_arguments)]
pub fn consequence(
    action: &Action,
    rule: &str,
    case: &Case,
    teams: &[TeamRef],
    ladder: &Ladder,
    matrix: &matrix::Matrix,
    sla: &SlaPolicy,
    now: Timestamp,
) -> Result<Consequence, String> {
    let team = |slug: &str| teams.iter().find(|t| t.slug == slug).cloned().ok_or_else(|| format!("no team '{slug}'"));
    let reason = format!("rule \"{rule}\"");
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
            Consequence::Command(CaseCommand::Escalate(Escalate {
                kind: *kind,
                initiator: Initiator::System,
                to_level: to_level.clone(),
                to_team,
                to_user: None,
                reason,
                tried: None,
            }))
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
                Consequence::Command(CaseCommand::Escalate(Escalate {
                    kind: EscalationKind::Functional,
                    initiator: Initiator::System,
                    to_level: None,
                    to_team: Some(to),
                    to_user: None,
                    reason,
                    tried: None,
                }))
            }
        }
        Action::Notify { who, channel, template, within_hours } => {
            // The recipient's working hours: the calendar of the level they work.
            let level = match who {
                Recipient::Team(slug) => teams.iter().find(|t| &t.slug == slug).map(|t| &t.level),
                _ => None,
            }
            .unwrap_or(&case.level);
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
            let mut command = ladder_core::command::ApplyAction::resolve(
                Some(matrix),
                ladder_core::Role::Agent,
                MATRIX_ACTOR,
                action.clone(),
                amount,
                Some(reason),
            );
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
#[allow(clippy::too_many_arguments)]
pub(crate) fn follow_up(
    active: &ActiveMatrix,
    before: Option<&Case>,
    recorded: &mut Vec<RecordedEvent>,
    customer: Option<&Customer>,
    teams: &[TeamRef],
    ladder: &Ladder,
    repeat_contacts: u32,
    now: Timestamp,
    new_id: impl Fn() -> uuid::Uuid,
) -> Vec<TriggerFired> {
    let (rules, triggers) =
        apply_rules(active, before, recorded, customer, teams, ladder, repeat_contacts, now, new_id);
    recorded.extend(rules);
    let clocks = crate::timers::clock_events(active, before, recorded, customer, ladder, now);
    recorded.extend(clocks);
    triggers
}

/// Applies the active matrix to the events a command produced: evaluates the rules of every
/// trigger those events raise and decides their consequences, as the system. Returns the
/// extra events, already numbered after `events`, and each trigger raised with the rules
/// whose condition held.
#[allow(clippy::too_many_arguments)]
pub fn apply_rules(
    active: &ActiveMatrix,
    before: Option<&Case>,
    events: &[RecordedEvent],
    customer: Option<&Customer>,
    teams: &[TeamRef],
    ladder: &Ladder,
    repeat_contacts: u32,
    now: Timestamp,
    new_id: impl Fn() -> uuid::Uuid,
) -> (Vec<RecordedEvent>, Vec<TriggerFired>) {
    let system = Actor::System { name: MATRIX_ACTOR.into() };
    let mut state: Option<Case> = before.cloned();
    let mut out: Vec<RecordedEvent> = Vec::new();
    let mut fired_triggers: Vec<(RecordedEvent, Option<Status>, Status)> = Vec::new();
    for e in events {
        let status_before = state.as_ref().map(|c| c.status);
        let next = ladder_core::case::apply(state.take(), e);
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
            *case = ladder_core::case::apply(Some(case.clone()), &r);
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
                    let made = match consequence(
                        action,
                        &fired.rule,
                        &case,
                        teams,
                        ladder,
                        active.compiled.matrix(),
                        &active.sla,
                        now,
                    ) {
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
