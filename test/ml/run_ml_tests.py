#!/usr/bin/env python3
"""Classical-ML conformance: generate the scikit-learn models
(make_ml_models.py checks scikit-learn against onnxruntime), then run each
through the engine (engine/build/onnx_node_test) against onnxruntime's
outputs, labels exact and scores rtol 1e-4 / atol 1e-5.  Prints
"N passed, N failed"."""
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GEN = os.path.join(HERE, "generated")


def main():
    g = subprocess.run([sys.executable, os.path.join(HERE, "make_ml_models.py"), GEN],
                       capture_output=True, text=True, cwd="/tmp")
    print(g.stdout, end="")
    passed = failed = 0
    if g.returncode != 0:
        print("not ok - scikit-learn and onnxruntime agree on every generated model")
        print(g.stderr[-1000:])
        failed += 1
    binary = os.path.join(ROOT, "engine", "build", "onnx_node_test")
    for d in sorted(glob.glob(os.path.join(GEN, "*"))):
        r = subprocess.run([binary, "--rtol", "1e-4", "--atol", "1e-5", d], capture_output=True, text=True,
                           timeout=60)
        ok = r.returncode == 0 and r.stdout.startswith("PASS")
        print("%s - %s through the engine %s" % ("ok" if ok else "not ok", os.path.basename(d), r.stdout.strip()))
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
