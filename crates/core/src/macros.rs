//! Macros: canned replies a team shares or an agent keeps for themselves, with placeholders
//! filled in from the case, and optional actions taken with the reply (add tags, resolve).
//! Who may use or change one is `access`'s rule ([`crate::access::Action::UseMacro`],
//! [`crate::access::Action::ManageMacro`]).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::ids::{TeamId, UserId};
use crate::validate::{handle, non_empty};

/// The longest macro body, in characters (a reply, not a document).
pub const MAX_MACRO_BODY: usize = 10_000;
/// The longest macro name, in characters.
pub const MAX_MACRO_NAME: usize = 100;
/// At most this many tags a macro adds.
pub const MAX_MACRO_TAGS: usize = 10;

/// The placeholders a body may use, each `{{name}}`.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("customer.name", "the customer's name (\"there\" when the case has no customer)"),
    ("case.number", "the case number, without #"),
    ("case.subject", "the case's subject"),
    ("agent.name", "the display name of the person sending the reply"),
];

/// Whose a macro is: a team's (its members use it; its supervisors manage it) or one user's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum MacroOwner {
    Team(TeamId),
    User(UserId),
}

/// A canned reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Macro {
    pub id: Uuid,
    pub owner: MacroOwner,
    pub name: String,
    /// The reply's text, with `{{placeholders}}`.
    pub body: String,
    /// Tags added to the case when the reply is sent.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// Resolve the case with this resolution code when the reply is sent.
    #[serde(default)]
    pub resolve_code: Option<String>,
    pub updated_at: Timestamp,
}

/// What fills a body's placeholders.
#[derive(Debug, Clone, Default)]
pub struct MacroContext<'a> {
    pub customer_name: Option<&'a str>,
    pub case_number: u64,
    pub case_subject: &'a str,
    pub agent_name: &'a str,
}

/// Checks a macro's fields; the error names the field.
pub fn validate_macro(m: &Macro) -> Result<(), DomainError> {
    non_empty("name", &m.name, MAX_MACRO_NAME)?;
    non_empty("body", &m.body, MAX_MACRO_BODY)?;
    if let Some(unknown) = unknown_placeholder(&m.body) {
        let known: Vec<String> = PLACEHOLDERS.iter().map(|(p, _)| format!("{{{{{p}}}}}")).collect();
        return Err(DomainError::invalid(
            "body",
            format!("{{{{{unknown}}}}} is not a placeholder; use {}", known.join(", ")),
        ));
    }
    if m.add_tags.len() > MAX_MACRO_TAGS {
        return Err(DomainError::invalid("add_tags", format!("at most {MAX_MACRO_TAGS} tags")));
    }
    for tag in &m.add_tags {
        handle("add_tags", tag)?;
    }
    if let Some(code) = &m.resolve_code {
        handle("resolve_code", code)?;
    }
    Ok(())
}

/// The first `{{…}}` of `body` that is not a known placeholder.
fn unknown_placeholder(body: &str) -> Option<String> {
    first_unknown_placeholder(body, PLACEHOLDERS)
}

/// The first `{{…}}` of `text` whose name is not one of `known`'s (the notification
/// templates' placeholders are checked with this too).
pub(crate) fn first_unknown_placeholder(text: &str, known: &[(&str, &str)]) -> Option<String> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}")?;
        let name = after[..end].trim();
        if !known.iter().any(|(p, _)| *p == name) {
            return Some(name.to_string());
        }
        rest = &after[end + 2..];
    }
    None
}

/// The body with its placeholders filled in.
pub fn render(body: &str, cx: &MacroContext) -> String {
    fill_placeholders(body, |name, out| {
        match name {
            "customer.name" => out.push_str(cx.customer_name.unwrap_or("there")),
            "case.number" => out.push_str(&cx.case_number.to_string()),
            "case.subject" => out.push_str(cx.case_subject),
            "agent.name" => out.push_str(cx.agent_name),
            _ => return false,
        }
        true
    })
}

/// `text` with each `{{name}}` replaced by what `fill(name, out)` writes; a name it does
/// not know (it returns `false`) is left as written, and so is an unclosed `{{`.
pub(crate) fn fill_placeholders(text: &str, mut fill: impl FnMut(&str, &mut String) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        if !fill(after[..end].trim(), &mut out) {
            out.push_str(&rest[start..start + 2 + end + 2]);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> MacroContext<'static> {
        MacroContext { customer_name: Some("Fran"), case_number: 994, case_subject: "Modem", agent_name: "Ana" }
    }

    #[test]
    fn placeholders_are_filled_in_and_unknown_text_is_left_alone() {
        for (body, text) in [
            (
                "Hi {{customer.name}}, case #{{ case.number }} is on it. — {{agent.name}}",
                "Hi Fran, case #994 is on it. — Ana",
            ),
            ("About {{case.subject}}", "About Modem"),
            ("{{nope}} and {{ unclosed", "{{nope}} and {{ unclosed"),
            ("no placeholders", "no placeholders"),
        ] {
            assert_eq!(render(body, &cx()), text, "{body}");
        }
        let anonymous = MacroContext { customer_name: None, ..cx() };
        assert_eq!(render("Hi {{customer.name}}", &anonymous), "Hi there");
    }

    #[test]
    fn a_macro_is_checked_field_by_field() {
        let good = Macro {
            id: Uuid::nil(),
            owner: MacroOwner::User(UserId(Uuid::nil())),
            name: "Thanks".into(),
            body: "Thanks {{customer.name}}".into(),
            add_tags: vec!["thanked".into()],
            resolve_code: Some("answered".into()),
            updated_at: Timestamp::UNIX_EPOCH,
        };
        assert_eq!(validate_macro(&good), Ok(()));
        let field = |m: Macro| match validate_macro(&m) {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(Macro { name: " ".into(), ..good.clone() }), "name");
        assert_eq!(field(Macro { body: "Hi {{customer.email}}".into(), ..good.clone() }), "body");
        assert_eq!(field(Macro { add_tags: vec!["Not A Tag".into()], ..good.clone() }), "add_tags");
        assert_eq!(field(Macro { resolve_code: Some("".into()), ..good }), "resolve_code");
    }
}
