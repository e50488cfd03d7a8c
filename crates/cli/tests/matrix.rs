//! The escalation matrix over the API: upload, check, activate, rules at work, rollback.

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

const MATRIX: &str = r#"
[[levels]]
id = "L1"
name = "Front line"
teams = ["frontline"]
respond = "0m"

[[levels]]
id = "L2"
name = "Back office and supervisors"
teams = ["billing", "supervisors"]
respond = "1h"

[[levels]]
id = "L3"
name = "Managers"
teams = ["management"]
respond = "24h"

[[rules]]
name = "VIP billing to the back office"
when = 'case.category == "billing" && customer.value >= 10000'
then = { escalate = "L2", team = "billing", priority = "high" }
"#;

async fn open_vip_billing_case(api: &Api, token: &str, customer: &str) -> (serde_json::Value, serde_json::Value) {
    let case =
        api.open_case(token, json!({"subject": "Charged twice", "category": "billing", "customer_id": customer})).await;
    let (_, events) =
        api.call(token, "GET", &format!("/api/v1/cases/{}/events", case["id"].as_str().unwrap()), None).await;
    (case, events)
}

#[tokio::test]
async fn a_matrix_is_checked_activated_applied_to_cases_and_rolled_back() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, maria) = (&world.tokens["ana"], &world.tokens["maria"]);

    // Only managers and admins may upload.
    assert_eq!(api.upload_matrix(ana, "main", MATRIX).await.0, 403);

    // A broken matrix is refused with every problem at its line and column.
    let broken =
        MATRIX.replace(r#"escalate = "L2""#, r#"escalate = "L7""#).replace("customer.value >=", "customer.value >=>");
    let (s, problem) = api.upload_matrix(maria, "main", &broken).await;
    assert_eq!(s, 422, "{problem}");
    assert_eq!(problem["type"], "/problems/invalid-matrix");
    let errors = problem["errors"].as_array().unwrap();
    let positions: Vec<(u64, &str)> =
        errors.iter().map(|e| (e["line"].as_u64().unwrap(), e["path"].as_str().unwrap())).collect();
    assert_eq!(positions, vec![(22, "rules[0].when"), (23, "rules[0].then.escalate")], "{problem}");
    assert_eq!(api.call(maria, "GET", "/api/v1/matrix/drafts/main", None).await.0, 404, "nothing was stored");

    let (s, draft) = api.upload_matrix(maria, "main", MATRIX).await;
    assert_eq!(s, 200, "{draft}");
    let (s, v1) = api.call(maria, "POST", "/api/v1/matrix/drafts/main/activate", None).await;
    assert_eq!(s, 201, "{v1}");
    assert_eq!(v1["version"], 1);

    // A VIP billing case opened at the front line goes straight to the back office.
    let (_, vip) = api.call(ana, "POST", "/api/v1/customers", Some(json!({"name": "Vera Vip", "value": 25000}))).await;
    let vip_id = vip["id"].as_str().unwrap_or_else(|| panic!("{vip}")).to_string();
    let (case, events) = open_vip_billing_case(&api, ana, &vip_id).await;
    assert_eq!((case["level"].as_str(), case["priority"].as_str()), (Some("L2"), Some("high")), "{case}");
    let escalated = events.as_array().unwrap().iter().find(|e| e["type"] == "escalated").expect("an escalation");
    assert_eq!(escalated["actor"]["kind"], "system");
    assert_eq!(escalated["data"]["initiator"], "system");
    assert_eq!(escalated["data"]["reason"], "rule \"VIP billing to the back office\"");
    assert_eq!(escalated["matrix_version"], 1);
    assert!(events.as_array().unwrap().iter().all(|e| e["matrix_version"] == 1), "every event names the version");
    let kinds: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    let (clocks, kinds): (Vec<&str>, Vec<&str>) = kinds.into_iter().partition(|k| k.starts_with("clock_"));
    assert_eq!(kinds, vec!["opened", "escalated", "updated"], "one event per action, priority and tags merged");
    // The clocks start where the case landed, with the high-priority targets of L2.
    assert!(clocks.iter().all(|k| *k == "clock_started") && !clocks.is_empty(), "{clocks:?}");
    assert!(case["clocks"].as_array().unwrap().iter().all(|c| c["level"] == "L2"), "{case}");

    // A non-VIP case is left alone.
    let (_, plain) =
        api.call(ana, "POST", "/api/v1/customers", Some(json!({"name": "Paul Plain", "value": 100}))).await;
    let (case, _) = open_vip_billing_case(&api, ana, plain["id"].as_str().unwrap()).await;
    assert_eq!(case["level"], "L1");

    // Version 2 has no rules; rolling back brings version 1's rule back.
    let without_rules = MATRIX.split("[[rules]]").next().unwrap().to_string();
    assert_eq!(api.upload_matrix(maria, "calm", &without_rules).await.0, 200);
    let (s, v2) = api.call(maria, "POST", "/api/v1/matrix/drafts/calm/activate", None).await;
    assert_eq!((s, v2["version"].as_u64()), (201, Some(2)));
    let (case, _) = open_vip_billing_case(&api, ana, &vip_id).await;
    assert_eq!(case["level"], "L1", "version 2 has no rule");
    let (s, back) = api.call(maria, "POST", "/api/v1/matrix/rollback", Some(json!({}))).await;
    assert_eq!((s, back["version"].as_u64()), (200, Some(1)), "{back}");
    let (case, _) = open_vip_billing_case(&api, ana, &vip_id).await;
    assert_eq!(case["level"], "L2", "version 1's rule is in force again");
    let (_, versions) = api.call(ana, "GET", "/api/v1/matrix/versions", None).await;
    let active: Vec<u64> = versions
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["active"] == true)
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(active, vec![1]);
}

#[tokio::test]
async fn the_active_matrix_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let maria = &world.tokens["maria"];
    {
        let server = Server::start(LADDER, dir.path());
        let api = Api::new(&server);
        assert_eq!(api.upload_matrix(maria, "main", MATRIX).await.0, 200);
        assert_eq!(api.call(maria, "POST", "/api/v1/matrix/drafts/main/activate", None).await.0, 201);
    }
    let server = Server::start(LADDER, dir.path());
    let api = Api::new(&server);
    let (_, vip) =
        api.call(maria, "POST", "/api/v1/customers", Some(json!({"name": "Vera Vip", "value": 25000}))).await;
    let (case, _) = open_vip_billing_case(&api, &world.tokens["ana"], vip["id"].as_str().unwrap()).await;
    assert_eq!(case["level"], "L2", "the rule is in force after the restart");
}

#[tokio::test]
async fn repeat_contacts_and_failing_rules_are_visible_in_the_history() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, maria) = (&world.tokens["ana"], &world.tokens["maria"]);
    let rules = format!(
        "{}{}",
        MATRIX.split("[[rules]]").next().unwrap(),
        r#"
[[rules]]
name = "Repeat contact"
trigger = "repeat_contact"
when = "event.count >= 2"
then = { tags = ["repeat-contact"], priority = "high" }

[[rules]]
name = "Broken at run time"
when = 'case.custom_fields.missing_field == "x"'
then = { tags = ["never"] }
"#
    );
    let (s, draft) = api.upload_matrix(maria, "main", &rules).await;
    assert_eq!(s, 200, "{draft}");
    assert_eq!(api.call(maria, "POST", "/api/v1/matrix/drafts/main/activate", None).await.0, 201);
    let (_, customer) = api.call(ana, "POST", "/api/v1/customers", Some(json!({"name": "Rita Repeat"}))).await;
    let customer = customer["id"].as_str().unwrap();

    let open = |subject: &'static str| {
        api.call(ana, "POST", "/api/v1/cases", Some(json!({"subject": subject, "customer_id": customer})))
    };
    let (_, first) = open("Router is down").await;
    assert!(first["tags"].as_array().unwrap().is_empty(), "a first contact is not a repeat: {first}");
    let (_, second) = open("Router is still down").await;
    assert_eq!(second["tags"], json!(["repeat-contact"]), "{second}");
    assert_eq!(second["priority"], "high");

    // A rule whose condition fails on this case is recorded, and the case goes on.
    let (_, events) =
        api.call(ana, "GET", &format!("/api/v1/cases/{}/events", second["id"].as_str().unwrap()), None).await;
    let failed: Vec<&serde_json::Value> =
        events.as_array().unwrap().iter().filter(|e| e["type"] == "rule_failed").collect();
    assert_eq!(failed.len(), 1, "{events}");
    assert_eq!(failed[0]["data"]["rule"], "Broken at run time");
    assert_eq!(failed[0]["data"]["trigger"], "case_opened");
    assert!(!failed[0]["data"]["error"].as_str().unwrap().is_empty());
}

/// A matrix with one rule whose condition is `when`, on line 6 (after the levels).
fn rule_when(when: &str) -> String {
    format!("[[levels]]\nid = \"L1\"\nrespond = \"0m\"\n\n[[rules]]\nname = \"r\"\nwhen = '{when}'\ntags = \"a\"\n")
}

#[tokio::test]
async fn hostile_conditions_are_reported_at_their_position_and_the_server_stays_up() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let (sam, maria) = (&world.tokens["sam"], &world.tokens["maria"]);
    // Each of the first four used to overflow the stack of the worker that parsed it: the
    // server process aborted.
    let hostile = [
        (format!("{} == 1", vec!["1"; 3000].join("+")), "nests too deeply"),
        (format!("case{} == 1", ".a".repeat(3000)), "nests too deeply"),
        (format!("{}true{}", "(".repeat(3000), ")".repeat(3000)), "nests too deeply"),
        (format!("{}1{} == [1]", "[".repeat(3000), "]".repeat(3000)), "nests too deeply"),
        ("lists.range(100000).all(x, lists.range(100000).all(y, x + y >= 0))".to_string(), "over the limit of 1000000"),
        (format!("case.subject == \"{}\"", "x".repeat(10_000)), "bytes long"),
    ];
    for (when, message) in &hostile {
        let source = rule_when(when);
        // A supervisor's check: the problem at its line and column, inside the condition.
        let (s, checked) = api.call(sam, "POST", "/api/v1/matrix/check", Some(json!({ "source": source }))).await;
        assert_eq!((s, checked["valid"].as_bool()), (200, Some(false)), "{checked}");
        let d = &checked["diagnostics"][0];
        assert!(d["message"].as_str().unwrap().contains(message), "{d}");
        assert_eq!((d["line"].as_u64(), d["path"].as_str()), (Some(7), Some("rules[0].when")), "{d}");
        assert!(d["column"].as_u64().unwrap() > 8, "inside the condition: {d}");
        // A manager's upload: refused with the same problem.
        let (s, p) = api.upload_matrix(maria, "hostile", &source).await;
        assert_eq!((s, p["type"].as_str()), (422, Some("/problems/invalid-matrix")), "{p}");
        assert!(p["errors"][0]["message"].as_str().unwrap().contains(message), "{p}");
    }
    let healthz = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(healthz.status(), 200);
}
