//! Team queues, taking the next case, back-office tasks and call-backs over HTTP.

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

async fn open(api: &Api, token: &str, subject: &str, priority: &str) -> String {
    let case = api.open_case(token, json!({"subject": subject, "priority": priority})).await;
    case["id"].as_str().unwrap().to_string()
}

fn ids(queue: &Value) -> Vec<String> {
    queue["items"].as_array().unwrap().iter().map(|i| i["case"]["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_next_tasks_and_callbacks() {
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    LADDER.admin(dir.path(), &["team", "create", "--slug", "outbound", "--level", "L1", "--kind", "outbound"], None);
    LADDER.admin(
        dir.path(),
        &["user", "create", "--name", "olga", "--role", "agent", "--team", "outbound", "--password-stdin"],
        Some("correct horse battery\n"),
    );
    let olga = LADDER.admin(dir.path(), &["token", "create", "--user", "olga"], None);
    let server = Server::start(LADDER, dir.path());
    let api = Api::new(&server);
    let (ana, erin, root) = (&world.tokens["ana"], &world.tokens["erin"], &world.tokens["root"]);

    // Nobody is available, so new cases wait in the front line's queue, most urgent first.
    let low = open(&api, ana, "Password reset", "low").await;
    let urgent = open(&api, ana, "Outage at a hospital", "urgent").await;
    let normal = open(&api, ana, "Invoice copy", "normal").await;
    let (s, queue) = api.call(ana, "GET", "/api/v1/queues/frontline", None).await;
    assert_eq!(s, 200, "{queue}");
    assert_eq!(ids(&queue), vec![urgent.clone(), normal.clone(), low.clone()]);
    assert_eq!(queue["length"], 3);
    assert_eq!(queue["items"][0]["position"], 1);
    assert_eq!(queue["items"][0]["factors"]["urgency"], 40);
    assert_eq!(queue["items"][0]["priority_score"], 40);

    // Other teams may neither look nor take.
    assert_eq!(api.call(erin, "GET", "/api/v1/queues/frontline", None).await.0, 403);
    assert_eq!(api.call(erin, "POST", "/api/v1/queues/frontline/next", None).await.0, 403);
    assert_eq!(api.call(ana, "GET", "/api/v1/queues/nowhere", None).await.0, 404);
    let (s, p) = api.call(ana, "GET", "/api/v1/queues/frontline?limit=0", None).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("limit")), "{p}");

    // Ana takes them in order, then the queue is empty.
    for expected in [&urgent, &normal, &low] {
        let (s, case) = api.call(ana, "POST", "/api/v1/queues/frontline/next", None).await;
        assert_eq!(s, 200, "{case}");
        assert_eq!(case["id"].as_str(), Some(expected.as_str()));
        assert_eq!(case["status"], "open");
    }
    assert_eq!(api.call(ana, "POST", "/api/v1/queues/frontline/next", None).await.0, 204);

    // Billing asks the front line to get something from the customer: the task goes to Ana,
    // who escalated the case; the case waits until she answers.
    api.post_ok(ana, &format!("/api/v1/cases/{urgent}/escalate"), json!({"kind": "functional", "to_team": "billing", "reason": "billing dispute", "tried": "checked the invoice"})).await;
    let ask = format!("/api/v1/cases/{urgent}/ask-front-line");
    let c = api.post_ok(erin, &ask, json!({"question": "Ask for the last four card digits"})).await;
    assert_eq!(c["status"], "pending_internal");
    assert_eq!(c["tasks"][0]["question"], "Ask for the last four card digits");
    assert!(c["tasks"][0]["to_user_id"].is_string(), "{c}");
    let answer = format!("/api/v1/cases/{urgent}/tasks/0/answer");
    let (s, p) = api.call(ana, "POST", &answer, Some(json!({"answer": ""}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("answer")), "{p}");
    let c = api.post_ok(ana, &answer, json!({"answer": "4242"})).await;
    assert_eq!((c["status"].as_str(), c["tasks"][0]["answer"].as_str()), (Some("open"), Some("4242")));
    // Once answered, Ana's part is done (the case belongs to billing again); billing cannot
    // answer the same task twice.
    assert_eq!(api.call(ana, "POST", &answer, Some(json!({"answer": "again"}))).await.0, 403);
    assert_eq!(api.call(erin, "POST", &answer, Some(json!({"answer": "again"}))).await.0, 409);
    // A case that never came up from the front line has nobody to ask.
    let (s, p) =
        api.call(ana, "POST", &format!("/api/v1/cases/{low}/ask-front-line"), Some(json!({"question": "?"}))).await;
    assert_eq!(s, 409, "{p}");

    // A call-back tomorrow afternoon in New York: the case moves to the outbound queue and is
    // not handed out before its window opens.
    let tomorrow = (jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::get("America/New_York").unwrap())
        + jiff::Span::new().days(1))
    .date();
    let body = json!({
        "window_start": format!("{tomorrow}T14:00"),
        "window_end": format!("{tomorrow}T16:00"),
        "time_zone": "America/New_York",
        "note": "call about the refund",
    });
    let c = api.post_ok(root, &format!("/api/v1/cases/{normal}/callbacks"), body).await;
    let start: jiff::Timestamp = c["callbacks"][0]["window_start"].as_str().unwrap().parse().unwrap();
    let local = start.to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap());
    assert_eq!((local.date(), local.hour()), (tomorrow, 14));
    let (_, queue) = api.call(&olga, "GET", "/api/v1/queues/outbound", None).await;
    assert_eq!(ids(&queue), vec![normal.clone()]);
    assert_eq!(api.call(&olga, "POST", "/api/v1/queues/outbound/next", None).await.0, 204, "not before the window");
    let bad = json!({"window_start": format!("{tomorrow}T16:00"), "window_end": format!("{tomorrow}T14:00")});
    let (s, p) = api.command(root, &low, "callbacks", bad).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("window_end")), "{p}");
    let zone = json!({"window_start": "2030-01-01T10:00", "window_end": "2030-01-01T11:00", "time_zone": "Mars/Base"});
    let (s, p) = api.command(root, &low, "callbacks", zone).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("time_zone")), "{p}");
}
