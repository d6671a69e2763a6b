//! E-mail alerts against a real SMTP server: aiosmtpd (from PyPI, in the venv that
//! scripts/setup-smtp.sh creates) with STARTTLS required and AUTH, certificate from a private
//! CA the channel trusts through `ca_file`. Also: SMTP down, then up → delivered.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Workspace, v1_event};
use serde_json::Value;

const PASSWORD: &str = "smtp-test-password";

fn setup_dir() -> PathBuf {
    let dir = common::repo().join("target/smtp-test");
    assert!(
        dir.join("venv/bin/python").exists() && dir.join("server.pem").exists(),
        "run scripts/setup-smtp.sh first (scripts/test.sh does)"
    );
    dir
}

struct Smtp(Child);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_smtp(port: u16, out: &Path) -> Smtp {
    let dir = setup_dir();
    let mut child = Command::new(dir.join("venv/bin/python"))
        .arg(common::repo().join("scripts/smtp_server.py"))
        .args([port.to_string().as_str()])
        .arg(dir.join("server.pem"))
        .arg(dir.join("server.key"))
        .arg(out)
        .args(["alerts", PASSWORD])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start aiosmtpd");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    Smtp(child)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn write_config(ws: &Workspace, port: u16) -> String {
    let ca = setup_dir().join("ca.pem");
    let text = format!(
        r#"
[clients.team-a]
owners = ["owner-a@example.com"]
subscriptions = ["sub-a"]

[[budgets]]
name = "team-a-tokens"
client = "team-a"
measure = "tokens"
limit = 1000
levels = [50]
forecast = false
channels = ["mail"]

[channels.mail]
kind = "email"
host = "localhost"
port = {port}
username = "alerts"
password_env = "TEST_SMTP_PASSWORD"
from = "Chargeback <chargeback@example.com>"
ca_file = "{}"

[alerts]
initial_backoff_ms = 100
max_backoff_ms = 300
max_attempts = 200
"#,
        ca.display()
    );
    let path = ws.path("config.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn events(ws: &Workspace) -> String {
    let lines: Vec<String> = (0..6)
        .map(|i| {
            v1_event(
                &format!("00000000-0000-4000-8000-{i:012}"),
                "2026-10-02T12:00:00Z",
                "sub-a",
                "dep",
                "gpt-4o",
                60,
                40,
            )
        })
        .collect();
    ws.write_lines("a.jsonl", &lines).to_str().unwrap().to_owned()
}

fn deliveries(ws: &Workspace, cfg: &str) -> Value {
    let out = ws.cmd(&["--config", cfg, "alerts", "list", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v[0]["deliveries"][0].clone()
}

fn messages(out: &Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(out)
        .map(|d| {
            d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "eml")).collect()
        })
        .unwrap_or_default();
    files.sort();
    files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

#[test]
fn email_over_starttls_with_auth_says_who_what_and_how_much() {
    let ws = Workspace::new();
    let port = free_port();
    let out = ws.path("mail");
    let _smtp = start_smtp(port, &out);
    let cfg = write_config(&ws, port);
    let file = events(&ws);
    let run =
        ws.cmd(&["--config", &cfg, "ingest", &file]).env("TEST_SMTP_PASSWORD", PASSWORD).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let d = deliveries(&ws, &cfg);
    assert_eq!(d["state"], "delivered", "{d}");
    let mails = messages(&out);
    assert_eq!(mails.len(), 1);
    let mail = mails[0].replace("=\r\n", "").replace("\r\n ", " ").replace("\r\n", "\n");
    assert!(mail.contains("To: owner-a@example.com"), "{mail}");
    assert!(
        mail.contains("Subject: Budget team-a-tokens: client team-a reached 50% of its 2026-10 budget"),
        "{mail}"
    );
    assert!(mail.contains("600 tokens") && mail.contains("60%"), "{mail}");
    let list = ws.cmd(&["--config", &cfg, "alerts", "list", "--json"]).output().unwrap();
    let payload_id =
        serde_json::from_slice::<Value>(&list.stdout).unwrap()[0]["payload_id"].as_str().unwrap().to_owned();
    assert!(mail.contains(&format!("Message-ID: <{payload_id}@chargeback>")), "{mail}");
}

#[test]
fn smtp_down_then_up_is_delivered() {
    let ws = Workspace::new();
    let port = free_port();
    let out = ws.path("mail");
    let cfg = write_config(&ws, port);
    let file = events(&ws);
    // Create the store first: the polling below must not race the ingest's first open.
    assert_eq!(deliveries(&ws, &cfg), Value::Null);
    // SMTP is down: ingest commits the alert and keeps retrying (bounded pass).
    let mut ingest = ws
        .cmd(&["--config", &cfg, "ingest", &file])
        .env("TEST_SMTP_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Wait (by state, not by time) until two attempts have failed.
    let mut seen = Value::Null;
    for _ in 0..400 {
        seen = deliveries(&ws, &cfg);
        if seen["attempts"].as_u64().unwrap_or(0) >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(seen["state"], "pending", "{seen}");
    assert!(seen["last_error"].as_str().unwrap().starts_with("SMTP"), "{seen}");
    let _smtp = start_smtp(port, &out);
    assert!(ingest.wait().unwrap().success());
    let d = deliveries(&ws, &cfg);
    assert_eq!(d["state"], "delivered", "{d}");
    assert!(d["attempts"].as_u64().unwrap() >= 3, "{d}");
    assert_eq!(messages(&out).len(), 1);
}
