#!/usr/bin/env python3
"""Kernel tests: every make_*_cases.py in test/kernels/ writes its cases
(models with onnxruntime's outputs, see cases.py) into
test/kernels/generated/<family>/, then each case runs through the engine
(onnx_node_test) with the case's tolerance.  The cases aim at the fast
paths of the kernels: shapes that take each specialisation, odd sizes that
leave SIMD tails, broadcast patterns, attribute variants.

    run_kernel_tests.py [--bin engine/build/onnx_node_test] [--isa LEVEL] [FAMILY ...]

--isa portable|avx2|avx512bw|avx512 caps the engine's run-time SIMD dispatch, to
test the portable C kernels on a machine that has AVX-512.  Without it, a
case runs once per level its isa.txt lists (e.g. "portable avx2 avx512"),
else once at the best level, so the fallbacks of the kernels such a case
aims at are tested in every run; a case with threads.txt (e.g. "1 2") runs
at each level with each of those intra-op thread counts, so the kernels'
parallel paths are tested too.  A case with error.txt (cases.write_error_case)
passes when the engine refuses it with that message and does not crash.

Prints a line per failing case, one per family, and last "N passed, N failed".
"""
import argparse
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GEN = os.path.join(HERE, "generated")


def run_error_case(binary, d, message):
    """A case the engine must refuse with message, without crashing."""
    try:
        r = subprocess.run([binary, d], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False, "TIMEOUT"
    if r.returncode in (1, 3) and message in r.stdout:
        return True, ""
    return False, "expected a refusal with %r, got rc %d: %s" % (message, r.returncode,
                                                                (r.stdout + r.stderr).strip()[:400])


def run_case(binary, d, isa=None):
    ef = os.path.join(d, "error.txt")
    if os.path.exists(ef):
        return run_error_case(binary, d, open(ef).read().strip())
    tol = ["1e-4", "1e-5"]
    tf = os.path.join(d, "tolerance.txt")
    if os.path.exists(tf):
        tol = open(tf).read().split()[:2]
    levels = [isa]
    lf = os.path.join(d, "isa.txt")
    if isa is None and os.path.exists(lf):
        levels = open(lf).read().split()
    threads = ["1"]
    tf = os.path.join(d, "threads.txt")
    if os.path.exists(tf):
        threads = open(tf).read().split()
    for level in levels:
        for th in threads:
            try:
                r = subprocess.run([binary, "--rtol", tol[0], "--atol", tol[1], "--threads", th] +
                                   (["--isa", level] if level else []) + [d],
                                   capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                return False, "TIMEOUT (isa %s, threads %s)" % (level, th)
            if not (r.returncode == 0 and r.stdout.startswith("PASS")):
                where = ("isa %s, " % level if level else "") + "threads %s: " % th
                return False, where + (r.stdout + r.stderr).strip()[:400]
    return True, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "engine", "build", "onnx_node_test"))
    ap.add_argument("--isa", choices=["portable", "avx2", "avx512bw", "avx512"])
    ap.add_argument("families", nargs="*")
    a = ap.parse_args()
    passed = failed = 0
    for script in sorted(glob.glob(os.path.join(HERE, "make_*_cases.py"))):
        family = os.path.basename(script)[len("make_"):-len("_cases.py")]
        if a.families and family not in a.families:
            continue
        out = os.path.join(GEN, family)
        g = subprocess.run([sys.executable, script, out], capture_output=True, text=True)
        if g.returncode != 0:
            print("not ok - %s could not write its cases" % os.path.basename(script))
            print(g.stderr[-2000:])
            failed += 1
            continue
        ok = bad = 0
        for d in sorted(glob.glob(os.path.join(out, "*", ""))):
            good, msg = run_case(a.bin, d.rstrip("/"), a.isa)
            if not good:
                print("not ok - %s/%s: %s" % (family, os.path.basename(d.rstrip("/")), msg))
            ok += good
            bad += not good
        print("%s - %s: %d of %d cases" % ("ok" if not bad else "not ok", family, ok, ok + bad))
        passed += ok
        failed += bad
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
