//! The audit history: every directory change made over the API, the console or `ladder
//! admin` is recorded with its actor, in order, and only admins read it.

use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

fn actions(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn directory_changes_are_recorded_with_their_actor_and_only_admins_read_them() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (root, ana, sam, maria) =
        (&world.tokens["root"], &world.tokens["ana"], &world.tokens["sam"], &world.tokens["maria"]);

    // The seeding ran `ladder admin`: its teams and users are in the history as the command line.
    let (s, page) = api.call(root, "GET", "/api/v1/audit?action=team&limit=500", None).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(actions(&page), vec!["team.create"; 4]);
    assert!(
        page["items"].as_array().unwrap().iter().all(|e| e["actor_id"].is_null() && e["actor_name"] == "command line")
    );

    // Changes over the API, by several people.
    let (s, customer) = api
        .call(
            ana,
            "POST",
            "/api/v1/customers",
            Some(json!({"name": "Ada", "identities": [{"channel": "email", "value": "ada@example.com"}]})),
        )
        .await;
    assert_eq!(s, 201, "{customer}");
    let customer_id = customer["id"].as_str().unwrap();
    let (s, _) = api
        .call(sam, "PUT", &format!("/api/v1/customers/{customer_id}/status"), Some(json!({"status": "churned"})))
        .await;
    assert_eq!(s, 200);
    let (s, user) = api
        .call(
            root,
            "POST",
            "/api/v1/users",
            Some(json!({"name": "dina", "role": "agent", "teams": ["frontline"], "password": "a long password"})),
        )
        .await;
    assert_eq!(s, 201, "{user}");
    let (s, _) = api.call(root, "DELETE", "/api/v1/users/dina", None).await;
    assert_eq!(s, 200);
    let (s, _) = api.call(ana, "PUT", "/api/v1/agents/me/presence", Some(json!({"presence": "available"}))).await;
    assert_eq!(s, 200);

    let (s, page) = api.call(root, "GET", "/api/v1/audit?limit=5", None).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(
        actions(&page),
        vec!["agent.presence", "user.deactivate", "user.create", "customer.update", "customer.create"],
        "newest first"
    );
    let items = page["items"].as_array().unwrap();
    assert_eq!(items[0]["actor_name"], "ana");
    assert_eq!(items[0]["detail"]["presence"], "available");
    assert_eq!(items[1]["actor_name"], "root");
    assert_eq!(items[1]["target"], user["id"]);
    assert_eq!(items[1]["detail"]["active"], false);
    assert!(!items[2].to_string().contains("a long password"), "no password in the history: {}", items[2]);
    assert_eq!(items[3]["actor_name"], "sam");
    assert_eq!(items[3]["detail"]["status"], "churned");
    assert_eq!(items[4]["target"], customer_id);
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");

    // A supervisor changes an agent's skills: what was asked is in the detail.
    let (s, p) = api.call(sam, "PUT", "/api/v1/agents/ana/profile", Some(json!({"skills": {"refunds": 3}}))).await;
    assert_eq!(s, 200, "{p}");
    let (_, profile) = api.call(root, "GET", "/api/v1/audit?action=agent.profile", None).await;
    assert_eq!(actions(&profile), vec!["agent.profile"]);
    assert_eq!(profile["items"][0]["actor_name"], "sam");
    assert_eq!(profile["items"][0]["detail"]["skills"], json!({"refunds": 3}));

    // Filters and pages.
    let (_, by_sam) = api.call(root, "GET", "/api/v1/audit?actor=sam", None).await;
    assert_eq!(actions(&by_sam), vec!["agent.profile", "customer.update"]);
    let (_, one) = api.call(root, "GET", "/api/v1/audit?action=user.create&limit=1", None).await;
    assert_eq!(actions(&one), vec!["user.create"]);
    let cursor = one["next_cursor"].as_str().expect("more user.create entries").to_string();
    let (_, next) =
        api.call(root, "GET", &format!("/api/v1/audit?action=user.create&limit=1&cursor={cursor}"), None).await;
    assert!(next["items"][0]["seq"].as_i64().unwrap() < one["items"][0]["seq"].as_i64().unwrap(), "older: {next}");
    let (_, future) = api.call(root, "GET", "/api/v1/audit?from=2999-01-01T00:00:00Z", None).await;
    assert_eq!(future["items"], json!([]));
    assert!(future["next_cursor"].is_null());

    // Bad parameters name themselves: a 400 when they do not parse, a 422 out of range.
    for (query, status, field) in [
        ("from=yesterday", 400, "from"),
        ("limit=0", 422, "limit"),
        ("cursor=x1", 400, "cursor"),
        ("actor=nobody", 422, "actor"),
        ("cursor=a+5", 400, "cursor"),
        ("cursor=", 400, "cursor"),
        ("action=DROP%20TABLE", 400, "action"),
    ] {
        let (s, p) = api.call(root, "GET", &format!("/api/v1/audit?{query}"), None).await;
        assert_eq!((s, p["field"].as_str()), (status, Some(field)), "{query}: {p}");
    }

    // Everyone else is refused.
    for token in [ana, sam, maria] {
        let (s, p) = api.call(token, "GET", "/api/v1/audit", None).await;
        assert_eq!(s, 403, "{p}");
        assert!(p["detail"].as_str().unwrap().contains("needs the admin role"), "{p}");
    }
}

#[tokio::test]
async fn a_refused_change_leaves_no_audit_entry() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let root = &world.tokens["root"];
    let (_, before) = api.call(root, "GET", "/api/v1/audit?limit=500", None).await;
    // A duplicate team slug is refused by the store inside the write: the audit row goes too.
    let (s, p) = api
        .call(
            root,
            "POST",
            "/api/v1/teams",
            Some(json!({"slug": "frontline", "name": "Again", "level": "L1", "kind": "front_line"})),
        )
        .await;
    assert_eq!(s, 409, "{p}");
    // A supervisor may not create a team: refused before anything is written.
    let (s, _) = api
        .call(
            &world.tokens["sam"],
            "POST",
            "/api/v1/teams",
            Some(json!({"slug": "new", "name": "New", "level": "L1", "kind": "front_line"})),
        )
        .await;
    assert_eq!(s, 403);
    let (_, after) = api.call(root, "GET", "/api/v1/audit?limit=500", None).await;
    assert_eq!(before["items"], after["items"], "nothing recorded");
}
