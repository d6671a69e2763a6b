//! Folding counted calls into totals: the sums the store keeps per (month, client, deployment,
//! model) and per (day, client, deployment, model). Pure; the store adds these deltas to what
//! it holds, once per key per batch.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::pipeline::UsageRecord;

/// What the store keeps for one key. `cost` covers the priced tokens only; `unpriced_tokens`
/// says how many had no price, so that a partly unpriced total is never shown as complete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub requests: u64,
    pub prompt_tokens: u64,
    pub cached_tokens: u64,
    pub completion_tokens: u64,
    pub reasoning_tokens: u64,
    pub total_tokens: u64,
    pub estimated_tokens: u64,
    pub undercounted_requests: u64,
    pub unpriced_tokens: u64,
    pub cost: Decimal,
}

impl Totals {
    pub fn add_record(&mut self, record: &UsageRecord) {
        let t = &record.tokens;
        self.requests += 1;
        self.prompt_tokens += t.prompt;
        self.cached_tokens += t.cached;
        self.completion_tokens += t.completion;
        self.reasoning_tokens += t.reasoning;
        self.total_tokens += t.total();
        self.estimated_tokens += record.estimated;
        self.undercounted_requests += u64::from(record.undercounted);
        match record.cost {
            Some(cost) => self.cost += cost,
            None => self.unpriced_tokens += t.total(),
        }
    }

    pub fn add(&mut self, other: &Totals) {
        self.requests += other.requests;
        self.prompt_tokens += other.prompt_tokens;
        self.cached_tokens += other.cached_tokens;
        self.completion_tokens += other.completion_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
        self.total_tokens += other.total_tokens;
        self.estimated_tokens += other.estimated_tokens;
        self.undercounted_requests += other.undercounted_requests;
        self.unpriced_tokens += other.unpriced_tokens;
        self.cost += other.cost;
    }

    /// True when some of these tokens had no price.
    pub fn is_unpriced(&self) -> bool {
        self.unpriced_tokens > 0
    }
}

/// The key totals are kept under. `period` is `YYYY-MM` for monthly totals and `YYYY-MM-DD`
/// for daily ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TotalsKey {
    pub period: String,
    pub client: String,
    pub deployment: String,
    pub model: String,
}

/// The deltas of one batch, monthly and daily.
#[derive(Debug, Default)]
pub struct BatchTotals {
    pub monthly: HashMap<TotalsKey, Totals>,
    pub daily: HashMap<TotalsKey, Totals>,
}

impl BatchTotals {
    pub fn add(&mut self, record: &UsageRecord) {
        let day = record.day.format("%Y-%m-%d").to_string();
        let month = day[..7].to_owned();
        for (map, period) in [(&mut self.monthly, month), (&mut self.daily, day)] {
            let key = TotalsKey {
                period,
                client: record.client.clone(),
                deployment: record.deployment.clone(),
                model: record.model.clone(),
            };
            map.entry(key).or_default().add_record(record);
        }
    }
}
