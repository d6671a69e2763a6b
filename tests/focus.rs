//! The fixture month's FOCUS 1.2 CSV, produced by the real binary, checked against the
//! specification's column rules: required columns present, types and formats valid, allowed
//! values, quantity × unit price = cost, and costs summing exactly to the report's total.

mod common;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use common::{Workspace, fixture, s};

/// FOCUS 1.2 columns a dataset MUST carry (mandatory), and the conditional ones that apply to
/// metered usage like ours.
const REQUIRED: [&str; 36] = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ResourceId",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceId",
    "SubAccountId",
    "Tags",
];
/// Columns that MUST NOT be null.
const NOT_NULL: [&str; 20] = [
    "BilledCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "PricingQuantity",
    "PricingUnit",
];
const DECIMALS: [&str; 8] = [
    "BilledCost",
    "ContractedCost",
    "EffectiveCost",
    "ListCost",
    "ConsumedQuantity",
    "PricingQuantity",
    "ListUnitPrice",
    "ContractedUnitPrice",
];
const DATETIMES: [&str; 4] =
    ["BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"];

struct Focus {
    rows: Vec<HashMap<String, String>>,
    header: Vec<String>,
}

fn focus(ws: &Workspace, config: &std::path::Path) -> (Focus, Value) {
    let out = ws.ok(&["--config", s(config), "report", "--month", "2026-10", "--format", "focus"]).stdout;
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader
        .records()
        .map(|r| header.iter().cloned().zip(r.unwrap().iter().map(str::to_owned)).collect())
        .collect();
    let json = ws.ok(&["--config", s(config), "report", "--month", "2026-10", "--format", "json"]).stdout;
    (Focus { rows, header }, serde_json::from_slice(&json).unwrap())
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap_or_else(|_| panic!("not a FOCUS decimal: {text:?}"))
}

/// FOCUS date/time format: ISO 8601 in UTC, `YYYY-MM-DDTHH:mm:ssZ`.
fn utc(text: &str) -> DateTime<Utc> {
    assert!(
        text.len() == 20 && text.ends_with('Z') && text.as_bytes()[10] == b'T',
        "not UTC ISO 8601: {text}"
    );
    text.parse().unwrap()
}

#[test]
fn fixture_month_follows_the_focus_column_rules() {
    let ws = Workspace::new();
    let config = fixture("config.toml");
    ws.ok(&["--config", s(&config), "ingest", s(&fixture("events/2026-10.jsonl"))]);
    let (focus, report) = focus(&ws, &config);
    assert!(!focus.rows.is_empty());
    for column in REQUIRED {
        assert!(focus.header.iter().any(|h| h == column), "missing FOCUS column {column}");
    }
    // Every column is a FOCUS column or an x_ extension, none twice.
    let focus_columns: std::collections::HashSet<&str> =
        aoai_chargeback::report::focus::COLUMNS[..42].iter().copied().collect();
    for h in &focus.header {
        assert!(focus_columns.contains(h.as_str()) || h.starts_with("x_"), "custom column without x_: {h}");
    }
    assert_eq!(focus.header.len(), focus.header.iter().collect::<std::collections::HashSet<_>>().len());

    let million = Decimal::from(1_000_000u32);
    let mut total = Decimal::ZERO;
    let mut tokens: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for row in &focus.rows {
        let get = |c: &str| row[c].as_str();
        for c in NOT_NULL {
            assert!(!get(c).is_empty(), "{c} is null in {row:?}");
        }
        for c in DECIMALS {
            if !get(c).is_empty() {
                dec(get(c));
            }
        }
        let [bs, be, cs, ce] = DATETIMES.map(|c| utc(get(c)));
        assert!(bs < be && cs < ce && bs <= cs && ce <= be, "periods: {row:?}");
        assert_eq!(
            (cs.to_rfc3339(), ce.to_rfc3339()),
            ("2026-10-01T00:00:00+00:00".into(), "2026-11-01T00:00:00+00:00".into())
        );
        assert!(
            get("BillingCurrency").len() == 3
                && get("BillingCurrency").chars().all(|c| c.is_ascii_uppercase())
        );
        assert_eq!(get("BillingCurrency"), get("PricingCurrency"));
        assert!(["Usage", "Purchase", "Tax", "Credit", "Adjustment"].contains(&get("ChargeCategory")));
        assert!(["", "Correction"].contains(&get("ChargeClass")));
        assert!(["One-Time", "Recurring", "Usage-Based"].contains(&get("ChargeFrequency")));
        assert!(["Standard", "Dynamic", "Committed", "Other", ""].contains(&get("PricingCategory")));
        assert_eq!(
            (get("ServiceCategory"), get("ServiceSubcategory")),
            ("AI and Machine Learning", "Generative AI")
        );
        assert!(
            ["Input Tokens", "Cached Input Tokens", "Output Tokens", "Provisioned Throughput"]
                .contains(&get("SkuMeter")),
            "{}",
            get("SkuMeter")
        );
        // Costs: non-null decimals, all four equal (list prices, no discounts).
        let cost = dec(get("BilledCost"));
        for c in ["EffectiveCost", "ListCost", "ContractedCost"] {
            assert_eq!(dec(get(c)), cost, "{c}");
        }
        // ConsumedUnit is set exactly when ConsumedQuantity is.
        assert_eq!(get("ConsumedQuantity").is_empty(), get("ConsumedUnit").is_empty());
        assert_eq!(get("ConsumedUnit"), "Tokens");
        // Quantity × unit price = cost when a unit price is given.
        if !get("ListUnitPrice").is_empty() {
            assert_eq!(dec(get("PricingQuantity")) * dec(get("ListUnitPrice")), cost, "{row:?}");
            assert_eq!(dec(get("PricingQuantity")) * million, dec(get("ConsumedQuantity")));
        }
        // Unpriced usage: cost 0, flagged, never with a unit price.
        if get("x_Unpriced") == "true" {
            assert!(get("ListUnitPrice").is_empty());
        } else {
            assert_eq!(get("x_Unpriced"), "false");
        }
        let tags: Value = serde_json::from_str(get("Tags")).expect("Tags is JSON");
        let tags = tags.as_object().expect("Tags is an object");
        assert!(tags.values().all(Value::is_string));
        assert_eq!(tags["client"], get("x_Client"));
        total += cost;
        *tokens
            .entry((get("x_Client").into(), get("ResourceId").into(), get("x_Model").into()))
            .or_default() += get("ConsumedQuantity").parse::<u64>().unwrap();
    }
    // Costs sum exactly to the report's total.
    assert_eq!(total, dec(report["totals"]["cost"].as_str().unwrap()));
    // Token types add up to each detail row's prompt + completion tokens.
    for row in report["rows"].as_array().unwrap() {
        let key = (
            row["client"].as_str().unwrap().to_owned(),
            row["deployment"].as_str().unwrap().to_owned(),
            row["model"].as_str().unwrap().to_owned(),
        );
        let expected = row["prompt_tokens"].as_u64().unwrap() + row["completion_tokens"].as_u64().unwrap();
        assert_eq!(tokens.get(&key).copied().unwrap_or(0), expected, "{key:?}");
    }
    // The fixture's unpriced model is there, flagged, at zero cost.
    let unpriced: Vec<_> = focus.rows.iter().filter(|r| r["x_Unpriced"] == "true").collect();
    assert!(!unpriced.is_empty() && unpriced.iter().all(|r| dec(&r["BilledCost"]).is_zero()));
    assert!(unpriced.iter().all(|r| r["x_Model"] == "Mistral-Large-2411"));
}

#[test]
fn charge_period_is_the_billing_month_in_utc() {
    let ws = Workspace::new();
    let config = ws.path("config.toml");
    std::fs::write(&config, "billing_time_zone = \"America/New_York\"\n").unwrap();
    ws.ok(&["--config", s(&config), "ingest", s(&fixture("events/2026-10.jsonl"))]);
    let (focus, _) = focus(&ws, &config);
    assert!(!focus.rows.is_empty());
    // New York is UTC-4 at midnight on both 1 October and 1 November 2026 (DST ends at 02:00).
    for row in &focus.rows {
        assert_eq!(row["ChargePeriodStart"], "2026-10-01T04:00:00Z");
        assert_eq!(row["ChargePeriodEnd"], "2026-11-01T04:00:00Z");
    }
}
