//! The console in a real browser: the playwright-core scripts in `web-tests/` drive Debian's
//! headless Chromium against a running server. Never skipped: without Chromium or
//! `web-tests/node_modules` a walk fails and says how to install them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian's Chromium is; the browser walks never use a downloaded browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The repository root, after checking that the browser walks can run: Chromium and
/// `web-tests/node_modules` present, else a failure that says how to install them.
pub fn ready() -> PathBuf {
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

/// Runs `web-tests/SCRIPT` against the server at `base` with `env`, which must succeed and
/// save each of `screenshots`. They go to `target/web-tests/`, or to the directory
/// `LADDER_SCREENSHOTS` names (relative to the repository root: `docs/screenshots` refreshes
/// the ones the README shows).
pub fn walk(script: &str, base: &str, env: &[(&str, &str)], screenshots: &[&str]) {
    let root = ready();
    let out = match std::env::var("LADDER_SCREENSHOTS") {
        Ok(d) => root.join(d),
        Err(_) => root.join("target/web-tests"),
    };
    std::fs::create_dir_all(&out).unwrap();
    let run = Command::new("node")
        .arg(root.join("web-tests").join(script))
        .arg(base)
        .arg(&out)
        .envs(env.iter().copied())
        .output()
        .expect("run node (is nodejs installed?)");
    let log = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "the browser walk failed:\n{log}");
    for shot in screenshots {
        assert!(out.join(shot).metadata().is_ok_and(|m| m.len() > 1000), "{shot} was saved:\n{log}");
    }
}
