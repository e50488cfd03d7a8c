//! The JSON Schema of the matrix file, for editor completion (`ladder matrix schema`;
//! TOML editors such as Taplo and Even Better TOML read JSON Schemas). The types here only
//! describe the file's shape for schemars: the parser in [`parse`](super::parse) is what
//! reads files, and the tests keep the two in step on the example files.

#![allow(dead_code)]

use std::collections::BTreeMap;

use schemars::JsonSchema;

const DURATION: &str = r"^(0|([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?)$";
const WINDOW: &str = r"^(closed|[0-2]?[0-9]:[0-5][0-9]-[0-2]?[0-9]:[0-5][0-9])$";
const DATE: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// A Ladder escalation matrix: calendars, the ladder of levels with their targets, rules,
/// authority limits and IT incident policies.
#[derive(JsonSchema)]
#[schemars(title = "Ladder escalation matrix", deny_unknown_fields)]
struct MatrixFile {
    /// Business calendars by name, referenced by levels.
    calendars: Option<BTreeMap<String, CalendarFile>>,
    /// The ladder, lowest level first.
    levels: Option<Vec<LevelFile>>,
    /// Rules, evaluated in file order.
    rules: Option<Vec<RuleFile>>,
    /// What each role may grant without approval, per kind of action.
    authority: Option<Vec<AuthorityFile>>,
    /// IT incident policies by severity.
    incident_policies: Option<Vec<IncidentPolicyFile>>,
    /// How SLA clocks pause and warn.
    sla: Option<SlaFile>,
    /// Queue overflow between teams of one level.
    queues: Option<Vec<QueueFile>>,
}

/// Cases waiting unassigned in `team`'s queue for `after` move to `overflow_to`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct QueueFile {
    team: String,
    overflow_to: String,
    after: Duration,
}

/// When a team is at work.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct CalendarFile {
    /// IANA time zone, e.g. "America/New_York".
    timezone: String,
    /// Opening windows by days: keys such as "mon-fri", "sat", "sat,sun", "daily"; values a
    /// window "08:00-20:00", several ["08:00-12:00", "13:00-17:00"], or "closed". A window
    /// ending before it starts runs overnight ("22:00-06:00").
    hours: Option<BTreeMap<String, Windows>>,
    /// Whole days off, "YYYY-MM-DD".
    holidays: Option<Vec<Date>>,
    /// One-off hours for a date ("YYYY-MM-DD" keys): windows, or "closed".
    overrides: Option<BTreeMap<String, Windows>>,
}

#[derive(JsonSchema)]
#[schemars(untagged)]
enum Windows {
    One(#[schemars(pattern(WINDOW))] String),
    Several(Vec<Window>),
}

#[derive(JsonSchema)]
#[schemars(transparent)]
struct Window(#[schemars(pattern(WINDOW))] String);

#[derive(JsonSchema)]
#[schemars(transparent)]
struct Date(#[schemars(pattern(DATE))] String);

#[derive(JsonSchema)]
#[schemars(transparent)]
struct Duration(#[schemars(pattern(DURATION))] String);

/// One rung of the ladder.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct LevelFile {
    /// Short unique id, e.g. "L2".
    id: String,
    name: Option<String>,
    /// When a case belongs at this level, in words.
    criteria: Option<String>,
    /// Slugs of the teams that work this level.
    teams: Option<OneOrMany<String>>,
    /// Roles that work this level.
    roles: Option<OneOrMany<RoleName>>,
    /// First response target: "0m", "90s", "15m", "1h30m", "8h", "5d".
    respond: Option<Duration>,
    /// Longest silence towards the customer while the case is worked.
    update: Option<Duration>,
    /// Resolution target.
    resolve: Option<Duration>,
    /// Targets that differ by priority.
    by_priority: Option<ByPriority>,
    /// Targets that differ by customer segment (they win over by_priority).
    by_segment: Option<BTreeMap<String, TargetsFile>>,
    /// The calendar targets count in; none counts every hour.
    calendar: Option<String>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ByPriority {
    low: Option<TargetsFile>,
    normal: Option<TargetsFile>,
    high: Option<TargetsFile>,
    urgent: Option<TargetsFile>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct TargetsFile {
    respond: Option<Duration>,
    update: Option<Duration>,
    resolve: Option<Duration>,
}

#[derive(JsonSchema)]
#[schemars(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

#[derive(JsonSchema)]
#[schemars(rename_all = "snake_case")]
enum RoleName {
    Agent,
    Supervisor,
    Manager,
    Admin,
}

#[derive(JsonSchema)]
#[schemars(rename_all = "snake_case")]
enum PriorityName {
    Low,
    Normal,
    High,
    Urgent,
}

#[derive(JsonSchema)]
#[schemars(rename_all = "snake_case")]
enum TriggerName {
    CaseOpened,
    MessageReceived,
    StatusChanged,
    CustomerRequestedSupervisor,
    ClockAtRisk,
    ClockBreached,
    Reopened,
    RepeatContact,
}

#[derive(JsonSchema)]
#[schemars(rename_all = "snake_case")]
enum EscalationKindName {
    Functional,
    Hierarchical,
}

#[derive(JsonSchema)]
#[schemars(rename_all = "snake_case")]
enum ChannelName {
    Email,
    Sms,
    Voice,
    Chat,
    Push,
    Webhook,
}

/// A rule: on a trigger, when the CEL condition holds, do the actions. Actions go in
/// `then` or directly on the rule.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct RuleFile {
    /// Unique; recorded as the reason for what the rule does.
    name: String,
    description: Option<String>,
    /// Default case_opened.
    trigger: Option<TriggerName>,
    /// CEL over case, customer, contact, event and now, e.g.
    /// 'case.category == "billing" && customer.value >= 10000'.
    when: Option<String>,
    /// When the rule fires, later rules of the same trigger are skipped.
    stop: Option<bool>,
    /// The actions: one table or an array of tables.
    then: Option<OneOrMany<ActionsFile>>,
    #[schemars(flatten)]
    actions: ActionsFile,
}

/// Actions. `escalate` with `kind`, `team` and `role` is one escalation; every other key is
/// an action of its own.
#[derive(JsonSchema)]
struct ActionsFile {
    /// Escalate to a level id ("L2"), or "next" / true for one level up.
    escalate: Option<EscalateTarget>,
    /// Functional (to a team with the skill; the default with a team) or hierarchical.
    kind: Option<EscalationKindName>,
    /// The team to escalate to (needs escalate).
    team: Option<String>,
    /// The role to escalate to (needs escalate).
    role: Option<RoleName>,
    /// Set the case's priority.
    priority: Option<PriorityName>,
    /// Add tags.
    tags: Option<OneOrMany<String>>,
    /// Hand the case to a team without escalating.
    route: Option<String>,
    /// Notify someone: a recipient string, a table, or several tables.
    notify: Option<OneOrMany<NotifyFile>>,
    /// The authority action that needs approval, or a table with amount_field.
    require_approval: Option<ApprovalFile>,
}

#[derive(JsonSchema)]
#[schemars(untagged)]
enum EscalateTarget {
    Level(String),
    Next(bool),
}

#[derive(JsonSchema)]
#[schemars(untagged)]
enum NotifyFile {
    /// assignee, customer, team, team:SLUG, role:ROLE, user:NAME or on_call:SLUG.
    Who(String),
    Table {
        who: String,
        channel: Option<ChannelName>,
        template: Option<String>,
        /// Hold the notification until the recipient's working hours begin.
        within_hours: Option<bool>,
    },
}

/// How SLA clocks behave.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct SlaFile {
    /// Statuses in which every clock pauses: "pending_customer", "pending_internal".
    /// Default ["pending_customer"].
    pause_on: Option<Vec<PauseStatus>>,
    /// Percentages of a target (1-99) at which a clock warns. Default [75].
    warn_at: Option<Vec<u8>>,
}

#[derive(JsonSchema)]
#[schemars(rename_all = "snake_case")]
enum PauseStatus {
    PendingCustomer,
    PendingInternal,
}

#[derive(JsonSchema)]
#[schemars(untagged)]
enum ApprovalFile {
    Action(String),
    Table { action: String, amount_field: Option<String> },
}

/// Limits for one kind of action (credit, refund, fee_waiver, replacement …).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct AuthorityFile {
    action: String,
    /// The most each role may grant without approval.
    limits: Option<Limits>,
    /// Per-user limits by login name; they replace the role's.
    users: Option<BTreeMap<String, f64>>,
    /// How long an approval request may wait for a decision, e.g. "2h".
    approve_within: Option<Duration>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Limits {
    agent: Option<f64>,
    supervisor: Option<f64>,
    manager: Option<f64>,
    admin: Option<f64>,
}

/// How an incident of one severity pages people until someone acknowledges.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct IncidentPolicyFile {
    id: String,
    name: Option<String>,
    severity: SeverityName,
    steps: Vec<StepFile>,
    /// How many more times the steps run when nobody acknowledged.
    repeat: Option<u32>,
}

#[derive(JsonSchema)]
enum SeverityName {
    #[schemars(rename = "SEV1")]
    Sev1,
    #[schemars(rename = "SEV2")]
    Sev2,
    #[schemars(rename = "SEV3")]
    Sev3,
    #[schemars(rename = "SEV4")]
    Sev4,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct StepFile {
    /// Recipients: on_call:SLUG, team:SLUG, role:ROLE, user:NAME …
    notify: OneOrMany<String>,
    /// Default email.
    channels: Option<OneOrMany<ChannelName>>,
    /// How long to wait for an acknowledgement before the next step.
    ack_timeout: Duration,
}

/// The JSON Schema (draft 2020-12) of the matrix file.
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(MatrixFile).to_value()
}
