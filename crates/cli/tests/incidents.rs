//! IT incidents over the real server: services and their integration keys, the PagerDuty
//! Events API v2 (`/v2/enqueue`, with real payloads and with PagerDuty's own Python client,
//! pdpyras), the Alertmanager receiver, and a responder's acknowledge / un-acknowledge /
//! resolve — each with its denials.

use std::path::Path;
use std::process::Command;

use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

/// The pdpyras release the compatibility test runs (PagerDuty's Python client).
const PDPYRAS_VERSION: &str = "5.4.1";

/// Creates the `checkout` service of the front line and mints a key: (service id, key).
async fn service_with_key(api: &ladder_testkit::http::Api, root: &str) -> (String, String) {
    let (s, service) =
        api.call(root, "POST", "/api/v1/services", Some(json!({"name": "checkout", "team": "frontline"}))).await;
    assert_eq!(s, 201, "{service}");
    let id = service["id"].as_str().unwrap().to_string();
    let (s, key) =
        api.call(root, "POST", &format!("/api/v1/services/{id}/keys"), Some(json!({"label": "prometheus"}))).await;
    assert_eq!(s, 201, "{key}");
    (id, key["routing_key"].as_str().unwrap().to_string())
}

/// Posts raw bytes to `/v2/enqueue`: (status, body).
async fn enqueue(api: &ladder_testkit::http::Api, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let resp = api
        .client
        .post(format!("{}/v2/enqueue", api.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(content_type.as_deref(), Some("application/json"), "{status} {body}");
    (status, body)
}

fn trigger(key: &str, dedup: Option<&str>) -> Value {
    let mut event = json!({
        "routing_key": key,
        "event_action": "trigger",
        "payload": {
            "summary": "High error rate on checkout",
            "source": "checkout-7f9c.prod",
            "severity": "critical",
            "timestamp": "2026-12-07T10:00:00.000+0000",
            "component": "api",
            "group": "prod-web",
            "class": "http-5xx",
            "custom_details": {"error_rate": "12%", "region": "eu-west-1"}
        },
        "links": [{"href": "https://grafana.example.com/d/checkout", "text": "Dashboard"}],
        "images": [{"src": "https://grafana.example.com/render/1.png", "alt": "error rate"}],
        "client": "Prometheus",
        "client_url": "https://prometheus.example.com"
    });
    if let Some(d) = dedup {
        event["dedup_key"] = json!(d);
    }
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_and_keys_are_admins_to_manage_and_supervisors_to_read() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (root, sam, ana) = (&world.tokens["root"], &world.tokens["sam"], &world.tokens["ana"]);
    let body = json!({"name": "checkout", "team": "frontline", "policies": {"sev1": "critical"},
        "maintenance": [{"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T02:00:00Z", "reason": "upgrade"}]});
    // Only an admin creates; a supervisor may not.
    let (s, _) = api.call(sam, "POST", "/api/v1/services", Some(body.clone())).await;
    assert_eq!(s, 403);
    let (s, service) = api.call(root, "POST", "/api/v1/services", Some(body.clone())).await;
    assert_eq!(s, 201, "{service}");
    assert_eq!((service["team"].as_str(), service["policies"]["SEV1"].as_str()), (Some("frontline"), Some("critical")));
    assert_eq!(service["in_maintenance"], json!(false));
    let id = service["id"].as_str().unwrap();
    let (s, p) = api.call(root, "POST", "/api/v1/services", Some(body.clone())).await;
    assert_eq!(s, 409, "a second service of one name: {p}");
    let (s, p) = api
        .call(
            root,
            "POST",
            "/api/v1/services",
            Some(json!({"name": "x", "team": "frontline", "policies": {"P1": "a"}})),
        )
        .await;
    assert_eq!((s, p["field"].as_str()), (422, Some("policies.P1")), "{p}");
    let (s, p) = api
        .call(
            root,
            "POST",
            "/api/v1/services",
            Some(json!({"name": "y", "team": "frontline",
            "maintenance": [{"start": "2026-01-01T02:00:00Z", "end": "2026-01-01T00:00:00Z"}]})),
        )
        .await;
    assert_eq!((s, p["field"].as_str()), (422, Some("maintenance[0].end")), "{p}");

    // Supervisors and up read; agents do not.
    let (s, list) = api.call(sam, "GET", "/api/v1/services", None).await;
    assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(1)), "{list}");
    let (s, _) = api.call(ana, "GET", "/api/v1/services", None).await;
    assert_eq!(s, 403);
    let (s, _) = api.call(ana, "GET", &format!("/api/v1/services/{id}"), None).await;
    assert_eq!(s, 403);

    // A key is shown once, 32 characters; listed by its hint, never its secret.
    let (s, _) = api.call(sam, "POST", &format!("/api/v1/services/{id}/keys"), Some(json!({}))).await;
    assert_eq!(s, 403, "a supervisor mints no key");
    let (s, minted) =
        api.call(root, "POST", &format!("/api/v1/services/{id}/keys"), Some(json!({"label": "prom"}))).await;
    assert_eq!(s, 201, "{minted}");
    let secret = minted["routing_key"].as_str().unwrap();
    assert_eq!(secret.len(), 32);
    let (s, keys) = api.call(sam, "GET", &format!("/api/v1/services/{id}/keys"), None).await;
    assert_eq!(s, 200);
    assert!(!keys.to_string().contains(secret), "the secret is never listed: {keys}");
    assert_eq!(keys[0]["hint"].as_str(), Some(&secret[28..]));
    let key_id = keys[0]["id"].as_str().unwrap();
    let (s, _) = enqueue(&api, trigger(secret, None).to_string()).await;
    assert_eq!(s, 202);

    // Revoked, it is refused as an unknown key.
    let (s, _) = api.call(sam, "DELETE", &format!("/api/v1/services/{id}/keys/{key_id}"), None).await;
    assert_eq!(s, 403);
    let (s, revoked) = api.call(root, "DELETE", &format!("/api/v1/services/{id}/keys/{key_id}"), None).await;
    assert_eq!((s, revoked["revoked_at"].is_string()), (200, true), "{revoked}");
    let (s, body) = enqueue(&api, trigger(secret, None).to_string()).await;
    assert_eq!((s, body["errors"][0].as_str()), (400, Some("Invalid routing key")), "{body}");

    // Changes are in the audit history; the secret is not.
    let (s, audit) = api.call(root, "GET", "/api/v1/audit", None).await;
    assert_eq!(s, 200);
    let text = audit.to_string();
    for action in ["service.create", "service.key.create", "service.key.revoke"] {
        assert!(text.contains(action), "{action} in {text}");
    }
    assert!(!text.contains(secret));
    let (s, _) = api.call(sam, "DELETE", &format!("/api/v1/services/{id}"), None).await;
    assert_eq!(s, 403);
    let (s, _) = api.call(root, "DELETE", &format!("/api/v1/services/{id}"), None).await;
    assert_eq!(s, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_v2_trigger_dedup_acknowledge_and_resolve_answer_as_pagerduty_does() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (root, ana) = (&world.tokens["root"], &world.tokens["ana"]);
    let (_, key) = service_with_key(&api, root).await;

    // A trigger without a key gets one; the answer is PagerDuty's, field for field.
    let (s, body) = enqueue(&api, trigger(&key, None).to_string()).await;
    assert_eq!(s, 202, "{body}");
    let dedup = body["dedup_key"].as_str().unwrap().to_string();
    assert_eq!(body, json!({"status": "success", "message": "Event processed", "dedup_key": dedup}));

    // The same key again: the open incident counts it, no new case.
    let (s, body) = enqueue(&api, trigger(&key, Some(&dedup)).to_string()).await;
    assert_eq!((s, body["dedup_key"].as_str()), (202, Some(dedup.as_str())));
    let (s, incidents) = api.call(ana, "GET", "/api/v1/incidents", None).await;
    assert_eq!((s, incidents.as_array().map(Vec::len)), (200, Some(1)), "{incidents}");
    let incident = &incidents[0];
    assert_eq!(incident["alert_count"], json!(2));
    assert_eq!((incident["status"].as_str(), incident["severity"].as_str()), (Some("triggered"), Some("SEV1")));
    assert_eq!(incident["kind"], json!("incident"));
    assert_eq!(incident["last_alert"]["custom_details"]["error_rate"], json!("12%"));
    assert_eq!(incident["last_alert"]["links"][0]["href"], json!("https://grafana.example.com/d/checkout"));
    assert_eq!(incident["last_alert"]["images"][0]["text"], json!("error rate"));
    let id = incident["id"].as_str().unwrap().to_string();
    // The incident is a case of the service's team, with every alert in its history.
    let (s, case) = api.call(ana, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(
        (s, case["priority"].as_str(), case["category"].as_str()),
        (200, Some("urgent"), Some("incident")),
        "{case}"
    );
    let (_, events) = api.call(ana, "GET", &format!("/api/v1/cases/{id}/events"), None).await;
    let kinds: Vec<&str> = events.as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(kinds.contains(&"incident_triggered") && kinds.contains(&"alert_received"), "{events}");

    // Acknowledge, then resolve, by the monitoring tool.
    let ack = json!({"routing_key": key, "event_action": "acknowledge", "dedup_key": dedup});
    let (s, body) = enqueue(&api, ack.to_string()).await;
    assert_eq!((s, body["status"].as_str()), (202, Some("success")));
    let (_, one) = api.call(ana, "GET", &format!("/api/v1/incidents/{id}"), None).await;
    assert_eq!(
        (one["status"].as_str(), one["acknowledged_by"].as_str()),
        (Some("acknowledged"), Some("service:checkout"))
    );
    let resolve = json!({"routing_key": key, "event_action": "resolve", "dedup_key": dedup});
    let (s, _) = enqueue(&api, resolve.to_string()).await;
    assert_eq!(s, 202);
    let (_, one) = api.call(ana, "GET", &format!("/api/v1/incidents/{id}"), None).await;
    assert_eq!(one["status"], json!("resolved"), "{one}");
    // After the resolve, the same key opens a new incident (as PagerDuty does).
    let (s, _) = enqueue(&api, trigger(&key, Some(&dedup)).to_string()).await;
    assert_eq!(s, 202);
    let (_, open) = api.call(ana, "GET", "/api/v1/incidents?status=triggered", None).await;
    assert_eq!(open.as_array().map(Vec::len), Some(1), "{open}");
    assert_ne!(open[0]["id"].as_str(), Some(id.as_str()));
    // A resolve for a key with no open incident is accepted and changes nothing.
    let stray = json!({"routing_key": key, "event_action": "resolve", "dedup_key": "never-seen"});
    assert_eq!(enqueue(&api, stray.to_string()).await.0, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_v2_refusals_are_pagerdutys_statuses_and_bodies() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (_, key) = service_with_key(&api, &world.tokens["root"]).await;
    let invalid = |body: &Value| {
        assert_eq!(body["status"], json!("invalid event"), "{body}");
        assert_eq!(body["message"], json!("Event object is invalid"), "{body}");
        body["errors"].as_array().expect("errors").iter().map(|e| e.as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    // Bad JSON.
    let (s, body) = enqueue(&api, "{\"routing_key\": ").await;
    assert_eq!(s, 400);
    assert!(invalid(&body)[0].starts_with("Malformed JSON"), "{body}");
    // Missing fields, each named.
    let (s, body) =
        enqueue(&api, json!({"routing_key": key, "event_action": "trigger", "payload": {"summary": "x"}}).to_string())
            .await;
    assert_eq!(s, 400);
    let errors = invalid(&body);
    assert!(errors.contains(&"'payload.source' is missing or blank".to_string()), "{errors:?}");
    assert!(errors.contains(&"'payload.severity' is missing or blank".to_string()), "{errors:?}");
    // An unknown routing key (well formed) and a short one.
    let (s, body) = enqueue(&api, trigger(&"f".repeat(32), None).to_string()).await;
    assert_eq!((s, invalid(&body)), (400, vec!["Invalid routing key".to_string()]));
    let (s, body) = enqueue(&api, trigger("short", None).to_string()).await;
    assert_eq!(s, 400);
    assert!(invalid(&body)[0].starts_with("Length of 'routing_key' is incorrect"), "{body}");
    // Over PagerDuty's 512 KB.
    let mut big = trigger(&key, None);
    big["payload"]["custom_details"] = json!({"blob": "x".repeat(600 * 1024)});
    let (s, body) = enqueue(&api, big.to_string()).await;
    assert_eq!(s, 400);
    assert!(invalid(&body)[0].contains("larger than 524288 bytes"), "{body}");
    // No incident came of any of them.
    let (_, incidents) = api.call(&world.tokens["root"], "GET", "/api/v1/incidents", None).await;
    assert_eq!(incidents, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_from_one_key_is_throttled_with_429() {
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let limits = [("LADDER_RATE_PER_ROUTING_KEY", "1"), ("LADDER_BURST_PER_ROUTING_KEY", "20")];
    let server = Server::start_with(LADDER, dir.path(), &limits);
    let api = ladder_testkit::http::Api::new(&server);
    let (_, key) = service_with_key(&api, &world.tokens["root"]).await;
    let event = trigger(&key, Some("storm")).to_string();
    let mut throttled = None;
    let mut accepted = 0;
    for _ in 0..40 {
        let (s, body) = enqueue(&api, event.clone()).await;
        if s == 429 {
            throttled = Some(body);
            break;
        }
        assert_eq!(s, 202, "{body}");
        accepted += 1;
    }
    let body = throttled.expect("a 429 within 40 events");
    assert!((20..=22).contains(&accepted), "the burst of 20 (and what a second refilled) went through: {accepted}");
    assert_eq!(body["status"], json!("throttle event"), "{body}");
    // Every accepted event counted on the one incident: none lost.
    let (_, incidents) = api.call(&world.tokens["root"], "GET", "/api/v1/incidents", None).await;
    assert_eq!(incidents[0]["alert_count"].as_u64(), Some(accepted), "{incidents}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responders_acknowledge_unacknowledge_and_resolve_their_teams_incidents() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (root, ana, erin, maria) =
        (&world.tokens["root"], &world.tokens["ana"], &world.tokens["erin"], &world.tokens["maria"]);
    let (_, key) = service_with_key(&api, root).await;
    let (_, body) = enqueue(&api, trigger(&key, Some("db-disk")).to_string()).await;
    assert_eq!(body["dedup_key"], json!("db-disk"));
    let (_, list) = api.call(ana, "GET", "/api/v1/incidents?severity=SEV1", None).await;
    let id = list[0]["id"].as_str().unwrap().to_string();
    let path = |action: &str| format!("/api/v1/incidents/{id}/{action}");

    // Another team's agent neither sees nor answers it.
    let (_, theirs) = api.call(erin, "GET", "/api/v1/incidents", None).await;
    assert_eq!(theirs, json!([]));
    let (s, _) = api.call(erin, "POST", &path("acknowledge"), None).await;
    assert_eq!(s, 403);

    let (s, one) = api.call(ana, "POST", &path("acknowledge"), None).await;
    assert_eq!((s, one["status"].as_str()), (200, Some("acknowledged")), "{one}");
    assert_eq!(one["acknowledged_by"].as_str().map(str::len), Some(36), "a user's id: {one}");
    let (s, p) = api.call(ana, "POST", &path("acknowledge"), None).await;
    assert_eq!(s, 409, "{p}");
    let (s, one) = api.call(ana, "POST", &path("unacknowledge"), None).await;
    assert_eq!((s, one["status"].as_str()), (200, Some("triggered")), "{one}");
    let (s, _) = api.call(ana, "POST", &path("unacknowledge"), None).await;
    assert_eq!(s, 409);
    // A manager answers any team's.
    let (s, one) = api.call(maria, "POST", &path("resolve"), None).await;
    assert_eq!((s, one["status"].as_str()), (200, Some("resolved")), "{one}");
    let (s, _) = api.call(ana, "POST", &path("resolve"), None).await;
    assert_eq!(s, 409);
    let (s, p) = api.call(ana, "GET", "/api/v1/incidents?status=open", None).await;
    assert_eq!((s, p["field"].as_str()), (400, Some("status")), "{p}");

    // Every response is an event with its actor.
    let (_, events) = api.call(ana, "GET", &format!("/api/v1/cases/{id}/events"), None).await;
    let kinds: Vec<&str> = events.as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    for kind in ["incident_acknowledged", "incident_unacknowledged", "resolved"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_notifications_open_update_and_resolve_the_groups_incident() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (root, ana) = (&world.tokens["root"], &world.tokens["ana"]);
    let (_, key) = service_with_key(&api, root).await;
    let fixture = |name: &str| -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/incidents").join(name);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let post = |token: Option<String>, body: Value| {
        let mut req = api.client.post(format!("{}/api/v1/alertmanager", api.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let firing = fixture("alertmanager-firing.json");
    let (s, body) = post(Some(key.clone()), firing.clone()).await;
    assert_eq!((s, body["outcome"].as_str()), (200, Some("opened")), "{body}");
    let id = body["incident_id"].as_str().unwrap().to_string();
    let (s, body) = post(Some(key.clone()), firing.clone()).await;
    assert_eq!((s, body["outcome"].as_str(), body["incident_id"].as_str()), (200, Some("updated"), Some(id.as_str())));
    let (_, one) = api.call(ana, "GET", &format!("/api/v1/incidents/{id}"), None).await;
    assert_eq!((one["alert_count"].as_u64(), one["severity"].as_str()), (Some(2), Some("SEV1")), "{one}");
    assert_eq!(one["dedup_key"], firing["groupKey"]);
    let (s, body) = post(Some(key.clone()), fixture("alertmanager-resolved.json")).await;
    assert_eq!((s, body["outcome"].as_str()), (200, Some("updated")), "{body}");
    let (_, one) = api.call(ana, "GET", &format!("/api/v1/incidents/{id}"), None).await;
    assert_eq!(one["status"], json!("resolved"));

    // No key, a wrong key, a body that is not a notification.
    let (s, p) = post(None, firing.clone()).await;
    assert_eq!(s, 401, "{p}");
    let (s, _) = post(Some("f".repeat(32)), firing.clone()).await;
    assert_eq!(s, 401);
    let (s, p) = post(Some(key.clone()), json!({"version": "3"})).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("body")), "{p}");
}

/// A virtualenv under target/ with pdpyras at [`PDPYRAS_VERSION`], made once.
fn pdpyras_python() -> std::path::PathBuf {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pdpyras");
    let venv = target.join(format!("venv-{PDPYRAS_VERSION}"));
    let python = venv.join("bin/python");
    if !python.exists() {
        std::fs::create_dir_all(&target).unwrap();
        let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().unwrap().success();
        assert!(ok, "python3 -m venv failed");
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", &format!("pdpyras=={PDPYRAS_VERSION}")])
            .status()
            .unwrap()
            .success();
        assert!(ok, "pip install pdpyras=={PDPYRAS_VERSION} failed (the test needs PyPI or a pip cache)");
    }
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerdutys_own_python_client_works_against_ladder_unchanged() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let (_, key) = service_with_key(&api, &world.tokens["root"]).await;
    let python = tokio::task::spawn_blocking(pdpyras_python).await.unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/incidents/pdpyras_client.py");
    let base = server.url("");
    let output = tokio::task::spawn_blocking(move || Command::new(python).arg(script).arg(base).arg(key).output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let steps: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let step = |name: &str| steps.iter().find(|s| s["step"] == name).unwrap_or_else(|| panic!("{name}: {stdout}"));
    let dedup = step("trigger")["dedup_key"].as_str().unwrap();
    for name in ["dedup", "acknowledge", "resolve"] {
        assert_eq!(step(name)["dedup_key"].as_str(), Some(dedup), "{name}");
    }
    for name in ["unknown_key", "short_key", "invalid"] {
        assert_eq!((step(name)["raised"].as_bool(), step(name)["status"].as_u64()), (Some(true), Some(400)), "{name}");
        assert_eq!(step(name)["body"]["status"], json!("invalid event"), "{name}");
    }
    let (_, incidents) = api.call(&world.tokens["root"], "GET", "/api/v1/incidents", None).await;
    assert_eq!(incidents.as_array().map(Vec::len), Some(1), "{incidents}");
    assert_eq!((incidents[0]["alert_count"].as_u64(), incidents[0]["status"].as_str()), (Some(2), Some("resolved")));
}
