//! E-mail over SMTP: STARTTLS required (never plain text), AUTH with the configured user and a
//! password read from an env var or a file, via `lettre` on rustls. The payload id is the
//! Message-ID (`<payload-id@chargeback>`), so mail systems and people can dedupe.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::SendError;
use crate::alerts::config::{ChannelConfig, read_secret};
use crate::alerts::message::AlertMessage;

fn smtp(e: impl std::fmt::Display) -> SendError {
    SendError::Smtp(e.to_string())
}

pub(super) async fn send(
    ch: &ChannelConfig,
    message: &AlertMessage,
    timeout: Duration,
) -> Result<(), SendError> {
    let host = ch.host.as_deref().unwrap_or_default();
    let password =
        read_secret(ch.password_env.as_deref(), ch.password_file.as_deref()).map_err(SendError::Secret)?;
    let mut tls = TlsParameters::builder(host.to_owned());
    if let Some(path) = &ch.ca_file {
        let pem = std::fs::read(path).map_err(|e| smtp(format!("cannot read {}: {e}", path.display())))?;
        tls = tls.add_root_certificate(Certificate::from_pem(&pem).map_err(smtp)?);
    }
    let tls = tls.build_rustls().map_err(smtp)?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(ch.port.unwrap_or(587))
        .tls(Tls::Required(tls))
        .credentials(Credentials::new(ch.username.clone().unwrap_or_default(), password))
        .timeout(Some(timeout))
        .build();
    let recipients = if ch.to.is_empty() { &message.owners } else { &ch.to };
    if recipients.is_empty() {
        return Err(smtp("no recipient: the rule has no owners and the channel no `to`"));
    }
    let from: Mailbox = ch.from.as_deref().unwrap_or_default().parse().map_err(smtp)?;
    let mut builder = Message::builder()
        .from(from)
        .subject(message.title())
        .message_id(Some(format!("<{}@chargeback>", message.payload_id)));
    for to in recipients {
        builder = builder.to(to.parse().map_err(smtp)?);
    }
    let email = builder.header(ContentType::TEXT_PLAIN).body(message.text()).map_err(smtp)?;
    transport.send(email).await.map_err(smtp)?;
    Ok(())
}
