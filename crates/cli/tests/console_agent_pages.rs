//! The agent pages over HTTP against the real binary: the case page's clocks and timeline,
//! the approvals' facts and the navigation's count. Truthful clocks: a
//! clock whose calendar is closed now says so and until when, in the calendar's zone, and
//! does not tick; a clock that counts every hour ticks (the calendar is built around the real
//! clock — open for one hour, three hours from now —, so the test needs no waiting). The
//! timeline hides the system's clock lines unless asked, and the page offers the steering
//! actions only to who may take them now. Approvals show the case's priority and the
//! decider's own limit, and the navigation counts those waiting.

use jiff::{Timestamp, ToSpan};
use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_out_of_business_hours_says_until_when_it_is_paused_and_a_counting_one_ticks() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let now = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let opens = (now.hour() + 3) % 24;
    let matrix = format!(
        r#"
[calendars.later]
timezone = "UTC"
hours = {{ daily = "{opens:02}:00-{closes:02}:00" }}

[[levels]]
id = "L1"
teams = ["frontline"]
calendar = "later"
respond = "1h"

[[levels]]
id = "L2"
teams = ["billing", "supervisors"]
respond = "4h"

[[levels]]
id = "L3"
teams = ["management"]
"#,
        closes = opens + 1
    );
    api.activate_matrix(&world.tokens["root"], &matrix).await;
    let sam = &world.tokens["sam"];
    let closed = api.open_case(sam, json!({"subject": "Printer on fire", "team": "frontline"})).await;
    let counting = api.open_case(&world.tokens["tara"], json!({"subject": "Refund", "team": "billing"})).await;

    // The API: not counting, resuming at the next opening, in the calendar's zone.
    let clock = &closed["clocks"][0];
    let mut expected = now.date().at(opens, 0, 0, 0).to_zoned(jiff::tz::TimeZone::UTC).unwrap();
    if expected <= now {
        expected = expected.checked_add(1.day()).unwrap();
    }
    assert_eq!(clock["counting"], false, "{clock}");
    assert_eq!(clock["resumes_at"].as_str().map(|s| s.parse::<Timestamp>().unwrap()), Some(expected.timestamp()));
    assert_eq!(clock["time_zone"], "UTC");
    assert_eq!(counting["clocks"][0]["counting"], true, "{counting}");
    assert!(counting["clocks"][0]["resumes_at"].is_null());

    // The console: the countdown says "paused until …" and carries nothing to tick.
    let web = Console::new(&server);
    let session = web.login("sam", PASSWORD).await;
    let page = web.get(Some(&session), &format!("/cases/{}", closed["number"])).await.body;
    let until = format!("paused until {} (UTC)", expected.strftime("%a %-d %b %H:%M"));
    assert!(page.contains(&until), "{until} in {page}");
    assert!(page.contains("out of business hours"), "{page}");
    let countdown = &page[page.find("class=\"countdown").unwrap()..];
    let countdown = &countdown[..countdown.find('>').unwrap()];
    assert!(!countdown.contains("data-remaining"), "a paused clock does not tick: {countdown}");

    let session = web.login("tara", PASSWORD).await;
    let page = web.get(Some(&session), &format!("/cases/{}", counting["number"])).await.body;
    assert!(page.contains("data-remaining=\"14"), "a counting clock ticks from its time left: {page}");
    assert!(!page.contains("paused until"), "{page}");
    assert!(page.contains("src=\"/assets/clocks.js\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_page_hides_system_lines_by_default_and_offers_only_the_actions_one_may_take() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    api.activate_matrix(&world.tokens["root"], ladder_testkit::matrix::SEEDED_LEVELS_WITH_TARGETS).await;
    let ana = &world.tokens["ana"];
    let case = api.open_case(ana, json!({"subject": "Fee waiver asked", "team": "frontline", "assignee": "me"})).await;
    let web = Console::new(&server);
    let session = web.login("ana", PASSWORD).await;
    let path = format!("/cases/{}", case["number"]);

    let page = web.get(Some(&session), &path).await.body;
    assert!(page.contains("system line(s) (clocks started, paused, resumed, at risk) hidden"), "{page}");
    assert!(!page.contains("clock started at L1"), "clock lines are hidden by default");
    assert!(page.contains("Opened: the customer got in touch by api") && page.contains("recorded by ana"), "{page}");
    assert!(page.contains("action=\"/cases/1/resolve\"") && !page.contains("id=\"steer-note\""), "ana steers her case");
    let all = web.get(Some(&session), &format!("{path}?show=all")).await.body;
    assert!(all.contains("respond clock started at L1") && all.contains("Hide system lines"), "{all}");

    // Escalated away to another team, the case takes ana's messages only.
    let id = case["id"].as_str().unwrap();
    api.post_ok(
        ana,
        &format!("/api/v1/cases/{id}/escalate"),
        json!({"kind": "hierarchical", "to_level": "L2", "to_team": "billing", "initiator": "agent",
               "reason": "needs billing", "tried": "checked the invoice"}),
    )
    .await;
    let page = web.get(Some(&session), &path).await.body;
    assert!(page.contains("id=\"steer-note\"") && page.contains("moved on to another team"), "{page}");
    assert!(!page.contains("action=\"/cases/1/resolve\"") && !page.contains("action=\"/cases/1/escalate\""), "{page}");
    assert!(page.contains("action=\"/cases/1/reply\""), "replying stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_navigation_counts_the_approvals_waiting_and_a_request_shows_the_deciders_limit() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    // The matrix's currency is the one every amount is shown in.
    let matrix = format!(
        "currency = \"EUR\"\n{}\n[[authority]]\naction = \"fee_waiver\"\nlimits = {{ agent = 50, supervisor = 500, manager = 2000 }}\n",
        ladder_testkit::matrix::SEEDED_LEVELS_WITH_TARGETS
    );
    api.activate_matrix(&world.tokens["root"], &matrix).await;
    let ana = &world.tokens["ana"];
    let (s, customer) = api
        .call(ana, "POST", "/api/v1/customers", Some(json!({"name": "Ada Lovelace", "value": 12500, "segment": "vip"})))
        .await;
    assert_eq!(s, 201, "{customer}");
    let case = api
        .open_case(
            ana,
            json!({"subject": "Late fee", "team": "frontline", "priority": "high", "customer_id": customer["id"]}),
        )
        .await;
    let web = Console::new(&server);
    let sam = web.login("sam", PASSWORD).await;
    assert!(!web.get(Some(&sam), "/queue").await.body.contains("id=\"pending-approvals\""), "nothing waits yet");

    let id = case["id"].as_str().unwrap();
    api.post_ok(ana, &format!("/api/v1/cases/{id}/actions"), json!({"action": "fee_waiver", "amount": 120})).await;
    let queue = web.get(Some(&sam), "/queue").await.body;
    let at = queue.find("id=\"pending-approvals\"").expect("a count in the navigation");
    assert!(queue[at..].starts_with("id=\"pending-approvals\" aria-label=\"1 waiting\">1<"), "{}", &queue[at..at + 80]);
    let inbox = web.get(Some(&sam), "/approvals").await.body;
    assert!(inbox.contains("fee waiver of 120.00 EUR") && !inbox.contains("fee_waiver of"), "{inbox}");
    assert!(inbox.contains("your own limit for fee waiver: <strong>500.00 EUR</strong>"), "{inbox}");
    assert!(inbox.contains("badge priority-high"), "the case's priority: {inbox}");
    assert!(
        inbox.contains("Ada Lovelace</strong> (vip), value <strong class=\"customer-value\">12,500.00 EUR</strong>"),
        "the customer's value: {inbox}"
    );
    for style in ["decide-approve", "decide-deny", "decide-counter"] {
        assert!(
            inbox.contains(&format!("<form class=\"{style}\"")),
            "a distinct style for each decision ({style}): {inbox}"
        );
    }
    assert!(inbox.contains("class=\"approve\"") && inbox.contains("class=\"deny\""), "distinct styles");
    let agent = web.login("ana", PASSWORD).await;
    assert!(!web.get(Some(&agent), "/queue").await.body.contains("pending-approvals"), "agents have no inbox");
}
