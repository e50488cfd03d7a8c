//! The what-if simulator over HTTP and from the command line, against a running server:
//! the matrix in force changes nothing, a candidate with a new rule predicts its
//! escalations, and who may ask.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const MATRIX: &str = r#"
[[levels]]
id = "L1"
teams = ["frontline"]
respond = "4h"
resolve = "2d"

[[levels]]
id = "L2"
teams = ["billing", "supervisors"]
respond = "4h"
resolve = "2d"

[[levels]]
id = "L3"
teams = ["management"]
"#;

const RULE: &str = r#"
[[rules]]
name = "Billing goes straight to the back office"
trigger = "case_opened"
when = 'case.category == "billing"'
then = { escalate = "L2", team = "billing", kind = "functional" }
"#;

/// The period around today, so a run near midnight UTC still covers the cases.
fn period() -> (String, String) {
    let today = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC).date();
    (today.yesterday().unwrap().to_string(), today.tomorrow().unwrap().to_string())
}

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
    let dir = tempfile::tempdir().unwrap();
    let world = seed_world(dir.path());
    let t = |name: &str| world.tokens[name].clone();
    let (ana, sam, maria) = (t("ana"), t("sam"), t("maria"));
    let server = Server::start(dir.path());
    let api = Api::new(&server);
    api.activate_matrix(&maria, MATRIX).await;
    for category in ["billing", "billing", "login"] {
        let (s, case) = api
            .call(
                &ana,
                "POST",
                "/api/v1/cases",
                Some(json!({"subject": "Help", "category": category, "channel": "email", "assignee": "ana"})),
            )
            .await;
        assert_eq!(s, 201, "{case}");
    }
    let (from, to) = period();

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
    let out = ladder_on(
        dir.path(),
        &["simulate", "--matrix", file.to_str().unwrap(), "--from", &from, "--to", &to, "--json"],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli["totals"], sim["report"]["totals"]);
    let table = ladder_on(dir.path(), &["simulate", "--matrix", file.to_str().unwrap(), "--from", &from, "--to", &to])
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
