//! Macros (canned replies), on either backend. Who may see or change one is decided by the
//! caller (the engine asks `core::access`); the store filters by the owners it is given.

use ladder_core::ids::{TeamId, UserId};
use ladder_core::macros::{Macro, MacroOwner};
use uuid::Uuid;

use super::directory::{get_doc, list_docs, unique};
use super::{Store, ts_to_us};
use crate::db::{Arg, Db, args};
use crate::{StoreError, StoreResult};

fn owner_columns(owner: &MacroOwner) -> (&'static str, String) {
    match owner {
        MacroOwner::Team(t) => ("team", t.to_string()),
        MacroOwner::User(u) => ("user", u.to_string()),
    }
}

fn put_macro(db: &mut Db, m: &Macro, insert: bool) -> StoreResult<()> {
    let sql = if insert {
        "INSERT INTO macros (id, owner_kind, owner_id, name, doc, updated_at_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    } else {
        "UPDATE macros SET owner_kind = ?2, owner_id = ?3, name = ?4, doc = ?5, updated_at_us = ?6 WHERE id = ?1"
    };
    let (kind, owner) = owner_columns(&m.owner);
    let n = db
        .exec(sql, args![m.id.to_string(), kind, &owner, &m.name, serde_json::to_string(m)?, ts_to_us(m.updated_at)])
        .map_err(|e| unique(e, |_| format!("the owner already has a macro named '{}'", m.name)))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("macro {}", m.id)));
    }
    Ok(())
}

impl Store {
    pub async fn create_macro(&self, m: Macro) -> StoreResult<Macro> {
        self.write(move |db| put_macro(db, &m, true).map(|()| m)).await
    }

    pub async fn update_macro(&self, m: Macro) -> StoreResult<Macro> {
        self.write(move |db| put_macro(db, &m, false).map(|()| m)).await
    }

    pub async fn delete_macro(&self, id: Uuid) -> StoreResult<()> {
        self.write(move |db| {
            let n = db.exec("DELETE FROM macros WHERE id = ?1", args![id.to_string()])?;
            if n == 0 { Err(StoreError::NotFound(format!("macro {id}"))) } else { Ok(()) }
        })
        .await
    }

    pub async fn macro_by_id(&self, id: Uuid) -> StoreResult<Option<Macro>> {
        self.read(move |db| get_doc(db, "SELECT doc FROM macros WHERE id = ?1", &id.to_string())).await
    }

    /// The macros of these teams and this user (`None`: every macro), teams' first, by name.
    pub async fn macros(&self, owners: Option<(Vec<TeamId>, UserId)>) -> StoreResult<Vec<Macro>> {
        self.read(move |db| {
            let mut sql = String::from("SELECT doc FROM macros");
            let mut params: Vec<Arg<'static>> = Vec::new();
            if let Some((teams, user)) = &owners {
                params.push(Arg::from(user.to_string()));
                sql.push_str(" WHERE (owner_kind = 'user' AND owner_id = ?1)");
                if !teams.is_empty() {
                    sql.push_str(" OR (owner_kind = 'team' AND owner_id IN (");
                    for (i, t) in teams.iter().enumerate() {
                        params.push(Arg::from(t.to_string()));
                        sql.push_str(&format!("{}?{}", if i > 0 { ", " } else { "" }, params.len()));
                    }
                    sql.push_str("))");
                }
            }
            sql.push_str(" ORDER BY owner_kind, name, id");
            list_docs(db, &sql, &params)
        })
        .await
    }
}
