//! What the HTML and FOCUS formats need beyond the monthly rows: daily usage for the trend
//! charts, the prices in force for the models that appear, and the billing month's bounds in
//! UTC. [`RenderContext::build`] is pure: the caller reads the store and config and passes
//! them in, so that rendering stays free of I/O.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::config::ClientDirectory;
use crate::model;
use crate::price::{Price, PriceTable};
use crate::store::UsageRow;

/// Everything beyond the rows; `Default` (empty) for formats that do not need it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenderContext {
    /// Daily usage per client (display name) and deployment, ordered by day.
    pub daily: Vec<DailyPoint>,
    /// For each model that appears, the price rows in force at some time during the month,
    /// oldest first (usually one). Models without a price are absent.
    pub prices: Vec<ModelPrice>,
    /// The billing month's bounds in UTC: start inclusive, end exclusive.
    pub period: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// One day's usage of one client on one deployment (all models together).
#[derive(Debug, Clone, PartialEq)]
pub struct DailyPoint {
    /// Billing day, in the billing time zone.
    pub day: NaiveDate,
    pub client: String,
    pub deployment: String,
    pub tokens: u64,
    /// Cost of the day's priced tokens.
    pub cost: Decimal,
}

/// A price row used for a model in the month.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPrice {
    /// The model as it appears in the usage (`gpt-4o-2024-08-06`).
    pub model: String,
    /// The price table's family that prices it (`gpt-4o`).
    pub family: String,
    pub price: Price,
}

impl RenderContext {
    /// Build the context of `month` (`YYYY-MM`) from its daily rows, the model names that
    /// appear, the price table and the billing time zone.
    pub fn build<'m>(
        month: &str,
        daily: &[UsageRow],
        models: impl IntoIterator<Item = &'m str>,
        clients: &ClientDirectory,
        prices: &PriceTable,
        time_zone: Tz,
    ) -> RenderContext {
        let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok();
        let next = first.and_then(next_month);
        let period = first
            .zip(next)
            .and_then(|(a, b)| Some((utc_midnight(a, time_zone)?, utc_midnight(b, time_zone)?)));

        // Days × client × deployment: the model dimension is summed away (charts do not need it).
        let mut points: Vec<DailyPoint> = Vec::new();
        for row in daily {
            let Ok(day) = NaiveDate::parse_from_str(&row.key.period, "%Y-%m-%d") else { continue };
            let client = clients.lookup(&row.key.client).name;
            match points.last_mut() {
                Some(p) if p.day == day && p.client == client && p.deployment == row.key.deployment => {
                    p.tokens += row.totals.total_tokens;
                    p.cost += row.totals.cost;
                }
                _ => points.push(DailyPoint {
                    day,
                    client,
                    deployment: row.key.deployment.clone(),
                    tokens: row.totals.total_tokens,
                    cost: row.totals.cost,
                }),
            }
        }

        let mut used = Vec::new();
        if let Some((first, next)) = first.zip(next) {
            let families: Vec<&str> =
                prices.rows().map(|(f, _)| f).collect::<BTreeSet<_>>().into_iter().collect();
            let models: BTreeSet<&str> = models.into_iter().collect();
            for model in models {
                let Some(family) = model::family(model, families.iter().copied()) else { continue };
                let in_force_at_start = prices.lookup(model, first).map(|p| p.effective);
                for (_, price) in prices.rows().filter(|(f, _)| *f == family) {
                    let starts_within = price.effective > first && price.effective < next;
                    if Some(price.effective) == in_force_at_start || starts_within {
                        used.push(ModelPrice {
                            model: model.to_owned(),
                            family: family.to_owned(),
                            price: *price,
                        });
                    }
                }
            }
        }
        RenderContext { daily: points, prices: used, period }
    }

    /// The price in force for `model` at the end of the month (the last row used).
    pub fn price_of(&self, model: &str) -> Option<&ModelPrice> {
        self.prices.iter().rev().find(|p| p.model == model)
    }
}

fn next_month(first: NaiveDate) -> Option<NaiveDate> {
    let (y, m) = if first.month() == 12 { (first.year() + 1, 1) } else { (first.year(), first.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 1)
}

/// Local midnight of `day` in `tz`, in UTC. A midnight skipped by a DST jump takes the first
/// instant after it (`earliest` of the next valid hour).
fn utc_midnight(day: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    (0..3)
        .find_map(|h| tz.from_local_datetime(&day.and_hms_opt(h, 0, 0)?).earliest())
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{Totals, TotalsKey};
    use crate::config::Config;

    fn daily(day: &str, client: &str, deployment: &str, tokens: u64, cost: &str) -> UsageRow {
        UsageRow {
            key: TotalsKey {
                period: day.into(),
                client: client.into(),
                deployment: deployment.into(),
                model: "gpt-4o".into(),
            },
            totals: Totals { total_tokens: tokens, cost: cost.parse().unwrap(), ..Totals::default() },
        }
    }

    #[test]
    fn period_in_utc_daily_points_and_prices_used() {
        let config = Config::parse("[clients.Alpha]\nsubscriptions = [\"a\"]\n").unwrap();
        let rows =
            [daily("2026-10-01", "sub:a", "d1", 10, "1"), daily("2026-10-01", "sub:a", "d1", 5, "0.5")];
        let table = PriceTable::new("USD", &[]);
        let tz: Tz = "Europe/Paris".parse().unwrap();
        let ctx = RenderContext::build(
            "2026-10",
            &rows,
            ["gpt-4o-2024-08-06", "mystery"],
            &config.client_directory(),
            &table,
            tz,
        );
        let (start, end) = ctx.period.unwrap();
        // Paris is UTC+2 on 1 October (summer time) and UTC+1 on 1 November.
        assert_eq!(start.to_rfc3339(), "2026-09-30T22:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-10-31T23:00:00+00:00");
        assert_eq!(ctx.daily.len(), 1);
        assert_eq!((ctx.daily[0].client.as_str(), ctx.daily[0].tokens), ("Alpha", 15));
        assert_eq!(ctx.daily[0].cost, "1.5".parse().unwrap());
        assert_eq!(ctx.price_of("gpt-4o-2024-08-06").unwrap().family, "gpt-4o");
        assert!(ctx.price_of("mystery").is_none());
        let december = RenderContext::build("2026-12", &[], [], &config.client_directory(), &table, Tz::UTC);
        assert_eq!(december.period.unwrap().1.to_rfc3339(), "2027-01-01T00:00:00+00:00");
    }
}
