#!/usr/bin/env python3
"""Per-node overhead of the executor against onnxruntime, one thread.

    .venv/bin/python test/bench/node_overhead.py [--dir /tmp/node_overhead] [--budget 2]
                                                 [--bin engine/build/onnx_run_model] [MODEL ...]

Models (written to --dir), each on a tiny input so that the kernels do
almost nothing and the time is the executor's:

  add_chain        1,000 Add of a 1-element tensor and a constant
  identity_chain   1,000 Identity
  reshape_chain    1,000 alternating Unsqueeze / Reshape (constant shapes)
  loop             a Loop of 1,000 iterations, 5-node body
  if_chain         200 If nodes in a chain, each branch one Add (201 nodes)
  scan             a Scan over 1,000 rows, 3-node body

CPU time, not wall time, so that other processes on a shared machine
count less: ours is the CPU time of engine/build/onnx_run_model with 3N
runs less that with N runs, over 2N (loading cancels out); onnxruntime's
is this process's CPU time over N InferenceSession.run calls, one thread,
with all graph optimisations (what users get) and with none
(ORT_DISABLE_ALL: its bare executor, no Identity elimination or constant
folding).  Per node = time / nodes (Loop: / (iterations x body nodes)).
The three are timed in turn, three rounds, medians reported.
"""
import argparse
import os
import resource
import statistics
import subprocess
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from run_bench import RUN_MODEL, inputs_like_ours, machine

N = 1000


def vi(name, dt, shape):
    return helper.make_tensor_value_info(name, dt, shape)


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def add_chain():
    nodes = [helper.make_node("Add", ["v%d" % i, "one"], ["v%d" % (i + 1)]) for i in range(N)]
    return model(nodes, [vi("v0", TensorProto.FLOAT, [1])], [vi("v%d" % N, TensorProto.FLOAT, [1])],
                 [numpy_helper.from_array(np.ones(1, np.float32), "one")]), N


def identity_chain():
    nodes = [helper.make_node("Identity", ["v%d" % i], ["v%d" % (i + 1)]) for i in range(N)]
    return model(nodes, [vi("v0", TensorProto.FLOAT, [1, 4])], [vi("v%d" % N, TensorProto.FLOAT, [1, 4])]), N


def reshape_chain():
    nodes = []
    for i in range(N):
        if i % 2 == 0:
            nodes.append(helper.make_node("Unsqueeze", ["v%d" % i, "ax"], ["v%d" % (i + 1)]))
        else:
            nodes.append(helper.make_node("Reshape", ["v%d" % i, "shp"], ["v%d" % (i + 1)]))
    return model(nodes, [vi("v0", TensorProto.FLOAT, [1, 4])], [vi("v%d" % N, TensorProto.FLOAT, [1, 4])],
                 [numpy_helper.from_array(np.array([0], np.int64), "ax"),
                  numpy_helper.from_array(np.array([1, 4], np.int64), "shp")]), N


def loop():
    body = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["a"]),
         helper.make_node("Mul", ["a", "half"], ["b"]),
         helper.make_node("Sub", ["b", "one"], ["c"]),
         helper.make_node("Abs", ["c"], ["x_out"]),
         helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body",
        [vi("i", TensorProto.INT64, []), vi("cond_in", TensorProto.BOOL, []), vi("x", TensorProto.FLOAT, [1])],
        [vi("cond_out", TensorProto.BOOL, []), vi("x_out", TensorProto.FLOAT, [1])],
        [numpy_helper.from_array(np.ones(1, np.float32), "one"),
         numpy_helper.from_array(np.full(1, 0.5, np.float32), "half")])
    nodes = [helper.make_node("Loop", ["trips", "cond", "x0"], ["x"], body=body)]
    return model(nodes, [vi("x0", TensorProto.FLOAT, [1])], [vi("x", TensorProto.FLOAT, [1])],
                 [numpy_helper.from_array(np.array(N, np.int64), "trips"),
                  numpy_helper.from_array(np.array(True), "cond")]), N * 5


def if_chain(n=200):
    """If nodes in a chain on a condition computed from the input (v0 < 2)."""
    nodes = [helper.make_node("Less", ["v0", "two"], ["c"])]
    inits = [numpy_helper.from_array(np.ones(1, np.float32), "one"),
             numpy_helper.from_array(np.full(1, 2, np.float32), "two")]
    for i in range(n):
        then_g = helper.make_graph([helper.make_node("Add", ["v%d" % i, "one"], ["t%d" % i])], "then%d" % i, [],
                                   [vi("t%d" % i, TensorProto.FLOAT, [1])])
        else_g = helper.make_graph([helper.make_node("Sub", ["v%d" % i, "one"], ["e%d" % i])], "else%d" % i, [],
                                   [vi("e%d" % i, TensorProto.FLOAT, [1])])
        nodes.append(helper.make_node("If", ["c"], ["v%d" % (i + 1)], then_branch=then_g, else_branch=else_g))
    return model(nodes, [vi("v0", TensorProto.FLOAT, [1])], [vi("v%d" % n, TensorProto.FLOAT, [1])], inits), n


def scan():
    body = helper.make_graph(
        [helper.make_node("Add", ["s", "row"], ["a"]),
         helper.make_node("Mul", ["a", "half"], ["s_out"]),
         helper.make_node("Identity", ["a"], ["y"])],
        "body", [vi("s", TensorProto.FLOAT, [4]), vi("row", TensorProto.FLOAT, [4])],
        [vi("s_out", TensorProto.FLOAT, [4]), vi("y", TensorProto.FLOAT, [4])],
        [numpy_helper.from_array(np.full(4, 0.5, np.float32), "half")])
    nodes = [helper.make_node("Scan", ["s0", "xs"], ["s", "ys"], body=body, num_scan_inputs=1)]
    return model(nodes, [vi("s0", TensorProto.FLOAT, [4]), vi("xs", TensorProto.FLOAT, [N, 4])],
                 [vi("s", TensorProto.FLOAT, [4]), vi("ys", TensorProto.FLOAT, [N, 4])]), N * 3


CASES = [("add_chain", add_chain), ("identity_chain", identity_chain), ("reshape_chain", reshape_chain),
         ("loop", loop), ("if_chain", if_chain), ("scan", scan)]


def time_ort(path, level, runs):
    """CPU seconds per run of onnxruntime (this process, one thread)."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = level
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feed = inputs_like_ours(sess, 1)
    sess.run(None, feed)
    t0 = time.process_time()
    for _ in range(runs):
        sess.run(None, feed)
    return (time.process_time() - t0) / runs


def child_cpu(binary, path, runs):
    """CPU seconds (user + system) of one onnx_run_model with runs runs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([binary, path, "--runs", str(runs)], capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit("onnx_run_model failed on %s: %s" % (path, p.stdout[-300:] + p.stderr[-300:]))
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def time_ours(binary, path, runs):
    """CPU seconds per run of the engine: two processes, runs and 3 x runs,
    so that loading and starting cancel out."""
    return max(child_cpu(binary, path, 3 * runs) - child_cpu(binary, path, runs), 0.0) / (2 * runs)


def runs_for(path, budget):
    """Runs of about budget seconds (from one timed onnxruntime run)."""
    t = time_ort(path, ort.GraphOptimizationLevel.ORT_DISABLE_ALL, 3)
    return max(10, min(20000, int(budget / max(t, 1e-7))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/node_overhead")
    ap.add_argument("--budget", type=float, default=2.0)
    ap.add_argument("--bin", default=RUN_MODEL, help="onnx_run_model to time (another build: before/after)")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    print("# %s; per-node times in microseconds" % machine())
    print("%-16s %6s %10s %10s %10s %8s %8s" % ("model", "nodes", "ours", "ort(all)", "ort(none)",
                                                "r(all)", "r(none)"))
    for name, make in CASES:
        if a.cases and name not in a.cases:
            continue
        m, nodes = make()
        path = os.path.join(a.dir, name + ".onnx")
        onnx.save(m, path)
        runs = runs_for(path, a.budget / 3)
        ours, full, bare = [], [], []
        for _ in range(3):
            ours.append(time_ours(a.bin, path, runs))
            full.append(time_ort(path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL, runs))
            bare.append(time_ort(path, ort.GraphOptimizationLevel.ORT_DISABLE_ALL, runs))
        o, f, b = (statistics.median(x) / nodes * 1e6 for x in (ours, full, bare))
        print("%-16s %6d %10.3f %10.3f %10.3f %8.2f %8.2f" % (name, nodes, o, f, b, o / f, o / b))


if __name__ == "__main__":
    main()
