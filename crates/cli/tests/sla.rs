//! SLA clocks over HTTP, and `kill -9` with clocks falling due while the server is down.
//! The server's clock is moved forward with `LADDER_CLOCK_OFFSET` instead of waiting.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use ladder_testkit::http::*;
use ladder_testkit::matrix::SEEDED_LEVELS_WITH_TARGETS;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

/// Warnings at 50 %, the seeded ladder with targets, and a rule for a missed first response.
fn matrix() -> String {
    ["\n[sla]\nwarn_at = [50]\n", SEEDED_LEVELS_WITH_TARGETS, BREACH_RULE].concat()
}

const BREACH_RULE: &str = r#"
[[rules]]
name = "Missed first response goes to billing"
trigger = "clock_breached"
when = 'case.level == "L1" && event.clock == "respond"'
then = { escalate = "L2", team = "billing", tags = ["sla-breach"] }
"#;

async fn events(api: &Api, token: &str, id: &str) -> Vec<Value> {
    let (s, events) = api.call(token, "GET", &format!("/api/v1/cases/{id}/events"), None).await;
    assert_eq!(s, 200, "{events}");
    events.as_array().unwrap().clone()
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["type"] == kind).count()
}

/// Waits (bounded) until the restarted server's timer loop has completed its first sweep,
/// the catch-up on what fell due while it was down.
async fn caught_up(api: &Api, token: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, t) = api.call(token, "GET", "/api/v1/sla/timers", None).await;
        assert_eq!(s, 200, "{t}");
        if t["sweeps"].as_u64().unwrap_or(0) >= 1 {
            return t;
        }
        assert!(Instant::now() < deadline, "the timer loop never completed a sweep: {t}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clocks_over_http_and_breaches_during_downtime_fire_once() {
    let Running { dir, world, mut server, api } = Running::start(LADDER);
    let (ana, sam, maria) = (&world.tokens["ana"], &world.tokens["sam"], &world.tokens["maria"]);
    api.activate_matrix(maria, &matrix()).await;

    // Cases get their clocks; the case shows time left in business time.
    let mut ids = Vec::new();
    for i in 0..5 {
        let case = api.open_case(ana, json!({"subject": format!("Case {i}")})).await;
        ids.push(case["id"].as_str().unwrap().to_string());
    }
    let (_, case) = api.call(ana, "GET", &format!("/api/v1/cases/{}", ids[0]), None).await;
    assert_eq!(case["sla"], "running", "{case}");
    let clocks = case["clocks"].as_array().unwrap();
    assert_eq!(clocks.len(), 2);
    let respond = clocks.iter().find(|c| c["kind"] == "respond").unwrap();
    assert_eq!((respond["state"].as_str(), respond["target"].as_str()), (Some("running"), Some("PT1H")));
    let left = respond["remaining_seconds"].as_i64().unwrap();
    assert!((3500..=3600).contains(&left), "{respond}");
    let opened_at: Timestamp = case["created_at"].as_str().unwrap().parse().unwrap();
    let due_at: Timestamp = respond["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due_at, opened_at + jiff::SignedDuration::from_hours(1));

    // Nothing is at risk yet; bad filters are refused with the field named; agents do not
    // see the timer engine.
    let (s, list) = api.call(sam, "GET", "/api/v1/sla/at-risk", None).await;
    assert_eq!((s, list["items"].as_array().map(Vec::len)), (200, Some(0)), "{list}");
    let (s, p) = api.call(ana, "GET", "/api/v1/cases?sla=late", None).await;
    assert_eq!((s, p["field"].as_str()), (400, Some("sla")), "{p}");
    let (s, p) = api.call(ana, "GET", "/api/v1/sla/at-risk?within=soon", None).await;
    assert_eq!((s, p["field"].as_str()), (400, Some("within")), "{p}");
    assert_eq!(api.call(ana, "GET", "/api/v1/sla/timers", None).await.0, 403);
    assert_eq!(api.client.get(format!("{}/api/v1/sla/at-risk", api.base)).send().await.unwrap().status(), 401);
    let (_, timers) = api.call(sam, "GET", "/api/v1/sla/timers", None).await;
    assert_eq!(timers["armed"], 10, "{timers}");

    // kill -9, and the server comes back three hours later: every respond clock fell due
    // while it was down. Each breach fires once, records its true due time, and the rule
    // escalates each case once.
    server.kill_hard();
    let mut server = Server::start_with(LADDER, dir.path(), &[("LADDER_CLOCK_OFFSET", "3h")]);
    let api = Api::new(&server);
    caught_up(&api, sam).await;
    for id in &ids {
        let history = events(&api, ana, id).await;
        assert_eq!(count(&history, "clock_breached"), 1, "{history:#?}");
        assert_eq!(count(&history, "clock_at_risk"), 1, "one 50 % warning for respond: {history:#?}");
        assert_eq!(count(&history, "escalated"), 1);
        let breach = history.iter().find(|e| e["type"] == "clock_breached").unwrap();
        assert_eq!(breach["data"]["clock"], "respond");
        let true_due: Timestamp = breach["data"]["due_at"].as_str().unwrap().parse().unwrap();
        let fired_at: Timestamp = breach["at"].as_str().unwrap().parse().unwrap();
        let (_, case) = api.call(ana, "GET", &format!("/api/v1/cases/{id}"), None).await;
        let opened: Timestamp = case["created_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(true_due, opened + jiff::SignedDuration::from_hours(1));
        assert!(fired_at >= true_due + jiff::SignedDuration::from_mins(119), "fired {fired_at}, due {true_due}");
        assert_eq!(case["level"], "L2", "{case}");
        assert!(case["tags"].as_array().unwrap().contains(&json!("sla-breach")));
    }
    // Billing's supervisor sees the five among what falls due within 5 hours (their L2
    // clocks have just started); the front line's supervisor, whose team they were escalated
    // out of, follows them read-only, so sees them too.
    let tara = &world.tokens["tara"];
    let (_, list) = api.call(tara, "GET", "/api/v1/sla/at-risk?within=5h", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 5, "{list}");
    let (_, list) = api.call(tara, "GET", "/api/v1/sla/at-risk", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    let (_, list) = api.call(sam, "GET", "/api/v1/sla/at-risk?within=5h", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 5, "{list}");
    let (_, list) = api.call(sam, "GET", "/api/v1/cases?escalated_by=my_team", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 5, "escalated out of the front line by the rule: {list}");

    // Killed again and restarted at the same offset: the catch-up finds nothing new.
    let before: Vec<usize> = {
        let mut v = Vec::new();
        for id in &ids {
            v.push(events(&api, ana, id).await.len());
        }
        v
    };
    server.kill_hard();
    let server = Server::start_with(LADDER, dir.path(), &[("LADDER_CLOCK_OFFSET", "3h")]);
    let api = Api::new(&server);
    caught_up(&api, sam).await;
    for (id, n) in ids.iter().zip(before) {
        assert_eq!(events(&api, ana, id).await.len(), n, "nothing fired twice");
    }

    // Waiting on the customer pauses the clocks; the pause shows on the case.
    let path = format!("/api/v1/cases/{}/request-info", ids[0]);
    let case = api.post_ok(tara, &path, json!({"question": "Which card was charged?"})).await;
    assert_eq!(case["sla"], "paused", "{case}");
    let live: Vec<&Value> = case["clocks"].as_array().unwrap().iter().filter(|c| c["level"] == "L2").collect();
    assert!(!live.is_empty());
    for c in live {
        if c["state"] == "met" {
            continue; // the question was a public reply: it met L2's respond clock
        }
        assert_eq!(c["state"], "paused", "{c}");
        assert!(c["due_at"].is_null(), "{c}");
        let spans = c["paused_spans"].as_array().unwrap();
        assert_eq!(spans.len(), 1, "{c}");
        assert!(spans[0]["to"].is_null(), "still paused: {c}");
    }
}
