//! `chargeback close --month YYYY-MM`: freeze a month that has ended in the billing time zone.

use chrono::{Months, TimeZone, Utc};

use super::{Exit, UsageError, parse_month};
use crate::config::Config;
use crate::store::{CloseOutcome, Store};

#[derive(Debug, clap::Args)]
pub struct CloseArgs {
    /// Month to close, YYYY-MM in the billing time zone. It must have ended.
    #[arg(long)]
    month: String,
}

pub fn run(args: CloseArgs, config: &Config, mut store: Store) -> anyhow::Result<Exit> {
    let first = parse_month("--month", &args.month)?;
    let month = first.format("%Y-%m").to_string();
    let tz = config.billing_time_zone;
    let next = first + Months::new(1);
    // The month ends at midnight of the next month's first day, local time. A first day that
    // starts inside a DST gap or fold resolves to its earliest valid instant.
    let end = tz
        .from_local_datetime(&next.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .map(|t| t.with_timezone(&Utc));
    let now = Utc::now();
    if end.is_none_or(|end| now < end) {
        return Err(UsageError(format!(
            "{month} has not ended in the billing time zone {}: a month can be closed from {} on",
            tz.name(),
            next.format("%Y-%m-%d 00:00")
        ))
        .into());
    }
    match store.close_month(&month, &now.to_rfc3339())? {
        CloseOutcome::Closed => println!(
            "closed {month}: its report is final; usage that arrives later for it is charged as a \
             correction in the next open month"
        ),
        CloseOutcome::AlreadyClosed => println!("{month} was already closed; nothing changed"),
    }
    Ok(Exit::Ok)
}
