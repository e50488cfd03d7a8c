//! "Revise the rules" insights: suggestions, each with its evidence, computed from plain
//! facts the store gathers about the cases opened in a period. Pure: every detector is a
//! function from facts to suggestions, so each threshold is tested as data.
//!
//! # Detectors and thresholds
//! - [`move_down`]: per category, cases escalated and resolved above their first level.
//!   Suggested at ≥ 5 such cases, an escalation share ≥ 30 %, a median time from the last
//!   escalation to the resolution ≤ 1 hour and one resolution code on ≥ 60 % of them.
//!   [`CategoryCounts::may_move_down`] tells from summable counts alone whether a category
//!   can be suggested, so a store need read the cases' durations and numbers
//!   ([`CategoryOutcomes`]) only for the few categories that can.
//! - [`limit_margin`]: approval requests whose amount exceeded the requester's limit by at
//!   most 10 %; suggested at ≥ 3 for one action and role.
//! - [`outliers`]: agents or teams (≥ 10 cases) whose escalation rate is ≥ 2 standard
//!   deviations above the mean of their peers (the others with ≥ 10 cases, at least 3 of
//!   them); the deviation is taken as at least 5 points so near-identical peers do not make
//!   a trivial difference stand out.
//! - [`rule_activity`]: rules of any trigger that never fired (0 firings) or always fired
//!   (≥ 95 %) over ≥ 20 times their trigger happened.
//! - [`breached_out_of_hours`]: per level, breaches of 24x7 clocks that fell due while the
//!   contact center's main calendar was closed; suggested at ≥ 60 % of ≥ 5 breaches.
//! - [`overall`]: the period as a whole. A high escalation rate: ≥ 25 % of ≥ 30 cases
//!   escalated (one case in four going up means the front line cannot close what it
//!   receives). A CSAT gap: escalated cases rated ≥ 0.5 points lower (on 1–5) than the others,
//!   over ≥ 20 answers (half a point is the difference between "satisfied" and "neutral" for
//!   a large share of customers; fewer answers are noise).

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::case::Case;
use crate::directory::{LevelId, Role};
use crate::sla::BusinessCalendar;

/// What a suggestion is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    MoveDown,
    LimitMargin,
    Outlier,
    RuleNeverFires,
    RuleAlwaysFires,
    BreachedOutOfHours,
    HighEscalationRate,
    CsatGap,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::MoveDown => "move_down",
            Kind::LimitMargin => "limit_margin",
            Kind::Outlier => "outlier",
            Kind::RuleNeverFires => "rule_never_fires",
            Kind::RuleAlwaysFires => "rule_always_fires",
            Kind::BreachedOutOfHours => "breached_out_of_hours",
            Kind::HighEscalationRate => "high_escalation_rate",
            Kind::CsatGap => "csat_gap",
        }
    }
}

/// One suggestion: a sentence a manager understands, the figures behind it, a few case
/// numbers as examples, and what to change.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub kind: Kind,
    pub title: String,
    /// Named figures: counts, rates (fractions 0–1), durations in seconds, amounts.
    pub figures: Vec<(&'static str, f64)>,
    /// Case numbers that show it (at most [`MAX_EXAMPLES`]).
    pub examples: Vec<u64>,
    pub suggestion: String,
}

/// How many example case numbers a suggestion lists.
pub const MAX_EXAMPLES: usize = 5;

fn examples(numbers: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut all: Vec<u64> = numbers.into_iter().collect();
    all.sort_unstable();
    all.dedup();
    all.truncate(MAX_EXAMPLES);
    all
}

fn percent(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

// ---- move_down ----

/// A case opened in the period, as [`move_down`] sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseOutcome {
    pub number: u64,
    pub category: Option<String>,
    pub escalated: bool,
    /// Set when the case was escalated and resolved at a level above its first.
    pub resolved_above: Option<ResolvedAbove>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedAbove {
    pub code: String,
    /// From the last escalation to the resolution.
    pub after_escalation: SignedDuration,
}

pub const MOVE_DOWN_MIN_CASES: usize = 5;
pub const MOVE_DOWN_MIN_ESCALATION_SHARE: f64 = 0.30;
pub const MOVE_DOWN_MAX_MEDIAN: SignedDuration = SignedDuration::from_secs(3600);
pub const MOVE_DOWN_MIN_CODE_SHARE: f64 = 0.60;

impl CaseOutcome {
    /// What a case says about itself: its category, whether it was escalated, and, when it
    /// was escalated and resolved at a level above its first, its resolution code and the
    /// time from `last_escalation` (its last `escalated` event) to the resolution.
    pub fn of(case: &Case, last_escalation: Option<Timestamp>) -> CaseOutcome {
        let escalated = case.n_escalations > 0;
        let first_level = case.escalation_path.first().map(|s| &s.level);
        let resolved_above = match (&case.resolution, last_escalation) {
            (Some(resolution), Some(escalated_at)) if escalated && first_level.is_some_and(|l| *l != case.level) => {
                Some(ResolvedAbove {
                    code: resolution.code.clone(),
                    after_escalation: resolution.at.duration_since(escalated_at),
                })
            }
            _ => None,
        };
        CaseOutcome { number: case.number, category: case.category.clone(), escalated, resolved_above }
    }
}

/// The breaches of a case's clocks that counted in 24x7 time (no calendar), oldest clock first.
pub fn breaches_24x7(case: &Case) -> Vec<Breach> {
    case.clocks
        .iter()
        .filter(|clock| clock.calendar.is_none())
        .filter_map(|clock| {
            let due_at = clock.breached_at.and(clock.due_at)?;
            Some(Breach { case_number: case.number, level: clock.level.clone(), due_at })
        })
        .collect()
}

/// One category's cases over a period, as [`move_down_by_category`] sees them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CategoryOutcomes {
    pub category: String,
    pub cases: u64,
    pub escalated: u64,
    /// The cases escalated and resolved above their first level, by number (in any order).
    pub resolved_above: Vec<(u64, ResolvedAbove)>,
}

/// One category's counts over a period. Every field is a sum over the cases, so a store can
/// keep them per day and add the days of a period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CategoryCounts {
    pub cases: u64,
    pub escalated: u64,
    pub resolved_above: u64,
    /// Of the cases resolved above, those resolved at most [`MOVE_DOWN_MAX_MEDIAN`] after
    /// their last escalation.
    pub resolved_above_quickly: u64,
    /// The cases resolved above, per resolution code.
    pub codes: BTreeMap<String, u64>,
}

impl CategoryCounts {
    /// Adds one case.
    pub fn add(&mut self, outcome: &CaseOutcome) {
        self.cases += 1;
        self.escalated += outcome.escalated as u64;
        if let Some(above) = &outcome.resolved_above {
            self.resolved_above += 1;
            self.resolved_above_quickly += (above.after_escalation <= MOVE_DOWN_MAX_MEDIAN) as u64;
            *self.codes.entry(above.code.clone()).or_default() += 1;
        }
    }

    /// Whether [`move_down`] may suggest this category. `false` when the counts show a
    /// threshold missed: too few cases resolved above, too low an escalation share, no code
    /// common enough, or at least half of the durations (the median's) over the limit. The
    /// median is known from the counts except when exactly half of an even number of
    /// durations are within the limit; then this says `true` and the durations decide.
    pub fn may_move_down(&self) -> bool {
        if self.resolved_above < MOVE_DOWN_MIN_CASES as u64 {
            return false;
        }
        let escalation_share = self.escalated as f64 / self.cases as f64;
        let top_n = self.codes.values().copied().max().unwrap_or(0);
        let code_share = top_n as f64 / self.resolved_above as f64;
        // The median is within the limit when more than half of the durations are (then
        // both middle ones are), and over it when fewer than half are.
        let median_may_be_within = 2 * self.resolved_above_quickly >= self.resolved_above;
        escalation_share >= MOVE_DOWN_MIN_ESCALATION_SHARE
            && code_share >= MOVE_DOWN_MIN_CODE_SHARE
            && median_may_be_within
    }
}

/// Categories often escalated and then resolved quickly above with the same code.
pub fn move_down(cases: &[CaseOutcome]) -> Vec<Suggestion> {
    let mut by_category: BTreeMap<&str, CategoryOutcomes> = BTreeMap::new();
    for case in cases {
        if let Some(category) = case.category.as_deref() {
            let entry = by_category
                .entry(category)
                .or_insert_with(|| CategoryOutcomes { category: category.to_string(), ..Default::default() });
            entry.cases += 1;
            entry.escalated += case.escalated as u64;
            if let Some(above) = &case.resolved_above {
                entry.resolved_above.push((case.number, above.clone()));
            }
        }
    }
    move_down_by_category(&by_category.into_values().collect::<Vec<_>>())
}

/// [`move_down`] over cases already counted per category (in category order).
pub fn move_down_by_category(categories: &[CategoryOutcomes]) -> Vec<Suggestion> {
    let mut out = Vec::new();
    for outcomes in categories {
        let category = outcomes.category.as_str();
        let above: Vec<(u64, &ResolvedAbove)> = outcomes.resolved_above.iter().map(|(n, r)| (*n, r)).collect();
        if above.len() < MOVE_DOWN_MIN_CASES {
            continue;
        }
        let escalation_share = outcomes.escalated as f64 / outcomes.cases as f64;
        let mut durations: Vec<SignedDuration> = above.iter().map(|(_, r)| r.after_escalation).collect();
        durations.sort_unstable();
        let median = median(&durations);
        let mut codes: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, r) in &above {
            *codes.entry(r.code.as_str()).or_default() += 1;
        }
        // The most common code; ties go to the first in alphabetical order.
        let (top_code, top_n) = codes.iter().fold(("", 0), |best, (c, n)| if *n > best.1 { (c, *n) } else { best });
        let code_share = top_n as f64 / above.len() as f64;
        if escalation_share < MOVE_DOWN_MIN_ESCALATION_SHARE
            || median > MOVE_DOWN_MAX_MEDIAN
            || code_share < MOVE_DOWN_MIN_CODE_SHARE
        {
            continue;
        }
        let minutes = median.as_secs_f64() / 60.0;
        out.push(Suggestion {
            kind: Kind::MoveDown,
            title: format!(
                "{} of '{category}' cases are escalated, and the higher level resolves them in a median of \
                 {minutes:.0} min, {} with the code '{top_code}'.",
                percent(escalation_share),
                percent(code_share),
            ),
            figures: vec![
                ("cases", outcomes.cases as f64),
                ("escalated", outcomes.escalated as f64),
                ("escalation_share", escalation_share),
                ("resolved_above_first_level", above.len() as f64),
                ("median_resolution_after_escalation_s", median.as_secs_f64()),
                ("top_code_share", code_share),
            ],
            examples: examples(above.iter().filter(|(_, r)| r.code == top_code).map(|(number, _)| *number)),
            suggestion: format!(
                "Let Tier 1 resolve '{category}' cases with '{top_code}': train the agents, write an article \
                 or raise their authority limit."
            ),
        });
    }
    out
}

/// The median of sorted durations (the mean of the middle two for an even count).
fn median(sorted: &[SignedDuration]) -> SignedDuration {
    let n = sorted.len();
    if n == 0 {
        return SignedDuration::ZERO;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        SignedDuration::from_nanos(((sorted[n / 2 - 1].as_nanos() + sorted[n / 2].as_nanos()) / 2) as i64)
    }
}

// ---- limit_margin ----

/// An approval request, with the requester's limit for the action when they had one.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalRequest {
    pub case_number: u64,
    pub action: String,
    pub role: Role,
    pub amount: f64,
    pub limit: Option<f64>,
}

pub const LIMIT_MARGIN: f64 = 0.10;
pub const LIMIT_MARGIN_MIN_REQUESTS: usize = 3;

/// Approval requests just above the requester's limit, per action and role.
pub fn limit_margin(requests: &[ApprovalRequest]) -> Vec<Suggestion> {
    let mut groups: BTreeMap<(&str, Role), Vec<(&ApprovalRequest, f64)>> = BTreeMap::new();
    let mut totals: BTreeMap<(&str, Role), usize> = BTreeMap::new();
    for r in requests {
        *totals.entry((r.action.as_str(), r.role)).or_default() += 1;
        let Some(limit) = r.limit.filter(|l| *l > 0.0) else { continue };
        if r.amount > limit && r.amount <= limit * (1.0 + LIMIT_MARGIN) + 1e-9 {
            groups.entry((r.action.as_str(), r.role)).or_default().push((r, limit));
        }
    }
    let mut out = Vec::new();
    for ((action, role), near) in groups {
        if near.len() < LIMIT_MARGIN_MIN_REQUESTS {
            continue;
        }
        let limit = near.iter().map(|(_, l)| *l).fold(f64::INFINITY, f64::min);
        let highest = near.iter().map(|(r, _)| r.amount).fold(0.0, f64::max);
        let total = totals[&(action, role)];
        let role = role.as_str();
        out.push(Suggestion {
            kind: Kind::LimitMargin,
            title: format!(
                "{} approval requests for '{action}' by {role}s exceeded their limit of {limit} by 10 % or less.",
                near.len()
            ),
            figures: vec![
                ("requests_within_margin", near.len() as f64),
                ("requests", total as f64),
                ("limit", limit),
                ("highest_amount", highest),
            ],
            examples: examples(near.iter().map(|(r, _)| r.case_number)),
            suggestion: format!(
                "Raise the {role} limit for '{action}' from {limit} to {highest} in the matrix's [[authority]] \
                 rules, so these requests need no approval."
            ),
        });
    }
    out
}

// ---- outliers ----

/// An agent's or a team's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerFigures {
    /// The user's name or the team's slug.
    pub label: String,
    pub cases: i64,
    pub escalated: i64,
}

/// Whether [`outliers`] compares agents or teams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerGroup {
    Agent,
    Team,
}

pub const OUTLIER_MIN_CASES: i64 = 10;
pub const OUTLIER_MIN_PEERS: usize = 3;
pub const OUTLIER_Z: f64 = 2.0;
pub const OUTLIER_MIN_DEVIATION: f64 = 0.05;

/// Agents or teams whose escalation rate stands out above their peers'.
pub fn outliers(group: PeerGroup, figures: &[PeerFigures]) -> Vec<Suggestion> {
    let eligible: Vec<&PeerFigures> = figures.iter().filter(|f| f.cases >= OUTLIER_MIN_CASES).collect();
    let rate = |f: &PeerFigures| f.escalated as f64 / f.cases as f64;
    let mut out = Vec::new();
    for (i, member) in eligible.iter().enumerate() {
        let peers: Vec<f64> = eligible.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, f)| rate(f)).collect();
        if peers.len() < OUTLIER_MIN_PEERS {
            continue;
        }
        let mean = peers.iter().sum::<f64>() / peers.len() as f64;
        let variance = peers.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / peers.len() as f64;
        let deviation = variance.sqrt().max(OUTLIER_MIN_DEVIATION);
        let own = rate(member);
        let z = (own - mean) / deviation;
        if z < OUTLIER_Z {
            continue;
        }
        let (who, whom) = match group {
            PeerGroup::Agent => (format!("Agent {}", member.label), "the agent"),
            PeerGroup::Team => (format!("Team {}", member.label), "the team"),
        };
        out.push(Suggestion {
            kind: Kind::Outlier,
            title: format!(
                "{who} escalates {} of their cases, against {} on average for their peers.",
                percent(own),
                percent(mean)
            ),
            figures: vec![
                ("cases", member.cases as f64),
                ("escalated", member.escalated as f64),
                ("escalation_rate", own),
                ("peers", peers.len() as f64),
                ("peers_mean_rate", mean),
                ("peers_standard_deviation", variance.sqrt()),
                ("standard_deviations_above", z),
            ],
            examples: Vec::new(),
            suggestion: format!(
                "Review a sample of these escalations with {whom}: coaching, a missing skill or a routing \
                 that sends them harder cases."
            ),
        });
    }
    out
}

// ---- overall ----

/// The figures of the whole period [`overall`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PeriodFigures {
    pub cases: i64,
    pub escalated: i64,
    /// CSAT answers in the period, and the averages after an escalation and without.
    pub csat_answers: i64,
    pub csat_escalated: Option<f64>,
    pub csat_not_escalated: Option<f64>,
}

pub const HIGH_ESCALATION_MIN_CASES: i64 = 30;
pub const HIGH_ESCALATION_RATE: f64 = 0.25;
pub const CSAT_GAP_MIN_ANSWERS: i64 = 20;
pub const CSAT_GAP_POINTS: f64 = 0.5;

/// A high escalation rate and a CSAT gap after escalation, over the whole period.
pub fn overall(f: &PeriodFigures) -> Vec<Suggestion> {
    let mut out = Vec::new();
    if f.cases >= HIGH_ESCALATION_MIN_CASES {
        let rate = f.escalated as f64 / f.cases as f64;
        if rate >= HIGH_ESCALATION_RATE {
            out.push(Suggestion {
                kind: Kind::HighEscalationRate,
                title: format!("{} of the cases were escalated ({} of {}).", percent(rate), f.escalated, f.cases),
                figures: vec![
                    ("cases", f.cases as f64),
                    ("escalated", f.escalated as f64),
                    ("escalation_rate", rate),
                    ("threshold", HIGH_ESCALATION_RATE),
                ],
                examples: Vec::new(),
                suggestion: "Look at the categories and channels that escalate most: give the front line the \
                             authority, the knowledge or the skill those cases need, or route them to the \
                             right level from the start."
                    .to_string(),
            });
        }
    }
    if f.csat_answers >= CSAT_GAP_MIN_ANSWERS
        && let (Some(after), Some(without)) = (f.csat_escalated, f.csat_not_escalated)
        && without - after >= CSAT_GAP_POINTS
    {
        out.push(Suggestion {
            kind: Kind::CsatGap,
            title: format!(
                "Customers rate escalated cases {after:.2} against {without:.2} for the others ({} answers).",
                f.csat_answers
            ),
            figures: vec![
                ("csat_escalated", after),
                ("csat_not_escalated", without),
                ("gap", without - after),
                ("answers", f.csat_answers as f64),
                ("threshold", CSAT_GAP_POINTS),
            ],
            examples: Vec::new(),
            suggestion: "Escalations cost satisfaction: shorten the hand-over (tighter respond targets at the \
                         upper levels, the context passed on so the customer does not repeat themselves) and \
                         escalate earlier the cases that will need it anyway."
                .to_string(),
        });
    }
    out
}

// ---- rule_activity ----

/// How often a rule of the matrix in force fired.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleActivity {
    pub name: String,
    /// The trigger's name (`case_opened`, `message_received` …).
    pub trigger: String,
    /// How often the trigger happened in the period while a matrix was in force.
    pub triggered: u64,
    /// How often the rule's condition held when it did.
    pub fired: u64,
    /// Case numbers where the rule fired, or for a rule that never fired, where its trigger
    /// happened.
    pub examples: Vec<u64>,
}

pub const RULE_MIN_TRIGGERED: u64 = 20;
pub const RULE_ALWAYS_SHARE: f64 = 0.95;

/// Rules that never fire, or always do.
pub fn rule_activity(rules: &[RuleActivity]) -> Vec<Suggestion> {
    let mut out = Vec::new();
    for rule in rules {
        if rule.triggered < RULE_MIN_TRIGGERED {
            continue;
        }
        let share = rule.fired as f64 / rule.triggered as f64;
        let figures = vec![("triggered", rule.triggered as f64), ("fired", rule.fired as f64)];
        let (name, trigger) = (&rule.name, &rule.trigger);
        if rule.fired == 0 {
            out.push(Suggestion {
                kind: Kind::RuleNeverFires,
                title: format!(
                    "Rule '{name}' never fired in the {} times its trigger '{trigger}' happened.",
                    rule.triggered
                ),
                figures,
                examples: examples(rule.examples.iter().copied()),
                suggestion: format!(
                    "Check the condition of rule '{name}', or remove the rule if it is no longer needed."
                ),
            });
        } else if share >= RULE_ALWAYS_SHARE {
            out.push(Suggestion {
                kind: Kind::RuleAlwaysFires,
                title: format!(
                    "Rule '{name}' fired on {} of the {} times its trigger '{trigger}' happened.",
                    percent(share),
                    rule.triggered
                ),
                figures: [figures, vec![("fired_share", share)]].concat(),
                examples: examples(rule.examples.iter().copied()),
                suggestion: format!(
                    "Narrow the condition of rule '{name}', or make what it does the default for every case."
                ),
            });
        }
    }
    out
}

// ---- breached_out_of_hours ----

/// A breach of a clock that counted in 24x7 time.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub case_number: u64,
    pub level: LevelId,
    pub due_at: Timestamp,
}

pub const OUT_OF_HOURS_MIN_BREACHES: usize = 5;
pub const OUT_OF_HOURS_MIN_SHARE: f64 = 0.60;

/// Per level, the breaches that fell due while `calendar` (the contact center's main
/// calendar, named `calendar_name`) was closed.
pub fn breached_out_of_hours(breaches: &[Breach], calendar: &BusinessCalendar, calendar_name: &str) -> Vec<Suggestion> {
    let mut by_level: BTreeMap<&LevelId, Vec<&Breach>> = BTreeMap::new();
    for b in breaches {
        by_level.entry(&b.level).or_default().push(b);
    }
    let mut out = Vec::new();
    for (level, breaches) in by_level {
        if breaches.len() < OUT_OF_HOURS_MIN_BREACHES {
            continue;
        }
        let outside: Vec<&&Breach> = breaches.iter().filter(|b| !calendar.is_open(b.due_at)).collect();
        let share = outside.len() as f64 / breaches.len() as f64;
        if share < OUT_OF_HOURS_MIN_SHARE {
            continue;
        }
        out.push(Suggestion {
            kind: Kind::BreachedOutOfHours,
            title: format!(
                "{} of the SLA breaches at {level} fell due at night or at the weekend (outside '{calendar_name}' hours).",
                percent(share)
            ),
            figures: vec![
                ("breaches", breaches.len() as f64),
                ("out_of_hours", outside.len() as f64),
                ("out_of_hours_share", share),
            ],
            examples: examples(outside.iter().map(|b| b.case_number)),
            suggestion: format!(
                "Staff {level} out of hours (an on-call rota), or have its clocks count in the '{calendar_name}' \
                 calendar's business time."
            ),
        });
    }
    out
}
