"""A local OTLP/HTTP receiver for scripts/bench.sh telemetry: accepts every POST with 200 and
drops the body. Writes its port to argv[1] and, on each request, the running count to
argv[1].count. Standard library only."""
import http.server
import sys

port_file = sys.argv[1]
count = 0


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global count
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        count += 1
        with open(port_file + ".count", "w") as f:
            f.write(str(count))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
