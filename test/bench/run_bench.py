#!/usr/bin/env python3
"""Benchmark against onnxruntime: same machine, same run, same thread count.

    .venv/bin/python test/bench/run_bench.py [--quick] [--out test/bench/results.md]

Engine level (one thread): our engine (engine/build/libonnxengine.a linked
into a shared library, called through ctypes) versus onnxruntime's Python
API in the same process, same model and inputs, batch 1, 64 and 1024.  The
two alternate run by run until each has spent the budget, and the medians
of the calling thread's CPU time per run are compared, so load from other
processes on a shared machine moves both alike.  Models come from make_bench_models.py (random
weights) and test/ml/ (the 500-tree gradient-boosted model, when present).
A model the engine cannot load yet is listed with the reason.

SQL level (needs the throw-away cluster: eval "$(bash scripts/pgcluster.sh
start)"): 100,000 rows of 256 features, the MLP: per-row onnx_predict (with
onnx.auto_batch off, and auto-batched), onnx_score, and a Python client that fetches the rows with psycopg, scores
with onnxruntime and writes the predictions back, against the same write
back done in the database (UPDATE ... FROM onnx_score).

Prints a markdown table and writes it to --out.
"""
import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUN_MODEL = os.path.join(ROOT, "engine", "build", "onnx_run_model")
BENCH_MODEL = os.path.join(ROOT, "engine", "build", "onnx_bench_model")
sys.path.insert(0, os.path.join(ROOT, "test", "sessions"))


def cpu_model():
    """The CPU's model name from /proc/cpuinfo."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"


def machine():
    return "%s, %d cores, %s; GEMM kernel: %s" % (cpu_model(), os.cpu_count(), platform.platform(),
                                                  gemm_kernel())


def gemm_kernel():
    """The engine's GEMM kernel name (onnx_gemm_kernel_name), e.g. "OpenBLAS Prescott"."""
    try:
        p = subprocess.run([BENCH_MODEL, "--gemm-kernel"], capture_output=True, text=True, timeout=30)
        return p.stdout.strip() or "unknown"
    except OSError:
        return "unknown (engine/build/onnx_bench_model missing)"


def inputs_like_ours(sess, batch):
    """The same input values onnx_run_model uses: ((k*7919) % 1000) / 1000."""
    feed = {}
    for i in sess.get_inputs():
        shape = [batch if (d is None or isinstance(d, str)) and j == 0 else (1 if not isinstance(d, int) else d)
                 for j, d in enumerate(i.shape)]
        n = int(np.prod(shape)) if shape else 1
        vals = (np.arange(n, dtype=np.int64) * 7919 % 1000) / 1000.0
        dt = {"tensor(float)": np.float32, "tensor(double)": np.float64,
              "tensor(int64)": np.int64}.get(i.type, np.float32)
        feed[i.name] = vals.astype(dt).reshape(shape)
    return feed


def time_ort(path, batch, budget):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feed = inputs_like_ours(sess, batch)
    t0 = time.perf_counter()
    sess.run(None, feed)
    warm = time.perf_counter() - t0
    times = []
    t_end = time.perf_counter() + budget
    min_runs = 1 if warm > 2.0 else 3       # slow cases: one timed run after the warm-up
    while len(times) < min_runs or (time.perf_counter() < t_end and len(times) < 200):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_ours(path, batch, budget):
    one = subprocess.run([RUN_MODEL, path, "--batch", str(batch), "--runs", "1"],
                         capture_output=True, text=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    m = re.search(r"([0-9.]+) ms per run", one.stdout)
    if one.returncode != 0 or not m:
        reason = (one.stdout.strip().splitlines() or ["failed"])[-1]
        return None, reason
    t1 = float(m.group(1)) / 1e3
    if t1 > 2.0:
        return t1, ""       # that run followed a warm-up run already
    runs = max(1 if t1 > 2.0 else 3, min(200, int(budget / max(t1, 1e-6))))
    p = subprocess.run([RUN_MODEL, path, "--batch", str(batch), "--runs", str(runs)],
                       capture_output=True, text=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    m = re.search(r"([0-9.]+) ms per run", p.stdout)
    return float(m.group(1)) / 1e3, ""


def time_alternating(eng, path, batch, budget):
    """(ours s, onnxruntime s, why): medians of the calling thread's CPU
    time per run, the two run alternately until each spent budget
    seconds (at least 5 runs, at most 2000); ours None with the reason
    when the engine refuses the model."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    theirs = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feed = inputs_like_ours(theirs, batch)
    n_out = len(theirs.get_outputs())
    try:
        ours = eng.session(open(path, "rb").read())
        ours.bind(feed)
        return alternate(ours, n_out, theirs, feed, budget) + ("",)
    except RuntimeError as e:
        return None, time_ort(path, batch, budget), str(e)


def alternate(ours, n_out, theirs, feed, budget):
    """(ours s, onnxruntime s): a bound engine session (bench_elementwise's
    Session) and an onnxruntime session run alternately, after one warm-up
    run each, until each spent budget seconds of the calling thread's CPU
    time (at least 5 runs, at most 2000); medians per run."""
    ours.run(n_out)
    theirs.run(None, feed)
    to, tt = [], []
    while (sum(to) < budget or sum(tt) < budget or len(to) < 5) and len(to) < 2000:
        t0 = time.thread_time()
        ours.run(n_out)
        t1 = time.thread_time()
        theirs.run(None, feed)
        t2 = time.thread_time()
        to.append(t1 - t0)
        tt.append(t2 - t1)
    return statistics.median(to), statistics.median(tt)


_ENGINE = []


def engine():
    """The engine as a ctypes library (linked once per process), one thread."""
    if not _ENGINE:
        from bench_elementwise import Engine, shared_lib
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        _ENGINE.append(Engine(shared_lib(os.path.join(ROOT, "engine", "build", "libonnxengine.a"),
                                         tempfile.mkdtemp())))
    return _ENGINE[0]


def engine_level(models, batches, budget):
    rows = []
    eng = engine()
    for name, path in models:
        for b in batches:
            ours, theirs, why = time_alternating(eng, path, b, budget)
            if ours is None:
                rows.append((name, b, None, theirs, why))
                print("%-12s batch %5d  ours: n/a (%s)  onnxruntime %.3f ms" % (name, b, why[:80], theirs * 1e3))
            else:
                rows.append((name, b, ours, theirs, ""))
                print("%-12s batch %5d  ours %9.3f ms  onnxruntime %9.3f ms  ratio %.2f"
                      % (name, b, ours * 1e3, theirs * 1e3, ours / theirs))
            sys.stdout.flush()
    return rows


def sql_level(mlp_path, nrows):
    import psycopg
    from common import fresh_database
    connect = fresh_database("onnx_bench_sql")
    c = connect()
    c.execute("SET max_parallel_workers_per_gather = 0")
    c.execute("SELECT onnx_create_model('mlp', %s)", (open(mlp_path, "rb").read(),))
    c.execute("""CREATE TABLE bench AS SELECT g AS id,
                 (SELECT array_agg(((g::bigint * 256 + k) * 7919 %% 1000) / 1000.0)::float4[]
                  FROM generate_series(0, 255) k) AS features, NULL::float4[] AS pred
                 FROM generate_series(1, %d) g""" % nrows)
    c.execute("VACUUM ANALYZE bench")
    c.execute("SELECT onnx_predict('mlp', features) FROM bench LIMIT 1")
    res = {}

    def timed(key, fn):
        t0 = time.perf_counter()
        fn()
        res[key] = time.perf_counter() - t0
        print("%-34s %8.2f s  (%.0f rows/s)" % (key, res[key], nrows / res[key]))
        sys.stdout.flush()

    c.execute("SET onnx.auto_batch = off")
    timed("per-row onnx_predict", lambda: c.execute(
        "SELECT count(onnx_predict('mlp', features)) FROM bench").fetchone())
    c.execute("SET onnx.auto_batch = on")
    timed("per-row onnx_predict, auto-batched", lambda: c.execute(
        "SELECT count(onnx_predict('mlp', features)) FROM bench").fetchone())
    timed("onnx_score (batch 1024)", lambda: c.execute(
        """SELECT count(p) FROM onnx_score('mlp', 'SELECT id, features FROM bench')
           AS s(id int, features float4[], p float4[])""").fetchone())
    timed("in-database score + write back", lambda: c.execute(
        """UPDATE bench SET pred = s.p FROM onnx_score('mlp', 'SELECT id, features FROM bench')
           AS s(id int, x float4[], p float4[]) WHERE bench.id = s.id"""))

    def client():
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        sess = ort.InferenceSession(mlp_path, so, providers=["CPUExecutionProvider"])
        with connect() as cc:
            cur = cc.cursor(binary=True)
            cur.execute("SELECT id, features FROM bench")
            rows = cur.fetchall()
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            x = np.array([r[1] for r in rows], dtype=np.float32)
            y = sess.run(None, {"x": x})[0]
            cc.execute("CREATE TEMP TABLE preds (id int, pred float4[])")
            with cc.cursor().copy("COPY preds (id, pred) FROM STDIN") as cp:
                for i, p in zip(ids.tolist(), y.tolist()):
                    cp.write_row((i, p))
            cc.execute("UPDATE bench SET pred = preds.pred FROM preds WHERE bench.id = preds.id")
    timed("client round trip (psycopg + ORT)", client)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="batch 1 and 64 only, 30,000 SQL rows")
    ap.add_argument("--out", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--no-sql", action="store_true")
    args = ap.parse_args()
    t_start = time.time()
    mdir = os.path.join(HERE, "models")
    if not os.path.exists(os.path.join(mdir, "bert_layer.onnx")):
        subprocess.run([sys.executable, os.path.join(HERE, "make_bench_models.py"), mdir], check=True)
    models = [(n, os.path.join(mdir, n + ".onnx")) for n in ("mlp", "resnet18", "bert_layer")]
    gbm = os.path.join(mdir, "gbm_500.onnx")
    if not os.path.exists(gbm):
        subprocess.run([sys.executable, os.path.join(HERE, "make_gbm.py"), gbm], check=True, cwd="/tmp")
    batches = [1, 64] if args.quick else [1, 64, 1024]
    print("machine:", machine())
    eng = engine_level(models, batches, 0.5 if args.quick else 1.5)
    eng += engine_level([("gbm_500", gbm)], [1, 10000] if not args.quick else [1, 1024], 0.5 if args.quick else 1.5)
    sql = None
    if not args.no_sql:
        sql = sql_level(os.path.join(mdir, "mlp.onnx"), 30000 if args.quick else 100000)
    lines = ["Machine: %s. onnxruntime %s, one thread each, alternating run by run; median CPU time of the running thread per run; ratio = ours / onnxruntime (below 1 is faster)."
             % (machine(), ort.__version__), "",
             "| model | batch | ours (ms) | onnxruntime (ms) | ratio |", "|---|---|---|---|---|"]
    for name, b, ours, theirs, why in eng:
        lines.append("| %s | %d | %s | %.3f | %s |" % (name, b, "%.3f" % (ours * 1e3) if ours else "n/a: " + why[:60],
                                                       theirs * 1e3, "%.2f" % (ours / theirs) if ours else "-"))
    if sql:
        n = 30000 if args.quick else 100000
        lines += ["", "SQL level, %d rows x 256 features, the MLP:" % n, "",
                  "| what | seconds | rows/s |", "|---|---|---|"]
        for k, v in sql.items():
            lines.append("| %s | %.2f | %.0f |" % (k, v, n / v))
        lines += ["", "onnx_score / per-row onnx_predict speed-up: %.1fx; in-database write back vs client round trip: %.1fx."
                  % (sql["per-row onnx_predict"] / sql["onnx_score (batch 1024)"],
                     sql["client round trip (psycopg + ORT)"] / sql["in-database score + write back"])]
        big = [e for e in eng if e[0] == "mlp" and e[1] == max(batches) and e[2]]
        if big:
            engine_s = big[0][2] / big[0][1] * n
            overhead = sql["onnx_score (batch 1024)"] - engine_s
            lines += ["onnx_score's SQL overhead: %.2f s over the engine's own %.2f s for the same rows (engine time from the batch-%d run above)."
                      % (overhead, engine_s, big[0][1])]
    lines += ["", "Whole benchmark: %.0f s." % (time.time() - t_start)]
    open(args.out, "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
