#!/usr/bin/env python3
"""Private memory of many backends scoring one large model, with the model
in shared memory (shared_preload_libraries = 'onnx'): the sum over the
backends of what each adds to its Private_* memory (/proc/PID/smaps_rollup)
against the size of one copy of the model.

    eval "$(bash scripts/pgcluster.sh start)"
    .venv/bin/python test/bench/shared_models_scale.py [--backends 50] [--mb 100]
"""
import argparse
import os
import sys


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sessions"))
from common import fresh_database, matmul_model  # noqa: E402


def private_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        return sum(int(line.split()[1]) for line in f if line.startswith("Private_"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", type=int, default=50)
    ap.add_argument("--mb", type=float, default=100)
    a = ap.parse_args()
    k = 2048
    data = matmul_model(k, int(a.mb * 2**20 / 4 / k), seed=1)
    connect = fresh_database("onnx_bench_shared_scale")
    with connect() as c:
        c.execute("SELECT onnx_create_model('big', %s)", (data,))
    conns = [connect() for _ in range(a.backends)]
    pids = [c.execute("SELECT pg_backend_pid()").fetchone()[0] for c in conns]
    for c in conns:
        c.execute("SELECT 1 FROM onnx_models LIMIT 1")
    before = [private_kb(p) for p in pids]
    x = "array_fill(0.5::float4, ARRAY[%d])" % k
    for c in conns:
        c.execute("SELECT (onnx_predict('big', %s))[1]" % x)
    after = [private_kb(p) for p in pids]
    deltas = sorted((x - y) / 1024 for x, y in zip(after, before))
    print("largest per-backend additions (MB): %s" % ", ".join("%.1f" % d for d in deltas[-3:]))
    shared = sum(c.execute("SELECT count(*) FILTER (WHERE shared) FROM onnx_cache_info()").fetchone()[0]
                 for c in conns)
    added = sum(x - y for x, y in zip(after, before)) / 1024
    print("model %.1f MB, %d backends (%d with the shared copy): %.1f MB of private memory added in all, "
          "%.2f copies of the model (%.2f MB per backend)"
          % (len(data) / 2**20, a.backends, shared, added, added / (len(data) / 2**20), added / a.backends))
    for c in conns:
        c.close()


if __name__ == "__main__":
    main()
