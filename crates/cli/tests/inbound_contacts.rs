//! SMS, chat, social and voice in, over real HTTP against the real binary: Twilio's webhook
//! signed by the real `twilio` package's `RequestValidator` (PyPI, pinned, in a venv under
//! `target/`), and the contact webhook signed as docs/channels.md tells a sender to — with
//! tampered, missing, replayed and oversize requests refused.

use std::process::{Command, Stdio};

use hmac::{Hmac, KeyInit, Mac};
use ladder_testkit::http::*;
use ladder_testkit::matrix::SEEDED_LEVELS;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));
const SMS: &str = "/api/v1/inbound/sms";
const CONTACT: &str = "/api/v1/inbound/contact";
const AUTH_TOKEN: &str = "12345678901234567890123456789012";
const PUBLIC_URL: &str = "https://help.example.test";
const CONTACT_SECRET: &str = "a contact secret of some length";
/// The `twilio` release whose `RequestValidator` signs the test's requests.
const TWILIO_VERSION: &str = "9.13.0";

/// A server whose SMS and contact webhooks are configured, on the seeded world.
fn start() -> (tempfile::TempDir, World, Server, Api) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let world = LADDER.seed_world(dir.path());
    let env = [
        ("LADDER_SMS_AUTH_TOKEN", AUTH_TOKEN),
        ("LADDER_PUBLIC_URL", PUBLIC_URL),
        ("LADDER_CONTACT_SECRET", CONTACT_SECRET),
        ("LADDER_CONTACT_TEAM", "frontline"),
    ];
    let server = Server::start_with(LADDER, dir.path(), &env);
    let api = Api::new(&server);
    (dir, world, server, api)
}

/// The venv with the pinned `twilio` package (made on first use).
fn twilio_python() -> std::path::PathBuf {
    // The tests of this file run at once: one of them makes the venv.
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/twilio-venv");
    let python = venv.join("bin/python");
    let installed = Command::new(&python)
        .args(["-c", "import twilio; print(twilio.__version__)"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == TWILIO_VERSION);
    if !installed {
        let made = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().expect("python3 -m venv");
        assert!(made.success(), "python3 -m venv {}", venv.display());
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--no-deps", &format!("twilio=={TWILIO_VERSION}")])
            .status()
            .expect("pip");
        assert!(pip.success(), "pip install twilio=={TWILIO_VERSION}");
    }
    python
}

/// `X-Twilio-Signature` for `params` posted to `url`, as Twilio's own library computes it.
fn twilio_signature(url: &str, params: &[(&str, &str)]) -> String {
    let script = "import json, sys\nfrom twilio.request_validator import RequestValidator\n\
                  a = json.load(sys.stdin)\n\
                  print(RequestValidator(a['token']).compute_signature(a['url'], dict(a['params'])))";
    let mut child = Command::new(twilio_python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python");
    let input = json!({"token": AUTH_TOKEN, "url": url, "params": params});
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().expect("python's answer");
    assert!(out.status.success(), "the signing script failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Posts Twilio's form; answers the status, the content type and the body.
async fn post_sms(
    api: &Api,
    params: &[(&str, &str)],
    signature: Option<&str>,
    bearer: Option<&str>,
) -> (u16, String, String) {
    let mut request = api
        .client
        .post(format!("{}{SMS}", api.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(params).unwrap());
    if let Some(signature) = signature {
        request = request.header("X-Twilio-Signature", signature);
    }
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.expect("the server answers");
    let status = answer.status().as_u16();
    let kind = answer.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, kind, answer.text().await.unwrap())
}

/// Signs and posts an SMS as Twilio would.
async fn sms(api: &Api, params: &[(&str, &str)]) -> (u16, String, String) {
    let signature = twilio_signature(&format!("{PUBLIC_URL}{SMS}"), params);
    post_sms(api, params, Some(&signature), None).await
}

fn sms_params<'a>(sid: &'a str, from: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("MessageSid", sid),
        ("AccountSid", "AC0000"),
        ("From", from),
        ("To", "+15005550006"),
        ("Body", body),
        ("NumMedia", "0"),
    ]
}

/// `Ladder-Signature` for `body` at `t`, computed here as docs/channels.md tells a sender.
fn contact_signature(t: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(CONTACT_SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

async fn post_contact(api: &Api, body: Vec<u8>, signature: Option<String>) -> (u16, Value) {
    let mut request =
        api.client.post(format!("{}{CONTACT}", api.base)).header("Content-Type", "application/json").body(body);
    if let Some(signature) = signature {
        request = request.header("Ladder-Signature", signature);
    }
    let answer = request.send().await.expect("the server answers");
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Signs and posts one contact event.
async fn contact(api: &Api, event: Value) -> (u16, Value) {
    let body = event.to_string().into_bytes();
    let signature = contact_signature(unix_now(), &body);
    post_contact(api, body, Some(signature)).await
}

async fn cases_on(api: &Api, token: &str, channel: &str) -> Vec<Value> {
    let (s, page) = api.call(token, "GET", &format!("/api/v1/cases?channel={channel}&limit=100"), None).await;
    assert_eq!(s, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

async fn messages(api: &Api, token: &str, id: &str) -> String {
    let (s, m) = api.call(token, "GET", &format!("/api/v1/cases/{id}/messages"), None).await;
    assert_eq!(s, 200, "{m}");
    m.to_string()
}

fn assert_problem(status: u16, body: &str, expected: u16, needle: &str) {
    assert_eq!(status, expected, "{body}");
    let problem: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("problem+json: {body}"));
    assert!(problem["detail"].as_str().unwrap_or_default().contains(needle), "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_signed_by_twilio_opens_a_case_and_the_next_threads_as_a_repeat_contact() {
    let (_dir, world, _server, api) = start();
    let (root, maria) = (&world.tokens["root"], &world.tokens["maria"]);
    let rule = r#"
[[rules]]
name = "Repeat contact"
trigger = "repeat_contact"
when = "event.count >= 2"
then = { tags = ["repeat-contact"] }
"#;
    api.activate_matrix(maria, &[SEEDED_LEVELS, rule].concat()).await;

    // A first SMS, with a picture: a new customer by phone, a case on channel sms, the media
    // kept as a link.
    let mut first = sms_params("SM0001", "+44 7700 900123", "My parcel never arrived.\nOrder 5521");
    first[5] = ("NumMedia", "1");
    first.push(("MediaUrl0", "https://api.twilio.example/Media/ME1"));
    first.push(("MediaContentType0", "image/jpeg"));
    let (s, kind, twiml) = sms(&api, &first).await;
    assert_eq!(s, 200, "{twiml}");
    assert!(kind.starts_with("application/xml"), "{kind}");
    assert!(twiml.contains("<Response/>"), "{twiml}");
    let cases = cases_on(&api, root, "sms").await;
    assert_eq!(cases.len(), 1, "{cases:?}");
    let case = &cases[0];
    assert_eq!(case["subject"], "My parcel never arrived.");
    assert!(
        case["description"].as_str().unwrap().contains("[media: https://api.twilio.example/Media/ME1 (image/jpeg)]")
    );
    let id = case["id"].as_str().unwrap();
    let (_, customer) =
        api.call(root, "GET", &format!("/api/v1/customers/{}", case["customer_id"].as_str().unwrap()), None).await;
    assert_eq!(customer["identities"][0], json!({"channel": "phone", "value": "+447700900123"}), "{customer}");

    // The same number written otherwise: threaded onto the open case, a repeat contact.
    let (s, _, _) = sms(&api, &sms_params("SM0002", "0044 7700 900123", "Any news?")).await;
    assert_eq!(s, 200);
    assert_eq!(cases_on(&api, root, "sms").await.len(), 1, "threaded, not a new case");
    assert!(messages(&api, root, id).await.contains("Any news?"));
    let (_, after) = api.call(root, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(after["tags"], json!(["repeat-contact"]), "{after}");

    // Twilio's retry of the same MessageSid: answered alike, taken in once.
    let (s, _, _) = sms(&api, &sms_params("SM0002", "0044 7700 900123", "Any news?")).await;
    assert_eq!(s, 200);
    assert_eq!(messages(&api, root, id).await.matches("Any news?").count(), 1);

    // Another number: a case of its own.
    let (s, _, _) = sms(&api, &sms_params("SM0003", "+14155550100", "Hello")).await;
    assert_eq!(s, 200);
    assert_eq!(cases_on(&api, root, "sms").await.len(), 2);

    // A sender that is no phone number (a short code), or no MessageSid: 422 naming it.
    let (s, _, body) = sms(&api, &sms_params("SM0004", "12345", "STOP")).await;
    assert_problem(s, &body, 422, "country code");
    let (s, _, body) = sms(&api, &[("From", "+14155550100"), ("Body", "x")]).await;
    assert_problem(s, &body, 422, "MessageSid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_with_a_tampered_or_missing_signature_is_refused_even_with_an_admin_token() {
    let (_dir, world, _server, api) = start();
    let root = &world.tokens["root"];
    let params = sms_params("SM0100", "+447700900999", "Refund me");
    let signature = twilio_signature(&format!("{PUBLIC_URL}{SMS}"), &params);

    // Tampered: the body changed after Twilio signed it.
    let tampered = sms_params("SM0100", "+447700900999", "Refund me 1000");
    let (s, kind, body) = post_sms(&api, &tampered, Some(&signature), None).await;
    assert!(kind.starts_with("application/problem+json"), "{kind}");
    assert_problem(s, &body, 403, "does not match");
    // Signed for another URL.
    let elsewhere = twilio_signature("https://attacker.example/api/v1/inbound/sms", &params);
    let (s, _, body) = post_sms(&api, &params, Some(&elsewhere), None).await;
    assert_problem(s, &body, 403, "does not match");
    // Missing, even with an admin's token: this route authenticates by signature only.
    let (s, _, body) = post_sms(&api, &params, None, Some(root)).await;
    assert_problem(s, &body, 403, "X-Twilio-Signature header is missing");
    let (s, _, body) = post_sms(&api, &params, None, None).await;
    assert_problem(s, &body, 403, "missing");
    assert!(cases_on(&api, root, "sms").await.is_empty(), "nothing refused was taken in");

    // The genuine request still goes through.
    let (s, _, _) = post_sms(&api, &params, Some(&signature), None).await;
    assert_eq!(s, 200);
    assert_eq!(cases_on(&api, root, "sms").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_and_social_messages_thread_by_conversation_and_customer_handle() {
    let (_dir, world, _server, api) = start();
    let root = &world.tokens["root"];
    let first = json!({"id": "evt-1", "kind": "message", "platform": "whatsapp", "handle": "@Jane",
        "name": "Jane Roe", "conversation_id": "conv-1", "text": "Hi, my card was charged twice."});
    let (s, opened) = contact(&api, first.clone()).await;
    assert_eq!((s, opened["outcome"].as_str()), (201, Some("opened")), "{opened}");
    let id = opened["case_id"].as_str().unwrap().to_string();
    let (_, case) = api.call(root, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(case["channel"], "chat");
    let (_, customer) =
        api.call(root, "GET", &format!("/api/v1/customers/{}", opened["customer_id"].as_str().unwrap()), None).await;
    assert_eq!(customer["name"], "Jane Roe");
    assert_eq!(customer["identities"][0]["value"], "whatsapp:jane", "{customer}");

    // The same conversation: threaded.
    let next = json!({"id": "evt-2", "kind": "message", "platform": "whatsapp", "handle": "jane",
        "conversation_id": "conv-1", "text": "Still waiting."});
    let (s, threaded) = contact(&api, next).await;
    assert_eq!((s, threaded["outcome"].as_str(), threaded["case_id"].as_str()), (200, Some("threaded"), Some(&*id)));
    // A replayed event id (the platform's retry, freshly signed): a duplicate, no change.
    let (s, again) = contact(&api, first).await;
    assert_eq!((s, again["outcome"].as_str()), (202, Some("duplicate")), "{again}");
    // A new conversation from the same handle, on social: onto the customer's open case.
    let social = json!({"id": "evt-3", "kind": "message", "channel": "social", "platform": "WhatsApp",
        "handle": "@jane", "conversation_id": "conv-2", "text": "Hello?"});
    let (s, joined) = contact(&api, social).await;
    assert_eq!((s, joined["case_id"].as_str()), (200, Some(&*id)), "{joined}");
    let text = messages(&api, root, &id).await;
    assert!(text.contains("Still waiting.") && text.contains("Hello?"), "{text}");

    // Fields a kind needs, and their limits: 422 naming the field.
    let (s, p) = contact(&api, json!({"id": "evt-4", "kind": "message", "platform": "x", "handle": "y"})).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("conversation_id")), "{p}");
    let (s, p) = contact(&api, json!({"id": "evt-5", "kind": "message", "conversation_id": "c", "text": "t"})).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("platform")), "{p}");
    let (s, p) = contact(&api, json!({"id": "evt-6", "kind": "shout"})).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("kind")), "{p}");
    let long_id = "x".repeat(201);
    let (s, p) = contact(&api, json!({"id": long_id, "kind": "call_started", "call_id": "c", "phone": "+4420"})).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("id")), "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_badly_signed_replayed_or_oversize_are_refused() {
    let (_dir, world, _server, api) = start();
    let root = &world.tokens["root"];
    let event = json!({"id": "evt-9", "kind": "message", "platform": "webchat", "handle": "visitor-7",
        "conversation_id": "c-9", "text": "Hello"});
    let body = event.to_string().into_bytes();

    // Signed with another secret.
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(b"not the secret at all").unwrap();
    mac.update(format!("{}.", unix_now()).as_bytes());
    mac.update(&body);
    let wrong = format!("t={},v1={}", unix_now(), hex::encode(mac.finalize().into_bytes()));
    let (s, p) = post_contact(&api, body.clone(), Some(wrong)).await;
    assert_eq!((s, p["type"].as_str().map(|t| t.ends_with("bad-signature"))), (403, Some(true)), "{p}");
    // Signed, then changed.
    let signature = contact_signature(unix_now(), &body);
    let changed = event.to_string().replace("Hello", "Hellp").into_bytes();
    let (s, p) = post_contact(&api, changed, Some(signature.clone())).await;
    assert_eq!(s, 403, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("does not match"), "{p}");
    // A signature from six minutes ago: a replay.
    let old = contact_signature(unix_now() - 360, &body);
    let (s, p) = post_contact(&api, body.clone(), Some(old)).await;
    assert_eq!(s, 403, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("replay"), "{p}");
    // No signature, even with an admin's token.
    let answer = api
        .client
        .post(format!("{}{CONTACT}", api.base))
        .bearer_auth(root)
        .header("Content-Type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    // Over the 256 KiB limit, signed or not.
    let huge = json!({"id": "evt-10", "kind": "message", "platform": "webchat", "handle": "v",
        "conversation_id": "c", "text": "a".repeat(300 * 1024)})
    .to_string()
    .into_bytes();
    let signature = contact_signature(unix_now(), &huge);
    let (s, p) = post_contact(&api, huge, Some(signature)).await;
    assert_eq!(s, 413, "{p}");
    assert!(cases_on(&api, root, "chat").await.is_empty(), "nothing refused was taken in");

    // The genuine request goes through.
    let (s, p) = post_contact(&api, body, Some(signature_for_now(&event))).await;
    assert_eq!(s, 201, "{p}");
}

fn signature_for_now(event: &Value) -> String {
    contact_signature(unix_now(), event.to_string().as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_recorded_and_its_transfer_to_a_supervisor_is_an_escalation_with_its_initiator() {
    let (_dir, world, _server, api) = start();
    let (root, maria) = (&world.tokens["root"], &world.tokens["maria"]);
    api.activate_matrix(maria, SEEDED_LEVELS).await;

    let (s, started) = contact(
        &api,
        json!({"id": "call-1-start", "kind": "call_started", "call_id": "CA1", "phone": "+44 20 7946 0958",
        "name": "Carl Caller"}),
    )
    .await;
    assert_eq!((s, started["outcome"].as_str()), (201, Some("opened")), "{started}");
    let id = started["case_id"].as_str().unwrap().to_string();
    let (_, case) = api.call(root, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!((case["channel"].as_str(), case["level"].as_str()), (Some("phone"), Some("L1")), "{case}");

    let (s, p) =
        contact(&api, json!({"id": "call-1-ivr", "kind": "ivr_choice", "call_id": "CA1", "choice": "2 billing"})).await;
    assert_eq!(s, 200, "{p}");
    let (s, p) = contact(
        &api,
        json!({"id": "call-1-transfer", "kind": "transferred", "call_id": "CA1", "to_team": "supervisors",
        "to_user": "sam", "initiator": "customer", "agent": "ana", "reason": "wants a supervisor"}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    let (s, p) = contact(
        &api,
        json!({"id": "call-1-end", "kind": "ended", "call_id": "CA1", "duration_seconds": 312, "wait_seconds": 45}),
    )
    .await;
    assert_eq!(s, 200, "{p}");

    let (_, case) = api.call(root, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(case["level"], "L2", "{case}");
    let (s, history) = api.call(root, "GET", &format!("/api/v1/cases/{id}/events"), None).await;
    assert_eq!(s, 200, "{history}");
    let history = history.to_string();
    assert!(history.contains("\"initiator\":\"customer\""), "{history}");
    assert!(history.contains("Call CA1 transferred at the caller's request: wants a supervisor"), "{history}");
    let notes = messages(&api, root, &id).await;
    assert!(notes.contains("chose '2 billing'"), "{notes}");
    assert!(notes.contains("ended after 5m 12s (waited 0m 45s)"), "{notes}");

    // An event of a call never started: 422 naming call_id.
    let (s, p) =
        contact(&api, json!({"id": "x-end", "kind": "ended", "call_id": "CA404", "duration_seconds": 1})).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("call_id")), "{p}");
    // A transfer an agent initiates is recorded as the agent's.
    let (s, _) =
        contact(&api, json!({"id": "call-2-start", "kind": "call_started", "call_id": "CA2", "phone": "+14155550111"}))
            .await;
    assert_eq!(s, 201);
    let (s, p) = contact(
        &api,
        json!({"id": "call-2-transfer", "kind": "transferred", "call_id": "CA2", "to_team": "supervisors", "agent": "ana"}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    let case2 = p["case_id"].as_str().unwrap();
    let (_, history) = api.call(root, "GET", &format!("/api/v1/cases/{case2}/events"), None).await;
    let history = history.to_string();
    assert!(history.contains("\"initiator\":\"agent\"") && history.contains("by agent ana"), "{history}");
}
