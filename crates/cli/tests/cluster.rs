//! Three `ladder serve` processes on one PostgreSQL database under load for 60 s, one of
//! them killed with `kill -9` and started again meanwhile. Afterwards every acknowledged
//! write is in the log exactly once, and every SLA breach fired exactly once, whichever
//! server claimed its timer (a dead server's claims are taken over when their lease ends).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ladder_store::{Location, Store, StoreConfig};
use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

/// L1's first response is due 20 s after a case opens, around the clock.
const MATRIX: &str = r#"
[[levels]]
id = "L1"
teams = ["frontline"]
respond = "20s"
resolve = "8h"
"#;

const RUN: Duration = Duration::from_secs(60);

/// Data directories of servers on the PostgreSQL database `url` (whatever backend the rest
/// of the run uses): `ladder admin` and `ladder serve` on them go there.
fn on_database(url: &str, n: usize) -> Vec<tempfile::TempDir> {
    let dirs: Vec<tempfile::TempDir> = (0..n).map(|_| tempfile::tempdir().unwrap()).collect();
    for dir in &dirs {
        use_database(dir.path(), Some(url));
    }
    dirs
}

/// What the clients were told: the case each Idempotency-Key created.
type Acknowledged = Arc<Mutex<BTreeMap<String, String>>>;

/// One client: opens cases, each with its own Idempotency-Key, on the servers in turn;
/// when a server does not answer, the same request goes to the next one.
async fn client(n: usize, bases: Arc<Mutex<Vec<String>>>, token: String, acked: Acknowledged, until: Instant) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    let mut turn = n;
    let mut i = 0;
    while Instant::now() < until {
        let key = format!("client{n}-case{i}");
        i += 1;
        loop {
            let base = {
                let bases = bases.lock().unwrap();
                bases[turn % bases.len()].clone()
            };
            turn += 1;
            let sent = http
                .post(format!("{base}/api/v1/cases"))
                .bearer_auth(&token)
                .header("Idempotency-Key", &key)
                .json(&json!({"subject": format!("Order {key} not delivered"), "team": "frontline"}))
                .send()
                .await;
            let Ok(response) = sent else { continue };
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            if status == 201 || status == 200 {
                acked.lock().unwrap().insert(key.clone(), body["id"].as_str().expect("an id").to_string());
                break;
            }
            assert!(status >= 500, "a refused request: {status} {body}");
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_lose_no_acknowledged_write_and_fire_every_breach_once_across_a_kill() {
    let Location::Postgres(url) = ladder_store::test_postgres_location() else { unreachable!("PostgreSQL") };
    let dirs = on_database(&url, 3);
    LADDER.admin(dirs[0].path(), &["team", "create", "--slug", "frontline", "--level", "L1"], None);
    LADDER.admin(
        dirs[0].path(),
        &["user", "create", "--name", "root", "--role", "admin", "--password-stdin"],
        Some("correct horse battery\n"),
    );
    LADDER.admin(dirs[0].path(), &["user", "create", "--name", "ana", "--role", "agent", "--team", "frontline"], None);
    let root = LADDER.admin(dirs[0].path(), &["token", "create", "--user", "root"], None);
    let ana = LADDER.admin(dirs[0].path(), &["token", "create", "--user", "ana"], None);

    let mut servers: Vec<Server> = dirs.iter().map(|d| Server::start(LADDER, d.path())).collect();
    // The matrix goes in force on one server; the others hear of it.
    let api = Api::new(&servers[0]);
    assert_eq!(api.upload_matrix(&root, "main", MATRIX).await.0, 200);
    let (s, v) = api.call(&root, "POST", "/api/v1/matrix/drafts/main/activate", None).await;
    assert_eq!(s, 201, "{v}");
    tokio::time::sleep(Duration::from_secs(1)).await;

    let bases = Arc::new(Mutex::new(servers.iter().map(|s| s.base.clone()).collect::<Vec<_>>()));
    let acked: Acknowledged = Arc::default();
    let start = Instant::now();
    let until = start + RUN;
    let clients: Vec<_> =
        (0..3).map(|n| tokio::spawn(client(n, bases.clone(), ana.clone(), acked.clone(), until))).collect();

    // A third of the way in, server 2 dies without a word; ten seconds later a new process
    // takes its place.
    tokio::time::sleep(RUN / 3).await;
    servers[1].kill_hard();
    tokio::time::sleep(Duration::from_secs(10)).await;
    servers[1] = Server::start(LADDER, dirs[1].path());
    bases.lock().unwrap()[1] = servers[1].base.clone();
    for c in clients {
        c.await.expect("a client");
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 100, "load ran: {} cases", acked.len());

    // Every acknowledged case is there, once; no request made two cases.
    let store = Store::open_at(&Location::Postgres(url.clone()), StoreConfig::default()).unwrap();
    let log = store.events_after(0, u32::MAX).await.unwrap();
    let mut opened: BTreeMap<String, usize> = BTreeMap::new();
    for e in &log {
        if e.recorded.event.kind() == "opened" {
            *opened.entry(e.recorded.case_id.to_string()).or_default() += 1;
        }
    }
    let acked_ids: BTreeSet<&String> = acked.values().collect();
    assert_eq!(acked_ids.len(), acked.len(), "one case per Idempotency-Key");
    for id in &acked_ids {
        assert_eq!(opened.get(*id), Some(&1), "acknowledged case {id} is in the log once");
    }
    assert_eq!(opened.len(), acked.len(), "no case beyond the acknowledged ones");

    // Every respond clock breaches exactly once, by one server or another, even those whose
    // timers the killed server had claimed (taken over when the 30 s lease ends).
    let deadline = Instant::now() + Duration::from_secs(90);
    let breaches = loop {
        let log = store.events_after(0, u32::MAX).await.unwrap();
        let mut breaches: BTreeMap<String, usize> = BTreeMap::new();
        let mut lags = Vec::new();
        for e in &log {
            if e.recorded.event.kind() == "clock_breached" {
                *breaches.entry(e.recorded.case_id.to_string()).or_default() += 1;
                let data = serde_json::to_value(&e.recorded.event).unwrap();
                let due: jiff::Timestamp = data["due_at"].as_str().unwrap().parse().unwrap();
                lags.push(e.recorded.at.duration_since(due));
            }
        }
        if breaches.len() >= acked.len() || Instant::now() > deadline {
            lags.sort();
            eprintln!(
                "{} cases, {} breached; breach lag median {:?}, max {:?}",
                acked.len(),
                breaches.len(),
                lags.get(lags.len() / 2),
                lags.last()
            );
            break breaches;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    for id in &acked_ids {
        assert_eq!(breaches.get(*id), Some(&1), "case {id}: its respond clock breached once");
    }
    // Servers still running keep firing nothing twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let again = store.events_after(0, u32::MAX).await.unwrap();
    let total = again.iter().filter(|e| e.recorded.event.kind() == "clock_breached").count();
    assert_eq!(total, acked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_reports_a_lost_database_connection_and_the_server_reconnects() {
    let Location::Postgres(url) = ladder_store::test_postgres_location() else { unreachable!("PostgreSQL") };
    // A name of its own, so only this server's connections are cut below.
    let app = format!("ladder_readyz_{}", std::process::id());
    let url = format!("{url}&application_name={app}");
    let dirs = on_database(&url, 1);
    let dir = &dirs[0];
    LADDER.admin(dir.path(), &["team", "create", "--slug", "frontline", "--level", "L1"], None);
    LADDER.admin(dir.path(), &["user", "create", "--name", "ana", "--role", "agent", "--team", "frontline"], None);
    let ana = LADDER.admin(dir.path(), &["token", "create", "--user", "ana"], None);
    let server = Server::start(LADDER, dir.path());
    let http = reqwest::Client::new();
    let ready = || async { http.get(server.url("/readyz")).send().await.unwrap().status().as_u16() };
    assert_eq!(ready().await, 200);
    let api = Api::new(&server);
    let before = api.open_case(&ana, json!({"subject": "before the cut"})).await;

    // The database drops every connection of this server (a failover, a restart).
    // (The blocking client runs its own runtime: on a thread of its own.)
    let name = app.clone();
    let cut = std::thread::spawn(move || {
        let mut admin = postgres::Client::connect(ladder_store::TEST_POSTGRES_URL, postgres::NoTls).unwrap();
        let sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1";
        admin.execute(sql, &[&name]).unwrap()
    })
    .join()
    .unwrap();
    assert!(cut >= 2, "the writer and a reader were connected: {cut}");

    // Readiness says so, then recovers as connections are made again.
    let mut answers = vec![ready().await];
    while *answers.last().unwrap() != 200 && answers.len() < 20 {
        answers.push(ready().await);
    }
    assert_eq!(answers.first(), Some(&503), "{answers:?}");
    assert_eq!(answers.last(), Some(&200), "{answers:?}");
    // Writes go through again (the writer reconnects; a write caught by the cut fails
    // and is never half-done), and what was acknowledged before is there.
    let mut written = None;
    for _ in 0..3 {
        let (s, case) = api.call(&ana, "POST", "/api/v1/cases", Some(json!({"subject": "after the cut"}))).await;
        if s == 201 {
            written = Some(case);
            break;
        }
        assert_eq!(s, 500, "{case}");
    }
    assert!(written.is_some(), "a write succeeds after the reconnect");
    let id = before["id"].as_str().unwrap();
    assert_eq!(api.call(&ana, "GET", &format!("/api/v1/cases/{id}"), None).await.0, 200);
}
