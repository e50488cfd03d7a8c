//! Alerts from monitoring, read from the two formats monitoring tools already speak: the
//! PagerDuty Events API v2 (`POST /v2/enqueue`) and the Prometheus Alertmanager webhook.
//! Both become [`Alert`]s: an action (trigger, acknowledge, resolve) on the incident that a
//! deduplication key names.
//!
//! The Events v2 reading follows PagerDuty's published rules so that a client library written
//! for PagerDuty gets the answers it expects: the same required fields, the same limits, and
//! an error list in its words when an event is invalid. Pure: the caller passes the instant
//! and the generator of new keys.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::matrix::IncidentSeverity;

/// The largest event body PagerDuty accepts (512 KiB); callers refuse larger bodies before
/// reading them.
pub const MAX_EVENT_BYTES: usize = 512 * 1024;
/// The longest deduplication key.
pub const MAX_DEDUP_KEY: usize = 255;
/// The longest summary.
pub const MAX_SUMMARY: usize = 1024;
/// The longest source, component, group, class or client.
pub const MAX_FIELD: usize = 1024;
/// Links or images one event may carry.
pub const MAX_LINKS: usize = 50;
/// Alerts one Alertmanager notification may carry.
pub const MAX_GROUP_ALERTS: usize = 1_000;
/// The length of a routing key.
pub const ROUTING_KEY_LEN: usize = 32;

/// What an alert asks of its incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertAction {
    Trigger,
    Acknowledge,
    Resolve,
}

/// A link or an image shown with the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct AlertLink {
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One alert, whichever format it came in.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub action: AlertAction,
    /// Names the incident: alerts with the same key update one incident.
    pub dedup_key: String,
    /// Present on a trigger.
    pub summary: Option<String>,
    pub source: Option<String>,
    pub severity: Option<IncidentSeverity>,
    /// When the monitoring tool saw it, if it says.
    pub occurred_at: Option<Timestamp>,
    pub component: Option<String>,
    pub group: Option<String>,
    pub class: Option<String>,
    /// Whatever else the tool sent, kept as given.
    pub details: Value,
    pub links: Vec<AlertLink>,
    pub images: Vec<AlertLink>,
    pub client: Option<String>,
    pub client_url: Option<String>,
}

/// The Events v2 severities, worst first, and the incident severity each opens.
pub fn severity_from_events_v2(s: &str) -> Option<IncidentSeverity> {
    match s {
        "critical" => Some(IncidentSeverity::Sev1),
        "error" => Some(IncidentSeverity::Sev2),
        "warning" => Some(IncidentSeverity::Sev3),
        "info" => Some(IncidentSeverity::Sev4),
        _ => None,
    }
}

/// An Events v2 event, read: the routing key (the service's secret) and the alert.
#[derive(Debug, Clone, PartialEq)]
pub struct EnqueuedEvent {
    pub routing_key: String,
    pub alert: Alert,
}

/// Why an Events v2 event is invalid: the errors PagerDuty would list, in its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEvent {
    pub errors: Vec<String>,
}

/// Reads an Events v2 event from its JSON body. A trigger without a `dedup_key` gets one
/// from `new_key`; acknowledge and resolve need one.
pub fn read_events_v2(body: &[u8], new_key: impl FnOnce() -> String) -> Result<EnqueuedEvent, InvalidEvent> {
    let one = |e: String| InvalidEvent { errors: vec![e] };
    if body.len() > MAX_EVENT_BYTES {
        return Err(one(format!("Event object is larger than {MAX_EVENT_BYTES} bytes")));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| one(format!("Malformed JSON: {e}")))?;
    let Value::Object(event) = value else {
        return Err(one("Event object must be a JSON object".into()));
    };
    let mut errors = Vec::new();
    let text = |obj: &serde_json::Map<String, Value>, key: &str, errors: &mut Vec<String>| -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                errors.push(format!("'{key}' must be a string"));
                None
            }
        }
    };
    let routing_key = text(&event, "routing_key", &mut errors).unwrap_or_default();
    if routing_key.is_empty() {
        errors.push("'routing_key' is missing or blank".into());
    } else if routing_key.chars().count() != ROUTING_KEY_LEN {
        errors.push(format!("Length of 'routing_key' is incorrect (should be {ROUTING_KEY_LEN} characters)"));
    }
    let action = match text(&event, "event_action", &mut errors).as_deref() {
        Some("trigger") => Some(AlertAction::Trigger),
        Some("acknowledge") => Some(AlertAction::Acknowledge),
        Some("resolve") => Some(AlertAction::Resolve),
        None | Some("") => {
            errors.push("'event_action' is missing or blank".into());
            None
        }
        Some(_) => {
            errors.push("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)".into());
            None
        }
    };
    let dedup_key = text(&event, "dedup_key", &mut errors).filter(|k| !k.is_empty());
    if let Some(k) = &dedup_key
        && k.chars().count() > MAX_DEDUP_KEY
    {
        errors.push(format!("'dedup_key' is longer than {MAX_DEDUP_KEY} characters"));
    }
    if matches!(action, Some(AlertAction::Acknowledge | AlertAction::Resolve)) && dedup_key.is_none() {
        errors.push("'dedup_key' is missing or blank (required to acknowledge or resolve)".into());
    }
    let mut alert = Alert {
        action: action.unwrap_or(AlertAction::Trigger),
        dedup_key: String::new(),
        summary: None,
        source: None,
        severity: None,
        occurred_at: None,
        component: None,
        group: None,
        class: None,
        details: Value::Null,
        links: Vec::new(),
        images: Vec::new(),
        client: text(&event, "client", &mut errors),
        client_url: text(&event, "client_url", &mut errors),
    };
    alert.links = links(&event, "links", &mut errors);
    alert.images = images(&event, &mut errors);
    let mut severity_text = None;
    match event.get("payload") {
        Some(Value::Object(p)) => {
            alert.summary = text(p, "summary", &mut errors);
            alert.source = text(p, "source", &mut errors);
            alert.component = text(p, "component", &mut errors);
            alert.group = text(p, "group", &mut errors);
            alert.class = text(p, "class", &mut errors);
            severity_text = text(p, "severity", &mut errors);
            if let Some(s) = &severity_text {
                alert.severity = severity_from_events_v2(s);
                if alert.severity.is_none() {
                    errors
                        .push("'payload.severity' is invalid (must be one of: critical, error, warning, info)".into());
                }
            }
            if let Some(t) = text(p, "timestamp", &mut errors) {
                match crate::instant::parse("payload.timestamp", &t) {
                    Ok(t) => alert.occurred_at = Some(t),
                    Err(_) => errors.push("'payload.timestamp' is not a valid ISO 8601 timestamp".into()),
                }
            }
            alert.details = p.get("custom_details").cloned().unwrap_or(Value::Null);
        }
        None | Some(Value::Null) => {}
        Some(_) => errors.push("'payload' must be an object".into()),
    }
    if alert.action == AlertAction::Trigger && action.is_some() {
        for (field, value) in [("summary", &alert.summary), ("source", &alert.source), ("severity", &severity_text)] {
            if value.as_deref().is_none_or(str::is_empty) {
                errors.push(format!("'payload.{field}' is missing or blank"));
            }
        }
    }
    for (field, value) in [
        ("payload.summary", &alert.summary),
        ("payload.source", &alert.source),
        ("payload.component", &alert.component),
        ("payload.group", &alert.group),
        ("payload.class", &alert.class),
        ("client", &alert.client),
        ("client_url", &alert.client_url),
    ] {
        let max = if field == "payload.summary" { MAX_SUMMARY } else { MAX_FIELD };
        if value.as_deref().is_some_and(|v| v.chars().count() > max) {
            errors.push(format!("'{field}' is longer than {max} characters"));
        }
    }
    if !errors.is_empty() {
        return Err(InvalidEvent { errors });
    }
    alert.dedup_key = dedup_key.unwrap_or_else(new_key);
    Ok(EnqueuedEvent { routing_key, alert })
}

fn links(obj: &serde_json::Map<String, Value>, key: &str, errors: &mut Vec<String>) -> Vec<AlertLink> {
    list(obj, key, "a string 'href'", errors, |l: AlertLink| l)
}

/// Images are `{src, href?, alt?}`; kept as links to `src` with `alt` as their text.
fn images(obj: &serde_json::Map<String, Value>, errors: &mut Vec<String>) -> Vec<AlertLink> {
    #[derive(Deserialize)]
    struct Image {
        src: String,
        alt: Option<String>,
    }
    list(obj, "images", "a string 'src'", errors, |i: Image| AlertLink { href: i.src, text: i.alt })
}

/// An optional array of at most [`MAX_LINKS`] objects of one shape, each turned into a link.
fn list<T: serde::de::DeserializeOwned>(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    needs: &str,
    errors: &mut Vec<String>,
    link: impl Fn(T) -> AlertLink,
) -> Vec<AlertLink> {
    match obj.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.len() <= MAX_LINKS => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match T::deserialize(item) {
                    Ok(t) => out.push(link(t)),
                    Err(_) => {
                        errors.push(format!("'{key}' entries must be objects with {needs}"));
                        break;
                    }
                }
            }
            out
        }
        Some(Value::Array(_)) => {
            errors.push(format!("'{key}' holds more than {MAX_LINKS} entries"));
            Vec::new()
        }
        Some(_) => {
            errors.push(format!("'{key}' must be an array"));
            Vec::new()
        }
    }
}

/// An Alertmanager webhook notification (version 4), the fields Ladder reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerNotification {
    pub version: String,
    pub group_key: String,
    pub status: String,
    #[serde(default)]
    pub receiver: String,
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default, rename = "externalURL")]
    pub external_url: String,
    #[serde(default)]
    pub truncated_alerts: u64,
    pub alerts: Vec<AlertmanagerAlert>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerAlert {
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    #[serde(default)]
    pub fingerprint: String,
}

/// Reads an Alertmanager notification: one alert for the group, keyed by its `groupKey`,
/// a trigger while any alert fires and a resolve once the group is resolved. The severity is
/// the `severity` label (critical, error/major, warning, info; SEV1–SEV4 also read), else
/// the one given as `default`.
pub fn read_alertmanager(body: &[u8], default: IncidentSeverity) -> Result<Alert, String> {
    if body.len() > MAX_EVENT_BYTES {
        return Err(format!("the notification is larger than {MAX_EVENT_BYTES} bytes"));
    }
    let n: AlertmanagerNotification =
        serde_json::from_slice(body).map_err(|e| format!("not an Alertmanager notification: {e}"))?;
    if n.version != "4" {
        return Err(format!("webhook version {:?} is not supported (expected \"4\")", n.version));
    }
    if n.group_key.is_empty() {
        return Err("groupKey is empty".into());
    }
    if n.alerts.len() > MAX_GROUP_ALERTS {
        return Err(format!("more than {MAX_GROUP_ALERTS} alerts in one notification"));
    }
    let action = match n.status.as_str() {
        "firing" => AlertAction::Trigger,
        "resolved" => AlertAction::Resolve,
        other => return Err(format!("status {other:?} is neither \"firing\" nor \"resolved\"")),
    };
    let severity = n
        .common_labels
        .get("severity")
        .or_else(|| n.alerts.iter().find_map(|a| a.labels.get("severity")))
        .and_then(|s| match s.to_ascii_lowercase().as_str() {
            "critical" | "page" => Some(IncidentSeverity::Sev1),
            "error" | "major" | "high" => Some(IncidentSeverity::Sev2),
            "warning" | "minor" | "medium" => Some(IncidentSeverity::Sev3),
            "info" | "low" | "none" => Some(IncidentSeverity::Sev4),
            s => IncidentSeverity::parse(s),
        })
        .unwrap_or(default);
    let name = n.group_labels.get("alertname").or_else(|| n.common_labels.get("alertname"));
    let firing = n.alerts.iter().filter(|a| a.status == "firing").count();
    let summary = n
        .common_annotations
        .get("summary")
        .cloned()
        .or_else(|| name.map(|a| if firing > 1 { format!("{a} ({firing} firing)") } else { a.clone() }))
        .unwrap_or_else(|| format!("{} alert(s) from {}", n.alerts.len(), n.receiver));
    let occurred_at = n
        .alerts
        .iter()
        .filter_map(|a| a.starts_at.as_deref().and_then(|t| crate::instant::parse("startsAt", t).ok()))
        .min();
    let mut links: Vec<AlertLink> = n
        .alerts
        .iter()
        .filter(|a| !a.generator_url.is_empty())
        .map(|a| AlertLink { href: a.generator_url.clone(), text: Some("source".into()) })
        .take(MAX_LINKS)
        .collect();
    links.dedup();
    Ok(Alert {
        action,
        dedup_key: n.group_key.chars().take(MAX_DEDUP_KEY).collect(),
        summary: Some(summary.chars().take(MAX_SUMMARY).collect()),
        source: n.common_labels.get("instance").or_else(|| n.common_labels.get("job")).cloned(),
        severity: Some(severity),
        occurred_at,
        component: n.common_labels.get("service").cloned(),
        group: n.common_labels.get("job").cloned(),
        class: name.cloned(),
        details: serde_json::json!({
            "receiver": n.receiver,
            "external_url": n.external_url,
            "common_labels": n.common_labels,
            "common_annotations": n.common_annotations,
            "truncated_alerts": n.truncated_alerts,
            "alerts": n.alerts,
        }),
        links,
        images: Vec::new(),
        client: Some("Alertmanager".into()),
        client_url: (!n.external_url.is_empty()).then(|| n.external_url.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12";

    fn read(body: &str) -> Result<EnqueuedEvent, InvalidEvent> {
        read_events_v2(body.as_bytes(), || "generated".into())
    }

    #[test]
    fn a_trigger_with_everything_is_read_field_for_field() {
        let e = read(&format!(
            r#"{{"routing_key":"{KEY}","event_action":"trigger","dedup_key":"disk-web-1",
               "payload":{{"summary":"Disk full on web-1","source":"web-1","severity":"critical",
                 "timestamp":"2026-01-05T09:00:00.000+01:00","component":"disk","group":"web","class":"capacity",
                 "custom_details":{{"free":"0%","mounts":["/","/var"]}}}},
               "links":[{{"href":"https://grafana.example/d/1","text":"Dashboard"}}],
               "images":[{{"src":"https://grafana.example/x.png","alt":"graph"}}],
               "client":"Grafana","client_url":"https://grafana.example"}}"#
        ))
        .unwrap();
        assert_eq!(e.routing_key, KEY);
        let a = e.alert;
        assert_eq!(a.action, AlertAction::Trigger);
        assert_eq!(a.dedup_key, "disk-web-1");
        assert_eq!(a.summary.as_deref(), Some("Disk full on web-1"));
        assert_eq!(a.severity, Some(IncidentSeverity::Sev1));
        assert_eq!(a.occurred_at, Some("2026-01-05T08:00:00Z".parse().unwrap()));
        assert_eq!(
            (a.component.as_deref(), a.group.as_deref(), a.class.as_deref()),
            (Some("disk"), Some("web"), Some("capacity"))
        );
        assert_eq!(a.details["mounts"][1], "/var");
        assert_eq!(a.links[0].text.as_deref(), Some("Dashboard"));
        assert_eq!(a.images[0].href, "https://grafana.example/x.png");
        assert_eq!(a.client.as_deref(), Some("Grafana"));
    }

    #[test]
    fn a_trigger_without_a_dedup_key_gets_a_new_one_and_resolve_needs_one() {
        let e = read(&format!(
            r#"{{"routing_key":"{KEY}","event_action":"trigger","payload":{{"summary":"s","source":"h","severity":"info"}}}}"#
        ))
        .unwrap();
        assert_eq!(e.alert.dedup_key, "generated");
        assert_eq!(e.alert.severity, Some(IncidentSeverity::Sev4));
        let err = read(&format!(r#"{{"routing_key":"{KEY}","event_action":"resolve"}}"#)).unwrap_err();
        assert_eq!(err.errors, vec!["'dedup_key' is missing or blank (required to acknowledge or resolve)"]);
        let ok = read(&format!(r#"{{"routing_key":"{KEY}","event_action":"acknowledge","dedup_key":"k"}}"#)).unwrap();
        assert_eq!((ok.alert.action, ok.alert.dedup_key.as_str()), (AlertAction::Acknowledge, "k"));
    }

    #[test]
    fn an_invalid_event_lists_every_problem_in_pagerdutys_words() {
        let err =
            read(r#"{"routing_key":"short","event_action":"trigger","payload":{"severity":"fatal"}}"#).unwrap_err();
        assert_eq!(
            err.errors,
            vec![
                "Length of 'routing_key' is incorrect (should be 32 characters)",
                "'payload.severity' is invalid (must be one of: critical, error, warning, info)",
                "'payload.summary' is missing or blank",
                "'payload.source' is missing or blank",
            ]
        );
        assert_eq!(read("{}").unwrap_err().errors.len(), 2);
        assert_eq!(
            read(&format!(r#"{{"routing_key":"{KEY}","event_action":"explode"}}"#)).unwrap_err().errors,
            vec!["'event_action' is invalid (must be one of: trigger, acknowledge, resolve)"]
        );
        assert!(read("[1]").unwrap_err().errors[0].contains("JSON object"));
        assert!(read("{").unwrap_err().errors[0].starts_with("Malformed JSON"));
        assert!(read(r#"{"routing_key":7}"#).unwrap_err().errors.contains(&"'routing_key' must be a string".into()));
    }

    #[test]
    fn limits_are_checked_sizes_keys_summaries_and_links() {
        let long = "k".repeat(MAX_DEDUP_KEY + 1);
        let err = read(&format!(r#"{{"routing_key":"{KEY}","event_action":"acknowledge","dedup_key":"{long}"}}"#))
            .unwrap_err();
        assert_eq!(err.errors, vec!["'dedup_key' is longer than 255 characters"]);
        let summary = "s".repeat(MAX_SUMMARY + 1);
        let err = read(&format!(
            r#"{{"routing_key":"{KEY}","event_action":"trigger","payload":{{"summary":"{summary}","source":"h","severity":"info"}}}}"#
        ))
        .unwrap_err();
        assert_eq!(err.errors, vec!["'payload.summary' is longer than 1024 characters"]);
        let links = vec![r#"{"href":"h"}"#; MAX_LINKS + 1].join(",");
        let err = read(&format!(
            r#"{{"routing_key":"{KEY}","event_action":"acknowledge","dedup_key":"k","links":[{links}]}}"#
        ))
        .unwrap_err();
        assert_eq!(err.errors, vec!["'links' holds more than 50 entries"]);
        let err = read(&format!(
            r#"{{"routing_key":"{KEY}","event_action":"acknowledge","dedup_key":"k","images":[{{"alt":"x"}},{{"alt":"y"}}]}}"#
        ))
        .unwrap_err();
        assert_eq!(err.errors, vec!["'images' entries must be objects with a string 'src'"]);
        let huge = vec![b' '; MAX_EVENT_BYTES + 1];
        assert!(read_events_v2(&huge, String::new).unwrap_err().errors[0].contains("larger than"));
    }

    fn am(status: &str, labels: &str) -> String {
        format!(
            r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"HighLatency\"}}","truncatedAlerts":0,"status":"{status}",
               "receiver":"ladder","groupLabels":{{"alertname":"HighLatency"}},
               "commonLabels":{{"alertname":"HighLatency","job":"api",{labels}}},"commonAnnotations":{{}},
               "externalURL":"http://alertmanager:9093",
               "alerts":[
                 {{"status":"{status}","labels":{{"alertname":"HighLatency","instance":"a:9100"}},"annotations":{{}},
                   "startsAt":"2026-01-05T09:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom/graph?1","fingerprint":"a1"}},
                 {{"status":"{status}","labels":{{"alertname":"HighLatency","instance":"b:9100"}},"annotations":{{}},
                   "startsAt":"2026-01-05T08:59:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom/graph?1","fingerprint":"b2"}}
               ]}}"#
        )
    }

    #[test]
    fn an_alertmanager_group_is_one_alert_keyed_by_its_group_key() {
        let a = read_alertmanager(am("firing", r#""severity":"warning""#).as_bytes(), IncidentSeverity::Sev2).unwrap();
        assert_eq!(a.action, AlertAction::Trigger);
        assert_eq!(a.dedup_key, r#"{}:{alertname="HighLatency"}"#);
        assert_eq!(a.severity, Some(IncidentSeverity::Sev3));
        assert_eq!(a.summary.as_deref(), Some("HighLatency (2 firing)"));
        assert_eq!(a.occurred_at, Some("2026-01-05T08:59:00Z".parse().unwrap()));
        assert_eq!(a.links.len(), 1, "the same generator URL once");
        assert_eq!(a.details["alerts"].as_array().unwrap().len(), 2);
        let r =
            read_alertmanager(am("resolved", r#""severity":"warning""#).as_bytes(), IncidentSeverity::Sev2).unwrap();
        assert_eq!((r.action, r.dedup_key), (AlertAction::Resolve, a.dedup_key));
        let d = read_alertmanager(am("firing", r#""team":"sre""#).as_bytes(), IncidentSeverity::Sev2).unwrap();
        assert_eq!(d.severity, Some(IncidentSeverity::Sev2), "no severity label: the default");
    }

    #[test]
    fn an_alertmanager_notification_of_another_shape_is_refused_with_the_reason() {
        assert!(
            read_alertmanager(br#"{"version":"3"}"#, IncidentSeverity::Sev3)
                .unwrap_err()
                .contains("not an Alertmanager")
        );
        let v3 = am("firing", r#""x":"y""#).replace(r#""version":"4""#, r#""version":"3""#);
        assert!(read_alertmanager(v3.as_bytes(), IncidentSeverity::Sev3).unwrap_err().contains("version"));
        let odd = am("pending", r#""x":"y""#);
        assert!(read_alertmanager(odd.as_bytes(), IncidentSeverity::Sev3).unwrap_err().contains("pending"));
    }
}
