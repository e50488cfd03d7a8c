//! The authorization table over real HTTP: every route of the server × caller × scope → the
//! answer, as listed in `authz_table.txt` (its header says how to read it). One server, one
//! world; each cell gets targets of its own, made just before it runs, so what one cell
//! changes never decides another's answer.
//!
//! The routes to cover come from the server itself: the API's from its `/openapi.json`, the
//! console's from its router's source (axum cannot list a router's routes), so a route added
//! without a row here fails this test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ladder_testkit::http::{Api, Console, csrf_of, error_flash, form_body};
use ladder_testkit::matrix::{CREDIT_LIMITS, SEEDED_LEVELS};
use ladder_testkit::server::*;
use ladder_testkit::smtp::SmtpSink;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

const TABLE: &str = include_str!("authz_table.txt");

/// The columns of the table, and the user behind each.
const CALLERS: [(&str, Option<&str>); 5] = [
    ("anonymous", None),
    ("agent", Some("ana")),
    ("supervisor", Some("sam")),
    ("manager", Some("maria")),
    ("admin", Some("root")),
];

/// Routes that answer without credentials (ARCHITECTURE.md, "Every endpoint authenticates
/// except …"): the only sections allowed to refuse nobody, with the console's assets.
/// The alert intake authenticates by a service's routing key, not by a user's credentials.
const PUBLIC: &[&str] = &[
    "GET /healthz",
    "GET /readyz",
    "GET /openapi.json",
    "POST /api/v1/auth/login",
    "GET /login",
    "POST /login",
    "POST /v2/enqueue",
    "POST /api/v1/alertmanager",
];

fn is_public(route: &str) -> bool {
    PUBLIC.contains(&route) || route.starts_with("GET /assets/")
}

/// Routes of the API that its OpenAPI document does not describe: the document itself.
const UNDOCUMENTED_API_ROUTES: &[&str] = &["GET /openapi.json"];

/// A schedule that puts ana on call every day (its slug is set by the caller).
fn schedule_body() -> Value {
    json!({"slug": "rota", "name": "A rota", "spec": {"time_zone": "Europe/Berlin",
        "layers": [{"name": "days", "users": ["ana"], "start": "2026-01-05T09:00", "turn": "1d"}]}})
}

/// An override of a schedule: ana covering two hours.
fn cover() -> Value {
    json!({"user": "ana", "start": "2031-03-03T09:00:00Z", "end": "2031-03-03T11:00:00Z"})
}

/// The matrix in force: the seeded ladder, and credit limits with an override of 10 for each
/// caller, so that 5 is within anyone's authority and 100 asks a supervisor for approval.
fn matrix() -> String {
    [SEEDED_LEVELS, CREDIT_LIMITS, "users = { ana = 10, sam = 10, maria = 10, root = 10 }\n"].concat()
}

// ---- the table ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Status(u16),
    /// The console's redirect to its sign-in page.
    SignIn,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Status(s) => write!(f, "{s}"),
            Answer::SignIn => write!(f, "login"),
        }
    }
}

impl Answer {
    fn is_refusal(self) -> bool {
        matches!(self, Answer::SignIn | Answer::Status(401 | 403 | 404))
    }
}

struct Row {
    scope: String,
    answers: Vec<Answer>,
    line: usize,
}

struct Section {
    route: String,
    rows: Vec<Row>,
    line: usize,
}

impl Section {
    fn method(&self) -> &str {
        self.route.split_once(' ').expect("METHOD PATH").0
    }
}

fn parse_table(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(route) = line.strip_prefix('[') {
            let route = route.strip_suffix(']').unwrap_or_else(|| panic!("line {}: `[METHOD /path]`", n + 1));
            sections.push(Section { route: route.to_string(), rows: Vec::new(), line: n + 1 });
            continue;
        }
        let mut words = line.split_whitespace();
        let scope = words.next().expect("a scope").to_string();
        let answers: Vec<Answer> = words
            .map(|w| match w {
                "login" => Answer::SignIn,
                s => Answer::Status(s.parse().unwrap_or_else(|_| panic!("line {}: `{s}` is not an answer", n + 1))),
            })
            .collect();
        assert_eq!(answers.len(), CALLERS.len(), "line {}: one answer per caller", n + 1);
        let section = sections.last_mut().unwrap_or_else(|| panic!("line {}: a row before any section", n + 1));
        section.rows.push(Row { scope, answers, line: n + 1 });
    }
    sections
}

// ---- the server's routes ----

/// The API's routes, from its OpenAPI document.
async fn api_routes(server: &Server) -> BTreeSet<String> {
    let doc: Value = reqwest::get(server.url("/openapi.json")).await.unwrap().json().await.unwrap();
    let mut routes = BTreeSet::new();
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        for method in operations.as_object().expect("operations").keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                routes.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    routes.extend(UNDOCUMENTED_API_ROUTES.iter().map(|r| r.to_string()));
    routes
}

/// The console's routes, read from its router: every `.route("PATH", get(…).post(…))` in
/// `crates/http/src/web/`, with the methods of its method router.
fn console_routes() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../http/src/web");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("the console's sources") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (at, _) in text.match_indices(".route(\"") {
            let rest = &text[at + ".route(\"".len()..];
            let route = &rest[..rest.find('"').expect("the path's closing quote")];
            // The method router: the rest of the call, up to its closing parenthesis.
            let mut depth = 1;
            let mut methods = Vec::new();
            let bytes = rest.as_bytes();
            for (i, &b) in bytes.iter().enumerate() {
                match b {
                    b'(' => {
                        let word_start =
                            rest[..i].rfind(|c: char| !c.is_ascii_alphanumeric() && c != '_').map_or(0, |s| s + 1);
                        let word = &rest[word_start..i];
                        if depth == 1 && ["get", "post", "put", "patch", "delete"].contains(&word) {
                            methods.push(word.to_uppercase());
                        }
                        depth += 1;
                    }
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            assert!(!methods.is_empty(), "{}: no method for the route {route}", path.display());
            routes.extend(methods.into_iter().map(|m| format!("{m} {route}")));
        }
    }
    assert!(routes.len() > 20, "the console's routes were found: {routes:?}");
    routes
}

// ---- the world and the calls ----

/// What a cell sends.
enum Body {
    None,
    Json(Value),
    Toml(String),
    Form(Vec<(String, String)>),
    /// A raw email (`message/rfc822`).
    Mail(String),
}

/// Whose credentials a cell sends.
enum Who {
    /// The column's caller (none for `anonymous`).
    Caller,
    /// This bearer token (the API) or console session (the console) instead.
    Credential(String),
}

struct Call {
    path: String,
    body: Body,
    who: Who,
    /// Extra cookies (the sign-in form's own).
    cookies: Vec<String>,
}

impl Call {
    fn new(path: impl Into<String>, body: Body) -> Call {
        Call { path: path.into(), body, who: Who::Caller, cookies: Vec::new() }
    }
    fn by(mut self, credential: String) -> Call {
        self.who = Who::Credential(credential);
        self
    }
}

struct World {
    api: Api,
    web: Console,
    base: String,
    /// API tokens by user name.
    tokens: BTreeMap<String, String>,
    /// Console sessions by user name.
    sessions: BTreeMap<String, String>,
    next: AtomicU64,
    /// Today (UTC), for simulations.
    today: String,
    /// Where the server emails customers: the portal's links come from here.
    sink: SmtpSink,
}

/// The team each fixture case ends at, by scope.
fn team_of(scope: &str) -> &'static str {
    match scope {
        "own-team" | "own-request" => "supervisors",
        _ => "billing",
    }
}

/// The other team of the same level, for transfers.
fn sibling(team: &str) -> &'static str {
    if team == "supervisors" { "billing" } else { "supervisors" }
}

fn form(fields: &[(&str, &str)]) -> Body {
    Body::Form(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

impl World {
    fn unique(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.next.fetch_add(1, Ordering::Relaxed))
    }

    fn root(&self) -> &str {
        &self.tokens["root"]
    }

    /// A call the fixture makes, which must succeed; its answer.
    async fn must(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Value {
        let (s, v) = self.api.call(token, method, path, body).await;
        assert!((200..300).contains(&s), "fixture {method} {path}: {s} {v}");
        v
    }

    /// A customer portal link (`/portal/TOKEN`) to a new case of a new customer, as the
    /// public reply root writes on it emails it; resolved first when `resolved`.
    async fn portal_link(&self, resolved: bool) -> String {
        let email = format!("{}@example.com", self.unique("portal"));
        let open = json!({"subject": "Portal case", "team": "frontline", "requester": {"name": "Kim", "email": email}});
        let case = self.must(self.root(), "POST", "/api/v1/cases", Some(open)).await;
        let id = case["id"].as_str().unwrap();
        self.must(self.root(), "POST", &format!("/api/v1/cases/{id}/messages"), Some(json!({"body": "On it."}))).await;
        if resolved {
            self.must(self.root(), "POST", &format!("/api/v1/cases/{id}/resolve"), Some(json!({"code": "fixed"})))
                .await;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let mail = self.sink.messages().into_iter().find(|m| m.recipients.contains(&email));
            if let Some(mail) = mail {
                let text = mail.unfolded();
                let at = text.find("/portal/").expect("a portal link") + "/portal/".len();
                let token: String = text[at..].chars().take_while(|c| c.is_ascii_hexdigit()).collect();
                return format!("/portal/{token}");
            }
            assert!(std::time::Instant::now() < deadline, "no email to {email}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A case in `scope` for `user`, as root makes it: opened at the front line (assigned to
    /// `user` for `task-for-me`), escalated on to its team.
    async fn case(&self, scope: &str, user: &str) -> Value {
        let mut open = json!({"subject": format!("Case for {scope}"), "team": "frontline"});
        if scope == "task-for-me" {
            // The user worked the front line then.
            self.set_teams(user, &["supervisors", "frontline"]).await;
            open["assignee"] = json!(user);
        }
        let case = self.must(self.root(), "POST", "/api/v1/cases", Some(open)).await;
        if scope == "task-for-me" {
            self.set_teams(user, &["supervisors"]).await;
        }
        let id = case["id"].as_str().unwrap().to_string();
        let escalate = |team: &str| json!({"kind": "functional", "to_team": team, "reason": "needs that team", "tried": "the usual"});
        let path = |tail: &str| format!("/api/v1/cases/{id}/{tail}");
        if scope == "escalated-away" {
            self.must(self.root(), "POST", &path("escalate"), Some(escalate("supervisors"))).await;
        }
        self.must(self.root(), "POST", &path("escalate"), Some(escalate(team_of(scope)))).await;
        if matches!(scope, "assigned" | "worked") {
            // Only a member of the case's team may be assigned it: the user was in billing
            // when it was assigned, and has left since.
            self.set_teams(user, &["supervisors", "billing"]).await;
            self.must(self.root(), "POST", &path("assign"), Some(json!({"assignee": user}))).await;
            self.set_teams(user, &["supervisors"]).await;
        }
        if scope == "worked" {
            self.must(self.root(), "POST", &path("assign"), Some(json!({"assignee": "erin"}))).await;
        }
        self.must(self.root(), "GET", &format!("/api/v1/cases/{id}"), None).await
    }

    /// A delivery with an address: an escalation to billing emails a new member of it.
    async fn delivery(&self) -> String {
        let name = self.unique("mailed-");
        let email = format!("{name}@example.com");
        let body = json!({"name": name, "role": "agent", "teams": ["billing"], "email": email});
        self.must(self.root(), "POST", "/api/v1/users", Some(body)).await;
        let case = self
            .must(self.root(), "POST", "/api/v1/cases", Some(json!({"subject": "notified", "team": "frontline"})))
            .await;
        let escalate =
            json!({"kind": "functional", "to_team": "billing", "reason": "needs billing", "tried": "the usual"});
        self.must(
            self.root(),
            "POST",
            &format!("/api/v1/cases/{}/escalate", case["id"].as_str().unwrap()),
            Some(escalate),
        )
        .await;
        let page = self
            .must(self.root(), "GET", &format!("/api/v1/deliveries?case={}&channel=email", case["number"]), None)
            .await;
        let row = page["items"].as_array().unwrap().iter().find(|d| d["address"] == email.as_str()).cloned();
        row.unwrap_or_else(|| panic!("no delivery to {email}: {page}"))["id"].to_string()
    }

    /// Makes `user`'s teams these.
    async fn set_teams(&self, user: &str, teams: &[&str]) {
        let u = self.must(self.root(), "GET", &format!("/api/v1/users/{user}"), None).await;
        let body = json!({"name": user, "role": u["role"], "teams": teams, "active": true});
        self.must(self.root(), "PUT", &format!("/api/v1/users/{user}"), Some(body)).await;
    }

    /// Puts the case in the state the route needs: resolved, with a task, with an approval
    /// request (by `requester`).
    async fn prepare_case(&self, id: &str, route_tail: &str, requester: &str) {
        let path = |tail: &str| format!("/api/v1/cases/{id}/{tail}");
        match route_tail {
            "reopen" | "close" | "csat" => {
                self.must(self.root(), "POST", &path("resolve"), Some(json!({"code": "fixed"}))).await;
            }
            "tasks/{task}/answer" => {
                self.must(self.root(), "POST", &path("ask-front-line"), Some(json!({"question": "Which invoice?"})))
                    .await;
            }
            "approvals/{approval}" => {
                let body = json!({"action": "credit", "amount": 100});
                let case = self.must(&self.tokens[requester], "POST", &path("actions"), Some(body)).await;
                assert_eq!(case["approvals"][0]["state"], "pending", "an approval request: {case}");
            }
            _ => {}
        }
    }

    /// A new user of `role` in the callers' team, with the seeded password and a token.
    async fn fresh_user(&self, role: &str) -> (String, String) {
        let name = self.unique(&format!("{role}-"));
        let body = json!({"name": name, "role": role, "teams": ["supervisors"], "password": PASSWORD});
        self.must(self.root(), "POST", "/api/v1/users", Some(body)).await;
        let token = self.must(self.root(), "POST", "/api/v1/tokens", Some(json!({"name": "t", "user": name}))).await;
        (name, token["token"].as_str().unwrap().to_string())
    }

    /// A new console session of `user`, and its CSRF token.
    async fn fresh_session(&self, user: &str) -> (String, String) {
        let session = self.web.login(user, PASSWORD).await;
        let csrf = csrf_of(&self.web.get(Some(&session), "/queue").await.body);
        (session, csrf)
    }

    /// A new sign-in session token of `user` (`POST /api/v1/auth/login`).
    async fn login_session(&self, user: &str) -> String {
        let resp = self
            .api
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"name": user, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "sign in as {user}");
        resp.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }

    async fn customer(&self, scope: &str) -> String {
        let name = self.unique("Customer ");
        let c = self.must(self.root(), "POST", "/api/v1/customers", Some(json!({"name": name}))).await;
        let id = c["id"].as_str().unwrap().to_string();
        if scope != "no-cases" {
            let team = if scope == "own-case" { "supervisors" } else { "billing" };
            let open = json!({"subject": "A customer's case", "team": team, "customer_id": id});
            self.must(self.root(), "POST", "/api/v1/cases", Some(open)).await;
        }
        id
    }

    async fn draft(&self) -> String {
        let name = self.unique("draft-");
        let (s, v) = self.api.upload_matrix(self.root(), &name, &matrix()).await;
        assert_eq!(s, 200, "{v}");
        name
    }

    async fn simulation(&self, token: &str) -> String {
        let body = json!({"draft": "base", "from": self.today, "to": self.today});
        let v = self.must(token, "POST", "/api/v1/simulations", Some(body)).await;
        v["id"].as_str().unwrap().to_string()
    }

    /// A macro in `scope`: the `supervisors` team's (own-team), billing's (other-team), the
    /// caller's own (self) or erin's (other-user).
    async fn macro_in(&self, scope: &str, user: &str) -> String {
        let mut body = json!({"name": self.unique("Macro "), "body": "Hello {{customer.name}}"});
        let owner = match scope {
            "own-team" => {
                body["team"] = json!("supervisors");
                self.root()
            }
            "other-team" => {
                body["team"] = json!("billing");
                self.root()
            }
            "self" => self.tokens.get(user).unwrap_or(&self.tokens["erin"]),
            _ => &self.tokens["erin"],
        };
        let v = self.must(owner, "POST", "/api/v1/macros", Some(body)).await;
        v["id"].as_str().unwrap().to_string()
    }

    /// An article in `scope`: `published` or `draft`, written by root.
    async fn article_in(&self, scope: &str) -> String {
        let status = if scope == "draft" { "draft" } else { "published" };
        let body = json!({"title": self.unique("Article "), "body": "Restart the **router**.", "audience": "L1", "status": status});
        let v = self.must(self.root(), "POST", "/api/v1/articles", Some(body)).await;
        v["id"].as_str().unwrap().to_string()
    }

    /// A schedule of ana's, made by root; its slug.
    async fn schedule(&self) -> String {
        let slug = self.unique("rota-");
        let mut body = schedule_body();
        body["slug"] = json!(slug);
        self.must(self.root(), "POST", "/api/v1/schedules", Some(body)).await;
        slug
    }

    /// A service of the `supervisors` team (own-team) or billing's (other-team), root's.
    async fn service_in(&self, scope: &str) -> String {
        let team = if scope == "other-team" { "billing" } else { "supervisors" };
        let body = json!({"name": self.unique("svc-"), "team": team});
        let v = self.must(self.root(), "POST", "/api/v1/services", Some(body)).await;
        v["id"].as_str().unwrap().to_string()
    }

    /// A service's new integration key: (key id, routing key).
    async fn service_key(&self, service: &str) -> (String, String) {
        let v = self.must(self.root(), "POST", &format!("/api/v1/services/{service}/keys"), Some(json!({}))).await;
        (v["key"]["id"].as_str().unwrap().to_string(), v["routing_key"].as_str().unwrap().to_string())
    }

    /// An open incident of a service in `scope`, triggered through the Events API v2.
    async fn incident_in(&self, scope: &str) -> String {
        let service = self.service_in(scope).await;
        let (_, key) = self.service_key(&service).await;
        let event = json!({"routing_key": key, "event_action": "trigger",
            "payload": {"summary": "Disk full", "source": "db-1", "severity": "error"}});
        let resp = self.api.client.post(format!("{}/v2/enqueue", self.base)).json(&event).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 202, "fixture /v2/enqueue");
        let list = self.must(self.root(), "GET", &format!("/api/v1/incidents?service={service}"), None).await;
        list[0]["id"].as_str().unwrap().to_string()
    }

    async fn token_of(&self, user: &str) -> String {
        let v = self.must(self.root(), "POST", "/api/v1/tokens", Some(json!({"name": "spare", "user": user}))).await;
        v["id"].as_str().unwrap().to_string()
    }

    async fn team(&self) -> String {
        let slug = self.unique("desk-");
        let body = json!({"slug": slug, "name": "A desk", "level": "L1", "kind": "front_line"});
        self.must(self.root(), "POST", "/api/v1/teams", Some(body)).await;
        slug
    }

    /// What a cell of an API route sends: its targets made for `user` (the column's user, or
    /// ann's for `anonymous`).
    async fn api_call(&self, route: &str, scope: &str, user: &str, role: &str) -> Call {
        let (base, variant) = scope.split_once(':').unwrap_or((scope, ""));
        let (method, path) = route.split_once(' ').unwrap();
        if let Some(tail) = path.strip_prefix("/api/v1/cases/{id}") {
            let tail = tail.trim_start_matches('/');
            let case = self.case(base, user).await;
            let id = case["id"].as_str().unwrap();
            let requester = match base {
                "own-request" => user,
                "own-team" => "olga",
                _ => "erin",
            };
            self.prepare_case(id, tail, requester).await;
            let team = team_of(base);
            let body = match (tail, variant) {
                ("", _) if method == "PATCH" => json!({"priority": "high"}),
                ("messages", _) => json!({"body": "Checked the logs", "visibility": "internal"}),
                ("assign", "to-other") => json!({"assignee": "olga"}),
                ("assign", "unassign") => json!({"assignee": null}),
                ("assign", _) => json!({"assignee": "me"}),
                ("transfer", _) => json!({"to_team": sibling(team), "reason": "the other desk handles it"}),
                ("escalate", "as-system") => {
                    json!({"kind": "hierarchical", "initiator": "system", "reason": "overdue"})
                }
                ("escalate", _) => {
                    json!({"kind": "functional", "to_team": "management", "reason": "a manager decides", "tried": "policy"})
                }
                ("de-escalate", _) => json!({"to_team": "frontline", "guidance": "call the customer back"}),
                ("request-info", _) => json!({"question": "Which invoice?"}),
                ("resolve", _) => json!({"code": "fixed"}),
                ("reopen", _) => json!({"reason": "still broken"}),
                ("close", _) => json!({}),
                ("ask-front-line", _) => json!({"question": "Ask for the invoice number"}),
                ("tasks/{task}/answer", _) => json!({"answer": "INV-7"}),
                ("csat", _) => json!({"score": 4}),
                ("callbacks", _) => json!({"team": "frontline", "window_start": "2031-03-03T09:00",
                    "window_end": "2031-03-03T11:00", "time_zone": "UTC"}),
                ("actions", _) => json!({"action": "credit", "amount": 5}),
                ("approvals/{approval}", _) => json!({"decision": "deny", "comment": "not this time"}),
                _ => Value::Null,
            };
            let path = path.replace("{id}", id).replace("{task}", "0").replace("{approval}", "0");
            let body = if method == "GET" { Body::None } else { Body::Json(body) };
            return Call::new(path, body);
        }
        let json_call = |path: String, body: Value| Call::new(path, Body::Json(body));
        match route {
            "POST /api/v1/auth/login" => {
                let name = if role == "anonymous" { "erin" } else { user };
                let password = if scope == "right-password" { PASSWORD } else { "not the password" };
                json_call(path.into(), json!({"name": name, "password": password}))
            }
            "POST /api/v1/auth/logout" => Call::new(path, Body::None).by(self.login_session(user).await),
            "POST /api/v1/cases" => {
                let mut body = json!({"subject": "A new case", "team": if base == "own-team" { "supervisors" } else { "billing" }});
                if variant == "to-other" {
                    body["assignee"] = json!("olga");
                }
                json_call(path.into(), body)
            }
            "POST /api/v1/macros" => {
                let mut body = json!({"name": self.unique("Macro "), "body": "Hi {{customer.name}}"});
                match base {
                    "own-team" => body["team"] = json!("supervisors"),
                    "other-team" => body["team"] = json!("billing"),
                    _ => {}
                }
                json_call(path.into(), body)
            }
            "GET /api/v1/macros/{id}" | "PUT /api/v1/macros/{id}" | "DELETE /api/v1/macros/{id}" => {
                let path = path.replace("{id}", &self.macro_in(base, user).await);
                let mut body = json!({"name": self.unique("Renamed "), "body": "Bye {{agent.name}}"});
                match base {
                    "own-team" => body["team"] = json!("supervisors"),
                    "other-team" => body["team"] = json!("billing"),
                    _ => {}
                }
                if method == "PUT" { json_call(path, body) } else { Call::new(path, Body::None) }
            }
            "POST /api/v1/services" => {
                json_call(path.into(), json!({"name": self.unique("svc-"), "team": "supervisors"}))
            }
            "GET /api/v1/services/{id}"
            | "PUT /api/v1/services/{id}"
            | "DELETE /api/v1/services/{id}"
            | "GET /api/v1/services/{id}/keys"
            | "POST /api/v1/services/{id}/keys" => {
                let path = path.replace("{id}", &self.service_in(base).await);
                match route {
                    "PUT /api/v1/services/{id}" => {
                        json_call(path, json!({"name": self.unique("svc-"), "team": "supervisors"}))
                    }
                    "POST /api/v1/services/{id}/keys" => json_call(path, json!({"label": "probe"})),
                    _ => Call::new(path, Body::None),
                }
            }
            "DELETE /api/v1/services/{id}/keys/{key}" => {
                let service = self.service_in(base).await;
                let (key, _) = self.service_key(&service).await;
                Call::new(path.replace("{id}", &service).replace("{key}", &key), Body::None)
            }
            "GET /api/v1/incidents/{id}"
            | "POST /api/v1/incidents/{id}/acknowledge"
            | "POST /api/v1/incidents/{id}/unacknowledge"
            | "POST /api/v1/incidents/{id}/resolve" => {
                let id = self.incident_in(base).await;
                if route.ends_with("/unacknowledge") {
                    self.must(self.root(), "POST", &format!("/api/v1/incidents/{id}/acknowledge"), None).await;
                }
                Call::new(path.replace("{id}", &id), Body::None)
            }
            "POST /api/v1/articles" => json_call(
                path.into(),
                json!({"title": "Reset", "body": "Unplug it.", "audience": "L1", "status": "draft"}),
            ),
            "GET /api/v1/articles/{id}"
            | "PUT /api/v1/articles/{id}"
            | "DELETE /api/v1/articles/{id}"
            | "GET /api/v1/articles/{id}/versions" => {
                let path = path.replace("{id}", &self.article_in(base).await);
                let body = json!({"title": "Reset, again", "body": "Unplug it twice.", "audience": "L2", "status": "published"});
                if method == "PUT" { json_call(path, body) } else { Call::new(path, Body::None) }
            }
            "POST /api/v1/schedules" => {
                let mut body = schedule_body();
                body["slug"] = json!(self.unique("rota-"));
                json_call(path.into(), body)
            }
            "GET /api/v1/schedules/{id}"
            | "PUT /api/v1/schedules/{id}"
            | "DELETE /api/v1/schedules/{id}"
            | "GET /api/v1/schedules/{id}/overrides"
            | "POST /api/v1/schedules/{id}/overrides"
            | "GET /api/v1/schedules/{id}/on-call"
            | "GET /api/v1/schedules/{id}/shifts"
            | "GET /api/v1/schedules/{id}/gaps" => {
                let slug = self.schedule().await;
                let path = path.replace("{id}", &slug);
                match method {
                    "PUT" => {
                        let mut body = schedule_body();
                        body["slug"] = json!(slug);
                        json_call(path, body)
                    }
                    "POST" => json_call(path, cover()),
                    _ => Call::new(path, Body::None),
                }
            }
            "DELETE /api/v1/schedules/{id}/overrides/{override_id}" => {
                let slug = self.schedule().await;
                let added =
                    self.must(self.root(), "POST", &format!("/api/v1/schedules/{slug}/overrides"), Some(cover())).await;
                let path = path.replace("{id}", &slug).replace("{override_id}", added["id"].as_str().unwrap());
                Call::new(path, Body::None)
            }
            "POST /api/v1/feeds" => {
                let body = match base {
                    "other" => json!({"user": "erin"}),
                    "schedule" => json!({"schedule": self.schedule().await}),
                    _ => json!({}),
                };
                json_call(path.into(), body)
            }
            "DELETE /api/v1/feeds/{id}" => {
                let owner = if base == "self" { user } else { "erin" };
                let feed = self.must(self.root(), "POST", "/api/v1/feeds", Some(json!({"user": owner}))).await;
                Call::new(path.replace("{id}", feed["id"].as_str().unwrap()), Body::None)
            }
            "GET /api/v1/calendars/{token}" => {
                let feed = self.must(self.root(), "POST", "/api/v1/feeds", Some(json!({}))).await;
                let token = if base == "valid" { feed["token"].as_str().unwrap() } else { "ldrcal_not-a-feed" };
                Call::new(path.replace("{token}", token), Body::None)
            }
            "POST /api/v1/customers" => json_call(path.into(), json!({"name": self.unique("Customer ")})),
            "GET /api/v1/customers/{id}"
            | "PUT /api/v1/customers/{id}"
            | "PUT /api/v1/customers/{id}/status"
            | "DELETE /api/v1/customers/{id}" => {
                let path = path.replace("{id}", &self.customer(base).await);
                match method {
                    "PUT" if path.ends_with("/status") => json_call(path, json!({"status": "churned"})),
                    "PUT" => json_call(path, json!({"name": "Renamed"})),
                    _ => Call::new(path, Body::None),
                }
            }
            "POST /api/v1/customers/{id}/merge" => {
                let survivor = self.customer(base).await;
                let duplicate = self.customer("no-cases").await;
                json_call(path.replace("{id}", &survivor), json!({"duplicate": duplicate}))
            }
            "POST /api/v1/inbound/email" => {
                let from = self.unique("sender");
                let id = self.unique("m");
                let raw = format!(
                    "From: {from}@mail.example\r\nSubject: Help\r\nMessage-ID: <{id}@mail.example>\r\n\r\nMy order is late.\r\n"
                );
                Call::new(path, Body::Mail(raw))
            }
            // Signed webhooks: a token of any role, without the signature, is refused (the
            // signed requests are tested in inbound_contacts.rs).
            "POST /api/v1/inbound/sms" => {
                let fields = [("MessageSid", "SM1"), ("From", "+447700900123"), ("Body", "Help")];
                Call::new(path, Body::Form(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()))
            }
            "POST /api/v1/inbound/contact" => json_call(
                path.into(),
                json!({"id": self.unique("evt-"), "kind": "message", "platform": "webchat", "handle": "v",
                    "conversation_id": "c", "text": "Help"}),
            ),
            "POST /api/v1/teams" => json_call(
                path.into(),
                json!({"slug": self.unique("desk-"), "name": "A desk", "level": "L1", "kind": "front_line"}),
            ),
            "GET /api/v1/teams/{id}" => Call::new(path.replace("{id}", team_of(base)), Body::None),
            "PUT /api/v1/teams/{id}" => {
                let slug = self.team().await;
                let body = json!({"slug": slug, "name": "Renamed desk", "level": "L1", "kind": "front_line"});
                json_call(path.replace("{id}", &slug), body)
            }
            "DELETE /api/v1/teams/{id}" => Call::new(path.replace("{id}", &self.team().await), Body::None),
            "POST /api/v1/users" => {
                let body =
                    json!({"name": self.unique("user-"), "role": "agent", "teams": ["billing"], "password": PASSWORD});
                json_call(path.into(), body)
            }
            "GET /api/v1/users/{id}" => {
                Call::new(path.replace("{id}", if base == "self" { user } else { "erin" }), Body::None)
            }
            "PUT /api/v1/users/{id}" => {
                let (name, role) = if base == "self" {
                    (user.to_string(), CALLERS.iter().find(|c| c.1 == Some(user)).map_or("agent", |c| c.0))
                } else {
                    (self.fresh_user("agent").await.0, "agent")
                };
                let body = json!({"name": name, "role": role, "teams": ["supervisors"], "active": true});
                json_call(path.replace("{id}", &name), body)
            }
            "DELETE /api/v1/users/{id}" => {
                let name = if base == "self" { user.to_string() } else { self.fresh_user("agent").await.0 };
                Call::new(path.replace("{id}", &name), Body::None)
            }
            "POST /api/v1/users/{id}/password" => {
                if base == "self" {
                    let (_, token) = self.fresh_user(role_or_agent(role)).await;
                    let body = json!({"password": "a brand new secret", "current_password": PASSWORD});
                    json_call(path.replace("{id}", "me"), body).by(token)
                } else {
                    let (name, _) = self.fresh_user("agent").await;
                    json_call(path.replace("{id}", &name), json!({"password": "reset by someone"}))
                }
            }
            "POST /api/v1/tokens" => {
                let mut body = json!({"name": "script"});
                match (base, variant) {
                    ("other", _) => body["user"] = json!("erin"),
                    ("from-session", "wrong-password") => body["password"] = json!("not my password"),
                    ("from-session", "password") => body["password"] = json!(PASSWORD),
                    _ => {}
                }
                let call = json_call(path.into(), body);
                if base == "from-session" { call.by(self.login_session(user).await) } else { call }
            }
            "DELETE /api/v1/tokens" => Call::new(path, Body::None).by(self.fresh_user(role_or_agent(role)).await.1),
            "DELETE /api/v1/tokens/{id}" => {
                let owner = if base == "self" { user } else { "erin" };
                Call::new(path.replace("{id}", &self.token_of(owner).await), Body::None)
            }
            "GET /api/v1/agents" => {
                let query = match base {
                    "own-team" => "?team=supervisors",
                    "other-team" => "?team=billing",
                    _ => "",
                };
                Call::new(format!("{path}{query}"), Body::None)
            }
            "GET /api/v1/agents/{user}"
            | "PUT /api/v1/agents/{user}/profile"
            | "PUT /api/v1/agents/{user}/presence" => {
                let target = match base {
                    "self" => user,
                    "own-team-agent" => "olga",
                    "other-team-agent" => "erin",
                    _ => "sue",
                };
                let path = path.replace("{user}", target);
                match route {
                    "PUT /api/v1/agents/{user}/profile" => json_call(path, json!({"skills": {"billing": 3}})),
                    "PUT /api/v1/agents/{user}/presence" => json_call(path, json!({"presence": "away"})),
                    _ => Call::new(path, Body::None),
                }
            }
            "GET /api/v1/queues/{team}" | "POST /api/v1/queues/{team}/next" => {
                let team = team_of(base);
                // Something to take.
                let open = json!({"subject": "Waiting in the queue", "team": team});
                self.must(self.root(), "POST", "/api/v1/cases", Some(open)).await;
                Call::new(
                    path.replace("{team}", team),
                    if method == "POST" { Body::Json(json!({})) } else { Body::None },
                )
            }
            "GET /api/v1/search" => Call::new(format!("{path}?q=waiting"), Body::None),
            "GET /api/v1/matrix/drafts/{name}" => Call::new(path.replace("{name}", "base"), Body::None),
            "PUT /api/v1/matrix/drafts/{name}" => {
                Call::new(path.replace("{name}", &self.unique("draft-")), Body::Toml(matrix()))
            }
            "DELETE /api/v1/matrix/drafts/{name}" | "POST /api/v1/matrix/drafts/{name}/activate" => {
                Call::new(path.replace("{name}", &self.draft().await), Body::None)
            }
            "POST /api/v1/matrix/check" => Call::new(path, Body::Toml(matrix())),
            "GET /api/v1/deliveries/{id}" | "POST /api/v1/deliveries/{id}/redeliver" => {
                Call::new(path.replace("{id}", &self.delivery().await), Body::None)
            }
            "PUT /api/v1/notification-templates/{key}/{language}" => {
                let path = path.replace("{key}", "escalated").replace("{language}", &self.unique("l"));
                json_call(path, json!({"subject": "Case {{case.number}}", "body": "{{event.detail}}"}))
            }
            "DELETE /api/v1/notification-templates/{key}/{language}" => {
                let path = path.replace("{key}", "escalated").replace("{language}", &self.unique("l"));
                self.must(self.root(), "PUT", &path, Some(json!({"subject": "s", "body": "b"}))).await;
                Call::new(path, Body::None)
            }
            "POST /api/v1/notification-templates/preview" => {
                json_call(path.into(), json!({"subject": "Case {{case.number}}", "body": "{{case.subject}}"}))
            }
            "GET /api/v1/matrix/versions/{version}" => Call::new(path.replace("{version}", "1"), Body::None),
            "POST /api/v1/matrix/rollback" => json_call(path.into(), json!({})),
            // No model is stored: those who may read or activate one are told it is not there.
            "GET /api/v1/models/{version}" | "POST /api/v1/models/{version}/activate" => {
                Call::new(path.replace("{version}", "1"), Body::None)
            }
            "POST /api/v1/simulations" => {
                let body = json!({"draft": "base", "from": self.today, "to": self.today});
                json_call(path.into(), body).by(self.fresh_user(role_or_agent(role)).await.1)
            }
            "GET /api/v1/simulations/{id}" | "DELETE /api/v1/simulations/{id}" => {
                if base == "own" && matches!(role, "manager" | "admin") {
                    let (_, token) = self.fresh_user(role).await;
                    let id = self.simulation(&token).await;
                    Call::new(path.replace("{id}", &id), Body::None).by(token)
                } else {
                    let (_, token) = self.fresh_user("manager").await;
                    Call::new(path.replace("{id}", &self.simulation(&token).await), Body::None)
                }
            }
            _ => {
                assert!(!path.contains('{'), "no fixture for {route}");
                Call::new(path, if method == "GET" { Body::None } else { Body::Json(json!({})) })
            }
        }
    }

    /// What a cell of a console route sends.
    async fn console_call(&self, route: &str, scope: &str, user: &str, role: &str) -> Call {
        let base = scope.split_once(':').map_or(scope, |(base, _)| base);
        let (method, path) = route.split_once(' ').unwrap();
        if let Some(tail) = path.strip_prefix("/cases/{number}") {
            let tail = tail.trim_start_matches('/');
            let case = self.case(base, user).await;
            let requester = match base {
                "own-request" => user,
                "own-team" => "olga",
                _ => "erin",
            };
            self.prepare_case(case["id"].as_str().unwrap(), tail, requester).await;
            let number = case["number"].to_string();
            let path = path.replace("{number}", &number).replace("{approval}", "0");
            let body = match tail {
                "" => Body::None,
                "reply" | "note" => form(&[("body", "Checked the logs")]),
                "escalate" => form(&[
                    ("kind", "functional"),
                    ("to_team", "management"),
                    ("reason", "a manager decides"),
                    ("tried", "policy"),
                ]),
                "de-escalate" => form(&[("to_team", "frontline"), ("guidance", "call the customer back")]),
                "request-info" => form(&[("question", "Which invoice?"), ("from", "customer")]),
                "resolve" => form(&[("code", "fixed")]),
                "actions" => form(&[("action", "credit"), ("amount", "5")]),
                "approvals/{approval}" => form(&[("decision", "deny"), ("comment", "not this time")]),
                // Someone of the case's team.
                "reassign" => form(&[("assignee", if team_of(base) == "supervisors" { "olga" } else { "tara" })]),
                "take-over" => form(&[]),
                other => panic!("no fixture for /cases/{{number}}/{other}"),
            };
            return Call::new(path, body);
        }
        if let Some(tail) = path.strip_prefix("/portal/{token}") {
            // The link is the credential; the caller's session changes nothing.
            let link = self.portal_link(tail == "/rating").await;
            let target = if base == "forged" { format!("/portal/{}", "0".repeat(112)) } else { link.clone() };
            let path = path.replace("/portal/{token}", &target);
            if method == "GET" {
                return Call::new(path, Body::None);
            }
            let page = self.web.get(None, &link).await;
            let cookie = page.set_cookies.iter().find(|c| c.starts_with("ladder_portal=")).expect("the form cookie");
            let csrf = if base == "no-form-token" { String::new() } else { csrf_of(&page.body) };
            let mut fields = vec![("csrf", csrf.as_str())];
            fields.push(match tail {
                "/reply" => ("body", "Any news?"),
                "/supervisor" => ("reason", "Nobody answers"),
                _ => ("score", "4"),
            });
            let mut call = Call::new(path, form(&fields));
            call.cookies.push(cookie.split(';').next().unwrap().to_string());
            return call;
        }
        match route {
            "POST /login" => {
                let name = if role == "anonymous" { "erin" } else { user };
                if base == "no-form-token" {
                    return Call::new(path, form(&[("name", name), ("password", PASSWORD)]));
                }
                let page = self.web.get(None, "/login").await;
                let cookie = page
                    .set_cookies
                    .iter()
                    .find(|c| c.starts_with("ladder_login="))
                    .map(|c| c.split(';').next().unwrap().to_string())
                    .expect("the sign-in form's cookie");
                let password = if base == "right-password" { PASSWORD } else { "not the password" };
                let mut call =
                    Call::new(path, form(&[("csrf", &csrf_of(&page.body)), ("name", name), ("password", password)]));
                call.cookies.push(cookie);
                call
            }
            "POST /macros" | "POST /macros/{id}" | "POST /macros/{id}/delete" => {
                let path = if path.contains("{id}") {
                    path.replace("{id}", &self.macro_in(base, user).await)
                } else {
                    path.into()
                };
                let team = match base {
                    "own-team" => "supervisors",
                    "other-team" => "billing",
                    _ => "",
                };
                let name = self.unique("Form macro ");
                let fields = [("name", name.as_str()), ("team", team), ("body", "Hello {{customer.name}}")];
                Call::new(path, form(if route.ends_with("/delete") { &[] } else { &fields }))
            }
            "POST /articles" | "GET /articles/{id}" | "POST /articles/{id}" | "POST /articles/{id}/delete" => {
                let path = if path.contains("{id}") {
                    path.replace("{id}", &self.article_in(base).await)
                } else {
                    path.into()
                };
                let fields = [("title", "Reset"), ("body", "Unplug it."), ("audience", "L1"), ("status", "published")];
                let body = match method {
                    "GET" => Body::None,
                    _ => form(if route.ends_with("/delete") { &[] } else { &fields }),
                };
                Call::new(path, body)
            }
            "POST /logout" => {
                let (session, csrf) = self.fresh_session(user).await;
                Call::new(path, form(&[("csrf", &csrf)])).by(session)
            }
            "POST /queue/{team}/next" => {
                let team = team_of(base);
                let open = json!({"subject": "Waiting in the queue", "team": team});
                self.must(self.root(), "POST", "/api/v1/cases", Some(open)).await;
                Call::new(path.replace("{team}", team), form(&[]))
            }
            "POST /matrix/check" => Call::new(path, form(&[("source", &matrix())])),
            "POST /matrix/drafts" => Call::new(path, form(&[("name", &self.unique("draft-")), ("source", &matrix())])),
            "POST /matrix/drafts/{name}/activate" => Call::new(path.replace("{name}", &self.draft().await), form(&[])),
            "POST /matrix/drafts/{name}/simulate" => {
                let (name, _) = self.fresh_user(role_or_agent(role)).await;
                let (session, csrf) = self.fresh_session(&name).await;
                let fields = [("csrf", csrf.as_str()), ("from", &self.today), ("to", &self.today)];
                Call::new(path.replace("{name}", "base"), form(&fields)).by(session)
            }
            "POST /matrix/rollback" => Call::new(path, form(&[("to_version", "")])),
            "GET /matrix/versions/{version}" => Call::new(path.replace("{version}", "1"), Body::None),
            "GET /matrix/simulations/{id}" => {
                let (_, token) = self.fresh_user("manager").await;
                Call::new(path.replace("{id}", &self.simulation(&token).await), Body::None)
            }
            "POST /admin/users" => Call::new(
                path,
                form(&[
                    ("name", &self.unique("user-")),
                    ("role", "agent"),
                    ("teams", "billing"),
                    ("password", PASSWORD),
                ]),
            ),
            "POST /admin/users/{name}" => {
                let (name, _) = self.fresh_user("agent").await;
                Call::new(path.replace("{name}", &name), form(&[("role", "agent"), ("teams", "billing")]))
            }
            "POST /admin/users/{name}/deactivate" => {
                let (name, _) = self.fresh_user("agent").await;
                Call::new(path.replace("{name}", &name), form(&[]))
            }
            "POST /profile/password" => {
                let (name, _) = self.fresh_user(role_or_agent(role)).await;
                let (session, csrf) = self.fresh_session(&name).await;
                let new = "a brand new secret";
                let fields =
                    [("csrf", csrf.as_str()), ("current_password", PASSWORD), ("password", new), ("repeat", new)];
                Call::new(path, form(&fields)).by(session)
            }
            "POST /profile/tokens" => Call::new(path, form(&[("name", "script"), ("password", PASSWORD)])),
            "POST /profile/tokens/{id}/revoke" => {
                let owner = if base == "self" { user } else { "erin" };
                Call::new(path.replace("{id}", &self.token_of(owner).await), form(&[]))
            }
            "POST /admin/teams" => Call::new(
                path,
                form(&[("slug", &self.unique("desk-")), ("name", "A desk"), ("level", "L1"), ("kind", "front_line")]),
            ),
            _ => {
                assert!(!path.contains('{'), "no fixture for {route}");
                Call::new(path, if method == "GET" { Body::None } else { form(&[]) })
            }
        }
    }

    /// Runs one cell: makes its targets, sends its call; what differs from the table, if
    /// anything.
    async fn cell(&self, section: &Section, row: &Row, column: usize) -> Option<String> {
        let (role, user) = CALLERS[column];
        // Anonymous calls carry no credentials; their targets are made for a user of their own.
        let user = user.unwrap_or("ann");
        let console = !is_api(&section.route);
        let call = if console {
            self.console_call(&section.route, &row.scope, user, role).await
        } else {
            self.api_call(&section.route, &row.scope, user, role).await
        };
        let expected = row.answers[column];
        let (got, detail) = self.send(section.method(), call, role, console).await;
        (got != Ok(expected)).then(|| {
            let got = got.map_or_else(|e| e, |a| a.to_string());
            format!(
                "line {}: {} {} as {role}: expected {expected}, got {got} {detail}",
                row.line, section.route, row.scope
            )
        })
    }

    /// Sends a cell's call and reads the answer: the status, or the console's redirect to its
    /// sign-in page; a console redirect that carries an error message is reported with it.
    async fn send(&self, method: &str, call: Call, role: &str, console: bool) -> (Result<Answer, String>, String) {
        let client = &self.web.client;
        let mut req = client.request(method.parse().unwrap(), format!("{}{}", self.base, call.path));
        let credential = match (&call.who, role) {
            (_, "anonymous") => None,
            (Who::Credential(c), _) => Some(c.clone()),
            (Who::Caller, _) => {
                let user = CALLERS.iter().find(|c| c.0 == role).and_then(|c| c.1).unwrap();
                Some(if console { self.sessions[user].clone() } else { self.tokens[user].clone() })
            }
        };
        let mut cookies = call.cookies;
        match (&credential, console) {
            (Some(c), true) => cookies.push(format!("ladder_session={c}")),
            (Some(c), false) => req = req.bearer_auth(c),
            (None, _) => {}
        }
        if !cookies.is_empty() {
            req = req.header("cookie", cookies.join("; "));
        }
        req = match call.body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Toml(t) => req.header("content-type", "application/toml").body(t),
            Body::Mail(m) => req.header("content-type", "message/rfc822").body(m),
            Body::Form(mut fields) => {
                // A console form carries the session's CSRF token unless the cell gave one.
                if console && !fields.iter().any(|(k, _)| k == "csrf") {
                    let token = match &credential {
                        Some(session) => csrf_of(&self.web.get(Some(session), "/queue").await.body),
                        None => "none".to_string(),
                    };
                    fields.push(("csrf".into(), token));
                }
                let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                req.header("content-type", "application/x-www-form-urlencoded").body(form_body(&fields))
            }
        };
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => return (Err(e.to_string()), String::new()),
        };
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_string);
        let set_cookies: Vec<String> =
            resp.headers().get_all("set-cookie").iter().filter_map(|c| c.to_str().ok()).map(str::to_string).collect();
        let flash = error_flash(&set_cookies);
        let streaming =
            resp.headers().get("content-type").is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
        let text = if streaming {
            String::new()
        } else {
            tokio::time::timeout(Duration::from_secs(10), resp.text())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
        };
        let mut detail = text;
        detail.truncate(detail.floor_char_boundary(300));
        if status == 303 && location.as_deref().is_some_and(|l| l == "/login" || l.starts_with("/login?next=")) {
            return (Ok(Answer::SignIn), detail);
        }
        if let Some(message) = flash {
            return (Err(format!("{status} with the error message: {message}")), detail);
        }
        (Ok(Answer::Status(status)), detail)
    }
}

/// The role of a column for fresh users (`anonymous` makes its calls without one anyway).
fn role_or_agent(role: &str) -> &str {
    if role == "anonymous" { "agent" } else { role }
}

fn is_api(route: &str) -> bool {
    let path = route.split_once(' ').unwrap().1;
    path.starts_with("/api/") || ["/metrics", "/healthz", "/readyz", "/openapi.json"].contains(&path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_caller_as_the_table_says() {
    let table = parse_table(TABLE);
    let dir = tempfile::tempdir().unwrap();
    let seeded = LADDER.seed_world(dir.path());
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    // Simulations wait in their queue and never run: the table is about who may start,
    // read and cancel them. The rate limits are raised out of the way: the table's
    // thousands of requests come from one address, and what it checks is who may, not how often.
    let server = Server::start_with(
        LADDER,
        dir.path(),
        &[
            ("LADDER_SIMULATION_SLOTS", "0"),
            ("LADDER_RATE_PER_IP", "1000000"),
            ("LADDER_BURST_PER_IP", "1000000"),
            ("LADDER_RATE_PER_TOKEN", "1000000"),
            ("LADDER_BURST_PER_TOKEN", "1000000"),
            ("LADDER_SMTP_URL", &smtp),
        ],
    );

    // Every route of the server is in the table, and nothing else is.
    let mut routes = api_routes(&server).await;
    routes.extend(console_routes());
    let listed: BTreeSet<String> = table.iter().map(|s| s.route.clone()).collect();
    let missing: Vec<&String> = routes.difference(&listed).collect();
    let unknown: Vec<&String> = listed.difference(&routes).collect();
    assert!(missing.is_empty(), "routes of the server with no section in authz_table.txt: {missing:#?}");
    assert!(unknown.is_empty(), "sections of authz_table.txt for routes the server does not have: {unknown:#?}");
    for section in &table {
        let refused = section.rows.iter().any(|r| r.answers.iter().any(|a| a.is_refusal()));
        assert!(
            refused || is_public(&section.route),
            "line {}: {} refuses nobody, yet it is not a public route",
            section.line,
            section.route
        );
    }

    // The world of the table's header.
    let web = Console::new(&server);
    let mut world = World {
        api: Api::new(&server),
        web,
        base: server.base.clone(),
        tokens: seeded.tokens.clone(),
        sessions: BTreeMap::new(),
        next: AtomicU64::new(1),
        today: jiff::Timestamp::now().strftime("%Y-%m-%d").to_string(),
        sink,
    };
    for name in ["ana", "sam", "maria", "root"] {
        world.set_teams(name, &["supervisors"]).await;
    }
    for (name, role) in [("olga", "agent"), ("sue", "supervisor"), ("ann", "agent")] {
        let body = json!({"name": name, "role": role, "teams": ["supervisors"], "password": PASSWORD});
        world.must(world.root(), "POST", "/api/v1/users", Some(body)).await;
        let t = world.must(world.root(), "POST", "/api/v1/tokens", Some(json!({"name": "t", "user": name}))).await;
        world.tokens.insert(name.to_string(), t["token"].as_str().unwrap().to_string());
    }
    world.api.activate_matrix(world.root(), &matrix()).await;
    let (s, v) = world.api.upload_matrix(world.root(), "base", &matrix()).await;
    assert_eq!(s, 200, "{v}");
    for name in ["ana", "sam", "maria", "root"] {
        let session = world.web.login(name, PASSWORD).await;
        world.sessions.insert(name.to_string(), session);
    }

    // The five cells of a row run at once: each caller's targets are their own. Rolling
    // back is the exception: it moves the one matrix in force, so those cells take turns.
    let mut wrong = Vec::new();
    let mut cells = 0;
    for section in &table {
        for row in &section.rows {
            let cell = |column: usize| world.cell(section, row, column);
            if section.route.ends_with("/rollback") {
                for column in 0..CALLERS.len() {
                    wrong.extend(cell(column).await);
                }
            } else {
                let (a, b, c, d, e) = tokio::join!(cell(0), cell(1), cell(2), cell(3), cell(4));
                wrong.extend([a, b, c, d, e].into_iter().flatten());
            }
            cells += CALLERS.len();
        }
    }
    assert!(wrong.is_empty(), "{} of {cells} cells differ from authz_table.txt:\n{}", wrong.len(), wrong.join("\n"));
}
