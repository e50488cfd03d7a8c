//! Services and their integration keys, on either backend. Who may see or change them is
//! decided by the caller (the engine asks `core::access`). A key is found by the SHA-256 of
//! its secret; the secret itself is never stored.

use ladder_core::services::{IntegrationKey, Service};
use uuid::Uuid;

use super::directory::{get_doc, list_docs, unique};
use super::{Store, ts_to_us};
use crate::db::{Db, args};
use crate::{StoreError, StoreResult};

fn put_service(db: &mut Db, s: &Service, insert: bool) -> StoreResult<()> {
    let sql = if insert {
        "INSERT INTO services (id, name, team_id, doc, updated_at_us) VALUES (?1, ?2, ?3, ?4, ?5)"
    } else {
        "UPDATE services SET name = ?2, team_id = ?3, doc = ?4, updated_at_us = ?5 WHERE id = ?1"
    };
    let n = db
        .exec(
            sql,
            args![s.id.to_string(), &s.name, s.team.to_string(), serde_json::to_string(s)?, ts_to_us(s.updated_at)],
        )
        .map_err(|e| unique(e, |_| format!("a service named '{}' already exists", s.name)))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("service {}", s.id)));
    }
    Ok(())
}

impl Store {
    pub async fn create_service(&self, s: Service) -> StoreResult<Service> {
        self.write(move |db| put_service(db, &s, true).map(|()| s)).await
    }

    pub async fn update_service(&self, s: Service) -> StoreResult<Service> {
        self.write(move |db| put_service(db, &s, false).map(|()| s)).await
    }

    /// Deletes a service and its keys (its incidents stay, as cases).
    pub async fn delete_service(&self, id: Uuid) -> StoreResult<()> {
        self.write(move |db| {
            db.exec("DELETE FROM service_keys WHERE service_id = ?1", args![id.to_string()])?;
            let n = db.exec("DELETE FROM services WHERE id = ?1", args![id.to_string()])?;
            if n == 0 { Err(StoreError::NotFound(format!("service {id}"))) } else { Ok(()) }
        })
        .await
    }

    pub async fn service_by_id(&self, id: Uuid) -> StoreResult<Option<Service>> {
        self.read(move |db| get_doc(db, "SELECT doc FROM services WHERE id = ?1", &id.to_string())).await
    }

    pub async fn service_by_name(&self, name: String) -> StoreResult<Option<Service>> {
        self.read(move |db| get_doc(db, "SELECT doc FROM services WHERE name = ?1", &name)).await
    }

    /// Every service, by name.
    pub async fn services(&self) -> StoreResult<Vec<Service>> {
        self.read(move |db| list_docs(db, "SELECT doc FROM services ORDER BY name, id", &[])).await
    }

    /// Records a new integration key by the hash of its secret.
    pub async fn create_service_key(&self, key: IntegrationKey, key_hash: String) -> StoreResult<IntegrationKey> {
        self.write(move |db| {
            db.exec(
                "INSERT INTO service_keys (id, key_hash, service_id, doc, created_at_us, revoked_at_us) \
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
                args![
                    key.id.to_string(),
                    &key_hash,
                    key.service_id.to_string(),
                    serde_json::to_string(&key)?,
                    ts_to_us(key.created_at)
                ],
            )?;
            Ok(key)
        })
        .await
    }

    /// Marks a key revoked (it stays listed); `NotFound` when the service has no such key.
    pub async fn revoke_service_key(&self, key: IntegrationKey) -> StoreResult<IntegrationKey> {
        self.write(move |db| {
            let at = key.revoked_at.map(ts_to_us);
            let n = db.exec(
                "UPDATE service_keys SET doc = ?3, revoked_at_us = ?4 WHERE id = ?1 AND service_id = ?2",
                args![key.id.to_string(), key.service_id.to_string(), serde_json::to_string(&key)?, at],
            )?;
            if n == 0 { Err(StoreError::NotFound(format!("integration key {}", key.id))) } else { Ok(key) }
        })
        .await
    }

    /// A service's keys, oldest first.
    pub async fn service_keys(&self, service: Uuid) -> StoreResult<Vec<IntegrationKey>> {
        self.read(move |db| {
            list_docs(
                db,
                "SELECT doc FROM service_keys WHERE service_id = ?1 ORDER BY created_at_us, id",
                args![service.to_string()],
            )
        })
        .await
    }

    /// The live key with this hash and its service, if any.
    pub async fn service_by_key_hash(&self, key_hash: String) -> StoreResult<Option<(IntegrationKey, Service)>> {
        self.read(move |db| {
            db.first(
                "SELECT k.doc, s.doc FROM service_keys k JOIN services s ON s.id = k.service_id \
                 WHERE k.key_hash = ?1 AND k.revoked_at_us IS NULL",
                args![key_hash],
                |r| Ok((serde_json::from_str(&r.get::<String>(0)?)?, serde_json::from_str(&r.get::<String>(1)?)?)),
            )
        })
        .await
    }
}
