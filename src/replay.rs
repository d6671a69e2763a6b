//! Replaying dead letters: read each line again from its source, check it is the same line
//! (SHA-256), and run it through the pipeline with the current config. Lines that now count
//! are committed and their dead letters removed in the same transaction; the others keep a
//! fresh reason. Dedupe applies as for any event, so replaying twice counts nothing twice.
//!
//! Dead letters hold no copy of their line (it may hold prompt text or a raw key), so a line
//! can be replayed only while its source still has it: files in place, Event Hubs within
//! retention.

use std::path::Path;

use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::event::hex;
use crate::pipeline::{Outcome, Pipeline};
use crate::sources::file::{self, MAX_LINE_BYTES};
use crate::store::{Batch, CommitSummary, DeadLetter, NewDeadLetter, Store, StoreError};

const REPLAY_BATCH: usize = 10_000;

#[derive(Debug, Default, Clone, Copy)]
pub struct ReplayOutcome {
    pub replayed: u64,
    pub committed: CommitSummary,
    pub still_dead: u64,
    /// Lines no longer readable at their source, or changed there.
    pub unreadable: u64,
}

pub fn replay(store: &mut Store, pipeline: &mut Pipeline) -> Result<ReplayOutcome, StoreError> {
    let mut outcome = ReplayOutcome::default();
    let letters = store.dead_letters()?;
    for chunk in letters.chunks(REPLAY_BATCH) {
        pipeline.set_window(store.dedupe_horizon()?, Utc::now());
        let mut batch = Batch::default();
        for letter in chunk {
            outcome.replayed += 1;
            let Some(line) = read_again(letter) else {
                outcome.unreadable += 1;
                continue;
            };
            match pipeline.process(&line, &letter.source, letter.position) {
                Outcome::Usage(record) => {
                    batch.records.push(*record);
                    batch.resolved_dead_letters.push(letter.id);
                }
                Outcome::Blank => batch.resolved_dead_letters.push(letter.id),
                Outcome::Dead(reason) => {
                    outcome.still_dead += 1;
                    batch.dead_letters.push(NewDeadLetter {
                        source: letter.source.clone(),
                        position: letter.position,
                        length: letter.length,
                        sha256: letter.sha256.clone(),
                        reason,
                    });
                }
            }
        }
        let summary = crate::telemetry::events::commit_observed(store, &mut batch, "replay", "", 0)?;
        outcome.committed.accepted += summary.accepted;
        outcome.committed.duplicates += summary.duplicates;
    }
    Ok(outcome)
}

/// The dead letter's line, if its source still holds the very same bytes (and the line is
/// not one of those refused for their length alone).
fn read_again(letter: &DeadLetter) -> Option<Vec<u8>> {
    let path = letter.source.strip_prefix("file:")?;
    if letter.length > MAX_LINE_BYTES as u64 {
        return None;
    }
    let bytes = file::read_at(Path::new(path), letter.position, letter.length).ok()?;
    (hex(&Sha256::digest(&bytes)) == letter.sha256).then_some(bytes)
}
