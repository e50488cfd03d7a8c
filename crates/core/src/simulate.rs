//! The what-if simulator's replay: recorded history replayed under a candidate matrix, and
//! both streams counted the same way. The engine reads the histories in batches and runs
//! this on every core (`ladder_engine::simulate`).
//!
//! # How a case is replayed
//!
//! A case's stream holds two kinds of events: **inputs** (what people, customers and
//! channels did, and what the router decided) and **derived** events (what the matrix's
//! rules and the SLA clocks made of them, actors `matrix` and `sla`). A replay drops the
//! derived events and feeds the inputs again, at their recorded instants and grouped as
//! they were written, through the very functions the engine runs on every write: the
//! candidate's rules, then its clocks. Between inputs, the candidate's timers fire at their
//! exact due instants (warnings, breaches and the rules they trigger), and after the last
//! input they fire up to `until`.
//!
//! An input is adapted to the replayed case rather than copied blindly:
//! - an escalation by a person to a level the case has already reached (because a rule or a
//!   breach of the candidate escalated it earlier) is dropped and counted as absorbed;
//!   likewise a de-escalation to a level the case is not above;
//! - assignment, transfer and escalation events take their "from" fields from the replay;
//! - an action with an amount (a credit, a refund) is decided again against the candidate's
//!   authority limits for the person's role: within the limit it applies at once, above it
//!   it files an approval request; a recorded decision on a request that the replay never
//!   filed is dropped;
//! - a routing decision is kept only when the replayed case waits at the same team.
//!
//! Replaying under the matrix that was in force reproduces the recorded stream event for
//! event (the tests check it); the report is computed from both streams by one function, so
//! the two columns are comparable. Everything is a pure function of the recorded history,
//! the candidate, the teams, the users' roles and `until`: the same inputs give the same
//! report.
//!
//! Not replayed: agents' presence and queues (a routing decision is an input), overflow
//! between queues (recorded transfers are kept when they still apply), and customer
//! attributes, which are taken as they are now.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::case::{Actor, Case};
use crate::command::{ApplyAction, CaseCommand, TeamRef};
use crate::decide::{Context, decide, record};
use crate::directory::{Customer, Ladder, LevelId, Role};
use crate::event::{CaseEvent, Initiator, RecordedEvent};
use crate::ids::{TeamId, UserId};
use crate::matrix::apply::{self, ActiveMatrix, MATRIX_ACTOR, Surroundings};
use crate::routing::ROUTER_ACTOR;
use crate::sla::{self, SLA_ACTOR};

/// One case's recorded stream, with what replaying it needs to know about its customer.
#[derive(Debug, Clone)]
pub struct CaseHistory {
    pub number: u64,
    /// The whole stream, oldest first.
    pub events: Vec<RecordedEvent>,
    pub customer: Option<Customer>,
    /// Cases the customer opened in the `window` before this one, this one included (1 for
    /// a case without a customer).
    pub repeat_contacts: u32,
}

/// What a replay needs besides the case's own history.
pub struct Replay<'a> {
    pub matrix: &'a ActiveMatrix,
    pub teams: &'a [TeamRef],
    pub ladder: &'a Ladder,
    /// Each user's role and login name, for re-deciding amounts against authority limits.
    pub users: &'a HashMap<UserId, (Role, String)>,
    /// Timers fire up to this instant (inclusive).
    pub until: Timestamp,
}

/// One case replayed.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub events: Vec<RecordedEvent>,
    /// Escalations by people that the candidate made unnecessary (the case was already there).
    pub absorbed: u64,
}

/// Which kind of writer recorded an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// People, customers and channels: a command and the rules it triggers.
    Command,
    /// The router: its decision and the clock changes that follow, no rules.
    Router,
    /// The matrix or the clocks: recomputed, never fed.
    Derived,
}

fn source(e: &RecordedEvent) -> Source {
    match &e.actor {
        Actor::System { name } if name == MATRIX_ACTOR || name == SLA_ACTOR => Source::Derived,
        Actor::System { name } if name == ROUTER_ACTOR => Source::Router,
        _ => Source::Command,
    }
}

/// A replay in progress.
struct Run<'r, 'a> {
    r: &'r Replay<'a>,
    customer: Option<&'r Customer>,
    repeat_contacts: u32,
    case: Option<Case>,
    out: Vec<RecordedEvent>,
    absorbed: u64,
    /// Recorded approval number → the replay's, for decisions on them.
    approvals: HashMap<u32, u32>,
    /// The recorded approval requests, `(number, action, amount)`, in order.
    recorded_approvals: Vec<(u32, String, f64)>,
    /// Timers (clock, generation) that found nothing to do, with when to try again.
    retry: HashMap<(usize, u64), (Timestamp, u8)>,
}

/// An id for events a replay makes (the real engine uses fresh v7 ids; a replay must be
/// deterministic and its ids are never shown).
fn replay_id() -> uuid::Uuid {
    uuid::Uuid::nil()
}

impl<'a> Replay<'a> {
    /// Replays one case's recorded stream under the candidate.
    pub fn case(&self, history: &CaseHistory) -> Replayed {
        let recorded_approvals = history
            .events
            .iter()
            .filter_map(|e| match &e.event {
                CaseEvent::ApprovalRequested(a) => Some((a.approval, a.action.clone(), a.amount)),
                _ => None,
            })
            .collect();
        let mut run = Run {
            r: self,
            customer: history.customer.as_ref(),
            repeat_contacts: history.repeat_contacts,
            case: None,
            out: Vec::with_capacity(history.events.len()),
            absorbed: 0,
            approvals: HashMap::new(),
            recorded_approvals,
            retry: HashMap::new(),
        };
        let mut i = 0;
        let events = &history.events;
        while i < events.len() {
            let kind = source(&events[i]);
            if kind == Source::Derived {
                i += 1;
                continue;
            }
            // One write: consecutive inputs of the same writer at the same instant.
            let mut j = i + 1;
            while j < events.len()
                && source(&events[j]) == kind
                && events[j].at == events[i].at
                && events[j].actor == events[i].actor
            {
                j += 1;
            }
            run.fire_until(events[i].at, false);
            run.write(&events[i..j], kind);
            i = j;
        }
        run.fire_until(self.until, true);
        Replayed { events: run.out, absorbed: run.absorbed }
    }

    fn context<'c>(&'c self, actor: &'c Actor, now: Timestamp) -> Context<'c> {
        Context {
            now,
            actor,
            ladder: self.ladder,
            next_number: 0,
            new_id: replay_id(),
            matrix_version: Some(self.matrix.version),
        }
    }
}

impl Run<'_, '_> {
    /// Fires the candidate's timers due before `bound` (or at it, with `inclusive`), each at
    /// its exact instant, with the rules they trigger.
    fn fire_until(&mut self, bound: Timestamp, inclusive: bool) {
        let r = self.r;
        loop {
            let Some(case) = &self.case else { return };
            let next = case
                .clocks
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.state.is_final())
                .filter_map(|(i, c)| {
                    let armed = c.next_fire?;
                    match self.retry.get(&(i, c.generation)) {
                        Some((_, tries)) if *tries >= 3 => None,
                        Some((at, _)) => Some((armed.max(*at), i, c.generation)),
                        None => Some((armed, i, c.generation)),
                    }
                })
                .min();
            let Some((at, index, generation)) = next else { return };
            if at > bound || (at == bound && !inclusive) {
                return;
            }
            let (recorded, _) = apply::fire_timer(r.matrix, case, index, generation, &self.around(), at, replay_id);
            if recorded.is_empty() {
                // As the engine does: try again a second later, a few times at most.
                let tries = self.retry.get(&(index, generation)).map_or(0, |(_, n)| *n);
                self.retry.insert((index, generation), (at + SignedDuration::from_secs(1), tries + 1));
                continue;
            }
            self.commit(recorded);
        }
    }

    /// Feeds one recorded write's inputs, adapted to the replayed case, then what follows.
    fn write(&mut self, inputs: &[RecordedEvent], kind: Source) {
        let r = self.r;
        let at = inputs[0].at;
        let actor = inputs[0].actor.clone();
        // Taken out while the write is worked out (inputs are adapted to `work`), put back
        // before the events are folded in.
        let before = self.case.take();
        let mut work = before.clone();
        let mut recorded: Vec<RecordedEvent> = Vec::new();
        if kind == Source::Router {
            // A routing decision stands only where the case waits at the team it chose.
            let keep = inputs.iter().all(|e| match &e.event {
                CaseEvent::Routed(routed) => {
                    work.as_ref().is_some_and(|c| routed.team.is_none_or(|t| c.team == Some(t)))
                }
                CaseEvent::Transferred(t) => work.as_ref().is_some_and(|c| c.team == t.from_team),
                _ => true,
            });
            if !keep {
                self.case = before;
                return;
            }
        }
        for input in inputs {
            let events = match self.adapt(work.as_ref(), input) {
                Some(events) => events,
                None => continue,
            };
            let base = work.as_ref().map_or(0, |c| c.version);
            let case_id = input.case_id;
            for e in record(case_id, base, &r.context(&actor, at), events) {
                work = Some(crate::case::apply(work, &e));
                recorded.push(e);
            }
        }
        if recorded.is_empty() {
            self.case = before;
            return;
        }
        // A command's write runs the rules, then the clocks; the router's only the clocks.
        if kind == Source::Command {
            let repeat_contacts = self.repeat_contacts_for(&recorded);
            apply::follow_up(r.matrix, before.as_ref(), &mut recorded, &self.around(), repeat_contacts, at, replay_id);
        } else {
            let clocks = sla::clock_events(&r.matrix.sla, before.as_ref(), &recorded, self.customer, r.ladder, at);
            recorded.extend(clocks);
        }
        self.case = before;
        self.commit(recorded);
    }

    /// What the rules know of the case besides itself.
    fn around(&self) -> Surroundings<'_> {
        Surroundings { customer: self.customer, teams: self.r.teams, ladder: self.r.ladder }
    }

    /// The repeat-contact count the engine passed with this write: only opening counts.
    fn repeat_contacts_for(&self, recorded: &[RecordedEvent]) -> u32 {
        let opens = recorded.iter().any(|e| matches!(e.event, CaseEvent::Opened(_)));
        if opens && self.customer.is_some() { self.repeat_contacts } else { 0 }
    }

    /// Folds recorded events into the replayed case and keeps them.
    fn commit(&mut self, recorded: Vec<RecordedEvent>) {
        for e in recorded {
            if let CaseEvent::ApprovalRequested(a) = &e.event {
                let mapped: HashSet<u32> = self.approvals.keys().copied().collect();
                if let Some((n, _, _)) = self
                    .recorded_approvals
                    .iter()
                    .find(|(n, action, amount)| !mapped.contains(n) && *action == a.action && *amount == a.amount)
                {
                    self.approvals.insert(*n, a.approval);
                }
            }
            self.case = Some(crate::case::apply(self.case.take(), &e));
            self.out.push(e);
        }
    }

    fn rank(&self, level: &LevelId) -> Option<usize> {
        self.r.ladder.rank(level)
    }

    /// The events one recorded input becomes in the replay, or `None` when it no longer
    /// applies.
    fn adapt(&mut self, case: Option<&Case>, input: &RecordedEvent) -> Option<Vec<CaseEvent>> {
        let Some(case) = case else {
            // Only an opening starts a stream.
            return matches!(input.event, CaseEvent::Opened(_)).then(|| vec![input.event.clone()]);
        };
        let event = match &input.event {
            CaseEvent::Opened(_) => return None,
            CaseEvent::Escalated(e) => {
                let upward = match (self.rank(&e.from_level), self.rank(&e.to_level)) {
                    (Some(from), Some(to)) => to > from,
                    _ => false,
                };
                let reached = match (self.rank(&case.level), self.rank(&e.to_level)) {
                    (Some(now), Some(to)) => now >= to,
                    _ => false,
                };
                if upward && reached {
                    if e.initiator != Initiator::System {
                        self.absorbed += 1;
                    }
                    return None;
                }
                let mut e = e.clone();
                e.from_level = case.level.clone();
                e.from_team = case.team;
                e.from_assignee = case.assignee;
                CaseEvent::Escalated(e)
            }
            CaseEvent::DeEscalated(d) => {
                if let (Some(now), Some(to)) = (self.rank(&case.level), self.rank(&d.to_level))
                    && now <= to
                {
                    return None;
                }
                let mut d = d.clone();
                d.from_level = case.level.clone();
                d.from_team = case.team;
                CaseEvent::DeEscalated(d)
            }
            CaseEvent::Transferred(t) => {
                let mut t = t.clone();
                t.from_team = case.team;
                CaseEvent::Transferred(t)
            }
            CaseEvent::Assigned(a) => {
                if case.assignee == Some(a.assignee) {
                    return None;
                }
                let mut a = a.clone();
                a.previous = case.assignee;
                CaseEvent::Assigned(a)
            }
            CaseEvent::Unassigned(u) => {
                let previous = case.assignee?;
                let mut u = u.clone();
                u.previous = previous;
                CaseEvent::Unassigned(u)
            }
            CaseEvent::ActionApplied(a) if a.approval.is_none() => {
                return self.redecide(case, input, a.action.clone(), a.amount, a.note.clone());
            }
            CaseEvent::ApprovalRequested(a) => {
                return self.redecide(case, input, a.action.clone(), a.amount, a.note.clone());
            }
            CaseEvent::ActionApplied(a) => {
                let n = self.approvals.get(&a.approval?)?;
                let mut a = a.clone();
                a.approval = Some(*n);
                CaseEvent::ActionApplied(a)
            }
            CaseEvent::ApprovalDecided(d) => {
                let n = *self.approvals.get(&d.approval)?;
                // Decided only while the replay's request still waits.
                case.approvals.get(n as usize).filter(|a| a.state == crate::case::ApprovalState::Pending)?;
                let mut d = d.clone();
                d.approval = n;
                CaseEvent::ApprovalDecided(d)
            }
            other => other.clone(),
        };
        Some(vec![event])
    }

    /// An action with an amount, decided again against the candidate's authority limits.
    fn redecide(
        &mut self,
        case: &Case,
        input: &RecordedEvent,
        action: String,
        amount: f64,
        note: Option<String>,
    ) -> Option<Vec<CaseEvent>> {
        let r = self.r;
        let (role, name) = match &input.actor {
            Actor::User { id } => r.users.get(id).cloned().unwrap_or((Role::Agent, String::new())),
            _ => (Role::Agent, String::new()),
        };
        let command = ApplyAction::resolve(Some(r.matrix.compiled.matrix()), role, &name, action, amount, note);
        decide(Some(case), &CaseCommand::ApplyAction(command), &r.context(&input.actor, input.at)).ok()
    }
}

/// What happened (or would have), counted one way for both columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Figures {
    /// Cases that reached this level or team (for the totals: all cases).
    pub cases: u64,
    /// Escalations into it, by anyone.
    pub escalations: u64,
    /// Of which asked for by agents or customers.
    pub escalations_by_people: u64,
    /// Of which made by the matrix (rules, breaches).
    pub escalations_by_rules: u64,
    pub de_escalations: u64,
    /// Clocks breached while the case was here.
    pub breaches: u64,
    /// At-risk warnings while the case was here.
    pub warnings: u64,
    /// Approval requests filed while the case was here.
    pub approvals: u64,
    /// Actions (credits, refunds) applied within someone's limit or after approval.
    pub actions_applied: u64,
    pub notifications: u64,
    pub resolved: u64,
    /// Time the case spent here while active (not resolved or closed), in seconds: the load.
    pub held_seconds: i64,
}

impl Figures {
    fn add(&mut self, o: &Figures) {
        self.cases += o.cases;
        self.escalations += o.escalations;
        self.escalations_by_people += o.escalations_by_people;
        self.escalations_by_rules += o.escalations_by_rules;
        self.de_escalations += o.de_escalations;
        self.breaches += o.breaches;
        self.warnings += o.warnings;
        self.approvals += o.approvals;
        self.actions_applied += o.actions_applied;
        self.notifications += o.notifications;
        self.resolved += o.resolved;
        self.held_seconds += o.held_seconds;
    }
}

/// Figures of a set of streams, in total, per level, per team and per rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub totals: Figures,
    pub levels: BTreeMap<String, Figures>,
    pub teams: BTreeMap<String, Figures>,
    /// Actions each rule took (escalations, routes, notifications, approval requests, failures).
    pub rules: BTreeMap<String, u64>,
}

impl Tally {
    pub fn merge(&mut self, o: &Tally) {
        self.totals.add(&o.totals);
        for (k, v) in &o.levels {
            self.levels.entry(k.clone()).or_default().add(v);
        }
        for (k, v) in &o.teams {
            self.teams.entry(k.clone()).or_default().add(v);
        }
        for (k, v) in &o.rules {
            *self.rules.entry(k.clone()).or_default() += v;
        }
    }

    /// Counts one case's stream up to `until`. `team_names` names teams by id.
    pub fn of_case(events: &[RecordedEvent], team_names: &HashMap<TeamId, String>, until: Timestamp) -> Tally {
        let mut t = Tally::default();
        let team_key = |id: Option<TeamId>| match id {
            Some(id) => team_names.get(&id).cloned().unwrap_or_else(|| id.to_string()),
            None => "(no team)".to_string(),
        };
        let mut level: Option<LevelId> = None;
        let mut team: Option<TeamId> = None;
        let mut since: Option<Timestamp> = None;
        let mut seen_levels: HashSet<String> = HashSet::new();
        let mut seen_teams: HashSet<String> = HashSet::new();
        // Time held at the current stop, while active.
        let close =
            |t: &mut Tally, level: &Option<LevelId>, team: Option<TeamId>, since: Option<Timestamp>, at: Timestamp| {
                if let (Some(l), Some(s)) = (level, since) {
                    let secs = at.duration_since(s).as_secs().max(0);
                    t.levels.entry(l.to_string()).or_default().held_seconds += secs;
                    t.teams.entry(team_key(team)).or_default().held_seconds += secs;
                    t.totals.held_seconds += secs;
                }
            };
        for e in events.iter().filter(|e| e.at <= until) {
            let here = |t: &mut Tally, f: &dyn Fn(&mut Figures)| {
                f(&mut t.totals);
                if let Some(l) = &level {
                    f(t.levels.entry(l.to_string()).or_default());
                }
                f(t.teams.entry(team_key(team)).or_default());
            };
            let moved_to = match &e.event {
                CaseEvent::Opened(o) => {
                    t.totals.cases += 1;
                    since = Some(e.at);
                    Some((o.level.clone(), o.team))
                }
                CaseEvent::Escalated(x) => {
                    let by_rules = x.initiator == Initiator::System;
                    let count = |f: &mut Figures| {
                        f.escalations += 1;
                        if by_rules {
                            f.escalations_by_rules += 1;
                        } else {
                            f.escalations_by_people += 1;
                        }
                    };
                    count(&mut t.totals);
                    count(t.levels.entry(x.to_level.to_string()).or_default());
                    count(t.teams.entry(team_key(x.to_team)).or_default());
                    if let Some(r) = rule_of(&x.reason, &e.actor) {
                        *t.rules.entry(r).or_default() += 1;
                    }
                    Some((x.to_level.clone(), x.to_team))
                }
                CaseEvent::DeEscalated(x) => {
                    t.totals.de_escalations += 1;
                    t.levels.entry(x.to_level.to_string()).or_default().de_escalations += 1;
                    t.teams.entry(team_key(x.to_team)).or_default().de_escalations += 1;
                    Some((x.to_level.clone(), x.to_team))
                }
                CaseEvent::Transferred(x) => {
                    if let Some(r) = rule_of(&x.reason, &e.actor) {
                        *t.rules.entry(r).or_default() += 1;
                    }
                    level.clone().map(|l| (l, Some(x.to_team)))
                }
                CaseEvent::ClockBreached(_) => {
                    here(&mut t, &|f| f.breaches += 1);
                    None
                }
                CaseEvent::ClockAtRisk(_) => {
                    here(&mut t, &|f| f.warnings += 1);
                    None
                }
                CaseEvent::ApprovalRequested(a) => {
                    here(&mut t, &|f| f.approvals += 1);
                    if let Some(r) = a.note.as_deref().and_then(|n| rule_of(n, &e.actor)) {
                        *t.rules.entry(r).or_default() += 1;
                    }
                    None
                }
                CaseEvent::ActionApplied(_) => {
                    here(&mut t, &|f| f.actions_applied += 1);
                    None
                }
                CaseEvent::NotificationRequested(n) => {
                    here(&mut t, &|f| f.notifications += 1);
                    *t.rules.entry(n.rule.clone()).or_default() += 1;
                    None
                }
                CaseEvent::RuleFailed(f) => {
                    *t.rules.entry(format!("{} (failed)", f.rule)).or_default() += 1;
                    None
                }
                CaseEvent::Resolved(_) => {
                    here(&mut t, &|f| f.resolved += 1);
                    close(&mut t, &level, team, since, e.at);
                    since = None;
                    None
                }
                CaseEvent::Closed(_) => {
                    close(&mut t, &level, team, since, e.at);
                    since = None;
                    None
                }
                CaseEvent::Reopened(_) => {
                    since = Some(e.at);
                    None
                }
                _ => None,
            };
            if let Some((to_level, to_team)) = moved_to {
                if !matches!(e.event, CaseEvent::Opened(_)) {
                    close(&mut t, &level, team, since, e.at);
                    if since.is_some() {
                        since = Some(e.at);
                    }
                }
                if seen_levels.insert(to_level.to_string()) {
                    t.levels.entry(to_level.to_string()).or_default().cases += 1;
                }
                if seen_teams.insert(team_key(to_team)) {
                    t.teams.entry(team_key(to_team)).or_default().cases += 1;
                }
                level = Some(to_level);
                team = to_team;
            }
        }
        close(&mut t, &level, team, since, until);
        t
    }
}

/// The rule a matrix-made event names in its reason (`rule "NAME"`).
fn rule_of(reason: &str, actor: &Actor) -> Option<String> {
    if !matches!(actor, Actor::System { name } if name == MATRIX_ACTOR) {
        return None;
    }
    let rest = reason.strip_prefix("rule \"")?;
    Some(rest.split('"').next()?.to_string())
}

/// Whether two streams hold the same events (the matrix version they name aside: the
/// candidate is never the version that recorded the history).
fn same_stream(a: &[RecordedEvent], b: &[RecordedEvent]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.version == y.version && x.at == y.at && x.actor == y.actor && x.event == y.event)
}

/// One row of the report: what happened and what the candidate predicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Compared {
    pub name: String,
    pub actual: Figures,
    pub predicted: Figures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct RuleActivity {
    pub rule: String,
    pub actual: u64,
    pub predicted: u64,
}

/// The simulator's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct SimulationReport {
    /// The candidate matrix's name.
    pub matrix: String,
    /// Cases opened in `[from, to)` were replayed; timers fired up to `until`.
    #[cfg_attr(feature = "schema", schema(value_type = String))]
    pub from: Timestamp,
    #[cfg_attr(feature = "schema", schema(value_type = String))]
    pub to: Timestamp,
    #[cfg_attr(feature = "schema", schema(value_type = String))]
    pub until: Timestamp,
    pub cases: u64,
    /// Cases whose replayed stream differs from the recorded one.
    pub cases_changed: u64,
    /// Escalations asked for by people that the candidate made before them.
    pub escalations_absorbed: u64,
    pub totals: Compared,
    pub levels: Vec<Compared>,
    pub teams: Vec<Compared>,
    pub rules: Vec<RuleActivity>,
}

/// Actual and predicted tallies of a set of cases.
#[derive(Debug, Clone, Default)]
pub struct SimTotals {
    pub cases: u64,
    pub changed: u64,
    pub absorbed: u64,
    pub actual: Tally,
    pub predicted: Tally,
}

impl SimTotals {
    pub fn merge(&mut self, o: &SimTotals) {
        self.cases += o.cases;
        self.changed += o.changed;
        self.absorbed += o.absorbed;
        self.actual.merge(&o.actual);
        self.predicted.merge(&o.predicted);
    }

    /// Replays a batch of cases and counts both columns.
    pub fn of(replay: &Replay, histories: &[CaseHistory], team_names: &HashMap<TeamId, String>) -> SimTotals {
        let mut s = SimTotals::default();
        for h in histories {
            let replayed = replay.case(h);
            s.cases += 1;
            s.absorbed += replayed.absorbed;
            // Streams are in time order: what was recorded up to `until` is a prefix.
            let recorded = &h.events[..h.events.iter().take_while(|e| e.at <= replay.until).count()];
            if !same_stream(&replayed.events, recorded) {
                s.changed += 1;
            }
            s.actual.merge(&Tally::of_case(recorded, team_names, replay.until));
            s.predicted.merge(&Tally::of_case(&replayed.events, team_names, replay.until));
        }
        s
    }

    /// The report of these totals, for the candidate `matrix` over `[from, to)` up to `until`.
    pub fn report(self, matrix: String, from: Timestamp, to: Timestamp, until: Timestamp) -> SimulationReport {
        let compare = |a: &BTreeMap<String, Figures>, p: &BTreeMap<String, Figures>| {
            let names: std::collections::BTreeSet<&String> = a.keys().chain(p.keys()).collect();
            names
                .into_iter()
                .map(|n| Compared {
                    name: n.clone(),
                    actual: a.get(n).cloned().unwrap_or_default(),
                    predicted: p.get(n).cloned().unwrap_or_default(),
                })
                .collect::<Vec<_>>()
        };
        let rule_names: std::collections::BTreeSet<&String> =
            self.actual.rules.keys().chain(self.predicted.rules.keys()).collect();
        SimulationReport {
            matrix,
            from,
            to,
            until,
            cases: self.cases,
            cases_changed: self.changed,
            escalations_absorbed: self.absorbed,
            totals: Compared {
                name: "all".into(),
                actual: self.actual.totals.clone(),
                predicted: self.predicted.totals.clone(),
            },
            levels: compare(&self.actual.levels, &self.predicted.levels),
            teams: compare(&self.actual.teams, &self.predicted.teams),
            rules: rule_names
                .into_iter()
                .map(|r| RuleActivity {
                    rule: r.clone(),
                    actual: self.actual.rules.get(r).copied().unwrap_or(0),
                    predicted: self.predicted.rules.get(r).copied().unwrap_or(0),
                })
                .collect(),
        }
    }
}
