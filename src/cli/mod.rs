//! The command line: argument definitions, dispatch to one file per command, error printing
//! and exit codes. The only place that uses `anyhow`; everything below returns typed errors.

mod alerts;
mod close;
mod dead_letters;
mod estimate;
mod generate;
mod ingest;
mod report;
mod serve;
mod status;

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigError};
use crate::store::{Store, StoreError};
use crate::telemetry::LogFormat;

/// A bad argument: nothing was done. Exits 2, like clap's own usage errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Parse a `YYYY-MM` month argument.
fn parse_month(flag: &str, month: &str) -> Result<chrono::NaiveDate, UsageError> {
    chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map_err(|_| UsageError(format!("{flag} {month:?} is not a month like 2026-10")))
}

/// Exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Exit {
    /// Done.
    Ok = 0,
    /// The command failed (unreadable input or store, failed write).
    Failure = 1,
    /// Bad usage or bad config: nothing was done.
    Usage = 2,
    /// Stopped by Ctrl-C / SIGTERM after committing what was read; run it again to resume.
    Interrupted = 130,
}

#[derive(Debug, Parser)]
#[command(
    name = "chargeback",
    version,
    about = "Exact, priced, monthly chargeback of Azure OpenAI usage logged by APIM"
)]
pub struct Args {
    /// Config file (TOML). Without one, the embedded defaults apply.
    #[arg(long, global = true, env = "CHARGEBACK_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    /// SQLite store. Default: the config's `store`, else ./chargeback.db.
    #[arg(long, global = true, env = "CHARGEBACK_STORE", value_name = "PATH")]
    store: Option<PathBuf>,
    /// Log lines on stderr: `auto` is human on a terminal and JSON lines otherwise. Filter
    /// with CHARGEBACK_LOG or RUST_LOG (default `info`).
    #[arg(long, global = true, env = "CHARGEBACK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Count JSONL usage events from files or stdin into the store, exactly once.
    Ingest(ingest::IngestArgs),
    /// Render the monthly chargeback report.
    Report(report::ReportArgs),
    /// Count the tokens of one request (and response) as the service would.
    Estimate(estimate::EstimateArgs),
    /// List or replay the lines that could not be counted.
    #[command(subcommand)]
    DeadLetters(dead_letters::DeadLettersCommand),
    /// Print the SHA-256 of a legacy subscription key read from stdin, for `key_sha256`.
    KeyHash,
    /// Write synthetic usage events (JSONL) for demos and benchmarks, reproducible by seed.
    Generate(generate::GenerateArgs),
    /// Freeze a month that has ended: its report never changes; late usage becomes corrections.
    Close(close::CloseArgs),
    /// Serve the reports over HTTP, read-only: month list, HTML page, CSV/JSON/FOCUS downloads.
    Serve(serve::ServeArgs),
    /// Budget alerts: list what fired, test a channel, retry failed deliveries, dispatch.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Show the store, its months, checkpoints, Event Hubs lag, dead letters and alerts.
    Status(status::StatusArgs),
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let config = Config::load(args.config.as_deref())?;
    let store_path =
        args.store.clone().or_else(|| config.store.clone()).unwrap_or_else(|| PathBuf::from("chargeback.db"));
    let tz = config.billing_time_zone.name();
    // Budget rules are evaluated in every commit of a store opened for writing.
    let open_store = || {
        let mut store = Store::open(&store_path, tz, config.dedupe_window_days)?;
        store.set_alert_rules(crate::alerts::rules::RuleSet::from_config(&config));
        Ok::<_, StoreError>(store)
    };
    let open_existing = || Store::open_existing(&store_path, tz, config.dedupe_window_days);
    // Logs for every command; OTLP export only for the commands that run the pipeline or
    // deliver alerts (so `report` never waits on a collector at exit).
    let otlp = matches!(args.command, Command::Ingest(_) | Command::Alerts(_));
    let telemetry = crate::telemetry::init(
        args.log_format,
        otlp,
        &config.telemetry,
        config.client_directory(),
        &config.currency,
    )?;
    let result = match args.command {
        Command::Ingest(a) => ingest::run(a, &config, open_store()?),
        Command::Report(a) => report::run(a, &config, &open_existing()?),
        Command::Estimate(a) => estimate::run(a),
        Command::DeadLetters(c) => {
            // A replay commits: budget rules apply to what it counts.
            let mut store = open_existing()?;
            store.set_alert_rules(crate::alerts::rules::RuleSet::from_config(&config));
            dead_letters::run(c, &config, store)
        }
        Command::KeyHash => {
            let mut key = String::new();
            std::io::stdin().read_line(&mut key)?;
            writeln!(std::io::stdout(), "{}", crate::event::key_hash(key.trim()))?;
            Ok(Exit::Ok)
        }
        Command::Generate(a) => generate::run(a),
        Command::Close(a) => close::run(a, &config, open_existing()?),
        Command::Serve(a) => serve::run(a, config.clone(), &store_path),
        Command::Alerts(c) => alerts::run(c, &config, &store_path, open_store()?),
        Command::Status(a) => status::run(a, &open_existing()?),
    };
    telemetry.shutdown(); // bounded: an unreachable collector delays the exit a few seconds at most
    result
}

/// Print an error with its causes and a hint; return the exit code it deserves.
pub fn report_error(err: &anyhow::Error) -> Exit {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    let (hint, exit) = if err.downcast_ref::<UsageError>().is_some() {
        ("see `chargeback help`", Exit::Usage)
    } else if err.downcast_ref::<ConfigError>().is_some() {
        ("fix the config file (see fixtures/config.toml for every field, documented)", Exit::Usage)
    } else if let Some(StoreError::Open { .. } | StoreError::TooNew { .. }) = err.downcast_ref::<StoreError>()
    {
        ("--store (or CHARGEBACK_STORE) must name a chargeback SQLite store or a new file", Exit::Failure)
    } else if let Some(StoreError::TimeZoneChanged { .. }) = err.downcast_ref::<StoreError>() {
        ("a store's billing time zone is fixed once it holds totals", Exit::Usage)
    } else {
        ("", Exit::Failure)
    };
    if !hint.is_empty() {
        eprintln!("hint: {hint}");
    }
    exit
}

/// Read a file argument, `-` meaning stdin.
fn read_arg(path: &Path) -> anyhow::Result<String> {
    use anyhow::Context;
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).context("cannot read stdin")?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

/// Ctrl-C and SIGTERM set this flag; long commands check it between events.
fn stop_flag() -> anyhow::Result<&'static std::sync::atomic::AtomicBool> {
    use std::sync::atomic::{AtomicBool, Ordering};
    static STOP: AtomicBool = AtomicBool::new(false);
    ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst))?;
    Ok(&STOP)
}
