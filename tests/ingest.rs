//! Ingesting files into a real SQLite store: exactly once, resumable, and checked against an
//! independent count of the fixture month.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::*;
use serde_json::Value;

/// Sum the fixture month independently of the crate: plain JSON parsing, request-id dedupe,
/// only events that carry a usage block (the streamed ones are counted by the estimator,
/// checked in estimate.rs).
fn oracle(path: &std::path::Path) -> BTreeMap<String, (u64, u64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut seen = HashSet::new();
    let mut by_sub: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
        if v["schema_version"] != 1 || v["usage"].is_null() {
            continue;
        }
        let u = &v["usage"];
        let prompt = u["prompt_tokens"].as_i64().unwrap_or(-1);
        let completion = u["completion_tokens"].as_i64().unwrap_or(0);
        let Some(id) = v["request_id"].as_str() else { continue };
        if prompt < 0
            || u["total_tokens"].as_i64() != Some(prompt + completion)
            || !seen.insert(id.to_owned())
        {
            continue;
        }
        let entry = by_sub.entry(format!("sub:{}", v["subscription_id"].as_str().unwrap())).or_default();
        entry.0 += 1;
        entry.1 += (prompt + completion) as u64;
    }
    by_sub
}

#[test]
fn the_fixture_month_matches_an_independent_count() {
    let ws = Workspace::new();
    let events = fixture("events/2026-10.jsonl");
    ws.ok(&["ingest", s(&events)]);
    let report = ws.report(&["--month", "2026-10"]);
    // Reported usage per subscription, from the store's detail rows (estimated rows excluded
    // by subtracting what the estimator counted is not possible per event, so compare only
    // clients' reported usage via rows without estimated tokens below).
    let expected = oracle(&events);
    let mut reported: BTreeMap<String, u64> = BTreeMap::new();
    for row in report["rows"].as_array().unwrap() {
        let client = row["client"].as_str().unwrap().to_owned();
        let reported_tokens =
            row["total_tokens"].as_u64().unwrap() - row["estimated_tokens"].as_u64().unwrap();
        *reported.entry(client).or_default() += reported_tokens;
    }
    for (sub, (_, tokens)) in &expected {
        assert_eq!(reported.get(sub).copied(), Some(*tokens), "reported tokens of {sub}");
    }
    let v1_requests: u64 = expected.values().map(|(r, _)| r).sum();
    assert!(v1_requests > 2_000, "the fixture exercises the path: {v1_requests}");
}

#[test]
fn ingesting_twice_gives_identical_totals() {
    let ws = Workspace::new();
    let events = fixture("events/2026-10.jsonl");
    let config = fixture("config.toml");
    ws.ok(&["--config", s(&config), "ingest", s(&events)]);
    let first = ws.report(&["--config", s(&config)]);
    let dead_first = ws.dead_letters();
    ws.ok(&["--config", s(&config), "ingest", s(&events)]);
    assert_eq!(ws.report(&["--config", s(&config)]), first);
    assert_eq!(ws.dead_letters(), dead_first);
    // A copy under another name is read in full: every v1 event is a duplicate by request id.
    // Legacy lines carry no id and are identified by source and position, so the copy's
    // legacy lines are the one thing that counts again (documented in the README).
    let copy = ws.path("copy.jsonl");
    std::fs::copy(&events, &copy).unwrap();
    let out = ws.ok(&["--config", s(&config), "ingest", s(&copy)]);
    let summary = String::from_utf8_lossy(&out.stdout);
    let legacy = std::fs::read_to_string(&copy).unwrap().lines().filter(|l| l.contains("\"AppKey\"")).count();
    assert!(summary.contains(&format!(": {legacy} accepted")), "{summary}");
}

#[test]
fn the_same_file_ingested_twice_counts_once() {
    let ws = Workspace::new();
    let events = fixture("events/2026-10.jsonl");
    ws.ok(&["ingest", s(&events)]);
    let first = ws.report(&[]);
    // Forget the checkpoint by touching nothing: a second run resumes at the end.
    ws.ok(&["ingest", s(&events)]);
    assert_eq!(ws.report(&[]), first);
    // Through stdin (no checkpoint at all): dedupe alone must absorb every v1 event, and the
    // legacy ones are identified by source, so stdin is a new source for them.
    let out = ws.cmd(&["ingest", "-"]).stdin(std::fs::File::open(&events).unwrap()).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("duplicates"), "{text}");
    let accepted: u64 =
        text.split(": ").nth(1).unwrap().split(' ').next().unwrap().replace(',', "").parse().unwrap();
    let legacy =
        std::fs::read_to_string(&events).unwrap().lines().filter(|l| l.contains("\"AppKey\"")).count() as u64;
    assert_eq!(accepted, legacy, "{text}");
}

#[test]
fn a_grown_file_resumes_and_a_rewritten_file_is_deduped() {
    let ws = Workspace::new();
    let mut lines: Vec<String> = (0..10)
        .map(|i| {
            v1_event(
                &format!("00000000-0000-4000-8000-{i:012}"),
                "2026-10-05T10:00:00Z",
                "sub-a",
                "d",
                "gpt-4o",
                100,
                10,
            )
        })
        .collect();
    let path = ws.write_lines("events.jsonl", &lines);
    ws.ok(&["ingest", s(&path)]);
    assert_eq!(totals(&ws.report(&[])), (10, 1_100));
    // Grow it: only the new lines are read.
    lines.extend((10..15).map(|i| {
        v1_event(
            &format!("00000000-0000-4000-8000-{i:012}"),
            "2026-10-05T11:00:00Z",
            "sub-a",
            "d",
            "gpt-4o",
            100,
            10,
        )
    }));
    ws.write_lines("events.jsonl", &lines);
    let out = ws.ok(&["ingest", s(&path)]);
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("5 lines"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(totals(&ws.report(&[])), (15, 1_650));
    // Rewrite it with different first lines: read from the start, dedupe absorbs the old ones.
    lines.insert(
        0,
        v1_event(
            "00000000-0000-4000-8000-999999999999",
            "2026-10-04T09:00:00Z",
            "sub-b",
            "d",
            "gpt-4o",
            7,
            3,
        ),
    );
    ws.write_lines("events.jsonl", &lines);
    let out = ws.ok(&["ingest", s(&path)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 accepted, 15 duplicates"), "{text}");
    assert_eq!(totals(&ws.report(&[])), (16, 1_660));
}

#[test]
fn the_billing_time_zone_cuts_the_month() {
    let ws = Workspace::new();
    // 23:30 UTC on 31 October is 00:30 on 1 November in Paris (CET, UTC+1).
    let path = ws.write_lines(
        "e.jsonl",
        &[v1_event(
            "00000000-0000-4000-8000-000000000001",
            "2026-10-31T23:30:00Z",
            "s",
            "d",
            "gpt-4o",
            10,
            0,
        )],
    );
    let config = ws.path("paris.toml");
    std::fs::write(&config, "billing_time_zone = \"Europe/Paris\"\n").unwrap();
    ws.ok(&["--config", s(&config), "ingest", s(&path)]);
    let nov = ws.report(&["--config", s(&config), "--month", "2026-11"]);
    assert_eq!(totals(&nov), (1, 10));
    let oct = ws.report(&["--config", s(&config), "--month", "2026-10"]);
    assert_eq!(totals(&oct), (0, 0));
    // The store is now cut in Paris time: opening it as UTC is refused, naming both.
    let out = ws.cmd(&["report"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Europe/Paris") && err.contains("UTC"), "{err}");
}

#[test]
fn report_formats_carry_the_same_figures() {
    let ws = Workspace::new();
    let config = fixture("config.toml");
    ws.ok(&["--config", s(&config), "ingest", s(&fixture("events/2026-10.jsonl"))]);
    let json = ws.report(&["--config", s(&config), "--month", "2026-10"]);
    let rows = json["rows"].as_array().unwrap();
    let keys: Vec<&str> = rows[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "client",
            "cost_center",
            "deployment",
            "model",
            "requests",
            "prompt_tokens",
            "cached_tokens",
            "completion_tokens",
            "reasoning_tokens",
            "total_tokens",
            "estimated_tokens",
            "cost",
            "currency",
            "share",
            "provisioned_cost",
            "charge_class",
            "corrects"
        ]
    );
    // Exact decimals: the priced rows sum to the total to the last digit.
    let sum: rust_decimal::Decimal = rows
        .iter()
        .filter_map(|r| r["cost"].as_str())
        .map(|c| c.parse::<rust_decimal::Decimal>().unwrap())
        .sum();
    let total: rust_decimal::Decimal = json["totals"]["cost"].as_str().unwrap().parse().unwrap();
    assert_eq!(sum, total);
    // An unpriced model is reported as such, never as zero.
    let unpriced = json["unpriced"].as_array().unwrap();
    assert_eq!(unpriced[0]["model"], "Mistral-Large-2411");
    assert!(rows.iter().filter(|r| r["model"] == "Mistral-Large-2411").all(|r| r["cost"].is_null()));
    // CSV: BOM, header, one line per row, the same costs.
    let csv = ws.ok(&["--config", s(&config), "report", "--format", "csv", "--month", "2026-10"]).stdout;
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&csv[3..]);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), rows.len());
    assert_eq!(&records[0][11], rows[0]["cost"].as_str().unwrap());
    // Grouped by client: one row per client, the same total.
    let by_client = ws.report(&["--config", s(&config), "--by", "client"]);
    assert_eq!(by_client["totals"], json["totals"]);
    let clients: HashSet<&str> =
        by_client["rows"].as_array().unwrap().iter().map(|r| r["client"].as_str().unwrap()).collect();
    assert_eq!(clients.len(), by_client["rows"].as_array().unwrap().len());
    assert!(clients.contains("Contoso Support Bot"));
    // Markdown and table render and name the month.
    for format in ["markdown", "table"] {
        let out = ws.ok(&["--config", s(&config), "report", "--format", format]).stdout;
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("2026-10") && text.contains("Contoso Support Bot") && text.contains("Unpriced"),
            "{text}"
        );
    }
}

#[test]
fn events_older_than_the_dedupe_window_are_dead_lettered_not_counted_blind() {
    let ws = Workspace::new();
    let config = ws.path("window.toml");
    std::fs::write(&config, "dedupe_window_days = 35\n").unwrap();
    let old =
        v1_event("00000000-0000-4000-8000-00000000000a", "2026-10-01T08:00:00Z", "s", "d", "gpt-4o", 10, 0);
    let new =
        v1_event("00000000-0000-4000-8000-00000000000b", "2026-11-20T08:00:00Z", "s", "d", "gpt-4o", 20, 0);
    let first = ws.write_lines("first.jsonl", &[old.clone(), new]);
    ws.ok(&["--config", s(&config), "ingest", s(&first)]);
    // 1 October is now 50 days before the newest event: its id is forgotten. Seen again (a
    // redelivery), it must not count twice; an unseen event that old cannot be checked either.
    let other =
        v1_event("00000000-0000-4000-8000-00000000000c", "2026-10-02T08:00:00Z", "s", "d", "gpt-4o", 30, 0);
    let again = ws.write_lines("again.jsonl", &[old, other]);
    ws.ok(&["--config", s(&config), "ingest", s(&again)]);
    assert_eq!(totals(&ws.report(&["--config", s(&config), "--month", "2026-10"])), (1, 10));
    let dead = ws.dead_letters();
    assert_eq!(dead.len(), 2);
    assert!(dead.iter().all(|d| d["reason"].as_str().unwrap().contains("older than the dedupe window")));
}
