//! Month close and provisioned (PTU) allocation, through the real binary and real SQLite files:
//! a closed month's reports stay byte-identical when late events arrive, the late usage shows
//! up as corrections of the next open month, a month that has not ended cannot be closed, and
//! a provisioned deployment's cost is allocated to the cent.

mod common;

use common::*;
use rust_decimal::Decimal;
use serde_json::Value;

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn ev(n: u32, time: &str, sub: &str, deployment: &str, prompt: u64, completion: u64) -> String {
    v1_event(&id(n), time, sub, deployment, "gpt-4o-2024-08-06", prompt, completion)
}

fn stdout(ws: &Workspace, args: &[&str]) -> Vec<u8> {
    ws.ok(args).stdout
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap_or_else(|| panic!("not a decimal string: {v}")).parse().unwrap()
}

const FORMATS: [&str; 4] = ["table", "csv", "json", "markdown"];

#[test]
fn a_closed_month_never_changes_and_late_usage_is_corrected_next_month() {
    let ws = Workspace::new();
    let first = ws.write_lines(
        "first.jsonl",
        &[
            ev(1, "2026-09-10T10:00:00Z", "sub-a", "d1", 100, 50),
            ev(2, "2026-09-20T10:00:00Z", "sub-b", "d1", 200, 10),
            ev(3, "2026-10-05T10:00:00Z", "sub-a", "d1", 1000, 100),
        ],
    );
    ws.ok(&["ingest", s(&first)]);
    let closed = String::from_utf8(stdout(&ws, &["close", "--month", "2026-09"])).unwrap();
    assert!(closed.contains("closed 2026-09"), "{closed}");
    let again = String::from_utf8(stdout(&ws, &["close", "--month", "2026-09"])).unwrap();
    assert!(again.contains("already closed"), "{again}");

    let render = |month: &str| -> Vec<Vec<u8>> {
        FORMATS.iter().map(|f| stdout(&ws, &["report", "--month", month, "--format", f])).collect()
    };
    let september = render("2026-09");
    let october_before = ws.report(&["--month", "2026-10"]);
    assert_eq!(october_before["corrections"].as_array().unwrap().len(), 0);

    // Late events for the closed month (and one duplicate of an event already counted).
    let late = ws.write_lines(
        "late.jsonl",
        &[
            ev(4, "2026-09-30T23:00:00Z", "sub-a", "d1", 7, 3),
            ev(5, "2026-09-01T00:00:00Z", "sub-c", "d1", 40, 2),
            ev(1, "2026-09-10T10:00:00Z", "sub-a", "d1", 100, 50),
            ev(6, "2026-10-06T10:00:00Z", "sub-b", "d1", 1, 1),
        ],
    );
    ws.ok(&["ingest", s(&late)]);
    assert_eq!(render("2026-09"), september, "a closed month's reports are byte-identical");
    let september_json: Value = serde_json::from_slice(&september[2]).unwrap();
    assert_eq!(totals(&september_json), (2, 360));

    let october = ws.report(&["--month", "2026-10"]);
    assert_eq!(totals(&october), (2, 1102), "October's own usage: event 3 and the new event 6");
    let corrections = october["corrections"].as_array().unwrap();
    assert_eq!(corrections.len(), 2, "{corrections:?}");
    assert!(corrections.iter().all(|c| c["corrects"] == "2026-09" && c["charge_class"] == "correction"));
    let ct = &october["corrections_totals"];
    assert_eq!((ct["requests"].as_u64(), ct["total_tokens"].as_u64()), (Some(2), Some(52)));
    let correction_cost: Decimal = corrections.iter().map(|c| dec(&c["cost"])).sum();
    assert_eq!(dec(&ct["cost"]), correction_cost);
    assert!(correction_cost > Decimal::ZERO);
    assert!(october["rows"].as_array().unwrap().iter().all(|r| r["charge_class"] == "usage"));

    let csv = String::from_utf8(stdout(&ws, &["report", "--month", "2026-10", "--format", "csv"])).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with("share,provisioned_cost,charge_class,corrects"), "{header}");
    assert_eq!(csv.lines().filter(|l| l.ends_with(",correction,2026-09")).count(), 2, "{csv}");
    let table = String::from_utf8(stdout(&ws, &["report", "--month", "2026-10"])).unwrap();
    assert!(table.contains("Corrections charged in 2026-10"), "{table}");

    // Rendering twice gives the same bytes: nothing in a report depends on when it was run.
    assert_eq!(render("2026-10"), render("2026-10"));

    // With October closed too, September's late usage goes to November.
    ws.ok(&["close", "--month", "2026-10"]);
    let october_closed = render("2026-10");
    let later = ws.write_lines("later.jsonl", &[ev(7, "2026-09-15T00:00:00Z", "sub-a", "d1", 5, 5)]);
    ws.ok(&["ingest", s(&later)]);
    assert_eq!(render("2026-10"), october_closed);
    assert_eq!(render("2026-09"), september);
    let november = ws.report(&["--month", "2026-11"]);
    assert_eq!(totals(&november), (0, 0));
    let ct = &november["corrections_totals"];
    assert_eq!((ct["requests"].as_u64(), ct["total_tokens"].as_u64()), (Some(1), Some(10)));
    assert_eq!(november["corrections"][0]["corrects"], "2026-09");
}

#[test]
fn a_month_that_has_not_ended_cannot_be_closed() {
    let ws = Workspace::new();
    let file = ws.write_lines("e.jsonl", &[ev(1, "2026-09-10T10:00:00Z", "sub-a", "d1", 1, 1)]);
    ws.ok(&["ingest", s(&file)]);
    let now = chrono::Utc::now();
    for month in [now.format("%Y-%m").to_string(), "2999-01".to_owned()] {
        let out = ws.cmd(&["close", "--month", &month]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{month}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("has not ended"), "{err}");
    }
    // Nothing was closed: a late event for the current month still counts in it.
    let out = ws.cmd(&["close", "--month", "2026-13"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn provisioned_cost_is_allocated_to_the_cent() {
    let ws = Workspace::new();
    let config = ws.path("config.toml");
    std::fs::write(
        &config,
        "[deployments.ptu]\nmodel = \"gpt-4o-2024-08-06\"\nprovisioned_monthly_cost = \"1000.00\"\n\
         [deployments.idle]\nmodel = \"gpt-4o-2024-08-06\"\nprovisioned_monthly_cost = \"50.00\"\n\
         [provisioned]\ninput_weight = \"1\"\ncached_input_weight = \"0\"\noutput_weight = \"4\"\n",
    )
    .unwrap();
    let lines: Vec<String> = (0..7u32)
        .map(|n| ev(n + 1, "2026-10-10T10:00:00Z", &format!("sub-{n}"), "ptu", 100 + u64::from(n), 33))
        .chain([ev(100, "2026-10-11T10:00:00Z", "sub-0", "payg", 100, 10)])
        .collect();
    let file = ws.write_lines("e.jsonl", &lines);
    let c = s(&config);
    ws.ok(&["--config", c, "ingest", s(&file)]);
    for by in ["detail", "client", "deployment"] {
        let report = ws.report(&["--config", c, "--month", "2026-10", "--by", by]);
        let rows = report["rows"].as_array().unwrap();
        let allocated: Decimal = rows
            .iter()
            .filter(|r| !r["provisioned_cost"].is_null())
            .map(|r| dec(&r["provisioned_cost"]))
            .sum();
        assert_eq!(allocated, "1000.00".parse::<Decimal>().unwrap(), "--by {by}");
        assert_eq!(dec(&report["totals"]["provisioned_cost"]), allocated);
        assert!(rows.iter().all(|r| r["cost"].is_string()), "pay-as-you-go cost still shown");
        let unallocated = &report["provisioned_unallocated"];
        assert_eq!(unallocated.as_array().unwrap().len(), 1);
        assert_eq!(
            (unallocated[0]["deployment"].as_str(), dec(&unallocated[0]["cost"])),
            (Some("idle"), Decimal::from(50))
        );
    }
    let detail = ws.report(&["--config", c, "--month", "2026-10"]);
    let payg = detail["rows"].as_array().unwrap().iter().find(|r| r["deployment"] == "payg").unwrap();
    assert!(payg["provisioned_cost"].is_null());
    let table = String::from_utf8(ws.ok(&["--config", c, "report", "--month", "2026-10"]).stdout).unwrap();
    assert!(table.contains("provisioned") && table.contains("1000.00"), "{table}");
    assert!(table.contains("deployment idle had no usage"), "{table}");
}
