#!/usr/bin/env python3
"""Elementwise micro-benchmark: the engine against onnxruntime, one thread,
same process, runs alternated, median time per run.

    .venv/bin/python test/bench/bench_elementwise.py [--lib engine/build/libonnxengine.a]
        [--base OTHER_LIB.a] [--isa portable|avx2|avx512] [--runs N] [--filter SUBSTRING]

Each case is a one-node model (or a short chain) on X (1,64,80,80) float32
with the broadcast patterns the kernels specialise: equal shapes, a scalar,
a channel (64,1,1), a row (80), an outer product (1,64,80,1) x (1,1,1,80);
activations; float16; the int64 shape arithmetic of exported graphs.  The
engine runs through ctypes on a shared library linked from the static one
(--base: a second engine build, e.g. before a change, timed in the same
rounds).  Prints a markdown table: ms per run and ratio ours/onnxruntime.
"""
import argparse
import ctypes
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MAX_RANK = 16

NP_TO_ONNX = {np.float32: 1, np.uint8: 2, np.int8: 3, np.int32: 6, np.int64: 7, np.bool_: 9,
              np.float16: 10, np.float64: 11}
ONNX_TO_NP = {v: k for k, v in NP_TO_ONNX.items()}


class Tensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("rank", ctypes.c_int), ("dims", ctypes.c_int64 * MAX_RANK),
                ("count", ctypes.c_int64), ("nbytes", ctypes.c_size_t), ("data", ctypes.c_void_p)]


class Value(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("tensor", Tensor), ("n_items", ctypes.c_int),
                ("items", ctypes.c_void_p), ("elem_dtype", ctypes.c_int)]


class Error(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * 512), ("op", ctypes.c_char * 64),
                ("node", ctypes.c_char * 128)]


class Options(ctypes.Structure):
    """OnnxSessionOptions (fields an older build lacks are simply not read)."""
    _fields_ = [("device", ctypes.c_int), ("threads", ctypes.c_int), ("max_memory", ctypes.c_size_t),
                ("abort_fn", ctypes.c_void_p), ("abort_ctx", ctypes.c_void_p), ("profile", ctypes.c_int),
                ("alloc", ctypes.c_void_p)]


def shared_lib(static_lib, tmp):
    """A shared library linked from the engine's static one (objects are -fPIC)."""
    so = os.path.join(tmp, "lib%d.so" % abs(hash(static_lib)))
    subprocess.run(["gcc", "-shared", "-Wl,-Bsymbolic", "-o", so, "-Wl,--whole-archive", static_lib,
                    "-Wl,--no-whole-archive", "-lprotobuf-c", "-lopenblas", "-lm", "-lpthread"], check=True)
    return so


class Engine:
    def __init__(self, so_path, isa=None):
        self.lib = ctypes.CDLL(so_path)
        self.alloc = ctypes.c_void_p.in_dll(self.lib, "onnx_malloc_allocator")
        if isa is not None:
            self.lib.onnx_vec_set_max_isa(["portable", "avx2", "avx512"].index(isa))

    def session(self, model_bytes):
        return Session(self, model_bytes)


class Session:
    def __init__(self, eng, model_bytes):
        self.eng = eng
        lib = eng.lib
        self.err = Error()
        self.model = ctypes.c_void_p()
        self.sess = ctypes.c_void_p()
        alloc = ctypes.addressof(self.eng.alloc)
        if lib.onnx_model_load(model_bytes, ctypes.c_size_t(len(model_bytes)), ctypes.c_void_p(alloc),
                               ctypes.byref(self.model), ctypes.byref(self.err)) != 0:
            raise RuntimeError(self.err.message.decode())
        opts = Options(0, 1, 0, None, None, 0, None)
        if lib.onnx_session_create(self.model, ctypes.byref(opts), ctypes.byref(self.sess),
                                   ctypes.byref(self.err)) != 0:
            raise RuntimeError(self.err.message.decode())

    def bind(self, feed):
        names = list(feed)
        self.keep = [np.require(feed[n], requirements="C") for n in names]
        self.n_in = len(names)
        self.ins = (Value * self.n_in)()
        for v, a in zip(self.ins, self.keep):
            v.kind = 1
            v.tensor.dtype = NP_TO_ONNX[a.dtype.type]
            v.tensor.rank = a.ndim
            for d, s in enumerate(a.shape):
                v.tensor.dims[d] = s
            v.tensor.count = a.size
            v.tensor.nbytes = a.nbytes
            v.tensor.data = a.ctypes.data
        self.names = (ctypes.c_char_p * self.n_in)(*[n.encode() for n in names])

    def run(self, n_out, fetch=False):
        outs = (Value * n_out)()
        lib = self.eng.lib
        if lib.onnx_session_run(self.sess, self.n_in, self.names, self.ins, n_out, None, outs,
                                ctypes.byref(self.err)) != 0:
            raise RuntimeError(self.err.message.decode())
        res = []
        for v in outs:
            if fetch:
                t = v.tensor
                dt = np.dtype(ONNX_TO_NP[t.dtype])
                buf = (ctypes.c_char * t.nbytes).from_address(t.data) if t.nbytes else b""
                res.append(np.frombuffer(bytes(buf), dt).reshape([t.dims[d] for d in range(t.rank)]))
            lib.onnx_value_release(ctypes.c_void_p(ctypes.addressof(self.eng.alloc)), ctypes.byref(v))
        return res


def model(nodes, feed, inits=(), out_dt=None):
    """One-output model "y"; its dtype that of the first input unless given."""
    out_dt = out_dt or NP_TO_ONNX[next(iter(feed.values())).dtype.type]
    if next(iter(feed.values())).dtype == np.bool_:
        out_dt = NP_TO_ONNX[list(feed.values())[1].dtype.type]
    g = helper.make_graph(nodes, "bench",
                          [helper.make_tensor_value_info(k, NP_TO_ONNX[v.dtype.type], list(v.shape))
                           for k, v in feed.items()],
                          [helper.make_tensor_value_info("y", out_dt, None)],
                          [numpy_helper.from_array(np.asarray(a), n) for n, a in inits])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


def cases():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((1, 64, 80, 80)).astype(np.float32)
    mk = helper.make_node

    def bin_case(op, b, tag):
        return ("%s %s" % (op, tag), model([mk(op, ["x", "b"], ["y"])], {"x": X, "b": b}), {"x": X, "b": b})

    out = []
    for op in ["Add", "Mul"]:
        out.append(bin_case(op, rng.standard_normal(X.shape).astype(np.float32), "same"))
        out.append(bin_case(op, np.array(0.5, np.float32), "scalar"))
        out.append(bin_case(op, rng.standard_normal((64, 1, 1)).astype(np.float32), "channel (64,1,1)"))
        out.append(bin_case(op, rng.standard_normal((80,)).astype(np.float32), "row (80)"))
    a = rng.standard_normal((1, 64, 80, 1)).astype(np.float32)
    b = rng.standard_normal((1, 1, 1, 80)).astype(np.float32)
    out.append(("Add outer (1,64,80,1)x(1,1,1,80)", model([mk("Add", ["a", "b"], ["y"])], {"a": a, "b": b}),
                {"a": a, "b": b}))
    out.append(bin_case("Div", rng.standard_normal((64, 1, 1)).astype(np.float32) + 3, "channel"))
    out.append(bin_case("Max", np.array(0, np.float32), "scalar"))
    for op, attrs in [("Sigmoid", {}), ("HardSwish", {}), ("Tanh", {}), ("Relu", {}), ("Exp", {}),
                      ("LeakyRelu", {"alpha": 0.1}), ("HardSigmoid", {}), ("Erf", {}), ("Gelu", {}),
                      ("Softplus", {}), ("Mish", {})]:
        out.append((op, model([mk(op, ["x"], ["y"], **attrs)], {"x": X}), {"x": X}))
    out.append(("Clip [0,6]", model([mk("Clip", ["x", "lo", "hi"], ["y"])], {"x": X},
                                    inits=[("lo", np.float32(0)), ("hi", np.float32(6))]), {"x": X}))
    out.append(("Pow x^2", model([mk("Pow", ["x", "e"], ["y"])], {"x": X}, inits=[("e", np.float32(2))]),
                {"x": X}))
    c = X > 0
    out.append(("Where (same)", model([mk("Where", ["c", "x", "z"], ["y"])], {"c": c, "x": X, "z": -X}),
                {"c": c, "x": X, "z": -X}))
    out.append(("Sum of 3 (same)", model([mk("Sum", ["x", "u", "v"], ["y"])], {"x": X, "u": X, "v": X}),
                {"x": X, "u": X, "v": X}))
    out.append(("Greater scalar", model([mk("Greater", ["x", "b"], ["y"])], {"x": X},
                                        inits=[("b", np.float32(0))], out_dt=9), {"x": X}))
    ch = rng.random((64, 1, 1)).astype(np.float32)
    out.append(("PRelu channel", model([mk("PRelu", ["x", "s"], ["y"])], {"x": X}, inits=[("s", ch)]),
                {"x": X}))
    # an in-place chain: X + c, * c, Sigmoid, HardSwish (buffers reused)
    out.append(("chain Add,Mul,Sigmoid,HardSwish",
                model([mk("Add", ["x", "c"], ["t1"]), mk("Mul", ["t1", "c"], ["t2"]),
                       mk("Sigmoid", ["t2"], ["t3"]), mk("HardSwish", ["t3"], ["y"])], {"x": X},
                      inits=[("c", ch)]), {"x": X}))
    Xh = X.astype(np.float16)
    out.append(("f16 Add same", model([mk("Add", ["x", "b"], ["y"])], {"x": Xh, "b": Xh}), {"x": Xh, "b": Xh}))
    out.append(("f16 Sigmoid", model([mk("Sigmoid", ["x"], ["y"])], {"x": Xh}), {"x": Xh}))
    s = np.int64([1, 64, 80, 80])
    out.append(("int64 (4) Mul,Add,Div (shape math)",
                model([mk("Mul", ["s", "two"], ["m"]), mk("Add", ["m", "one"], ["a"]),
                       mk("Div", ["a", "two"], ["y"])], {"s": s},
                      inits=[("two", np.int64(2)), ("one", np.int64(1))]), {"s": s}))
    return out


def model_cases(paths):
    """(name, model bytes, random feed) of model files; default: onnx's light model zoo."""
    import onnx
    if not paths:
        d = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
        paths = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".onnx"))
    rng = np.random.default_rng(2)
    for p in paths:
        case_dir = os.path.isdir(p)
        m = onnx.load(os.path.join(p, "model.onnx") if case_dir else p)
        inits = {t.name for t in m.graph.initializer}
        feed = {}
        for k, i in enumerate(gi for gi in m.graph.input if gi.name not in inits):
            pb = os.path.join(p, "test_data_set_0", "input_%d.pb" % k)
            if case_dir and os.path.exists(pb):
                t = onnx.TensorProto()
                t.ParseFromString(open(pb, "rb").read())
                feed[i.name] = onnx.numpy_helper.to_array(t)
                continue
            tt = i.type.tensor_type
            shape = [d.dim_value if d.dim_value > 0 else 1 for d in tt.shape.dim]
            dt = ONNX_TO_NP[tt.elem_type]
            feed[i.name] = (rng.random(shape) if np.issubdtype(dt, np.floating) else
                            rng.integers(0, 2, shape)).astype(dt)
        yield os.path.basename(p.rstrip("/")), m.SerializeToString(), feed


def time_pair(runners, runs):
    """Median ms of each runner; runners alternate one run at a time."""
    times = [[] for _ in runners]
    for r in runners:
        r()
    for _ in range(runs):
        for i, r in enumerate(runners):
            t0 = time.perf_counter()
            r()
            times[i].append((time.perf_counter() - t0) * 1e3)
    return [statistics.median(t) for t in times]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default=os.path.join(ROOT, "engine", "build", "libonnxengine.a"))
    ap.add_argument("--base", help="another engine build to time in the same rounds")
    ap.add_argument("--isa", choices=["portable", "avx2", "avx512"])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--filter", default="")
    ap.add_argument("--models", nargs="*", help="time these models end to end instead: model "
                    "files (inputs random, dynamic dims 1) or case dirs (model.onnx, "
                    "test_data_set_0/input_K.pb); no argument: onnx's light model zoo")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ewbench-")
    ours = Engine(shared_lib(a.lib, tmp), a.isa)
    base = Engine(shared_lib(a.base, tmp)) if a.base else None
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print("CPU: %s (%d cores), %s; one thread; median of %d alternated runs" %
          (cpu, os.cpu_count(), platform.python_version(), a.runs))
    print()
    hdr = "| case | ours ms | onnxruntime ms | ours/ort |"
    if base:
        hdr += " base ms | base/ort | speed-up |"
    print(hdr)
    print("|---" * (hdr.count("|") - 1) + "|")
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    for name, mb, feed in (model_cases(a.models) if a.models is not None else
                           ((n, m.SerializeToString(), f) for n, m, f in cases())):
        if a.filter not in name:
            continue
        osess = ort.InferenceSession(mb, so, providers=["CPUExecutionProvider"])
        ref = osess.run(None, feed)
        s = ours.session(mb)
        s.bind(feed)
        got = s.run(len(ref), fetch=True)
        for g, r in zip(got, ref):
            ok = g.shape == r.shape and np.allclose(g.astype(np.float64), r.astype(np.float64), rtol=1e-3,
                                                    atol=1e-3, equal_nan=True)
            if not ok:
                print("| %s | MISMATCH |" % name)
        runners = [lambda: s.run(len(ref)), lambda: osess.run(None, feed)]
        if base:
            bs = base.session(mb)
            bs.bind(feed)
            runners.append(lambda: bs.run(len(ref)))
        t = time_pair(runners, a.runs)
        line = "| %s | %.3f | %.3f | %.2f |" % (name, t[0], t[1], t[0] / t[1])
        if base:
            line += " %.3f | %.2f | %.1fx |" % (t[2], t[2] / t[1], t[2] / t[0])
        print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
