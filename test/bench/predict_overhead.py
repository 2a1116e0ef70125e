#!/usr/bin/env python3
"""Per-row cost of onnx_predict over a trivial built-in array function.

100,000 rows of float4[4]; a cached 4 -> 3 linear model (test/fixtures/
linear.onnx).  Times, in one run on one server, the median of 5 runs of

    SELECT sum(array_length(features, 1)) FROM bench_rows                 -- baseline
    SELECT sum(array_length(onnx_predict('linear', features), 1)) FROM bench_rows

and prints the difference per row in microseconds.  Needs the throw-away
cluster (eval "$(bash scripts/pgcluster.sh start)").  Usage:
    .venv/bin/python test/bench/predict_overhead.py [--rows N]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sessions"))
from common import fixture_bytes, fresh_database  # noqa: E402


def median_seconds(conn, sql, runs=5):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        conn.execute(sql).fetchall()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100000)
    args = ap.parse_args()
    connect = fresh_database("onnx_bench_overhead")
    c = connect()
    c.execute("SET max_parallel_workers_per_gather = 0")
    c.execute("SELECT onnx_create_model('linear', %s)", (fixture_bytes("linear.onnx"),))
    c.execute("""CREATE TABLE bench_rows AS
                 SELECT g AS id, ARRAY[random(), random(), random(), random()]::float4[] AS features
                 FROM generate_series(1, %d) g""" % args.rows)
    c.execute("VACUUM ANALYZE bench_rows")
    c.execute("SELECT onnx_predict('linear', '{1,2,3,4}')")   # warm the cache
    median_seconds(c, "SELECT sum(array_length(features, 1)) FROM bench_rows", 2)  # warm buffers
    base = median_seconds(c, "SELECT sum(array_length(features, 1)) FROM bench_rows")
    pred = median_seconds(c, "SELECT sum(array_length(onnx_predict('linear', features), 1)) FROM bench_rows")
    per_row = (pred - base) / args.rows * 1e6
    print("rows: %d" % args.rows)
    print("baseline  array_length(features):            %8.1f ms" % (base * 1e3))
    print("onnx_predict('linear', features):            %8.1f ms" % (pred * 1e3))
    print("onnx_predict overhead per row:               %8.2f us" % per_row)
    print("%d passed, %d failed" % ((1, 0) if per_row <= 3.0 else (0, 1)))


if __name__ == "__main__":
    main()
