//! Telemetry over real OTLP: a gRPC receiver (tonic + the collector's protobuf types) and a
//! tiny HTTP/protobuf receiver, both started here on port 0, and the real `chargeback ingest`
//! exporting to them. Checks metric names, units, attributes and values against the store's
//! own totals, the batch spans, the cardinality cap with 10,000 clients, and that an
//! unreachable collector costs telemetry only.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Workspace, s};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric, number_data_point};
use prost::Message;

/// Everything a receiver got.
#[derive(Clone, Default)]
struct Received {
    metrics: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
    traces: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl MetricsService for Received {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.metrics.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse { partial_success: None }))
    }
}

#[tonic::async_trait]
impl TraceService for Received {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.traces.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

/// A gRPC OTLP receiver on a runtime of its own; lives as long as the returned runtime.
fn grpc_receiver() -> (SocketAddr, Received, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Received::default();
    let server = tonic::transport::Server::builder()
        .add_service(MetricsServiceServer::new(received.clone()))
        .add_service(TraceServiceServer::new(received.clone()))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    rt.spawn(server);
    (addr, received, rt)
}

/// A minimal HTTP/1.1 receiver of OTLP/protobuf (`POST /v1/metrics`, `/v1/traces`).
/// (path, content type) of every HTTP request received.
type Requests = Arc<Mutex<Vec<(String, String)>>>;

fn http_receiver() -> (SocketAddr, Received, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Received::default();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (r, q) = (received.clone(), requests.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (r, q) = (r.clone(), q.clone());
            std::thread::spawn(move || serve_http(stream, &r, &q));
        }
    });
    (addr, received, requests)
}

fn serve_http(stream: std::net::TcpStream, r: &Received, q: &Mutex<Vec<(String, String)>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
        let (mut length, mut content_type) = (0usize, String::new());
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "content-type" => content_type = value.trim().to_owned(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        match path.as_str() {
            "/v1/metrics" => {
                r.metrics.lock().unwrap().push(ExportMetricsServiceRequest::decode(&body[..]).unwrap())
            }
            "/v1/traces" => {
                r.traces.lock().unwrap().push(ExportTraceServiceRequest::decode(&body[..]).unwrap())
            }
            _ => {}
        }
        q.lock().unwrap().push((path, content_type));
        out.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
    }
}

fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    let v = attrs.iter().find(|kv| kv.key == key)?.value.as_ref()?.value.as_ref()?;
    Some(match v {
        any_value::Value::StringValue(s) => s.clone(),
        any_value::Value::BoolValue(b) => b.to_string(),
        any_value::Value::IntValue(i) => i.to_string(),
        other => format!("{other:?}"),
    })
}

fn int_value(attrs: &[KeyValue], key: &str) -> Option<i64> {
    match attrs.iter().find(|kv| kv.key == key)?.value.as_ref()? {
        AnyValue { value: Some(any_value::Value::IntValue(i)) } => Some(*i),
        _ => None,
    }
}

/// The metrics of the last export that has any (cumulative: the last is the total).
fn last_metrics(received: &Received) -> (Vec<KeyValue>, BTreeMap<String, Metric>) {
    let requests = received.metrics.lock().unwrap();
    let mut out = BTreeMap::new();
    let mut resource = Vec::new();
    for request in requests.iter() {
        for rm in &request.resource_metrics {
            resource = rm.resource.clone().map(|r| r.attributes).unwrap_or_default();
            for sm in &rm.scope_metrics {
                for m in &sm.metrics {
                    out.insert(m.name.clone(), m.clone());
                }
            }
        }
    }
    (resource, out)
}

/// Sum points of a counter: (attributes, value as f64).
fn sum_points(m: &Metric) -> Vec<(Vec<KeyValue>, f64)> {
    let Some(metric::Data::Sum(sum)) = &m.data else { panic!("{} is not a sum: {:?}", m.name, m.data) };
    assert!(sum.is_monotonic, "{} is a counter", m.name);
    assert_eq!(sum.aggregation_temporality, 2, "{} is cumulative", m.name);
    sum.data_points
        .iter()
        .map(|p| {
            let v = match p.value {
                Some(number_data_point::Value::AsInt(i)) => i as f64,
                Some(number_data_point::Value::AsDouble(d)) => d,
                None => 0.0,
            };
            (p.attributes.clone(), v)
        })
        .collect()
}

fn total_where(points: &[(Vec<KeyValue>, f64)], key: &str, value: &str) -> f64 {
    points.iter().filter(|(a, _)| attr(a, key).as_deref() == Some(value)).map(|(_, v)| v).sum()
}

/// The number after `label` in the ingest summary ("... 2,991 accepted, 30 duplicates ...").
fn summary_count(stdout: &str, label: &str) -> u64 {
    let words: Vec<&str> =
        stdout.lines().next().unwrap().split_whitespace().map(|w| w.trim_end_matches([',', ':'])).collect();
    let i = words.iter().position(|w| *w == label).unwrap_or_else(|| panic!("{label} in {stdout}"));
    words[i - 1].replace(',', "").parse().unwrap()
}

fn generate(ws: &Workspace, args: &[&str]) -> std::path::PathBuf {
    let path = ws.path("events.jsonl");
    let mut all = vec!["generate", "--output", s(&path)];
    all.extend_from_slice(args);
    ws.ok(&all);
    path
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    // A liveness bound: the data was flushed before the process exited; this only absorbs
    // the receiver's own scheduling.
    for _ in 0..200 {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} never arrived");
}

#[test]
fn grpc_export_equals_store_totals_with_10000_clients_capped() {
    let ws = Workspace::new();
    let events = generate(
        &ws,
        &[
            "--events",
            "12000",
            "--seed",
            "21",
            "--clients",
            "10000",
            "--deployments",
            "30",
            "--streamed",
            "0.05",
            "--bad",
            "0.002",
        ],
    );
    let config = ws.path("config.toml");
    std::fs::write(&config, "[telemetry]\nmax_clients = 100\nmax_deployments = 20\n").unwrap();
    let (addr, received, _rt) = grpc_receiver();
    let out = ws
        .cmd(&["--config", s(&config), "ingest", "--batch-size", "1000", s(&events)])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}"))
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env("OTEL_SERVICE_NAME", "chargeback-test")
        .env("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let report = ws.report(&["--month", "2026-10"]);
    let t = &report["totals"];
    let n = |k: &str| t[k].as_u64().unwrap_or_else(|| panic!("totals.{k}: {t}")) as f64;

    let metrics = wait_for("metrics", || {
        let (res, m) = last_metrics(&received);
        m.contains_key("chargeback.tokens").then_some((res, m))
    });
    let (resource, metrics) = metrics;
    assert_eq!(attr(&resource, "service.name").as_deref(), Some("chargeback-test"));
    assert_eq!(attr(&resource, "deployment.environment.name").as_deref(), Some("test"));

    // Tokens: names, unit, attributes, and sums equal to the store's totals.
    let tokens = &metrics["chargeback.tokens"];
    assert_eq!(tokens.unit, "{token}");
    let points = sum_points(tokens);
    let want: BTreeSet<&str> = [
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.token.type",
        "chargeback.client",
        "chargeback.deployment",
        "chargeback.estimated",
    ]
    .into();
    for (a, _) in &points {
        assert_eq!(a.iter().map(|kv| kv.key.as_str()).collect::<BTreeSet<_>>(), want);
        assert_eq!(attr(a, "gen_ai.provider.name").as_deref(), Some("azure.ai.openai"));
    }
    assert_eq!(total_where(&points, "gen_ai.token.type", "input"), n("prompt_tokens"));
    assert_eq!(total_where(&points, "gen_ai.token.type", "output"), n("completion_tokens"));
    assert_eq!(total_where(&points, "gen_ai.token.type", "cached"), n("cached_tokens"));
    assert_eq!(total_where(&points, "gen_ai.token.type", "reasoning"), n("reasoning_tokens"));
    let estimated: f64 = points
        .iter()
        .filter(|(a, _)| attr(a, "chargeback.estimated").as_deref() == Some("true"))
        .filter(|(a, _)| matches!(attr(a, "gen_ai.token.type").as_deref(), Some("input" | "output")))
        .map(|(_, v)| v)
        .sum();
    assert!(n("estimated_tokens") > 0.0, "some calls were counted here");
    assert_eq!(estimated, n("estimated_tokens"));

    // Cardinality: 10,000 clients, at most 100 names plus `other`; deployments capped at 20.
    let clients: BTreeSet<String> = points.iter().filter_map(|(a, _)| attr(a, "chargeback.client")).collect();
    assert_eq!(clients.len(), 101, "100 kept names and `other`");
    assert!(clients.contains("other"));
    let deployments: BTreeSet<String> =
        points.iter().filter_map(|(a, _)| attr(a, "chargeback.deployment")).collect();
    assert!(deployments.len() <= 21 && deployments.contains("other"), "{deployments:?}");

    // Cost: an approximate float view of the exact decimal total.
    let cost = &metrics["chargeback.cost"];
    assert_eq!(cost.unit, "{USD}");
    let cost_points = sum_points(cost);
    assert!(cost_points.iter().all(|(a, _)| attr(a, "chargeback.currency").as_deref() == Some("USD")));
    let exported: f64 = cost_points.iter().map(|(_, v)| v).sum();
    let stored: f64 = t["cost"].as_str().unwrap().parse().unwrap();
    assert!((exported - stored).abs() <= stored * 1e-9, "{exported} vs {stored}");

    // Events by outcome equal the ingest's own counts.
    let events = sum_points(&metrics["chargeback.events"]);
    assert_eq!(metrics["chargeback.events"].unit, "{event}");
    assert_eq!(total_where(&events, "chargeback.outcome", "accepted"), n("requests"));
    assert_eq!(
        total_where(&events, "chargeback.outcome", "accepted") as u64,
        summary_count(&stdout, "accepted")
    );
    assert_eq!(
        total_where(&events, "chargeback.outcome", "duplicate") as u64,
        summary_count(&stdout, "duplicates")
    );
    let dead = summary_count(&stdout, "dead");
    assert!(dead > 0);
    assert_eq!(total_where(&events, "chargeback.outcome", "dead_letter") as u64, dead);
    let estimator: f64 = sum_points(&metrics["chargeback.estimator.events"]).iter().map(|(_, v)| v).sum();
    assert_eq!(estimator as u64, summary_count(&stdout, "estimated"));

    // Commit latency: one histogram observation per batch, in seconds.
    let duration = &metrics["chargeback.batch.commit.duration"];
    assert_eq!(duration.unit, "s");
    let Some(metric::Data::Histogram(h)) = &duration.data else { panic!("histogram") };
    let observations: u64 = h.data_points.iter().map(|p| p.count).sum();
    let lines = summary_count(&stdout, "lines");
    let batches = lines / 1000 + 1;
    assert_eq!(observations, batches);

    // One span per batch, with its source, position and counts.
    let spans = wait_for("spans", || {
        let traces = received.traces.lock().unwrap();
        let spans: Vec<_> = traces
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .filter(|s| s.name == "chargeback.batch")
            .cloned()
            .collect();
        (spans.len() as u64 == batches).then_some(spans)
    });
    let accepted: i64 = spans.iter().map(|s| int_value(&s.attributes, "chargeback.accepted").unwrap()).sum();
    assert_eq!(accepted as f64, n("requests"));
    let positions: BTreeSet<i64> =
        spans.iter().map(|s| int_value(&s.attributes, "chargeback.position").unwrap()).collect();
    assert_eq!(positions.len() as u64, batches, "each batch ends at its own position");
    assert!(spans.iter().all(|s| attr(&s.attributes, "chargeback.source").unwrap().starts_with("file:")));
}

#[test]
fn http_protobuf_export_equals_store_totals() {
    let ws = Workspace::new();
    let events = generate(&ws, &["--events", "500", "--seed", "4", "--clients", "5", "--deployments", "3"]);
    let (addr, received, requests) = http_receiver();
    let out = ws
        .cmd(&["ingest", s(&events)])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}"))
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = ws.report(&[]);
    let (resource, metrics) = wait_for("metrics", || {
        let (res, m) = last_metrics(&received);
        m.contains_key("chargeback.tokens").then_some((res, m))
    });
    assert_eq!(attr(&resource, "service.name").as_deref(), Some("chargeback"), "the default service name");
    let points = sum_points(&metrics["chargeback.tokens"]);
    assert_eq!(
        total_where(&points, "gen_ai.token.type", "input")
            + total_where(&points, "gen_ai.token.type", "output"),
        report["totals"]["total_tokens"].as_u64().unwrap() as f64
    );
    let requests = requests.lock().unwrap();
    assert!(
        requests.contains(&("/v1/metrics".to_owned(), "application/x-protobuf".to_owned())),
        "{requests:?}"
    );
    assert!(requests.iter().any(|(p, _)| p == "/v1/traces"), "{requests:?}");
}

/// Ingest with the collector at `endpoint`; it must finish, exit 0 and count everything.
fn ingest_despite(endpoint: &str, protocol: &str) {
    let ws = Workspace::new();
    let events = generate(&ws, &["--events", "3000", "--seed", "9", "--duplicates", "0"]);
    let started = Instant::now();
    let out = ws
        .cmd(&["ingest", "--batch-size", "200", s(&events)])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(summary_count(&String::from_utf8_lossy(&out.stdout), "accepted"), 3000);
    assert_eq!(common::totals(&ws.report(&[])).0, 3000, "nothing lost");
    // A liveness bound (the flush gives up after a few seconds), not a speed measurement.
    assert!(elapsed < Duration::from_secs(60), "ingest took {elapsed:?} with the collector away");
}

#[test]
fn a_refused_collector_costs_telemetry_only() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // The listener is dropped: connections to the port are refused.
    ingest_despite(&format!("http://127.0.0.1:{port}"), "grpc");
    ingest_despite(&format!("http://127.0.0.1:{port}"), "http/protobuf");
}

#[test]
fn a_collector_that_never_answers_costs_telemetry_only() {
    // Accepts connections (the kernel's backlog) but never reads or answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    ingest_despite(&format!("http://{addr}"), "grpc");
    ingest_despite(&format!("http://{addr}"), "http/protobuf");
    drop(listener);
}

/// A budget alert raised by a batch is delivered (to a webhook on the same tiny HTTP server)
/// and its `chargeback.alert.delivery` span links to that batch's `chargeback.batch` span, so
/// an operator can walk from an alert to the events that raised it.
#[test]
fn alert_delivery_span_links_to_the_batch_that_raised_it() {
    let ws = Workspace::new();
    let (addr, received, requests) = http_receiver();
    let lines: Vec<String> = (0..10)
        .map(|i| {
            let id = format!("00000000-0000-4000-8000-{i:012}");
            common::v1_event(&id, "2026-10-05T12:00:00Z", "sub-a", "dep", "gpt-4o", 60, 40)
        })
        .collect();
    let events = ws.write_lines("events.jsonl", &lines);
    let config = ws.path("config.toml");
    std::fs::write(
        &config,
        format!(
            "[clients.team-a]\nowners = [\"a@example.com\"]\nsubscriptions = [\"sub-a\"]\n\
             [deployments.dep]\nmodel = \"gpt-4o\"\n\
             [[budgets]]\nname = \"team-a-tokens\"\nclient = \"team-a\"\nmeasure = \"tokens\"\n\
             limit = 1000\nlevels = [100]\nforecast = false\nchannels = [\"hook\"]\n\
             [channels.hook]\nkind = \"slack\"\nurl = \"http://{addr}/hook\"\n"
        ),
    )
    .unwrap();
    let out = ws
        .cmd(&["--config", s(&config), "ingest", s(&events)])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}"))
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(requests.lock().unwrap().iter().any(|(p, _)| p == "/hook"), "the alert was delivered");
    let spans = |name: &str| -> Vec<opentelemetry_proto::tonic::trace::v1::Span> {
        let traces = received.traces.lock().unwrap();
        traces
            .iter()
            .flat_map(|t| &t.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    };
    let delivery = wait_for("the delivery span", || spans("chargeback.alert.delivery").into_iter().next());
    let batch = spans("chargeback.batch");
    assert_eq!(batch.len(), 1, "one batch");
    assert_eq!(attr(&delivery.attributes, "chargeback.alert.outcome").as_deref(), Some("delivered"));
    assert_eq!(delivery.links.len(), 1, "{delivery:?}");
    assert_eq!(delivery.links[0].trace_id, batch[0].trace_id);
    assert_eq!(delivery.links[0].span_id, batch[0].span_id, "the link names the batch span");
}
