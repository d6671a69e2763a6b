//! Token counting reproduces the published examples exactly, through the real command line.

mod common;

use common::*;
use serde_json::Value;

fn estimate(args: &[&str]) -> Value {
    let ws = Workspace::new();
    let mut all = vec!["estimate"];
    all.extend_from_slice(args);
    let out = ws.ok(&all);
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn f(name: &str) -> String {
    s(&fixture(&format!("estimate/{name}"))).to_owned()
}

#[test]
fn the_cookbook_chat_example_is_129_and_124_tokens() {
    // OpenAI cookbook "How to count tokens with tiktoken": the same six messages are 129
    // prompt tokens on the cl100k models and 124 on the o200k ones.
    for (model, tokens, encoding) in [
        ("gpt-3.5-turbo", 129, "cl100k_base"),
        ("gpt-35-turbo-0125", 129, "cl100k_base"),
        ("gpt-4-0613", 129, "cl100k_base"),
        ("gpt-4o", 124, "o200k_base"),
        ("gpt-4o-mini-2024-07-18", 124, "o200k_base"),
    ] {
        let out = estimate(&["--model", model, "--request", &f("cookbook-chat.json")]);
        assert_eq!(out["prompt_tokens"], tokens, "{model}");
        assert_eq!(out["total_tokens"], tokens, "{model}");
        assert_eq!(out["encoding"], encoding, "{model}");
        assert_eq!(out["source"], "estimated");
    }
}

#[test]
fn the_cookbook_function_calling_example_is_105_and_101_tokens() {
    for (model, tokens) in [("gpt-3.5-turbo", 105), ("gpt-4", 105), ("gpt-4o", 101), ("gpt-4o-mini", 101)] {
        let out = estimate(&["--model", model, "--request", &f("cookbook-tools.json")]);
        assert_eq!(out["prompt_tokens"], tokens, "{model}");
    }
}

#[test]
fn a_usage_chunk_in_the_stream_wins_over_the_estimate() {
    let out = estimate(&[
        "--model",
        "gpt-4o",
        "--request",
        &f("cookbook-chat.json"),
        "--response",
        &f("stream-include-usage.sse"),
    ]);
    assert_eq!(out["source"], "usage");
    assert_eq!((out["prompt_tokens"].as_u64(), out["completion_tokens"].as_u64()), (Some(124), Some(5)));
    // The same stream without its usage chunk: counted on the joined deltas, skipping Azure's
    // empty first chunk and the content-filter annotation chunk, and it agrees with the
    // service's own figures above.
    let out = estimate(&[
        "--model",
        "gpt-4o",
        "--request",
        &f("cookbook-chat.json"),
        "--response",
        &f("stream-no-usage.sse"),
    ]);
    assert_eq!(out["source"], "estimated");
    assert_eq!((out["prompt_tokens"].as_u64(), out["completion_tokens"].as_u64()), (Some(124), Some(5)));
    assert_eq!(out["total_tokens"], 129);
}

#[test]
fn responses_api_streams_take_usage_from_response_completed() {
    let out = estimate(&[
        "--model",
        "gpt-4o",
        "--request",
        &f("cookbook-chat.json"),
        "--response",
        &f("responses-stream.sse"),
    ]);
    assert_eq!(out["source"], "usage");
    assert_eq!(out["total_tokens"], 25);
    // Without response.completed, the output_text deltas are joined and counted.
    let ws = Workspace::new();
    let text = std::fs::read_to_string(fixture("estimate/responses-stream.sse")).unwrap();
    let cut: String = text.split("event: response.completed").next().unwrap().to_owned();
    let path = ws.path("cut.sse");
    std::fs::write(&path, cut).unwrap();
    let out = estimate(&["--model", "gpt-4o", "--request", &f("cookbook-chat.json"), "--response", s(&path)]);
    assert_eq!((out["source"].as_str(), out["completion_tokens"].as_u64()), (Some("estimated"), Some(5)));
}

#[test]
fn completion_is_counted_on_the_joined_text_not_chunk_by_chunk() {
    // "internationalization" is a few tokens; split across five chunks, counting each chunk
    // separately would give more.
    let ws = Workspace::new();
    let pieces = ["inter", "nation", "al", "iza", "tion"];
    let mut sse = String::new();
    for p in pieces {
        sse.push_str(&format!(
            "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{p}\"}},\"index\":0}}],\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\"}}\n\n"
        ));
    }
    sse.push_str("data: [DONE]\n\n");
    let path = ws.path("s.sse");
    std::fs::write(&path, sse).unwrap();
    let out = estimate(&["--model", "gpt-4o", "--request", &f("cookbook-chat.json"), "--response", s(&path)]);
    let joined = tiktoken_rs::o200k_base().unwrap().encode_ordinary("internationalization").len() as u64;
    assert_eq!(out["completion_tokens"].as_u64(), Some(joined));
    assert!(joined < 5);
}

#[test]
fn other_request_kinds_and_stdin() {
    let ws = Workspace::new();
    let run = |request: &str, model: &str| -> Value {
        let mut child = ws
            .cmd(&["estimate", "--model", model, "--request", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(request.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let bpe = tiktoken_rs::cl100k_base().unwrap();
    let n = |t: &str| bpe.encode_ordinary(t).len() as u64;
    // Embeddings and legacy completions: the input counted bare.
    let out = run(r#"{"input": ["hello world", "good morning"]}"#, "text-embedding-3-small");
    assert_eq!(out["prompt_tokens"].as_u64(), Some(n("hello world") + n("good morning")));
    let out = run(r#"{"prompt": "Say this is a test"}"#, "gpt-35-turbo-instruct");
    assert_eq!(out["prompt_tokens"].as_u64(), Some(n("Say this is a test")));
    // Responses API: instructions and input framed as messages.
    let o200k = tiktoken_rs::o200k_base().unwrap();
    let m = |t: &str| o200k.encode_ordinary(t).len() as u64;
    let out = run(r#"{"instructions": "Be brief.", "input": "What is Rust?"}"#, "gpt-4o");
    assert_eq!(
        out["prompt_tokens"].as_u64(),
        Some(3 + m("system") + m("Be brief.") + 3 + m("user") + m("What is Rust?") + 3)
    );
    // An image part cannot be counted by the published rules: the count is a lower bound.
    let out = run(
        r#"{"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "https://example.invalid/a.png"}}]}]}"#,
        "gpt-4o",
    );
    assert_eq!(out["lower_bound"], true);
    // A reasoning model's hidden tokens cannot be seen in a stream: flagged, not invented.
    let out = estimate(&[
        "--model",
        "o4-mini",
        "--request",
        &f("cookbook-chat.json"),
        "--response",
        &f("stream-no-usage.sse"),
    ]);
    assert_eq!(out["lower_bound"], true);
    // An unknown model is a clear usage error.
    let out =
        ws.cmd(&["estimate", "--model", "llama-3", "--request", &f("cookbook-chat.json")]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no known encoding for model \"llama-3\""));
}
