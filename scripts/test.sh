#!/usr/bin/env bash
# The test command (README "Try it"): everything the tests need is set up here.
# - the APIM policy and Bicep checks (scripts/check-apim-infra.sh), which install their own
#   tools: Python packages into a throwaway venv, Debian's Mono C# compiler for the policy
#   expressions;
# - the Rust suite: unit tests, and integration tests that run the real binary on real SQLite
#   files with real signals (SIGKILL, SIGINT).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/check-apim-infra.sh
bash scripts/setup-chromium.sh  # Debian's chromium for tests/html.rs (the HTML report in a real browser)
bash scripts/setup-smtp.sh # aiosmtpd venv + test CA for tests/alerts_smtp.rs
# --lib --bins --tests: the crate has no doc tests, and an empty doc-test run would be the
# last line a reader of this log sees.
cargo test --locked --lib --bins --tests
