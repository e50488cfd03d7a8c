//! Record the customer's satisfaction score (CSAT).

use crate::case::{Case, Status};
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

/// Satisfaction is asked about a resolution, once: the case must be resolved (or closed
/// after that), and a score already recorded since the latest resolution stands — a
/// reopened and resolved-again case takes a new one. As in Zendesk, the customer may
/// change their own rating while the case is resolved (the new score replaces theirs);
/// once the case is closed, or when an agent recorded it, the score stands.
pub(crate) fn decide(case: &Case, c: &RecordCsat, action: &'static str) -> Result<Vec<CaseEvent>, DomainError> {
    let Some(resolution) =
        case.resolution.as_ref().filter(|_| matches!(case.status, Status::Resolved | Status::Closed))
    else {
        return Err(DomainError::transition(action, case.status, "satisfaction is recorded once the case is resolved"));
    };
    let customer_changes_theirs =
        |given: &crate::case::Csat| !c.on_behalf && given.by_customer && case.status == Status::Resolved;
    if let Some(given) = case.csat.as_ref().filter(|given| given.at >= resolution.at && !customer_changes_theirs(given))
    {
        return Err(DomainError::transition(
            action,
            case.status,
            format!(
                "a score of {} was already recorded for this resolution at {}; it is recorded once per resolution",
                given.score, given.at
            ),
        ));
    }
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
