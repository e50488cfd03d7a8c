//! `ladder`: the server binary. `main` parses the command line and hands off; the work is
//! in the library crates.

mod admin;
mod bench;
mod calendar_cmd;
mod channel_args;
mod config;
mod delivery_args;
mod demo;
mod matrix_cmd;
mod model_cmd;
mod requests;
mod serve_limits;
mod simulate_cmd;

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ladder_core::Role;
use ladder_engine::{Engine, command_line_principal};
use ladder_store::{Location, Store, StoreConfig};

#[derive(Parser)]
#[command(name = "ladder", version, about = "Escalation management for contact centers and IT support")]
struct Cli {
    /// A TOML file of settings (keys: the environment variables without `LADDER_`, in lower
    /// case); an option or environment variable wins over it. See `ladder config check`.
    #[arg(long, global = true, env = "LADDER_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct DataArgs {
    /// Where the embedded SQLite database lives.
    #[arg(long, env = "LADDER_DATA_DIR", default_value = "./ladder-data")]
    data_dir: PathBuf,
    /// A PostgreSQL database instead of SQLite: `postgres://user@host:5432/db` (several
    /// servers may share one). Without it, the SQLite database in --data-dir is used.
    #[arg(long = "database", env = "LADDER_DATABASE_URL")]
    database: Option<String>,
}

impl DataArgs {
    /// The engine on this data directory, with the active matrix (and so its levels) loaded.
    async fn engine(&self) -> anyhow::Result<Engine> {
        let engine = Engine::new(self.open()?);
        engine.load_matrix().await?;
        Ok(engine)
    }

    fn location(&self) -> Location {
        match &self.database {
            Some(url) => Location::parse(url),
            None => Location::Sqlite(self.data_dir.clone()),
        }
    }

    fn open(&self) -> anyhow::Result<Store> {
        let location = self.location();
        Store::open_at(&location, StoreConfig::default())
            .with_context(|| format!("opening the store at {}", location.redacted()))
    }
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum Command {
    /// Run the HTTP server.
    Serve {
        /// The address and port to listen on (port 0: a free one).
        #[arg(long, env = "LADDER_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        data: DataArgs,
        /// Seed a realistic demo contact center (once) and print logins.
        #[arg(long)]
        demo: bool,
        /// Log as JSON lines.
        #[arg(long, env = "LADDER_LOG_JSON", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
        log_json: bool,
        /// Run the server's clock this far ahead of the system clock (e.g. `3h`), for
        /// drills and restart tests of SLA timers. Never set it in production.
        #[arg(long, env = "LADDER_CLOCK_OFFSET", value_parser = parse_offset, hide = true)]
        clock_offset: Option<jiff::SignedDuration>,
        /// How long an API token lives when its request names no lifetime (e.g. `90d`).
        #[arg(long, env = "LADDER_TOKEN_EXPIRY_DEFAULT", value_parser = parse_offset, default_value = "90d")]
        token_expiry_default: jiff::SignedDuration,
        /// The longest lifetime an API token may be given (e.g. `365d`).
        #[arg(long, env = "LADDER_TOKEN_EXPIRY_MAX", value_parser = parse_offset, default_value = "365d")]
        token_expiry_max: jiff::SignedDuration,
        /// The URL people reach the server at; `https://…` marks the console's cookies
        /// `Secure`.
        #[arg(long, env = "LADDER_PUBLIC_URL")]
        public_url: Option<String>,
        /// How long a customer portal link works (sent with every public reply; e.g. `30d`).
        /// Links are under `--public-url`, else the listening address.
        #[arg(long, env = "LADDER_PORTAL_LINK_TTL", value_parser = parse_offset, default_value = "30d")]
        portal_link_ttl: jiff::SignedDuration,
        /// The address of a reverse proxy whose `X-Forwarded-Proto: https` is believed (the
        /// console's cookies are then `Secure`); repeat for several. Nobody else's is.
        #[arg(long, env = "LADDER_TRUSTED_PROXY", value_delimiter = ',')]
        trusted_proxy: Vec<std::net::IpAddr>,
        #[command(flatten)]
        limits: serve_limits::LimitArgs,
        /// Also receive email over SMTP on this address (e.g. `127.0.0.1:2525`), for an MTA
        /// to relay the support inbox to (docs/channels.md).
        #[arg(long, env = "LADDER_SMTP_LISTEN")]
        smtp_listen: Option<SocketAddr>,
        /// The domain of the Message-IDs Ladder writes; mail carrying one is a loop.
        #[arg(long, env = "LADDER_MAIL_DOMAIN", default_value = ladder_engine::intake::DEFAULT_MAIL_DOMAIN)]
        mail_domain: String,
        /// The team (slug or id) a case opened by an email goes to.
        #[arg(long, env = "LADDER_MAIL_TEAM")]
        mail_team: Option<String>,
        #[command(flatten)]
        delivery: delivery_args::DeliveryArgs,
        #[command(flatten)]
        channels: channel_args::ChannelArgs,
    },
    /// Administration on the data directory.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Check, explain and diff escalation-matrix files.
    Matrix {
        #[command(subcommand)]
        command: matrix_cmd::MatrixCommand,
    },
    /// Check business calendars and compute deadlines in business time.
    Calendar {
        #[command(subcommand)]
        command: calendar_cmd::CalendarCommand,
    },
    /// What-if: replay recorded cases under a candidate matrix and compare with what happened.
    Simulate(simulate_cmd::SimulateArgs),
    /// Exit 0 when the server on this machine is ready (`GET /readyz` answers 200), else 1:
    /// a container's health check.
    Health {
        /// The address the server listens on.
        #[arg(long, env = "LADDER_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// The settings in force: check a configuration file, list the settings.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Escalation-risk models: train on the store's history, list, activate.
    Model {
        #[command(subcommand)]
        command: model_cmd::ModelCommand,
    },
    /// Performance benchmarks (run with a release build).
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Show each setting given (secrets hidden) and where it came from, and check that
    /// `ladder serve` accepts them all; exits non-zero when it would not.
    Check,
    /// List every setting: its environment variable, file key, default and meaning.
    List {
        /// As the Markdown table docs/operations.md carries.
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Teams.
    Team {
        #[command(subcommand)]
        command: TeamCommand,
    },
    /// Rebuild every case projection from the event log.
    Rebuild {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Look for data in need of a person: active cases at a level with no team and nobody
    /// assigned (left by escalations before that was refused). Exits with status 1 when it
    /// finds any.
    Doctor {
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Write a consistent copy of the database to a new file; safe while the server runs.
    Backup {
        /// The backup file to create (it must not exist).
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Write the whole store (directory, matrix versions, event log) as JSON lines, from
    /// one consistent snapshot; safe while the server runs. Cases, timers and metrics are
    /// rebuilt from the log by `import`.
    Export {
        /// The file to create (`-` for standard output); it is readable by its owner only.
        #[arg(long, default_value = "-")]
        to: PathBuf,
        /// Include password hashes and API tokens. Without it, users of an imported export
        /// have no password until an admin sets one, and no tokens.
        #[arg(long)]
        include_credentials: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Load an export into an empty store (e.g. a new PostgreSQL database) and rebuild it.
    Import {
        /// The export file (`-` for standard input).
        #[arg(long)]
        from: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Put a backup in place as the data directory's database (stop the server first).
    Restore {
        /// The backup file (from `ladder admin backup`).
        #[arg(long)]
        from: PathBuf,
        /// Replace an existing database; it is kept as `ladder.db.before-restore-…`.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user.
    Create {
        #[arg(long)]
        name: String,
        /// agent, supervisor, manager or admin.
        #[arg(long)]
        role: String,
        /// Team slug; repeat for several.
        #[arg(long)]
        team: Vec<String>,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Mint an API token for a user and print only the token.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum TeamCommand {
    /// Create a team.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "L1")]
        level: String,
        /// front_line, specialist, back_office, outbound, management or on_call.
        #[arg(long, default_value = "front_line")]
        kind: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `12 events, 3 users, …`
fn transfer_counts(summary: &ladder_store::TransferSummary) -> String {
    summary.rows.iter().map(|(table, n)| format!("{n} {table}")).collect::<Vec<_>>().join(", ")
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LADDER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Installs the SIGTERM/SIGINT handlers now (before the server announces itself, so a
/// signal sent right after start-up is not lost) and resolves when one arrives.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        tracing::info!("shutting down: finishing in-flight requests");
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let file = config::named_file(&args, std::env::var_os(config::CONFIG_VARIABLE))?;
    // SAFETY: first thing in main, before the runtime or any other thread exists.
    unsafe { config::apply(&file) };
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli))
}

/// `ladder health`: asks the server listening on `listen` (its loopback address when it
/// listens on every address) whether it is ready.
async fn health(listen: SocketAddr) -> anyhow::Result<()> {
    let ip = match listen.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    let url = format!("http://{}/readyz", SocketAddr::new(ip, listen.port()));
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build()?;
    match client.get(&url).send().await {
        Ok(answer) if answer.status().is_success() => {
            println!("ready: {url}");
            Ok(())
        }
        Ok(answer) => anyhow::bail!("not ready: {url} answered {}", answer.status()),
        Err(e) => anyhow::bail!("not ready: {url}: {e}"),
    }
}

fn parse_offset(s: &str) -> Result<jiff::SignedDuration, String> {
    ladder_core::matrix::model::parse_duration(s).ok_or_else(|| format!("'{s}' is not a duration such as 90m or 3h"))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Config { command: ConfigCommand::Check } => config::check(),
        Command::Health { listen } => health(listen).await,
        Command::Config { command: ConfigCommand::List { markdown } } => {
            if markdown {
                print!("{}", config::markdown());
            } else {
                for s in config::settings() {
                    let default = s.default.as_deref().unwrap_or("-");
                    println!("{:<34} {:<30} {}", s.variable, s.key(), default);
                }
            }
            Ok(())
        }
        Command::Serve {
            listen,
            data,
            demo,
            log_json,
            clock_offset,
            token_expiry_default,
            token_expiry_max,
            public_url,
            portal_link_ttl,
            trusted_proxy,
            limits,
            smtp_listen,
            mail_domain,
            mail_team,
            delivery,
            channels,
        } => {
            init_logs(log_json);
            ladder_http::observe::install_recorder().map_err(anyhow::Error::msg)?;
            if portal_link_ttl <= jiff::SignedDuration::ZERO {
                anyhow::bail!("--portal-link-ttl must be positive");
            }
            if token_expiry_default > token_expiry_max || token_expiry_default <= jiff::SignedDuration::ZERO {
                anyhow::bail!("--token-expiry-default must be positive and no longer than --token-expiry-max");
            }
            let web = ladder_http::web::WebConfig {
                https: public_url.as_deref().is_some_and(|u| u.to_ascii_lowercase().starts_with("https://")),
                trusted_proxies: trusted_proxy,
            };
            let contacts = channels.intake(public_url.as_deref())?;
            let store = data.open()?;
            let engine = Engine::with_limits(store, clock_offset.unwrap_or_default(), limits.engine_limits());
            engine.configure_deliveries(delivery.config()?).map_err(anyhow::Error::msg)?;
            engine
                .set_token_policy(ladder_engine::TokenPolicy { default: token_expiry_default, max: token_expiry_max });
            if let Some(offset) = clock_offset {
                tracing::warn!(offset = %format!("{offset:#}"), "the server clock is shifted from the system clock");
            }
            engine.load_matrix().await?;
            if demo {
                demo::seed(&engine).await?;
            }
            let shutdown = shutdown_signal()?;
            let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
            let addr = listener.local_addr()?;
            // Tests and scripts read this line to find the port when listening on :0.
            println!("ladder listening on http://{addr}");
            let base_url = public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
            engine.configure_portal(ladder_engine::PortalConfig { base_url, link_ttl: portal_link_ttl });
            if demo {
                demo::print_logins(&engine, addr).await?;
            }
            let smtp = match smtp_listen {
                Some(at) => {
                    let smtp = tokio::net::TcpListener::bind(at).await.with_context(|| format!("binding {at}"))?;
                    // Tests read this line too.
                    println!("ladder smtp listening on {}", smtp.local_addr()?);
                    Some((smtp, ladder_http::smtp::SmtpLimits::default()))
                }
                None => None,
            };
            let channels = ladder_http::Channels {
                mail: ladder_engine::MailIntake { own_domain: mail_domain, team: mail_team },
                smtp,
                contacts,
            };
            ladder_http::serve_channels(listener, engine, limits.serve_config(), web, channels, shutdown).await?;
            Ok(())
        }
        Command::Admin { command } => {
            init_logs(false);
            match command {
                AdminCommand::User { command: UserCommand::Create { name, role, team, password_stdin, data } } => {
                    let role = Role::parse(&role)
                        .with_context(|| format!("unknown role '{role}'; use agent, supervisor, manager or admin"))?;
                    let password = if password_stdin {
                        let mut s = String::new();
                        std::io::stdin().read_to_string(&mut s)?;
                        Some(s.lines().next().unwrap_or_default().to_string())
                    } else {
                        None
                    };
                    let engine = data.engine().await?;
                    let user = admin::create_user(&engine, &name, role, &team, password).await?;
                    println!("{}", user.id);
                    Ok(())
                }
                AdminCommand::Token { command: TokenCommand::Create { user, name, data } } => {
                    let engine = data.engine().await?;
                    let user = engine.resolve_user("user", &user).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    let t = engine
                        .mint_token(&command_line_principal(), user.id, name, None, jiff::Timestamp::now())
                        .await?;
                    println!("{}", t.secret);
                    Ok(())
                }
                AdminCommand::Team { command: TeamCommand::Create { slug, name, level, kind, data } } => {
                    let engine = data.engine().await?;
                    let team = admin::create_team(&engine, &slug, name.as_deref(), &level, &kind).await?;
                    println!("{}", team.id);
                    Ok(())
                }
                AdminCommand::Rebuild { data } => {
                    let store = data.open()?;
                    let n = store.rebuild_projections().await?;
                    println!("rebuilt {n} cases from the event log");
                    Ok(())
                }
                AdminCommand::Doctor { json, data } => {
                    let store = data.open()?;
                    let found = admin::doctor(&store).await?;
                    print!("{}", if json { admin::doctor_json(&found) } else { admin::doctor_text(&found) });
                    if !found.is_empty() {
                        std::process::exit(1);
                    }
                    Ok(())
                }
                AdminCommand::Backup { to, data } => {
                    let store = data.open()?;
                    let b = store.backup_to(to).await?;
                    println!(
                        "backup written to {}: {} events, {} cases, {:.1} MB, integrity ok",
                        b.path.display(),
                        b.events,
                        b.cases,
                        b.bytes as f64 / 1e6
                    );
                    Ok(())
                }
                AdminCommand::Export { to, include_credentials, data } => {
                    use std::os::unix::fs::OpenOptionsExt;
                    let store = data.open()?;
                    let out: Box<dyn std::io::Write + Send> = if to.as_os_str() == "-" {
                        Box::new(std::io::BufWriter::new(std::io::stdout()))
                    } else {
                        let file = std::fs::OpenOptions::new()
                            .write(true)
                            .create_new(true)
                            .mode(0o600)
                            .open(&to)
                            .with_context(|| format!("creating {} (it must not exist)", to.display()))?;
                        ladder_store::sql::private_file(&to)?;
                        Box::new(std::io::BufWriter::new(file))
                    };
                    let summary = store.export(out, include_credentials).await?;
                    eprintln!("exported {}", transfer_counts(&summary));
                    Ok(())
                }
                AdminCommand::Import { from, data } => {
                    let store = data.open()?;
                    let input: Box<dyn std::io::BufRead + Send> = if from.as_os_str() == "-" {
                        Box::new(std::io::BufReader::new(std::io::stdin()))
                    } else {
                        let file = std::fs::File::open(&from).with_context(|| format!("opening {}", from.display()))?;
                        Box::new(std::io::BufReader::new(file))
                    };
                    let summary = store.import(input).await.with_context(|| format!("importing {}", from.display()))?;
                    println!(
                        "imported into {}: {}; rebuilt {} cases",
                        data.location().redacted(),
                        transfer_counts(&summary),
                        summary.cases
                    );
                    Ok(())
                }
                AdminCommand::Restore { from, force, data } => {
                    if data.database.is_some() {
                        anyhow::bail!(
                            "restore puts a SQLite backup in a data directory; for PostgreSQL use pg_restore, or `ladder admin import`"
                        );
                    }
                    let suffix = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
                    let r = ladder_store::sql::backup::restore(&from, &data.data_dir, force, &suffix)?;
                    // Opening applies any newer migrations and proves the store starts.
                    data.open()?;
                    println!(
                        "restored {} into {}: {} events, {} cases",
                        from.display(),
                        r.path.display(),
                        r.events,
                        r.cases
                    );
                    Ok(())
                }
            }
        }
        Command::Matrix { command } => matrix_cmd::run(command),
        Command::Calendar { command } => calendar_cmd::run(command),
        Command::Simulate(args) => simulate_cmd::run(args).await,
        Command::Model { command } => model_cmd::run(command).await,
        Command::Bench { command } => {
            init_logs(false);
            bench::run(command).await
        }
    }
}
