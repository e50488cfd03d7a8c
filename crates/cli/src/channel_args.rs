//! `ladder serve`'s inbound channels besides email: the secrets the SMS and contact
//! webhooks are checked with (docs/channels.md). Secrets come from the environment only, so
//! they show in no process list, and are never logged.

use anyhow::bail;
use ladder_engine::{ContactIntake, SmsSigning};

#[derive(clap::Args, Clone, Debug)]
pub struct ChannelArgs {
    /// The team (slug or id) a case opened by an SMS, a chat or social message or a call
    /// goes to.
    #[arg(long, env = "LADDER_CONTACT_TEAM")]
    contact_team: Option<String>,
    /// The Twilio account's auth token, which signs the SMS webhook (`X-Twilio-Signature`):
    /// from the environment only (`LADDER_SMS_AUTH_TOKEN`, the one outbound SMS use too).
    #[arg(skip = std::env::var("LADDER_SMS_AUTH_TOKEN").ok())]
    sms_auth_token: Option<String>,
    /// The key of the contact webhook's `Ladder-Signature`: from the environment only
    /// (`LADDER_CONTACT_SECRET`, at least 16 characters).
    #[arg(skip = std::env::var("LADDER_CONTACT_SECRET").ok())]
    contact_secret: Option<String>,
}

impl ChannelArgs {
    /// The intake's configuration. The SMS webhook needs the auth token and the public URL
    /// Twilio posts to (`--public-url`); each webhook refuses every request without its
    /// secret.
    pub fn intake(&self, public_url: Option<&str>) -> anyhow::Result<ContactIntake> {
        let sms = match (&self.sms_auth_token, public_url) {
            (Some(token), Some(url)) if !token.is_empty() => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    bail!("--public-url must be an http:// or https:// URL");
                }
                Some(SmsSigning { auth_token: token.as_bytes().to_vec(), public_url: url.to_string() })
            }
            _ => None,
        };
        let contact_secret = match &self.contact_secret {
            Some(secret) if secret.len() < 16 => bail!("LADDER_CONTACT_SECRET must be at least 16 characters"),
            Some(secret) => Some(secret.as_bytes().to_vec()),
            None => None,
        };
        Ok(ContactIntake { sms, contact_secret, team: self.contact_team.clone() })
    }
}
