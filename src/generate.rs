//! Synthetic usage events for demos, fixtures and benchmarks, reproducible by seed.
//!
//! Events are spread evenly through one month in time order (as Event Hubs delivers them),
//! over a fixed population of clients and deployments. Optional shares of streamed calls
//! (counted from captured text), legacy-shape events, exact duplicates (APIM retries, Event
//! Hubs redelivery) and broken lines make a realistic mix. Pure: writes to any `Write`.

use std::io::{self, Write};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub events: u64,
    pub seed: u64,
    /// First day of the month the events fall in.
    pub month: NaiveDate,
    pub clients: u32,
    pub deployments: u32,
    /// Share of streamed calls whose response carried no usage (they carry a capture).
    pub streamed: f64,
    /// Share of events in the legacy shape.
    pub legacy: f64,
    /// Share of events written twice.
    pub duplicates: f64,
    /// Share of broken lines.
    pub bad: f64,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            events: 1_000,
            seed: 1,
            month: NaiveDate::from_ymd_opt(2026, 10, 1).expect("valid date"),
            clients: 1_000,
            deployments: 20,
            streamed: 0.0,
            legacy: 0.0,
            duplicates: 0.005,
            bad: 0.0,
        }
    }
}

/// Models behind the generated deployments, in turn.
const MODELS: &[&str] = &[
    "gpt-4o-2024-08-06",
    "gpt-4o-mini-2024-07-18",
    "gpt-4.1-2025-04-14",
    "gpt-4.1-mini-2025-04-14",
    "o4-mini-2025-04-16",
    "text-embedding-3-small",
    "gpt-5-mini-2025-08-07",
    "gpt-35-turbo-0125",
    // Served through the same gateway but absent from the price table: shows as unpriced.
    "Mistral-Large-2411",
];

const WORDS: &[&str] = &[
    "the",
    "invoice",
    "for",
    "October",
    "shows",
    "a",
    "spike",
    "in",
    "usage",
    "because",
    "the",
    "support",
    "assistant",
    "summarised",
    "every",
    "ticket",
    "twice",
    "Please",
    "review",
    "deployment",
    "quota",
    "and",
    "cost",
    "centre",
    "allocation",
    "before",
    "month",
    "end",
    "naïve",
    "café",
    "résumé",
    "東京",
    "データ",
    "🙂",
    "refactor",
    "function",
    "returns",
    "JSON",
    "tokens",
    "latency",
    "retry",
    "policy",
    "gateway",
    "subscription",
    "owner",
    "budget",
];

/// The subscription id of generated client `i` (what a config maps to a client name).
pub fn subscription_id(i: u32) -> String {
    format!("sub-{i:04}")
}

/// The deployment name of generated deployment `i`, and its model.
pub fn deployment(i: u32) -> (String, &'static str) {
    (format!("deployment-{i:02}"), MODELS[i as usize % MODELS.len()])
}

/// The raw legacy key of client `i` (generated data only; real keys are never written down).
pub fn legacy_key(i: u32) -> String {
    format!("{:032x}", 0x5eed_0000_0000_0000_0000_0000_0000_0000u128 + u128::from(i))
}

/// Write `spec.events` events (plus duplicates) as JSONL.
pub fn write(spec: &Spec, out: &mut dyn Write) -> io::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let start = spec.month.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let next_month = if spec.month.month() == 12 {
        NaiveDate::from_ymd_opt(spec.month.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(spec.month.year(), spec.month.month() + 1, 1)
    }
    .expect("valid month");
    let span_ms = (next_month.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - start).num_milliseconds();
    let mut line = String::with_capacity(1024);
    for n in 0..spec.events {
        let at = start + chrono::Duration::milliseconds(span_ms * n as i64 / spec.events.max(1) as i64);
        line.clear();
        if rng.random_bool(spec.bad) {
            line.push_str(BAD_LINES[rng.random_range(0..BAD_LINES.len())]);
        } else {
            let client = rng.random_range(0..spec.clients.max(1));
            let (deployment, model) = deployment(rng.random_range(0..spec.deployments.max(1)));
            if rng.random_bool(spec.legacy) {
                legacy_event(&mut rng, at, client, &mut line);
            } else {
                v1_event(&mut rng, at, client, &deployment, model, spec.streamed, &mut line);
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        if rng.random_bool(spec.duplicates) {
            out.write_all(line.as_bytes())?;
        }
    }
    Ok(())
}

/// Broken lines of the kinds seen in the field.
const BAD_LINES: &[&str] = &[
    r#"{"schema_version":1,"request_id":"5b0c1a57-6c1e-4d2b-9a43-2f1f0c9e8d11","timestamp":"2026-10-0"#,
    "not json at all",
    r#"[{"schema_version":1}]"#,
    r#"{"schema_version":1,"request_id":"0d3c2b1a-0000-4000-8000-000000000001","timestamp":"2026-10-02T10:00:00Z","subscription_id":"sub-0001","deployment":"deployment-00","status":200,"stream":false,"usage":{"prompt_tokens":-5,"completion_tokens":3,"total_tokens":-2}}"#,
    r#"{"schema_version":1,"request_id":"0d3c2b1a-0000-4000-8000-000000000002","timestamp":"2026-10-02T10:00:00Z","subscription_id":"sub-0001","deployment":"deployment-00","status":200,"stream":false,"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":99}}"#,
    r#"{"schema_version":1,"timestamp":"2026-10-02T10:00:00Z","subscription_id":"sub-0001","deployment":"deployment-00","status":200,"stream":false,"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13}}"#,
];

fn uuid(rng: &mut ChaCha8Rng) -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

fn v1_event(
    rng: &mut ChaCha8Rng,
    at: DateTime<Utc>,
    client: u32,
    deployment: &str,
    model: &str,
    streamed_share: f64,
    line: &mut String,
) {
    let embeddings = model.starts_with("text-embedding");
    let reasoning_model = model.starts_with("o4") || model.starts_with("gpt-5");
    // Only models the consumer can count are streamed without usage; a gateway serving other
    // models must have them report usage (see apim-policies/README.md).
    let countable = crate::estimate::Encoding::for_model(model).is_some();
    let streamed = !embeddings && countable && rng.random_bool(streamed_share);
    let prompt: u64 = rng.random_range(20..4_000);
    let completion: u64 = if embeddings { 0 } else { rng.random_range(1..1_200) };
    let cached: u64 = if !embeddings && rng.random_bool(0.3) { (prompt / 128) * 64 } else { 0 };
    let reasoning: u64 = if reasoning_model { completion / 2 } else { 0 };
    let operation = if embeddings { "embeddings_create" } else { "ChatCompletions_Create" };
    let mut event = json!({
        "schema_version": 1,
        "request_id": uuid(rng).to_string(),
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "subscription_id": subscription_id(client),
        "subscription_name": format!("client-{client:04}"),
        "product": "aoai-standard",
        "api": "azure-openai",
        "operation": operation,
        "deployment": deployment,
        "model": model,
        "api_version": "2024-10-21",
        "status": 200,
        "stream": streamed,
    });
    if streamed {
        // No usage: the consumer counts the captured request and SSE text itself.
        event["model"] = serde_json::Value::Null;
        let question = words(rng, 5..60);
        let answer = words(rng, 5..200);
        event["capture"] = json!({
            "request": {"messages": [
                {"role": "system", "content": "You are a helpful assistant for the finance team."},
                {"role": "user", "content": question},
            ]},
            "sse": sse(model, &answer, at.timestamp()),
            "truncated": false,
        });
    } else if embeddings {
        event["usage"] = json!({"prompt_tokens": prompt, "total_tokens": prompt});
    } else {
        event["usage"] = json!({
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        });
    }
    line.push_str(&event.to_string());
}

/// Azure's stream shape: a first chunk with empty choices and prompt filter results, content
/// deltas a few words at a time, a finish chunk, then `[DONE]`.
fn sse(model: &str, answer: &str, created: i64) -> String {
    let mut out = String::from(
        "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{}}]}\n\n",
    );
    let words: Vec<&str> = answer.split_inclusive(' ').collect();
    for piece in words.chunks(3) {
        let chunk = json!({
            "choices": [{"delta": {"content": piece.concat()}, "finish_reason": null, "index": 0}],
            "created": created, "id": "chatcmpl-gen", "model": model, "object": "chat.completion.chunk",
        });
        out.push_str(&format!("data: {chunk}\n\n"));
    }
    let end = json!({
        "choices": [{"delta": {}, "finish_reason": "stop", "index": 0}],
        "created": created, "id": "chatcmpl-gen", "model": model, "object": "chat.completion.chunk",
    });
    out.push_str(&format!("data: {end}\n\ndata: [DONE]\n\n"));
    out
}

fn words(rng: &mut ChaCha8Rng, count: std::ops::Range<usize>) -> String {
    let n = rng.random_range(count);
    (0..n).map(|_| WORDS[rng.random_range(0..WORDS.len())]).collect::<Vec<_>>().join(" ")
}

fn legacy_event(rng: &mut ChaCha8Rng, at: DateTime<Utc>, client: u32, line: &mut String) {
    let prompt: u64 = rng.random_range(20..3_000);
    let completion: u64 = rng.random_range(1..800);
    let event = json!({
        "Timestamp": at.format("%-m/%-d/%Y %-I:%M:%S %p").to_string(),
        "ApiOperation": "chat.completion",
        "AppKey": legacy_key(client),
        "PromptTokens": prompt.to_string(),
        "CompletionTokens": completion.to_string(),
        "TotalTokens": (prompt + completion).to_string(),
    });
    line.push_str(&event.to_string());
}
