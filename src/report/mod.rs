//! The monthly chargeback report: totals per client (and deployment and model), their cost and
//! share, in the formats people read (table, Markdown) and load (CSV, JSON).
//!
//! [`build`] turns the store's monthly rows into a [`Report`]; [`render`] writes it out. Both
//! are pure. Costs are exact decimals: machine formats carry them unrounded so that rows sum to
//! the total exactly; human formats round to cents. An unpriced row has no cost (never zero).

pub mod render;

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::aggregate::Totals;
use crate::config::ClientDirectory;
use crate::store::UsageRow;

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// One row per client, deployment and model (the default).
    Detail,
    /// One row per client.
    Client,
    /// One row per deployment.
    Deployment,
    /// One row per model.
    Model,
}

/// One report row. A field grouped away is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub client: Option<String>,
    pub cost_center: Option<String>,
    pub deployment: Option<String>,
    pub model: Option<String>,
    pub totals: Totals,
    /// Share of the month's priced cost, or `None` for an unpriced row.
    pub share: Option<Decimal>,
}

impl ReportRow {
    /// The cost of the row's priced tokens, or `None` when none of its tokens had a price.
    /// A row that mixes both (a client using a priced and an unpriced model) carries the
    /// priced part; [`ReportRow::is_partly_unpriced`] says so, and `Report::unpriced` lists
    /// what is missing.
    pub fn cost(&self) -> Option<Decimal> {
        let t = &self.totals;
        let nothing_priced = t.unpriced_tokens > 0 && t.unpriced_tokens == t.total_tokens;
        (!nothing_priced).then_some(t.cost)
    }

    pub fn is_partly_unpriced(&self) -> bool {
        self.totals.is_unpriced() && self.cost().is_some()
    }
}

/// Usage that has no price: reported apart so that nobody reads it as free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpriced {
    pub model: String,
    pub requests: u64,
    pub tokens: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub month: String,
    pub currency: String,
    pub group_by: GroupBy,
    pub rows: Vec<ReportRow>,
    pub totals: Totals,
    pub unpriced: Vec<Unpriced>,
}

/// Build the report of `month` from its stored rows.
pub fn build(
    month: &str,
    currency: &str,
    rows: &[UsageRow],
    clients: &ClientDirectory,
    group_by: GroupBy,
) -> Report {
    type Key = (Option<String>, Option<String>, Option<String>, Option<String>);
    let mut grouped: BTreeMap<Key, Totals> = BTreeMap::new();
    let mut totals = Totals::default();
    let mut unpriced: BTreeMap<String, Unpriced> = BTreeMap::new();
    for row in rows {
        let client = clients.lookup(&row.key.client);
        let key: Key = match group_by {
            GroupBy::Detail => (
                Some(client.name),
                client.cost_center,
                Some(row.key.deployment.clone()),
                Some(row.key.model.clone()),
            ),
            GroupBy::Client => (Some(client.name), client.cost_center, None, None),
            GroupBy::Deployment => (None, None, Some(row.key.deployment.clone()), None),
            GroupBy::Model => (None, None, None, Some(row.key.model.clone())),
        };
        grouped.entry(key).or_default().add(&row.totals);
        totals.add(&row.totals);
        if row.totals.is_unpriced() {
            let entry = unpriced.entry(row.key.model.clone()).or_insert_with(|| Unpriced {
                model: row.key.model.clone(),
                requests: 0,
                tokens: 0,
            });
            entry.requests += row.totals.requests;
            entry.tokens += row.totals.unpriced_tokens;
        }
    }
    let priced_total = totals.cost;
    let mut rows: Vec<ReportRow> = grouped
        .into_iter()
        .map(|((client, cost_center, deployment, model), totals)| {
            let mut row = ReportRow { client, cost_center, deployment, model, totals, share: None };
            row.share = row.cost().filter(|_| !priced_total.is_zero()).map(|cost| {
                (cost / priced_total).round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven)
            });
            row
        })
        .collect();
    // Largest cost first; unpriced rows after priced ones, by tokens.
    rows.sort_by(|a, b| {
        b.cost()
            .is_some()
            .cmp(&a.cost().is_some())
            .then(b.totals.cost.cmp(&a.totals.cost))
            .then(b.totals.total_tokens.cmp(&a.totals.total_tokens))
            .then_with(|| (&a.client, &a.deployment, &a.model).cmp(&(&b.client, &b.deployment, &b.model)))
    });
    Report {
        month: month.to_owned(),
        currency: currency.to_owned(),
        group_by,
        rows,
        totals,
        unpriced: unpriced.into_values().collect(),
    }
}

/// Round money for people: to the cent, half to even (banker's rounding, as ledgers do).
pub fn cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::TotalsKey;
    use crate::config::Config;

    fn row(client: &str, deployment: &str, model: &str, tokens: u64, cost: &str, unpriced: u64) -> UsageRow {
        UsageRow {
            key: TotalsKey {
                period: "2026-10".into(),
                client: client.into(),
                deployment: deployment.into(),
                model: model.into(),
            },
            totals: Totals {
                requests: 1,
                prompt_tokens: tokens,
                total_tokens: tokens,
                unpriced_tokens: unpriced,
                cost: cost.parse().unwrap(),
                ..Totals::default()
            },
        }
    }

    #[test]
    fn grouping_shares_and_unpriced() {
        let config =
            Config::parse("[clients.Alpha]\nsubscriptions = [\"a1\", \"a2\"]\ncost_center = \"CC-1\"\n")
                .unwrap();
        let rows = vec![
            row("sub:a1", "d1", "gpt-4o", 100, "0.75", 0),
            row("sub:a2", "d1", "gpt-4o", 100, "0.25", 0),
            row("sub:b", "d2", "mystery", 50, "0", 50),
            row("sub:b", "d1", "gpt-4o", 10, "1", 0),
        ];
        let dir = config.client_directory();
        let by_client = build("2026-10", "USD", &rows, &dir, GroupBy::Client);
        assert_eq!(by_client.rows.len(), 2);
        let alpha = by_client.rows.iter().find(|r| r.client.as_deref() == Some("Alpha")).unwrap();
        assert_eq!((alpha.cost_center.as_deref(), alpha.totals.total_tokens), (Some("CC-1"), 200));
        assert_eq!(alpha.share, Some("0.5".parse().unwrap()));
        let b = by_client.rows.iter().find(|r| r.client.as_deref() == Some("sub:b")).unwrap();
        assert!(b.is_partly_unpriced() && b.cost() == Some("1".parse().unwrap()));
        assert_eq!(by_client.totals.cost, "2".parse().unwrap());
        assert_eq!(by_client.unpriced, vec![Unpriced { model: "mystery".into(), requests: 1, tokens: 50 }]);
        let detail = build("2026-10", "USD", &rows, &dir, GroupBy::Detail);
        let mystery = detail.rows.iter().find(|r| r.model.as_deref() == Some("mystery")).unwrap();
        assert_eq!((mystery.cost(), mystery.share), (None, None), "unpriced is not zero");
        assert_eq!(detail.rows.last().unwrap().model.as_deref(), Some("mystery"), "unpriced rows last");
        let by_model = build("2026-10", "USD", &rows, &dir, GroupBy::Model);
        assert_eq!(by_model.rows.len(), 2);
        assert!(by_model.rows.iter().all(|r| r.client.is_none() && r.deployment.is_none()));
    }
}
