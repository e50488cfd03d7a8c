//! The request bodies of case commands, and the task and call-back views.

use std::collections::BTreeMap;

use jiff::Timestamp;
use ladder_core::case::{Channel, Priority};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

fn default_channel() -> Channel {
    Channel::Api
}
fn default_priority() -> Priority {
    Priority::Normal
}

/// Open a case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCaseBody {
    #[schema(pattern = r"\S")]
    pub subject: String,
    #[serde(default)]
    pub description: String,
    pub category: Option<String>,
    /// Defaults to `api`.
    #[serde(default = "default_channel")]
    pub channel: Channel,
    /// Defaults to `normal`.
    #[serde(default = "default_priority")]
    pub priority: Priority,
    /// Defaults to the team's level, else the front line.
    pub level: Option<String>,
    /// Team slug or id. Defaults to the caller's team at that level.
    pub team: Option<String>,
    /// User name or id.
    pub assignee: Option<String>,
    /// The customer, by id. Name either this or `requester`, not both (422).
    pub customer_id: Option<Uuid>,
    /// The customer by how they reach us: the customer holding the email, phone or handle,
    /// or a new one, created with the case (the answer's `customer_id` names it).
    pub requester: Option<RequesterBody>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

/// Who opens a case, by how they reach us. At least one of `email`, `phone`, `handle`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequesterBody {
    /// The new customer's name (a known customer keeps theirs). Defaults to the first identity.
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// Matched case-insensitively.
    #[schema(max_length = 320)]
    pub email: Option<String>,
    /// International form (`+44 20 7946 0958`, `0044…`), kept as E.164; a number without
    /// its country code is a 422.
    #[schema(max_length = 320)]
    pub phone: Option<String>,
    /// `platform:handle`, e.g. `twitter:@jane`.
    #[schema(max_length = 320)]
    pub handle: Option<String>,
}

impl From<RequesterBody> for ladder_core::directory::Requester {
    fn from(b: RequesterBody) -> Self {
        Self { name: b.name, email: b.email, phone: b.phone, handle: b.handle }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

/// A satisfaction score the customer gave, recorded by an agent on their behalf.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CsatBody {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    #[schema(minimum = 1, maximum = 5)]
    pub score: u8,
    #[schema(pattern = r"\S")]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerTaskBody {
    #[schema(pattern = r"\S")]
    pub answer: String,
}

/// A task the back office gave the front line.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskDto {
    /// Its number on the case, for `/tasks/{task}/answer`.
    pub task: u32,
    pub question: String,
    pub to_team_id: Option<Uuid>,
    pub to_user_id: Option<Uuid>,
    pub asked_at: Timestamp,
    pub answer: Option<String>,
    pub answered_at: Option<Timestamp>,
}

/// A booked call-back.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackDto {
    pub team_id: Uuid,
    pub window_start: Timestamp,
    pub window_end: Timestamp,
    pub time_zone: String,
    pub note: Option<String>,
    /// When someone took the case for the call.
    pub taken_at: Option<Timestamp>,
}

/// Change descriptive fields; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCaseBody {
    pub subject: Option<String>,
    pub priority: Option<Priority>,
    /// A string sets the category, `null` clears it; leave it out to keep it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    #[serde(default)]
    pub add_tags: Vec<String>,
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// A `null` value removes the field.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}
