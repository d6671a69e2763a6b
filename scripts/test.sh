#!/usr/bin/env bash
# The test command (README "Run the tests"): everything the tests need is set up here.
# - the Rust suite: unit tests and integration tests on real SQLite files, the real binary,
#   real signals (SIGKILL, SIGINT);
# - the APIM policy and Bicep checks (scripts/check-apim-infra.sh), which install their own
#   Python tools into a throwaway venv.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked
if [ -x scripts/check-apim-infra.sh ]; then
  scripts/check-apim-infra.sh
fi
