#!/usr/bin/env python3
"""Run the cases of make_contrib_models.py (transformer-optimizer outputs,
float16 conversions) through the engine and compare with onnxruntime.

    run_contrib_models.py [--bin engine/build/onnx_node_test] [--no-make]
                          [--real DIR] [--quick] [PATTERN ...]

Writes the cases first (make_contrib_models.py into test/contrib/generated/)
unless --no-make.  Matching, per float output:
  fp32 cases   the conformance rule: |ours - ort| <= 1e-4 * max(1, max|ort|)
               + 1e-3 * |ort| elementwise
  fp16 cases   max|ours - ort| <= 1e-2 * max(max|ort|, 1e-3) (1e-2 relative
               to the output's scale), or else at least as close to the
               float32 original's outputs as onnxruntime's float16 outputs
               are (max error within 1.05x of onnxruntime's)
other dtypes exactly.  Prints a line per case and last "N passed, N failed".
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GEN = os.path.join(HERE, "generated")


def load(p):
    return numpy_helper.to_array(onnx.load_tensor(p))


def check_case(binary, d):
    kind = open(os.path.join(d, "kind.txt")).read().strip()
    ds = os.path.join(d, "test_data_set_0")
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([binary, "--rtol", "1e30", "--atol", "1e30", "--dump", tmp, d],
                           capture_output=True, text=True, timeout=600)
        # a value mismatch (onnxruntime's NaN against our number) is judged below
        if not (r.stdout.startswith("PASS") or r.stdout.startswith("FAIL set 0: output")):
            return False, (r.stdout + r.stderr).strip()[:300]
        notes = []
        for i in range(len(glob.glob(os.path.join(ds, "output_*.pb")))):
            ref = load(os.path.join(ds, "output_%d.pb" % i))
            dump = os.path.join(tmp, "ours_%d.bin" % i)
            if not os.path.exists(dump):
                return False, "output %d missing: %s" % (i, r.stdout.strip()[:200])
            ours = np.fromfile(dump)
            if ours.size != ref.size:
                return False, "output %d has %d elements, onnxruntime %d" % (i, ours.size, ref.size)
            ours = ours.reshape(ref.shape)
            if ref.dtype.kind != "f":
                if not np.array_equal(ours, ref.astype(np.float64)):
                    return False, "output %d differs (%s)" % (i, ref.dtype)
                continue
            r64 = ref.astype(np.float64)
            err = np.abs(ours - r64)
            if kind == "fp32":
                lim = 1e-4 * max(1.0, np.abs(r64).max(initial=0)) + 1e-3 * np.abs(r64)
                bad = ~(err <= lim) & ~(np.isnan(ours) & np.isnan(r64))
                if bad.any():
                    k = int(np.argmax(bad))
                    return False, "output %d[%d]: %.7g, onnxruntime %.7g" % (i, k, ours.flat[k], r64.flat[k])
                continue
            scale = max(np.abs(r64[np.isfinite(r64)]).max(initial=0), 1e-3)
            both_nan = np.isnan(ours) & np.isnan(r64)
            same_inf = np.isinf(r64) & (ours == r64)
            e = np.where(both_nan | same_inf, 0, err).max(initial=0)
            if e <= 1e-2 * scale:
                notes.append("out%d rel %.2g" % (i, e / scale))
                continue
            p32 = os.path.join(ds, "ref32_%d.pb" % i)
            if not os.path.exists(p32):
                return False, "output %d: %.3g relative to onnxruntime" % (i, e / scale)
            f32 = load(p32).astype(np.float64).reshape(ref.shape)
            ours_e = np.nan_to_num(np.abs(ours - f32), nan=np.inf).max(initial=0)
            ort_e = np.nan_to_num(np.abs(r64 - f32), nan=np.inf).max(initial=0)
            if ours_e <= 1.05 * ort_e + 1e-6:
                notes.append("out%d rel %.2g, vs float32 %.3g (onnxruntime %.3g)" % (i, e / scale, ours_e, ort_e))
                continue
            return False, ("output %d: %.3g relative to onnxruntime; vs float32: ours %.3g, onnxruntime %.3g"
                           % (i, e / scale, ours_e, ort_e))
        return True, "; ".join(notes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "engine", "build", "onnx_node_test"))
    ap.add_argument("--no-make", action="store_true")
    ap.add_argument("--real")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("patterns", nargs="*")
    a = ap.parse_args()
    if not a.no_make:
        cmd = [sys.executable, os.path.join(HERE, "make_contrib_models.py"), GEN]
        cmd += (["--real", a.real] if a.real else []) + (["--quick"] if a.quick else [])
        g = subprocess.run(cmd, capture_output=True, text=True)
        if g.returncode != 0:
            print("not ok - make_contrib_models.py failed:\n" + g.stderr[-3000:])
            print("0 passed, 1 failed")
            return 1
        for line in g.stdout.splitlines():
            print("# " + line)
    passed = failed = 0
    for d in sorted(glob.glob(os.path.join(GEN, "*", ""))):
        d = d.rstrip("/")
        name = os.path.basename(d)
        if a.patterns and not any(p in name for p in a.patterns):
            continue
        ok, msg = check_case(a.bin, d)
        print("%s - %s%s" % ("ok" if ok else "not ok", name, (": " + msg) if msg else ""))
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
