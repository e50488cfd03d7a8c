//! Actions with a value and approvals over HTTP: authority limits from the matrix in force,
//! requests routed to the lowest role with enough authority, the approval inbox, decisions,
//! refusals, the case history and the approval's own SLA clock.

use ladder_testkit::matrix::{CREDIT_LIMITS, SEEDED_LEVELS};
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

/// The seeded ladder, with credit limits, a higher one for ana, and two hours to decide.
fn matrix() -> String {
    [SEEDED_LEVELS, CREDIT_LIMITS, "users = { ana = 100 }\napprove_within = \"2h\"\n"].concat()
}

fn kinds(events: &Value) -> Vec<String> {
    events.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authority_limits_and_approvals() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, sam, tara, maria, erin) = (t("ana"), t("sam"), t("tara"), t("maria"), t("erin"));

    let case = api.open_case(&ana, json!({"subject": "Billed twice"})).await;
    let id = case["id"].as_str().unwrap().to_string();
    let actions = format!("/api/v1/cases/{id}/actions");
    let approval = |n: u32| format!("/api/v1/cases/{id}/approvals/{n}");

    // Without a matrix in force nobody has any authority.
    let (s, p) = api.call(&ana, "POST", &actions, Some(json!({"action": "credit", "amount": 5}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("amount")), "{p}");
    api.activate_matrix(&maria, &matrix()).await;

    // Ana's own override (100): exactly at it applies at once.
    let c = api.post_ok(&ana, &actions, json!({"action": "credit", "amount": 100, "note": "sorry"})).await;
    assert_eq!(c["applied_actions"][0]["amount"], 100.0, "{c}");
    assert_eq!(c["applied_actions"][0]["approval"], Value::Null, "{c}");
    assert_eq!(c["approvals"], json!([]), "{c}");

    // One cent over: an approval request to a supervisor, with its own clock.
    let c = api.post_ok(&ana, &actions, json!({"action": "credit", "amount": 100.01})).await;
    let a = &c["approvals"][0];
    assert_eq!(
        (a["approval"].as_u64(), a["state"].as_str(), a["approver_role"].as_str()),
        (Some(0), Some("pending"), Some("supervisor")),
        "{c}"
    );
    assert_eq!(c["applied_actions"].as_array().unwrap().len(), 1, "{c}");
    let clock = c["clocks"].as_array().unwrap().iter().find(|k| k["kind"] == "approval").expect("approval clock");
    assert_eq!((clock["state"].as_str(), clock["target"].as_str()), (Some("running"), Some("PT2H")), "{clock}");

    // Malformed requests and decisions name the field.
    let (s, p) = api.call(&ana, "POST", &actions, Some(json!({"action": "credit", "amount": 0}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("amount")), "{p}");
    let (s, p) = api.call(&ana, "POST", &actions, Some(json!({"action": "credit", "amount": 6000}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("amount")), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("the highest limit is 5000"), "{p}");
    let (s, p) = api.call(&sam, "POST", &approval(0), Some(json!({"decision": "counter"}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("amount")), "{p}");
    let (s, p) = api.call(&sam, "POST", &approval(0), Some(json!({"decision": "deny"}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("comment")), "{p}");
    let (s, p) = api.call(&sam, "POST", &approval(9), Some(json!({"decision": "approve"}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("approval")), "{p}");

    // The inbox: sam (supervisor of the case's team) sees it; tara (supervisor of billing)
    // and agents do not.
    let (s, inbox) = api.call(&sam, "GET", "/api/v1/approvals", None).await;
    assert_eq!(s, 200, "{inbox}");
    assert_eq!(inbox.as_array().unwrap().len(), 1, "{inbox}");
    assert_eq!((inbox[0]["case_id"].as_str(), inbox[0]["approval"].as_u64()), (Some(id.as_str()), Some(0)), "{inbox}");
    assert_eq!(inbox[0]["amount"], 100.01, "{inbox}");
    let (_, inbox) = api.call(&tara, "GET", "/api/v1/approvals", None).await;
    assert_eq!(inbox, json!([]));
    let (_, inbox) = api.call(&ana, "GET", "/api/v1/approvals", None).await;
    assert_eq!(inbox, json!([]));
    let (_, inbox) = api.call(&maria, "GET", "/api/v1/approvals", None).await;
    assert_eq!(inbox.as_array().unwrap().len(), 1, "{inbox}");

    // Denials: a supervisor and an agent of another team (the case is outside their scope,
    // so it is answered as one that does not exist), the requester herself.
    for (who, status) in [(&tara, 404), (&erin, 404), (&ana, 403)] {
        let (s, p) = api.call(who, "POST", &approval(0), Some(json!({"decision": "approve"}))).await;
        assert_eq!(s, status, "{p}");
    }

    // Sam approves: applied with the approval's number; the clock is met.
    let c = api.post_ok(&sam, &approval(0), json!({"decision": "approve", "comment": "ok"})).await;
    assert_eq!(
        (c["approvals"][0]["state"].as_str(), c["approvals"][0]["final_amount"].as_f64()),
        (Some("approved"), Some(100.01)),
        "{c}"
    );
    assert_eq!(
        (c["applied_actions"][1]["amount"].as_f64(), c["applied_actions"][1]["approval"].as_u64()),
        (Some(100.01), Some(0)),
        "{c}"
    );
    let clock = c["clocks"].as_array().unwrap().iter().find(|k| k["kind"] == "approval").unwrap();
    assert_eq!(clock["state"], "met", "{clock}");
    let (s, p) = api.call(&maria, "POST", &approval(0), Some(json!({"decision": "approve"}))).await;
    assert_eq!(s, 409, "{p}");
    let (_, inbox) = api.call(&sam, "GET", "/api/v1/approvals", None).await;
    assert_eq!(inbox, json!([]));

    // The case history has it all.
    let (s, history) = api.call(&ana, "GET", &format!("/api/v1/cases/{id}/events"), None).await;
    assert_eq!(s, 200, "{history}");
    let k = kinds(&history);
    let pos = |kind: &str| k.iter().position(|x| x == kind).unwrap_or_else(|| panic!("no {kind} in {k:?}"));
    assert!(pos("action_applied") < pos("approval_requested"), "{k:?}");
    assert!(pos("approval_requested") < pos("approval_decided"), "{k:?}");
    assert_eq!(k.iter().filter(|x| *x == "action_applied").count(), 2, "{k:?}");
    assert_eq!(k.last().map(String::as_str), Some("clock_met"), "{k:?}");

    // 600 needs a manager: sam may not decide it, and it is not in his inbox.
    let (s, c) = api.call(&ana, "POST", &actions, Some(json!({"action": "credit", "amount": 600}))).await;
    assert_eq!((s, c["approvals"][1]["approver_role"].as_str()), (200, Some("manager")), "{c}");
    let (s, p) = api.call(&sam, "POST", &approval(1), Some(json!({"decision": "approve"}))).await;
    assert_eq!(s, 403, "{p}");
    let (_, inbox) = api.call(&sam, "GET", "/api/v1/approvals", None).await;
    assert_eq!(inbox, json!([]));
    let (_, inbox) = api.call(&maria, "GET", "/api/v1/approvals", None).await;
    assert_eq!(inbox[0]["approval"].as_u64(), Some(1), "{inbox}");

    // Maria counters with 400.
    let (s, p) = api.call(&maria, "POST", &approval(1), Some(json!({"decision": "counter", "amount": 600}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("amount")), "{p}");
    let (s, c) = api
        .call(&maria, "POST", &approval(1), Some(json!({"decision": "counter", "amount": 400, "comment": "partial"})))
        .await;
    assert_eq!(s, 200, "{c}");
    let a = &c["approvals"][1];
    assert_eq!(
        (a["state"].as_str(), a["final_amount"].as_f64(), a["comment"].as_str()),
        (Some("countered"), Some(400.0), Some("partial")),
        "{c}"
    );
    assert_eq!(c["applied_actions"][2]["amount"], 400.0, "{c}");
    let approval_clocks: Vec<&Value> =
        c["clocks"].as_array().unwrap().iter().filter(|k| k["kind"] == "approval").collect();
    assert_eq!(approval_clocks.len(), 2, "{c}");
    assert!(approval_clocks.iter().all(|k| k["state"] == "met"), "{c}");
}

/// The finding: at an agent limit of 50, five credits of 50 on the same case all passed
/// without approval. Grants add up on the case; the one that crosses the limit goes to a
/// supervisor, whose inbox says what it adds up with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_grants_add_up_against_the_limit() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, sam, maria) = (t("ana"), t("sam"), t("maria"));
    api.activate_matrix(&maria, &[SEEDED_LEVELS, CREDIT_LIMITS].concat()).await;
    let case = api.open_case(&ana, json!({"subject": "Billed five times"})).await;
    let number = case["number"].as_u64().unwrap();
    let actions = format!("/api/v1/cases/{}/actions", case["id"].as_str().unwrap());

    let mut last = Value::Null;
    for _ in 0..5 {
        last = api.post_ok(&ana, &actions, json!({"action": "credit", "amount": 50})).await;
    }
    let applied = last["applied_actions"].as_array().unwrap();
    assert_eq!(applied.len(), 1, "only the first 50 fits ana's limit of 50: {last}");
    let approvals = last["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 4, "{last}");
    for a in approvals {
        assert_eq!((a["approver_role"].as_str(), a["window_total"].as_f64()), (Some("supervisor"), Some(100.0)), "{a}");
        assert_eq!(a["earlier"], json!([{"case": number, "amount": 50.0, "at": applied[0]["at"]}]), "{a}");
        let reason = a["reason"].as_str().unwrap();
        assert!(reason.contains(&format!("50 on case {number}")), "the reason names the earlier amount: {reason}");
    }
    let (s, inbox) = api.call(&sam, "GET", "/api/v1/approvals", None).await;
    assert_eq!(s, 200, "{inbox}");
    assert_eq!(inbox[0]["window_total"], 100.0, "{inbox}");
}
