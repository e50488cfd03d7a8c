//! The JSON Schema of the matrix file, for editor completion (`ladder matrix schema`;
//! TOML editors such as Taplo and Even Better TOML read JSON Schemas).
//!
//! The schema is derived from the model types ([`Matrix`] and its parts): their fields are
//! the file's keys and their doc comments the descriptions. This module holds only how the
//! file writes what the model keeps parsed — durations, windows and dates as text, a string
//! or a list of them, a rule's actions as keys of a table — and the schemas of the sets of
//! names, listed by `Named`. The parser in [`parse`](super::parse) is what reads files;
//! a test below checks that its key tables are the schema's properties.

#![allow(dead_code)]

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use std::borrow::Cow;

use super::model::{AuthorityWindow, FieldType, IncidentSeverity, Matrix, Named, NotifyChannel, SlaSettings, Trigger};
use crate::case::Priority;
use crate::directory::Role;
use crate::event::EscalationKind;

const DURATION: &str = r"^(0|([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?)$";
const WINDOW: &str = r"^(closed|[0-2]?[0-9]:[0-5][0-9]-[0-2]?[0-9]:[0-5][0-9])$";
const DATE: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// A set of names as a schema: a string, one of the names.
macro_rules! named_schema {
    ($($t:ty),*) => {$(
        impl JsonSchema for $t {
            fn schema_name() -> Cow<'static, str> {
                stringify!($t).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "enum": <$t as Named>::names() })
            }
        }
    )*};
}

named_schema!(Trigger, Role, Priority, NotifyChannel, IncidentSeverity, EscalationKind, FieldType, AuthorityWindow);

/// A duration: "0m", "90s", "15m", "1h30m", "8h", "5d".
#[derive(JsonSchema)]
#[schemars(transparent)]
pub(crate) struct DurationText(#[schemars(pattern(DURATION))] String);

/// An ISO 4217 currency code, e.g. "EUR".
#[derive(JsonSchema)]
#[schemars(transparent)]
pub(crate) struct CurrencyCode(#[schemars(pattern(r"^[A-Z]{3}$"))] String);

/// A calendar date, "YYYY-MM-DD".
#[derive(JsonSchema)]
#[schemars(transparent)]
pub(crate) struct DateText(#[schemars(pattern(DATE))] String);

/// An opening window, "08:00-20:00".
#[derive(JsonSchema)]
#[schemars(transparent)]
pub(crate) struct WindowText(#[schemars(pattern(WINDOW))] String);

/// A day's windows: one window, several, or "closed".
#[derive(JsonSchema)]
#[schemars(untagged)]
pub(crate) enum Windows {
    One(#[schemars(pattern(WINDOW))] String),
    Several(Vec<WindowText>),
}

/// One value, or an array of them.
#[derive(JsonSchema)]
#[schemars(untagged)]
pub(crate) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

/// A recipient: assignee, customer, team, team:SLUG, role:ROLE, user:NAME or on_call:SLUG.
#[derive(JsonSchema)]
#[schemars(transparent)]
pub(crate) struct RecipientText(String);

/// A status `[sla] pause_on` may name.
pub(crate) struct PauseStatus;

impl JsonSchema for PauseStatus {
    fn schema_name() -> Cow<'static, str> {
        "PauseStatus".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = SlaSettings::PAUSABLE.iter().map(|s| s.as_str()).collect();
        json_schema!({ "type": "string", "enum": names })
    }
}

/// A rule's actions as the file writes them: in `then`, or directly on the rule.
#[derive(JsonSchema)]
pub(crate) struct RuleActions {
    /// The actions: one table or an array of tables.
    then: Option<OneOrMany<ActionTable>>,
    #[schemars(flatten)]
    actions: ActionTable,
}

/// Actions. `escalate` with `kind`, `team` and `role` is one escalation; every other key is
/// an action of its own.
#[derive(JsonSchema)]
pub(crate) struct ActionTable {
    /// Escalate to a level id ("L2"), or "next" / true for one level up.
    escalate: Option<EscalateTarget>,
    /// Functional (to a team with the skill; the default with a team) or hierarchical.
    kind: Option<EscalationKind>,
    /// The team to escalate to (needs escalate).
    team: Option<String>,
    /// The role to escalate to (needs escalate).
    role: Option<Role>,
    /// Set the case's priority.
    priority: Option<Priority>,
    /// Add tags.
    tags: Option<OneOrMany<String>>,
    /// Hand the case to a team without escalating.
    route: Option<String>,
    /// Notify someone: a recipient string, a table, or several tables.
    notify: Option<OneOrMany<NotifyForm>>,
    /// The authority action that needs approval, or a table with amount_field.
    require_approval: Option<ApprovalForm>,
}

#[derive(JsonSchema)]
#[schemars(untagged)]
enum EscalateTarget {
    Level(String),
    Next(bool),
}

#[derive(JsonSchema)]
#[schemars(untagged)]
enum NotifyForm {
    Who(RecipientText),
    Table(NotifyTable),
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct NotifyTable {
    who: RecipientText,
    channel: Option<NotifyChannel>,
    template: Option<String>,
    /// Hold the notification until the recipient's working hours begin.
    within_hours: Option<bool>,
}

#[derive(JsonSchema)]
#[schemars(untagged)]
enum ApprovalForm {
    Action(String),
    Table(ApprovalTable),
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ApprovalTable {
    action: String,
    amount_field: Option<String>,
}

/// The JSON Schema (draft 2020-12) of the matrix file.
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(Matrix).to_value()
}

/// The keys of one table of the file, as the schema gives them (sorted).
#[cfg(test)]
fn schema_keys<T: JsonSchema>() -> Vec<String> {
    let schema = schemars::schema_for!(T).to_value();
    let mut keys: Vec<String> = schema["properties"].as_object().expect("an object").keys().cloned().collect();
    keys.sort();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::model::{
        AuthorityRule, Calendar, IncidentPolicy, IncidentStep, LevelSpec, QueueSpec, Rule, Targets,
    };
    use crate::matrix::parse::keys;

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        keys.sort();
        keys
    }

    #[test]
    fn the_parser_reads_the_keys_the_schema_describes() {
        assert_eq!(sorted(keys::TOP), schema_keys::<Matrix>());
        assert_eq!(sorted(keys::QUEUE), schema_keys::<QueueSpec>());
        assert_eq!(sorted(keys::SLA), schema_keys::<SlaSettings>());
        assert_eq!(sorted(keys::METRIC_TARGETS), schema_keys::<crate::matrix::MetricTargets>());
        assert_eq!(sorted(keys::CALENDAR), schema_keys::<Calendar>());
        assert_eq!(sorted(keys::LEVEL), schema_keys::<LevelSpec>());
        assert_eq!(sorted(keys::TARGET), schema_keys::<Targets>());
        assert_eq!(sorted(keys::ACTION), schema_keys::<ActionTable>());
        let mut rule = keys::RULE.to_vec();
        rule.extend_from_slice(keys::ACTION);
        assert_eq!(sorted(&rule), schema_keys::<Rule>());
        assert_eq!(sorted(keys::NOTIFY), schema_keys::<NotifyTable>());
        assert_eq!(sorted(keys::APPROVAL), schema_keys::<ApprovalTable>());
        assert_eq!(sorted(keys::AUTHORITY), schema_keys::<AuthorityRule>());
        assert_eq!(sorted(keys::POLICY), schema_keys::<IncidentPolicy>());
        assert_eq!(sorted(keys::STEP), schema_keys::<IncidentStep>());
    }

    #[test]
    fn names_come_from_the_model() {
        let schema = json_schema();
        let text = schema.to_string();
        for name in Trigger::names().into_iter().chain(IncidentSeverity::names()).chain(NotifyChannel::names()) {
            assert!(text.contains(&format!("\"{name}\"")), "{name} missing from the schema");
        }
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn tables_keyed_by_names_list_them() {
        let schema = json_schema();
        let level = &schema["$defs"]["LevelSpec"]["properties"]["by_priority"]["properties"];
        let authority = &schema["$defs"]["AuthorityRule"]["properties"]["limits"]["properties"];
        for (table, names) in [(level, Priority::names()), (authority, Role::names())] {
            let mut keys: Vec<&str> = table.as_object().expect("a table").keys().map(String::as_str).collect();
            let mut names = names;
            keys.sort_unstable();
            names.sort_unstable();
            assert_eq!(keys, names);
        }
    }
}
