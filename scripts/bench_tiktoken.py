"""Python tiktoken on the same texts as benches/count.rs: encode_ordinary, one thread."""
import json
import sys
import time

import tiktoken

texts = [json.loads(line) for line in open(sys.argv[1])]
size = sum(len(t.encode()) for t in texts)
encoding = tiktoken.get_encoding("o200k_base")
encoding.encode_ordinary("warm up")
best = float("inf")
for _ in range(3):
    start = time.perf_counter()
    tokens = sum(len(encoding.encode_ordinary(t)) for t in texts)
    best = min(best, time.perf_counter() - start)
print(
    f"python tiktoken {tiktoken.__version__}: {len(texts)} texts, {size / 1e6:.1f} MB, {tokens} tokens "
    f"in {best:.3f}s (best of 3): {len(texts) / best:.0f} texts/s, {size / 1e6 / best:.2f} MB/s, "
    f"{tokens / best:.0f} tokens/s"
)
