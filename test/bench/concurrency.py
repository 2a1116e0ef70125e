#!/usr/bin/env python3
"""Concurrency soak: CLIENTS sessions score with onnx_predict for SECONDS
while another session replaces the model every second, alternating two
versions (test/fixtures/mlp.onnx and linear.onnx, both 4 -> 3).  Every
answer must equal the output of one of the two versions (onnxruntime's,
to 1e-5), no error may occur, and the server must not restart.

    eval "$(bash scripts/pgcluster.sh start)"
    .venv/bin/python test/bench/concurrency.py [--clients 16] [--seconds 60]
"""
import argparse
import os
import sys
import threading
import time

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sessions"))
from common import fixture_bytes, fresh_database  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    a, b = fixture_bytes("mlp.onnx"), fixture_bytes("linear.onnx")
    x = np.array([[0.5, -1.0, 2.0, 0.25]], np.float32)
    ya = ort.InferenceSession(a).run(None, {"features": x})[0][0]
    yb = ort.InferenceSession(b).run(None, {"input": x})[0][0]
    connect = fresh_database("onnx_concurrency")
    with connect() as c:
        c.execute("SELECT onnx_create_model('m', %s)", (a,))
        start = c.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
    stop = time.time() + args.seconds
    stats = {"calls": 0, "a": 0, "b": 0, "wrong": 0, "errors": 0, "replaces": 0}
    lock = threading.Lock()
    errors = []

    def scorer():
        calls = na = nb = wrong = errs = 0
        with connect() as c:
            while time.time() < stop:
                try:
                    p = np.array(c.execute("SELECT onnx_predict('m', '{0.5,-1,2,0.25}')").fetchone()[0], np.float32)
                    calls += 1
                    if np.allclose(p, ya, rtol=1e-5, atol=1e-6):
                        na += 1
                    elif np.allclose(p, yb, rtol=1e-5, atol=1e-6):
                        nb += 1
                    else:
                        wrong += 1
                except Exception as e:  # noqa: BLE001
                    errs += 1
                    errors.append(str(e))
        with lock:
            for k, v in (("calls", calls), ("a", na), ("b", nb), ("wrong", wrong), ("errors", errs)):
                stats[k] += v

    def replacer():
        with connect() as c:
            i = 0
            while time.time() < stop:
                c.execute("SELECT onnx_replace_model('m', %s)", (b if i % 2 == 0 else a,))
                i += 1
                time.sleep(1)
            stats["replaces"] = i

    threads = [threading.Thread(target=scorer) for _ in range(args.clients)] + [threading.Thread(target=replacer)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.time() - t0
    with connect() as c:
        restarted = c.execute("SELECT pg_postmaster_start_time()").fetchone()[0] != start
    print("clients %d, %.0f s, %d replacements" % (args.clients, secs, stats["replaces"]))
    print("calls %d (%.0f/s): version A %d, version B %d, other answers %d, errors %d, server restarted: %s"
          % (stats["calls"], stats["calls"] / secs, stats["a"], stats["b"], stats["wrong"], stats["errors"], restarted))
    for e in errors[:5]:
        print("error:", e)
    ok = stats["wrong"] == 0 and stats["errors"] == 0 and not restarted and stats["a"] > 0 and stats["b"] > 0
    print("%d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
