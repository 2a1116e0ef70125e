#!/usr/bin/env python3
"""Refresh the generated parts of README.md: the supported-operator table
(from the engine's registry, engine/build/onnx_list_ops), the conformance
pass rates (test/conformance/summary.md, written by run_conformance.py
--summary), the benchmark table (test/bench/results.md) and the
auto-batching benchmark (test/bench/auto_batch_results.md).

    .venv/bin/python scripts/update_readme.py
"""
import collections
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def replace(text, tag, body):
    pat = re.compile(r"(<!-- %s:start -->\n).*?(<!-- %s:end -->)" % (tag, tag), re.S)
    return pat.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def operators():
    out = subprocess.run([os.path.join(ROOT, "engine", "build", "onnx_list_ops")],
                         capture_output=True, text=True, check=True).stdout
    ops = collections.defaultdict(list)
    for line in out.splitlines():
        dom, name, since = line.split("\t")
        ops[(dom, name)].append(int(since))
    by_dom = collections.defaultdict(list)
    for (dom, name), vers in sorted(ops.items()):
        by_dom[dom].append("%s (%s)" % (name, ", ".join(str(v) for v in sorted(set(vers)))))
    lines = ["%d operators, %d versioned definitions; the numbers are the opset versions from which each"
             " definition applies (a model's opset picks the highest not above it)." % (len(ops), len(out.splitlines())), ""]
    for dom in sorted(by_dom):
        lines += ["**%s** (%d): %s" % (dom, len(by_dom[dom]), ", ".join(by_dom[dom])), ""]
    return "\n".join(lines)


def conformance():
    p = os.path.join(ROOT, "test", "conformance", "summary.md")
    if not os.path.exists(p):
        return "Run the test command to produce test/conformance/summary.md."
    text = open(p).read()
    return text.split("\n\n")[0]


def bench():
    p = os.path.join(ROOT, "test", "bench", "results.md")
    return open(p).read() if os.path.exists(p) else "No benchmark run yet."


def auto_batch():
    p = os.path.join(ROOT, "test", "bench", "auto_batch_results.md")
    return open(p).read() if os.path.exists(p) else "No auto-batching benchmark run yet."


def main():
    path = os.path.join(ROOT, "README.md")
    text = open(path).read()
    text = replace(text, "operators", operators())
    text = replace(text, "conformance", conformance())
    text = replace(text, "bench", bench())
    text = replace(text, "autobatch", auto_batch())
    open(path, "w").write(text)


if __name__ == "__main__":
    main()
