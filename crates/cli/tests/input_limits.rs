//! Hostile input over HTTP: every parameter that feeds arithmetic or SQL is range-checked
//! (a 400 when it does not parse, a 422 naming it when it is out of range — never a 500),
//! instants are kept exactly from 1970 to 9999, and a case's size is bounded.

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

#[track_caller]
fn assert_problem(got: &(u16, Value), status: u16, field: &str, what: &str) {
    let (s, p) = got;
    assert_eq!((*s, p["field"].as_str()), (status, Some(field)), "{what}: {p}");
    assert!(p["detail"].as_str().is_some_and(|d| d.starts_with(&format!("{field}: "))), "{what}: {p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_out_of_range_are_422s_naming_the_field_and_never_500s() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, root) = (&world.tokens["ana"], &world.tokens["root"]);
    let bad = [
        // Durations: this one overflowed the instant it was added to, and panicked.
        ("/api/v1/sla/at-risk?within=999999999d", 422, "within"),
        ("/api/v1/sla/at-risk?within=367d", 422, "within"),
        ("/api/v1/sla/at-risk?within=soon", 400, "within"),
        // Page sizes and offsets.
        ("/api/v1/sla/at-risk?limit=0", 422, "limit"),
        ("/api/v1/cases?limit=501", 422, "limit"),
        ("/api/v1/queues/frontline?limit=1001", 422, "limit"),
        ("/api/v1/customers?limit=100000", 422, "limit"),
        ("/api/v1/customers?offset=4000000000", 422, "offset"),
        // Dates and instants.
        ("/api/v1/metrics?from=1969-12-31", 422, "from"),
        ("/api/v1/metrics?to=9999-12-31", 422, "to"),
        ("/api/v1/metrics?from=someday", 400, "from"),
        ("/api/v1/insights?from=0001-01-01", 422, "from"),
        ("/api/v1/audit?from=1969-12-31T23:59:59Z", 422, "from"),
        ("/api/v1/audit?to=2026-01-01T00:00:00.0000001Z", 422, "to"),
    ];
    for (path, status, field) in bad {
        let token = if path.starts_with("/api/v1/audit") || path.contains("metrics") || path.contains("insights") {
            root
        } else {
            ana
        };
        assert_problem(&api.call(token, "GET", path, None).await, status, field, path);
    }
    // At the edges they are accepted.
    for path in [
        "/api/v1/sla/at-risk?within=366d&limit=1000",
        "/api/v1/cases?limit=500",
        "/api/v1/customers?limit=500&offset=100000",
        "/api/v1/audit?from=1970-01-01T00:00:00Z&to=9999-12-30T22:00:00.999999Z",
        "/api/v1/metrics?from=1970-01-01&to=1970-01-31",
    ] {
        let token = if path.contains("audit") || path.contains("metrics") { root } else { ana };
        let (s, p) = api.call(token, "GET", path, None).await;
        assert_eq!(s, 200, "{path}: {p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_search_is_a_422_naming_q_and_one_within_the_limits_is_answered() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let ana = &world.tokens["ana"];
    let case = api.open_case(ana, json!({"subject": "Refund for the duplicate invoice"})).await;
    let search = |q: String| {
        let api = &api;
        async move { api.call(ana, "GET", &format!("/api/v1/cases?q={}", urlencode(&q)), None).await }
    };
    // A thousand words made SQLite's query tree "too large": a 500.
    let words: Vec<String> = (0..1000).map(|i| format!("w{i}")).collect();
    assert_problem(&search(words.join(" ")).await, 422, "q", "1000 words");
    assert_problem(&search(words[..17].join(" ")).await, 422, "q", "17 words");
    assert_problem(&search("a".repeat(1001)).await, 422, "q", "1001 bytes");
    // Sixteen words, stop words left out, is within the limit.
    let (s, found) = search("the refund for a duplicate invoice".into()).await;
    assert_eq!(s, 200, "{found}");
    assert_eq!(found["items"][0]["id"], case["id"], "{found}");
    let (s, found) = search(words[..16].join(" ")).await;
    assert_eq!((s, found["items"].as_array().map(Vec::len)), (200, Some(0)), "{found}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_due_in_the_year_3000_keeps_its_date_and_its_place_and_instants_past_9999_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    LADDER.admin(dir.path(), &["team", "create", "--slug", "outbound", "--level", "L1", "--kind", "outbound"], None);
    let server = Server::start(LADDER, dir.path());
    let api = Api::new(&server);
    let (ana, root) = (&world.tokens["ana"], &world.tokens["root"]);
    let far = api.open_case(ana, json!({"subject": "Call me in the year 3000"})).await;
    let soon = api.open_case(ana, json!({"subject": "Call me next year"})).await;
    let book = |id: &Value, start: &str, end: &str| {
        let path = format!("/api/v1/cases/{}/callbacks", id.as_str().unwrap());
        let body = json!({"window_start": start, "window_end": end, "time_zone": "UTC"});
        let api = &api;
        async move { api.call(root, "POST", &path, Some(body)).await }
    };
    let (s, c) = book(&far["id"], "3000-01-01T09:00", "3000-01-01T10:00").await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["callbacks"][0]["window_start"], "3000-01-01T09:00:00Z");
    let next_year = jiff::Zoned::now().year() + 1;
    let (s, c) = book(&soon["id"], &format!("{next_year}-06-01T09:00"), &format!("{next_year}-06-01T10:00")).await;
    assert_eq!(s, 200, "{c}");

    // Stored as nanoseconds, the year 3000 wrapped to 1830 and jumped the queue.
    let (s, queue) = api.call(root, "GET", "/api/v1/queues/outbound", None).await;
    assert_eq!(s, 200, "{queue}");
    let order: Vec<&Value> = queue["items"].as_array().unwrap().iter().map(|i| &i["case"]["id"]).collect();
    assert_eq!(order, vec![&soon["id"], &far["id"]], "{queue}");
    let (_, case) = api.call(root, "GET", &format!("/api/v1/cases/{}", far["id"].as_str().unwrap()), None).await;
    assert_eq!(case["callbacks"][0]["window_start"], "3000-01-01T09:00:00Z", "{case}");

    // Past the last instant kept, or finer than a microsecond: refused naming the field.
    assert_problem(&book(&far["id"], "9999-12-31T23:00", "9999-12-31T23:30").await, 422, "window_start", "9999");
    let fine = book(&far["id"], "2999-01-01T09:00:00.0000001", "2999-01-01T10:00").await;
    assert_problem(&fine, 422, "window_start", "nanoseconds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_refuses_bodies_past_a_mebibyte_and_notes_past_4000_characters() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let ana = &world.tokens["ana"];
    let case = api.open_case(ana, json!({"subject": "Big notes"})).await;
    let id = case["id"].as_str().unwrap();
    let message = |body: String| json!({"body": body, "visibility": "internal"});
    let (s, c) = api.command(ana, &id, "messages", message("x".repeat(65_536))).await;
    assert_eq!(s, 200, "{c}");
    assert_problem(
        &api.command(ana, &id, "messages", message("x".repeat(65_537))).await,
        422,
        "body",
        "a body past 65,536 characters",
    );
    // Refused unread, so the answer closes the connection: the client's next request goes down
    // a new one rather than a socket the server is closing.
    let big = api
        .client
        .post(format!("{}/api/v1/cases/{id}/messages", api.base))
        .bearer_auth(ana)
        .json(&message("x".repeat(1 << 20)))
        .send()
        .await
        .expect("request");
    assert_eq!(big.status().as_u16(), 413);
    assert_eq!(big.headers()["connection"], "close");
    let p: Value = big.json().await.expect("a problem document");
    assert_eq!(p["status"], 413, "a problem document: {p}");
    let resolve = json!({"code": "fixed", "note": "x".repeat(4001)});
    assert_problem(
        &api.command(ana, &id, "resolve", resolve).await,
        422,
        "note",
        "a resolution note past 4,000 characters",
    );
}
