//! JSONL files (one event per line) and stdin.
//!
//! Owns line splitting with byte positions (a line's position is the offset of its first
//! byte), the limits on a line (a longer line is reported, not buffered: `log-to-eventhub`
//! caps an event at 200 KB, so anything far larger is not an event), the UTF-8 BOM at the
//! start of a file, CRLF endings, and the fingerprint that tells a grown file from a rewritten
//! one when resuming from a checkpoint.

use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Longest line read as an event; longer ones become dead letters without being held in memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How many leading bytes of a file its fingerprint covers.
const FINGERPRINT_BYTES: u64 = 4096;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One line read.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line of at most [`MAX_LINE_BYTES`], without its line ending.
    Text { position: u64, bytes: &'a [u8] },
    /// A line too long to be an event: its length and hash only.
    TooLong { position: u64, length: u64, sha256: String },
}

/// Splits a byte stream into lines, tracking positions.
pub struct LineReader<R> {
    inner: R,
    /// Offset of the next byte to be read.
    offset: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    /// Read from `inner`, whose first byte is at `offset` in the source.
    pub fn new(inner: R, offset: u64) -> Self {
        LineReader { inner, offset, buf: Vec::with_capacity(4096) }
    }

    /// Offset just past the last line returned: where to resume.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next line, or `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let start = self.offset;
        let mut length: u64 = 0;
        let mut overflow: Option<Sha256> = None;
        let mut saw_newline = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            let (take, used, done) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            length += take.len() as u64;
            match &mut overflow {
                Some(hasher) => hasher.update(take),
                None if self.buf.len() + take.len() > MAX_LINE_BYTES => {
                    let mut hasher = Sha256::new();
                    hasher.update(&self.buf);
                    hasher.update(take);
                    overflow = Some(hasher);
                    self.buf = Vec::with_capacity(4096);
                }
                None => self.buf.extend_from_slice(take),
            }
            self.inner.consume(used);
            self.offset += used as u64;
            if done {
                saw_newline = true;
                break;
            }
        }
        if !saw_newline && length == 0 {
            return Ok(None);
        }
        if let Some(hasher) = overflow {
            let sha256 = crate::event::hex(&hasher.finalize());
            return Ok(Some(Line::TooLong { position: start, length, sha256 }));
        }
        let mut bytes = &self.buf[..];
        let mut position = start;
        if position == 0 && bytes.starts_with(BOM) {
            bytes = &bytes[BOM.len()..];
            position = BOM.len() as u64;
        }
        if let Some(stripped) = bytes.strip_suffix(b"\r") {
            bytes = stripped;
        }
        Ok(Some(Line::Text { position, bytes }))
    }
}

/// The fingerprint of the first `min(read_up_to, 4 KiB)` bytes of a file: the same as stored
/// in the checkpoint when the file only grew since, different when it was rewritten.
pub fn fingerprint(file: &mut File, read_up_to: u64) -> io::Result<String> {
    let len = read_up_to.min(FINGERPRINT_BYTES);
    let mut prefix = Vec::with_capacity(len as usize);
    file.seek(SeekFrom::Start(0))?;
    file.by_ref().take(len).read_to_end(&mut prefix)?;
    Ok(format!("{len}:{}", crate::event::hex(&Sha256::digest(&prefix))))
}

/// The source name of a file: `file:` and its canonical path, so that the same file reached
/// by another path resumes from the same checkpoint.
pub fn source_name(path: &Path) -> io::Result<String> {
    Ok(format!("file:{}", std::fs::canonicalize(path)?.display()))
}

/// Read exactly `length` bytes at `position` of a file (to replay a dead letter).
pub fn read_at(path: &Path, position: u64, length: u64) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(position))?;
    let mut bytes = Vec::with_capacity(length as usize);
    file.take(length).read_to_end(&mut bytes)?;
    if (bytes.len() as u64) < length {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file is shorter than it was"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let mut reader = LineReader::new(input, 0);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            match line {
                Line::Text { position, bytes } => out.push((position, bytes.to_vec())),
                Line::TooLong { position, length, .. } => {
                    out.push((position, format!("<{length}>").into_bytes()))
                }
            }
        }
        assert_eq!(reader.offset(), input.len() as u64);
        out
    }

    #[test]
    fn positions_bom_crlf_and_a_last_line_without_newline() {
        let got = lines(b"\xEF\xBB\xBF{\"a\":1}\r\n\n{\"b\":2}");
        assert_eq!(got, vec![(3, b"{\"a\":1}".to_vec()), (12, b"".to_vec()), (13, b"{\"b\":2}".to_vec())]);
    }

    #[test]
    fn an_overlong_line_is_measured_not_buffered() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.extend_from_slice(b"\n{}\n");
        let got = lines(&input);
        assert_eq!(got[0], (0, format!("<{}>", MAX_LINE_BYTES + 10).into_bytes()));
        assert_eq!(got[1], ((MAX_LINE_BYTES + 11) as u64, b"{}".to_vec()));
    }
}
