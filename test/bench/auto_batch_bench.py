#!/usr/bin/env python3
"""Auto-batching benchmark (issue 15): the plain per-row query with
onnx.auto_batch on and off against onnx_score, 100,000 rows, for the
3-layer 256-wide MLP and the 500-tree gradient-boosted model.

    eval "$(bash scripts/pgcluster.sh start)"
    .venv/bin/python test/bench/auto_batch_bench.py [--rows 100000] [--rounds 5]

The three forms of each model run in alternating rounds in one session
(one process: no parallel workers), each timed by wall clock and by the
CPU time of the backend (/proc/PID/schedstat, when this user can read
it: on a shared machine it leaves out what other processes take);
medians over the rounds.  Writes test/bench/auto_batch_results.md
(copied into the README by scripts/update_readme.py).

  per-row, auto_batch on   SELECT count(onnx_predict(m, x)) FROM bench
  per-row, auto_batch off  the same, row by row
  onnx_score               SELECT count(p) FROM onnx_score(m, 'SELECT id, x FROM bench') AS s(...)

The acceptance of issue 15: on auto-batched >= 90% of onnx_score's rows/s,
and >= 3x its own speed with auto_batch off.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "sessions"))
sys.path.insert(0, HERE)

from common import fresh_database  # noqa: E402
from run_bench import cpu_model  # noqa: E402


def models():
    mdir = os.path.join(HERE, "models")
    mlp, gbm = os.path.join(mdir, "mlp.onnx"), os.path.join(mdir, "gbm_500.onnx")
    if not os.path.exists(mlp):
        subprocess.run([sys.executable, os.path.join(HERE, "make_bench_models.py"), mdir], check=True)
    if not os.path.exists(gbm):
        subprocess.run([sys.executable, os.path.join(HERE, "make_gbm.py"), gbm], check=True, cwd="/tmp")
    return [("mlp", mlp, "features", "float4[]"), ("gbm_500", gbm, "f10", "float4[]")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(HERE, "auto_batch_results.md"))
    args = ap.parse_args()
    n = args.rows
    connect = fresh_database("onnx_bench_auto_batch")
    c = connect()
    c.prepare_threshold = None     # a cached plan would keep the setting it was made with
    c.execute("SET max_parallel_workers_per_gather = 0")
    pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
    stat = "/proc/%d/schedstat" % pid

    def cpu_s():
        try:
            return int(open(stat).read().split()[0]) / 1e9
        except OSError:
            return None
    ms = models()
    for name, path, _, _ in ms:
        c.execute("SELECT onnx_create_model(%s, %s)", (name, open(path, "rb").read()))
    c.execute("""CREATE TABLE bench AS SELECT g AS id,
                   (SELECT array_agg(((g::bigint * 256 + k) * 7919 %% 1000) / 1000.0)::float4[]
                    FROM generate_series(0, 255) k) AS features,
                   (SELECT array_agg(((g::bigint * 10 + k) * 7919 %% 1000) / 100.0 - 5)::float4[]
                    FROM generate_series(0, 9) k) AS f10
                 FROM generate_series(1, %d) g""" % n)
    c.execute("VACUUM ANALYZE bench")
    batch = c.execute("SHOW onnx.batch_size").fetchone()[0]
    forms = [("per-row, auto_batch on", "on", "SELECT count(onnx_predict('{m}', {x})) FROM bench"),
             ("per-row, auto_batch off", "off", "SELECT count(onnx_predict('{m}', {x})) FROM bench"),
             ("onnx_score", "on", "SELECT count(p) FROM onnx_score('{m}', 'SELECT id, {x} FROM bench') "
                                  "AS s(id int, x {t}, p float4[])")]
    results = {}
    for name, _, col, typ in ms:
        c.execute("SELECT onnx_predict('%s', %s) FROM bench LIMIT 1" % (name, col))    # load the model
        wall = {f[0]: [] for f in forms}
        cpu = {f[0]: [] for f in forms}
        for r in range(args.rounds):
            for label, mode, q in forms:
                c.execute("SET onnx.auto_batch = " + mode)
                t0, c0 = time.perf_counter(), cpu_s()
                got = c.execute(q.format(m=name, x=col, t=typ)).fetchone()[0]
                t1, c1 = time.perf_counter(), cpu_s()
                assert got == n, (label, got)
                wall[label].append(n / (t1 - t0))
                if c0 is not None and c1 is not None:
                    cpu[label].append(n / (c1 - c0))
                print("%-8s %-26s round %d: %9.0f rows/s wall%s" % (
                    name, label, r + 1, wall[label][-1],
                    ", %9.0f rows/s CPU" % cpu[label][-1] if cpu[label] else ""))
                sys.stdout.flush()
        c.execute("RESET onnx.auto_batch")
        results[name] = ({k: statistics.median(v) for k, v in wall.items()},
                         {k: statistics.median(v) for k, v in cpu.items() if v})
    try:
        load = "; load average %.1f" % os.getloadavg()[0]
    except OSError:
        load = ""
    lines = ["Auto-batching, %s. Machine: %s, %d cores%s. %d rows, onnx.batch_size %s, one backend (no "
             "parallel workers); %d alternating rounds, medians; rows/s by wall clock and by the "
             "backend's CPU time." % (time.strftime("%Y-%m-%d %H:%M"), cpu_model(), os.cpu_count(), load,
                                      n, batch, args.rounds), "",
             "| model | query | rows/s (wall) | rows/s (CPU) | vs onnx_score (CPU) | vs auto_batch off (CPU) |",
             "|---|---|---|---|---|---|"]
    for name, (wall, cpu) in results.items():
        for label, _, _ in forms:
            w = wall[label]
            cp = cpu.get(label)
            vs_score = cp / cpu["onnx_score"] if cp and cpu.get("onnx_score") else None
            vs_off = cp / cpu["per-row, auto_batch off"] if cp and cpu.get("per-row, auto_batch off") else None
            lines.append("| %s | %s | %.0f | %s | %s | %s |" % (
                name, label, w, "%.0f" % cp if cp else "n/a",
                "%.2f" % vs_score if vs_score else "n/a", "%.2f" % vs_off if vs_off else "n/a"))
    text = "\n".join(lines) + "\n"
    open(args.out, "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
