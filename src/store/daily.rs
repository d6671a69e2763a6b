//! Reading daily totals back for the report's trend charts: [`Store::daily_usage`].
//!
//! Owns only the query over `daily_totals`; the rows it returns carry the billing day
//! (`YYYY-MM-DD` in the billing time zone) as their period.

use super::{Store, StoreError, UsageRow, totals};

impl Store {
    /// Daily totals of the billing days of `month` (`YYYY-MM`), one row per day, client,
    /// deployment and model, ordered by day.
    pub fn daily_usage(&self, month: &str) -> Result<Vec<UsageRow>, StoreError> {
        // A range on the primary key's first column (not substr()) so SQLite can use the index.
        let mut stmt = self.conn.prepare(&format!(
            "SELECT period, client, deployment, model, {}
             FROM daily_totals WHERE period >= ?1 || '-01' AND period <= ?1 || '-31'
             ORDER BY period, client, deployment, model",
            totals::COLUMNS
        ))?;
        let rows = stmt.query_map([month], |r| totals::read(r, 0))?;
        rows.map(|row| row?.into_row()).collect()
    }
}
