#!/usr/bin/env python3
"""Thread scaling of the engine's own kernels: each model at 1 and 2
intra-op threads (onnx.threads), with onnxruntime at 1 and 2 beside it.

    .venv/bin/python test/bench/thread_scaling.py [--budget 1] [--only PATTERN]
                                                  [--threads 1,2] [--dir /tmp/thread_scaling]

Models: the real-model cases of run_real_models.py when they are there
(test/bench/models/cases/, made by its first run), the GEMM-shaped models
of run_bench.py at batch 64 (mlp, resnet18 at batch 8, bert_layer,
gbm_500 at 1024 rows) and three models aimed at kernels that have a
parallel path of their own: a bidirectional LSTM (the two directions run
at once), a chain of large elementwise ops (runs cut into chunks) and a
tree ensemble over 4096 rows (row blocks).  Each model runs in one
onnx_bench_model --serve process per thread count (outputs checked
against onnxruntime's first) and in onnxruntime sessions with
intra_op_num_threads 1 and 2, all timed in alternating rounds within one
run until each has spent the budget.

Times are WALL-clock medians (a second thread shows only in wall time).
On a machine whose cores other processes use, a second thread waits for
a core and the speed-up reads low: the table prints the load average and
the CPU model, and should be taken on a quiet machine.
"""
import argparse
import os
import re
import statistics
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_real_models as R  # noqa: E402
from run_bench import cpu_model, gemm_kernel  # noqa: E402


def lstm_bidi(d):
    """Bidirectional LSTM, seq 100, batch 8, input 64, hidden 128."""
    rng = np.random.default_rng(1)
    T, B, I, H = 100, 8, 64, 128
    inits = [numpy_helper.from_array((rng.standard_normal((2, 4 * H, I)) / 8).astype(np.float32), "W"),
             numpy_helper.from_array((rng.standard_normal((2, 4 * H, H)) / 11).astype(np.float32), "R"),
             numpy_helper.from_array((rng.standard_normal((2, 8 * H)) * 0.1).astype(np.float32), "B")]
    node = helper.make_node("LSTM", ["X", "W", "R", "B"], ["Y"], hidden_size=H, direction="bidirectional")
    g = helper.make_graph([node], "lstm", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, B, I])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], inits)
    return save(d, "lstm_bidi", g, {"X": rng.standard_normal((T, B, I)).astype(np.float32)})


def eltwise_chain(d):
    """Add, Sigmoid, Mul, Tanh over a 1x64x128x128 tensor (1M elements)."""
    rng = np.random.default_rng(2)
    shape = [1, 64, 128, 128]
    mk = helper.make_node
    nodes = [mk("Add", ["x", "x"], ["a"]), mk("Sigmoid", ["a"], ["s"]), mk("Mul", ["s", "x"], ["m"]),
             mk("Tanh", ["m"], ["y"])]
    g = helper.make_graph(nodes, "ew", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return save(d, "eltwise_1m", g, {"x": rng.standard_normal(shape).astype(np.float32)})


def save(d, name, g, feed, opset=17, domains=()):
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)] +
                          [helper.make_opsetid(dom, v) for dom, v in domains], ir_version=8)
    path = os.path.join(d, name + ".onnx")
    onnx.save(m, path)
    return name, path, feed


def bench_models(d):
    """run_bench.py's models (made by make_bench_models.py) with inputs of a batch."""
    mdir = os.path.join(HERE, "models")
    out = []
    for name, batch in (("mlp", 64), ("resnet18", 8), ("bert_layer", 64), ("gbm_500", 4096)):
        path = os.path.join(mdir, name + ".onnx")
        if not os.path.exists(path):
            continue
        rng = np.random.default_rng(3)
        feed = {}
        for gi in R.graph_inputs(path):
            tt = gi.type.tensor_type
            dims = [dd.dim_value if dd.HasField("dim_value") else batch for dd in tt.shape.dim]
            if dims:
                dims[0] = batch
            dt = helper.tensor_dtype_to_np_dtype(tt.elem_type)
            feed[gi.name] = (rng.standard_normal(dims) if np.issubdtype(dt, np.floating)
                             else rng.integers(0, 2, dims)).astype(dt)
        out.append(("%s_b%d" % (name, batch), path, feed))
    return out


def real_cases():
    """(name, case dir) of run_real_models.py's cases that are there."""
    cases = []
    if os.path.isdir(R.CASES):
        for name in sorted(os.listdir(R.CASES)):
            cases.append((name, os.path.join(R.CASES, name)))
    return cases


def case_feed(case):
    """The inputs of a case directory as a feed for onnxruntime."""
    path = os.path.join(case, "model.onnx")
    feed = {}
    for k, gi in enumerate(R.graph_inputs(path)):
        t = onnx.TensorProto()
        with open(os.path.join(case, "test_data_set_0", "input_%d.pb" % k), "rb") as f:
            t.ParseFromString(f.read())
        feed[gi.name] = numpy_helper.to_array(t)
    return path, feed


def time_model(name, case, path, feed, threads, budget):
    ours = {t: R.Ours(case, t) for t in threads}
    bad = [t for t, o in ours.items() if o.error or not o.info.get("check", "").startswith("ok")]
    if bad:
        o = ours[bad[0]]
        for x in ours.values():
            x.close()
        return "%-26s error or mismatch at %d threads: %s" % (name, bad[0], o.error or o.info.get("check"))
    theirs = {t: R.Theirs(path, feed, threads=t) for t in threads}
    mine = {t: [] for t in threads}
    ort_t = {t: [] for t in threads}
    for t in threads:
        theirs[t].run()
    est = max(ours[threads[0]].info.get("warmup_ms", 1.0), 0.001)
    n = max(1, min(500, int(budget * 1e3 / 8 / est)))
    while min(sum(w for w, _ in mine[t]) for t in threads) < budget * 1e3:
        for t in threads:
            mine[t] += ours[t].time(n)
            ort_t[t] += theirs[t].time(n)
    for o in ours.values():
        o.close()
    med = {t: statistics.median(w for w, _ in mine[t]) for t in threads}
    omed = {t: statistics.median(w for w, _ in ort_t[t]) for t in threads}
    t0, t1 = threads[0], threads[-1]
    return "| %s | %s | %.2fx | %s | %.2fx |" % (
        name, " | ".join("%.3f" % med[t] for t in threads), med[t0] / med[t1],
        " | ".join("%.3f" % omed[t] for t in threads), omed[t0] / omed[t1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=1.0, help="seconds of timed runs per configuration")
    ap.add_argument("--only", help="only models whose name matches this regular expression")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--dir", default="/tmp/thread_scaling", help="where the made-up models and cases go")
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    os.makedirs(a.dir, exist_ok=True)
    load0 = os.getloadavg()

    todo = [(n, c) + case_feed(c) for n, c in real_cases()]
    R.CASES = os.path.join(a.dir, "cases")
    for name, path, feed in [lstm_bidi(a.dir), eltwise_chain(a.dir)] + bench_models(a.dir):
        if a.only and not re.search(a.only, name):
            continue
        case, _ = R.write_case(name, path, feed)
        todo.append((name, case, path, feed))

    print("# Thread scaling, %s, %d cores; GEMM kernel: %s" % (cpu_model(), os.cpu_count(), gemm_kernel()))
    print("# wall-clock median ms per run; load average before: %.2f %.2f %.2f" % load0)
    print()
    print("| model | %s | ours speed-up | %s | onnxruntime speed-up |" % (
        " | ".join("ours %dT" % t for t in threads), " | ".join("ort %dT" % t for t in threads)))
    print("|---|%s---|%s---|" % ("---|" * len(threads), "---|" * len(threads)))
    for name, case, path, feed in todo:
        if a.only and not re.search(a.only, name):
            continue
        print(time_model(name, case, path, feed, threads, a.budget), flush=True)
    print()
    print("# load average after: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
