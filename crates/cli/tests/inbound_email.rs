//! Email in: raw MIME over `POST /api/v1/inbound/email` and over the SMTP listener (a real
//! session with `swaks`), threading, charsets, attachments, refusals, and the auto-replies,
//! bounces and loops that never become cases. The fixtures are in `tests/fixtures/email/`.

use ladder_testkit::http::*;
use ladder_testkit::matrix::SEEDED_LEVELS;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));
const PATH: &str = "/api/v1/inbound/email";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/email/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Posts a raw message; answers the status and the body as JSON.
async fn post_mail(api: &Api, token: &str, content_type: &str, raw: Vec<u8>) -> (u16, Value) {
    let answer = api
        .client
        .post(format!("{}{PATH}", api.base))
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(raw)
        .send()
        .await
        .expect("the server answers");
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn mail(api: &Api, token: &str, raw: Vec<u8>) -> (u16, Value) {
    post_mail(api, token, "message/rfc822", raw).await
}

async fn case(api: &Api, token: &str, id: &str) -> Value {
    let (s, case) = api.call(token, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(s, 200, "{case}");
    case
}

async fn messages(api: &Api, token: &str, id: &str) -> String {
    let (s, m) = api.call(token, "GET", &format!("/api/v1/cases/{id}/messages"), None).await;
    assert_eq!(s, 200, "{m}");
    m.to_string()
}

async fn case_count(api: &Api, token: &str) -> usize {
    let (_, page) = api.call(token, "GET", "/api/v1/cases?limit=500", None).await;
    page["items"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mime_messages_become_cases_in_their_own_words() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let root = &world.tokens["root"];

    // multipart/alternative: the text part, the sender a new customer.
    let (s, opened) = mail(&api, root, fixture("alternative.eml")).await;
    assert_eq!((s, opened["outcome"].as_str()), (201, Some("opened")), "{opened}");
    let jane = case(&api, root, opened["case_id"].as_str().unwrap()).await;
    assert_eq!(jane["subject"], "My router keeps rebooting");
    assert_eq!(jane["channel"], "email");
    assert!(jane["description"].as_str().unwrap().contains("my router reboots every hour"), "{jane}");
    let (_, customer) =
        api.call(root, "GET", &format!("/api/v1/customers/{}", opened["customer_id"].as_str().unwrap()), None).await;
    assert_eq!(customer["name"], "Jane Doe");
    assert_eq!(customer["identities"][0]["value"], "jane.doe@example.com", "{customer}");

    // HTML only: turned to text.
    let (s, html) = mail(&api, root, fixture("html_only.eml")).await;
    assert_eq!(s, 201, "{html}");
    let description = case(&api, root, html["case_id"].as_str().unwrap()).await["description"].to_string();
    assert!(description.contains("charged") && description.contains("twice"), "{description}");
    assert!(!description.contains("<b>") && !description.contains("<p>"), "{description}");

    // Attachments are kept, and named in the message.
    let (s, att) = mail(&api, root, fixture("attachments.eml")).await;
    assert_eq!(s, 201, "{att}");
    let description = case(&api, root, att["case_id"].as_str().unwrap()).await["description"].to_string();
    assert!(description.contains("[attachment: screen.png (image/png, 1024 bytes)]"), "{description}");
    assert!(description.contains("receipt.pdf (application/pdf"), "{description}");

    // ISO-8859-1 (quoted-printable, encoded words) and Shift_JIS (base64) are decoded.
    let (s, latin) = mail(&api, root, fixture("latin1.eml")).await;
    assert_eq!(s, 201, "{latin}");
    let latin = case(&api, root, latin["case_id"].as_str().unwrap()).await;
    assert_eq!(latin["subject"], "Drucker für das Büro");
    assert!(latin["description"].as_str().unwrap().contains("Grüße aus Köln"), "{latin}");
    let (s, sjis) = mail(&api, root, fixture("shift_jis.eml")).await;
    assert_eq!(s, 201, "{sjis}");
    let sjis = case(&api, root, sjis["case_id"].as_str().unwrap()).await;
    assert_eq!(sjis["subject"], "プリンター故障");
    assert!(sjis["description"].as_str().unwrap().contains("プリンターが壊れました"), "{sjis}");

    // The same message again (an MTA's retry) changes nothing.
    let before = case_count(&api, root).await;
    let (s, again) = mail(&api, root, fixture("alternative.eml")).await;
    assert_eq!((s, again["outcome"].as_str()), (202, Some("duplicate")), "{again}");
    assert_eq!(again["case_id"], opened["case_id"]);
    assert_eq!(case_count(&api, root).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_precisely_and_only_integrations_may_post() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (root, sam) = (&world.tokens["root"], &world.tokens["sam"]);
    let (s, p) = mail(&api, root, fixture("truncated.eml")).await;
    assert_eq!((s, p["type"].as_str().map(|t| t.ends_with("malformed-message"))), (422, Some(true)), "{p}");
    let (s, p) = mail(&api, root, fixture("malformed.eml")).await;
    assert_eq!(s, 422, "{p}");
    let (s, p) = mail(&api, root, Vec::new()).await;
    assert_eq!(s, 400, "{p}");
    let (s, p) = post_mail(&api, root, "text/plain", fixture("alternative.eml")).await;
    assert_eq!(s, 415, "{p}");
    let no_from = b"Subject: hi\r\nMessage-ID: <nf@x.example>\r\n\r\nbody\r\n".to_vec();
    let (s, p) = mail(&api, root, no_from).await;
    assert!(s == 422 && p["detail"].as_str().unwrap().contains("From"), "{s} {p}");
    // Over 10 MiB: 413 from the declared length, before the body is read (so the client
    // sends only the head: the server answers and closes without reading on).
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nHost: ladder\r\nAuthorization: Bearer {root}\r\n\
         Content-Type: message/rfc822\r\nContent-Length: {}\r\n\r\n",
        10 * 1024 * 1024 + 1
    );
    let answer = raw_http(api.base.trim_start_matches("http://"), head.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json"), "a problem document: {answer}");
    // Just over the intake's limit but sent whole: 413 too.
    let mut huge = fixture("alternative.eml");
    huge.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
    let raw = [format!("POST {PATH} HTTP/1.1\r\nHost: ladder\r\nAuthorization: Bearer {root}\r\nContent-Type: message/rfc822\r\nContent-Length: {}\r\n\r\n", huge.len()).into_bytes(), huge].concat();
    let answer = raw_http(api.base.trim_start_matches("http://"), &raw);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // A person's token may not take in mail.
    let (s, p) = mail(&api, sam, fixture("alternative.eml")).await;
    assert_eq!(s, 403, "{p}");
    assert_eq!(case_count(&api, root).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_replies_bounces_and_loops_never_become_cases() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let root = &world.tokens["root"];
    for (file, reason) in
        [("auto_reply.eml", "auto_reply"), ("bulk.eml", "bulk"), ("bounce.eml", "bounce"), ("loop.eml", "loop")]
    {
        let (s, answer) = mail(&api, root, fixture(file)).await;
        assert_eq!(
            (s, answer["outcome"].as_str(), answer["reason"].as_str()),
            (202, Some("declined"), Some(reason)),
            "{file}: {answer}"
        );
    }
    let out_of_office = String::from_utf8(fixture("auto_reply.eml")).unwrap().replace("auto-replied", "no");
    let (s, answer) = mail(&api, root, out_of_office.into_bytes()).await;
    assert_eq!(s, 201, "Auto-Submitted: no is a person: {answer}");
    assert_eq!(case_count(&api, root).await, 1);
}

/// A reply to `message_id` from `from`, with `subject`.
fn reply(from: &str, message_id: &str, in_reply_to: Option<&str>, subject: &str, text: &str) -> Vec<u8> {
    let threading = in_reply_to.map(|r| format!("In-Reply-To: <{r}>\r\nReferences: <{r}>\r\n")).unwrap_or_default();
    format!(
        "From: {from}\r\nTo: support@help.example\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n{threading}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_thread_onto_their_case_and_count_as_repeat_contacts() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (root, maria) = (&world.tokens["root"], &world.tokens["maria"]);
    let rule = r#"
[[rules]]
name = "Repeat contact"
trigger = "repeat_contact"
when = "event.count >= 2"
then = { tags = ["repeat-contact"] }
"#;
    api.activate_matrix(maria, &[SEEDED_LEVELS, rule].concat()).await;

    let (_, opened) = mail(&api, root, fixture("alternative.eml")).await;
    let id = opened["case_id"].as_str().unwrap().to_string();
    let number = opened["case_number"].as_u64().unwrap();
    assert!(case(&api, root, &id).await["tags"].as_array().unwrap().is_empty(), "a first contact");

    // By In-Reply-To: the reply lands on the case, its quote trimmed, as a repeat contact.
    let text = "It rebooted again just now.\r\n\r\nOn Mon, Support wrote:\r\n> Please try a reset\r\n";
    let (s, threaded) = mail(
        &api,
        root,
        reply(
            "Jane Doe <jane.doe@example.com>",
            "r1@mail.example.com",
            Some("alt-1@mail.example.com"),
            "Re: router",
            text,
        ),
    )
    .await;
    assert_eq!((s, threaded["outcome"].as_str()), (200, Some("threaded")), "{threaded}");
    assert_eq!(threaded["case_id"].as_str(), Some(id.as_str()));
    let said = messages(&api, root, &id).await;
    assert!(said.contains("It rebooted again just now.") && !said.contains("Please try a reset"), "{said}");
    assert_eq!(case(&api, root, &id).await["tags"], json!(["repeat-contact"]));

    // A reply to that reply threads by References too.
    let (s, _) = mail(
        &api,
        root,
        reply(
            "jane.doe@example.com",
            "r2@mail.example.com",
            Some("r1@mail.example.com"),
            "Re: Re: router",
            "Still down",
        ),
    )
    .await;
    assert_eq!(s, 200);

    // By the case reference in the subject, from the case's customer.
    let subject = format!("Re: [#{number}] router");
    let (s, by_ref) =
        mail(&api, root, reply("JANE.DOE@example.com", "r3@mail.example.com", None, &subject, "Any news?")).await;
    assert_eq!((s, by_ref["case_id"].as_str()), (200, Some(id.as_str())), "{by_ref}");

    // The same reference from someone else opens their own case, for a new customer.
    let (s, stranger) = mail(&api, root, reply("mallory@evil.example", "m1@evil.example", None, &subject, "hi")).await;
    assert_eq!(s, 201, "{stranger}");
    assert_ne!(stranger["customer_id"], opened["customer_id"]);

    // A new thread from a known address: a new case for the same customer.
    let (s, known) =
        mail(&api, root, reply("jane.doe@example.com", "n1@mail.example.com", None, "Billing", "A new problem")).await;
    assert_eq!(s, 201, "{known}");
    assert_eq!(known["customer_id"], opened["customer_id"]);
    assert_ne!(known["case_id"].as_str(), Some(id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_smtp_session_delivers_into_a_case() {
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let server = Server::start_args(LADDER, dir.path(), &["--smtp-listen", "127.0.0.1:0"]);
    let api = Api::new(&server);
    let root = &world.tokens["root"];
    let smtp = server.smtp.clone().expect("the smtp listener's address");
    let (host, port) = smtp.rsplit_once(':').unwrap();

    let eml = format!("{}/tests/fixtures/email/latin1.eml", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("swaks")
        .args(["--server", host, "--port", port, "--from", "juergen@example.de", "--to", "support@help.example"])
        .args(["--data", &eml])
        .output()
        .expect("swaks runs (apt-get install -y swaks)");
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{transcript}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(transcript.contains("250 2.0.0 OK: opened case #1"), "{transcript}");
    assert!(transcript.contains("SIZE 10485760"), "EHLO announces the limit: {transcript}");
    let (_, page) = api.call(root, "GET", "/api/v1/cases", None).await;
    assert_eq!(page["items"][0]["subject"], "Drucker für das Büro", "{page}");

    // An auto-reply is accepted (250) and makes no case; a message over SIZE is refused at MAIL.
    let auto = format!("{}/tests/fixtures/email/auto_reply.eml", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("swaks")
        .args(["--server", host, "--port", port, "--from", "erin@example.com", "--to", "support@help.example"])
        .args(["--data", &auto])
        .output()
        .unwrap();
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(transcript.contains("accepted, no case (auto_reply)"), "{transcript}");
    let mut session = std::net::TcpStream::connect(&smtp).unwrap();
    let said =
        smtp_exchange(&mut session, &["EHLO test", "MAIL FROM:<a@b.example> SIZE=99999999", "NOOP", "DATA", "QUIT"]);
    assert!(said[2].starts_with("552 5.3.4"), "{said:?}");
    assert!(said[3].starts_with("250"), "{said:?}");
    assert!(said[4].starts_with("503"), "DATA needs a sender and a recipient: {said:?}");
    assert_eq!(case_count(&api, root).await, 1);
}

/// Sends each command and reads its reply (the last line of a multi-line one); the first
/// entry is the greeting.
fn smtp_exchange(stream: &mut std::net::TcpStream, commands: &[&str]) -> Vec<String> {
    use std::io::{BufRead, BufReader, Write};
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut read_reply = || {
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                return line.trim_end().to_string();
            }
        }
    };
    let mut replies = vec![read_reply()];
    for c in commands {
        stream.write_all(format!("{c}\r\n").as_bytes()).unwrap();
        replies.push(read_reply());
    }
    replies
}

/// Writes `request` to the server as it is (ignoring a write cut short by the server's
/// answer) and reads the answer's head and what body came.
fn raw_http(addr: &str, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.len() > 200 {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}
