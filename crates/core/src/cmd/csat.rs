//! Record the customer's satisfaction score (CSAT).

use crate::error::DomainError;
use crate::event::{CaseEvent, CsatRecorded};
use crate::validate::non_empty;

/// A customer satisfaction score, given by the customer or recorded by an agent on their behalf.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordCsat {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub score: u8,
    pub comment: Option<String>,
    /// An agent records what the customer said (a phone survey, an email).
    pub on_behalf: bool,
}

pub(crate) fn decide(c: &RecordCsat) -> Result<Vec<CaseEvent>, DomainError> {
    if !(1..=5).contains(&c.score) {
        return Err(DomainError::invalid(
            "score",
            format!("{} is not a score; give 1 (very dissatisfied) to 5 (very satisfied)", c.score),
        ));
    }
    if let Some(comment) = &c.comment {
        non_empty("comment", comment, crate::limits::MAX_NOTE)?;
    }
    Ok(vec![CaseEvent::CsatRecorded(CsatRecorded {
        score: c.score,
        comment: c.comment.clone(),
        by_customer: !c.on_behalf,
    })])
}
