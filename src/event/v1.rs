//! Version 1 of the usage event (`schemas/usage-event.v1.schema.json`).
//!
//! The policies copy the response's `usage` object unchanged, so this file owns the mapping of
//! its two shapes (chat / completions / embeddings, and the Responses API) onto [`Tokens`].

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Caller, Capture, DecodeError, EventId, Tokens, UsageEvent, Wire, check_tokens, count};

/// The response's usage object, either shape. Counts are read signed so that a negative one is
/// reported as such rather than as a type error.
#[derive(Deserialize, Default)]
pub(crate) struct WireUsage {
    prompt_tokens: Option<i64>,
    completion_tokens: Option<i64>,
    total_tokens: Option<i64>,
    prompt_tokens_details: Option<Details>,
    completion_tokens_details: Option<Details>,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    input_tokens_details: Option<Details>,
    output_tokens_details: Option<Details>,
}

#[derive(Deserialize, Default)]
struct Details {
    cached_tokens: Option<i64>,
    reasoning_tokens: Option<i64>,
}

#[derive(Deserialize)]
pub(crate) struct WireCapture<'a> {
    #[serde(borrow)]
    request: Option<&'a RawValue>,
    sse: Option<String>,
    text: Option<String>,
    #[serde(default)]
    truncated: bool,
}

pub(super) fn validate(wire: Wire<'_>) -> Result<UsageEvent<'_>, DecodeError> {
    let request_id = required_str(wire.request_id.as_deref(), "request_id")?;
    let timestamp = parse_timestamp(required_str(wire.timestamp.as_deref(), "timestamp")?)?;
    let deployment = required_str(wire.deployment.as_deref(), "deployment")?;
    let status = wire.status.ok_or_else(|| DecodeError::field("status", "missing"))?;
    if !(100..=599).contains(&status) {
        return Err(DecodeError::field("status", format!("{status} is not an HTTP status")));
    }
    let stream = wire.stream.ok_or_else(|| DecodeError::field("stream", "missing"))?;
    let caller = match wire.subscription_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => Caller::Subscription(id.to_owned()),
        _ => Caller::Anonymous,
    };
    let usage = wire.usage.map(usage_tokens).transpose()?;
    let capture = wire.capture.map(|c| Capture {
        request: c.request,
        sse: c.sse,
        text: c.text,
        truncated: c.truncated,
    });
    Ok(UsageEvent {
        id: EventId::Request(request_id.to_owned()),
        timestamp,
        caller,
        deployment: deployment.to_owned(),
        model: wire.model.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty()),
        status: status as u16,
        stream,
        usage,
        capture,
    })
}

fn required_str<'s>(value: Option<&'s str>, field: &str) -> Result<&'s str, DecodeError> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err(DecodeError::field(field, "empty")),
        None => Err(DecodeError::field(field, "missing")),
    }
}

/// ISO-8601 with an explicit offset (the policies write `Z`); converted to UTC.
fn parse_timestamp(value: &str) -> Result<DateTime<Utc>, DecodeError> {
    DateTime::parse_from_rfc3339(value).map(|t| t.with_timezone(&Utc)).map_err(|e| {
        DecodeError::field("timestamp", format!("{value:?} is not ISO-8601 with an offset ({e})"))
    })
}

/// Map either usage shape onto [`Tokens`], validating every count.
pub(crate) fn usage_tokens(u: WireUsage) -> Result<Tokens, DecodeError> {
    let responses = u.input_tokens.is_some() || u.output_tokens.is_some();
    let (prompt, completion, prompt_details, completion_details, names) = if responses {
        (
            u.input_tokens,
            u.output_tokens,
            u.input_tokens_details,
            u.output_tokens_details,
            [
                "usage.input_tokens",
                "usage.output_tokens",
                "usage.input_tokens_details.cached_tokens",
                "usage.output_tokens_details.reasoning_tokens",
            ],
        )
    } else {
        (
            u.prompt_tokens,
            u.completion_tokens,
            u.prompt_tokens_details,
            u.completion_tokens_details,
            [
                "usage.prompt_tokens",
                "usage.completion_tokens",
                "usage.prompt_tokens_details.cached_tokens",
                "usage.completion_tokens_details.reasoning_tokens",
            ],
        )
    };
    let prompt = prompt.ok_or_else(|| DecodeError::field(names[0], "missing"))?;
    let tokens = Tokens {
        prompt: count(names[0], prompt)?,
        // Embeddings report no completion.
        completion: count(names[1], completion.unwrap_or(0))?,
        cached: count(names[2], prompt_details.and_then(|d| d.cached_tokens).unwrap_or(0))?,
        reasoning: count(names[3], completion_details.and_then(|d| d.reasoning_tokens).unwrap_or(0))?,
    };
    let total = u.total_tokens.map(|t| count("usage.total_tokens", t)).transpose()?;
    check_tokens(tokens, total, "usage")
}

/// Parse a usage object found elsewhere (a response body, a stream's final chunk).
pub(crate) fn usage_from_value(value: &serde_json::Value) -> Result<Tokens, DecodeError> {
    let wire = WireUsage::deserialize(value).map_err(|e| DecodeError::field("usage", e))?;
    usage_tokens(wire)
}
