//! Writing a [`Report`] out: terminal table, CSV (for Excel), JSON, Markdown.

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

pub fn render(report: &Report, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => table(report, out),
        Format::Csv => csv(report, out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &json_value(report))?;
            writeln!(out)
        }
        Format::Markdown => markdown(report, out),
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
    let rows: Vec<Value> = report
        .rows
        .iter()
        .map(|row| {
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
            Value::Object(object)
        })
        .collect();
    let t = &report.totals;
    let mut totals = serde_json::Map::new();
    for (name, n) in COLUMNS[4..11].iter().zip(counts(t)) {
        totals.insert((*name).into(), json!(n));
    }
    totals.insert("cost".into(), json!(exact(t.cost)));
    totals.insert("currency".into(), json!(report.currency));
    totals.insert("unpriced_tokens".into(), json!(t.unpriced_tokens));
    totals.insert("undercounted_requests".into(), json!(t.undercounted_requests));
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
    writer.write_record(COLUMNS)?;
    for row in &report.rows {
        let mut record: Vec<String> = text_cells(row).into_iter().map(|c| defuse(&c)).collect();
        record.extend(counts(&row.totals).iter().map(u64::to_string));
        record.push(row.cost().map(exact).unwrap_or_default());
        record.push(report.currency.clone());
        record.push(row.share.map(|s| s.to_string()).unwrap_or_default());
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
    }
}

fn table(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let columns = human_columns(report);
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(columns.iter().map(|c| c.to_string()));
    for row in &report.rows {
        table.add_row(human_cells(row, &columns));
    }
    let mut total = human_cells(&totals_row(report), &columns);
    total[0] = "TOTAL".to_owned();
    table.add_row(total);
    let first_number = columns.iter().position(|c| *c == "requests").unwrap_or(0);
    for i in first_number..columns.len() {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    writeln!(out, "Chargeback {} ({})", report.month, report.currency)?;
    writeln!(out, "{table}")?;
    notes(report, out)
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
    notes(report, out)
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
