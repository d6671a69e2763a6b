//! Loading a month's report from the store: the one part of `report/` that reads (everything
//! else here is pure). `chargeback report` and `chargeback serve` both call [`month_report`], so
//! a download equals the command's output byte for byte.

use super::context::RenderContext;
use super::render::Format;
use super::{GroupBy, Provisioned, Report, add_corrections, build_with};
use crate::config::Config;
use crate::store::{Store, StoreError};

/// The report of `month` ready for `render` in `format`: rows (with provisioned cost), the
/// corrections charged in the month, and for HTML and FOCUS (which regroup rows themselves per
/// client, deployment, model and token type) the detail rows plus the daily usage, prices and
/// UTC period they show.
pub fn month_report(
    config: &Config,
    store: &Store,
    month: &str,
    format: Format,
    by: GroupBy,
) -> Result<Report, StoreError> {
    let rows = store.monthly_usage(month)?;
    let clients = config.client_directory();
    let rich = matches!(format, Format::Html | Format::Focus);
    let by = if rich { GroupBy::Detail } else { by };
    let provisioned = Provisioned::from_config(config);
    let mut report = build_with(month, &config.currency, &rows, &clients, by, &provisioned);
    add_corrections(&mut report, &store.corrections(month)?, &clients);
    if rich {
        // Only the HTML page draws daily trends; FOCUS rows are monthly.
        let daily = if format == Format::Html { store.daily_usage(month)? } else { Vec::new() };
        report.context = RenderContext::build(
            month,
            &daily,
            rows.iter().map(|r| r.key.model.as_str()),
            &clients,
            &config.price_table(),
            config.billing_time_zone,
        );
    }
    Ok(report)
}
