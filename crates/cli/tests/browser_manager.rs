//! The manager's console in a real browser: headless Debian Chromium driven by
//! playwright-core (`web-tests/manager.mjs`): the dashboard follows an escalated and resolved
//! case, and the matrix editor lints live, saves a draft and shows its diff. Never skipped:
//! without Chromium or `web-tests/node_modules` the test fails and says how to install them.
//!
//! Screenshots go to `target/web-tests/`; set `LADDER_SCREENSHOTS=docs/screenshots` to
//! refresh `dashboard.png` and `matrix.png`.

use ladder_testkit::browser;
use ladder_testkit::matrix::SEEDED_LEVELS_WITH_TARGETS;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

#[tokio::test]
async fn a_manager_sees_the_dashboard_change_and_an_admin_lints_saves_and_diffs_a_draft_in_chromium() {
    browser::ready();
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    api.activate_matrix(&world.tokens["root"], SEEDED_LEVELS_WITH_TARGETS).await;
    let case = api
        .open_case(
            &world.tokens["ana"],
            json!({"subject": "Billed twice", "team": "frontline", "channel": "email", "category": "billing"}),
        )
        .await;

    browser::walk(
        "manager.mjs",
        &server.base,
        &[
            ("WALK_USER", "maria"),
            ("WALK_PASSWORD", PASSWORD),
            ("WALK_ADMIN", "root"),
            ("WALK_ADMIN_PASSWORD", PASSWORD),
            ("WALK_CASE", case["id"].as_str().unwrap()),
            ("WALK_AGENT_TOKEN", &world.tokens["ana"]),
            ("WALK_MANAGER_TOKEN", &world.tokens["maria"]),
        ],
        &["dashboard.png", "matrix.png"],
    );
}
