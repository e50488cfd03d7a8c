//! Scope over HTTP: customers, satisfaction scores and agent profiles reach only as far as
//! the caller's cases and teams; what is outside is answered as if it did not exist.

use ladder_testkit::http::Api;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

async fn new_customer(api: &Api, token: &str, name: &str) -> String {
    let (s, c) = api.call(token, "POST", "/api/v1/customers", Some(json!({"name": name}))).await;
    assert_eq!(s, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array().expect("a list").iter().map(|c| c["name"].as_str().unwrap()).collect()
}

/// The finding: an agent could change (even churn) any customer. Now an agent reaches the
/// customers of the cases they may see and customers with no case yet; another team's
/// customer is a 404 exactly like a customer that does not exist, and is not listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_reach_only_the_customers_of_their_cases() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, erin, maria) = (t("ana"), t("erin"), t("maria"));

    let billing_customer = new_customer(&api, &erin, "Bea Billing").await;
    api.open_case(&erin, json!({"subject": "Refund", "team": "billing", "customer_id": billing_customer})).await;
    let own_customer = new_customer(&api, &ana, "Fran Front").await;
    api.open_case(&ana, json!({"subject": "Password", "customer_id": own_customer})).await;
    let fresh = new_customer(&api, &erin, "Nina New").await;

    // Reading: ana sees her case's customer and the fresh one; the billing customer is
    // answered like a missing one.
    let missing = "01890000-0000-7000-8000-000000000000";
    let get = |id: &str| format!("/api/v1/customers/{id}");
    assert_eq!(api.call(&ana, "GET", &get(&own_customer), None).await.0, 200);
    assert_eq!(api.call(&ana, "GET", &get(&fresh), None).await.0, 200, "a customer with no case yet");
    let (s, hidden) = api.call(&ana, "GET", &get(&billing_customer), None).await;
    let (s2, absent) = api.call(&ana, "GET", &get(missing), None).await;
    assert_eq!((s, s2), (404, 404), "{hidden} / {absent}");
    assert_eq!(hidden.to_string().replace(&billing_customer, "ID"), absent.to_string().replace(missing, "ID"));

    // Changing: the same rule, the same answer.
    for (method, path, body) in [
        ("PUT", format!("/api/v1/customers/{billing_customer}/status"), json!({"status": "churned"})),
        ("PUT", format!("/api/v1/customers/{billing_customer}"), json!({"name": "Bea B."})),
    ] {
        let (s, p) = api.call(&ana, method, &path, Some(body)).await;
        assert_eq!(s, 404, "{method} {path}: {p}");
    }
    let (_, c) = api.call(&erin, "GET", &get(&billing_customer), None).await;
    assert_eq!((c["name"].as_str(), c["status"].as_str()), (Some("Bea Billing"), Some("active")), "unchanged: {c}");
    let (s, c) = api
        .call(&ana, "PUT", &format!("/api/v1/customers/{own_customer}/status"), Some(json!({"status": "vip"})))
        .await;
    assert_eq!(s, 422, "ana may change her own case's customer (here with a bad status): {c}");

    // Listing and searching are cut to the same customers.
    let (s, list) = api.call(&ana, "GET", "/api/v1/customers", None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(names(&list), ["Fran Front", "Nina New"]);
    let (_, list) = api.call(&ana, "GET", "/api/v1/customers?name=Bea", None).await;
    assert_eq!(names(&list), Vec::<&str>::new());
    let (_, list) = api.call(&maria, "GET", "/api/v1/customers", None).await;
    assert_eq!(names(&list), ["Bea Billing", "Fran Front", "Nina New"], "managers reach every customer");
    let (s, _) = api
        .call(
            &maria,
            "PUT",
            &format!("/api/v1/customers/{billing_customer}/status"),
            Some(json!({"status": "churned"})),
        )
        .await;
    assert_eq!(s, 200);
}

/// The finding: the CSAT of a case could be overwritten by an agent after the case moved to
/// another team. Now only those the case belongs to at the time record it, once per
/// resolution.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn satisfaction_is_recorded_by_the_cases_team_once_per_resolution() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, erin) = (t("ana"), t("erin"));
    let case = api.open_case(&ana, json!({"subject": "Charged twice"})).await;
    let id = case["id"].as_str().unwrap();
    api.post_ok(&ana, &format!("/api/v1/cases/{id}/assign"), json!({"assignee": "me"})).await;
    api.post_ok(
        &ana,
        &format!("/api/v1/cases/{id}/escalate"),
        json!({"kind": "functional", "to_team": "billing", "reason": "refund", "tried": "checked the invoice"}),
    )
    .await;
    api.post_ok(&erin, &format!("/api/v1/cases/{id}/resolve"), json!({"code": "refunded"})).await;

    let csat = format!("/api/v1/cases/{id}/csat");
    let (s, p) = api.call(&ana, "POST", &csat, Some(json!({"score": 1}))).await;
    assert_eq!(s, 403, "ana worked the case but it moved on to billing: {p}");
    let c = api.post_ok(&erin, &csat, json!({"score": 5})).await;
    assert_eq!(c["csat"]["score"], 5, "{c}");
    let (s, p) = api.call(&erin, "POST", &csat, Some(json!({"score": 2}))).await;
    assert_eq!(s, 409, "once per resolution: {p}");

    // Reopened and resolved again: a new resolution takes a new score, recorded in the history.
    api.post_ok(&erin, &format!("/api/v1/cases/{id}/reopen"), json!({"reason": "charged again"})).await;
    let (s, p) = api.call(&erin, "POST", &csat, Some(json!({"score": 2}))).await;
    assert_eq!(s, 409, "not while the case is open again: {p}");
    api.post_ok(&erin, &format!("/api/v1/cases/{id}/resolve"), json!({"code": "refunded"})).await;
    let c = api.post_ok(&erin, &csat, json!({"score": 3})).await;
    assert_eq!(c["csat"]["score"], 3, "{c}");
    let (_, events) = api.call(&erin, "GET", &format!("/api/v1/cases/{id}/events"), None).await;
    let scores: Vec<u64> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "csat_recorded")
        .map(|e| e["data"]["score"].as_u64().unwrap())
        .collect();
    assert_eq!(scores, [5, 3]);
}

/// The finding: a supervisor could edit a peer supervisor's profile. A supervisor manages
/// the agents of their teams, not other supervisors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_edits_the_agents_of_their_teams_only() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (sam, root, maria) = (t("sam"), t("root"), t("maria"));
    let sue =
        json!({"name": "sue", "role": "supervisor", "teams": ["frontline"], "password": "a long enough password"});
    let (s, p) = api.call(&root, "POST", "/api/v1/users", Some(sue)).await;
    assert_eq!(s, 201, "{p}");

    let skills = json!({"skills": {"billing": 3}});
    let (s, p) = api.call(&sam, "PUT", "/api/v1/agents/ana/profile", Some(skills.clone())).await;
    assert_eq!(s, 200, "an agent of sam's team: {p}");
    let (s, p) = api.call(&sam, "PUT", "/api/v1/agents/sue/profile", Some(skills.clone())).await;
    assert_eq!(s, 403, "a peer supervisor of the same team: {p}");
    let (s, p) = api.call(&sam, "PUT", "/api/v1/agents/sue/presence", Some(json!({"presence": "away"}))).await;
    assert_eq!(s, 403, "nor her presence: {p}");
    let (s, p) = api.call(&maria, "PUT", "/api/v1/agents/sue/profile", Some(skills)).await;
    assert_eq!(s, 200, "a manager may: {p}");
}

/// The finding: `custom_fields` keys on case open were not validated. The matrix declares
/// them with types; an undeclared key or a value of the wrong type is a 422 naming the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_fields_are_declared_in_the_matrix_with_types() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, maria) = (t("ana"), t("maria"));
    let open = |fields: Value| {
        let body = json!({"subject": "Order missing", "custom_fields": fields});
        async { api.call(&ana, "POST", "/api/v1/cases", Some(body)).await }
    };

    // No matrix in force declares any field yet.
    let (s, p) = open(json!({"order_id": "A-1"})).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("custom_fields.order_id")), "{p}");

    let matrix = [
        ladder_testkit::matrix::SEEDED_LEVELS,
        "\n[custom_fields]\norder_id = \"string\"\nrefund = \"number\"\nunits = \"integer\"\nvip = \"bool\"\ndue = \"date\"\n",
    ]
    .concat();
    api.activate_matrix(&maria, &matrix).await;
    for (fields, key, why) in [
        (json!({"ordr_id": "A-1"}), "custom_fields.ordr_id", "is not declared"),
        (json!({"refund": "lots"}), "custom_fields.refund", "must be a number"),
        (json!({"units": 2.5}), "custom_fields.units", "must be an integer"),
        (json!({"vip": "yes"}), "custom_fields.vip", "must be a bool"),
        (json!({"due": "31/12/2026"}), "custom_fields.due", "must be a date"),
        (json!({"order_id": "x".repeat(2_001)}), "custom_fields.order_id", "longer than 2000"),
    ] {
        let (s, p) = open(fields.clone()).await;
        assert_eq!((s, p["field"].as_str()), (422, Some(key)), "{fields}: {p}");
        assert!(p["detail"].as_str().unwrap().contains(why), "{fields}: {p}");
    }
    let fields = json!({"order_id": "A-1", "refund": 12.5, "units": 2, "vip": true, "due": "2026-12-31"});
    let (s, case) = open(fields.clone()).await;
    assert_eq!(s, 201, "{case}");
    assert_eq!(case["custom_fields"], fields);

    // A change checks the same way; `null` removes a declared field.
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    let (s, p) = api.call(&ana, "PATCH", &path, Some(json!({"custom_fields": {"units": "two"}}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("custom_fields.units")), "{p}");
    let (s, c) = api.call(&ana, "PATCH", &path, Some(json!({"custom_fields": {"units": null, "vip": false}}))).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["custom_fields"], json!({"order_id": "A-1", "refund": 12.5, "vip": false, "due": "2026-12-31"}));
}
