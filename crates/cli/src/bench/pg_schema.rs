//! A PostgreSQL schema of one benchmark run's own, so runs start empty and leave nothing
//! behind in the database they were given.

use std::path::PathBuf;

use anyhow::Context;
use ladder_store::{Location, redact_url};

/// A schema created in the database at `url`; dropped (with everything in it) on drop.
pub struct BenchSchema {
    url: String,
    name: String,
}

impl BenchSchema {
    /// Creates `ladder_bench_<random>` in the database at `url`.
    pub fn create(url: &str) -> anyhow::Result<BenchSchema> {
        anyhow::ensure!(
            url.starts_with("postgres://") || url.starts_with("postgresql://"),
            "--database takes a PostgreSQL URL such as postgres://postgres@127.0.0.1:5432/ladder_bench, not '{url}'"
        );
        let name = format!("ladder_bench_{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
        run_sql(url, &format!("CREATE SCHEMA {name}"))
            .with_context(|| format!("creating schema {name} in {}", redact_url(url)))?;
        Ok(BenchSchema { url: url.to_string(), name })
    }

    /// The database URL with the schema as its search path: what `ladder serve --database`
    /// and [`ladder_store::Store::open_at`] take.
    pub fn url(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.url, self.name)
    }

    pub fn location(&self) -> Location {
        Location::parse(&self.url())
    }
}

impl Drop for BenchSchema {
    fn drop(&mut self) {
        if let Err(e) = run_sql(&self.url, &format!("DROP SCHEMA {} CASCADE", self.name)) {
            println!("warning: could not drop schema {}: {e:#}", self.name);
        }
    }
}

/// Where one benchmark run keeps its store: a directory of its own for SQLite, or with
/// `--database` a PostgreSQL schema of its own; both are removed when it is dropped.
pub struct BenchStorage {
    dir: PathBuf,
    schema: Option<BenchSchema>,
    pub location: Location,
}

impl BenchStorage {
    /// A fresh place for the run `name`: on PostgreSQL when `database` names one.
    pub fn new(name: &str, database: Option<&str>) -> anyhow::Result<BenchStorage> {
        let dir = super::world::tempfile_dir(name)?;
        let schema = database.map(BenchSchema::create).transpose()?;
        let location = match &schema {
            Some(schema) => schema.location(),
            None => Location::Sqlite(dir.clone()),
        };
        Ok(BenchStorage { dir, schema, location })
    }

    pub fn is_postgres(&self) -> bool {
        self.schema.is_some()
    }
}

impl Drop for BenchStorage {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// Runs `sql` on a connection of its own, on a thread of its own: the blocking client
/// starts a runtime, which must not happen on a thread of the bench's runtime.
fn run_sql(url: &str, sql: &str) -> anyhow::Result<()> {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || -> anyhow::Result<()> {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
        client.batch_execute(&sql)?;
        Ok(())
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the PostgreSQL call panicked"))?
}
