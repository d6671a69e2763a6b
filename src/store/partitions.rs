//! Store reads and writes for `consume` and `status`: every checkpoint (files and Event Hubs
//! partitions), each partition's polled last enqueued sequence number (lag), and the count of
//! dead letters. Hides the `partitions` table (migration 0004).

use chrono::{SecondsFormat, Utc};
use rusqlite::params;

use super::{Store, StoreError};

/// A checkpoint as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceCheckpoint {
    pub source: String,
    /// Event Hubs partition id; empty for files.
    pub partition: String,
    /// Byte offset (files) or next sequence number (Event Hubs).
    pub position: u64,
    pub updated_at: String,
}

/// One Event Hubs partition: what the service has, what the store committed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartitionState {
    pub source: String,
    pub partition: String,
    /// Sequence number the next enqueued event gets, as last polled.
    pub next_sequence: u64,
    /// Next sequence number to read (the checkpoint); 0 when nothing was committed.
    pub committed: u64,
    /// Events enqueued but not committed when last polled.
    pub lag: u64,
    pub polled_at: String,
}

impl Store {
    /// Record a partition's polled last enqueued sequence number (+1).
    pub fn record_partition(
        &self,
        source: &str,
        partition: &str,
        next_sequence: u64,
    ) -> Result<(), StoreError> {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        self.conn.execute(
            "INSERT INTO partitions (source, partition, next_sequence, polled_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (source, partition) DO UPDATE SET next_sequence = ?3, polled_at = ?4",
            params![source, partition, next_sequence as i64, now],
        )?;
        Ok(())
    }

    /// Every checkpoint, by source then partition.
    pub fn checkpoints(&self) -> Result<Vec<SourceCheckpoint>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT source, partition, position, updated_at FROM checkpoints ORDER BY source, partition",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SourceCheckpoint {
                source: r.get(0)?,
                partition: r.get(1)?,
                position: r.get::<_, i64>(2)? as u64,
                updated_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every polled partition with its committed position and lag.
    pub fn partition_states(&self) -> Result<Vec<PartitionState>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT p.source, p.partition, p.next_sequence, COALESCE(c.position, 0), p.polled_at
             FROM partitions p LEFT JOIN checkpoints c ON c.source = p.source AND c.partition = p.partition
             ORDER BY p.source, CAST(p.partition AS INTEGER), p.partition",
        )?;
        let rows = stmt.query_map([], |r| {
            let next: i64 = r.get(2)?;
            let committed: i64 = r.get(3)?;
            Ok(PartitionState {
                source: r.get(0)?,
                partition: r.get(1)?,
                next_sequence: next as u64,
                committed: committed as u64,
                lag: (next - committed).max(0) as u64,
                polled_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many dead letters wait for a fix.
    pub fn dead_letter_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM dead_letters", [], |r| r.get::<_, i64>(0))? as u64)
    }
}
