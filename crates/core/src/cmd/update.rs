//! Update a case's subject, priority, category, tags and custom fields.

use std::collections::{BTreeMap, BTreeSet};

use super::{check_category, check_tags};
use crate::case::{Case, Priority};
use crate::error::DomainError;
use crate::event::{CaseEvent, Updated};
use crate::validate::{handle, non_empty};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateCase {
    pub subject: Option<String>,
    pub priority: Option<Priority>,
    pub category: Option<Option<String>>,
    pub tags_added: Vec<String>,
    pub tags_removed: Vec<String>,
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

pub(crate) fn decide(case: &Case, u: &UpdateCase) -> Result<Vec<CaseEvent>, DomainError> {
    let mut change = Updated::default();
    if let Some(s) = &u.subject {
        non_empty("subject", s, 500)?;
        if s.trim() != case.subject {
            change.subject = Some(s.trim().to_string());
        }
    }
    if let Some(p) = u.priority
        && p != case.priority
    {
        change.priority = Some(p);
    }
    if let Some(c) = &u.category {
        check_category(c)?;
        if *c != case.category {
            change.category = Some(c.clone());
        }
    }
    check_tags("tags_added", &u.tags_added)?;
    check_tags("tags_removed", &u.tags_removed)?;
    let added: BTreeSet<&String> = u.tags_added.iter().filter(|t| !case.tags.contains(*t)).collect();
    let removed: BTreeSet<&String> = u.tags_removed.iter().filter(|t| case.tags.contains(*t)).collect();
    change.tags_added = added.into_iter().cloned().collect();
    change.tags_removed = removed.into_iter().cloned().collect();
    for (k, v) in &u.custom_fields {
        handle("custom_fields", k)?;
        // Unchanged: the same value, or a removal (null) of a field the case does not have.
        let unchanged = case.custom_fields.get(k) == Some(v) || (v.is_null() && !case.custom_fields.contains_key(k));
        if !unchanged {
            change.custom_fields.insert(k.clone(), v.clone());
        }
    }
    if change == Updated::default() {
        return Ok(Vec::new());
    }
    Ok(vec![CaseEvent::Updated(change)])
}
