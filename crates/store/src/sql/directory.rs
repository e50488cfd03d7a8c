//! Customers, users, teams and API tokens, on either backend.

use ladder_core::directory::{Customer, Team, User};
use ladder_core::ids::{CustomerId, TeamId, UserId};
use std::sync::Arc;

use super::cases::{push_scope, remember_idempotency, replay_idempotent};
use super::{Store, ts_to_us, us_to_ts};
use crate::db::{Arg, Db, DbError, DbErrorKind, args};
use crate::{
    CustomerFilter, Idempotency, RevokeTokens, StoreError, StoreResult, TokenInfo, UserCredentials,
    customer_identity_values, normalise_identity,
};
use ladder_core::access::{CaseScope, CustomerReach};

/// Maps a UNIQUE violation to a [`StoreError::Duplicate`] saying which value is taken.
pub(super) fn unique(e: impl Into<DbError>, what: impl FnOnce(&str) -> String) -> StoreError {
    let e: DbError = e.into();
    match e.kind {
        DbErrorKind::Unique => StoreError::Duplicate(what(&e.message)),
        _ => e.into(),
    }
}

pub(super) fn get_doc<T: serde::de::DeserializeOwned>(db: &mut Db, sql: &str, key: &str) -> StoreResult<Option<T>> {
    let doc: Option<String> = db.value_opt(sql, args![key])?;
    doc.map(|d| serde_json::from_str(&d).map_err(StoreError::from)).transpose()
}

pub(super) fn list_docs<T: serde::de::DeserializeOwned>(db: &mut Db, sql: &str, args: &[Arg]) -> StoreResult<Vec<T>> {
    db.rows(sql, args, |r| Ok(serde_json::from_str(&r.get::<String>(0)?)?))
}

/// A customer, inside a transaction or a read.
pub(crate) fn load_customer(db: &mut Db, id: ladder_core::ids::CustomerId) -> StoreResult<Option<Customer>> {
    get_doc(db, "SELECT doc FROM customers WHERE id = ?1", &id.to_string())
}

fn now_us() -> i64 {
    ts_to_us(jiff::Timestamp::now())
}

/// A `LIKE` pattern matching every text that starts with `prefix` literally: its `%`, `_`
/// and `\` are escaped (the query says `ESCAPE '\'`).
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

// ---- teams ----

fn put_team(db: &mut Db, team: &Team, insert: bool) -> StoreResult<()> {
    let sql = if insert {
        "INSERT INTO teams (id, slug, level, doc, updated_at_us) VALUES (?1, ?2, ?3, ?4, ?5)"
    } else {
        "UPDATE teams SET slug = ?2, level = ?3, doc = ?4, updated_at_us = ?5 WHERE id = ?1"
    };
    let n = db
        .exec(sql, args![team.id.to_string(), &team.slug, team.level.as_str(), serde_json::to_string(team)?, now_us()])
        .map_err(|e| unique(e, |_| format!("a team with slug '{}' already exists", team.slug)))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("team {}", team.id)));
    }
    Ok(())
}

// ---- users ----

fn put_user(db: &mut Db, user: &User, insert: bool) -> StoreResult<()> {
    let sql = if insert {
        "INSERT INTO users (id, name, role, active, doc, updated_at_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    } else {
        "UPDATE users SET name = ?2, role = ?3, active = ?4, doc = ?5, updated_at_us = ?6 WHERE id = ?1"
    };
    for team in &user.teams {
        let exists: Option<i64> = db.value_opt("SELECT 1 FROM teams WHERE id = ?1", args![team.to_string()])?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("team {team}")));
        }
    }
    let user_id = user.id.to_string();
    let n = db
        .exec(sql, args![&user_id, &user.name, user.role.as_str(), user.active, serde_json::to_string(user)?, now_us()])
        .map_err(|e| unique(e, |_| format!("a user named '{}' already exists", user.name)))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {}", user.id)));
    }
    db.exec("DELETE FROM user_teams WHERE user_id = ?1", args![&user_id])?;
    for team in &user.teams {
        db.exec(
            "INSERT INTO user_teams (team_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            args![team.to_string(), &user_id],
        )?;
    }
    Ok(())
}

// ---- customers ----

fn put_customer(db: &mut Db, c: &Customer, insert: bool) -> StoreResult<()> {
    let sql = if insert {
        "INSERT INTO customers (id, name, segment, doc, updated_at_us) VALUES (?1, ?2, ?3, ?4, ?5)"
    } else {
        "UPDATE customers SET name = ?2, segment = ?3, doc = ?4, updated_at_us = ?5 WHERE id = ?1"
    };
    let customer_id = c.id.to_string();
    let n = db.exec(sql, args![&customer_id, &c.name, c.segment.as_deref(), serde_json::to_string(c)?, now_us()])?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("customer {}", c.id)));
    }
    db.exec("DELETE FROM customer_identities WHERE customer_id = ?1", args![&customer_id])?;
    for (channel, value) in customer_identity_values(c) {
        db.exec(
            "INSERT INTO customer_identities (channel, value, customer_id) VALUES (?1, ?2, ?3)",
            args![&channel, &value, &customer_id],
        )
        .map_err(|e| unique(e, |_| format!("the {channel} identity '{value}' belongs to another customer")))?;
    }
    Ok(())
}

/// The customer holding `channel`/`value` (normalised), if any.
pub(crate) fn customer_by_identity(db: &mut Db, channel: &str, value: &str) -> StoreResult<Option<CustomerId>> {
    let id: Option<String> = db.value_opt(
        "SELECT customer_id FROM customer_identities WHERE channel = ?1 AND value = ?2",
        args![channel, normalise_identity(value)],
    )?;
    id.map(|id| id.parse().map_err(|_| StoreError::Internal(format!("customer id '{id}' is not a UUID")))).transpose()
}

/// The customer holding any of the requester's identities (the first in their order that
/// is known), given the identities nobody holds yet; else the candidate, created. Each with
/// its audit record. Runs inside a write, so two openings for one new address make one customer.
pub(crate) fn match_or_create_customer(tx: &mut super::Tx, requester: &crate::RequesterWrite) -> StoreResult<Customer> {
    let wanted = &requester.candidate.identities;
    let mut found = None;
    for identity in wanted {
        if let Some(id) = customer_by_identity(tx, identity.channel.as_str(), &identity.value)? {
            found = Some(id);
            break;
        }
    }
    let mut entry = requester.audit.clone();
    let Some(id) = found else {
        put_customer(tx, &requester.candidate, true)?;
        entry.action = "customer.create".into();
        entry.target = requester.candidate.id.to_string();
        super::audit::record(tx, &entry)?;
        return Ok(requester.candidate.clone());
    };
    let mut customer =
        load_customer(tx, id)?.ok_or_else(|| StoreError::Internal(format!("identity of a missing customer {id}")))?;
    let mut added = Vec::new();
    for identity in wanted {
        if customer_by_identity(tx, identity.channel.as_str(), &identity.value)?.is_none() {
            customer.identities.push(identity.clone());
            added.push(identity.value.clone());
        }
    }
    if !added.is_empty() {
        put_customer(tx, &customer, false)?;
        entry.action = "customer.update".into();
        entry.target = customer.id.to_string();
        entry.detail = serde_json::json!({ "identities_added": added });
        super::audit::record(tx, &entry)?;
    }
    Ok(customer)
}

impl Store {
    /// Runs a create with optional idempotency: a retry returns the entity first created.
    async fn create_entity<T>(
        &self,
        entity: T,
        idem: Option<Idempotency>,
        put: fn(&mut Db, &T) -> StoreResult<()>,
    ) -> StoreResult<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    {
        self.write(move |conn| {
            if let Some(previous) = replay(conn, idem.as_ref())? {
                return Ok(previous);
            }
            put(conn, &entity)?;
            if let Some(idem) = &idem {
                remember_idempotency(conn, idem, &serde_json::to_string(&entity)?)?;
            }
            Ok(entity)
        })
        .await
    }

    pub async fn create_team(&self, team: Team, idem: Option<Idempotency>) -> StoreResult<Team> {
        let created = self.create_entity(team, idem, |c, t| put_team(c, t, true)).await;
        self.forget_teams();
        created
    }

    /// Drops the cached teams (after a team write).
    fn forget_teams(&self) {
        *self.inner.teams_cache.lock().expect("teams cache") = None;
    }

    /// Every team, from a cache at most a second old.
    async fn cached_teams(&self) -> StoreResult<Arc<Vec<Team>>> {
        if let Some((at, teams)) = &*self.inner.teams_cache.lock().expect("teams cache")
            && at.elapsed() < std::time::Duration::from_secs(1)
        {
            return Ok(teams.clone());
        }
        let teams: Arc<Vec<Team>> =
            Arc::new(self.read(|db| list_docs(db, "SELECT doc FROM teams ORDER BY level, slug", args![])).await?);
        *self.inner.teams_cache.lock().expect("teams cache") = Some((std::time::Instant::now(), teams.clone()));
        Ok(teams)
    }

    /// Replaces a team. Its level cannot change while it owns unfinished cases at the old one.
    pub async fn update_team(&self, team: Team) -> StoreResult<Team> {
        let updated = self
            .write(move |conn| {
                let active: i64 = conn.value(
                    "SELECT count(*) FROM cases
                     WHERE team_id = ?1 AND level <> ?2 AND status NOT IN ('resolved', 'closed')",
                    args![team.id.to_string(), team.level.as_str()],
                )?;
                if active > 0 {
                    return Err(StoreError::InUse(format!(
                        "the team owns {active} unfinished cases at another level; move them before changing its level"
                    )));
                }
                put_team(conn, &team, false).map(|_| team)
            })
            .await;
        self.forget_teams();
        updated
    }

    pub async fn team(&self, id: TeamId) -> StoreResult<Option<Team>> {
        Ok(self.cached_teams().await?.iter().find(|t| t.id == id).cloned())
    }

    pub async fn team_by_slug(&self, slug: String) -> StoreResult<Option<Team>> {
        Ok(self.cached_teams().await?.iter().find(|t| t.slug == slug).cloned())
    }

    /// Every team, by level and slug.
    pub async fn teams(&self) -> StoreResult<Vec<Team>> {
        Ok(self.cached_teams().await?.as_ref().clone())
    }

    /// Removes a team that has no members and no cases.
    pub async fn delete_team(&self, id: TeamId) -> StoreResult<()> {
        let deleted = self
            .write(move |conn| {
                let id = id.to_string();
                let members: i64 = conn.value("SELECT count(*) FROM user_teams WHERE team_id = ?1", args![&id])?;
                let cases: i64 = conn.value("SELECT count(*) FROM cases WHERE team_id = ?1", args![&id])?;
                if members > 0 || cases > 0 {
                    return Err(StoreError::InUse(format!(
                        "the team has {members} members and {cases} cases; move them to another team first"
                    )));
                }
                if conn.exec("DELETE FROM teams WHERE id = ?1", args![&id])? == 0 {
                    return Err(StoreError::NotFound(format!("team {id}")));
                }
                Ok(())
            })
            .await;
        self.forget_teams();
        deleted
    }

    pub async fn create_user(
        &self,
        user: User,
        password_hash: Option<String>,
        idem: Option<Idempotency>,
    ) -> StoreResult<User> {
        self.write(move |conn| {
            if let Some(previous) = replay(conn, idem.as_ref())? {
                return Ok(previous);
            }
            put_user(conn, &user, true)?;
            conn.exec("UPDATE users SET password_hash = ?2 WHERE id = ?1", args![user.id.to_string(), password_hash])?;
            if let Some(idem) = &idem {
                remember_idempotency(conn, idem, &serde_json::to_string(&user)?)?;
            }
            Ok(user)
        })
        .await
    }

    /// Replaces a user's profile (not their password). Deactivating also revokes their tokens.
    pub async fn update_user(&self, user: User) -> StoreResult<User> {
        self.write(move |conn| {
            put_user(conn, &user, false)?;
            if !user.active {
                conn.exec(
                    "UPDATE tokens SET revoked_at_us = ?2 WHERE user_id = ?1 AND revoked_at_us IS NULL",
                    args![user.id.to_string(), now_us()],
                )?;
            }
            Ok(user)
        })
        .await
    }

    /// Sets a user's password and, in the same write, revokes `revoke` of their tokens;
    /// answers how many were revoked.
    pub async fn set_password(
        &self,
        id: UserId,
        password_hash: String,
        revoke: RevokeTokens,
        at: jiff::Timestamp,
    ) -> StoreResult<usize> {
        self.write(move |conn| {
            let n =
                conn.exec("UPDATE users SET password_hash = ?2 WHERE id = ?1", args![id.to_string(), password_hash])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("user {id}")));
            }
            revoke_user_tokens(conn, id, &revoke, at)
        })
        .await
    }

    /// Revokes `which` of a user's live tokens; answers how many.
    pub async fn revoke_user_tokens(
        &self,
        user: UserId,
        which: RevokeTokens,
        at: jiff::Timestamp,
    ) -> StoreResult<usize> {
        self.write(move |conn| revoke_user_tokens(conn, user, &which, at)).await
    }

    /// The token with this hash (live or not), if any.
    pub async fn token_by_hash(&self, hash: String) -> StoreResult<Option<TokenInfo>> {
        self.read(move |db| {
            db.first(
                "SELECT id, user_id, name, created_at_us, expires_at_us, revoked_at_us FROM tokens WHERE hash = ?1",
                args![hash],
                row_to_token,
            )
        })
        .await
    }

    pub async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.read(move |db| get_doc(db, "SELECT doc FROM users WHERE id = ?1", &id.to_string())).await
    }

    pub async fn user_credentials(&self, name: String) -> StoreResult<Option<UserCredentials>> {
        self.read(move |db| {
            db.first("SELECT doc, password_hash FROM users WHERE name = ?1", args![name], |r| {
                Ok(UserCredentials { user: serde_json::from_str(&r.get::<String>(0)?)?, password_hash: r.get(1)? })
            })
        })
        .await
    }

    /// Users, optionally only the members of one team.
    pub async fn users(&self, team: Option<TeamId>) -> StoreResult<Vec<User>> {
        self.read(move |db| match team {
            Some(t) => list_docs(
                db,
                "SELECT u.doc FROM users u JOIN user_teams m ON m.user_id = u.id WHERE m.team_id = ?1 ORDER BY u.name",
                args![t.to_string()],
            ),
            None => list_docs(db, "SELECT doc FROM users ORDER BY name", args![]),
        })
        .await
    }

    pub async fn create_customer(&self, customer: Customer, idem: Option<Idempotency>) -> StoreResult<Customer> {
        self.create_entity(customer, idem, |c, x| put_customer(c, x, true)).await
    }

    pub async fn update_customer(&self, customer: Customer) -> StoreResult<Customer> {
        self.write(move |conn| {
            put_customer(conn, &customer, false)?;
            // The metrics count churn among the customer's cases.
            super::metrics::customer_changed(conn, &customer)?;
            Ok(customer)
        })
        .await
    }

    /// The customer holding one of `identities` (the first known, in their order).
    pub async fn customer_by_identities(
        &self,
        identities: Vec<ladder_core::directory::Identity>,
    ) -> StoreResult<Option<Customer>> {
        self.read(move |db| {
            for i in &identities {
                if let Some(id) = customer_by_identity(db, i.channel.as_str(), &i.value)? {
                    return load_customer(db, id);
                }
            }
            Ok(None)
        })
        .await
    }

    pub async fn customer(&self, id: CustomerId) -> StoreResult<Option<Customer>> {
        self.read(move |db| load_customer(db, id)).await
    }

    /// How a customer stands to a case scope: their cases, and how many of them it sees.
    pub async fn customer_reach(&self, id: CustomerId, scope: CaseScope) -> StoreResult<CustomerReach> {
        self.read(move |db| {
            // One read: all the customer's cases, and those the scope keeps.
            let mut args: Vec<Arg<'static>> = vec![id.to_string().into()];
            let mut sql = String::from(
                "SELECT (SELECT count(*) FROM cases WHERE customer_id = ?1),
                        (SELECT count(*) FROM cases c WHERE c.customer_id = ?1",
            );
            push_scope(&mut sql, &mut args, &scope);
            sql.push(')');
            let (cases, cases_in_scope) = db.one(&sql, &args, |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)))?;
            Ok(CustomerReach { cases: cases as u64, cases_in_scope: cases_in_scope as u64 })
        })
        .await
    }

    /// Customers matching the filter that `scope` reaches (those with a case it sees, and
    /// those with no case yet; see `core::access::CustomerReach`), ordered by name, at most
    /// `limit`, skipping `offset`. The name matches as a prefix, ignoring ASCII case on
    /// SQLite and any case on PostgreSQL (whose `lower` folds beyond ASCII).
    pub async fn customers(
        &self,
        filter: CustomerFilter,
        scope: Option<CaseScope>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<Customer>> {
        self.read(move |db| {
            let mut sql = String::from("SELECT doc FROM customers WHERE 1=1");
            let mut args: Vec<Arg> = Vec::new();
            if let Some(scope) = &scope {
                sql.push_str(
                    " AND (NOT EXISTS (SELECT 1 FROM cases n WHERE n.customer_id = customers.id)
                      OR EXISTS (SELECT 1 FROM cases c WHERE c.customer_id = customers.id",
                );
                push_scope(&mut sql, &mut args, scope);
                sql.push_str("))");
            }
            if let Some(identity) = &filter.identity {
                args.push(normalise_identity(identity).into());
                sql.push_str(&format!(
                    " AND id IN (SELECT customer_id FROM customer_identities WHERE value = ?{})",
                    args.len()
                ));
            }
            if let Some(name) = &filter.name {
                args.push(like_prefix(name).into());
                sql.push_str(&format!(" AND lower(name) LIKE lower(?{}) ESCAPE '\\'", args.len()));
            }
            if let Some(segment) = &filter.segment {
                args.push(segment.clone().into());
                sql.push_str(&format!(" AND segment = ?{}", args.len()));
            }
            args.push(limit.clamp(1, 500).into());
            args.push(offset.into());
            sql.push_str(&format!(" ORDER BY name, id LIMIT ?{} OFFSET ?{}", args.len() - 1, args.len()));
            list_docs(db, &sql, &args)
        })
        .await
    }

    /// Merges `duplicate` into `survivor` in one transaction: the duplicate's identities
    /// become the survivor's, each of its cases gets the event `decide` makes for it (the
    /// customer changed), and the duplicate is removed, so it answers as not found after.
    /// At most [`crate::MAX_MERGED_CASES`] cases move; a customer with more is refused.
    pub async fn merge_customers(
        &self,
        survivor: CustomerId,
        duplicate: CustomerId,
        decide: crate::CaseMover,
    ) -> StoreResult<(Customer, u64)> {
        self.write(move |tx| {
            let missing = |id: CustomerId| StoreError::NotFound(format!("customer {id}"));
            let mut kept = load_customer(tx, survivor)?.ok_or_else(|| missing(survivor))?;
            let gone = load_customer(tx, duplicate)?.ok_or_else(|| missing(duplicate))?;
            let cases: Vec<String> = tx.rows(
                "SELECT id FROM cases WHERE customer_id = ?1 ORDER BY number LIMIT ?2",
                args![duplicate.to_string(), crate::MAX_MERGED_CASES as i64 + 1],
                |r| Ok(r.get(0)?),
            )?;
            if cases.len() > crate::MAX_MERGED_CASES {
                return Err(StoreError::InUse(format!(
                    "the duplicate has more than {} cases; merge fewer at a time",
                    crate::MAX_MERGED_CASES
                )));
            }
            for id in &cases {
                let case_id = id.parse().map_err(|_| StoreError::Internal(format!("case id '{id}' is not a UUID")))?;
                let decide = decide.clone();
                let write = crate::CaseWrite {
                    case_id,
                    expected_version: None,
                    idempotency: None,
                    decide: Box::new(move |case, _| match case {
                        Some(case) => decide(case),
                        None => Err(StoreError::NotFound(format!("case {case_id}"))),
                    }),
                };
                super::cases::execute_case(tx, write)?;
            }
            tx.exec("DELETE FROM customer_identities WHERE customer_id = ?1", args![duplicate.to_string()])?;
            tx.exec("DELETE FROM customers WHERE id = ?1", args![duplicate.to_string()])?;
            for identity in gone.identities {
                if !kept.identities.contains(&identity) {
                    kept.identities.push(identity);
                }
            }
            put_customer(tx, &kept, false)?;
            super::metrics::customer_changed(tx, &kept)?;
            Ok((kept, cases.len() as u64))
        })
        .await
    }

    /// Removes a customer who has no cases (cases keep their history; remove those first).
    pub async fn delete_customer(&self, id: CustomerId) -> StoreResult<()> {
        self.write(move |conn| {
            let id = id.to_string();
            let cases: i64 = conn.value("SELECT count(*) FROM cases WHERE customer_id = ?1", args![&id])?;
            if cases > 0 {
                return Err(StoreError::InUse(format!("the customer has {cases} cases; their history is kept")));
            }
            conn.exec("DELETE FROM customer_identities WHERE customer_id = ?1", args![&id])?;
            if conn.exec("DELETE FROM customers WHERE id = ?1", args![&id])? == 0 {
                return Err(StoreError::NotFound(format!("customer {id}")));
            }
            Ok(())
        })
        .await
    }

    /// Stores a new token; `hash` is the SHA-256 of its secret.
    pub async fn create_token(&self, info: TokenInfo, hash: String) -> StoreResult<TokenInfo> {
        self.write(move |conn| {
            conn.exec(
                "INSERT INTO tokens (id, user_id, name, hash, created_at_us, expires_at_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                args![
                    &info.id,
                    info.user_id.to_string(),
                    &info.name,
                    hash,
                    ts_to_us(info.created_at),
                    info.expires_at.map(ts_to_us)
                ],
            )?;
            Ok(info)
        })
        .await
    }

    pub async fn tokens(&self, user: Option<UserId>) -> StoreResult<Vec<TokenInfo>> {
        self.read(move |db| {
            db.rows(
                "SELECT id, user_id, name, created_at_us, expires_at_us, revoked_at_us FROM tokens
                 WHERE CAST(?1 AS TEXT) IS NULL OR user_id = ?1 ORDER BY created_at_us",
                args![user.map(|u| u.to_string())],
                row_to_token,
            )
        })
        .await
    }

    pub async fn token(&self, id: String) -> StoreResult<Option<TokenInfo>> {
        self.read(move |db| {
            db.first(
                "SELECT id, user_id, name, created_at_us, expires_at_us, revoked_at_us FROM tokens WHERE id = ?1",
                args![id],
                row_to_token,
            )
        })
        .await
    }

    pub async fn revoke_token(&self, id: String, at: jiff::Timestamp) -> StoreResult<()> {
        self.write(move |conn| {
            let n = conn.exec(
                "UPDATE tokens SET revoked_at_us = coalesce(revoked_at_us, ?2) WHERE id = ?1",
                args![&id, ts_to_us(at)],
            )?;
            if n == 0 { Err(StoreError::NotFound(format!("token {id}"))) } else { Ok(()) }
        })
        .await
    }

    pub async fn revoke_token_by_hash(&self, hash: String, at: jiff::Timestamp) -> StoreResult<()> {
        self.write(move |conn| {
            let n = conn.exec(
                "UPDATE tokens SET revoked_at_us = coalesce(revoked_at_us, ?2) WHERE hash = ?1",
                args![hash, ts_to_us(at)],
            )?;
            if n == 0 { Err(StoreError::NotFound("token".into())) } else { Ok(()) }
        })
        .await
    }

    /// Forgets idempotency records older than `before`; returns how many.
    pub async fn expire_idempotency(&self, before: jiff::Timestamp) -> StoreResult<usize> {
        self.write(move |conn| {
            Ok(conn.exec("DELETE FROM idempotency WHERE created_at_us < ?1", args![ts_to_us(before)])?)
        })
        .await
    }

    /// The active user behind a live token, if any, when the token expires, and the user's
    /// console time zone (`None`: none chosen).
    pub async fn user_for_token(
        &self,
        hash: String,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<(User, Option<jiff::Timestamp>, Option<String>)>> {
        self.read(move |db| {
            // The user's console time zone comes with the token, so a console page costs one
            // read for its session rather than two.
            db.first(
                "SELECT u.doc, t.expires_at_us, s.time_zone FROM tokens t JOIN users u ON u.id = t.user_id
                 LEFT JOIN user_settings s ON s.user_id = t.user_id
                 WHERE t.hash = ?1 AND t.revoked_at_us IS NULL AND u.active = 1
                   AND (t.expires_at_us IS NULL OR t.expires_at_us > ?2)",
                args![hash, ts_to_us(now)],
                |r| {
                    Ok((
                        serde_json::from_str(&r.get::<String>(0)?)?,
                        r.get::<Option<i64>>(1)?.map(us_to_ts),
                        r.get::<Option<String>>(2)?,
                    ))
                },
            )
        })
        .await
    }
}

/// The answer remembered for `idem`, if any. Without a key nothing is read.
fn replay<T: serde::de::DeserializeOwned>(db: &mut Db, idem: Option<&Idempotency>) -> StoreResult<Option<T>> {
    match idem {
        Some(idem) => replay_idempotent(db, Some(idem)),
        None => Ok(None),
    }
}

fn revoke_user_tokens(db: &mut Db, user: UserId, which: &RevokeTokens, at: jiff::Timestamp) -> StoreResult<usize> {
    let live: Vec<(String, String, String)> = db.rows(
        "SELECT id, hash, name FROM tokens WHERE user_id = ?1 AND revoked_at_us IS NULL",
        args![user.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut revoked = 0;
    for (id, hash, name) in live {
        if which.keep_hash.as_ref() == Some(&hash) || which.named.as_ref().is_some_and(|names| !names.contains(&name)) {
            continue;
        }
        db.exec("UPDATE tokens SET revoked_at_us = ?2 WHERE id = ?1", args![id, ts_to_us(at)])?;
        revoked += 1;
    }
    Ok(revoked)
}

fn row_to_token(r: &crate::db::Row) -> StoreResult<TokenInfo> {
    let user_id: String = r.get(1)?;
    Ok(TokenInfo {
        id: r.get(0)?,
        user_id: user_id.parse().map_err(|e| StoreError::Internal(format!("bad user id: {e}")))?,
        name: r.get(2)?,
        created_at: us_to_ts(r.get(3)?),
        expires_at: r.get::<Option<i64>>(4)?.map(us_to_ts),
        revoked_at: r.get::<Option<i64>>(5)?.map(us_to_ts),
    })
}
