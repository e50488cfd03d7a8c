//! On-call schedules over the real server: stored and versioned, refused with the path inside
//! the spec, who is on call across a daylight-saving change in America/New_York, an override
//! winning, gaps reported and a fallback filling them, the denials by role; and the
//! iCalendar feeds, parsed by the PyPI `icalendar` package (pinned in
//! `fixtures/icalendar-requirements.txt`, installed into a venv under `target/`).

use std::path::PathBuf;
use std::process::Command;

use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

fn primary(restrictions: Value, fallback: Option<&str>) -> Value {
    let mut spec = json!({"time_zone": "America/New_York", "layers": [
        {"name": "primary", "users": ["ana", "erin", "sam"], "start": "2026-03-02T09:00", "turn": "1w",
         "restrictions": restrictions}
    ]});
    if let Some(f) = fallback {
        spec["fallback"] = json!(f);
    }
    json!({"slug": "primary", "name": "Primary on call", "spec": spec})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_answer_who_is_on_call_with_overrides_gaps_and_fallbacks() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, sam, maria, root) =
        (&world.tokens["ana"], &world.tokens["sam"], &world.tokens["maria"], &world.tokens["root"]);

    // Only managers and admins create schedules.
    for token in [ana, sam] {
        let (s, p) = api.call(token, "POST", "/api/v1/schedules", Some(primary(json!([]), None))).await;
        assert_eq!(s, 403, "{p}");
    }
    let (s, created) = api.call(maria, "POST", "/api/v1/schedules", Some(primary(json!([]), None))).await;
    assert_eq!(s, 201, "{created}");
    assert_eq!((created["version"].as_u64(), created["time_zone"].as_str()), (Some(1), Some("America/New_York")));
    let (s, _) = api.call(maria, "POST", "/api/v1/schedules", Some(primary(json!([]), None))).await;
    assert_eq!(s, 409, "a slug is unique");

    // A spec that does not hold is a 422 naming the path inside it.
    let refused = [
        (json!({"turn": "5y"}), "spec.layers[0].turn"),
        (json!({"restrictions": [{"days": "someday", "hours": "09:00-17:00"}]}), "spec.layers[0].restrictions[0].days"),
        (json!({"users": ["ana", "nobody"]}), "spec.layers[0].users[1]"),
        (json!({"users": []}), "spec.layers[0].users"),
    ];
    for (change, path) in refused {
        let mut body = primary(json!([]), None);
        body["slug"] = json!("other");
        for (k, v) in change.as_object().unwrap() {
            body["spec"]["layers"][0][k] = v.clone();
        }
        let (s, p) = api.call(maria, "POST", "/api/v1/schedules", Some(body)).await;
        assert_eq!((s, p["field"].as_str()), (422, Some(path)), "{p}");
    }
    let mut body = primary(json!([]), None);
    body["spec"]["time_zone"] = json!("Mars/Olympus");
    let (s, p) = api.call(maria, "POST", "/api/v1/schedules", Some(body)).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("spec.time_zone")), "{p}");
    let mut body = primary(json!([]), None);
    body["spec"]["overrides"] =
        json!([{"user": "ana", "start": "2026-03-02T00:00:00Z", "end": "2026-03-03T00:00:00Z"}]);
    let (s, p) = api.call(maria, "POST", "/api/v1/schedules", Some(body)).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("spec.overrides")), "{p}");

    // Everyone reads; New York springs forward on 2026-03-08, so the 09:00 hand-off of
    // 2026-03-09 is 13:00 UTC, an hour earlier in UTC than the week before.
    let on_call = |at: &str| {
        let path = format!("/api/v1/schedules/primary/on-call?at={at}");
        let api = &api;
        async move {
            let (s, v) = api.call(ana, "GET", &path, None).await;
            assert_eq!(s, 200, "{v}");
            v
        }
    };
    let before = on_call("2026-03-02T14:00:00Z").await;
    assert_eq!((before["user"].as_str(), before["layer"].as_str()), (Some("ana"), Some("primary")), "{before}");
    assert_eq!(on_call("2026-03-09T12:59:59Z").await["user"], "ana");
    let after = on_call("2026-03-09T13:00:00Z").await;
    assert_eq!((after["user"].as_str(), after["source"].as_str()), (Some("erin"), Some("layer")), "{after}");
    assert_eq!(after["until"], "2026-03-16T13:00:00Z", "{after}");
    assert!(after["user_id"].is_string(), "{after}");

    // An override wins over the layer; supervisors and up add one, agents may not.
    let cover = json!({"user": "tara", "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T06:00:00Z"});
    let (s, _) = api.call(ana, "POST", "/api/v1/schedules/primary/overrides", Some(cover.clone())).await;
    assert_eq!(s, 403);
    let bad = json!({"user": "tara", "start": "2026-03-10T06:00:00Z", "end": "2026-03-10T06:00:00Z"});
    let (s, p) = api.call(sam, "POST", "/api/v1/schedules/primary/overrides", Some(bad)).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("end")), "{p}");
    let (s, added) = api.call(sam, "POST", "/api/v1/schedules/primary/overrides", Some(cover)).await;
    assert_eq!(s, 201, "{added}");
    let covered = on_call("2026-03-10T03:00:00Z").await;
    assert_eq!((covered["user"].as_str(), covered["source"].as_str()), (Some("tara"), Some("override")), "{covered}");
    assert_eq!(covered["until"], "2026-03-10T06:00:00Z");
    assert_eq!(on_call("2026-03-10T06:00:00Z").await["user"], "erin", "an override's end is exclusive");

    // Office hours only: a stale If-Match is refused, the current one replaces the spec and
    // keeps the override.
    let office = primary(json!([{"days": "mon-fri", "hours": "09:00-17:00"}]), None);
    let (s, p) =
        api.call_with(maria, "PUT", "/api/v1/schedules/primary", Some(office.clone()), &[("if-match", "\"1\"")]).await;
    assert_eq!((s, p["current_version"].as_u64()), (412, Some(2)), "{p}");
    let (s, v) = api.call_with(maria, "PUT", "/api/v1/schedules/primary", Some(office), &[("if-match", "\"2\"")]).await;
    assert_eq!((s, v["version"].as_u64(), v["overrides"].as_array().map(Vec::len)), (200, Some(3), Some(1)), "{v}");

    // Gaps: before 09:00 EDT (13:00 UTC) and after 17:00 EDT (21:00 UTC); nobody answers there.
    let (s, gaps) = api
        .call(ana, "GET", "/api/v1/schedules/primary/gaps?from=2026-03-09T00:00:00Z&to=2026-03-10T00:00:00Z", None)
        .await;
    assert_eq!(s, 200, "{gaps}");
    assert_eq!(
        gaps["gaps"],
        json!([{"start": "2026-03-09T00:00:00Z", "end": "2026-03-09T13:00:00Z"},
               {"start": "2026-03-09T21:00:00Z", "end": "2026-03-10T00:00:00Z"}]),
        "{gaps}"
    );
    let nobody = on_call("2026-03-09T22:00:00Z").await;
    assert!(nobody["user"].is_null() && nobody["source"].is_null(), "{nobody}");

    // A fallback fills the gaps (they are still gaps in the rota).
    let with_fallback = primary(json!([{"days": "mon-fri", "hours": "09:00-17:00"}]), Some("maria"));
    let (s, v) =
        api.call_with(maria, "PUT", "/api/v1/schedules/primary", Some(with_fallback), &[("if-match", "3")]).await;
    assert_eq!(s, 200, "{v}");
    let filled = on_call("2026-03-09T22:00:00Z").await;
    assert_eq!((filled["user"].as_str(), filled["source"].as_str()), (Some("maria"), Some("fallback")), "{filled}");
    let (_, gaps) = api
        .call(ana, "GET", "/api/v1/schedules/primary/gaps?from=2026-03-09T00:00:00Z&to=2026-03-10T00:00:00Z", None)
        .await;
    assert_eq!((gaps["gaps"].as_array().map(Vec::len), gaps["fallback"].as_str()), (Some(2), Some("maria")), "{gaps}");

    // The timeline: the fallback, ana in office hours, the fallback again.
    let (s, shifts) = api
        .call(ana, "GET", "/api/v1/schedules/primary/shifts?from=2026-03-09T00:00:00Z&to=2026-03-10T00:00:00Z", None)
        .await;
    assert_eq!(s, 200, "{shifts}");
    let who: Vec<(&str, &str)> = shifts["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["user"].as_str().unwrap(), x["source"].as_str().unwrap()))
        .collect();
    assert_eq!(who, [("maria", "fallback"), ("erin", "layer"), ("maria", "fallback")], "{shifts}");
    let (s, p) = api
        .call(ana, "GET", "/api/v1/schedules/primary/shifts?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z", None)
        .await;
    assert_eq!((s, p["field"].as_str()), (422, Some("to")), "at most 90 days: {p}");
    let (s, p) = api.call(ana, "GET", "/api/v1/schedules/primary/on-call?at=yesterday", None).await;
    assert_eq!((s, p["field"].as_str()), (400, Some("at")), "{p}");

    // Every schedule at once.
    let (s, all) = api.call(ana, "GET", "/api/v1/on-call?at=2026-03-09T15:00:00Z", None).await;
    assert_eq!(
        (s, all[0]["schedule"].as_str(), all[0]["user"].as_str()),
        (200, Some("primary"), Some("erin")),
        "{all}"
    );

    // Removing the override (an agent may not), then the schedule (a supervisor may not).
    let override_path = format!("/api/v1/schedules/primary/overrides/{}", added["id"].as_str().unwrap());
    let (s, _) = api.call(ana, "DELETE", &override_path, None).await;
    assert_eq!(s, 403);
    let (s, _) = api.call(sam, "DELETE", &override_path, None).await;
    assert_eq!(s, 204);
    assert_eq!(on_call("2026-03-10T03:00:00Z").await["source"], "fallback");
    let (s, _) = api.call(sam, "DELETE", "/api/v1/schedules/primary", None).await;
    assert_eq!(s, 403);

    // Every change is in the audit history.
    let (s, audit) = api.call(root, "GET", "/api/v1/audit?action=schedule", None).await;
    assert_eq!(s, 200, "{audit}");
    let text = audit.to_string();
    for action in ["schedule.create", "schedule.update", "schedule.override.add", "schedule.override.remove"] {
        assert!(text.contains(action), "{action} in {text}");
    }
    let (s, _) = api.call(maria, "DELETE", "/api/v1/schedules/primary", None).await;
    assert_eq!(s, 204);
    let (s, _) = api.call(ana, "GET", "/api/v1/schedules/primary", None).await;
    assert_eq!(s, 404);
}

/// A venv under `target/` with the pinned `icalendar`, made once.
fn icalendar_python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = root.join("target/icalendar-venv");
    let python = venv.join("bin/python");
    let requirements = root.join("crates/cli/tests/fixtures/icalendar-requirements.txt");
    let ready = Command::new(&python).args(["-c", "import icalendar"]).output().is_ok_and(|o| o.status.success());
    if !ready {
        let ok = Command::new("python3").arg("-m").arg("venv").arg(&venv).status().expect("python3").success();
        assert!(ok, "python3 -m venv");
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--no-deps", "-r"])
            .arg(&requirements)
            .status()
            .expect("pip")
            .success();
        assert!(ok, "pip install -r {}", requirements.display());
    }
    python
}

/// The feed parsed by `icalendar`: the calendar's name and each event's fields, as JSON.
fn parse_with_icalendar(feed: &str) -> Value {
    let script = r#"
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(sys.stdin.buffer.read())
events = []
for e in cal.walk("VEVENT"):
    events.append({"uid": str(e["UID"]), "start": e.decoded("DTSTART").isoformat(),
                   "end": e.decoded("DTEND").isoformat(), "summary": str(e["SUMMARY"]),
                   "description": str(e["DESCRIPTION"])})
print(json.dumps({"name": str(cal["X-WR-CALNAME"]), "version": str(cal["VERSION"]), "events": events}))
"#;
    let mut child = Command::new(icalendar_python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(feed.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "icalendar refused the feed: {}\n{feed}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_feeds_are_icalendar_that_a_real_parser_reads_and_stop_when_revoked() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let (ana, erin, maria) = (&world.tokens["ana"], &world.tokens["erin"], &world.tokens["maria"]);
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    // A name that needs escaping; daily turns from today 09:00 UTC.
    let body = json!({"slug": "ops", "name": "Ops, primary; EU \\ night", "spec": {"time_zone": "UTC",
        "layers": [{"name": "daily", "users": ["ana", "erin"], "start": format!("{today}T09:00"), "turn": "1d"}]}});
    let (s, v) = api.call(maria, "POST", "/api/v1/schedules", Some(body)).await;
    assert_eq!(s, 201, "{v}");

    // A schedule's feed, and ana's own; erin may not mint one of ana's.
    let (s, p) = api.call(erin, "POST", "/api/v1/feeds", Some(json!({"user": "ana"}))).await;
    assert_eq!(s, 403, "{p}");
    let (s, p) = api.call(erin, "POST", "/api/v1/feeds", Some(json!({"schedule": "nothing"}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("schedule")), "{p}");
    let (s, schedule_feed) = api.call(erin, "POST", "/api/v1/feeds", Some(json!({"schedule": "ops"}))).await;
    assert_eq!(s, 201, "{schedule_feed}");
    let (s, own) = api.call(ana, "POST", "/api/v1/feeds", Some(json!({}))).await;
    assert_eq!((s, own["kind"].as_str()), (201, Some("user")), "{own}");
    let token = own["token"].as_str().unwrap();
    assert!(token.starts_with("ldrcal_"), "{own}");
    let (_, listed) = api.call(ana, "GET", "/api/v1/feeds", None).await;
    assert!(listed[0]["token"].is_null() && listed[0]["id"] == own["id"], "a list never shows the secret: {listed}");

    // Fetched without any Authorization, as a calendar app does.
    let client = reqwest::Client::new();
    let get = |url: String| {
        let client = client.clone();
        async move {
            let r = client.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
            (status, ct, r.text().await.unwrap())
        }
    };
    let (s, ct, feed) = get(server.url(schedule_feed["url"].as_str().unwrap())).await;
    assert_eq!((s, ct.as_deref()), (200, Some("text/calendar; charset=utf-8")), "{feed}");
    assert!(feed.lines().all(|l| l.len() <= 76), "folded at 75 octets (plus CR)");
    let parsed = parse_with_icalendar(&feed);
    // X-WR-CALNAME is an extension property: the parser hands back its text as written
    // (escaped, as a TEXT value must be); SUMMARY below is unescaped by it.
    assert_eq!(parsed["name"], "Ops\\, primary\\; EU \\\\ night", "{parsed}");
    let events = parsed["events"].as_array().unwrap();
    assert!(events.len() >= 50, "8 weeks of daily turns: {}", events.len());
    assert_eq!(events[0]["start"], format!("{today}T09:00:00+00:00"), "{parsed}");
    assert_eq!(events[0]["summary"], "On call: ana (Ops, primary; EU \\ night)", "escaping survives a real parser");
    let users: Vec<&str> = events.iter().map(|e| e["summary"].as_str().unwrap()).collect();
    assert!(users[1].starts_with("On call: erin"), "{users:?}");
    // A second fetch gives the same UIDs: calendar apps update rather than duplicate.
    let (_, _, again) = get(server.url(schedule_feed["url"].as_str().unwrap())).await;
    let again = parse_with_icalendar(&again);
    assert_eq!(again["events"][3]["uid"], parsed["events"][3]["uid"]);

    // Ana's feed holds only her shifts.
    let (s, _, mine) = get(server.url(&format!("/api/v1/calendars/{token}?weeks=2"))).await;
    assert_eq!(s, 200);
    let mine = parse_with_icalendar(&mine);
    let mine = mine["events"].as_array().unwrap();
    assert!(!mine.is_empty() && mine.iter().all(|e| e["summary"].as_str().unwrap().starts_with("On call: ana")));

    // A wrong or revoked token is a 404; a revoked one was the owner's to revoke.
    let (s, _, _) = get(server.url("/api/v1/calendars/ldrcal_0000")).await;
    assert_eq!(s, 404);
    let feed_path = format!("/api/v1/feeds/{}", own["id"].as_str().unwrap());
    let (s, _) = api.call(erin, "DELETE", &feed_path, None).await;
    assert_eq!(s, 404, "another user's feed is not erin's to see");
    let (s, _) = api.call(ana, "DELETE", &feed_path, None).await;
    assert_eq!(s, 204);
    let (s, _, _) = get(server.url(&format!("/api/v1/calendars/{token}"))).await;
    assert_eq!(s, 404, "a revoked feed stops answering");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_who_is_on_call_now_and_a_week_with_overrides_and_gaps() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let (sam, maria) = (&world.tokens["sam"], &world.tokens["maria"]);
    let now = jiff::Timestamp::now();
    let today = now.strftime("%Y-%m-%d").to_string();
    // Erin every day from yesterday, but only 08:00–20:00 UTC: nights are gaps, with no fallback.
    let yesterday = (now - jiff::SignedDuration::from_hours(24)).strftime("%Y-%m-%d").to_string();
    let body = json!({"slug": "desk", "name": "Service desk <on call>", "spec": {"time_zone": "UTC",
        "layers": [{"name": "days", "users": ["erin"], "start": format!("{yesterday}T00:00"), "turn": "1d",
                    "restrictions": [{"days": "daily", "hours": "08:00-20:00"}]}]}});
    let (s, v) = api.call(maria, "POST", "/api/v1/schedules", Some(body)).await;
    assert_eq!(s, 201, "{v}");
    let cover = json!({"user": "tara", "start": format!("{today}T00:00:00Z"),
        "end": (now + jiff::SignedDuration::from_hours(48)).strftime("%Y-%m-%dT10:00:00Z").to_string()});
    let (s, v) = api.call(sam, "POST", "/api/v1/schedules/desk/overrides", Some(cover)).await;
    assert_eq!(s, 201, "{v}");

    let web = ladder_testkit::http::Console::new(&server);
    let session = web.login("ana", PASSWORD).await;
    let page = web.get(Some(&session), "/schedules").await;
    assert_eq!(page.status, 200);
    let html = page.body;
    assert!(html.contains(r#"href="/schedules" aria-current="page""#), "an entry in the navigation for everyone");
    assert!(html.contains("Service desk &lt;on call&gt;"), "names are escaped: {html}");
    // Tara covers all of today, so she is on call now, because of an override.
    assert!(html.contains("<strong>tara</strong></td><td>override</td>"), "{html}");
    assert!(html.contains(r#"class="badge source-override""#), "overrides are marked");
    assert!(html.contains(r#"<tr class="gap">"#) && html.contains("nobody answers"), "gaps are in red: {html}");
    assert!(html.contains("<svg class=\"timeline\""), "{html}");
}
