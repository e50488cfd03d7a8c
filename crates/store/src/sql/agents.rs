//! Agents' working state, on either backend: one `agents` row per stored profile, and
//! loads counted from the `cases` projection.

use std::collections::HashMap;

use jiff::Timestamp;
use ladder_core::agents::{AgentLoad, AgentProfile, Presence, validate_profile};
use ladder_core::directory::User;
use ladder_core::ids::{TeamId, UserId};
use ladder_core::{Channel, Status};

use super::{Store, ts_to_us};
use crate::db::{Arg, Db, args};
use crate::{StoreError, StoreResult};

/// Most ids bound in one `IN (…)` list; well under SQLite's and PostgreSQL's limits.
const IN_CHUNK: usize = 500;

fn stored_profile(db: &mut Db, user_id: UserId) -> StoreResult<Option<AgentProfile>> {
    let doc: Option<String> =
        db.value_opt("SELECT profile FROM agents WHERE user_id = ?1", args![user_id.to_string()])?;
    doc.map(|d| serde_json::from_str(&d).map_err(StoreError::from)).transpose()
}

fn user_doc(db: &mut Db, user_id: UserId) -> StoreResult<User> {
    let doc: Option<String> = db.value_opt("SELECT doc FROM users WHERE id = ?1", args![user_id.to_string()])?;
    match doc {
        Some(d) => Ok(serde_json::from_str(&d)?),
        None => Err(StoreError::NotFound(format!("user {user_id}"))),
    }
}

/// Inserts or replaces the profile's row. The profile must be valid.
fn upsert(db: &mut Db, profile: &AgentProfile) -> StoreResult<()> {
    db.exec(
        "INSERT INTO agents (user_id, presence, presence_since_us, profile, updated_at_us)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (user_id) DO UPDATE SET
            presence = excluded.presence, presence_since_us = excluded.presence_since_us,
            profile = excluded.profile, updated_at_us = excluded.updated_at_us",
        args![
            profile.user_id.to_string(),
            profile.presence.as_str(),
            ts_to_us(profile.presence_since),
            serde_json::to_string(profile)?,
            ts_to_us(profile.updated_at),
        ],
    )?;
    Ok(())
}

fn channel_named(name: &str) -> StoreResult<Channel> {
    Channel::ALL
        .into_iter()
        .find(|c| c.as_str() == name)
        .ok_or_else(|| StoreError::Internal(format!("a case row has the unknown channel '{name}'")))
}

/// Active users with their stored profile, or the default one (offline since the user was
/// created, so reading never needs the clock); of the given teams, or all. Ordered by name.
fn list_agents(db: &mut Db, teams: Option<&[TeamId]>) -> StoreResult<Vec<(User, AgentProfile)>> {
    let mut sql =
        String::from("SELECT u.doc, a.profile FROM users u LEFT JOIN agents a ON a.user_id = u.id WHERE u.active = 1");
    let mut args: Vec<Arg> = Vec::new();
    if let Some(teams) = teams {
        if teams.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=teams.len()).map(|i| format!("?{i}")).collect();
        sql.push_str(&format!(" AND u.id IN (SELECT user_id FROM user_teams WHERE team_id IN ({}))", marks.join(", ")));
        args.extend(teams.iter().map(|t| Arg::from(t.to_string())));
    }
    sql.push_str(" ORDER BY u.name");
    db.rows(&sql, &args, |r| {
        let user: User = serde_json::from_str(&r.get::<String>(0)?)?;
        let profile = match r.get::<Option<String>>(1)? {
            Some(p) => serde_json::from_str(&p)?,
            None => AgentProfile::default_for(&user, user.created_at),
        };
        Ok((user, profile))
    })
}

impl Store {
    /// The stored profile of a user; `None` when nobody has set one (see
    /// [`AgentProfile::default_for`]).
    pub async fn agent_profile(&self, user_id: UserId) -> StoreResult<Option<AgentProfile>> {
        self.read(move |c| stored_profile(c, user_id)).await
    }

    /// Stores a profile, replacing any stored one. Refused when it is invalid, or when the
    /// user does not exist.
    pub async fn put_agent_profile(&self, profile: AgentProfile) -> StoreResult<AgentProfile> {
        validate_profile(&profile)?;
        self.write(move |conn| {
            user_doc(conn, profile.user_id)?;
            upsert(conn, &profile)?;
            Ok(profile)
        })
        .await
    }

    /// Changes a user's profile in one write: `edit` gets the user and their stored profile
    /// (or the default one, offline since `now`), and what it leaves is validated, stamped
    /// `updated_at = now` and stored. Because the read and the write are one transaction,
    /// two concurrent edits (a supervisor's skills, the agent's presence) never undo each
    /// other. `NotFound` when the user does not exist; an error from `edit` stores nothing.
    pub async fn edit_agent_profile<F>(&self, user_id: UserId, now: Timestamp, edit: F) -> StoreResult<AgentProfile>
    where
        F: FnOnce(&User, &mut AgentProfile) -> StoreResult<()> + Send + 'static,
    {
        self.write(move |conn| {
            let user = user_doc(conn, user_id)?;
            let mut profile = match stored_profile(conn, user_id)? {
                Some(p) => p,
                None => AgentProfile::default_for(&user, now),
            };
            edit(&user, &mut profile)?;
            profile.user_id = user_id;
            profile.updated_at = now;
            validate_profile(&profile)?;
            upsert(conn, &profile)?;
            Ok(profile)
        })
        .await
    }

    /// Sets a user's presence, creating their profile from the default if they have none.
    /// `presence_since` moves only when the presence changes. `NotFound` when the user does
    /// not exist.
    pub async fn set_presence(&self, user_id: UserId, presence: Presence, now: Timestamp) -> StoreResult<AgentProfile> {
        self.edit_agent_profile(user_id, now, move |_, profile| {
            profile.set_presence(presence, now);
            Ok(())
        })
        .await
    }

    /// What each user carries now: their assigned cases that are not resolved or closed,
    /// counted per channel. Every asked-for user is in the answer (unloaded users with an
    /// empty load).
    pub async fn agent_loads(&self, user_ids: Vec<UserId>) -> StoreResult<HashMap<UserId, AgentLoad>> {
        self.read(move |c| {
            let mut loads: HashMap<UserId, AgentLoad> = user_ids.iter().map(|u| (*u, AgentLoad::default())).collect();
            let mut ids: Vec<String> = user_ids.iter().map(|u| u.to_string()).collect();
            ids.sort();
            ids.dedup();
            for chunk in ids.chunks(IN_CHUNK) {
                let marks: Vec<String> = (3..chunk.len() + 3).map(|i| format!("?{i}")).collect();
                let sql = format!(
                    "SELECT assignee_id, channel, count(*) FROM cases
                     WHERE assignee_id IN ({}) AND status NOT IN (?1, ?2)
                     GROUP BY assignee_id, channel",
                    marks.join(", ")
                );
                let mut args = vec![Arg::from(Status::Resolved.as_str()), Arg::from(Status::Closed.as_str())];
                args.extend(chunk.iter().map(Arg::from));
                let rows = c.rows(&sql, &args, |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?, r.get::<i64>(2)?)))?;
                for (assignee, channel, n) in rows {
                    let assignee: UserId = assignee
                        .parse()
                        .map_err(|e| StoreError::Internal(format!("a case row has a bad assignee id: {e}")))?;
                    let load = loads.entry(assignee).or_default();
                    *load.active.entry(channel_named(&channel)?).or_default() += u32::try_from(n).unwrap_or(u32::MAX);
                }
            }
            Ok(loads)
        })
        .await
    }

    /// Whether any member of `team` is available for new work: one index probe, so routing
    /// can skip reading the team when nobody is on shift.
    pub async fn team_has_available_agent(&self, team: TeamId) -> StoreResult<bool> {
        self.read(move |c| {
            let found: Option<i64> = c.value_opt(
                "SELECT 1 FROM agents a JOIN user_teams ut ON ut.user_id = a.user_id
                 WHERE ut.team_id = ?1 AND a.presence = 'available' LIMIT 1",
                args![team.to_string()],
            )?;
            Ok(found.is_some())
        })
        .await
    }

    /// The active members of a team with their profiles (stored, or the default one),
    /// ordered by name.
    pub async fn team_agents(&self, team: TeamId) -> StoreResult<Vec<(User, AgentProfile)>> {
        self.read(move |c| list_agents(c, Some(&[team]))).await
    }

    /// The active users who are members of any of `teams` (every active user with `None`),
    /// with their profiles (stored, or the default one), ordered by name.
    pub async fn agents(&self, teams: Option<Vec<TeamId>>) -> StoreResult<Vec<(User, AgentProfile)>> {
        self.read(move |c| list_agents(c, teams.as_deref())).await
    }
}
