//! `ladder admin backup` while the server runs, and `ladder admin restore` into a new or an
//! existing data directory. These copy the SQLite database file, so they run on SQLite
//! whatever `LADDER_TEST_BACKEND` says (PostgreSQL is backed up with its own tools, or moved
//! with `ladder admin export`: see transfer.rs).

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_running_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    use_database(dir.path(), None);
    let world = LADDER.seed_world(dir.path());
    let ana = &world.tokens["ana"];
    let mut server = Server::start(LADDER, dir.path());
    let api = Api::new(&server);
    for i in 0..3 {
        api.open_case(ana, json!({"subject": format!("Case {i}")})).await;
    }
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("ladder-backup.db");
    let file_s = file.to_str().unwrap();
    let (ok, out, err) = LADDER.admin_result(dir.path(), &["backup", "--to", file_s]);
    assert!(ok, "{err}");
    assert!(out.contains("3 cases") && out.contains("integrity ok"), "{out}");
    let (ok, _, err) = LADDER.admin_result(dir.path(), &["backup", "--to", file_s]);
    assert!(!ok && err.contains("already exists"), "{err}");
    // Written after the backup: not in it.
    api.call(ana, "POST", "/api/v1/cases", Some(json!({"subject": "After the backup"}))).await;
    server.kill_hard();

    // Into a new directory: the server starts on it with the backed-up cases and tokens.
    let restored = tempfile::tempdir().unwrap();
    use_database(restored.path(), None);
    let (ok, out, err) = LADDER.admin_result(restored.path(), &["restore", "--from", file_s]);
    assert!(ok, "{err}");
    assert!(out.contains("3 cases"), "{out}");
    let server = Server::start(LADDER, restored.path());
    let api = Api::new(&server);
    let (s, page) = api.call(ana, "GET", "/api/v1/cases", None).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    drop(server);

    // Over an existing database only with --force, which keeps the old one aside.
    let (ok, _, err) = LADDER.admin_result(dir.path(), &["restore", "--from", file_s]);
    assert!(!ok && err.contains("already has a database"), "{err}");
    let (ok, _, err) = LADDER.admin_result(dir.path(), &["restore", "--from", file_s, "--force"]);
    assert!(ok, "{err}");
    let kept = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with("ladder.db.before-restore-"));
    assert!(kept, "the replaced database is kept");

    // Something that is not a backup is refused and changes nothing.
    let junk = backups.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database").unwrap();
    let (ok, _, err) = LADDER.admin_result(restored.path(), &["restore", "--from", junk.to_str().unwrap(), "--force"]);
    assert!(!ok && (err.contains("not a SQLite database") || err.contains("not a readable database")), "{err}");
    let (ok, out, _) =
        LADDER.admin_result(restored.path(), &["backup", "--to", backups.path().join("again.db").to_str().unwrap()]);
    assert!(ok && out.contains("3 cases"), "{out}");
}
