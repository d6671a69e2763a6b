"""Extract the texts the consumer counts from streamed events: every message content of the
captured request and the joined content deltas of the captured SSE. One JSON string a line."""
import json
import sys

src, dst = sys.argv[1], sys.argv[2]
with open(src) as events, open(dst, "w") as out:
    for line in events:
        event = json.loads(line)
        capture = event.get("capture") or {}
        for message in (capture.get("request") or {}).get("messages", []):
            out.write(json.dumps(message["content"]) + "\n")
        joined = []
        for sse_line in (capture.get("sse") or "").splitlines():
            if sse_line.startswith("data:") and sse_line[5:].strip() != "[DONE]":
                chunk = json.loads(sse_line[5:])
                for choice in chunk.get("choices", []):
                    joined.append((choice.get("delta") or {}).get("content") or "")
        out.write(json.dumps("".join(joined)) + "\n")
