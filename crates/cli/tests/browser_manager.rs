//! The manager's console in a real browser: headless Debian Chromium driven by
//! playwright-core (`web-tests/manager.mjs`): the dashboard follows an escalated and resolved
//! case, and the matrix editor lints live, saves a draft and shows its diff. Never skipped:
//! without Chromium or `web-tests/node_modules` the test fails and says how to install them.
//!
//! Screenshots go to `target/web-tests/`; set `LADDER_SCREENSHOTS=docs/screenshots` to
//! refresh `dashboard.png` and `matrix.png`.

mod common;

use std::process::Command;

use common::*;
use serde_json::json;

const MATRIX: &str = r#"
[[levels]]
id = "L1"
name = "Front line"
teams = ["frontline"]
respond = "1h"
resolve = "8h"

[[levels]]
id = "L2"
name = "Specialists"
teams = ["billing", "supervisors"]
respond = "4h"
resolve = "24h"

[[levels]]
id = "L3"
name = "Management"
teams = ["management"]
respond = "24h"
"#;

#[tokio::test]
async fn a_manager_sees_the_dashboard_change_and_an_admin_lints_saves_and_diffs_a_draft_in_chromium() {
    let root = browser_ready();
    let web_tests = root.join("web-tests");

    let dir = tempfile::tempdir().unwrap();
    let world = seed_world(dir.path());
    let server = Server::start(dir.path());
    let api = Api::new(&server);
    api.activate_matrix(&world.tokens["root"], MATRIX).await;
    let (s, case) = api
        .call(
            &world.tokens["ana"],
            "POST",
            "/api/v1/cases",
            Some(json!({"subject": "Billed twice", "team": "frontline", "channel": "email", "category": "billing"})),
        )
        .await;
    assert_eq!(s, 201, "{case}");

    let out = match std::env::var("LADDER_SCREENSHOTS") {
        Ok(d) => root.join(d),
        Err(_) => root.join("target/web-tests"),
    };
    std::fs::create_dir_all(&out).unwrap();
    let run = Command::new("node")
        .arg(web_tests.join("manager.mjs"))
        .arg(&server.base)
        .arg(&out)
        .env("WALK_USER", "maria")
        .env("WALK_PASSWORD", "correct horse battery")
        .env("WALK_ADMIN", "root")
        .env("WALK_ADMIN_PASSWORD", "correct horse battery")
        .env("WALK_CASE", case["id"].as_str().unwrap())
        .env("WALK_AGENT_TOKEN", &world.tokens["ana"])
        .env("WALK_MANAGER_TOKEN", &world.tokens["maria"])
        .output()
        .expect("run node (is nodejs installed?)");
    let log = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "the browser walk failed:\n{log}");
    for shot in ["dashboard.png", "matrix.png"] {
        assert!(out.join(shot).metadata().is_ok_and(|m| m.len() > 1000), "{shot} was saved:\n{log}");
    }
}
