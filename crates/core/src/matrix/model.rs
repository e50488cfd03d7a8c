//! The escalation matrix as data: what [`parse`](super::parse) builds from a TOML file and
//! what [`lint`](super::lint), [`CompiledMatrix`](super::CompiledMatrix) and
//! [`diff`](super::diff) read. Every value here is already well-formed (a duration is a
//! duration, a window has valid times); whether the parts fit together is the linter's job.
//!
//! These types are also the one description of the file's shape: the JSON Schema
//! ([`json_schema`](super::json_schema)) is derived from them, their field names and doc
//! comments; where the file writes a value differently from how it is kept here (a
//! duration as text, actions as keys of a table), a `schemars(with = …)` attribute names
//! the written form, from [`schema`](super::schema). The sets of names the file may use
//! (triggers, roles, priorities, channels, severities) are listed once, by `Named`.

use std::collections::BTreeMap;
use std::fmt;

use jiff::civil::{Date, Time, Weekday};
use jiff::{SignedDuration, Timestamp};
use schemars::JsonSchema;

use super::schema::{
    CurrencyCode, DateText, DurationText, OneOrMany, PauseStatus, RecipientText, RuleActions, Windows,
};
use crate::case::{Priority, Status};
use crate::directory::{Ladder, LevelId, Role};
use crate::event::EscalationKind;

/// A closed set of names a matrix file may use for a value: every value in order, and the
/// name of each. The parser reads and suggests these names and the schema lists them.
pub(crate) trait Named: Copy + Sized + 'static {
    const ALL: &'static [Self];
    fn name(self) -> &'static str;

    /// Every name, in order.
    fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|v| v.name()).collect()
    }

    /// The value of a name, exactly as written.
    fn from_name(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == s)
    }
}

/// The sets whose names are their `as_str`, listed in their `ALL`.
macro_rules! named_by_as_str {
    ($($t:ty),*) => {$(
        impl Named for $t {
            const ALL: &'static [$t] = &<$t>::ALL;
            fn name(self) -> &'static str {
                self.as_str()
            }
        }
    )*};
}

named_by_as_str!(Role, Priority, Trigger, NotifyChannel, IncidentSeverity, FieldType, AuthorityWindow);

impl Named for EscalationKind {
    const ALL: &'static [EscalationKind] = &[EscalationKind::Functional, EscalationKind::Hierarchical];
    fn name(self) -> &'static str {
        match self {
            EscalationKind::Functional => "functional",
            EscalationKind::Hierarchical => "hierarchical",
        }
    }
}

/// A Ladder escalation matrix: calendars, the ladder of levels with their targets, rules,
/// authority limits and IT incident policies.
#[derive(Debug, Clone, Default, PartialEq, JsonSchema)]
#[schemars(title = "Ladder escalation matrix", deny_unknown_fields, default)]
pub struct Matrix {
    /// Business calendars by name (`support`, `24x7` …), referenced by levels.
    pub calendars: BTreeMap<String, Calendar>,
    /// The ladder, lowest level first.
    pub levels: Vec<LevelSpec>,
    /// Rules, evaluated in file order.
    pub rules: Vec<Rule>,
    /// What each role may grant without approval, per kind of action.
    pub authority: Vec<AuthorityRule>,
    /// IT incident policies by severity.
    pub incident_policies: Vec<IncidentPolicy>,
    /// How SLA clocks behave: the statuses they pause in and when they warn.
    pub sla: SlaSettings,
    /// Queue overflow: cases that wait too long in one team's queue go to another team.
    pub queues: Vec<QueueSpec>,
    /// The custom fields a case may carry, by name, with their types: a case opened or
    /// changed with an undeclared field or a value of the wrong type is refused.
    pub custom_fields: BTreeMap<String, FieldType>,
    /// The ISO 4217 code of the currency every amount is in (authority limits, grants,
    /// customers' value), e.g. "EUR". Default [`Matrix::DEFAULT_CURRENCY`].
    #[schemars(with = "Option<CurrencyCode>")]
    pub currency: Option<String>,
    /// What the dashboard's figures aim at: each shown beside its figure, met or missed.
    pub metric_targets: MetricTargets,
}

/// The matrix's `[metric_targets]` table: the goals of the dashboard's rates, each optional.
/// Rates are fractions (0.95 is 95 %); CSAT is on its 1–5 scale.
#[derive(Debug, Clone, Copy, Default, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields, default)]
pub struct MetricTargets {
    /// The share of SLA clocks met, at least (e.g. 0.95).
    pub sla_compliance: Option<f64>,
    /// The share of cases escalated, at most (e.g. 0.2).
    pub escalation_rate: Option<f64>,
    /// The share of cases resolved at first contact, at least (e.g. 0.7).
    pub fcr: Option<f64>,
    /// The average satisfaction score, at least (1–5, e.g. 4.2).
    pub csat: Option<f64>,
}

impl MetricTargets {
    /// Whether `value` meets the target of `metric` (`None`: no target, or no such metric).
    /// The escalation rate is met at or below its target; the others at or above.
    pub fn met(&self, metric: &str, value: f64) -> Option<bool> {
        let (target, at_most) = match metric {
            "sla_compliance" => (self.sla_compliance?, false),
            "escalation_rate" => (self.escalation_rate?, true),
            "fcr" => (self.fcr?, false),
            "csat" => (self.csat?, false),
            _ => return None,
        };
        Some(if at_most { value <= target } else { value >= target })
    }

    /// The target of `metric`, if set.
    pub fn get(&self, metric: &str) -> Option<f64> {
        match metric {
            "sla_compliance" => self.sla_compliance,
            "escalation_rate" => self.escalation_rate,
            "fcr" => self.fcr,
            "csat" => self.csat,
            _ => None,
        }
    }
}

/// The active ISO 4217 currency codes (the matrix's `currency` must be one).
pub const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// The type of a declared custom field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text of at most [`FieldType::MAX_TEXT`] characters.
    String,
    /// Any finite number.
    Number,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Bool,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
}

impl FieldType {
    pub const ALL: [FieldType; 5] =
        [FieldType::String, FieldType::Number, FieldType::Integer, FieldType::Bool, FieldType::Date];
    /// The longest text a `string` field holds.
    pub const MAX_TEXT: usize = 2_000;

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Number => "number",
            FieldType::Integer => "integer",
            FieldType::Bool => "bool",
            FieldType::Date => "date",
        }
    }

    /// Whether `value` is of this type; the reason when not.
    pub fn check(self, value: &serde_json::Value) -> Result<(), String> {
        use serde_json::Value;
        let ok = match (self, value) {
            (FieldType::String, Value::String(s)) => {
                if s.chars().count() > Self::MAX_TEXT {
                    return Err(format!("is longer than {} characters", Self::MAX_TEXT));
                }
                true
            }
            (FieldType::Number, Value::Number(n)) => n.as_f64().is_some_and(f64::is_finite),
            (FieldType::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (FieldType::Bool, Value::Bool(_)) => true,
            (FieldType::Date, Value::String(s)) => s.len() == 10 && s.parse::<Date>().is_ok(),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            let example = match self {
                FieldType::String => "\"text\"",
                FieldType::Number => "12.5",
                FieldType::Integer => "12",
                FieldType::Bool => "true",
                FieldType::Date => "\"2026-12-31\"",
            };
            let article = if self == FieldType::Integer { "an" } else { "a" };
            Err(format!("must be {article} {} (e.g. {example}), not {value}", self.as_str()))
        }
    }
}

/// One `[[queues]]` entry: cases waiting unassigned in `team`'s queue for `after` move to
/// `overflow_to` (a team at the same level).
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct QueueSpec {
    pub team: String,
    pub overflow_to: String,
    #[schemars(with = "DurationText")]
    pub after: jiff::SignedDuration,
}

/// The matrix's `[sla]` table: how SLA clocks pause and warn.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(deny_unknown_fields, default)]
pub struct SlaSettings {
    /// Statuses in which every clock pauses (waiting on someone outside the team):
    /// "pending_customer", "pending_internal". Default ["pending_customer"].
    #[schemars(with = "Vec<PauseStatus>")]
    pub pause_on: Vec<Status>,
    /// Percentages of a target (1-99) at which a clock warns (`clock_at_risk`). Default [75].
    pub warn_at: Vec<u8>,
}

impl SlaSettings {
    /// Clocks pause while the case waits on the customer, and warn at 75 %.
    pub const DEFAULT_PAUSE_ON: [Status; 1] = [Status::PendingCustomer];
    pub const DEFAULT_WARN_AT: [u8; 1] = [75];
    /// The statuses `pause_on` may name: those that wait on someone outside the team.
    pub const PAUSABLE: [Status; 2] = [Status::PendingCustomer, Status::PendingInternal];
}

impl Default for SlaSettings {
    fn default() -> Self {
        SlaSettings { pause_on: Self::DEFAULT_PAUSE_ON.to_vec(), warn_at: Self::DEFAULT_WARN_AT.to_vec() }
    }
}

impl Matrix {
    /// The currency of a matrix that names none.
    pub const DEFAULT_CURRENCY: &'static str = "USD";

    /// The ISO 4217 code amounts are in: the matrix's `currency`, else [`Self::DEFAULT_CURRENCY`].
    pub fn currency(&self) -> &str {
        self.currency.as_deref().unwrap_or(Self::DEFAULT_CURRENCY)
    }

    /// Checks a case's custom fields against the declared ones: every key declared, every
    /// value of its type (`null` allowed where `allow_null`: a change that removes the
    /// field). The error names the field as `custom_fields.KEY`.
    pub fn check_custom_fields(
        declared: Option<&Matrix>,
        fields: &BTreeMap<String, serde_json::Value>,
        allow_null: bool,
    ) -> Result<(), crate::DomainError> {
        for (key, value) in fields {
            let field = format!("custom_fields.{key}");
            let Some(ty) = declared.and_then(|m| m.custom_fields.get(key)) else {
                let known: Vec<&str> =
                    declared.map(|m| m.custom_fields.keys().map(String::as_str).collect()).unwrap_or_default();
                let why = if known.is_empty() {
                    "is not declared: the matrix in force declares no custom fields (add a [custom_fields] table)"
                        .to_string()
                } else {
                    format!("is not declared in the matrix in force; declared: {}", known.join(", "))
                };
                return Err(crate::DomainError::invalid(&field, why));
            };
            if value.is_null() && allow_null {
                continue;
            }
            ty.check(value).map_err(|why| crate::DomainError::invalid(&field, why))?;
        }
        Ok(())
    }

    /// The ladder the levels spell, lowest first. `None` when the matrix defines no level.
    pub fn ladder(&self) -> Option<Ladder> {
        if self.levels.is_empty() {
            return None;
        }
        Some(Ladder { levels: self.levels.iter().map(|l| l.id.clone()).collect() })
    }

    pub fn level(&self, id: &LevelId) -> Option<&LevelSpec> {
        self.levels.iter().find(|l| &l.id == id)
    }

    /// The most a user with `role` (and login `user`) may grant for `action` without
    /// approval: the user's own override when there is one, else the role's limit. `None`
    /// when the matrix says nothing about the action or the role (nothing may be granted).
    pub fn authority_limit(&self, action: &str, role: Role, user: Option<&str>) -> Option<f64> {
        let rule = self.authority.iter().find(|a| a.action == action)?;
        if let Some(limit) = user.and_then(|u| rule.user_overrides.get(u)) {
            return Some(*limit);
        }
        rule.limits.get(&role).copied()
    }
}

/// When a team is at work: a time zone, weekly hours, holidays and one-off overrides.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Calendar {
    /// IANA time zone, e.g. "America/New_York".
    pub timezone: String,
    /// Opening windows by days: keys such as "mon-fri", "sat", "sat,sun", "daily"; values a
    /// window "08:00-20:00", several ["08:00-12:00", "13:00-17:00"], or "closed". A window
    /// ending before it starts runs overnight ("22:00-06:00").
    #[schemars(default, with = "BTreeMap<String, Windows>")]
    pub hours: WeeklyHours,
    /// Whole days off, "YYYY-MM-DD".
    #[schemars(default, with = "Vec<DateText>")]
    pub holidays: Vec<Date>,
    /// One-off hours for a date ("YYYY-MM-DD" keys): windows, or "closed".
    #[schemars(default, with = "BTreeMap<String, Windows>")]
    pub overrides: BTreeMap<Date, Vec<Window>>,
}

impl Calendar {
    /// The windows that start on `date`: the override for the date, nothing on a holiday,
    /// else the weekday's hours.
    pub fn windows_on(&self, date: Date) -> &[Window] {
        if let Some(o) = self.overrides.get(&date) {
            return o;
        }
        if self.holidays.contains(&date) {
            return &[];
        }
        self.hours.on(date.weekday())
    }

    /// Whether the calendar has any open time at all in a normal week.
    pub fn has_open_hours(&self) -> bool {
        self.hours.days.iter().any(|d| d.iter().any(|w| !w.length.is_zero()))
    }
}

/// Opening windows for each day of the week, Monday first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeeklyHours {
    pub days: [Vec<Window>; 7],
}

impl WeeklyHours {
    pub fn on(&self, day: Weekday) -> &[Window] {
        &self.days[day.to_monday_zero_offset() as usize]
    }
}

/// One opening window, e.g. `08:00-20:00`. A window whose end is not after its start runs
/// overnight into the next day (`22:00-06:00` is eight hours); `00:00-24:00` is the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    pub start: Time,
    /// Between one minute and 24 hours.
    pub length: SignedDuration,
}

impl Window {
    /// How long after midnight the window opens.
    pub fn opens_after_midnight(&self) -> SignedDuration {
        SignedDuration::from_secs(i64::from(self.start.hour()) * 3600 + i64::from(self.start.minute()) * 60)
    }

    /// Whether the window runs past midnight.
    pub fn is_overnight(&self) -> bool {
        self.opens_after_midnight() + self.length > SignedDuration::from_hours(24)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let start_minutes = i64::from(self.start.hour()) * 60 + i64::from(self.start.minute());
        let end_minutes = start_minutes + self.length.as_secs() / 60;
        let end = if end_minutes == 24 * 60 { 24 * 60 } else { end_minutes % (24 * 60) };
        write!(f, "{:02}:{:02}-{:02}:{:02}", start_minutes / 60, start_minutes % 60, end / 60, end % 60)
    }
}

/// One rung of the ladder and how fast it must act.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LevelSpec {
    /// Short unique id, e.g. "L2".
    #[schemars(with = "String")]
    pub id: LevelId,
    /// Defaults to the id.
    #[schemars(default)]
    pub name: String,
    /// When a case belongs at this level, in words (the seeds' "criteria" column).
    pub criteria: Option<String>,
    /// Slugs of the teams that work this level.
    #[schemars(default, with = "OneOrMany<String>")]
    pub teams: Vec<String>,
    /// Roles that work this level.
    #[schemars(default, with = "OneOrMany<Role>")]
    pub roles: Vec<Role>,
    /// The level's own targets, written on the level: `respond`, `update`, `resolve`.
    #[schemars(flatten)]
    pub targets: Targets,
    /// Targets that differ by priority; unset fields fall back to the level's own.
    #[schemars(default)]
    pub by_priority: BTreeMap<Priority, Targets>,
    /// Targets that differ by customer segment (`vip` …); they win over `by_priority`.
    #[schemars(default)]
    pub by_segment: BTreeMap<String, Targets>,
    /// The calendar the targets count in; none counts every hour (24×7).
    pub calendar: Option<String>,
}

impl LevelSpec {
    /// The targets for a case of `priority` for a customer in `segment`: each field from the
    /// segment's override, else the priority's, else the level's own.
    pub fn targets_for(&self, priority: Priority, segment: Option<&str>) -> Targets {
        let mut t = self.targets;
        if let Some(p) = self.by_priority.get(&priority) {
            t = p.or(t);
        }
        if let Some(s) = segment.and_then(|s| self.by_segment.get(s)) {
            t = s.or(t);
        }
        t
    }
}

/// Response, update and resolution targets: "0m", "90s", "15m", "1h30m", "8h", "5d". A
/// target left out is no target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Targets {
    /// First response after the case reaches the level.
    #[schemars(with = "Option<DurationText>")]
    pub respond: Option<SignedDuration>,
    /// Longest silence towards the customer while the case is worked.
    #[schemars(with = "Option<DurationText>")]
    pub update: Option<SignedDuration>,
    /// Resolution target.
    #[schemars(with = "Option<DurationText>")]
    pub resolve: Option<SignedDuration>,
}

impl Targets {
    /// Each field from `self`, falling back to `base`.
    pub fn or(self, base: Targets) -> Targets {
        Targets {
            respond: self.respond.or(base.respond),
            update: self.update.or(base.update),
            resolve: self.resolve.or(base.resolve),
        }
    }

    pub fn get(&self, kind: TargetKind) -> Option<SignedDuration> {
        match kind {
            TargetKind::Respond => self.respond,
            TargetKind::Update => self.update,
            TargetKind::Resolve => self.resolve,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.respond.is_none() && self.update.is_none() && self.resolve.is_none()
    }
}

/// Which of the three targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TargetKind {
    Respond,
    Update,
    Resolve,
}

impl TargetKind {
    pub const ALL: [TargetKind; 3] = [TargetKind::Respond, TargetKind::Update, TargetKind::Resolve];
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Respond => "respond",
            TargetKind::Update => "update",
            TargetKind::Resolve => "resolve",
        }
    }
}

/// What makes the engine evaluate the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Trigger {
    #[default]
    CaseOpened,
    MessageReceived,
    StatusChanged,
    CustomerRequestedSupervisor,
    ClockAtRisk,
    ClockBreached,
    Reopened,
    RepeatContact,
}

impl Trigger {
    pub const ALL: [Trigger; 8] = [
        Trigger::CaseOpened,
        Trigger::MessageReceived,
        Trigger::StatusChanged,
        Trigger::CustomerRequestedSupervisor,
        Trigger::ClockAtRisk,
        Trigger::ClockBreached,
        Trigger::Reopened,
        Trigger::RepeatContact,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::CaseOpened => "case_opened",
            Trigger::MessageReceived => "message_received",
            Trigger::StatusChanged => "status_changed",
            Trigger::CustomerRequestedSupervisor => "customer_requested_supervisor",
            Trigger::ClockAtRisk => "clock_at_risk",
            Trigger::ClockBreached => "clock_breached",
            Trigger::Reopened => "reopened",
            Trigger::RepeatContact => "repeat_contact",
        }
    }
    pub fn parse(s: &str) -> Option<Trigger> {
        Trigger::ALL.into_iter().find(|t| t.as_str() == s)
    }
    /// Position in [`Trigger::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule: on a trigger, when the CEL condition holds, do the actions. Actions go in
/// `then` or directly on the rule.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Rule {
    /// Unique; recorded as the reason for what the rule does.
    pub name: String,
    /// Why the rule exists, in words.
    pub description: Option<String>,
    /// Default case_opened.
    #[schemars(default)]
    pub trigger: Trigger,
    /// CEL over case, customer, contact, event and now, e.g.
    /// 'case.category == "billing" && customer.value >= 10000'. None always holds.
    pub when: Option<String>,
    #[schemars(flatten, with = "RuleActions")]
    pub actions: Vec<Action>,
    /// When the rule fires, later rules of the same trigger are skipped.
    #[schemars(default)]
    pub stop: bool,
    /// Position in the file (0-based); rules are evaluated in this order.
    #[schemars(skip)]
    pub order: usize,
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Functional: to a team with the skill. Hierarchical: up to a level or a role. With
    /// neither level nor team, a hierarchical escalation goes one level up.
    Escalate {
        kind: EscalationKind,
        to_level: Option<LevelId>,
        to_team: Option<String>,
        role: Option<Role>,
    },
    SetPriority(Priority),
    AddTags(Vec<String>),
    /// Hand the case to a team without escalating (e.g. the outbound call-back queue).
    Route {
        team: String,
    },
    Notify {
        who: Recipient,
        channel: NotifyChannel,
        template: Option<String>,
        /// Hold the notification until the recipient's working hours (the calendar of the
        /// level they work) begin, instead of sending it at night.
        within_hours: bool,
    },
    /// The named authority action (`refund` …) needs approval; the amount is read from the
    /// case at `amount_field` (a CEL path such as `case.custom_fields.amount`).
    RequireApproval {
        action: String,
        amount_field: Option<String>,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Escalate { kind, to_level, to_team, role } => {
                write!(f, "escalate ({})", kind.name())?;
                match to_level {
                    Some(l) => write!(f, " to {l}")?,
                    None if to_team.is_none() => write!(f, " one level up")?,
                    None => {}
                }
                if let Some(t) = to_team {
                    write!(f, " team {t}")?;
                }
                if let Some(r) = role {
                    write!(f, " role {}", r.as_str())?;
                }
                Ok(())
            }
            Action::SetPriority(p) => write!(f, "set priority {}", p.as_str()),
            Action::AddTags(tags) => write!(f, "add tags {}", tags.join(", ")),
            Action::Route { team } => write!(f, "route to team {team}"),
            Action::Notify { who, channel, template, within_hours } => {
                write!(f, "notify {who} by {}", channel.as_str())?;
                if let Some(t) = template {
                    write!(f, " with template {t}")?;
                }
                if *within_hours {
                    write!(f, " within working hours")?;
                }
                Ok(())
            }
            Action::RequireApproval { action, amount_field } => {
                write!(f, "require approval for {action}")?;
                if let Some(a) = amount_field {
                    write!(f, " (amount from {a})")?;
                }
                Ok(())
            }
        }
    }
}

/// Who a notification goes to. Written `assignee`, `customer`, `team` (the case's team),
/// `team:SLUG`, `role:ROLE`, `user:NAME` or `on_call:SLUG`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Recipient {
    Assignee,
    Customer,
    CaseTeam,
    Team(String),
    Role(Role),
    User(String),
    OnCall(String),
}

impl Recipient {
    pub fn parse(s: &str) -> Option<Recipient> {
        match s {
            "assignee" => return Some(Recipient::Assignee),
            "customer" => return Some(Recipient::Customer),
            "team" => return Some(Recipient::CaseTeam),
            _ => {}
        }
        let (kind, name) = s.split_once(':')?;
        if name.is_empty() {
            return None;
        }
        match kind {
            "team" => Some(Recipient::Team(name.to_string())),
            "role" => Role::parse(name).map(Recipient::Role),
            "user" => Some(Recipient::User(name.to_string())),
            "on_call" => Some(Recipient::OnCall(name.to_string())),
            _ => None,
        }
    }

    /// The team slug this recipient names, if any.
    pub fn team(&self) -> Option<&str> {
        match self {
            Recipient::Team(t) | Recipient::OnCall(t) => Some(t),
            _ => None,
        }
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Assignee => f.write_str("assignee"),
            Recipient::Customer => f.write_str("customer"),
            Recipient::CaseTeam => f.write_str("team"),
            Recipient::Team(t) => write!(f, "team:{t}"),
            Recipient::Role(r) => write!(f, "role:{}", r.as_str()),
            Recipient::User(u) => write!(f, "user:{u}"),
            Recipient::OnCall(t) => write!(f, "on_call:{t}"),
        }
    }
}

/// How a notification is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum NotifyChannel {
    #[default]
    Email,
    Sms,
    Voice,
    Chat,
    Push,
    Webhook,
}

impl NotifyChannel {
    pub const ALL: [NotifyChannel; 6] = [
        NotifyChannel::Email,
        NotifyChannel::Sms,
        NotifyChannel::Voice,
        NotifyChannel::Chat,
        NotifyChannel::Push,
        NotifyChannel::Webhook,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyChannel::Email => "email",
            NotifyChannel::Sms => "sms",
            NotifyChannel::Voice => "voice",
            NotifyChannel::Chat => "chat",
            NotifyChannel::Push => "push",
            NotifyChannel::Webhook => "webhook",
        }
    }
    pub fn parse(s: &str) -> Option<NotifyChannel> {
        NotifyChannel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Limits for one kind of action (credit, refund, fee_waiver, replacement …): what each
/// role may grant without approval.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AuthorityRule {
    /// `credit`, `refund`, `fee_waiver`, `replacement` …
    pub action: String,
    /// The most each role may grant without approval.
    #[schemars(default)]
    pub limits: BTreeMap<Role, f64>,
    /// Per-user limits by login name; they replace the role's limit for that user.
    #[schemars(default, rename = "users")]
    pub user_overrides: BTreeMap<String, f64>,
    /// How long an approval request for this action may wait for a decision, e.g. "2h" (an
    /// SLA clock counted 24x7); none: no clock.
    #[schemars(with = "Option<DurationText>")]
    pub approve_within: Option<jiff::SignedDuration>,
    /// Over what grants of the action add up against a limit: `case` (every grant on the
    /// case, the default) or `customer_day` (every grant to the customer, on any of their
    /// cases, in the 24 hours before). Granting in several small steps cannot get round it.
    #[schemars(default)]
    pub window: AuthorityWindow,
}

/// Where an authority limit counts grants together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthorityWindow {
    /// Every grant of the action on the same case.
    #[default]
    Case,
    /// Every grant of the action to the same customer, on any case, in the 24 hours before.
    CustomerDay,
}

impl AuthorityWindow {
    pub const ALL: [AuthorityWindow; 2] = [AuthorityWindow::Case, AuthorityWindow::CustomerDay];
    /// How long back a `customer_day` window reaches.
    pub const DAY: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

    pub fn as_str(self) -> &'static str {
        match self {
            AuthorityWindow::Case => "case",
            AuthorityWindow::CustomerDay => "customer_day",
        }
    }

    /// "on this case", "to this customer in the last 24 hours".
    pub fn describe(self) -> &'static str {
        match self {
            AuthorityWindow::Case => "on this case",
            AuthorityWindow::CustomerDay => "to this customer in the last 24 hours",
        }
    }

    /// Whether a grant made `at` still counts `now`.
    pub fn counts(self, at: Timestamp, now: Timestamp) -> bool {
        match self {
            AuthorityWindow::Case => true,
            AuthorityWindow::CustomerDay => now.duration_since(at) < Self::DAY,
        }
    }
}

/// IT incident severity, `SEV1` the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IncidentSeverity {
    Sev1,
    Sev2,
    Sev3,
    Sev4,
}

impl IncidentSeverity {
    pub const ALL: [IncidentSeverity; 4] =
        [IncidentSeverity::Sev1, IncidentSeverity::Sev2, IncidentSeverity::Sev3, IncidentSeverity::Sev4];
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentSeverity::Sev1 => "SEV1",
            IncidentSeverity::Sev2 => "SEV2",
            IncidentSeverity::Sev3 => "SEV3",
            IncidentSeverity::Sev4 => "SEV4",
        }
    }
    /// Accepts `SEV1` … `SEV4` in any case.
    pub fn parse(s: &str) -> Option<IncidentSeverity> {
        IncidentSeverity::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for IncidentSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an IT incident of one severity pages people until someone acknowledges.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct IncidentPolicy {
    pub id: String,
    /// Defaults to the id.
    #[schemars(default)]
    pub name: String,
    pub severity: IncidentSeverity,
    /// Followed in order; each waits `ack_timeout` for an acknowledgement before the next.
    pub steps: Vec<IncidentStep>,
    /// How many more times the steps run when nobody acknowledged.
    #[schemars(default)]
    pub repeat: u32,
}

/// One step of an incident policy.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct IncidentStep {
    /// Recipients: on_call:SLUG, team:SLUG, role:ROLE, user:NAME …
    #[schemars(with = "OneOrMany<RecipientText>")]
    pub notify: Vec<Recipient>,
    /// Channels tried for every recipient; email when not given.
    #[schemars(default, with = "OneOrMany<NotifyChannel>")]
    pub channels: Vec<NotifyChannel>,
    /// How long to wait for an acknowledgement before the next step.
    #[schemars(with = "DurationText")]
    pub ack_timeout: SignedDuration,
}

/// Parses a duration written as units in descending order: `0m`, `90s`, `15m`, `1h30m`,
/// `8h`, `5d` (a day is 24 hours). `None` when it is not of that form.
pub fn parse_duration(s: &str) -> Option<SignedDuration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(SignedDuration::ZERO);
    }
    let mut total: i64 = 0;
    let mut last_unit = usize::MAX;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        let unit = rest[digits..].chars().next()?;
        let (rank, secs) = match unit {
            'd' => (0, 86_400),
            'h' => (1, 3600),
            'm' => (2, 60),
            's' => (3, 1),
            _ => return None,
        };
        if last_unit != usize::MAX && rank <= last_unit {
            return None;
        }
        last_unit = rank;
        total = total.checked_add(n.checked_mul(secs)?)?;
        rest = &rest[digits + 1..];
    }
    Some(SignedDuration::from_secs(total))
}

/// Writes a duration the way [`parse_duration`] reads it: `5d`, `24h`, `1h30m`, `90s` → `1m30s`.
pub fn format_duration(d: SignedDuration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0m".to_string();
    }
    let mut out = String::new();
    if secs < 0 {
        out.push('-');
        secs = -secs;
    }
    // Whole days from two days on (`5d`); `24h` and `36h` read better in hours.
    let days = secs >= 2 * 86_400 && secs % 86_400 == 0;
    for (unit, size) in [('d', 86_400), ('h', 3600), ('m', 60), ('s', 1)] {
        if unit == 'd' && !days {
            continue;
        }
        if secs >= size {
            out.push_str(&(secs / size).to_string());
            out.push(unit);
            secs %= size;
        }
    }
    out
}

/// Parses `HH:MM-HH:MM` (end may be `24:00`; an end not after the start runs overnight).
pub fn parse_window(s: &str) -> Option<Window> {
    let (a, b) = s.trim().split_once('-')?;
    let start = parse_minutes(a.trim())?;
    let end = parse_minutes(b.trim())?;
    if start >= 24 * 60 {
        return None;
    }
    let length = if end > start { end - start } else { end + 24 * 60 - start };
    if length > 24 * 60 {
        return None;
    }
    let start = Time::new((start / 60) as i8, (start % 60) as i8, 0, 0).ok()?;
    Some(Window { start, length: SignedDuration::from_mins(i64::from(length)) })
}

fn parse_minutes(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

/// Parses a day spec: `mon`, `mon-fri`, `sat,sun`, `daily` / `every day`, `weekdays`,
/// `weekends`. Returns the days as Monday-zero offsets.
pub fn parse_days(s: &str) -> Option<Vec<usize>> {
    let s = s.trim().to_ascii_lowercase();
    match s.as_str() {
        "daily" | "every day" | "mon-sun" => return Some((0..7).collect()),
        "weekdays" => return Some((0..5).collect()),
        "weekends" | "weekend" => return Some(vec![5, 6]),
        _ => {}
    }
    let mut days = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day_index(a.trim())?, day_index(b.trim())?);
                // A range may wrap around the week end: `fri-mon`.
                let mut d = a;
                loop {
                    days.push(d);
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days.push(day_index(part)?),
        }
    }
    days.sort_unstable();
    days.dedup();
    Some(days)
}

pub(crate) const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(s: &str) -> Option<usize> {
    const FULL: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    DAY_NAMES.iter().position(|d| *d == s).or_else(|| FULL.iter().position(|d| *d == s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        for (s, secs) in [("0m", 0), ("90s", 90), ("15m", 900), ("1h30m", 5400), ("8h", 28_800), ("5d", 432_000)] {
            let d = parse_duration(s).unwrap();
            assert_eq!(d.as_secs(), secs, "{s}");
        }
        assert_eq!(format_duration(SignedDuration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(SignedDuration::from_secs(432_000)), "5d");
        assert_eq!(format_duration(SignedDuration::from_hours(24)), "24h");
        assert_eq!(format_duration(SignedDuration::from_hours(36)), "36h");
        for bad in ["", "1", "h", "1x", "30m1h", "1h1h", "-1h", "1.5h", "1 h"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn windows() {
        assert_eq!(parse_window("08:00-20:00").unwrap().to_string(), "08:00-20:00");
        let night = parse_window("22:00-06:00").unwrap();
        assert_eq!(night.length, SignedDuration::from_hours(8));
        assert!(night.is_overnight());
        assert_eq!(parse_window("00:00-24:00").unwrap().to_string(), "00:00-24:00");
        for bad in ["25:00-26:00", "8-20", "08:60-09:00", "24:00-01:00", "08:00"] {
            assert_eq!(parse_window(bad), None, "{bad}");
        }
    }

    #[test]
    fn days() {
        assert_eq!(parse_days("mon-fri"), Some(vec![0, 1, 2, 3, 4]));
        assert_eq!(parse_days("sat"), Some(vec![5]));
        assert_eq!(parse_days("fri-mon"), Some(vec![0, 4, 5, 6]));
        assert_eq!(parse_days("mon,wed"), Some(vec![0, 2]));
        assert_eq!(parse_days("mon-fry"), None);
    }
}
