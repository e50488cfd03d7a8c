//! "Revise the rules" insights over HTTP: five billing cases escalated by the front line and
//! resolved at once at L2 with the same code make a `move_down` suggestion; bad dates and
//! who may read them.

use ladder_testkit::http::*;
use ladder_testkit::matrix::SEEDED_LEVELS;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insights_suggest_moving_a_category_down() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, erin, maria, root) = (t("ana"), t("erin"), t("maria"), t("root"));

    let mut numbers = Vec::new();
    for _ in 0..5 {
        let case = api
            .open_case(
                &ana,
                json!({"subject": "Charged twice", "category": "billing", "channel": "phone", "assignee": "ana"}),
            )
            .await;
        let id = case["id"].as_str().unwrap().to_string();
        numbers.push(case["number"].as_u64().unwrap());
        let (s, case) = api
            .command(
                &ana,
                &id,
                "escalate",
                json!({"kind": "functional", "to_team": "billing", "to_user": "erin", "initiator": "agent",
                            "reason": "refund needs the back office", "tried": "checked the invoice"}),
            )
            .await;
        assert_eq!((s, case["level"].as_str()), (200, Some("L2")), "{case}");
        let (s, case) = api.command(&erin, &id, "resolve", json!({"code": "refunded"})).await;
        assert_eq!(s, 200, "{case}");
    }
    // A case in another category, never escalated: no suggestion of its own.
    let (s, _) = api
        .call(
            &ana,
            "POST",
            "/api/v1/cases",
            Some(json!({"subject": "Password", "category": "login", "channel": "chat"})),
        )
        .await;
    assert_eq!(s, 201);

    let (s, body) = api.call(&maria, "GET", "/api/v1/insights", None).await;
    assert_eq!(s, 200, "{body}");
    let suggestions = body["suggestions"].as_array().unwrap();
    let move_down: Vec<_> = suggestions.iter().filter(|s| s["kind"] == "move_down").collect();
    assert_eq!(move_down.len(), 1, "{body}");
    let m = move_down[0];
    assert!(m["title"].as_str().unwrap().contains("'billing'"), "{m}");
    assert!(m["suggestion"].as_str().unwrap().contains("'refunded'"), "{m}");
    let evidence = &m["evidence"];
    assert_eq!((evidence["cases"].as_i64(), evidence["escalated"].as_i64()), (Some(5), Some(5)), "{m}");
    assert_eq!(evidence["top_code_share"].as_f64(), Some(1.0), "{m}");
    assert!(evidence["median_resolution_after_escalation_s"].as_f64().unwrap() < 3600.0, "{m}");
    numbers.sort_unstable();
    assert_eq!(evidence["example_cases"], json!(numbers), "{m}");

    // An explicit period that holds no case: nothing to suggest.
    let (s, body) = api.call(&root, "GET", "/api/v1/insights?from=2000-01-01&to=2000-01-31", None).await;
    assert_eq!((s, body["suggestions"].as_array().map(Vec::len)), (200, Some(0)), "{body}");
    assert_eq!((body["from"].as_str(), body["to"].as_str()), (Some("2000-01-01"), Some("2000-01-31")));

    // Bad dates name the field: 400 for one that does not parse, 422 for a period that runs backwards.
    let (s, p) = api.call(&maria, "GET", "/api/v1/insights?from=yesterday", None).await;
    assert_eq!((s, p["field"].as_str()), (400, Some("from")), "{p}");
    let (s, p) = api.call(&maria, "GET", "/api/v1/insights?from=2026-02-01&to=2026-01-01", None).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("from")), "{p}");

    // Agents may not read them.
    let (s, p) = api.call(&ana, "GET", "/api/v1/insights", None).await;
    assert_eq!(s, 403, "{p}");
}

/// Rules of three triggers after the seeded ladder.
const RULES: &str = r#"
[[rules]]
name = "Legal threat"
trigger = "message_received"
when = 'contact.body.lowerAscii().contains("lawyer")'
then = { tags = ["legal"] }

[[rules]]
name = "Every status change"
trigger = "status_changed"
then = { notify = "role:manager" }

[[rules]]
name = "Reopened"
trigger = "reopened"
then = { notify = "role:supervisor" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_of_every_trigger_that_never_or_always_fire() {
    let Running { dir, world, server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, maria) = (t("ana"), t("maria"));
    api.activate_matrix(&maria, &[SEEDED_LEVELS, RULES].concat()).await;

    // 20 cases: the customer writes (never about a lawyer), the agent resolves; two are
    // reopened (too few for a verdict on that rule).
    let mut numbers = Vec::new();
    for i in 0..20 {
        let case = api.open_case(&ana, json!({"subject": "Slow internet", "channel": "email"})).await;
        let id = case["id"].as_str().unwrap().to_string();
        numbers.push(case["number"].as_u64().unwrap());
        let message = json!({"body": "It is still slow in the evening.", "from_customer": true});
        let (s, v) = api.command(&ana, &id, "messages", message).await;
        assert!(s == 200 || s == 201, "{v}");
        let (s, v) = api.command(&ana, &id, "resolve", json!({"code": "fixed"})).await;
        assert_eq!(s, 200, "{v}");
        if i < 2 {
            api.post_ok(&ana, &format!("/api/v1/cases/{id}/reopen"), json!({"reason": "slow again"})).await;
        }
    }

    let (s, body) = api.call(&maria, "GET", "/api/v1/insights", None).await;
    assert_eq!(s, 200, "{body}");
    let of = |kind: &str| -> Vec<serde_json::Value> {
        body["suggestions"].as_array().unwrap().iter().filter(|s| s["kind"] == kind).cloned().collect()
    };
    let never = of("rule_never_fires");
    assert_eq!(never.len(), 1, "{body}");
    assert!(never[0]["title"].as_str().unwrap().contains("'Legal threat'"), "{never:?}");
    assert!(never[0]["title"].as_str().unwrap().contains("'message_received'"), "{never:?}");
    assert_eq!(
        (never[0]["evidence"]["triggered"].as_i64(), never[0]["evidence"]["fired"].as_i64()),
        (Some(20), Some(0))
    );
    // Its examples are cases where the trigger happened.
    for n in never[0]["evidence"]["example_cases"].as_array().unwrap() {
        assert!(numbers.contains(&n.as_u64().unwrap()), "{never:?}");
    }
    let always = of("rule_always_fires");
    assert_eq!(always.len(), 1, "{body}");
    let evidence = &always[0]["evidence"];
    assert!(always[0]["title"].as_str().unwrap().contains("'Every status change'"), "{always:?}");
    // At least the resolutions and reopenings changed the status; the rule fired on each.
    let triggered = evidence["triggered"].as_i64().unwrap();
    assert!(triggered >= 22, "{always:?}");
    assert_eq!((evidence["fired"].as_i64(), evidence["fired_share"].as_f64()), (Some(triggered), Some(1.0)));
    assert!(!evidence["example_cases"].as_array().unwrap().is_empty(), "{always:?}");

    // Counted by the day the trigger happened: an old period has none.
    let (_, body) = api.call(&maria, "GET", "/api/v1/insights?from=2000-01-01&to=2000-01-31", None).await;
    assert_eq!(body["suggestions"].as_array().map(Vec::len), Some(0), "{body}");

    // The counts survive a restart (they are rows, not memory).
    drop(server);
    let server = Server::start(LADDER, dir.path());
    let api = Api::new(&server);
    let (_, again) = api.call(&maria, "GET", "/api/v1/insights", None).await;
    let kinds: Vec<&str> =
        again["suggestions"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["rule_never_fires", "rule_always_fires"], "{again}");
}
