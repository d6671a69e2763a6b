//! The JSON Schema (schemas/usage-event.v1.schema.json) is the single source of truth: the
//! fixtures and the APIM sample events validate against it, and what the decoder refuses the
//! schema refuses too.

mod common;

use common::*;
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schemas/usage-event.v1.schema.json")).unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&schema).expect("the schema itself is valid")
}

#[test]
fn every_v1_event_of_the_fixture_month_validates() {
    let validator = validator();
    let text = std::fs::read_to_string(fixture("events/2026-10.jsonl")).unwrap();
    let mut valid = 0;
    for (n, line) in text.lines().enumerate() {
        let Ok(event) = serde_json::from_str::<Value>(line) else { continue };
        if event.get("schema_version").is_none() {
            continue; // legacy shape: not described by the v1 schema
        }
        let broken = event.get("request_id").is_none()
            || event["usage"]["prompt_tokens"].as_i64().is_some_and(|p| p < 0);
        let errors: Vec<String> = validator.iter_errors(&event).map(|e| e.to_string()).collect();
        if broken {
            assert!(!errors.is_empty(), "line {} is broken yet validates", n + 1);
        } else {
            assert!(errors.is_empty(), "line {}: {errors:?}", n + 1);
            valid += 1;
        }
    }
    assert!(valid > 2_500, "{valid}");
}

#[test]
fn the_apim_sample_events_validate_and_ingest() {
    let dir = fixture("apim");
    let Ok(entries) = std::fs::read_dir(&dir) else { panic!("{} is missing", dir.display()) };
    let validator = validator();
    let ws = Workspace::new();
    let mut lines = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let errors: Vec<String> = validator.iter_errors(&event).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        lines.push(event.to_string());
    }
    assert!(lines.len() >= 8, "one sample per API kind");
    let path = ws.write_lines("apim.jsonl", &lines);
    let config = ws.path("c.toml");
    std::fs::write(&config, "[deployments.gpt-4o-prod]\nmodel = \"gpt-4o-2024-08-06\"\n").unwrap();
    ws.ok(&["--config", s(&config), "ingest", s(&path)]);
    assert!(ws.dead_letters().is_empty(), "{:#?}", ws.dead_letters());
    let report = ws.report(&["--config", s(&config)]);
    assert_eq!(totals(&report).0, lines.len() as u64);
}
