//! The writer: one thread per store drains queued writes into one transaction (group
//! commit, one fsync per batch), each write in its own savepoint so a refused or panicking
//! write never spoils the others, and answers every caller after the commit.

use std::panic::AssertUnwindSafe;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::connect::pg_connect;
use super::{Store, Tx};
use crate::db::{Db, PgConn};
use crate::{StoreError, StoreResult};

/// Writes queued for the writer at most; a caller beyond waits to queue its own.
const QUEUED_WRITES: usize = 8192;

/// Runs after a commit with its outcome, to answer the caller.
type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// One write: runs inside the batch transaction (or, given `None`, does not run because
/// the transaction could not be had) and returns how to answer.
pub(super) type Job = Box<dyn for<'t, 'c> FnOnce(Option<&'t mut Tx<'c>>) -> Completion + Send>;

/// The writer's connection.
#[allow(clippy::large_enum_variant)] // a handful live per process
pub(super) enum Writer {
    Lite(Connection),
    Pg { conn: PgConn, config: tokio_postgres::Config, url: String, channel: String },
}

impl Writer {
    fn db(&mut self) -> Db<'_> {
        match self {
            Writer::Lite(c) => Db::Lite(c),
            Writer::Pg { conn, .. } => Db::Pg(conn),
        }
    }

    /// After a failed batch: roll back what is open, and reconnect a dropped PostgreSQL
    /// connection (the next batch then runs on the new one).
    fn recover(&mut self) {
        match self {
            Writer::Lite(c) => {
                if !c.is_autocommit() {
                    let _ = c.execute_batch("ROLLBACK");
                }
            }
            Writer::Pg { conn, config, url, .. } => {
                if conn.is_closed() {
                    match pg_connect(config, url) {
                        Ok(fresh) => *conn = fresh,
                        Err(e) => tracing::error!(error = %e, "the writer could not reconnect"),
                    }
                } else {
                    conn.discard_deferred();
                    let _ = conn.batch_execute("ROLLBACK");
                }
            }
        }
    }
}

/// Starts the writer thread on `conn` (`max_batch` writes per transaction at most; `origin`
/// names this store in its announcements) and returns where to queue writes for it.
pub(super) fn start(conn: Writer, max_batch: usize, origin: String) -> StoreResult<mpsc::Sender<Job>> {
    let (jobs, rx) = mpsc::channel::<Job>(QUEUED_WRITES);
    std::thread::Builder::new()
        .name("ladder-writer".into())
        .spawn(move || writer_loop(conn, rx, max_batch, origin))
        .map(|_| jobs)
        .map_err(|e| StoreError::Internal(e.to_string()))
}

impl Store {
    /// Runs `f` in the next write transaction (inside its own savepoint, so a failing
    /// write never spoils the others in the batch) and answers after the commit.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tx) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (tx, rx) = oneshot::channel::<StoreResult<T>>();
        let audit = self.audit.clone();
        let job: Job = Box::new(move |conn: Option<&mut Tx>| {
            let result = match conn {
                Some(conn) => run_in_savepoint(conn, move |conn| {
                    let value = f(conn)?;
                    // The record of a directory change commits with the change, or not at all.
                    if let Some(entry) = &audit {
                        super::audit::record(conn, entry)?;
                    }
                    Ok(value)
                }),
                None => Err(StoreError::Internal("the write transaction failed".into())),
            };
            Box::new(move |commit: Result<(), StoreError>| {
                let _ = tx.send(commit.and(result));
            })
        });
        self.inner.jobs.send(job).await.map_err(|_| StoreError::Internal("the writer has stopped".into()))?;
        rx.await.map_err(|_| StoreError::Internal("the writer dropped the write".into()))?
    }
}

fn run_in_savepoint<T>(conn: &mut Tx, f: impl FnOnce(&mut Tx) -> StoreResult<T>) -> StoreResult<T> {
    let release = std::mem::take(&mut conn.release_pending);
    if conn.is_postgres() {
        // Sent with the write's first statement.
        if release {
            conn.defer("RELEASE job", crate::db::args![])?;
        }
        conn.defer("SAVEPOINT job", crate::db::args![])?;
    } else {
        conn.batch(if release { "RELEASE job; SAVEPOINT job" } else { "SAVEPOINT job" })?;
    }
    // What the write defers from here on is its own, and dropped if it fails.
    let mark = conn.mark();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %what, "a write panicked; rolled back");
        Err(StoreError::Internal(format!("a write panicked: {what}")))
    });
    // A deferred statement's failure is the write's failure.
    let result = result.and_then(|value| conn.sync().map(|()| value).map_err(StoreError::from));
    match &result {
        // Released with the next write's savepoint, or by the commit (the statements the
        // batch runs at its end then run inside it, and commit with it).
        Ok(_) if conn.is_postgres() => conn.release_pending = true,
        Ok(_) => conn.batch("RELEASE job")?,
        Err(e) => {
            if matches!(e, StoreError::WritesUnavailable(_)) {
                conn.fault = Some(e.clone());
            }
            conn.rewind(mark);
            // After a full disk SQLite may have rolled the whole transaction back, savepoint
            // and all: the write's own error is the one to tell.
            if let Err(rollback) = conn.batch("ROLLBACK TO job; RELEASE job") {
                tracing::warn!(error = %rollback, write_error = %e, "could not roll back a failed write's savepoint");
            }
        }
    }
    result
}

fn writer_loop(mut conn: Writer, mut rx: mpsc::Receiver<Job>, max_batch: usize, origin: String) {
    let begin = match conn {
        Writer::Lite(_) => "BEGIN IMMEDIATE",
        // Writes of every server on the database take turns (one batch at a time): case
        // numbers and versions are decided on what is committed, and the event log's
        // sequence follows commit order, so a reader of `events_after` never skips one.
        Writer::Pg { .. } => "BEGIN; SELECT pg_advisory_xact_lock(7365422)",
    };
    // Where a PostgreSQL batch announces its changes.
    let channel = match &conn {
        Writer::Pg { channel, .. } => channel.clone(),
        Writer::Lite(_) => String::new(),
    };
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        metrics::gauge!("ladder_writer_queue_depth").set(rx.len() as f64);
        metrics::histogram!("ladder_writer_batch_writes").record(batch.len() as f64);
        let started = std::time::Instant::now();
        // A dropped PostgreSQL connection is replaced before the batch begins.
        if matches!(&conn, Writer::Pg { conn, .. } if conn.is_closed()) {
            conn.recover();
        }
        let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
        let commit = match conn.db().batch(begin) {
            Ok(()) => {
                let mut lost = None;
                let mut tx = Tx::new(conn.db(), &origin, &channel);
                for job in batch.drain(..) {
                    if lost.is_some() {
                        completions.push(job(None));
                        continue;
                    }
                    completions.push(job(Some(&mut tx)));
                    // SQLite rolls the whole transaction back by itself on some errors (disk
                    // full, I/O); a PostgreSQL connection may drop.
                    if matches!(&tx.db, Db::Lite(c) if c.is_autocommit())
                        || matches!(&tx.db, Db::Pg(c) if c.is_closed())
                    {
                        lost = Some(
                            tx.fault
                                .clone()
                                .unwrap_or_else(|| StoreError::Internal("the write transaction was lost".into())),
                        );
                    }
                }
                if lost.is_none()
                    && let Err(e) = tx.flush()
                {
                    lost = Some(e);
                }
                drop(tx);
                match lost {
                    Some(e) => Err(e),
                    None => conn.db().batch("COMMIT").map_err(StoreError::from),
                }
            }
            Err(e) => {
                // Could not even begin: run none, answer every caller with the error.
                completions.extend(batch.drain(..).map(|job| job(None)));
                Err(StoreError::from(e))
            }
        };
        metrics::histogram!("ladder_writer_batch_seconds").record(started.elapsed().as_secs_f64());
        if let Err(e) = &commit {
            metrics::counter!("ladder_writer_batches_failed_total").increment(1);
            tracing::error!(error = %e, "the write batch failed and was rolled back");
            conn.recover();
        }
        for done in completions {
            done(commit.clone());
        }
    }
}
