//! The store side of budget alerts: the running value per (rule, month), the outbox written in
//! the same transaction as the totals (hook [`record_alerts`], called by `commit_batch`), and
//! the delivery state the dispatcher reads and updates. Hides the SQL; the decisions are made
//! by the pure `crate::alerts::rules`.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use rust_decimal::Decimal;

use super::{Store, StoreError};
use crate::aggregate::{Totals, TotalsKey};
use crate::alerts::message::AlertMessage;
use crate::alerts::rules::{self, RuleSet};

/// A delivery the dispatcher should attempt now.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub outbox_id: i64,
    pub channel: String,
    pub attempts: u32,
    pub message: AlertMessage,
    /// The raising batch's `traceparent`, for the delivery span's link.
    pub traceparent: Option<String>,
}

/// Delivery state of one alert on one channel.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryState {
    pub channel: String,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
}

/// How many alerts fired and where their deliveries stand, for `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryCounts {
    /// Alerts fired (outbox rows).
    pub alerts: u64,
    /// Deliveries waiting for their first or next attempt.
    pub pending: u64,
    /// Deliveries that gave up (see `alerts list`, `alerts retry`).
    pub failed: u64,
    pub delivered: u64,
}

/// One fired alert with its deliveries, for `alerts list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AlertRecord {
    pub id: i64,
    pub rule: String,
    pub period: String,
    pub level: String,
    pub payload_id: String,
    pub created_at: String,
    pub value: Decimal,
    pub percent: Decimal,
    pub deliveries: Vec<DeliveryState>,
}

fn decimal(text: String) -> Result<Decimal, StoreError> {
    Decimal::from_str(&text).map_err(|_| StoreError::Decimal(text))
}

fn bad_json(e: serde_json::Error) -> StoreError {
    StoreError::Sql(rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

impl Store {
    /// Evaluate these budget rules in every following `commit_batch`.
    pub fn set_alert_rules(&mut self, rules: RuleSet) {
        self.alert_rules = (!rules.is_empty()).then(|| Arc::new(rules));
    }

    /// Deliveries due at `now_ms` (unix milliseconds), oldest first, at most `limit`.
    pub fn due_deliveries(&self, now_ms: i64, limit: usize) -> Result<Vec<DueDelivery>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.outbox_id, d.channel, d.attempts, o.message, o.traceparent
             FROM alert_deliveries d JOIN alert_outbox o ON o.id = d.outbox_id
             WHERE d.state = 'pending' AND d.next_attempt_at <= ?1
             ORDER BY d.next_attempt_at, d.outbox_id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now_ms, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        rows.map(|row| {
            let (outbox_id, channel, attempts, message, traceparent) = row?;
            let message = serde_json::from_str(&message).map_err(bad_json)?;
            Ok(DueDelivery { outbox_id, channel, attempts: attempts as u32, message, traceparent })
        })
        .collect()
    }

    /// When the next pending delivery is due (unix milliseconds), if any is pending.
    pub fn next_delivery_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT MIN(next_attempt_at) FROM alert_deliveries WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    /// The receiver accepted it.
    pub fn mark_delivered(&self, outbox_id: i64, channel: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE alert_deliveries SET state = 'delivered', attempts = attempts + 1, last_error = NULL,
                 delivered_at = ?3 WHERE outbox_id = ?1 AND channel = ?2",
            params![outbox_id, channel, Utc::now().to_rfc3339()],
        )?;
        Ok(())
    }

    /// An attempt failed: retry at `retry_at_ms`, or mark `failed` when `None`.
    pub fn mark_attempt_failed(
        &self,
        outbox_id: i64,
        channel: &str,
        error: &str,
        retry_at_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        let state = if retry_at_ms.is_some() { "pending" } else { "failed" };
        self.conn.execute(
            "UPDATE alert_deliveries SET state = ?3, attempts = attempts + 1, last_error = ?4,
                 next_attempt_at = COALESCE(?5, next_attempt_at) WHERE outbox_id = ?1 AND channel = ?2",
            params![outbox_id, channel, state, error, retry_at_ms],
        )?;
        Ok(())
    }

    /// Put failed deliveries (of alert `id`, or all) back to pending with fresh attempts.
    /// Returns how many.
    pub fn retry_failed_deliveries(&self, id: Option<i64>, now_ms: i64) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "UPDATE alert_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?2
             WHERE state = 'failed' AND (?1 IS NULL OR outbox_id = ?1)",
            params![id, now_ms],
        )?)
    }

    /// How many alerts fired, and their deliveries by state.
    pub fn delivery_counts(&self) -> Result<DeliveryCounts, StoreError> {
        let mut counts = DeliveryCounts::default();
        let mut stmt = self.conn.prepare("SELECT state, COUNT(*) FROM alert_deliveries GROUP BY state")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))? {
            let (state, n) = row?;
            match state.as_str() {
                "pending" => counts.pending = n,
                "failed" => counts.failed = n,
                _ => counts.delivered += n,
            }
        }
        counts.alerts =
            self.conn.query_row("SELECT COUNT(*) FROM alert_outbox", [], |r| r.get::<_, i64>(0))? as u64;
        Ok(counts)
    }

    /// Every fired alert with its deliveries, newest first.
    pub fn alert_records(&self) -> Result<Vec<AlertRecord>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, rule, period, level, payload_id, created_at, message FROM alert_outbox ORDER BY id DESC",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    [1, 2, 3, 4, 5, 6].map(|i| r.get::<_, String>(i).unwrap_or_default()),
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut deliveries = self.conn.prepare(
            "SELECT channel, state, attempts, last_error, delivered_at FROM alert_deliveries
             WHERE outbox_id = ?1 ORDER BY channel",
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, [rule, period, level, payload_id, created_at, message]) in rows {
            let message: AlertMessage = serde_json::from_str(&message).map_err(bad_json)?;
            let deliveries = deliveries
                .query_map([id], |r| {
                    Ok(DeliveryState {
                        channel: r.get(0)?,
                        state: r.get(1)?,
                        attempts: r.get::<_, i64>(2)? as u32,
                        last_error: r.get(3)?,
                        delivered_at: r.get(4)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            out.push(AlertRecord {
                id,
                rule,
                period,
                level,
                payload_id,
                created_at,
                value: message.value,
                percent: message.percent,
                deliveries,
            });
        }
        Ok(out)
    }
}

/// Commit hook: move each touched (rule, month)'s running value by the batch's delta and write
/// an outbox row (and its pending deliveries) for every crossing and forecast. A row that
/// exists already (replay, restart) is left alone: `ON CONFLICT DO NOTHING` on
/// (rule, period, level). Returns how many alerts were new.
pub(super) fn record_alerts(
    tx: &Transaction<'_>,
    rules: &RuleSet,
    monthly: &std::collections::HashMap<TotalsKey, Totals>,
    newest_second: i64,
    traceparent: Option<&str>,
) -> Result<u64, StoreError> {
    let deltas = rules.deltas(monthly);
    if deltas.is_empty() {
        return Ok(0);
    }
    let now = DateTime::<Utc>::from_timestamp(newest_second, 0).unwrap_or_default();
    let wall = Utc::now();
    let mut fired = 0;
    for ((i, period), delta) in deltas {
        let r = &rules.rules[i];
        let name = &r.rule.name;
        let stored: Option<String> = tx
            .query_row(
                "SELECT value FROM alert_state WHERE rule = ?1 AND period = ?2",
                params![name, period],
                |row| row.get(0),
            )
            .optional()?;
        let before = match stored {
            Some(v) => decimal(v)?,
            // First time this rule sees this month: what the totals held before this batch.
            None => current_value(tx, rules, i, &period)? - delta,
        };
        let after = before + delta;
        tx.execute(
            "INSERT INTO alert_state (rule, period, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (rule, period) DO UPDATE SET value = excluded.value",
            params![name, period, after.normalize().to_string()],
        )?;
        for f in rules::evaluate(&r.rule, &period, before, after, now, rules.time_zone) {
            let message = AlertMessage {
                payload_id: uuid::Uuid::new_v4().to_string(),
                rule: name.clone(),
                period: period.clone(),
                level: f.level.clone(),
                client: r.rule.client.clone(),
                deployment: r.rule.deployment.clone(),
                measure: r.rule.measure,
                value: after,
                limit: r.rule.limit,
                percent: f.percent,
                currency: rules.currency.clone(),
                owners: r.owners.clone(),
                projected_date: f.projected_date,
                projected_value: f.projected_value,
            };
            let json = serde_json::to_string(&message).map_err(bad_json)?;
            let inserted = tx.execute(
                "INSERT INTO alert_outbox (rule, period, level, payload_id, message, created_at, traceparent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                params![name, period, f.level, message.payload_id, json, wall.to_rfc3339(), traceparent],
            )?;
            if inserted == 0 {
                continue;
            }
            fired += 1;
            let id = tx.last_insert_rowid();
            for channel in &r.rule.channels {
                tx.execute(
                    "INSERT INTO alert_deliveries (outbox_id, channel, state, attempts, next_attempt_at)
                     VALUES (?1, ?2, 'pending', 0, ?3)",
                    params![id, channel, wall.timestamp_millis()],
                )?;
            }
            tracing::info!(
                rule = %name, level = %f.level, period = %period, payload_id = %message.payload_id,
                outcome = "committed", "budget alert committed"
            );
        }
    }
    Ok(fired)
}

/// The rule's value in `period` from the monthly totals (which already include this batch).
fn current_value(
    tx: &Transaction<'_>,
    rules: &RuleSet,
    i: usize,
    period: &str,
) -> Result<Decimal, StoreError> {
    let rule = &rules.rules[i].rule;
    let mut stmt = tx.prepare_cached(
        "SELECT client, deployment, total_tokens, cost FROM monthly_totals WHERE period = ?1",
    )?;
    let mut rows = stmt.query([period])?;
    let mut sum = Decimal::ZERO;
    while let Some(row) = rows.next()? {
        let client: String = row.get(0)?;
        let deployment: String = row.get(1)?;
        if !rules.matches(rule, &client, &deployment) {
            continue;
        }
        let totals = Totals {
            total_tokens: row.get::<_, i64>(2)? as u64,
            cost: decimal(row.get(3)?)?,
            ..Totals::default()
        };
        sum += rules::measure(rule.measure, &totals);
    }
    Ok(sum)
}
