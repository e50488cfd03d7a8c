//! Clients of a running server: [`Api`] for the JSON API with bearer tokens, [`Console`] for
//! the web console as a browser without JavaScript sees it.

use serde_json::{Value, json};

use crate::server::Server;

/// The JSON API with bearer tokens. Every answer comes back as its status and its body as
/// JSON (a problem+json document for a refusal; `null` for an empty body; a string for a
/// body that is not JSON).
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

    /// [`Api::call`] with extra headers (`If-Match`, `Idempotency-Key` …).
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

    /// `POST path` with `body`, which must answer 200; returns the answer.
    pub async fn post_ok(&self, token: &str, path: &str, body: Value) -> Value {
        let (s, v) = self.call(token, "POST", path, Some(body)).await;
        assert_eq!(s, 200, "{path}: {v}");
        v
    }

    /// `POST /api/v1/cases/{case}/{command}` with `body`: a case command (`escalate`,
    /// `resolve`, `tasks/0/answer` …).
    pub async fn command(&self, token: &str, case: impl std::fmt::Display, command: &str, body: Value) -> (u16, Value) {
        self.call(token, "POST", &format!("/api/v1/cases/{case}/{command}"), Some(body)).await
    }

    /// `POST /api/v1/cases` with `body`, which must create the case; returns it.
    pub async fn open_case(&self, token: &str, body: Value) -> Value {
        let (s, case) = self.call(token, "POST", "/api/v1/cases", Some(body)).await;
        assert_eq!(s, 201, "{case}");
        case
    }

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

    /// Follows a redirect as a browser does: to its `Location`, with the flash message (and a
    /// refused form) it set.
    pub async fn follow(&self, session: Option<&str>, redirect: &PageResponse) -> PageResponse {
        let to = redirect.location.as_deref().expect("a redirect");
        let mut cookies: Vec<String> = session.map(|s| format!("ladder_session={s}")).into_iter().collect();
        cookies.extend(
            redirect
                .set_cookies
                .iter()
                .filter(|c| c.starts_with("ladder_flash=") || c.starts_with("ladder_form="))
                .map(|c| c.split(';').next().unwrap().to_string()),
        );
        self.send(self.client.get(format!("{}{to}", self.base)).header("cookie", cookies.join("; "))).await
    }

    /// `POST path` with a form body.
    pub async fn post(&self, session: Option<&str>, path: &str, form: &[(&str, &str)]) -> PageResponse {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(form));
        if let Some(s) = session {
            req = req.header("cookie", format!("ladder_session={s}"));
        }
        self.send(req).await
    }

    /// Posts the login form as a browser does: the form page first (its CSRF token and the
    /// cookie it derives from), then the form with both.
    pub async fn sign_in(&self, name: &str, password: &str) -> PageResponse {
        self.sign_in_at("/login", name, password).await
    }

    /// [`Console::sign_in`] from the sign-in page at `login_page` (`/login?next=…`): the form
    /// is sent with the hidden fields it carries, as a browser sends them.
    pub async fn sign_in_at(&self, login_page: &str, name: &str, password: &str) -> PageResponse {
        let page = self.get(None, login_page).await;
        let cookie = page
            .set_cookies
            .iter()
            .find(|c| c.starts_with("ladder_login="))
            .map(|c| c.split(';').next().unwrap().to_string())
            .expect("the login page sets its form cookie");
        let csrf = csrf_of(&page.body);
        let next = hidden_field(&page.body, "next");
        let mut form = vec![("csrf", csrf.as_str()), ("name", name), ("password", password)];
        if let Some(next) = next.as_deref() {
            form.push(("next", next));
        }
        let req = self
            .client
            .post(format!("{}/login", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie)
            .body(form_body(&form));
        self.send(req).await
    }

    /// Signs in through the login form; returns the session secret from the cookie.
    pub async fn login(&self, name: &str, password: &str) -> String {
        let r = self.sign_in(name, password).await;
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

/// The value of a form's hidden field `name`, HTML entities undone, if the page has one.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker)? + marker.len();
    let raw = html[at..].split('"').next()?;
    Some(raw.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
}

/// The message of the error flash a console answer leaves for the next page (`Set-Cookie:
/// ladder_flash=error.HEX`), if it left one.
pub fn error_flash(set_cookies: &[String]) -> Option<String> {
    let hex = set_cookies.iter().find_map(|c| c.strip_prefix("ladder_flash=error."))?;
    let hex = hex.split(';').next().unwrap_or_default();
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect();
    Some(String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned())
}

/// A form's `application/x-www-form-urlencoded` body.
pub fn form_body(form: &[(&str, &str)]) -> String {
    let fields: Vec<String> = form.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect();
    fields.join("&")
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
