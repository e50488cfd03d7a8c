//! Every endpoint is authorised: these tests prove the denials.

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

async fn open(api: &Api, token: &str, body: serde_json::Value) -> String {
    let c = api.open_case(token, body).await;
    c["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn requests_without_valid_credentials_are_refused() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let client = reqwest::Client::new();

    let resp = client.get(server.url("/api/v1/cases")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer realm=\"ladder\"");
    let (s, _) = api.call("ldr_0000", "GET", "/api/v1/cases", None).await;
    assert_eq!(s, 401, "an unknown token");
    let resp =
        client.get(server.url("/api/v1/cases")).header("authorization", "Basic YWJjOmRlZg==").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401, "a non-bearer scheme");
    for (method, path) in [
        ("GET", "/api/v1/customers"),
        ("GET", "/api/v1/users"),
        ("GET", "/api/v1/teams"),
        ("GET", "/api/v1/tokens"),
        ("POST", "/api/v1/cases"),
    ] {
        let resp = client.request(method.parse().unwrap(), server.url(path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{method} {path} without a token");
    }

    // A revoked token stops working at once.
    let ana = &world.tokens["ana"];
    let (s, t) = api.call(ana, "POST", "/api/v1/tokens", Some(json!({"name": "laptop"}))).await;
    assert_eq!(s, 201, "{t}");
    let secret = t["token"].as_str().unwrap().to_string();
    assert_eq!(api.call(&secret, "GET", "/api/v1/cases", None).await.0, 200);
    let (s, _) = api.call(ana, "DELETE", &format!("/api/v1/tokens/{}", t["id"].as_str().unwrap()), None).await;
    assert_eq!(s, 204);
    assert_eq!(api.call(&secret, "GET", "/api/v1/cases", None).await.0, 401);
}

#[tokio::test]
async fn agents_see_only_their_teams_and_their_own_cases() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, erin, tara, sam, maria) = (
        &world.tokens["ana"],
        &world.tokens["erin"],
        &world.tokens["tara"],
        &world.tokens["sam"],
        &world.tokens["maria"],
    );

    let billing_case = open(&api, erin, json!({"subject": "Refund", "team": "billing"})).await;
    let front_case = open(&api, ana, json!({"subject": "Password reset"})).await;

    // A case outside one's scope is answered exactly like one that does not exist: the same
    // status and problem, only the id differs.
    let missing = "01890000-0000-7000-8000-000000000000";
    for (method, tail, body) in [
        ("GET", "", None),
        ("GET", "/events", None),
        ("GET", "/messages", None),
        ("POST", "/messages", Some(json!({"body": "peek"}))),
        ("POST", "/assign", Some(json!({"assignee": "me"}))),
    ] {
        let (s, hidden) = api.call(ana, method, &format!("/api/v1/cases/{billing_case}{tail}"), body.clone()).await;
        let (s2, absent) = api.call(ana, method, &format!("/api/v1/cases/{missing}{tail}"), body).await;
        assert_eq!((s, s2), (404, 404), "{method} {tail}: {hidden} / {absent}");
        let same = |p: &serde_json::Value, id: &str| p.to_string().replace(id, "ID");
        assert_eq!(same(&hidden, &billing_case), same(&absent, missing), "{method} {tail}");
    }
    assert_eq!(
        api.call(sam, "GET", &format!("/api/v1/cases/{billing_case}"), None).await.0,
        404,
        "supervisor of other teams"
    );
    assert_eq!(
        api.call(tara, "GET", &format!("/api/v1/cases/{billing_case}"), None).await.0,
        200,
        "billing supervisor"
    );
    assert_eq!(api.call(maria, "GET", &format!("/api/v1/cases/{billing_case}"), None).await.0, 200, "managers see all");

    let (_, page) = api.call(ana, "GET", "/api/v1/cases", None).await;
    let ids: Vec<&str> = page["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![front_case.as_str()], "the list is scoped too");

    // Opening a case for another team is refused to an agent.
    let (s, _) = api.call(ana, "POST", "/api/v1/cases", Some(json!({"subject": "x", "team": "billing"}))).await;
    assert_eq!(s, 403);

    // After escalating, the agent who worked the case keeps seeing it.
    api.command(ana, &front_case, "assign", json!({"assignee": "ana"})).await;
    let (s, p) = api
        .command(
            ana,
            &front_case,
            "escalate",
            json!({"kind": "functional", "to_team": "billing", "reason": "refund", "tried": "explained policy"}),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(api.call(ana, "GET", &format!("/api/v1/cases/{front_case}"), None).await.0, 200);
}

#[tokio::test]
async fn roles_limit_what_each_user_may_do() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, sam, root) = (&world.tokens["ana"], &world.tokens["sam"], &world.tokens["root"]);
    let case = open(&api, ana, json!({"subject": "Broken phone"})).await;

    let (s, p) = api.command(ana, &case, "assign", json!({"assignee": "sam"})).await;
    assert_eq!(s, 403, "an agent assigns only to themselves: {p}");
    let (s, _) = api.command(sam, &case, "assign", json!({"assignee": "ana"})).await;
    assert_eq!(s, 200, "a supervisor assigns to others");

    api.command(ana, &case, "resolve", json!({"code": "replaced"})).await;
    assert_eq!(api.command(ana, &case, "close", json!({})).await.0, 403);
    assert_eq!(api.command(sam, &case, "close", json!({})).await.0, 200);

    let (s, _) = api
        .command(ana, &case, "escalate", json!({"kind": "hierarchical", "initiator": "system", "reason": "x"}))
        .await;
    assert_eq!(s, 403, "only admins may act as the system");

    // Directory writes are for admins.
    let team = json!({"slug": "vip", "name": "VIP desk", "level": "L2", "kind": "specialist"});
    assert_eq!(api.call(ana, "POST", "/api/v1/teams", Some(team.clone())).await.0, 403);
    assert_eq!(api.call(sam, "POST", "/api/v1/teams", Some(team.clone())).await.0, 403);
    assert_eq!(api.call(root, "POST", "/api/v1/teams", Some(team)).await.0, 201);
    let user = json!({"name": "zed", "role": "admin", "password": "long enough pw"});
    assert_eq!(api.call(ana, "POST", "/api/v1/users", Some(user.clone())).await.0, 403, "no self-promotion");
    assert_eq!(api.call(root, "POST", "/api/v1/users", Some(user)).await.0, 201);
    assert_eq!(api.call(ana, "DELETE", "/api/v1/users/sam", None).await.0, 403);
    assert_eq!(
        api.call(ana, "POST", "/api/v1/users/sam/password", Some(json!({"password": "hijacked!!"}))).await.0,
        403
    );
    let own = json!({"password": "a new password", "current_password": PASSWORD});
    assert_eq!(api.call(ana, "POST", "/api/v1/users/me/password", Some(own)).await.0, 200);

    // Tokens: an agent cannot mint for others, see others' or revoke them.
    assert_eq!(api.call(ana, "POST", "/api/v1/tokens", Some(json!({"name": "x", "user": "sam"}))).await.0, 403);
    let (_, sam_tokens) = api.call(sam, "GET", "/api/v1/tokens", None).await;
    let sam_token_id = sam_tokens[0]["id"].as_str().unwrap();
    assert_eq!(api.call(ana, "DELETE", &format!("/api/v1/tokens/{sam_token_id}"), None).await.0, 403);
    let (_, ana_tokens) = api.call(ana, "GET", "/api/v1/tokens", None).await;
    assert!(
        ana_tokens.as_array().unwrap().iter().all(|t| t["id"] != sam_token_id),
        "agents list only their own tokens"
    );

    // Customers: agents create and edit, only admins delete.
    let (s, c) = api
        .call(
            ana,
            "POST",
            "/api/v1/customers",
            Some(json!({"name": "Kim Lee", "identities": [{"channel": "email", "value": "kim@example.com"}]})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let cid = c["id"].as_str().unwrap();
    assert_eq!(api.call(ana, "DELETE", &format!("/api/v1/customers/{cid}"), None).await.0, 403);
    assert_eq!(api.call(root, "DELETE", &format!("/api/v1/customers/{cid}"), None).await.0, 204);
}

#[tokio::test]
async fn deactivated_users_lose_access_and_login_checks_passwords() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let client = reqwest::Client::new();

    let login = |name: &str, password: &str| {
        client.post(server.url("/api/v1/auth/login")).json(&json!({"name": name, "password": password})).send()
    };
    assert_eq!(login("ana", "wrong password").await.unwrap().status().as_u16(), 401);
    assert_eq!(login("nobody", "correct horse battery").await.unwrap().status().as_u16(), 401);
    let ok: serde_json::Value = login("ana", "correct horse battery").await.unwrap().json().await.unwrap();
    let session = ok["token"].as_str().unwrap().to_string();
    assert_eq!(api.call(&session, "GET", "/api/v1/users/me", None).await.1["name"], "ana");

    let (s, _) = api.call(&world.tokens["root"], "DELETE", "/api/v1/users/ana", None).await;
    assert_eq!(s, 200);
    assert_eq!(api.call(&session, "GET", "/api/v1/cases", None).await.0, 401);
    assert_eq!(api.call(&world.tokens["ana"], "GET", "/api/v1/cases", None).await.0, 401);
    assert_eq!(login("ana", "correct horse battery").await.unwrap().status().as_u16(), 401);
}
