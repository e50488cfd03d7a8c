//! Case streams and their projections on SQLite.

use ladder_core::access::CaseScope;
use ladder_core::case::{Case, apply};
use ladder_core::event::{CaseEvent, EVENT_SCHEMA, RecordedEvent};
use ladder_core::ids::CaseId;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::{Store, Tx, ns_to_ts, ts_to_ns};
use crate::{
    AssigneeFilter, CaseFilter, CaseOutcome, CasePage, CaseWrite, Idempotency, PageRequest, StoreError, StoreResult,
    StoredEvent, StoredMessage, scope_teams,
};

impl Store {
    /// Loads the case, decides, appends the events and updates the projections, all in
    /// one transaction shared with whatever other writes arrived meanwhile.
    pub async fn execute(&self, write: CaseWrite) -> StoreResult<CaseOutcome> {
        self.write(move |conn| execute_case(conn, write)).await
    }

    /// The case as the projection has it.
    pub async fn case(&self, id: CaseId) -> StoreResult<Option<Case>> {
        self.read(move |conn| load_case(conn, id)).await
    }

    /// The case by its human number (`#1042`).
    pub async fn case_by_number(&self, number: u64) -> StoreResult<Option<Case>> {
        self.read(move |conn| {
            let doc: Option<String> = conn
                .prepare_cached("SELECT doc FROM case_docs WHERE number = ?1")?
                .query_row([number as i64], |r| r.get(0))
                .optional()?;
            doc.map(|d| serde_json::from_str(&d).map_err(StoreError::from)).transpose()
        })
        .await
    }

    /// The whole stream of a case, oldest first.
    pub async fn events(&self, id: CaseId) -> StoreResult<Vec<StoredEvent>> {
        self.read(move |conn| load_events(conn, id)).await
    }

    /// Events after a global position, for projections and exports.
    pub async fn events_after(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<StoredEvent>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, case_id, version, schema, at_ns, actor, data, matrix_version FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![after_seq, limit as i64], row_to_event)?;
            rows.map(|r| r.map_err(StoreError::from).and_then(|x| x)).collect()
        })
        .await
    }

    /// Messages of a case, oldest first.
    pub async fn messages(&self, id: CaseId) -> StoreResult<Vec<StoredMessage>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT m.id, m.seq, m.author, m.visibility, m.channel, m.body, m.at_ns
                 FROM messages m JOIN cases c ON c.number = m.case_number
                 WHERE c.id = ?1 ORDER BY m.seq",
            )?;
            let rows = stmt.query_map([id.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, seq, author, visibility, channel, body, at) = row?;
                out.push(StoredMessage {
                    id,
                    seq,
                    author: serde_json::from_str(&author)?,
                    visibility: serde_json::from_value(serde_json::Value::String(visibility))?,
                    channel: serde_json::from_value(serde_json::Value::String(channel))?,
                    body,
                    at: ns_to_ts(at),
                });
            }
            Ok(out)
        })
        .await
    }

    /// A page of cases the scope may see, newest first.
    pub async fn list_cases(&self, filter: CaseFilter, scope: CaseScope, page: PageRequest) -> StoreResult<CasePage> {
        self.read(move |conn| list_cases(conn, &filter, &scope, page)).await
    }

    /// Drops and rebuilds every case projection from the event log.
    pub async fn rebuild_projections(&self) -> StoreResult<u64> {
        self.write(|conn| {
            conn.execute_batch(
                "DELETE FROM cases; DELETE FROM case_docs; DELETE FROM case_workers; DELETE FROM messages;
                 DELETE FROM case_text; DELETE FROM timers;",
            )?;
            let mut stmt = conn.prepare(
                "SELECT seq, case_id, version, schema, at_ns, actor, data, matrix_version FROM events ORDER BY case_id, version",
            )?;
            let mut rows = stmt.query([])?;
            let mut current: Option<Case> = None;
            let mut n_cases = 0u64;
            let mut text = Vec::new();
            while let Some(row) = rows.next()? {
                let stored = row_to_event(row)??;
                if current.as_ref().is_some_and(|c| c.id != stored.recorded.case_id) {
                    write_case_row(conn, current.as_ref().expect("checked"), None)?;
                    sync_timers(conn, current.as_ref().expect("checked"), &[])?;
                    n_cases += 1;
                    current = None;
                }
                let next = apply(current.take(), &stored.recorded);
                project_text(conn, &mut text, &next, &stored)?;
                current = Some(next);
            }
            if let Some(case) = &current {
                write_case_row(conn, case, None)?;
                sync_timers(conn, case, &[])?;
                n_cases += 1;
            }
            drop(rows);
            drop(stmt);
            super::metrics::rebuild(conn)?;
            super::insights::rebuild(conn)?;
            conn.pending_text.extend(text);
            Ok(n_cases)
        })
        .await
    }
}

/// `CROSS JOIN` fixes the join order (find the case by id, then its document by number):
/// on a young database without statistics the planner may otherwise scan `case_docs`.
pub(crate) fn load_case_doc(conn: &Connection, number: i64) -> StoreResult<Case> {
    let text: String =
        conn.prepare_cached("SELECT doc FROM case_docs WHERE number = ?1")?.query_row([number], |r| r.get(0))?;
    Ok(serde_json::from_str(&text)?)
}

pub(crate) fn load_case(conn: &Connection, id: CaseId) -> StoreResult<Option<Case>> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT d.doc FROM cases c CROSS JOIN case_docs d ON d.number = c.number WHERE c.id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    doc.map(|d| serde_json::from_str(&d).map_err(StoreError::from)).transpose()
}

fn load_events(conn: &Connection, id: CaseId) -> StoreResult<Vec<StoredEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, case_id, version, schema, at_ns, actor, data, matrix_version FROM events WHERE case_id = ?1 ORDER BY version",
    )?;
    let rows = stmt.query_map([id.to_string()], row_to_event)?;
    rows.map(|r| r.map_err(StoreError::from).and_then(|x| x)).collect()
}

pub(crate) fn row_to_event(r: &rusqlite::Row) -> rusqlite::Result<StoreResult<StoredEvent>> {
    let seq: i64 = r.get(0)?;
    let case_id: String = r.get(1)?;
    let version: i64 = r.get(2)?;
    let schema: i64 = r.get(3)?;
    let at: i64 = r.get(4)?;
    let actor: String = r.get(5)?;
    let data: String = r.get(6)?;
    let matrix_version: Option<i64> = r.get(7)?;
    Ok((|| {
        Ok(StoredEvent {
            seq,
            schema: schema as u16,
            recorded: RecordedEvent {
                case_id: case_id.parse().map_err(|e| StoreError::Internal(format!("bad case id in log: {e}")))?,
                version: version as u64,
                at: ns_to_ts(at),
                actor: serde_json::from_str(&actor)?,
                event: serde_json::from_str(&data)?,
                matrix_version: matrix_version.map(|v| v as u32),
            },
        })
    })())
}

fn check_idempotency(conn: &Connection, idem: &Idempotency) -> StoreResult<Option<String>> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT fingerprint, result FROM idempotency WHERE scope = ?1 AND key = ?2")?
        .query_row(params![idem.scope, idem.key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        Some((fp, _)) if fp != idem.fingerprint => Err(StoreError::IdempotencyMismatch),
        Some((_, result)) => Ok(Some(result)),
        None => Ok(None),
    }
}

pub(crate) fn remember_idempotency(conn: &Connection, idem: &Idempotency, result: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO idempotency (scope, key, fingerprint, result, created_at_ns) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![idem.scope, idem.key, idem.fingerprint, result, ts_to_ns(jiff::Timestamp::now())])?;
    Ok(())
}

/// Looks up a remembered answer for `idem`, decoded as `T`.
pub(crate) fn replay_idempotent<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    idem: Option<&Idempotency>,
) -> StoreResult<Option<T>> {
    match idem {
        Some(idem) => check_idempotency(conn, idem)?.map(|r| serde_json::from_str(&r).map_err(Into::into)).transpose(),
        None => Ok(None),
    }
}

pub(crate) fn execute_case(conn: &mut Tx, write: CaseWrite) -> StoreResult<CaseOutcome> {
    if let Some(case) = replay_idempotent::<Case>(conn, write.idempotency.as_ref())? {
        return Ok(CaseOutcome { case, events: Vec::new(), replayed: true });
    }
    let current = load_case(conn, write.case_id)?;
    let actual = current.as_ref().map_or(0, |c| c.version);
    if let Some(expected) = write.expected_version
        && expected != actual
    {
        return Err(StoreError::VersionConflict { expected, actual });
    }
    let next_number = if current.is_none() {
        conn.prepare_cached("SELECT coalesce(max(number), 0) + 1 FROM cases")?.query_row([], |r| r.get::<_, i64>(0))?
            as u64
    } else {
        0
    };
    let crate::Decided { events, triggers } = (write.decide)(current.as_ref(), next_number)?;
    let previous_row = current.as_ref().map(RowKey::of);
    let previous_timers = current.as_ref().map(armed_timers).unwrap_or_default();
    let previous_insights = current.as_ref().map(super::insights::Details::of);
    let mut text = Vec::new();
    let mut state = current;
    {
        let mut insert = conn.prepare_cached(
            "INSERT INTO events (case_id, version, type, schema, at_ns, actor, data, matrix_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for e in &events {
            if e.case_id != write.case_id || e.version != state.as_ref().map_or(0, |c| c.version) + 1 {
                return Err(StoreError::Internal("a decider returned events out of sequence".into()));
            }
            insert.execute(params![
                e.case_id.to_string(),
                e.version as i64,
                e.event.kind(),
                EVENT_SCHEMA as i64,
                ts_to_ns(e.at),
                serde_json::to_string(&e.actor)?,
                serde_json::to_string(&e.event)?,
                e.matrix_version.map(|v| v as i64),
            ])?;
            let seq = conn.last_insert_rowid();
            let next = apply(state.take(), e);
            project_text(conn, &mut text, &next, &StoredEvent { seq, schema: EVENT_SCHEMA, recorded: e.clone() })?;
            state = Some(next);
        }
    }
    let Some(case) = state else {
        return Err(StoreError::NotFound(format!("case {}", write.case_id)));
    };
    let mut deltas = super::metrics::Deltas::new();
    if !events.is_empty() {
        write_case_row(conn, &case, previous_row.as_ref())?;
        sync_timers(conn, &case, &previous_timers)?;
        deltas = super::metrics::project(conn, case.id, case.customer, &events)?;
        super::insights::project(conn, previous_insights, &case, &events)?;
        conn.pending_text.extend(text);
    }
    if let Some(idem) = &write.idempotency {
        remember_idempotency(conn, idem, &serde_json::to_string(&case)?)?;
    }
    // Last, so nothing can fail after the write's deltas joined the batch's.
    if !deltas.is_empty() {
        conn.pending_metrics.push(deltas);
    }
    if let Some(first) = events.first()
        && !triggers.is_empty()
    {
        let day = first.at.to_zoned(jiff::tz::TimeZone::UTC).date();
        conn.pending_rules.push((day, case.number, triggers));
    }
    Ok(CaseOutcome { case, events, replayed: false })
}

/// Text and message projections that one event feeds.
fn project_text(
    conn: &Connection,
    text: &mut Vec<(String, i64)>,
    case: &Case,
    stored: &StoredEvent,
) -> StoreResult<()> {
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
            conn.prepare_cached(
                "INSERT INTO messages (id, case_number, seq, author, visibility, channel, body, at_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                m.message_id.to_string(),
                number,
                stored.seq,
                serde_json::to_string(&m.author)?,
                enum_name(&m.visibility)?,
                m.channel.as_str(),
                m.body,
                ts_to_ns(stored.recorded.at),
            ])?;
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
            sentiment: c.customer_sentiment,
            callback: c.pending_callback().map(|cb| cb.window_start),
            approval: super::approvals::approval_columns(c),
        }
    }
}

/// How many cases the customer opened in the [`REPEAT_WINDOW`] up to `case`, `case` included.
fn repeat_contacts(conn: &Connection, case: &Case) -> StoreResult<u32> {
    let Some(customer) = case.customer else { return Ok(1) };
    let since = case.created_at.saturating_sub(REPEAT_WINDOW).unwrap_or(case.created_at);
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM cases WHERE customer_id = ?1 AND created_at_ns BETWEEN ?2 AND ?3 AND number <= ?4",
        )?
        .query_row(
            params![customer.to_string(), ts_to_ns(since), ts_to_ns(case.created_at), case.number as i64],
            |r| r.get(0),
        )?;
    Ok((n as u32).max(1))
}

/// Repeat contacts are counted over this span (as the matrix's `repeat_contact` trigger).
const REPEAT_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(7 * 24);

/// The priority points of a case, from its customer and their recent cases.
pub(crate) fn priority_factors(conn: &Connection, case: &Case) -> StoreResult<ladder_core::routing::PriorityFactors> {
    let customer = match case.customer {
        Some(id) => super::directory::load_customer(conn, id)?,
        None => None,
    };
    Ok(ladder_core::routing::priority_factors(case, customer.as_ref(), repeat_contacts(conn, case)?))
}

/// The queue columns of a case: its priority score, virtual deadline and, for a booked
/// call-back, when its window opens; all `None` unless the case waits in a queue.
fn queue_columns(conn: &Connection, case: &Case) -> StoreResult<(Option<i64>, Option<i64>, Option<i64>)> {
    if !ladder_core::routing::is_queued(case) {
        return Ok((None, None, None));
    }
    if let Some(callback) = case.pending_callback() {
        let at = ts_to_ns(callback.window_start);
        return Ok((Some(0), Some(at), Some(at)));
    }
    let score = priority_factors(conn, case)?.total();
    let rank = ladder_core::routing::queue_rank(case, ladder_core::sla::standing(case).1, score);
    Ok((Some(i64::from(score)), Some(ts_to_ns(rank)), None))
}

fn write_case_row(conn: &Connection, case: &Case, previous: Option<&RowKey>) -> StoreResult<()> {
    if previous.is_some_and(|p| *p == RowKey::of(case)) {
        conn.prepare_cached("UPDATE cases SET updated_at_ns = ?2, version = ?3 WHERE number = ?1")?
            .execute(params![case.number as i64, ts_to_ns(case.updated_at), case.version as i64])?;
        conn.prepare_cached("UPDATE case_docs SET doc = ?2 WHERE number = ?1")?
            .execute(params![case.number as i64, serde_json::to_string(case)?])?;
        return Ok(());
    }
    let (sla, sla_due) = ladder_core::sla::standing(case);
    let (score, rank, callback_due) = queue_columns(conn, case)?;
    let approval = super::approvals::approval_columns(case);
    conn.prepare_cached(
        "INSERT INTO cases (number, id, status, level, team_id, assignee_id, customer_id, priority, channel, category,
                            created_at_ns, updated_at_ns, version, sla, sla_due_at_ns, priority_score, queue_rank_ns,
                            callback_due_ns, queued_since_ns, approval_role, approval_since_ns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 CASE WHEN ?17 IS NULL THEN NULL ELSE ?12 END, ?19, ?20)
         ON CONFLICT (number) DO UPDATE SET
            status = excluded.status, level = excluded.level, team_id = excluded.team_id,
            assignee_id = excluded.assignee_id, customer_id = excluded.customer_id, priority = excluded.priority,
            channel = excluded.channel, category = excluded.category, updated_at_ns = excluded.updated_at_ns,
            version = excluded.version, sla = excluded.sla, sla_due_at_ns = excluded.sla_due_at_ns,
            priority_score = excluded.priority_score, queue_rank_ns = excluded.queue_rank_ns,
            callback_due_ns = excluded.callback_due_ns,
            approval_role = excluded.approval_role, approval_since_ns = excluded.approval_since_ns,
            queued_since_ns = CASE
                WHEN excluded.queue_rank_ns IS NULL THEN NULL
                WHEN cases.queued_since_ns IS NOT NULL AND cases.team_id IS excluded.team_id THEN cases.queued_since_ns
                ELSE excluded.queued_since_ns END",
    )?
    .execute(params![
        case.number as i64,
        case.id.to_string(),
        case.status.as_str(),
        case.level.as_str(),
        case.team.map(|t| t.to_string()),
        case.assignee.map(|u| u.to_string()),
        case.customer.map(|c| c.to_string()),
        case.priority.as_str(),
        case.channel.as_str(),
        case.category,
        ts_to_ns(case.created_at),
        ts_to_ns(case.updated_at),
        case.version as i64,
        sla,
        sla_due.map(ts_to_ns),
        score,
        rank,
        callback_due,
        approval.map(|a| a.0),
        approval.map(|a| ts_to_ns(a.1)),
    ])?;
    conn.prepare_cached(
        "INSERT INTO case_docs (number, doc) VALUES (?1, ?2) ON CONFLICT (number) DO UPDATE SET doc = excluded.doc",
    )?
    .execute(params![case.number as i64, serde_json::to_string(case)?])?;
    let mut worker = conn.prepare_cached("INSERT OR IGNORE INTO case_workers (user_id, number) VALUES (?1, ?2)")?;
    for user in &case.worked_by {
        worker.execute(params![user.to_string(), case.number as i64])?;
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
fn sync_timers(conn: &Connection, case: &Case, previous: &[(u32, u64, jiff::Timestamp)]) -> StoreResult<()> {
    let now = armed_timers(case);
    for (index, _, _) in previous {
        if !now.iter().any(|(i, _, _)| i == index) {
            conn.prepare_cached("DELETE FROM timers WHERE case_number = ?1 AND clock_index = ?2")?
                .execute(params![case.number as i64, *index as i64])?;
        }
    }
    for t @ (index, generation, fire_at) in &now {
        if previous.contains(t) {
            continue;
        }
        conn.prepare_cached(
            "INSERT INTO timers (case_number, clock_index, case_id, generation, fire_at_ns) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (case_number, clock_index) DO UPDATE SET generation = excluded.generation,
                fire_at_ns = excluded.fire_at_ns",
        )?
        .execute(params![
            case.number as i64,
            *index as i64,
            case.id.to_string(),
            *generation as i64,
            ts_to_ns(*fire_at)
        ])?;
    }
    Ok(())
}

/// Rewrites every timer row of a case from its clocks, none sooner than `not_before`
/// (after a timer fired nothing, so the same row is not picked up again at once).
pub(crate) fn reset_timers(conn: &Connection, id: CaseId, not_before: jiff::Timestamp) -> StoreResult<()> {
    let Some(case) = load_case(conn, id)? else {
        conn.prepare_cached("DELETE FROM timers WHERE case_id = ?1")?.execute([id.to_string()])?;
        return Ok(());
    };
    conn.prepare_cached("DELETE FROM timers WHERE case_number = ?1")?.execute([case.number as i64])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO timers (case_number, clock_index, case_id, generation, fire_at_ns) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (index, generation, fire_at) in armed_timers(&case) {
        let at = ts_to_ns(fire_at.max(not_before));
        insert.execute(params![case.number as i64, index as i64, case.id.to_string(), generation as i64, at])?;
    }
    Ok(())
}

/// Full-text rows are numbered `case number << 20 | event version`: a case's texts sit
/// together, newest case first when read backwards, and every insert is an append.
const TEXT_ROWID_BITS: u32 = 20;

/// Turns free text into FTS5 terms that cannot be a syntax error: every word is quoted
/// and required. Words match in any form (the index stems English: "refunds" finds
/// "refund"); a word ending in `*` matches as a prefix (`rout*`). Prefixes are opt-in
/// because a prefix scan of a common word reads its whole posting list.
pub fn fts_terms(q: &str) -> Option<Vec<String>> {
    let mut terms = Vec::new();
    for chunk in q.split_whitespace() {
        let prefix = chunk.ends_with('*');
        let words: Vec<&str> = chunk.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        let n = words.len();
        for (i, w) in words.into_iter().enumerate() {
            let star = if prefix && i + 1 == n { "*" } else { "" };
            let term = format!("\"{}\"{star}", w.to_lowercase());
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
    }
    if terms.is_empty() { None } else { Some(terms) }
}

fn push_in(sql: &mut String, args: &mut Vec<Value>, column: &str, values: Vec<String>) {
    if values.is_empty() {
        return;
    }
    sql.push_str(&format!(" AND {column} IN ("));
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        args.push(Value::Text(v));
        sql.push_str(&format!("?{}", args.len()));
    }
    sql.push(')');
}

/// Restricts `c` to the cases the scope may see: its teams' cases and those its user worked.
pub(crate) fn push_scope(sql: &mut String, args: &mut Vec<Value>, scope: &CaseScope) {
    if let Some((teams, user)) = scope_teams(scope) {
        sql.push_str(" AND (");
        if teams.is_empty() {
            sql.push('0');
        } else {
            sql.push_str("c.team_id IN (");
            for (i, t) in teams.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                args.push(Value::Text(t.to_string()));
                sql.push_str(&format!("?{}", args.len()));
            }
            sql.push(')');
        }
        args.push(Value::Text(user.to_string()));
        sql.push_str(&format!(
            " OR c.number IN (SELECT w.number FROM case_workers w WHERE w.user_id = ?{}))",
            args.len()
        ));
    }
}

fn list_cases(conn: &Connection, f: &CaseFilter, scope: &CaseScope, page: PageRequest) -> StoreResult<CasePage> {
    let mut args: Vec<Value> = Vec::new();
    // With a text query, the full-text index drives: read backwards it yields matching
    // texts newest case first. The first word drives; every other word must appear in some
    // text of the same case (a range of rowids). A case with several matching texts comes
    // out several times in a row and is counted once below.
    let words = match f.q.as_deref() {
        Some(q) => match fts_terms(q) {
            Some(words) => words,
            // A query with no searchable word (only punctuation) matches nothing.
            None => return Ok(CasePage { cases: Vec::new(), next_before: None }),
        },
        None => Vec::new(),
    };
    let mut sql = if let Some((first, rest)) = words.split_first() {
        args.push(Value::Text(first.clone()));
        let mut sql = format!(
            "SELECT c.number FROM case_text JOIN cases c ON c.number = (case_text.rowid >> {TEXT_ROWID_BITS}) \
             WHERE case_text.body MATCH ?1"
        );
        for word in rest {
            args.push(Value::Text(word.clone()));
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM case_text AS other WHERE other.body MATCH ?{} \
                  AND other.rowid BETWEEN (c.number << {TEXT_ROWID_BITS}) AND ((c.number + 1) << {TEXT_ROWID_BITS}) - 1)",
                args.len()
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
    push_scope(&mut sql, &mut args, scope);
    if let Some(before) = page.before {
        args.push(Value::Integer(before as i64));
        if words.is_empty() {
            sql.push_str(&format!(" AND c.number < ?{}", args.len()));
        } else {
            sql.push_str(&format!(" AND case_text.rowid < (?{} << {TEXT_ROWID_BITS})", args.len()));
        }
    }
    let limit = page.limit.clamp(1, 500);
    if words.is_empty() {
        args.push(Value::Integer(limit as i64 + 1));
        sql.push_str(&format!(" ORDER BY c.number DESC LIMIT ?{}", args.len()));
    } else {
        sql.push_str(" ORDER BY case_text.rowid DESC");
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    // Read lazily and stop at one more distinct case than the page holds.
    let mut numbers: Vec<i64> = Vec::with_capacity(limit as usize + 1);
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(row) = rows.next()? {
        let number: i64 = row.get(0)?;
        if numbers.last() != Some(&number) {
            numbers.push(number);
            if numbers.len() > limit as usize {
                break;
            }
        }
    }
    drop(rows);
    let more = numbers.len() > limit as usize;
    let mut doc = conn.prepare_cached("SELECT doc FROM case_docs WHERE number = ?1")?;
    let mut cases = Vec::with_capacity(limit as usize);
    for number in numbers.into_iter().take(limit as usize) {
        let text: String = doc.query_row([number], |r| r.get(0))?;
        cases.push(serde_json::from_str::<Case>(&text)?);
    }
    let next_before = if more { cases.last().map(|c| c.number) } else { None };
    Ok(CasePage { cases, next_before })
}
