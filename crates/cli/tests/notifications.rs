//! Notifications delivered from the outbox by the real server over real protocols: signed
//! webhooks to a local receiver that fails and recovers, email to a local SMTP sink, SMS to
//! a local stand-in for a Twilio-compatible API; the dead letter, redelivery, and a kill -9
//! with deliveries pending.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use ladder_testkit::http::*;
use ladder_testkit::server::*;
use ladder_testkit::smtp::{KeptMail, SmtpSink};
use serde_json::{Value, json};
use sha2::Sha256;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));
const SECRET: &str = "a-webhook-secret-for-the-tests";

const MATRIX: &str = r#"
[[levels]]
id = "L1"
name = "Front line"
teams = ["frontline"]

[[levels]]
id = "L2"
name = "Back office and supervisors"
teams = ["billing", "supervisors"]

[[levels]]
id = "L3"
name = "Managers"
teams = ["management"]

[[rules]]
name = "Tell the integration"
when = 'case.category == "hook"'
then = { notify = { who = "user:ana", channel = "webhook" } }

[[rules]]
name = "Text the customer"
when = 'case.category == "text"'
then = { notify = { who = "customer", channel = "sms" } }
"#;

/// Verifies a `Ladder-Signature: t=…,v1=…` header as docs/notifications.md tells a receiver
/// to: HMAC-SHA256 with the shared secret over `t + "." + body`, compared in constant time,
/// and `t` within five minutes of now.
fn signature_is_valid(secret: &[u8], header: &str, body: &[u8], now_unix: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    if (now_unix - t).abs() > 300 {
        return false;
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

/// A webhook receiver on 127.0.0.1: answers 500 to its first `fail_first` requests (or while
/// `failing` is set), then 200; counts everything.
#[derive(Default)]
struct Receiver {
    fail_first: usize,
    failing: std::sync::atomic::AtomicBool,
    requests: AtomicUsize,
    bad_signatures: AtomicUsize,
    /// Every request: idempotency key → the bodies received with it.
    attempts: Mutex<Vec<(String, Value)>>,
    /// The requests answered 200.
    accepted: Mutex<Vec<(String, Value)>>,
}

impl Receiver {
    async fn start(fail_first: usize) -> (String, Arc<Receiver>) {
        let receiver = Arc::new(Receiver { fail_first, ..Default::default() });
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, receiver)
    }

    fn accepted_keys(&self) -> BTreeMap<String, Vec<Value>> {
        let mut keys: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (k, body) in self.accepted.lock().unwrap().iter() {
            keys.entry(k.clone()).or_default().push(body.clone());
        }
        keys
    }
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let n = r.requests.fetch_add(1, Ordering::SeqCst);
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    if !signature_is_valid(SECRET.as_bytes(), &header("ladder-signature"), &body, now) {
        r.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return StatusCode::UNAUTHORIZED;
    }
    let key = header("idempotency-key");
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["idempotency_key"], key.as_str(), "the body and the header carry the same key");
    r.attempts.lock().unwrap().push((key.clone(), json.clone()));
    if n < r.fail_first || r.failing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    r.accepted.lock().unwrap().push((key, json));
    StatusCode::OK
}

/// Polls `done` every 50 ms until it holds or `limit` passes (the server works in real time).
async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn webhook_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("LADDER_WEBHOOK_URL", url.to_string()),
        ("LADDER_WEBHOOK_SECRET", SECRET.to_string()),
        ("LADDER_DELIVERY_RETRY_BASE_MS", "20".to_string()),
        ("LADDER_DELIVERY_RETRY_CAP_SECS", "1".to_string()),
    ]
}

fn start(dir: &std::path::Path, env: &[(&'static str, String)]) -> Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start_with(LADDER, dir, &env)
}

async fn activate_matrix(api: &Api, maria: &str) {
    let (s, draft) = api.upload_matrix(maria, "main", MATRIX).await;
    assert_eq!(s, 200, "{draft}");
    let (s, v) = api.call(maria, "POST", "/api/v1/matrix/drafts/main/activate", None).await;
    assert_eq!(s, 201, "{v}");
}

async fn deliveries(api: &Api, token: &str, query: &str) -> Vec<Value> {
    let (s, page) = api.call(token, "GET", &format!("/api/v1/deliveries?limit=500{query}"), None).await;
    assert_eq!(s, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// Waits until `n` deliveries matching `query` are recorded delivered (a receiver has a
/// notification a moment before the server records the outcome); returns them.
async fn recorded_delivered(api: &Api, token: &str, query: &str, n: usize) -> Vec<Value> {
    let query = format!("{query}&status=delivered");
    wait_for("the deliveries recorded", Duration::from_secs(30), async || {
        deliveries(api, token, &query).await.len() >= n
    })
    .await;
    deliveries(api, token, &query).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_to_a_receiver_that_fails_then_recovers_are_all_delivered_none_lost_none_doubled() {
    let (url, receiver) = Receiver::start(7).await;
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let server = start(dir.path(), &webhook_env(&url));
    let api = Api::new(&server);
    let (ana, maria) = (&world.tokens["ana"], &world.tokens["maria"]);
    activate_matrix(&api, maria).await;

    let mut numbers = BTreeSet::new();
    for i in 0..30 {
        let case = api.open_case(ana, json!({"subject": format!("hooked {i}"), "category": "hook"})).await;
        numbers.insert(case["number"].as_u64().unwrap());
    }
    wait_for("30 notifications accepted", Duration::from_secs(60), async || receiver.accepted_keys().len() >= 30).await;

    // Every notification arrived; a key seen twice carried the same notification.
    let keys = receiver.accepted_keys();
    assert_eq!(keys.len(), 30, "one notification per case");
    let delivered: BTreeSet<u64> = keys.values().map(|bodies| bodies[0]["case"]["number"].as_u64().unwrap()).collect();
    assert_eq!(delivered, numbers, "every case's notification, none lost");
    for (key, bodies) in &keys {
        assert!(bodies.iter().all(|b| b == &bodies[0]), "duplicates of {key} are the same notification");
        assert_eq!(bodies[0]["recipient"], "user:ana");
        assert_eq!(bodies[0]["channel"], "webhook");
    }
    assert_eq!(receiver.bad_signatures.load(Ordering::SeqCst), 0, "every request was signed with the secret");
    assert!(receiver.requests.load(Ordering::SeqCst) >= 37, "the first seven failed and were retried");

    // The outbox says the same, and keeps the failed attempts.
    let (s, _) = api.call(ana, "GET", "/api/v1/deliveries", None).await;
    assert_eq!(s, 403, "agents do not read the outbox");
    let rows = recorded_delivered(&api, maria, "&channel=webhook", 30).await;
    assert_eq!(rows.len(), 30);
    assert_eq!(deliveries(&api, maria, "&channel=webhook").await.len(), 30, "nothing else was queued");
    let retried: Vec<&Value> = rows
        .iter()
        .filter(|d| {
            receiver
                .attempts
                .lock()
                .unwrap()
                .iter()
                .filter(|(k, _)| k == d["idempotency_key"].as_str().unwrap())
                .count()
                > 1
        })
        .collect();
    assert!(!retried.is_empty(), "some deliveries needed a retry");
    let (s, detail) = api.call(maria, "GET", &format!("/api/v1/deliveries/{}", retried[0]["id"]), None).await;
    assert_eq!(s, 200, "{detail}");
    let attempts = detail["attempts_made"].as_array().unwrap();
    assert_eq!(attempts.last().unwrap()["ok"], true, "{detail}");
    assert!(attempts.iter().any(|a| a["ok"] == false && a["error"].as_str().unwrap().contains("HTTP 500")), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_keeps_failing_is_dead_after_its_attempts_and_redelivered_by_an_admin() {
    let (url, receiver) = Receiver::start(0).await;
    receiver.failing.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let mut env = webhook_env(&url);
    env.push(("LADDER_DELIVERY_MAX_ATTEMPTS", "3".to_string()));
    let server = start(dir.path(), &env);
    let api = Api::new(&server);
    let (ana, maria, root) = (&world.tokens["ana"], &world.tokens["maria"], &world.tokens["root"]);
    activate_matrix(&api, maria).await;
    api.open_case(ana, json!({"subject": "never answered", "category": "hook"})).await;

    wait_for("the delivery to die", Duration::from_secs(30), async || {
        !deliveries(&api, maria, "&status=dead&channel=webhook").await.is_empty()
    })
    .await;
    let dead = deliveries(&api, maria, "&status=dead&channel=webhook").await;
    let id = dead[0]["id"].as_i64().unwrap();
    let (_, detail) = api.call(maria, "GET", &format!("/api/v1/deliveries/{id}"), None).await;
    let attempts = detail["attempts_made"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "three attempts, then dead: {detail}");
    assert!(attempts.iter().all(|a| a["ok"] == false));
    assert_eq!(detail["next_attempt_at"], Value::Null);
    assert_eq!(receiver.attempts.lock().unwrap().len(), 3, "nothing is sent once dead");

    // Only admins redeliver; the receiver is back, and gets it with the same key.
    receiver.failing.store(false, Ordering::SeqCst);
    let path = format!("/api/v1/deliveries/{id}/redeliver");
    assert_eq!(api.call(maria, "POST", &path, None).await.0, 403);
    assert_eq!(api.call(root, "POST", "/api/v1/deliveries/999999/redeliver", None).await.0, 404);
    assert_eq!(api.call(root, "POST", "/api/v1/deliveries/nope/redeliver", None).await.0, 400);
    let (s, queued) = api.call(root, "POST", &path, None).await;
    assert_eq!(s, 202, "{queued}");
    assert_eq!(queued["status"], "pending");
    wait_for("the redelivery", Duration::from_secs(30), async || !receiver.accepted_keys().is_empty()).await;
    let keys = receiver.accepted_keys();
    assert_eq!(keys.keys().next().unwrap(), dead[0]["idempotency_key"].as_str().unwrap());
    recorded_delivered(&api, maria, "&channel=webhook", 1).await;
    let (_, detail) = api.call(maria, "GET", &format!("/api/v1/deliveries/{id}"), None).await;
    assert_eq!(detail["status"], "delivered", "{detail}");
    assert_eq!(detail["attempts_made"].as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_emails_its_new_team_over_smtp_and_names_who_has_no_address() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let env = vec![("LADDER_SMTP_URL", sink.url()), ("LADDER_SMTP_FROM", "Ladder <ladder@example.com>".to_string())];
    let server = start(dir.path(), &env);
    let api = Api::new(&server);
    let (ana, maria, root) = (&world.tokens["ana"], &world.tokens["maria"], &world.tokens["root"]);
    let (s, bea) = api
        .call(
            root,
            "POST",
            "/api/v1/users",
            Some(json!({"name": "bea", "email": "bea@example.com", "role": "agent", "teams": ["billing"]})),
        )
        .await;
    assert_eq!(s, 201, "{bea}");

    let case = api.open_case(ana, json!({"subject": "Refund <twice> & more"})).await;
    let number = case["number"].as_u64().unwrap();
    let (s, escalated) = api
        .command(
            ana,
            case["id"].as_str().unwrap(),
            "escalate",
            json!({"kind": "functional", "to_team": "billing", "reason": "refund", "tried": "the billing tool"}),
        )
        .await;
    assert_eq!(s, 200, "{escalated}");

    wait_for("the email", Duration::from_secs(30), async || !sink.messages().is_empty()).await;
    let KeptMail { recipients: to, data } = sink.messages().remove(0);
    assert_eq!(to, vec!["bea@example.com".to_string()]);
    assert!(data.contains(&format!("Subject: Case #{number} escalated to you")), "{data}");
    assert!(data.contains("From: Ladder <ladder@example.com>"), "{data}");
    assert!(data.contains("multipart/alternative"), "{data}");
    // Quoted-printable parts: join the soft line breaks before reading the text.
    let unfolded = data.replace("=\r\n", "");
    assert!(unfolded.contains("<p>Case #"), "an HTML part: {data}");
    assert!(unfolded.contains("&lt;twice&gt; &amp; more"), "the HTML part escapes the subject: {data}");
    assert!(unfolded.contains("Refund <twice> & more"), "the text part does not: {data}");

    // erin and tara, billing's other members, have no email address: their rows say so.
    let query = format!("&case={number}&channel=email");
    // The sink has the message; the worker records the outcome right after.
    wait_for("the delivery recorded", Duration::from_secs(30), async || {
        !deliveries(&api, maria, &format!("{query}&status=delivered")).await.is_empty()
    })
    .await;
    let rows = deliveries(&api, maria, &query).await;
    let by_status: BTreeMap<String, usize> = rows.iter().fold(BTreeMap::new(), |mut m, d| {
        *m.entry(d["status"].as_str().unwrap().to_string()).or_default() += 1;
        m
    });
    assert_eq!(by_status, BTreeMap::from([("dead".to_string(), 2), ("delivered".to_string(), 1)]), "{rows:?}");
    let delivered = rows.iter().find(|d| d["status"] == "delivered").unwrap();
    assert!(data.contains(delivered["idempotency_key"].as_str().unwrap()), "the Message-ID carries the key");
    assert!(
        rows.iter()
            .filter(|d| d["status"] == "dead")
            .all(|d| d["last_error"].as_str().unwrap().contains("has no email address"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_rows_are_pruned_after_their_retention_and_dead_letters_are_kept() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let mut env = vec![("LADDER_SMTP_URL", sink.url())];
    let server = start(dir.path(), &env);
    let api = Api::new(&server);
    let (ana, maria, root) = (&world.tokens["ana"], &world.tokens["maria"], &world.tokens["root"]);
    let bea = json!({"name": "bea", "email": "bea@example.com", "role": "agent", "teams": ["billing"]});
    assert_eq!(api.call(root, "POST", "/api/v1/users", Some(bea)).await.0, 201);
    let case = api.open_case(ana, json!({"subject": "Refund"})).await;
    let escalation = json!({"kind": "functional", "to_team": "billing", "reason": "refund", "tried": "the tool"});
    assert_eq!(api.command(ana, case["id"].as_str().unwrap(), "escalate", escalation).await.0, 200);
    let query = format!("&case={}&channel=email", case["number"]);
    recorded_delivered(&api, maria, &query, 1).await;
    wait_for("messages sent", Duration::from_secs(30), async || !sink.messages().is_empty()).await;
    let statuses = |rows: Vec<Value>| {
        let mut s: Vec<String> = rows.iter().map(|d| d["status"].as_str().unwrap().to_string()).collect();
        s.sort();
        s
    };
    // bea's email delivered; erin's and tara's dead (no address).
    assert_eq!(statuses(deliveries(&api, maria, &query).await), ["dead", "dead", "delivered"]);
    drop(server);

    // 29 days on (the server's clock shifted), within the 30 days kept: the upkeep that runs
    // at start keeps everything.
    env.push(("LADDER_CLOCK_OFFSET", "29d".to_string()));
    let server = start(dir.path(), &env);
    let api = Api::new(&server);
    assert_eq!(statuses(deliveries(&api, maria, &query).await), ["dead", "dead", "delivered"]);
    drop(server);
    // 31 days on: the delivered row goes, the dead letters stay until redelivered.
    env.pop();
    env.push(("LADDER_CLOCK_OFFSET", "31d".to_string()));
    let server = start(dir.path(), &env);
    let api = Api::new(&server);
    wait_for("the delivered row pruned", Duration::from_secs(30), async || {
        deliveries(&api, maria, &format!("{query}&status=delivered")).await.is_empty()
    })
    .await;
    assert_eq!(statuses(deliveries(&api, maria, &query).await), ["dead", "dead"]);
}

/// A stand-in for a Twilio-compatible SMS API: checks basic auth, keeps the form.
#[derive(Default)]
struct SmsApi {
    sent: Mutex<Vec<BTreeMap<String, String>>>,
    refused: AtomicUsize,
}

async fn sms_message(State(s): State<Arc<SmsApi>>, headers: HeaderMap, body: Bytes) -> (StatusCode, axum::Json<Value>) {
    use base64::Engine as _;
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("AC0123:sms-token"));
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str())
        || content_type != "application/x-www-form-urlencoded"
    {
        s.refused.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"code": 20003, "message": "Authenticate"})));
    }
    let form: BTreeMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap();
    s.sent.lock().unwrap().push(form);
    (StatusCode::CREATED, axum::Json(json!({"sid": "SM1", "status": "queued"})))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_goes_to_a_twilio_compatible_api_as_a_form_with_basic_auth() {
    let sms = Arc::new(SmsApi::default());
    let app = axum::Router::new()
        .route("/2010-04-01/Accounts/AC0123/Messages.json", axum::routing::post(sms_message))
        .with_state(sms.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let env = vec![
        ("LADDER_SMS_BASE_URL", base),
        ("LADDER_SMS_ACCOUNT_SID", "AC0123".to_string()),
        ("LADDER_SMS_AUTH_TOKEN", "sms-token".to_string()),
        ("LADDER_SMS_FROM", "+15005550006".to_string()),
    ];
    let server = start(dir.path(), &env);
    let api = Api::new(&server);
    let (ana, maria, root) = (&world.tokens["ana"], &world.tokens["maria"], &world.tokens["root"]);
    activate_matrix(&api, maria).await;

    // A template for the rule's notifications: checked, previewed, then used.
    let template = "/api/v1/notification-templates/notification_requested/en";
    let bad = json!({"subject": "", "body": "Hi {{customer.colour}}"});
    let (s, problem) = api.call(root, "PUT", template, Some(bad)).await;
    assert_eq!(s, 422, "{problem}");
    assert!(problem.to_string().contains("customer.colour"), "{problem}");
    let body = json!({"subject": "", "body": "Ladder: case {{case.number}} <{{case.subject}}>"});
    assert_eq!(api.call(maria, "PUT", template, Some(body.clone())).await.0, 403, "admins edit templates");
    let (s, saved) = api.call(root, "PUT", template, Some(body)).await;
    assert_eq!(s, 200, "{saved}");
    let preview = json!({"subject": "s", "body": "<b>{{case.subject}}</b>"});
    let (s, shown) = api.call(maria, "POST", "/api/v1/notification-templates/preview", Some(preview)).await;
    assert_eq!(s, 200, "{shown}");
    assert_eq!(shown["text"], "<b>Invoice <charged twice> & late</b>");
    assert!(shown["html"].as_str().unwrap().contains("<b>Invoice &lt;charged twice&gt; &amp; late</b>"), "{shown}");

    let (s, customer) = api
        .call(
            ana,
            "POST",
            "/api/v1/customers",
            Some(json!({"name": "Tex Ter", "identities": [{"channel": "phone", "value": "+4930123456"}]})),
        )
        .await;
    assert_eq!(s, 201, "{customer}");
    let case =
        api.open_case(ana, json!({"subject": "Text me", "category": "text", "customer_id": customer["id"]})).await;

    wait_for("the SMS", Duration::from_secs(30), async || !sms.sent.lock().unwrap().is_empty()).await;
    let form = sms.sent.lock().unwrap()[0].clone();
    assert_eq!(form["To"], "+4930123456");
    assert_eq!(form["From"], "+15005550006");
    assert_eq!(form["Body"], format!("Ladder: case {} <Text me>", case["number"]), "the template, unescaped");
    assert_eq!(sms.refused.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_pending_at_a_kill_9_are_all_delivered_after_the_restart() {
    let (url, receiver) = Receiver::start(0).await;
    receiver.failing.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let mut server = start(dir.path(), &webhook_env(&url));
    let api = Api::new(&server);
    let (ana, maria) = (&world.tokens["ana"], &world.tokens["maria"]);
    activate_matrix(&api, maria).await;
    let mut numbers = BTreeSet::new();
    for i in 0..20 {
        let case = api.open_case(ana, json!({"subject": format!("pending {i}"), "category": "hook"})).await;
        numbers.insert(case["number"].as_u64().unwrap());
    }
    wait_for("attempts under way", Duration::from_secs(30), async || receiver.attempts.lock().unwrap().len() >= 20)
        .await;
    server.kill_hard();
    assert!(receiver.accepted_keys().is_empty(), "nothing was accepted before the crash");

    receiver.failing.store(false, Ordering::SeqCst);
    let server = start(dir.path(), &webhook_env(&url));
    let api = Api::new(&server);
    wait_for("every pending delivery", Duration::from_secs(90), async || receiver.accepted_keys().len() >= 20).await;
    let keys = receiver.accepted_keys();
    let delivered: BTreeSet<u64> = keys.values().map(|b| b[0]["case"]["number"].as_u64().unwrap()).collect();
    assert_eq!(delivered, numbers, "all delivered after the restart");
    assert_eq!(keys.len(), 20, "one key per notification");
    let rows = recorded_delivered(&api, maria, "&channel=webhook", 20).await;
    assert_eq!(rows.len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgresql_database_send_each_notification_once() {
    let ladder_store::Location::Postgres(url) = ladder_store::test_postgres_location() else {
        unreachable!("PostgreSQL")
    };
    let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    for dir in &dirs {
        use_database(dir.path(), Some(&url));
    }
    let (hook, receiver) = Receiver::start(0).await;
    let world = LADDER.seed_world(dirs[0].path());
    let (ana, maria) = (&world.tokens["ana"], &world.tokens["maria"]);
    let first = start(dirs[0].path(), &webhook_env(&hook));
    let first_api = Api::new(&first);
    activate_matrix(&first_api, maria).await;
    let second = start(dirs[1].path(), &webhook_env(&hook));
    let second_api = Api::new(&second);

    let mut numbers = BTreeSet::new();
    for i in 0..100 {
        let api = if i % 2 == 0 { &first_api } else { &second_api };
        let case = api.open_case(ana, json!({"subject": format!("shared {i}"), "category": "hook"})).await;
        numbers.insert(case["number"].as_u64().unwrap());
    }
    wait_for("100 notifications", Duration::from_secs(60), async || receiver.accepted_keys().len() >= 100).await;
    // A moment for a second sending, if there were one, to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let keys = receiver.accepted_keys();
    let delivered: BTreeSet<u64> = keys.values().map(|b| b[0]["case"]["number"].as_u64().unwrap()).collect();
    assert_eq!(delivered, numbers);
    let doubled: Vec<&String> = keys.iter().filter(|(_, bodies)| bodies.len() > 1).map(|(k, _)| k).collect();
    assert!(doubled.is_empty(), "sent twice: {doubled:?}");
    assert_eq!(receiver.requests.load(Ordering::SeqCst), 100, "one request per notification");
}
