//! `chargeback ingest [FILE... | -]`.

use std::io::IsTerminal;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::{Exit, stop_flag};
use crate::config::Config;
use crate::ingest::{IngestSummary, Input, ingest};
use crate::pipeline::Pipeline;
use crate::report::render::thousands;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// JSONL files, one event per line; `-` or nothing reads stdin.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Events per committed batch (default: the config's ingest.batch_size).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Do not deliver budget alerts after committing (when `alerts dispatch --watch` runs).
    #[arg(long)]
    no_alert_dispatch: bool,
}

pub fn run(args: IngestArgs, config: &Config, mut store: Store) -> anyhow::Result<Exit> {
    let inputs: Vec<Input> = if args.files.is_empty() {
        vec![Input::Stdin]
    } else {
        args.files
            .iter()
            .map(|p| if p.as_os_str() == "-" { Input::Stdin } else { Input::File(p.clone()) })
            .collect()
    };
    let batch_size = args.batch_size.unwrap_or(config.ingest.batch_size).max(1);
    let total_bytes: u64 = args.files.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(total_bytes);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}")
                .expect("valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut pipeline = Pipeline::new(config);
    let stop = stop_flag()?;
    let summary = ingest(&mut store, &mut pipeline, &inputs, batch_size, stop, &mut |bytes, s| {
        bar.set_position(bytes);
        let rate = s.lines as f64 / started.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!("{} events, {} events/s", thousands(s.lines), thousands(rate as u64)));
    })?;
    bar.finish_and_clear();
    let c = &summary.committed;
    tracing::info!(
        lines = summary.lines,
        accepted = c.accepted,
        duplicates = c.duplicates,
        dead_letters = c.dead_letters,
        estimated = c.estimated,
        seconds = started.elapsed().as_secs_f64(),
        interrupted = summary.interrupted,
        "ingest finished"
    );
    print_summary(&summary, started.elapsed().as_secs_f64())?;
    // Budget alerts committed by this run: one bounded delivery pass (cli/alerts.rs).
    if !args.no_alert_dispatch
        && let Some(line) = super::alerts::deliver_after_ingest(config, &store)?
    {
        writeln!(std::io::stdout(), "{line}")?;
    }
    Ok(if summary.interrupted { Exit::Interrupted } else { Exit::Ok })
}

fn print_summary(s: &IngestSummary, seconds: f64) -> std::io::Result<()> {
    let c = &s.committed;
    writeln!(
        std::io::stdout(),
        "{} lines in {:.1}s ({} lines/s): {} accepted, {} duplicates, {} dead letters, {} estimated",
        thousands(s.lines),
        seconds,
        thousands((s.lines as f64 / seconds.max(1e-9)) as u64),
        thousands(c.accepted),
        thousands(c.duplicates),
        thousands(c.dead_letters),
        thousands(c.estimated),
    )?;
    if c.dead_letters > 0 {
        writeln!(
            std::io::stdout(),
            "see them with `chargeback dead-letters list`; replay them after a fix with `chargeback dead-letters replay`"
        )?;
    }
    if s.interrupted {
        writeln!(
            std::io::stdout(),
            "interrupted: everything read so far is committed; run the same command again to resume"
        )?;
    }
    Ok(())
}
