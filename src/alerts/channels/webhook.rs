//! HTTP channels: the generic signed JSON webhook, and the Slack / Teams incoming webhooks
//! (plain JSON POSTs of their own formats). Every request carries `X-Chargeback-Payload-Id`.
//!
//! Signature of the generic webhook: `X-Chargeback-Timestamp: <unix seconds>` and
//! `X-Chargeback-Signature: sha256=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`.
//! Signing the timestamp with the body lets a receiver refuse old replays.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::SendError;
use crate::alerts::config::{ChannelConfig, read_secret};
use crate::alerts::message::AlertMessage;

pub const SIGNATURE_HEADER: &str = "X-Chargeback-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Chargeback-Timestamp";
pub const PAYLOAD_ID_HEADER: &str = "X-Chargeback-Payload-Id";

/// `sha256=<hex>` over `"<timestamp>.<body>"`. Pure.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

pub(super) async fn send_signed(
    http: &reqwest::Client,
    ch: &ChannelConfig,
    message: &AlertMessage,
) -> Result<(), SendError> {
    let secret =
        read_secret(ch.secret_env.as_deref(), ch.secret_file.as_deref()).map_err(SendError::Secret)?;
    let body = serde_json::to_vec(&message.webhook_json()).expect("JSON value serialises");
    let timestamp = chrono::Utc::now().timestamp();
    let request = http
        .post(ch.url.as_deref().unwrap_or_default())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signature(secret.as_bytes(), timestamp, &body))
        .header(PAYLOAD_ID_HEADER, &message.payload_id)
        .body(body);
    check(request.send().await)
}

pub(super) async fn post_json(
    http: &reqwest::Client,
    ch: &ChannelConfig,
    message: &AlertMessage,
    body: &serde_json::Value,
) -> Result<(), SendError> {
    let body = serde_json::to_vec(body).expect("JSON value serialises");
    let request = http
        .post(ch.url.as_deref().unwrap_or_default())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(PAYLOAD_ID_HEADER, &message.payload_id)
        .body(body);
    check(request.send().await)
}

fn check(result: reqwest::Result<reqwest::Response>) -> Result<(), SendError> {
    // Errors never include the URL: Slack and Teams webhook URLs are secrets themselves.
    let response = result.map_err(|e| SendError::Http(e.without_url().to_string()))?;
    let status = response.status();
    if status.is_success() { Ok(()) } else { Err(SendError::Status(status.as_u16())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Expected value computed independently with `openssl dgst -sha256 -hmac Jefe`:
        // printf '1.what do ya want for nothing?' | openssl dgst -sha256 -hmac Jefe
        let sig = signature(b"Jefe", 1, b"what do ya want for nothing?");
        assert_eq!(sig, "sha256=a9049465ce89cfb8e9aac62333abda66f80e3403f51f57f6bae3c3a4485eca38");
        assert_ne!(sig, signature(b"Jefe", 2, b"what do ya want for nothing?"));
        assert_ne!(sig, signature(b"other", 1, b"what do ya want for nothing?"));
    }
}
