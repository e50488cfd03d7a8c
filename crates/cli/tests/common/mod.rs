//! Starts the real `ladder` binary on a free port and talks to it over HTTP.
//!
//! Each test world lives in a data directory. On SQLite the database is in it; with
//! `LADDER_TEST_BACKEND=postgres` the world gets a fresh PostgreSQL schema instead, whose URL
//! a marker file in the directory remembers (see [`database`]), so the server, its restarts
//! and every `ladder` command run on that directory share the one database.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_ladder");

pub struct Server {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    /// The PostgreSQL database it serves, or `None` for the SQLite database in `data_dir`.
    pub database: Option<String>,
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

/// `ladder ARGS --data-dir DATA_DIR`, with `--database` when the directory's test world is
/// on PostgreSQL (see [`database`]).
pub fn ladder_on(data_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).arg("--data-dir").arg(data_dir).env("LADDER_LOG", "warn");
    if let Some(url) = database(data_dir) {
        cmd.arg("--database").arg(url);
    }
    cmd
}

impl Server {
    /// Starts `ladder serve` on 127.0.0.1:0 and waits for its "listening" line.
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with(data_dir, &[])
    }

    /// Starts the server with extra environment variables (e.g. `LADDER_CLOCK_OFFSET`), on
    /// the database of the test world in `data_dir` (see [`database`]).
    pub fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let database = database(data_dir);
        let mut child = ladder_on(data_dir, &["serve", "--listen", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ladder");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read listening line");
        let base = line.trim().strip_prefix("ladder listening on ").expect("listening line").to_string();
        Server { child, base, data_dir: data_dir.to_path_buf(), database }
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

/// Runs `ladder admin ARGS` on the test world in `data_dir` (see [`database`]), with `stdin`
/// as its input; returns its output whether or not it succeeded.
pub fn admin_output(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = ladder_on(data_dir, &[&["admin"], args].concat())
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

/// Runs `ladder admin ARGS`, which must succeed, on the test world in `data_dir`; returns its
/// stdout.
pub fn admin(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = admin_output(data_dir, args, stdin);
    assert!(out.status.success(), "ladder admin {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8").trim().to_string()
}

/// Runs `ladder admin ARGS` on the test world in `data_dir`; returns success, stdout and
/// stderr.
pub fn admin_result(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = admin_output(data_dir, args, None);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A small contact center: front line (L1), billing (L2), management (L3); an agent, a
/// billing agent, a supervisor, a manager and an admin. Returns tokens by user name.
pub struct World {
    pub tokens: std::collections::BTreeMap<String, String>,
}

pub fn seed_world(dir: &Path) -> World {
    admin(dir, &["team", "create", "--slug", "frontline", "--level", "L1", "--kind", "front_line"], None);
    admin(dir, &["team", "create", "--slug", "billing", "--level", "L2", "--kind", "back_office"], None);
    admin(dir, &["team", "create", "--slug", "supervisors", "--level", "L2", "--kind", "management"], None);
    admin(dir, &["team", "create", "--slug", "management", "--level", "L3", "--kind", "management"], None);
    let users: &[(&str, &str, &[&str])] = &[
        ("ana", "agent", &["frontline"]),
        ("erin", "agent", &["billing"]),
        ("sam", "supervisor", &["supervisors", "frontline"]),
        ("tara", "supervisor", &["billing"]),
        ("maria", "manager", &["management"]),
        ("root", "admin", &[]),
    ];
    let mut tokens = std::collections::BTreeMap::new();
    for (name, role, teams) in users {
        let mut args = vec!["user", "create", "--name", name, "--role", role, "--password-stdin"];
        for t in *teams {
            args.push("--team");
            args.push(t);
        }
        admin(dir, &args, Some("correct horse battery\n"));
        tokens.insert(name.to_string(), admin(dir, &["token", "create", "--user", name], None));
    }
    World { tokens }
}

pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(server: &Server) -> Api {
        Api { client: reqwest::Client::new(), base: server.base.clone() }
    }

    pub async fn call(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_with(token, method, path, body, &[]).await
    }

    pub async fn call_with(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req =
            self.client.request(method.parse().expect("method"), format!("{}{}", self.base, path)).bearer_auth(token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(json!(text)) };
        (status, value)
    }
}

impl Api {
    /// `PUT /api/v1/matrix/drafts/{name}` with a TOML body.
    pub async fn upload_matrix(&self, token: &str, name: &str, toml: &str) -> (u16, Value) {
        let resp = self
            .client
            .put(format!("{}/api/v1/matrix/drafts/{name}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/toml")
            .body(toml.to_string())
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Uploads `toml` as the draft `main` and puts it in force; both must succeed.
    pub async fn activate_matrix(&self, token: &str, toml: &str) {
        let (s, draft) = self.upload_matrix(token, "main", toml).await;
        assert_eq!(s, 200, "{draft}");
        let (s, v) = self.call(token, "POST", "/api/v1/matrix/drafts/main/activate", None).await;
        assert_eq!(s, 201, "{v}");
    }
}

/// The web console as a browser without JavaScript sees it: form posts, cookies by hand,
/// redirects not followed (so tests see each 303 and where it points).
pub struct Console {
    pub client: reqwest::Client,
    pub base: String,
}

/// What a console request answered.
pub struct PageResponse {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Console {
    pub fn new(server: &Server) -> Console {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Console { client, base: server.base.clone() }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> PageResponse {
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").map(|v| v.to_str().expect("ascii").to_string());
        let set_cookies =
            resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().expect("ascii").to_string()).collect();
        PageResponse { status, location, set_cookies, body: resp.text().await.expect("body") }
    }

    /// `GET path` with the session cookie (`None`: signed out).
    pub async fn get(&self, session: Option<&str>, path: &str) -> PageResponse {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(s) = session {
            req = req.header("cookie", format!("ladder_session={s}"));
        }
        self.send(req).await
    }

    /// Follows a redirect as a browser does: to its `Location`, with the flash message it set.
    pub async fn follow(&self, session: Option<&str>, redirect: &PageResponse) -> PageResponse {
        let to = redirect.location.as_deref().expect("a redirect");
        let mut cookies: Vec<String> = session.map(|s| format!("ladder_session={s}")).into_iter().collect();
        cookies.extend(
            redirect
                .set_cookies
                .iter()
                .filter(|c| c.starts_with("ladder_flash="))
                .map(|c| c.split(';').next().unwrap().to_string()),
        );
        self.send(self.client.get(format!("{}{to}", self.base)).header("cookie", cookies.join("; "))).await
    }

    /// `POST path` with a form body.
    pub async fn post(&self, session: Option<&str>, path: &str, form: &[(&str, &str)]) -> PageResponse {
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect();
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"));
        if let Some(s) = session {
            req = req.header("cookie", format!("ladder_session={s}"));
        }
        self.send(req).await
    }

    /// Signs in through the login form; returns the session secret from the cookie.
    pub async fn login(&self, name: &str, password: &str) -> String {
        let r = self.post(None, "/login", &[("name", name), ("password", password)]).await;
        assert_eq!(r.status, 303, "login as {name}: {}", r.body);
        let cookie = r.set_cookies.iter().find(|c| c.starts_with("ladder_session=")).expect("session cookie");
        cookie.split(';').next().unwrap().trim_start_matches("ladder_session=").to_string()
    }
}

/// The CSRF token in a console page's forms.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a csrf field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where Debian's Chromium is; the browser walks never use a downloaded browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The repository root, after checking that the browser walks can run: Chromium and
/// `web-tests/node_modules` present, else a failure that says how to install them.
pub fn browser_ready() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run `bash scripts/test` (it installs Debian's chromium), or `apt-get install -y chromium`"
    );
    assert!(
        root.join("web-tests/node_modules/playwright-core").exists(),
        "web-tests/node_modules is missing: run `bash scripts/test` (it runs `npm ci --prefix web-tests`)"
    );
    root
}
