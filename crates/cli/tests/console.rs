//! The web console over HTTP, as a browser without JavaScript uses it: sessions, CSRF,
//! role checks, and every page rendering for the roles that may see it.

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

async fn open(api: &Api, token: &str, body: serde_json::Value) -> u64 {
    let c = api.open_case(token, body).await;
    c["number"].as_u64().unwrap()
}

#[tokio::test]
async fn login_sets_a_strict_http_only_session_that_logout_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let server = Server::start(LADDER, dir.path());
    let web = Console::new(&server);

    let r = web.get(None, "/").await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")), "signed out, / goes to the login page");
    let r = web.get(None, "/queue").await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")), "a page without a session");
    let r = web.get(None, "/login").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<label for=\"password\">"), "the login form has labelled fields");

    let r = web.sign_in("ana", "wrong").await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("Wrong user name or password"), "{}", r.body);
    assert!(!r.set_cookies.iter().any(|c| c.starts_with("ladder_session=")), "no session");

    let r = web.sign_in("ana", PASSWORD).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/queue")));
    let cookie = r.set_cookies.iter().find(|c| c.starts_with("ladder_session=")).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let session = web.login("ana", PASSWORD).await;

    // The session is a token named "web session", stored hashed like every token.
    let api = Api::new(&server);
    let (_, tokens) = api.call(&world.tokens["ana"], "GET", "/api/v1/tokens", None).await;
    assert!(tokens.as_array().unwrap().iter().any(|t| t["name"] == "web session"), "{tokens}");

    let r = web.get(Some(&session), "/").await;
    assert_eq!(r.location.as_deref(), Some("/queue"), "signed in, / goes to the queue");
    let queue = web.get(Some(&session), "/queue").await;
    assert_eq!(queue.status, 200);
    let csrf = csrf_of(&queue.body);

    let r = web.post(Some(&session), "/logout", &[("csrf", &csrf)]).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")));
    assert!(r.set_cookies.iter().any(|c| c.starts_with("ladder_session=;")), "the cookie is cleared");
    let r = web.get(Some(&session), "/queue").await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")), "the revoked session no longer works");
}

#[tokio::test]
async fn posts_without_the_session_csrf_token_are_refused() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let n = open(&api, &world.tokens["ana"], json!({"subject": "Printer on fire"})).await;
    let ana = web.login("ana", PASSWORD).await;
    let other = web.login("ana", PASSWORD).await;
    let other_csrf = csrf_of(&web.get(Some(&other), "/queue").await.body);

    for (what, form) in [
        ("no token", vec![("body", "sneaky")]),
        ("another session's token", vec![("body", "sneaky"), ("csrf", other_csrf.as_str())]),
        ("a wrong token", vec![("body", "sneaky"), ("csrf", "00")]),
    ] {
        let r = web.post(Some(&ana), &format!("/cases/{n}/note"), &form).await;
        assert_eq!(r.status, 403, "{what}");
        assert!(r.body.contains("CSRF"), "{what}: a problem page that says why: {}", r.body);
        assert!(r.body.starts_with("<!DOCTYPE html>"), "{what}: an HTML page, not problem+json");
    }
    let r = web.post(Some(&ana), "/logout", &[]).await;
    assert_eq!(r.status, 403, "logout needs the token too");
    let (_, events) = api.call(&world.tokens["ana"], "GET", "/api/v1/cases", None).await;
    assert_eq!(events["items"][0]["n_messages"], 0, "nothing was written");
}

#[tokio::test]
async fn agents_are_refused_other_teams_cases_and_admin_pages() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let billing = open(&api, &world.tokens["erin"], json!({"subject": "Refund", "team": "billing"})).await;
    let front = open(&api, &world.tokens["ana"], json!({"subject": "Password reset"})).await;
    let ana = web.login("ana", PASSWORD).await;

    // Another team's case is answered exactly like a case that does not exist.
    let r = web.get(Some(&ana), &format!("/cases/{billing}")).await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains(&format!("case #{billing} does not exist")), "{}", r.body);
    let r = web
        .post(
            Some(&ana),
            &format!("/cases/{billing}/note"),
            &[("body", "peek"), ("csrf", &csrf_of(&web.get(Some(&ana), "/queue").await.body))],
        )
        .await;
    assert_eq!(r.status, 404, "nor write to it");
    assert_eq!(web.get(Some(&ana), &format!("/cases/{front}")).await.status, 200);
    assert_eq!(web.get(Some(&ana), "/cases/999999").await.status, 404);

    let r = web.get(Some(&ana), "/admin").await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("needs the admin role"), "{}", r.body);
    let queue = web.get(Some(&ana), "/queue").await.body;
    assert!(!queue.contains("href=\"/admin\""), "no admin entry in an agent's navigation");

    let root = web.login("root", PASSWORD).await;
    let r = web.get(Some(&root), "/admin").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("href=\"/admin\"") && r.body.contains("<td>erin</td>"), "{}", r.body);
    let maria = web.login("maria", PASSWORD).await;
    assert_eq!(web.get(Some(&maria), &format!("/cases/{billing}")).await.status, 200, "managers see every case");
}

#[tokio::test]
async fn an_agent_takes_the_next_case_and_works_it_from_the_case_page() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let sam = &world.tokens["sam"];
    let n = open(&api, sam, json!({"subject": "Router keeps dropping", "team": "frontline", "priority": "high"})).await;
    let ana = web.login("ana", PASSWORD).await;

    let queue = web.get(Some(&ana), "/queue").await;
    assert_eq!(queue.status, 200);
    assert!(queue.body.contains("Front") || queue.body.contains("frontline"), "her team's queue: {}", queue.body);
    assert!(queue.body.contains(&format!("href=\"/cases/{n}\"")), "the waiting case is listed");
    assert!(queue.body.contains("Take next"));
    let csrf = csrf_of(&queue.body);

    let r = web.post(Some(&ana), "/queue/frontline/next", &[("csrf", &csrf)]).await;
    assert_eq!((r.status, r.location.clone()), (303, Some(format!("/cases/{n}"))), "take next opens the case");
    let page = web.follow(Some(&ana), &r).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("Case #{n} is now yours.")), "the flash says so: {}", page.body);
    assert!(page.set_cookies.iter().any(|c| c.starts_with("ladder_flash=;")), "and is shown once");
    assert!(web.get(Some(&ana), "/queue").await.body.contains("Assigned to me"), "it is hers now");

    let post = |path: &'static str, form: Vec<(&'static str, &'static str)>| {
        let (web, ana, csrf) = (&web, &ana, &csrf);
        async move {
            let mut form = form;
            form.push(("csrf", csrf));
            web.post(Some(ana), &format!("/cases/{n}/{path}"), &form).await
        }
    };
    assert_eq!(post("reply", vec![("body", "We are on it.")]).await.status, 303);
    assert_eq!(post("note", vec![("body", "Line test was clean.")]).await.status, 303);
    // A refused command comes back to the page as a message.
    let r = post("resolve", vec![("code", " ")]).await;
    assert_eq!(r.location, Some(format!("/cases/{n}")));
    let page = web.follow(Some(&ana), &r).await.body;
    assert!(
        page.contains("role=\"alert\">Resolution code: '' is not a valid handle"),
        "the refusal is shown by its field: {page}"
    );
    let r = post(
        "escalate",
        vec![
            ("kind", "functional"),
            ("initiator", "agent"),
            ("to_level", ""),
            ("to_team", "billing"),
            ("to_user", ""),
            ("reason", "line is fine, the bill is wrong"),
            ("tried", "line test"),
        ],
    )
    .await;
    assert_eq!(r.status, 303);
    let page = web.follow(Some(&ana), &r).await.body;
    assert!(page.contains("Escalated."), "{page}");
    for text in [
        "We are on it.",
        "Line test was clean.",
        "Why: </strong>line is fine, the bill is wrong",
        "Tried: </strong>line test",
        "Escalated (functional",
    ] {
        assert!(page.contains(text), "the timeline shows {text:?}: {page}");
    }
    let (_, case) = api.call(sam, "GET", "/api/v1/cases?q=router", None).await;
    assert_eq!(case["items"][0]["level"], "L2", "the form ran the real escalation");
}

/// `GET path` with a session cookie and extra headers, as raw as a browser sends it.
async fn raw_get(server: &Server, session: Option<&str>, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut req = client.get(server.url(path));
    if let Some(s) = session {
        req = req.header("cookie", format!("ladder_session={s}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn console_pages_forbid_inline_script_and_framing_and_never_sniff() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let number = open(&api, &world.tokens["sam"], json!({"subject": "Headers", "team": "frontline"})).await;
    let web = Console::new(&server);
    let sam = web.login("sam", PASSWORD).await;
    let maria = web.login("maria", PASSWORD).await;
    let case_page = format!("/cases/{number}");
    let pages: Vec<(&str, Option<&str>)> = vec![
        ("/login", None),
        ("/queue", Some(&sam)),
        (&case_page, Some(&sam)),
        ("/board", Some(&sam)),
        ("/approvals", Some(&sam)),
        ("/dashboard", Some(&maria)),
        ("/matrix", Some(&maria)),
    ];
    for (path, session) in pages {
        let r = raw_get(&server, session, path, &[]).await;
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers().clone();
        let csp = h["content-security-policy"].to_str().unwrap().to_string();
        for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"] {
            assert!(csp.contains(directive), "{path}: {csp} lacks {directive}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        let body = r.text().await.unwrap();
        // What the policy would block: inline scripts, style elements and attributes, handlers.
        for script in body.split("<script").skip(1) {
            assert!(script.split('>').next().unwrap().contains("src="), "{path}: an inline script");
        }
        assert!(!body.contains("<style") && !body.contains(" style=\""), "{path}: an inline style");
        assert!(!body.contains(" onclick=") && !body.contains(" onsubmit=") && !body.contains(" onchange="), "{path}");
    }
    for asset in ["/assets/console.css", "/assets/board.css", "/assets/approvals.css", "/assets/console.js"] {
        let r = raw_get(&server, None, asset, &[]).await;
        assert_eq!(
            (r.status().as_u16(), r.headers()["x-content-type-options"].to_str().unwrap()),
            (200, "nosniff"),
            "{asset}"
        );
    }
}

#[tokio::test]
async fn the_login_form_carries_a_csrf_token_and_cookies_are_secure_behind_https() {
    let dir = tempfile::tempdir().unwrap();
    LADDER.seed_world(dir.path());
    let server = Server::start(LADDER, dir.path());
    let web = Console::new(&server);

    // A login posted without the form's token (from another site) is refused.
    let r = web.post(None, "/login", &[("name", "ana"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!r.set_cookies.iter().any(|c| c.starts_with("ladder_session=")), "no session");
    let page = web.get(None, "/login").await;
    let form_cookie = page.set_cookies.iter().find(|c| c.starts_with("ladder_login=")).expect("a form cookie");
    assert!(form_cookie.contains("HttpOnly") && form_cookie.contains("SameSite=Strict"), "{form_cookie}");
    assert!(!form_cookie.contains("Secure"), "plain HTTP: {form_cookie}");

    let r = web.sign_in("ana", PASSWORD).await;
    let session = r.set_cookies.iter().find(|c| c.starts_with("ladder_session=")).unwrap();
    assert!(!session.contains("Secure"), "plain HTTP, no proxy: {session}");
    // An X-Forwarded-Proto from a proxy nobody configured is not believed.
    let r = raw_get(&server, None, "/login", &[("x-forwarded-proto", "https")]).await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(!cookie.contains("Secure"), "an untrusted header: {cookie}");
    drop(server);

    let proxied = Server::start_with(LADDER, dir.path(), &[("LADDER_TRUSTED_PROXY", "127.0.0.1")]);
    let r = raw_get(&proxied, None, "/login", &[("x-forwarded-proto", "https")]).await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("; Secure") && cookie.contains("SameSite=Strict"), "a trusted proxy: {cookie}");
    let r = raw_get(&proxied, None, "/login", &[]).await;
    assert!(!r.headers()["set-cookie"].to_str().unwrap().contains("Secure"), "the proxy said plain HTTP");
    drop(proxied);

    let public = Server::start_with(LADDER, dir.path(), &[("LADDER_PUBLIC_URL", "https://ladder.example")]);
    let r = Console::new(&public).sign_in("ana", PASSWORD).await;
    assert_eq!(r.status, 303);
    for cookie in &r.set_cookies {
        assert!(cookie.contains("; Secure"), "an https public URL: {cookie}");
    }
}
