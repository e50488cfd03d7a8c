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

/// Someone opening a case who is named by how they reach us rather than by a customer id
/// (`requester` of `POST /api/v1/cases`, the sender of an email): the customer is the one
/// holding any of these identities, or a new one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// A social handle as `platform:handle`, e.g. `twitter:@jane`.
    pub handle: Option<String>,
}

/// The longest email address, phone number or handle taken (RFC 5321's path limit).
pub const MAX_IDENTITY_BYTES: usize = 320;

impl Requester {
    /// The requester's identities in matching order (email, phone, handle), each in the
    /// form the directory keeps (see [`normalise_email`], [`normalise_phone`],
    /// [`normalise_handle`]). At least one is needed.
    pub fn identities(&self, field: &str) -> Result<Vec<Identity>, DomainError> {
        let mut out = Vec::new();
        if let Some(e) = self.email.as_deref().filter(|s| !s.trim().is_empty()) {
            out.push(Identity { channel: Channel::Email, value: normalise_email(&format!("{field}.email"), e)? });
        }
        if let Some(p) = self.phone.as_deref().filter(|s| !s.trim().is_empty()) {
            out.push(Identity { channel: Channel::Phone, value: normalise_phone(&format!("{field}.phone"), p)? });
        }
        if let Some(h) = self.handle.as_deref().filter(|s| !s.trim().is_empty()) {
            out.push(Identity { channel: Channel::Social, value: normalise_handle(&format!("{field}.handle"), h)? });
        }
        if out.is_empty() {
            return Err(DomainError::invalid(field, "needs at least one of email, phone or handle"));
        }
        Ok(out)
    }

    /// The customer created for this requester when none of their identities is known:
    /// named by `name`, else by their first identity.
    pub fn new_customer(&self, field: &str, id: CustomerId, now: Timestamp) -> Result<Customer, DomainError> {
        let identities = self.identities(field)?;
        let name = match self.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => identities[0].value.clone(),
        };
        let customer = Customer {
            id,
            name,
            identities,
            value: 0.0,
            segment: None,
            language: None,
            time_zone: None,
            custom_fields: BTreeMap::new(),
            created_at: now,
            status: CustomerStatus::Active,
            status_changed_at: None,
        };
        validate_customer(&customer).map_err(|e| match e {
            DomainError::Invalid { field: f, message } => DomainError::invalid(format!("{field}.{f}"), message),
            other => other,
        })?;
        Ok(customer)
    }
}

/// An email address as the directory keeps it: trimmed and lower-cased (addresses are
/// matched case-insensitively), with one `@` between a non-empty local part and a domain
/// with a dot, no spaces, at most [`MAX_IDENTITY_BYTES`].
pub fn normalise_email(field: &str, raw: &str) -> Result<String, DomainError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= MAX_IDENTITY_BYTES
        && !email.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
        && matches!(email.rsplit_once('@'), Some((local, domain))
            if !local.is_empty() && !local.contains('@') && domain.contains('.')
                && !domain.starts_with('.') && !domain.ends_with('.'));
    if !valid {
        return Err(DomainError::invalid(field, format!("'{}' is not an email address", raw.trim())));
    }
    Ok(email)
}

/// A phone number in E.164 (`+` and 8 to 15 digits, the first not 0), the one form the
/// directory keeps, so `+44 20 7946 0958`, `+44 (20) 7946-0958` and `0044 20 7946 0958`
/// are one number. Spaces, dots, dashes and parentheses are dropped and a leading `00`
/// read as `+`. A number without its country code is refused rather than guessed.
pub fn normalise_phone(field: &str, raw: &str) -> Result<String, DomainError> {
    let kept: String = raw.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}')).collect();
    let digits = match kept.strip_prefix('+').or_else(|| kept.strip_prefix("00")) {
        Some(d) => d,
        None => {
            return Err(DomainError::invalid(
                field,
                format!("'{}' has no country code; write it in international form, e.g. +44 20 7946 0958", raw.trim()),
            ));
        }
    };
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return Err(DomainError::invalid(
            field,
            format!("'{}' is not an E.164 phone number (+, a country code, 8 to 15 digits in all)", raw.trim()),
        ));
    }
    Ok(format!("+{digits}"))
}

/// A social handle as `platform:handle`, lower-cased, the handle without a leading `@`:
/// `Twitter:@Jane` is `twitter:jane`. The platform is 1–32 of `a-z0-9_-`.
pub fn normalise_handle(field: &str, raw: &str) -> Result<String, DomainError> {
    let lowered = raw.trim().to_lowercase();
    let refuse = || {
        DomainError::invalid(
            field,
            format!("'{}' is not a handle; write it as platform:handle, e.g. twitter:@jane", raw.trim()),
        )
    };
    let (platform, handle) = lowered.split_once(':').ok_or_else(refuse)?;
    let handle = handle.trim_start_matches('@');
    let platform_ok = (1..=32).contains(&platform.len())
        && platform.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    let handle_ok = !handle.is_empty()
        && lowered.len() <= MAX_IDENTITY_BYTES
        && !handle.chars().any(|c| c.is_whitespace() || c.is_control());
    if !platform_ok || !handle_ok {
        return Err(refuse());
    }
    Ok(format!("{platform}:{handle}"))
}

#[cfg(test)]
mod identity_tests {
    use super::*;

    #[test]
    fn phone_numbers_are_normalised_to_e164() {
        for raw in ["+44 20 7946 0958", "+44 (20) 7946-0958", "0044 20 7946 0958", " +442079460958 "] {
            assert_eq!(normalise_phone("phone", raw).unwrap(), "+442079460958", "{raw}");
        }
        for bad in ["020 7946 0958", "+0123456789", "+12", "+1234567890123456", "+44 20 79x6 0958", "+"] {
            assert!(normalise_phone("phone", bad).is_err(), "{bad}");
        }
        assert!(normalise_phone("phone", "020 7946 0958").unwrap_err().to_string().contains("country code"));
    }

    #[test]
    fn emails_compare_case_insensitively_and_must_be_addresses() {
        assert_eq!(normalise_email("email", " Jane.Doe@Example.COM ").unwrap(), "jane.doe@example.com");
        for bad in ["jane", "jane@", "@example.com", "jane@example", "ja ne@example.com", "a@b@c.com", "<j@x.com>"] {
            assert!(normalise_email("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn handles_name_their_platform() {
        assert_eq!(normalise_handle("handle", "Twitter:@Jane").unwrap(), "twitter:jane");
        for bad in ["jane", ":jane", "twitter:", "twitter:@", "two words:x", "x:a b"] {
            assert!(normalise_handle("handle", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_requester_needs_an_identity_and_names_the_new_customer() {
        let none = Requester { name: Some("Jane".into()), ..Default::default() };
        assert!(none.identities("requester").unwrap_err().to_string().contains("at least one"));
        let r = Requester {
            email: Some("Jane@Example.com".into()),
            phone: Some("+1 415 555 0100".into()),
            ..Default::default()
        };
        let ids = r.identities("requester").unwrap();
        assert_eq!(ids[0], Identity { channel: Channel::Email, value: "jane@example.com".into() });
        assert_eq!(ids[1], Identity { channel: Channel::Phone, value: "+14155550100".into() });
        let c = r.new_customer("requester", CustomerId(uuid::Uuid::nil()), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(c.name, "jane@example.com");
    }
}
