//! FOCUS 1.2 cost and usage CSV (`report --format focus`): one row per client, deployment,
//! model and token type (`SkuMeter`), plus a row per allocated provisioned cost, plus
//! correction rows. Pure. `docs/focus.md` documents how every column is derived.
//!
//! Hides the split of a row's exact cost into token types: input and cached input are priced
//! at the price in force at the end of the month, and output takes the remainder, so that the
//! rows of a (client, deployment, model) sum exactly to its cost even when a price changed
//! during the month.

use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::json;

use super::{Report, ReportRow};

/// The columns, in order: FOCUS 1.2 columns first, then `x_` extensions.
pub const COLUMNS: [&str; 47] = [
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
    "CommitmentDiscountId",
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
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "x_Client",
    "x_CostCenter",
    "x_Model",
    "x_Unpriced",
    "x_Corrects",
];

/// Who issues this internal chargeback (not Microsoft: the platform team re-bills usage).
pub const ISSUER: &str = "aoai-chargeback";
pub const SERVICE: &str = "Azure OpenAI";

/// Token types, as `SkuMeter` values. Reasoning tokens are billed as output tokens, so they
/// are part of "Output Tokens".
pub const METERS: [&str; 3] = ["Input Tokens", "Cached Input Tokens", "Output Tokens"];
pub const PROVISIONED_METER: &str = "Provisioned Throughput";

/// One FOCUS row before formatting.
#[derive(Debug, Clone, PartialEq)]
pub struct FocusRow<'r> {
    pub row: &'r ReportRow,
    pub meter: &'static str,
    /// Tokens consumed (for a provisioned row: all the row's tokens, which set its share).
    pub quantity: u64,
    /// A share of a provisioned deployment's fixed monthly cost, not a metered charge.
    pub provisioned: bool,
    pub cost: Decimal,
    /// Price per 1M tokens, `None` when unpriced or provisioned.
    pub unit_price: Option<Decimal>,
    pub family: Option<&'r str>,
    pub price_from: Option<chrono::NaiveDate>,
    pub unpriced: bool,
}

/// The FOCUS rows of a report: usage rows then corrections. Their costs sum exactly to
/// `report.totals.cost` + allocated provisioned cost + correction costs.
pub fn rows(report: &Report) -> Vec<FocusRow<'_>> {
    let mut out = Vec::new();
    for row in report.rows.iter().chain(&report.corrections) {
        let t = &row.totals;
        let quantities =
            [t.prompt_tokens.saturating_sub(t.cached_tokens), t.cached_tokens, t.completion_tokens];
        let price = row.model.as_deref().and_then(|m| report.context.price_of(m));
        let unpriced = t.is_unpriced();
        let cost = row.cost().unwrap_or_default();
        let unit_prices = price.map(|p| [p.price.input, p.price.cached_input, p.price.output]);
        let mut costs = [Decimal::ZERO; 3];
        if row.cost().is_some() {
            match unit_prices {
                Some(unit) if !unpriced => {
                    let million = Decimal::from(1_000_000u32);
                    costs[0] = Decimal::from(quantities[0]) * unit[0] / million;
                    costs[1] = Decimal::from(quantities[1]) * unit[1] / million;
                    // Output takes the remainder: exact sum even across a mid-month price change.
                    costs[2] = cost - costs[0] - costs[1];
                }
                // Partly unpriced (or no price row known): the priced part cannot be split
                // reliably, so it all goes on output; the rows say x_Unpriced.
                _ => costs[2] = cost,
            }
        }
        for i in 0..3 {
            if quantities[i] == 0 && costs[i].is_zero() {
                continue;
            }
            // FOCUS: quantity × unit price must equal the cost; a remainder that does not (a
            // price change within the month) gets no unit price rather than a wrong one.
            let million = Decimal::from(1_000_000u32);
            let unit_price = unit_prices
                .filter(|_| !unpriced)
                .map(|u| u[i])
                .filter(|u| Decimal::from(quantities[i]) * u / million == costs[i]);
            out.push(FocusRow {
                row,
                meter: METERS[i],
                quantity: quantities[i],
                provisioned: false,
                cost: costs[i],
                unit_price,
                family: price.map(|p| p.family.as_str()),
                price_from: price.map(|p| p.price.effective),
                unpriced,
            });
        }
        if let Some(p) = row.provisioned_cost {
            out.push(FocusRow {
                row,
                meter: PROVISIONED_METER,
                quantity: t.total_tokens,
                provisioned: true,
                cost: p,
                unit_price: None,
                family: price.map(|p| p.family.as_str()),
                price_from: None,
                unpriced: false,
            });
        }
    }
    out
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Write the CSV (UTF-8, no BOM: FOCUS loaders expect plain UTF-8).
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let (start, end) = match report.context.period {
        Some((s, e)) => (iso(s), iso(e)),
        None => return Err(io::Error::other("FOCUS needs the billing period: build the report's context")),
    };
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS)?;
    for f in rows(report) {
        let r = f.row;
        let client = r.client.as_deref().unwrap_or("");
        let deployment = r.deployment.as_deref().unwrap_or("");
        let model = r.model.as_deref().unwrap_or("");
        let cost = f.cost.normalize().to_string();
        let provisioned = f.provisioned;
        let tags =
            json!({"client": client, "cost_center": r.cost_center.as_deref().unwrap_or("")}).to_string();
        let description = if provisioned {
            format!("Provisioned throughput share of deployment {deployment} for {client}")
        } else {
            format!("{model} {} on deployment {deployment} for {client}", f.meter.to_lowercase())
        };
        let quantity = f.quantity.to_string();
        // A provisioned row is priced as one allocated share of the fixed fee.
        let pricing_quantity = if provisioned {
            "1".to_owned()
        } else {
            (Decimal::from(f.quantity) / Decimal::from(1_000_000u32)).normalize().to_string()
        };
        let unit_price = f.unit_price.map(|p| p.normalize().to_string()).unwrap_or_default();
        let sku_price_id = match (f.family, f.price_from, provisioned) {
            (Some(family), Some(from), false) => format!("{family}/{}/{from}", f.meter),
            _ => String::new(),
        };
        let record: [String; 47] = [
            cost.clone(),
            ISSUER.into(),
            ISSUER.into(),
            "Internal chargeback".into(),
            report.currency.clone(),
            end.clone(),
            start.clone(),
            "Usage".into(),
            if r.corrects.is_some() { "Correction".into() } else { String::new() },
            description,
            "Usage-Based".into(),
            end.clone(),
            start.clone(),
            String::new(),
            quantity,
            "Tokens".into(),
            cost.clone(),
            unit_price.clone(),
            cost.clone(),
            ISSUER.into(),
            cost.clone(),
            unit_price,
            if provisioned { "Committed".into() } else { "Standard".into() },
            report.currency.clone(),
            pricing_quantity,
            if provisioned { "Allocated Share".into() } else { "1M Tokens".into() },
            "Microsoft".into(),
            "Microsoft".into(),
            String::new(),
            String::new(),
            deployment.into(),
            deployment.into(),
            "Azure OpenAI deployment".into(),
            "AI and Machine Learning".into(),
            SERVICE.into(),
            "Generative AI".into(),
            f.family.unwrap_or(model).into(),
            f.meter.into(),
            sku_price_id,
            client.into(),
            client.into(),
            tags,
            client.into(),
            r.cost_center.clone().unwrap_or_default(),
            model.into(),
            f.unpriced.to_string(),
            r.corrects.clone().unwrap_or_default(),
        ];
        w.write_record(&record)?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Totals;
    use crate::price::Price;
    use crate::report::context::{ModelPrice, RenderContext};
    use crate::report::{GroupBy, Report};

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn row(
        client: &str,
        model: &str,
        prompt: u64,
        cached: u64,
        completion: u64,
        cost: &str,
        unpriced: bool,
    ) -> ReportRow {
        let total = prompt + completion;
        ReportRow {
            client: Some(client.into()),
            cost_center: Some("CC-1".into()),
            deployment: Some("d1".into()),
            model: Some(model.into()),
            totals: Totals {
                requests: 1,
                prompt_tokens: prompt,
                cached_tokens: cached,
                completion_tokens: completion,
                total_tokens: total,
                unpriced_tokens: if unpriced { total } else { 0 },
                cost: dec(cost),
                ..Totals::default()
            },
            share: None,
            provisioned_cost: None,
            corrects: None,
        }
    }

    fn report(rows: Vec<ReportRow>, corrections: Vec<ReportRow>) -> Report {
        let totals = rows.iter().fold(Totals::default(), |mut t, r| {
            t.add(&r.totals);
            t
        });
        let price = Price {
            effective: "2024-01-01".parse().unwrap(),
            input: dec("2.5"),
            cached_input: dec("1.25"),
            output: dec("10"),
        };
        Report {
            month: "2026-10".into(),
            currency: "USD".into(),
            group_by: GroupBy::Detail,
            rows,
            totals,
            unpriced: Vec::new(),
            corrections,
            provisioned_unallocated: Vec::new(),
            context: RenderContext {
                daily: Vec::new(),
                prices: vec![ModelPrice { model: "gpt-4o".into(), family: "gpt-4o".into(), price }],
                period: Some((
                    "2026-09-30T22:00:00Z".parse().unwrap(),
                    "2026-10-31T23:00:00Z".parse().unwrap(),
                )),
            },
        }
    }

    #[test]
    fn split_by_token_type_sums_exactly_and_unpriced_is_flagged() {
        // 600 input * 2.5 + 400 cached * 1.25 + 250 output * 10 = 4500 per million.
        let priced = row("A", "gpt-4o", 1000, 400, 250, "0.0045", false);
        let unpriced = row("B", "mystery", 100, 0, 10, "0", true);
        let r = report(vec![priced, unpriced], Vec::new());
        let rows = rows(&r);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].cost, dec("0.0015"));
        assert_eq!(rows[1].cost, dec("0.0005"));
        assert_eq!(rows[2].cost, dec("0.0025"));
        assert_eq!(rows.iter().map(|f| f.cost).sum::<Decimal>(), r.totals.cost);
        assert!(rows[3..].iter().all(|f| f.unpriced && f.cost.is_zero() && f.unit_price.is_none()));
    }

    #[test]
    fn corrections_and_provisioned_rows() {
        let mut ptu = row("A", "gpt-4o", 1000, 0, 0, "0.0025", false);
        ptu.provisioned_cost = Some(dec("100.005"));
        let mut late = row("C", "gpt-4o", 1000, 0, 0, "0.0025", false);
        late.corrects = Some("2026-09".into());
        let r = report(vec![ptu], vec![late]);
        let mut csv = Vec::new();
        render(&r, &mut csv).unwrap();
        let text = String::from_utf8(csv).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let col = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(&records[1][col("SkuMeter")], PROVISIONED_METER);
        assert_eq!(&records[1][col("BilledCost")], "100.005");
        assert_eq!(&records[1][col("ConsumedQuantity")], "1000");
        assert_eq!(&records[1][col("ListUnitPrice")], "");
        assert_eq!(&records[2][col("ChargeClass")], "Correction");
        assert_eq!(&records[2][col("x_Corrects")], "2026-09");
        assert_eq!(&records[0][col("ChargeClass")], "");
        assert_eq!(&records[0][col("ChargePeriodStart")], "2026-09-30T22:00:00Z");
        assert_eq!(&records[0][col("Tags")], r#"{"client":"A","cost_center":"CC-1"}"#);
        let sum: Decimal = records.iter().map(|r| r[col("BilledCost")].parse::<Decimal>().unwrap()).sum();
        assert_eq!(sum, dec("100.005") + dec("0.0025") + dec("0.0025"));
    }
}
