//! "Revise the rules" insights over HTTP: five billing cases escalated by the front line and
//! resolved at once at L2 with the same code make a `move_down` suggestion; bad dates and
//! who may read them.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insights_suggest_moving_a_category_down() {
    let dir = tempfile::tempdir().unwrap();
    let world = seed_world(dir.path());
    let t = |name: &str| world.tokens[name].clone();
    let (ana, erin, maria, root) = (t("ana"), t("erin"), t("maria"), t("root"));
    let server = Server::start(dir.path());
    let api = Api::new(&server);

    let mut numbers = Vec::new();
    for _ in 0..5 {
        let (s, case) = api
            .call(
                &ana,
                "POST",
                "/api/v1/cases",
                Some(json!({"subject": "Charged twice", "category": "billing", "channel": "phone", "assignee": "ana"})),
            )
            .await;
        assert_eq!(s, 201, "{case}");
        let id = case["id"].as_str().unwrap().to_string();
        numbers.push(case["number"].as_u64().unwrap());
        let (s, case) = api
            .call(
                &ana,
                "POST",
                &format!("/api/v1/cases/{id}/escalate"),
                Some(json!({"kind": "functional", "to_team": "billing", "to_user": "erin", "initiator": "agent",
                            "reason": "refund needs the back office", "tried": "checked the invoice"})),
            )
            .await;
        assert_eq!((s, case["level"].as_str()), (200, Some("L2")), "{case}");
        let (s, case) =
            api.call(&erin, "POST", &format!("/api/v1/cases/{id}/resolve"), Some(json!({"code": "refunded"}))).await;
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

    // Bad dates name the field.
    let (s, p) = api.call(&maria, "GET", "/api/v1/insights?from=yesterday", None).await;
    assert_eq!((s, p["field"].as_str()), (400, Some("from")), "{p}");
    let (s, p) = api.call(&maria, "GET", "/api/v1/insights?from=2026-02-01&to=2026-01-01", None).await;
    assert_eq!((s, p["field"].as_str()), (400, Some("from")), "{p}");

    // Agents may not read them.
    let (s, p) = api.call(&ana, "GET", "/api/v1/insights", None).await;
    assert_eq!(s, 403, "{p}");
}
