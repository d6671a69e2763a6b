//! `chargeback serve` over real HTTP: the real binary on a free port, a real HTTP client, a
//! real SIGTERM. Downloads equal `chargeback report` output byte for byte.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use common::*;
use reqwest::StatusCode;
use reqwest::blocking::Client;

const TOKEN: &str = "correct horse battery staple";

/// A running server, killed if the test fails before it is stopped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(ws: &Workspace, listen: &str, token: Option<&str>) -> Server {
    let mut cmd = ws.cmd(&["serve", "--listen", listen]);
    cmd.env_remove("CHARGEBACK_SERVE_TOKEN").stdout(Stdio::piped()).stderr(Stdio::inherit());
    if let Some(token) = token {
        cmd.env("CHARGEBACK_SERVE_TOKEN", token);
    }
    let mut child = cmd.spawn().expect("spawn chargeback serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read the address");
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    Server { child, port }
}

fn event(n: u32, time: &str, sub: &str, prompt: u64) -> String {
    v1_event(&format!("5e5e5e5e-0000-4000-8000-{n:012}"), time, sub, "d1", "gpt-4o-2024-08-06", prompt, 20)
}

#[test]
fn reports_are_served_read_only_behind_a_token() {
    let ws = Workspace::new();
    let first = ws.write_lines(
        "a.jsonl",
        &[event(1, "2026-09-03T08:00:00Z", "sub-a", 300), event(2, "2026-10-03T08:00:00Z", "sub-b", 500)],
    );
    ws.ok(&["ingest", s(&first)]);
    ws.ok(&["close", "--month", "2026-09"]);
    let late = ws.write_lines("b.jsonl", &[event(3, "2026-09-30T08:00:00Z", "sub-c", 70)]);
    ws.ok(&["ingest", s(&late)]);

    // Exposed on every interface: the token is required.
    let mut server = start(&ws, "0.0.0.0:0", Some(TOKEN));
    let base = format!("http://127.0.0.1:{}", server.port);
    let client = Client::builder().no_proxy().build().unwrap();
    let get = |path: &str| client.get(format!("{base}{path}")).bearer_auth(TOKEN).send().unwrap();

    let health = client.get(format!("{base}/healthz")).send().unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    let anonymous = client.get(format!("{base}/months/2026-10.csv")).send().unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let wrong = client.get(format!("{base}/")).bearer_auth("correct horse battery stapler").send().unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let index = get("/");
    assert_eq!(index.status(), StatusCode::OK);
    assert!(index.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let index = index.text().unwrap();
    assert!(index.contains("href=\"/months/2026-10.csv\"") && index.contains("/months/2026-09"), "{index}");
    assert!(index.contains("2026-09</a> (closed)"), "{index}");

    for (suffix, format, content_type) in [(".csv", "csv", "text/csv"), (".json", "json", "application/json")]
    {
        let response = get(&format!("/months/2026-10{suffix}"));
        assert_eq!(response.status(), StatusCode::OK, "{suffix}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with(content_type));
        assert_eq!(
            response.headers()["content-disposition"],
            format!("attachment; filename=\"chargeback-2026-10{suffix}\"").as_str()
        );
        let body = response.bytes().unwrap();
        let expected = ws.ok(&["report", "--month", "2026-10", "--format", format]).stdout;
        assert_eq!(body.as_ref(), expected.as_slice(), "{suffix} equals `report --format {format}`");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&get("/months/2026-10.json").bytes().unwrap()).unwrap();
    assert_eq!(json["corrections"][0]["corrects"], "2026-09", "the correction is served too");

    // The HTML page (inline, no download name) and FOCUS equal `report` byte for byte too.
    for (path, format, content_type) in
        [("/months/2026-10", "html", "text/html"), ("/months/2026-10.focus.csv", "focus", "text/csv")]
    {
        let response = get(path);
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with(content_type), "{path}");
        let body = response.bytes().unwrap();
        let expected = ws.ok(&["report", "--month", "2026-10", "--format", format]).stdout;
        assert_eq!(body.as_ref(), expected.as_slice(), "{path} equals `report --format {format}`");
    }

    let unknown = get("/months/2031-01.csv");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.text().unwrap().contains("no usage or corrections for month 2031-01"));
    assert_eq!(get("/months/report.exe").status(), StatusCode::NOT_FOUND);

    // SIGTERM: graceful shutdown, exit 0.
    let pid = server.child.id().to_string();
    let kill = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    let status = server.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn exposed_without_a_token_it_refuses_to_start() {
    let ws = Workspace::new();
    let file = ws.write_lines("a.jsonl", &[event(1, "2026-10-03T08:00:00Z", "sub-a", 10)]);
    ws.ok(&["ingest", s(&file)]);
    let out =
        ws.cmd(&["serve", "--listen", "0.0.0.0:0"]).env_remove("CHARGEBACK_SERVE_TOKEN").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bearer token is required"), "{err}");
    assert!(out.stdout.is_empty(), "it never listened");
}
