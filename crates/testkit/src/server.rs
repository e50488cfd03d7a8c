//! The real `ladder` binary, run on test worlds. The binary is the caller's to name: only
//! the cli crate's own tests know where cargo put it, as `env!("CARGO_BIN_EXE_ladder")`:
//!
//! ```text
//! const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));
//! let Running { dir, world, server, api } = Running::start(LADDER);
//! ```
//!
//! Each test world lives in a data directory. On SQLite the database is in it; with
//! `LADDER_TEST_BACKEND=postgres` the world gets a fresh PostgreSQL schema instead, whose URL
//! a marker file in the directory remembers (see [`database`]), so the server, its restarts
//! and every `ladder` command run on that directory share the one database.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use tempfile::TempDir;

use crate::http::Api;

/// Every seeded user's password.
pub const PASSWORD: &str = "correct horse battery";

/// The `ladder` binary under test.
#[derive(Clone, Copy, Debug)]
pub struct Ladder {
    bin: &'static str,
}

impl Ladder {
    /// The binary at `bin`: `env!("CARGO_BIN_EXE_ladder")` in the cli crate's tests.
    pub const fn new(bin: &'static str) -> Ladder {
        Ladder { bin }
    }

    /// `ladder ARGS`, run from the repository root (where `examples/` is).
    pub fn command(self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.bin);
        cmd.args(args).current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        cmd
    }

    /// `ladder ARGS --data-dir DATA_DIR`, with `--database` when the directory's test world
    /// is on PostgreSQL (see [`database`]).
    pub fn on(self, data_dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.bin);
        cmd.args(args).arg("--data-dir").arg(data_dir).env("LADDER_LOG", "warn");
        if let Some(url) = database(data_dir) {
            cmd.arg("--database").arg(url);
        }
        cmd
    }

    /// Runs `ladder admin ARGS` on the test world in `data_dir`, with `stdin` as its input;
    /// returns its output whether or not it succeeded.
    pub fn admin_output(self, data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = self
            .on(data_dir, &[&["admin"], args].concat())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ladder admin");
        if let Some(input) = stdin {
            child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        }
        drop(child.stdin.take());
        child.wait_with_output().expect("admin output")
    }

    /// Runs `ladder admin ARGS`, which must succeed, on the test world in `data_dir`;
    /// returns its stdout.
    pub fn admin(self, data_dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.admin_output(data_dir, args, stdin);
        assert!(out.status.success(), "ladder admin {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf8").trim().to_string()
    }

    /// Runs `ladder admin ARGS` on the test world in `data_dir`; returns success, stdout and
    /// stderr.
    pub fn admin_result(self, data_dir: &Path, args: &[&str]) -> (bool, String, String) {
        let out = self.admin_output(data_dir, args, None);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Seeds a small contact center in `data_dir` with `ladder admin` (see [`World`]) and
    /// mints a token for each of its users.
    pub fn seed_world(self, data_dir: &Path) -> World {
        for (slug, level, kind) in [
            ("frontline", "L1", "front_line"),
            ("billing", "L2", "back_office"),
            ("supervisors", "L2", "management"),
            ("management", "L3", "management"),
        ] {
            self.admin(data_dir, &["team", "create", "--slug", slug, "--level", level, "--kind", kind], None);
        }
        let users: &[(&str, &str, &[&str])] = &[
            ("ana", "agent", &["frontline"]),
            ("erin", "agent", &["billing"]),
            ("sam", "supervisor", &["supervisors", "frontline"]),
            ("tara", "supervisor", &["billing"]),
            ("maria", "manager", &["management"]),
            ("root", "admin", &[]),
        ];
        let password = format!("{PASSWORD}\n");
        let mut tokens = BTreeMap::new();
        for (name, role, teams) in users {
            let mut args = vec!["user", "create", "--name", name, "--role", role, "--password-stdin"];
            for t in *teams {
                args.push("--team");
                args.push(t);
            }
            self.admin(data_dir, &args, Some(&password));
            tokens.insert(name.to_string(), self.admin(data_dir, &["token", "create", "--user", name], None));
        }
        World { tokens }
    }
}

/// The seeded contact center: the front line (`frontline`, L1), the back office (`billing`,
/// L2), the supervisors (`supervisors`, L2) and management (`management`, L3); and a user of
/// every role, each with the password [`PASSWORD`] and a token:
///
/// | user  | role       | teams                   |
/// |-------|------------|-------------------------|
/// | ana   | agent      | frontline               |
/// | erin  | agent      | billing                 |
/// | sam   | supervisor | supervisors, frontline  |
/// | tara  | supervisor | billing                 |
/// | maria | manager    | management              |
/// | root  | admin      |                         |
pub struct World {
    /// Bearer tokens by user name.
    pub tokens: BTreeMap<String, String>,
}

/// A running `ladder serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub data_dir: PathBuf,
    /// The PostgreSQL database it serves, or `None` for the SQLite database in `data_dir`.
    pub database: Option<String>,
    /// `127.0.0.1:PORT` of its SMTP listener, when started with `--smtp-listen`.
    pub smtp: Option<String>,
}

impl Server {
    /// Starts `ladder serve` on 127.0.0.1:0 on the test world in `data_dir` and waits for its
    /// "listening" line.
    pub fn start(ladder: Ladder, data_dir: &Path) -> Server {
        Server::start_with(ladder, data_dir, &[])
    }

    /// Starts the server with extra environment variables (e.g. `LADDER_CLOCK_OFFSET`).
    pub fn start_with(ladder: Ladder, data_dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_full(ladder, data_dir, env, &[])
    }

    /// Starts the server with extra arguments to `serve` (e.g. `--smtp-listen 127.0.0.1:0`,
    /// whose address it then reads into [`Server::smtp`]).
    pub fn start_args(ladder: Ladder, data_dir: &Path, args: &[&str]) -> Server {
        Server::start_full(ladder, data_dir, &[], args)
    }

    fn start_full(ladder: Ladder, data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Server {
        let database = database(data_dir);
        let serve: Vec<&str> = ["serve", "--listen", "127.0.0.1:0"].iter().chain(args).copied().collect();
        let mut child = ladder
            .on(data_dir, &serve)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ladder");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        let mut stdout = BufReader::new(stdout);
        stdout.read_line(&mut line).expect("read listening line");
        let base = line.trim().strip_prefix("ladder listening on ").expect("listening line").to_string();
        let mut smtp = None;
        if args.contains(&"--smtp-listen") {
            line.clear();
            stdout.read_line(&mut line).expect("read the smtp listening line");
            smtp =
                Some(line.trim().strip_prefix("ladder smtp listening on ").expect("smtp listening line").to_string());
        }
        // What the server prints later (`--demo` prints its logins after the listening line)
        // must not meet a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Server { child, base, data_dir: data_dir.to_path_buf(), database, smtp }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `kill -9`: no chance to flush or shut down cleanly.
    pub fn kill_hard(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What most end-to-end tests start with: the seeded [`World`] in a fresh data directory, a
/// server on it, and an API client. Destructure it as `Running { dir, world, server, api }`,
/// so the bindings drop the other way round: the server is killed before its directory goes.
pub struct Running {
    pub api: Api,
    pub server: Server,
    pub world: World,
    pub dir: TempDir,
}

impl Running {
    pub fn start(ladder: Ladder) -> Running {
        let dir = tempfile::tempdir().expect("a temp dir");
        let world = ladder.seed_world(dir.path());
        let server = Server::start(ladder, dir.path());
        let api = Api::new(&server);
        Running { dir, world, server, api }
    }
}

/// The file, in a test's data directory, that names the database of its test world: a
/// PostgreSQL URL, or nothing for the SQLite database in the directory.
const DATABASE_MARKER: &str = "test-database";

/// The database of the test world in `data_dir`, as `--database` takes it: `None` for the
/// SQLite database in the directory. With `LADDER_TEST_BACKEND=postgres` the first call on a
/// directory makes a fresh PostgreSQL schema ([`ladder_store::test_postgres_location`]) and
/// writes its URL to the directory's marker file; later calls read it back, so a restarted
/// server and `ladder admin` find the same data.
pub fn database(data_dir: &Path) -> Option<String> {
    let marker = data_dir.join(DATABASE_MARKER);
    if let Ok(url) = std::fs::read_to_string(&marker) {
        return Some(url).filter(|url| !url.is_empty());
    }
    match ladder_store::test_location(data_dir) {
        ladder_store::Location::Postgres(url) => {
            use_database(data_dir, Some(&url));
            Some(url)
        }
        ladder_store::Location::Sqlite(_) => None,
    }
}

/// Puts the test world in `data_dir` on this database (`None`: the SQLite database in the
/// directory), whatever `LADDER_TEST_BACKEND` says. Call it before anything runs on the
/// directory: for tests of what only SQLite has, or of a move to a given database.
pub fn use_database(data_dir: &Path, url: Option<&str>) {
    std::fs::create_dir_all(data_dir).expect("create the data dir");
    std::fs::write(data_dir.join(DATABASE_MARKER), url.unwrap_or("")).expect("write the database marker");
}
