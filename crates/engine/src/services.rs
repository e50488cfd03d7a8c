//! Services and their integration keys: listing them for supervisors and up, and creating,
//! changing and deleting them, and minting and revoking keys, for admins — each checked
//! against `core::access` and recorded in the audit history. A key's secret is returned once,
//! at creation; the store keeps its SHA-256 ([`crate::credentials::token_hash`]). An alert's
//! routing key finds its service through [`Engine::service_for_routing_key`].

use jiff::Timestamp;
use ladder_core::access::{Action, Principal};
use ladder_core::alerts::ROUTING_KEY_LEN;
use ladder_core::error::DomainError;
use ladder_core::services::{IntegrationKey, MAX_KEY_LABEL, MAX_LIVE_KEYS, Service, validate_service};
use ladder_store::StoreError;
use rand::RngExt;
use serde_json::json;
use uuid::Uuid;

use crate::Engine;
use crate::credentials::token_hash;

/// A new routing key: 32 lower-case hex characters (128 random bits), the form PagerDuty's
/// integration keys have, so tools that check a key's length accept it.
fn new_routing_key() -> String {
    let mut bytes = [0u8; ROUTING_KEY_LEN / 2];
    rand::rng().fill(&mut bytes);
    hex::encode(bytes)
}

impl Engine {
    /// Every service, by name.
    pub async fn services(&self, principal: &Principal) -> Result<Vec<Service>, StoreError> {
        self.check(principal, &Action::ReadServices)?;
        self.store.services().await
    }

    /// One service.
    pub async fn service(&self, principal: &Principal, id: Uuid) -> Result<Service, StoreError> {
        self.check(principal, &Action::ReadServices)?;
        self.store.service_by_id(id).await?.ok_or_else(|| StoreError::NotFound(format!("service {id}")))
    }

    fn validated(&self, mut s: Service) -> Result<Service, StoreError> {
        let active = self.active_matrix();
        validate_service(&mut s, active.as_ref().map(|m| m.compiled.matrix()))?;
        Ok(s)
    }

    /// Creates a service (admins).
    pub async fn create_service(
        &self,
        principal: &Principal,
        s: Service,
        now: Timestamp,
    ) -> Result<Service, StoreError> {
        self.check(principal, &Action::ManageServices)?;
        let s = self.validated(Service { created_at: now, updated_at: now, ..s })?;
        let detail = json!({ "name": s.name, "team": s.team });
        self.permitted(principal, &Action::ManageServices, "service.create", s.id, detail, now)?.create_service(s).await
    }

    /// Replaces a service's fields (admins); its creation time stays.
    pub async fn update_service(
        &self,
        principal: &Principal,
        s: Service,
        now: Timestamp,
    ) -> Result<Service, StoreError> {
        let before = self.service(principal, s.id).await?;
        self.check(principal, &Action::ManageServices)?;
        let s = self.validated(Service { created_at: before.created_at, updated_at: now, ..s })?;
        let detail = json!({ "name": s.name, "team": s.team, "maintenance": s.maintenance.len() });
        self.permitted(principal, &Action::ManageServices, "service.update", s.id, detail, now)?.update_service(s).await
    }

    /// Deletes a service and its keys (admins).
    pub async fn delete_service(&self, principal: &Principal, id: Uuid, now: Timestamp) -> Result<(), StoreError> {
        let s = self.service(principal, id).await?;
        let detail = json!({ "name": s.name });
        self.permitted(principal, &Action::ManageServices, "service.delete", id, detail, now)?.delete_service(id).await
    }

    /// A service's integration keys, oldest first (never their secrets).
    pub async fn service_keys(&self, principal: &Principal, service: Uuid) -> Result<Vec<IntegrationKey>, StoreError> {
        self.service(principal, service).await?;
        self.store.service_keys(service).await
    }

    /// Mints an integration key for a service (admins): the secret, shown only now, and the
    /// key as it is listed.
    pub async fn create_service_key(
        &self,
        principal: &Principal,
        service: Uuid,
        label: String,
        now: Timestamp,
    ) -> Result<(String, IntegrationKey), StoreError> {
        self.check(principal, &Action::ManageServices)?;
        let label = label.trim().to_string();
        if label.chars().count() > MAX_KEY_LABEL {
            return Err(DomainError::invalid("label", format!("is longer than {MAX_KEY_LABEL} characters")).into());
        }
        let live = self.service_keys(principal, service).await?.iter().filter(|k| k.revoked_at.is_none()).count();
        if live >= MAX_LIVE_KEYS {
            return Err(DomainError::invalid(
                "service",
                format!("already has {MAX_LIVE_KEYS} live integration keys; revoke one first"),
            )
            .into());
        }
        let secret = new_routing_key();
        let key = IntegrationKey {
            id: Uuid::now_v7(),
            service_id: service,
            label,
            hint: secret[secret.len() - 4..].to_string(),
            created_at: now,
            revoked_at: None,
        };
        let detail = json!({ "service": service, "label": key.label, "hint": key.hint });
        let key = self
            .permitted(principal, &Action::ManageServices, "service.key.create", key.id, detail, now)?
            .create_service_key(key, token_hash(&secret))
            .await?;
        Ok((secret, key))
    }

    /// Revokes a key (admins): alerts sent with it are refused from now on.
    pub async fn revoke_service_key(
        &self,
        principal: &Principal,
        service: Uuid,
        key: Uuid,
        now: Timestamp,
    ) -> Result<IntegrationKey, StoreError> {
        let found = self
            .service_keys(principal, service)
            .await?
            .into_iter()
            .find(|k| k.id == key)
            .ok_or_else(|| StoreError::NotFound(format!("integration key {key} of service {service}")))?;
        if found.revoked_at.is_some() {
            return Ok(found);
        }
        let detail = json!({ "service": service, "label": found.label, "hint": found.hint });
        self.permitted(principal, &Action::ManageServices, "service.key.revoke", key, detail, now)?
            .revoke_service_key(IntegrationKey { revoked_at: Some(now), ..found })
            .await
    }

    /// The service a live routing key belongs to. The key is the caller's credential here
    /// (monitoring tools hold no user token), so no principal is asked.
    pub async fn service_for_routing_key(&self, routing_key: &str) -> Result<Option<Service>, StoreError> {
        Ok(self.store.service_by_key_hash(token_hash(routing_key)).await?.map(|(_, s)| s))
    }
}
