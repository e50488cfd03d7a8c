//! How much one case may hold. A case's folded state is one document the store reads and
//! writes whole on every command, so what it keeps is bounded; messages live in rows of
//! their own (the document only counts them), and are bounded so one case cannot grow
//! without end. Past a limit a command is refused (`422`, naming the field) — open a
//! related case instead.

use crate::case::Case;
use crate::error::DomainError;
use crate::event::CaseEvent;

/// The most messages (replies, internal notes, the customer's words, information
/// requests) one case holds.
pub const MAX_MESSAGES_PER_CASE: u32 = 10_000;

/// The most entries of each list the case document keeps: tasks, call-backs, approval
/// requests, granted actions.
pub const MAX_ENTRIES_PER_CASE: usize = 100;

/// The longest note the case document keeps, in characters: a call-back's, a granted
/// action's or a resolution's note, a task's question or answer, an approval's or a
/// satisfaction score's comment. (Message bodies and descriptions take 65,536.)
pub const MAX_NOTE: usize = 4_000;

/// Refuses `events` when applying them to `case` would pass a limit above.
pub fn check_room(case: &Case, events: &[CaseEvent]) -> Result<(), DomainError> {
    let count = |f: fn(&CaseEvent) -> bool| events.iter().filter(|e| f(e)).count();
    let messages = count(|e| matches!(e, CaseEvent::MessageAdded(_)));
    if messages > 0 && case.n_messages as usize + messages > MAX_MESSAGES_PER_CASE as usize {
        return Err(DomainError::invalid(
            "case",
            format!(
                "case #{} holds {} messages, the most a case may hold ({MAX_MESSAGES_PER_CASE}); open a related case",
                case.number, case.n_messages
            ),
        ));
    }
    let lists: [(&str, usize, usize); 4] = [
        ("tasks", case.tasks.len(), count(|e| matches!(e, CaseEvent::TaskCreated(_)))),
        ("call-backs", case.callbacks.len(), count(|e| matches!(e, CaseEvent::CallbackScheduled(_)))),
        ("approval requests", case.approvals.len(), count(|e| matches!(e, CaseEvent::ApprovalRequested(_)))),
        ("granted actions", case.applied_actions.len(), count(|e| matches!(e, CaseEvent::ActionApplied(_)))),
    ];
    for (what, held, added) in lists {
        if added > 0 && held + added > MAX_ENTRIES_PER_CASE {
            return Err(DomainError::invalid(
                "case",
                format!(
                    "case #{} holds {held} {what}, the most a case may hold ({MAX_ENTRIES_PER_CASE}); open a related case",
                    case.number
                ),
            ));
        }
    }
    Ok(())
}
