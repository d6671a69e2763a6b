//! The monthly chargeback report: totals per client (and deployment and model), their cost and
//! share, in the formats people read (table, Markdown) and load (CSV, JSON).
//!
//! [`build`] turns the store's monthly rows into a [`Report`]; [`render`] writes it out. Both
//! are pure. Costs are exact decimals: machine formats carry them unrounded so that rows sum to
//! the total exactly; human formats round to cents. An unpriced row has no cost (never zero).

pub mod context;
pub mod focus;
pub mod html;
pub mod load;
pub mod ptu;
pub mod render;
pub mod svg;

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
    /// The part of provisioned (PTU) deployments' fixed monthly cost allocated to this row by
    /// token share, shown beside the pay-as-you-go `cost`; `None` when none of the row's
    /// deployments is provisioned.
    pub provisioned_cost: Option<Decimal>,
    /// For a correction row (late usage of a closed month, charged in this month): the closed
    /// month it belongs to. `None` for this month's own usage.
    pub corrects: Option<String>,
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
    /// Late usage of closed months charged in this month (FOCUS `ChargeClass` = `Correction`),
    /// apart from `rows` so that a month's own usage is never mixed with corrections.
    pub corrections: Vec<ReportRow>,
    /// What only the HTML and FOCUS formats need (daily usage, prices used, charge period in
    /// UTC), filled by the caller from the store and config; empty by default.
    pub context: context::RenderContext,
    /// Provisioned deployments whose monthly cost could not be allocated (no usage that
    /// month): shown as unallocated, never hidden.
    pub provisioned_unallocated: Vec<Unallocated>,
}

/// A provisioned deployment's monthly cost that no client used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unallocated {
    pub deployment: String,
    pub cost: Decimal,
}

/// Provisioned deployments and how their cost is shared, for [`build_with`].
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    /// Fixed monthly cost per provisioned deployment name.
    pub monthly_cost: BTreeMap<String, Decimal>,
    pub weights: crate::config::ProvisionedConfig,
}

impl Provisioned {
    pub fn from_config(config: &crate::config::Config) -> Provisioned {
        Provisioned {
            monthly_cost: config
                .deployments
                .iter()
                .filter_map(|(name, d)| d.provisioned_monthly_cost.map(|c| (name.clone(), c)))
                .collect(),
            weights: config.provisioned.clone(),
        }
    }
}

/// Build the report of `month` from its stored rows (no provisioned deployments).
pub fn build(
    month: &str,
    currency: &str,
    rows: &[UsageRow],
    clients: &ClientDirectory,
    group_by: GroupBy,
) -> Report {
    build_with(month, currency, rows, clients, group_by, &Provisioned::default())
}

type Key = (Option<String>, Option<String>, Option<String>, Option<String>);

/// Allocate each provisioned deployment's cost over the month's detail keys (client, cost
/// center, deployment, model), in key order so that ties are reproducible.
fn allocate_provisioned(
    rows: &[UsageRow],
    clients: &ClientDirectory,
    provisioned: &Provisioned,
) -> (BTreeMap<Key, Decimal>, Vec<Unallocated>) {
    let mut allocated = BTreeMap::new();
    let mut unallocated = Vec::new();
    for (deployment, cost) in &provisioned.monthly_cost {
        let mut usage: BTreeMap<Key, Totals> = BTreeMap::new();
        for row in rows.iter().filter(|r| &r.key.deployment == deployment) {
            let client = clients.lookup(&row.key.client);
            let key = (
                Some(client.name),
                client.cost_center,
                Some(deployment.clone()),
                Some(row.key.model.clone()),
            );
            usage.entry(key).or_default().add(&row.totals);
        }
        let weights: Vec<Decimal> =
            usage.values().map(|t| ptu::weighted_tokens(t, &provisioned.weights)).collect();
        match ptu::allocate(*cost, &weights) {
            Some(shares) => allocated.extend(usage.into_keys().zip(shares)),
            None => unallocated.push(Unallocated { deployment: deployment.clone(), cost: *cost }),
        }
    }
    (allocated, unallocated)
}

/// Build the report of `month`, allocating provisioned deployments' cost by weighted tokens.
pub fn build_with(
    month: &str,
    currency: &str,
    rows: &[UsageRow],
    clients: &ClientDirectory,
    group_by: GroupBy,
    provisioned: &Provisioned,
) -> Report {
    let (allocated, provisioned_unallocated) = allocate_provisioned(rows, clients, provisioned);
    let mut provisioned_by_group: BTreeMap<Key, Decimal> = BTreeMap::new();
    for ((client, cost_center, deployment, model), amount) in allocated {
        let key: Key = match group_by {
            GroupBy::Detail => (client, cost_center, deployment, model),
            GroupBy::Client => (client, cost_center, None, None),
            GroupBy::Deployment => (None, None, deployment, None),
            GroupBy::Model => (None, None, None, model),
        };
        *provisioned_by_group.entry(key).or_default() += amount;
    }
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
        .map(|(key, totals)| {
            let provisioned_cost = provisioned_by_group.get(&key).copied();
            let (client, cost_center, deployment, model) = key;
            let mut row = ReportRow {
                client,
                cost_center,
                deployment,
                model,
                totals,
                share: None,
                provisioned_cost,
                corrects: None,
            };
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
        corrections: Vec::new(),
        context: context::RenderContext::default(),
        provisioned_unallocated,
    }
}

/// Add the corrections charged in the report's month (late usage of closed months), grouped
/// like the rows, one block per closed month, oldest first. They carry no share and no
/// provisioned cost: a closed month's PTU allocation is final.
pub fn add_corrections(
    report: &mut Report,
    corrections: &[crate::store::Correction],
    clients: &ClientDirectory,
) {
    let mut by_month: BTreeMap<&str, Vec<UsageRow>> = BTreeMap::new();
    for c in corrections {
        by_month.entry(c.corrects.as_str()).or_default().push(c.row.clone());
    }
    for (closed, rows) in by_month {
        let part = build(&report.month, &report.currency, &rows, clients, report.group_by);
        report.corrections.extend(part.rows.into_iter().map(|row| ReportRow {
            share: None,
            provisioned_cost: None,
            corrects: Some(closed.to_owned()),
            ..row
        }));
    }
}

/// The corrections' totals, kept apart from the month's own totals.
pub fn corrections_totals(report: &Report) -> Totals {
    let mut totals = Totals::default();
    for row in &report.corrections {
        totals.add(&row.totals);
    }
    totals
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
