//! Faults the store must survive with clear errors: reads beyond the readers' bound, a full
//! disk, a read-only database. Disk-full and read-only are SQLite's (its size limit,
//! `max_page_count`, stands in for the disk; `query_only` for a read-only file), so these
//! tests open SQLite whatever the test backend.

use std::time::Duration;

use jiff::Timestamp;
use ladder_core::directory::{LevelId, Team, TeamKind};
use ladder_core::ids::TeamId;

use crate::db::args;
use crate::sql::Store;
use crate::{Location, StoreConfig, StoreError};

fn open(dir: &std::path::Path, config: StoreConfig) -> Store {
    Store::open_at(&Location::Sqlite(dir.to_path_buf()), config).unwrap()
}

fn team(n: usize, name_len: usize) -> Team {
    Team {
        id: TeamId(uuid::Uuid::now_v7()),
        slug: format!("team-{n}"),
        name: "x".repeat(name_len),
        level: LevelId::new("L1"),
        kind: TeamKind::FrontLine,
        skills: Vec::new(),
        created_at: Timestamp::UNIX_EPOCH,
    }
}

async fn count_teams(store: &Store) -> Result<i64, StoreError> {
    store.read(|db| db.value::<i64>("SELECT COUNT(*) FROM teams", args![])).await
}

/// Runs `sql` on the writer's connection, inside a write.
async fn on_writer(store: &Store, sql: &'static str) -> Result<(), StoreError> {
    store.write(move |tx| Ok(tx.batch(sql)?)).await
}

#[tokio::test]
async fn reads_beyond_the_bound_wait_then_are_refused_as_busy_and_the_next_one_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig { max_readers: 1, read_wait: Duration::ZERO, ..StoreConfig::default() };
    let store = open(dir.path(), config);
    let (started, is_started) = tokio::sync::oneshot::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = store.clone();
    let held = tokio::spawn(async move {
        holder
            .read(move |_| {
                let _ = started.send(());
                let _ = released.recv();
                Ok(())
            })
            .await
    });
    is_started.await.unwrap();
    match count_teams(&store).await {
        Err(StoreError::Busy { what, retry_after }) => {
            assert_eq!(what, "all 1 database readers are in use");
            assert_eq!(retry_after, Duration::from_secs(1));
        }
        other => panic!("expected busy, got {other:?}"),
    }
    release.send(()).unwrap();
    held.await.unwrap().unwrap();
    assert_eq!(count_teams(&store).await.unwrap(), 0);
}

#[tokio::test]
async fn a_full_disk_refuses_writes_clearly_reads_go_on_and_nothing_is_corrupted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), StoreConfig::default());
    store.create_team(team(0, 10), None).await.unwrap();
    // The database may not grow by a page more.
    store
        .write(|tx| {
            let pages: i64 = tx.value("PRAGMA page_count", args![])?;
            tx.batch(&format!("PRAGMA max_page_count = {pages}"))?;
            Ok(())
        })
        .await
        .unwrap();
    let mut refused = None;
    for n in 1..200 {
        if let Err(e) = store.create_team(team(n, 4000), None).await {
            refused = Some(e);
            break;
        }
    }
    match refused {
        Some(StoreError::WritesUnavailable(message)) => {
            assert!(message.contains("disk (or its size limit) is full"), "{message}");
            assert!(message.contains("reads still work"), "{message}");
        }
        other => panic!("expected a full disk to refuse writes, got {other:?}"),
    }
    let committed = count_teams(&store).await.expect("reads go on with a full disk");
    assert!(committed >= 1);
    // Space again: writes resume, and the database is intact.
    on_writer(&store, "PRAGMA max_page_count = 1073741823").await.unwrap();
    store.create_team(team(1000, 10), None).await.unwrap();
    assert_eq!(count_teams(&store).await.unwrap(), committed + 1);
    let check: String = store.read(|db| db.value("PRAGMA integrity_check", args![])).await.unwrap();
    assert_eq!(check, "ok");
}

#[tokio::test]
async fn a_read_only_database_refuses_writes_clearly_and_reads_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), StoreConfig::default());
    store.create_team(team(0, 10), None).await.unwrap();
    on_writer(&store, "PRAGMA query_only = ON").await.unwrap();
    match store.create_team(team(1, 10), None).await {
        Err(StoreError::WritesUnavailable(message)) => {
            assert!(message.starts_with("the database is read-only"), "{message}");
        }
        other => panic!("expected a read-only database to refuse writes, got {other:?}"),
    }
    assert_eq!(count_teams(&store).await.unwrap(), 1);
    let check: String = store.read(|db| db.value("PRAGMA integrity_check", args![])).await.unwrap();
    assert_eq!(check, "ok");
}
