//! What `chargeback status` shows, one struct per section: the store file, its months (and
//! which are closed), every checkpoint (files and Event Hubs partitions), partition lag, dead
//! letters, budget alerts and their deliveries. Gathering reads the store; rendering is pure.

use std::fmt::Write;

use serde::Serialize;

use crate::store::{DeliveryCounts, PartitionState, SourceCheckpoint, Store, StoreError};

/// The store file.
#[derive(Debug, Clone, Serialize)]
pub struct StoreSection {
    pub path: String,
    /// Bytes of the database file (without its WAL).
    pub size_bytes: u64,
    /// Months that hold totals, newest first.
    pub months: Vec<String>,
    /// Months frozen by `chargeback close`, oldest first.
    pub closed_months: Vec<String>,
}

/// Dead letters waiting for a fix.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetterSection {
    pub count: u64,
}

/// Everything `status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub store: StoreSection,
    pub checkpoints: Vec<SourceCheckpoint>,
    /// Event Hubs partitions with their lag as last polled by `consume`.
    pub partitions: Vec<PartitionState>,
    pub dead_letters: DeadLetterSection,
    /// Budget alerts fired and where their deliveries stand (pending ones are still to send).
    pub alerts: DeliveryCounts,
}

impl Status {
    pub fn gather(store: &Store) -> Result<Status, StoreError> {
        let path = store.path();
        Ok(Status {
            store: StoreSection {
                path: path.display().to_string(),
                size_bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
                months: store.months()?,
                closed_months: store.closed_months()?,
            },
            checkpoints: store.checkpoints()?,
            partitions: store.partition_states()?,
            dead_letters: DeadLetterSection { count: store.dead_letter_count()? },
            alerts: store.delivery_counts()?,
        })
    }

    /// The human rendering: one block per section.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let s = &self.store;
        let months = if s.months.is_empty() { "none".to_owned() } else { s.months.join(", ") };
        let _ = writeln!(out, "store        {} ({} bytes)", s.path, s.size_bytes);
        let _ = writeln!(out, "months       {months}");
        let closed = if s.closed_months.is_empty() { "none".to_owned() } else { s.closed_months.join(", ") };
        let _ = writeln!(out, "closed       {closed}");
        let _ = writeln!(out, "dead letters {}", self.dead_letters.count);
        let a = &self.alerts;
        let _ = writeln!(
            out,
            "alerts       {} fired; deliveries: {} pending, {} failed, {} delivered",
            a.alerts, a.pending, a.failed, a.delivered
        );
        let _ = writeln!(out, "\ncheckpoints");
        if self.checkpoints.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for c in &self.checkpoints {
            let part =
                if c.partition.is_empty() { String::new() } else { format!(" partition {}", c.partition) };
            let _ = writeln!(out, "  {}{part}: {} (at {})", c.source, c.position, c.updated_at);
        }
        if !self.partitions.is_empty() {
            let _ = writeln!(out, "\nevent hubs lag (as last polled by consume)");
            let _ = writeln!(
                out,
                "  {:<10} {:>14} {:>14} {:>10}  polled",
                "partition", "enqueued", "committed", "lag"
            );
            for p in &self.partitions {
                let _ = writeln!(
                    out,
                    "  {:<10} {:>14} {:>14} {:>10}  {}",
                    p.partition, p.next_sequence, p.committed, p.lag, p.polled_at
                );
            }
        }
        out
    }
}
