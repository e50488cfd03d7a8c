//! Customers, teams, users, tokens and sign-in.

use std::collections::BTreeMap;

use jiff::Timestamp;
use ladder_core::case::Channel;
use ladder_core::directory::{Customer, CustomerStatus, Identity, Role, TeamKind, User};
use ladder_engine::TokenInfo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// How a customer can be reached on one channel, as a request gives it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityDto {
    pub channel: Channel,
    #[schema(pattern = r"\S")]
    pub value: String,
}

/// Set whether a customer still does business with the company.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerStatusBody {
    /// `active` or `churned`.
    pub status: CustomerStatus,
}

/// Create or replace a customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    #[schema(pattern = r"\S")]
    pub name: String,
    #[serde(default)]
    pub identities: Vec<IdentityDto>,
    /// Lifetime value.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub value: f64,
    pub segment: Option<String>,
    pub language: Option<String>,
    /// IANA time zone, e.g. `America/New_York`.
    pub time_zone: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

impl CustomerBody {
    pub fn into_customer(self, id: ladder_core::ids::CustomerId, created_at: Timestamp) -> Customer {
        Customer {
            id,
            name: self.name,
            identities: self.identities.into_iter().map(|i| Identity { channel: i.channel, value: i.value }).collect(),
            value: self.value,
            segment: self.segment,
            language: self.language,
            time_zone: self.time_zone,
            custom_fields: self.custom_fields,
            created_at,
            status: Default::default(),
            status_changed_at: None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamBody {
    /// Short unique handle, e.g. `billing`.
    #[schema(pattern = "^[a-z0-9_.-]{1,64}$")]
    pub slug: String,
    pub name: String,
    pub level: String,
    pub kind: TeamKind,
    #[serde(default)]
    pub skills: Vec<String>,
}

/// Create or replace a user. Teams by slug or id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    #[schema(pattern = "^[a-z0-9_.-]{1,64}$")]
    pub name: String,
    #[schema(pattern = r"\S")]
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub levels: Vec<String>,
    /// Only on create; change it later with `POST /users/{id}/password`.
    pub password: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// The new password: at least 12 characters, at most 1024 bytes.
    #[schema(min_length = 12)]
    pub password: String,
    /// Your current password: required to change your own (an admin resetting someone
    /// else's password sends none).
    #[serde(default)]
    pub current_password: Option<String>,
}

/// What changing a password ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChangedDto {
    /// Tokens revoked with the change: your other sign-in sessions, or every token of the
    /// user whose password an admin reset.
    pub revoked_tokens: usize,
}

/// What `DELETE /api/v1/tokens` revoked.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokensRevokedDto {
    pub revoked: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    pub id: String,
    pub user_id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl From<&TokenInfo> for TokenDto {
    fn from(t: &TokenInfo) -> Self {
        TokenDto {
            id: t.id.clone(),
            user_id: t.user_id.0,
            name: t.name.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A new token. `token` is shown once and cannot be recovered.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenDto {
    pub token: String,
    #[serde(flatten)]
    pub info: TokenDto,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    #[schema(pattern = r"\S")]
    pub name: String,
    /// Admins may mint tokens for another user (name or id).
    pub user: Option<String>,
    /// Lifetime in seconds; absent means the server's default (`ladder serve
    /// --token-expiry-default`, 90 days unless set). More than the server's maximum
    /// (`--token-expiry-max`, 365 days unless set) is refused.
    pub expires_in_seconds: Option<u64>,
    /// Your password, required when the request is made with a sign-in session (a console
    /// session or a `POST /api/v1/auth/login` token) rather than an API token.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub name: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginDto {
    /// A bearer token valid for 12 hours. `POST /api/v1/auth/logout` revokes it.
    pub token: String,
    pub token_id: String,
    pub expires_at: Timestamp,
    pub user: User,
}

/// Merge a duplicate customer into the one named in the path.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeCustomerBody {
    /// The duplicate's id; it is removed once merged.
    pub duplicate: Uuid,
}

/// The surviving customer after a merge, and how many cases moved to them.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergedCustomerDto {
    pub customer: Customer,
    pub cases_moved: u64,
}
