#!/usr/bin/env bash
# Benchmarks that print figures (never run in CI; see README "Benchmarks").
#   1. ingest: 1,000,000 generated non-streamed events into a fresh store, with dedupe:
#      events/s, MB/s, peak RSS.
#   2. streamed counting: events/s and MB/s of captured text through `ingest`, and pure
#      counting throughput of tiktoken-rs beside Python's tiktoken (encode_ordinary, one
#      thread) on the same texts, in a throwaway venv this script creates.
#   3. report: a month of 1,000 clients x 20 deployments, rendered as JSON, table, CSV, HTML
#      and FOCUS (whole process: store read + build + render).
#   4. telemetry: the ingest of (1) with OTLP off, then exporting metrics and spans over HTTP/protobuf
#      to a local receiver (scripts/otlp_sink.py, accepts and drops): events/s of each.
# Usage: scripts/bench.sh [ingest|streamed|report|telemetry]...   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
work=target/bench
mkdir -p "$work"
cargo build --release --locked --quiet
bin=target/release/chargeback
what=("$@")
[ ${#what[@]} -gt 0 ] || what=(ingest streamed report)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for w in "${what[@]}"; do
case "$w" in
ingest)
  [ -f "$work/1m.jsonl" ] || "$bin" generate --events 1000000 --seed 7 --output "$work/1m.jsonl"
  size=$(stat -c %s "$work/1m.jsonl")
  echo "== ingest: 1,000,000 events (+0.5% duplicates), $((size / 1000000)) MB, 1,000 clients x 20 deployments"
  rates=()
  for run in 1 2 3; do
    rm -f "$work"/ingest.db*
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$bin" --store "$work/ingest.db" ingest "$work/1m.jsonl" >/dev/null
    read -r secs kb < "$work/time.txt"
    echo "run $run: ${secs}s, $(awk -v s="$secs" 'BEGIN{printf "%.0f", 1005023/s}') events/s, $(awk -v s="$secs" -v b="$size" 'BEGIN{printf "%.1f", b/1e6/s}') MB/s, peak RSS $((kb / 1024)) MB"
    rates+=("$(awk -v s="$secs" 'BEGIN{printf "%.0f", 1005023/s}')")
  done
  echo "median: $(printf '%s\n' "${rates[@]}" | median) events/s"
  ;;
streamed)
  [ -f "$work/streamed.jsonl" ] || "$bin" generate --events 100000 --seed 11 --deployments 4 --streamed 1.0 --duplicates 0 --output "$work/streamed.jsonl"
  python3 -m venv "$work/venv" >/dev/null
  "$work/venv/bin/pip" install --quiet --disable-pip-version-check tiktoken
  # tiktoken fetches its BPE file from the internet; give it the very file tiktoken-rs embeds,
  # under the cache name tiktoken looks for (sha1 of the download URL).
  bpe=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -path '*tiktoken-rs-0.12*/assets/o200k_base.tiktoken' | head -n 1)
  mkdir -p "$work/tiktoken-cache"
  cache_name=$(printf %s "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken" | sha1sum | cut -d' ' -f1)
  cp "$bpe" "$work/tiktoken-cache/$cache_name"
  # The texts the consumer counts: each event's messages and its joined deltas.
  "$work/venv/bin/python" scripts/bench_texts.py "$work/streamed.jsonl" "$work/texts.jsonl"
  text_bytes=$("$work/venv/bin/python" -c "import json,sys; print(sum(len(json.loads(l).encode()) for l in open(sys.argv[1])))" "$work/texts.jsonl")
  echo "== streamed: 100,000 streamed events without usage, $((text_bytes / 1000000)) MB of text to count"
  rm -f "$work"/streamed.db*
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$bin" --store "$work/streamed.db" ingest "$work/streamed.jsonl" >/dev/null
  read -r secs kb < "$work/time.txt"
  echo "ingest: ${secs}s, $(awk -v s="$secs" 'BEGIN{printf "%.0f", 100000/s}') events/s, $(awk -v s="$secs" -v b="$text_bytes" 'BEGIN{printf "%.2f", b/1e6/s}') MB/s of text, peak RSS $((kb / 1024)) MB"
  cargo bench --quiet --locked --bench count -- "$work/texts.jsonl" 2>/dev/null | grep '^rust'
  TIKTOKEN_CACHE_DIR="$work/tiktoken-cache" "$work/venv/bin/python" scripts/bench_tiktoken.py "$work/texts.jsonl"
  ;;
report)
  [ -f "$work/report.jsonl" ] || "$bin" generate --events 400000 --seed 3 --clients 1000 --deployments 20 --output "$work/report.jsonl"
  rm -f "$work"/report.db*
  "$bin" --store "$work/report.db" ingest "$work/report.jsonl" >/dev/null
  keys=$(sqlite3 "$work/report.db" "select count(*) from monthly_totals" 2>/dev/null || echo "?")
  echo "== report: one month, 1,000 clients x 20 deployments ($keys client x deployment x model rows)"
  for format in json table csv html focus; do
    times=()
    for run in 1 2 3 4 5; do
      start=$(date +%s.%N)
      "$bin" --store "$work/report.db" report --format "$format" > /dev/null
      times+=("$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.3f", b-a}')")
    done
    echo "report --format $format: median $(printf '%s\n' "${times[@]}" | median)s of 5 runs"
  done
  ;;
telemetry)
  [ -f "$work/1m.jsonl" ] || "$bin" generate --events 1000000 --seed 7 --output "$work/1m.jsonl"
  echo "== telemetry: ingest of 1,000,000 events (+0.5% duplicates), OTLP off vs on (local receiver)"
  rm -f "$work"/sink.port*
  python3 scripts/otlp_sink.py "$work/sink.port" & sink=$!
  trap 'kill $sink 2>/dev/null || true' EXIT
  while [ ! -s "$work/sink.port" ]; do sleep 0.1; done
  port=$(cat "$work/sink.port")
  for mode in off http/protobuf off http/protobuf; do
    rm -f "$work"/telemetry.db*
    if [ "$mode" = off ]; then
      env -u OTEL_EXPORTER_OTLP_ENDPOINT /usr/bin/time -f "%e %M" -o "$work/time.txt" "$bin" --store "$work/telemetry.db" ingest "$work/1m.jsonl" >/dev/null 2>&1
    else
      OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$port" OTEL_EXPORTER_OTLP_PROTOCOL="$mode" \
        /usr/bin/time -f "%e %M" -o "$work/time.txt" "$bin" --store "$work/telemetry.db" ingest "$work/1m.jsonl" >/dev/null 2>&1
    fi
    read -r secs kb < "$work/time.txt"
    echo "telemetry $mode: ${secs}s, $(awk -v s="$secs" 'BEGIN{printf "%.0f", 1005023/s}') events/s, peak RSS $((kb / 1024)) MB"
  done
  echo "sink received: $(cat "$work/sink.port.count" 2>/dev/null || echo '?') requests"
  kill $sink 2>/dev/null || true
  ;;
*) echo "unknown benchmark $w (ingest, streamed, report, telemetry)" >&2; exit 2 ;;
esac
done
