//! `chargeback generate`: synthetic events to stdout or a file.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;

use super::{Exit, UsageError, parse_month};
use crate::generate::{Spec, write};

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Number of events (duplicates come on top).
    #[arg(long, default_value_t = 1_000)]
    events: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Month the events fall in, YYYY-MM.
    #[arg(long, default_value = "2026-10")]
    month: String,
    #[arg(long, default_value_t = 1_000)]
    clients: u32,
    #[arg(long, default_value_t = 20)]
    deployments: u32,
    /// Share (0-1) of streamed calls without usage, counted from captured text.
    #[arg(long, default_value_t = 0.0)]
    streamed: f64,
    /// Share (0-1) of events in the legacy shape.
    #[arg(long, default_value_t = 0.0)]
    legacy: f64,
    /// Share (0-1) of events written twice.
    #[arg(long, default_value_t = 0.005)]
    duplicates: f64,
    /// Share (0-1) of broken lines.
    #[arg(long, default_value_t = 0.0)]
    bad: f64,
    /// Output file (default stdout).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub fn run(a: GenerateArgs) -> anyhow::Result<Exit> {
    let month = parse_month("--month", &a.month)?;
    for (name, share) in
        [("streamed", a.streamed), ("legacy", a.legacy), ("duplicates", a.duplicates), ("bad", a.bad)]
    {
        if !(0.0..=1.0).contains(&share) {
            return Err(UsageError(format!("--{name} {share} is not a share between 0 and 1")).into());
        }
    }
    let spec = Spec {
        events: a.events,
        seed: a.seed,
        month,
        clients: a.clients,
        deployments: a.deployments,
        streamed: a.streamed,
        legacy: a.legacy,
        duplicates: a.duplicates,
        bad: a.bad,
    };
    let mut out: Box<dyn Write> = match &a.output {
        Some(path) => Box::new(BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    write(&spec, &mut out)?;
    out.flush()?;
    Ok(Exit::Ok)
}
