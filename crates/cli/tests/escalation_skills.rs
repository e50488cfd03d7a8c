//! Functional escalation by skill over real HTTP: `skills` instead of `to_team` picks the
//! team whose skills cover them, preferring people available with room, and records why on
//! the `escalated` event; no team with the skill is a 422 naming it; with neither `to_team`
//! nor `skills`, the case's category (or the matrix's route) decides before refusing.

use ladder_testkit::http::Api;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

fn body(extra: Value) -> Value {
    let mut body = json!({"kind": "functional", "reason": "needs the back office", "tried": "checked the invoice"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

async fn team_id(api: &Api, token: &str, slug: &str) -> Value {
    let (s, team) = api.call(token, "GET", &format!("/api/v1/teams/{slug}"), None).await;
    assert_eq!(s, 200, "{team}");
    team["id"].clone()
}

/// The last `escalated` event's data.
async fn escalated_event(api: &Api, token: &str, id: &str) -> Value {
    let (s, events) = api.call(token, "GET", &format!("/api/v1/cases/{id}/events"), None).await;
    assert_eq!(s, 200, "{events}");
    let items = events.get("items").unwrap_or(&events).as_array().expect("events").clone();
    items.into_iter().rev().find(|e| e["type"] == "escalated").expect("an escalated event")["data"].clone()
}

async fn set_skills(api: &Api, root: &str, slug: &str, level: &str, kind: &str, skills: Value) {
    let team = json!({"slug": slug, "name": slug, "level": level, "kind": kind, "skills": skills});
    let (s, got) = api.call(root, "PUT", &format!("/api/v1/teams/{slug}"), Some(team.clone())).await;
    let (s, got) = if s == 404 { api.call(root, "POST", "/api/v1/teams", Some(team)).await } else { (s, got) };
    assert!(s == 200 || s == 201, "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skills_choose_the_team_by_presence_and_capacity_and_the_event_says_why() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, root) = (t("ana"), t("root"));
    set_skills(&api, &root, "billing", "L2", "back_office", json!(["billing", "refunds"])).await;
    set_skills(&api, &root, "refunds-desk", "L2", "back_office", json!(["refunds"])).await;
    // erin (billing) is at work and taking cases; nobody works the refunds desk.
    let (s, p) =
        api.call(&t("erin"), "PUT", "/api/v1/agents/me/presence", Some(json!({"presence": "available"}))).await;
    assert_eq!(s, 200, "{p}");

    let case = api.open_case(&ana, json!({"subject": "Refund not received"})).await;
    let id = case["id"].as_str().unwrap();
    let path = format!("/api/v1/cases/{id}/escalate");
    let (s, after) = api.call(&ana, "POST", &path, Some(body(json!({"skills": ["refunds"]})))).await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after["level"], "L2");
    assert_eq!(after["team_id"], team_id(&api, &root, "billing").await, "someone is available at billing: {after}");
    let data = escalated_event(&api, &root, id).await;
    let choice = &data["team_choice"];
    assert_eq!(choice["team"], "billing", "{data}");
    assert_eq!(choice["skills"], json!(["refunds"]));
    assert_eq!(choice["source"], "asked");
    assert!(choice["reason"].as_str().unwrap().contains("the most available"), "{choice}");
    let weighed: Vec<(&str, bool, u64)> = choice["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["team"].as_str().unwrap(), c["covers"].as_bool().unwrap(), c["score"].as_u64().unwrap()))
        .collect();
    assert_eq!(weighed[0].0, "billing");
    assert!(weighed[0].2 > 0, "{choice}");
    assert!(weighed.contains(&("refunds-desk", true, 0)), "{choice}");
    assert!(weighed.contains(&("supervisors", false, 0)), "{choice}");

    // Nobody available anywhere: a tie, which the most specialised team wins.
    let (s, _) = api.call(&t("erin"), "PUT", "/api/v1/agents/me/presence", Some(json!({"presence": "offline"}))).await;
    assert_eq!(s, 200);
    let case = api.open_case(&ana, json!({"subject": "Refund not received"})).await;
    let id = case["id"].as_str().unwrap();
    let (s, after) = api
        .call(&ana, "POST", &format!("/api/v1/cases/{id}/escalate"), Some(body(json!({"skills": ["refunds"]}))))
        .await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after["team_id"], team_id(&api, &root, "refunds-desk").await, "{after}");
    let data = escalated_event(&api, &root, id).await;
    assert!(data["team_choice"]["reason"].as_str().unwrap().contains("the most specialised"), "{data}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_team_with_the_skill_is_a_422_naming_it_and_the_case_does_not_move() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, root) = (t("ana"), t("root"));
    set_skills(&api, &root, "billing", "L2", "back_office", json!(["billing"])).await;
    let case = api.open_case(&ana, json!({"subject": "Charged twice"})).await;
    let id = case["id"].as_str().unwrap();
    let path = format!("/api/v1/cases/{id}/escalate");
    let (s, problem) = api.call(&ana, "POST", &path, Some(body(json!({"skills": ["billing", "origami"]})))).await;
    assert_eq!(s, 422, "{problem}");
    assert_eq!(problem["field"], "skills", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("offers the skill 'origami'"), "{problem}");
    let (_, unchanged) = api.call(&ana, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!((unchanged["level"].as_str(), unchanged["version"].as_u64()), (Some("L1"), case["version"].as_u64()));

    // Malformed skills name the field too.
    let (s, problem) = api.call(&ana, "POST", &path, Some(body(json!({"skills": ["Not A Handle"]})))).await;
    assert_eq!((s, problem["field"].as_str()), (422, Some("skills")), "{problem}");
    let many: Vec<String> = (0..21).map(|i| format!("s{i}")).collect();
    let (s, problem) = api.call(&ana, "POST", &path, Some(body(json!({"skills": many})))).await;
    assert_eq!((s, problem["field"].as_str()), (422, Some("skills")), "{problem}");
}

/// The finding: 79 of 600 functional escalations were refused for lack of `to_team`
/// although the case's category made the team obvious.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_team_or_skills_the_category_decides_before_refusing() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, root) = (t("ana"), t("root"));
    set_skills(&api, &root, "billing", "L2", "back_office", json!(["billing", "refunds"])).await;
    let case = api.open_case(&ana, json!({"subject": "Charged twice", "category": "billing"})).await;
    let id = case["id"].as_str().unwrap();
    let (s, after) = api.call(&ana, "POST", &format!("/api/v1/cases/{id}/escalate"), Some(body(json!({})))).await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after["team_id"], team_id(&api, &root, "billing").await, "{after}");
    let data = escalated_event(&api, &root, id).await;
    assert_eq!(
        (data["team_choice"]["source"].as_str(), data["team_choice"]["team"].as_str()),
        (Some("category"), Some("billing"))
    );

    // Nothing to go by: refused, naming to_team.
    for case in [json!({"subject": "Something odd"}), json!({"subject": "Something odd", "category": "origami"})] {
        let case = api.open_case(&ana, case).await;
        let id = case["id"].as_str().unwrap();
        let (s, problem) = api.call(&ana, "POST", &format!("/api/v1/cases/{id}/escalate"), Some(body(json!({})))).await;
        assert_eq!((s, problem["field"].as_str()), (422, Some("to_team")), "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("skills"), "says what would do: {problem}");
    }

    // Naming the team still works, and records no choice.
    let case = api.open_case(&ana, json!({"subject": "Charged twice", "category": "billing"})).await;
    let id = case["id"].as_str().unwrap();
    let (s, after) = api
        .call(&ana, "POST", &format!("/api/v1/cases/{id}/escalate"), Some(body(json!({"to_team": "billing"}))))
        .await;
    assert_eq!(s, 200, "{after}");
    assert!(escalated_event(&api, &root, id).await.get("team_choice").is_none());
}

/// Who may see who could take a case, over HTTP: the case's team and assignee (and
/// managers) get the levels above, their teams, people of other teams with presence and
/// load, and the skills; someone who only follows the case gets 403, someone who cannot
/// read it 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_targets_list_people_of_other_teams_for_who_may_escalate_only() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, erin, root) = (t("ana"), t("erin"), t("root"));
    set_skills(&api, &root, "billing", "L2", "back_office", json!(["billing", "refunds"])).await;
    let (s, _) = api.call(&erin, "PUT", "/api/v1/agents/me/presence", Some(json!({"presence": "available"}))).await;
    assert_eq!(s, 200);
    let case = api.open_case(&ana, json!({"subject": "Refund not received"})).await;
    let id = case["id"].as_str().unwrap();
    let path = format!("/api/v1/cases/{id}/escalation-targets");
    let (s, targets) = api.call(&ana, "GET", &path, None).await;
    assert_eq!(s, 200, "{targets}");
    assert_eq!(targets["levels"], json!(["L2", "L3"]));
    let slugs: Vec<&str> = targets["teams"].as_array().unwrap().iter().map(|t| t["slug"].as_str().unwrap()).collect();
    assert!(slugs.contains(&"billing") && slugs.contains(&"management") && !slugs.contains(&"frontline"), "{slugs:?}");
    let erin_row = targets["people"].as_array().unwrap().iter().find(|p| p["name"] == "erin").expect("erin is listed");
    assert_eq!((erin_row["presence"].as_str(), erin_row["team"].as_str()), (Some("available"), Some("billing")));
    assert_eq!((erin_row["open_cases"].as_u64(), erin_row["has_room"].as_bool()), (Some(0), Some(true)));
    assert!(!targets["people"].as_array().unwrap().iter().any(|p| p["name"] == "ana"), "not the case's own level");
    assert!(targets["skills"].as_array().unwrap().contains(&json!("refunds")), "{targets}");
    assert_eq!(targets["suggested_team"], "supervisors");

    // erin cannot read a front-line case: 404.
    let (s, p) = api.call(&erin, "GET", &path, None).await;
    assert_eq!(s, 404, "{p}");
    // Once ana escalated it away, she follows it read-only: she may not see who could take it.
    let (s, _) = api
        .call(&ana, "POST", &format!("/api/v1/cases/{id}/escalate"), Some(body(json!({"skills": ["refunds"]}))))
        .await;
    assert_eq!(s, 200);
    let (s, p) = api.call(&ana, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(s, 200, "ana still reads it: {p}");
    let (s, p) = api.call(&ana, "GET", &path, None).await;
    assert_eq!(s, 403, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("only who works the case"), "{p}");
    // erin, now of the case's team, may.
    let (s, p) = api.call(&erin, "GET", &path, None).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["levels"], json!(["L3"]));
}

/// The console's escalate dialog: skills to tick, people of other teams with presence and
/// load; posting ticked skills escalates to the team that offers them; a case escalated away
/// shows no dialog. The resolve form offers the case's suggested articles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dialog_offers_skills_and_people_with_presence_and_resolve_offers_the_suggested_articles() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, erin, root) = (t("ana"), t("erin"), t("root"));
    set_skills(&api, &root, "billing", "L2", "back_office", json!(["billing", "refunds"])).await;
    let (s, _) = api.call(&erin, "PUT", "/api/v1/agents/me/presence", Some(json!({"presence": "available"}))).await;
    assert_eq!(s, 200);
    let case = api.open_case(&ana, json!({"subject": "Refund not received", "category": "billing"})).await;
    let number = case["number"].as_u64().unwrap();
    let console = ladder_testkit::http::Console::new(&server);
    let session = console.login("ana", PASSWORD).await;
    let page = console.get(Some(&session), &format!("/cases/{number}")).await;
    assert_eq!(page.status, 200);
    let body = &page.body;
    let skills = &body[body.find(r#"id="esc-skills""#).expect("the skills fieldset")..];
    let skills = &skills[..skills.find("</fieldset>").unwrap()];
    assert!(skills.contains(r#"<input type="checkbox" name="skills" value="refunds">"#), "{skills}");
    let people = &body[body.find(r#"<select id="esc-user""#).expect("the people list")..];
    let people = &people[..people.find("</select>").unwrap()];
    let erin_option = &people[people.find(r#"value="erin""#).expect("erin is offered")..];
    let erin_option = &erin_option[..erin_option.find("</option>").unwrap()];
    assert!(erin_option.contains("available") && erin_option.contains("0 open"), "presence and load: {erin_option}");
    assert!(body.contains(r#"<optgroup label="L2" data-level="L2">"#), "grouped by level for the script: {people}");

    let csrf = ladder_testkit::http::csrf_of(body);
    let form = [
        ("csrf", csrf.as_str()),
        ("kind", "functional"),
        ("initiator", "agent"),
        ("to_level", ""),
        ("to_team", ""),
        ("skills", "billing"),
        ("skills", "refunds"),
        ("to_user", ""),
        ("reason", "a refund"),
        ("tried", "checked the payment log"),
    ];
    let r = console.post(Some(&session), &format!("/cases/{number}/escalate"), &form).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(ladder_testkit::http::error_flash(&r.set_cookies).is_none(), "accepted: {:?}", r.set_cookies);
    let id = case["id"].as_str().unwrap();
    let (_, after) = api.call(&root, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(after["team_id"], team_id(&api, &root, "billing").await, "{after}");
    assert_eq!(escalated_event(&api, &root, id).await["team_choice"]["skills"], json!(["billing", "refunds"]));
    // Escalated away: ana reads the case, with no escalate dialog.
    let page = console.get(Some(&session), &format!("/cases/{number}")).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(r#"id="esc-level""#), "no dialog for a follower");

    // Solved by article: the case's suggestions are offered in the resolve form.
    let article = json!({"title": "Refund a returned router", "body": "Check the returns log, then **refund**.",
        "tags": ["refund"], "categories": ["billing"], "resolution_codes": ["refund_issued"], "audience": "L2", "status": "published"});
    let (s, article) = api.call(&root, "POST", "/api/v1/articles", Some(article)).await;
    assert_eq!(s, 201, "{article}");
    let article_id = article["id"].as_str().unwrap().to_string();
    let session = console.login("erin", PASSWORD).await;
    let page = console.get(Some(&session), &format!("/cases/{number}")).await;
    let picker = &page.body[page.body.find(r#"<select id="res-article""#).expect("the article picker")..];
    let picker = &picker[..picker.find("</select>").unwrap()];
    assert!(picker.contains(&format!(r#"value="{article_id}""#)), "{picker}");
    let csrf = ladder_testkit::http::csrf_of(&page.body);
    let form = [("csrf", csrf.as_str()), ("code", "refund_issued"), ("note", ""), ("article_id", article_id.as_str())];
    let r = console.post(Some(&session), &format!("/cases/{number}/resolve"), &form).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(ladder_testkit::http::error_flash(&r.set_cookies).is_none(), "accepted: {:?}", r.set_cookies);
    let (s, events) = api.call(&root, "GET", &format!("/api/v1/cases/{id}/events"), None).await;
    assert_eq!(s, 200);
    let resolved = events.as_array().unwrap().iter().rev().find(|e| e["type"] == "resolved").expect("resolved").clone();
    assert_eq!(resolved["data"]["article_id"], json!(article_id), "{resolved}");

    // "No article" sends an empty id, which is left out.
    let case = api.open_case(&ana, json!({"subject": "Password reset"})).await;
    let number = case["number"].as_u64().unwrap();
    let session = console.login("ana", PASSWORD).await;
    let page = console.get(Some(&session), &format!("/cases/{number}")).await;
    let csrf = ladder_testkit::http::csrf_of(&page.body);
    let form = [("csrf", csrf.as_str()), ("code", "answered"), ("note", ""), ("article_id", "")];
    let r = console.post(Some(&session), &format!("/cases/{number}/resolve"), &form).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(ladder_testkit::http::error_flash(&r.set_cookies).is_none(), "accepted: {:?}", r.set_cookies);
}
