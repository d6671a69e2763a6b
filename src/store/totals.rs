//! The totals columns shared by every totals table (`monthly_totals`, `daily_totals`,
//! `corrections`): how they are named, added to on conflict, written and read back. One place,
//! so that a new column cannot be forgotten by one table's reader or writer.

use std::str::FromStr;

use rusqlite::Row;
use rusqlite::types::Value;
use rust_decimal::Decimal;

use super::{StoreError, UsageRow};
use crate::aggregate::{Totals, TotalsKey};

/// The totals columns, in the order they are written and read.
pub(super) const COLUMNS: &str = "requests, prompt_tokens, cached_tokens, completion_tokens, \
     reasoning_tokens, total_tokens, estimated_tokens, undercounted_requests, unpriced_tokens, cost";

/// `ON CONFLICT ... DO UPDATE SET` clause: add the new row's totals to the stored ones, the
/// cost exactly (`decimal_add`).
pub(super) const ADD_ON_CONFLICT: &str = "requests = requests + excluded.requests,
     prompt_tokens = prompt_tokens + excluded.prompt_tokens,
     cached_tokens = cached_tokens + excluded.cached_tokens,
     completion_tokens = completion_tokens + excluded.completion_tokens,
     reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
     total_tokens = total_tokens + excluded.total_tokens,
     estimated_tokens = estimated_tokens + excluded.estimated_tokens,
     undercounted_requests = undercounted_requests + excluded.undercounted_requests,
     unpriced_tokens = unpriced_tokens + excluded.unpriced_tokens,
     cost = decimal_add(cost, excluded.cost)";

/// `?first, ..., ?first+9`: placeholders for the totals columns.
pub(super) fn placeholders(first: usize) -> String {
    (first..first + 10).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

/// The values of the totals columns, in [`COLUMNS`] order.
pub(super) fn values(t: &Totals) -> [Value; 10] {
    let n = |v: u64| Value::Integer(v as i64);
    [
        n(t.requests),
        n(t.prompt_tokens),
        n(t.cached_tokens),
        n(t.completion_tokens),
        n(t.reasoning_tokens),
        n(t.total_tokens),
        n(t.estimated_tokens),
        n(t.undercounted_requests),
        n(t.unpriced_tokens),
        Value::Text(t.cost.normalize().to_string()),
    ]
}

/// A row read as stored: the cost is still text, checked by [`Raw::into_row`] (a query
/// closure can only fail with a SQLite error).
pub(super) struct Raw {
    key: TotalsKey,
    counts: [u64; 9],
    cost: String,
}

/// Read `period, client, deployment, model` then the totals columns, from column `first`.
pub(super) fn read(r: &Row<'_>, first: usize) -> rusqlite::Result<Raw> {
    let key = TotalsKey {
        period: r.get(first)?,
        client: r.get(first + 1)?,
        deployment: r.get(first + 2)?,
        model: r.get(first + 3)?,
    };
    let mut counts = [0u64; 9];
    for (i, c) in counts.iter_mut().enumerate() {
        *c = r.get::<_, i64>(first + 4 + i)? as u64;
    }
    Ok(Raw { key, counts, cost: r.get(first + 13)? })
}

impl Raw {
    pub(super) fn into_row(self) -> Result<UsageRow, StoreError> {
        let cost = Decimal::from_str(&self.cost).map_err(|_| StoreError::Decimal(self.cost))?;
        let [requests, prompt, cached, completion, reasoning, total, estimated, undercounted, unpriced] =
            self.counts;
        let totals = Totals {
            requests,
            prompt_tokens: prompt,
            cached_tokens: cached,
            completion_tokens: completion,
            reasoning_tokens: reasoning,
            total_tokens: total,
            estimated_tokens: estimated,
            undercounted_requests: undercounted,
            unpriced_tokens: unpriced,
            cost,
        };
        Ok(UsageRow { key: self.key, totals })
    }
}
