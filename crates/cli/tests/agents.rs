//! `/api/v1/agents` over HTTP: presence, profiles, who may change what and see whom, and
//! loads counted from assigned cases.

use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

fn names(list: &Value) -> Vec<&str> {
    list.as_array().expect("a list").iter().map(|a| a["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn an_agent_sets_their_own_presence_and_presence_since_moves_only_on_change() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let ana = &world.tokens["ana"];

    let (s, a) = api.call(ana, "GET", "/api/v1/agents/me", None).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!((a["name"].as_str(), a["presence"].as_str()), (Some("ana"), Some("offline")));
    assert_eq!(a["capacity"], json!({"phone": 1, "email": 10, "chat": 3, "sms": 3, "social": 3, "web": 10, "api": 10}));
    assert_eq!(a["load"], json!({"phone": 0, "email": 0, "chat": 0, "sms": 0, "social": 0, "web": 0, "api": 0}));
    assert_eq!(a["languages"], json!([]));
    assert_eq!(a["role"], "agent");

    let (s, a) = api.call(ana, "PUT", "/api/v1/agents/me/presence", Some(json!({"presence": "available"}))).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["presence"], "available");
    let since = a["presence_since"].clone();

    let (s, again) = api.call(ana, "PUT", "/api/v1/agents/ana/presence", Some(json!({"presence": "available"}))).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["presence_since"], since, "the same presence keeps its start");

    let (_, away) = api.call(ana, "PUT", "/api/v1/agents/me/presence", Some(json!({"presence": "away"}))).await;
    assert_eq!(away["presence"], "away");
    assert_ne!(away["presence_since"], since);

    let (_, read) = api.call(ana, "GET", "/api/v1/agents/ana", None).await;
    assert_eq!(read["presence"], "away");
}

#[tokio::test]
async fn a_supervisor_of_the_agents_team_changes_their_profile() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, sam, maria) = (&world.tokens["ana"], &world.tokens["sam"], &world.tokens["maria"]);

    let body =
        json!({"skills": {"billing": 4, "returns": 2}, "languages": ["en", "es"], "capacity": {"chat": 5, "phone": 0}});
    let (s, a) = api.call(sam, "PUT", "/api/v1/agents/ana/profile", Some(body)).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["skills"], json!({"billing": 4, "returns": 2}));
    assert_eq!(a["languages"], json!(["en", "es"]));
    assert_eq!(a["capacity"]["chat"], 5);
    assert_eq!(a["capacity"]["phone"], 0);
    assert_eq!(a["capacity"]["email"], 10, "channels not named keep their capacity");
    assert_eq!(a["presence"], "offline", "a profile change keeps the presence");

    // Fields left out are kept.
    let (s, a) = api.call(sam, "PUT", "/api/v1/agents/ana/profile", Some(json!({"languages": ["pt-BR"]}))).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["skills"], json!({"billing": 4, "returns": 2}));
    assert_eq!(a["languages"], json!(["pt-BR"]));
    assert_eq!(a["capacity"]["chat"], 5);

    // The agent sees the change; a manager may change anyone's profile and presence.
    let (_, mine) = api.call(ana, "GET", "/api/v1/agents/me", None).await;
    assert_eq!(mine["languages"], json!(["pt-BR"]));
    let (s, a) = api.call(maria, "PUT", "/api/v1/agents/erin/profile", Some(json!({"skills": {"refunds": 5}}))).await;
    assert_eq!((s, &a["skills"]), (200, &json!({"refunds": 5})), "{a}");
    let (s, a) = api.call(sam, "PUT", "/api/v1/agents/ana/presence", Some(json!({"presence": "busy"}))).await;
    assert_eq!((s, a["presence"].as_str()), (200, Some("busy")), "{a}");
}

#[tokio::test]
async fn changes_outside_ones_authority_are_refused() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, erin, sam, tara) =
        (&world.tokens["ana"], &world.tokens["erin"], &world.tokens["sam"], &world.tokens["tara"]);

    // An agent may not raise their own capacity or change their skills.
    let (s, p) = api.call(ana, "PUT", "/api/v1/agents/me/profile", Some(json!({"capacity": {"chat": 50}}))).await;
    assert_eq!(s, 403, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("your own"), "{p}");
    let (s, _) = api.call(ana, "PUT", "/api/v1/agents/ana/profile", Some(json!({"skills": {"billing": 5}}))).await;
    assert_eq!(s, 403);

    // An agent may not set another agent's presence, even in their own team's view.
    let (s, p) = api.call(ana, "PUT", "/api/v1/agents/erin/presence", Some(json!({"presence": "offline"}))).await;
    assert_eq!(s, 403, "{p}");
    let (s, _) = api.call(erin, "PUT", "/api/v1/agents/ana/presence", Some(json!({"presence": "available"}))).await;
    assert_eq!(s, 403);

    // A supervisor of another team may change neither.
    let (s, p) = api.call(tara, "PUT", "/api/v1/agents/ana/profile", Some(json!({"skills": {"billing": 2}}))).await;
    assert_eq!(s, 403, "{p}");
    let (s, _) = api.call(tara, "PUT", "/api/v1/agents/ana/presence", Some(json!({"presence": "available"}))).await;
    assert_eq!(s, 403);
    // Nor may a supervisor change a manager's.
    let (s, _) = api.call(sam, "PUT", "/api/v1/agents/maria/presence", Some(json!({"presence": "away"}))).await;
    assert_eq!(s, 403);

    // Nothing changed.
    let (_, a) = api.call(ana, "GET", "/api/v1/agents/me", None).await;
    assert_eq!(
        (a["presence"].as_str(), &a["skills"], &a["capacity"]["chat"]),
        (Some("offline"), &json!({}), &json!(3))
    );

    // Unknown users are 404.
    let (s, _) = api.call(sam, "PUT", "/api/v1/agents/nobody/presence", Some(json!({"presence": "away"}))).await;
    assert_eq!(s, 404);
}

/// A user's skills seed their agent profile, so a skill that is no handle is refused when the
/// user is saved: accepted, it made every later presence change of theirs a 422.
#[tokio::test]
async fn a_user_whose_skills_are_not_handles_is_refused_so_their_presence_can_change() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let root = &world.tokens["root"];
    for (skills, field) in [(json!([""]), "skills[0]"), (json!(["billing", "Billing Team"]), "skills[1]")] {
        let body = json!({"name": "zed", "role": "agent", "password": "correct horse battery", "skills": skills});
        let (s, p) = api.call(root, "POST", "/api/v1/users", Some(body)).await;
        assert_eq!((s, p["field"].as_str()), (422, Some(field)), "{p}");
    }
    let body = json!({"name": "zed", "role": "agent", "password": "correct horse battery", "skills": ["billing"]});
    let (s, p) = api.call(root, "POST", "/api/v1/users", Some(body)).await;
    assert_eq!(s, 201, "{p}");
    let (s, a) = api.call(root, "PUT", "/api/v1/agents/zed/presence", Some(json!({"presence": "offline"}))).await;
    assert_eq!((s, &a["skills"]), (200, &json!({"billing": 3})), "{a}");
}

#[tokio::test]
async fn invalid_values_are_refused_naming_the_field() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, sam) = (&world.tokens["ana"], &world.tokens["sam"]);

    let cases: &[(Value, &str)] = &[
        (json!({"skills": {"billing": 9}}), "skills.billing"),
        (json!({"skills": {"billing": 0}}), "skills.billing"),
        (json!({"skills": {"billing": 300}}), "skills.billing"),
        (json!({"skills": {"Billing Team": 3}}), "skills"),
        (json!({"languages": ["english"]}), "languages[0]"),
        (json!({"capacity": {"chat": 101}}), "capacity.chat"),
        (json!({"capacity": {"chat": -1}}), "capacity.chat"),
        (json!({"capacity": {"fax": 1}}), "capacity.fax"),
        (json!({"skill": {"billing": 3}}), "skill"),
    ];
    for (body, field) in cases {
        let (s, p) = api.call(sam, "PUT", "/api/v1/agents/ana/profile", Some(body.clone())).await;
        assert_eq!(s, 422, "{body} → {p}");
        assert_eq!(p["type"], "/problems/validation", "{p}");
        assert_eq!(p["field"].as_str(), Some(*field), "{body} → {p}");
    }
    let (s, p) = api.call(sam, "PUT", "/api/v1/agents/ana/profile", Some(json!({"skills": {"billing": 9}}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("skills.billing")), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("1 (basics) to 5 (expert)"), "{p}");

    let (s, p) = api.call(ana, "PUT", "/api/v1/agents/me/presence", Some(json!({"presence": "dancing"}))).await;
    assert!(s == 400 || s == 422, "{p}");
    assert_eq!(p["field"], "presence", "{p}");
    assert!(p["detail"].as_str().unwrap().contains("available"), "lists the valid values: {p}");
    let (s, p) = api.call(ana, "PUT", "/api/v1/agents/me/presence", Some(json!({}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("presence")), "{p}");

    let (s, p) = api.call(ana, "GET", "/api/v1/agents?presence=dancing", None).await;
    assert_eq!((s, p["field"].as_str()), (400, Some("presence")), "{p}");

    // Nothing was stored.
    let (_, a) = api.call(ana, "GET", "/api/v1/agents/me", None).await;
    assert_eq!((a["presence"].as_str(), &a["skills"]), (Some("offline"), &json!({})));
}

#[tokio::test]
async fn each_role_sees_the_agents_of_its_teams_and_managers_see_all() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let (ana, erin, sam, maria) =
        (&world.tokens["ana"], &world.tokens["erin"], &world.tokens["sam"], &world.tokens["maria"]);

    let (s, list) = api.call(ana, "GET", "/api/v1/agents", None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(names(&list), ["ana", "sam"], "frontline");
    let (_, list) = api.call(erin, "GET", "/api/v1/agents", None).await;
    assert_eq!(names(&list), ["erin", "tara"], "billing");
    let (_, list) = api.call(sam, "GET", "/api/v1/agents", None).await;
    assert_eq!(names(&list), ["ana", "sam"], "supervisors and frontline");
    let (_, list) = api.call(maria, "GET", "/api/v1/agents", None).await;
    assert_eq!(names(&list), ["ana", "erin", "maria", "root", "sam", "tara"]);
    let (_, list) = api.call(&world.tokens["root"], "GET", "/api/v1/agents", None).await;
    assert_eq!(names(&list).len(), 6, "an admin in no team sees everyone");

    let (s, list) = api.call(maria, "GET", "/api/v1/agents?team=billing", None).await;
    assert_eq!((s, names(&list)), (200, vec!["erin", "tara"]));
    let (s, p) = api.call(ana, "GET", "/api/v1/agents?team=billing", None).await;
    assert_eq!(s, 403, "{p}");
    let (s, p) = api.call(ana, "GET", "/api/v1/agents?team=nope", None).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("team")), "{p}");

    assert_eq!(api.call(ana, "GET", "/api/v1/agents/erin", None).await.0, 403);
    assert_eq!(api.call(ana, "GET", "/api/v1/agents/sam", None).await.0, 200);
    assert_eq!(api.call(maria, "GET", "/api/v1/agents/erin", None).await.0, 200);
    assert_eq!(api.call(maria, "GET", "/api/v1/agents/nobody", None).await.0, 404);

    // Filter by presence.
    api.call(ana, "PUT", "/api/v1/agents/me/presence", Some(json!({"presence": "available"}))).await;
    let (_, list) = api.call(sam, "GET", "/api/v1/agents?presence=available", None).await;
    assert_eq!(names(&list), ["ana"]);

    // Without a token: 401.
    let resp = reqwest::get(server.url("/api/v1/agents")).await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn load_counts_the_agents_active_assigned_cases_per_channel() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, sam) = (&world.tokens["ana"], &world.tokens["sam"]);

    let mut ids = Vec::new();
    for channel in ["chat", "chat", "email"] {
        let c = api.open_case(ana, json!({"subject": "Help", "channel": channel})).await;
        let id = c["id"].as_str().unwrap().to_string();
        api.post_ok(ana, &format!("/api/v1/cases/{id}/assign"), json!({"assignee": "me"})).await;
        ids.push(id);
    }
    let (_, a) = api.call(ana, "GET", "/api/v1/agents/me", None).await;
    assert_eq!(
        (&a["load"]["chat"], &a["load"]["email"], &a["load"]["phone"]),
        (&json!(2), &json!(1), &json!(0)),
        "{a}"
    );

    // A resolved case no longer counts; the list shows the same load.
    api.post_ok(ana, &format!("/api/v1/cases/{}/resolve", ids[2]), json!({"code": "fixed"})).await;
    let (_, list) = api.call(sam, "GET", "/api/v1/agents?team=frontline", None).await;
    let ana_row = list.as_array().unwrap().iter().find(|a| a["name"] == "ana").expect("ana is listed");
    assert_eq!((&ana_row["load"]["chat"], &ana_row["load"]["email"]), (&json!(2), &json!(0)), "{ana_row}");
    let sam_row = list.as_array().unwrap().iter().find(|a| a["name"] == "sam").expect("sam is listed");
    assert_eq!(sam_row["load"]["chat"], 0);
}

#[tokio::test]
async fn the_openapi_document_describes_the_agent_endpoints() {
    let Running { dir: _dir, world: _world, server, api: _api } = Running::start(LADDER);
    let doc: Value = reqwest::get(server.url("/openapi.json")).await.unwrap().json().await.unwrap();
    for path in
        ["/api/v1/agents", "/api/v1/agents/{user}", "/api/v1/agents/{user}/profile", "/api/v1/agents/{user}/presence"]
    {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["AgentDto"].is_object());
    assert!(doc["tags"].as_array().unwrap().iter().any(|t| t["name"] == "agents"));
}
