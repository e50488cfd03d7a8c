//! `kill -9` in the middle of a write load loses no acknowledged write.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::json;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let world = LADDER.seed_world(dir.path());
    let mut server = Server::start(LADDER, dir.path());
    let api = Arc::new(Api::new(&server));
    let token = world.tokens["ana"].clone();
    let acknowledged: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();

    let mut writers = Vec::new();
    for w in 0..16 {
        let (api, token, acknowledged) = (api.clone(), token.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut i = 0;
            while Instant::now() < deadline {
                i += 1;
                let req = api
                    .client
                    .post(format!("{}/api/v1/cases", api.base))
                    .bearer_auth(&token)
                    .json(&json!({"subject": format!("writer {w} case {i}")}))
                    .send()
                    .await;
                let Ok(resp) = req else { break }; // the server is gone
                if resp.status().as_u16() != 201 {
                    break;
                }
                let Ok(case) = resp.json::<serde_json::Value>().await else { break };
                let id = case["id"].as_str().unwrap().to_string();
                acknowledged.lock().unwrap().push((id.clone(), 1));
                // A second write on the same case, acknowledged with its version.
                let resp = api
                    .client
                    .post(format!("{}/api/v1/cases/{id}/messages", api.base))
                    .bearer_auth(&token)
                    .json(&json!({"body": "note"}))
                    .send()
                    .await;
                let Ok(resp) = resp else { break };
                if resp.status().as_u16() == 200 {
                    acknowledged.lock().unwrap().push((id, 2));
                }
            }
        }));
    }
    // Let the load build up, then kill the server without warning.
    while acknowledged.lock().unwrap().len() < 300 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill_hard();
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 300);

    let server = Server::start(LADDER, dir.path());
    let api = Api::new(&server);
    let mut missing = Vec::new();
    for (id, version) in &acknowledged {
        let (s, case) = api.call(&token, "GET", &format!("/api/v1/cases/{id}"), None).await;
        if s != 200 || case["version"].as_u64().unwrap_or(0) < *version {
            missing.push((id.clone(), *version, s));
        }
    }
    assert!(missing.is_empty(), "{} acknowledged writes lost: {:?}", missing.len(), &missing[..missing.len().min(5)]);
}
