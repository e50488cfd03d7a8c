//! Sessions and credentials over real HTTP: live streams end with their credentials, a
//! password change needs the current password and ends other sessions, an admin's reset and
//! "sign out everywhere" revoke tokens, tokens expire, minting from a sign-in session asks
//! for the password again, and the password policy.

use std::time::Duration;

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

/// The longest a live stream may go on after its credentials ended.
const STREAM_ENDS_WITHIN: Duration = Duration::from_secs(5);

/// `GET /api/v1/stream` with a bearer token: the open stream.
async fn api_stream(server: &Server, token: &str) -> reqwest::Response {
    let resp = reqwest::Client::new()
        .get(server.url("/api/v1/stream"))
        .bearer_auth(token)
        .send()
        .await
        .expect("open the stream");
    assert_eq!(resp.status(), 200, "the stream opens");
    resp
}

/// `GET /board/stream` with a console session: the open stream.
async fn board_stream(server: &Server, session: &str) -> reqwest::Response {
    let resp = reqwest::Client::new()
        .get(server.url("/board/stream"))
        .header("cookie", format!("ladder_session={session}"))
        .send()
        .await
        .expect("open the stream");
    assert_eq!(resp.status(), 200, "the board stream opens");
    resp
}

/// Reads the stream to its end; fails unless it ends within [`STREAM_ENDS_WITHIN`].
async fn ends(mut stream: reqwest::Response, why: &str) {
    let read_to_end = async { while let Ok(Some(_)) = stream.chunk().await {} };
    assert!(
        tokio::time::timeout(STREAM_ENDS_WITHIN, read_to_end).await.is_ok(),
        "the stream still runs {STREAM_ENDS_WITHIN:?} after {why}"
    );
}

/// Reads the stream until a `case` event mentioning `needle`: the stream is alive.
async fn delivers(stream: &mut reqwest::Response, needle: &str) {
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.split("\n\n").any(|e| e.starts_with("event: case") && e.contains(needle)) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "no event with {needle:?}; the stream sent: {seen}");
}

/// `POST /api/v1/auth/login`: a 12-hour sign-in session token.
async fn sign_in(api: &Api, name: &str, password: &str) -> (u16, Value) {
    let resp = api
        .client
        .post(format!("{}/api/v1/auth/login", api.base))
        .json(&json!({"name": name, "password": password}))
        .send()
        .await
        .expect("login");
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

async fn session_token(api: &Api, name: &str) -> String {
    let (s, body) = sign_in(api, name, PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

/// `PUT /api/v1/users/{name}` keeping everything but what `change` sets.
async fn change_user(api: &Api, admin: &str, name: &str, change: Value) {
    let (_, user) = api.call(admin, "GET", &format!("/api/v1/users/{name}"), None).await;
    let mut body =
        json!({"name": user["name"], "role": user["role"], "teams": user["teams"], "active": user["active"]});
    for (k, v) in change.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, v) = api.call(admin, "PUT", &format!("/api/v1/users/{name}"), Some(body)).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_streams_end_within_seconds_when_their_credentials_end_or_their_scope_changes() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let root = &world.tokens["root"];
    // A stream whose credentials nothing touches goes on throughout.
    let mut untouched = api_stream(&server, root).await;

    // Signing out of a login session.
    let session = session_token(&api, "ana").await;
    let stream = api_stream(&server, &session).await;
    let (s, v) = api.call(&session, "POST", "/api/v1/auth/logout", None).await;
    assert_eq!(s, 204, "{v}");
    ends(stream, "logout").await;

    // Revoking the token.
    let (s, minted) = api.call(&world.tokens["ana"], "POST", "/api/v1/tokens", Some(json!({"name": "laptop"}))).await;
    assert_eq!(s, 201, "{minted}");
    let stream = api_stream(&server, minted["token"].as_str().unwrap()).await;
    let (s, v) = api.call(root, "DELETE", &format!("/api/v1/tokens/{}", minted["id"].as_str().unwrap()), None).await;
    assert_eq!(s, 204, "{v}");
    ends(stream, "the token's revocation").await;

    // Deactivating the user.
    let stream = api_stream(&server, &world.tokens["erin"]).await;
    let (s, v) = api.call(root, "DELETE", "/api/v1/users/erin", None).await;
    assert_eq!(s, 200, "{v}");
    ends(stream, "the user's deactivation").await;

    // A role change: the manager who saw every case is an agent now.
    let stream = api_stream(&server, &world.tokens["maria"]).await;
    change_user(&api, root, "maria", json!({"role": "agent"})).await;
    ends(stream, "a demotion").await;

    // A team change: sam leaves the front line.
    let stream = api_stream(&server, &world.tokens["sam"]).await;
    change_user(&api, root, "sam", json!({"teams": ["supervisors"]})).await;
    ends(stream, "leaving a team").await;

    // An admin's password reset.
    let stream = api_stream(&server, &world.tokens["tara"]).await;
    let (s, v) =
        api.call(root, "POST", "/api/v1/users/tara/password", Some(json!({"password": "a brand new secret"}))).await;
    assert_eq!(s, 200, "{v}");
    ends(stream, "a password reset").await;

    api.open_case(&world.tokens["ana"], json!({"subject": "Still streaming"})).await;
    delivers(&mut untouched, "Still streaming").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_stream_ends_at_logout_and_when_a_password_change_ends_the_session() {
    let Running { dir: _dir, world: _world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);

    // Logging out of the console.
    let tara = web.login("tara", PASSWORD).await;
    let stream = board_stream(&server, &tara).await;
    let csrf = csrf_of(&web.get(Some(&tara), "/queue").await.body);
    let r = web.post(Some(&tara), "/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    ends(stream, "logout").await;

    // Sam changes his password in one session: his board in the other one stops.
    let (here, elsewhere) = (web.login("sam", PASSWORD).await, web.login("sam", PASSWORD).await);
    let stream = board_stream(&server, &elsewhere).await;
    let body = json!({"password": "a much longer secret", "current_password": PASSWORD});
    let (s, v) = api.call(&here, "POST", "/api/v1/users/me/password", Some(body)).await;
    assert_eq!(s, 200, "{v}");
    ends(stream, "a password change in another session").await;
    assert_eq!(web.get(Some(&here), "/board").await.status, 200, "the session that changed it goes on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_your_password_needs_the_current_one_and_ends_your_other_sessions() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let (here, elsewhere) = (web.login("ana", PASSWORD).await, web.login("ana", PASSWORD).await);
    let api_session = session_token(&api, "ana").await;
    let path = "/api/v1/users/me/password";

    let (s, v) = api.call(&here, "POST", path, Some(json!({"password": "a much longer secret"}))).await;
    assert_eq!((s, v["field"].as_str()), (422, Some("current_password")), "{v}");
    let body = json!({"password": "a much longer secret", "current_password": "not my password"});
    let (s, v) = api.call(&here, "POST", path, Some(body)).await;
    assert_eq!(s, 403, "a wrong current password: {v}");
    assert_eq!(sign_in(&api, "ana", "a much longer secret").await.0, 401, "nothing changed");

    let body = json!({"password": "a much longer secret", "current_password": PASSWORD});
    let (s, v) = api.call(&here, "POST", path, Some(body)).await;
    assert_eq!((s, v["revoked_tokens"].as_u64()), (200, Some(2)), "the other console and login sessions: {v}");
    let r = web.get(Some(&elsewhere), "/queue").await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")), "the other console session ended");
    assert_eq!(api.call(&api_session, "GET", "/api/v1/users/me", None).await.0, 401, "the login session ended");
    assert_eq!(web.get(Some(&here), "/queue").await.status, 200, "the session that changed it goes on");
    assert_eq!(api.call(&world.tokens["ana"], "GET", "/api/v1/users/me", None).await.0, 200, "API tokens stay");
    assert_eq!(sign_in(&api, "ana", "a much longer secret").await.0, 200);
    assert_eq!(sign_in(&api, "ana", PASSWORD).await.0, 401, "the old password is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reset_revokes_every_token_and_anyone_can_revoke_all_their_own() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let root = &world.tokens["root"];
    let ana_web = web.login("ana", PASSWORD).await;
    let body = json!({"password": "reset by the admin"});
    let (s, v) = api.call(root, "POST", "/api/v1/users/ana/password", Some(body)).await;
    assert_eq!((s, v["revoked_tokens"].as_u64()), (200, Some(2)), "her API token and her console session: {v}");
    assert_eq!(api.call(&world.tokens["ana"], "GET", "/api/v1/users/me", None).await.0, 401);
    assert_eq!(web.get(Some(&ana_web), "/queue").await.status, 303);
    let (s, audit) = api.call(root, "GET", "/api/v1/audit?action=user.password", None).await;
    assert_eq!(s, 200, "{audit}");
    assert!(audit.to_string().contains("\"reset\":true"), "the reset is in the audit history: {audit}");

    // Sign out everywhere: every token of the caller, the one in use included.
    let erin = &world.tokens["erin"];
    let (_, minted) = api.call(erin, "POST", "/api/v1/tokens", Some(json!({"name": "laptop"}))).await;
    let laptop = minted["token"].as_str().unwrap();
    let erin_web = web.login("erin", PASSWORD).await;
    let (s, v) = api.call(erin, "DELETE", "/api/v1/tokens", None).await;
    assert_eq!((s, v["revoked"].as_u64()), (200, Some(3)), "{v}");
    for token in [erin.as_str(), laptop, erin_web.as_str()] {
        assert_eq!(api.call(token, "GET", "/api/v1/users/me", None).await.0, 401);
    }
    assert_eq!(api.call(&world.tokens["tara"], "GET", "/api/v1/users/me", None).await.0, 200, "others' stay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire_by_default_within_the_configured_maximum_and_are_refused_after() {
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let policy = [("LADDER_TOKEN_EXPIRY_DEFAULT", "1h"), ("LADDER_TOKEN_EXPIRY_MAX", "2h")];
    let server = Server::start_with(LADDER, dir.path(), &policy);
    let api = Api::new(&server);
    let ana = &world.tokens["ana"];

    let (s, minted) = api.call(ana, "POST", "/api/v1/tokens", Some(json!({"name": "script"}))).await;
    assert_eq!(s, 201, "{minted}");
    let at = |v: &Value, field: &str| v[field].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    let lifetime = at(&minted, "expires_at").duration_since(at(&minted, "created_at"));
    assert_eq!(lifetime, jiff::SignedDuration::from_hours(1), "the default lifetime: {minted}");
    let (_, listed) = api.call(ana, "GET", "/api/v1/tokens", None).await;
    let shown = listed.as_array().unwrap().iter().find(|t| t["id"] == minted["id"]).expect("listed").clone();
    assert_eq!(shown["expires_at"], minted["expires_at"], "the listing shows the expiry");

    let body = json!({"name": "forever", "expires_in_seconds": 3 * 3600});
    let (s, v) = api.call(ana, "POST", "/api/v1/tokens", Some(body)).await;
    assert_eq!((s, v["field"].as_str()), (422, Some("expires_in_seconds")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("at most 7200 seconds"), "{v}");
    let body = json!({"name": "two hours", "expires_in_seconds": 2 * 3600});
    assert_eq!(api.call(ana, "POST", "/api/v1/tokens", Some(body)).await.0, 201, "the maximum itself is allowed");
    let secret = minted["token"].as_str().unwrap().to_string();
    assert_eq!(api.call(&secret, "GET", "/api/v1/users/me", None).await.0, 200);
    drop(server);

    // Ninety minutes later the one-hour token is refused.
    let later = Server::start_with(LADDER, dir.path(), &[("LADDER_CLOCK_OFFSET", "90m")]);
    let api = Api::new(&later);
    let (s, v) = api.call(&secret, "GET", "/api/v1/users/me", None).await;
    assert_eq!(s, 401, "an expired token: {v}");
    assert_eq!(api.call(ana, "GET", "/api/v1/users/me", None).await.0, 200, "a token with time left works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minting_a_token_with_a_sign_in_session_asks_for_the_password_again() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    for session in [session_token(&api, "ana").await, web.login("ana", PASSWORD).await] {
        let (s, v) = api.call(&session, "POST", "/api/v1/tokens", Some(json!({"name": "script"}))).await;
        assert_eq!((s, v["field"].as_str()), (422, Some("password")), "{v}");
        let body = json!({"name": "script", "password": "not my password"});
        assert_eq!(api.call(&session, "POST", "/api/v1/tokens", Some(body)).await.0, 403);
        let body = json!({"name": "script", "password": PASSWORD});
        let (s, v) = api.call(&session, "POST", "/api/v1/tokens", Some(body)).await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = api.call(&world.tokens["ana"], "POST", "/api/v1/tokens", Some(json!({"name": "script"}))).await;
    assert_eq!(s, 201, "an API token mints without the password: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_follow_the_policy_with_a_refusal_naming_the_rule() {
    let Running { dir, world, server: _server, api } = Running::start(LADDER);
    let root = &world.tokens["root"];
    for (password, rule) in [("elevenchars", "at least 12 characters"), (&*"é".repeat(513), "at most 1024 bytes")] {
        let (s, v) = api.call(root, "POST", "/api/v1/users/ana/password", Some(json!({"password": password}))).await;
        assert_eq!((s, v["field"].as_str()), (422, Some("password")), "{v}");
        assert!(v["detail"].as_str().unwrap().contains(rule), "{v}");
        let body = json!({"name": "newbie", "role": "agent", "password": password});
        let (s, v) = api.call(root, "POST", "/api/v1/users", Some(body)).await;
        assert_eq!(s, 422, "{v}");
        assert!(v["detail"].as_str().unwrap().contains(rule), "{v}");
    }
    let (s, v) = api.call(root, "POST", "/api/v1/users/ana/password", Some(json!({"password": "twelve chars"}))).await;
    assert_eq!(s, 200, "twelve characters are enough: {v}");
    let args = ["user", "create", "--name", "short", "--role", "agent", "--password-stdin"];
    let out = LADDER.admin_output(dir.path(), &args, Some("elevenchars\n"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("at least 12 characters"), "the command line too: {err}");
}
