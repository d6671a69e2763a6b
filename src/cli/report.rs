//! `chargeback report [--month YYYY-MM] [--format ...] [--by ...]`.

use anyhow::{Context, bail};

use super::{Exit, parse_month};
use crate::config::Config;
use crate::report::GroupBy;
use crate::report::load::month_report;
use crate::report::render::{Format, render};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Month to report, YYYY-MM in the billing time zone. Default: the newest month with usage.
    #[arg(long)]
    month: Option<String>,
    /// Output format; `html` and `focus` always use detail rows (`--by` is ignored).
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Row grouping.
    #[arg(long, value_enum, default_value = "detail")]
    by: GroupBy,
}

pub fn run(args: ReportArgs, config: &Config, store: &Store) -> anyhow::Result<Exit> {
    let month = match args.month {
        Some(month) => {
            parse_month("--month", &month)?;
            month
        }
        None => match store.months()?.into_iter().next() {
            Some(month) => month,
            None => {
                bail!("the store {} holds no usage yet: ingest some events first", store.path().display())
            }
        },
    };
    let report = month_report(config, store, &month, args.format, args.by)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    render(&report, args.format, &mut out).context("cannot write the report")?;
    Ok(Exit::Ok)
}
