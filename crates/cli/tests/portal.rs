//! The customer portal over real HTTP against the real binary: the link a public reply
//! emails the customer (through a local SMTP sink), the page it opens, the customer's reply,
//! their request for a supervisor and their rating, as the agent and the metrics see them;
//! links expired, tampered with or for another customer's case, all refused alike; forms
//! without their CSRF token refused.

use std::time::{Duration, Instant};

use ladder_testkit::http::{Api, csrf_of, form_body};
use ladder_testkit::server::*;
use ladder_testkit::smtp::SmtpSink;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

/// Polls `done` every 50 ms until it holds or `limit` passes (the delivery worker works in
/// real time).
async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn start(dir: &std::path::Path, sink: &SmtpSink, extra: &[(&str, &str)]) -> Server {
    let url = sink.url();
    let mut env = vec![("LADDER_SMTP_URL", url.as_str()), ("LADDER_SMTP_FROM", "Support <help@example.com>")];
    env.extend_from_slice(extra);
    Server::start_with(LADDER, dir, &env)
}

/// The portal path (`/portal/TOKEN`) of the newest email to `to` that carries one.
async fn emailed_link(sink: &SmtpSink, to: &str, seen: usize) -> String {
    let mine = || -> Vec<String> {
        sink.messages().into_iter().filter(|m| m.recipients.iter().any(|r| r == to)).map(|m| m.unfolded()).collect()
    };
    wait_for(&format!("an email to {to}"), Duration::from_secs(30), async || mine().len() > seen).await;
    let text = mine().pop().unwrap();
    let at = text.find("/portal/").unwrap_or_else(|| panic!("a portal link in {text}"));
    let token: String = text[at + "/portal/".len()..].chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    assert_eq!(token.len(), 112, "{text}");
    format!("/portal/{token}")
}

/// A browser's view of the portal: the form cookie it was given, sent back with each request.
struct Customer {
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Customer {
    fn new(server: &Server) -> Customer {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Customer { client, base: server.base.clone(), cookie: None }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", c.clone()),
            None => req,
        };
        let resp = req.send().await.unwrap();
        let headers = resp.headers().clone();
        for c in headers.get_all("set-cookie") {
            let c = c.to_str().unwrap();
            if c.starts_with("ladder_portal=") {
                self.cookie = Some(c.split(';').next().unwrap().to_string());
            }
        }
        let status = resp.status().as_u16();
        let location = headers.get("location").map(|v| v.to_str().unwrap().to_string());
        Page { status, location, headers, body: resp.text().await.unwrap() }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.client.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(form));
        self.send(req).await
    }

    /// Opens the page, then posts one of its forms with the page's CSRF token; expects the
    /// redirect back to the page.
    async fn submit(&mut self, link: &str, form: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(link).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = csrf_of(&page.body);
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(&format!("{link}/{form}"), &all).await
    }
}

async fn case(api: &Api, token: &str, id: &str) -> Value {
    let (s, case) = api.call(token, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(s, 200, "{case}");
    case
}

async fn events(api: &Api, token: &str, id: &str) -> Vec<Value> {
    let (s, events) = api.call(token, "GET", &format!("/api/v1/cases/{id}/events"), None).await;
    assert_eq!(s, 200, "{events}");
    events.as_array().cloned().or_else(|| events["events"].as_array().cloned()).unwrap()
}

async fn open_for(api: &Api, ana: &str, name: &str, email: &str, subject: &str) -> String {
    let (s, case) = api
        .call(
            ana,
            "POST",
            "/api/v1/cases",
            Some(json!({"subject": subject, "team": "frontline", "requester": {"name": name, "email": email}})),
        )
        .await;
    assert_eq!(s, 201, "{case}");
    case["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_reply_emails_a_link_and_the_customer_replies_asks_for_a_supervisor_and_rates() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let server = start(dir.path(), &sink, &[]);
    let api = Api::new(&server);
    let (ana, sam, maria) = (&world.tokens["ana"], &world.tokens["sam"], &world.tokens["maria"]);

    let id = open_for(&api, ana, "Kim Lee", "kim@example.com", "Charged twice <again>").await;
    api.post_ok(ana, &format!("/api/v1/cases/{id}/assign"), json!({"assignee": "me"})).await;
    let note = json!({"body": "Internal: customer is on the watch list", "visibility": "internal"});
    api.post_ok(ana, &format!("/api/v1/cases/{id}/messages"), note).await;
    assert!(sink.messages().is_empty(), "an internal note tells the customer nothing");
    let reply = json!({"body": "We are looking into the double charge."});
    api.post_ok(ana, &format!("/api/v1/cases/{id}/messages"), reply).await;

    // The reply's email carries the link, under the server's address.
    let link = emailed_link(&sink, "kim@example.com", 0).await;
    let mail = sink.messages().pop().unwrap().unfolded();
    assert!(mail.contains("We are looking into the double charge."), "{mail}");
    assert!(mail.contains(&format!("{}{link}", server.base)), "{mail}");

    let mut kim = Customer::new(&server);
    let page = kim.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Charged twice &lt;again&gt;"), "{}", page.body);
    assert!(page.body.contains("We are looking into the double charge."));
    assert!(!page.body.contains("watch list"), "no internal note: {}", page.body);
    assert!(!page.body.contains(">ana<") && !page.body.contains("<script"), "no staff name, no script");
    assert!(page.body.contains("name=\"viewport\""), "mobile-friendly");
    for (header, value) in
        [("cache-control", "no-store"), ("x-frame-options", "DENY"), ("referrer-policy", "no-referrer")]
    {
        assert_eq!(page.headers.get(header).and_then(|v| v.to_str().ok()), Some(value), "{header}");
    }
    assert!(page.headers.get("content-security-policy").unwrap().to_str().unwrap().contains("script-src 'self'"));
    assert!(kim.cookie.is_some(), "the page sets its form cookie");

    // Forms without their CSRF token, or with another browser's, are refused and do nothing.
    let before = case(&api, ana, &id).await["version"].clone();
    let r = kim.post(&format!("{link}/reply"), &[("body", "no token")]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let csrf = csrf_of(&kim.get(&link).await.body);
    let mut stranger = Customer::new(&server);
    let r = stranger.post(&format!("{link}/reply"), &[("csrf", &csrf), ("body", "token without its cookie")]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(case(&api, ana, &id).await["version"], before, "nothing recorded");

    // The reply is threaded onto the case as the customer's, and the agent sees it.
    let r = kim.submit(&link, "reply", &[("body", "It happened again this morning.")]).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some(format!("{link}?done=reply").as_str())), "{}", r.body);
    let (_, messages) = api.call(ana, "GET", &format!("/api/v1/cases/{id}/messages"), None).await;
    let last = messages.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["body"], "It happened again this morning.", "{messages}");
    assert_eq!(last["author"]["kind"].as_str().or(last["author"]["type"].as_str()), Some("customer"), "{last}");
    assert_eq!(last["visibility"], "public");
    let page = kim.get(&format!("{link}?done=reply")).await;
    assert!(page.body.contains("It happened again this morning.") && page.body.contains("your message is on"));

    // "Ask for a supervisor": a hierarchical escalation the customer initiated, with the reason.
    let r = kim.submit(&link, "supervisor", &[("reason", "Third time this month")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let c = case(&api, sam, &id).await;
    assert_eq!((c["level"].as_str(), c["team_id"].as_str().is_some()), (Some("L2"), true), "{c}");
    let history = events(&api, sam, &id).await;
    let escalated = history.iter().find(|e| e["type"] == "escalated");
    let escalated = escalated.unwrap_or_else(|| panic!("an escalation in {history:?}"));
    assert_eq!(escalated["data"]["initiator"], "customer", "{escalated}");
    assert_eq!(escalated["data"]["kind"], "hierarchical", "{escalated}");
    assert_eq!(escalated["data"]["reason"], "Third time this month", "{escalated}");
    assert_eq!(escalated["actor"]["kind"], "customer", "{escalated}");
    let reply =
        history.iter().find(|e| e["type"] == "message_added" && e["data"]["body"] == "It happened again this morning.");
    assert_eq!(reply.unwrap()["actor"]["kind"], "customer", "{history:?}");

    // No rating before the resolution: the form is not there, and a post is refused.
    assert!(!kim.get(&link).await.body.contains("/rating\""));
    let r = kim.submit(&link, "rating", &[("score", "5")]).await;
    assert_eq!(r.status, 422, "{}", r.body);

    // Resolved: the customer rates it; a second rating replaces theirs while it is resolved.
    api.post_ok(sam, &format!("/api/v1/cases/{id}/assign"), json!({"assignee": "me"})).await;
    api.post_ok(sam, &format!("/api/v1/cases/{id}/resolve"), json!({"code": "refunded"})).await;
    let r = kim.submit(&link, "rating", &[("score", "9")]).await;
    assert_eq!(r.status, 422, "not a score: {}", r.body);
    let r = kim.submit(&link, "rating", &[("score", "2"), ("comment", "Slow, but fixed")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let c = case(&api, sam, &id).await;
    assert_eq!(c["csat"]["score"], 2, "{c}");
    assert_eq!(
        (c["csat"]["by_customer"].as_bool(), c["csat"]["comment"].as_str()),
        (Some(true), Some("Slow, but fixed"))
    );
    let r = kim.submit(&link, "rating", &[("score", "4")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(case(&api, sam, &id).await["csat"]["score"], 4);

    // CSAT after escalation counts the customer's (latest) score once.
    let (s, m) = api.call(maria, "GET", "/api/v1/metrics", None).await;
    assert_eq!(s, 200, "{m}");
    let total = &m["rows"][0];
    assert_eq!((total["csat_n"].as_i64(), total["csat_escalated_avg"].as_f64()), (Some(1), Some(4.0)), "{total}");
    assert_eq!(total["supervisor_escalated"].as_i64(), Some(1), "{total}");

    // Closed: the rating stands, and the page offers no more forms.
    let csrf = csrf_of(&kim.get(&link).await.body);
    api.post_ok(sam, &format!("/api/v1/cases/{id}/close"), json!({})).await;
    let r = kim.post(&format!("{link}/rating"), &[("csrf", &csrf), ("score", "1")]).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(case(&api, sam, &id).await["csat"]["score"], 4);
    let page = kim.get(&link).await;
    assert!(!page.body.contains("<form"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_reply_on_the_portal_reopens_a_resolved_case_as_an_email_would() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let server = start(dir.path(), &sink, &[]);
    let api = Api::new(&server);
    let ana = &world.tokens["ana"];
    let id = open_for(&api, ana, "Kim Lee", "kim@example.com", "Router blinks").await;
    api.post_ok(ana, &format!("/api/v1/cases/{id}/assign"), json!({"assignee": "me"})).await;
    api.post_ok(ana, &format!("/api/v1/cases/{id}/messages"), json!({"body": "Restart it, please."})).await;
    let link = emailed_link(&sink, "kim@example.com", 0).await;
    api.post_ok(ana, &format!("/api/v1/cases/{id}/resolve"), json!({"code": "fixed"})).await;

    let mut kim = Customer::new(&server);
    let r = kim.submit(&link, "reply", &[("body", "Still blinking.")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let c = case(&api, ana, &id).await;
    assert_eq!(c["status"], "open", "{c}");
    let history = events(&api, ana, &id).await;
    assert!(history.iter().any(|e| e.to_string().contains("the customer replied")), "{history:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_expired_tampered_or_for_another_customers_case_are_refused_alike() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let mut server = start(dir.path(), &sink, &[]);
    let api = Api::new(&server);
    let ana = &world.tokens["ana"];
    let a = open_for(&api, ana, "Kim Lee", "kim@example.com", "Kim's case").await;
    let b = open_for(&api, ana, "Lou Park", "lou@example.com", "Lou's case").await;
    for id in [&a, &b] {
        api.post_ok(ana, &format!("/api/v1/cases/{id}/messages"), json!({"body": "On it."})).await;
    }
    let kim_link = emailed_link(&sink, "kim@example.com", 0).await;
    let lou_link = emailed_link(&sink, "lou@example.com", 0).await;
    let (kim_token, lou_token) = (&kim_link["/portal/".len()..], &lou_link["/portal/".len()..]);

    let mut browser = Customer::new(&server);
    assert_eq!(browser.get(&kim_link).await.status, 200);
    assert!(
        browser.get(&kim_link).await.body.contains("Kim&#39;s case")
            || browser.get(&kim_link).await.body.contains("Kim's case")
    );
    assert_eq!(browser.get(&lou_link).await.status, 200);

    // The claims are case (32 hex), customer (32), expiry (16); then the signature (32).
    let flip = |t: &str, i: usize| {
        let mut b = t.as_bytes().to_vec();
        b[i] = if b[i] == b'0' { b'1' } else { b'0' };
        String::from_utf8(b).unwrap()
    };
    let forged = [
        ("another case, Kim's signature", format!("{}{}", &lou_token[..32], &kim_token[32..])),
        ("Kim's case, Lou as the customer", format!("{}{}{}", &kim_token[..32], &lou_token[32..64], &kim_token[64..])),
        ("Lou's claims, Kim's signature", format!("{}{}", &lou_token[..80], &kim_token[80..])),
        ("a later expiry", flip(kim_token, 70)),
        ("a changed signature", flip(kim_token, 111)),
        ("upper case", kim_token.to_uppercase()),
        ("too short", kim_token[..100].to_string()),
        ("not hex", "z".repeat(112)),
        ("anything", "nothing-here".to_string()),
    ];
    let reference = browser.get(&format!("/portal/{}", "0".repeat(112))).await;
    assert_eq!(reference.status, 404);
    assert!(reference.body.contains("not valid or has expired"), "{}", reference.body);
    for (what, token) in &forged {
        let page = browser.get(&format!("/portal/{token}")).await;
        assert_eq!((page.status, &page.body), (404, &reference.body), "{what}");
        // Its forms are refused the same way, with a form token or without.
        let mut holder = Customer::new(&server);
        let csrf = csrf_of(&holder.get(&kim_link).await.body);
        let r = holder.post(&format!("/portal/{token}/reply"), &[("csrf", &csrf), ("body", "hello")]).await;
        assert_eq!((r.status, &r.body), (404, &reference.body), "{what}");
    }
    let (_, messages) = api.call(ana, "GET", &format!("/api/v1/cases/{a}/messages"), None).await;
    assert_eq!(messages.as_array().unwrap().len(), 1, "no forged reply landed: {messages}");

    // 31 days on, Kim's link has expired: the same page again.
    server.kill_hard();
    drop(server);
    let server = start(dir.path(), &sink, &[("LADDER_CLOCK_OFFSET", "31d")]);
    let mut browser = Customer::new(&server);
    let page = browser.get(&kim_link).await;
    assert_eq!((page.status, &page.body), (404, &reference.body), "expired");
    let csrf_page = browser.get(&format!("/portal/{}", "0".repeat(112))).await;
    assert_eq!(csrf_page.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_survives_a_restart_and_a_customer_cannot_reach_staff_pages_with_it() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let mut server = start(dir.path(), &sink, &[]);
    let api = Api::new(&server);
    let ana = &world.tokens["ana"];
    let id = open_for(&api, ana, "Kim Lee", "kim@example.com", "Kept across restarts").await;
    api.post_ok(ana, &format!("/api/v1/cases/{id}/messages"), json!({"body": "Noted."})).await;
    let link = emailed_link(&sink, "kim@example.com", 0).await;
    server.kill_hard();
    drop(server);

    // The signing key is in the database: the link works on the restarted server.
    let server = start(dir.path(), &sink, &[]);
    let mut kim = Customer::new(&server);
    let page = kim.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Kept across restarts"));
    // The portal's cookie is no session: the console and the API still ask for one.
    let cookie = kim.cookie.clone().unwrap();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let queue = client.get(server.url("/queue")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(queue.status(), 303);
    let api_case =
        client.get(server.url(&format!("/api/v1/cases/{id}"))).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(api_case.status(), 401);
}
