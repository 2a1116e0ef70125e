#!/usr/bin/env python3
"""int8 benchmark: quantized models against onnxruntime and against the
same model in float32, one thread each, in one process.

    .venv/bin/python test/bench/quant_bench.py [--dir test/contrib/generated] [--budget S]
                                               [--only SUBSTRING] [--isa LEVEL]

Times the models test/contrib/make_quant_models.py writes (made first when
missing): for each source, its float32 model and its int8 variants
(quantize_dynamic "dyn", quantize_static QDQ "sqdq" and QOperator "sqop",
and ddddocr's shipped recogniser).  Our engine runs through ctypes
(test/bench/bench_elementwise.py's binding, one thread) and onnxruntime
with one intra-op and one inter-op thread and its default optimisations;
the two alternate in rounds until each has spent the budget, and the
medians of the calling thread's CPU time per run are compared (both run
on the calling thread; other processes on a shared machine do not count).  Prints the CPU model, the
engine's int8 and float GEMM kernels, and a markdown table:
  ours ms, onnxruntime ms, ratio ours / onnxruntime, and for int8 rows
  int8 / float32 on our engine (below 1: the int8 model is faster).
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from bench_elementwise import Engine, shared_lib  # noqa: E402
from run_bench import alternate, cpu_model, gemm_kernel  # noqa: E402

GEN = os.path.join(ROOT, "test", "contrib", "generated")
VARIANTS = ["float", "dyn", "sqdq", "sqop", "shipped"]
ort.set_default_logger_severity(3)


def ort_session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def bench(eng, d, budget):
    meta = json.load(open(os.path.join(d, "meta.json")))
    feed = dict(np.load(os.path.join(d, "feed.npz")))
    path = os.path.join(d, "model.onnx")
    ours = eng.session(open(path, "rb").read())
    ours.bind(feed)
    n_out = len(meta["outputs"])
    o, t = alternate(ours, n_out, ort_session(path), feed, budget)
    return o * 1e3, t * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=GEN)
    ap.add_argument("--budget", type=float, default=1.0)
    ap.add_argument("--only")
    ap.add_argument("--isa", choices=["portable", "avx2", "avx512"])
    a = ap.parse_args()
    if not glob.glob(os.path.join(a.dir, "*_float", "meta.json")):
        subprocess.run([sys.executable, os.path.join(ROOT, "test", "contrib", "make_quant_models.py"),
                        "--out", a.dir, "--quick"], check=True)
    eng = Engine(shared_lib(os.path.join(ROOT, "engine", "build", "libonnxengine.a"), tempfile.mkdtemp()), a.isa)
    eng.lib.onnx_qgemm_isa_name.restype = __import__("ctypes").c_char_p
    qk = eng.lib.onnx_qgemm_isa_name(eng.lib.onnx_qgemm_isa()).decode()
    print("CPU: %s; int8 GEMM kernel: %s; float GEMM: %s" % (cpu_model(), qk, gemm_kernel()))
    print("one thread each, median CPU ms of the running thread per run, alternating rounds\n")
    print("| model | variant | ours ms | onnxruntime ms | ours / ort | int8 / float32 (ours) |")
    print("|---|---|---:|---:|---:|---:|")
    rows = {}
    todo = []
    for d in glob.glob(os.path.join(a.dir, "*", "")):
        d = d.rstrip("/")
        name = os.path.basename(d)
        if "+ort" in name or (a.only and a.only not in name) or not os.path.exists(os.path.join(d, "meta.json")):
            continue
        meta = json.load(open(os.path.join(d, "meta.json")))
        if meta["variant"] in VARIANTS:
            todo.append((meta["source"], VARIANTS.index(meta["variant"]), d, meta))
    for _, _, d, meta in sorted(todo):
        try:
            o, t = bench(eng, d, a.budget)
        except RuntimeError as e:
            print("| %s | %s | error: %s | | | |" % (meta["source"], meta["variant"], str(e)[:80]))
            continue
        rows[(meta["source"], meta["variant"])] = o
        fl = rows.get((meta["source"], "float"))
        vs = "%.2f" % (o / fl) if fl and meta["variant"] != "float" else ""
        print("| %s | %s | %.3f | %.3f | %.2f | %s |" % (meta["source"], meta["variant"], o, t, o / t, vs))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
