//! aoai-chargeback: exact, priced, monthly chargeback of Azure OpenAI usage that Azure API
//! Management logs to Event Hubs.
//!
//! # Layout
//!
//! The data flows top to bottom; see ARCHITECTURE.md for the invariants.
//!
//! * [`sources`] — where raw lines come from, with positions: [`sources::file`] (JSONL files,
//!   stdin).
//! * [`event`] — decoding one line into a validated [`event::UsageEvent`] (v1 schema and the
//!   legacy shape). Pure.
//! * [`estimate`] — counting tokens of streamed calls that carried no usage (`tiktoken-rs`,
//!   published rules). Pure.
//! * [`price`] — effective-dated prices in exact decimals. Pure.
//! * [`pipeline`] — decode → count → price for one line, giving a [`pipeline::UsageRecord`] or
//!   a dead letter's reason. Pure.
//! * [`aggregate`] — folding records into monthly and daily totals. Pure.
//! * [`store`] — SQLite, behind a narrow API; `commit_batch` writes one batch in one
//!   transaction. The only module that knows SQL.
//! * [`ingest`] / [`replay`] — the loops that tie a source, the pipeline and the store together.
//! * [`report`] — the monthly report: building rows (PTU allocation, corrections), rendering
//!   table, CSV, JSON, Markdown, HTML with SVG charts, FOCUS. Pure but for `report::load`,
//!   which reads a month from the store.
//! * [`serve`] — `chargeback serve`: the reports over read-only HTTP.
//! * [`status`] — what `chargeback status` shows: store, checkpoints, lag, dead letters, alerts.
//! * [`config`] — the TOML config, every field defaulted and documented.
//! * [`generate`] — synthetic events for demos and benchmarks.
//! * [`telemetry`] — logs, spans and OTLP metrics; event types; health endpoints.
//! * [`alerts`] — budget rules (pure), alert messages (pure), the dispatcher and its channels.
//! * `cli` — the `chargeback` command line; the only user of `anyhow`.

pub mod aggregate;
pub mod alerts;
pub mod cli;
pub mod config;
pub mod estimate;
pub mod event;
pub mod generate;
pub mod ingest;
pub mod model;
pub mod pipeline;
pub mod price;
pub mod replay;
pub mod report;
pub mod serve;
pub mod sources;
pub mod status;
pub mod store;
pub mod telemetry;
