//! `ladder serve --demo` over real HTTP: the seeded history ran under SLA targets, so the
//! dashboard's SLA compliance counts clocks that were met and clocks that breached.

use ladder_testkit::http::Api;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_history_has_sla_clocks_met_and_breached_at_every_level() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_args(LADDER, dir.path(), &["--demo"]);
    let api = Api::new(&server);
    let login = reqwest::Client::new()
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"name": "maria", "password": "ladder-demo-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token = login.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();

    let (s, rows) = api.call(&token, "GET", "/api/v1/metrics?group_by=level", None).await;
    assert_eq!(s, 200, "{rows}");
    let rows = rows.get("rows").unwrap_or(&rows).as_array().expect("metrics rows").clone();
    for level in ["L1", "L2", "L3"] {
        let row = rows.iter().find(|r| r["value"] == level).unwrap_or_else(|| panic!("no row for {level}: {rows:?}"));
        let (met, breached) = (row["sla_met"].as_u64().unwrap(), row["sla_breached"].as_u64().unwrap());
        assert!(met > 0 && breached > 0, "{level}: {met} met, {breached} breached");
        assert!(met > breached, "{level}: mostly met ({met} met, {breached} breached)");
    }

    // The targets the history ran under stay in the matrix's history; the example is in force.
    let (s, active) = api.call(&token, "GET", "/api/v1/matrix/active", None).await;
    assert_eq!(s, 200, "{active}");
    assert_eq!(active["version"], 2, "{active}");
}
