//! Fault injection with real faults: the ingest process is killed with SIGKILL at random
//! moments during a 1,000,000-event run and restarted each time; the final totals must equal
//! a clean run's, to the token and the last decimal of cost. Ctrl-C (SIGINT) must commit what
//! was read and exit 130, and the next run must finish the job.

mod common;

use std::time::{Duration, Instant};

use common::*;
use rand::{Rng, SeedableRng};

fn kill(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill").args([signal, &pid.to_string()]).status().unwrap();
    assert!(status.success());
}

fn generate(ws: &Workspace, events: u64) -> std::path::PathBuf {
    let path = ws.path("events.jsonl");
    ws.ok(&[
        "generate",
        "--events",
        &events.to_string(),
        "--seed",
        "42",
        "--legacy",
        "0.02",
        "--bad",
        "0.001",
        "--duplicates",
        "0.005",
        "--output",
        s(&path),
    ]);
    path
}

#[test]
fn sigkill_at_random_points_of_a_million_event_ingest_neither_loses_nor_doubles() {
    let clean = Workspace::new();
    let events = generate(&clean, 1_000_000);
    clean.ok(&["ingest", s(&events)]);
    let expected = clean.report(&[]);
    let expected_dead = clean.dead_letters().len();

    // The killed runs read the same file (same source name, so legacy ids agree) into their
    // own store, with small batches so that kills land both inside and between commits.
    let killed = Workspace::new();
    let seed: u64 = std::env::var("KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    eprintln!("KILL_SEED={seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut kills = 0;
    let mut finished = false;
    for _ in 0..8 {
        let mut child = killed
            .cmd(&["ingest", "--batch-size", "20000", s(&events)])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let wait = Duration::from_millis(rng.random_range(200..2_500));
        let started = Instant::now();
        while started.elapsed() < wait {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if child.try_wait().unwrap().is_some() {
            finished = true;
            break;
        }
        kill(child.id(), "-KILL");
        let status = child.wait().unwrap();
        assert!(!status.success());
        kills += 1;
    }
    assert!(kills >= 3, "the process was killed {kills} times only (seed {seed})");
    if !finished {
        killed.ok(&["ingest", s(&events)]);
    }
    assert_eq!(killed.report(&[]), expected, "totals after {kills} kills (seed {seed})");
    assert_eq!(killed.dead_letters().len(), expected_dead);
}

#[test]
fn ctrl_c_commits_what_was_read_and_the_next_run_finishes() {
    let ws = Workspace::new();
    let events = generate(&ws, 200_000);
    let child = ws
        .cmd(&["ingest", "--batch-size", "5000", s(&events)])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    kill(child.id(), "-INT");
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{text}");
    assert!(text.contains("interrupted"), "{text}");
    let partial = ws.report(&[]);
    let (partial_requests, _) = totals(&partial);
    assert!(partial_requests > 0, "something was committed before the signal");
    ws.ok(&["ingest", s(&events)]);

    let clean = Workspace::new();
    clean.ok(&["ingest", s(&events)]);
    assert_eq!(ws.report(&[]), clean.report(&[]));
    assert!(totals(&clean.report(&[])).0 > partial_requests);
}
