//! Open a case.

use std::collections::{BTreeMap, BTreeSet};

use super::{MAX_TEXT, check_category, check_member, check_tags, check_team_level};
use crate::case::{Channel, Priority};
use crate::command::{TeamRef, UserRef};
use crate::decide::Context;
use crate::directory::LevelId;
use crate::error::DomainError;
use crate::event::{CaseEvent, Opened};
use crate::ids::CustomerId;
use crate::validate::non_empty;

/// Open a case. The team and the assignee are named as `Team` and `User`: resolved
/// references when deciding (the defaults), or as callers name them — a team's slug or id,
/// a user's name or id — in the engine's `OpenRequest` (`OpenCase<String, String>`).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenCase<Team = TeamRef, User = UserRef> {
    pub subject: String,
    pub description: String,
    pub category: Option<String>,
    pub channel: Channel,
    pub priority: Priority,
    /// Defaults to the team's level, else the bottom of the ladder.
    pub level: Option<LevelId>,
    /// As a request: defaults to the caller's first team at the case's level.
    pub team: Option<Team>,
    pub assignee: Option<User>,
    pub customer: Option<CustomerId>,
    pub tags: BTreeSet<String>,
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

impl<Team, User> OpenCase<Team, User> {
    /// The same opening with the team and the assignee named another way (once resolved).
    pub fn naming<T, U>(self, team: Option<T>, assignee: Option<U>) -> OpenCase<T, U> {
        OpenCase {
            subject: self.subject,
            description: self.description,
            category: self.category,
            channel: self.channel,
            priority: self.priority,
            level: self.level,
            team,
            assignee,
            customer: self.customer,
            tags: self.tags,
            custom_fields: self.custom_fields,
        }
    }
}

pub(crate) fn decide(open: &OpenCase, cx: &Context) -> Result<Vec<CaseEvent>, DomainError> {
    non_empty("subject", &open.subject, 500)?;
    if open.description.chars().count() > MAX_TEXT {
        return Err(DomainError::invalid("description", format!("is longer than {MAX_TEXT} characters")));
    }
    check_category(&open.category)?;
    check_tags("tags", &open.tags)?;
    let level = match (&open.level, &open.team) {
        (Some(l), _) => {
            cx.ladder.check("level", l)?;
            l.clone()
        }
        (None, Some(t)) => {
            cx.ladder.check("team", &t.level)?;
            t.level.clone()
        }
        (None, None) => cx.ladder.bottom().clone(),
    };
    if let Some(team) = &open.team {
        check_team_level("team", team, &level)?;
    }
    if let Some(user) = &open.assignee {
        check_member("assignee", user, open.team.as_ref())?;
    }
    Ok(vec![CaseEvent::Opened(Opened {
        number: cx.next_number,
        subject: open.subject.trim().to_string(),
        description: open.description.clone(),
        category: open.category.clone(),
        channel: open.channel,
        priority: open.priority,
        level,
        team: open.team.as_ref().map(|t| t.id),
        assignee: open.assignee.as_ref().map(|u| u.id),
        customer: open.customer,
        tags: open.tags.clone(),
        custom_fields: open.custom_fields.clone(),
        sentiment: Some(crate::sentiment::score_opening(open.subject.trim(), &open.description)),
        // Scored by the engine's model in force, after deciding (`Engine::run`).
        risk: None,
    })])
}
