//! `chargeback status` on a real store: after ingesting the fixture month with the fixture
//! config (whose budgets fire), closing the month, the JSON status names the months, the closed
//! month, the file checkpoint at the file's end, the dead letters and the alerts.

mod common;

use common::{Workspace, fixture, s};

#[test]
fn status_shows_store_checkpoints_dead_letters_alerts_and_closed_months() {
    let ws = Workspace::new();
    let config = fixture("config.toml");
    let events = fixture("events/2026-10.jsonl");
    ws.ok(&["--config", s(&config), "ingest", s(&events)]);
    ws.ok(&["--config", s(&config), "close", "--month", "2026-10"]);

    let out = ws.ok(&["--config", s(&config), "status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["store"]["months"], serde_json::json!(["2026-10"]));
    assert_eq!(status["store"]["closed_months"], serde_json::json!(["2026-10"]));
    assert!(status["store"]["size_bytes"].as_u64().unwrap() > 0);

    let checkpoints = status["checkpoints"].as_array().unwrap();
    assert_eq!(checkpoints.len(), 1, "{checkpoints:?}");
    let file_len = std::fs::metadata(&events).unwrap().len();
    assert_eq!(checkpoints[0]["position"].as_u64(), Some(file_len), "read to the end");
    assert_eq!(checkpoints[0]["partition"], "");
    assert_eq!(status["partitions"], serde_json::json!([]), "no Event Hubs partitions");

    let dead = ws.dead_letters().len() as u64;
    assert!(dead > 0, "the fixture month has bad lines");
    assert_eq!(status["dead_letters"]["count"].as_u64(), Some(dead));

    let listed = ws.ok(&["--config", s(&config), "alerts", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let fired = listed.as_array().unwrap().len() as u64;
    assert!(fired > 0, "the fixture budgets fire");
    assert_eq!(status["alerts"]["alerts"].as_u64(), Some(fired));

    let text = String::from_utf8(ws.ok(&["--config", s(&config), "status"]).stdout).unwrap();
    assert!(text.contains(&format!("dead letters {dead}")), "{text}");
    assert!(text.contains("closed       2026-10"), "{text}");
}
