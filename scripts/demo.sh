#!/usr/bin/env bash
# The main job on the embedded defaults (README "Try it"): build, ingest the shipped fixture
# month into a fresh SQLite store, and print its chargeback report and dead letters.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
store=${CHARGEBACK_STORE:-target/demo.db}
rm -f "$store" "$store-wal" "$store-shm"
run() { target/release/chargeback --store "$store" --config fixtures/config.toml "$@"; }
run ingest fixtures/events/2026-10.jsonl
echo
run report --month 2026-10 --by client
echo
run dead-letters list
echo
echo "store: $store (try: target/release/chargeback --store $store --config fixtures/config.toml report --format csv)"
