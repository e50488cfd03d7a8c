//! End-to-end: the real binary, real HTTP, a real database (SQLite, or PostgreSQL with
//! `LADDER_TEST_BACKEND=postgres`).

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

#[tokio::test]
async fn a_case_climbs_the_ladder_comes_back_down_and_is_resolved_and_reopened() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, tara, maria) = (&world.tokens["ana"], &world.tokens["tara"], &world.tokens["maria"]);

    let (status, case) = api
        .call(
            ana,
            "POST",
            "/api/v1/cases",
            Some(json!({
                "subject": "Charged twice for my subscription",
                "description": "Two charges of 49.99 this month",
                "category": "billing", "channel": "phone", "priority": "high", "assignee": "ana"
            })),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    assert_eq!(case["level"], "L1");
    assert_eq!(case["status"], "open");
    let id = case["id"].as_str().unwrap().to_string();

    let (status, case) = api
        .command(
            ana,
            &id,
            "escalate",
            json!({
                "kind": "functional", "to_team": "billing", "initiator": "agent",
                "reason": "refund needs the back office", "tried": "checked both charges in the billing tool"
            }),
        )
        .await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["level"], "L2");

    // Now the billing team owns it: its supervisor takes the customer's request up.
    let (status, case) = api
        .command(
            tara,
            &id,
            "escalate",
            json!({
                "kind": "hierarchical", "to_level": "L3", "to_team": "management", "to_user": "maria",
                "initiator": "customer", "reason": "customer asked for a manager"
            }),
        )
        .await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["level"], "L3");
    assert_eq!(case["n_escalations"], 2);

    let (status, case) = api
        .call(
            maria,
            "POST",
            &format!("/api/v1/cases/{id}/de-escalate"),
            Some(json!({
                "guidance": "approved the refund; billing please process it"
            })),
        )
        .await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["level"], "L2");

    let (status, case) = api.command(tara, &id, "resolve", json!({"code": "refund_issued"})).await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["status"], "resolved");

    let (status, case) = api.command(maria, &id, "reopen", json!({"reason": "refund bounced"})).await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["status"], "open");

    let (status, events) = api.call(maria, "GET", &format!("/api/v1/cases/{id}/events"), None).await;
    assert_eq!(status, 200);
    let summary: Vec<(String, String, String)> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["actor"]["name"].as_str().unwrap_or("").to_string(),
                e["status_after"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("opened", "ana", "open"),
        ("escalated", "ana", "open"),
        ("escalated", "tara", "open"),
        ("de_escalated", "maria", "open"),
        ("resolved", "tara", "resolved"),
        ("reopened", "maria", "open"),
    ];
    assert_eq!(
        summary,
        expected.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect::<Vec<_>>()
    );
    let second = &events[2]["data"];
    assert_eq!(second["kind"], "hierarchical");
    assert_eq!(second["initiator"], "customer");
    assert_eq!(second["from_level"], "L2");
    assert_eq!(second["to_level"], "L3");
    assert_eq!(second["reason"], "customer asked for a manager");
    assert_eq!(events[1]["data"]["tried"], "checked both charges in the billing tool");
    assert!(events[0]["at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn invalid_requests_get_precise_problems() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let ana = &world.tokens["ana"];

    let (status, p) = api.call(ana, "POST", "/api/v1/cases", Some(json!({"description": "no subject"}))).await;
    assert_eq!((status, p["field"].as_str()), (422, Some("subject")), "{p}");
    assert_eq!(p["type"], "/problems/validation");

    let (status, p) = api.call(ana, "POST", "/api/v1/cases", Some(json!({"subject": "x", "level": "L9"}))).await;
    assert_eq!((status, p["field"].as_str()), (422, Some("level")), "{p}");

    let (_, case) = api.call(ana, "POST", "/api/v1/cases", Some(json!({"subject": "Printer on fire"}))).await;
    let id = case["id"].as_str().unwrap();
    let (status, p) = api.command(ana, &id, "escalate", json!({"kind": "hierarchical", "reason": "x"})).await;
    assert_eq!((status, p["field"].as_str()), (422, Some("tried")), "{p}");

    api.command(ana, &id, "resolve", json!({"code": "fixed"})).await;
    let (status, p) =
        api.command(ana, &id, "escalate", json!({"kind": "hierarchical", "reason": "x", "tried": "y"})).await;
    assert_eq!(status, 409, "{p}");
    assert_eq!(p["current_state"], "resolved");
    assert_eq!(p["type"], "/problems/invalid-transition");

    let (status, p) = api.call(ana, "GET", "/api/v1/cases/01a2088d-4575-70f5-8109-aabc640d5ef9", None).await;
    assert_eq!(status, 404, "{p}");
    let (status, _) = api.call(ana, "GET", "/api/v1/cases/not-a-uuid", None).await;
    assert_eq!(status, 400);

    let resp = api
        .client
        .post(format!("{}/api/v1/cases", api.base))
        .bearer_auth(ana)
        .header("content-type", "application/json")
        .body("{\"subject\": \"x\",\n \"channel\": }")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let p: serde_json::Value = resp.json().await.unwrap();
    assert_eq!((p["line"].as_u64(), p["type"].as_str()), (Some(2), Some("/problems/malformed-json")), "{p}");
}

#[tokio::test]
async fn stale_if_match_is_refused_and_idempotency_keys_make_retries_safe() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let ana = &world.tokens["ana"];

    let body = json!({"subject": "Refund not received"});
    let (s1, a) = api.call_with(ana, "POST", "/api/v1/cases", Some(body.clone()), &[("Idempotency-Key", "k-1")]).await;
    let (s2, b) = api.call_with(ana, "POST", "/api/v1/cases", Some(body), &[("Idempotency-Key", "k-1")]).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(a["id"], b["id"], "a retry with the same key returns the same case");
    let (_, page) = api.call(ana, "GET", "/api/v1/cases", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "only one case was opened");
    let (s3, p) = api
        .call_with(ana, "POST", "/api/v1/cases", Some(json!({"subject": "other"})), &[("Idempotency-Key", "k-1")])
        .await;
    assert_eq!((s3, p["type"].as_str()), (422, Some("/problems/idempotency-key-reused")));

    let id = a["id"].as_str().unwrap();
    let path = format!("/api/v1/cases/{id}/messages");
    let (status, c) = api.call_with(ana, "POST", &path, Some(json!({"body": "hello"})), &[("If-Match", "\"1\"")]).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["version"], 2);
    let (status, p) = api.call_with(ana, "POST", &path, Some(json!({"body": "again"})), &[("If-Match", "\"1\"")]).await;
    assert_eq!(status, 412, "{p}");
    assert_eq!(p["current_version"], 2);
}

#[tokio::test]
async fn cases_are_listed_filtered_searched_and_paginated() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let root = &world.tokens["root"];
    for i in 0..7 {
        let subject = if i == 3 { "Router keeps rebooting".to_string() } else { format!("Question {i}") };
        let priority = if i % 2 == 0 { "high" } else { "low" };
        let (s, _) = api
            .call(
                root,
                "POST",
                "/api/v1/cases",
                Some(json!({"subject": subject, "team": "frontline", "priority": priority, "channel": "chat"})),
            )
            .await;
        assert_eq!(s, 201);
    }
    let (_, page) = api.call(root, "GET", "/api/v1/cases?q=reboot", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["subject"], "Router keeps rebooting");
    let (_, page) = api.call(root, "GET", "/api/v1/cases?priority=high&team=frontline&channel=chat", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/cases?limit=3&cursor={c}"),
            None => "/api/v1/cases?limit=3".to_string(),
        };
        let (s, page) = api.call(root, "GET", &path, None).await;
        assert_eq!(s, 200);
        seen.extend(page["items"].as_array().unwrap().iter().map(|c| c["number"].as_u64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, vec![7, 6, 5, 4, 3, 2, 1]);
    let (s, p) = api.call(root, "GET", "/api/v1/cases?status=bogus", None).await;
    assert_eq!((s, p["field"].as_str()), (400, Some("status")));
}

#[tokio::test]
async fn openapi_health_and_readiness_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(LADDER, dir.path());
    let client = reqwest::Client::new();
    let doc: serde_json::Value = client.get(server.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/cases",
        "/api/v1/cases/{id}/escalate",
        "/api/v1/cases/{id}/events",
        "/api/v1/customers",
        "/api/v1/tokens",
        "/api/v1/auth/logout",
        "/api/v1/stream",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "openapi.json lacks {path}");
    }
    assert!(doc["components"]["schemas"].get("EscalateBody").is_some());
    assert_eq!(doc["paths"]["/api/v1/auth/login"]["post"]["security"], serde_json::json!([{}]), "login needs no token");
    assert_eq!(client.get(server.url("/healthz")).send().await.unwrap().status().as_u16(), 200);
    assert_eq!(client.get(server.url("/readyz")).send().await.unwrap().status().as_u16(), 200);
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(LADDER, dir.path());
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

#[tokio::test]
async fn conveniences_and_edges_of_the_api() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let ana = &world.tokens["ana"];
    let (_, case) = api.call(ana, "POST", "/api/v1/cases", Some(json!({"subject": "Router keeps rebooting"}))).await;
    let id = case["id"].as_str().unwrap().to_string();

    // An empty assign body is an error, not an unassign; `me` names the caller.
    let (s, p) = api.command(ana, &id, "assign", json!({})).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("assignee")), "{p}");
    let c = api.post_ok(ana, &format!("/api/v1/cases/{id}/assign"), json!({"assignee": "me"})).await;
    let (_, me) = api.call(ana, "GET", "/api/v1/users/me", None).await;
    assert_eq!(c["assignee_id"], me["id"]);

    // Search finds words that are in different messages of one case.
    let (s, _) = api
        .call_with(
            ana,
            "POST",
            &format!("/api/v1/cases/{id}/messages"),
            Some(json!({"body": "It happens every evening"})),
            &[("If-Match", "*")],
        )
        .await;
    assert_eq!(s, 200, "If-Match: * accepts any current version");
    let (_, page) = api.call(ana, "GET", "/api/v1/cases?q=rebooting%20evening", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let (_, page) = api.call(ana, "GET", "/api/v1/cases?q=rebooting%20morning", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0);

    // A retry whose JSON differs only in spacing and key order is the same request.
    let url = format!("{}/api/v1/cases", api.base);
    let send = |body: &'static str| {
        api.client
            .post(url.clone())
            .bearer_auth(ana)
            .header("content-type", "application/json")
            .header("Idempotency-Key", "same-request")
            .body(body)
            .send()
    };
    let first: serde_json::Value =
        send(r#"{"subject":"Late fee","priority":"high"}"#).await.unwrap().json().await.unwrap();
    let again: serde_json::Value =
        send("{ \"priority\": \"high\",\n  \"subject\": \"Late fee\" }").await.unwrap().json().await.unwrap();
    assert_eq!(first["id"], again["id"]);

    // Errors the framework answers are problem+json too.
    let resp = api.client.delete(format!("{}/api/v1/cases", api.base)).bearer_auth(ana).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let resp = api.client.get(format!("{}/api/v1/cases?limit=abc", api.base)).bearer_auth(ana).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");

    // An agent with no team at a level must name the team.
    let (s, p) = api.call(ana, "POST", "/api/v1/cases", Some(json!({"subject": "x", "level": "L2"}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("team")), "{p}");
}

#[tokio::test]
async fn logout_revokes_the_session_token() {
    let dir = tempfile::tempdir().unwrap();
    LADDER.seed_world(dir.path());
    let server = Server::start(LADDER, dir.path());
    let api = Api::new(&server);
    let login: serde_json::Value = api
        .client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"name": "ana", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    assert!(login["token_id"].is_string());
    assert_eq!(api.call(token, "GET", "/api/v1/cases", None).await.0, 200);
    assert_eq!(api.call(token, "POST", "/api/v1/auth/logout", None).await.0, 204);
    assert_eq!(api.call(token, "GET", "/api/v1/cases", None).await.0, 401);
}

#[tokio::test]
async fn sigterm_ends_live_streams_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let mut server = Server::start(LADDER, dir.path());
    let mut stream = reqwest::Client::new()
        .get(server.url("/api/v1/stream"))
        .bearer_auth(&world.tokens["ana"])
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    // The open stream ends (rather than holding the server up) and the process exits cleanly.
    while let Ok(Some(_)) = stream.chunk().await {}
    let status = server.child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM with a live stream: {status:?}");
}
