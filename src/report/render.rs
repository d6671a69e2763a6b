//! Writing a [`Report`] out: terminal table, CSV (for Excel), JSON, Markdown, and (in their
//! own modules) HTML and FOCUS.

use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{Report, ReportRow, cents};
use crate::aggregate::Totals;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Markdown,
    /// One self-contained HTML page with charts (`report::html`).
    Html,
    /// FOCUS 1.2 cost and usage CSV (`report::focus`).
    Focus,
}

/// Column names, in order, shared by CSV, JSON and Markdown.
pub const COLUMNS: [&str; 14] = [
    "client",
    "cost_center",
    "deployment",
    "model",
    "requests",
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "total_tokens",
    "estimated_tokens",
    "cost",
    "currency",
    "share",
];

/// Columns after [`COLUMNS`] in CSV and JSON rows (issue 7): the row's allocated provisioned
/// (PTU) cost, its charge class (`usage`, or `correction` for late usage of a closed month) and
/// the closed month a correction belongs to.
pub const CLOSE_COLUMNS: [&str; 3] = ["provisioned_cost", "charge_class", "corrects"];

fn charge_class(row: &ReportRow) -> &'static str {
    if row.corrects.is_some() { "correction" } else { "usage" }
}

pub fn render(report: &Report, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => table(report, out),
        Format::Csv => csv(report, out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &json_value(report))?;
            writeln!(out)
        }
        Format::Markdown => markdown(report, out),
        Format::Html => super::html::render(report, out),
        Format::Focus => super::focus::render(report, out),
    }
}

fn counts(t: &Totals) -> [u64; 7] {
    [
        t.requests,
        t.prompt_tokens,
        t.cached_tokens,
        t.completion_tokens,
        t.reasoning_tokens,
        t.total_tokens,
        t.estimated_tokens,
    ]
}

/// The JSON document: `month`, `currency`, `rows` (objects with exactly [`COLUMNS`]),
/// `totals` and `unpriced`. Money and shares are decimal strings, never floats.
pub fn json_value(report: &Report) -> Value {
    let json_row = |row: &ReportRow| {
        let mut object = serde_json::Map::new();
        object.insert("client".into(), json!(row.client));
        object.insert("cost_center".into(), json!(row.cost_center));
        object.insert("deployment".into(), json!(row.deployment));
        object.insert("model".into(), json!(row.model));
        for (name, n) in COLUMNS[4..11].iter().zip(counts(&row.totals)) {
            object.insert((*name).into(), json!(n));
        }
        object.insert("cost".into(), json!(row.cost().map(exact)));
        object.insert("currency".into(), json!(report.currency));
        object.insert("share".into(), json!(row.share.map(|s| s.to_string())));
        object.insert("provisioned_cost".into(), json!(row.provisioned_cost.map(exact)));
        object.insert("charge_class".into(), json!(charge_class(row)));
        object.insert("corrects".into(), json!(row.corrects));
        Value::Object(object)
    };
    let rows: Vec<Value> = report.rows.iter().map(json_row).collect();
    let corrections: Vec<Value> = report.corrections.iter().map(json_row).collect();
    let totals_object = |t: &Totals| {
        let mut totals = serde_json::Map::new();
        for (name, n) in COLUMNS[4..11].iter().zip(counts(t)) {
            totals.insert((*name).into(), json!(n));
        }
        totals.insert("cost".into(), json!(exact(t.cost)));
        totals.insert("currency".into(), json!(report.currency));
        totals.insert("unpriced_tokens".into(), json!(t.unpriced_tokens));
        totals.insert("undercounted_requests".into(), json!(t.undercounted_requests));
        Value::Object(totals)
    };
    let t = &report.totals;
    let mut totals = serde_json::Map::new();
    for (name, n) in COLUMNS[4..11].iter().zip(counts(t)) {
        totals.insert((*name).into(), json!(n));
    }
    totals.insert("cost".into(), json!(exact(t.cost)));
    totals.insert("currency".into(), json!(report.currency));
    totals.insert("unpriced_tokens".into(), json!(t.unpriced_tokens));
    totals.insert("undercounted_requests".into(), json!(t.undercounted_requests));
    let allocated: Decimal = report.rows.iter().filter_map(|r| r.provisioned_cost).sum();
    totals.insert("provisioned_cost".into(), json!(exact(allocated)));
    let unallocated: Vec<Value> = report
        .provisioned_unallocated
        .iter()
        .map(|u| json!({"deployment": u.deployment, "cost": exact(u.cost)}))
        .collect();
    let unpriced: Vec<Value> = report
        .unpriced
        .iter()
        .map(|u| json!({"model": u.model, "requests": u.requests, "tokens": u.tokens}))
        .collect();
    json!({
        "month": report.month,
        "currency": report.currency,
        "rows": rows,
        "totals": totals,
        "unpriced": unpriced,
        "provisioned_unallocated": unallocated,
        "corrections": corrections,
        "corrections_totals": totals_object(&super::corrections_totals(report)),
    })
}

/// An exact amount, without trailing zeros.
fn exact(amount: Decimal) -> String {
    amount.normalize().to_string()
}

/// CSV for spreadsheets: UTF-8 with a BOM (so Excel does not guess a code page), a header
/// row, exact amounts, and text cells that Excel would run as formulas defused.
fn csv(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(b"\xEF\xBB\xBF")?;
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(COLUMNS.iter().chain(&CLOSE_COLUMNS))?;
    for row in report.rows.iter().chain(&report.corrections) {
        let mut record: Vec<String> = text_cells(row).into_iter().map(|c| defuse(&c)).collect();
        record.extend(counts(&row.totals).iter().map(u64::to_string));
        record.push(row.cost().map(exact).unwrap_or_default());
        record.push(report.currency.clone());
        record.push(row.share.map(|s| s.to_string()).unwrap_or_default());
        record.push(row.provisioned_cost.map(exact).unwrap_or_default());
        record.push(charge_class(row).to_owned());
        record.push(row.corrects.clone().unwrap_or_default());
        writer.write_record(&record)?;
    }
    writer.flush()?;
    Ok(())
}

fn text_cells(row: &ReportRow) -> [String; 4] {
    [&row.client, &row.cost_center, &row.deployment, &row.model].map(|c| c.clone().unwrap_or_default())
}

/// A cell starting with `=`, `+`, `-`, `@`, tab or CR is a formula to Excel (OWASP's CSV
/// injection): prefix it with a quote so it stays text.
fn defuse(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

fn human_cost(row: &ReportRow) -> String {
    match row.cost() {
        None => "unpriced".to_owned(),
        Some(cost) if row.is_partly_unpriced() => format!("{} +unpriced", cents(cost)),
        Some(cost) => cents(cost).to_string(),
    }
}

fn human_share(share: Option<Decimal>) -> String {
    share.map(|s| format!("{:.1}%", s * Decimal::from(100))).unwrap_or_default()
}

/// Columns shown to people: grouped-away columns are dropped.
fn human_columns(report: &Report) -> Vec<&'static str> {
    let present = |f: fn(&ReportRow) -> bool| report.rows.iter().any(f);
    let mut columns = Vec::new();
    if present(|r| r.client.is_some()) {
        columns.extend(["client", "cost center"]);
    }
    if present(|r| r.deployment.is_some()) {
        columns.push("deployment");
    }
    if present(|r| r.model.is_some()) {
        columns.push("model");
    }
    columns.extend([
        "requests",
        "prompt",
        "cached",
        "completion",
        "reasoning",
        "total",
        "estimated",
        "cost",
        "share",
    ]);
    if report.rows.iter().any(|r| r.provisioned_cost.is_some()) {
        columns.push("provisioned");
    }
    columns
}

fn human_cells(row: &ReportRow, columns: &[&str]) -> Vec<String> {
    let mut cells = Vec::new();
    let t = &row.totals;
    for column in columns {
        cells.push(match *column {
            "client" => row.client.clone().unwrap_or_default(),
            "cost center" => row.cost_center.clone().unwrap_or_default(),
            "deployment" => row.deployment.clone().unwrap_or_default(),
            "model" => row.model.clone().unwrap_or_default(),
            "requests" => thousands(t.requests),
            "prompt" => thousands(t.prompt_tokens),
            "cached" => thousands(t.cached_tokens),
            "completion" => thousands(t.completion_tokens),
            "reasoning" => thousands(t.reasoning_tokens),
            "total" => thousands(t.total_tokens),
            "estimated" => thousands(t.estimated_tokens),
            "cost" => human_cost(row),
            "share" => human_share(row.share),
            "provisioned" => row.provisioned_cost.map(|c| format!("{:.2}", cents(c))).unwrap_or_default(),
            "corrects" => row.corrects.clone().unwrap_or_default(),
            _ => String::new(),
        });
    }
    cells
}

fn totals_row(report: &Report) -> ReportRow {
    ReportRow {
        client: Some("TOTAL".to_owned()),
        cost_center: None,
        deployment: None,
        model: None,
        totals: Totals { unpriced_tokens: 0, ..report.totals.clone() },
        share: None,
        provisioned_cost: report.rows.iter().filter_map(|r| r.provisioned_cost).reduce(|a, b| a + b),
        corrects: None,
    }
}

fn table(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let main = human_table(&human_columns(report), &report.rows, &totals_row(report));
    writeln!(out, "Chargeback {} ({})", report.month, report.currency)?;
    writeln!(out, "{main}")?;
    notes(report, out)?;
    if !report.corrections.is_empty() {
        let corrections =
            human_table(&correction_columns(report), &report.corrections, &corrections_total_row(report));
        writeln!(out, "\n{}", corrections_title(report))?;
        writeln!(out, "{corrections}")?;
    }
    Ok(())
}

/// A terminal table of `rows` then a TOTAL row, numbers right-aligned.
fn human_table(columns: &[&'static str], rows: &[ReportRow], total: &ReportRow) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(columns.iter().map(|c| c.to_string()));
    for row in rows {
        table.add_row(human_cells(row, columns));
    }
    let mut total = human_cells(total, columns);
    total[0] = "TOTAL".to_owned();
    table.add_row(total);
    let first_number = columns.iter().position(|c| *c == "requests").unwrap_or(0);
    for i in first_number..columns.len() {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

fn corrections_title(report: &Report) -> String {
    format!(
        "Corrections charged in {} (late usage of closed months; not in the {} total above)",
        report.month, report.month
    )
}

/// The corrections' columns: the month they correct first, no share, no provisioned cost.
fn correction_columns(report: &Report) -> Vec<&'static str> {
    let mut columns = vec!["corrects"];
    let present = |f: fn(&ReportRow) -> bool| report.corrections.iter().any(f);
    if present(|r| r.client.is_some()) {
        columns.extend(["client", "cost center"]);
    }
    if present(|r| r.deployment.is_some()) {
        columns.push("deployment");
    }
    if present(|r| r.model.is_some()) {
        columns.push("model");
    }
    columns.extend(["requests", "prompt", "cached", "completion", "reasoning", "total", "estimated", "cost"]);
    columns
}

fn corrections_total_row(report: &Report) -> ReportRow {
    let totals = super::corrections_totals(report);
    ReportRow {
        client: None,
        cost_center: None,
        deployment: None,
        model: None,
        totals: Totals { unpriced_tokens: 0, ..totals },
        share: None,
        provisioned_cost: None,
        corrects: None,
    }
}

fn markdown(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let columns = human_columns(report);
    writeln!(out, "# Chargeback {} ({})\n", report.month, report.currency)?;
    writeln!(out, "| {} |", columns.join(" | "))?;
    let first_number = columns.iter().position(|c| *c == "requests").unwrap_or(0);
    let align: Vec<&str> =
        (0..columns.len()).map(|i| if i >= first_number { "---:" } else { "---" }).collect();
    writeln!(out, "| {} |", align.join(" | "))?;
    let mut rows: Vec<Vec<String>> = report.rows.iter().map(|r| human_cells(r, &columns)).collect();
    let mut total = human_cells(&totals_row(report), &columns);
    total[0] = "**TOTAL**".to_owned();
    rows.push(total);
    for cells in rows {
        let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    writeln!(out)?;
    notes(report, out)?;
    if !report.corrections.is_empty() {
        let columns = correction_columns(report);
        writeln!(out, "\n## {}\n", corrections_title(report))?;
        writeln!(out, "| {} |", columns.join(" | "))?;
        let first_number = columns.iter().position(|c| *c == "requests").unwrap_or(0);
        let align: Vec<&str> =
            (0..columns.len()).map(|i| if i >= first_number { "---:" } else { "---" }).collect();
        writeln!(out, "| {} |", align.join(" | "))?;
        let mut rows: Vec<Vec<String>> =
            report.corrections.iter().map(|r| human_cells(r, &columns)).collect();
        let mut total = human_cells(&corrections_total_row(report), &columns);
        total[0] = "**TOTAL**".to_owned();
        rows.push(total);
        for cells in rows {
            let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
            writeln!(out, "| {} |", cells.join(" | "))?;
        }
    }
    Ok(())
}

/// What a reader must know to trust the figures: unpriced usage and estimates.
fn notes(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let t = &report.totals;
    if t.estimated_tokens > 0 {
        writeln!(
            out,
            "{} of {} tokens were counted from streamed text, not reported by the service{}.",
            thousands(t.estimated_tokens),
            thousands(t.total_tokens),
            if t.undercounted_requests > 0 {
                format!(
                    "; {} requests are lower bounds (cut capture or invisible reasoning)",
                    thousands(t.undercounted_requests)
                )
            } else {
                String::new()
            }
        )?;
    }
    for u in &report.provisioned_unallocated {
        writeln!(
            out,
            "Provisioned: deployment {} had no usage; its {} {} monthly cost is unallocated.",
            u.deployment,
            cents(u.cost),
            report.currency
        )?;
    }
    for u in &report.unpriced {
        writeln!(
            out,
            "Unpriced: model {} ({} tokens in {} requests) has no price; its cost is not in the total.",
            u.model,
            thousands(u.tokens),
            thousands(u.requests)
        )?;
    }
    Ok(())
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
