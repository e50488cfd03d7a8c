//! One customer across channels: a case opened for a requester (email, phone, handle)
//! finds or creates the customer in the same write; duplicates merge.

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

async fn open_for(api: &Api, token: &str, requester: Value) -> (u16, Value) {
    api.call(token, "POST", "/api/v1/cases", Some(json!({"subject": "Where is my parcel", "requester": requester})))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_is_matched_by_any_identity_or_created_with_the_case() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, root) = (&world.tokens["ana"], &world.tokens["root"]);

    // An unknown sender: a customer is created with the case, and the answer names it.
    let (s, first) = open_for(&api, ana, json!({"name": "Jane Doe", "email": "Jane.Doe@Example.com"})).await;
    assert_eq!(s, 201, "{first}");
    let jane = first["customer_id"].as_str().expect("customer_id").to_string();
    let (s, customer) = api.call(root, "GET", &format!("/api/v1/customers/{jane}"), None).await;
    assert_eq!(s, 200, "{customer}");
    assert_eq!(customer["name"], "Jane Doe");

    // The same address in other letters, now with a phone: the same customer, who gains the phone.
    let (s, second) =
        open_for(&api, ana, json!({"email": "jane.doe@EXAMPLE.com", "phone": "+44 (20) 7946-0958"})).await;
    assert_eq!(s, 201, "{second}");
    assert_eq!(second["customer_id"].as_str(), Some(jane.as_str()));

    // The phone alone, written another way, finds her too.
    let (s, third) = open_for(&api, ana, json!({"phone": "0044 20 7946 0958"})).await;
    assert_eq!(s, 201, "{third}");
    assert_eq!(third["customer_id"].as_str(), Some(jane.as_str()));

    // A handle makes another customer, named by it.
    let (s, other) = open_for(&api, ana, json!({"handle": "Twitter:@JaneD"})).await;
    assert_eq!(s, 201, "{other}");
    assert_ne!(other["customer_id"].as_str(), Some(jane.as_str()));
    let (s, c) =
        api.call(root, "GET", &format!("/api/v1/customers/{}", other["customer_id"].as_str().unwrap()), None).await;
    assert_eq!((s, c["name"].as_str()), (200, Some("twitter:janed")), "{c}");

    // The creation is in the audit history, by the opener.
    let (s, audit) = api.call(root, "GET", "/api/v1/audit?action=customer.create", None).await;
    assert_eq!(s, 200, "{audit}");
    let targets: Vec<&str> = audit["items"].as_array().unwrap().iter().filter_map(|e| e["target"].as_str()).collect();
    assert!(targets.contains(&jane.as_str()), "{audit}");

    // Refusals name the field: no identity, a bad phone, a bad email, both ways of naming.
    for (body, field) in [
        (json!({"name": "Nobody"}), "requester"),
        (json!({"phone": "020 7946 0958"}), "requester.phone"),
        (json!({"email": "not-an-address"}), "requester.email"),
    ] {
        let (s, p) = open_for(&api, ana, body.clone()).await;
        assert_eq!((s, p["field"].as_str()), (422, Some(field)), "{body}: {p}");
    }
    let (s, p) = api
        .call(
            ana,
            "POST",
            "/api/v1/cases",
            Some(json!({"subject": "x", "customer_id": jane, "requester": {"email": "a@b.co"}})),
        )
        .await;
    assert_eq!((s, p["field"].as_str()), (422, Some("requester")), "{p}");
    let (s, p) = open_for(&api, ana, json!({"email": "a@b.co", "fax": "123"})).await;
    assert!(s == 400 || s == 422, "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_openings_for_one_new_address_make_one_customer() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let ana = world.tokens["ana"].clone();
    let api = std::sync::Arc::new(api);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (api, ana) = (api.clone(), ana.clone());
        tasks.push(tokio::spawn(async move { open_for(&api, &ana, json!({"email": "new.person@example.org"})).await }));
    }
    let mut customers = std::collections::BTreeSet::new();
    for t in tasks {
        let (s, case) = t.await.unwrap();
        assert_eq!(s, 201, "{case}");
        customers.insert(case["customer_id"].as_str().unwrap().to_string());
    }
    assert_eq!(customers.len(), 1, "{customers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_a_duplicate_moves_its_identities_and_cases() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, sam, tara, root) =
        (&world.tokens["ana"], &world.tokens["sam"], &world.tokens["tara"], &world.tokens["root"]);
    let (_, a) = open_for(&api, ana, json!({"name": "Jane", "email": "jane@example.com"})).await;
    let (_, b) = open_for(&api, ana, json!({"name": "J. Doe", "phone": "+1 415 555 0100"})).await;
    let (survivor, duplicate) = (a["customer_id"].as_str().unwrap(), b["customer_id"].as_str().unwrap());
    assert_ne!(survivor, duplicate);
    let merge = format!("/api/v1/customers/{survivor}/merge");

    // An agent may not merge; a supervisor of another team does not see these customers; the
    // front line's supervisor merges.
    let (s, p) = api.call(ana, "POST", &merge, Some(json!({"duplicate": duplicate}))).await;
    assert_eq!(s, 403, "{p}");
    let (s, p) = api.call(tara, "POST", &merge, Some(json!({"duplicate": duplicate}))).await;
    assert_eq!(s, 404, "{p}");
    let (s, p) = api.call(sam, "POST", &merge, Some(json!({"duplicate": survivor}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("duplicate")), "{p}");
    let (s, merged) = api.call(sam, "POST", &merge, Some(json!({"duplicate": duplicate}))).await;
    assert_eq!(s, 200, "{merged}");
    assert_eq!(merged["cases_moved"], 1);
    let values: Vec<&str> =
        merged["customer"]["identities"].as_array().unwrap().iter().filter_map(|i| i["value"].as_str()).collect();
    assert!(values.contains(&"jane@example.com") && values.contains(&"+14155550100"), "{merged}");

    // The duplicate is gone; its case is the survivor's, with the change in its history.
    let (s, _) = api.call(root, "GET", &format!("/api/v1/customers/{duplicate}"), None).await;
    assert_eq!(s, 404);
    let case_id = b["id"].as_str().unwrap();
    let (_, case) = api.call(root, "GET", &format!("/api/v1/cases/{case_id}"), None).await;
    assert_eq!(case["customer_id"].as_str(), Some(survivor), "{case}");
    let (_, events) = api.call(root, "GET", &format!("/api/v1/cases/{case_id}/events"), None).await;
    assert!(events.to_string().contains(survivor), "{events}");
    let (_, audit) = api.call(root, "GET", "/api/v1/audit?action=customer.merge", None).await;
    assert_eq!(audit["items"][0]["target"].as_str(), Some(survivor), "{audit}");

    // The duplicate's phone now opens cases for the survivor; merging again is a 404.
    let (_, c) = open_for(&api, ana, json!({"phone": "+14155550100"})).await;
    assert_eq!(c["customer_id"].as_str(), Some(survivor));
    let (s, _) = api.call(sam, "POST", &merge, Some(json!({"duplicate": duplicate}))).await;
    assert_eq!(s, 404);
}
