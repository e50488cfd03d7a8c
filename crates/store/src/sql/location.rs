//! Where a store's data lives: [`Location`] (a SQLite data directory or a PostgreSQL URL),
//! the locations tests use, and URLs with their password hidden for logs.

use std::path::{Path, PathBuf};

use super::connect::{pg_config, pg_connect};

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Location {
    /// A SQLite database `ladder.db` in this directory.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by URL (`postgres://user@host:port/db`).
    Postgres(String),
}

impl Location {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else is a SQLite data directory
    /// (`sqlite://DIR` or a plain path).
    pub fn parse(s: &str) -> Location {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Location::Postgres(s.to_string())
        } else {
            Location::Sqlite(PathBuf::from(s.strip_prefix("sqlite://").unwrap_or(s)))
        }
    }

    /// For logs and messages: the URL without its password.
    pub fn redacted(&self) -> String {
        match self {
            Location::Sqlite(dir) => dir.join("ladder.db").display().to_string(),
            Location::Postgres(url) => redact_url(url),
        }
    }
}

/// The PostgreSQL database tests use: `LADDER_TEST_POSTGRES_URL`, or the one on this machine.
pub const TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Where a test's store lives: `dir` (SQLite), or, when `LADDER_TEST_BACKEND=postgres`, a
/// new empty schema of its own in the test PostgreSQL database — so the same tests run on
/// both backends, in parallel.
pub fn test_location(dir: &Path) -> Location {
    match std::env::var("LADDER_TEST_BACKEND").as_deref() {
        Ok("postgres") => test_postgres_location(),
        _ => Location::Sqlite(dir.to_path_buf()),
    }
}

/// A new empty schema in the test PostgreSQL database (see [`TEST_POSTGRES_URL`]).
pub fn test_postgres_location() -> Location {
    let url = std::env::var("LADDER_TEST_POSTGRES_URL").unwrap_or_else(|_| TEST_POSTGRES_URL.to_string());
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let config = pg_config(&url).expect("LADDER_TEST_POSTGRES_URL is a PostgreSQL URL");
    let mut conn = pg_connect(&config, &url).expect("the test PostgreSQL database answers");
    crate::db::off_runtime(|| conn.batch_execute(&format!("CREATE SCHEMA {schema}"))).expect("a test schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    Location::Postgres(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
