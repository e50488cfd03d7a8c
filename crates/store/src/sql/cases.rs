//! Case streams and their projections.

use ladder_core::DomainError;
use ladder_core::access::CaseScope;
use ladder_core::case::{Case, apply};
use ladder_core::event::{CaseEvent, EVENT_SCHEMA, RecordedEvent};
use ladder_core::ids::CaseId;
use ladder_core::words::STOP_WORDS;

use super::{Store, Tx, ts_to_us, us_to_ts};
use crate::db::{Arg, Db, Row, args};
use crate::{
    AssigneeFilter, CaseFilter, CaseOutcome, CasePage, CaseWrite, EscalatedBy, Idempotency, PageRequest, StoreError,
    StoreResult, StoredEvent, StoredMessage, scope_teams,
};

/// Events read per query while rebuilding the projections: the writer's connection cannot
/// write while it streams rows (PostgreSQL), so the log is paged through by its key.
const REBUILD_CHUNK: i64 = 10_000;

impl Store {
    /// Loads the case, decides, appends the events and updates the projections, all in
    /// one transaction shared with whatever other writes arrived meanwhile.
    pub async fn execute(&self, write: CaseWrite) -> StoreResult<CaseOutcome> {
        self.write(move |tx| execute_case(tx, write)).await
    }

    /// A case opened for a requester: their customer is matched by identity or created in
    /// the same transaction as the case (see [`crate::RequesterWrite`]).
    pub async fn execute_for_requester(
        &self,
        case_id: CaseId,
        expected_version: Option<u64>,
        idempotency: Option<crate::Idempotency>,
        requester: crate::RequesterWrite,
        decide: crate::RequesterDecider,
        mail: Option<crate::MailRecord>,
    ) -> StoreResult<CaseOutcome> {
        self.write(move |tx| {
            if let Some(case) = replay_idempotent::<Case>(tx, idempotency.as_ref())? {
                return Ok(CaseOutcome { case, events: Vec::new(), replayed: true });
            }
            let customer = super::directory::match_or_create_customer(tx, &requester)?;
            let outcome =
                execute_case(tx, CaseWrite { case_id, expected_version, idempotency, decide: decide(&customer) })?;
            if let Some(mail) = &mail {
                super::inbound::record_mail(tx, case_id, mail)?;
            }
            Ok(outcome)
        })
        .await
    }

    /// The case as the projection has it.
    pub async fn case(&self, id: CaseId) -> StoreResult<Option<Case>> {
        self.read(move |db| load_case(db, id)).await
    }

    /// The case by its human number (`#1042`).
    pub async fn case_by_number(&self, number: u64) -> StoreResult<Option<Case>> {
        self.read(move |db| {
            let doc: Option<String> = db.value_opt("SELECT doc FROM case_docs WHERE number = ?1", args![number])?;
            doc.map(|d| serde_json::from_str(&d).map_err(StoreError::from)).transpose()
        })
        .await
    }

    /// Active cases (neither resolved nor closed) with no team and nobody assigned: work
    /// nobody sees in a queue. Oldest first, at most `limit`.
    pub async fn ownerless_cases(&self, limit: u32) -> StoreResult<Vec<Case>> {
        self.read(move |db| {
            let numbers: Vec<i64> = db.rows(
                "SELECT number FROM cases WHERE team_id IS NULL AND assignee_id IS NULL \
                 AND status NOT IN ('resolved', 'closed') ORDER BY number LIMIT ?1",
                args![limit],
                |r| Ok(r.get(0)?),
            )?;
            numbers.into_iter().map(|n| load_case_doc(db, n)).collect()
        })
        .await
    }

    /// The whole stream of a case, oldest first.
    pub async fn events(&self, id: CaseId) -> StoreResult<Vec<StoredEvent>> {
        self.read(move |db| load_events(db, id)).await
    }

    /// Events after a global position, for projections and exports.
    pub async fn events_after(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<StoredEvent>> {
        self.read(move |db| {
            db.rows(
                "SELECT seq, case_id, version, schema, at_us, actor, data, matrix_version FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                args![after_seq, limit],
                row_to_event,
            )
        })
        .await
    }

    /// Messages of a case, oldest first.
    pub async fn messages(&self, id: CaseId) -> StoreResult<Vec<StoredMessage>> {
        self.read(move |db| {
            db.rows(
                "SELECT m.id, m.seq, m.author, m.visibility, m.channel, m.body, m.at_us
                 FROM messages m JOIN cases c ON c.number = m.case_number
                 WHERE c.id = ?1 ORDER BY m.seq",
                args![id.to_string()],
                |r| {
                    Ok(StoredMessage {
                        id: r.get(0)?,
                        seq: r.get(1)?,
                        author: serde_json::from_str(&r.get::<String>(2)?)?,
                        visibility: serde_json::from_value(serde_json::Value::String(r.get(3)?))?,
                        channel: serde_json::from_value(serde_json::Value::String(r.get(4)?))?,
                        body: r.get(5)?,
                        at: us_to_ts(r.get(6)?),
                    })
                },
            )
        })
        .await
    }

    /// A page of cases the scope may see, newest first.
    pub async fn list_cases(&self, filter: CaseFilter, scope: CaseScope, page: PageRequest) -> StoreResult<CasePage> {
        self.read(move |db| list_cases(db, &filter, &scope, page)).await
    }

    /// Drops and rebuilds every case projection from the event log.
    pub async fn rebuild_projections(&self) -> StoreResult<u64> {
        self.write(|tx| {
            tx.batch(
                "DELETE FROM cases; DELETE FROM case_docs; DELETE FROM case_workers; DELETE FROM case_escalators; DELETE FROM case_escalated_from; DELETE FROM messages;
                 DELETE FROM case_text; DELETE FROM timers; DELETE FROM incidents;",
            )?;
            let mut current: Option<Case> = None;
            let mut n_cases = 0u64;
            let mut text = Vec::new();
            // Keyset paging by (case_id, version): each chunk is read whole before the
            // projections of its events are written.
            let mut after = (String::new(), 0i64);
            loop {
                let chunk = tx.rows(
                    "SELECT seq, case_id, version, schema, at_us, actor, data, matrix_version FROM events
                     WHERE (case_id, version) > (?1, ?2) ORDER BY case_id, version LIMIT ?3",
                    args![&after.0, after.1, REBUILD_CHUNK],
                    row_to_event,
                )?;
                let Some(last) = chunk.last() else { break };
                after = (last.recorded.case_id.to_string(), last.recorded.version as i64);
                for stored in chunk {
                    if current.as_ref().is_some_and(|c| c.id != stored.recorded.case_id) {
                        let case = current.take().expect("checked");
                        write_case_row(tx, &case, None)?;
                        sync_timers(tx, &case, &[])?;
                        n_cases += 1;
                    }
                    let next = apply(current.take(), &stored.recorded);
                    project_text(tx, &mut text, &next, &stored)?;
                    current = Some(next);
                }
            }
            if let Some(case) = &current {
                write_case_row(tx, case, None)?;
                sync_timers(tx, case, &[])?;
                n_cases += 1;
            }
            super::metrics::rebuild(tx)?;
            super::insights::rebuild(tx)?;
            tx.pending_text.extend(text);
            Ok(n_cases)
        })
        .await
    }
}

pub(crate) fn load_case_doc(db: &mut Db, number: i64) -> StoreResult<Case> {
    let text: String = db.value("SELECT doc FROM case_docs WHERE number = ?1", args![number])?;
    Ok(serde_json::from_str(&text)?)
}

pub(crate) fn load_case(db: &mut Db, id: CaseId) -> StoreResult<Option<Case>> {
    // On SQLite `CROSS JOIN` fixes the join order (find the case by id, then its document
    // by number): on a young database without statistics the planner may otherwise scan
    // `case_docs`. PostgreSQL has no `CROSS JOIN … ON`.
    let sql = if db.is_postgres() {
        "SELECT d.doc FROM cases c JOIN case_docs d ON d.number = c.number WHERE c.id = ?1"
    } else {
        "SELECT d.doc FROM cases c CROSS JOIN case_docs d ON d.number = c.number WHERE c.id = ?1"
    };
    let doc: Option<String> = db.value_opt(sql, args![id.to_string()])?;
    doc.map(|d| serde_json::from_str(&d).map_err(StoreError::from)).transpose()
}

fn load_events(db: &mut Db, id: CaseId) -> StoreResult<Vec<StoredEvent>> {
    db.rows(
        "SELECT seq, case_id, version, schema, at_us, actor, data, matrix_version FROM events WHERE case_id = ?1 ORDER BY version",
        args![id.to_string()],
        row_to_event,
    )
}

/// An event row read as `seq, case_id, version, schema, at_us, actor, data, matrix_version`.
pub(crate) fn row_to_event(r: &Row) -> StoreResult<StoredEvent> {
    let case_id: String = r.get(1)?;
    let actor: String = r.get(5)?;
    let data: String = r.get(6)?;
    Ok(StoredEvent {
        seq: r.get(0)?,
        schema: r.get::<i64>(3)? as u16,
        recorded: RecordedEvent {
            case_id: case_id.parse().map_err(|e| StoreError::Internal(format!("bad case id in log: {e}")))?,
            version: r.get::<i64>(2)? as u64,
            at: us_to_ts(r.get(4)?),
            actor: serde_json::from_str(&actor)?,
            event: serde_json::from_str(&data)?,
            matrix_version: r.get::<Option<i64>>(7)?.map(|v| v as u32),
        },
    })
}

fn check_idempotency(db: &mut Db, idem: &Idempotency) -> StoreResult<Option<String>> {
    let row: Option<(String, String)> = db.first(
        "SELECT fingerprint, result FROM idempotency WHERE scope = ?1 AND key = ?2",
        args![&idem.scope, &idem.key],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    match row {
        Some((fp, _)) if fp != idem.fingerprint => Err(StoreError::IdempotencyMismatch),
        Some((_, result)) => Ok(Some(result)),
        None => Ok(None),
    }
}

pub(crate) fn remember_idempotency(db: &mut Db, idem: &Idempotency, result: &str) -> StoreResult<()> {
    db.defer(
        "INSERT INTO idempotency (scope, key, fingerprint, result, created_at_us) VALUES (?1, ?2, ?3, ?4, ?5)",
        args![&idem.scope, &idem.key, &idem.fingerprint, result, ts_to_us(jiff::Timestamp::now())],
    )?;
    Ok(())
}

/// Looks up a remembered answer for `idem`, decoded as `T`.
pub(crate) fn replay_idempotent<T: serde::de::DeserializeOwned>(
    db: &mut Db,
    idem: Option<&Idempotency>,
) -> StoreResult<Option<T>> {
    match idem {
        Some(idem) => check_idempotency(db, idem)?.map(|r| serde_json::from_str(&r).map_err(Into::into)).transpose(),
        None => Ok(None),
    }
}

pub(crate) fn execute_case(tx: &mut Tx, write: CaseWrite) -> StoreResult<CaseOutcome> {
    if let Some(case) = replay_idempotent::<Case>(tx, write.idempotency.as_ref())? {
        return Ok(CaseOutcome { case, events: Vec::new(), replayed: true });
    }
    let current = load_case(tx, write.case_id)?;
    let actual = current.as_ref().map_or(0, |c| c.version);
    if let Some(expected) = write.expected_version
        && expected != actual
    {
        return Err(StoreError::VersionConflict { expected, actual });
    }
    let next_number = if current.is_none() {
        tx.value::<i64>("SELECT coalesce(max(number), 0) + 1 FROM cases", args![])? as u64
    } else {
        0
    };
    let crate::Decided { events, triggers } = (write.decide)(current.as_ref(), next_number)?;
    let previous_row = current.as_ref().map(RowKey::of);
    let previous_timers = current.as_ref().map(armed_timers).unwrap_or_default();
    let previous_insights = current.as_ref().map(super::insights::Details::of);
    let mut text = Vec::new();
    let mut state = current;
    for e in &events {
        if e.case_id != write.case_id || e.version != state.as_ref().map_or(0, |c| c.version) + 1 {
            return Err(StoreError::Internal("a decider returned events out of sequence".into()));
        }
        let values = vec![
            Arg::from(e.case_id.to_string()),
            Arg::from(e.version),
            Arg::from(e.event.kind()),
            Arg::from(EVENT_SCHEMA),
            Arg::from(ts_to_us(e.at)),
            Arg::from(serde_json::to_string(&e.actor)?),
            Arg::from(serde_json::to_string(&e.event)?),
            Arg::from(e.matrix_version),
        ];
        let seq: i64 = if tx.is_postgres() {
            // Numbered here, so the insert needs no answer and joins the deferred ones.
            let seq = tx.next_event_seq()?;
            let mut values = values;
            values.push(Arg::from(seq));
            tx.defer(
                "INSERT INTO events (case_id, version, type, schema, at_us, actor, data, matrix_version, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                &values,
            )?;
            seq
        } else {
            tx.value(
                "INSERT INTO events (case_id, version, type, schema, at_us, actor, data, matrix_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING seq",
                &values,
            )?
        };
        let next = apply(state.take(), e);
        project_text(tx, &mut text, &next, &StoredEvent { seq, schema: EVENT_SCHEMA, recorded: e.clone() })?;
        super::outbox::enqueue(tx, &next, e)?;
        state = Some(next);
    }
    let Some(case) = state else {
        return Err(StoreError::NotFound(format!("case {}", write.case_id)));
    };
    let mut deltas = super::metrics::Deltas::new();
    if !events.is_empty() {
        write_case_row(tx, &case, previous_row.as_ref())?;
        sync_timers(tx, &case, &previous_timers)?;
        deltas = super::metrics::project(tx, case.id, case.customer, &events)?;
        super::insights::project(tx, previous_insights, &case, &events)?;
        tx.pending_text.extend(text);
        tx.pending_changed.push(case.id);
    }
    if let Some(idem) = &write.idempotency {
        remember_idempotency(tx, idem, &serde_json::to_string(&case)?)?;
    }
    // Last, so nothing can fail after the write's deltas joined the batch's.
    if !deltas.is_empty() {
        tx.pending_metrics.push(deltas);
    }
    if let Some(first) = events.first()
        && !triggers.is_empty()
    {
        let day = first.at.to_zoned(jiff::tz::TimeZone::UTC).date();
        tx.pending_rules.push((day, case.number, triggers));
    }
    Ok(CaseOutcome { case, events, replayed: false })
}

/// Text and message projections that one event feeds.
fn project_text(db: &mut Db, text: &mut Vec<(String, i64)>, case: &Case, stored: &StoredEvent) -> StoreResult<()> {
    let number = case.number as i64;
    let text_rowid = (number << TEXT_ROWID_BITS) | stored.recorded.version as i64;
    match &stored.recorded.event {
        CaseEvent::Opened(o) => text.push((format!("{}\n{}", o.subject, o.description), text_rowid)),
        CaseEvent::Updated(u) => {
            if let Some(subject) = &u.subject {
                text.push((subject.clone(), text_rowid));
            }
        }
        CaseEvent::MessageAdded(m) => {
            db.defer(
                "INSERT INTO messages (id, case_number, seq, author, visibility, channel, body, at_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                args![
                    m.message_id.to_string(),
                    number,
                    stored.seq,
                    serde_json::to_string(&m.author)?,
                    enum_name(&m.visibility)?,
                    m.channel.as_str(),
                    &m.body,
                    ts_to_us(stored.recorded.at),
                ],
            )?;
            text.push((m.body.clone(), text_rowid));
        }
        _ => {}
    }
    Ok(())
}

fn enum_name<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    match serde_json::to_value(v)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(StoreError::Internal(format!("expected an enum name, got {other}"))),
    }
}

/// The parts of a case row that queries filter on. When none changed, an update rewrites
/// only the document and version, and leaves the seven indexes alone.
#[derive(PartialEq)]
struct RowKey {
    status: &'static str,
    level: String,
    team: Option<ladder_core::ids::TeamId>,
    assignee: Option<ladder_core::ids::UserId>,
    customer: Option<ladder_core::ids::CustomerId>,
    priority: &'static str,
    channel: &'static str,
    category: Option<String>,
    n_workers: usize,
    sla: Option<&'static str>,
    sla_due: Option<jiff::Timestamp>,
    queued: bool,
    /// What a queued case's rank depends on besides the fields above (its customer's
    /// value and recent cases change with other writes and are picked up on the next keyed
    /// change).
    sentiment: Option<i8>,
    callback: Option<jiff::Timestamp>,
    approval: Option<(&'static str, jiff::Timestamp)>,
}

impl RowKey {
    fn of(c: &Case) -> RowKey {
        let (sla, sla_due) = ladder_core::sla::standing(c);
        RowKey {
            status: c.status.as_str(),
            level: c.level.0.clone(),
            team: c.team,
            assignee: c.assignee,
            customer: c.customer,
            priority: c.priority.as_str(),
            channel: c.channel.as_str(),
            category: c.category.clone(),
            n_workers: c.worked_by.len(),
            sla,
            sla_due,
            queued: ladder_core::routing::is_queued(c),
            sentiment: c.customer_sentiment(),
            callback: c.pending_callback().map(|cb| cb.window_start),
            approval: super::approvals::approval_columns(c),
        }
    }
}

/// How many cases the customer opened in the [`REPEAT_WINDOW`] up to `case`, `case` included.
fn repeat_contacts(db: &mut Db, case: &Case) -> StoreResult<u32> {
    let Some(customer) = case.customer else { return Ok(1) };
    let since = case.created_at.saturating_sub(REPEAT_WINDOW).unwrap_or(case.created_at);
    let n: i64 = db.value(
        "SELECT count(*) FROM cases WHERE customer_id = ?1 AND created_at_us BETWEEN ?2 AND ?3 AND number <= ?4",
        args![customer.to_string(), ts_to_us(since), ts_to_us(case.created_at), case.number],
    )?;
    Ok((n as u32).max(1))
}

/// Repeat contacts are counted over this span (as the matrix's `repeat_contact` trigger).
const REPEAT_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(7 * 24);

/// The priority points of a case, from its customer and their recent cases.
pub(crate) fn priority_factors(db: &mut Db, case: &Case) -> StoreResult<ladder_core::routing::PriorityFactors> {
    let customer = match case.customer {
        Some(id) => super::directory::load_customer(db, id)?,
        None => None,
    };
    Ok(ladder_core::routing::priority_factors(case, customer.as_ref(), repeat_contacts(db, case)?))
}

/// The queue columns of a case: its priority score, virtual deadline and, for a booked
/// call-back, when its window opens; all `None` unless the case waits in a queue.
fn queue_columns(db: &mut Db, case: &Case) -> StoreResult<(Option<i64>, Option<i64>, Option<i64>)> {
    if !ladder_core::routing::is_queued(case) {
        return Ok((None, None, None));
    }
    if let Some(callback) = case.pending_callback() {
        let at = ts_to_us(callback.window_start);
        return Ok((Some(0), Some(at), Some(at)));
    }
    let score = priority_factors(db, case)?.total();
    let rank = ladder_core::routing::queue_rank(case, ladder_core::sla::standing(case).1, score);
    Ok((Some(i64::from(score)), Some(ts_to_us(rank)), None))
}

fn write_case_row(db: &mut Db, case: &Case, previous: Option<&RowKey>) -> StoreResult<()> {
    if case.incident.is_some() {
        super::incidents::project(db, case)?;
    }
    if previous.is_some_and(|p| *p == RowKey::of(case)) {
        let doc = serde_json::to_string(case)?;
        if db.is_postgres() {
            // One statement, so one round trip to the server.
            db.defer(
                "WITH touched AS (UPDATE cases SET updated_at_us = ?2, version = ?3 WHERE number = ?1)
                 UPDATE case_docs SET doc = ?4 WHERE number = ?1",
                args![case.number, ts_to_us(case.updated_at), case.version, doc],
            )?;
        } else {
            db.defer(
                "UPDATE cases SET updated_at_us = ?2, version = ?3 WHERE number = ?1",
                args![case.number, ts_to_us(case.updated_at), case.version],
            )?;
            db.defer("UPDATE case_docs SET doc = ?2 WHERE number = ?1", args![case.number, doc])?;
        }
        return Ok(());
    }
    let (sla, sla_due) = ladder_core::sla::standing(case);
    let (score, rank, callback_due) = queue_columns(db, case)?;
    let approval = super::approvals::approval_columns(case);
    // The casts tell PostgreSQL the type of the placeholders used in the CASE.
    db.defer(
        "INSERT INTO cases (number, id, status, level, team_id, assignee_id, customer_id, priority, channel, category,
                            created_at_us, updated_at_us, version, sla, sla_due_at_us, priority_score, queue_rank_us,
                            callback_due_us, queued_since_us, approval_role, approval_since_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 CASE WHEN CAST(?17 AS BIGINT) IS NULL THEN NULL ELSE CAST(?12 AS BIGINT) END, ?19, ?20)
         ON CONFLICT (number) DO UPDATE SET
            status = excluded.status, level = excluded.level, team_id = excluded.team_id,
            assignee_id = excluded.assignee_id, customer_id = excluded.customer_id, priority = excluded.priority,
            channel = excluded.channel, category = excluded.category, updated_at_us = excluded.updated_at_us,
            version = excluded.version, sla = excluded.sla, sla_due_at_us = excluded.sla_due_at_us,
            priority_score = excluded.priority_score, queue_rank_us = excluded.queue_rank_us,
            callback_due_us = excluded.callback_due_us,
            approval_role = excluded.approval_role, approval_since_us = excluded.approval_since_us,
            queued_since_us = CASE
                WHEN excluded.queue_rank_us IS NULL THEN NULL
                WHEN cases.queued_since_us IS NOT NULL AND cases.team_id IS NOT DISTINCT FROM excluded.team_id
                    THEN cases.queued_since_us
                ELSE excluded.queued_since_us END",
        args![
            case.number,
            case.id.to_string(),
            case.status.as_str(),
            case.level.as_str(),
            case.team.map(|t| t.to_string()),
            case.assignee.map(|u| u.to_string()),
            case.customer.map(|c| c.to_string()),
            case.priority.as_str(),
            case.channel.as_str(),
            case.category.as_deref(),
            ts_to_us(case.created_at),
            ts_to_us(case.updated_at),
            case.version,
            sla,
            sla_due.map(ts_to_us),
            score,
            rank,
            callback_due,
            approval.map(|a| a.0),
            approval.map(|a| ts_to_us(a.1)),
        ],
    )?;
    db.defer(
        "INSERT INTO case_docs (number, doc) VALUES (?1, ?2) ON CONFLICT (number) DO UPDATE SET doc = excluded.doc",
        args![case.number, serde_json::to_string(case)?],
    )?;
    // Who follows the case: who worked it, who escalated it, the teams it was escalated out of.
    let followers: [(&str, &str, Vec<String>); 3] = [
        ("case_workers", "user_id", case.worked_by.iter().map(ToString::to_string).collect()),
        ("case_escalators", "user_id", case.escalated_by.iter().map(ToString::to_string).collect()),
        ("case_escalated_from", "team_id", case.escalated_from.iter().map(ToString::to_string).collect()),
    ];
    for (table, column, ids) in followers {
        let sql = format!("INSERT INTO {table} ({column}, number) VALUES (?1, ?2) ON CONFLICT DO NOTHING");
        for id in ids {
            db.defer(&sql, args![id, case.number])?;
        }
    }
    Ok(())
}

/// The timers a case's clocks need: `(clock index, generation, fire at)` for every live
/// clock with something armed.
fn armed_timers(case: &Case) -> Vec<(u32, u64, jiff::Timestamp)> {
    case.clocks
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.state.is_final())
        .filter_map(|(i, c)| c.next_fire.map(|f| (i as u32, c.generation, f)))
        .collect()
}

/// Brings the case's timer rows from `previous` to what its clocks need now.
fn sync_timers(db: &mut Db, case: &Case, previous: &[(u32, u64, jiff::Timestamp)]) -> StoreResult<()> {
    let now = armed_timers(case);
    for (index, _, _) in previous {
        if !now.iter().any(|(i, _, _)| i == index) {
            db.defer("DELETE FROM timers WHERE case_number = ?1 AND clock_index = ?2", args![case.number, *index])?;
        }
    }
    for t @ (index, generation, fire_at) in &now {
        if previous.contains(t) {
            continue;
        }
        db.defer(
            "INSERT INTO timers (case_number, clock_index, case_id, generation, fire_at_us) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (case_number, clock_index) DO UPDATE SET generation = excluded.generation,
                fire_at_us = excluded.fire_at_us, lease_until_us = NULL, lease_node = NULL",
            args![case.number, *index, case.id.to_string(), *generation, ts_to_us(*fire_at)],
        )?;
    }
    Ok(())
}

/// Rewrites every timer row of a case from its clocks, none sooner than `not_before`
/// (after a timer fired nothing, so the same row is not picked up again at once).
pub(crate) fn reset_timers(db: &mut Db, id: CaseId, not_before: jiff::Timestamp) -> StoreResult<()> {
    let Some(case) = load_case(db, id)? else {
        db.defer("DELETE FROM timers WHERE case_id = ?1", args![id.to_string()])?;
        return Ok(());
    };
    db.defer("DELETE FROM timers WHERE case_number = ?1", args![case.number])?;
    for (index, generation, fire_at) in armed_timers(&case) {
        let at = ts_to_us(fire_at.max(not_before));
        db.defer(
            "INSERT INTO timers (case_number, clock_index, case_id, generation, fire_at_us) VALUES (?1, ?2, ?3, ?4, ?5)",
            args![case.number, index, case.id.to_string(), generation, at],
        )?;
    }
    Ok(())
}

/// Full-text rows are numbered `case number << 20 | event version`: a case's texts sit
/// together, newest case first when read backwards, and every insert is an append.
const TEXT_ROWID_BITS: u32 = 20;

/// One word of a text query: lower case, letters and digits only, so it can never be a
/// syntax error in either dialect's query language.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SearchWord {
    word: String,
    /// Typed with a trailing `*`: matches as a prefix.
    prefix: bool,
}

impl SearchWord {
    /// As an FTS5 query (SQLite): `"word"` or `"word"*`.
    fn fts5(&self) -> String {
        format!("\"{}\"{}", self.word, if self.prefix { "*" } else { "" })
    }

    /// As a `to_tsquery` input (PostgreSQL): `word` or `word:*`.
    fn tsquery(&self) -> String {
        format!("{}{}", self.word, if self.prefix { ":*" } else { "" })
    }
}

/// The longest text query: bytes of `q`, and distinct words in it. Each word is one more
/// index lookup (SQLite's query tree of a thousand words is "too large", PostgreSQL's merely
/// slow), so a longer query is refused rather than cut: a cut query would answer a
/// different question.
pub const MAX_SEARCH_BYTES: usize = 1_000;
pub const MAX_SEARCH_WORDS: usize = 16;

/// Splits free text into search words, every one required. Words match in any form (both
/// indexes stem English: "refunds" finds "refund"); a word ending in `*` matches as a
/// prefix (`rout*`). Prefixes are opt-in because a prefix scan of a common word reads its
/// whole posting list. English stop words ("the", "and", "not" …) are left out. `Ok(None)`
/// when nothing searchable is left; an error naming `q` past [`MAX_SEARCH_BYTES`] or
/// [`MAX_SEARCH_WORDS`].
fn search_words(q: &str) -> Result<Option<Vec<SearchWord>>, DomainError> {
    if q.len() > MAX_SEARCH_BYTES {
        return Err(DomainError::invalid(
            "q",
            format!("is {} bytes long; a search takes at most {MAX_SEARCH_BYTES}", q.len()),
        ));
    }
    let mut out: Vec<SearchWord> = Vec::new();
    for chunk in q.split_whitespace() {
        let prefix = chunk.ends_with('*');
        let words: Vec<&str> = chunk.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        let n = words.len();
        for (i, w) in words.into_iter().enumerate() {
            let word = SearchWord { word: w.to_lowercase(), prefix: prefix && i + 1 == n };
            if !word.prefix && STOP_WORDS.contains(&word.word.as_str()) {
                continue;
            }
            if !out.contains(&word) {
                out.push(word);
            }
        }
    }
    if out.len() > MAX_SEARCH_WORDS {
        return Err(DomainError::invalid(
            "q",
            format!("has {} words; a search takes at most {MAX_SEARCH_WORDS}", out.len()),
        ));
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// Turns free text into FTS5 terms that cannot be a syntax error: every word is quoted
/// and required (see [`search_words`]).
pub fn fts_terms(q: &str) -> Result<Option<Vec<String>>, DomainError> {
    Ok(search_words(q)?.map(|words| words.iter().map(SearchWord::fts5).collect()))
}

/// The `to_tsquery('english', …)` terms of free text on PostgreSQL. Its English
/// configuration drops stop words ("and", "the", "not" …), which match nothing there, so
/// they are left out (FTS5 indexes every word); `None` when no word is left.
pub(super) fn ts_terms(db: &mut Db, q: &str) -> StoreResult<Option<Vec<String>>> {
    let Some(words) = search_words(q)? else { return Ok(None) };
    let terms: Vec<String> = words.iter().map(SearchWord::tsquery).collect();
    // One round trip: for each term, whether it keeps a lexeme.
    let columns: Vec<String> =
        (1..=terms.len()).map(|i| format!("numnode(to_tsquery('english', CAST(?{i} AS TEXT)))")).collect();
    let sql = format!("SELECT {}", columns.join(", "));
    let args: Vec<Arg> = terms.iter().map(Arg::from).collect();
    let n = terms.len();
    let kept = db.one(&sql, &args, |r| (0..n).map(|i| Ok(r.get::<i64>(i)? > 0)).collect::<StoreResult<Vec<bool>>>())?;
    let terms: Vec<String> = terms.into_iter().zip(kept).filter(|(_, keep)| *keep).map(|(t, _)| t).collect();
    Ok(if terms.is_empty() { None } else { Some(terms) })
}

fn push_in(sql: &mut String, args: &mut Vec<Arg<'static>>, column: &str, values: Vec<String>) {
    if values.is_empty() {
        return;
    }
    sql.push_str(&format!(" AND {column} IN ("));
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        args.push(Arg::from(v));
        sql.push_str(&format!("?{}", args.len()));
    }
    sql.push(')');
}

/// `?n,?m,…` for `values`, pushed onto `args`.
fn placeholders(args: &mut Vec<Arg<'static>>, values: impl IntoIterator<Item = String>) -> String {
    let mut list = Vec::new();
    for v in values {
        args.push(Arg::from(v));
        list.push(format!("?{}", args.len()));
    }
    list.join(",")
}

/// Restricts `c` to the cases the scope may see (the rule is `core::access`'s
/// `Principal::can_view`): its teams' cases, those its user worked or escalated, and those
/// escalated out of its followed teams.
pub(crate) fn push_scope(sql: &mut String, args: &mut Vec<Arg<'static>>, scope: &CaseScope) {
    if let Some((teams, user, followed)) = scope_teams(scope) {
        sql.push_str(" AND (");
        if teams.is_empty() {
            sql.push_str("FALSE");
        } else {
            let list = placeholders(args, teams.iter().map(|t| t.to_string()));
            sql.push_str(&format!("c.team_id IN ({list})"));
        }
        args.push(Arg::from(user.to_string()));
        let n = args.len();
        sql.push_str(&format!(
            " OR c.number IN (SELECT w.number FROM case_workers w WHERE w.user_id = ?{n}) \
             OR c.number IN (SELECT e.number FROM case_escalators e WHERE e.user_id = ?{n})"
        ));
        if !followed.is_empty() {
            let list = placeholders(args, followed.iter().map(|t| t.to_string()));
            sql.push_str(&format!(
                " OR c.number IN (SELECT f.number FROM case_escalated_from f WHERE f.team_id IN ({list}))"
            ));
        }
        sql.push(')');
    }
}

fn list_cases(db: &mut Db, f: &CaseFilter, scope: &CaseScope, page: PageRequest) -> StoreResult<CasePage> {
    let postgres = db.is_postgres();
    let mut args: Vec<Arg<'static>> = Vec::new();
    // With a text query, the full-text index drives. The first word drives; every other
    // word must appear in some text of the same case (a range of rowids).
    // SQLite: read backwards, FTS5 yields matching texts newest case first; a case with
    // several matching texts comes out several times in a row and is counted once below.
    // PostgreSQL: the matching cases, distinct and newest first, one page of them.
    let words = match f.q.as_deref() {
        Some(q) => {
            let terms = if postgres { ts_terms(db, q)? } else { fts_terms(q)? };
            match terms {
                Some(words) => words,
                // A query with no searchable word (only punctuation) matches nothing.
                None => return Ok(CasePage { cases: Vec::new(), next_before: None }),
            }
        }
        None => Vec::new(),
    };
    let matches = |n: usize, table: &str| {
        if postgres {
            format!("{table}.tsv @@ to_tsquery('english', CAST(?{n} AS TEXT))")
        } else {
            format!("{table}.body MATCH ?{n}")
        }
    };
    let mut sql = if let Some((first, rest)) = words.split_first() {
        args.push(Arg::from(first.clone()));
        let mut sql = format!(
            "SELECT {}c.number FROM case_text JOIN cases c ON c.number = (case_text.rowid >> {TEXT_ROWID_BITS}) \
             WHERE {}",
            if postgres { "DISTINCT " } else { "" },
            matches(1, "case_text")
        );
        for word in rest {
            args.push(Arg::from(word.clone()));
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM case_text AS other WHERE {} \
                  AND other.rowid BETWEEN (c.number << {TEXT_ROWID_BITS}) AND ((c.number + 1) << {TEXT_ROWID_BITS}) - 1)",
                matches(args.len(), "other")
            ));
        }
        sql
    } else {
        String::from("SELECT c.number FROM cases c WHERE 1=1")
    };
    push_in(&mut sql, &mut args, "c.status", f.status.iter().map(|s| s.as_str().to_string()).collect());
    push_in(&mut sql, &mut args, "c.level", f.level.iter().map(|l| l.0.clone()).collect());
    push_in(&mut sql, &mut args, "c.team_id", f.team.iter().map(|t| t.to_string()).collect());
    push_in(&mut sql, &mut args, "c.priority", f.priority.iter().map(|p| p.as_str().to_string()).collect());
    push_in(&mut sql, &mut args, "c.channel", f.channel.iter().map(|c| c.as_str().to_string()).collect());
    if let Some(c) = f.customer {
        push_in(&mut sql, &mut args, "c.customer_id", vec![c.to_string()]);
    }
    if let Some(c) = &f.category {
        push_in(&mut sql, &mut args, "c.category", vec![c.clone()]);
    }
    match &f.assignee {
        Some(AssigneeFilter::User(u)) => push_in(&mut sql, &mut args, "c.assignee_id", vec![u.to_string()]),
        Some(AssigneeFilter::Unassigned) => sql.push_str(" AND c.assignee_id IS NULL"),
        None => {}
    }
    push_in(&mut sql, &mut args, "c.sla", f.sla.clone());
    match &f.escalated_by {
        Some(EscalatedBy::User(u)) => {
            args.push(Arg::from(u.to_string()));
            sql.push_str(&format!(
                " AND c.number IN (SELECT e.number FROM case_escalators e WHERE e.user_id = ?{})",
                args.len()
            ));
        }
        Some(EscalatedBy::Teams(teams)) if teams.is_empty() => sql.push_str(" AND FALSE"),
        Some(EscalatedBy::Teams(teams)) => {
            let list = placeholders(&mut args, teams.iter().map(|t| t.to_string()));
            sql.push_str(&format!(
                " AND c.number IN (SELECT f.number FROM case_escalated_from f WHERE f.team_id IN ({list}))"
            ));
        }
        None => {}
    }
    push_scope(&mut sql, &mut args, scope);
    // SQLite's text search reads rows until the page is full, so it needs no LIMIT.
    let by_number = words.is_empty() || postgres;
    if let Some(before) = page.before {
        args.push(Arg::from(before));
        if by_number {
            sql.push_str(&format!(" AND c.number < ?{}", args.len()));
        } else {
            sql.push_str(&format!(" AND case_text.rowid < (?{} << {TEXT_ROWID_BITS})", args.len()));
        }
    }
    let limit = page.limit.clamp(1, 500);
    if by_number {
        args.push(Arg::from(limit + 1));
        sql.push_str(&format!(" ORDER BY c.number DESC LIMIT ?{}", args.len()));
    } else {
        sql.push_str(" ORDER BY case_text.rowid DESC");
    }
    // Read lazily and stop at one more distinct case than the page holds.
    let mut numbers: Vec<i64> = Vec::with_capacity(limit as usize + 1);
    db.each_while(&sql, &args, |row| {
        let number: i64 = row.get(0)?;
        if numbers.last() != Some(&number) {
            numbers.push(number);
        }
        Ok(numbers.len() <= limit as usize)
    })?;
    let more = numbers.len() > limit as usize;
    let mut cases = Vec::with_capacity(limit as usize);
    for number in numbers.into_iter().take(limit as usize) {
        cases.push(load_case_doc(db, number)?);
    }
    let next_before = if more { cases.last().map(|c| c.number) } else { None };
    Ok(CasePage { cases, next_before })
}
