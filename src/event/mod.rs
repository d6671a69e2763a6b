//! The usage event: what one Azure OpenAI call costs, as APIM logged it.
//!
//! This module owns the decoded, validated form of an event ([`UsageEvent`]) and the decoder
//! that produces it from one JSON line ([`decode`]). Two wire shapes are accepted:
//!
//! * version 1 (`schema_version: 1`), described by `schemas/usage-event.v1.schema.json` and
//!   decoded in [`v1`];
//! * the legacy shape existing deployments emit (`Timestamp`, `AppKey`, `PromptTokens`, ...),
//!   decoded in [`legacy`]. Its raw subscription key is hashed here, on read, and never leaves
//!   this module in clear.
//!
//! Decoding is pure: no I/O, no clock. Everything that can be wrong with an event is a
//! [`DecodeError`] that names the field, and becomes a dead letter upstream.

pub mod legacy;
pub mod v1;

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// No single call can plausibly use more tokens than this (an embeddings call of 2,048 inputs
/// of 8,191 tokens is ~16.8 M). A larger count is corrupt data, not usage.
pub const MAX_TOKENS_PER_CALL: i64 = 50_000_000;

/// Who made the call, as the event identifies them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// An APIM subscription (v1 events).
    Subscription(String),
    /// A legacy event's `AppKey`, kept only as the lowercase hex SHA-256 of the key.
    KeyHash(String),
    /// A call made without any subscription.
    Anonymous,
}

impl Caller {
    /// The stable identity stored with the totals: `sub:<id>`, `key:<sha256 hex>` or `anonymous`.
    pub fn identity(&self) -> String {
        match self {
            Caller::Subscription(id) => format!("sub:{id}"),
            Caller::KeyHash(hash) => format!("key:{hash}"),
            Caller::Anonymous => "anonymous".to_owned(),
        }
    }
}

/// Token counts of one call. `prompt` includes `cached`; `completion` includes `reasoning`
/// (that is how the service reports them, and how they are billed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub prompt: u64,
    pub cached: u64,
    pub completion: u64,
    pub reasoning: u64,
}

impl Tokens {
    pub fn total(&self) -> u64 {
        self.prompt + self.completion
    }
}

/// What a streamed response without usage left for the consumer to count.
#[derive(Debug)]
pub struct Capture<'a> {
    /// The request body's countable parts (messages, tools, prompt, input, ...).
    pub request: Option<&'a RawValue>,
    /// The SSE body as APIM saw it.
    pub sse: Option<String>,
    /// Or the output text already joined from all deltas.
    pub text: Option<String>,
    /// The policy cut the capture to fit the 200 KB log-to-eventhub limit.
    pub truncated: bool,
}

/// How the event identifies itself for dedupe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventId {
    /// The APIM request id of a v1 event.
    Request(String),
    /// Legacy events carry no id: they are identified by where they were read.
    None,
}

/// One decoded, validated call.
#[derive(Debug)]
pub struct UsageEvent<'a> {
    pub id: EventId,
    pub timestamp: DateTime<Utc>,
    pub caller: Caller,
    pub deployment: String,
    /// The model as the response named it, if it did.
    pub model: Option<String>,
    pub status: u16,
    pub stream: bool,
    /// The usage the service reported, if any.
    pub usage: Option<Tokens>,
    pub capture: Option<Capture<'a>>,
}

/// Why a line is not a usable event. Each message names the field at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("not valid UTF-8 (byte {0})")]
    Utf8(usize),
    #[error("not a JSON object: {0}")]
    NotObject(String),
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Field(String),
    #[error("neither a v1 event (no `schema_version`) nor a legacy event (no `Timestamp`)")]
    UnknownShape,
    #[error("unsupported schema_version {0} (this build reads version 1)")]
    Version(i64),
}

impl DecodeError {
    fn field(path: &str, problem: impl std::fmt::Display) -> Self {
        DecodeError::Field(format!("`{path}`: {problem}"))
    }
}

/// The fields of both wire shapes, read in one pass; which shape it is decides which are used.
/// Unknown fields are ignored so that newer policies can add fields without breaking readers.
#[derive(Deserialize)]
pub(crate) struct Wire<'a> {
    schema_version: Option<i64>,
    // v1
    #[serde(borrow)]
    pub request_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub subscription_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub deployment: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub model: Option<Cow<'a, str>>,
    pub status: Option<i64>,
    pub stream: Option<bool>,
    pub usage: Option<v1::WireUsage>,
    #[serde(borrow)]
    pub capture: Option<v1::WireCapture<'a>>,
    // legacy
    #[serde(rename = "Timestamp", borrow)]
    pub legacy_timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "AppKey", borrow)]
    pub app_key: Option<Cow<'a, str>>,
    #[serde(rename = "PromptTokens", borrow)]
    pub prompt_tokens: Option<&'a RawValue>,
    #[serde(rename = "CompletionTokens", borrow)]
    pub completion_tokens: Option<&'a RawValue>,
    #[serde(rename = "TotalTokens", borrow)]
    pub total_tokens: Option<&'a RawValue>,
}

/// What decoding needs to know about the legacy shape, from the config.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// chrono formats tried, in order, for a legacy `Timestamp` (after ISO-8601).
    pub legacy_timestamp_formats: Vec<String>,
    /// The deployment legacy events are charged to (they do not name one).
    pub legacy_deployment: String,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            legacy_timestamp_formats: legacy::DEFAULT_TIMESTAMP_FORMATS
                .iter()
                .map(|f| f.to_string())
                .collect(),
            legacy_deployment: "unknown".to_owned(),
        }
    }
}

/// Decode one JSON line (without its line ending) into a validated event.
pub fn decode<'a>(line: &'a [u8], options: &DecodeOptions) -> Result<UsageEvent<'a>, DecodeError> {
    let text = std::str::from_utf8(line).map_err(|e| DecodeError::Utf8(e.valid_up_to()))?;
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        let what = match trimmed.chars().next() {
            Some('[') => "a JSON array".to_owned(),
            Some(c) => format!("the line starts with {c:?}"),
            None => "empty".to_owned(),
        };
        return Err(DecodeError::NotObject(what));
    }
    // Fast path without path tracking; on error, parse again to name the field at fault.
    let wire: Wire<'a> = match serde_json::from_str(text) {
        Ok(wire) => wire,
        Err(_) => return Err(explain(text)),
    };
    match wire.schema_version {
        Some(1) => v1::validate(wire),
        Some(other) => Err(DecodeError::Version(other)),
        None if wire.legacy_timestamp.is_some() => {
            legacy::validate(wire, &options.legacy_timestamp_formats, &options.legacy_deployment)
        }
        None => Err(DecodeError::UnknownShape),
    }
}

/// Why `text` does not deserialize, naming the field when the JSON itself is sound.
fn explain(text: &str) -> DecodeError {
    let mut de = serde_json::Deserializer::from_str(text);
    let result: Result<Wire<'_>, _> = serde_path_to_error::deserialize(&mut de);
    let err = match result {
        Ok(_) => match de.end() {
            Ok(()) => return DecodeError::Json("unreadable".to_owned()),
            Err(e) => return DecodeError::Json(e.to_string()),
        },
        Err(e) => e,
    };
    let path = err.path().to_string();
    let inner = err.into_inner();
    if inner.is_data() && path != "." {
        DecodeError::field(&path, strip_position(&inner))
    } else if inner.is_eof() {
        DecodeError::Json(format!(
            "{inner}: the line ends mid-document (cut at the 200 KB log-to-eventhub limit?)"
        ))
    } else {
        DecodeError::Json(inner.to_string())
    }
}

/// serde_json appends "at line 1 column N" to data errors; the field path says more.
fn strip_position(err: &serde_json::Error) -> String {
    let msg = err.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    }
}

/// Check one token count read from the wire.
pub(crate) fn count(path: &str, value: i64) -> Result<u64, DecodeError> {
    if value < 0 {
        return Err(DecodeError::field(path, format!("negative token count {value}")));
    }
    if value > MAX_TOKENS_PER_CALL {
        return Err(DecodeError::field(
            path,
            format!("{value} tokens is more than one call can use ({MAX_TOKENS_PER_CALL})"),
        ));
    }
    Ok(value as u64)
}

/// Check that a reported usage is self-consistent.
pub(crate) fn check_tokens(tokens: Tokens, total: Option<u64>, prefix: &str) -> Result<Tokens, DecodeError> {
    if tokens.cached > tokens.prompt {
        return Err(DecodeError::field(
            prefix,
            format!("cached tokens {} exceed prompt tokens {}", tokens.cached, tokens.prompt),
        ));
    }
    if tokens.reasoning > tokens.completion {
        return Err(DecodeError::field(
            prefix,
            format!("reasoning tokens {} exceed completion tokens {}", tokens.reasoning, tokens.completion),
        ));
    }
    if let Some(total) = total
        && total != tokens.total()
    {
        return Err(DecodeError::field(
            prefix,
            format!(
                "total {total} disagrees with prompt {} + completion {}",
                tokens.prompt, tokens.completion
            ),
        ));
    }
    Ok(tokens)
}

/// Lowercase hex SHA-256: how a legacy subscription key is identified.
pub fn key_hash(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_str(line: &str) -> Result<UsageEvent<'_>, DecodeError> {
        decode(line.as_bytes(), &DecodeOptions::default())
    }

    const HEAD: &str = r#""schema_version":1,"request_id":"r1","timestamp":"2026-10-14T12:09:00.123+02:00","subscription_id":"s1","deployment":"d","status":200,"stream":false"#;

    #[test]
    fn the_three_usage_shapes_normalise() {
        let chat = format!(
            r#"{{{HEAD},"usage":{{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150,"prompt_tokens_details":{{"cached_tokens":64}},"completion_tokens_details":{{"reasoning_tokens":20}}}}}}"#
        );
        let e = decode_str(&chat).unwrap();
        assert_eq!(e.usage, Some(Tokens { prompt: 100, cached: 64, completion: 50, reasoning: 20 }));
        assert_eq!(e.timestamp.to_rfc3339(), "2026-10-14T10:09:00.123+00:00", "converted to UTC");
        assert_eq!(e.caller, Caller::Subscription("s1".into()));
        let responses = format!(
            r#"{{{HEAD},"usage":{{"input_tokens":10,"output_tokens":5,"total_tokens":15,"input_tokens_details":{{"cached_tokens":null}},"output_tokens_details":{{"reasoning_tokens":3}}}}}}"#
        );
        assert_eq!(
            decode_str(&responses).unwrap().usage,
            Some(Tokens { prompt: 10, cached: 0, completion: 5, reasoning: 3 })
        );
        let embeddings = format!(r#"{{{HEAD},"usage":{{"prompt_tokens":8,"total_tokens":8}}}}"#);
        assert_eq!(decode_str(&embeddings).unwrap().usage, Some(Tokens { prompt: 8, ..Tokens::default() }));
    }

    #[test]
    fn legacy_events_hash_their_key_and_read_culture_timestamps() {
        let line = r#"{"Timestamp":"10/14/2024 12:09:00 PM","ApiOperation":"chat.completion","AppKey":"0123abcd","PromptTokens":"120","CompletionTokens":"30","TotalTokens":"150"}"#;
        let e = decode_str(line).unwrap();
        assert_eq!(e.timestamp.to_rfc3339(), "2024-10-14T12:09:00+00:00");
        assert_eq!(e.caller, Caller::KeyHash(key_hash("0123abcd")));
        assert!(!format!("{e:?}").contains("0123abcd"), "the raw key is gone");
        assert_eq!(e.id, EventId::None);
        assert_eq!(e.deployment, "unknown");
        assert_eq!(e.usage, Some(Tokens { prompt: 120, completion: 30, ..Tokens::default() }));
        // Numbers as numbers, and ISO-8601, are read too; 24-hour invariant culture as well.
        let line = r#"{"Timestamp":"2024-10-14T12:09:00Z","AppKey":"k","PromptTokens":1,"CompletionTokens":2,"TotalTokens":3}"#;
        assert!(decode_str(line).is_ok());
        let line = r#"{"Timestamp":"10/14/2024 13:09:00","AppKey":"k","PromptTokens":"1","TotalTokens":"1"}"#;
        assert_eq!(decode_str(line).unwrap().timestamp.to_rfc3339(), "2024-10-14T13:09:00+00:00");
    }

    #[test]
    fn errors_name_the_field() {
        let bad = format!(r#"{{{HEAD},"usage":{{"prompt_tokens":"many"}}}}"#);
        let err = decode_str(&bad).unwrap_err().to_string();
        assert!(err.starts_with("`usage.prompt_tokens`: invalid type"), "{err}");
        let no_subscription = HEAD.replace(r#""subscription_id":"s1""#, r#""subscription_id":null"#);
        let line = format!("{{{no_subscription}}}");
        let e = decode_str(&line).unwrap();
        assert_eq!(e.caller, Caller::Anonymous);
        assert_eq!(e.usage, None);
    }
}
