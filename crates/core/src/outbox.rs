//! Notifications: who a case's events ask to be told, on which channel, with what text,
//! and when each delivery is attempted. Pure, with `now` passed in: the store writes one
//! outbox row per recipient and channel in the transaction of the event that asked
//! ([`notices`]), and the engine's delivery worker sends them, asking [`next_attempt`] when
//! a try failed.
//!
//! Events that notify: a matrix rule's `notify` (`notification_requested`), an escalation
//! (its new team, or the person it was escalated to), an SLA warning or breach (the
//! assignee, else the case's team) and an approval waiting (the users of the approver's
//! role). The last three are notified without a rule, so an escalation reaches its people
//! even with no matrix in force. A public reply from staff tells the case's customer
//! (`message_added`, by email — by SMS when the reply went out on SMS), with the link to
//! their case on the portal (`{{portal_url}}`, minted when the notice is sent).

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::case::{Actor, Case, Channel, Visibility};
use crate::error::DomainError;
use crate::event::{CaseEvent, MessageAdded};

/// A notification a case event asks for, before its recipient is resolved to addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The event kind that asked (`escalated`, `clock_breached` …): it picks the template.
    pub event_kind: &'static str,
    /// `assignee`, `customer`, `team`, `team:SLUG`, `role:ROLE`, `user:NAME` or `on_call:SLUG`.
    pub recipient: String,
    /// `email`, `sms`, `voice`, `chat`, `push` or `webhook`.
    pub channel: String,
    /// A template name the rule chose; `None`: the event kind's.
    pub template: Option<String>,
    /// Not to be sent before this instant (held until the recipient's working hours).
    pub not_before: Option<Timestamp>,
}

/// Whether an event asks for notifications (the cheap test before [`notices`]).
pub fn notifies(event: &CaseEvent) -> bool {
    matches!(
        event,
        CaseEvent::NotificationRequested(_)
            | CaseEvent::Escalated(_)
            | CaseEvent::ClockAtRisk(_)
            | CaseEvent::ClockBreached(_)
            | CaseEvent::ApprovalRequested(_)
    ) || customer_reply(event).is_some()
}

/// A public reply the customer is told of: a message staff (or a rule) wrote, not the
/// customer's own words.
fn customer_reply(event: &CaseEvent) -> Option<&MessageAdded> {
    match event {
        CaseEvent::MessageAdded(m)
            if m.visibility == Visibility::Public && !matches!(m.author, Actor::Customer { .. }) =>
        {
            Some(m)
        }
        _ => None,
    }
}

/// The notifications one event asks for; `case` is the case after the event.
pub fn notices(case: &Case, event: &CaseEvent) -> Vec<Notice> {
    let notice = |recipient: String, channel: &str| Notice {
        event_kind: event.kind(),
        recipient,
        channel: channel.to_string(),
        template: None,
        not_before: None,
    };
    let staff = || if case.assignee.is_some() { "assignee" } else { "team" }.to_string();
    match event {
        CaseEvent::NotificationRequested(n) => vec![Notice {
            event_kind: event.kind(),
            recipient: n.recipient.clone(),
            channel: n.channel.clone(),
            template: n.template.clone(),
            not_before: n.not_before,
        }],
        CaseEvent::Escalated(e) => {
            vec![notice(if e.to_user.is_some() { "assignee".into() } else { "team".into() }, "email")]
        }
        CaseEvent::ClockAtRisk(_) | CaseEvent::ClockBreached(_) => vec![notice(staff(), "email")],
        CaseEvent::ApprovalRequested(a) => vec![notice(format!("role:{}", a.approver_role.as_str()), "email")],
        CaseEvent::MessageAdded(m) if case.customer.is_some() && customer_reply(event).is_some() => {
            vec![notice("customer".into(), if m.channel == Channel::Sms { "sms" } else { "email" })]
        }
        _ => Vec::new(),
    }
}

/// The values a template's placeholders take for one event, stored with the delivery so a
/// retry sends the same words and a template edit applies to what is still pending.
pub fn placeholders(case: &Case, event: &CaseEvent) -> BTreeMap<String, String> {
    let mut values = case_placeholders(case);
    let mut put = |k: &str, v: String| {
        values.insert(k.to_string(), v);
    };
    put("event.kind", event.kind().to_string());
    let detail = match event {
        CaseEvent::NotificationRequested(n) => format!("rule {}", n.rule),
        CaseEvent::Escalated(e) => format!("escalated from {} to {}: {}", e.from_level, e.to_level, e.reason),
        CaseEvent::ClockAtRisk(c) => format!("{} clock {}% spent, due {}", wire_name(&c.clock), c.percent, c.due_at),
        CaseEvent::ClockBreached(c) => format!("{} clock breached, was due {}", wire_name(&c.clock), c.due_at),
        CaseEvent::ApprovalRequested(a) => format!("approval wanted: {} of {}", a.action, a.amount),
        CaseEvent::MessageAdded(_) => "a reply".to_string(),
        _ => String::new(),
    };
    put("event.detail", detail);
    if let Some(m) = customer_reply(event) {
        put("message.body", m.body.clone());
    }
    // Whom a portal link is minted for, when the notice is sent (not a secret).
    if let Some(customer) = case.customer {
        put(PORTAL_CUSTOMER, customer.to_string());
    }
    values
}

/// The case's placeholder values (`case.*`), as they are now.
pub fn case_placeholders(case: &Case) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("case.number".to_string(), case.number.to_string()),
        ("case.subject".to_string(), case.subject.clone()),
        ("case.priority".to_string(), wire_name(&case.priority)),
        ("case.status".to_string(), wire_name(&case.status)),
        ("case.level".to_string(), case.level.to_string()),
    ])
}

fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The placeholders a template may use, each `{{name}}`.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("case.number", "the case number, without #"),
    ("case.subject", "the case's subject"),
    ("case.priority", "the case's priority"),
    ("case.status", "the case's status"),
    ("case.level", "the case's level"),
    ("event.kind", "what happened: escalated, clock_at_risk, clock_breached, approval_requested …"),
    ("event.detail", "one line on what happened (levels and reason, the clock, the amount)"),
    ("recipient", "who the notification is for (assignee, team:billing, user:ana …)"),
    ("message.body", "the reply the customer is told of (message_added)"),
    ("portal_url", "the customer's signed link to the case on the portal, minted when the notice is sent"),
];

/// The stored value naming the case's customer, for the portal link minted at sending.
pub const PORTAL_CUSTOMER: &str = "case.customer_id";

/// The longest template subject and body, in bytes.
pub const MAX_TEMPLATE_SUBJECT: usize = 500;
pub const MAX_TEMPLATE_BODY: usize = 20_000;

/// A notification's words: a subject (email only) and a body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Template {
    pub subject: String,
    pub body: String,
}

/// The built-in template of an event kind, used when none is configured for it.
pub fn default_template(event_kind: &str) -> Template {
    let subject = match event_kind {
        "escalated" => "Case #{{case.number}} escalated to you",
        "clock_at_risk" => "Case #{{case.number}}: SLA at risk",
        "clock_breached" => "Case #{{case.number}}: SLA breached",
        "approval_requested" => "Case #{{case.number}}: approval waiting",
        "message_added" => "[#{{case.number}}] {{case.subject}}",
        _ => "Case #{{case.number}}: {{event.kind}}",
    };
    if event_kind == "message_added" {
        return Template {
            subject: subject.to_string(),
            body:
                "{{message.body}}\n\n\u{2014}\nYour case #{{case.number}} is {{case.status}}. See it, reply, ask for \
                   a supervisor or rate our help: {{portal_url}}"
                    .to_string(),
        };
    }
    Template {
        subject: subject.to_string(),
        body: "Case #{{case.number}} \u{201c}{{case.subject}}\u{201d} ({{case.priority}}, {{case.status}}, level \
               {{case.level}}): {{event.detail}}"
            .to_string(),
    }
}

/// Checks a template's fields; the error names the field and the valid placeholders.
pub fn validate_template(t: &Template) -> Result<(), DomainError> {
    if t.subject.len() > MAX_TEMPLATE_SUBJECT {
        return Err(DomainError::invalid("subject", format!("at most {MAX_TEMPLATE_SUBJECT} bytes")));
    }
    if t.body.trim().is_empty() || t.body.len() > MAX_TEMPLATE_BODY {
        return Err(DomainError::invalid("body", format!("1 to {MAX_TEMPLATE_BODY} bytes")));
    }
    for (field, text) in [("subject", &t.subject), ("body", &t.body)] {
        if let Some(unknown) = crate::macros::first_unknown_placeholder(text, PLACEHOLDERS) {
            let known: Vec<String> = PLACEHOLDERS.iter().map(|(p, _)| format!("{{{{{p}}}}}")).collect();
            return Err(DomainError::invalid(
                field,
                format!("{{{{{unknown}}}}} is not a placeholder; use {}", known.join(", ")),
            ));
        }
    }
    Ok(())
}

/// `text` with its placeholders filled from `values`; with `html`, each value is escaped
/// for HTML (the template's own markup is kept). An unknown placeholder is left as written.
pub fn render(text: &str, values: &BTreeMap<String, String>, html: bool) -> String {
    crate::macros::fill_placeholders(text, |name, out| match values.get(name) {
        Some(v) if html => {
            escape_html(v, out);
            true
        }
        Some(v) => {
            out.push_str(v);
            true
        }
        None => false,
    })
}

fn escape_html(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure; each further failure doubles it.
    pub base: SignedDuration,
    /// The longest wait between two attempts.
    pub cap: SignedDuration,
    /// After this many failed attempts a delivery is dead (kept, listed, redeliverable).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base: SignedDuration::from_secs(10), cap: SignedDuration::from_hours(1), max_attempts: 8 }
    }
}

/// When to try again after the `failed_attempts`-th failure at `now`, or `None` when the
/// delivery is dead. The wait doubles from `base` up to `cap`, and is spread over its upper
/// half by `jitter` (any random number), so deliveries that failed together do not all
/// come back at once.
pub fn next_attempt(policy: &RetryPolicy, failed_attempts: u32, now: Timestamp, jitter: u64) -> Option<Timestamp> {
    if failed_attempts >= policy.max_attempts {
        return None;
    }
    let doublings = failed_attempts.saturating_sub(1).min(40);
    let base = policy.base.as_micros().max(1);
    let wait = base.saturating_mul(1i128 << doublings).min(policy.cap.as_micros().max(base));
    let half = wait / 2;
    let spread = (jitter as i128) % (wait - half + 1);
    let wait = SignedDuration::from_micros((half + spread) as i64);
    Some(crate::instant::truncate(now.saturating_add(wait).unwrap_or(now)))
}

/// When a new delivery is first due: at once, or when its hold ends.
pub fn release_at(now: Timestamp, not_before: Option<Timestamp>) -> Timestamp {
    not_before.map_or(now, |t| t.max(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn retries_double_up_to_the_cap_with_jitter_in_the_upper_half_then_die() {
        let p =
            RetryPolicy { base: SignedDuration::from_secs(10), cap: SignedDuration::from_secs(60), max_attempts: 5 };
        let now = ts("2026-01-05T10:00:00Z");
        let check = |failed: u32, jitter: u64, expected_secs: Option<i64>| {
            let got = next_attempt(&p, failed, now, jitter).map(|t| t.duration_since(now).as_secs());
            assert_eq!(got, expected_secs, "after {failed} failures with jitter {jitter}");
        };
        check(1, 0, Some(5));
        check(1, 5_000_000, Some(10));
        check(2, 0, Some(10));
        check(3, 0, Some(20));
        check(4, 0, Some(30));
        check(4, 30_000_000, Some(60));
        check(5, 0, None);
        // Jitter never goes past the cap nor below half the wait.
        for jitter in [1u64, 999_999_999, u64::MAX] {
            let wait = next_attempt(&p, 4, now, jitter).unwrap().duration_since(now);
            assert!(wait >= SignedDuration::from_secs(30) && wait <= SignedDuration::from_secs(60), "{wait:?}");
        }
    }

    #[test]
    fn a_hold_is_released_at_its_instant_never_before_now() {
        let now = ts("2026-01-05T10:00:00Z");
        assert_eq!(release_at(now, None), now);
        assert_eq!(release_at(now, Some(ts("2026-01-06T08:00:00Z"))), ts("2026-01-06T08:00:00Z"));
        assert_eq!(release_at(now, Some(ts("2026-01-04T08:00:00Z"))), now);
    }

    #[test]
    fn rendering_escapes_values_for_html_and_leaves_unknown_placeholders() {
        let values: BTreeMap<String, String> =
            [("case.subject".to_string(), "<b>Tom & Jerry</b>".to_string())].into_iter().collect();
        let check = |text: &str, html: bool, expected: &str| assert_eq!(render(text, &values, html), expected);
        check("S: {{case.subject}}", false, "S: <b>Tom & Jerry</b>");
        check("<p>{{ case.subject }}</p>", true, "<p>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</p>");
        check("{{nope}} {{case.subject", false, "{{nope}} {{case.subject");
    }

    #[test]
    fn templates_name_the_unknown_placeholder() {
        let t = Template { subject: "{{case.number}}".into(), body: "{{case.colour}}".into() };
        let e = validate_template(&t).unwrap_err().to_string();
        assert!(e.contains("case.colour") && e.contains("body"), "{e}");
        assert!(validate_template(&default_template("escalated")).is_ok());
    }
}
