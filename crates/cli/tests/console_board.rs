//! The supervisor's part of the console over HTTP: the board (scoped to the supervisor's
//! teams) and its Server-Sent Events stream, the approvals inbox and its decisions, reassign
//! and take over — and the refusals an agent meets for each.

use std::time::Duration;

use ladder_testkit::http::*;
use ladder_testkit::matrix::{CREDIT_LIMITS, SEEDED_LEVELS};
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

/// The seeded ladder, with credit limits.
fn matrix() -> String {
    [SEEDED_LEVELS, CREDIT_LIMITS].concat()
}

async fn open(api: &Api, token: &str, body: Value) -> (u64, String) {
    let c = api.open_case(token, body).await;
    (c["number"].as_u64().unwrap(), c["id"].as_str().unwrap().to_string())
}

async fn case(api: &Api, token: &str, id: &str) -> Value {
    let (s, c) = api.call(token, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(s, 200, "{c}");
    c
}

/// Ana asks for a credit above her limit (50) on a case of hers: it waits for a supervisor.
async fn credit_request(api: &Api, ana: &str, id: &str, amount: u32) {
    let c =
        api.post_ok(ana, &format!("/api/v1/cases/{id}/actions"), json!({"action": "credit", "amount": amount})).await;
    assert_eq!(c["approvals"].as_array().unwrap().last().unwrap()["state"], "pending", "{c}");
}

#[tokio::test]
async fn the_board_is_scoped_to_the_supervisors_teams_and_refused_to_agents() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let ana = &world.tokens["ana"];
    api.activate_matrix(&world.tokens["maria"], &matrix()).await;

    // On frontline (sam's team): a credit waiting for approval.
    let (front, front_id) = open(&api, ana, json!({"subject": "Billed twice for May", "assignee": "me"})).await;
    credit_request(&api, ana, &front_id, 120).await;
    // Escalated to billing (tara's team, not sam's).
    let (escalated, escalated_id) = open(&api, ana, json!({"subject": "Invoice shows the wrong plan"})).await;
    api.post_ok(ana, &format!("/api/v1/cases/{escalated_id}/escalate"), json!({"kind": "functional", "initiator": "agent", "to_team": "billing", "reason": "billing must fix it", "tried": "checked the plan"})).await;
    // Quiet: a frontline case with nothing to look at.
    let (quiet, _) = open(&api, ana, json!({"subject": "Change of address"})).await;

    let row = |n: u64| format!("id=\"board-{n}\"");
    let sam = web.login("sam", PASSWORD).await;
    let board = web.get(Some(&sam), "/board").await;
    assert_eq!(board.status, 200, "{}", board.body);
    assert!(board.body.contains(&row(front)), "the approval on his team's case: {}", board.body);
    assert!(board.body.contains("why-approval"), "with the reason: {}", board.body);
    assert!(!board.body.contains(&row(escalated)), "not billing's case");
    assert!(!board.body.contains(&row(quiet)), "not a case that needs nothing");
    assert!(board.body.contains("data-live-board=\"/board/stream\""), "the live list");
    assert!(board.body.contains("Team load") && board.body.contains("waiting in the queue"), "team load");
    assert!(board.body.contains("<td>ana</td>"), "agent presence lists his team's agents: {}", board.body);
    assert!(!board.body.contains("<td>erin</td>"), "but not billing's");
    assert!(board.body.contains("href=\"/board\" aria-current=\"page\""), "the nav marks the board");
    assert!(board.body.contains("href=\"/approvals\""), "and offers the inbox");

    let tara = web.login("tara", PASSWORD).await;
    let board = web.get(Some(&tara), "/board").await.body;
    assert!(board.contains(&row(escalated)) && board.contains("why-escalated"), "billing's escalation: {board}");
    assert!(!board.contains(&row(front)), "not frontline's approval");

    let maria = web.login("maria", PASSWORD).await;
    let board = web.get(Some(&maria), "/board").await.body;
    assert!(board.contains(&row(front)) && board.contains(&row(escalated)), "a manager sees every team: {board}");

    let ana_web = web.login("ana", PASSWORD).await;
    for page in ["/board", "/approvals", "/board/stream"] {
        let r = web.get(Some(&ana_web), page).await;
        assert_eq!(r.status, 403, "{page} is refused to an agent");
        assert!(r.body.contains("needs the supervisor role"), "{page}: {}", r.body);
    }
    let queue = web.get(Some(&ana_web), "/queue").await.body;
    assert!(!queue.contains("href=\"/board\"") && !queue.contains("href=\"/approvals\""), "no entries in her nav");
}

/// Reads the SSE response until a `case` event whose data contains `needle`, for at most
/// ten seconds.
async fn wait_for_event(resp: &mut reqwest::Response, needle: &str) -> (String, String) {
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let chunk = resp.chunk().await.expect("stream read").expect("the stream stays open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if let Some(event) = seen.split("\n\n").find(|e| e.starts_with("event: case") && e.contains(needle)) {
                return event.to_string();
            }
        }
    })
    .await;
    match found {
        Ok(event) => (event, seen),
        Err(_) => panic!("no case event with {needle:?} within 10 s; the stream sent: {seen}"),
    }
}

#[tokio::test]
async fn the_board_stream_needs_a_supervisor_session_and_sends_an_escalation_as_it_happens() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let ana = &world.tokens["ana"];
    let (n, id) = open(&api, ana, json!({"subject": "Card charged in the wrong currency"})).await;

    let r = web.get(None, "/board/stream").await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")), "no session: no stream");
    let r = web.get(Some("ldr_forged"), "/board/stream").await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")), "a made-up session: no stream");

    let tara = web.login("tara", PASSWORD).await;
    let mut stream = web
        .client
        .get(server.url("/board/stream"))
        .header("cookie", format!("ladder_session={tara}"))
        .send()
        .await
        .expect("open the stream");
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"),
        "{:?}",
        stream.headers()
    );

    // A frontline case changing is not on tara's board: only the escalation into billing is.
    api.post_ok(ana, &format!("/api/v1/cases/{id}/messages"), json!({"body": "Looking into it"})).await;
    api.post_ok(ana, &format!("/api/v1/cases/{id}/escalate"), json!({"kind": "functional", "initiator": "agent", "to_team": "billing", "reason": "wrong currency", "tried": "checked the card"})).await;
    let (event, seen) = wait_for_event(&mut stream, "why-escalated").await;
    assert!(event.contains(&format!("\"number\":{n}")), "{event}");
    assert!(event.contains(&format!("board-{n}")), "the row to insert: {event}");
    assert!(event.contains("why-escalated"), "says why: {event}");
    assert!(event.contains("Card charged in the wrong currency"), "{event}");
    let first = seen.split("\n\n").find(|e| e.starts_with("event: case")).expect("a case event");
    assert_eq!(first, event, "the reply on the frontline case before the escalation was not on her board: {seen}");
}

#[tokio::test]
async fn a_supervisor_approves_denies_and_counters_from_the_inbox_and_the_case_page() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let ana = &world.tokens["ana"];
    api.activate_matrix(&world.tokens["maria"], &matrix()).await;
    let ana_web = web.login("ana", PASSWORD).await;

    // Ana grants credits from the case page: within her limit it applies, above it it asks.
    let (n1, id1) = open(&api, ana, json!({"subject": "Charged twice", "assignee": "me"})).await;
    let page = web.get(Some(&ana_web), &format!("/cases/{n1}")).await.body;
    assert!(page.contains("Grant an action"), "the grant form: {page}");
    let csrf = csrf_of(&page);
    let r = web
        .post(
            Some(&ana_web),
            &format!("/cases/{n1}/actions"),
            &[("action", "credit"), ("amount", "20"), ("csrf", &csrf)],
        )
        .await;
    assert!(web.follow(Some(&ana_web), &r).await.body.contains("credit of 20.00 USD applied."));
    let r = web
        .post(
            Some(&ana_web),
            &format!("/cases/{n1}/actions"),
            &[("action", "credit"), ("amount", "120"), ("note", "two months"), ("csrf", &csrf)],
        )
        .await;
    let page = web.follow(Some(&ana_web), &r).await.body;
    assert!(page.contains("above your authority: approval requested from a supervisor"), "{page}");
    assert!(page.contains("waits for a supervisor"), "she sees it waiting, without forms: {page}");
    assert!(!page.contains(&format!("/cases/{n1}/approvals/0")), "and cannot decide it");
    let (_n2, id2) = open(&api, ana, json!({"subject": "Late fee", "assignee": "me"})).await;
    credit_request(&api, ana, &id2, 130).await;
    let (n3, id3) = open(&api, ana, json!({"subject": "Outage week", "assignee": "me"})).await;
    credit_request(&api, ana, &id3, 140).await;

    // A forged decision from the agent is refused and changes nothing.
    let r = web
        .post(Some(&ana_web), &format!("/cases/{n1}/approvals/0"), &[("decision", "approve"), ("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("agents cannot decide approvals"), "{}", r.body);
    assert_eq!(case(&api, ana, &id1).await["approvals"][0]["state"], "pending");

    let sam = web.login("sam", PASSWORD).await;
    let inbox = web.get(Some(&sam), "/approvals").await;
    assert_eq!(inbox.status, 200);
    for amount in ["credit of 120.00", "credit of 130.00", "credit of 140.00"] {
        assert!(inbox.body.contains(amount), "{amount} in the inbox: {}", inbox.body);
    }
    assert!(inbox.body.contains("(3 waiting)") && inbox.body.contains("“two months”"), "{}", inbox.body);
    let csrf = csrf_of(&inbox.body);
    let decide = |number: u64, form: Vec<(&'static str, &'static str)>| {
        let (web, sam, csrf) = (&web, &sam, &csrf);
        async move {
            let mut form = form;
            form.push(("csrf", csrf));
            form.push(("back", "/approvals"));
            let path = format!("/cases/{number}/approvals/0");
            let r = web.post(Some(sam), &path, &form).await;
            assert_eq!((r.status, r.location.as_deref()), (303, Some("/approvals")), "{}", r.body);
            web.follow(Some(sam), &r).await.body
        }
    };

    // Deny needs a comment: without one nothing is decided.
    let page = decide(n1, vec![("decision", "deny"), ("comment", " ")]).await;
    assert!(page.contains("a denial needs a comment"), "{page}");
    assert_eq!(case(&api, ana, &id1).await["approvals"][0]["state"], "pending");
    let page = decide(n1, vec![("decision", "deny"), ("comment", "already refunded in April")]).await;
    assert!(page.contains(&format!("Case #{n1}: Denied.")), "{page}");
    let c = case(&api, ana, &id1).await;
    assert_eq!(
        (c["approvals"][0]["state"].as_str(), c["approvals"][0]["comment"].as_str()),
        (Some("denied"), Some("already refunded in April"))
    );

    let (_, c2) = api.call(ana, "GET", &format!("/api/v1/cases/{id2}"), None).await;
    let n2 = c2["number"].as_u64().unwrap();
    let page = decide(n2, vec![("decision", "approve")]).await;
    assert!(page.contains(&format!("Case #{n2}: Approved.")), "{page}");
    let c = case(&api, ana, &id2).await;
    assert_eq!(c["approvals"][0]["state"], "approved");
    assert_eq!(c["applied_actions"][0]["amount"], 130.0, "the credit was applied: {c}");

    // A counter-offer needs an amount; with one it grants that instead.
    let page = decide(n3, vec![("decision", "counter"), ("amount", "")]).await;
    assert!(page.contains("a counter-offer needs the amount"), "{page}");
    let page = decide(n3, vec![("decision", "counter"), ("amount", "70"), ("comment", "half the week")]).await;
    assert!(page.contains(&format!("Case #{n3}: Counter-offer granted.")), "{page}");
    let c = case(&api, ana, &id3).await;
    assert_eq!(
        (c["approvals"][0]["state"].as_str(), c["approvals"][0]["final_amount"].as_f64()),
        (Some("countered"), Some(70.0))
    );
    assert!(web.get(Some(&sam), "/approvals").await.body.contains("No approval is waiting for you."));

    // On the case page, the one who may decide sees the forms; deciding returns to the case.
    credit_request(&api, ana, &id3, 90).await;
    let page = web.get(Some(&sam), &format!("/cases/{n3}")).await.body;
    assert!(
        page.contains("Approvals waiting") && page.contains(&format!("action=\"/cases/{n3}/approvals/1\"")),
        "{page}"
    );
    let r =
        web.post(Some(&sam), &format!("/cases/{n3}/approvals/1"), &[("decision", "approve"), ("csrf", &csrf)]).await;
    assert_eq!(r.location, Some(format!("/cases/{n3}")));
    assert_eq!(case(&api, ana, &id3).await["approvals"][1]["state"], "approved");
}

#[tokio::test]
async fn supervisors_reassign_and_take_over_and_an_agents_forged_posts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    LADDER.admin(
        dir.path(),
        &["user", "create", "--name", "bob", "--role", "agent", "--team", "frontline", "--password-stdin"],
        Some("correct horse battery\n"),
    );
    let server = Server::start(LADDER, dir.path());
    let api = Api::new(&server);
    let web = Console::new(&server);
    let ana = &world.tokens["ana"];
    api.activate_matrix(&world.tokens["maria"], &matrix()).await;
    let (n, id) = open(&api, ana, json!({"subject": "Modem keeps rebooting", "assignee": "me"})).await;
    let assignee = |c: &Value| c["assignee_id"].as_str().map(str::to_string);
    let (_, users) = api.call(&world.tokens["root"], "GET", "/api/v1/users", None).await;
    let user_id = |name: &str| {
        users.as_array().unwrap().iter().find(|u| u["name"] == name).expect("user")["id"].as_str().unwrap().to_string()
    };

    // The agent sees no supervisor controls, and her forged posts are refused.
    let ana_web = web.login("ana", PASSWORD).await;
    let page = web.get(Some(&ana_web), &format!("/cases/{n}")).await.body;
    assert!(!page.contains("Reassign to") && !page.contains("/take-over"), "no controls for an agent: {page}");
    let csrf = csrf_of(&page);
    for (path, form) in
        [("reassign", vec![("assignee", "bob"), ("csrf", csrf.as_str())]), ("take-over", vec![("csrf", csrf.as_str())])]
    {
        let r = web.post(Some(&ana_web), &format!("/cases/{n}/{path}"), &form).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert!(r.body.contains("needs the supervisor role"), "{path}: {}", r.body);
    }
    assert_eq!(assignee(&case(&api, ana, &id).await), Some(user_id("ana")), "nothing changed");

    // The supervisor reassigns to an agent of the team from the case page …
    let sam = web.login("sam", PASSWORD).await;
    let page = web.get(Some(&sam), &format!("/cases/{n}")).await.body;
    assert!(page.contains("Reassign to") && page.contains("<option value=\"bob\">"), "{page}");
    assert!(page.contains(&format!("action=\"/cases/{n}/take-over\"")), "{page}");
    let csrf = csrf_of(&page);
    let r = web.post(Some(&sam), &format!("/cases/{n}/reassign"), &[("assignee", "bob"), ("csrf", &csrf)]).await;
    assert_eq!(r.location, Some(format!("/cases/{n}")));
    assert!(web.follow(Some(&sam), &r).await.body.contains("Reassigned to bob."));
    assert_eq!(assignee(&case(&api, ana, &id).await), Some(user_id("bob")));

    // … and takes it over from the board (where the credit waiting for approval puts it),
    // which he returns to.
    credit_request(&api, ana, &id, 120).await;
    let board = web.get(Some(&sam), "/board").await.body;
    assert!(board.contains(&format!("action=\"/cases/{n}/take-over\"")), "the board offers take over: {board}");
    let r = web.post(Some(&sam), &format!("/cases/{n}/take-over"), &[("back", "/board"), ("csrf", &csrf)]).await;
    assert_eq!(r.location.as_deref(), Some("/board"));
    assert!(web.follow(Some(&sam), &r).await.body.contains(&format!("You took over case #{n}.")));
    assert_eq!(assignee(&case(&api, &world.tokens["sam"], &id).await), Some(user_id("sam")));

    // A supervisor of another team is refused by the engine's rule: the case is outside her
    // scope, so it is answered as one that does not exist.
    let tara = web.login("tara", PASSWORD).await;
    let tara_csrf = csrf_of(&web.get(Some(&tara), "/board").await.body);
    let r = web.post(Some(&tara), &format!("/cases/{n}/take-over"), &[("csrf", &tara_csrf)]).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains(&format!("case #{n} does not exist")), "{}", r.body);
}
