//! Migrations: the SQL files of each backend, applied in order and counted in the database,
//! and the data work some of them need beyond their SQL.

use rusqlite::Connection;

use super::{insights, metrics};
use crate::db::{Db, PgConn};
use crate::{StoreError, StoreResult};

/// SQLite migrations, applied in order; `PRAGMA user_version` records how many ran. A tiny
/// runner keeps us off a second SQLite binding (the migration crates pin older rusqlite).
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("sqlite/0001_init.sql"),
    include_str!("sqlite/0002_matrix.sql"),
    include_str!("sqlite/0003_sla.sql"),
    include_str!("sqlite/0004_agents.sql"),
    include_str!("sqlite/0005_queues.sql"),
    include_str!("sqlite/0006_approvals.sql"),
    include_str!("sqlite/0007_metrics.sql"),
    include_str!("sqlite/0008_rule_activity.sql"),
    include_str!("sqlite/0009_timer_leases.sql"),
    include_str!("sqlite/0010_insights.sql"),
    include_str!("sqlite/0011_audit.sql"),
    include_str!("sqlite/0012_microseconds.sql"),
];

/// The PostgreSQL twins of [`MIGRATIONS`], one for one; `ladder_schema` records how many ran.
const PG_MIGRATIONS: &[&str] = &[
    include_str!("postgres/0001_init.sql"),
    include_str!("postgres/0002_matrix.sql"),
    include_str!("postgres/0003_sla.sql"),
    include_str!("postgres/0004_agents.sql"),
    include_str!("postgres/0005_queues.sql"),
    include_str!("postgres/0006_approvals.sql"),
    include_str!("postgres/0007_metrics.sql"),
    include_str!("postgres/0008_rule_activity.sql"),
    include_str!("postgres/0009_timer_leases.sql"),
    include_str!("postgres/0010_insights.sql"),
    include_str!("postgres/0011_audit.sql"),
    include_str!("postgres/0012_microseconds.sql"),
];

/// The migration that created the metrics tables: a database migrated across it has its
/// metrics computed from the event log once.
const METRICS_MIGRATION: usize = 7;

/// The migration that added the metrics' `team_agent` rows: filled from `case_metrics`.
const TEAM_AGENT_MIGRATION: usize = 8;

/// The migration that added the insight tables: filled from the case documents and the log.
const INSIGHTS_MIGRATION: usize = 10;

/// The columns migration 12 (`0012_microseconds.sql`) turned from nanoseconds (`*_ns`)
/// into microseconds (`*_us`), as `(table, column without its suffix)`.
pub(crate) const MICROSECOND_COLUMNS: &[(&str, &str)] = &[
    ("events", "at"),
    ("cases", "created_at"),
    ("cases", "updated_at"),
    ("cases", "sla_due_at"),
    ("cases", "queue_rank"),
    ("cases", "callback_due"),
    ("cases", "queued_since"),
    ("cases", "approval_since"),
    ("messages", "at"),
    ("teams", "updated_at"),
    ("users", "updated_at"),
    ("customers", "updated_at"),
    ("tokens", "created_at"),
    ("tokens", "expires_at"),
    ("tokens", "revoked_at"),
    ("idempotency", "created_at"),
    ("matrix_drafts", "updated_at"),
    ("matrix_versions", "created_at"),
    ("matrix_activations", "at"),
    ("timers", "fire_at"),
    ("timers", "lease_until"),
    ("agents", "presence_since"),
    ("agents", "updated_at"),
    ("case_insights", "last_escalated"),
    ("case_insights", "after_escalation"),
    ("insight_breaches", "due"),
    ("audit_log", "at"),
];

/// SQL that takes migration 12 back out (microseconds back to nanoseconds, the columns
/// renamed back) and winds the schema version to 11, so a test can open a database as one
/// from before it. Not for production use: values past 2262 would overflow.
#[doc(hidden)]
pub fn undo_microseconds_sql(postgres: bool) -> String {
    const TRIGGERS: [(&str, &str, &str); 3] = [
        ("events", "events_no_update", "events are append-only: never updated"),
        ("matrix_versions", "matrix_versions_no_update", "matrix versions are immutable"),
        ("audit_log", "audit_log_no_update", "the audit history is append-only"),
    ];
    let mut sql = String::new();
    for (table, trigger, _) in TRIGGERS {
        sql += &if postgres {
            format!("ALTER TABLE {table} DISABLE TRIGGER {trigger};\n")
        } else {
            format!("DROP TRIGGER {trigger};\n")
        };
    }
    for (table, column) in MICROSECOND_COLUMNS {
        sql += &format!(
            "ALTER TABLE {table} RENAME COLUMN {column}_us TO {column}_ns;\n\
             UPDATE {table} SET {column}_ns = {column}_ns * 1000;\n"
        );
    }
    for (table, trigger, message) in TRIGGERS {
        sql += &if postgres {
            format!("ALTER TABLE {table} ENABLE TRIGGER {trigger};\n")
        } else {
            format!("CREATE TRIGGER {trigger} BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END;\n")
        };
    }
    sql += if postgres { "UPDATE ladder_schema SET version = 11;\n" } else { "PRAGMA user_version = 11;\n" };
    sql
}

/// Applies the migrations a database has not had, all in one transaction, then the data
/// work they need (see [`after_migrations`]).
pub(super) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let done: usize = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    check_schema(done, MIGRATIONS.len())?;
    if done == MIGRATIONS.len() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for sql in &MIGRATIONS[done..] {
        tx.execute_batch(sql)?;
    }
    after_migrations(&mut Db::Lite(&tx), done)?;
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()?;
    tracing::info!(from = done, to = MIGRATIONS.len(), "applied migrations");
    Ok(())
}

fn check_schema(done: usize, known: usize) -> StoreResult<()> {
    if done > known {
        return Err(StoreError::Internal(format!(
            "the database is at schema version {done}, newer than this build knows ({known}); upgrade ladder"
        )));
    }
    Ok(())
}

/// Data work the migrations after version `done` need beyond their SQL. It runs once every
/// migration's SQL has, because its queries are written for the latest schema (migration
/// 12 renamed every instant column), in the same transaction, so a crash leaves the
/// database as it was.
fn after_migrations(db: &mut Db, done: usize) -> StoreResult<()> {
    if done < METRICS_MIGRATION {
        // Counts every dimension, the `team_agent` rows of migration 8 included.
        metrics::rebuild(db)?;
    } else if done < TEAM_AGENT_MIGRATION {
        // A database with metrics from before: add the new dimension's rows.
        metrics::add_dimension(db, ladder_core::metrics::Dimension::TeamAgent)?;
    }
    if done < INSIGHTS_MIGRATION {
        insights::rebuild(db)?;
    }
    Ok(())
}

/// PostgreSQL migrations: those a database has not had, in one transaction under an
/// advisory lock, so nodes starting together migrate once.
pub(super) fn migrate_pg(conn: &mut PgConn) -> StoreResult<()> {
    let mut db = Db::Pg(conn);
    db.batch("CREATE TABLE IF NOT EXISTS ladder_schema (version BIGINT NOT NULL)")?;
    db.batch("BEGIN; SELECT pg_advisory_xact_lock(7365421)")?;
    let step = (|| -> StoreResult<Option<usize>> {
        let done = db.value_opt::<i64>("SELECT version FROM ladder_schema", crate::db::args![])?.unwrap_or(0) as usize;
        check_schema(done, PG_MIGRATIONS.len())?;
        if done == PG_MIGRATIONS.len() {
            return Ok(None);
        }
        for sql in &PG_MIGRATIONS[done..] {
            db.batch(sql)?;
        }
        after_migrations(&mut db, done)?;
        db.exec("DELETE FROM ladder_schema", crate::db::args![])?;
        db.exec("INSERT INTO ladder_schema (version) VALUES (?1)", crate::db::args![PG_MIGRATIONS.len() as i64])?;
        Ok(Some(done))
    })();
    match step {
        Ok(applied) => {
            db.batch("COMMIT")?;
            if let Some(done) = applied {
                tracing::info!(from = done, to = PG_MIGRATIONS.len(), "applied migrations");
            }
            Ok(())
        }
        Err(e) => {
            let _ = db.batch("ROLLBACK");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_12_converts_every_listed_column_on_both_backends() {
        for sql in [MIGRATIONS[11], PG_MIGRATIONS[11]] {
            for (table, column) in MICROSECOND_COLUMNS {
                assert!(sql.contains(&format!("ALTER TABLE {table} RENAME COLUMN {column}_ns TO {column}_us;")));
                assert!(sql.contains(&format!("{column}_us = {column}_us / 1000")), "{table}.{column}");
            }
        }
        // And no column is left with nanoseconds: every `*_ns` the earlier migrations name
        // is in the list.
        for sql in MIGRATIONS[..11].iter().chain(&PG_MIGRATIONS[..11]) {
            for word in sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if let Some(column) = word.strip_suffix("_ns") {
                    assert!(MICROSECOND_COLUMNS.iter().any(|(_, c)| *c == column), "{word} is not converted");
                }
            }
        }
    }
}
