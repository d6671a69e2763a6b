//! Helpers shared by the integration tests: run the real `chargeback` binary against real
//! SQLite files in a temporary directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_chargeback");

/// The repository root (for fixtures).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(path: &str) -> PathBuf {
    repo().join("fixtures").join(path)
}

/// A temporary working directory with a store path in it.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace { dir: tempfile::tempdir().expect("tempdir") }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn store(&self) -> PathBuf {
        self.path("store.db")
    }

    /// A `chargeback` command with `--store` set, environment cleaned of our variables.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_remove("CHARGEBACK_CONFIG")
            .env_remove("CHARGEBACK_STORE")
            .current_dir(self.dir.path())
            .arg("--store")
            .arg(self.store())
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Run and require success.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().expect("run chargeback");
        assert!(
            out.status.success(),
            "chargeback {args:?} failed: {}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The JSON report of a month.
    pub fn report(&self, extra: &[&str]) -> Value {
        let mut args = vec!["report", "--format", "json"];
        args.extend_from_slice(extra);
        let out = self.ok(&args);
        serde_json::from_slice(&out.stdout).expect("report is JSON")
    }

    pub fn dead_letters(&self) -> Vec<Value> {
        let out = self.ok(&["dead-letters", "list", "--format", "json"]);
        serde_json::from_slice::<Value>(&out.stdout).expect("JSON").as_array().expect("array").clone()
    }

    /// Write `lines` as a JSONL file and return its path.
    pub fn write_lines(&self, name: &str, lines: &[String]) -> PathBuf {
        let path = self.path(name);
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(&path, text).expect("write");
        path
    }
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A valid v1 event with usage.
pub fn v1_event(
    id: &str,
    time: &str,
    sub: &str,
    deployment: &str,
    model: &str,
    prompt: u64,
    completion: u64,
) -> String {
    serde_json::json!({
        "schema_version": 1,
        "request_id": id,
        "timestamp": time,
        "subscription_id": sub,
        "subscription_name": null,
        "product": "p", "api": "a", "operation": "ChatCompletions_Create",
        "deployment": deployment,
        "model": model,
        "api_version": "2024-10-21",
        "status": 200,
        "stream": false,
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    })
    .to_string()
}

/// `(requests, total_tokens)` of the report's totals.
pub fn totals(report: &Value) -> (u64, u64) {
    let t = &report["totals"];
    (t["requests"].as_u64().unwrap(), t["total_tokens"].as_u64().unwrap())
}
