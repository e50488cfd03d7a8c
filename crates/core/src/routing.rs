//! Routing and prioritisation, as pure functions of data.
//!
//! - [`priority_factors`]: how urgent a case is for the queue — its priority, the
//!   customer's value and segment, repeat contacts and the mood of the customer's last
//!   message ([`crate::sentiment`]) — as points that add up to a score.
//! - [`queue_rank`]: the order a team works its queue in. Each case gets a *virtual
//!   deadline*: its earliest SLA due instant (or, without one, a default horizon after it
//!   was opened), brought forward six minutes per point of score. Sorting by it mixes "how
//!   important" with "how soon": a VIP's case may pass a plain one due a little earlier, but
//!   never one due hours earlier. It changes only when the case changes, so it can be
//!   indexed, and taking the next case is an index probe.
//! - [`choose`]: which agent of a team takes a case, from their presence, capacity on the
//!   case's channel, skill and proficiency, language and history with the customer. Every
//!   candidate is scored and kept with the reason, so "why did this go to Ana?" has an
//!   answer.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::case::{Case, Priority, Status};
use crate::directory::{Customer, Role};
use crate::ids::UserId;

/// The name routing decisions (and the router's transfers on queue overflow) carry as their actor.
pub const ROUTER_ACTOR: &str = "router";

/// The points a case scores for the queue, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityFactors {
    /// low 0, normal 10, high 25, urgent 40.
    pub urgency: u32,
    /// 4 points per tenfold of the customer's lifetime value, at most 20 (10,000 → 16).
    pub value: u32,
    /// vip 15, business 5.
    pub segment: u32,
    /// 5 per other case the customer opened in the last 7 days, at most 15.
    pub repeat: u32,
    /// An unhappy last message (or opening): 5, or 10 when angry ([`crate::sentiment::mood`]).
    pub sentiment: u32,
}

impl PriorityFactors {
    pub fn total(&self) -> u32 {
        self.urgency + self.value + self.segment + self.repeat + self.sentiment
    }
}

/// The priority points of a case; `repeat_contacts` counts the customer's cases of the last
/// 7 days, this one included.
pub fn priority_factors(case: &Case, customer: Option<&Customer>, repeat_contacts: u32) -> PriorityFactors {
    let urgency = match case.priority {
        Priority::Low => 0,
        Priority::Normal => 10,
        Priority::High => 25,
        Priority::Urgent => 40,
    };
    let value = customer.map_or(0, |c| ((c.value.max(0.0) + 1.0).log10() * 4.0).floor().clamp(0.0, 20.0) as u32);
    let segment = match customer.and_then(|c| c.segment.as_deref()) {
        Some("vip") => 15,
        Some("business") => 5,
        _ => 0,
    };
    let repeat = (repeat_contacts.saturating_sub(1) * 5).min(15);
    let sentiment = match case.customer_sentiment() {
        Some(s) if s <= -2 => 10,
        Some(-1) => 5,
        _ => 0,
    };
    PriorityFactors { urgency, value, segment, repeat, sentiment }
}

/// Without an SLA due instant, a case's virtual deadline starts this long after it opened.
pub const DEFAULT_HORIZON: SignedDuration = SignedDuration::from_hours(4);

/// How far forward one point of score brings a case's virtual deadline.
pub const PER_POINT: SignedDuration = SignedDuration::from_mins(6);

/// Whether the case waits in its team's queue: active, workable (new or open), owned by a
/// team and by nobody in it.
pub fn is_queued(case: &Case) -> bool {
    matches!(case.status, Status::New | Status::Open) && case.assignee.is_none() && case.team.is_some()
}

/// The case's virtual deadline: `sla_due` (its earliest SLA due instant; else
/// [`DEFAULT_HORIZON`] after it opened) brought forward [`PER_POINT`] per point of `score`.
/// The queue is worked soonest first.
pub fn queue_rank(case: &Case, sla_due: Option<Timestamp>, score: u32) -> Timestamp {
    let base = sla_due.unwrap_or_else(|| case.created_at.saturating_add(DEFAULT_HORIZON).unwrap_or(case.created_at));
    base.saturating_sub(PER_POINT * i32::try_from(score).unwrap_or(i32::MAX)).unwrap_or(base)
}

/// One agent who might take a case, as routing needs to know them.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    /// Presence is `available`.
    pub available: bool,
    /// Since when the agent has been in their current presence (the longest-waiting
    /// available agent wins a tie).
    pub presence_since: Timestamp,
    /// Skill → proficiency 1–5.
    pub skills: BTreeMap<String, u8>,
    /// Languages spoken; empty = not recorded (any).
    pub languages: Vec<String>,
    /// Capacity on the case's channel, and active cases on it now.
    pub capacity: u32,
    pub load: u32,
    /// Worked the customer's previous case.
    pub handled_customer_before: bool,
}

/// What the case needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteNeeds {
    /// A skill to prefer (the case's category, when the team lists it as a skill); agents
    /// without it are passed over when someone eligible has it.
    pub skill: Option<String>,
    /// The customer's language, when known.
    pub language: Option<String>,
    /// The lowest role that may take the case (supervisor for a customer's request for one).
    pub min_role: Option<Role>,
}

/// One candidate's standing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredCandidate {
    pub user: UserId,
    pub name: String,
    pub eligible: bool,
    /// Why not, when not eligible; what counted, when eligible.
    pub reason: String,
    pub score: f64,
}

/// A routing decision: the chosen agent (if any), the best candidates with their scores and
/// how many others were passed over, by reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingDecision {
    pub chosen: Option<UserId>,
    pub reason: String,
    /// Best first: eligible candidates by score, then the others; at most [`LISTED`].
    pub candidates: Vec<ScoredCandidate>,
    /// The candidates not listed, counted by why they were not chosen.
    pub others: BTreeMap<String, u32>,
}

/// How many candidates a decision lists by name (the rest are counted by reason).
pub const LISTED: usize = 20;

/// Why a candidate cannot take the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Eligible,
    NotAvailable,
    Role(Role),
    Full,
    Language,
    Skill,
}

/// Picks the agent for a case. Eligible: available, with room on the channel, speaking the
/// customer's language (when both are known), of the needed role, and with the skill when
/// any eligible agent has it. Score: proficiency in the skill (10 per level), spare capacity
/// (up to 20, as a share of capacity), 15 for having handled the customer before; ties go to
/// the agent waiting longest in their presence, then the lower user id. Linear in the
/// candidates; only the [`LISTED`] best get a written reason.
pub fn choose(needs: &RouteNeeds, candidates: &[Candidate]) -> RoutingDecision {
    let basic = |c: &Candidate| -> Verdict {
        if !c.available {
            return Verdict::NotAvailable;
        }
        if let Some(min) = needs.min_role
            && c.role < min
        {
            return Verdict::Role(min);
        }
        if c.load >= c.capacity {
            return Verdict::Full;
        }
        if let Some(lang) = &needs.language
            && !c.languages.is_empty()
            && !c.languages.iter().any(|l| l == lang || l.split('-').next() == lang.split('-').next())
        {
            return Verdict::Language;
        }
        Verdict::Eligible
    };
    let proficiency = |c: &Candidate| needs.skill.as_ref().and_then(|s| c.skills.get(s)).copied().unwrap_or(0);
    let mut verdicts: Vec<Verdict> = candidates.iter().map(basic).collect();
    let skill_required = needs.skill.is_some()
        && candidates.iter().zip(&verdicts).any(|(c, v)| *v == Verdict::Eligible && proficiency(c) > 0);
    if skill_required {
        for (c, v) in candidates.iter().zip(verdicts.iter_mut()) {
            if *v == Verdict::Eligible && proficiency(c) == 0 {
                *v = Verdict::Skill;
            }
        }
    }
    let score_of = |c: &Candidate| {
        let spare = if c.capacity == 0 { 0.0 } else { f64::from(c.capacity - c.load) / f64::from(c.capacity) };
        let continuity = if c.handled_customer_before { 15.0 } else { 0.0 };
        ((f64::from(proficiency(c)) * 10.0 + spare * 20.0 + continuity) * 10.0).round() / 10.0
    };
    let scores: Vec<f64> = candidates
        .iter()
        .zip(&verdicts)
        .map(|(c, v)| if *v == Verdict::Eligible { score_of(c) } else { 0.0 })
        .collect();
    let better = |a: usize, b: usize| {
        let (ea, eb) = (verdicts[a] == Verdict::Eligible, verdicts[b] == Verdict::Eligible);
        eb.cmp(&ea)
            .then(scores[b].total_cmp(&scores[a]))
            .then(candidates[a].presence_since.cmp(&candidates[b].presence_since))
            .then(candidates[a].user_id.cmp(&candidates[b].user_id))
    };
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    if order.len() > LISTED {
        order.select_nth_unstable_by(LISTED, |a, b| better(*a, *b));
    }
    let (listed, rest) = order.split_at_mut(LISTED.min(candidates.len()));
    listed.sort_by(|a, b| better(*a, *b));
    let skill = needs.skill.as_deref().unwrap_or_default();
    let why = |i: usize| -> String {
        let c = &candidates[i];
        match verdicts[i] {
            Verdict::Eligible => {
                let mut parts = Vec::new();
                if proficiency(c) > 0 {
                    parts.push(format!("skill {skill} at {}", proficiency(c)));
                }
                parts.push(format!("load {}/{}", c.load, c.capacity));
                if c.handled_customer_before {
                    parts.push("handled this customer before".into());
                }
                parts.join(", ")
            }
            Verdict::NotAvailable => "not available".into(),
            Verdict::Role(min) => format!("a {} is needed", min.as_str()),
            Verdict::Full => format!("at capacity ({}/{})", c.load, c.capacity),
            Verdict::Language => format!("does not speak {}", needs.language.as_deref().unwrap_or_default()),
            Verdict::Skill => format!("lacks the skill {skill}"),
        }
    };
    let listed_candidates: Vec<ScoredCandidate> = listed
        .iter()
        .map(|&i| ScoredCandidate {
            user: candidates[i].user_id,
            name: candidates[i].name.clone(),
            eligible: verdicts[i] == Verdict::Eligible,
            reason: why(i),
            score: scores[i],
        })
        .collect();
    let mut others: BTreeMap<String, u32> = BTreeMap::new();
    for &i in rest.iter() {
        let key = match verdicts[i] {
            Verdict::Eligible => "eligible, lower score".to_string(),
            Verdict::Full => "at capacity".to_string(),
            _ => why(i),
        };
        *others.entry(key).or_default() += 1;
    }
    let chosen = listed_candidates.first().filter(|s| s.eligible).map(|s| s.user);
    let reason = match listed_candidates.first() {
        Some(s) if s.eligible => format!("{}: {}", s.name, s.reason),
        Some(_) => "no agent of the team is eligible; the case waits in the team queue".into(),
        None => "the team has no agents; the case waits in the team queue".into(),
    };
    RoutingDecision { chosen, reason, candidates: listed_candidates, others }
}
