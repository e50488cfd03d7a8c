//! The console in a real browser: headless Debian Chromium driven by playwright-core
//! (`web-tests/walk.mjs`). Never skipped: without Chromium or `web-tests/node_modules` the
//! test fails and says how to install them (`bash scripts/test`).
//!
//! Screenshots go to `target/web-tests/`; set `LADDER_SCREENSHOTS=docs/screenshots` to
//! refresh the ones the README shows.

use ladder_testkit::browser;
use ladder_testkit::matrix::SEEDED_LEVELS_WITH_TARGETS;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

/// Authority limits after the targets, so the pages show clocks and the agent's limit.
const AUTHORITY: &str = r#"
[[authority]]
action = "credit"
limits = { agent = 50, supervisor = 500, manager = 2000 }
"#;

#[tokio::test]
async fn an_agent_and_a_supervisor_walk_credit_approval_live_board_escalation_denials_and_logout_in_chromium() {
    browser::ready();
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let sam = &world.tokens["sam"];
    api.activate_matrix(&world.tokens["root"], &[SEEDED_LEVELS_WITH_TARGETS, AUTHORITY].concat()).await;
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
        api.open_case(
            sam,
            json!({"subject": subject, "team": "frontline", "priority": priority, "customer_id": customer["id"],
                "description": "Reported by phone; the customer has tried restarting."}),
        )
        .await;
    }
    let foreign = api.open_case(&world.tokens["erin"], json!({"subject": "Refund", "team": "billing"})).await;
    // The back office's skills, for the escalate dialog to offer; erin at work there.
    let billing = json!({"slug": "billing", "name": "Billing back office", "level": "L2", "kind": "back_office",
        "skills": ["billing", "refunds"]});
    let (s, team) = api.call(&world.tokens["root"], "PUT", "/api/v1/teams/billing", Some(billing)).await;
    assert_eq!(s, 200, "{team}");
    let available = json!({"presence": "available"});
    let (s, agent) = api.call(&world.tokens["erin"], "PUT", "/api/v1/agents/me/presence", Some(available)).await;
    assert_eq!(s, 200, "{agent}");

    browser::walk(
        "walk.mjs",
        &server.base,
        &[
            ("WALK_USER", "ana"),
            ("WALK_SUPERVISOR", "sam"),
            ("WALK_PASSWORD", PASSWORD),
            ("WALK_FOREIGN_CASE", &foreign["number"].to_string()),
        ],
        &["login.png", "queue.png", "escalate.png", "case.png", "board.png", "approvals.png"],
    );
}
