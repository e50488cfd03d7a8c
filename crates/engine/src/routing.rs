//! Routing at work: after a case is opened, escalated, de-escalated or transferred to a
//! team without a person, the router picks the team's best eligible agent
//! ([`ladder_core::routing::choose`]) and assigns the case, recording the decision with
//! every candidate's score (a `routed` event). When nobody is eligible the case waits in the
//! team's queue, ordered by [`ladder_core::routing::queue_rank`]; agents take the next one
//! with [`Engine::claim_next`], which picks and assigns inside one write so two agents never
//! get the same case.

use std::collections::HashSet;

use jiff::Timestamp;
use ladder_core::access::{CaseScope, Principal};
use ladder_core::case::{Actor, Case};
use ladder_core::command::{Assign, CaseCommand};
use ladder_core::directory::{Customer, Ladder, Role};
use ladder_core::event::{CaseEvent, EscalationKind, Initiator, RecordedEvent, Routed};
use ladder_core::ids::TeamId;
use ladder_core::matrix::ActiveMatrix;
use ladder_core::routing::{self, Candidate, ROUTER_ACTOR, RouteNeeds};
use ladder_core::sla;
use ladder_core::{Context, decide, record};
use ladder_store::{CaseFilter, CaseOutcome, PageRequest, StoreError};

use crate::Engine;

/// Whether these events move the case to a team in a way that calls for routing, and
/// whether a supervisor is needed (the customer asked for one).
pub(crate) fn routing_cause(events: &[RecordedEvent]) -> Option<bool> {
    let mut cause = None;
    for e in events {
        match &e.event {
            CaseEvent::Opened(_) | CaseEvent::Transferred(_) | CaseEvent::DeEscalated(_) => cause = Some(false),
            CaseEvent::Escalated(x) => {
                cause = Some(x.initiator == Initiator::Customer && x.kind == EscalationKind::Hierarchical)
            }
            _ => {}
        }
    }
    cause
}

/// What the router records on a case that still waits unassigned at `team` (nothing when
/// it moved meanwhile): the events `make` decides in the router's context, then the clock
/// changes they call for under the matrix in force.
fn router_write(
    current: Option<&Case>,
    team: TeamId,
    active: Option<&ActiveMatrix>,
    customer: Option<&Customer>,
    ladder: &Ladder,
    now: Timestamp,
    make: impl FnOnce(&Case, &Context) -> Result<Vec<CaseEvent>, StoreError>,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let Some(current) = current else { return Ok(Vec::new()) };
    if !routing::is_queued(current) || current.team != Some(team) {
        return Ok(Vec::new());
    }
    let actor = Actor::System { name: ROUTER_ACTOR.into() };
    let cx = crate::write_context(&actor, ladder, active.map(|a| a.version), now);
    let events = make(current, &cx)?;
    let mut recorded = record(current.id, current.version, &cx, events);
    if let Some(active) = active {
        recorded.extend(sla::clock_events(&active.sla, Some(current), &recorded, customer, ladder, now));
    }
    Ok(recorded)
}

impl Engine {
    /// Routes a case that waits unassigned at a team: picks the best eligible agent and
    /// assigns it, recording the decision. With nobody eligible the case stays queued; the
    /// decision is recorded only when some agent was available (so the history says why
    /// they were passed over). `supervisor`: only supervisors and above are eligible.
    /// Returns the new state when something was recorded.
    /// `case` is the state the caller has just written or read; the write re-checks it.
    pub async fn route_case(&self, case: &Case, supervisor: bool, now: Timestamp) -> Result<Option<Case>, StoreError> {
        let id = case.id;
        let Some(team_id) = case.team.filter(|_| routing::is_queued(case)) else { return Ok(None) };
        if !self.store.team_has_available_agent(team_id).await? {
            return Ok(None);
        }
        let Some(team) = self.store.team(team_id).await? else { return Ok(None) };
        let agents = self.store.team_agents(team_id).await?;
        if !agents.iter().any(|(_, p)| p.presence.takes_new_work()) {
            return Ok(None);
        }
        let loads = self.store.agent_loads(agents.iter().map(|(u, _)| u.id).collect()).await?;
        let customer = match case.customer {
            Some(c) => self.store.customer(c).await?,
            None => None,
        };
        let handled_before = self.previous_handlers(case).await?;
        let needs = RouteNeeds {
            skill: case.category.clone().filter(|c| team.skills.contains(c)),
            language: customer.as_ref().and_then(|c| c.language.clone()),
            min_role: supervisor.then_some(Role::Supervisor),
        };
        let candidates: Vec<Candidate> = agents
            .iter()
            .map(|(user, profile)| Candidate {
                user_id: user.id,
                name: user.name.clone(),
                role: user.role,
                available: profile.presence.takes_new_work(),
                presence_since: profile.presence_since,
                skills: profile.skills.clone(),
                languages: profile.languages.clone(),
                capacity: profile.capacity_for(case.channel),
                load: loads.get(&user.id).map_or(0, |l| l.on(case.channel)),
                handled_customer_before: handled_before.contains(&user.id),
            })
            .collect();
        let decision = routing::choose(&needs, &candidates);
        let chosen = match decision.chosen {
            Some(id) => match agents.iter().find(|(u, _)| u.id == id) {
                Some((u, _)) => Some(self.user_ref(u).await?),
                None => None,
            },
            None => None,
        };
        let active = self.active_matrix();
        let ladder = self.ladder();
        let decide_fn = move |current: Option<&Case>, _next: u64| {
            router_write(current, team_id, active.as_deref(), customer.as_ref(), &ladder, now, |current, cx| {
                let mut events = vec![CaseEvent::Routed(Routed {
                    team: Some(team_id),
                    to_user: chosen.as_ref().map(|u| u.id),
                    reason: decision.reason.clone(),
                    candidates: decision.candidates.clone(),
                    others: decision.others.clone(),
                })];
                if let Some(user) = &chosen {
                    let assign = CaseCommand::Assign(Assign { assignee: Some(user.clone()) });
                    events.extend(decide(Some(current), &assign, cx).map_err(StoreError::Domain)?);
                }
                Ok(events)
            })
        };
        let outcome = self.system_write(id, crate::decided(decide_fn)).await?;
        Ok((!outcome.events.is_empty()).then_some(outcome.case))
    }

    /// Who worked the customer's most recent other case (for continuity).
    async fn previous_handlers(&self, case: &Case) -> Result<HashSet<ladder_core::ids::UserId>, StoreError> {
        let Some(customer) = case.customer else { return Ok(HashSet::new()) };
        let filter = CaseFilter { customer: Some(customer), ..Default::default() };
        let page = self.store.list_cases(filter, CaseScope::All, PageRequest { before: None, limit: 5 }).await?;
        Ok(page
            .cases
            .into_iter()
            .find(|c| c.id != case.id)
            .map(|c| c.worked_by.into_iter().collect())
            .unwrap_or_default())
    }

    /// Hands the first case of `team`'s queue to the caller, atomically; only a member of
    /// the team takes from its queue. `None` when the queue is empty.
    pub async fn claim_next(
        &self,
        principal: &Principal,
        team: TeamId,
        now: Timestamp,
    ) -> Result<Option<CaseOutcome>, StoreError> {
        self.check(principal, &ladder_core::access::Action::TakeFromQueue { team })?;
        let user = self
            .store
            .user(principal.user_id)
            .await?
            .ok_or_else(|| StoreError::Forbidden("your user no longer exists".into()))?;
        let me = self.user_ref(&user).await?;
        let write = crate::commands::UserCommand {
            principal: principal.clone(),
            command: CaseCommand::Assign(Assign { assignee: Some(me) }),
            ladder: self.ladder(),
            active: self.active_matrix(),
            teams: self.team_refs().await?,
            risk: None,
            now,
        };
        let claim = move |case: &Case, customer: Option<&Customer>| write.apply(case.id, Some(case), 0, customer, 0);
        let outcome = self.store.claim_next(team, now, Box::new(claim)).await?;
        if let Some(outcome) = &outcome {
            self.after_write(outcome);
        }
        Ok(outcome)
    }
}

impl Engine {
    /// Queue overflow, per the matrix's `[[queues]]`: every case that has waited unassigned
    /// in a team's queue for longer than `after` is transferred to the overflow team (as the
    /// router, with the wait as the reason) and offered to its agents. Returns how many
    /// cases moved. Cost grows with the cases that overflow, not with the queue.
    pub async fn overflow_queues(&self, now: Timestamp) -> Result<usize, StoreError> {
        let Some(active) = self.active_matrix() else { return Ok(0) };
        let mut moved = 0;
        for spec in &active.compiled.matrix().queues {
            let (Some(from), Some(to)) = (
                self.store.team_by_slug(spec.team.clone()).await?,
                self.store.team_by_slug(spec.overflow_to.clone()).await?,
            ) else {
                continue;
            };
            let since = now - spec.after;
            for case in self.store.queued_since(from.id, since, 500).await? {
                let to_team = crate::commands::team_ref(&to);
                let reason = format!(
                    "waited more than {} in the queue of {}",
                    ladder_core::matrix::model::format_duration(spec.after),
                    from.slug
                );
                let customer = match case.customer {
                    Some(id) => self.store.customer(id).await?,
                    None => None,
                };
                let (active, ladder, from_id) = (active.clone(), self.ladder(), from.id);
                let decide_fn = move |current: Option<&Case>, _next: u64| {
                    router_write(current, from_id, Some(&active), customer.as_ref(), &ladder, now, |current, cx| {
                        let transfer =
                            CaseCommand::Transfer(ladder_core::command::Transfer { to_team, to_user: None, reason });
                        decide(Some(current), &transfer, cx).map_err(StoreError::Domain)
                    })
                };
                let outcome = self.system_write(case.id, crate::decided(decide_fn)).await?;
                if outcome.events.is_empty() {
                    continue;
                }
                moved += 1;
                self.route_case(&outcome.case, false, now).await?;
            }
        }
        Ok(moved)
    }
}
