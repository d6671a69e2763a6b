//! What a committed batch added, in the shape the usage metrics need: accepted records only
//! (duplicates are not usage), per client, deployment, model and whether the tokens were
//! estimated here or reported by the service. Pure: no I/O.
//!
//! Built from the batch and the store's accepted mask (`Store::last_accepted`), so the metric
//! values of an ingest add up to exactly what the store's totals gained.

use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

use crate::pipeline::UsageRecord;

/// The key of one usage series (before cardinality folding).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsageKey {
    /// Caller identity as stored (`sub:<id>`, `key:<sha256>`); named by the config on export.
    pub client: String,
    pub deployment: String,
    pub model: String,
    /// The tokens were counted here (streamed call without usage), not reported.
    pub estimated: bool,
}

/// Sums for one [`UsageKey`]. Token fields follow the store: `input` includes `cached`,
/// `output` includes `reasoning`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageDelta {
    pub requests: u64,
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub reasoning: u64,
    /// Undercounted requests (a lower bound): only meaningful for estimated keys.
    pub undercounted: u64,
    /// Cost of the priced records; unpriced ones add nothing (never a cost of zero).
    pub cost: Decimal,
    /// Requests with a price.
    pub priced_requests: u64,
}

/// The accepted usage of one batch, one entry per key in the order its first record appears
/// in the batch, so that cardinality folding on export follows the stream's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcceptedTotals {
    pub entries: Vec<(UsageKey, UsageDelta)>,
}

impl AcceptedTotals {
    /// Fold the records whose `accepted` flag is true. `accepted` is parallel to `records`
    /// (a shorter mask treats the rest as not accepted). Keys are looked up borrowed: a
    /// batch allocates once per distinct key, not per record.
    pub fn of(records: &[UsageRecord], accepted: &[bool]) -> AcceptedTotals {
        let mut index: FxHashMap<(&str, &str, &str, bool), usize> = FxHashMap::default();
        let mut out = AcceptedTotals::default();
        for (record, _) in records.iter().zip(accepted).filter(|(_, a)| **a) {
            let estimated = record.estimated > 0;
            let borrowed =
                (record.client.as_str(), record.deployment.as_str(), record.model.as_str(), estimated);
            let i = *index.entry(borrowed).or_insert_with(|| {
                let key = UsageKey {
                    client: record.client.clone(),
                    deployment: record.deployment.clone(),
                    model: record.model.clone(),
                    estimated,
                };
                out.entries.push((key, UsageDelta::default()));
                out.entries.len() - 1
            });
            let delta = &mut out.entries[i].1;
            let t = &record.tokens;
            delta.requests += 1;
            delta.input += t.prompt;
            delta.output += t.completion;
            delta.cached += t.cached;
            delta.reasoning += t.reasoning;
            delta.undercounted += u64::from(record.undercounted);
            if let Some(cost) = record.cost {
                delta.cost += cost;
                delta.priced_requests += 1;
            }
        }
        out
    }

    /// Accepted requests in the batch.
    pub fn requests(&self) -> u64 {
        self.entries.iter().map(|(_, d)| d.requests).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Tokens;
    use crate::pipeline::DedupeKey;

    fn record(client: &str, prompt: u64, estimated: bool, cost: Option<&str>) -> UsageRecord {
        UsageRecord {
            key: DedupeKey { second: 0, id: [0; 16] },
            day: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            client: client.to_owned(),
            deployment: "d".to_owned(),
            model: "gpt-4o".to_owned(),
            tokens: Tokens { prompt, completion: 5, cached: 1, reasoning: 2 },
            estimated: if estimated { prompt + 5 } else { 0 },
            undercounted: false,
            cost: cost.map(|c| c.parse().unwrap()),
        }
    }

    #[test]
    fn only_accepted_records_count_split_by_estimated() {
        let records = vec![
            record("b", 10, false, Some("0.5")),
            record("a", 20, true, Some("0.25")),
            record("b", 30, false, None),
            record("b", 40, false, Some("9")), // a duplicate: not accepted
        ];
        let t = AcceptedTotals::of(&records, &[true, true, true, false]);
        assert_eq!(t.requests(), 3);
        assert_eq!(t.entries.iter().map(|(k, _)| k.client.as_str()).collect::<Vec<_>>(), ["b", "a"]);
        let b = &t.entries[0].1;
        assert_eq!((b.requests, b.input, b.output, b.cached, b.reasoning), (2, 40, 10, 2, 4));
        assert_eq!(b.cost, "0.5".parse().unwrap());
        assert_eq!(b.priced_requests, 1);
        assert!(t.entries[1].0.estimated);
    }
}
