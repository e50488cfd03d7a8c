//! Knowledge articles over the real server: the API's fields and errors, search, suggestions
//! for a case and "solved by article" on resolve; the console's page, whose Markdown runs
//! nothing, and "Turn this fix into an article" from a resolved escalated case.

use ladder_testkit::http::{Console, csrf_of};
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn articles_over_the_api_search_suggest_and_record_what_solved_a_case() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, sam) = (&world.tokens["ana"], &world.tokens["sam"]);
    let article = json!({"title": "Refund a duplicate card charge", "body": "Check the payment log, then **refund** the duplicate.",
        "tags": ["payments"], "categories": ["billing"], "resolution_codes": ["refund_issued"], "audience": "L1", "status": "published"});
    let (s, a) = api.call(sam, "POST", "/api/v1/articles", Some(article.clone())).await;
    assert_eq!(s, 201, "{a}");
    for field in ["title", "body", "tags", "categories", "resolution_codes", "audience", "status"] {
        assert_eq!(a[field], article[field], "{field}");
    }
    assert_eq!((a["version"].as_u64(), a["author_name"].as_str()), (Some(1), Some("sam")));
    let id = a["id"].as_str().unwrap();

    // Refusals name the field; an agent may not write.
    let (s, p) = api
        .call(
            sam,
            "POST",
            "/api/v1/articles",
            Some(json!({"title": " ", "body": "x", "audience": "L1", "status": "draft"})),
        )
        .await;
    assert_eq!((s, p["field"].as_str()), (422, Some("title")), "{p}");
    let (s, p) = api
        .call(
            sam,
            "POST",
            "/api/v1/articles",
            Some(json!({"title": "t", "body": "x", "audience": "L4", "status": "draft"})),
        )
        .await;
    assert_eq!(s, 422, "{p}");
    let (s, _) = api.call(ana, "POST", "/api/v1/articles", Some(article.clone())).await;
    assert_eq!(s, 403);
    let (s, _) = api.call(ana, "GET", "/api/v1/articles?status=draft", None).await;
    assert_eq!(s, 403);

    // Search, and versions after a change with If-Match.
    let (s, page) = api.call(ana, "GET", "/api/v1/articles?q=refunds", None).await;
    assert_eq!((s, page["articles"][0]["id"].as_str()), (200, Some(id)), "{page}");
    let changed = json!({"title": "Refund a duplicate card charge", "body": "Refund the second capture.", "audience": "L1", "status": "published", "categories": ["billing"]});
    let headers = [("if-match", "1")];
    let (s, b) = api.call_with(sam, "PUT", &format!("/api/v1/articles/{id}"), Some(changed.clone()), &headers).await;
    assert_eq!((s, b["version"].as_u64()), (200, Some(2)), "{b}");
    let (s, _) = api.call_with(sam, "PUT", &format!("/api/v1/articles/{id}"), Some(changed), &headers).await;
    assert_eq!(s, 409, "a stale If-Match is refused");
    let (s, versions) = api.call(ana, "GET", &format!("/api/v1/articles/{id}/versions"), None).await;
    assert_eq!((s, versions.as_array().map(Vec::len)), (200, Some(2)), "{versions}");

    // Suggestions for a billing case about a double charge, with the reason; then solved by it.
    let case = api
        .open_case(ana, json!({"subject": "Charged twice", "description": "Two captures on my card", "category": "billing", "team": "frontline"}))
        .await;
    let case_id = case["id"].as_str().unwrap();
    let (s, suggestions) = api.call(ana, "GET", &format!("/api/v1/cases/{case_id}/suggestions"), None).await;
    assert_eq!((s, suggestions[0]["article"]["id"].as_str()), (200, Some(id)), "{suggestions}");
    assert!(suggestions[0]["reason"].as_str().unwrap().starts_with("same category billing"), "{suggestions}");
    let (s, p) = api.command(ana, case_id, "resolve", json!({"code": "refund_issued", "article_id": case_id})).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("article_id")), "an unknown article is refused: {p}");
    let (s, resolved) = api.command(ana, case_id, "resolve", json!({"code": "refund_issued", "article_id": id})).await;
    assert_eq!(s, 200, "{resolved}");
    let (_, events) = api.call(ana, "GET", &format!("/api/v1/cases/{case_id}/events"), None).await;
    let text = events.to_string();
    assert!(text.contains(&format!("\"article_id\":\"{id}\"")), "the resolved event names the article: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_renders_an_article_safely_and_starts_one_from_a_resolved_escalated_case() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let sam = &world.tokens["sam"];
    let hostile = "# Fix\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1)) <img src=x onerror=alert(1)>";
    let (s, a) = api
        .call(
            sam,
            "POST",
            "/api/v1/articles",
            Some(json!({"title": "Hostile", "body": hostile, "audience": "L1", "status": "published"})),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    let web = Console::new(&server);
    let session = web.login("ana", PASSWORD).await;
    let page = web.get(Some(&session), &format!("/articles/{}", a["id"].as_str().unwrap())).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<h1>Fix</h1>"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "raw HTML is shown as text");
    for bad in ["<script>alert", "javascript:", "<img src=x"] {
        assert!(!page.body.contains(bad), "{bad} in {}", page.body);
    }
    let list = web.get(Some(&session), "/articles?q=fix").await;
    assert!(list.body.contains("Hostile"), "{}", list.body);
    assert_eq!(web.get(Some(&session), "/articles/new").await.status, 403, "agents do not write articles");

    // A case escalated and resolved: its page offers to turn the fix into an article, whose
    // form starts from the case.
    let case = api
        .open_case(&world.tokens["root"], json!({"subject": "Router reboots nightly", "description": "The router restarts at 2am.", "category": "network", "team": "supervisors"}))
        .await;
    let case_id = case["id"].as_str().unwrap();
    let escalate = json!({"kind": "functional", "to_team": "management", "reason": "needs a manager", "tried": "Power cycled the router"});
    let (s, e) = api.command(&world.tokens["root"], case_id, "escalate", escalate).await;
    assert_eq!(s, 200, "{e}");
    let (s, r) = api
        .command(
            &world.tokens["root"],
            case_id,
            "resolve",
            json!({"code": "firmware_updated", "note": "Updated the firmware"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    // A manager reads every case and writes articles.
    let supervisor = web.login("maria", PASSWORD).await;
    let number = case["number"].as_u64().unwrap();
    let page = web.get(Some(&supervisor), &format!("/cases/{number}")).await;
    assert!(page.body.contains(&format!("/articles/new?case={number}")), "{}", page.body);
    let form = web.get(Some(&supervisor), &format!("/articles/new?case={number}")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    for text in
        ["Router reboots nightly", "Power cycled the router", "firmware_updated", "Updated the firmware", "network"]
    {
        assert!(form.body.contains(text), "the form starts with {text:?}: {}", form.body);
    }
    let saved = web
        .post(
            Some(&supervisor),
            "/articles",
            &[
                ("csrf", &csrf_of(&form.body)),
                ("title", "Router reboots nightly"),
                ("body", "Update the firmware."),
                ("categories", "network"),
                ("resolution_codes", "firmware_updated"),
                ("audience", "L1"),
                ("status", "published"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    assert!(saved.location.as_deref().unwrap_or_default().starts_with("/articles/"), "{:?}", saved.location);
}
