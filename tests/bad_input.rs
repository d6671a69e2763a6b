//! Bad input never panics, never stops the run and is never dropped silently: each line below
//! is either counted correctly or dead-lettered with a reason that names the problem.

mod common;

use common::*;
use serde_json::json;

fn id(n: u32) -> String {
    format!("0b0b0b0b-0000-4000-8000-{n:012}")
}

fn good(n: u32) -> Vec<u8> {
    v1_event(&id(n), "2026-10-10T10:00:00Z", "sub-good", "chat", "gpt-4o-2024-08-06", 100, 20).into_bytes()
}

fn with(n: u32, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&good(n)).unwrap();
    edit(&mut v);
    v.to_string().into_bytes()
}

/// (what, the line, `Some(reason fragment)` for a dead letter or `None` for counted)
fn cases() -> Vec<(&'static str, Vec<u8>, Option<&'static str>)> {
    let mut streamed_big = with(100, |v| {
        v["stream"] = json!(true);
        v["usage"] = json!(null);
        v["capture"] = json!({"request": {"messages": [{"role": "user", "content": "x".repeat(300_000)}]}, "truncated": false});
    });
    streamed_big.truncate(200 * 1024);
    let mut nested = String::new();
    for _ in 0..10_000 {
        nested.push_str("{\"a\":");
    }
    nested.push('1');
    for _ in 0..10_000 {
        nested.push('}');
    }
    let mut five_mb = with(101, |v| v["padding"] = json!("y".repeat(5 * 1024 * 1024)));
    five_mb.truncate(five_mb.len());
    vec![
        ("a good line", good(1), None),
        ("cut at 200 KB by log-to-eventhub", streamed_big, Some("ends mid-document")),
        ("not JSON", b"hello world".to_vec(), Some("not a JSON object")),
        ("an array", b"[1,2,3]".to_vec(), Some("a JSON array")),
        ("status as a string", with(2, |v| v["status"] = json!("200")), Some("`status`: invalid type")),
        ("a count as a float", with(3, |v| v["usage"]["prompt_tokens"] = json!(1.5)), Some("`usage.prompt_tokens`")),
        ("negative tokens", with(4, |v| v["usage"]["completion_tokens"] = json!(-20)), Some("negative token count -20")),
        ("absurd tokens", with(5, |v| {
            v["usage"]["prompt_tokens"] = json!(1_000_000_000_000u64);
            v["usage"]["total_tokens"] = json!(1_000_000_000_020u64);
        }), Some("more than one call can use")),
        ("total disagrees", with(6, |v| v["usage"]["total_tokens"] = json!(999)), Some("total 999 disagrees with prompt 100 + completion 20")),
        ("cached above prompt", with(7, |v| v["usage"]["prompt_tokens_details"] = json!({"cached_tokens": 101})), Some("cached tokens 101 exceed prompt tokens 100")),
        ("missing id", with(8, |v| { v.as_object_mut().unwrap().remove("request_id"); }), Some("`request_id`: missing")),
        ("unknown schema version", with(9, |v| v["schema_version"] = json!(7)), Some("unsupported schema_version 7")),
        ("neither shape", br#"{"hello":"world"}"#.to_vec(), Some("neither a v1 event")),
        ("not UTC ISO-8601", with(10, |v| v["timestamp"] = json!("10/14/2026 12:09:00 PM")), Some("`timestamp`")),
        ("in the future", with(11, |v| v["timestamp"] = json!("2099-01-01T00:00:00Z")), Some("in the future")),
        ("invalid UTF-8", b"{\"schema_version\":1,\"request_id\":\"\xff\xfe\"}".to_vec(), Some("not valid UTF-8")),
        ("deeply nested, nothing else", nested.clone().into_bytes(), Some("neither a v1 event")),
        ("a good event with a deeply nested extra field: counted, no stack overflow", with(17, |v| {
            v["extra"] = serde_json::value::to_value(serde_json::value::RawValue::from_string(nested.clone()).unwrap()).unwrap_or(json!(null));
        }), None),
        ("a 5 MB line", five_mb, Some("byte limit")),
        ("unknown model with usage: counted, unpriced", with(12, |v| v["model"] = json!("contoso-finetune-7")), None),
        ("unknown deployment, streamed, nothing names the model", with(13, |v| {
            v["deployment"] = json!("mystery");
            v["model"] = json!(null);
            v["stream"] = json!(true);
            v["usage"] = json!(null);
            v["capture"] = json!({"request": {"messages": [{"role": "user", "content": "hi"}]}, "text": "hello there", "truncated": false});
        }), Some("no model for deployment \"mystery\"")),
        ("streamed, no usage, nothing captured", with(14, |v| {
            v["stream"] = json!(true);
            v["usage"] = json!(null);
        }), Some("nothing to count")),
        ("throttled (429) without usage: counted as a request of zero tokens", with(15, |v| {
            v["status"] = json!(429);
            v["usage"] = json!(null);
        }), None),
        ("legacy with a day-first timestamp", br#"{"Timestamp":"31/10/2026 10:00:00","ApiOperation":"chat.completion","AppKey":"k1","PromptTokens":"1","CompletionTokens":"1","TotalTokens":"2"}"#.to_vec(), Some("matches none of the formats")),
        ("legacy with a non-numeric count", br#"{"Timestamp":"10/30/2026 10:00:00 AM","ApiOperation":"chat.completion","AppKey":"k1","PromptTokens":"ten","CompletionTokens":"1","TotalTokens":"2"}"#.to_vec(), Some("`PromptTokens`: \"ten\" is not a whole number")),
        ("legacy, numbers as strings", br#"{"Timestamp":"10/30/2026 10:00:00 AM","ApiOperation":"chat.completion","AppKey":"k1","PromptTokens":"10","CompletionTokens":"5","TotalTokens":"15"}"#.to_vec(), None),
        ("the last good line", good(16), None),
    ]
}

#[test]
fn every_bad_line_is_counted_or_dead_lettered_with_its_reason() {
    let ws = Workspace::new();
    let cases = cases();
    // A BOM at the start, CRLF endings, blank lines between cases.
    let mut file = b"\xEF\xBB\xBF".to_vec();
    let mut positions = Vec::new();
    for (_, line, _) in &cases {
        positions.push(file.len() as u64);
        file.extend_from_slice(line);
        file.extend_from_slice(b"\r\n\r\n   \n");
    }
    positions[0] = 3; // after the BOM
    let path = ws.path("bad.jsonl");
    std::fs::write(&path, &file).unwrap();
    let out = ws.ok(&["ingest", s(&path)]);
    let summary = String::from_utf8_lossy(&out.stdout).to_string();

    let dead = ws.dead_letters();
    let counted = cases.iter().filter(|c| c.2.is_none()).count();
    assert_eq!(dead.len(), cases.len() - counted, "{summary}\n{dead:#?}");
    for ((what, line, expected), position) in cases.iter().zip(&positions) {
        let letter = dead.iter().find(|d| d["position"].as_u64() == Some(*position));
        match expected {
            Some(fragment) => {
                let letter = letter.unwrap_or_else(|| panic!("{what}: no dead letter at {position}"));
                let reason = letter["reason"].as_str().unwrap();
                assert!(reason.contains(fragment), "{what}: reason {reason:?} lacks {fragment:?}");
                // Over-long lines are measured, not held, so their CR stays in the length.
                let length = letter["length"].as_u64().unwrap();
                assert!(
                    length == line.len() as u64 || (length == line.len() as u64 + 1 && line.len() > 1 << 20),
                    "{what}: {length}"
                );
                assert!(letter["source"].as_str().unwrap().ends_with("bad.jsonl"));
            }
            None => assert!(letter.is_none(), "{what} was dead-lettered: {letter:?}"),
        }
    }
    // Counted: 2 good lines, the nested one, the unknown model, the 429 (0 tokens), the legacy.
    let report = ws.report(&["--month", "2026-10"]);
    assert_eq!(totals(&report), (6, 4 * 120 + 15));
    let unpriced = report["unpriced"].as_array().unwrap();
    assert_eq!(unpriced.len(), 2, "{unpriced:?}"); // contoso-finetune-7 and the legacy `unknown`
    assert!(unpriced.iter().any(|u| u["model"] == "contoso-finetune-7" && u["tokens"] == 120));
    // A raw key never reaches the store: the legacy key "k1" is nowhere in the file.
    let bytes = std::fs::read(ws.store()).unwrap();
    assert!(!bytes.windows(4).any(|w| w == b"\"k1\""));
    // No prompt text either: the 300,000 x's of the cut capture are not stored.
    assert!(!bytes.windows(64).any(|w| w.iter().all(|&b| b == b'x')));
}

#[test]
fn replay_counts_a_dead_letter_once_the_config_names_its_model() {
    let ws = Workspace::new();
    let line = with(50, |v| {
        v["deployment"] = json!("mystery");
        v["model"] = json!(null);
        v["stream"] = json!(true);
        v["usage"] = json!(null);
        v["capture"] = json!({"request": {"messages": [{"role": "user", "content": "What is 2+2?"}]}, "text": "4", "truncated": false});
    });
    let path = ws.write_lines("e.jsonl", &[String::from_utf8(line).unwrap()]);
    ws.ok(&["ingest", s(&path)]);
    assert_eq!(ws.dead_letters().len(), 1);
    // Without a fix, replay leaves it dead.
    let out = ws.ok(&["dead-letters", "replay"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 still dead"));
    // Name the model; replay counts it and removes the dead letter.
    let config = ws.path("fix.toml");
    std::fs::write(&config, "[deployments.mystery]\nmodel = \"gpt-4o\"\n").unwrap();
    let out = ws.ok(&["--config", s(&config), "dead-letters", "replay"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 now counted"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(ws.dead_letters().is_empty());
    let report = ws.report(&["--config", s(&config)]);
    let row = &report["rows"][0];
    // 3 + "user"(1) + "What is 2+2?"(7) + 3 priming = 14 prompt tokens; "4" is one token.
    assert_eq!((row["prompt_tokens"].as_u64(), row["completion_tokens"].as_u64()), (Some(14), Some(1)));
    assert_eq!(row["estimated_tokens"].as_u64(), Some(15));
    // Replaying again, or re-ingesting, counts nothing twice.
    ws.ok(&["--config", s(&config), "dead-letters", "replay"]);
    ws.ok(&["--config", s(&config), "ingest", s(&path)]);
    assert_eq!(totals(&ws.report(&["--config", s(&config)])), (1, 15));
}

#[test]
fn unreadable_inputs_fail_clearly_and_count_nothing() {
    let ws = Workspace::new();
    let good_file = ws.write_lines("good.jsonl", &[String::from_utf8(good(1)).unwrap()]);
    // A missing file among good ones: nothing is read, exit 1, the path is named.
    let out = ws.cmd(&["ingest", s(&good_file), "does-not-exist.jsonl"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does-not-exist.jsonl") && err.contains("No such file"), "{err}");
    let out = ws.cmd(&["report"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no usage"), "nothing was counted");
    // A read-only command never creates a store under a mistyped path.
    let typo = ws.path("typo.db");
    let out = std::process::Command::new(BIN).args(["--store", s(&typo), "report"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert!(!typo.exists());
    // A store that is not a database.
    let bogus = ws.path("bogus.db");
    std::fs::write(&bogus, vec![b'z'; 8192]).unwrap();
    let out = std::process::Command::new(BIN).args(["--store", s(&bogus), "report"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open store") && err.contains("hint:"), "{err}");
    // A bad config: exit 2, the field and line named, nothing opened.
    let config = ws.path("bad.toml");
    std::fs::write(&config, "currency = \"USD\"\n[ingest]\nbatch_sise = 10\n").unwrap();
    let out = ws.cmd(&["--config", s(&config), "ingest", s(&good_file)]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("batch_sise") && err.contains("line 3"), "{err}");
}
