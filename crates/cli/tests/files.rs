//! What Ladder writes to disk is its owner's only: the data directory (0700), the database
//! and its journal files, backups and exports (0600), whatever the umask; and an export
//! carries no password or token hash unless asked to. These write SQLite files, so they run
//! on SQLite whatever `LADDER_TEST_BACKEND` says.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_backup_and_export_write_files_only_their_owner_can_read() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    // A permissive umask would leave files world-readable unless modes are set explicitly.
    let mut serve = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$0\" serve --listen 127.0.0.1:0 --data-dir \"$1\"")
        .arg(env!("CARGO_BIN_EXE_ladder"))
        .arg(&data)
        .env("LADDER_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start ladder");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(serve.stdout.take().unwrap()), &mut line).unwrap();
    assert!(line.starts_with("ladder listening on"), "{line}");
    assert_eq!(mode(&data), 0o700, "the data directory");
    for file in ["ladder.db", "ladder.db-wal", "ladder.db-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }

    let umask_000 = |args: &[&str]| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("umask 000 && exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_ladder"))
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .env("LADDER_LOG", "warn")
            .output()
            .expect("run ladder");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let backup = scratch.path().join("backup.db");
    umask_000(&["admin", "backup", "--to", backup.to_str().unwrap()]);
    assert_eq!(mode(&backup), 0o600, "the backup");
    let export = scratch.path().join("export.jsonl");
    umask_000(&["admin", "export", "--to", export.to_str().unwrap()]);
    assert_eq!(mode(&export), 0o600, "the export");
    let _ = serve.kill();
    let _ = serve.wait();

    let restored = scratch.path().join("restored");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$0\" admin restore --from \"$1\" --data-dir \"$2\"")
        .arg(env!("CARGO_BIN_EXE_ladder"))
        .arg(&backup)
        .arg(&restored)
        .env("LADDER_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode(&restored), 0o700, "a data directory made by restore");
    assert_eq!(mode(&restored.join("ladder.db")), 0o600, "a restored database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_leaves_credentials_out_unless_asked_and_imports_without_them() {
    let dir = tempfile::tempdir().unwrap();
    use_database(dir.path(), None);
    let world = LADDER.seed_world(dir.path());
    drop(world);
    let plain = dir.path().join("plain.jsonl");
    let with = dir.path().join("with-credentials.jsonl");
    let (ok, _, err) = LADDER.admin_result(dir.path(), &["export", "--to", plain.to_str().unwrap()]);
    assert!(ok, "{err}");
    let args = ["export", "--to", with.to_str().unwrap(), "--include-credentials"];
    let (ok, _, err) = LADDER.admin_result(dir.path(), &args);
    assert!(ok, "{err}");
    let plain_text = std::fs::read_to_string(&plain).unwrap();
    assert!(plain_text.contains("\"table\":\"users\""), "the users are there");
    assert!(!plain_text.contains("$argon2"), "no password hash");
    assert!(!plain_text.contains("\"table\":\"tokens\""), "no token");
    let with_text = std::fs::read_to_string(&with).unwrap();
    assert!(with_text.contains("$argon2") && with_text.contains("\"table\":\"tokens\""), "asked for: both");

    // Imported without credentials: nobody can sign in until an admin sets a password.
    let target = tempfile::tempdir().unwrap();
    use_database(target.path(), None);
    let (ok, out, err) = LADDER.admin_result(target.path(), &["import", "--from", plain.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("6 users"), "{out}");
    let root = LADDER.admin(target.path(), &["token", "create", "--user", "root"], None);
    let server = Server::start(LADDER, target.path());
    let api = Api::new(&server);
    let login = |password: &'static str| {
        let api = &api;
        async move {
            api.client
                .post(format!("{}/api/v1/auth/login", api.base))
                .json(&json!({"name": "ana", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(login(PASSWORD).await, 401, "no password came across");
    let body = json!({"password": "set after the move"});
    let (s, v) = api.call(&root, "POST", "/api/v1/users/ana/password", Some(body)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(login("set after the move").await, 200);
}
