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
            Some("running") => tokio::time::sleep(Duration::from_millis(25)).await,
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
    assert_eq!((s, p["field"].as_str()), (400, Some("matrix")), "{p}");
    let (s, p) = api
        .call(&maria, "POST", "/api/v1/simulations", Some(json!({"matrix": MATRIX, "from": "last week", "to": to})))
        .await;
    assert_eq!((s, p["field"].as_str()), (400, Some("from")), "{p}");
    let (s, _) = api.call(&maria, "GET", "/api/v1/simulations/nope", None).await;
    assert_eq!(s, 404);
}
