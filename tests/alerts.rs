//! Budget alerts end to end: the real binary, real SQLite files, and a real HTTP server (a
//! small std TcpListener server started by the test that records every request and answers
//! as scripted). Covers signed webhook, Slack and Teams formats, retries, the final failed
//! state, SIGKILL before delivery, and replays that must not fire twice.

mod common;

use std::collections::{BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Workspace, v1_event};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

const SECRET: &str = "test-hmac-secret";

#[derive(Debug, Clone, Copy)]
enum Answer {
    Status(u16),
    /// Read the request, record it, never answer (the connection stays open).
    Hold,
}

#[derive(Debug, Clone)]
struct Request {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// A real HTTP/1.1 server on 127.0.0.1: answers from `script` in order, then 200.
struct Receiver {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    fn start(script: &[Answer]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let (reqs, scr) = (requests.clone(), script);
        std::thread::spawn(move || {
            let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
            for stream in listener.incoming().flatten() {
                let (reqs, scr, held) = (reqs.clone(), scr.clone(), held.clone());
                std::thread::spawn(move || serve(stream, &reqs, &scr, &held));
            }
        });
        Receiver { port, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self, path: &str) -> Vec<Request> {
        self.requests.lock().unwrap().iter().filter(|r| r.path == path).cloned().collect()
    }

    fn wait_for(&self, n: usize) {
        for _ in 0..600 {
            if self.requests.lock().unwrap().len() >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the receiver never got {n} requests");
    }
}

fn serve(
    stream: TcpStream,
    reqs: &Mutex<Vec<Request>>,
    scr: &Mutex<VecDeque<Answer>>,
    held: &Mutex<Vec<TcpStream>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    // One request per connection: every answer says `Connection: close`.
    {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap();
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let answer = scr.lock().unwrap().pop_front().unwrap_or(Answer::Status(200));
        reqs.lock().unwrap().push(Request { path, headers, body });
        match answer {
            Answer::Hold => {
                held.lock().unwrap().push(stream);
            }
            Answer::Status(code) => {
                let mut s = &stream;
                let _ = write!(s, "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        }
    }
}

fn config(ws: &Workspace, rx: &Receiver, channels: &str, extra: &str) -> String {
    let path = ws.path("config.toml");
    let text = format!(
        r#"
[clients.team-a]
owners = ["a@example.com"]
subscriptions = ["sub-a"]
[deployments.dep]
model = "gpt-4o"

[[budgets]]
name = "team-a-tokens"
client = "team-a"
measure = "tokens"
limit = 1000
levels = [50, 100]
channels = [{channels}]

[channels.hook]
kind = "webhook"
url = "{}"
secret_env = "TEST_WEBHOOK_SECRET"
[channels.slack]
kind = "slack"
url = "{}"
[channels.teams]
kind = "teams"
url = "{}"

[alerts]
initial_backoff_ms = 50
max_backoff_ms = 200
{extra}
"#,
        rx.url("/hook"),
        rx.url("/slack"),
        rx.url("/teams"),
    );
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `n` events of 100 tokens each for team-a on `day` (2026-10-DD).
fn events(ws: &Workspace, name: &str, day: u32, first: usize, n: usize) -> String {
    let lines: Vec<String> = (first..first + n)
        .map(|i| {
            let id = format!("00000000-0000-4000-8000-{i:012}");
            v1_event(&id, &format!("2026-10-{day:02}T12:00:00Z"), "sub-a", "dep", "gpt-4o", 60, 40)
        })
        .collect();
    ws.write_lines(name, &lines).to_str().unwrap().to_owned()
}

fn run(ws: &Workspace, cfg: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--config", cfg];
    all.extend_from_slice(args);
    let out = ws.cmd(&all).env("TEST_WEBHOOK_SECRET", SECRET).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn list(ws: &Workspace, cfg: &str) -> Vec<Value> {
    let out = run(ws, cfg, &["alerts", "list", "--json"]);
    serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
}

fn levels(alerts: &[Value]) -> BTreeSet<String> {
    alerts.iter().map(|a| a["level"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn signed_webhook_slack_and_teams_once_per_level_even_when_replayed() {
    let ws = Workspace::new();
    let rx = Receiver::start(&[]);
    let cfg = config(&ws, &rx, r#""hook", "slack", "teams""#, "");
    // 6 x 100 tokens on 2026-10-11: 60% (crosses 50) and a run-rate to ~1,690 by month end.
    let first = events(&ws, "a.jsonl", 11, 0, 6);
    run(&ws, &cfg, &["ingest", &first]);
    let alerts = list(&ws, &cfg);
    assert_eq!(levels(&alerts), BTreeSet::from(["50".to_owned(), "forecast".to_owned()]));
    for a in &alerts {
        for d in a["deliveries"].as_array().unwrap() {
            assert_eq!((d["state"].as_str(), d["attempts"].as_u64()), (Some("delivered"), Some(1)), "{a}");
        }
    }

    let hooks = rx.requests("/hook");
    assert_eq!(hooks.len(), 2);
    for h in &hooks {
        let ts = h.header("X-Chargeback-Timestamp").unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("{ts}.").as_bytes());
        mac.update(&h.body);
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(h.header("X-Chargeback-Signature").unwrap(), format!("sha256={hex}"));
        let body = h.json();
        assert_eq!(body["payload_id"].as_str(), h.header("X-Chargeback-Payload-Id"));
        assert_eq!(body["alert"]["rule"], "team-a-tokens");
    }
    let fifty = hooks.iter().map(Request::json).find(|b| b["alert"]["level"] == "50").unwrap();
    assert_eq!(fifty["alert"]["value"], "600");
    let text = fifty["text"].as_str().unwrap();
    assert!(
        text.contains(
            "client team-a has used 600 tokens in 2026-10, 60% of its monthly budget of 1000 tokens"
        ),
        "{text}"
    );
    assert!(text.contains("What to do next"), "{text}");
    let forecast = hooks.iter().map(Request::json).find(|b| b["alert"]["level"] == "forecast").unwrap();
    assert!(
        forecast["text"]
            .as_str()
            .unwrap()
            .contains("will reach its monthly budget of 1000 tokens on 2026-10-")
    );

    let slack = rx.requests("/slack");
    assert_eq!(slack.len(), 2);
    let s = slack[0].json();
    assert!(s["text"].as_str().unwrap().starts_with("Budget team-a-tokens"), "{s}");
    assert_eq!(s["blocks"][0]["type"], "header");
    let teams = rx.requests("/teams");
    assert_eq!(teams.len(), 2);
    let t = teams[0].json();
    assert_eq!(t["type"], "message");
    assert_eq!(t["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(t["attachments"][0]["content"]["type"], "AdaptiveCard");

    // The same events again (a replay after a restart): no new alert, nothing sent.
    run(&ws, &cfg, &["ingest", &first]);
    assert_eq!(list(&ws, &cfg).len(), 2);
    assert_eq!(rx.requests.lock().unwrap().len(), 6);

    // 500 more tokens: crosses 100% once.
    let second = events(&ws, "b.jsonl", 11, 100, 5);
    run(&ws, &cfg, &["ingest", &second]);
    let alerts = list(&ws, &cfg);
    assert_eq!(levels(&alerts), BTreeSet::from(["50".into(), "100".into(), "forecast".into()]));
    assert_eq!(rx.requests("/hook").len(), 3);
}

#[test]
fn webhook_500_three_times_then_200_is_delivered_once() {
    let ws = Workspace::new();
    let rx = Receiver::start(&[Answer::Status(500), Answer::Status(500), Answer::Status(500)]);
    let cfg = config(&ws, &rx, r#""hook""#, "");
    run(&ws, &cfg, &["ingest", &events(&ws, "a.jsonl", 2, 0, 5)]);
    let alerts = list(&ws, &cfg);
    assert_eq!(levels(&alerts), BTreeSet::from(["50".to_owned()]));
    let d = &alerts[0]["deliveries"][0];
    assert_eq!((d["state"].as_str(), d["attempts"].as_u64()), (Some("delivered"), Some(4)), "{d}");
    let hooks = rx.requests("/hook");
    assert_eq!(hooks.len(), 4);
    let ids: BTreeSet<_> =
        hooks.iter().map(|h| h.header("X-Chargeback-Payload-Id").unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1, "every retry carries the same payload id");
}

#[test]
fn a_channel_that_never_recovers_is_failed_listed_and_retryable() {
    let ws = Workspace::new();
    let rx = Receiver::start(&[Answer::Status(503); 3]);
    let cfg = config(&ws, &rx, r#""hook""#, "max_attempts = 3");
    run(&ws, &cfg, &["ingest", &events(&ws, "a.jsonl", 2, 0, 5)]);
    let d = list(&ws, &cfg)[0]["deliveries"][0].clone();
    assert_eq!((d["state"].as_str(), d["attempts"].as_u64()), (Some("failed"), Some(3)), "{d}");
    assert_eq!(d["last_error"], "receiver answered HTTP 503");
    let table = String::from_utf8(run(&ws, &cfg, &["alerts", "list"]).stdout).unwrap();
    assert!(table.contains("failed") && table.contains("HTTP 503"), "{table}");
    // After the receiver is fixed: retry puts it back, dispatch delivers it.
    run(&ws, &cfg, &["alerts", "retry"]);
    run(&ws, &cfg, &["alerts", "dispatch"]);
    let d = list(&ws, &cfg)[0]["deliveries"][0].clone();
    assert_eq!(d["state"], "delivered", "{d}");
    assert_eq!(rx.requests("/hook").len(), 4);
}

#[test]
fn killed_before_delivery_is_delivered_after_restart_and_deduped_by_payload_id() {
    let ws = Workspace::new();
    // The first request is held open: the process is killed while it waits for the answer.
    let rx = Receiver::start(&[Answer::Hold]);
    let cfg = config(&ws, &rx, r#""hook""#, "");
    let file = events(&ws, "a.jsonl", 2, 0, 5);
    let mut child = ws
        .cmd(&["--config", &cfg, "ingest", &file])
        .env("TEST_WEBHOOK_SECRET", SECRET)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    rx.wait_for(1);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let d = list(&ws, &cfg)[0]["deliveries"][0].clone();
    assert_eq!(d["state"], "pending", "{d}");

    // Restart: the same file again (nothing new) and a dispatch pass.
    run(&ws, &cfg, &["ingest", &file]);
    run(&ws, &cfg, &["alerts", "dispatch"]);
    let alerts = list(&ws, &cfg);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["deliveries"][0]["state"], "delivered");
    let hooks = rx.requests("/hook");
    // Sent again after the restart (at least once); the receiver sees one payload id.
    assert_eq!(hooks.len(), 2);
    let ids: BTreeSet<_> =
        hooks.iter().map(|h| h.header("X-Chargeback-Payload-Id").unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1);
    run(&ws, &cfg, &["alerts", "dispatch"]);
    assert_eq!(rx.requests("/hook").len(), 2, "a delivered alert is never sent again");
}

#[test]
fn bad_budget_config_fails_at_start_naming_the_field() {
    let ws = Workspace::new();
    let rx = Receiver::start(&[]);
    let cfg = config(&ws, &rx, r#""nope""#, "");
    let out = ws.cmd(&["--config", &cfg, "alerts", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("budgets[0].channels[0]"), "{err}");
}
