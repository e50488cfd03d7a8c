//! Export and import: the whole store as a portable stream of JSON lines, so a team can
//! move between backends (SQLite → PostgreSQL) or machines.
//!
//! The stream holds what cannot be recomputed — the directory, the matrix versions, the
//! rule activity counts and the event log — one `{"table": …, "row": {…}}` line per row
//! after a header line. Everything else (cases, documents, messages, full-text index,
//! timers, metrics) is a projection of the log and is rebuilt by the import.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Store;
use crate::db::{Arg, Db, args};
use crate::{StoreError, StoreResult};

/// The tables a stream carries, in the order they are written and read back.
const TABLES: &[(&str, &str)] = &[
    ("teams", "id"),
    ("users", "id"),
    ("user_teams", "team_id, user_id"),
    ("customers", "id"),
    ("customer_identities", "channel, value"),
    ("tokens", "id"),
    ("idempotency", "scope, key"),
    ("agents", "user_id"),
    ("macros", "id"),
    ("schedules", "id"),
    ("user_settings", "user_id"),
    ("matrix_drafts", "name"),
    ("matrix_versions", "version"),
    ("matrix_activations", "seq"),
    ("rule_activity", "day, trigger, rule"),
    ("audit_log", "seq"),
    ("events", "seq"),
];

/// The stream's version; a reader refuses a newer one.
const FORMAT: u32 = 1;

/// Rows written per write transaction during an import.
const IMPORT_CHUNK: usize = 2000;

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    ladder_export: u32,
    /// The schema version of the exporting store (migrations applied).
    schema: u32,
    exported_at: jiff::Timestamp,
    /// Whether password hashes and API tokens are in the stream (`export
    /// --include-credentials`); without them, imported users have no password until one is set.
    #[serde(default)]
    credentials: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    table: String,
    row: Map<String, Value>,
}

/// What an export wrote or an import read: rows per table, and the cases rebuilt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransferSummary {
    pub rows: Vec<(String, u64)>,
    pub cases: u64,
}

impl TransferSummary {
    fn count(&mut self, table: &str) {
        match self.rows.iter_mut().find(|(t, _)| t == table) {
            Some((_, n)) => *n += 1,
            None => self.rows.push((table.to_string(), 1)),
        }
    }

    /// Rows of `table`.
    pub fn rows_of(&self, table: &str) -> u64 {
        self.rows.iter().find(|(t, _)| t == table).map_or(0, |(_, n)| *n)
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Internal(format!("export stream: {e}"))
}

impl Store {
    /// Writes the whole store to `out` from one consistent snapshot, while the store stays
    /// in use. Password hashes and API tokens are left out unless `include_credentials`.
    pub async fn export(&self, out: Box<dyn Write + Send>, include_credentials: bool) -> StoreResult<TransferSummary> {
        self.read(move |db| {
            let mut out = out;
            let snapshot = if db.is_postgres() { "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" } else { "BEGIN" };
            db.batch(snapshot)?;
            let result = export_tables(db, &mut out, super::migrate::MIGRATIONS.len() as u32, include_credentials);
            let _ = db.batch("COMMIT");
            out.flush().map_err(io)?;
            result
        })
        .await
    }

    /// Reads a stream written by [`Store::export`] into this store, which must be empty,
    /// then rebuilds every projection from the imported log. A bad line is reported with
    /// its number; rows already written stay (import into a fresh store again).
    pub async fn import(&self, input: Box<dyn BufRead + Send>) -> StoreResult<TransferSummary> {
        let occupied: i64 = self
            .read(|db| {
                db.value("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM users) + (SELECT count(*) FROM teams)", args![])
            })
            .await?;
        if occupied > 0 {
            return Err(StoreError::InUse(
                "the target store is not empty: import into a new database or data directory".into(),
            ));
        }
        let mut summary = TransferSummary::default();
        let mut reader = Some(input);
        let mut line_no = 0usize;
        let mut header_seen = false;
        loop {
            let taken = reader.take().expect("the reader comes back after each chunk");
            let (back, chunk, read_to) = tokio::task::spawn_blocking(move || read_chunk(taken, line_no, !header_seen))
                .await
                .map_err(|e| StoreError::Internal(e.to_string()))??;
            reader = Some(back);
            line_no = read_to;
            header_seen = true;
            if chunk.is_empty() {
                break;
            }
            for line in &chunk {
                summary.count(&line.table);
            }
            self.write(move |tx| {
                for line in &chunk {
                    insert_row(tx, line)?;
                }
                Ok(())
            })
            .await?;
        }
        if line_no == 0 {
            return Err(StoreError::Internal("the import stream is empty".into()));
        }
        self.write(|tx| {
            if tx.is_postgres() {
                // Rows came with their own numbers: move the counters past them.
                tx.batch(
                    "SELECT setval(pg_get_serial_sequence('events', 'seq'), coalesce((SELECT max(seq) FROM events), 0) + 1, false);
                     SELECT setval(pg_get_serial_sequence('matrix_activations', 'seq'), coalesce((SELECT max(seq) FROM matrix_activations), 0) + 1, false);
                     SELECT setval(pg_get_serial_sequence('audit_log', 'seq'), coalesce((SELECT max(seq) FROM audit_log), 0) + 1, false);",
                )?;
            }
            Ok(())
        })
        .await?;
        summary.cases = self.rebuild_projections().await?;
        Ok(summary)
    }
}

fn export_tables(
    db: &mut Db,
    out: &mut Box<dyn Write + Send>,
    schema: u32,
    credentials: bool,
) -> StoreResult<TransferSummary> {
    let header = Header { ladder_export: FORMAT, schema, exported_at: jiff::Timestamp::now(), credentials };
    serde_json::to_writer(&mut *out, &header)?;
    out.write_all(b"\n").map_err(io)?;
    let mut summary = TransferSummary::default();
    for (table, order) in TABLES {
        if *table == "tokens" && !credentials {
            continue;
        }
        // The full-text column of PostgreSQL and other generated columns are not exported:
        // only the columns both schemas share are in these tables.
        db.each(&format!("SELECT * FROM {table} ORDER BY {order}"), args![], |r| {
            let mut row = Map::new();
            for i in 0..r.len() {
                let name = r.name(i)?;
                let value = if name == "password_hash" && !credentials { Value::Null } else { r.json(i)? };
                row.insert(name, value);
            }
            serde_json::to_writer(&mut *out, &Line { table: table.to_string(), row })?;
            out.write_all(b"\n").map_err(io)?;
            summary.count(table);
            Ok(())
        })?;
    }
    Ok(summary)
}

type Chunk = (Box<dyn BufRead + Send>, Vec<Line>, usize);

/// Up to [`IMPORT_CHUNK`] rows from `input`, after the header when `header` (checked).
fn read_chunk(mut input: Box<dyn BufRead + Send>, mut line_no: usize, mut header: bool) -> StoreResult<Chunk> {
    let mut rows = Vec::new();
    let mut buf = String::new();
    while rows.len() < IMPORT_CHUNK {
        buf.clear();
        if input.read_line(&mut buf).map_err(io)? == 0 {
            break;
        }
        line_no += 1;
        let text = buf.trim_end();
        if text.is_empty() {
            continue;
        }
        let at = |e: serde_json::Error| {
            let text = e.to_string();
            let what = text.rsplit_once(" at line ").map_or(text.as_str(), |(what, _)| what);
            StoreError::Internal(format!("line {line_no}, column {}: {what}", e.column()))
        };
        if header {
            let h: Header = serde_json::from_str(text).map_err(at)?;
            if h.ladder_export > FORMAT {
                return Err(StoreError::Internal(format!(
                    "line {line_no}: the stream is format {}, newer than this build reads ({FORMAT}); upgrade ladder",
                    h.ladder_export
                )));
            }
            header = false;
            continue;
        }
        let line: Line = serde_json::from_str(text).map_err(at)?;
        if !TABLES.iter().any(|(t, _)| *t == line.table) {
            return Err(StoreError::Internal(format!("line {line_no}: unknown table '{}'", line.table)));
        }
        if line.row.is_empty() || !line.row.keys().all(|k| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
            return Err(StoreError::Internal(format!("line {line_no}: a row needs plain column names")));
        }
        rows.push(line);
    }
    Ok((input, rows, line_no))
}

fn insert_row(db: &mut Db, line: &Line) -> StoreResult<()> {
    let columns: Vec<&str> = line.row.keys().map(String::as_str).collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let sql = format!("INSERT INTO {} ({}) VALUES ({})", line.table, columns.join(", "), placeholders.join(", "));
    let values = line.row.values().map(Arg::from_json).collect::<Result<Vec<_>, _>>()?;
    db.exec(&sql, &values)?;
    Ok(())
}
