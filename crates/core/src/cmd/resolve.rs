//! Resolve a case with a resolution code.

use serde::Deserialize;

use super::require_active;
use crate::case::Case;
use crate::error::DomainError;
use crate::event::{CaseEvent, Resolved};
use crate::validate::{handle, non_empty};

// Also the JSON API's body and the console's form (it needs no resolving).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = ResolveBody))]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    /// Resolution code, e.g. `refund_issued`, `known_issue`, `duplicate`.
    pub code: String,
    pub note: Option<String>,
    /// "Solved by article": the published knowledge article that solved the case.
    #[serde(default)]
    pub article_id: Option<uuid::Uuid>,
}

pub(crate) fn decide(case: &Case, r: &Resolve, action: &'static str) -> Result<Vec<CaseEvent>, DomainError> {
    require_active(case, action)?;
    handle("code", &r.code)?;
    if let Some(note) = &r.note {
        non_empty("note", note, crate::limits::MAX_NOTE)?;
    }
    Ok(vec![CaseEvent::Resolved(Resolved { code: r.code.clone(), note: r.note.clone(), article_id: r.article_id })])
}
