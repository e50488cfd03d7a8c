//! Agents' working state: whether they take work now (presence), what they are good at
//! (skills, languages) and how much they can carry at once (capacity per channel), and how
//! much they carry now (load). Routing reads these; nothing here decides a route.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::case::Channel;
use crate::directory::User;
use crate::error::DomainError;
use crate::ids::UserId;

/// Lowest skill proficiency: knows the basics.
pub const MIN_PROFICIENCY: u8 = 1;
/// Highest skill proficiency: the expert others ask.
pub const MAX_PROFICIENCY: u8 = 5;
/// The proficiency a skill listed on the user (without a level) is taken to have.
pub const DEFAULT_PROFICIENCY: u8 = 3;
/// Most concurrent active cases on one channel; beyond this a capacity is a typo.
pub const MAX_CAPACITY: u32 = 100;
/// Most skills one profile lists.
pub const MAX_SKILLS: usize = 200;
/// Most languages one profile lists.
pub const MAX_LANGUAGES: usize = 50;

/// Whether an agent is at work and taking cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// At work and taking new cases.
    Available,
    /// At work, working their cases, not taking new ones.
    Busy,
    /// Briefly away (a break, a meeting); keeps their cases.
    Away,
    /// Not at work.
    Offline,
}

impl Presence {
    pub const ALL: [Presence; 4] = [Presence::Available, Presence::Busy, Presence::Away, Presence::Offline];
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Available => "available",
            Presence::Busy => "busy",
            Presence::Away => "away",
            Presence::Offline => "offline",
        }
    }
    pub fn parse(s: &str) -> Option<Presence> {
        Presence::ALL.into_iter().find(|p| p.as_str() == s)
    }
    /// Only an available agent is offered new cases.
    pub fn takes_new_work(self) -> bool {
        self == Presence::Available
    }
}

impl std::fmt::Display for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many active cases an agent carries on `channel` unless told otherwise: one phone
/// call at a time, a few chats and messages, many emails and web forms.
pub fn default_capacity(channel: Channel) -> u32 {
    match channel {
        Channel::Phone => 1,
        Channel::Chat | Channel::Sms | Channel::Social => 3,
        Channel::Email | Channel::Web | Channel::Api => 10,
    }
}

/// An agent's working state, kept next to (not inside) the user: it changes many times a
/// day and is written by supervisors and the agents themselves, not by admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentProfile {
    pub user_id: UserId,
    /// Skill name → proficiency, [`MIN_PROFICIENCY`]..=[`MAX_PROFICIENCY`].
    pub skills: BTreeMap<String, u8>,
    /// Languages the agent works in, as BCP-47 tags (`en`, `es`, `pt-BR`). Empty means
    /// the agent is not restricted by language.
    pub languages: Vec<String>,
    /// Most concurrent active cases per channel. A channel not listed takes no cases.
    pub capacity: BTreeMap<Channel, u32>,
    pub presence: Presence,
    /// When `presence` last changed.
    pub presence_since: Timestamp,
    pub updated_at: Timestamp,
}

impl AgentProfile {
    /// The profile of a user nobody has set one for: their skills at
    /// [`DEFAULT_PROFICIENCY`], any language, the [`default_capacity`] of every channel,
    /// offline since `now`.
    pub fn default_for(user: &User, now: Timestamp) -> AgentProfile {
        AgentProfile {
            user_id: user.id,
            skills: user.skills.iter().map(|s| (s.clone(), DEFAULT_PROFICIENCY)).collect(),
            languages: Vec::new(),
            capacity: Channel::ALL.into_iter().map(|c| (c, default_capacity(c))).collect(),
            presence: Presence::Offline,
            presence_since: now,
            updated_at: now,
        }
    }

    /// Most concurrent active cases on `channel` (0 when the channel is not listed).
    pub fn capacity_for(&self, channel: Channel) -> u32 {
        self.capacity.get(&channel).copied().unwrap_or(0)
    }

    /// The proficiency in `skill`, if the agent has it.
    pub fn proficiency(&self, skill: &str) -> Option<u8> {
        self.skills.get(skill).copied()
    }

    /// Whether the agent works in `language` (a BCP-47 tag). An agent without languages
    /// works in any; `pt` matches an agent who lists `pt-BR` and the other way round.
    pub fn speaks(&self, language: &str) -> bool {
        let primary = |tag: &str| tag.split('-').next().unwrap_or(tag).to_ascii_lowercase();
        self.languages.is_empty() || self.languages.iter().any(|l| primary(l) == primary(language))
    }

    /// Changes the presence; `presence_since` moves only when the presence really changes,
    /// so setting "available" twice does not reset how long the agent has been available.
    pub fn set_presence(&mut self, presence: Presence, now: Timestamp) {
        if self.presence != presence {
            self.presence = presence;
            self.presence_since = now;
        }
        self.updated_at = now;
    }
}

/// Checks a profile's fields; the error names the field and says what would be valid.
pub fn validate_profile(profile: &AgentProfile) -> Result<(), DomainError> {
    if profile.skills.len() > MAX_SKILLS {
        return Err(DomainError::invalid(
            "skills",
            format!("lists {} skills; the limit is {MAX_SKILLS}", profile.skills.len()),
        ));
    }
    for (name, proficiency) in &profile.skills {
        crate::validate::handle("skills", name)?;
        if !(MIN_PROFICIENCY..=MAX_PROFICIENCY).contains(proficiency) {
            return Err(DomainError::invalid(
                format!("skills.{name}"),
                format!(
                    "proficiency {proficiency} is out of range; use {MIN_PROFICIENCY} (basics) to {MAX_PROFICIENCY} (expert)"
                ),
            ));
        }
    }
    if profile.languages.len() > MAX_LANGUAGES {
        return Err(DomainError::invalid(
            "languages",
            format!("lists {} languages; the limit is {MAX_LANGUAGES}", profile.languages.len()),
        ));
    }
    for (i, language) in profile.languages.iter().enumerate() {
        let field = format!("languages[{i}]");
        if !is_language_tag(language) {
            return Err(DomainError::invalid(
                field,
                format!(
                    "'{language}' is not a language tag; use a primary language of 2–3 lowercase letters, \
                     optionally with a region of 2 uppercase letters or 3 digits, e.g. 'en', 'es', 'pt-BR', 'es-419'"
                ),
            ));
        }
        if profile.languages[..i].contains(language) {
            return Err(DomainError::invalid(field, format!("'{language}' is listed twice")));
        }
    }
    for (channel, capacity) in &profile.capacity {
        if *capacity > MAX_CAPACITY {
            return Err(DomainError::invalid(
                format!("capacity.{}", channel.as_str()),
                format!("{capacity} concurrent cases is over the limit of {MAX_CAPACITY}; use 0 to {MAX_CAPACITY}"),
            ));
        }
    }
    Ok(())
}

/// `en`, `haw`, `pt-BR`, `es-419`: the primary-language and region subtags of BCP-47, in
/// their canonical case. Scripts and variants are not accepted; routing does not use them.
fn is_language_tag(tag: &str) -> bool {
    let (primary, region) = match tag.split_once('-') {
        Some((p, r)) => (p, Some(r)),
        None => (tag, None),
    };
    let primary_ok = (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
    let region_ok = match region {
        None => true,
        Some(r) => {
            (r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
                || (r.len() == 3 && r.bytes().all(|b| b.is_ascii_digit()))
        }
    };
    primary_ok && region_ok
}

/// What an agent carries now: their assigned cases that still need work (not resolved or
/// closed), counted per channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentLoad {
    pub active: BTreeMap<Channel, u32>,
}

impl AgentLoad {
    /// Active cases on `channel`.
    pub fn on(&self, channel: Channel) -> u32 {
        self.active.get(&channel).copied().unwrap_or(0)
    }

    /// Active cases on every channel.
    pub fn total(&self) -> u32 {
        self.active.values().sum()
    }

    /// How many more cases on `channel` the agent can take: capacity minus load, never
    /// below zero (a lowered capacity can leave an agent over it).
    pub fn spare(&self, profile: &AgentProfile, channel: Channel) -> u32 {
        profile.capacity_for(channel).saturating_sub(self.on(channel))
    }

    /// Whether the agent can take one more case on `channel`.
    pub fn has_room(&self, profile: &AgentProfile, channel: Channel) -> bool {
        self.spare(profile, channel) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        for ok in ["en", "es", "haw", "pt-BR", "es-419", "zh-TW"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "e", "engl", "EN", "en-", "en-us", "en_US", "pt-BRA", "es-41", "zh-Hant", "-US", "en-US-x"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
