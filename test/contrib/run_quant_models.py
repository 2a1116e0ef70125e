#!/usr/bin/env python3
"""Run the quantized models of make_quant_models.py through the engine and
compare with onnxruntime.

    run_quant_models.py [--dir DIR] [--make] [--quick] [--only SUBSTRING] [--isa LEVEL]

--make (or a missing DIR) writes the models first (make_quant_models.py).
The engine runs through ctypes on a shared library linked from
engine/build/libonnxengine.a (test/bench/bench_elementwise.py's binding).

An output passes when one of these holds (first that does is printed):
  match   |ours - ort| <= 1e-4 * max(1, max|ort|) + 1e-3 * |ort| everywhere
          (integer outputs: equal);
  step    the output comes from a DequantizeLinear (or from one operator on
          dequantized inputs) and no element differs from onnxruntime's by
          more than one quantization step (that scale);
  float   ours is at least as close to the float32 source model's output as
          onnxruntime's is: mean |ours - float| <= 1.02 * mean |ort - float|
          + 1e-6 * max|float|, where onnxruntime's error is the largest it
          makes on the feed and on 1e-6-perturbed copies of it;
  noise   ours differs from onnxruntime's output by no more than
          onnxruntime's own output moves (times 1.25) when the float inputs
          are perturbed by 1e-7 to 1e-5 relative (make_quant_models.py measures it).
          A quantized model rounds values to a grid: a 1-ulp difference in a
          float operator (sigmoid, batch norm) before a dynamic quantization
          can move one value across a rounding boundary, and that step
          propagates; onnxruntime's result is one sample of that spread;
  decode  (the ddddocr recogniser, which has no float source) the argmax
          per time step equals onnxruntime's, and the outputs are within
          1% of their range.
A model that does not load because it uses an operator outside this
branch's scope (the com.microsoft fusions: FusedConv, Gelu, ..., and
onnxruntime's LayerNormalization, which it also registers in the ONNX
domain below opset 17) is reported as "skip" and not counted.  Also checks that an operator of an
unknown custom domain stays a load error that names it.

Prints one line per model and last "N passed, N failed".
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "bench"))
from bench_elementwise import Engine, shared_lib  # noqa: E402

GEN = os.path.join(HERE, "generated")
FUSION_OPS = {"FusedConv", "FusedGemm", "FusedMatMul", "Gelu", "FastGelu", "BiasGelu", "QuickGelu", "BiasAdd",
              "SkipLayerNormalization", "SkipSimplifiedLayerNormalization", "SimplifiedLayerNormalization",
              "LayerNormalization", "EmbedLayerNormalization", "Attention", "MultiHeadAttention",
              "RotaryEmbedding", "BiasSoftmax", "NhwcMaxPool", "NchwcConv"}


def dq_step(model, out_name):
    """The quantization step of out_name: the largest scale of a
    DequantizeLinear producing it or, one operator before (Softmax,
    Reshape ... of a dequantized tensor), one of that operator's inputs;
    None if none."""
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    prod = {o: n for n in model.graph.node for o in n.output}

    def scale(name):
        n = prod.get(name)
        if n is not None and n.op_type == "DequantizeLinear" and n.input[1] in inits:
            return float(np.max(inits[n.input[1]]))
        return None
    s = scale(out_name)
    if s is None and out_name in prod:
        found = [x for x in (scale(i) for i in prod[out_name].input) if x is not None]
        s = max(found) if found else None
    return s


def judge(name, ours, ref, flt, step, spread=0.0, ort_err=0.0):
    """(ok, rule, detail) for one output."""
    ours = np.asarray(ours)
    ref = np.asarray(ref)
    if ours.shape != ref.shape:
        return False, "shape", "%s vs %s" % (ours.shape, ref.shape)
    if ref.dtype.kind in "iub":
        if np.array_equal(ours, ref):
            return True, "match", ""
        if ref.dtype.kind in "iu" and np.abs(ours.astype(np.int64) - ref.astype(np.int64)).max() <= 1:
            return True, "step", "integer outputs within 1"
        return False, "int", "%d of %d differ" % (int(np.sum(ours != ref)), ref.size)
    d = np.abs(ours.astype(np.float64) - ref)
    tol = 1e-4 * max(1.0, float(np.abs(ref).max(initial=0))) + 1e-3 * np.abs(ref)
    if np.all(d <= tol):
        return True, "match", "max diff %.3g" % d.max(initial=0)
    if step is not None and d.max() <= step * 1.0001 + 1e-6:
        return True, "step", "max diff %.3g <= step %.3g" % (d.max(), step)
    if spread > 0 and d.max() <= 1.25 * spread:
        return True, "noise", "max diff %.3g, onnxruntime's own spread %.3g" % (d.max(), spread)
    if flt is not None:
        flt = np.asarray(flt, np.float64)
        eo = np.abs(ours - flt).mean()
        er = max(np.abs(ref - flt).mean(), ort_err)
        if eo <= 1.02 * er + 1e-6 * float(np.abs(flt).max(initial=0)):
            return True, "float", "mean err vs float %.3g (onnxruntime %.3g)" % (eo, er)
        return False, "float", "mean err vs float %.3g > onnxruntime's %.3g; max diff to ort %.3g" % (eo, er, d.max())
    if name.startswith("ddddocr") and ref.ndim == 3:
        same = np.array_equal(ours.argmax(-1), ref.argmax(-1))
        rng = float(ref.max() - ref.min()) or 1.0
        if same and d.max() <= 0.01 * rng:
            return True, "decode", "same argmax per step, max diff %.3g of range %.3g" % (d.max(), rng)
    return False, "diff", "max diff %.3g" % d.max()


def check_unknown_domain(eng):
    """A node of an unknown custom domain: the load fails and names it."""
    g = helper.make_graph([helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example.custom"),
                           helper.make_node("QLinearAdd", ["x"], ["z"], domain="com.other")], "g",
                          [helper.make_tensor_value_info("x", 1, [2])],
                          [helper.make_tensor_value_info("y", 1, None), helper.make_tensor_value_info("z", 1, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example.custom", 1),
                                            helper.make_opsetid("com.other", 1)])
    try:
        eng.session(m.SerializeToString())
    except RuntimeError as e:
        msg = str(e)
        ok = "com.example.custom.Frobnicate" in msg and "com.other.QLinearAdd" in msg
        return ok, msg
    return False, "loaded"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=GEN)
    ap.add_argument("--make", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only")
    ap.add_argument("--isa", choices=["portable", "avx2", "avx512"])
    ap.add_argument("--lib", default=os.path.join(ROOT, "engine", "build", "libonnxengine.a"))
    a = ap.parse_args()
    if a.make or not glob.glob(os.path.join(a.dir, "*", "meta.json")):
        cmd = [sys.executable, os.path.join(HERE, "make_quant_models.py"), "--out", a.dir]
        cmd += ["--quick"] if a.quick else []
        cmd += ["--only", a.only] if a.only else []
        subprocess.run(cmd, check=True)
    tmp = tempfile.mkdtemp()
    eng = Engine(shared_lib(a.lib, tmp), a.isa)
    passed = failed = skipped = 0
    ok, msg = check_unknown_domain(eng)
    print("%s - unknown custom domain is a load error naming its operators: %s" % ("ok" if ok else "not ok", msg))
    passed += ok
    failed += not ok
    for d in sorted(glob.glob(os.path.join(a.dir, "*", ""))):
        name = os.path.basename(d.rstrip("/"))
        if a.only and a.only not in name:
            continue
        if not os.path.exists(os.path.join(d, "meta.json")):
            continue
        meta = json.load(open(os.path.join(d, "meta.json")))
        path = os.path.join(d, "model.onnx")
        model = onnx.load(path)
        feed = dict(np.load(os.path.join(d, "feed.npz")))
        ref = np.load(os.path.join(d, "ort.npz"))
        ref = [ref["arr_%d" % i] for i in range(len(ref.files))]
        flt = None
        if os.path.exists(os.path.join(d, "float.npz")):
            f = np.load(os.path.join(d, "float.npz"))
            flt = [f["arr_%d" % i] for i in range(len(f.files))]
        try:
            s = eng.session(open(path, "rb").read())
            s.bind(feed)
            outs = s.run(len(ref), fetch=True)
        except RuntimeError as e:
            msg = str(e)
            # "unsupported operators: com.microsoft.Gelu (opset 1), LayerNormalization (opset 13)"
            listed = msg.split(":", 1)[1] if ":" in msg else ""
            missing = [p.strip().split(" ")[0].split(".")[-1] for p in listed.split(",") if p.strip()]
            if msg.startswith("unsupported operator") and missing and all(m in FUSION_OPS for m in missing):
                print("skip - %s: needs the fusion operators %s" % (name, ", ".join(missing)))
                skipped += 1
                continue
            print("not ok - %s: %s" % (name, msg[:300]))
            failed += 1
            continue
        rules, bad = [], []
        for i, (o, r) in enumerate(zip(outs, ref)):
            good, rule, detail = judge(name, o, r, flt[i] if flt is not None and i < len(flt) else None,
                                       dq_step(model, meta["outputs"][i]), meta.get("ort_spread", [0] * 64)[i],
                                       meta.get("ort_float_err", [0] * 64)[i])
            rules.append(rule)
            if not good:
                bad.append("%s: %s %s" % (meta["outputs"][i], rule, detail))
        ops = sorted({n.op_type for n in model.graph.node if n.domain == "com.microsoft"})
        if bad:
            print("not ok - %s: %s" % (name, "; ".join(bad)))
            failed += 1
        else:
            print("ok - %s (%s)%s" % (name, ", ".join(sorted(set(rules))), "  com.microsoft: " + " ".join(ops)
                                       if ops else ""))
            passed += 1
        sys.stdout.flush()
    print("%d skipped (fusion operators of the other half of issue 14)" % skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
