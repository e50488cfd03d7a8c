//! The write transaction as one write sees it: the connection, plus the work the batch
//! defers to its end (full-text rows, metrics and rule-activity sums, announcements), and
//! the marks a failed write's rollback returns that work to.

use super::{metrics, rule_activity};
use crate::StoreResult;
use crate::db::Db;

/// Full-text rows per `INSERT` on PostgreSQL (sent as one JSON array argument).
const TEXT_ROWS_PER_INSERT: usize = 1024;

/// The write transaction as one write sees it: the connection, plus work deferred to the
/// end of the batch.
pub(crate) struct Tx<'c> {
    pub(super) db: Db<'c>,
    /// Full-text rows `(text, rowid)` indexed just before the commit. FTS5 flushes its
    /// in-memory index at every savepoint, so indexing inside each write's savepoint would
    /// cost one flush per write instead of one per batch.
    pub(crate) pending_text: Vec<(String, i64)>,
    /// Metrics aggregate changes of the batch's committed writes, summed, written just
    /// before the commit: one upsert per aggregate row per batch, not per write.
    pub(crate) pending_metrics: Vec<metrics::Deltas>,
    /// Matrix triggers of the batch's committed writes `(day, case number, triggers)`,
    /// counted into `rule_activity` just before the commit.
    pub(crate) pending_rules: Vec<rule_activity::Pending>,
    /// Cases the batch's committed writes changed: announced to the other servers on the
    /// database (PostgreSQL `NOTIFY`, delivered with the commit).
    pub(crate) pending_changed: Vec<ladder_core::ids::CaseId>,
    /// Whether the batch put another matrix version in force (announced like cases).
    pub(crate) pending_matrix: bool,
    /// On PostgreSQL, the last write's savepoint is released together with the next write's
    /// `SAVEPOINT` (or by the commit): one round trip per write less.
    pub(super) release_pending: bool,
    /// Why the database refused a write of the batch (read-only, full), when it did: SQLite
    /// may then roll the whole transaction back, and every caller in the batch is told this.
    pub(super) fault: Option<crate::StoreError>,
    /// On PostgreSQL, the event sequence number the batch assigns next: read once per batch
    /// (the writers' advisory lock keeps it ours), so an event's insert needs no answer and
    /// can be deferred. The identity sequence is moved past it at the batch's end.
    next_event_seq: Option<i64>,
    /// This store's name in those announcements (so it skips its own), and their channel.
    pub(super) origin: &'c str,
    pub(super) channel: &'c str,
}

/// How much deferred work a batch held before one write: what that write's rollback
/// returns to, so the work of a refused or panicking write is dropped with it.
pub(super) struct Mark {
    deferred: usize,
    text: usize,
    metrics: usize,
    rules: usize,
    changed: usize,
    matrix: bool,
}

impl<'c> std::ops::Deref for Tx<'c> {
    type Target = Db<'c>;
    fn deref(&self) -> &Db<'c> {
        &self.db
    }
}

impl<'c> std::ops::DerefMut for Tx<'c> {
    fn deref_mut(&mut self) -> &mut Db<'c> {
        &mut self.db
    }
}

impl Tx<'_> {
    pub(super) fn new<'a>(db: Db<'a>, origin: &'a str, channel: &'a str) -> Tx<'a> {
        Tx {
            db,
            pending_text: Vec::new(),
            pending_metrics: Vec::new(),
            pending_rules: Vec::new(),
            pending_changed: Vec::new(),
            pending_matrix: false,
            release_pending: false,
            fault: None,
            next_event_seq: None,
            origin,
            channel,
        }
    }

    /// Where the deferred work stands now.
    pub(super) fn mark(&self) -> Mark {
        Mark {
            deferred: self.db.deferred_len(),
            text: self.pending_text.len(),
            metrics: self.pending_metrics.len(),
            rules: self.pending_rules.len(),
            changed: self.pending_changed.len(),
            matrix: self.pending_matrix,
        }
    }

    /// Drops the deferred work added since `mark`.
    pub(super) fn rewind(&mut self, mark: Mark) {
        self.db.discard_deferred_after(mark.deferred);
        self.pending_text.truncate(mark.text);
        self.pending_metrics.truncate(mark.metrics);
        self.pending_rules.truncate(mark.rules);
        self.pending_changed.truncate(mark.changed);
        self.pending_matrix = mark.matrix;
    }

    /// Indexes the batch's texts, in rowid order so FTS5 can append without flushing. On
    /// PostgreSQL, many rows per statement (each statement is a round trip to the server).
    fn flush_text(&mut self) -> StoreResult<()> {
        self.pending_text.sort_by_key(|(_, rowid)| *rowid);
        let texts = std::mem::take(&mut self.pending_text);
        if !self.db.is_postgres() {
            for (text, rowid) in texts {
                self.db.exec("INSERT INTO case_text (rowid, body) VALUES (?1, ?2)", crate::db::args![rowid, text])?;
            }
            return Ok(());
        }
        for chunk in texts.chunks(TEXT_ROWS_PER_INSERT) {
            let rows: Vec<serde_json::Value> =
                chunk.iter().map(|(text, rowid)| serde_json::json!([rowid, text])).collect();
            self.db.exec(
                "INSERT INTO case_text (rowid, body)
                 SELECT CAST(t.r->>0 AS BIGINT), t.r->>1 FROM jsonb_array_elements(CAST(CAST(?1 AS TEXT) AS JSONB)) AS t(r)",
                crate::db::args![serde_json::Value::Array(rows).to_string()],
            )?;
        }
        Ok(())
    }

    /// The sequence number of the next event this batch writes on PostgreSQL (numbers of a
    /// write that is rolled back are skipped, as the identity sequence would skip them).
    pub(crate) fn next_event_seq(&mut self) -> StoreResult<i64> {
        let next = match self.next_event_seq {
            Some(next) => next,
            None => self.db.value::<i64>("SELECT coalesce(max(seq), 0) + 1 FROM events", crate::db::args![])?,
        };
        self.next_event_seq = Some(next + 1);
        Ok(next)
    }

    /// Writes what the batch deferred to its end.
    pub(super) fn flush(&mut self) -> StoreResult<()> {
        if let Some(next) = self.next_event_seq.take() {
            // Events written without an explicit number (none today) follow ours.
            self.db
                .defer("SELECT setval(pg_get_serial_sequence('events', 'seq'), ?1, false)", crate::db::args![next])?;
        }
        self.flush_text()?;
        metrics::write_batch_deltas(&mut self.db, std::mem::take(&mut self.pending_metrics))?;
        rule_activity::write_batch(&mut self.db, std::mem::take(&mut self.pending_rules))?;
        self.announce()
    }
}
