//! Prices: an effective-dated table of per-model token prices, in exact decimals.
//!
//! The shipped table (`src/prices.toml`) holds Azure OpenAI list prices; the config's own
//! `[[prices]]` replace it model by model. A model without a price is *unpriced*: it gets no
//! cost at all, never a cost of zero, and the report says so.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::event::Tokens;
use crate::model;

/// The shipped table, compiled in.
const SHIPPED: &str = include_str!("prices.toml");

/// One row of a price table, as written in TOML. Prices are per 1,000,000 tokens.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceRow {
    /// Model family this row prices (`gpt-4o` prices `gpt-4o-2024-08-06` too).
    pub model: String,
    /// First billing day (in the billing time zone) the row applies to.
    pub effective: NaiveDate,
    /// Price of 1M uncached input (prompt) tokens.
    pub input: Decimal,
    /// Price of 1M cached input tokens; the input price when absent.
    pub cached_input: Option<Decimal>,
    /// Price of 1M output tokens, reasoning tokens included.
    pub output: Decimal,
}

/// The prices of one model from one day on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub effective: NaiveDate,
    pub input: Decimal,
    pub cached_input: Decimal,
    pub output: Decimal,
}

impl Price {
    /// Exact cost of `tokens` at this price.
    pub fn cost(&self, tokens: &Tokens) -> Decimal {
        let uncached = Decimal::from(tokens.prompt - tokens.cached);
        let per_million = uncached * self.input
            + Decimal::from(tokens.cached) * self.cached_input
            + Decimal::from(tokens.completion) * self.output;
        per_million / Decimal::from(1_000_000u32)
    }
}

/// Prices by model family, each family's rows sorted by effective date.
#[derive(Debug, Clone)]
pub struct PriceTable {
    families: BTreeMap<String, Vec<Price>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShippedTable {
    currency: String,
    prices: Vec<PriceRow>,
}

impl PriceTable {
    /// The shipped table, with `overrides` replacing every shipped row of the models they
    /// name. A currency other than the shipped one drops the shipped table entirely, since its
    /// prices would be in the wrong money.
    pub fn new(currency: &str, overrides: &[PriceRow]) -> PriceTable {
        let shipped: ShippedTable = toml::from_str(SHIPPED).expect("src/prices.toml is valid");
        let mut table = PriceTable { families: BTreeMap::new() };
        if shipped.currency == currency {
            let overridden = |row: &PriceRow| overrides.iter().any(|o| o.model == row.model);
            for row in shipped.prices.iter().filter(|r| !overridden(r)) {
                table.insert(row);
            }
        }
        for row in overrides {
            table.insert(row);
        }
        table
    }

    fn insert(&mut self, row: &PriceRow) {
        let rows = self.families.entry(row.model.to_ascii_lowercase()).or_default();
        rows.push(Price {
            effective: row.effective,
            input: row.input,
            cached_input: row.cached_input.unwrap_or(row.input),
            output: row.output,
        });
        rows.sort_by_key(|p| p.effective);
    }

    /// Every row of the table, by model family then effective date (for the HTML report's
    /// price table).
    pub fn rows(&self) -> impl Iterator<Item = (&str, &Price)> {
        self.families.iter().flat_map(|(family, rows)| rows.iter().map(move |p| (family.as_str(), p)))
    }

    /// The price of `model` on `day`, or `None` when it is unpriced.
    pub fn lookup(&self, model: &str, day: NaiveDate) -> Option<&Price> {
        let family = model::family(model, self.families.keys().map(String::as_str))?;
        self.families[family].iter().rev().find(|p| p.effective <= day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn cost_is_exact_and_splits_cached_input() {
        let table = PriceTable::new("USD", &[]);
        let price = table.lookup("gpt-4o-2024-08-06", day("2026-10-01")).unwrap();
        let tokens = Tokens { prompt: 1_000, cached: 400, completion: 250, reasoning: 0 };
        // 600 * 2.50 + 400 * 1.25 + 250 * 10.00 = 1500 + 500 + 2500 = 4500 per million.
        assert_eq!(price.cost(&tokens), dec("0.0045"));
    }

    #[test]
    fn most_specific_family_and_effective_date_win() {
        let table = PriceTable::new("USD", &[]);
        let mini = table.lookup("gpt-4o-mini-2024-07-18", day("2026-10-01")).unwrap();
        assert_eq!(mini.input, dec("0.15"));
        assert_eq!(table.lookup("o3-2025-04-16", day("2025-05-01")).unwrap().input, dec("10.00"));
        assert_eq!(table.lookup("o3-2025-04-16", day("2025-06-10")).unwrap().input, dec("2.00"));
        assert!(table.lookup("gpt-4o", day("2024-01-01")).is_none(), "before any price");
        assert!(table.lookup("llama-3-70b", day("2026-01-01")).is_none());
    }

    #[test]
    fn overrides_replace_a_model_and_another_currency_drops_the_shipped_table() {
        let row = PriceRow {
            model: "gpt-4o".into(),
            effective: day("2020-01-01"),
            input: dec("1"),
            cached_input: None,
            output: dec("2"),
        };
        let usd = PriceTable::new("USD", std::slice::from_ref(&row));
        let price = usd.lookup("gpt-4o", day("2026-10-01")).unwrap();
        assert_eq!((price.input, price.cached_input), (dec("1"), dec("1")));
        assert!(usd.lookup("gpt-4o-mini", day("2026-10-01")).is_some());
        let eur = PriceTable::new("EUR", &[row]);
        assert!(eur.lookup("gpt-4o-mini", day("2026-10-01")).is_none());
    }
}
