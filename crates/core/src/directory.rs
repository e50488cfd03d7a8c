//! The people and groups around cases: customers, users, teams and the ladder of levels.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::case::Channel;
use crate::error::DomainError;
use crate::ids::{CustomerId, TeamId, UserId};

/// A rung of the ladder, e.g. `L1`. Ordered by its position in the [`Ladder`], not by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LevelId(pub String);

impl LevelId {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LevelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The ordered levels of support, lowest first. Until the escalation matrix lands this is
/// configuration; later the active matrix supplies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ladder {
    pub levels: Vec<LevelId>,
}

impl Default for Ladder {
    fn default() -> Self {
        Self { levels: vec![LevelId::new("L1"), LevelId::new("L2"), LevelId::new("L3")] }
    }
}

impl Ladder {
    /// Position of a level on the ladder (0 = front line), or `None` when it is not a rung.
    pub fn rank(&self, level: &LevelId) -> Option<usize> {
        self.levels.iter().position(|l| l == level)
    }
    pub fn bottom(&self) -> &LevelId {
        &self.levels[0]
    }
    pub fn top(&self) -> &LevelId {
        self.levels.last().expect("a ladder has at least one level")
    }
    pub fn above(&self, level: &LevelId) -> Option<&LevelId> {
        self.rank(level).and_then(|r| self.levels.get(r + 1))
    }
    pub fn below(&self, level: &LevelId) -> Option<&LevelId> {
        self.rank(level).and_then(|r| r.checked_sub(1)).map(|r| &self.levels[r])
    }
    /// Fails with a message listing the valid levels.
    pub fn check(&self, field: &str, level: &LevelId) -> Result<usize, DomainError> {
        self.rank(level).ok_or_else(|| {
            DomainError::invalid(
                field,
                format!(
                    "unknown level '{level}'; valid levels are {}",
                    self.levels.iter().map(|l| l.0.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }
}

/// What a staff member may do. Ordered: each role can do what the ones before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Agent, Role::Supervisor, Role::Manager, Role::Admin];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What kind of work a team does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TeamKind {
    FrontLine,
    Specialist,
    BackOffice,
    Outbound,
    Management,
    OnCall,
}

/// A group that owns work at one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// The API answers it as it is: a wire format, whose fields are only added.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Team {
    #[cfg_attr(feature = "schema", schema(value_type = uuid::Uuid))]
    pub id: TeamId,
    /// Short unique handle, e.g. `billing`.
    pub slug: String,
    pub name: String,
    #[cfg_attr(feature = "schema", schema(value_type = String))]
    pub level: LevelId,
    pub kind: TeamKind,
    /// Skills the team offers, for functional escalation (`billing`, `networking` …).
    pub skills: Vec<String>,
    pub created_at: Timestamp,
}

/// A staff member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// The API answers it as it is: a wire format, whose fields are only added.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct User {
    #[cfg_attr(feature = "schema", schema(value_type = uuid::Uuid))]
    pub id: UserId,
    /// Unique login name.
    pub name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    #[cfg_attr(feature = "schema", schema(value_type = Vec<uuid::Uuid>))]
    pub teams: Vec<TeamId>,
    pub skills: Vec<String>,
    #[cfg_attr(feature = "schema", schema(value_type = Vec<String>))]
    pub levels: Vec<LevelId>,
    pub active: bool,
    pub created_at: Timestamp,
}

/// How a customer can be reached on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Identity {
    pub channel: Channel,
    /// Address on that channel: email address, E.164 phone number, social handle …
    pub value: String,
}

/// Whether a customer still does business with the company (set over the API; the
/// metrics compare churn among escalated customers with the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    #[default]
    Active,
    Churned,
}

impl CustomerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::Active => "active",
            CustomerStatus::Churned => "churned",
        }
    }
}

/// A customer of the company running Ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// The API answers it as it is: a wire format, whose fields are only added.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Customer {
    #[cfg_attr(feature = "schema", schema(value_type = uuid::Uuid))]
    pub id: CustomerId,
    pub name: String,
    pub identities: Vec<Identity>,
    /// Lifetime value in the company's currency.
    pub value: f64,
    pub segment: Option<String>,
    pub language: Option<String>,
    /// IANA time zone name, e.g. `Europe/Berlin`.
    pub time_zone: Option<String>,
    #[cfg_attr(feature = "schema", schema(value_type = Object))]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    pub created_at: Timestamp,
    /// `active` or `churned`.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schema(required = true))]
    pub status: CustomerStatus,
    /// When `status` last changed; absent (`null`) if it never did.
    #[serde(default)]
    pub status_changed_at: Option<Timestamp>,
}

/// Checks a customer's fields; the error names the field.
pub fn validate_customer(c: &Customer) -> Result<(), DomainError> {
    crate::validate::non_empty("name", &c.name, 200)?;
    if !c.value.is_finite() || c.value < 0.0 {
        return Err(DomainError::invalid("value", "must be a finite number ≥ 0"));
    }
    if let Some(tz) = &c.time_zone
        && jiff::tz::TimeZone::get(tz).is_err()
    {
        return Err(DomainError::invalid(
            "time_zone",
            format!("unknown time zone '{tz}'; use an IANA name such as 'Europe/Berlin'"),
        ));
    }
    for (i, id) in c.identities.iter().enumerate() {
        crate::validate::non_empty(&format!("identities[{i}].value"), &id.value, 320)?;
    }
    Ok(())
}

/// Checks a user's fields against the ladder. Their skills are handles, as an agent
/// profile's are: a profile starts from them (`AgentProfile::default_for`), and one that
/// did not check would refuse every later change of presence.
pub fn validate_user(u: &User, ladder: &Ladder) -> Result<(), DomainError> {
    crate::validate::handle("name", &u.name)?;
    crate::validate::non_empty("display_name", &u.display_name, 200)?;
    if u.skills.len() > crate::agents::MAX_SKILLS {
        return Err(DomainError::invalid(
            "skills",
            format!("lists {} skills; the limit is {}", u.skills.len(), crate::agents::MAX_SKILLS),
        ));
    }
    for (i, skill) in u.skills.iter().enumerate() {
        crate::validate::handle(&format!("skills[{i}]"), skill)?;
    }
    for (i, l) in u.levels.iter().enumerate() {
        ladder.check(&format!("levels[{i}]"), l)?;
    }
    Ok(())
}

/// Checks a team's fields against the ladder.
pub fn validate_team(t: &Team, ladder: &Ladder) -> Result<(), DomainError> {
    crate::validate::handle("slug", &t.slug)?;
    crate::validate::non_empty("name", &t.name, 200)?;
    ladder.check("level", &t.level)?;
    Ok(())
}

/// The fewest characters a password may have.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// The most bytes a password may have (argon2 hashes whatever it is given; this bounds the
/// work one sign-in can ask for).
pub const PASSWORD_MAX_BYTES: usize = 1024;

/// A user's time zone for showing instants: an IANA name the time-zone database knows
/// (`America/New_York`, `UTC`). `field` names the field in the refusal.
pub fn validate_time_zone(field: &str, zone: &str) -> Result<(), DomainError> {
    if zone.is_empty() || zone.len() > 64 || jiff::tz::TimeZone::get(zone).is_err() {
        return Err(DomainError::invalid(
            field,
            format!("'{zone}' is not a time zone; use an IANA name such as America/New_York or UTC"),
        ));
    }
    Ok(())
}

/// The password policy, checked wherever a password is set (API, console, command line):
/// at least [`PASSWORD_MIN_CHARS`] characters and at most [`PASSWORD_MAX_BYTES`] bytes.
/// `field` names the field in the refusal.
pub fn validate_password(field: &str, password: &str) -> Result<(), DomainError> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(DomainError::invalid(
            field,
            format!("the password policy needs at least {PASSWORD_MIN_CHARS} characters; this one has {chars}"),
        ));
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(DomainError::invalid(
            field,
            format!("the password policy allows at most {PASSWORD_MAX_BYTES} bytes; this one has {}", password.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod password_tests {
    use super::*;

    #[test]
    fn the_password_policy_names_its_rule() {
        let short = validate_password("password", "elevenchars").unwrap_err().to_string();
        assert!(short.contains("at least 12 characters"), "{short}");
        assert!(validate_password("password", "twelve chars").is_ok());
        // Characters, not bytes, count towards the minimum.
        assert!(validate_password("password", "ééééééééééé").is_err());
        assert!(validate_password("password", &"é".repeat(512)).is_ok());
        let long = validate_password("password", &"é".repeat(513)).unwrap_err().to_string();
        assert!(long.contains("at most 1024 bytes"), "{long}");
    }
}
