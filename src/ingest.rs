//! The ingest loop for files and stdin: read lines, run each through the [`Pipeline`], commit
//! a [`Batch`] every `batch_size` lines with the file's checkpoint in the same transaction.
//!
//! Resuming: a file whose checkpoint fingerprint still matches is read from its checkpoint (a
//! finished file is skipped at once; a grown one is read from where it ended). A rewritten
//! file is read from the start and dedupe absorbs what was already counted. Stdin has no
//! position to resume from; dedupe alone keeps a re-piped stream from counting twice.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::event::hex;
use crate::pipeline::{Outcome, Pipeline};
use crate::sources::file::{self, Line, LineReader};
use crate::store::{Batch, Checkpoint, CommitSummary, NewDeadLetter, Store, StoreError};
use crate::telemetry::events;

/// One input to ingest.
#[derive(Debug, Clone)]
pub enum Input {
    File(PathBuf),
    Stdin,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an ingest run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestSummary {
    pub lines: u64,
    pub committed: CommitSummary,
    /// Stopped early by Ctrl-C / SIGTERM, after committing what it had read.
    pub interrupted: bool,
}

/// Progress callback: bytes read so far, events committed so far.
pub type Progress<'a> = &'a mut dyn FnMut(u64, &IngestSummary);

/// An opened input, ready to read.
struct Opened {
    name: String,
    path: Option<PathBuf>,
    reader: LineReader<Box<dyn BufRead>>,
    file: Option<File>,
}

/// Ingest `inputs` in order. Every input is opened before anything is read, so a mistyped
/// path fails the run before it counts anything.
pub fn ingest(
    store: &mut Store,
    pipeline: &mut Pipeline,
    inputs: &[Input],
    batch_size: usize,
    stop: &AtomicBool,
    progress: Progress<'_>,
) -> Result<IngestSummary, IngestError> {
    let mut opened = Vec::with_capacity(inputs.len());
    for input in inputs {
        opened.push(open(store, input)?);
    }
    let mut summary = IngestSummary::default();
    let mut bytes_done = 0u64;
    for mut input in opened {
        let start = input.reader.offset();
        let stopped =
            ingest_one(store, pipeline, &mut input, batch_size, stop, &mut summary, &mut |read, s| {
                progress(bytes_done + read - start, s)
            })?;
        bytes_done += input.reader.offset() - start;
        if stopped {
            summary.interrupted = true;
            break;
        }
    }
    Ok(summary)
}

fn open(store: &Store, input: &Input) -> Result<Opened, IngestError> {
    let path = match input {
        Input::Stdin => {
            let reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(1 << 16, io::stdin()));
            return Ok(Opened {
                name: "stdin".to_owned(),
                path: None,
                reader: LineReader::new(reader, 0),
                file: None,
            });
        }
        Input::File(path) => path,
    };
    let read_err = |source| IngestError::Read { path: path.clone(), source };
    let mut file = File::open(path).map_err(read_err)?;
    if file.metadata().map_err(read_err)?.is_dir() {
        return Err(read_err(io::Error::new(io::ErrorKind::IsADirectory, "is a directory")));
    }
    let name = file::source_name(path).map_err(read_err)?;
    let len = file.metadata().map_err(read_err)?.len();
    let mut start = 0;
    if let Some(cp) = store.checkpoint(&name, "")? {
        let same_file = cp.position <= len
            && cp.fingerprint.as_deref()
                == Some(file::fingerprint(&mut file, cp.position).map_err(read_err)?.as_str());
        if same_file {
            start = cp.position;
        }
    }
    // A second handle: a cloned one would share the offset that fingerprinting moves.
    let mut reader = File::open(path).map_err(read_err)?;
    reader.seek(SeekFrom::Start(start)).map_err(read_err)?;
    let reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(1 << 16, reader));
    Ok(Opened { name, path: Some(path.clone()), reader: LineReader::new(reader, start), file: Some(file) })
}

/// Ingest one input; true when stopped by a signal.
fn ingest_one(
    store: &mut Store,
    pipeline: &mut Pipeline,
    input: &mut Opened,
    batch_size: usize,
    stop: &AtomicBool,
    summary: &mut IngestSummary,
    progress: &mut dyn FnMut(u64, &IngestSummary),
) -> Result<bool, IngestError> {
    let path = input.path.clone().unwrap_or_else(|| PathBuf::from("-"));
    let read_err = |source| IngestError::Read { path: path.clone(), source };
    pipeline.set_window(store.dedupe_horizon()?, Utc::now());
    let mut batch = Batch::default();
    let mut in_batch = 0usize;
    let mut stopped = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            stopped = true;
            break;
        }
        let line = input.reader.next_line().map_err(read_err)?;
        let Some(line) = line else { break };
        summary.lines += 1;
        in_batch += 1;
        match line {
            Line::Text { position, bytes } => match pipeline.process(bytes, &input.name, position) {
                Outcome::Usage(record) => batch.records.push(*record),
                Outcome::Blank => {}
                Outcome::Dead(reason) => batch.dead_letters.push(NewDeadLetter {
                    source: input.name.clone(),
                    position,
                    length: bytes.len() as u64,
                    sha256: hex(&Sha256::digest(bytes)),
                    reason,
                }),
            },
            Line::TooLong { position, length, sha256 } => batch.dead_letters.push(NewDeadLetter {
                source: input.name.clone(),
                position,
                length,
                sha256,
                reason: format!(
                    "line of {length} bytes is over the {} byte limit (log-to-eventhub caps events at 200 KB)",
                    file::MAX_LINE_BYTES
                ),
            }),
        }
        if in_batch >= batch_size {
            commit(store, input, &mut batch, summary)?;
            in_batch = 0;
            pipeline.set_window(store.dedupe_horizon()?, Utc::now());
            progress(input.reader.offset(), summary);
        }
    }
    commit(store, input, &mut batch, summary)?;
    progress(input.reader.offset(), summary);
    Ok(stopped)
}

fn commit(
    store: &mut Store,
    input: &mut Opened,
    batch: &mut Batch,
    summary: &mut IngestSummary,
) -> Result<(), IngestError> {
    let position = input.reader.offset();
    if let Some(file) = &mut input.file {
        let fingerprint = file::fingerprint(file, position)
            .map_err(|source| IngestError::Read { path: input.path.clone().unwrap_or_default(), source })?;
        batch.checkpoint = Some(Checkpoint {
            source: input.name.clone(),
            partition: String::new(),
            position,
            fingerprint: Some(fingerprint),
        });
    }
    if !batch.is_empty() {
        summary.committed += events::commit_observed(store, batch, &input.name, "", position)?;
    }
    *batch = Batch::default();
    Ok(())
}
