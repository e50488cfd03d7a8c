//! Resolve a case with a resolution code.

use super::{MAX_TEXT, require_active};
use crate::case::Case;
use crate::error::DomainError;
use crate::event::{CaseEvent, Resolved};
use crate::validate::{handle, non_empty};

#[derive(Debug, Clone, PartialEq)]
pub struct Resolve {
    pub code: String,
    pub note: Option<String>,
}

pub(crate) fn decide(case: &Case, r: &Resolve, action: &'static str) -> Result<Vec<CaseEvent>, DomainError> {
    require_active(case, action)?;
    handle("code", &r.code)?;
    if let Some(note) = &r.note {
        non_empty("note", note, MAX_TEXT)?;
    }
    Ok(vec![CaseEvent::Resolved(Resolved { code: r.code.clone(), note: r.note.clone() })])
}
