//! Load protection through the real server: failed sign-ins throttled per account (API
//! and console alike), request rates per token, and 429 answers with `Retry-After`.

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

async fn login(client: &reqwest::Client, server: &Server, name: &str, password: &str) -> reqwest::Response {
    client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"name": name, "password": password}))
        .send()
        .await
        .unwrap()
}

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers().get("retry-after").expect("a Retry-After header").to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_account_with_retry_after_in_the_api_and_the_console() {
    let Running { dir: _dir, world: _world, server, api: _api } = Running::start(LADDER);
    let client = reqwest::Client::new();
    // Five failures are free; the sixth makes the account wait.
    for _ in 0..6 {
        assert_eq!(login(&client, &server, "ana", "wrong password").await.status().as_u16(), 401);
    }
    // Now even the right password waits, and is told how long.
    let resp = login(&client, &server, "ana", PASSWORD).await;
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let wait = retry_after(&resp);
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/too-many-requests");
    assert_eq!(problem["retry_after"], wait);
    assert!(problem["detail"].as_str().unwrap().contains("too many failed sign-ins"), "{problem}");
    // The console's sign-in shares the count: the form comes back with 429 and the wait.
    let web = Console::new(&server);
    let page = web.sign_in("ana", PASSWORD).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("Too many failed sign-ins"), "{}", page.body);
    // Another account is not delayed.
    assert_eq!(login(&client, &server, "sam", PASSWORD).await.status().as_u16(), 200);
}

#[tokio::test]
async fn requests_over_a_token_s_rate_get_429_with_retry_after_and_other_tokens_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let server =
        Server::start_with(LADDER, dir.path(), &[("LADDER_RATE_PER_TOKEN", "1"), ("LADDER_BURST_PER_TOKEN", "3")]);
    let api = Api::new(&server);
    let (ana, sam) = (&world.tokens["ana"], &world.tokens["sam"]);
    for _ in 0..3 {
        assert_eq!(api.call(ana, "GET", "/api/v1/users/me", None).await.0, 200);
    }
    let resp = api.client.get(server.url("/api/v1/users/me")).bearer_auth(ana).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(retry_after(&resp), 1);
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/too-many-requests");
    // Another token has its own allowance; the health probes are never limited.
    assert_eq!(api.call(sam, "GET", "/api/v1/users/me", None).await.0, 200);
    for _ in 0..10 {
        let probe = api.client.get(server.url("/healthz")).bearer_auth(ana).send().await.unwrap();
        assert_eq!(probe.status().as_u16(), 200);
    }
}

#[tokio::test]
async fn the_openapi_document_lists_429_and_503_with_retry_after_on_every_operation() {
    let Running { dir: _dir, world: _world, server, api } = Running::start(LADDER);
    let doc: Value = api.client.get(server.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let login = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
    for status in ["429", "503"] {
        assert_eq!(login[status]["headers"]["Retry-After"]["schema"]["type"], "integer", "{status}: {login}");
        assert!(login[status]["content"]["application/problem+json"].is_object(), "{status}: {login}");
    }
    let escalate = &doc["paths"]["/api/v1/cases/{id}/escalate"]["post"]["responses"];
    assert!(escalate["429"]["headers"]["Retry-After"].is_object(), "{escalate}");
    assert!(doc["paths"]["/healthz"]["get"]["responses"]["429"].is_null());
}
