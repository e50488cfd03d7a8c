//! Finding one's way in the console, over HTTP: deep links survive signing in (and only to
//! this site), unknown addresses get a page, search finds cases within scope, and a refused
//! form comes back with what was typed.

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

#[tokio::test]
async fn signing_in_returns_to_the_page_asked_for_and_never_to_another_site() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let n = api.open_case(&world.tokens["ana"], json!({"subject": "Deep link"})).await["number"].as_u64().unwrap();
    let page = format!("/cases/{n}");

    let r = web.get(None, &page).await;
    assert_eq!((r.status, r.location.clone()), (303, Some(format!("/login?next=%2Fcases%2F{n}"))));
    let r = web.sign_in_at(r.location.as_deref().unwrap(), "ana", PASSWORD).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some(page.as_str())), "back to the case");

    // A query string comes back too; the default landing is not remembered.
    let r = web.get(None, "/search?q=deep+link").await;
    assert_eq!(r.location.as_deref(), Some("/login?next=%2Fsearch%3Fq%3Ddeep%2Blink"));
    assert_eq!(web.get(None, "/queue").await.location.as_deref(), Some("/login"));

    // An open redirect is refused: anything but a local path lands on the queue.
    for evil in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "/login"] {
        let login = format!("/login?{}", form_body(&[("next", evil)]));
        let form = web.get(None, &login).await;
        assert!(!form.body.contains("evil.example"), "{evil} is not even carried: {}", form.body);
        let r = web.sign_in_at(&login, "ana", PASSWORD).await;
        assert_eq!((r.status, r.location.as_deref()), (303, Some("/queue")), "{evil}");
    }
    // A signed-in user opening the sign-in page with a destination goes straight there.
    let ana = web.login("ana", PASSWORD).await;
    let r = web.get(Some(&ana), &format!("/login?next=%2Fcases%2F{n}")).await;
    assert_eq!(r.location.as_deref(), Some(page.as_str()));
}

#[tokio::test]
async fn unknown_console_addresses_get_a_page_and_the_api_keeps_problem_json() {
    let Running { dir: _dir, world: _, server, api: _ } = Running::start(LADDER);
    let web = Console::new(&server);
    let r = web.get(None, "/no/such/page").await;
    assert_eq!(r.status, 404);
    assert!(r.body.starts_with("<!DOCTYPE html>") && r.body.contains("Page not found"), "{}", r.body);
    let ana = web.login("ana", PASSWORD).await;
    let r = web.get(Some(&ana), "/cases/1/nothing-here").await;
    assert_eq!(r.status, 404);
    assert!(
        r.body.contains("href=\"/queue\"") && r.body.contains("Sign out"),
        "signed in: the page has the navigation"
    );

    let resp = reqwest::get(format!("{}/api/v1/no-such-thing", server.base)).await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn search_finds_cases_by_phone_email_name_number_and_words_within_scope() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let (ana_token, erin_token) = (&world.tokens["ana"], &world.tokens["erin"]);
    let customer = |name: &str, email: &str, phone: &str| json!({"name": name, "identities": [{"channel": "email", "value": email}, {"channel": "phone", "value": phone}]});
    let (s, fran) = api
        .call(ana_token, "POST", "/api/v1/customers", Some(customer("Fran Front", "fran@example.com", "+15550100")))
        .await;
    assert_eq!(s, 201, "{fran}");
    let (s, bea) = api
        .call(erin_token, "POST", "/api/v1/customers", Some(customer("Bea Billing", "bea@example.com", "+15550199")))
        .await;
    assert_eq!(s, 201, "{bea}");
    let own = api.open_case(ana_token, json!({"subject": "Modem blinks orange", "customer_id": fran["id"]})).await;
    let other = api
        .open_case(erin_token, json!({"subject": "Refund the modem", "team": "billing", "customer_id": bea["id"]}))
        .await;
    let (own, other) = (own["number"].as_u64().unwrap(), other["number"].as_u64().unwrap());
    let ana = web.login("ana", PASSWORD).await;

    let search = |q: &str| {
        let (web, ana) = (&web, &ana);
        let path = format!("/search?{}", form_body(&[("q", q)]));
        async move { web.get(Some(ana), &path).await }
    };
    for q in ["+15550100", "+1 555-0100", "fran@example.com", "Fran", &own.to_string(), &format!("#{own}"), "orange"] {
        let r = search(q).await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains(&format!("href=\"/cases/{own}\"")), "{q:?} finds the case: {}", r.body);
    }
    // Another team's case is not found, whatever is typed.
    for q in ["+15550199", "bea@example.com", "Bea", &other.to_string(), "refund"] {
        let r = search(q).await;
        assert!(!r.body.contains(&format!("href=\"/cases/{other}\"")), "{q:?} stays out of scope: {}", r.body);
        assert!(r.body.contains("No case you can see matches"), "{q:?}: {}", r.body);
    }
    // "modem" is in both; ana sees only her own.
    let r = search("modem").await;
    assert!(
        r.body.contains(&format!("href=\"/cases/{own}\"")) && !r.body.contains(&format!("href=\"/cases/{other}\""))
    );
    // A manager sees both.
    let maria = web.login("maria", PASSWORD).await;
    let r = web.get(Some(&maria), "/search?q=modem").await;
    assert!(r.body.contains(&format!("href=\"/cases/{other}\"")), "{}", r.body);
    // Every page carries the box.
    assert!(web.get(Some(&ana), "/queue").await.body.contains("action=\"/search\""));

    // The API's search answers the same, in the same scope.
    let api_search = |token: &str, q: &str| {
        let path = format!("/api/v1/search?{}", form_body(&[("q", q)]));
        let token = token.to_string();
        let api = &api;
        async move { api.call(&token, "GET", &path, None).await }
    };
    let numbers = |v: &serde_json::Value| -> Vec<u64> {
        v["items"].as_array().unwrap().iter().map(|c| c["number"].as_u64().unwrap()).collect()
    };
    let (s, found) = api_search(ana_token, "+1 555-0100").await;
    assert_eq!((s, numbers(&found)), (200, vec![own]), "{found}");
    let (s, found) = api_search(ana_token, "bea@example.com").await;
    assert_eq!((s, numbers(&found)), (200, vec![]), "another team's case stays out of scope: {found}");
    let (_, found) = api_search(&world.tokens["maria"], "modem").await;
    assert!(numbers(&found).contains(&other) && numbers(&found).contains(&own), "{found}");
    let (s, refused) = api_search(ana_token, "").await;
    assert_eq!((s, refused["field"].as_str()), (422, Some("q")), "{refused}");
    let (s, refused) = api_search(ana_token, &"x".repeat(201)).await;
    assert_eq!((s, refused["field"].as_str()), (422, Some("q")), "{refused}");
}

#[tokio::test]
async fn a_refused_form_comes_back_open_with_what_was_typed_and_the_error_by_its_field() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let n = api.open_case(&world.tokens["ana"], json!({"subject": "Keeps input"})).await["number"].as_u64().unwrap();
    let ana = web.login("ana", PASSWORD).await;
    let page = web.get(Some(&ana), &format!("/cases/{n}")).await;
    assert!(
        page.body
            .contains("What was tried<span class=\"visually-hidden\"> (required)</span> <span class=\"required-mark\""),
        "tried is marked required"
    );
    let csrf = csrf_of(&page.body);

    let form = [
        ("csrf", csrf.as_str()),
        ("kind", "functional"),
        ("initiator", "agent"),
        ("to_level", ""),
        ("to_team", "billing"),
        ("to_user", ""),
        ("reason", "the bill is wrong & needs \"billing\""),
        ("tried", "  "),
    ];
    let r = web.post(Some(&ana), &format!("/cases/{n}/escalate"), &form).await;
    assert_eq!((r.status, r.location.clone()), (303, Some(format!("/cases/{n}"))));
    let mut cookies: Vec<String> = r.set_cookies.iter().map(|c| c.split(';').next().unwrap().to_string()).collect();
    cookies.push(format!("ladder_session={ana}"));
    let back = reqwest::Client::new()
        .get(format!("{}/cases/{n}", server.base))
        .header("cookie", cookies.join("; "))
        .send()
        .await
        .unwrap();
    let cleared = back.headers().get_all("set-cookie").iter().any(|c| c.to_str().unwrap().starts_with("ladder_form=;"));
    let body = back.text().await.unwrap();
    assert!(body.contains("<details id=\"escalate\" open>"), "the escalate panel is open again: {body}");
    assert!(
        body.contains("the bill is wrong &amp; needs &quot;billing&quot;</textarea>"),
        "the reason is kept: {body}"
    );
    assert!(body.contains("value=\"functional\" checked"), "the kind is kept");
    assert!(body.contains("What was tried: is required when an agent escalates"), "the error in words: {body}");
    assert!(!body.contains(">tried:") && !body.contains(": tried:"), "never the wire name: {body}");
    assert!(cleared, "the kept form is shown once");
}

#[tokio::test]
async fn a_macro_is_filled_in_for_the_case_and_sending_it_takes_its_actions() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let (sam, ana_token) = (&world.tokens["sam"], &world.tokens["ana"]);
    let (s, fran) = api.call(ana_token, "POST", "/api/v1/customers", Some(json!({"name": "Fran Front"}))).await;
    assert_eq!(s, 201, "{fran}");
    let n = api.open_case(ana_token, json!({"subject": "Password", "customer_id": fran["id"]})).await["number"]
        .as_u64()
        .unwrap();
    let body = json!({"name": "Reset done", "team": "frontline", "add_tags": ["password"], "resolve_code": "answered",
        "body": "Hi {{customer.name}}, case {{case.number}} is done. {{agent.name}}"});
    let (s, m) = api.call(ana_token, "POST", "/api/v1/macros", Some(body.clone())).await;
    assert_eq!(s, 403, "an agent does not manage her team's macros: {m}");
    let (s, m) = api.call(sam, "POST", "/api/v1/macros", Some(body)).await;
    assert_eq!(s, 201, "{m}");
    let (s, mine) = api
        .call(ana_token, "POST", "/api/v1/macros", Some(json!({"name": "Mine", "body": "{{customer.email}}"})))
        .await;
    assert_eq!((s, mine["field"].as_str()), (422, Some("body")), "an unknown placeholder: {mine}");
    let (_, listed) = api.call(&world.tokens["erin"], "GET", "/api/v1/macros", None).await;
    assert_eq!(listed, json!([]), "another team's agent does not see it");

    let ana = web.login("ana", PASSWORD).await;
    assert!(web.get(Some(&ana), "/macros").await.body.contains("Reset done"));
    let page = web.get(Some(&ana), &format!("/cases/{n}")).await.body;
    assert!(page.contains(&format!("data-body=\"Hi Fran Front, case {n} is done. ana\"")), "filled in: {page}");
    let id = m["id"].as_str().unwrap();
    let csrf = csrf_of(&page);
    let r = web
        .post(Some(&ana), &format!("/cases/{n}/reply"), &[("csrf", &csrf), ("macro", id), ("body", "Hi Fran, done.")])
        .await;
    let page = web.follow(Some(&ana), &r).await.body;
    assert!(page.contains("Reply sent; tagged password; resolved as answered."), "{page}");
    let (_, case) = api.call(ana_token, "GET", "/api/v1/cases?q=password", None).await;
    assert_eq!(case["items"][0]["status"], "resolved", "{case}");
    assert_eq!(case["items"][0]["tags"], json!(["password"]), "{case}");
}
