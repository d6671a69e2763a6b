//! Budget rule evaluation. Pure: no I/O, no clock. Given the rules, a batch's monthly deltas
//! and the before/after running value of each (rule, month), it says which levels were
//! crossed and whether a month-end forecast fires. The store keeps the running values and the
//! outbox; this module only decides.
//!
//! * Crossing: `before < level% <= after`. A batch that jumps several levels fires each.
//! * Forecast: straight-line run-rate from the month so far, by EVENT time (the newest event
//!   of the batch, so a replay decides the same). Minimum data: at least
//!   [`FORECAST_MIN_DAYS`] days of the month elapsed and a non-zero value. It fires when the
//!   projected month-end value reaches 100% while the limit is not yet reached, giving the date
//!   the run-rate reaches it.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::config::{BudgetRule, Measure};
use crate::aggregate::{Totals, TotalsKey};
use crate::config::{ClientDirectory, Config};

/// Days of the month that must have elapsed (by event time) before a forecast is made: fewer
/// days make a run-rate from a single busy morning.
pub const FORECAST_MIN_DAYS: i64 = 3;

/// Outbox level of a forecast alert.
pub const FORECAST_LEVEL: &str = "forecast";

/// What a rule matches, resolved against the config once.
#[derive(Debug, Clone)]
pub struct ResolvedRule {
    pub rule: BudgetRule,
    /// Owners to tell: the rule's, else the client's.
    pub owners: Vec<String>,
}

/// The rules with what is needed to match stored keys (caller identity -> client name).
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: Vec<ResolvedRule>,
    pub directory: ClientDirectory,
    pub time_zone: Tz,
    pub currency: String,
}

impl RuleSet {
    pub fn from_config(config: &Config) -> RuleSet {
        let rules = config
            .budgets
            .iter()
            .map(|rule| {
                let owners = if rule.owners.is_empty() {
                    rule.client
                        .as_ref()
                        .and_then(|c| config.clients.get(c))
                        .map(|c| c.owners.clone())
                        .unwrap_or_default()
                } else {
                    rule.owners.clone()
                };
                ResolvedRule { rule: rule.clone(), owners }
            })
            .collect();
        RuleSet {
            rules,
            directory: config.client_directory(),
            time_zone: config.billing_time_zone,
            currency: config.currency.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Does `rule` cover the stored key (caller identity, deployment)?
    pub fn matches(&self, rule: &BudgetRule, client_identity: &str, deployment: &str) -> bool {
        rule.deployment.as_deref().is_none_or(|d| d == deployment)
            && rule.client.as_deref().is_none_or(|c| self.directory.lookup(client_identity).name == c)
    }

    /// The batch's delta per (rule index, period), for the rules its keys touch.
    pub fn deltas(
        &self,
        monthly: &std::collections::HashMap<TotalsKey, Totals>,
    ) -> BTreeMap<(usize, String), Decimal> {
        let mut out: BTreeMap<(usize, String), Decimal> = BTreeMap::new();
        for (key, totals) in monthly {
            for (i, r) in self.rules.iter().enumerate() {
                if self.matches(&r.rule, &key.client, &key.deployment) {
                    *out.entry((i, key.period.clone())).or_default() += measure(r.rule.measure, totals);
                }
            }
        }
        out
    }
}

/// The value of `totals` a rule of this measure counts.
pub fn measure(m: Measure, totals: &Totals) -> Decimal {
    match m {
        Measure::Tokens => Decimal::from(totals.total_tokens),
        Measure::Cost => totals.cost,
    }
}

/// One alert to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    /// `50`, `80`, `100`, ... or [`FORECAST_LEVEL`].
    pub level: String,
    /// Percent of the limit the value stands at.
    pub percent: Decimal,
    /// For a forecast: the date the run-rate reaches the limit.
    pub projected_date: Option<NaiveDate>,
    /// For a forecast: the projected month-end value.
    pub projected_value: Option<Decimal>,
}

/// The levels crossed going from `before` to `after`, lowest first, then a forecast if one is
/// due. `period` is `YYYY-MM`; `now` is the newest event time of the batch.
pub fn evaluate(
    rule: &BudgetRule,
    period: &str,
    before: Decimal,
    after: Decimal,
    now: DateTime<Utc>,
    tz: Tz,
) -> Vec<Firing> {
    let limit = rule.limit;
    let percent = percent_of(after, limit);
    let mut levels = rule.levels.clone();
    levels.sort_unstable();
    levels.dedup();
    let mut out: Vec<Firing> = levels
        .into_iter()
        .filter(|l| {
            let threshold = limit * Decimal::from(*l) / Decimal::ONE_HUNDRED;
            before < threshold && threshold <= after
        })
        .map(|l| Firing { level: l.to_string(), percent, projected_date: None, projected_value: None })
        .collect();
    if rule.forecast
        && let Some((date, projected)) = forecast(period, after, limit, now, tz)
    {
        out.push(Firing {
            level: FORECAST_LEVEL.to_owned(),
            percent,
            projected_date: Some(date),
            projected_value: Some(projected),
        });
    }
    out
}

/// `value` as a percent of `limit`, two decimals.
pub fn percent_of(value: Decimal, limit: Decimal) -> Decimal {
    (value * Decimal::ONE_HUNDRED / limit).round_dp(2)
}

/// Straight-line projection: `Some((date the limit is reached, month-end value))` when the
/// month-end value reaches the limit and the value is still below it.
pub fn forecast(
    period: &str,
    value: Decimal,
    limit: Decimal,
    now: DateTime<Utc>,
    tz: Tz,
) -> Option<(NaiveDate, Decimal)> {
    if value <= Decimal::ZERO || value >= limit {
        return None;
    }
    let first = NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").ok()?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    let start = tz.from_local_datetime(&first.and_hms_opt(0, 0, 0)?).earliest()?.with_timezone(&Utc);
    let end = tz.from_local_datetime(&next.and_hms_opt(0, 0, 0)?).earliest()?.with_timezone(&Utc);
    let month_secs = (end - start).num_seconds();
    let elapsed = (now - start).num_seconds().min(month_secs);
    if elapsed < FORECAST_MIN_DAYS * 86_400 {
        return None;
    }
    let projected = (value * Decimal::from(month_secs) / Decimal::from(elapsed)).round_dp(2);
    if projected < limit {
        return None;
    }
    // Seconds after the month start at which the run-rate reaches the limit.
    let at = limit * Decimal::from(elapsed) / value;
    let at: i64 = at.trunc().try_into().ok()?;
    let date = (start + Duration::seconds(at)).with_timezone(&tz).date_naive();
    debug_assert!(date.month() == first.month() || date == next);
    Some((date, projected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::config::Measure;

    fn rule(levels: &[u32], forecast: bool) -> BudgetRule {
        BudgetRule {
            name: "r".into(),
            client: None,
            deployment: None,
            measure: Measure::Cost,
            limit: Decimal::from(100),
            levels: levels.to_vec(),
            owners: vec!["o@x".into()],
            channels: vec![],
            forecast,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn levels(f: &[Firing]) -> Vec<&str> {
        f.iter().map(|f| f.level.as_str()).collect()
    }

    #[test]
    fn a_crossing_is_before_below_and_after_at_or_above() {
        let r = rule(&[50, 80, 100], false);
        let now = at("2026-10-01T10:00:00Z");
        let d = |v: i64| Decimal::from(v);
        assert_eq!(levels(&evaluate(&r, "2026-10", d(10), d(49), now, Tz::UTC)), Vec::<&str>::new());
        assert_eq!(levels(&evaluate(&r, "2026-10", d(49), d(50), now, Tz::UTC)), vec!["50"]);
        assert_eq!(levels(&evaluate(&r, "2026-10", d(50), d(79), now, Tz::UTC)), Vec::<&str>::new());
        assert_eq!(levels(&evaluate(&r, "2026-10", d(10), d(120), now, Tz::UTC)), vec!["50", "80", "100"]);
        let f = &evaluate(&r, "2026-10", d(79), d(85), now, Tz::UTC)[0];
        assert_eq!((f.level.as_str(), f.percent), ("80", Decimal::from(85)));
    }

    #[test]
    fn forecast_needs_three_days_and_a_projection_over_the_limit() {
        let r = rule(&[100], true);
        let d = |v: i64| Decimal::from(v);
        // Two days in: too early, whatever the rate.
        assert!(evaluate(&r, "2026-10", d(0), d(60), at("2026-10-03T00:00:00Z"), Tz::UTC).is_empty());
        // Ten days in at 40: 124 by month end (31 days), limit reached on day 25.
        let f = evaluate(&r, "2026-10", d(30), d(40), at("2026-10-11T00:00:00Z"), Tz::UTC);
        assert_eq!(levels(&f), vec!["forecast"]);
        assert_eq!(f[0].projected_date, NaiveDate::from_ymd_opt(2026, 10, 26));
        assert_eq!(f[0].projected_value, Some(d(124)));
        // Ten days in at 30: 93 projected, no forecast.
        assert!(evaluate(&r, "2026-10", d(20), d(30), at("2026-10-11T00:00:00Z"), Tz::UTC).is_empty());
        // Already over the limit: the 100% alert says so, no forecast.
        let f = evaluate(&r, "2026-10", d(90), d(110), at("2026-10-11T00:00:00Z"), Tz::UTC);
        assert_eq!(levels(&f), vec!["100"]);
    }

    #[test]
    fn forecast_can_be_turned_off() {
        let r = rule(&[100], false);
        let f = evaluate(
            &r,
            "2026-10",
            Decimal::from(30),
            Decimal::from(40),
            at("2026-10-11T00:00:00Z"),
            Tz::UTC,
        );
        assert!(f.is_empty());
    }

    #[test]
    fn rules_match_by_client_name_and_deployment() {
        let config = Config::parse(
            "[clients.team-a]\nowners = [\"a@x\"]\nsubscriptions = [\"s1\"]\n[deployments.d1]\nmodel = \"gpt-4o\"\n\
             [[budgets]]\nname = \"a\"\nclient = \"team-a\"\nmeasure = \"tokens\"\nlimit = 1000\n\
             [[budgets]]\nname = \"d\"\ndeployment = \"d1\"\nmeasure = \"tokens\"\nlimit = 1000\nowners = [\"ops@x\"]\n",
        )
        .unwrap();
        let set = RuleSet::from_config(&config);
        assert_eq!(set.rules[0].owners, vec!["a@x"]);
        let key = |client: &str, dep: &str| TotalsKey {
            period: "2026-10".into(),
            client: client.into(),
            deployment: dep.into(),
            model: "gpt-4o".into(),
        };
        let totals = Totals { total_tokens: 7, ..Totals::default() };
        let monthly =
            [(key("sub:s1", "d1"), totals.clone()), (key("sub:other", "d2"), totals)].into_iter().collect();
        let deltas = set.deltas(&monthly);
        assert_eq!(deltas.get(&(0, "2026-10".into())), Some(&Decimal::from(7)));
        assert_eq!(deltas.get(&(1, "2026-10".into())), Some(&Decimal::from(7)));
        assert_eq!(deltas.len(), 2);
    }
}
