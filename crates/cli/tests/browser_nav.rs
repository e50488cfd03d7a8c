//! Finding one's way in a real browser (`web-tests/nav.mjs` in headless Debian Chromium): a
//! deep link survives signing in, an unknown address renders a page, search finds a case by
//! phone within scope, a refused form keeps its input, and the keyboard shortcuts.

use ladder_testkit::browser;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

#[tokio::test]
async fn an_agent_follows_a_deep_link_searches_by_phone_keeps_a_refused_form_and_uses_shortcuts_in_chromium() {
    browser::ready();
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let (sam, erin) = (&world.tokens["sam"], &world.tokens["erin"]);
    let body = json!({"name": "Dana Whitfield", "identities": [{"channel": "phone", "value": "+15550100"}]});
    let (s, dana) = api.call(sam, "POST", "/api/v1/customers", Some(body)).await;
    assert_eq!(s, 201, "{dana}");
    let case = api
        .open_case(sam, json!({"subject": "Router keeps dropping", "team": "frontline", "customer_id": dana["id"]}))
        .await;
    api.open_case(sam, json!({"subject": "Cannot log in", "team": "frontline"})).await;
    let body = json!({"name": "Bea", "identities": [{"channel": "phone", "value": "+15550199"}]});
    let (_, bea) = api.call(erin, "POST", "/api/v1/customers", Some(body)).await;
    let foreign = api.open_case(erin, json!({"subject": "Refund", "team": "billing", "customer_id": bea["id"]})).await;
    let body = json!({"name": "Greeting", "team": "frontline", "body": "Hello {{customer.name}}, about case {{case.number}}:"});
    let (s, m) = api.call(sam, "POST", "/api/v1/macros", Some(body)).await;
    assert_eq!(s, 201, "{m}");
    let number = case["number"].to_string();

    browser::walk(
        "nav.mjs",
        &server.base,
        &[
            ("NAV_USER", "ana"),
            ("NAV_PASSWORD", PASSWORD),
            ("NAV_CASE", &number),
            ("NAV_PHONE", "+1 555-0100"),
            ("NAV_FOREIGN_CASE", &foreign["number"].to_string()),
            ("NAV_MACRO_TEXT", &format!("Hello Dana Whitfield, about case {number}:")),
        ],
        &["search.png", "refused-form.png"],
    );
}
