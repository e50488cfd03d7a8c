//! Macros (canned replies): listing the ones a principal may use, and creating, changing and
//! deleting them — each checked against `core::access` and recorded in the audit history.

use jiff::Timestamp;
use ladder_core::access::{Action, Principal};
use ladder_core::macros::{Macro, validate_macro};
use ladder_store::StoreError;
use serde_json::json;
use uuid::Uuid;

use crate::Engine;

impl Engine {
    /// The macros the principal may use: their teams' and their own, by owner and name.
    pub async fn macros(&self, principal: &Principal) -> Result<Vec<Macro>, StoreError> {
        let owners = principal.team_scope().map(|teams| (teams, principal.user_id));
        let all = self.store.macros(owners).await?;
        Ok(all.into_iter().filter(|m| principal.allows(&Action::UseMacro { owner: m.owner }).is_ok()).collect())
    }

    /// One macro, if the principal may use it; one they may not is answered as one that
    /// does not exist.
    pub async fn macro_by_id(&self, principal: &Principal, id: Uuid) -> Result<Macro, StoreError> {
        self.store
            .macro_by_id(id)
            .await?
            .filter(|m| principal.allows(&Action::UseMacro { owner: m.owner }).is_ok())
            .ok_or_else(|| StoreError::NotFound(format!("macro {id}")))
    }

    /// Creates a macro for its owner, if the principal manages that owner's macros.
    pub async fn create_macro(&self, principal: &Principal, m: Macro, now: Timestamp) -> Result<Macro, StoreError> {
        validate_macro(&m)?;
        let detail = json!({ "name": m.name, "owner": m.owner });
        self.permitted(principal, &Action::ManageMacro { owner: m.owner }, "macro.create", m.id, detail, now)?
            .create_macro(Macro { updated_at: now, ..m })
            .await
    }

    /// Replaces a macro: the principal must manage both its owner and (if it moves) the new one.
    pub async fn update_macro(&self, principal: &Principal, m: Macro, now: Timestamp) -> Result<Macro, StoreError> {
        let before = self.macro_by_id(principal, m.id).await?;
        validate_macro(&m)?;
        self.check(principal, &Action::ManageMacro { owner: before.owner })?;
        let detail = json!({ "name": m.name, "owner": m.owner });
        self.permitted(principal, &Action::ManageMacro { owner: m.owner }, "macro.update", m.id, detail, now)?
            .update_macro(Macro { updated_at: now, ..m })
            .await
    }

    /// Deletes a macro the principal manages.
    pub async fn delete_macro(&self, principal: &Principal, id: Uuid, now: Timestamp) -> Result<(), StoreError> {
        let m = self.macro_by_id(principal, id).await?;
        let detail = json!({ "name": m.name, "owner": m.owner });
        self.permitted(principal, &Action::ManageMacro { owner: m.owner }, "macro.delete", id, detail, now)?
            .delete_macro(id)
            .await
    }
}
