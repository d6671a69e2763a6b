//! Sources: where raw events come from. Each source yields lines with a stable position, so
//! that a checkpoint can say where to resume and a dead letter where to find its line again.
//!
//! * [`file`]: JSONL files and stdin (replay of captured logs, local runs, benchmarks).

pub mod file;
