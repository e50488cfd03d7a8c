//! Servers to measure, and the load put on them: a server in this process, `ladder serve`
//! processes of this build, and the HTTP case load of `bench api` and `bench cluster`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use ladder_engine::Engine;
use serde_json::json;
use tokio::io::AsyncBufReadExt;

use super::measure::report;

/// Serves `engine` on a port of its own in this process; returns its base URL and what
/// stops it.
pub(super) async fn start_server(engine: Engine) -> anyhow::Result<(String, tokio::sync::oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // A bench measures the server, not its rate limits.
    let config = ladder_http::ServeConfig {
        rate_limits: ladder_http::limits::RateLimits::UNLIMITED,
        ..ladder_http::ServeConfig::default()
    };
    let web = ladder_http::web::WebConfig::default();
    tokio::spawn(ladder_http::serve_with(listener, engine, config, web, async move {
        let _ = stopped.await;
    }));
    Ok((format!("http://{addr}"), stop))
}

/// A `ladder serve` process of this build, its log in a file.
pub(super) struct ServeProcess {
    child: tokio::process::Child,
    pub(super) pid: u32,
    /// `http://127.0.0.1:PORT`, as it announced.
    pub(super) base: String,
    pub(super) log_path: PathBuf,
}

impl ServeProcess {
    /// Spawns `ladder serve --listen 127.0.0.1:0` with the arguments and environment
    /// `configure` adds (where its data is), its log going to `log_path`, and reads the
    /// address it announces.
    pub(super) async fn spawn(
        log_path: PathBuf,
        configure: impl FnOnce(&mut tokio::process::Command),
    ) -> anyhow::Result<ServeProcess> {
        // A rebuild while the bench runs replaces the file; /proc/self/exe still runs this build.
        let exe = std::env::current_exe().ok().filter(|p| p.exists()).unwrap_or_else(|| "/proc/self/exe".into());
        let mut command = tokio::process::Command::new(exe);
        command.args(["serve", "--listen", "127.0.0.1:0"]);
        // A bench measures the server, not its rate limits (a bench may set its own).
        command.env("LADDER_RATE_PER_TOKEN", "0").env("LADDER_RATE_PER_IP", "0");
        configure(&mut command);
        command.stdout(std::process::Stdio::piped()).stderr(std::fs::File::create(&log_path)?).kill_on_drop(true);
        let mut child = command.spawn()?;
        let pid = child.id().context("server pid")?;
        let mut lines = tokio::io::BufReader::new(child.stdout.take().context("stdout")?).lines();
        let base = loop {
            let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .context("the server did not announce itself within 60 s")??
                .with_context(|| format!("the server exited; see {}", log_path.display()))?;
            if let Some(addr) = line.strip_prefix("ladder listening on ") {
                break addr.trim().to_string();
            }
        };
        // Keep reading its standard output, so the server never writes to a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(ServeProcess { child, pid, base, log_path })
    }

    /// Stops the server as an operator would (SIGTERM: it finishes in-flight requests and
    /// gives its timer claims back), killing it if it has not stopped within 15 s; `name`
    /// says which server in the warning.
    pub(super) async fn stop(mut self, name: &str) -> anyhow::Result<()> {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await.is_err() {
            println!("warning: {name} did not stop within 15 s of SIGTERM; killing it");
            self.child.kill().await?;
        }
        Ok(())
    }
}

/// What [`case_load`] measured.
pub(super) struct CaseLoad {
    /// Latencies of the `POST /cases` and the `POST /cases/{id}/escalate` that succeeded.
    pub(super) opens: Vec<Duration>,
    pub(super) escalations: Vec<Duration>,
    /// Requests answered with another status than expected.
    pub(super) errors: usize,
    pub(super) elapsed: Duration,
}

impl CaseLoad {
    pub(super) fn all(&self) -> Vec<Duration> {
        self.opens.iter().chain(&self.escalations).copied().collect()
    }

    pub(super) fn report(&self) {
        report("POST /cases", self.opens.clone(), self.elapsed);
        report("POST /cases/{id}/escalate", self.escalations.clone(), self.elapsed);
        report("all requests", self.all(), self.elapsed);
        println!("errors: {}", self.errors);
    }
}

/// `concurrency` clients loop `POST /cases` then `POST /cases/{id}/escalate` (to the
/// specialists team of the bench world) for `duration`; client `c` talks to server
/// `bases[c % bases.len()]`.
pub(super) async fn case_load(
    bases: &[String],
    token: &str,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<CaseLoad> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let (client, base, token) = (client.clone(), bases[c % bases.len()].clone(), token.to_string());
        tasks.push(tokio::spawn(async move {
            let (mut opens, mut escalations, mut errors) = (Vec::new(), Vec::new(), 0usize);
            let mut i = 0;
            while Instant::now() < deadline {
                i += 1;
                let t = Instant::now();
                let resp = client
                    .post(format!("{base}/api/v1/cases"))
                    .bearer_auth(&token)
                    .json(&json!({"subject": format!("client {c} case {i}"), "team": "frontline", "channel": "chat"}))
                    .send()
                    .await?;
                if resp.status().as_u16() != 201 {
                    errors += 1;
                    continue;
                }
                let case: serde_json::Value = resp.json().await?;
                opens.push(t.elapsed());
                let id = case["id"].as_str().context("case id")?;
                let t = Instant::now();
                let resp = client
                    .post(format!("{base}/api/v1/cases/{id}/escalate"))
                    .bearer_auth(&token)
                    .json(&json!({"kind": "hierarchical", "to_team": "specialists", "reason": "needs a specialist", "tried": "the standard script"}))
                    .send()
                    .await?;
                if resp.status().as_u16() == 200 {
                    let _ = resp.bytes().await?;
                    escalations.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            anyhow::Ok((opens, escalations, errors))
        }));
    }
    let mut load = CaseLoad { opens: Vec::new(), escalations: Vec::new(), errors: 0, elapsed: Duration::ZERO };
    for t in tasks {
        let (o, e, x) = t.await??;
        load.opens.extend(o);
        load.escalations.extend(e);
        load.errors += x;
    }
    load.elapsed = started.elapsed();
    Ok(load)
}
