//! Live agent pages in a real browser: headless Debian Chromium driven by playwright-core
//! (`web-tests/live.mjs`): a reply from another session appears on the agent's case page
//! without a reload (what she was typing kept), a case assigned to her over the API shows on
//! her queue as updated, and times show in the time zone of her profile. Never skipped:
//! without Chromium or `web-tests/node_modules` the test fails and says how to install them.

use ladder_testkit::browser;
use ladder_testkit::matrix::SEEDED_LEVELS_WITH_TARGETS;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

#[tokio::test]
async fn a_reply_from_another_session_appears_live_on_the_agents_case_page_in_chromium() {
    browser::ready();
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    api.activate_matrix(&world.tokens["root"], SEEDED_LEVELS_WITH_TARGETS).await;
    let sam = &world.tokens["sam"];
    let watched =
        api.open_case(sam, json!({"subject": "Router keeps dropping the connection", "team": "frontline"})).await;
    let queued = api.open_case(sam, json!({"subject": "Cannot log in to the app", "team": "frontline"})).await;

    browser::walk(
        "live.mjs",
        &server.base,
        &[
            ("WALK_USER", "ana"),
            ("WALK_OTHER", "sam"),
            ("WALK_PASSWORD", PASSWORD),
            ("WALK_CASE", &watched["number"].to_string()),
            ("WALK_QUEUED_CASE", &queued["number"].to_string()),
            ("WALK_QUEUED_CASE_ID", queued["id"].as_str().unwrap()),
            ("WALK_OTHER_TOKEN", sam),
        ],
        &["case-live.png", "queue-live.png"],
    );
}
