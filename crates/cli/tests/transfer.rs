//! `ladder admin export` and `import`: a store moved to PostgreSQL (and to a new SQLite
//! directory) serves the same case histories, logins and tokens afterwards. The store moved
//! is on the test backend: SQLite, or PostgreSQL with `LADDER_TEST_BACKEND=postgres`.

use std::path::Path;

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

/// What a client sees of every case: the list, and each case's document and events.
async fn histories(api: &Api, token: &str) -> Vec<(Value, Value)> {
    let (s, page) = api.call(token, "GET", "/api/v1/cases?limit=100", None).await;
    assert_eq!(s, 200, "{page}");
    let mut out = Vec::new();
    for item in page["items"].as_array().expect("items") {
        let id = item["id"].as_str().expect("id");
        let (s, case) = api.call(token, "GET", &format!("/api/v1/cases/{id}"), None).await;
        assert_eq!(s, 200, "{case}");
        let (s, events) = api.call(token, "GET", &format!("/api/v1/cases/{id}/events"), None).await;
        assert_eq!(s, 200, "{events}");
        out.push((case, events));
    }
    out
}

/// Cases with replies, escalations and a resolution, written through the API.
async fn activity(api: &Api, world: &World) {
    let (ana, tara) = (&world.tokens["ana"], &world.tokens["tara"]);
    for i in 0..4 {
        let case = api
            .open_case(ana, json!({"subject": format!("Refund for order {i}"), "description": "charged twice"}))
            .await;
        let id = case["id"].as_str().unwrap().to_string();
        let (s, b) = api.command(ana, &id, "messages", json!({"body": "Looking into it"})).await;
        assert!(s < 300, "{b}");
        if i % 2 == 0 {
            let (s, b) = api
                .command(
                    ana,
                    &id,
                    "escalate",
                    json!({"kind": "functional", "to_team": "billing", "initiator": "agent",
                        "reason": "refund needs the back office", "tried": "checked both charges"}),
                )
                .await;
            assert!(s < 300, "{b}");
            let (s, b) = api.command(tara, &id, "resolve", json!({"code": "refunded", "note": "refund issued"})).await;
            assert!(s < 300, "{b}");
        }
    }
}

/// Exports a store, imports it into the target (the PostgreSQL `target_db`, or else SQLite in
/// `target_dir`), and checks the server there shows the same.
async fn moves_to(target_dir: &Path, target_db: Option<&str>) {
    use_database(target_dir, target_db);
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let root = world.tokens["root"].clone();
    let before = {
        let server = Server::start(LADDER, dir.path());
        let api = Api::new(&server);
        activity(&api, &world).await;
        histories(&api, &root).await
    };
    assert_eq!(before.len(), 4);

    let file = dir.path().join("export.jsonl");
    let file_s = file.to_str().unwrap();
    let (ok, _, err) = LADDER.admin_result(dir.path(), &["export", "--to", file_s, "--include-credentials"]);
    assert!(ok, "{err}");
    assert!(err.contains("4 teams") && err.contains("6 users"), "{err}");
    let (ok, _, err) = LADDER.admin_result(dir.path(), &["export", "--to", file_s, "--include-credentials"]);
    assert!(!ok && err.contains("must not exist"), "an export never overwrites: {err}");

    let (ok, out, err) = LADDER.admin_result(target_dir, &["import", "--from", file_s]);
    assert!(ok, "{err}");
    assert!(out.contains("rebuilt 4 cases"), "{out}");
    let (ok, _, err) = LADDER.admin_result(target_dir, &["import", "--from", file_s]);
    assert!(!ok && err.contains("not empty"), "a second import is refused: {err}");

    let server = Server::start(LADDER, target_dir);
    let api = Api::new(&server);
    assert_eq!(histories(&api, &root).await, before, "the same cases, documents and events");
    // The imported tokens and passwords work; new writes continue the numbering.
    let case = api.open_case(&world.tokens["ana"], json!({"subject": "After the move"})).await;
    let numbers: Vec<u64> = before.iter().map(|(c, _)| c["number"].as_u64().unwrap()).collect();
    assert_eq!(case["number"].as_u64(), numbers.iter().max().map(|n| n + 1), "{case}");
    // The password hash moved too: signing in works (`login` checks the redirect).
    Console::new(&server).login("ana", "correct horse battery").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_moves_to_postgresql_with_identical_case_histories() {
    let ladder_store::Location::Postgres(url) = ladder_store::test_postgres_location() else {
        unreachable!("a PostgreSQL location")
    };
    let scratch = tempfile::tempdir().unwrap();
    moves_to(scratch.path(), Some(&url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_moves_to_a_new_sqlite_data_directory() {
    let target = tempfile::tempdir().unwrap();
    moves_to(target.path(), None).await;
}

#[test]
fn a_damaged_stream_is_refused_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"ladder_export\":1,\"schema\":8,\"exported_at\":\"2026-12-05T10:00:00Z\"}\n{\"table\":\"teams\",\"row\":{\"id\":}}\n",
    )
    .unwrap();
    let target = tempfile::tempdir().unwrap();
    let (ok, _, err) = LADDER.admin_result(target.path(), &["import", "--from", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("line 2, column 30: expected value"), "{err}");
}
