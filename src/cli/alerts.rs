//! `chargeback alerts list|test|retry|dispatch`, and the bounded delivery pass `ingest` runs
//! after committing.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use comfy_table::Table;
use rust_decimal::Decimal;

use super::{Exit, UsageError};
use crate::alerts::channels::Channels;
use crate::alerts::config::Measure;
use crate::alerts::dispatch;
use crate::alerts::message::AlertMessage;
use crate::config::Config;
use crate::store::Store;

/// How long the pass after `ingest` waits for retries that fall due: longer backoffs are left
/// to `alerts dispatch` (or the next ingest).
const INGEST_PASS_MAX_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, clap::Subcommand)]
pub enum AlertsCommand {
    /// What fired, with each channel's delivery state, attempts and last error.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Send a test message through a channel now.
    Test {
        /// Channel name (`[channels.NAME]`).
        #[arg(long)]
        channel: String,
    },
    /// Put failed deliveries back to pending (all, or those of one alert).
    Retry {
        /// Alert id (from `alerts list`).
        #[arg(long)]
        id: Option<i64>,
    },
    /// Deliver pending alerts: one pass, or until SIGTERM / Ctrl-C with --watch.
    Dispatch {
        /// Keep polling the outbox (every alerts.poll_interval_ms) until stopped.
        #[arg(long)]
        watch: bool,
    },
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn run(command: AlertsCommand, config: &Config, store_path: &Path, store: Store) -> anyhow::Result<Exit> {
    let config = Arc::new(config.clone());
    let mut out = std::io::stdout().lock();
    match command {
        AlertsCommand::List { json } => {
            let records = store.alert_records()?;
            if json {
                serde_json::to_writer_pretty(&mut out, &records)?;
                writeln!(out)?;
            } else if records.is_empty() {
                writeln!(out, "no alert has fired")?;
            } else {
                let mut table = Table::new();
                table.set_header([
                    "id",
                    "rule",
                    "month",
                    "level",
                    "value",
                    "%",
                    "channel",
                    "state",
                    "attempts",
                    "last error",
                ]);
                for r in &records {
                    let base = [
                        r.id.to_string(),
                        r.rule.clone(),
                        r.period.clone(),
                        r.level.clone(),
                        r.value.to_string(),
                        r.percent.to_string(),
                    ];
                    if r.deliveries.is_empty() {
                        table.add_row(base.iter().cloned().chain([
                            "(none)".into(),
                            "recorded".into(),
                            "0".into(),
                            String::new(),
                        ]));
                    }
                    for d in &r.deliveries {
                        table.add_row(base.iter().cloned().chain([
                            d.channel.clone(),
                            d.state.clone(),
                            d.attempts.to_string(),
                            d.last_error.clone().unwrap_or_default(),
                        ]));
                    }
                }
                writeln!(out, "{table}")?;
            }
            Ok(Exit::Ok)
        }
        AlertsCommand::Test { channel } => {
            if !config.channels.contains_key(&channel) {
                return Err(
                    UsageError(format!("--channel {channel:?} is not a channel under [channels]")).into()
                );
            }
            let message = AlertMessage {
                payload_id: uuid::Uuid::new_v4().to_string(),
                rule: "test".into(),
                period: chrono::Utc::now().format("%Y-%m").to_string(),
                level: "test".into(),
                client: None,
                deployment: None,
                measure: Measure::Cost,
                value: Decimal::ZERO,
                limit: Decimal::ONE,
                percent: Decimal::ZERO,
                currency: config.currency.clone(),
                owners: config.clients.values().flat_map(|c| c.owners.clone()).take(1).collect(),
                projected_date: None,
                projected_value: None,
            };
            let channels = Channels::new(config.clone())?;
            runtime()?
                .block_on(channels.send(&channel, &message))
                .with_context(|| format!("channel {channel}"))?;
            writeln!(out, "test message {} delivered through {channel}", message.payload_id)?;
            Ok(Exit::Ok)
        }
        AlertsCommand::Retry { id } => {
            let n = store.retry_failed_deliveries(id, chrono::Utc::now().timestamp_millis())?;
            writeln!(
                out,
                "{n} failed deliveries put back to pending; `chargeback alerts dispatch` sends them"
            )?;
            Ok(Exit::Ok)
        }
        AlertsCommand::Dispatch { watch } => {
            let summary = if watch {
                drop(store);
                let stop = super::stop_flag()?;
                let shutdown = async move {
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                };
                runtime()?.block_on(dispatch::run(store_path, config.clone(), shutdown))?
            } else {
                runtime()?.block_on(dispatch::drain(&store, &config, Duration::ZERO))?
            };
            writeln!(
                out,
                "{} delivered, {} to retry, {} failed",
                summary.delivered, summary.retried, summary.failed
            )?;
            Ok(if watch { Exit::Interrupted } else { Exit::Ok })
        }
    }
}

/// After `ingest` committed: deliver what is due, waiting at most [`INGEST_PASS_MAX_WAIT`] for
/// retries. Returns a line to print, or `None` when there was nothing to send.
pub fn deliver_after_ingest(config: &Config, store: &Store) -> anyhow::Result<Option<String>> {
    if config.budgets.is_empty() || store.next_delivery_due()?.is_none() {
        return Ok(None);
    }
    let config = Arc::new(config.clone());
    let s = runtime()?.block_on(dispatch::drain(store, &config, INGEST_PASS_MAX_WAIT))?;
    Ok(Some(format!("alerts: {} delivered, {} to retry, {} failed", s.delivered, s.retried, s.failed)))
}
