#!/usr/bin/env python3
"""Classical-ML conformance through the engine (engine/build/onnx_node_test).

1. make_ml_models.py trains and converts the real models (scikit-learn,
   LightGBM, XGBoost) into test/ml/generated/<case>/, checking the library
   against onnxruntime; each case holds onnxruntime's outputs (data set 0)
   and the library's (data set 1), and the engine must match both.
2. make_op_cases.py writes single-operator models for the attribute variants
   converters rarely produce into test/ml/generated/ops/<case>/, with
   onnxruntime's outputs.

Labels and integers exact, scores and values rtol 1e-4 / atol 1e-5.  Prints
one line per model case, the operator cases that fail and their count, and
last "N passed, N failed"."""
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GEN = os.path.join(HERE, "generated")
OPS = os.path.join(GEN, "ops")
BINARY = os.path.join(ROOT, "engine", "build", "onnx_node_test")


def engine(d):
    r = subprocess.run([BINARY, "--rtol", "1e-4", "--atol", "1e-5", d], capture_output=True, text=True, timeout=60)
    return r.returncode == 0 and r.stdout.startswith("PASS"), r.stdout.strip()


def main():
    passed = failed = 0
    for script, out in (("make_ml_models.py", GEN), ("make_op_cases.py", OPS)):
        g = subprocess.run([sys.executable, os.path.join(HERE, script), out], capture_output=True, text=True, cwd="/tmp")
        print(g.stdout, end="")
        if g.returncode != 0:
            print("not ok - %s (the libraries and onnxruntime agree on every generated case)" % script)
            print(g.stderr[-1500:])
            failed += 1
    for d in sorted(glob.glob(os.path.join(GEN, "*"))):
        if not os.path.exists(os.path.join(d, "model.onnx")):
            continue
        ok, out = engine(d)
        print("%s - %s through the engine (onnxruntime and the library) %s" % ("ok" if ok else "not ok",
                                                                               os.path.basename(d), out))
        passed += ok
        failed += not ok
    ops_ok = ops_bad = 0
    for d in sorted(glob.glob(os.path.join(OPS, "*"))):
        ok, out = engine(d)
        if not ok:
            print("not ok - operator case %s through the engine %s" % (os.path.basename(d), out))
        ops_ok += ok
        ops_bad += not ok
    print("%s - %d of %d operator cases through the engine" % ("ok" if not ops_bad else "not ok", ops_ok,
                                                                ops_ok + ops_bad))
    passed += ops_ok
    failed += ops_bad
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
