//! Escalation metrics, maintained incrementally from the event log.
//!
//! Each case has a [`CaseMetrics`]: what its events say about it (was it escalated, resolved
//! on the first contact, how long it spent at each level …), folded event by event with
//! [`CaseMetrics::apply`]. A case *contributes* additive [`Counters`] to a few rows of a daily
//! aggregate keyed by the UTC day it was opened, a [`Dimension`] and that dimension's value
//! ([`CaseMetrics::contributions`]). When a write changes a case, the store subtracts the
//! case's old contribution and adds its new one, so a query over a period is a sum over at
//! most days × values rows and never re-reads events. [`MetricsTable`] is the same
//! aggregate in memory: the reference the store's projection is tested against.
//!
//! # Definitions
//! - **cases**: cases opened in the period (for `level`: cases that reached the level).
//! - **escalated**: cases escalated at least once (functional or hierarchical; for `level`:
//!   escalated *from* that level). Escalation rate = escalated / cases.
//! - **supervisor escalated**: cases with at least one hierarchical escalation initiated by
//!   the customer ("let me speak to your supervisor"). Rate = supervisor_escalated / cases.
//! - **resolved**: cases resolved at least once. **First-contact resolution** (fcr): resolved
//!   and never escalated, never transferred and never reopened. FCR rate = fcr / resolved.
//! - **de-escalated**: escalated cases handed back down at least once (for `level`: from that
//!   level). De-escalation rate = de_escalated / escalated.
//! - **reopened**: cases reopened at least once. Reopen rate = reopened / resolved.
//! - **transferred**: cases transferred to another team at least once.
//! - **open** (backlog): cases not resolved or closed now; their age is measured at query
//!   time from `open_opened_at_sum_s` (the sum of their opening instants, in Unix seconds).
//! - **CSAT**: the latest score (1–5) of each case; average = csat_sum / csat_n, split by
//!   whether the case was escalated.
//! - **time to first escalation**: from opening to the first escalation, over escalated cases.
//! - **time to resolution**: from opening to the first resolution, over resolved cases.
//! - **time at level**: the time a case spent at a level, counted for stays that ended (by an
//!   escalation, a de-escalation or a resolution); a reopened case starts a new stay.
//! - **churn**: among cases with a customer, those whose customer's status is `churned`
//!   now, split by whether the case was escalated (case-weighted: a customer with three
//!   escalated cases counts three times). Churn rate after escalation =
//!   escalated_churned / escalated_with_customer; without = the same over the other cases.
//! - **SLA met / breached**: SLA clocks that ended met, or breached (a breached clock that is
//!   later met counts as breached). Compliance = met / (met + breached).
//!
//! A case's dimension values: `channel` (at opening), `category` (current), `priority`
//! (current), `team` and `agent` (the first team and the first assignee), `segment` (the
//! customer's segment when the case was first projected), `initiator` (of the first
//! escalation), `level` (every level the case reached; the case's outcomes — resolved, fcr,
//! reopened, open, CSAT, churn, time to first escalation and to resolution — count at the
//! level it is at now), and `team_agent` (the first team and the first assignee together,
//! kept so a supervisor's figures by agent can be limited to their teams' cases; only for
//! cases with a team). A missing value is the empty string.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::case::{Channel, Priority};
use crate::directory::LevelId;
use crate::event::{CaseEvent, EscalationKind, Initiator, RecordedEvent};
use crate::ids::{CustomerId, TeamId, UserId};

/// What metrics can be grouped by. `All` is the ungrouped total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    All,
    Channel,
    Category,
    Priority,
    Team,
    Agent,
    Level,
    Initiator,
    Segment,
    /// The first team and the first assignee together, as `TEAM_ID/USER_ID` (the user part
    /// empty when the case was never assigned): what lets a supervisor's figures by agent be
    /// limited to the cases of their own teams. Not a grouping the API offers.
    TeamAgent,
}

impl Dimension {
    pub const ALL: [Dimension; 10] = [
        Dimension::All,
        Dimension::Channel,
        Dimension::Category,
        Dimension::Priority,
        Dimension::Team,
        Dimension::Agent,
        Dimension::Level,
        Dimension::Initiator,
        Dimension::Segment,
        Dimension::TeamAgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::All => "all",
            Dimension::Channel => "channel",
            Dimension::Category => "category",
            Dimension::Priority => "priority",
            Dimension::Team => "team",
            Dimension::Agent => "agent",
            Dimension::Level => "level",
            Dimension::Initiator => "initiator",
            Dimension::Segment => "segment",
            Dimension::TeamAgent => "team_agent",
        }
    }

    pub fn parse(s: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Additive figures of one aggregate row. Rates and averages are computed from them
        /// at query time, so rows of several days or values simply add up.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct Counters {
            $($(#[$doc])* pub $name: i64,)*
        }

        impl Counters {
            /// The column names, in the order of [`Counters::to_array`].
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            pub fn to_array(&self) -> Vec<i64> {
                vec![$(self.$name),*]
            }

            /// From values in the order of [`Counters::NAMES`]; missing ones are 0.
            pub fn from_array(values: &[i64]) -> Counters {
                let mut it = values.iter().copied();
                Counters { $($name: it.next().unwrap_or(0),)* }
            }

            pub fn add(&mut self, other: &Counters) {
                $(self.$name += other.$name;)*
            }

            pub fn sub(&mut self, other: &Counters) {
                $(self.$name -= other.$name;)*
            }

            pub fn is_zero(&self) -> bool {
                true $(&& self.$name == 0)*
            }
        }
    };
}

counters!(
    cases,
    escalated,
    /// Escalations in all (a case escalated twice counts twice).
    n_escalations,
    supervisor_escalated,
    de_escalated,
    transferred,
    resolved,
    fcr,
    reopened,
    /// Cases still active (the backlog).
    open,
    /// Sum of the open cases' opening instants, Unix seconds (their age at query time).
    open_opened_at_sum_s,
    csat_sum,
    csat_n,
    csat_escalated_sum,
    csat_escalated_n,
    csat_not_escalated_sum,
    csat_not_escalated_n,
    first_escalation_sum_s,
    first_escalation_n,
    resolution_sum_s,
    resolution_n,
    level_time_sum_s,
    sla_met,
    sla_breached,
    /// Cases with a customer, and of those the escalated ones.
    with_customer,
    escalated_with_customer,
    /// Cases whose customer has churned, and of those the escalated ones.
    churned,
    escalated_churned,
);

/// How an SLA clock ended, as far as metrics care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockOutcome {
    Running,
    Met,
    Breached,
}

/// What happened at one level of the ladder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelFigures {
    pub escalated_from: bool,
    pub n_escalations_from: u32,
    pub de_escalated_from: bool,
    /// Seconds at the level over stays that ended.
    pub seconds: i64,
}

/// Everything metrics need to know about one case, folded from its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseMetrics {
    pub opened_at: Timestamp,
    pub channel: Channel,
    pub category: Option<String>,
    pub priority: Priority,
    pub customer: Option<CustomerId>,
    /// The customer's segment when the case was first projected.
    pub segment: Option<String>,
    /// The first team and the first assignee.
    pub team: Option<TeamId>,
    pub agent: Option<UserId>,
    pub level: LevelId,
    /// Since when the case is at `level`; `None` while resolved or closed (no stay running).
    pub level_since: Option<Timestamp>,
    pub levels: BTreeMap<LevelId, LevelFigures>,
    pub active: bool,
    pub resolved_at: Option<Timestamp>,
    pub n_escalations: u32,
    pub first_escalation_at: Option<Timestamp>,
    pub first_initiator: Option<Initiator>,
    pub supervisor_escalated: bool,
    pub de_escalated: bool,
    pub transferred: bool,
    pub reopened: bool,
    pub csat: Option<u8>,
    /// Each SLA clock by index: its level and how it ended.
    pub clocks: Vec<(LevelId, ClockOutcome)>,
    /// Whether the case's customer has churned: not from the case's events but from the
    /// directory, kept current by the store when the customer's status changes.
    #[serde(default)]
    pub customer_churned: bool,
}

impl CaseMetrics {
    /// Folds one event; `segment` is asked for only when the event opens the case.
    /// Returns `None` for an event before the opening (which never happens in a real stream).
    pub fn apply(
        state: Option<CaseMetrics>,
        recorded: &RecordedEvent,
        segment: impl FnOnce() -> Option<String>,
    ) -> Option<CaseMetrics> {
        let at = recorded.at;
        if let CaseEvent::Opened(o) = &recorded.event {
            let mut levels = BTreeMap::new();
            levels.insert(o.level.clone(), LevelFigures::default());
            return Some(CaseMetrics {
                opened_at: at,
                channel: o.channel,
                category: o.category.clone(),
                priority: o.priority,
                customer: o.customer,
                segment: segment(),
                team: o.team,
                agent: o.assignee,
                level: o.level.clone(),
                level_since: Some(at),
                levels,
                active: true,
                resolved_at: None,
                n_escalations: 0,
                first_escalation_at: None,
                first_initiator: None,
                supervisor_escalated: false,
                de_escalated: false,
                transferred: false,
                reopened: false,
                csat: None,
                clocks: Vec::new(),
                customer_churned: false,
            });
        }
        let mut m = state?;
        match &recorded.event {
            CaseEvent::Assigned(a) => {
                m.agent.get_or_insert(a.assignee);
            }
            CaseEvent::Transferred(t) => {
                m.transferred = true;
                m.team.get_or_insert(t.to_team);
                if let Some(u) = t.to_user {
                    m.agent.get_or_insert(u);
                }
            }
            CaseEvent::Escalated(e) => {
                m.n_escalations += 1;
                if m.first_escalation_at.is_none() {
                    m.first_escalation_at = Some(at);
                    m.first_initiator = Some(e.initiator);
                }
                if e.kind == EscalationKind::Hierarchical && e.initiator == Initiator::Customer {
                    m.supervisor_escalated = true;
                }
                let from = m.levels.entry(e.from_level.clone()).or_default();
                from.escalated_from = true;
                from.n_escalations_from += 1;
                m.move_to(&e.to_level, at);
                if let Some(t) = e.to_team {
                    m.team.get_or_insert(t);
                }
                if let Some(u) = e.to_user {
                    m.agent.get_or_insert(u);
                }
            }
            CaseEvent::DeEscalated(d) => {
                m.de_escalated = true;
                m.levels.entry(d.from_level.clone()).or_default().de_escalated_from = true;
                m.move_to(&d.to_level, at);
            }
            CaseEvent::Updated(u) => {
                if let Some(p) = u.priority {
                    m.priority = p;
                }
                if let Some(c) = &u.category {
                    m.category = c.clone();
                }
            }
            CaseEvent::Resolved(_) => {
                m.resolved_at.get_or_insert(at);
                m.end_stay(at);
                m.active = false;
            }
            CaseEvent::Reopened(_) => {
                m.reopened = true;
                m.active = true;
                m.level_since = Some(at);
            }
            CaseEvent::Closed(_) => {
                m.end_stay(at);
                m.active = false;
            }
            CaseEvent::CsatRecorded(c) => m.csat = Some(c.score),
            CaseEvent::ClockStarted(c) => {
                let i = c.index as usize;
                if m.clocks.len() <= i {
                    m.clocks.resize(i + 1, (c.level.clone(), ClockOutcome::Running));
                }
                m.clocks[i] = (c.level.clone(), ClockOutcome::Running);
            }
            CaseEvent::ClockMet(c) => {
                if let Some(clock) = m.clocks.get_mut(c.index as usize)
                    && clock.1 == ClockOutcome::Running
                {
                    clock.1 = ClockOutcome::Met;
                }
            }
            CaseEvent::ClockBreached(c) => {
                if let Some(clock) = m.clocks.get_mut(c.index as usize) {
                    clock.1 = ClockOutcome::Breached;
                }
            }
            _ => {}
        }
        Some(m)
    }

    /// Folds a whole stream.
    pub fn replay<'a>(
        events: impl IntoIterator<Item = &'a RecordedEvent>,
        segment: Option<String>,
    ) -> Option<CaseMetrics> {
        let mut state = None;
        for e in events {
            state = CaseMetrics::apply(state, e, || segment.clone());
        }
        state
    }

    fn end_stay(&mut self, at: Timestamp) {
        if let Some(since) = self.level_since.take() {
            self.levels.entry(self.level.clone()).or_default().seconds += at.duration_since(since).as_secs().max(0);
        }
    }

    fn move_to(&mut self, level: &LevelId, at: Timestamp) {
        let running = self.level_since.is_some();
        self.end_stay(at);
        self.level = level.clone();
        self.levels.entry(level.clone()).or_default();
        if running {
            self.level_since = Some(at);
        }
    }

    /// The UTC day the case was opened: the day its figures count on.
    pub fn day(&self) -> Date {
        self.opened_at.to_zoned(jiff::tz::TimeZone::UTC).date()
    }

    /// The case's outcomes, counted once per case.
    fn outcome(&self) -> Counters {
        let escalated = self.n_escalations > 0;
        let resolved = self.resolved_at.is_some();
        let mut c = Counters { resolved: resolved as i64, reopened: self.reopened as i64, ..Counters::default() };
        c.fcr = (resolved && !escalated && !self.transferred && !self.reopened) as i64;
        if self.active {
            c.open = 1;
            c.open_opened_at_sum_s = self.opened_at.as_second();
        }
        if let Some(score) = self.csat {
            let score = i64::from(score);
            c.csat_sum = score;
            c.csat_n = 1;
            if escalated {
                c.csat_escalated_sum = score;
                c.csat_escalated_n = 1;
            } else {
                c.csat_not_escalated_sum = score;
                c.csat_not_escalated_n = 1;
            }
        }
        if let Some(first) = self.first_escalation_at {
            c.first_escalation_sum_s = first.duration_since(self.opened_at).as_secs().max(0);
            c.first_escalation_n = 1;
        }
        if self.customer.is_some() {
            c.with_customer = 1;
            c.escalated_with_customer = escalated as i64;
            c.churned = self.customer_churned as i64;
            c.escalated_churned = (escalated && self.customer_churned) as i64;
        }
        if let Some(resolved_at) = self.resolved_at {
            c.resolution_sum_s = resolved_at.duration_since(self.opened_at).as_secs().max(0);
            c.resolution_n = 1;
        }
        c
    }

    fn sla_at(&self, level: Option<&LevelId>) -> (i64, i64) {
        let of = |want| {
            self.clocks.iter().filter(|(l, o)| *o == want && level.is_none_or(|level| l == level)).count() as i64
        };
        (of(ClockOutcome::Met), of(ClockOutcome::Breached))
    }

    /// The whole case's counters (every dimension but `level`).
    pub fn totals(&self) -> Counters {
        let mut c = self.outcome();
        c.cases = 1;
        c.escalated = (self.n_escalations > 0) as i64;
        c.n_escalations = i64::from(self.n_escalations);
        c.supervisor_escalated = self.supervisor_escalated as i64;
        c.de_escalated = self.de_escalated as i64;
        c.transferred = self.transferred as i64;
        c.level_time_sum_s = self.levels.values().map(|l| l.seconds).sum();
        (c.sla_met, c.sla_breached) = self.sla_at(None);
        c
    }

    /// Every aggregate row the case adds to: `(dimension, value, counters)`, all on
    /// [`CaseMetrics::day`].
    pub fn contributions(&self) -> Vec<(Dimension, String, Counters)> {
        let totals = self.totals();
        let text = |v: Option<String>| v.unwrap_or_default();
        let mut out = vec![
            (Dimension::All, String::new(), totals),
            (Dimension::Channel, self.channel.as_str().to_string(), totals),
            (Dimension::Category, text(self.category.clone()), totals),
            (Dimension::Priority, self.priority.as_str().to_string(), totals),
            (Dimension::Team, text(self.team.map(|t| t.to_string())), totals),
            (Dimension::Agent, text(self.agent.map(|u| u.to_string())), totals),
            (Dimension::Initiator, text(self.first_initiator.map(|i| initiator_name(i).to_string())), totals),
            (Dimension::Segment, text(self.segment.clone()), totals),
        ];
        if let Some(team) = self.team {
            let agent = self.agent.map(|u| u.to_string()).unwrap_or_default();
            out.push((Dimension::TeamAgent, team_agent_value(team, &agent), totals));
        }
        for (level, figures) in &self.levels {
            let mut c = if *level == self.level { self.outcome() } else { Counters::default() };
            c.cases = 1;
            c.escalated = figures.escalated_from as i64;
            c.n_escalations = i64::from(figures.n_escalations_from);
            c.de_escalated = figures.de_escalated_from as i64;
            c.level_time_sum_s = figures.seconds;
            (c.sla_met, c.sla_breached) = self.sla_at(Some(level));
            out.push((Dimension::Level, level.as_str().to_string(), c));
        }
        out
    }
}

/// The value of a [`Dimension::TeamAgent`] row: `TEAM_ID/USER_ID`.
pub fn team_agent_value(team: TeamId, agent: &str) -> String {
    format!("{team}/{agent}")
}

pub fn initiator_name(i: Initiator) -> &'static str {
    match i {
        Initiator::Agent => "agent",
        Initiator::Customer => "customer",
        Initiator::System => "system",
    }
}

/// The daily aggregate in memory: `(day, dimension, value) → counters`, without empty rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsTable {
    pub rows: BTreeMap<(Date, Dimension, String), Counters>,
}

impl MetricsTable {
    /// Replaces a case's contribution `old` by `new` (either may be absent): the
    /// incremental update the store does on every write.
    pub fn replace(&mut self, old: Option<&CaseMetrics>, new: Option<&CaseMetrics>) {
        for (key, delta) in delta(old, new) {
            let row = self.rows.entry(key.clone()).or_default();
            row.add(&delta);
            if row.is_zero() {
                self.rows.remove(&key);
            }
        }
    }

    /// The rows of `dimension` between `from` and `to` (inclusive), summed per value.
    pub fn query(&self, from: Date, to: Date, dimension: Dimension) -> BTreeMap<String, Counters> {
        let mut out: BTreeMap<String, Counters> = BTreeMap::new();
        for ((day, dim, value), c) in &self.rows {
            if *dim == dimension && *day >= from && *day <= to {
                out.entry(value.clone()).or_default().add(c);
            }
        }
        out
    }
}

/// What changes in the aggregate when a case's metrics go from `old` to `new`: per row, new
/// minus old, rows with no change left out.
pub fn delta(old: Option<&CaseMetrics>, new: Option<&CaseMetrics>) -> BTreeMap<(Date, Dimension, String), Counters> {
    let mut out: BTreeMap<(Date, Dimension, String), Counters> = BTreeMap::new();
    if let Some(old) = old {
        let day = old.day();
        for (dim, value, c) in old.contributions() {
            out.entry((day, dim, value)).or_default().sub(&c);
        }
    }
    if let Some(new) = new {
        let day = new.day();
        for (dim, value, c) in new.contributions() {
            out.entry((day, dim, value)).or_default().add(&c);
        }
    }
    out.retain(|_, c| !c.is_zero());
    out
}

/// Rates and averages of a row of counters (`None` where the denominator is 0). The API's
/// metrics rows serialise them as they are: rates are fractions (0–1), durations seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Rates {
    pub escalation_rate: Option<f64>,
    pub supervisor_escalation_rate: Option<f64>,
    pub fcr_rate: Option<f64>,
    pub de_escalation_rate: Option<f64>,
    pub reopen_rate: Option<f64>,
    pub transfer_rate: Option<f64>,
    pub csat_avg: Option<f64>,
    pub csat_escalated_avg: Option<f64>,
    pub csat_not_escalated_avg: Option<f64>,
    pub sla_compliance: Option<f64>,
    pub avg_time_to_first_escalation_s: Option<f64>,
    pub avg_time_to_resolution_s: Option<f64>,
    /// Per case (for `level`: per case that reached the level).
    pub avg_time_at_level_s: Option<f64>,
    /// The open cases' average age at `now`.
    pub backlog_avg_age_s: Option<f64>,
    /// Among escalated cases with a customer, the share whose customer has churned.
    pub churn_rate_escalated: Option<f64>,
    /// Among the other cases with a customer, the share whose customer has churned.
    pub churn_rate_not_escalated: Option<f64>,
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d != 0).then(|| n as f64 / d as f64)
}

impl Counters {
    pub fn rates(&self, now: Timestamp) -> Rates {
        Rates {
            escalation_rate: ratio(self.escalated, self.cases),
            supervisor_escalation_rate: ratio(self.supervisor_escalated, self.cases),
            fcr_rate: ratio(self.fcr, self.resolved),
            de_escalation_rate: ratio(self.de_escalated, self.escalated),
            reopen_rate: ratio(self.reopened, self.resolved),
            transfer_rate: ratio(self.transferred, self.cases),
            csat_avg: ratio(self.csat_sum, self.csat_n),
            csat_escalated_avg: ratio(self.csat_escalated_sum, self.csat_escalated_n),
            csat_not_escalated_avg: ratio(self.csat_not_escalated_sum, self.csat_not_escalated_n),
            sla_compliance: ratio(self.sla_met, self.sla_met + self.sla_breached),
            avg_time_to_first_escalation_s: ratio(self.first_escalation_sum_s, self.first_escalation_n),
            avg_time_to_resolution_s: ratio(self.resolution_sum_s, self.resolution_n),
            avg_time_at_level_s: ratio(self.level_time_sum_s, self.cases),
            backlog_avg_age_s: ratio(now.as_second() * self.open - self.open_opened_at_sum_s, self.open),
            churn_rate_escalated: ratio(self.escalated_churned, self.escalated_with_customer),
            churn_rate_not_escalated: ratio(
                self.churned - self.escalated_churned,
                self.with_customer - self.escalated_with_customer,
            ),
        }
    }
}
