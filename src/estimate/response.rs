//! What a response says about its own size: the usage it reports, or the text to count.
//!
//! A response arrives as a JSON body or as SSE text. In a stream, a chunk whose `usage` is not
//! null (chat `include_usage`) or a Responses API `response.completed` event is the service's
//! own count and wins over any estimate. Otherwise the text of all deltas is joined per choice
//! (per output item for the Responses API) and counted once: counting chunk by chunk would
//! overcount, because BPE merges across chunk boundaries. Azure's first chunk (empty
//! `choices`, `id: ""`, prompt filter results), content-filter annotation chunks, comments
//! and `event:` lines carry no text and are skipped.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
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
        // Typed and borrowed: a stream has a chunk every few words, so this is the hot path
        // of counting (a generic JSON value per chunk costs three times as much).
        let Ok(chunk) = serde_json::from_str::<Chunk<'_>>(data) else {
            out.unreadable_lines += 1;
            continue;
        };
        if out.model.is_none() {
            let named = chunk.model.as_deref().or(chunk.response.as_ref().and_then(|r| r.model.as_deref()));
            out.model = named.filter(|m| !m.is_empty()).map(str::to_owned);
        }
        match chunk.kind.clone() {
            Some(kind) => responses_event(&kind, chunk, &mut out, &mut texts)?,
            None => chat_chunk(chunk, &mut out, &mut texts)?,
        }
    }
    out.texts = texts.into_values().filter(|t| !t.is_empty()).collect();
    Ok(out)
}

/// One `data:` payload: a chat / completions chunk, or a Responses API event (`type`).
#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    usage: Option<Value>,
    #[serde(default, borrow)]
    choices: Vec<Choice<'a>>,
    response: Option<ResponseInfo>,
    #[serde(borrow)]
    delta: Option<Cow<'a, str>>,
    output_index: Option<u64>,
    content_index: Option<u64>,
}

#[derive(Deserialize)]
struct ResponseInfo {
    model: Option<String>,
    usage: Option<Value>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    index: Option<u64>,
    #[serde(borrow)]
    delta: Option<Delta<'a>>,
    /// Legacy completions stream `text` instead of a delta.
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Vec<ToolCallDelta<'a>>,
}

#[derive(Deserialize)]
struct ToolCallDelta<'a> {
    index: Option<u64>,
    #[serde(borrow)]
    function: Option<FunctionDelta<'a>>,
}

#[derive(Deserialize)]
struct FunctionDelta<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arguments: Option<Cow<'a, str>>,
}

fn chat_chunk(
    chunk: Chunk<'_>,
    out: &mut ResponseText,
    texts: &mut BTreeMap<(u64, u64), String>,
) -> Result<(), DecodeError> {
    if let Some(usage) = chunk.usage.as_ref().filter(|u| u.is_object()) {
        out.usage = Some(usage_from_value(usage)?);
    }
    for choice in chunk.choices {
        let index = choice.index.unwrap_or(0);
        let delta = choice.delta;
        let content = delta.as_ref().and_then(|d| d.content.as_deref()).or(choice.text.as_deref());
        if let Some(text) = content {
            texts.entry((index, 0)).or_default().push_str(text);
        }
        for call in delta.iter().flat_map(|d| &d.tool_calls) {
            let text = texts.entry((index, 1 + call.index.unwrap_or(0))).or_default();
            if let Some(function) = &call.function {
                text.push_str(function.name.as_deref().unwrap_or_default());
                text.push_str(function.arguments.as_deref().unwrap_or_default());
            }
        }
    }
    Ok(())
}

fn responses_event(
    kind: &str,
    event: Chunk<'_>,
    out: &mut ResponseText,
    texts: &mut BTreeMap<(u64, u64), String>,
) -> Result<(), DecodeError> {
    let index = event.output_index.unwrap_or(0);
    match kind {
        "response.completed" | "response.incomplete" | "response.failed" => {
            let usage = event.response.as_ref().and_then(|r| r.usage.as_ref());
            if let Some(usage) = usage.filter(|u| u.is_object()) {
                out.usage = Some(usage_from_value(usage)?);
            }
        }
        "response.output_text.delta" | "response.refusal.delta" => {
            let part = event.content_index.unwrap_or(0);
            if let Some(delta) = event.delta.as_deref() {
                texts.entry((index, part)).or_default().push_str(delta);
            }
        }
        "response.function_call_arguments.delta" => {
            if let Some(delta) = event.delta.as_deref() {
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
