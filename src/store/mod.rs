//! The store: the only module that knows SQL. SQLite (bundled), one file, WAL.
//!
//! Its API is narrow and named after the domain: [`Store::commit_batch`] writes everything a
//! batch produced — dedupe records, monthly and daily totals, dead letters, the source
//! checkpoint — in ONE transaction, so that a crash at any point leaves either all of a batch
//! or none of it, and a restart resumes from the checkpoint with dedupe absorbing any overlap.
//! Readers ([`Store::monthly_usage`], [`Store::checkpoint`], [`Store::dead_letters`], ...)
//! never see a half-written batch.
//!
//! Dedupe window: an event's id is remembered for `dedupe_window_days` (default 90) counted
//! back from the newest event committed. Older records are dropped in the commit that moves
//! the horizon; events older than the horizon are dead-lettered by the pipeline rather than
//! counted blind.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::Utc;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use rust_decimal::Decimal;

use crate::aggregate::{BatchTotals, Totals, TotalsKey};
use crate::pipeline::UsageRecord;

mod alerts; // budget rules evaluated in the commit; the alert outbox and delivery states
mod close; // closed months and the corrections of late usage
mod daily; // daily totals read back for the HTML report's trend charts
mod observe; // what the last commit accepted, for telemetry
mod partitions; // every checkpoint, Event Hubs partitions' polled positions (lag)
mod read_only; // the read-only connection `serve` uses
mod totals; // the totals columns every totals table shares
pub use alerts::{AlertRecord, DeliveryCounts, DeliveryState, DueDelivery};
pub use close::{CloseOutcome, Correction};
pub use partitions::{PartitionState, SourceCheckpoint};

/// Migrations, applied in order at open; `PRAGMA user_version` says how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_alerts.sql"),
    include_str!("migrations/0003_close.sql"),
    include_str!("migrations/0004_partitions.sql"),
];

const DAY_SECONDS: i64 = 86_400;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open store {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store {path} does not exist")]
    Missing { path: PathBuf },
    #[error("store {path} was written by a newer version (schema {found}, this build knows {known})")]
    TooNew { path: PathBuf, found: usize, known: usize },
    #[error(
        "store {path} holds totals cut in time zone {stored}, but the config says {configured}; \
         use a new store or set billing_time_zone = \"{stored}\""
    )]
    TimeZoneChanged { path: PathBuf, stored: String, configured: String },
    #[error("store query failed")]
    Sql(#[from] rusqlite::Error),
    #[error("store holds a malformed decimal {0:?}")]
    Decimal(String),
}

/// Where a source has been read up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// `file:<canonical path>`, or an Event Hubs name.
    pub source: String,
    /// Event Hubs partition id; empty for files.
    pub partition: String,
    /// Byte offset (files) or sequence number (Event Hubs) after the last committed event.
    pub position: u64,
    /// For files: a hash of the bytes already read, to tell a rewritten file from a grown one.
    pub fingerprint: Option<String>,
}

/// A line that could not be counted, to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeadLetter {
    pub source: String,
    pub position: u64,
    pub length: u64,
    /// Hex SHA-256 of the line, checked when it is read again for replay.
    pub sha256: String,
    pub reason: String,
}

/// A recorded dead letter.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    pub id: i64,
    pub reason: String,
    pub source: String,
    pub position: u64,
    pub length: u64,
    pub sha256: String,
    pub recorded_at: String,
}

/// Everything one batch produced.
#[derive(Debug, Default)]
pub struct Batch {
    pub records: Vec<UsageRecord>,
    pub dead_letters: Vec<NewDeadLetter>,
    /// Dead letters that now count (replay): removed in the same transaction.
    pub resolved_dead_letters: Vec<i64>,
    pub checkpoint: Option<Checkpoint>,
    /// W3C `traceparent` of the batch's span, kept with the alerts it raises so that their
    /// delivery spans link back to it (telemetry only; `None` when tracing is off).
    pub traceparent: Option<String>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
            && self.dead_letters.is_empty()
            && self.resolved_dead_letters.is_empty()
            && self.checkpoint.is_none()
    }
}

/// What a commit did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitSummary {
    pub accepted: u64,
    pub duplicates: u64,
    pub dead_letters: u64,
    /// Accepted events whose tokens were (partly) counted here.
    pub estimated: u64,
}

impl std::ops::AddAssign for CommitSummary {
    fn add_assign(&mut self, o: CommitSummary) {
        self.accepted += o.accepted;
        self.duplicates += o.duplicates;
        self.dead_letters += o.dead_letters;
        self.estimated += o.estimated;
    }
}

/// One row of monthly totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    pub key: TotalsKey,
    pub totals: Totals,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    dedupe_window_seconds: i64,
    /// Telemetry hook: which records of the last committed batch were accepted (see
    /// `observe.rs`).
    last_accepted: Vec<bool>,
    /// Budget rules evaluated in each commit (see `alerts.rs`); none by default.
    alert_rules: Option<std::sync::Arc<crate::alerts::rules::RuleSet>>,
}

impl Store {
    /// Open (creating if needed) the store at `path`, apply migrations, and check that it was
    /// cut in `time_zone`.
    pub fn open(path: &Path, time_zone: &str, dedupe_window_days: u32) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open { path: path.to_owned(), source };
        let conn = Connection::open(path).map_err(open_err)?;
        // First: every statement below may meet another process opening the same new file.
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(open_err)?;
        // WAL: readers (report, status) never block the writer. synchronous=NORMAL is safe here:
        // a power cut can only lose the latest commits whole, together with their checkpoint, so
        // they are read again and counted once.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(open_err)?;
        // 32 MiB of page cache (default 2 MiB): the hot pages of the totals stay in memory.
        conn.pragma_update(None, "cache_size", -32_768).map_err(open_err)?;
        conn.create_scalar_function(
            "decimal_add",
            2,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            |ctx| {
                let parse = |i| -> rusqlite::Result<Decimal> {
                    let text: String = ctx.get(i)?;
                    Decimal::from_str(&text).map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))
                };
                Ok((parse(0)? + parse(1)?).normalize().to_string())
            },
        )
        .map_err(open_err)?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
            dedupe_window_seconds: i64::from(dedupe_window_days) * DAY_SECONDS,
            last_accepted: Vec::new(),
            alert_rules: None,
        };
        store.migrate()?;
        store.check_time_zone(time_zone)?;
        Ok(store)
    }

    /// Open a store that must already exist (for commands that only read): a mistyped path
    /// is an error, not a new empty store.
    pub fn open_existing(path: &Path, time_zone: &str, dedupe_window_days: u32) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing { path: path.to_owned() });
        }
        Store::open(path, time_zone, dedupe_window_days)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let done: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|source| StoreError::Open { path: self.path.clone(), source })?;
        let done = done.max(0) as usize;
        if done > MIGRATIONS.len() {
            return Err(StoreError::TooNew { path: self.path.clone(), found: done, known: MIGRATIONS.len() });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    fn check_time_zone(&mut self, time_zone: &str) -> Result<(), StoreError> {
        let stored = self.meta("billing_time_zone")?;
        match stored {
            Some(stored) if stored != time_zone => {
                let has_totals: bool =
                    self.conn.query_row("SELECT EXISTS (SELECT 1 FROM monthly_totals)", [], |r| r.get(0))?;
                if has_totals {
                    return Err(StoreError::TimeZoneChanged {
                        path: self.path.clone(),
                        stored,
                        configured: time_zone.to_owned(),
                    });
                }
                set_meta(&self.conn, "billing_time_zone", time_zone)?;
            }
            Some(_) => {}
            None => set_meta(&self.conn, "billing_time_zone", time_zone)?,
        }
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(get_meta(&self.conn, key)?)
    }

    /// Events before this second can no longer be checked for duplicates.
    pub fn dedupe_horizon(&self) -> Result<i64, StoreError> {
        Ok(self.meta("dedupe_horizon")?.and_then(|v| v.parse().ok()).unwrap_or(i64::MIN))
    }

    /// Where `source` / `partition` has been read up to.
    pub fn checkpoint(&self, source: &str, partition: &str) -> Result<Option<Checkpoint>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT position, fingerprint FROM checkpoints WHERE source = ?1 AND partition = ?2",
                [source, partition],
                |r| {
                    Ok(Checkpoint {
                        source: source.to_owned(),
                        partition: partition.to_owned(),
                        position: r.get::<_, i64>(0)? as u64,
                        fingerprint: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Commit one batch, all or nothing: dedupe each record, add the new ones to the monthly
    /// and daily totals, record dead letters, drop resolved ones, move the checkpoint.
    pub fn commit_batch(&mut self, batch: &Batch) -> Result<CommitSummary, StoreError> {
        let window = self.dedupe_window_seconds;
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut summary = CommitSummary::default();
        let mut accepted = Vec::with_capacity(batch.records.len());
        let mut newest = i64::MIN;
        // Telemetry hook: remember which records were accepted, for `Store::last_accepted`.
        self.last_accepted.clear();
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO seen_events (event_second, id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?;
            for record in &batch.records {
                let is_new = insert.execute(params![record.key.second, &record.key.id[..]])? == 1;
                self.last_accepted.push(is_new); // telemetry hook (see above)
                if is_new {
                    accepted.push(record);
                    summary.accepted += 1;
                    summary.estimated += u64::from(record.estimated > 0);
                    newest = newest.max(record.key.second);
                } else {
                    summary.duplicates += 1;
                }
            }
        }
        let mut totals = BatchTotals::of(accepted);
        // Month close (issue 7): late usage of a closed month becomes a correction of the next
        // open month, so a closed month's totals never change.
        close::divert_closed(&tx, &mut totals)?;
        add_totals(&tx, "monthly_totals", &totals.monthly)?;
        add_totals(&tx, "daily_totals", &totals.daily)?;
        // Budget alerts: crossings become outbox rows in this same transaction (alerts.rs).
        if let Some(rules) = &self.alert_rules {
            alerts::record_alerts(&tx, rules, &totals.monthly, newest, batch.traceparent.as_deref())?;
        }
        let now = Utc::now().to_rfc3339();
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO dead_letters (source, position, length, sha256, reason, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (source, position, sha256) DO UPDATE SET reason = excluded.reason",
            )?;
            for dead in &batch.dead_letters {
                insert.execute(params![
                    dead.source,
                    dead.position as i64,
                    dead.length as i64,
                    dead.sha256,
                    dead.reason,
                    now
                ])?;
                summary.dead_letters += 1;
            }
            let mut delete = tx.prepare_cached("DELETE FROM dead_letters WHERE id = ?1")?;
            for id in &batch.resolved_dead_letters {
                delete.execute([id])?;
            }
        }
        if let Some(cp) = &batch.checkpoint {
            tx.execute(
                "INSERT INTO checkpoints (source, partition, position, fingerprint, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (source, partition) DO UPDATE SET position = excluded.position,
                     fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
                params![cp.source, cp.partition, cp.position as i64, cp.fingerprint, now],
            )?;
        }
        if newest > i64::MIN {
            advance_horizon(&tx, newest, window)?;
        }
        tx.commit()?;
        Ok(summary)
    }

    /// Monthly totals of `period` (`YYYY-MM`), one row per client, deployment and model.
    pub fn monthly_usage(&self, period: &str) -> Result<Vec<UsageRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT period, client, deployment, model, {}
             FROM monthly_totals WHERE period = ?1 ORDER BY client, deployment, model",
            totals::COLUMNS
        ))?;
        let rows = stmt.query_map([period], |r| totals::read(r, 0))?;
        rows.map(|row| row?.into_row()).collect()
    }

    /// Months that hold totals or corrections, newest first.
    pub fn months(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT period FROM monthly_totals UNION SELECT period FROM corrections ORDER BY period DESC",
        )?;
        let months = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(months)
    }

    /// Every dead letter, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, reason, source, position, length, sha256, recorded_at FROM dead_letters ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(DeadLetter {
                id: r.get(0)?,
                reason: r.get(1)?,
                source: r.get(2)?,
                position: r.get::<_, i64>(3)? as u64,
                length: r.get::<_, i64>(4)? as u64,
                sha256: r.get(5)?,
                recorded_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>, rusqlite::Error> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), rusqlite::Error> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// Add a batch's deltas, one upsert per distinct key.
fn add_totals(
    tx: &Transaction<'_>,
    table: &str,
    deltas: &std::collections::HashMap<TotalsKey, Totals>,
) -> Result<(), rusqlite::Error> {
    let sql = format!(
        "INSERT INTO {table} (period, client, deployment, model, {})
         VALUES (?1, ?2, ?3, ?4, {})
         ON CONFLICT (period, client, deployment, model) DO UPDATE SET {}",
        totals::COLUMNS,
        totals::placeholders(5),
        totals::ADD_ON_CONFLICT
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    for (key, t) in deltas {
        let key = [&key.period, &key.client, &key.deployment, &key.model].map(|k| Value::Text(k.clone()));
        stmt.execute(rusqlite::params_from_iter(key.into_iter().chain(totals::values(t))))?;
    }
    Ok(())
}

/// Move the dedupe horizon to `window` before the newest event, a day at a time, dropping the
/// dedupe records it leaves behind.
fn advance_horizon(tx: &Transaction<'_>, newest_in_batch: i64, window: i64) -> Result<(), rusqlite::Error> {
    let read = |key: &str| -> Result<Option<i64>, rusqlite::Error> {
        Ok(get_meta(tx, key)?.and_then(|v| v.parse().ok()))
    };
    let newest = read("newest_event_second")?.unwrap_or(i64::MIN).max(newest_in_batch);
    set_meta(tx, "newest_event_second", &newest.to_string())?;
    let target = newest - window;
    let horizon = read("dedupe_horizon")?;
    if horizon.is_none_or(|h| target >= h + DAY_SECONDS) {
        tx.execute("DELETE FROM seen_events WHERE event_second < ?1", [target])?;
        set_meta(tx, "dedupe_horizon", &target.to_string())?;
    }
    Ok(())
}
