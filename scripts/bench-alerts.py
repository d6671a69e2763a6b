"""Benchmark: time from an alert's commit to the webhook receiving it (p50, p99).

A real HTTP receiver (this script) records when each payload id arrives; `chargeback alerts
dispatch --watch` runs in the background, as a live consumer would; each of N ingests commits
one event that crosses a 100% level in a new month (one alert each), with `--no-alert-dispatch`
so only the watching dispatcher delivers. Latency = receive time - the outbox row's created_at
(both from this machine's clock).

usage: python3 scripts/bench-alerts.py [BINARY] [N]   (default target/release/chargeback, 100)
"""

import datetime as dt
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/chargeback"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
received = {}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        now = time.time()
        self.rfile.read(int(self.headers["Content-Length"]))
        received[self.headers["X-Chargeback-Payload-Id"]] = now
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
work = tempfile.mkdtemp()
config = os.path.join(work, "config.toml")
with open(config, "w") as f:
    f.write(f"""
[clients.team-a]
owners = ["a@example.com"]
subscriptions = ["sub-a"]
[[budgets]]
name = "bench"
client = "team-a"
measure = "tokens"
limit = 1000
levels = [100]
forecast = false
channels = ["hook"]
[channels.hook]
kind = "webhook"
url = "http://127.0.0.1:{server.server_port}/hook"
secret_env = "BENCH_SECRET"
""")
env = dict(os.environ, BENCH_SECRET="s", CHARGEBACK_CONFIG=config, CHARGEBACK_STORE=os.path.join(work, "s.db"))
subprocess.run([binary, "alerts", "list"], env=env, check=True, capture_output=True)
watcher = subprocess.Popen([binary, "alerts", "dispatch", "--watch"], env=env, stdout=subprocess.DEVNULL)
try:
    for i in range(n):
        year, month = 2000 + i // 12, i % 12 + 1
        event = {
            "schema_version": 1, "request_id": f"00000000-0000-4000-8000-{i:012d}",
            "timestamp": f"{year}-{month:02d}-02T12:00:00Z", "subscription_id": "sub-a",
            "subscription_name": None, "product": "p", "api": "a", "operation": "ChatCompletions_Create",
            "deployment": "dep", "model": "gpt-4o", "api_version": "2024-10-21", "status": 200,
            "stream": False, "usage": {"prompt_tokens": 600, "completion_tokens": 400, "total_tokens": 1000},
        }
        subprocess.run([binary, "ingest", "--no-alert-dispatch", "-"], env=env, check=True,
                       input=json.dumps(event).encode(), capture_output=True)
    deadline = time.time() + 30
    while len(received) < n and time.time() < deadline:
        time.sleep(0.05)
finally:
    watcher.terminate()
    watcher.wait()
alerts = json.loads(subprocess.run([binary, "alerts", "list", "--json"], env=env, check=True,
                                   capture_output=True).stdout)
lat = sorted((received[a["payload_id"]] - dt.datetime.fromisoformat(a["created_at"]).timestamp()) * 1000
             for a in alerts if a["payload_id"] in received)
print(f"alerts: {len(alerts)} committed, {len(lat)} received")
print(f"commit -> webhook received: p50 {statistics.median(lat):.0f} ms, "
      f"p99 {lat[min(len(lat) - 1, int(len(lat) * 0.99))]:.0f} ms, max {lat[-1]:.0f} ms "
      f"(poll interval 250 ms)")
