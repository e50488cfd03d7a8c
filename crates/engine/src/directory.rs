//! Directory commands: teams, users, passwords, customers, tokens, agents' profiles and
//! presence. Each is checked against `core::access` for the principal and recorded in the
//! audit history in the same transaction as the change (see `Store::audited`).

use jiff::Timestamp;
use ladder_core::DomainError;
use ladder_core::access::{Action, Principal};
use ladder_core::agents::{AgentProfile, Presence};
use ladder_core::directory::{Customer, Role, Team, User};
use ladder_core::ids::{CustomerId, TeamId, UserId};
use ladder_store::{AuditEntry, Idempotency, RevokeTokens, Store, StoreError, TokenInfo};
use serde_json::json;

use crate::Engine;
use crate::credentials::{CONSOLE_SESSION, LOGIN_SESSION, NewToken};

/// A new user's password: as typed (hashed by the engine), or already hashed with
/// [`Engine::hash_password`] — so a seeder giving many users one password hashes it once.
#[derive(Debug, Clone)]
pub enum Password {
    Plain(String),
    Hashed(String),
}

/// The principal of the operator at the command line (`ladder admin …`), who may do
/// everything because they hold the data directory or the database URL.
pub fn command_line_principal() -> Principal {
    Principal { user_id: UserId(uuid::Uuid::nil()), name: "command line".into(), role: Role::Admin, teams: Vec::new() }
}

impl Engine {
    /// Refuses unless `principal` may do `allowed`; else the store, recording `action` on
    /// `target` with the write: a directory command's permission and record in one step.
    pub(crate) fn permitted(
        &self,
        principal: &Principal,
        allowed: &Action,
        action: &str,
        target: impl ToString,
        detail: serde_json::Value,
        now: Timestamp,
    ) -> Result<Store, StoreError> {
        self.check(principal, allowed)?;
        Ok(self.audited(principal, action, target, detail, now))
    }

    /// The store, recording `action` on `target` by `principal` with this write.
    fn audited(
        &self,
        principal: &Principal,
        action: &str,
        target: impl ToString,
        detail: serde_json::Value,
        now: Timestamp,
    ) -> Store {
        self.store.audited(self.audit_entry(principal, action, target, detail, now))
    }

    /// The audit record of `action` on `target` by `principal`.
    pub(crate) fn audit_entry(
        &self,
        principal: &Principal,
        action: &str,
        target: impl ToString,
        detail: serde_json::Value,
        now: Timestamp,
    ) -> AuditEntry {
        let actor_id = (principal.user_id.0 != uuid::Uuid::nil()).then_some(principal.user_id);
        AuditEntry {
            seq: 0,
            at: now,
            actor_id,
            actor_name: principal.name.clone(),
            action: action.to_string(),
            target: target.to_string(),
            detail,
        }
    }

    // ---- customers ----

    pub async fn create_customer(
        &self,
        principal: &Principal,
        customer: Customer,
        idempotency: Option<Idempotency>,
        now: Timestamp,
    ) -> Result<Customer, StoreError> {
        let detail = json!({ "name": customer.name, "segment": customer.segment });
        self.permitted(principal, &Action::CreateCustomer, "customer.create", customer.id, detail, now)?
            .create_customer(customer, idempotency)
            .await
    }

    pub async fn update_customer(
        &self,
        principal: &Principal,
        customer: Customer,
        now: Timestamp,
    ) -> Result<Customer, StoreError> {
        let detail = json!({ "name": customer.name, "segment": customer.segment, "status": customer.status });
        // A customer outside the principal's scope is answered as one that does not exist.
        let reach = self.customer_reach(principal, customer.id).await?;
        if principal.allows(&Action::ReadCustomer(&reach)).is_err() {
            return Err(StoreError::NotFound(format!("customer {}", customer.id)));
        }
        self.permitted(principal, &Action::WriteCustomer(&reach), "customer.update", customer.id, detail, now)?
            .update_customer(customer)
            .await
    }

    /// Merges the `duplicate` customer into `survivor`: identities and cases follow (each
    /// case records an `updated` event naming its new customer), the duplicate is gone
    /// (not found) afterwards, and the merge is in the audit history. Both must be customers
    /// the principal may read (else not found); answers the survivor and the cases moved.
    pub async fn merge_customers(
        &self,
        principal: &Principal,
        survivor: CustomerId,
        duplicate: CustomerId,
        now: Timestamp,
    ) -> Result<(Customer, u64), StoreError> {
        let now = ladder_core::instant::truncate(now);
        if survivor == duplicate {
            return Err(DomainError::invalid("duplicate", "is the customer it would be merged into").into());
        }
        self.check(principal, &Action::MergeCustomers)?;
        for id in [survivor, duplicate] {
            let reach = self.customer_reach(principal, id).await?;
            if principal.allows(&Action::ReadCustomer(&reach)).is_err() || self.store.customer(id).await?.is_none() {
                return Err(StoreError::NotFound(format!("customer {id}")));
            }
        }
        let actor = ladder_core::Actor::User { id: principal.user_id };
        let mover: ladder_store::CaseMover = std::sync::Arc::new(move |case: &ladder_core::Case| {
            let event = ladder_core::event::CaseEvent::Updated(ladder_core::event::Updated {
                customer: Some(survivor),
                ..Default::default()
            });
            let recorded = ladder_core::event::RecordedEvent {
                case_id: case.id,
                version: case.version + 1,
                at: now,
                actor: actor.clone(),
                event,
                matrix_version: None,
            };
            Ok(vec![recorded].into())
        });
        let detail = json!({ "duplicate": duplicate });
        let merged = self
            .permitted(principal, &Action::MergeCustomers, "customer.merge", survivor, detail, now)?
            .merge_customers(survivor, duplicate, mover)
            .await?;
        Ok(merged)
    }

    pub async fn delete_customer(
        &self,
        principal: &Principal,
        id: CustomerId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.permitted(principal, &Action::DeleteCustomer, "customer.delete", id, json!({}), now)?
            .delete_customer(id)
            .await
    }

    // ---- teams ----

    pub async fn create_team(
        &self,
        principal: &Principal,
        team: Team,
        idempotency: Option<Idempotency>,
        now: Timestamp,
    ) -> Result<Team, StoreError> {
        self.permitted(principal, &Action::ManageTeams, "team.create", team.id, team_detail(&team), now)?
            .create_team(team, idempotency)
            .await
    }

    pub async fn update_team(&self, principal: &Principal, team: Team, now: Timestamp) -> Result<Team, StoreError> {
        self.permitted(principal, &Action::ManageTeams, "team.update", team.id, team_detail(&team), now)?
            .update_team(team)
            .await
    }

    pub async fn delete_team(&self, principal: &Principal, id: TeamId, now: Timestamp) -> Result<(), StoreError> {
        self.permitted(principal, &Action::ManageTeams, "team.delete", id, json!({}), now)?.delete_team(id).await
    }

    // ---- users ----

    /// Creates a user, with a password (hashed off the async workers) or none.
    pub async fn create_user(
        &self,
        principal: &Principal,
        user: User,
        password: Option<Password>,
        idempotency: Option<Idempotency>,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        let store = self.permitted(principal, &Action::ManageUsers, "user.create", user.id, user_detail(&user), now)?;
        let hash = match password {
            Some(Password::Plain(p)) => Some(self.hash_password(p).await?),
            Some(Password::Hashed(h)) => Some(h),
            None => None,
        };
        store.create_user(user, hash, idempotency).await
    }

    /// Replaces a user's profile, role, teams and state. Nobody demotes or deactivates
    /// themselves (an admin would lock themselves out). Deactivating revokes their tokens.
    pub async fn update_user(&self, principal: &Principal, user: User, now: Timestamp) -> Result<User, StoreError> {
        let action = if user.active { "user.update" } else { "user.deactivate" };
        let store = self.permitted(principal, &Action::ManageUsers, action, user.id, user_detail(&user), now)?;
        if user.id == principal.user_id && (user.role < principal.role || !user.active) {
            return Err(
                DomainError::invalid("role", "you cannot demote or deactivate yourself; ask another admin").into()
            );
        }
        let updated = store.update_user(user).await?;
        self.forget_cached_tokens();
        Ok(updated)
    }

    /// Sets a user's password (hashed off the async workers) and ends sessions with it.
    ///
    /// Changing one's own password needs the current one (`current`), and ends every other
    /// console and login session of the user (`in_use`, the token of this request, stays).
    /// An admin's reset of someone else's password revokes every token of that user, API
    /// tokens included. Answers how many tokens were revoked.
    pub async fn set_password(
        &self,
        principal: &Principal,
        user: UserId,
        password: String,
        current: Option<&str>,
        in_use: Option<&str>,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        self.check(principal, &Action::SetPassword { user })?;
        ladder_core::directory::validate_password("password", &password)?;
        let own = user == principal.user_id;
        let revoke = if own {
            self.confirm_password(principal, "current_password", current).await?;
            RevokeTokens {
                named: Some(vec![CONSOLE_SESSION.to_string(), LOGIN_SESSION.to_string()]),
                keep_hash: in_use.map(crate::credentials::token_hash),
            }
        } else {
            RevokeTokens::default()
        };
        let hash = self.hash_password(password).await?;
        let detail = json!({ "reset": !own });
        let revoked = self
            .permitted(principal, &Action::SetPassword { user }, "user.password", user, detail, now)?
            .set_password(user, hash, revoke, now)
            .await?;
        self.forget_cached_tokens();
        Ok(revoked)
    }

    // ---- tokens ----

    /// Mints a token for `owner` on `principal`'s behalf, living `lifetime` (`None`: the
    /// server's default; never more than its maximum, see [`crate::TokenPolicy`]); the
    /// secret is in the answer once.
    pub async fn mint_token(
        &self,
        principal: &Principal,
        owner: UserId,
        name: String,
        lifetime: Option<jiff::SignedDuration>,
        now: Timestamp,
    ) -> Result<NewToken, StoreError> {
        self.check(principal, &Action::MintToken { owner })?;
        let expires_at = self.token_policy().expiry("expires_in_seconds", lifetime, now)?;
        self.store_token(principal, owner, name, Some(expires_at), now).await
    }

    pub(crate) async fn store_token(
        &self,
        principal: &Principal,
        owner: UserId,
        name: String,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<NewToken, StoreError> {
        let (secret, info) = crate::credentials::new_token(owner, name, expires_at, now);
        let detail = json!({ "owner": owner.to_string(), "name": info.name, "expires_at": info.expires_at });
        let info = self
            .audited(principal, "token.create", &info.id, detail, now)
            .create_token(info.clone(), crate::credentials::token_hash(&secret))
            .await?;
        Ok(NewToken { secret, info })
    }

    /// Revokes a token the principal may manage (their own; an admin's anyone's).
    pub async fn revoke_token(&self, principal: &Principal, id: &str, now: Timestamp) -> Result<TokenInfo, StoreError> {
        let token = self.token(principal, id).await?;
        self.audited(principal, "token.revoke", id, json!({ "owner": token.user_id.to_string() }), now)
            .revoke_token(id.to_string(), now)
            .await?;
        self.forget_cached_tokens();
        Ok(token)
    }

    /// Revokes every live token of `owner` (one's own; an admin's anyone's), the one in use
    /// included; answers how many.
    pub async fn revoke_all_tokens(
        &self,
        principal: &Principal,
        owner: UserId,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let detail = json!({ "owner": owner.to_string() });
        let revoked = self
            .permitted(principal, &Action::ManageToken { owner }, "token.revoke_all", owner, detail, now)?
            .revoke_user_tokens(owner, RevokeTokens::default(), now)
            .await?;
        self.forget_cached_tokens();
        Ok(revoked)
    }

    /// Revokes the token with this secret (signing out of it).
    pub async fn sign_out(&self, principal: &Principal, secret: &str, now: Timestamp) -> Result<(), StoreError> {
        let hash = crate::credentials::token_hash(secret);
        self.audited(principal, "token.revoke", "(signed out)", json!({ "owner": principal.user_id.to_string() }), now)
            .revoke_token_by_hash(hash, now)
            .await?;
        self.forget_cached_tokens();
        Ok(())
    }

    // ---- agents ----

    /// Changes an agent's skills, languages and capacity in one write (see
    /// `Store::edit_agent_profile`); `changes` says what was asked, for the audit history.
    pub async fn edit_agent_profile<F>(
        &self,
        principal: &Principal,
        user: &User,
        changes: serde_json::Value,
        now: Timestamp,
        edit: F,
    ) -> Result<AgentProfile, StoreError>
    where
        F: FnOnce(&User, &mut AgentProfile) -> Result<(), StoreError> + Send + 'static,
    {
        let store =
            self.permitted(principal, &Action::EditAgentProfile { user }, "agent.profile", user.id, changes, now)?;
        store.edit_agent_profile(user.id, now, edit).await
    }

    /// Saves the time zone `user`'s console shows instants in (`None`: the browser's). The
    /// zone must be one the time-zone database knows.
    pub async fn set_time_zone(
        &self,
        principal: &Principal,
        user: UserId,
        zone: Option<String>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if let Some(z) = &zone {
            ladder_core::directory::validate_time_zone("time_zone", z)?;
        }
        let detail = json!({ "time_zone": zone });
        self.permitted(principal, &Action::SetTimeZone { user }, "user.time_zone", user, detail, now)?
            .set_user_time_zone(user, zone, now)
            .await?;
        // The zone is cached with the user's sessions (`authenticate_session`).
        self.forget_cached_sessions_of(user);
        Ok(())
    }

    /// Sets an agent's presence.
    pub async fn set_presence(
        &self,
        principal: &Principal,
        user: &User,
        presence: Presence,
        now: Timestamp,
    ) -> Result<AgentProfile, StoreError> {
        let detail = json!({ "presence": presence.as_str() });
        self.permitted(principal, &Action::SetPresence { user }, "agent.presence", user.id, detail, now)?
            .set_presence(user.id, presence, now)
            .await
    }
}

/// What the audit history records of a team.
fn team_detail(team: &Team) -> serde_json::Value {
    json!({ "slug": team.slug, "level": team.level.as_str(), "kind": team.kind, "skills": team.skills })
}

/// What the audit history records of a user: never a password.
fn user_detail(user: &User) -> serde_json::Value {
    json!({
        "name": user.name,
        "role": user.role.as_str(),
        "teams": user.teams.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        "active": user.active,
    })
}
