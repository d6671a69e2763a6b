//! The HTML report: one self-contained page per month (inline CSS and SVG, no scripts, no
//! external assets, no web fonts), readable on screen and printed. Pure.
//!
//! Hides the page layout and the regrouping of the report's rows per client, per deployment
//! and per deployment × model. Every value from the data goes through [`e`] (HTML text
//! escaping by `html-escape`); charts escape their own labels ([`super::svg`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use chrono::{Datelike, NaiveDate};
use html_escape::encode_text;
use rust_decimal::Decimal;

use super::render::thousands;
use super::svg::{Bar, Series, bar_chart, line_chart};
use super::{Report, ReportRow, cents};
use crate::aggregate::Totals;

/// Clients (and deployments) drawn as their own line in a trend chart; the rest are summed
/// into "others" so that the chart stays readable with a thousand clients.
pub const TOP_SERIES: usize = 8;
/// Clients shown in the bar chart (all are in the table below it).
pub const TOP_BARS: usize = 25;

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:60rem;color:#1b1b1b;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem}
.sub{color:#555;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}.card{border:1px solid #ccc;border-radius:6px;padding:.6rem .9rem;min-width:9rem}
.card b{display:block;font-size:1.3rem}.card span{color:#555;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.6rem 0}th,td{padding:.25rem .5rem;border-bottom:1px solid #e3e3e3;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tfoot td{font-weight:bold;border-top:2px solid #999}
.warn{background:#fff4e5;border-left:4px solid #e69f00;padding:.5rem .8rem}.unpriced{color:#a04000;font-weight:bold}
svg.chart{max-width:100%;height:auto;font-size:11px;font-family:inherit}svg .tick{fill:#555;font-size:10px}
@media print{body{margin:0;max-width:none;font-size:10pt}h2{break-after:avoid}table,svg.chart,.cards{break-inside:avoid}
.warn{border:1px solid #e69f00}a{color:inherit;text-decoration:none}}
"#;

/// Write the page.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(page(report).as_bytes())
}

/// Escape a value from the data for HTML text.
fn e(text: &str) -> std::borrow::Cow<'_, str> {
    encode_text(text)
}

/// The whole page as a string.
pub fn page(report: &Report) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("Azure OpenAI chargeback {} ({})", report.month, report.currency);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        e(&title)
    );
    let _ = write!(h, "<h1>{}</h1>", e(&title));
    if let Some((start, end)) = report.context.period {
        let _ = write!(
            h,
            "<p class=\"sub\">Billing month {} (UTC {} to {}, end exclusive).</p>",
            e(&report.month),
            start.format("%Y-%m-%d %H:%M"),
            end.format("%Y-%m-%d %H:%M")
        );
    }
    let clients = per_key(&report.rows, |r| r.client.clone().unwrap_or_else(|| "—".into()));
    headline(&mut h, report, clients.len());
    clients_section(&mut h, report, &clients);
    trends(&mut h, report, &clients);
    breakdown(&mut h, report);
    unpriced(&mut h, report);
    corrections(&mut h, report);
    prices(&mut h, report);
    h.push_str("</body></html>\n");
    h
}

/// Rows summed per key (client, deployment…), largest cost first.
struct Group {
    name: String,
    cost_center: Option<String>,
    row: ReportRow,
}

fn per_key(rows: &[ReportRow], key: impl Fn(&ReportRow) -> String) -> Vec<Group> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for r in rows {
        let name = key(r);
        let g = groups.entry(name.clone()).or_insert_with(|| Group {
            name,
            cost_center: r.cost_center.clone(),
            row: ReportRow {
                client: None,
                cost_center: None,
                deployment: None,
                model: None,
                totals: Totals::default(),
                share: None,
                provisioned_cost: None,
                corrects: None,
            },
        });
        g.row.totals.add(&r.totals);
        if let Some(p) = r.provisioned_cost {
            g.row.provisioned_cost = Some(g.row.provisioned_cost.unwrap_or_default() + p);
        }
        if let Some(s) = r.share {
            g.row.share = Some(g.row.share.unwrap_or_default() + s);
        }
    }
    let mut groups: Vec<Group> = groups.into_values().collect();
    groups.sort_by(|a, b| {
        b.row
            .cost()
            .is_some()
            .cmp(&a.row.cost().is_some())
            .then(b.row.totals.cost.cmp(&a.row.totals.cost))
            .then(a.name.cmp(&b.name))
    });
    groups
}

fn money(report: &Report, amount: Decimal) -> String {
    format!("{} {}", cents(amount), report.currency)
}

/// A cost cell: "unpriced" rather than zero when nothing had a price.
fn cost_text(row: &ReportRow) -> String {
    match row.cost() {
        None => "unpriced".into(),
        Some(c) if row.is_partly_unpriced() => format!("{} + unpriced", cents(c)),
        Some(c) => cents(c).to_string(),
    }
}

fn cost_cell(row: &ReportRow) -> String {
    let text = cost_text(row);
    let class = if row.totals.is_unpriced() { "n unpriced" } else { "n" };
    format!("<td class=\"{class}\">{}</td>", e(&text))
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "—".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

fn has_provisioned(report: &Report) -> bool {
    report.rows.iter().chain(&report.corrections).any(|r| r.provisioned_cost.is_some())
}

fn headline(h: &mut String, report: &Report, clients: usize) {
    let t = &report.totals;
    h.push_str("<h2>Totals</h2><div class=\"cards\">");
    let mut card = |value: String, label: &str| {
        let _ = write!(h, "<div class=\"card\"><b>{}</b><span>{}</span></div>", e(&value), e(label));
    };
    card(money(report, t.cost), "pay-as-you-go cost");
    if has_provisioned(report) {
        let p: Decimal = report.rows.iter().filter_map(|r| r.provisioned_cost).sum();
        card(money(report, p), "provisioned (PTU) cost allocated");
    }
    if !report.corrections.is_empty() {
        let c: Decimal = report.corrections.iter().map(|r| r.totals.cost).sum();
        card(money(report, c), "corrections of closed months");
    }
    card(thousands(t.requests), "requests");
    card(thousands(t.total_tokens), "tokens");
    card(clients.to_string(), "clients");
    card(percent(t.estimated_tokens, t.total_tokens), "of tokens estimated");
    if t.unpriced_tokens > 0 {
        card(thousands(t.unpriced_tokens), "tokens without a price (not in the cost)");
    }
    h.push_str("</div>");
    if t.unpriced_tokens > 0 {
        let _ = write!(
            h,
            "<p class=\"warn\">{} tokens have no price: their cost is <b>not</b> in the totals above (see <a href=\"#unpriced\">Unpriced usage</a>).</p>",
            thousands(t.unpriced_tokens)
        );
    }
}

fn clients_section(h: &mut String, report: &Report, clients: &[Group]) {
    h.push_str("<h2>Cost per client</h2>");
    let bars: Vec<Bar<'_>> = clients
        .iter()
        .filter(|g| g.row.cost().is_some())
        .take(TOP_BARS)
        .map(|g| Bar { label: &g.name, value: g.row.totals.cost, text: cost_text(&g.row) })
        .collect();
    if !bars.is_empty() {
        h.push_str(&bar_chart(&format!("Pay-as-you-go cost per client ({})", report.currency), &bars));
        if clients.len() > bars.len() {
            let _ = write!(
                h,
                "<p class=\"sub\">The chart shows the {} largest; the table lists all {}.</p>",
                bars.len(),
                clients.len()
            );
        }
    }
    let provisioned = has_provisioned(report);
    let _ = write!(
        h,
        "<table><thead><tr><th>client</th><th>cost center</th><th class=\"n\">requests</th><th class=\"n\">tokens</th><th class=\"n\">estimated</th><th class=\"n\">cost ({})</th>{}<th class=\"n\">share</th></tr></thead><tbody>",
        e(&report.currency),
        if provisioned { "<th class=\"n\">provisioned</th>" } else { "" }
    );
    for g in clients {
        let t = &g.row.totals;
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>{}",
            e(&g.name),
            e(g.cost_center.as_deref().unwrap_or("")),
            thousands(t.requests),
            thousands(t.total_tokens),
            percent(t.estimated_tokens, t.total_tokens),
            cost_cell(&g.row)
        );
        if provisioned {
            let _ = write!(
                h,
                "<td class=\"n\">{}</td>",
                g.row.provisioned_cost.map(|p| cents(p).to_string()).unwrap_or_default()
            );
        }
        let share = g.row.share.map(|s| format!("{:.1}%", s * Decimal::from(100))).unwrap_or_default();
        let _ = write!(h, "<td class=\"n\">{share}</td></tr>");
    }
    let t = &report.totals;
    let _ = write!(
        h,
        "</tbody><tfoot><tr><td>TOTAL</td><td></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>{}<td></td></tr></tfoot></table>",
        thousands(t.requests),
        thousands(t.total_tokens),
        percent(t.estimated_tokens, t.total_tokens),
        cents(t.cost),
        if provisioned {
            format!(
                "<td class=\"n\">{}</td>",
                cents(report.rows.iter().filter_map(|r| r.provisioned_cost).sum())
            )
        } else {
            String::new()
        }
    );
}

/// The billing days of the month, first to last.
fn month_days(month: &str) -> Vec<NaiveDate> {
    let Ok(first) = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d") else { return Vec::new() };
    first.iter_days().take_while(|d| d.month() == first.month()).collect()
}

/// Daily cost per `key` (client or deployment): the `names` in order, then "others".
fn daily_series(
    report: &Report,
    days: &[NaiveDate],
    names: &[String],
    key: impl Fn(&super::context::DailyPoint) -> &str,
) -> Vec<Series> {
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let first = days.first().copied();
    let mut series: Vec<Series> =
        names.iter().map(|n| Series { name: n.clone(), values: vec![Decimal::ZERO; days.len()] }).collect();
    let mut others = Series { name: "others".into(), values: vec![Decimal::ZERO; days.len()] };
    let mut any_other = false;
    for p in &report.context.daily {
        let Some(day) = first
            .map(|f| (p.day - f).num_days())
            .and_then(|d| usize::try_from(d).ok())
            .filter(|d| *d < days.len())
        else {
            continue;
        };
        match index.get(key(p)) {
            Some(i) => series[*i].values[day] += p.cost,
            None => {
                others.values[day] += p.cost;
                any_other = true;
            }
        }
    }
    if any_other {
        series.push(others);
    }
    series
}

fn trends(h: &mut String, report: &Report, clients: &[Group]) {
    if report.context.daily.is_empty() {
        return;
    }
    let days = month_days(&report.month);
    let labels: Vec<String> = days.iter().map(|d| d.format("%d").to_string()).collect();
    h.push_str("<h2>Daily trend</h2>");
    let top: Vec<String> = clients.iter().take(TOP_SERIES).map(|g| g.name.clone()).collect();
    let series = daily_series(report, &days, &top, |p| &p.client);
    h.push_str(&line_chart(
        &format!("Daily cost per client ({})", report.currency),
        &report.currency,
        &labels,
        &series,
    ));
    let deployments = per_key(&report.rows, |r| r.deployment.clone().unwrap_or_else(|| "—".into()));
    let top: Vec<String> = deployments.iter().take(TOP_SERIES).map(|g| g.name.clone()).collect();
    let series = daily_series(report, &days, &top, |p| &p.deployment);
    h.push_str(&line_chart(
        &format!("Daily cost per deployment ({})", report.currency),
        &report.currency,
        &labels,
        &series,
    ));
    let _ = write!(
        h,
        "<p class=\"sub\">Days of {} in the billing time zone; the {TOP_SERIES} largest by cost drawn apart, the rest as \"others\".</p>",
        e(&report.month)
    );
}

fn breakdown(h: &mut String, report: &Report) {
    h.push_str("<h2>By deployment and model</h2>");
    let groups = per_key(&report.rows, |r| {
        format!("{}\u{1f}{}", r.deployment.as_deref().unwrap_or("—"), r.model.as_deref().unwrap_or("—"))
    });
    let provisioned = has_provisioned(report);
    let _ = write!(
        h,
        "<table><thead><tr><th>deployment</th><th>model</th><th class=\"n\">requests</th><th class=\"n\">input</th><th class=\"n\">cached input</th><th class=\"n\">output</th><th class=\"n\">of which reasoning</th><th class=\"n\">estimated</th><th class=\"n\">cost ({})</th>{}</tr></thead><tbody>",
        e(&report.currency),
        if provisioned { "<th class=\"n\">provisioned</th>" } else { "" }
    );
    for g in &groups {
        let (deployment, model) = g.name.split_once('\u{1f}').unwrap_or((&g.name, ""));
        let t = &g.row.totals;
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>{}",
            e(deployment),
            e(model),
            thousands(t.requests),
            thousands(t.prompt_tokens.saturating_sub(t.cached_tokens)),
            thousands(t.cached_tokens),
            thousands(t.completion_tokens),
            thousands(t.reasoning_tokens),
            percent(t.estimated_tokens, t.total_tokens),
            cost_cell(&g.row)
        );
        if provisioned {
            let _ = write!(
                h,
                "<td class=\"n\">{}</td>",
                g.row.provisioned_cost.map(|p| cents(p).to_string()).unwrap_or_default()
            );
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
}

fn unpriced(h: &mut String, report: &Report) {
    if report.unpriced.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"unpriced\">Unpriced usage</h2><p class=\"warn\">These models have no price in the price table. Their usage is <b>not free</b>: it is missing from every cost above until a price is configured.</p>");
    h.push_str("<table><thead><tr><th>model</th><th class=\"n\">requests</th><th class=\"n\">tokens</th><th class=\"n\">cost</th></tr></thead><tbody>");
    for u in &report.unpriced {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n unpriced\">unpriced</td></tr>",
            e(&u.model),
            thousands(u.requests),
            thousands(u.tokens)
        );
    }
    h.push_str("</tbody></table>");
}

fn corrections(h: &mut String, report: &Report) {
    if report.corrections.is_empty() {
        return;
    }
    h.push_str("<h2>Corrections of closed months</h2><p class=\"sub\">Usage that arrived after its month was closed, charged in this month.</p>");
    let _ = write!(
        h,
        "<table><thead><tr><th>corrects</th><th>client</th><th>deployment</th><th>model</th><th class=\"n\">tokens</th><th class=\"n\">cost ({})</th></tr></thead><tbody>",
        e(&report.currency)
    );
    for r in &report.corrections {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>{}</tr>",
            e(r.corrects.as_deref().unwrap_or("")),
            e(r.client.as_deref().unwrap_or("")),
            e(r.deployment.as_deref().unwrap_or("")),
            e(r.model.as_deref().unwrap_or("")),
            thousands(r.totals.total_tokens),
            cost_cell(r)
        );
    }
    h.push_str("</tbody></table>");
}

fn prices(h: &mut String, report: &Report) {
    if report.context.prices.is_empty() {
        return;
    }
    let _ = write!(
        h,
        "<h2>Prices used</h2><table><thead><tr><th>model</th><th>priced as</th><th>from</th><th class=\"n\">input / 1M</th><th class=\"n\">cached input / 1M</th><th class=\"n\">output / 1M</th></tr></thead><tbody>"
    );
    let models: BTreeSet<&str> = report.context.prices.iter().map(|p| p.model.as_str()).collect();
    for model in models {
        for p in report.context.prices.iter().filter(|p| p.model == model) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                e(&p.model),
                e(&p.family),
                p.price.effective,
                p.price.input.normalize(),
                p.price.cached_input.normalize(),
                p.price.output.normalize()
            );
        }
    }
    let _ = write!(
        h,
        "</tbody></table><p class=\"sub\">Prices in {} per million tokens; output includes reasoning tokens.</p>",
        e(&report.currency)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::context::{DailyPoint, RenderContext};
    use crate::report::{GroupBy, Unpriced};

    fn row(client: &str, deployment: &str, tokens: u64, cost: &str, unpriced: bool) -> ReportRow {
        ReportRow {
            client: Some(client.into()),
            cost_center: Some("CC&1".into()),
            deployment: Some(deployment.into()),
            model: Some(if unpriced { "mystery" } else { "gpt-4o" }.into()),
            totals: Totals {
                requests: 1,
                prompt_tokens: tokens,
                total_tokens: tokens,
                unpriced_tokens: if unpriced { tokens } else { 0 },
                cost: cost.parse().unwrap(),
                ..Totals::default()
            },
            share: None,
            provisioned_cost: None,
            corrects: None,
        }
    }

    fn report(rows: Vec<ReportRow>, corrections: Vec<ReportRow>) -> Report {
        let totals = rows.iter().fold(Totals::default(), |mut t, r| {
            t.add(&r.totals);
            t
        });
        let daily = vec![DailyPoint {
            day: "2026-10-02".parse().unwrap(),
            client: "<b>x</b>".into(),
            deployment: "d1".into(),
            tokens: 10,
            cost: Decimal::ONE,
        }];
        Report {
            month: "2026-10".into(),
            currency: "USD".into(),
            group_by: GroupBy::Detail,
            rows,
            totals,
            unpriced: vec![Unpriced { model: "mystery".into(), requests: 1, tokens: 7 }],
            corrections,
            provisioned_unallocated: Vec::new(),
            context: RenderContext { daily, prices: Vec::new(), period: None },
        }
    }

    #[test]
    fn values_are_escaped_and_unpriced_is_never_zero() {
        let r = report(
            vec![row("<b>x</b>", "d1", 10, "1.005", false), row("&co", "d2", 7, "0", true)],
            Vec::new(),
        );
        let page = page(&r);
        assert!(!page.contains("<b>x</b>") && page.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(page.contains("&amp;co") && page.contains("CC&amp;1"));
        assert!(page.contains("<td class=\"n unpriced\">unpriced</td>"), "unpriced shown as such");
        assert!(page.contains("id=\"unpriced\""));
        assert_eq!(page.matches("<svg").count(), 3, "bars, clients trend, deployments trend");
        assert!(!page.contains("provisioned") && !page.contains("Corrections"), "absent sections stay out");
        assert!(!page.contains("<script"));
        assert!(page.contains("@media print"));
    }

    #[test]
    fn provisioned_and_corrections_are_shown_when_present() {
        let mut ptu = row("A", "ptu-1", 10, "0", false);
        ptu.provisioned_cost = Some("1234.565".parse().unwrap());
        let mut late = row("B", "d1", 5, "2.5", false);
        late.corrects = Some("2026-09".into());
        let page = page(&report(vec![ptu, row("C", "d1", 5, "1", false)], vec![late]));
        assert!(page.contains("provisioned (PTU) cost allocated"));
        assert!(page.contains("1234.56"), "banker's rounding of the allocated cost");
        assert!(page.contains("<h2>Corrections of closed months</h2>"));
        assert!(page.contains("<td>2026-09</td><td>B</td>"));
    }
}
