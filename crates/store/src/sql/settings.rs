//! Users' own settings (the time zone of the console), on either backend: one
//! `user_settings` row per user who saved one; and the servers' shared secrets
//! (`server_secrets`: generated once, the first writer's kept).

use jiff::Timestamp;
use ladder_core::ids::UserId;

use super::{Store, ts_to_us};
use crate::StoreResult;
use crate::db::args;

impl Store {
    /// The time zone a user chose for the console; `None` when they chose none.
    pub async fn user_time_zone(&self, user_id: UserId) -> StoreResult<Option<String>> {
        self.read(move |db| {
            let zone: Option<Option<String>> =
                db.value_opt("SELECT time_zone FROM user_settings WHERE user_id = ?1", args![user_id.to_string()])?;
            Ok(zone.flatten())
        })
        .await
    }

    /// Saves a user's time zone (`None` goes back to the browser's). The caller checked it
    /// names a zone.
    pub async fn set_user_time_zone(&self, user_id: UserId, zone: Option<String>, now: Timestamp) -> StoreResult<()> {
        self.write(move |db| {
            db.exec(
                "INSERT INTO user_settings (user_id, time_zone, updated_at_us) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_id) DO UPDATE SET
                    time_zone = excluded.time_zone, updated_at_us = excluded.updated_at_us",
                args![user_id.to_string(), zone, ts_to_us(now)],
            )?;
            Ok(())
        })
        .await
    }
}

impl Store {
    /// The secret named `name`, stored as `fresh` if none is yet: the first server to ask
    /// keeps its own, every other (and every restart) reads that one.
    pub async fn server_secret(&self, name: &str, fresh: Vec<u8>, now: Timestamp) -> StoreResult<Vec<u8>> {
        let name = name.to_string();
        self.write(move |db| {
            db.exec(
                "INSERT INTO server_secrets (name, secret, created_at_us) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO NOTHING",
                args![name.as_str(), fresh, ts_to_us(now)],
            )?;
            db.value("SELECT secret FROM server_secrets WHERE name = ?1", args![name.as_str()])
        })
        .await
    }
}
