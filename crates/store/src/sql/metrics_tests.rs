//! The metrics, rule-activity and insights queries on whichever backend
//! `LADDER_TEST_DATABASE_URL` selects (SQLite without it). Case writes are made here the
//! way `cases.rs` makes them (events, case row and document, then the metrics projection
//! and the batch's deltas), so these modules are tested on their own.

use std::collections::BTreeMap;

use jiff::civil::{Date, date};
use jiff::{SignedDuration, Timestamp};
use ladder_core::case::{Case, apply};
use ladder_core::command::{CaseCommand, Escalate, OpenCase, Resolve, TeamRef};
use ladder_core::directory::{Customer, CustomerStatus};
use ladder_core::event::{EVENT_SCHEMA, EscalationKind, Initiator, RecordedEvent};
use ladder_core::ids::{CaseId, CustomerId, TeamId};
use ladder_core::matrix::{Trigger, TriggerFired};
use ladder_core::metrics::{CaseMetrics, Dimension, MetricsTable};
use ladder_core::{Actor, Channel, Context, Ladder, LevelId, Priority, decide, record};
use uuid::Uuid;

use super::{MetricsRow, TeamGrouping};
use crate::db::args;
use crate::sql::{Store, ts_to_us};
use crate::{StoreConfig, StoreResult};

const FRONT: TeamId = TeamId(Uuid::from_u128(0x7E01));
const BILLING: TeamId = TeamId(Uuid::from_u128(0x7E02));
const TECH: TeamId = TeamId(Uuid::from_u128(0x7E03));
const ADA: CustomerId = CustomerId(Uuid::from_u128(0xC1));

fn team(id: TeamId, slug: &str, level: &str) -> TeamRef {
    TeamRef { id, slug: slug.into(), level: LevelId::new(level) }
}

fn at(minutes: i64) -> Timestamp {
    "2025-06-15T09:30:00.123456Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minutes)
}

fn open_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_at(&crate::test_location(dir.path()), StoreConfig::default()).unwrap();
    (dir, store)
}

fn customer(status: CustomerStatus) -> Customer {
    Customer {
        id: ADA,
        name: "Ada".into(),
        identities: Vec::new(),
        value: 0.0,
        segment: Some("enterprise".into()),
        language: None,
        time_zone: None,
        custom_fields: BTreeMap::new(),
        created_at: at(0),
        status,
        status_changed_at: None,
    }
}

async fn put_customer(store: &Store, customer: &Customer) {
    let doc = serde_json::to_string(customer).unwrap();
    store
        .write(move |tx| {
            tx.exec("DELETE FROM customers WHERE id = ?1", args![ADA.to_string()])?;
            tx.exec(
                "INSERT INTO customers (id, name, segment, doc, updated_at_us) VALUES (?1, 'Ada', 'enterprise', ?2, 0)",
                args![ADA.to_string(), doc],
            )?;
            Ok(())
        })
        .await
        .unwrap();
}

/// A case as written here: its state and its events.
#[derive(Default)]
struct Written {
    case: Option<Case>,
    events: Vec<RecordedEvent>,
}

/// Decides `command` on the case and stores the events as the write path does.
async fn write(store: &Store, id: CaseId, number: u64, written: &mut Written, command: CaseCommand, now: Timestamp) {
    let case = written.case.take();
    let actor = Actor::User { id: ladder_core::ids::UserId(Uuid::from_u128(0xD5)) };
    let ladder = Ladder::default();
    let cx = Context {
        now,
        actor: &actor,
        ladder: &ladder,
        next_number: number,
        new_id: Uuid::now_v7(),
        matrix_version: None,
    };
    let events = decide(case.as_ref(), &command, &cx).unwrap();
    let events: Vec<RecordedEvent> = record(id, case.as_ref().map_or(0, |c| c.version), &cx, events);
    let mut state = case;
    for e in &events {
        state = Some(apply(state, e));
    }
    let case = state.unwrap();
    let stored = case.clone();
    written.case = Some(case);
    written.events.extend(events.iter().cloned());
    store
        .write(move |tx| -> StoreResult<()> {
            for e in &events {
                tx.exec(
                    "INSERT INTO events (case_id, version, type, schema, at_us, actor, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    args![
                        e.case_id.to_string(),
                        e.version,
                        e.event.kind(),
                        EVENT_SCHEMA,
                        ts_to_us(e.at),
                        serde_json::to_string(&e.actor)?,
                        serde_json::to_string(&e.event)?
                    ],
                )?;
            }
            tx.exec("DELETE FROM cases WHERE number = ?1", args![number])?;
            tx.exec("DELETE FROM case_docs WHERE number = ?1", args![number])?;
            tx.exec(
                "INSERT INTO cases (number, id, status, level, team_id, customer_id, priority, channel,
                     created_at_us, updated_at_us, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'normal', 'web', ?7, ?7, ?8)",
                args![
                    number,
                    stored.id.to_string(),
                    format!("{:?}", stored.status).to_lowercase(),
                    stored.level.to_string(),
                    stored.team.map(|t| t.to_string()),
                    stored.customer.map(|c| c.to_string()),
                    ts_to_us(stored.created_at),
                    stored.version
                ],
            )?;
            tx.exec(
                "INSERT INTO case_docs (number, doc) VALUES (?1, ?2)",
                args![number, serde_json::to_string(&stored)?],
            )?;
            let deltas = super::project(tx, stored.id, stored.customer, &events)?;
            tx.pending_metrics.push(deltas);
            Ok(())
        })
        .await
        .unwrap();
}

fn open(i: usize) -> CaseCommand {
    CaseCommand::Open(OpenCase {
        subject: format!("metrics {i}"),
        description: String::new(),
        category: Some(if i.is_multiple_of(3) { "billing".into() } else { "network".into() }),
        channel: Channel::Web,
        priority: Priority::Normal,
        level: None,
        team: Some(if i.is_multiple_of(2) { team(FRONT, "front", "L1") } else { team(BILLING, "billing", "L1") }),
        assignee: None,
        customer: (i < 4).then_some(ADA),
        tags: Default::default(),
        custom_fields: BTreeMap::new(),
    })
}

fn escalate_to_tech() -> CaseCommand {
    CaseCommand::Escalate(Escalate {
        kind: EscalationKind::Functional,
        initiator: Initiator::Agent,
        to_level: None,
        to_team: Some(team(TECH, "tech", "L2")),
        to_user: None,
        reason: "needs a specialist".into(),
        tried: Some("restarted the router".into()),
        candidates: Vec::new(),
        team_choice: None,
    })
}

fn resolve() -> CaseCommand {
    CaseCommand::Resolve(Resolve { code: "done".into(), note: None, article_id: None })
}

/// Eight cases ten days apart from mid-June (so periods cut through months); the first four
/// are Ada's. Their final states.
async fn eight_cases(store: &Store) -> Vec<Written> {
    let day = 24 * 60;
    let mut cases = Vec::new();
    for i in 0..8usize {
        let (id, number, start) = (CaseId::new_v7(), i as u64 + 1, i as i64 * 10 * day);
        let mut written = Written::default();
        write(store, id, number, &mut written, open(i), at(start)).await;
        if i % 3 == 0 {
            write(store, id, number, &mut written, escalate_to_tech(), at(start + 5)).await;
        }
        if i % 2 == 0 {
            write(store, id, number, &mut written, resolve(), at(start + 30)).await;
        }
        cases.push(written);
    }
    cases
}

fn states(cases: &[Written]) -> Vec<&Case> {
    cases.iter().map(|w| w.case.as_ref().unwrap()).collect()
}

/// The periods the queries are compared over.
const PERIODS: [(Date, Date); 6] = ladder_testkit::store::METRICS_PERIODS;

async fn snapshot(store: &Store) -> Vec<Vec<MetricsRow>> {
    let mut out = Vec::new();
    for (from, to) in PERIODS {
        for dim in Dimension::ALL {
            out.push(store.metrics(from, to, Some(dim)).await.unwrap());
        }
    }
    out
}

/// The figures folded from each case's events from scratch.
fn recomputed(cases: &[Written], churned: bool) -> MetricsTable {
    let mut table = MetricsTable::default();
    for written in cases {
        let ada = written.case.as_ref().unwrap().customer == Some(ADA);
        let mut m = CaseMetrics::replay(&written.events, ada.then(|| "enterprise".to_string())).unwrap();
        m.customer_churned = ada && churned;
        table.replace(None, Some(&m));
    }
    table
}

async fn assert_equal_to(store: &Store, table: &MetricsTable) {
    for (from, to) in PERIODS {
        for dim in Dimension::ALL {
            let kept: Vec<_> =
                store.metrics(from, to, Some(dim)).await.unwrap().into_iter().map(|r| (r.value, r.counters)).collect();
            let expected: Vec<_> = table.query(from, to, dim).into_iter().collect();
            assert_eq!(kept, expected, "{from}..{to} {}", dim.as_str());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_kept_while_writing_equal_the_recomputed_ones_and_survive_rebuild_and_churn() {
    let (_dir, store) = open_store();
    put_customer(&store, &customer(CustomerStatus::Active)).await;
    let cases = eight_cases(&store).await;
    assert_equal_to(&store, &recomputed(&cases, false)).await;
    let total = store.metrics(date(2025, 1, 1), date(2025, 12, 31), None).await.unwrap();
    assert_eq!((total[0].counters.cases, total[0].counters.resolved), (8, 4));
    let segments = store.metrics(date(2025, 1, 1), date(2025, 12, 31), Some(Dimension::Segment)).await.unwrap();
    let segments: Vec<_> = segments.iter().map(|r| (r.value.as_str(), r.counters.cases)).collect();
    assert_eq!(segments, [("", 4), ("enterprise", 4)]);
    let before = snapshot(&store).await;

    // Rebuilt from the log: in pages smaller than a case's events, as many as there are
    // events in total, and in one.
    let n_events: i64 = store.read(|db| db.value("SELECT count(*) FROM events", args![])).await.unwrap();
    for page in [2, 3, n_events, super::REBUILD_PAGE] {
        store.write(move |tx| super::rebuild_in_pages(tx, page)).await.unwrap();
        assert_eq!(snapshot(&store).await, before, "pages of {page}");
    }

    // A dimension's rows computed from the stored case figures: after they were lost, and
    // again over the rows it has (replaced, not counted twice).
    store
        .write(|tx| {
            tx.exec("DELETE FROM metrics_daily WHERE dim LIKE 'team_agent%'", args![])?;
            super::add_dimension(tx, Dimension::TeamAgent)
        })
        .await
        .unwrap();
    assert_eq!(snapshot(&store).await, before);
    store.write(|tx| super::add_dimension(tx, Dimension::TeamAgent)).await.unwrap();
    assert_eq!(snapshot(&store).await, before);

    // Ada churns: her four cases count as churned, as a rebuild also finds.
    let churned = customer(CustomerStatus::Churned);
    put_customer(&store, &churned).await;
    store.write(move |tx| super::customer_changed(tx, &churned)).await.unwrap();
    let table = recomputed(&cases, true);
    assert_equal_to(&store, &table).await;
    let total = store.metrics(date(2025, 1, 1), date(2025, 12, 31), None).await.unwrap();
    assert_eq!(total[0].counters.churned, 4);
    let after_churn = snapshot(&store).await;
    store.write(|tx| super::rebuild(tx)).await.unwrap();
    assert_eq!(snapshot(&store).await, after_churn);
}

/// Takes the schema back to `version`, dropping `sql`'s tables, as a database from before.
/// Takes migrations 9 (timer leases), 10 (insight tables) and 11 (the audit history) back
/// out, so a downgraded database applies them again (after 12 and later ones, which are
/// undone first).
const UNDO_LATER_MIGRATIONS: &str = "DROP INDEX timers_leased; ALTER TABLE timers DROP COLUMN lease_until_ns; \
     ALTER TABLE timers DROP COLUMN lease_node; DROP TABLE case_insights; DROP TABLE insight_categories; \
     DROP TABLE insight_codes; DROP TABLE insight_approvals; DROP TABLE insight_breaches; DROP TABLE audit_log;";

async fn downgrade(store: &Store, sql: &'static str, version: i64) {
    store
        .write(move |tx| {
            let undo = crate::sql::undo_microseconds_sql(tx.is_postgres());
            tx.batch(&undo)?;
            tx.batch(sql)?;
            tx.batch(UNDO_LATER_MIGRATIONS)?;
            if tx.is_postgres() {
                tx.exec("UPDATE ladder_schema SET version = ?1", args![version])?;
            } else {
                tx.batch(&format!("PRAGMA user_version = {version}"))?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migrations_compute_the_metrics_of_an_older_database_from_its_log() {
    let (_dir, store) = open_store();
    put_customer(&store, &customer(CustomerStatus::Active)).await;
    let cases = eight_cases(&store).await;
    let before = snapshot(&store).await;
    let location = store.location().clone();

    // From before the metrics (migration 7): computed from the log when the store opens
    // (and the `team_agent` rows of migration 8 counted once, though PostgreSQL commits
    // each migration on its own).
    downgrade(&store, "DROP TABLE case_metrics; DROP TABLE metrics_daily; DROP TABLE rule_activity;", 6).await;
    drop(store);
    let store = Store::open_at(&location, StoreConfig::default()).unwrap();
    assert_eq!(snapshot(&store).await, before);
    assert_equal_to(&store, &recomputed(&cases, false)).await;

    // From before the `team_agent` rows (migration 8): added from the stored case figures.
    downgrade(&store, "DELETE FROM metrics_daily WHERE dim LIKE 'team_agent%'; DROP TABLE rule_activity;", 7).await;
    drop(store);
    let store = Store::open_at(&location, StoreConfig::default()).unwrap();
    assert_eq!(snapshot(&store).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_metrics_and_status_counts_read_the_same_rows() {
    let (_dir, store) = open_store();
    let cases = eight_cases(&store).await;
    let cases = states(&cases);
    let (from, to) = (date(2025, 1, 1), date(2025, 12, 31));
    let front = store.team_metrics(from, to, TeamGrouping::Total, vec![FRONT]).await.unwrap();
    assert_eq!(front.len(), 1);
    assert_eq!(front[0].counters.cases, 4);
    let by_team = store.team_metrics(from, to, TeamGrouping::Team, vec![FRONT, BILLING]).await.unwrap();
    let by_team: Vec<_> = by_team.iter().map(|r| (r.value.clone(), r.counters.cases)).collect();
    let mut expected = vec![(FRONT.to_string(), 4), (BILLING.to_string(), 4)];
    expected.sort();
    assert_eq!(by_team, expected);

    let statuses = store.cases_by_status().await.unwrap();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for case in &cases {
        *expected.entry(format!("{:?}", case.status).to_lowercase()).or_default() += 1;
    }
    assert_eq!(statuses, expected);
    assert_eq!(statuses.values().sum::<u64>(), 8);

    // An empty period has no rows, not a row of zeros.
    assert!(store.metrics(date(2024, 1, 1), date(2024, 1, 31), None).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_activity_adds_up_across_batches_and_keeps_the_latest_case() {
    let (_dir, store) = open_store();
    let (day1, day2) = (date(2025, 7, 1), date(2025, 7, 2));
    let fired = |rules: &[&str]| TriggerFired {
        trigger: Trigger::CaseOpened,
        rules: rules.iter().map(|r| r.to_string()).collect(),
    };
    // Separate commits, so the second meets the first's rows (the upsert's update branch).
    for (day, case, rules) in
        [(day1, 7, vec!["vip"]), (day1, 3, vec![]), (day2, 9, vec!["vip"]), (day1, 5, vec!["vip"])]
    {
        let pending = vec![(day, case, vec![fired(&rules)])];
        store
            .write(move |tx| {
                tx.pending_rules.extend(pending);
                Ok(())
            })
            .await
            .unwrap();
    }
    let rows = store.rule_activity(day1, day2).await.unwrap();
    let rows: Vec<_> = rows.iter().map(|r| (r.trigger.as_str(), r.rule.as_str(), r.n, r.examples.clone())).collect();
    let opened = Trigger::CaseOpened.as_str();
    assert_eq!(rows, [(opened, "", 4, vec![9, 7]), (opened, "vip", 3, vec![9, 7])]);
    let one_day = store.rule_activity(day2, day2).await.unwrap();
    assert_eq!(one_day.iter().map(|r| r.n).collect::<Vec<_>>(), [1, 1]);
}
