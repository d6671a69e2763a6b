//! The dispatcher: delivers the outbox at least once. Owns retry, backoff and the final
//! `failed` state; hides how channels talk to receivers.
//!
//! * A delivery is marked `delivered` only after the receiver accepted it (HTTP 2xx, SMTP
//!   accepted). A process that dies between sending and marking sends it again after restart:
//!   receivers dedupe on the payload id.
//! * A failed attempt is retried after `initial_backoff_ms * 2^(attempt-1)` capped at
//!   `max_backoff_ms`, plus up to 20% jitter (derived from the payload id, so alerts spread out);
//!   after `max_attempts` attempts the delivery is `failed` (shown by `alerts list`, put back by
//!   `alerts retry`).
//! * [`run`] polls the outbox every `poll_interval_ms` (default 250 ms) until shutdown, so an
//!   alert committed by a live consumer is sent well within a second. Deliveries are sent one at
//!   a time; SQLite calls are short and made on the task itself.
//!
//! Every attempt emits a `tracing` event with fields `rule`, `level`, `channel`, `outcome`
//! (`delivered`, `retry`, `failed`) and `payload_id`.

use crate::telemetry::events::{AlertDelivery, AlertOutcome};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::channels::{Channels, SendError};
use super::config::AlertsConfig;
use crate::config::Config;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Channel(#[from] SendError),
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassSummary {
    pub delivered: u64,
    pub retried: u64,
    pub failed: u64,
}

impl std::ops::AddAssign for PassSummary {
    fn add_assign(&mut self, o: PassSummary) {
        self.delivered += o.delivered;
        self.retried += o.retried;
        self.failed += o.failed;
    }
}

/// Delay before the retry that follows attempt number `attempts` (1-based). Pure.
pub fn backoff_ms(settings: &AlertsConfig, attempts: u32, seed: &str) -> u64 {
    let exp = attempts.saturating_sub(1).min(30);
    let base = settings.initial_backoff_ms.saturating_mul(1 << exp).min(settings.max_backoff_ms);
    // Up to 20% jitter, fixed per (payload, attempt): no RNG, yet alerts do not retry in step.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes().chain(attempts.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    base + (base / 5).checked_mul(h % 1000).map_or(0, |j| j / 1000)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Attempt every delivery that is due now, once each. Returns what happened.
pub async fn run_pass(
    store: &Store,
    channels: &Channels,
    settings: &AlertsConfig,
) -> Result<PassSummary, DispatchError> {
    let mut summary = PassSummary::default();
    let due = store.due_deliveries(now_ms(), 1000)?;
    for d in due {
        let m = &d.message;
        let attempts = d.attempts + 1;
        let result = channels.send(&d.channel, m).await;
        let outcome = match &result {
            Ok(()) => AlertOutcome::Delivered,
            Err(_) if attempts < settings.max_attempts => AlertOutcome::Retrying,
            Err(_) => AlertOutcome::Failed,
        };
        // Metrics and a delivery span linked to the batch that raised the alert.
        AlertDelivery {
            level: &m.level,
            channel: &d.channel,
            outcome,
            traceparent: d.traceparent.as_deref(),
        }
        .emit();
        match result {
            Ok(()) => {
                store.mark_delivered(d.outbox_id, &d.channel)?;
                summary.delivered += 1;
                tracing::info!(rule = %m.rule, level = %m.level, channel = %d.channel, outcome = "delivered",
                    payload_id = %m.payload_id, attempts, "budget alert delivered");
            }
            Err(e) => {
                let error = e.to_string();
                let retry_at = (attempts < settings.max_attempts)
                    .then(|| now_ms() + backoff_ms(settings, attempts, &m.payload_id) as i64);
                store.mark_attempt_failed(d.outbox_id, &d.channel, &error, retry_at)?;
                let outcome = if retry_at.is_some() { "retry" } else { "failed" };
                if retry_at.is_some() {
                    summary.retried += 1;
                } else {
                    summary.failed += 1;
                }
                tracing::warn!(rule = %m.rule, level = %m.level, channel = %d.channel, outcome,
                    payload_id = %m.payload_id, attempts, error = %error, "budget alert delivery failed");
            }
        }
    }
    Ok(summary)
}

/// Deliver until nothing is due for at least `max_wait` (bounded: a pass after `ingest`).
/// Retries due within `max_wait` are waited for; later ones are left for the next run.
pub async fn drain(
    store: &Store,
    config: &Arc<Config>,
    max_wait: Duration,
) -> Result<PassSummary, DispatchError> {
    let channels = Channels::new(config.clone())?;
    let mut total = PassSummary::default();
    loop {
        total += run_pass(store, &channels, &config.alerts).await?;
        match store.next_delivery_due()? {
            Some(at) if at - now_ms() <= max_wait.as_millis() as i64 => {
                tokio::time::sleep(Duration::from_millis((at - now_ms()).max(0) as u64)).await;
            }
            _ => return Ok(total),
        }
    }
}

/// The long-running dispatcher (for `alerts dispatch --watch` and the Event Hubs consumer):
/// opens the store at `store_path` and delivers until `shutdown` completes.
pub async fn run(
    store_path: &Path,
    config: Arc<Config>,
    shutdown: impl Future<Output = ()>,
) -> Result<PassSummary, DispatchError> {
    let store = Store::open(store_path, config.billing_time_zone.name(), config.dedupe_window_days)?;
    let channels = Channels::new(config.clone())?;
    let poll = Duration::from_millis(config.alerts.poll_interval_ms);
    let mut total = PassSummary::default();
    tokio::pin!(shutdown);
    loop {
        total += run_pass(&store, &channels, &config.alerts).await?;
        tokio::select! {
            _ = &mut shutdown => return Ok(total),
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter_and_a_cap() {
        let s = AlertsConfig { initial_backoff_ms: 1000, max_backoff_ms: 5000, ..AlertsConfig::default() };
        for (attempt, base) in [(1, 1000), (2, 2000), (3, 4000), (4, 5000), (20, 5000)] {
            let d = backoff_ms(&s, attempt, "p");
            assert!((base..=base + base / 5).contains(&d), "attempt {attempt}: {d}");
        }
        assert_eq!(backoff_ms(&s, 2, "p"), backoff_ms(&s, 2, "p"));
    }
}
