//! What a response says about its own size: the usage it reports, or the text to count.
//!
//! A response arrives as a JSON body or as SSE text. In a stream, a chunk whose `usage` is not
//! null (chat `include_usage`) or a Responses API `response.completed` event is the service's
//! own count and wins over any estimate. Otherwise the text of all deltas is joined per choice
//! (per output item for the Responses API) and counted once: counting chunk by chunk would
//! overcount, because BPE merges across chunk boundaries. Azure's first chunk (empty
//! `choices`, `id: ""`, prompt filter results), content-filter annotation chunks, comments
//! and `event:` lines carry no text and are skipped.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Encoding;
use crate::event::{DecodeError, Tokens, v1::usage_from_value};

/// The readable content of a response.
#[derive(Debug, Default)]
pub struct ResponseText {
    /// The usage the service reported, if the response carried one.
    pub usage: Option<Tokens>,
    /// Output text joined per choice / output item / tool call.
    pub texts: Vec<String>,
    /// The model the response names.
    pub model: Option<String>,
    /// `data:` lines that were not JSON (a cut capture ends with one).
    pub unreadable_lines: usize,
}

impl ResponseText {
    /// Completion tokens of the joined texts.
    pub fn count(&self, encoding: Encoding) -> u64 {
        self.texts.iter().map(|t| encoding.count(t)).sum()
    }
}

/// Read a response given as text: a JSON body if it is one, SSE otherwise.
pub fn read(body: &str) -> Result<ResponseText, DecodeError> {
    let trimmed = body.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        let value: Value = serde_json::from_str(trimmed).map_err(|e| DecodeError::Json(e.to_string()))?;
        read_body(&value)
    } else {
        read_sse(trimmed)
    }
}

/// Read a non-streamed JSON response body (chat, completions, embeddings or Responses API).
pub fn read_body(body: &Value) -> Result<ResponseText, DecodeError> {
    let mut out = ResponseText { model: model_of(body), ..Default::default() };
    if let Some(usage) = body.get("usage").filter(|u| u.is_object()) {
        out.usage = Some(usage_from_value(usage)?);
    }
    for choice in body.get("choices").and_then(Value::as_array).into_iter().flatten() {
        if let Some(message) = choice.get("message") {
            push(&mut out.texts, message.get("content"));
            for call in message.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                out.texts.push(function_text(call.get("function").unwrap_or(call)));
            }
        }
        push(&mut out.texts, choice.get("text"));
    }
    for item in body.get("output").and_then(Value::as_array).into_iter().flatten() {
        if item.get("type").and_then(Value::as_str) == Some("function_call") {
            out.texts.push(function_text(item));
        }
        for part in item.get("content").and_then(Value::as_array).into_iter().flatten() {
            push(&mut out.texts, part.get("text"));
        }
    }
    Ok(out)
}

/// Read SSE text. Only `data:` lines matter; `[DONE]` ends the stream.
pub fn read_sse(sse: &str) -> Result<ResponseText, DecodeError> {
    let mut out = ResponseText::default();
    // Keyed by (choice or output index, sub-index): content is sub-index 0, tool calls 1 + i.
    let mut texts: BTreeMap<(u64, u64), String> = BTreeMap::new();
    for line in sse.lines() {
        let Some(data) = line.strip_prefix("data:") else { continue };
        let data = data.trim();
        if data == "[DONE]" {
            break;
        }
        if data.is_empty() {
            continue;
        }
        let Ok(chunk) = serde_json::from_str::<Value>(data) else {
            out.unreadable_lines += 1;
            continue;
        };
        if out.model.is_none() {
            out.model = model_of(&chunk).or_else(|| chunk.get("response").and_then(model_of));
        }
        match chunk.get("type").and_then(Value::as_str) {
            Some(kind) => responses_event(kind, &chunk, &mut out, &mut texts)?,
            None => chat_chunk(&chunk, &mut out, &mut texts)?,
        }
    }
    out.texts = texts.into_values().filter(|t| !t.is_empty()).collect();
    Ok(out)
}

fn chat_chunk(
    chunk: &Value,
    out: &mut ResponseText,
    texts: &mut BTreeMap<(u64, u64), String>,
) -> Result<(), DecodeError> {
    if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
        out.usage = Some(usage_from_value(usage)?);
    }
    for choice in chunk.get("choices").and_then(Value::as_array).into_iter().flatten() {
        let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
        // Chat deltas, or legacy completions' `text`.
        let delta = choice.get("delta");
        let content = delta.and_then(|d| d.get("content")).or_else(|| choice.get("text"));
        if let Some(text) = content.and_then(Value::as_str) {
            texts.entry((index, 0)).or_default().push_str(text);
        }
        let calls = delta.and_then(|d| d.get("tool_calls")).and_then(Value::as_array);
        for call in calls.into_iter().flatten() {
            let call_index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
            let text = texts.entry((index, 1 + call_index)).or_default();
            if let Some(function) = call.get("function") {
                for field in ["name", "arguments"] {
                    if let Some(part) = function.get(field).and_then(Value::as_str) {
                        text.push_str(part);
                    }
                }
            }
        }
    }
    Ok(())
}

fn responses_event(
    kind: &str,
    event: &Value,
    out: &mut ResponseText,
    texts: &mut BTreeMap<(u64, u64), String>,
) -> Result<(), DecodeError> {
    let index = event.get("output_index").and_then(Value::as_u64).unwrap_or(0);
    match kind {
        "response.completed" | "response.incomplete" | "response.failed" => {
            let usage = event.get("response").and_then(|r| r.get("usage"));
            if let Some(usage) = usage.filter(|u| u.is_object()) {
                out.usage = Some(usage_from_value(usage)?);
            }
        }
        "response.output_text.delta" | "response.refusal.delta" => {
            let part = event.get("content_index").and_then(Value::as_u64).unwrap_or(0);
            if let Some(delta) = event.get("delta").and_then(Value::as_str) {
                texts.entry((index, part)).or_default().push_str(delta);
            }
        }
        "response.function_call_arguments.delta" => {
            if let Some(delta) = event.get("delta").and_then(Value::as_str) {
                texts.entry((index, u64::MAX)).or_default().push_str(delta);
            }
        }
        _ => {}
    }
    Ok(())
}

fn model_of(value: &Value) -> Option<String> {
    value.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()).map(str::to_owned)
}

fn push(texts: &mut Vec<String>, text: Option<&Value>) {
    if let Some(text) = text.and_then(Value::as_str).filter(|t| !t.is_empty()) {
        texts.push(text.to_owned());
    }
}

fn function_text(call: &Value) -> String {
    ["name", "arguments"].iter().filter_map(|f| call.get(*f).and_then(Value::as_str)).collect()
}
