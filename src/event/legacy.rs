//! The legacy event shape that existing APIM deployments emit today (the widely copied sample):
//!
//! ```json
//! {"Timestamp":"10/14/2024 12:09:00 PM","ApiOperation":"chat.completion","AppKey":"<raw key>",
//!  "PromptTokens":"120","CompletionTokens":"30","TotalTokens":"150"}
//! ```
//!
//! Numbers arrive as strings, the timestamp is `DateTime.UtcNow.ToString()` in the gateway's
//! culture, and `AppKey` is the raw subscription key. The key is hashed here and the clear text
//! is dropped with the line; the event has no id, no deployment and no model.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::value::RawValue;

use super::{Caller, DecodeError, EventId, Tokens, UsageEvent, Wire, check_tokens, count, key_hash};

/// The chrono formats tried, in order, for `Timestamp` when the config names none: ISO-8601
/// first, then .NET's en-US and invariant-culture `ToString()`. Day-first cultures (en-GB
/// `14/10/2024 12:09:00`, de-DE `14.10.2024 12:09:00`) must be configured explicitly, because
/// `10/11/2024` reads both ways.
pub const DEFAULT_TIMESTAMP_FORMATS: &[&str] = &["%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S"];

pub(super) fn validate<'a>(
    wire: Wire<'a>,
    timestamp_formats: &[String],
    deployment: &str,
) -> Result<UsageEvent<'a>, DecodeError> {
    let raw_time = wire.legacy_timestamp.as_deref().unwrap_or_default().trim();
    let timestamp = parse_timestamp(raw_time, timestamp_formats)?;
    let caller = match wire.app_key.as_deref().map(str::trim) {
        Some(key) if !key.is_empty() => Caller::KeyHash(key_hash(key)),
        _ => Caller::Anonymous,
    };
    let prompt = loose_count(wire.prompt_tokens, "PromptTokens")?
        .ok_or_else(|| DecodeError::field("PromptTokens", "missing"))?;
    let completion = loose_count(wire.completion_tokens, "CompletionTokens")?.unwrap_or(0);
    let total = loose_count(wire.total_tokens, "TotalTokens")?;
    let tokens = check_tokens(Tokens { prompt, completion, cached: 0, reasoning: 0 }, total, "TotalTokens")?;
    Ok(UsageEvent {
        id: EventId::None,
        timestamp,
        caller,
        deployment: deployment.to_owned(),
        model: None,
        status: 200,
        stream: false,
        usage: Some(tokens),
        capture: None,
    })
}

fn parse_timestamp(value: &str, formats: &[String]) -> Result<DateTime<Utc>, DecodeError> {
    if value.is_empty() {
        return Err(DecodeError::field("Timestamp", "empty"));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in formats {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, format) {
            // The sample logs DateTime.UtcNow: the wall time is UTC.
            return Ok(t.and_utc());
        }
    }
    Err(DecodeError::field(
        "Timestamp",
        format!("{value:?} matches none of the formats {formats:?} (set legacy.timestamp_formats)"),
    ))
}

/// A count written as a number or as a string holding one.
fn loose_count(raw: Option<&RawValue>, field: &str) -> Result<Option<u64>, DecodeError> {
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    let digits = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text).trim();
    let value: i64 =
        digits.parse().map_err(|_| DecodeError::field(field, format!("{text} is not a whole number")))?;
    count(field, value).map(Some)
}
