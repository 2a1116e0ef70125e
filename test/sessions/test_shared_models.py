#!/usr/bin/env python3
"""Server scale (issue 16), on the test cluster (shared_preload_libraries =
onnx, onnx.shared_memory at its default):

- one copy of a model for all backends: 8 backends scoring a 20 MB model
  add, all together, less private memory (/proc/PID/smaps_rollup
  Private_*) than 1.2 copies of the model, and the model is in shared
  memory once;
- warm start: after onnx_prewarm, a new connection's first call on a 10 MB
  CNN costs at most 2x a warm call (backend CPU time, the fastest of 8
  connections on each side);
- replacing a model while 16 sessions score it gives no wrong answer and no
  error, and the old version's shared memory is freed once the last
  session has moved on;
- onnx_stat_models counts exactly the calls, rows and batches made, also
  by parallel workers, and hides other roles' model names."""
import threading
import time

import numpy as np
import psycopg
from onnx import TensorProto, helper, numpy_helper

from common import Tally, fresh_database, matmul_model

t = Tally()
DB = "onnx_sessions_shared"
connect = fresh_database(DB)
su = connect()
rng = np.random.default_rng(16)


def cnn_model(channels=256, layers=4):
    nodes, inits = [], []
    prev = "x"
    for i in range(layers):
        w = (rng.standard_normal((channels, channels, 3, 3)) * 0.02).astype(np.float32)
        inits.append(numpy_helper.from_array(w, "w%d" % i))
        nodes.append(helper.make_node("Conv", [prev, "w%d" % i], ["c%d" % i], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", ["c%d" % i], ["r%d" % i]))
        prev = "r%d" % i
    nodes.append(helper.make_node("GlobalAveragePool", [prev], ["p"]))
    nodes.append(helper.make_node("Flatten", ["p"], ["y"]))
    g = helper.make_graph(nodes, "cnn",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


def private_kb(pid):
    total = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Private_"):
                total += int(line.split()[1])
    return total


def shared_state(conn):
    return conn.execute("SELECT used, models FROM onnx_shared_memory()").fetchone()


size, used0, models0 = su.execute("SELECT size, used, models FROM onnx_shared_memory()").fetchone()
t.check(size > 0, "shared model memory is on (%d MB)" % (size // 2**20))

# ---- one copy for all backends ------------------------------------------------
big = matmul_model(2000, 2500, seed=16)      # 20 MB of weights
su.execute("SELECT onnx_create_model('big', %s)", (big,))
x = "'{%s}'" % ",".join(["0.5"] * 2000)
backends = [connect() for _ in range(8)]
pids = [c.execute("SELECT pg_backend_pid()").fetchone()[0] for c in backends]
for c in backends:
    c.execute("SELECT 1 FROM onnx_models LIMIT 1")      # warm the backend itself first
before = [private_kb(p) for p in pids]
answers = set()
for c in backends:
    answers.add(tuple(c.execute("SELECT onnx_predict('big', %s)" % x).fetchone()[0][:3]))
after = [private_kb(p) for p in pids]
added_mb = sum(a - b for a, b in zip(after, before)) / 1024
model_mb = len(big) / 2**20
t.check(len(answers) == 1, "all backends give the same answer")
t.check(added_mb <= 1.2 * model_mb, "8 backends scoring a %.0f MB model add %.1f MB of private memory in all "
        "(at most 1.2 copies: %.1f MB)" % (model_mb, added_mb, 1.2 * model_mb))
shared = su.execute("SELECT count(*) FILTER (WHERE shared) FROM onnx_cache_info()").fetchone()[0]
row = su.execute("SELECT max(shared_bytes), max(backends) FROM onnx_stat_models WHERE model = 'big'").fetchone()
t.check(row[0] is not None and row[0] >= len(big) * 0.9,
        "the model is in shared memory once (%.1f MB)" % ((row[0] or 0) / 2**20))
t.check(row[1] == 8, "onnx_stat_models counts the 8 backends using it", str(row))
for c in backends:
    c.close()

# ---- warm start ---------------------------------------------------------------
su.execute("SELECT onnx_create_model('cnn', %s)", (cnn_model(),))
t.check(su.execute("SELECT onnx_prewarm('cnn')").fetchone()[0], "onnx_prewarm puts the model in shared memory")
xin = "array_fill(0.1::float4, ARRAY[1, 256, 8, 8])"
firsts, warms = [], []


def cpu_ns(pid):
    """The backend's time on a CPU (ns): other processes' load does not count."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


for _ in range(8):
    with connect() as c:
        pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
        t0 = cpu_ns(pid)
        c.execute("SELECT onnx_predict('cnn', %s)" % xin)
        firsts.append(cpu_ns(pid) - t0)
        t0 = cpu_ns(pid)
        c.execute("SELECT onnx_predict('cnn', %s)" % xin)
        warms.append(cpu_ns(pid) - t0)
# the fastest first call of 8 new connections against the fastest warm call
# (each connection's second) of the same 8, by the backend's CPU time: wall
# time on a loaded machine measures the other processes, and the fastest of
# as many samples on each side keeps the comparison even
first, warm = min(firsts) / 1e6, min(warms) / 1e6
t.check(first <= 2 * warm, "after onnx_prewarm a new connection's first call takes %.1f ms of CPU, a warm call "
        "%.1f ms (%.2fx, at most 2x; fastest of 8 connections each)" % (first, warm, first / warm))

# ---- replace under load --------------------------------------------------------
v1, v2 = matmul_model(64, 8, seed=1), matmul_model(64, 8, seed=2)
su.execute("SELECT onnx_create_model('hot', %s)", (v1,))
xs = "'{%s}'" % ",".join(["1"] * 64)
expect = {}
su.execute("SELECT onnx_create_model('hot_v2', %s)", (v2,))
with connect() as c:
    expect["v1"] = tuple(c.execute("SELECT onnx_predict('hot', %s)" % xs).fetchone()[0])
    expect["v2"] = tuple(c.execute("SELECT onnx_predict('hot_v2', %s)" % xs).fetchone()[0])
sha_v1 = su.execute("SELECT sha256 FROM onnx_models WHERE name = 'hot'").fetchone()[0]
su.execute("SELECT onnx_drop_model('hot_v2')")
stop = threading.Event()
seen_v2 = [False] * 16
problems = []


def scorer(i):
    c = connect()
    try:
        while not stop.is_set():
            got = tuple(c.execute("SELECT onnx_predict('hot', %s)" % xs).fetchone()[0])
            if got == expect["v1"]:
                continue
            if got == expect["v2"]:
                seen_v2[i] = True
            else:
                problems.append(("other answer", got[:2]))
    except Exception as e:
        problems.append(("error", str(e)))
    finally:
        c.close()


threads = [threading.Thread(target=scorer, args=(i,)) for i in range(16)]
for th in threads:
    th.start()
time.sleep(1.0)
in_shared = "SELECT max(shared_bytes) FROM onnx_stat_models WHERE model = 'hot' AND sha256 = %s"
v1_bytes = su.execute(in_shared, (sha_v1,)).fetchone()[0]
su.execute("SELECT onnx_replace_model('hot', %s)", (v2,))
end = time.time() + 30
while time.time() < end and not all(seen_v2):
    time.sleep(0.1)
time.sleep(0.5)
stop.set()
for th in threads:
    th.join()
t.check(not problems, "16 sessions scoring through a replace: no wrong answer, no error", str(problems[:3]))
t.check(all(seen_v2), "every session moved on to the new version")
v1_after = su.execute(in_shared, (sha_v1,)).fetchone()[0]
t.check(v1_bytes and v1_bytes > 0 and v1_after == 0,
        "the old version's shared memory is freed once nobody uses it (%s bytes before, %s after)"
        % (v1_bytes, v1_after))

# ---- statistics ------------------------------------------------------------------
su.execute("SELECT onnx_stat_reset()")
su.execute("CREATE TABLE rows AS SELECT i, ARRAY[i, i, i, i]::float4[] AS f FROM generate_series(1, 3000) i")
su.execute("GRANT SELECT ON rows TO PUBLIC")
su.execute("SELECT onnx_create_model('lin', %s)", (matmul_model(4, 2, seed=3),))
par = connect()
# row by row (auto-batching would score the 3,000 rows in a few runs)
for s in ("SET parallel_setup_cost = 0", "SET parallel_tuple_cost = 0", "SET min_parallel_table_scan_size = 0",
          "SET max_parallel_workers_per_gather = 2", "SET onnx.auto_batch = off"):
    par.execute(s)
plan = "\n".join(r[0] for r in par.execute(
    "EXPLAIN SELECT sum((onnx_predict('lin', f))[1]) FROM rows").fetchall())
par.execute("SELECT sum((onnx_predict('lin', f))[1]) FROM rows")
par.execute("SELECT onnx_predict_batch('lin', (SELECT array_agg(f) FROM rows WHERE i <= 100))")
row = su.execute("SELECT sum(calls), sum(rows), sum(batches), sum(errors) FROM onnx_stat_models "
                 "WHERE model = 'lin'").fetchone()
t.check("Gather" in plan, "the per-row query runs in parallel workers")
t.check(tuple(row) == (3001, 3100, 3001, 0), "statistics count 3001 calls, 3100 rows, 3001 batches, 0 errors "
        "across the leader and its workers (got %s)" % (tuple(row),))
try:
    par.execute("SELECT onnx_predict('lin', '{1,2}')")
except psycopg.Error:
    pass
errs = su.execute("SELECT sum(errors) FROM onnx_stat_models WHERE model = 'lin'").fetchone()[0]
t.check(errs == 0, "a call refused before the engine runs is not an engine error (%s)" % errs)
par.close()
su.execute("DROP ROLE IF EXISTS onnx_stat_other")
su.execute("CREATE ROLE onnx_stat_other LOGIN")
with psycopg.connect(dbname=DB, user="onnx_stat_other", autocommit=True) as o:
    names = {r[0] for r in o.execute("SELECT model FROM onnx_stat_models").fetchall()}
    t.check(names == {"<insufficient privilege>"}, "another role sees the counters but not the model names",
            str(names))
    try:
        o.execute("SELECT onnx_stat_reset()")
        t.check(False, "another role cannot reset the statistics")
    except psycopg.Error as e:
        t.check("permission denied" in str(e), "another role cannot reset the statistics")
su.close()
with psycopg.connect(dbname="postgres", autocommit=True) as c:
    c.execute("DROP DATABASE %s WITH (FORCE)" % DB)
    c.execute("DROP ROLE onnx_stat_other")
t.finish()
