//! Change announcements between servers sharing a PostgreSQL database: each batch tells the
//! others which cases it changed (`NOTIFY`, delivered on commit), and
//! [`Store::changes_from_other_servers`] hears theirs (`LISTEN`, on a thread of its own).

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::location::redact_url;
use super::{Backend, Store, Tx};
use crate::StoreResult;

/// The announcement that another matrix version is in force.
const MATRIX_CHANGED: &str = "matrix";

/// Case ids per announcement: its payload stays under PostgreSQL's 8000-byte limit.
const CASES_PER_PAYLOAD: usize = 150;

/// What another server on the database changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// These cases.
    Cases(Vec<ladder_core::ids::CaseId>),
    /// Which matrix version is in force.
    Matrix,
}

impl Tx<'_> {
    /// On PostgreSQL, tells the other servers which cases changed (`NOTIFY`, delivered on
    /// commit, in payloads under PostgreSQL's 8000-byte limit).
    pub(super) fn announce(&mut self) -> StoreResult<()> {
        let mut changed = std::mem::take(&mut self.pending_changed);
        let matrix = std::mem::take(&mut self.pending_matrix);
        if !self.db.is_postgres() {
            return Ok(());
        }
        changed.sort();
        changed.dedup();
        let mut payloads: Vec<String> = changed
            .chunks(CASES_PER_PAYLOAD)
            .map(|chunk| chunk.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(","))
            .collect();
        if matrix {
            payloads.push(MATRIX_CHANGED.to_string());
        }
        for payload in payloads {
            self.db.value::<String>(
                "SELECT CAST(pg_notify(?1, ?2) AS TEXT)",
                crate::db::args![self.channel, format!("{} {payload}", self.origin)],
            )?;
        }
        Ok(())
    }
}

impl Store {
    /// On PostgreSQL, the cases other servers on the database change, as they commit
    /// (`LISTEN`); `None` on SQLite, which one server owns. A listening thread reconnects
    /// after a lost connection (announcements made meanwhile are missed: live views catch
    /// up on their next change, timers on their next sweep). It stops when the receiver is
    /// dropped. Answers once the first `LISTEN` is in place (or after 10 s without one).
    pub async fn changes_from_other_servers(&self) -> Option<mpsc::Receiver<Change>> {
        let Backend::Postgres { config, url, channel } = &self.inner.backend else { return None };
        let (tx, rx) = mpsc::channel(1024);
        let (config, url, channel) = (config.clone(), url.clone(), channel.clone());
        let origin = self.inner.origin.clone();
        let (ready, listening) = oneshot::channel();
        std::thread::Builder::new()
            .name("ladder-listen".into())
            .spawn(move || listen_loop(&config, &url, &channel, &origin, &tx, ready))
            .map_err(|e| tracing::error!(error = %e, "could not start listening to other servers"))
            .ok()?;
        if tokio::time::timeout(Duration::from_secs(10), listening).await.is_err() {
            tracing::warn!("not yet listening to other servers; carrying on");
        }
        Some(rx)
    }
}

fn listen_loop(
    config: &tokio_postgres::Config,
    url: &str,
    channel: &str,
    origin: &str,
    tx: &mpsc::Sender<Change>,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    use postgres::fallible_iterator::FallibleIterator;
    while !tx.is_closed() {
        // A blocking client of its own: it hands out the notifications.
        let mut conn = match postgres::Config::from(config.clone()).connect(postgres::NoTls) {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, url = %redact_url(url), "cannot listen to other servers; retrying");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if let Err(e) = conn.batch_execute(&format!("LISTEN \"{}\"", channel.replace('"', ""))) {
            tracing::warn!(error = %e, "cannot listen to other servers; retrying");
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        while !tx.is_closed() {
            let next = conn.notifications().timeout_iter(Duration::from_secs(2)).next();
            match next {
                Ok(Some(note)) => {
                    let Some((from, ids)) = note.payload().split_once(' ') else { continue };
                    if from == origin {
                        continue;
                    }
                    let change = if ids == MATRIX_CHANGED {
                        Change::Matrix
                    } else {
                        Change::Cases(ids.split(',').filter_map(|id| id.parse().ok()).collect())
                    };
                    if tx.blocking_send(change).is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "lost the connection listening to other servers; reconnecting");
                    break;
                }
            }
        }
    }
}
