//! The front line answers a task the back office gave it.

use crate::case::Case;
use crate::error::DomainError;
use crate::event::{CaseEvent, TaskAnswered};
use crate::validate::non_empty;

#[derive(Debug, Clone, PartialEq)]
pub struct AnswerTask {
    /// The task's number on the case (from 0).
    pub task: u32,
    pub answer: String,
}

pub(crate) fn decide(case: &Case, a: &AnswerTask, action: &'static str) -> Result<Vec<CaseEvent>, DomainError> {
    non_empty("answer", &a.answer, crate::limits::MAX_NOTE)?;
    match case.tasks.get(a.task as usize) {
        None => Err(DomainError::invalid("task", format!("the case has no task {}", a.task))),
        Some(t) if t.answer.is_some() => {
            Err(DomainError::transition(action, case.status, format!("task {} is already answered", a.task)))
        }
        Some(_) => Ok(vec![CaseEvent::TaskAnswered(TaskAnswered { task: a.task, answer: a.answer.clone() })]),
    }
}
