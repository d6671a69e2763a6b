//! The per-event path shared by every source: decode → count → price → a [`UsageRecord`]
//! ready for the store, or a dead letter's reason.
//!
//! Pure: no I/O and no clock. What it needs from outside (config, the dedupe horizon, the time
//! now) is handed in, so that `ingest`, `consume` and `dead-letters replay` give the same
//! answer for the same line.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::estimate::{Encoding, is_embedding_model, request, response};
use crate::event::{self, Capture, DecodeOptions, EventId, Tokens, UsageEvent};
use crate::model;
use crate::price::PriceTable;

/// Events stamped further ahead of the clock than this are corrupt, not early.
const MAX_CLOCK_SKEW_SECONDS: i64 = 86_400;

/// The model name recorded when neither the event nor the config names one.
pub const UNKNOWN_MODEL: &str = "unknown";

/// How an event is recognised when it comes again: its time to the second, then 16 bytes of
/// id. Time first keeps a time-ordered stream's inserts at the right edge of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DedupeKey {
    pub second: i64,
    pub id: [u8; 16],
}

/// One counted, priced call, ready to be committed.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRecord {
    pub key: DedupeKey,
    /// Billing day, in the billing time zone.
    pub day: NaiveDate,
    /// Caller identity (`sub:<id>`, `key:<sha256>`, `anonymous`).
    pub client: String,
    pub deployment: String,
    pub model: String,
    pub tokens: Tokens,
    /// How many of `tokens` were counted here rather than reported by the service.
    pub estimated: u64,
    /// The count is a lower bound: captured text was cut, the reasoning was invisible, or the
    /// request held parts the counting rules do not cover.
    pub undercounted: bool,
    /// `None` when the model has no price on that day.
    pub cost: Option<Decimal>,
}

/// What became of one line.
#[derive(Debug)]
pub enum Outcome {
    Usage(Box<UsageRecord>),
    /// Blank line: nothing to count, nothing lost.
    Blank,
    /// Not a usable event; the reason names what is wrong.
    Dead(String),
}

/// The shared path, configured once.
pub struct Pipeline {
    decode: DecodeOptions,
    prices: PriceTable,
    time_zone: Tz,
    deployments: HashMap<String, String>,
    /// Events before this second cannot be deduped any more (see the store's dedupe window).
    horizon: i64,
    /// Events after this second are in the future.
    latest: i64,
}

impl Pipeline {
    pub fn new(config: &Config) -> Pipeline {
        Pipeline {
            decode: config.decode_options(),
            prices: config.price_table(),
            time_zone: config.billing_time_zone,
            deployments: config.deployments.iter().map(|(name, d)| (name.clone(), d.model.clone())).collect(),
            horizon: i64::MIN,
            latest: i64::MAX,
        }
    }

    /// Set the accepted time window: from the store's dedupe horizon to a day after `now`.
    pub fn set_window(&mut self, horizon: i64, now: DateTime<Utc>) {
        self.horizon = horizon;
        self.latest = now.timestamp() + MAX_CLOCK_SKEW_SECONDS;
    }

    /// Process one line read at `offset` of `source` (line ending already removed).
    pub fn process(&self, line: &[u8], source: &str, offset: u64) -> Outcome {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Outcome::Blank;
        }
        match self.record(line, source, offset) {
            Ok(record) => Outcome::Usage(Box::new(record)),
            Err(reason) => Outcome::Dead(reason),
        }
    }

    fn record(&self, line: &[u8], source: &str, offset: u64) -> Result<UsageRecord, String> {
        let event = event::decode(line, &self.decode).map_err(|e| e.to_string())?;
        let second = event.timestamp.timestamp();
        if second < self.horizon {
            return Err(format!(
                "timestamp {} is older than the dedupe window (events before {} can no longer be checked for duplicates)",
                event.timestamp.to_rfc3339(),
                DateTime::from_timestamp(self.horizon, 0).unwrap_or_default().to_rfc3339()
            ));
        }
        if second > self.latest {
            return Err(format!("timestamp {} is in the future", event.timestamp.to_rfc3339()));
        }
        let id = match &event.id {
            EventId::Request(request_id) => request_id_bytes(request_id),
            EventId::None => legacy_id(source, offset, line),
        };
        let counted = self.count(&event)?;
        let day = event.timestamp.with_timezone(&self.time_zone).date_naive();
        let cost = self.prices.lookup(&counted.model, day).map(|p| p.cost(&counted.tokens));
        Ok(UsageRecord {
            key: DedupeKey { second, id },
            day,
            client: event.caller.identity(),
            deployment: event.deployment,
            model: counted.model,
            tokens: counted.tokens,
            estimated: counted.estimated,
            undercounted: counted.undercounted,
            cost,
        })
    }

    /// The tokens of an event: reported usage if any, else counted from its capture.
    fn count(&self, event: &UsageEvent<'_>) -> Result<Counted, String> {
        let configured = self.deployments.get(&event.deployment).cloned();
        let mut model = event.model.clone().or(configured);
        if let Some(tokens) = event.usage {
            return Ok(Counted::reported(model, tokens));
        }
        let Some(capture) = &event.capture else {
            if event.status >= 400 {
                // A failed call without usage (throttled, rejected): not billed.
                return Ok(Counted::reported(model, Tokens::default()));
            }
            return Err(if event.stream {
                "streamed response without usage and without captured text: nothing to count".to_owned()
            } else {
                "successful response without usage".to_owned()
            });
        };
        let output = read_output(capture)?;
        model = model.or(output.model.clone());
        if let Some(tokens) = output.usage {
            return Ok(Counted::reported(model, tokens));
        }
        let model = model.ok_or_else(|| {
            format!(
                "cannot count tokens: no model for deployment {:?} (add [deployments.{}] model = \"...\" to the config)",
                event.deployment, event.deployment
            )
        })?;
        let encoding = Encoding::for_model(&model)
            .ok_or_else(|| format!("cannot count tokens: no known encoding for model {model:?}"))?;
        let prompt = match capture.request {
            Some(raw) => {
                let body: serde_json::Value =
                    serde_json::from_str(raw.get()).map_err(|e| format!("`capture.request`: {e}"))?;
                request::count_prompt(&body, encoding, is_embedding_model(&model))
            }
            None => request::PromptCount { tokens: 0, complete: false },
        };
        let completion = output.count(encoding);
        let tokens = Tokens { prompt: prompt.tokens, completion, cached: 0, reasoning: 0 };
        let undercounted = capture.truncated
            || !prompt.complete
            || output.unreadable_lines > 0
            || (capture.sse.is_none() && capture.text.is_none())
            || model::is_reasoning_model(&model);
        Ok(Counted { model, tokens, estimated: tokens.total(), undercounted })
    }
}

struct Counted {
    model: String,
    tokens: Tokens,
    estimated: u64,
    undercounted: bool,
}

impl Counted {
    fn reported(model: Option<String>, tokens: Tokens) -> Counted {
        let model = model.unwrap_or_else(|| UNKNOWN_MODEL.to_owned());
        Counted { model, tokens, estimated: 0, undercounted: false }
    }
}

/// The captured output: SSE text, or text already joined by the policy.
fn read_output(capture: &Capture<'_>) -> Result<response::ResponseText, String> {
    match (&capture.sse, &capture.text) {
        (Some(sse), _) => response::read_sse(sse).map_err(|e| format!("`capture.sse`: {e}")),
        (None, Some(text)) => Ok(response::ResponseText { texts: vec![text.clone()], ..Default::default() }),
        (None, None) => Ok(response::ResponseText::default()),
    }
}

/// 16 bytes of a request id: the GUID itself when it is one (APIM's are), a hash otherwise.
fn request_id_bytes(request_id: &str) -> [u8; 16] {
    match uuid::Uuid::try_parse(request_id) {
        Ok(uuid) => *uuid.as_bytes(),
        Err(_) => truncated_hash(&[b"request-id\0", request_id.as_bytes()]),
    }
}

/// A legacy event has no id: it is identified by where it was read and what it says, so that
/// re-reading the same source absorbs it, and two identical lines in one file stay two calls.
fn legacy_id(source: &str, offset: u64, line: &[u8]) -> [u8; 16] {
    truncated_hash(&[b"legacy\0", source.as_bytes(), b"\0", &offset.to_be_bytes(), line])
}

fn truncated_hash(parts: &[&[u8]]) -> [u8; 16] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}
