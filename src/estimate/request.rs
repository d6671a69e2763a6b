//! Prompt tokens of a request body, by the published counting rules.
//!
//! Chat completions (`messages`, `tools`, legacy `functions`) follow the OpenAI cookbook
//! exactly: 3 tokens per message, every string field encoded, 1 more per `name`, 3 to prime
//! the reply, and the function-calling rule for tool definitions. The same framing is applied
//! to Responses API `input` items and `instructions`, and legacy completions and embeddings
//! count their `prompt` / `input` bare. Parts the rules do not cover (images, audio, files)
//! make the count a lower bound, reported as `complete: false`.

use serde_json::{Map, Value};

use super::Encoding;

const TOKENS_PER_MESSAGE: i64 = 3;
const TOKENS_PER_NAME: i64 = 1;
const REPLY_PRIMING: i64 = 3;
const PROPERTIES_INIT: i64 = 3;
const PROPERTY_KEY: i64 = 3;
const ENUM_INIT: i64 = -3;
const ENUM_ITEM: i64 = 3;
const FUNCTIONS_END: i64 = 12;

/// Counted prompt tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptCount {
    pub tokens: u64,
    /// False when the request held parts these rules cannot count (an image, say).
    pub complete: bool,
}

/// Count the prompt of any supported request body. `embeddings` says how to read a bare
/// `input` (an embeddings request) as opposed to a Responses API one.
pub fn count_prompt(request: &Value, encoding: Encoding, embeddings: bool) -> PromptCount {
    let mut counter = Counter { encoding, tokens: 0, complete: true };
    let Some(body) = request.as_object() else {
        counter.complete = false;
        return counter.finish();
    };
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        counter.messages(messages.iter());
        counter.tokens += REPLY_PRIMING;
        counter.tools(body);
    } else if let Some(prompt) = body.get("prompt") {
        counter.bare(prompt);
    } else if embeddings {
        if let Some(input) = body.get("input") {
            counter.bare(input);
        }
    } else if body.contains_key("input") || body.contains_key("instructions") {
        counter.responses(body);
        counter.tokens += REPLY_PRIMING;
        counter.tools(body);
    } else {
        counter.complete = false;
    }
    counter.finish()
}

struct Counter {
    encoding: Encoding,
    tokens: i64,
    complete: bool,
}

impl Counter {
    fn finish(self) -> PromptCount {
        PromptCount { tokens: self.tokens.max(0) as u64, complete: self.complete }
    }

    fn text(&mut self, text: &str) {
        self.tokens += self.encoding.count(text) as i64;
    }

    fn messages<'v>(&mut self, messages: impl Iterator<Item = &'v Value>) {
        for message in messages {
            match message {
                Value::Object(fields) => self.message(fields),
                Value::String(text) => {
                    self.tokens += TOKENS_PER_MESSAGE;
                    self.text(text);
                }
                _ => self.complete = false,
            }
        }
    }

    fn message(&mut self, fields: &Map<String, Value>) {
        self.tokens += TOKENS_PER_MESSAGE;
        for (key, value) in fields {
            match value {
                Value::String(text) => {
                    self.text(text);
                    if key == "name" {
                        self.tokens += TOKENS_PER_NAME;
                    }
                }
                Value::Array(parts) if key == "content" => self.content_parts(parts),
                Value::Array(calls) if key == "tool_calls" => {
                    for call in calls {
                        self.function_call(call.get("function").unwrap_or(call));
                    }
                }
                Value::Object(call) if key == "function_call" => {
                    self.function_call(&Value::Object(call.clone()))
                }
                Value::Null | Value::Bool(_) | Value::Number(_) => {}
                _ => self.complete = false,
            }
        }
    }

    /// Content given as parts: text parts are counted; images, audio and files are not
    /// covered by the published rules.
    fn content_parts(&mut self, parts: &[Value]) {
        for part in parts {
            match part {
                Value::String(text) => self.text(text),
                Value::Object(p) => match p.get("text").and_then(Value::as_str) {
                    Some(text) => self.text(text),
                    None => self.complete = false,
                },
                _ => self.complete = false,
            }
        }
    }

    /// A tool call the assistant made earlier in the conversation: its name and arguments.
    /// An approximation; the rules publish no framing for it.
    fn function_call(&mut self, call: &Value) {
        for field in ["name", "arguments"] {
            if let Some(text) = call.get(field).and_then(Value::as_str) {
                self.text(text);
            }
        }
    }

    /// A prompt or embeddings input: a string, strings, or token arrays.
    fn bare(&mut self, value: &Value) {
        match value {
            Value::String(text) => self.text(text),
            Value::Array(items) if items.iter().all(Value::is_number) => self.tokens += items.len() as i64,
            Value::Array(items) => items.iter().for_each(|item| self.bare(item)),
            _ => self.complete = false,
        }
    }

    /// Responses API: `instructions` as a system message, `input` as a user message or a list
    /// of message items.
    fn responses(&mut self, body: &Map<String, Value>) {
        if let Some(instructions) = body.get("instructions").and_then(Value::as_str) {
            self.tokens += TOKENS_PER_MESSAGE;
            self.text("system");
            self.text(instructions);
        }
        match body.get("input") {
            Some(Value::String(text)) => {
                self.tokens += TOKENS_PER_MESSAGE;
                self.text("user");
                self.text(text);
            }
            Some(Value::Array(items)) => {
                for item in items {
                    match item.get("type").and_then(Value::as_str) {
                        None | Some("message") => self.response_item(item),
                        Some("function_call") => self.function_call(item),
                        Some("function_call_output") => {
                            self.tokens += TOKENS_PER_MESSAGE;
                            if let Some(output) = item.get("output").and_then(Value::as_str) {
                                self.text(output);
                            }
                        }
                        Some(_) => self.complete = false,
                    }
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => self.complete = false,
        }
    }

    fn response_item(&mut self, item: &Value) {
        self.tokens += TOKENS_PER_MESSAGE;
        if let Some(role) = item.get("role").and_then(Value::as_str) {
            self.text(role);
        }
        match item.get("content") {
            Some(Value::String(text)) => self.text(text),
            Some(Value::Array(parts)) => self.content_parts(parts),
            _ => {}
        }
    }

    /// The function-calling rule: per function `init + name:description`, then per property
    /// `key + name:type:description` with enums counted item by item, and a fixed end.
    fn tools(&mut self, body: &Map<String, Value>) {
        let chat_tools = body.get("tools").and_then(Value::as_array).into_iter().flatten();
        let legacy = body.get("functions").and_then(Value::as_array).into_iter().flatten();
        let functions: Vec<&Value> = chat_tools
            .filter_map(|tool| match tool.get("type").and_then(Value::as_str) {
                // Chat nests the definition under `function`; the Responses API does not.
                Some("function") | None => Some(tool.get("function").unwrap_or(tool)),
                Some(_) => {
                    self.complete = false;
                    None
                }
            })
            .chain(legacy)
            .collect();
        if functions.is_empty() {
            return;
        }
        for function in functions {
            self.tokens += self.encoding.function_init();
            let name = function.get("name").and_then(Value::as_str).unwrap_or_default();
            let description = strip_period(function.get("description"));
            self.text(&format!("{name}:{description}"));
            let properties =
                function.get("parameters").and_then(|p| p.get("properties")).and_then(Value::as_object);
            let Some(properties) = properties.filter(|p| !p.is_empty()) else { continue };
            self.tokens += PROPERTIES_INIT;
            for (key, property) in properties {
                self.tokens += PROPERTY_KEY;
                if let Some(items) = property.get("enum").and_then(Value::as_array) {
                    self.tokens += ENUM_INIT;
                    for item in items {
                        self.tokens += ENUM_ITEM;
                        match item {
                            Value::String(s) => self.text(s),
                            other => self.text(&other.to_string()),
                        }
                    }
                }
                let kind = property.get("type").and_then(Value::as_str).unwrap_or_default();
                let description = strip_period(property.get("description"));
                self.text(&format!("{key}:{kind}:{description}"));
            }
        }
        self.tokens += FUNCTIONS_END;
    }
}

/// The rule drops one trailing period from descriptions.
fn strip_period(description: Option<&Value>) -> &str {
    let text = description.and_then(Value::as_str).unwrap_or_default();
    text.strip_suffix('.').unwrap_or(text)
}
