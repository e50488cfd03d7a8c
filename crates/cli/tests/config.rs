//! Configuration by file (`--config FILE` / `LADDER_CONFIG`), environment and command line:
//! the order of strength, the errors a bad file gets (with line and column), `ladder config
//! check`, and the one table of settings docs/operations.md carries.

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn ladder() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ladder"));
    // The run's own environment must not leak settings into these checks.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LADDER_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("LADDER_LOG", "warn");
    cmd
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn write(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

#[test]
fn config_check_shows_each_value_with_its_source_and_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "ladder.toml",
        "listen = \"127.0.0.1:9911\"\nrate_per_token = 40\nwebhook_secret = \"0123456789abcdef-secret\"\n\
         database_url = \"postgres://ladder:s3cret@db.internal:5432/ladder\"\n",
    );
    let out =
        ladder().args(["config", "check", "--config"]).arg(&file).env("LADDER_RATE_PER_TOKEN", "70").output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let line =
        |name: &str| stdout.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} in {stdout}"));
    assert!(line("LADDER_LISTEN ").contains("file") && line("LADDER_LISTEN ").ends_with("127.0.0.1:9911"));
    // The environment wins over the file.
    assert!(line("LADDER_RATE_PER_TOKEN").contains("environment") && line("LADDER_RATE_PER_TOKEN").ends_with(" 70"));
    assert!(line("LADDER_WEBHOOK_SECRET").ends_with("(set, hidden)"));
    assert!(line("LADDER_DATABASE_URL").ends_with("postgres://ladder:****@db.internal:5432/ladder"));
    assert!(!stdout.contains("0123456789abcdef-secret") && !stdout.contains("s3cret"), "{stdout}");
    assert!(stdout.contains("ok: ladder serve accepts this configuration"), "{stdout}");
}

#[test]
fn a_value_serve_would_refuse_fails_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "ladder.toml", "listen = \"not an address\"\n");
    let out = ladder().args(["config", "check"]).env("LADDER_CONFIG", &file).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}");
    assert!(stderr.contains("--listen") && stderr.contains("not an address"), "{stderr}");
}

#[test]
fn a_bad_file_is_refused_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let misspelt = write(dir.path(), "misspelt.toml", "listen = \"127.0.0.1:0\"\n\nrate_per_tokn = 5\n");
    let out = ladder().args(["serve", "--config"]).arg(&misspelt).output().unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains(&format!("{}:3:1: unknown setting `rate_per_tokn`", misspelt.display())), "{stderr}");

    let broken = write(dir.path(), "broken.toml", "listen = \"127.0.0.1:0\nrate_per_token = 5\n");
    let out = ladder().args(["config", "check", "--config"]).arg(&broken).output().unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains(&format!("{}:1:", broken.display())), "{stderr}");

    let public = dir.path().join("public.toml");
    std::fs::write(&public, "sms_auth_token = \"abcdef\"\n").unwrap();
    std::fs::set_permissions(&public, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = ladder().args(["config", "check", "--config"]).arg(&public).output().unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("chmod 600"), "{stderr}");
}

#[test]
fn serve_takes_its_address_and_data_directory_from_the_file_and_an_option_wins_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file =
        write(dir.path(), "ladder.toml", &format!("listen = \"127.0.0.1:1\"\ndata_dir = \"{}\"\n", data.display()));
    // The file says port 1; the option's port 0 (a free port) wins.
    let mut serve = ladder()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(serve.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(line.starts_with("ladder listening on http://127.0.0.1:"), "{line}");
    assert_ne!(line.trim().rsplit(':').next(), Some("1"), "the option wins over the file: {line}");
    assert!(data.join("ladder.db").exists(), "the file's data directory was used");
}

#[test]
fn docs_operations_carries_the_table_of_every_setting() {
    let out = ladder().args(["config", "list", "--markdown"]).output().unwrap();
    let (table, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/operations.md")).unwrap();
    assert!(
        docs.contains(&table),
        "docs/operations.md must carry the output of `ladder config list --markdown` as it is now:\n{table}"
    );
    for name in ["LADDER_LISTEN", "LADDER_DATABASE_URL", "LADDER_WEBHOOK_SECRET", "LADDER_LOG"] {
        assert!(table.contains(&format!("`{name}`")), "{name}");
    }
}
