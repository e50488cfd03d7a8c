//! One SQL interface over both backends, so every query is written once.
//!
//! Queries are written in the common subset of SQLite and PostgreSQL, with numbered
//! placeholders `?1`, `?2` … (rewritten to `$1`, `$2` … for PostgreSQL). Arguments are
//! [`Arg`]s (integers, reals, text, bytes, null; booleans are stored as 0/1 integers on
//! both), and columns are read with [`Row::get`] as `i64`, `f64`, `String`, `bool` or an
//! `Option` of those. Where the dialects differ (full-text search, planner pragmas) the
//! caller asks [`Db::is_postgres`].
//!
//! Both connections cache their prepared statements by SQL text.

use std::borrow::Cow;
use std::collections::HashMap;

use postgres::types::{IsNull, ToSql, Type};

use crate::StoreError;

/// A database error, classified as far as the store needs.
#[derive(Debug, Clone)]
pub(crate) struct DbError {
    pub kind: DbErrorKind,
    /// For a unique violation, in SQLite's words on both backends:
    /// `UNIQUE constraint failed: table.column`.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DbErrorKind {
    Unique,
    /// The connection is gone (PostgreSQL restarted, network): worth a reconnect.
    Connection,
    /// The database refuses writes: read-only file, mount or transaction.
    ReadOnly,
    /// The disk, or the database's size limit, is full.
    Full,
    Other,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e.kind {
            DbErrorKind::ReadOnly => StoreError::WritesUnavailable(crate::types::READ_ONLY.into()),
            DbErrorKind::Full => StoreError::WritesUnavailable(crate::types::DISK_FULL.into()),
            _ => StoreError::Internal(e.message),
        }
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        let kind = match &e {
            rusqlite::Error::SqliteFailure(f, Some(msg))
                if f.code == rusqlite::ErrorCode::ConstraintViolation && msg.starts_with("UNIQUE") =>
            {
                DbErrorKind::Unique
            }
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ReadOnly => DbErrorKind::ReadOnly,
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull => DbErrorKind::Full,
            _ => DbErrorKind::Other,
        };
        DbError { kind, message: e.to_string() }
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            if *db.code() == postgres::error::SqlState::UNIQUE_VIOLATION {
                // "Key (slug)=(front) already exists." → teams.slug
                let columns =
                    db.detail().and_then(|d| d.strip_prefix("Key (")).and_then(|d| d.split(")=(").next()).unwrap_or("");
                let table = db.table().unwrap_or("");
                let columns: Vec<String> = columns.split(", ").map(|c| format!("{table}.{c}")).collect();
                return DbError {
                    kind: DbErrorKind::Unique,
                    message: format!("UNIQUE constraint failed: {}", columns.join(", ")),
                };
            }
            use postgres::error::SqlState;
            let kind = match db.code() {
                c if *c == SqlState::READ_ONLY_SQL_TRANSACTION => DbErrorKind::ReadOnly,
                c if *c == SqlState::DISK_FULL || *c == SqlState::INSUFFICIENT_RESOURCES => DbErrorKind::Full,
                _ => DbErrorKind::Other,
            };
            return DbError { kind, message: format!("{}: {}", db.code().code(), db.message()) };
        }
        let kind = if e.is_closed() { DbErrorKind::Connection } else { DbErrorKind::Other };
        DbError { kind, message: e.to_string() }
    }
}

pub(crate) type DbResult<T> = Result<T, DbError>;

/// A query argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
}

/// The arguments of a query: `args![a, b, c]`, each converted with `Arg::from`.
macro_rules! args {
    () => { &[] as &[$crate::db::Arg] };
    ($($a:expr),+ $(,)?) => { &[$($crate::db::Arg::from($a)),+] as &[$crate::db::Arg] };
}
pub(crate) use args;

macro_rules! int_args {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg<'_> {
            fn from(v: $t) -> Self {
                Arg::Int(v as i64)
            }
        }
    )*};
}
int_args!(i64, i32, u32, u16, u8, u64, usize);

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Int(v as i64)
    }
}
impl From<f64> for Arg<'_> {
    fn from(v: f64) -> Self {
        Arg::Real(v)
    }
}
impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(v))
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Cow::Borrowed(v.as_str()))
    }
}
impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Text(Cow::Owned(v))
    }
}
impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Bytes(Cow::Borrowed(v))
    }
}
impl From<Vec<u8>> for Arg<'_> {
    fn from(v: Vec<u8>) -> Self {
        Arg::Bytes(Cow::Owned(v))
    }
}
impl<'a, T: Into<Arg<'a>>> From<Option<T>> for Arg<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}
impl<'a> From<&Arg<'a>> for Arg<'a> {
    fn from(v: &Arg<'a>) -> Self {
        v.clone()
    }
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Arg::Null => ValueRef::Null,
            Arg::Int(v) => ValueRef::Integer(*v),
            Arg::Real(v) => ValueRef::Real(*v),
            Arg::Text(v) => ValueRef::Text(v.as_bytes()),
            Arg::Bytes(v) => ValueRef::Blob(v),
        }))
    }
}

impl ToSql for Arg<'_> {
    /// Writes the value as the type PostgreSQL inferred for the placeholder, widening or
    /// narrowing integers as needed (an integer literal's neighbour is `int4`).
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Arg::Null => Ok(IsNull::Yes),
            Arg::Int(v) => match *ty {
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => v.to_string().to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Arg::Real(v) => match *ty {
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Arg::Text(v) => v.as_ref().to_sql(ty, out),
            Arg::Bytes(v) => v.as_ref().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A column type both backends can read.
pub(crate) trait Col: Sized {
    fn lite(row: &rusqlite::Row, idx: usize) -> DbResult<Self>;
    fn pg(row: &postgres::Row, idx: usize) -> DbResult<Self>;
}

fn pg_i64(row: &postgres::Row, idx: usize) -> Result<Option<i64>, postgres::Error> {
    Ok(match *row.columns()[idx].type_() {
        Type::INT2 => row.try_get::<_, Option<i16>>(idx)?.map(i64::from),
        Type::INT4 => row.try_get::<_, Option<i32>>(idx)?.map(i64::from),
        Type::BOOL => row.try_get::<_, Option<bool>>(idx)?.map(i64::from),
        _ => row.try_get::<_, Option<i64>>(idx)?,
    })
}

fn pg_f64(row: &postgres::Row, idx: usize) -> Result<Option<f64>, postgres::Error> {
    Ok(match *row.columns()[idx].type_() {
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(idx)?.map(f64::from),
        Type::INT2 | Type::INT4 | Type::INT8 | Type::BOOL => pg_i64(row, idx)?.map(|v| v as f64),
        _ => row.try_get::<_, Option<f64>>(idx)?,
    })
}

fn lite_f64(row: &rusqlite::Row, idx: usize) -> rusqlite::Result<Option<f64>> {
    use rusqlite::types::ValueRef;
    Ok(match row.get_ref(idx)? {
        ValueRef::Null => None,
        ValueRef::Integer(v) => Some(v as f64),
        _ => Some(row.get::<_, f64>(idx)?),
    })
}

/// The value, or an error for a NULL read as a value.
fn required<T>(v: Option<T>, idx: usize) -> DbResult<T> {
    v.ok_or_else(|| DbError { kind: DbErrorKind::Other, message: format!("column {idx} is NULL") })
}

impl Col for i64 {
    fn lite(row: &rusqlite::Row, idx: usize) -> DbResult<Self> {
        Ok(row.get(idx)?)
    }
    fn pg(row: &postgres::Row, idx: usize) -> DbResult<Self> {
        required(pg_i64(row, idx)?, idx)
    }
}
impl Col for Option<i64> {
    fn lite(row: &rusqlite::Row, idx: usize) -> DbResult<Self> {
        Ok(row.get(idx)?)
    }
    fn pg(row: &postgres::Row, idx: usize) -> DbResult<Self> {
        Ok(pg_i64(row, idx)?)
    }
}
impl Col for f64 {
    fn lite(row: &rusqlite::Row, idx: usize) -> DbResult<Self> {
        match lite_f64(row, idx)? {
            Some(v) => Ok(v),
            None => Ok(row.get(idx)?),
        }
    }
    fn pg(row: &postgres::Row, idx: usize) -> DbResult<Self> {
        required(pg_f64(row, idx)?, idx)
    }
}
impl Col for Option<f64> {
    fn lite(row: &rusqlite::Row, idx: usize) -> DbResult<Self> {
        Ok(lite_f64(row, idx)?)
    }
    fn pg(row: &postgres::Row, idx: usize) -> DbResult<Self> {
        Ok(pg_f64(row, idx)?)
    }
}
impl Col for bool {
    fn lite(row: &rusqlite::Row, idx: usize) -> DbResult<Self> {
        Ok(row.get::<_, i64>(idx)? != 0)
    }
    fn pg(row: &postgres::Row, idx: usize) -> DbResult<Self> {
        Ok(i64::pg(row, idx)? != 0)
    }
}
impl Col for String {
    fn lite(row: &rusqlite::Row, idx: usize) -> DbResult<Self> {
        Ok(row.get(idx)?)
    }
    fn pg(row: &postgres::Row, idx: usize) -> DbResult<Self> {
        Ok(row.try_get(idx)?)
    }
}
impl Col for Option<String> {
    fn lite(row: &rusqlite::Row, idx: usize) -> DbResult<Self> {
        Ok(row.get(idx)?)
    }
    fn pg(row: &postgres::Row, idx: usize) -> DbResult<Self> {
        Ok(row.try_get(idx)?)
    }
}
impl Col for Vec<u8> {
    fn lite(row: &rusqlite::Row, idx: usize) -> DbResult<Self> {
        Ok(row.get(idx)?)
    }
    fn pg(row: &postgres::Row, idx: usize) -> DbResult<Self> {
        Ok(row.try_get(idx)?)
    }
}

/// One result row of either backend.
pub(crate) enum Row<'r, 's> {
    Lite(&'r rusqlite::Row<'s>),
    Pg(&'r postgres::Row),
}

impl Row<'_, '_> {
    /// The column at `idx` (from 0).
    pub fn get<T: Col>(&self, idx: usize) -> DbResult<T> {
        match self {
            Row::Lite(r) => T::lite(r, idx),
            Row::Pg(r) => T::pg(r, idx),
        }
    }

    /// How many columns the row has.
    pub fn len(&self) -> usize {
        match self {
            Row::Lite(r) => r.as_ref().column_count(),
            Row::Pg(r) => r.len(),
        }
    }

    /// The name of column `idx`.
    pub fn name(&self, idx: usize) -> DbResult<String> {
        match self {
            Row::Lite(r) => Ok(r.as_ref().column_name(idx)?.to_string()),
            Row::Pg(r) => Ok(r.columns()[idx].name().to_string()),
        }
    }

    /// Column `idx` as JSON, whatever its type: for copying rows between backends.
    pub fn json(&self, idx: usize) -> DbResult<serde_json::Value> {
        use serde_json::Value;
        match self {
            Row::Lite(r) => {
                use rusqlite::types::ValueRef;
                Ok(match r.get_ref(idx)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::from(v),
                    ValueRef::Real(v) => Value::from(v),
                    ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::from(b.to_vec()),
                })
            }
            Row::Pg(r) => Ok(match *r.columns()[idx].type_() {
                Type::INT2 | Type::INT4 | Type::INT8 | Type::BOOL => pg_i64(r, idx)?.map_or(Value::Null, Value::from),
                Type::FLOAT4 | Type::FLOAT8 => pg_f64(r, idx)?.map_or(Value::Null, Value::from),
                Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(idx)?.map_or(Value::Null, Value::from),
                _ => r.try_get::<_, Option<String>>(idx)?.map_or(Value::Null, Value::from),
            }),
        }
    }
}

impl<'a> Arg<'a> {
    /// The same value, owning its text or bytes.
    pub fn to_static(&self) -> Arg<'static> {
        match self {
            Arg::Null => Arg::Null,
            Arg::Int(v) => Arg::Int(*v),
            Arg::Real(v) => Arg::Real(*v),
            Arg::Text(v) => Arg::Text(Cow::Owned(v.clone().into_owned())),
            Arg::Bytes(v) => Arg::Bytes(Cow::Owned(v.clone().into_owned())),
        }
    }

    /// A JSON value as an argument (the inverse of [`Row::json`]).
    pub fn from_json(v: &'a serde_json::Value) -> DbResult<Arg<'a>> {
        use serde_json::Value;
        Ok(match v {
            Value::Null => Arg::Null,
            Value::Bool(b) => Arg::Int(*b as i64),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Arg::Int(i),
                None => Arg::Real(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Arg::Text(Cow::Borrowed(s)),
            Value::Array(items) => Arg::Bytes(Cow::Owned(
                items
                    .iter()
                    .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                    .collect::<Option<Vec<u8>>>()
                    .ok_or_else(|| DbError {
                        kind: DbErrorKind::Other,
                        message: "an array value is not bytes".into(),
                    })?,
            )),
            Value::Object(_) => {
                return Err(DbError { kind: DbErrorKind::Other, message: "an object is not a column value".into() });
            }
        })
    }
}

/// A PostgreSQL connection with its statement cache and its deferred statements.
///
/// The client is asynchronous (`tokio_postgres`) and driven by a small runtime of the
/// connection's own, so that statements whose results nobody reads can be sent together
/// ([`Db::defer`]): the server then answers them in one round trip instead of one each.
pub(crate) struct PgConn {
    /// Always `Some` until dropped: `(runtime, client)`.
    inner: Option<(tokio::runtime::Runtime, tokio_postgres::Client)>,
    statements: HashMap<String, tokio_postgres::Statement>,
    /// Statements queued by [`Db::defer`], sent before any other statement.
    deferred: Vec<(String, Vec<Arg<'static>>)>,
}

/// Runs `f` where a blocking PostgreSQL client may run its own small runtime: on this
/// thread, or on a helper thread when this one is inside the async runtime.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| s.spawn(f).join().expect("a PostgreSQL call panicked"))
    } else {
        f()
    }
}

impl PgConn {
    pub fn connect(config: &tokio_postgres::Config) -> DbResult<PgConn> {
        let (rt, client) = off_runtime(|| -> DbResult<_> {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| DbError {
                kind: DbErrorKind::Connection,
                message: format!("cannot start the PostgreSQL client's runtime: {e}"),
            })?;
            let (client, connection) = rt.block_on(config.connect(tokio_postgres::NoTls))?;
            // The connection runs whenever the runtime does: while a statement is awaited.
            rt.spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "a PostgreSQL connection ended");
                }
            });
            Ok((rt, client))
        })?;
        Ok(PgConn { inner: Some((rt, client)), statements: HashMap::new(), deferred: Vec::new() })
    }

    fn parts(&self) -> (&tokio::runtime::Runtime, &tokio_postgres::Client) {
        let (rt, client) = self.inner.as_ref().expect("the client lives until drop");
        (rt, client)
    }

    pub fn is_closed(&self) -> bool {
        self.inner.as_ref().is_none_or(|(_, c)| c.is_closed())
    }

    /// Runs several statements without arguments (after the deferred ones).
    pub fn batch_execute(&mut self, sql: &str) -> DbResult<()> {
        self.run(async |client| client.batch_execute(sql).await)
    }

    /// Forgets the deferred statements not sent yet.
    pub fn discard_deferred(&mut self) {
        self.deferred.clear();
    }

    fn statement(&mut self, sql: &str) -> DbResult<tokio_postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let (rt, client) = self.parts();
        let prepared = rt.block_on(client.prepare(&pg_placeholders(sql)))?;
        if self.statements.len() >= 256 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), prepared.clone());
        Ok(prepared)
    }

    /// Sends the deferred statements all at once and waits for their answers; the first
    /// error among them is the result. The queue is empty afterwards either way.
    fn flush(&mut self) -> DbResult<()> {
        if self.deferred.is_empty() {
            return Ok(());
        }
        self.run(async |_| Ok(()))
    }

    /// Runs `query` on the client right behind the deferred statements: all are sent at
    /// once, so the queue costs no round trip of its own. An error of a deferred statement
    /// comes first (a statement after it in a transaction fails only because of it). The
    /// queue is empty afterwards either way.
    fn run<T>(
        &mut self,
        query: impl AsyncFnOnce(&tokio_postgres::Client) -> Result<T, tokio_postgres::Error>,
    ) -> DbResult<T> {
        let deferred = std::mem::take(&mut self.deferred);
        let deferred =
            deferred.into_iter().map(|(sql, args)| Ok((self.statement(&sql)?, args))).collect::<DbResult<Vec<_>>>()?;
        let (rt, client) = self.parts();
        rt.block_on(async {
            // Polled in order, tokio-postgres writes every request before reading an answer.
            let runs = deferred.iter().map(|(statement, args)| async move {
                let params = pg_args(args);
                client.execute(statement, &params).await
            });
            let (flushed, result) =
                futures_util::future::join(futures_util::future::try_join_all(runs), query(client)).await;
            flushed?;
            Ok(result?)
        })
    }
}

impl Drop for PgConn {
    /// Closing the client and its runtime blocks, which must not happen on an async thread.
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let _ = std::thread::Builder::new().name("ladder-pg-close".into()).spawn(move || drop(inner));
        }
    }
}

/// `?1` → `$1`, outside quoted strings and identifiers.
pub(crate) fn pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    out.push(c);
                }
                '?' if chars.peek().is_some_and(|n| n.is_ascii_digit()) => out.push('$'),
                _ => out.push(c),
            },
        }
    }
    out
}

/// A connection of either backend, as a query sees it.
pub(crate) enum Db<'c> {
    Lite(&'c rusqlite::Connection),
    Pg(&'c mut PgConn),
}

fn pg_args<'a>(args: &'a [Arg<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

impl Db<'_> {
    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Pg(_))
    }

    /// Runs one statement; the number of rows changed.
    pub fn exec(&mut self, sql: &str, args: &[Arg]) -> DbResult<usize> {
        match self {
            Db::Lite(c) => Ok(c.prepare_cached(sql)?.execute(rusqlite::params_from_iter(args))?),
            Db::Pg(c) => {
                let stmt = c.statement(sql)?;
                Ok(c.run(async |client| client.execute(&stmt, &pg_args(args)).await)? as usize)
            }
        }
    }

    /// Runs several statements without arguments.
    pub fn batch(&mut self, sql: &str) -> DbResult<()> {
        match self {
            Db::Lite(c) => Ok(c.execute_batch(sql)?),
            Db::Pg(c) => c.batch_execute(sql),
        }
    }

    /// Runs one statement whose result nobody reads. SQLite runs it at once; PostgreSQL
    /// queues it and sends the queue in one go before the connection's next other
    /// statement or at [`Db::sync`], where an error of a deferred statement surfaces.
    pub fn defer(&mut self, sql: &str, args: &[Arg]) -> DbResult<()> {
        match self {
            Db::Lite(_) => self.exec(sql, args).map(|_| ()),
            Db::Pg(c) => {
                c.deferred.push((sql.to_string(), args.iter().map(Arg::to_static).collect()));
                Ok(())
            }
        }
    }

    /// Sends the deferred statements, if any, and reports their first error.
    pub fn sync(&mut self) -> DbResult<()> {
        match self {
            Db::Lite(_) => Ok(()),
            Db::Pg(c) => c.flush(),
        }
    }

    /// How many deferred statements wait to be sent (0 on SQLite): a mark for
    /// [`Db::discard_deferred_after`].
    pub fn deferred_len(&self) -> usize {
        match self {
            Db::Lite(_) => 0,
            Db::Pg(c) => c.deferred.len(),
        }
    }

    /// Forgets the deferred statements queued after `mark` and not sent yet (the write
    /// that queued them failed).
    pub fn discard_deferred_after(&mut self, mark: usize) {
        if let Db::Pg(c) = self {
            c.deferred.truncate(mark);
        }
    }

    /// Every row, each mapped by `f`.
    pub fn rows<T>(
        &mut self,
        sql: &str,
        args: &[Arg],
        mut f: impl FnMut(&Row) -> crate::StoreResult<T>,
    ) -> crate::StoreResult<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, args, |row| {
            out.push(f(row)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `f` on each row as it is read (PostgreSQL streams the rows).
    pub fn each(
        &mut self,
        sql: &str,
        args: &[Arg],
        mut f: impl FnMut(&Row) -> crate::StoreResult<()>,
    ) -> crate::StoreResult<()> {
        self.each_while(sql, args, |r| f(r).map(|()| true))
    }

    /// Calls `f` on each row as it is read while it returns `true`; the rest is not read
    /// (SQLite stops stepping; PostgreSQL drops the rest of the stream).
    pub fn each_while(
        &mut self,
        sql: &str,
        args: &[Arg],
        mut f: impl FnMut(&Row) -> crate::StoreResult<bool>,
    ) -> crate::StoreResult<()> {
        match self {
            Db::Lite(c) => {
                let mut stmt = c.prepare_cached(sql).map_err(DbError::from)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args)).map_err(DbError::from)?;
                while let Some(r) = rows.next().map_err(DbError::from)? {
                    if !f(&Row::Lite(r))? {
                        break;
                    }
                }
            }
            Db::Pg(c) => {
                use futures_util::StreamExt;
                let stmt = c.statement(sql)?;
                let rows = c.run(async |client| client.query_raw(&stmt, pg_args(args)).await)?;
                let mut rows = std::pin::pin!(rows);
                let (rt, _) = c.parts();
                while let Some(r) = rt.block_on(rows.next()).transpose().map_err(DbError::from)? {
                    if !f(&Row::Pg(&r))? {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// The first row mapped by `f`, or `None` when there is none.
    pub fn first<T>(
        &mut self,
        sql: &str,
        args: &[Arg],
        f: impl FnOnce(&Row) -> crate::StoreResult<T>,
    ) -> crate::StoreResult<Option<T>> {
        match self {
            Db::Lite(c) => {
                let mut stmt = c.prepare_cached(sql).map_err(DbError::from)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args)).map_err(DbError::from)?;
                match rows.next().map_err(DbError::from)? {
                    Some(r) => f(&Row::Lite(r)).map(Some),
                    None => Ok(None),
                }
            }
            Db::Pg(c) => {
                let stmt = c.statement(sql)?;
                match c.run(async |client| client.query_opt(&stmt, &pg_args(args)).await)? {
                    Some(r) => f(&Row::Pg(&r)).map(Some),
                    None => Ok(None),
                }
            }
        }
    }

    /// The first row mapped by `f`; no row is an error.
    pub fn one<T>(
        &mut self,
        sql: &str,
        args: &[Arg],
        f: impl FnOnce(&Row) -> crate::StoreResult<T>,
    ) -> crate::StoreResult<T> {
        self.first(sql, args, f)?.ok_or_else(|| StoreError::Internal(format!("the query returned no row: {sql}")))
    }

    /// The first column of the first row (an aggregate, a count).
    pub fn value<T: Col>(&mut self, sql: &str, args: &[Arg]) -> crate::StoreResult<T> {
        self.one(sql, args, |r| Ok(r.get(0)?))
    }

    /// The first column of the first row, if there is a row.
    pub fn value_opt<T: Col>(&mut self, sql: &str, args: &[Arg]) -> crate::StoreResult<Option<T>> {
        self.first(sql, args, |r| Ok(r.get(0)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_outside_quotes() {
        assert_eq!(
            pg_placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d IN (?2, ?10)"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d IN ($2, $10)"
        );
    }

    #[test]
    fn sqlite_reads_and_writes_through_the_common_interface() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut db = Db::Lite(&conn);
        db.batch("CREATE TABLE t (a INTEGER, b TEXT, c REAL, d INTEGER)").unwrap();
        let n = db.exec("INSERT INTO t VALUES (?1, ?2, ?3, ?4)", args![7i64, "x", 1.5, true]).unwrap();
        assert_eq!(n, 1);
        let row: (i64, String, f64, bool) =
            db.one("SELECT a, b, c, d FROM t", args![], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap();
        assert_eq!(row, (7, "x".to_string(), 1.5, true));
        let none: Option<String> = db.value("SELECT NULL", args![]).unwrap();
        assert_eq!(none, None);
        let missing: Option<i64> = db.value_opt("SELECT a FROM t WHERE a = ?1", args![8]).unwrap();
        assert_eq!(missing, None);
    }

    #[test]
    fn deferred_statements_run_at_once_on_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut db = Db::Lite(&conn);
        db.batch("CREATE TABLE t (a TEXT UNIQUE)").unwrap();
        db.defer("INSERT INTO t VALUES (?1)", args!["x"]).unwrap();
        assert_eq!(db.defer("INSERT INTO t VALUES (?1)", args!["x"]).unwrap_err().kind, DbErrorKind::Unique);
        db.sync().unwrap();
    }

    /// Deferred statements are sent before the next other one, and their first error
    /// surfaces at the flush (PostgreSQL only: `LADDER_TEST_BACKEND=postgres`).
    #[test]
    fn deferred_statements_are_flushed_in_order_and_fail_at_the_flush_on_postgres() {
        if std::env::var("LADDER_TEST_BACKEND").as_deref() != Ok("postgres") {
            return;
        }
        let crate::Location::Postgres(url) = crate::test_postgres_location() else { unreachable!() };
        let mut conn = PgConn::connect(&url.parse().unwrap()).unwrap();
        let mut db = Db::Pg(&mut conn);
        db.batch("CREATE TABLE t (a TEXT UNIQUE, n BIGINT); BEGIN").unwrap();
        db.defer("INSERT INTO t VALUES (?1, ?2)", args!["x", 1]).unwrap();
        db.defer("UPDATE t SET n = n + 1 WHERE a = ?1", args!["x"]).unwrap();
        assert_eq!(db.value::<i64>("SELECT n FROM t WHERE a = ?1", args!["x"]).unwrap(), 2);
        // A write in a savepoint, as the writer runs them: its failure is rolled back alone.
        db.batch("SAVEPOINT job").unwrap();
        db.defer("INSERT INTO t VALUES (?1, ?2)", args!["y", 1]).unwrap();
        db.defer("INSERT INTO t VALUES (?1, ?2)", args!["x", 1]).unwrap();
        db.defer("INSERT INTO t VALUES (?1, ?2)", args!["z", 1]).unwrap();
        let e = db.sync().unwrap_err();
        assert_eq!(e.kind, DbErrorKind::Unique);
        assert_eq!(e.message, "UNIQUE constraint failed: t.a");
        db.batch("ROLLBACK TO job; RELEASE job").unwrap();
        assert_eq!(db.value::<i64>("SELECT count(*) FROM t", args![]).unwrap(), 1);
        db.batch("COMMIT").unwrap();
    }

    #[test]
    fn a_unique_violation_is_classified_on_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut db = Db::Lite(&conn);
        db.batch("CREATE TABLE t (a TEXT UNIQUE)").unwrap();
        db.exec("INSERT INTO t VALUES (?1)", args!["x"]).unwrap();
        let e = db.exec("INSERT INTO t VALUES (?1)", args!["x"]).unwrap_err();
        assert_eq!(e.kind, DbErrorKind::Unique);
        assert_eq!(e.message, "UNIQUE constraint failed: t.a");
    }
}
