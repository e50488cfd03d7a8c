//! The what-if simulator over HTTP and from the command line, against a running server:
//! the matrix in force changes nothing, a candidate with a new rule predicts its
//! escalations, and who may ask.

use std::time::Duration;

use ladder_testkit::http::*;
use ladder_testkit::matrix::{BILLING_RULE as RULE, SEEDED_LEVELS_FOR_SIMULATIONS as MATRIX};
use ladder_testkit::period_around_today;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

/// Starts a simulation and waits for its report.
async fn simulate(api: &Api, token: &str, body: Value) -> Value {
    let (s, started) = api.call(token, "POST", "/api/v1/simulations", Some(body)).await;
    assert_eq!(s, 202, "{started}");
    let id = started["id"].as_str().unwrap().to_string();
    for _ in 0..400 {
        let (s, sim) = api.call(token, "GET", &format!("/api/v1/simulations/{id}"), None).await;
        assert_eq!(s, 200, "{sim}");
        match sim["status"].as_str() {
            Some("queued" | "running") => tokio::time::sleep(Duration::from_millis(25)).await,
            Some("done") => return sim,
            _ => panic!("the simulation did not finish: {sim}"),
        }
    }
    panic!("simulation {id} still running after 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_rule_predicts_its_escalations_and_the_matrix_in_force_changes_nothing() {
    let Running { dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, sam, maria) = (t("ana"), t("sam"), t("maria"));
    api.activate_matrix(&maria, MATRIX).await;
    for category in ["billing", "billing", "login"] {
        api.open_case(&ana, json!({"subject": "Help", "category": category, "channel": "email", "assignee": "ana"}))
            .await;
    }
    let (from, to) = period_around_today();

    // The matrix in force: every stream replays as recorded.
    let sim = simulate(&api, &maria, json!({"matrix": MATRIX, "from": from, "to": to})).await;
    let report = &sim["report"];
    assert_eq!((sim["done"].as_u64(), sim["total"].as_u64()), (Some(3), Some(3)), "{sim}");
    assert_eq!((report["cases"].as_u64(), report["cases_changed"].as_u64()), (Some(3), Some(0)), "{report}");
    assert_eq!(report["totals"]["actual"], report["totals"]["predicted"], "{report}");

    // A candidate that sends billing cases to the back office at once.
    let candidate = format!("{MATRIX}{RULE}");
    let sim = simulate(&api, &maria, json!({"matrix": candidate, "from": from, "to": to})).await;
    let report = &sim["report"];
    assert_eq!(report["cases_changed"].as_u64(), Some(2), "{report}");
    let totals = &report["totals"];
    assert_eq!(totals["actual"]["escalations"].as_u64(), Some(0), "{report}");
    assert_eq!(totals["predicted"]["escalations_by_rules"].as_u64(), Some(2), "{report}");
    let billing = report["teams"].as_array().unwrap().iter().find(|t| t["name"] == "billing").unwrap();
    assert_eq!((billing["actual"]["cases"].as_u64(), billing["predicted"]["cases"].as_u64()), (Some(0), Some(2)));
    let rule = &report["rules"][0];
    assert_eq!(rule["rule"], "Billing goes straight to the back office");
    assert_eq!((rule["actual"].as_u64(), rule["predicted"].as_u64()), (Some(0), Some(2)));

    // The same candidate saved as a draft gives the same figures.
    let (s, _) = api.upload_matrix(&maria, "candidate", &candidate).await;
    assert_eq!(s, 200);
    let again = simulate(&api, &maria, json!({"draft": "candidate", "from": from, "to": to})).await;
    assert_eq!(again["report"]["totals"], sim["report"]["totals"]);
    assert_eq!(again["report"]["levels"], sim["report"]["levels"]);

    // The list shows all three, newest first, without reports.
    let (s, list) = api.call(&maria, "GET", "/api/v1/simulations", None).await;
    assert_eq!(s, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["id"], again["id"]);
    assert!(list.iter().all(|s| s.get("report").is_none()));

    // From the command line, on the same data directory while the server runs.
    let file = dir.path().join("candidate.toml");
    std::fs::write(&file, &candidate).unwrap();
    let out = LADDER
        .on(dir.path(), &["simulate", "--matrix", file.to_str().unwrap(), "--from", &from, "--to", &to, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli["totals"], sim["report"]["totals"]);
    let table = LADDER
        .on(dir.path(), &["simulate", "--matrix", file.to_str().unwrap(), "--from", &from, "--to", &to])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("2 cases would go differently"), "{text}");
    assert!(text.lines().any(|l| l.trim_start().starts_with("by rules") && l.trim_end().ends_with("+2")), "{text}");

    // Who may ask, and bad requests.
    for token in [&ana, &sam] {
        let (s, p) = api
            .call(token, "POST", "/api/v1/simulations", Some(json!({"matrix": MATRIX, "from": from, "to": to})))
            .await;
        assert_eq!(s, 403, "{p}");
        let (s, _) = api.call(token, "GET", "/api/v1/simulations", None).await;
        assert_eq!(s, 403);
    }
    let (s, p) = api
        .call(
            &maria,
            "POST",
            "/api/v1/simulations",
            Some(json!({"matrix": "[[levels]]\nid = 3", "from": from, "to": to})),
        )
        .await;
    assert_eq!(s, 422, "{p}");
    let (s, p) = api
        .call(
            &maria,
            "POST",
            "/api/v1/simulations",
            Some(json!({"matrix": MATRIX, "draft": "candidate", "from": from, "to": to})),
        )
        .await;
    assert_eq!((s, p["field"].as_str()), (422, Some("matrix")), "{p}");
    let (s, p) = api
        .call(&maria, "POST", "/api/v1/simulations", Some(json!({"matrix": MATRIX, "from": "last week", "to": to})))
        .await;
    assert_eq!((s, p["field"].as_str()), (400, Some("from")), "{p}");
    let (s, _) = api.call(&maria, "GET", "/api/v1/simulations/nope", None).await;
    assert_eq!(s, 404);
}

/// Polls a simulation until its status is no longer `from`.
async fn status_after(api: &Api, token: &str, id: &str, from: &str) -> Value {
    for _ in 0..400 {
        let (s, sim) = api.call(token, "GET", &format!("/api/v1/simulations/{id}"), None).await;
        assert_eq!(s, 200, "{sim}");
        if sim["status"] != from {
            return sim;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("simulation {id} still {from} after 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_simulation_per_user_queued_for_a_slot_cancelled_by_its_owner_or_an_admin_and_periods_within_limits() {
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    // No slot: every simulation waits in the queue until it is cancelled. At most 2 cases.
    let env = [("LADDER_SIMULATION_SLOTS", "0"), ("LADDER_SIMULATION_MAX_CASES", "2")];
    let server = Server::start_with(LADDER, dir.path(), &env);
    let api = Api::new(&server);
    let (maria, root, ana) = (&world.tokens["maria"], &world.tokens["root"], &world.tokens["ana"]);
    let (from, to) = period_around_today();
    let body = json!({"matrix": MATRIX, "from": from, "to": to});

    let (s, first) = api.call(maria, "POST", "/api/v1/simulations", Some(body.clone())).await;
    assert_eq!((s, first["status"].as_str()), (202, Some("queued")), "{first}");
    let id = first["id"].as_str().unwrap();
    // A second for the same user is refused while the first is pending; another user's waits too.
    let (s, p) = api.call(maria, "POST", "/api/v1/simulations", Some(body.clone())).await;
    assert_eq!((s, p["type"].as_str()), (409, Some("/problems/simulation-running")), "{p}");
    assert!(p["detail"].as_str().unwrap().contains(&format!("DELETE /api/v1/simulations/{id}")), "{p}");
    let (s, other) = api.call(root, "POST", "/api/v1/simulations", Some(body.clone())).await;
    assert_eq!(s, 202, "{other}");
    // Only the one who started it, or an admin, cancels it: maria may not cancel root's.
    let (s, p) =
        api.call(maria, "DELETE", &format!("/api/v1/simulations/{}", other["id"].as_str().unwrap()), None).await;
    assert_eq!(s, 403, "another manager's simulation: {p}");
    assert!(p["detail"].as_str().unwrap().contains("another user's"), "{p}");

    // Cancelled: it stops, and the user may start another.
    let (s, cancelling) = api.call(maria, "DELETE", &format!("/api/v1/simulations/{id}"), None).await;
    assert_eq!((s, cancelling["id"].as_str()), (202, Some(id)), "{cancelling}");
    let sim = status_after(&api, maria, id, "cancelling").await;
    assert_eq!(sim["status"], "cancelled", "{sim}");
    let (s, again) = api.call(maria, "POST", "/api/v1/simulations", Some(body.clone())).await;
    assert_eq!(s, 202, "{again}");
    // A finished one is forgotten by DELETE; an unknown one is not found; agents may not.
    let (s, _) = api.call(maria, "DELETE", &format!("/api/v1/simulations/{id}"), None).await;
    assert_eq!(s, 204);
    let (s, _) = api.call(maria, "GET", &format!("/api/v1/simulations/{id}"), None).await;
    assert_eq!(s, 404);
    let again_path = format!("/api/v1/simulations/{}", again["id"].as_str().unwrap());
    let (s, _) = api.call(ana, "DELETE", &again_path, None).await;
    assert_eq!(s, 403);
    // An admin cancels anyone's.
    let (s, cancelling) = api.call(root, "DELETE", &again_path, None).await;
    assert_eq!((s, cancelling["requested_by"].as_str()), (202, Some("maria")), "{cancelling}");

    // Periods: within 1970–9999, at most a year, at most the cases the server replays.
    for (from, to, field) in
        [("1969-12-31", "1970-01-02", "from"), ("9999-12-30", "10000-01-01", "to"), ("2024-01-01", "2025-12-31", "to")]
    {
        let (s, p) = api
            .call(root, "POST", "/api/v1/simulations", Some(json!({"matrix": MATRIX, "from": from, "to": to})))
            .await;
        assert!(matches!(s, 400 | 422), "{from}..{to}: {p}");
        assert_eq!(p["field"].as_str(), Some(field), "{from}..{to}: {p}");
    }
    let (s, p) = api
        .call(root, "POST", "/api/v1/simulations", Some(json!({"matrix": MATRIX, "from": "0001-01-01", "to": to})))
        .await;
    assert_eq!((s, p["field"].as_str()), (422, Some("from")), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("1970-01-01"), "the detail gives the range: {p}");
    for _ in 0..3 {
        api.open_case(ana, json!({"subject": "Help", "category": "billing", "channel": "email"})).await;
    }
    let (s, p) = api.call(ana, "GET", "/api/v1/simulations", None).await;
    assert_eq!(s, 403, "{p}");
    let (s, p) = api.call(&world.tokens["sam"], "POST", "/api/v1/simulations", Some(body.clone())).await;
    assert_eq!(s, 403, "{p}");
    let (s, list) = api.call(root, "GET", "/api/v1/simulations", None).await;
    assert_eq!(s, 200);
    let root_job = list.as_array().unwrap().iter().find(|j| j["requested_by"] == "root").unwrap().clone();
    let (s, _) =
        api.call(root, "DELETE", &format!("/api/v1/simulations/{}", root_job["id"].as_str().unwrap()), None).await;
    assert_eq!(s, 202);
    status_after(&api, root, root_job["id"].as_str().unwrap(), "cancelling").await;
    let (s, p) = api.call(root, "POST", "/api/v1/simulations", Some(body)).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("from")), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("holds 3 cases, more than the 2"), "{p}");

    // The OpenAPI document describes the cancel.
    let doc: Value = reqwest::get(server.url("/openapi.json")).await.unwrap().json().await.unwrap();
    let delete = &doc["paths"]["/api/v1/simulations/{id}"]["delete"]["responses"];
    assert!(delete.get("202").is_some() && delete.get("204").is_some(), "{delete}");
}
