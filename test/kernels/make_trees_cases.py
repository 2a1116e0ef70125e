#!/usr/bin/env python3
"""Kernel cases for the tree ensembles' batch walk (engine/ops/ml/ml_trees*.c):
the complete layout walked sixteen rows a vector with AVX-512
(complete_descend_rows_avx512, complete_add_leaves_avx512) and the
portable walk it must equal.

    make_trees_cases.py OUT_DIR

Covers: depths 1 to 10 (1 to 3 read all their splits from registers, 4
exactly fills them, deeper ones gather), complete and lopsided trees
(leaves above the last level, repeated in the heap), batches of 1, 15,
16, 63, 64, 65, 127, 128, 129 and 300 rows (vector, four-vector and
128-row block tails), one target (leaves added in place, sums in float)
and three targets (leaves added per row), every aggregate (SUM, AVERAGE,
MIN, MAX), base values, NaN features (an ordered compare: NaN goes to the
false branch), thresholds equal to the features (<= made < of the next
float up), BRANCH_LT/GT/GTE modes, and a classifier (softmax of the
class sums).  Expected outputs from onnxruntime, matched exactly (it sums
in float in tree order, as the engine does for float inputs: any other
order or precision shows); run the portable walk with
`run_kernel_tests.py --isa portable trees`.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import make_model, write_case  # noqa: E402

F = 7


def tree_attrs(rng, n_trees, depth, targets, lopsided, modes, feats, thresholds):
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values",
                         "nodes_modes", "nodes_truenodeids", "nodes_falsenodeids",
                         "target_treeids", "target_nodeids", "target_ids", "target_weights")}
    for tree in range(n_trees):
        nid = [0]

        def add(d):
            me = nid[0]
            nid[0] += 1
            leaf = d == depth or (lopsided and d > 0 and rng.random() < 0.3)
            a["nodes_treeids"].append(tree)
            a["nodes_nodeids"].append(me)
            if leaf:
                for k in ("nodes_featureids", "nodes_values", "nodes_truenodeids", "nodes_falsenodeids"):
                    a[k].append(0)
                a["nodes_modes"].append("LEAF")
                a["target_treeids"].append(tree)
                a["target_nodeids"].append(me)
                a["target_ids"].append(int(rng.integers(targets)))
                a["target_weights"].append(float(np.float32(rng.normal())))
                return me
            pos = len(a["nodes_modes"])
            a["nodes_featureids"].append(int(rng.integers(feats)))
            a["nodes_values"].append(float(rng.choice(thresholds)))
            a["nodes_modes"].append(str(rng.choice(modes)))
            a["nodes_truenodeids"].append(0)
            a["nodes_falsenodeids"].append(0)
            a["nodes_truenodeids"][pos] = add(d + 1)
            a["nodes_falsenodeids"][pos] = add(d + 1)
            return me
        add(0)
    return a


def regressor(rng, n_trees, depth, targets, agg, lopsided=False, modes=("BRANCH_LEQ",), base=None):
    thresholds = np.round(rng.normal(size=64), 1).astype(np.float32)
    a = tree_attrs(rng, n_trees, depth, targets, lopsided, list(modes), F, thresholds)
    kw = dict(n_targets=targets, aggregate_function=agg, **a)
    if base is not None:
        kw["base_values"] = base
    node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain="ai.onnx.ml", **kw)
    return make_model([node], inputs={"X": (np.float32, ["N", F])}, outputs={"Y": (np.float32, ["N", targets])},
                      domains=[("ai.onnx.ml", 3)])


def classifier(rng, n_trees, depth, classes):
    thresholds = np.round(rng.normal(size=64), 1).astype(np.float32)
    a = tree_attrs(rng, n_trees, depth, classes, True, ["BRANCH_LEQ"], F, thresholds)
    kw = {k.replace("target_", "class_"): v for k, v in a.items()}
    node = helper.make_node("TreeEnsembleClassifier", ["X"], ["label", "scores"], domain="ai.onnx.ml",
                            classlabels_int64s=list(range(classes)), post_transform="SOFTMAX", **kw)
    return make_model([node], inputs={"X": (np.float32, ["N", F])},
                      outputs={"label": (np.int64, ["N"]), "scores": (np.float32, ["N", classes])},
                      domains=[("ai.onnx.ml", 3)])


def rows(rng, n, nan=False, ties=False):
    x = np.round(rng.normal(size=(n, F)), 1 if ties else 6).astype(np.float32)
    if nan:
        x[rng.random(size=x.shape) < 0.1] = np.nan
    return x


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(11)
    for depth in range(1, 11):
        m = regressor(rng, 24, depth, 1, "SUM")
        for n in (1, 16, 65, 129):
            write_case(out, "trees_d%d_sum_n%d" % (depth, n), m, {"X": rows(rng, n)}, rtol=0, atol=0)
    for n in (15, 63, 64, 127, 128, 300):
        write_case(out, "trees_d6_n%d" % n, regressor(rng, 40, 6, 1, "SUM"), {"X": rows(rng, n)},
                   rtol=1e-5, atol=1e-5)
    for agg in ("SUM", "AVERAGE", "MIN", "MAX"):
        for targets in (1, 3):
            m = regressor(rng, 30, 5, targets, agg, base=[0.5] * targets)
            write_case(out, "trees_%s_t%d" % (agg.lower(), targets), m, {"X": rows(rng, 200)},
                       rtol=1e-5, atol=1e-5)
    m = regressor(rng, 30, 7, 1, "SUM", lopsided=True)
    write_case(out, "trees_lopsided", m, {"X": rows(rng, 300)}, rtol=0, atol=0)
    m = regressor(rng, 30, 6, 2, "SUM", lopsided=True)
    write_case(out, "trees_nan_features", m, {"X": rows(rng, 300, nan=True)}, rtol=0, atol=0)
    m = regressor(rng, 30, 6, 1, "SUM", modes=("BRANCH_LEQ", "BRANCH_LT", "BRANCH_GT", "BRANCH_GTE"))
    write_case(out, "trees_modes_ties", m, {"X": rows(rng, 300, ties=True)}, rtol=0, atol=0)
    write_case(out, "trees_classifier", classifier(rng, 45, 6, 3), {"X": rows(rng, 300)}, rtol=0, atol=0)
    # rounds of 128-row blocks on two threads (enough rows x trees), the last block short
    rng = np.random.default_rng(12)
    th = (1, 2)
    write_case(out, "trees_threads_complete", regressor(rng, 40, 6, 1, "SUM"), {"X": rows(rng, 1000)},
               rtol=0, atol=0, threads=th)
    write_case(out, "trees_threads_lopsided_nan", regressor(rng, 60, 7, 2, "SUM", lopsided=True),
               {"X": rows(rng, 700, nan=True)}, rtol=0, atol=0, threads=th)
    write_case(out, "trees_threads_avg_t3", regressor(rng, 40, 5, 3, "AVERAGE", base=[0.5] * 3),
               {"X": rows(rng, 1100)}, rtol=1e-5, atol=1e-5, threads=th)
    write_case(out, "trees_threads_classifier", classifier(rng, 45, 6, 3), {"X": rows(rng, 900)},
               rtol=0, atol=0, threads=th)


if __name__ == "__main__":
    main()
