//! Configuration by file, environment and command line, in that order of strength: a
//! command-line option wins over its environment variable, which wins over the file
//! (`--config FILE` or `LADDER_CONFIG`).
//!
//! The file is TOML whose keys are the environment variables' names without `LADDER_`, in
//! lower case (`listen = "0.0.0.0:8080"`, `database_url = "postgres://…"`,
//! `rate_per_token = 500`, `trusted_proxy = ["10.0.0.1", "10.0.0.2"]`). Before the command
//! line is parsed, every key the environment does not already set is put into the process's
//! environment, so each setting is read in one place (its clap argument or its
//! `std::env::var`) whatever its source. The settings known are those of the clap
//! definitions (every `env = "LADDER_…"`) and [`ENV_ONLY`]; an unknown key is refused with its
//! line and column, so a misspelling never passes silently.
//!
//! `ladder config check` shows each setting's value and where it came from, with secrets
//! hidden, after checking the file and every value the way `ladder serve` would.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::CommandFactory;

/// Settings read from the environment only (no command-line option): secrets, so they show
/// in no process list, and the few tuning knobs read by the crate that uses them.
/// Each is its variable, its default and what it is for.
pub const ENV_ONLY: &[(&str, Option<&str>, &str)] = &[
    (
        "LADDER_LOG",
        Some("info,tower_http=warn"),
        "Which log lines to write (a tracing filter; docs/operations.md#logs)",
    ),
    (
        "LADDER_WEBHOOK_SECRET",
        None,
        "The key outbound webhook signatures are made with (HMAC-SHA256), 16 characters or more",
    ),
    ("LADDER_SMS_AUTH_TOKEN", None, "The SMS API's auth token; it also checks the SMS webhook's `X-Twilio-Signature`"),
    ("LADDER_CONTACT_SECRET", None, "The key of the contact webhook's `Ladder-Signature` (16 characters or more)"),
    ("LADDER_SIMULATION_SLOTS", Some("1"), "How many what-if simulations run at once (0: accepted, none run)"),
    ("LADDER_SIMULATION_MAX_CASES", Some("1000000"), "The most cases one simulation replays"),
    ("LADDER_SIMULATION_MAX_SECONDS", Some("600"), "The longest one simulation runs, in seconds"),
];

/// Where the configuration file is named: this variable or the `--config` option.
pub const CONFIG_VARIABLE: &str = "LADDER_CONFIG";

/// The largest configuration file read.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A setting Ladder knows: its environment variable and what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub variable: String,
    pub help: String,
    pub default: Option<String>,
}

impl Setting {
    /// The file's key for it: the variable without `LADDER_`, in lower case.
    pub fn key(&self) -> String {
        self.variable.trim_start_matches("LADDER_").to_ascii_lowercase()
    }

    /// Whether its value must never be shown.
    pub fn is_secret(&self) -> bool {
        is_secret_name(&self.variable)
    }
}

fn is_secret_name(variable: &str) -> bool {
    ["SECRET", "AUTH_TOKEN", "PASSWORD"].iter().any(|word| variable.contains(word))
}

/// Every setting, from the command-line definitions of all subcommands and [`ENV_ONLY`],
/// each once, sorted by variable.
pub fn settings() -> Vec<Setting> {
    let mut found = BTreeMap::new();
    collect(&crate::Cli::command(), &mut found);
    for (variable, default, help) in ENV_ONLY {
        found.entry(variable.to_string()).or_insert_with(|| Setting {
            variable: variable.to_string(),
            help: help.to_string(),
            default: default.map(str::to_string),
        });
    }
    found.into_values().collect()
}

fn collect(command: &clap::Command, found: &mut BTreeMap<String, Setting>) {
    for arg in command.get_arguments() {
        let Some(variable) = arg.get_env().and_then(|v| v.to_str()) else { continue };
        // The file does not name itself; a hidden option (a drill's clock offset) is not a
        // setting to document or to put in a file.
        if variable == CONFIG_VARIABLE || arg.is_hide_set() {
            continue;
        }
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        let default = arg.get_default_values().first().map(|v| v.to_string_lossy().into_owned());
        found.entry(variable.to_string()).or_insert_with(|| Setting { variable: variable.to_string(), help, default });
    }
    for sub in command.get_subcommands() {
        collect(sub, found);
    }
}

/// Where one setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Environment,
    File,
}

/// A configuration file read and checked: each of its settings as the environment would
/// carry it.
#[derive(Debug, Default)]
pub struct FileSettings {
    pub path: Option<PathBuf>,
    pub values: BTreeMap<String, String>,
}

/// The file named by `--config FILE` (anywhere among `args`) or `LADDER_CONFIG`, read and
/// checked; empty when none is named.
pub fn named_file(args: &[OsString], env_value: Option<OsString>) -> anyhow::Result<FileSettings> {
    let mut named = env_value.map(PathBuf::from);
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" {
            break;
        }
        if text == "--config" {
            let Some(path) = iter.next() else { bail!("--config needs a file") };
            named = Some(PathBuf::from(path));
        } else if let Some(path) = text.strip_prefix("--config=") {
            named = Some(PathBuf::from(path));
        }
    }
    match named {
        Some(path) => read_file(&path),
        None => Ok(FileSettings::default()),
    }
}

/// Reads and checks one configuration file against [`settings`].
pub fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let shown = path.display();
    let meta = std::fs::metadata(path).with_context(|| format!("reading the configuration file {shown}"))?;
    if meta.len() > MAX_FILE_BYTES {
        bail!("{shown}: the configuration file is larger than {MAX_FILE_BYTES} bytes");
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the configuration file {shown}"))?;
    let values = parse(&text, &settings()).map_err(|e| anyhow::anyhow!("{shown}:{e}"))?;
    if values.keys().any(|v| is_secret_name(v)) && readable_by_others(&meta) {
        bail!(
            "{shown}: holds a secret but others may read it; make it readable by its owner only \
             (chmod 600 {shown})"
        );
    }
    Ok(FileSettings { path: Some(path.to_path_buf()), values })
}

#[cfg(unix)]
fn readable_by_others(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o077 != 0
}

#[cfg(not(unix))]
fn readable_by_others(_meta: &std::fs::Metadata) -> bool {
    false
}

/// A file's text as environment values: `LADDER_KEY` → the value as the variable would
/// spell it. Errors start with `LINE:COLUMN: `.
pub fn parse(text: &str, known: &[Setting]) -> Result<BTreeMap<String, String>, String> {
    use toml::Spanned;
    type Table = BTreeMap<Spanned<String>, Spanned<toml::Value>>;
    let table: Table = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_column(text, s.start));
        format!("{line}:{column}: {}", e.message())
    })?;
    let mut values = BTreeMap::new();
    for (key, value) in table {
        let at = |offset: usize| {
            let (line, column) = line_column(text, offset);
            format!("{line}:{column}")
        };
        let Some(setting) = known.iter().find(|s| s.key() == *key.get_ref()) else {
            return Err(format!(
                "{}: unknown setting `{}`; the keys are the environment variables without LADDER_, in lower case \
                 (`ladder config check` lists them)",
                at(key.span().start),
                key.get_ref()
            ));
        };
        let spelled = spell(value.get_ref()).ok_or_else(|| {
            format!(
                "{}: `{}` must be a string, a number, true/false or a list of those",
                at(value.span().start),
                key.get_ref()
            )
        })?;
        values.insert(setting.variable.clone(), spelled);
    }
    Ok(values)
}

/// A TOML value as an environment variable carries it; lists comma-separated.
fn spell(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(n) => Some(n.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|v| if v.is_array() { None } else { spell(v) })
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        toml::Value::Datetime(_) | toml::Value::Table(_) => None,
    }
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Puts the file's settings into the process's environment where it has none of its own,
/// and names the file in `LADDER_CONFIG` so `ladder config check` can say where they came
/// from.
///
/// # Safety
/// Changes the process's environment: call it before any other thread exists (first thing
/// in `main`, before the runtime is built).
pub unsafe fn apply(file: &FileSettings) {
    let mut applied = Vec::new();
    for (variable, value) in &file.values {
        if std::env::var_os(variable).is_none() {
            // SAFETY: the caller guarantees no other thread is running.
            unsafe { std::env::set_var(variable, value) };
            applied.push(variable.clone());
        }
    }
    if let Some(path) = &file.path {
        unsafe { std::env::set_var(CONFIG_VARIABLE, path) };
    }
    let _ = FROM_FILE.set(applied);
}

/// The variables [`apply`] took from the file.
static FROM_FILE: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Each setting that has a value, with where it came from.
pub fn effective() -> Vec<(Setting, String, Source)> {
    settings()
        .into_iter()
        .filter_map(|s| {
            let value = std::env::var(&s.variable).ok()?;
            let source = if FROM_FILE.get().is_some_and(|set| set.contains(&s.variable)) {
                Source::File
            } else {
                Source::Environment
            };
            Some((s, value, source))
        })
        .collect()
}

/// A value as it may be shown: secrets hidden, and the password of a URL.
pub fn shown(setting: &Setting, value: &str) -> String {
    if setting.is_secret() {
        return "(set, hidden)".to_string();
    }
    hide_url_password(value)
}

fn hide_url_password(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else { return value.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:****@{host}{path}"),
            None => value.to_string(),
        },
        None => value.to_string(),
    }
}

/// `ladder config check`: the settings in force, then whether `ladder serve` accepts them.
pub fn check() -> anyhow::Result<()> {
    match std::env::var_os(CONFIG_VARIABLE) {
        Some(path) => println!("configuration file: {}", Path::new(&path).display()),
        None => println!("configuration file: none (--config FILE or {CONFIG_VARIABLE})"),
    }
    let effective = effective();
    if effective.is_empty() {
        println!("no setting given: every one has its default");
    }
    for (setting, value, source) in &effective {
        let from = match source {
            Source::Environment => "environment",
            Source::File => "file",
        };
        println!("{:<34} {:<11} {}", setting.variable, from, shown(setting, value));
    }
    // Every value checked the way `ladder serve` reads it.
    <crate::Cli as clap::Parser>::try_parse_from(["ladder", "serve"])
        .map_err(|e| anyhow::anyhow!("{}", e.render().to_string().trim()))?;
    println!("ok: ladder serve accepts this configuration");
    Ok(())
}

/// The settings as a Markdown table (`ladder config list --markdown`), the one table
/// docs/operations.md carries.
pub fn markdown() -> String {
    let mut out = String::from("| Variable | File key | Default | Meaning |\n|---|---|---|---|\n");
    for s in settings() {
        let default = s.default.as_deref().map_or("—".to_string(), |d| format!("`{d}`"));
        let help = s.help.replace('\n', " ").replace('|', "\\|");
        out.push_str(&format!("| `{}` | `{}` | {} | {} |\n", s.variable, s.key(), default, help));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<Setting> {
        settings()
    }

    #[test]
    fn the_settings_come_from_every_subcommand_and_the_environment_only_list() {
        let names: Vec<String> = known().into_iter().map(|s| s.variable).collect();
        for expected in ["LADDER_LISTEN", "LADDER_DATABASE_URL", "LADDER_DATA_DIR", "LADDER_SMTP_URL", "LADDER_LOG"] {
            assert!(names.contains(&expected.to_string()), "{expected} missing from {names:?}");
        }
        let mut sorted = names.clone();
        sorted.dedup();
        assert_eq!(sorted, names, "each setting once");
        assert!(!names.contains(&CONFIG_VARIABLE.to_string()), "the file does not name itself");
    }

    #[test]
    fn a_file_spells_each_value_as_its_variable_would() {
        let text = "listen = \"0.0.0.0:9000\"\nrate_per_token = 50\nlog_json = true\ntrusted_proxy = [\"10.0.0.1\", \"10.0.0.2\"]\n";
        let values = parse(text, &known()).unwrap();
        assert_eq!(values["LADDER_LISTEN"], "0.0.0.0:9000");
        assert_eq!(values["LADDER_RATE_PER_TOKEN"], "50");
        assert_eq!(values["LADDER_LOG_JSON"], "true");
        assert_eq!(values["LADDER_TRUSTED_PROXY"], "10.0.0.1,10.0.0.2");
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_line_and_column() {
        let err = parse("listen = \"127.0.0.1:1\"\n  lisen = \"x\"\n", &known()).unwrap_err();
        assert!(err.starts_with("2:3: unknown setting `lisen`"), "{err}");
    }

    #[test]
    fn a_syntax_error_names_its_line_and_column() {
        let err = parse("listen = \"127.0.0.1:1\"\nrate_per_token = = 5\n", &known()).unwrap_err();
        assert!(err.starts_with("2:"), "{err}");
    }

    #[test]
    fn a_table_or_a_date_is_not_a_value() {
        let err = parse("listen = { host = \"x\" }\n", &known()).unwrap_err();
        assert!(err.starts_with("1:10: `listen` must be"), "{err}");
        let err = parse("listen = 1979-05-27\n", &known()).unwrap_err();
        assert!(err.contains("`listen` must be"), "{err}");
    }

    #[test]
    fn secrets_and_url_passwords_are_never_shown() {
        let secret = known().into_iter().find(|s| s.variable == "LADDER_WEBHOOK_SECRET").unwrap();
        assert_eq!(shown(&secret, "hunter2hunter2hunter2"), "(set, hidden)");
        let url = known().into_iter().find(|s| s.variable == "LADDER_DATABASE_URL").unwrap();
        assert_eq!(shown(&url, "postgres://ladder:pw@db:5432/ladder"), "postgres://ladder:****@db:5432/ladder");
        assert_eq!(shown(&url, "postgres://ladder@db/ladder"), "postgres://ladder@db/ladder");
        let expiry = known().into_iter().find(|s| s.variable == "LADDER_TOKEN_EXPIRY_DEFAULT").unwrap();
        assert!(!expiry.is_secret(), "a token's lifetime is no secret");
    }

    #[test]
    fn the_file_is_named_by_the_option_anywhere_or_the_variable() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(named_file(&args(&["ladder", "serve"]), None).unwrap().path.is_none());
        let err = named_file(&args(&["ladder", "serve", "--config", "/nonexistent/ladder.toml"]), None).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/ladder.toml"), "{err:#}");
        let err = named_file(&args(&["ladder", "serve"]), Some("/nonexistent/env.toml".into())).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/env.toml"), "{err:#}");
        let err = named_file(&args(&["ladder", "serve", "--config"]), None).unwrap_err();
        assert!(err.to_string().contains("--config needs a file"));
    }

    #[test]
    fn a_file_holding_a_secret_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("ladder-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ladder.toml");
        std::fs::write(&path, "webhook_secret = \"0123456789abcdef0123\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_file(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let read = read_file(&path).unwrap();
        assert_eq!(read.values["LADDER_WEBHOOK_SECRET"], "0123456789abcdef0123");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_variable_the_code_reads_is_a_known_setting() {
        // A new `std::env::var("LADDER_…")` outside the tests must be listed in ENV_ONLY (or be
        // a clap argument), or a file could not set it and the docs' table would miss it.
        let names: Vec<String> = known().into_iter().map(|s| s.variable).collect();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut missing = Vec::new();
        for krate in ["cli", "http", "engine", "core"] {
            scan(&root.join(krate).join("src"), &names, &mut missing);
        }
        assert!(missing.is_empty(), "read but not a known setting: {missing:?}");
    }

    fn scan(dir: &Path, names: &[String], missing: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                scan(&path, names, missing);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("config.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split("env::var(\"").skip(1) {
                let name: String = piece.chars().take_while(|c| *c != '"').collect();
                if name.starts_with("LADDER_") && !name.starts_with("LADDER_TEST_") && !names.contains(&name) {
                    missing.push(format!("{name} in {}", path.display()));
                }
            }
        }
    }
}
