//! Month close: which months are frozen, and where late usage of a frozen month goes.
//!
//! Owns the `closed_months` and `corrections` tables (migration `0003_close.sql`). Hides the
//! rule that keeps a closed month's report byte-identical forever: [`divert_closed`], called by
//! `Store::commit_batch` inside its transaction, takes the totals of closed months out of a
//! batch's monthly and daily deltas and adds them to the corrections of the earliest OPEN month
//! after the closed one. Nothing else ever writes a closed month's totals.

use chrono::{Months, NaiveDate};
use rusqlite::Transaction;
use rusqlite::types::Value;
use std::collections::{BTreeSet, HashMap};

use super::{Store, StoreError, UsageRow};
use crate::aggregate::{BatchTotals, TotalsKey};

/// Late usage of a closed month, charged in another (open) month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// The closed month the usage happened in (`YYYY-MM`).
    pub corrects: String,
    /// The totals; `row.key.period` is the month the correction is charged in.
    pub row: UsageRow,
}

/// What `close_month` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseOutcome {
    Closed,
    AlreadyClosed,
}

impl Store {
    /// Freeze `month` (`YYYY-MM`), in one transaction. Closing a closed month changes nothing.
    /// The caller checks that the month has ended in the billing time zone.
    pub fn close_month(&mut self, month: &str, closed_at: &str) -> Result<CloseOutcome, StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let inserted = tx.execute(
            "INSERT INTO closed_months (period, closed_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            [month, closed_at],
        )?;
        tx.commit()?;
        Ok(if inserted == 1 { CloseOutcome::Closed } else { CloseOutcome::AlreadyClosed })
    }

    /// Closed months, oldest first.
    pub fn closed_months(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT period FROM closed_months ORDER BY period")?;
        let months = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(months)
    }

    /// Corrections charged in `period`, ordered by closed month, client, deployment, model.
    pub fn corrections(&self, period: &str) -> Result<Vec<Correction>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT corrects, period, client, deployment, model, {}
             FROM corrections WHERE period = ?1 ORDER BY corrects, client, deployment, model",
            super::totals::COLUMNS
        ))?;
        let rows = stmt.query_map([period], |r| Ok((r.get::<_, String>(0)?, super::totals::read(r, 1)?)))?;
        rows.map(|row| {
            let (corrects, raw) = row?;
            Ok(Correction { corrects, row: raw.into_row()? })
        })
        .collect()
    }
}

/// Move the closed months' part of a batch's deltas to the corrections table. Runs inside
/// `commit_batch`'s transaction, before the totals are written.
pub(super) fn divert_closed(tx: &Transaction<'_>, totals: &mut BatchTotals) -> Result<(), rusqlite::Error> {
    let closed: BTreeSet<String> = {
        let mut stmt = tx.prepare_cached("SELECT period FROM closed_months")?;
        stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
    };
    if closed.is_empty() || !totals.monthly.keys().any(|k| closed.contains(&k.period)) {
        return Ok(());
    }
    totals.daily.retain(|key, _| !closed.contains(&key.period[..7]));
    let late: Vec<TotalsKey> =
        totals.monthly.keys().filter(|k| closed.contains(&k.period)).cloned().collect();
    let mut upsert = tx.prepare_cached(&format!(
        "INSERT INTO corrections (period, corrects, client, deployment, model, {})
         VALUES (?1, ?2, ?3, ?4, ?5, {})
         ON CONFLICT (period, corrects, client, deployment, model) DO UPDATE SET {}",
        super::totals::COLUMNS,
        super::totals::placeholders(6),
        super::totals::ADD_ON_CONFLICT
    ))?;
    let mut charged_in: HashMap<String, String> = HashMap::new();
    for key in late {
        let t = totals.monthly.remove(&key).unwrap_or_default();
        let charged =
            charged_in.entry(key.period.clone()).or_insert_with(|| first_open_after(&key.period, &closed));
        let key =
            [charged, &key.period, &key.client, &key.deployment, &key.model].map(|k| Value::Text(k.clone()));
        upsert.execute(rusqlite::params_from_iter(key.into_iter().chain(super::totals::values(&t))))?;
    }
    Ok(())
}

/// The earliest month after `month` that is not closed.
fn first_open_after(month: &str, closed: &BTreeSet<String>) -> String {
    let Ok(mut date) = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d") else {
        // Periods are written by this crate as YYYY-MM; anything else cannot be closed.
        return month.to_owned();
    };
    loop {
        date = date + Months::new(1);
        let next = date.format("%Y-%m").to_string();
        if !closed.contains(&next) {
            return next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_usage_goes_to_the_first_open_month() {
        let closed: BTreeSet<String> = ["2026-09", "2026-10", "2026-12"].map(String::from).into();
        assert_eq!(first_open_after("2026-09", &closed), "2026-11");
        assert_eq!(first_open_after("2026-12", &closed), "2027-01");
    }
}
