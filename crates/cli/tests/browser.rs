//! The console in a real browser: headless Debian Chromium driven by playwright-core
//! (`web-tests/walk.mjs`). Never skipped: without Chromium or `web-tests/node_modules` the
//! test fails and says how to install them (`bash scripts/test`).
//!
//! Screenshots go to `target/web-tests/`; set `LADDER_SCREENSHOTS=docs/screenshots` to
//! refresh the ones the README shows.

mod common;

use std::process::Command;

use common::*;
use serde_json::json;

/// Targets and authority limits, so the pages show clocks and the agent's limit.
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

[[authority]]
action = "credit"
limits = { agent = 50, supervisor = 500, manager = 2000 }
"#;

#[tokio::test]
async fn an_agent_and_a_supervisor_walk_credit_approval_live_board_escalation_denials_and_logout_in_chromium() {
    let root = browser_ready();
    let web_tests = root.join("web-tests");

    let dir = tempfile::tempdir().unwrap();
    let world = seed_world(dir.path());
    let server = Server::start(dir.path());
    let api = Api::new(&server);
    let sam = &world.tokens["sam"];
    api.activate_matrix(&world.tokens["root"], MATRIX).await;
    let (s, customer) = api
        .call(
            sam,
            "POST",
            "/api/v1/customers",
            Some(json!({"name": "Dana Whitfield", "value": 12500, "segment": "gold"})),
        )
        .await;
    assert_eq!(s, 201, "{customer}");
    for (subject, priority) in [
        ("Router keeps dropping the connection", "high"),
        ("Cannot log in to the app", "normal"),
        ("Question about my invoice", "low"),
    ] {
        let (s, c) = api
            .call(
                sam,
                "POST",
                "/api/v1/cases",
                Some(
                    json!({"subject": subject, "team": "frontline", "priority": priority, "customer_id": customer["id"],
                "description": "Reported by phone; the customer has tried restarting."}),
                ),
            )
            .await;
        assert_eq!(s, 201, "{c}");
    }
    let (s, foreign) = api
        .call(&world.tokens["erin"], "POST", "/api/v1/cases", Some(json!({"subject": "Refund", "team": "billing"})))
        .await;
    assert_eq!(s, 201, "{foreign}");

    let out = match std::env::var("LADDER_SCREENSHOTS") {
        Ok(d) => root.join(d),
        Err(_) => root.join("target/web-tests"),
    };
    std::fs::create_dir_all(&out).unwrap();
    let run = Command::new("node")
        .arg(web_tests.join("walk.mjs"))
        .arg(&server.base)
        .arg(&out)
        .env("WALK_USER", "ana")
        .env("WALK_SUPERVISOR", "sam")
        .env("WALK_PASSWORD", "correct horse battery")
        .env("WALK_FOREIGN_CASE", foreign["number"].to_string())
        .output()
        .expect("run node (is nodejs installed?)");
    let log = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "the browser walk failed:\n{log}");
    for shot in ["login.png", "queue.png", "case.png", "board.png", "approvals.png"] {
        assert!(out.join(shot).metadata().is_ok_and(|m| m.len() > 1000), "{shot} was saved:\n{log}");
    }
}
