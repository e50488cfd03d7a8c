//! Every JSON request body of the API, through the real router (extractors, validation,
//! engine, SQLite store) as an admin: the first byte picks the operation, the rest is the
//! body. Whatever the bytes, the answer is not a server error, and a refusal is an RFC 9457
//! problem document.
#![no_main]

use std::sync::LazyLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use ladder_core::Role;
use ladder_http::{AppState, ServeConfig, limits::RateLimits};
use ladder_testkit::engine::{TestEngine, activate_matrix, team, user};
use ladder_testkit::matrix::{EXAMPLE, EXAMPLE_TEAMS};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

/// The operations that take a body; `{case}`, `{user}`, `{team}` and `{customer}` are
/// replaced by the world's own, so a body gets past the lookups to the command.
const OPERATIONS: &[(&str, &str)] = &[
    ("POST", "/api/v1/cases"),
    ("PATCH", "/api/v1/cases/{case}"),
    ("POST", "/api/v1/cases/{case}/messages"),
    ("POST", "/api/v1/cases/{case}/assign"),
    ("POST", "/api/v1/cases/{case}/transfer"),
    ("POST", "/api/v1/cases/{case}/escalate"),
    ("POST", "/api/v1/cases/{case}/de-escalate"),
    ("POST", "/api/v1/cases/{case}/request-info"),
    ("POST", "/api/v1/cases/{case}/resolve"),
    ("POST", "/api/v1/cases/{case}/reopen"),
    ("POST", "/api/v1/cases/{case}/close"),
    ("POST", "/api/v1/cases/{case}/ask-front-line"),
    ("POST", "/api/v1/cases/{case}/csat"),
    ("POST", "/api/v1/cases/{case}/callbacks"),
    ("POST", "/api/v1/cases/{case}/actions"),
    ("POST", "/api/v1/cases/{case}/approvals/0193a3c2-0000-7000-8000-000000000001"),
    ("POST", "/api/v1/cases/{case}/tasks/0193a3c2-0000-7000-8000-000000000001/answer"),
    ("POST", "/api/v1/customers"),
    ("PUT", "/api/v1/customers/{customer}"),
    ("PUT", "/api/v1/customers/{customer}/status"),
    ("POST", "/api/v1/teams"),
    ("PUT", "/api/v1/teams/{team}"),
    ("POST", "/api/v1/users"),
    ("PUT", "/api/v1/users/{user}"),
    ("POST", "/api/v1/users/{user}/password"),
    ("POST", "/api/v1/tokens"),
    ("PUT", "/api/v1/agents/{user}/presence"),
    ("PUT", "/api/v1/agents/{user}/profile"),
    ("POST", "/api/v1/matrix/check"),
    ("PUT", "/api/v1/matrix/drafts/fuzz"),
    ("POST", "/api/v1/matrix/drafts/fuzz/activate"),
    ("POST", "/api/v1/matrix/rollback"),
    ("POST", "/api/v1/simulations"),
    ("POST", "/api/v1/auth/login"),
];

struct World {
    runtime: tokio::runtime::Runtime,
    router: Router,
    bearer: String,
    paths: Vec<(Method, String)>,
    _engine: TestEngine,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let (router, bearer, paths, engine) = runtime.block_on(async {
        let test = TestEngine::new();
        let now = jiff::Timestamp::now();
        let mut teams = Vec::new();
        for (slug, level) in EXAMPLE_TEAMS {
            teams.push(team(&test.store, slug, level, &[]).await);
        }
        activate_matrix(&test.engine, "example", EXAMPLE, "fuzz", now).await;
        let admin = user(&test.store, "fuzz-admin", Role::Admin, vec![]).await;
        // The user the directory operations change, so that none of them locks the admin out.
        let other = user(&test.store, "fuzz-agent", Role::Agent, vec![teams[0].id]).await;
        let bearer =
            test.engine.mint_token(&admin, admin.user_id, "fuzz".into(), None, now).await.expect("a token").secret;
        let config = ServeConfig { rate_limits: RateLimits::UNLIMITED, ..ServeConfig::default() };
        let router = ladder_http::router(AppState::with_config(test.engine.clone(), config));
        let send = |method: &str, path: &str, body: &str| {
            Request::builder()
                .method(method)
                .uri(path)
                .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .expect("a request")
        };
        let answer = |response: axum::response::Response| async move {
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
            serde_json::from_slice::<serde_json::Value>(&bytes).expect("JSON")
        };
        let case = router
            .clone()
            .oneshot(send("POST", "/api/v1/cases", r#"{"subject":"Fuzzed","team":"frontline"}"#))
            .await
            .expect("an answer");
        let case = answer(case).await["id"].as_str().expect("a case id").to_string();
        let customer = router
            .clone()
            .oneshot(send("POST", "/api/v1/customers", r#"{"name":"Fuzz Customer"}"#))
            .await
            .expect("an answer");
        let customer = answer(customer).await["id"].as_str().expect("a customer id").to_string();
        let paths = OPERATIONS
            .iter()
            .map(|(method, path)| {
                let path = path
                    .replace("{case}", &case)
                    .replace("{user}", &other.user_id.to_string())
                    .replace("{team}", &teams[1].id.to_string())
                    .replace("{customer}", &customer);
                (method.parse().expect("a method"), path)
            })
            .collect();
        (router, bearer, paths, test)
    });
    World { runtime, router, bearer, paths, _engine: engine }
});

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let world = &*WORLD;
    let (method, path) = &world.paths[pick as usize % world.paths.len()];
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", world.bearer))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .expect("a request");
    let response = world.runtime.block_on(world.router.clone().oneshot(request)).expect("an answer");
    let status = response.status();
    assert!(
        !status.is_server_error() || status.as_u16() == 503,
        "{method} {path} answered {status} to {:?}",
        String::from_utf8_lossy(body)
    );
    if status.is_client_error() {
        let media = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(media, "application/problem+json", "{method} {path} answered {status} without a problem document");
    }
});
