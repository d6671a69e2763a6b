//! Delivery channels: one send per (alert, channel). A send succeeds only when the receiver
//! accepted the message (HTTP 2xx, SMTP accepted); anything else is an error the dispatcher
//! retries. Hides the HTTP client (`reqwest`, rustls) and the SMTP client (`lettre`, rustls).

mod email;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use super::config::{ChannelConfig, ChannelKind};
use super::message::AlertMessage;
use crate::config::Config;

/// Why a send failed (kept as the delivery's `last_error`).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("channel {0:?} is not configured")]
    UnknownChannel(String),
    #[error("secret: {0}")]
    Secret(String),
    #[error("receiver answered HTTP {0}")]
    Status(u16),
    #[error("HTTP request failed: {0}")]
    Http(String),
    #[error("SMTP: {0}")]
    Smtp(String),
}

/// Sends messages through the configured channels.
#[derive(Clone)]
pub struct Channels {
    config: Arc<Config>,
    http: reqwest::Client,
    timeout: Duration,
}

impl Channels {
    pub fn new(config: Arc<Config>) -> Result<Channels, SendError> {
        let timeout = Duration::from_millis(config.alerts.request_timeout_ms);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("chargeback/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SendError::Http(e.to_string()))?;
        Ok(Channels { config, http, timeout })
    }

    /// Deliver `message` through channel `name`.
    pub async fn send(&self, name: &str, message: &AlertMessage) -> Result<(), SendError> {
        let ch: &ChannelConfig =
            self.config.channels.get(name).ok_or_else(|| SendError::UnknownChannel(name.to_owned()))?;
        match ch.kind {
            ChannelKind::Webhook => webhook::send_signed(&self.http, ch, message).await,
            ChannelKind::Slack => webhook::post_json(&self.http, ch, message, &message.slack_json()).await,
            ChannelKind::Teams => webhook::post_json(&self.http, ch, message, &message.teams_json()).await,
            ChannelKind::Email => email::send(ch, message, self.timeout).await,
        }
    }
}
