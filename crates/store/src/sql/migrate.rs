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
];

/// The migration that created the metrics tables: a database migrated across it has its
/// metrics computed from the event log once.
const METRICS_MIGRATION: usize = 7;

/// The migration that added the metrics' `team_agent` rows: filled from `case_metrics`.
const TEAM_AGENT_MIGRATION: usize = 8;

/// The migration that added the insight tables: filled from the case documents and the log.
const INSIGHTS_MIGRATION: usize = 10;

pub(super) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let done: usize = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    check_schema(done, MIGRATIONS.len())?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        after_migration(&mut Db::Lite(&tx), i + 1, done)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied migration");
    }
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

/// Data work a migration needs beyond its SQL.
fn after_migration(db: &mut Db, version: usize, done: usize) -> StoreResult<()> {
    if version == METRICS_MIGRATION {
        metrics::rebuild(db)?;
    } else if version == TEAM_AGENT_MIGRATION && done >= METRICS_MIGRATION {
        // A database built before: add the new dimension's rows (a rebuild just above
        // already counted them).
        metrics::add_dimension(db, ladder_core::metrics::Dimension::TeamAgent)?;
    } else if version == INSIGHTS_MIGRATION {
        insights::rebuild(db)?;
    }
    Ok(())
}

/// PostgreSQL migrations, each in its own transaction under an advisory lock, so nodes
/// starting together migrate once.
pub(super) fn migrate_pg(conn: &mut PgConn) -> StoreResult<()> {
    let mut db = Db::Pg(conn);
    db.batch("CREATE TABLE IF NOT EXISTS ladder_schema (version BIGINT NOT NULL)")?;
    // The version the database had before this run, as SQLite's runner sees it.
    let mut before: Option<usize> = None;
    loop {
        db.batch("BEGIN; SELECT pg_advisory_xact_lock(7365421)")?;
        let done = db.value_opt::<i64>("SELECT version FROM ladder_schema", crate::db::args![])?.unwrap_or(0) as usize;
        let start = *before.get_or_insert(done);
        let step = (|| -> StoreResult<bool> {
            check_schema(done, PG_MIGRATIONS.len())?;
            let Some(sql) = PG_MIGRATIONS.get(done) else { return Ok(false) };
            db.batch(sql)?;
            after_migration(&mut db, done + 1, start)?;
            db.exec("DELETE FROM ladder_schema", crate::db::args![])?;
            db.exec("INSERT INTO ladder_schema (version) VALUES (?1)", crate::db::args![(done + 1) as i64])?;
            Ok(true)
        })();
        match step {
            Ok(more) => {
                db.batch("COMMIT")?;
                if !more {
                    return Ok(());
                }
                tracing::info!(version = done + 1, "applied migration");
            }
            Err(e) => {
                let _ = db.batch("ROLLBACK");
                return Err(e);
            }
        }
    }
}
