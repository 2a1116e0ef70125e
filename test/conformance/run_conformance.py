#!/usr/bin/env python3
"""Run the ONNX backend node tests through the engine, one process per test.

Suites:
  onnx-1.22   the node tests shipped in the onnx 1.22.0 wheel (PyPI)
  onnx-1.12   Debian's libonnx-testdata (/usr/share/libonnx-testdata)

Each test runs `onnx_node_test DIR` in its own process with a time limit,
so a crash or a hang cannot stop the run; both count as failures to fix.
Results are checked against the ledger (ledger.txt beside this script):
a test the ledger says passes must pass.  Crashes and hangs always fail.

    run_conformance.py [--bin PATH] [--update-ledger] [--jobs N]
                       [--summary FILE] [--filter SUBSTRING]

Prints per-suite pass rates, a per-operator table into --summary, and last
the line "N passed, N failed" (N passed: ledger-passing tests that pass;
N failed: regressions, crashes and hangs).
"""
import argparse
import collections
import concurrent.futures
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LEDGER = os.path.join(HERE, "ledger.txt")
TIMEOUT_S = 20


def suites():
    out = []
    try:
        import onnx
        d = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")
        if os.path.isdir(d):
            out.append(("onnx-1.22", d, onnx.__version__))
    except ImportError:
        pass
    d = "/usr/share/libonnx-testdata/data/node"
    if os.path.isdir(d):
        out.append(("onnx-1.12", d, "libonnx-testdata"))
    return out


def op_types(model_path):
    try:
        import onnx
        m = onnx.load(model_path, load_external_data=False)
        ops = set()

        def walk(g):
            for n in g.node:
                ops.add(((n.domain + ".") if n.domain not in ("", "ai.onnx") else "") + n.op_type)
                for a in n.attribute:
                    if a.g and a.g.node:
                        walk(a.g)
                    for sg in a.graphs:
                        walk(sg)
        walk(m.graph)
        return sorted(ops)
    except Exception:
        return ["?"]


def run_one(binary, path, san_env, extra=()):
    try:
        p = subprocess.run([binary, *extra, path], capture_output=True, text=True,
                           timeout=TIMEOUT_S, env=san_env)
    except subprocess.TimeoutExpired:
        return "HANG", "timed out after %d s" % TIMEOUT_S
    line = (p.stdout.strip().splitlines() or [""])[-1]
    if p.returncode < 0:
        return "CRASH", "signal %d %s" % (-p.returncode, p.stderr.strip()[-300:])
    if p.returncode == 0 and line.startswith("PASS"):
        if p.stderr.strip() and "runtime error" in p.stderr:
            return "CRASH", "sanitizer: " + p.stderr.strip()[-300:]
        return "PASS", ""
    if p.returncode in (1, 3):
        if "ERROR: AddressSanitizer" in p.stderr or "runtime error:" in p.stderr:
            return "CRASH", "sanitizer: " + p.stderr.strip()[-300:]
        return ("UNSUPPORTED" if p.returncode == 3 else "FAIL"), line
    return "CRASH", "exit %d %s %s" % (p.returncode, line, p.stderr.strip()[-300:])


def read_ledger():
    led = {}
    if os.path.exists(LEDGER):
        for line in open(LEDGER):
            line = line.strip()
            if line and not line.startswith("#"):
                name, status = line.split()
                led[name] = status
    return led


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "..", "engine", "build", "onnx_node_test"))
    ap.add_argument("--update-ledger", action="store_true")
    ap.add_argument("--readonly-model", action="store_true",
                    help="run with the model in read-only memory (a write into it crashes the test)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--summary", default=None)
    ap.add_argument("--filter", default=None)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    found = suites()
    if not found:
        print("no node-test data found: install onnx==1.22.0 and libonnx-testdata")
        print("0 passed, 1 failed")
        return 1
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    jobs = []
    for suite, d, _ in found:
        for t in sorted(os.listdir(d)):
            if args.filter and args.filter not in t:
                continue
            p = os.path.join(d, t)
            if os.path.isdir(p) and os.path.exists(os.path.join(p, "model.onnx")):
                jobs.append((suite, t, p))
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        extra = ["--readonly-model"] if args.readonly_model else []
        futs = {ex.submit(run_one, args.bin, p, env, extra): (s, t, p) for s, t, p in jobs}
        for f in concurrent.futures.as_completed(futs):
            s, t, p = futs[f]
            results[(s, t)] = f.result() + (p,)

    ledger = read_ledger()
    passed = failed = 0
    regressions, crashes = [], []
    per_suite = collections.defaultdict(lambda: collections.Counter())
    per_op = collections.defaultdict(lambda: collections.Counter())
    for (s, t), (status, why, p) in sorted(results.items()):
        key = "%s/%s" % (s, t)
        per_suite[s][status] += 1
        per_suite[s]["total"] += 1
        if args.summary:
            for op in op_types(os.path.join(p, "model.onnx")):
                per_op[op]["total"] += 1
                per_op[op]["pass"] += status == "PASS"
        if status in ("CRASH", "HANG"):
            crashes.append((key, status, why))
            failed += 1
        elif ledger.get(key) == "pass" and status != "PASS":
            regressions.append((key, status, why))
            failed += 1
        elif status == "PASS":
            passed += 1
        if args.verbose and status != "PASS":
            print("%-70s %s %s" % (key, status, why[:200]))

    for s, _, ver in found:
        c = per_suite[s]
        print("conformance %s: %d/%d passed (%.1f%%), %d failed, %d unsupported, %d crashed, %d hung"
              % (s, c["PASS"], c["total"], 100.0 * c["PASS"] / max(1, c["total"]),
                 c["FAIL"], c["UNSUPPORTED"], c["CRASH"], c["HANG"]))
    for key, status, why in crashes:
        print("CRASH/HANG %s: %s %s" % (key, status, why))
    for key, status, why in regressions:
        print("REGRESSION %s: %s %s" % (key, status, why[:300]))
    newly = [k for k, (st, _, _) in ((("%s/%s" % k), v) for k, v in results.items())
             if st == "PASS" and ledger.get(k) != "pass"]
    if newly and not args.update_ledger:
        print("%d tests pass that the ledger does not list as passing (run with --update-ledger)" % len(newly))

    if args.summary:
        with open(args.summary, "w") as f:
            f.write("| suite | passed | total | rate |\n|---|---|---|---|\n")
            for s, _, _ in found:
                c = per_suite[s]
                f.write("| %s | %d | %d | %.1f%% |\n" % (s, c["PASS"], c["total"], 100.0 * c["PASS"] / max(1, c["total"])))
            f.write("\n| operator | tests passed | tests using it |\n|---|---|---|\n")
            for op in sorted(per_op):
                f.write("| %s | %d | %d |\n" % (op, per_op[op]["pass"], per_op[op]["total"]))

    if args.update_ledger and not args.filter:
        with open(LEDGER, "w") as f:
            f.write("# Expected status of every ONNX node test (generated by run_conformance.py\n"
                    "# --update-ledger).  A test listed as pass must keep passing.\n")
            for (s, t), (status, _, _) in sorted(results.items()):
                f.write("%s/%s %s\n" % (s, t, "pass" if status == "PASS" else "fail"))
        print("ledger updated: %s" % LEDGER)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
