//! An incident policy run: who is paged, when, and when it stops.
//!
//! A run follows one of the matrix's `incident_policies`: it pages the first step's
//! recipients when the incident triggers and waits that step's `ack_timeout`; with no
//! acknowledgement by then it pages the next step, and after the last step starts again
//! from `restart_from` (the first step by default) as many more times as the policy's
//! `repeat` allows, after which it is exhausted and pages no more until someone acts.
//! Acknowledging stops the paging; un-acknowledging resumes it at the step it stopped on;
//! escalating by hand jumps to a chosen step; resolving ends the run.
//!
//! Like an SLA clock, the run is a pure state machine: the caller passes `now` and stores
//! the timer the answer asks for. Every timer carries the run's generation, and a timeout of
//! any other generation changes nothing, so a timer that fires twice, or after the run moved
//! on, pages nobody twice.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::matrix::{IncidentPolicy, NotifyChannel, Recipient};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Paging: the current step's recipients were paged and the run waits for an
    /// acknowledgement until `timeout_at`.
    Paging,
    /// Someone acknowledged: nobody else is paged.
    Acknowledged,
    /// Every step was paged `repeat + 1` times without an acknowledgement.
    Exhausted,
    /// The incident is resolved.
    Resolved,
}

/// A policy run's state, stored with the incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRun {
    pub state: RunState,
    /// The step paged last (0-based).
    pub step: usize,
    /// How many times the steps have started over (0 on the first pass).
    pub round: u32,
    /// Bumped at every change; a timeout counts only for the generation it was armed with.
    pub generation: u64,
    /// When the current step gives up waiting (while paging).
    pub timeout_at: Option<Timestamp>,
}

/// What may happen to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A step's wait ran out: the timer armed with this generation fired.
    Timeout {
        generation: u64,
    },
    Acknowledge,
    /// Resume paging at the step the run stopped on.
    Unacknowledge,
    /// Page a chosen step now (by hand, or the repeat's restart point).
    EscalateTo {
        step: usize,
    },
    Resolve,
}

/// One page: a step's recipients on its channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub step: usize,
    pub round: u32,
    pub recipients: Vec<Recipient>,
    /// Email when the step names none.
    pub channels: Vec<NotifyChannel>,
}

/// What an input did: the run afterwards, the pages to send, and whether the run's timer
/// must be (re)armed (`run.timeout_at`) or cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub run: PolicyRun,
    pub pages: Vec<Page>,
}

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("the incident is resolved")]
    Resolved,
    #[error("the incident is already acknowledged")]
    AlreadyAcknowledged,
    #[error("the incident is not acknowledged")]
    NotAcknowledged,
    #[error("the policy has no step {step}: it has {steps}")]
    NoSuchStep { step: usize, steps: usize },
    #[error("the policy has no steps")]
    NoSteps,
}

/// How a policy is run: the matrix's policy and the step each repeat starts from.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    pub policy: &'a IncidentPolicy,
    /// The step each repeat starts from (0: the first).
    pub restart_from: usize,
}

impl<'a> Plan<'a> {
    pub fn new(policy: &'a IncidentPolicy) -> Plan<'a> {
        Plan { policy, restart_from: 0 }
    }

    /// The run of an incident that triggers at `now`: the first step paged.
    pub fn trigger(&self, now: Timestamp) -> Result<Transition, RunError> {
        if self.policy.steps.is_empty() {
            return Err(RunError::NoSteps);
        }
        let run = PolicyRun { state: RunState::Paging, step: 0, round: 0, generation: 0, timeout_at: None };
        Ok(self.page(run, 0, 0, now))
    }

    /// Applies `input` at `now`. A timeout of another generation, or one that arrives when
    /// the run is not paging, is no change (an empty transition with the run as it was).
    pub fn advance(&self, run: PolicyRun, input: Input, now: Timestamp) -> Result<Transition, RunError> {
        let steps = self.policy.steps.len();
        if steps == 0 {
            return Err(RunError::NoSteps);
        }
        if run.state == RunState::Resolved {
            return match input {
                Input::Timeout { .. } => Ok(unchanged(run)),
                _ => Err(RunError::Resolved),
            };
        }
        match input {
            Input::Timeout { generation } => {
                if generation != run.generation || run.state != RunState::Paging {
                    return Ok(unchanged(run));
                }
                if run.step + 1 < steps {
                    Ok(self.page(run, run.step + 1, run.round, now))
                } else if run.round < self.policy.repeat {
                    Ok(self.page(run, self.restart_from.min(steps - 1), run.round + 1, now))
                } else {
                    Ok(Transition { run: settle(run, RunState::Exhausted), pages: Vec::new() })
                }
            }
            Input::Acknowledge => match run.state {
                RunState::Acknowledged => Err(RunError::AlreadyAcknowledged),
                _ => Ok(Transition { run: settle(run, RunState::Acknowledged), pages: Vec::new() }),
            },
            Input::Unacknowledge => match run.state {
                RunState::Acknowledged => Ok(self.page(run, run.step, run.round, now)),
                _ => Err(RunError::NotAcknowledged),
            },
            Input::EscalateTo { step } => {
                if step >= steps {
                    return Err(RunError::NoSuchStep { step, steps });
                }
                Ok(self.page(run, step, run.round, now))
            }
            Input::Resolve => Ok(Transition { run: settle(run, RunState::Resolved), pages: Vec::new() }),
        }
    }

    /// Pages `step` at `now` and waits its `ack_timeout`.
    fn page(&self, run: PolicyRun, step: usize, round: u32, now: Timestamp) -> Transition {
        let s = &self.policy.steps[step];
        let channels = if s.channels.is_empty() { vec![NotifyChannel::default()] } else { s.channels.clone() };
        // An instant near the end of time waits until the end of time rather than wrapping.
        let timeout_at = now.checked_add(s.ack_timeout).unwrap_or(Timestamp::MAX);
        Transition {
            run: PolicyRun {
                state: RunState::Paging,
                step,
                round,
                generation: run.generation + 1,
                timeout_at: Some(timeout_at),
            },
            pages: vec![Page { step, round, recipients: s.notify.clone(), channels }],
        }
    }
}

fn settle(run: PolicyRun, state: RunState) -> PolicyRun {
    PolicyRun { state, generation: run.generation + 1, timeout_at: None, ..run }
}

fn unchanged(run: PolicyRun) -> Transition {
    Transition { run, pages: Vec::new() }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;
    use crate::matrix::{IncidentSeverity, IncidentStep};

    fn policy(repeat: u32) -> IncidentPolicy {
        let step = |who: &str, mins: i64| IncidentStep {
            notify: vec![Recipient::parse(who).unwrap()],
            channels: vec![NotifyChannel::Sms],
            ack_timeout: SignedDuration::from_mins(mins),
        };
        IncidentPolicy {
            id: "sev1".into(),
            name: "sev1".into(),
            severity: IncidentSeverity::Sev1,
            steps: vec![step("on_call:tech", 5), step("role:supervisor", 10), step("role:manager", 15)],
            repeat,
        }
    }

    fn at(min: i64) -> Timestamp {
        "2026-01-05T09:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(min)
    }

    /// Lets every timeout fire when due, from `start` until `until` minutes, recording who
    /// was paged when.
    fn run_unattended(plan: &Plan, until: i64) -> (PolicyRun, Vec<(i64, usize, u32)>) {
        let t = plan.trigger(at(0)).unwrap();
        let mut paged = vec![(0, t.pages[0].step, t.pages[0].round)];
        let mut run = t.run;
        while let Some(due) = run.timeout_at {
            let minute = due.duration_since(at(0)).as_mins();
            if minute > until {
                break;
            }
            let t = plan.advance(run, Input::Timeout { generation: run.generation }, due).unwrap();
            paged.extend(t.pages.iter().map(|p| (minute, p.step, p.round)));
            run = t.run;
        }
        (run, paged)
    }

    #[test]
    fn nobody_acknowledges_each_step_is_paged_after_the_previous_waits_then_the_run_is_exhausted() {
        let p = policy(0);
        let (run, paged) = run_unattended(&Plan::new(&p), 1_000);
        assert_eq!(paged, vec![(0, 0, 0), (5, 1, 0), (15, 2, 0)]);
        assert_eq!(run.state, RunState::Exhausted);
        assert_eq!(run.timeout_at, None);
    }

    #[test]
    fn repeat_starts_the_steps_over_and_restart_from_chooses_where() {
        let p = policy(2);
        let (_, paged) = run_unattended(&Plan::new(&p), 1_000);
        assert_eq!(paged.len(), 9, "three steps, three passes: {paged:?}");
        assert_eq!(&paged[3..5], &[(30, 0, 1), (35, 1, 1)]);
        let plan = Plan { policy: &p, restart_from: 1 };
        let (run, paged) = run_unattended(&plan, 1_000);
        assert_eq!(paged, vec![(0, 0, 0), (5, 1, 0), (15, 2, 0), (30, 1, 1), (40, 2, 1), (55, 1, 2), (65, 2, 2)]);
        assert_eq!(run.state, RunState::Exhausted);
    }

    #[test]
    fn acknowledging_at_any_step_stops_the_paging_and_a_late_timer_pages_nobody() {
        let p = policy(1);
        let plan = Plan::new(&p);
        for ack_after in 0..3 {
            let mut t = plan.trigger(at(0)).unwrap();
            for _ in 0..ack_after {
                t = plan
                    .advance(t.run, Input::Timeout { generation: t.run.generation }, t.run.timeout_at.unwrap())
                    .unwrap();
            }
            let armed = t.run.generation;
            let acked = plan.advance(t.run, Input::Acknowledge, at(1)).unwrap();
            assert_eq!(acked.run.state, RunState::Acknowledged);
            assert_eq!(acked.run.step, ack_after);
            assert!(acked.pages.is_empty() && acked.run.timeout_at.is_none());
            let late = plan.advance(acked.run, Input::Timeout { generation: armed }, at(100)).unwrap();
            assert_eq!(late.run, acked.run);
            assert!(late.pages.is_empty());
        }
    }

    #[test]
    fn a_timer_that_fires_twice_pages_the_next_step_once() {
        let p = policy(0);
        let plan = Plan::new(&p);
        let t = plan.trigger(at(0)).unwrap();
        let fire = Input::Timeout { generation: t.run.generation };
        let first = plan.advance(t.run, fire, at(5)).unwrap();
        assert_eq!(first.pages.len(), 1);
        let again = plan.advance(first.run, fire, at(5)).unwrap();
        assert!(again.pages.is_empty());
        assert_eq!(again.run, first.run);
    }

    #[test]
    fn unacknowledging_resumes_at_the_step_it_stopped_on_with_a_fresh_wait() {
        let p = policy(0);
        let plan = Plan::new(&p);
        let t = plan.trigger(at(0)).unwrap();
        let t = plan.advance(t.run, Input::Timeout { generation: t.run.generation }, at(5)).unwrap();
        let acked = plan.advance(t.run, Input::Acknowledge, at(7)).unwrap();
        assert_eq!(plan.advance(acked.run, Input::Acknowledge, at(8)), Err(RunError::AlreadyAcknowledged));
        let resumed = plan.advance(acked.run, Input::Unacknowledge, at(20)).unwrap();
        assert_eq!(resumed.run.state, RunState::Paging);
        assert_eq!(resumed.pages[0].step, 1);
        assert_eq!(resumed.pages[0].recipients, vec![Recipient::parse("role:supervisor").unwrap()]);
        assert_eq!(resumed.run.timeout_at, Some(at(30)));
        assert_eq!(plan.advance(resumed.run, Input::Unacknowledge, at(21)), Err(RunError::NotAcknowledged));
    }

    #[test]
    fn escalating_by_hand_pages_the_chosen_step_and_resolving_ends_the_run() {
        let p = policy(0);
        let plan = Plan::new(&p);
        let t = plan.trigger(at(0)).unwrap();
        let jumped = plan.advance(t.run, Input::EscalateTo { step: 2 }, at(1)).unwrap();
        assert_eq!((jumped.pages[0].step, jumped.run.timeout_at), (2, Some(at(16))));
        assert_eq!(
            plan.advance(t.run, Input::EscalateTo { step: 3 }, at(1)),
            Err(RunError::NoSuchStep { step: 3, steps: 3 })
        );
        let done = plan.advance(jumped.run, Input::Resolve, at(2)).unwrap();
        assert_eq!((done.run.state, done.run.timeout_at), (RunState::Resolved, None));
        assert_eq!(plan.advance(done.run, Input::Acknowledge, at(3)), Err(RunError::Resolved));
        let late = plan.advance(done.run, Input::Timeout { generation: jumped.run.generation }, at(16)).unwrap();
        assert!(late.pages.is_empty());
    }

    #[test]
    fn a_step_without_channels_pages_by_email_and_a_policy_without_steps_is_refused() {
        let mut p = policy(0);
        p.steps[0].channels.clear();
        let t = Plan::new(&p).trigger(at(0)).unwrap();
        assert_eq!(t.pages[0].channels, vec![NotifyChannel::Email]);
        p.steps.clear();
        assert_eq!(Plan::new(&p).trigger(at(0)), Err(RunError::NoSteps));
    }
}
