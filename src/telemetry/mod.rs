//! Telemetry: logs and spans through `tracing`, metrics and traces through OpenTelemetry over
//! OTLP. Owns start-up ([`init`]) and the bounded shutdown flush ([`Telemetry::shutdown`]);
//! hides the SDK, the exporters and the Tokio runtime the gRPC exporter needs.
//!
//! * Logs go to stderr: human on a terminal, JSON lines otherwise, or as `--log-format` /
//!   `CHARGEBACK_LOG_FORMAT` says. The filter is `RUST_LOG`-style (`CHARGEBACK_LOG`, else
//!   `RUST_LOG`, default `info`).
//! * OTLP is configured ONLY by the standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`,
//!   `OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT`, `..._PROTOCOL`, `..._TIMEOUT`,
//!   `..._HEADERS`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//!   `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_BSP_*`). A signal with no endpoint set is off: no
//!   exporter, no SDK, and [`events`] record nothing but a log line.
//! * Telemetry never blocks or fails the pipeline: exports run on the SDK's background threads
//!   with bounded queues (a full queue drops spans), and [`Telemetry::shutdown`] waits at most
//!   [`SHUTDOWN_TIMEOUT`] for the final flush. An unreachable collector costs telemetry only.
//!
//! The event types the pipeline emits are in [`events`]; the bounded attribute values in
//! [`cardinality`]; health endpoints in [`health`].

pub mod cardinality;
pub mod events;
pub mod health;
pub mod usage;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram, MeterProvider as _};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::Deserialize;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::ClientDirectory;
use cardinality::Cardinality;

/// The longest the final flush may hold up the exit of a command.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);

/// `gen_ai.provider.name` of every usage series (GenAI semantic conventions).
pub const PROVIDER: &str = "azure.ai.openai";

/// The instrumentation scope name.
const SCOPE: &str = "aoai-chargeback";

/// `[telemetry]` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Distinct clients kept by name in metric attributes; later ones are exported as
    /// `other`. Default 100. Why a cap: Azure Monitor custom metrics allow 10 dimensions and
    /// about 50,000 active series per region, and each client multiplies the series. The store
    /// and the report always keep every client.
    pub max_clients: usize,
    /// Distinct deployments kept by name in metric attributes; later ones are `other`.
    /// Default 20 (same reason as `max_clients`).
    pub max_deployments: usize,
    /// Address of the `/livez` and `/readyz` endpoints when consuming (`0.0.0.0:8080`).
    /// Default: none (no server).
    pub health_listen: Option<SocketAddr>,
    /// `/livez` fails when no batch was committed for this many seconds while the source
    /// reports a lag above zero. Default 300.
    pub stall_seconds: u64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig { max_clients: 100, max_deployments: 20, health_listen: None, stall_seconds: 300 }
    }
}

impl TelemetryConfig {
    /// Check the values; the error names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |field: &str, message: &str| Err((format!("telemetry.{field}"), message.to_owned()));
        if !(1..=10_000).contains(&self.max_clients) {
            return bad("max_clients", "must be between 1 and 10,000");
        }
        if !(1..=10_000).contains(&self.max_deployments) {
            return bad("max_deployments", "must be between 1 and 10,000");
        }
        if self.stall_seconds == 0 {
            return bad("stall_seconds", "must be at least 1");
        }
        Ok(())
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human on a terminal, JSON lines otherwise.
    #[default]
    Auto,
    Human,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot set up the OTLP exporter (check the OTEL_EXPORTER_OTLP_* variables)")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("cannot start the telemetry runtime")]
    Runtime(#[source] std::io::Error),
    #[error("bad log filter in CHARGEBACK_LOG / RUST_LOG: {0}")]
    Filter(String),
}

/// What the pipeline's metrics need, shared by [`events`].
pub(crate) struct Shared {
    pub(crate) metrics: Option<Metrics>,
    pub(crate) cardinality: Mutex<Cardinality>,
    pub(crate) clients: ClientDirectory,
    pub(crate) currency: String,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

/// The shared state; `None` before [`init`] (library use, unit tests).
pub(crate) fn shared() -> Option<&'static Shared> {
    SHARED.get()
}

/// True when metrics are exported: callers skip building what only metrics need.
pub fn metrics_on() -> bool {
    shared().is_some_and(|s| s.metrics.is_some())
}

/// The instruments. See README "Telemetry" for the table of names, units and attributes.
pub(crate) struct Metrics {
    pub(crate) tokens: Counter<u64>,
    pub(crate) cost: Counter<f64>,
    pub(crate) events: Counter<u64>,
    pub(crate) commit_duration: Histogram<f64>,
    pub(crate) lag: Gauge<u64>,
    pub(crate) alerts: Counter<u64>,
    pub(crate) estimator: Counter<u64>,
}

impl Metrics {
    fn new(provider: &SdkMeterProvider, currency: &str) -> Metrics {
        let meter = provider.meter(SCOPE);
        Metrics {
            tokens: meter
                .u64_counter("chargeback.tokens")
                .with_unit("{token}")
                .with_description("Tokens of accepted calls (after dedupe), as the store counts them")
                .build(),
            cost: meter
                .f64_counter("chargeback.cost")
                .with_unit(format!("{{{currency}}}"))
                .with_description(
                    "Cost of accepted priced calls; approximate float view, the store is the ledger",
                )
                .build(),
            events: meter
                .u64_counter("chargeback.events")
                .with_unit("{event}")
                .with_description("Events committed, by outcome")
                .build(),
            commit_duration: meter
                .f64_histogram("chargeback.batch.commit.duration")
                .with_unit("s")
                .with_description("Time to commit one batch (one store transaction)")
                .with_boundaries(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
                .build(),
            lag: meter
                .u64_gauge("chargeback.consumer.lag")
                .with_unit("{event}")
                .with_description("Events enqueued in a partition but not yet committed")
                .build(),
            alerts: meter
                .u64_counter("chargeback.alerts")
                .with_unit("{alert}")
                .with_description("Budget alert deliveries, by level, channel and outcome")
                .build(),
            estimator: meter
                .u64_counter("chargeback.estimator.events")
                .with_unit("{event}")
                .with_description("Accepted calls whose tokens were counted here (no usage in the response)")
                .build(),
        }
    }
}

/// Running telemetry; call [`Telemetry::shutdown`] before exiting to flush.
pub struct Telemetry {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// Which signals have an endpoint (the standard variables; an empty value counts as unset).
fn endpoint_set(signal: &str) -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    set("OTEL_EXPORTER_OTLP_ENDPOINT") || set(&format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"))
}

fn build_resource() -> Resource {
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.is_empty())
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name="));
    let builder =
        Resource::builder().with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    // The SDK's default is `unknown_service`; ours names the binary unless the operator did.
    if named { builder.build() } else { builder.with_service_name("chargeback").build() }
}

/// Start logging, and OTLP export when `otlp` is true and an endpoint is set. Call once per
/// process; `currency` labels the cost metric, `clients` names the client attribute.
pub fn init(
    format: LogFormat,
    otlp: bool,
    config: &TelemetryConfig,
    clients: ClientDirectory,
    currency: &str,
) -> Result<Telemetry, TelemetryError> {
    let want_traces = otlp && endpoint_set("TRACES");
    let want_metrics = otlp && endpoint_set("METRICS");
    // The gRPC exporter needs a Tokio runtime to connect; the SDK's own threads drive exports.
    let runtime = if want_traces || want_metrics {
        Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("otlp")
                .enable_all()
                .build()
                .map_err(TelemetryError::Runtime)?,
        )
    } else {
        None
    };
    let _guard = runtime.as_ref().map(|r| r.enter());
    let tracer = match want_traces {
        true => Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(opentelemetry_otlp::SpanExporter::builder().build()?)
                .with_resource(build_resource())
                .build(),
        ),
        false => None,
    };
    let meter = match want_metrics {
        true => Some(
            SdkMeterProvider::builder()
                .with_reader(
                    PeriodicReader::builder(opentelemetry_otlp::MetricExporter::builder().build()?).build(),
                )
                .with_resource(build_resource())
                .build(),
        ),
        false => None,
    };

    let filter = match std::env::var("CHARGEBACK_LOG").or_else(|_| std::env::var("RUST_LOG")) {
        Ok(spec) => {
            tracing_subscriber::EnvFilter::try_new(spec).map_err(|e| TelemetryError::Filter(e.to_string()))?
        }
        Err(_) => tracing_subscriber::EnvFilter::new("info"),
    };
    let json = match format {
        LogFormat::Auto => !std::io::stderr().is_terminal(),
        LogFormat::Human => false,
        LogFormat::Json => true,
    };
    type Boxed = Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>;
    let mut layers: Vec<Boxed> = Vec::new();
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(!json && std::io::stderr().is_terminal());
    layers.push(match json {
        true => fmt.json().flatten_event(true).with_current_span(false).with_filter(filter).boxed(),
        false => fmt.with_filter(filter).boxed(),
    });
    if let Some(provider) = &tracer {
        // Spans of this crate go to the exporter whatever the log filter says.
        let targets =
            tracing_subscriber::filter::Targets::new().with_target("aoai_chargeback", tracing::Level::INFO);
        layers.push(
            tracing_opentelemetry::layer().with_tracer(provider.tracer(SCOPE)).with_filter(targets).boxed(),
        );
    }
    // A second init (tests calling run twice) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(layers).try_init();

    let metrics = meter.as_ref().map(|m| Metrics::new(m, currency));
    let _ = SHARED.set(Shared {
        metrics,
        cardinality: Mutex::new(Cardinality::new(config.max_clients, config.max_deployments)),
        clients,
        currency: currency.to_owned(),
    });
    tracing::debug!(traces = want_traces, metrics = want_metrics, "telemetry started");
    drop(_guard);
    Ok(Telemetry { tracer, meter, runtime })
}

impl Telemetry {
    /// Flush and stop the exporters, waiting at most [`SHUTDOWN_TIMEOUT`]: past that, what is
    /// not exported is dropped (an unreachable collector must not hold up the exit).
    pub fn shutdown(self) {
        let Telemetry { tracer, meter, runtime } = self;
        if tracer.is_none() && meter.is_none() {
            return;
        }
        let (done, wait) = mpsc::channel();
        std::thread::Builder::new()
            .name("otlp-shutdown".to_owned())
            .spawn(move || {
                if let Some(t) = tracer
                    && let Err(e) = t.shutdown_with_timeout(SHUTDOWN_TIMEOUT)
                {
                    tracing::warn!(error = %e, "trace export at shutdown failed; spans dropped");
                }
                if let Some(m) = meter
                    && let Err(e) = m.shutdown_with_timeout(SHUTDOWN_TIMEOUT)
                {
                    tracing::warn!(error = %e, "metric export at shutdown failed; metrics dropped");
                }
                let _ = done.send(());
            })
            .ok();
        if wait.recv_timeout(SHUTDOWN_TIMEOUT + Duration::from_millis(500)).is_err() {
            tracing::warn!(
                timeout_seconds = SHUTDOWN_TIMEOUT.as_secs(),
                "telemetry flush timed out; unexported telemetry dropped"
            );
        }
        if let Some(rt) = runtime {
            rt.shutdown_background();
        }
    }
}
