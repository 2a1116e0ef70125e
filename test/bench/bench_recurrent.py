#!/usr/bin/env python3
"""Recurrent operators against onnxruntime: synthetic LSTM, GRU and RNN
models (random constant weights, fed X and initial states) at batch 1 and
64, engine through engine/build/onnx_run_model, onnxruntime through its
Python API, one thread each, the same inputs (run_bench.py's).  The two
are timed in alternating rounds (a shared machine's load changes from one
second to the next); each figure is the median over rounds of the median
time per run, the ratio the median of the rounds' ratios.

    .venv/bin/python test/bench/bench_recurrent.py [--budget SECONDS] [NAME_FILTER ...]

Models are written to test/bench/models/recurrent/ (not in git).
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_bench import machine, time_ort, time_ours  # noqa: E402

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
# (op, seq, input, hidden, attributes): silero-vad's LSTM shape, then longer sequences
SHAPES = [
    ("LSTM", 1, 128, 128, {}),
    ("LSTM", 32, 64, 128, {}),
    ("LSTM", 32, 64, 128, {"direction": "bidirectional"}),
    ("GRU", 32, 64, 128, {"linear_before_reset": 1}),
    ("GRU", 32, 64, 128, {"linear_before_reset": 0}),
    ("RNN", 32, 64, 128, {}),
]


def build(path, op, T, B, I, H, attrs):
    """X (T, B, I), initial states fed; W, R, B initializers."""
    G = GATES[op]
    d = 2 if attrs.get("direction") == "bidirectional" else 1
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array((rng.standard_normal((d, G * H, I)) / np.sqrt(I)).astype(np.float32), "W"),
             numpy_helper.from_array((rng.standard_normal((d, G * H, H)) / np.sqrt(H)).astype(np.float32), "R"),
             numpy_helper.from_array((rng.standard_normal((d, 2 * G * H)) * 0.1).astype(np.float32), "B")]
    ins = ["X", "W", "R", "B", "", "h0"] + (["c0"] if op == "LSTM" else [])
    outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    vi = [helper.make_tensor_value_info("X", 1, [T, B, I]), helper.make_tensor_value_info("h0", 1, [d, B, H])]
    if op == "LSTM":
        vi.append(helper.make_tensor_value_info("c0", 1, [d, B, H]))
    node = helper.make_node(op, ins, outs, hidden_size=H, **attrs)
    g = helper.make_graph([node], "recurrent", vi, [helper.make_tensor_value_info(o, 1, None) for o in outs], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)], ir_version=8), path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=2.0, help="seconds of timing per engine and case")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("filters", nargs="*")
    a = ap.parse_args()
    mdir = os.path.join(HERE, "models", "recurrent")
    os.makedirs(mdir, exist_ok=True)
    print("machine:", machine())
    print("| model | ours (ms) | onnxruntime (ms) | ratio |\n|---|---|---|---|")
    for op, T, I, H, attrs in SHAPES:
        for B in (1, 64):
            tag = "".join("_%s%s" % (k[:3], v if not isinstance(v, str) else v[:2]) for k, v in attrs.items())
            name = "%s_T%d_B%d_I%d_H%d%s" % (op.lower(), T, B, I, H, tag)
            if a.filters and not any(f in name for f in a.filters):
                continue
            path = os.path.join(mdir, name + ".onnx")
            if not os.path.exists(path):
                build(path, op, T, B, I, H, attrs)
            rounds = []
            for _ in range(a.rounds):
                ours, why = time_ours(path, 1, a.budget / a.rounds)
                if ours is None:
                    break
                rounds.append((ours, time_ort(path, 1, a.budget / a.rounds)))
            if not rounds:
                print("| %s | n/a: %s | | |" % (name, why))
                continue
            med = lambda v: float(np.median(v))
            print("| %s | %.3f | %.3f | %.2f |" % (name, med([o for o, _ in rounds]) * 1e3,
                                                  med([t for _, t in rounds]) * 1e3,
                                                  med([o / t for o, t in rounds])))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
