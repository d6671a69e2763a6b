//! `chargeback serve`: a read-only HTTP server for the monthly reports (issue 7).
//!
//! Owns the routes — `/` (month list), `/months/YYYY-MM` (the HTML report),
//! `/months/YYYY-MM.csv|.json|.focus.csv` (downloads), `/healthz` — and the bearer-token check.
//! Hides how a format is chosen: the file suffix names a [`Format`] by its `clap::ValueEnum`
//! name, so formats added to `Format` are served without changes here, and a format this build
//! lacks answers 404 with a clear message. Every request opens its own READ-ONLY store
//! connection and renders on a blocking thread; the same `render` as `chargeback report`, so a
//! download equals the command's output byte for byte.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::ValueEnum;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{Config, ServeConfig};
use crate::report::GroupBy;
use crate::report::load::month_report;
use crate::report::render::{Format, render};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "{listen} is not a loopback address: a bearer token is required (set the environment \
         variable {env} or [serve] token_file)"
    )]
    TokenRequired { listen: SocketAddr, env: String },
    #[error("cannot read the token file {path}")]
    TokenFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the token file {path} is empty")]
    EmptyTokenFile { path: PathBuf },
    #[error("cannot listen on {listen}")]
    Bind {
        listen: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the server failed")]
    Io(#[from] std::io::Error),
}

/// The bearer token the config names, if any; required when `listen` is not loopback.
pub fn token(config: &ServeConfig, listen: SocketAddr) -> Result<Option<String>, ServeError> {
    let token = match &config.token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ServeError::TokenFile { path: path.clone(), source })?;
            let first = text.lines().next().unwrap_or("").trim().to_owned();
            if first.is_empty() {
                return Err(ServeError::EmptyTokenFile { path: path.clone() });
            }
            Some(first)
        }
        None => std::env::var(&config.token_env).ok().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()),
    };
    if token.is_none() && !listen.ip().is_loopback() {
        return Err(ServeError::TokenRequired { listen, env: config.token_env.clone() });
    }
    Ok(token)
}

struct Shared {
    config: Config,
    store: PathBuf,
    /// SHA-256 of the token: comparing fixed-length digests in constant time leaks neither
    /// the token's bytes nor its length.
    token_sha256: Option<[u8; 32]>,
}

/// Serve until SIGTERM or Ctrl-C, then finish the requests in flight and return. Prints
/// `listening on http://ADDR` (the bound address, useful with port 0) once ready.
pub fn run(
    config: Config,
    store: PathBuf,
    listen: SocketAddr,
    token: Option<String>,
) -> Result<(), ServeError> {
    let shared =
        Arc::new(Shared { config, store, token_sha256: token.map(|t| Sha256::digest(t.as_bytes()).into()) });
    let app = Router::new()
        .route("/", get(index))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/months/{file}", get(month))
        .with_state(shared);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| ServeError::Bind { listen, source })?;
        let bound = listener.local_addr()?;
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on http://{bound}")?;
            out.flush()?;
        }
        axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
        Ok(())
    })
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler can be installed");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// A request that failed: a status and a plain-text message (small, unlike a `Response`).
struct Failure {
    status: StatusCode,
    message: String,
}

fn error(status: StatusCode, message: impl Into<String>) -> Failure {
    Failure { status, message: message.into() }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = format!("{}\n", self.message);
        let mut response =
            (self.status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> Result<(), Failure> {
    let Some(expected) = &shared.token_sha256 else { return Ok(()) };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let ok = presented.is_some_and(|t| {
        let digest: [u8; 32] = Sha256::digest(t.as_bytes()).into();
        bool::from(digest.ct_eq(expected))
    });
    if ok { Ok(()) } else { Err(error(StatusCode::UNAUTHORIZED, "a valid bearer token is required")) }
}

fn store_error(e: StoreError) -> Failure {
    eprintln!("serve: store error: {e}");
    error(StatusCode::INTERNAL_SERVER_ERROR, "the store could not be read")
}

/// Run a store read on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|_| Err(error(StatusCode::INTERNAL_SERVER_ERROR, "the request failed")))
}

fn open(shared: &Shared) -> Result<Store, Failure> {
    Store::open_read_only(&shared.store, shared.config.billing_time_zone.name()).map_err(store_error)
}

async fn index(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(denied) = authorized(&shared, &headers) {
        return denied.into_response();
    }
    let result = blocking(move || {
        let store = open(&shared)?;
        let months = store.months().map_err(store_error)?;
        let closed = store.closed_months().map_err(store_error)?;
        Ok(month_list(&months, &closed))
    })
    .await;
    match result {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(failure) => failure.into_response(),
    }
}

/// The month list page. Months come from the store as `YYYY-MM`; escaped anyway.
fn month_list(months: &[String], closed: &[String]) -> String {
    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Chargeback</title></head>\n\
         <body><h1>Chargeback months</h1>\n<ul>\n",
    );
    for month in months {
        let m = escape(month);
        let status = if closed.contains(month) { " (closed)" } else { "" };
        html.push_str(&format!(
            "<li><a href=\"/months/{m}\">{m}</a>{status} — <a href=\"/months/{m}.csv\">CSV</a> · \
             <a href=\"/months/{m}.json\">JSON</a> · <a href=\"/months/{m}.focus.csv\">FOCUS</a></li>\n"
        ));
    }
    if months.is_empty() {
        html.push_str("<li>No usage yet.</li>\n");
    }
    html.push_str("</ul></body></html>\n");
    html
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `YYYY-MM[.suffix]` → month and format name.
fn parse_file(file: &str) -> Option<(&str, &'static str)> {
    let (month, suffix) = file.split_at_checked(7)?;
    let valid = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok();
    let format = match suffix {
        "" => "html",
        ".csv" => "csv",
        ".json" => "json",
        ".focus.csv" => "focus",
        _ => return None,
    };
    valid.then_some((month, format))
}

/// Content type and, for downloads, the file name.
fn content(format: &str, month: &str) -> (&'static str, Option<String>) {
    match format {
        "html" => ("text/html; charset=utf-8", None),
        "json" => ("application/json", Some(format!("chargeback-{month}.json"))),
        "focus" => ("text/csv; charset=utf-8", Some(format!("chargeback-{month}.focus.csv"))),
        _ => ("text/csv; charset=utf-8", Some(format!("chargeback-{month}.csv"))),
    }
}

async fn month(State(shared): State<Arc<Shared>>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    if let Err(denied) = authorized(&shared, &headers) {
        return denied.into_response();
    }
    let Some((month, format_name)) = parse_file(&file) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("{file:?} is not a report: ask for /months/YYYY-MM, or add .csv, .json or .focus.csv"),
        )
        .into_response();
    };
    let Ok(format) = Format::from_str(format_name, true) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("the {format_name} format is not available in this build"),
        )
        .into_response();
    };
    let month = month.to_owned();
    let (content_type, download) = content(format_name, &month);
    let result = blocking(move || {
        let store = open(&shared)?;
        if !store.months().map_err(store_error)?.contains(&month) {
            return Err(error(StatusCode::NOT_FOUND, format!("no usage or corrections for month {month}")));
        }
        let report =
            month_report(&shared.config, &store, &month, format, GroupBy::Detail).map_err(store_error)?;
        let mut body = Vec::new();
        render(&report, format, &mut body).map_err(|e| {
            error(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot render the report: {e}"))
        })?;
        Ok(body)
    })
    .await;
    match result {
        Ok(body) => {
            let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
            if let Some(name) = download
                && let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
            {
                response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(failure) => failure.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_name_a_month_and_a_format() {
        assert_eq!(parse_file("2026-10"), Some(("2026-10", "html")));
        assert_eq!(parse_file("2026-10.csv"), Some(("2026-10", "csv")));
        assert_eq!(parse_file("2026-10.focus.csv"), Some(("2026-10", "focus")));
        assert_eq!(parse_file("2026-13.csv"), None);
        assert_eq!(parse_file("2026-10.exe"), None);
        assert_eq!(parse_file("x"), None);
    }

    #[test]
    fn exposed_without_a_token_is_refused() {
        let config =
            ServeConfig { token_env: "CHARGEBACK_TEST_UNSET_TOKEN_VAR".into(), ..Default::default() };
        let exposed: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert!(matches!(token(&config, exposed), Err(ServeError::TokenRequired { .. })));
        assert_eq!(token(&config, "127.0.0.1:8080".parse().unwrap()).unwrap(), None);
    }
}
