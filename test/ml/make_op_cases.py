#!/usr/bin/env python3
"""Single-operator ai.onnx.ml models covering the attribute variants the
converters rarely produce, written as ONNX node-test directories with
onnxruntime's outputs as the expected values (the ONNX reference
implementation where onnxruntime has no kernel for a type):

  tree ensembles (opsets 3 and 5): every split mode, missing_value_tracks_true,
  NaN inputs, inputs exactly on thresholds, SUM / AVERAGE / MIN / MAX, every
  post_transform, base values, int64 / string labels, one, two and three
  classes, leaves with one or several weights, double thresholds, int inputs,
  set membership (opset 5), a tree that is one leaf;
  SVMClassifier / SVMRegressor (all kernels, with and without prob_a /
  prob_b, one-class), LinearClassifier / LinearRegressor, Binarizer, Scaler,
  Imputer, Normalizer, OneHotEncoder, LabelEncoder (opsets 1, 2, 4, all key
  and value types), CategoryMapper, ArrayFeatureExtractor,
  FeatureVectorizer, DictVectorizer, CastMap, ZipMap.

Left out on purpose, where onnxruntime is not a reference: the second score
column of a single-score classifier under PROBIT (onnxruntime leaves it
unset); TreeEnsemble (opset 5) post_transform 1 and 2 with several targets
(onnxruntime swaps SOFTMAX and LOGISTIC) and several BRANCH_MEMBER nodes
(checked against the ONNX reference instead).

Deterministic (seeded).  Usage: make_op_cases.py [OUTDIR]
(default test/ml/generated/ops)."""
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto as TP
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
MODES = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"]
GRID = np.array([-1.5, -0.25, 0, 0.1, 0.5, 1, 2.75], np.float32)


def value_bytes(v, name):
    if isinstance(v, dict):
        mp = onnx.MapProto()
        mp.name = name
        map_proto(v, mp)
        return mp.SerializeToString()
    if isinstance(v, list):
        seq = onnx.SequenceProto()
        seq.name = name
        seq.elem_type = onnx.SequenceProto.MAP
        for m in v:
            map_proto(m, seq.map_values.add())
        return seq.SerializeToString()
    return numpy_helper.from_array(np.asarray(v), name).SerializeToString()


def map_proto(m, mp):
    keys = list(m.keys())
    if keys and isinstance(keys[0], str):
        mp.key_type = TP.STRING
        mp.string_keys.extend(k.encode() for k in keys)
    else:
        mp.key_type = TP.INT64
        mp.keys.extend(int(k) for k in keys)
    mp.values.elem_type = onnx.SequenceProto.TENSOR
    for k in keys:
        v = m[k]
        v = np.array(v, dtype=object) if isinstance(v, str) else np.float32(v) if isinstance(v, float) else np.array(v)
        mp.values.tensor_values.append(numpy_helper.from_array(np.asarray(v)))


class Writer:
    def __init__(self, out):
        self.out = out
        self.n = 0
        self.skipped = 0

    def case(self, name, model, feeds, reference=False, expected=None):
        """feeds: arrays (or dicts) in graph input order; expected: outputs
        given by hand (what onnxruntime cannot be fed from Python)."""
        mb = model.SerializeToString()
        names = [i.name for i in model.graph.input]
        try:
            if expected is not None:
                outs = expected
            elif reference:
                outs = ReferenceEvaluator(model).run(None, dict(zip(names, feeds)))
            else:
                so = ort.SessionOptions()
                so.intra_op_num_threads = 1
                so.log_severity_level = 4
                sess = ort.InferenceSession(mb, so, providers=["CPUExecutionProvider"])
                outs = sess.run(None, dict(zip(names, feeds)))
        except Exception:  # noqa: BLE001 - a variant the reference cannot run is not a case
            self.skipped += 1
            return
        d = os.path.join(self.out, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(os.path.join(d, "test_data_set_0"))
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(mb)
        for k, (n, v) in enumerate(zip(names, feeds)):
            with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % k), "wb") as f:
                f.write(value_bytes(v, n))
        for k, (o, v) in enumerate(zip(model.graph.output, outs)):
            if (reference or expected is not None) and isinstance(v, np.ndarray):
                v = v.astype(helper.tensor_dtype_to_np_dtype(o.type.tensor_type.elem_type))
                rank = len(o.type.tensor_type.shape.dim)
                if o.type.tensor_type.HasField("shape") and rank == 2 and v.ndim == 1:
                    v = v.reshape(1, -1)        # onnxruntime's (1, n) for one map
            with open(os.path.join(d, "test_data_set_0", "output_%d.pb" % k), "wb") as f:
                f.write(value_bytes(v, o.name))
        self.n += 1


def model(op, ins, outs, ml=3, **attrs):
    def vi(x):
        if isinstance(x[1], onnx.TypeProto):
            return helper.make_value_info(x[0], x[1])
        return helper.make_tensor_value_info(x[0], x[1], x[2])
    n = helper.make_node(op, [i[0] for i in ins], [o[0] for o in outs], domain="ai.onnx.ml", **attrs)
    g = helper.make_graph([n], op.lower(), [vi(i) for i in ins], [vi(o) for o in outs])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17 if ml < 5 else 21),
                                               helper.make_opsetid("ai.onnx.ml", ml)])


def tensor(a, dt):
    return numpy_helper.from_array(np.array(a, dtype=dt))


# ---- trees ----

def rand_forest(rng, n_trees, depth, F, modes, T, weights, miss_p=0.3):
    """Opset-3 attributes of a random forest; weights: inline (one per leaf,
    one target per tree), single (target 0), all (every target), mixed."""
    A = {k: [] for k in ("treeids", "nodeids", "featureids", "modes", "values", "trueids", "falseids", "miss",
                         "w_tree", "w_node", "w_id", "w_val")}
    for t in range(n_trees):
        nid = [0]
        tree_target = int(rng.integers(T))

        def build(d):
            me = nid[0]
            nid[0] += 1
            idx = len(A["modes"])
            A["treeids"].append(t)
            A["nodeids"].append(me)
            if d >= depth or (d > 0 and rng.random() < 0.2):
                A["featureids"].append(0)
                A["modes"].append("LEAF")
                A["values"].append(0.0)
                A["trueids"].append(0)
                A["falseids"].append(0)
                A["miss"].append(0)
                tg = {"inline": [tree_target], "single": [0], "all": list(range(T))}.get(
                    weights, sorted(set(rng.integers(T, size=rng.integers(1, T + 1)).tolist())))
                for k in tg:
                    A["w_tree"].append(t)
                    A["w_node"].append(me)
                    A["w_id"].append(int(k))
                    A["w_val"].append(float(np.float32(rng.normal())))
                return me
            A["featureids"].append(int(rng.integers(F)))
            A["modes"].append(str(rng.choice(modes)))
            A["values"].append(float(rng.choice(GRID)))
            A["miss"].append(int(rng.random() < miss_p))
            A["trueids"].append(0)
            A["falseids"].append(0)
            A["trueids"][idx] = build(d + 1)
            A["falseids"][idx] = build(d + 1)
            return me
        build(0)
    return A


def node_attrs(A):
    return dict(nodes_treeids=A["treeids"], nodes_nodeids=A["nodeids"], nodes_featureids=A["featureids"],
                nodes_modes=A["modes"], nodes_truenodeids=A["trueids"], nodes_falsenodeids=A["falseids"],
                nodes_missing_value_tracks_true=A["miss"])


def tree_regressor(A, T, agg, post, base, in_type=TP.FLOAT, as_tensor=False):
    kw = dict(n_targets=T, aggregate_function=agg, post_transform=post, target_treeids=A["w_tree"],
              target_nodeids=A["w_node"], target_ids=A["w_id"], **node_attrs(A))
    if as_tensor:
        kw["nodes_values_as_tensor"] = tensor(A["values"], np.float64)
        kw["target_weights_as_tensor"] = tensor(A["w_val"], np.float64)
    else:
        kw["nodes_values"] = A["values"]
        kw["target_weights"] = A["w_val"]
    if base is not None:
        kw["base_values"] = base
    return model("TreeEnsembleRegressor", [("X", in_type, [None, 4])], [("Y", TP.FLOAT, [None, T])], **kw)


def tree_classifier(A, labels, post, base, in_type=TP.FLOAT):
    kw = dict(post_transform=post, nodes_values=A["values"], class_treeids=A["w_tree"], class_nodeids=A["w_node"],
              class_ids=A["w_id"], class_weights=A["w_val"], **node_attrs(A))
    strings = isinstance(labels[0], str)
    kw["classlabels_strings" if strings else "classlabels_int64s"] = labels
    if base is not None:
        kw["base_values"] = base
    return model("TreeEnsembleClassifier", [("X", in_type, [None, 4])],
                 [("label", TP.STRING if strings else TP.INT64, [None]), ("scores", TP.FLOAT, [None, len(labels)])], **kw)


def tree_inputs(rng, n, dtype=np.float32):
    x = rng.choice(GRID, size=(n, 4)).astype(np.float64)      # many exactly on thresholds
    x += np.where(rng.random((n, 4)) < 0.3, rng.normal(size=(n, 4)) * 0.01, 0)
    x[rng.random((n, 4)) < 0.1] = np.nan
    return x.astype(dtype)


def tree_cases(w, rng):
    posts = ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"]
    mode_sets = [["BRANCH_LEQ"], ["BRANCH_LT"], ["BRANCH_GTE", "BRANCH_GT"], MODES]
    for it in range(24):
        modes = mode_sets[it % 4]
        T = [1, 3][it % 2]
        wm = ["inline", "mixed", "all", "single"][(it // 2) % 4] if T > 1 else ["inline", "single"][(it // 2) % 2]
        A = rand_forest(rng, int(rng.integers(1, 12)), int(rng.integers(1, 6)), 4, modes, T, wm)
        x = tree_inputs(rng, 24)
        agg = ["SUM", "AVERAGE", "MIN", "MAX"][it % 4]
        post = posts[it % 5]
        base = [None, [0.1 * i + 0.3 for i in range(T)]][(it // 3) % 2]
        name = "tree_regressor_%02d_T%d_%s_%s_%s" % (it, T, agg.lower(), post.lower(), wm)
        w.case(name, tree_regressor(A, T, agg, post, base), [x])
        w.case(name + "_row", tree_regressor(A, T, agg, post, base), [x[:1]])
        if it % 3 == 0:
            w.case(name + "_double", tree_regressor(A, T, agg, post, base, TP.DOUBLE, True), [x.astype(np.float64)])
        for C, labels in ((2, [5, 9]), (2, ["neg", "pos"]), (3, [1, 2, 3]), (3, ["a", "b", "c"]), (1, [7])):
            post = posts[(it + C) % 5]
            if C == 2 and post == "PROBIT":
                continue
            wmc = ["inline", "mixed", "all", "single"][(it + C) % 4]
            A = rand_forest(rng, int(rng.integers(1, 8)), int(rng.integers(1, 5)), 4, modes, C, wmc)
            if (it + C) % 5 == 0:
                A["w_val"] = [abs(v) * 0.3 for v in A["w_val"]]
            base = [None, [0.1 * i - 0.1 for i in range(C)]][(it // 2 + C) % 2]
            cname = "tree_classifier_%02d_C%d_%s_%s_%s" % (it, C, "str" if isinstance(labels[0], str) else "int",
                                                          post.lower(), wmc)
            w.case(cname, tree_classifier(A, labels, post, base), [x])
            w.case(cname + "_row", tree_classifier(A, labels, post, base), [x[:1]])
    for it in range(6):
        T = [1, 2][it % 2]
        A = rand_forest(rng, 5, 3, 4, MODES[:4] if it % 3 else MODES, T, "mixed" if T > 1 else "single")
        xi = rng.integers(-3, 4, size=(16, 4))
        for dt, tp in ((np.int64, TP.INT64), (np.int32, TP.INT32)):
            w.case("tree_regressor_int_%d_%s" % (it, np.dtype(dt).name), tree_regressor(A, T, "SUM", "NONE", None, tp),
                   [xi.astype(dt)])
            w.case("tree_classifier_int_%d_%s" % (it, np.dtype(dt).name),
                   tree_classifier(A, [3, 4] if T == 2 else [3], "NONE", None, tp), [xi.astype(dt)])


def rand_v5(rng, n_trees, depth, modes, T, members_pool):
    nodes = {k: [] for k in ("feat", "mode", "split", "tid", "tleaf", "fid", "fleaf", "miss")}
    leaves = {"t": [], "w": []}
    members, roots = [], []

    def build(d, tt):
        if d >= depth or (d > 0 and rng.random() < 0.2):
            leaves["t"].append(int(tt if tt is not None else rng.integers(T)))
            leaves["w"].append(float(rng.normal()))
            return len(leaves["t"]) - 1, 1
        i = len(nodes["feat"])
        m = int(rng.choice(modes))
        nodes["feat"].append(int(rng.integers(4)))
        nodes["mode"].append(m)
        nodes["split"].append(float(rng.choice(GRID)))
        nodes["miss"].append(int(rng.random() < 0.3))
        for k in ("tid", "tleaf", "fid", "fleaf"):
            nodes[k].append(0)
        if m == 6:
            members.extend(sorted(set(rng.choice(members_pool, size=rng.integers(1, 4)).tolist())) + [np.nan])
        a, al = build(d + 1, tt)
        b, bl = build(d + 1, tt)
        nodes["tid"][i], nodes["tleaf"][i], nodes["fid"][i], nodes["fleaf"][i] = a, al, b, bl
        return i, 0
    for _ in range(n_trees):
        i, is_leaf = build(0, int(rng.integers(T)) if rng.random() < 0.5 else None)
        if is_leaf:     # a one-leaf tree: the root names the same leaf both ways; the leaf is the root's index
            j = len(nodes["feat"])
            for k, v in (("feat", 0), ("mode", 0), ("split", 0.0), ("miss", 0), ("tid", i), ("tleaf", 1),
                         ("fid", i), ("fleaf", 1)):
                nodes[k].append(v)
            while len(leaves["t"]) <= j:
                leaves["t"].append(0)
                leaves["w"].append(float(rng.normal()))
            i = j
        roots.append(i)
    return nodes, leaves, members, roots


def model_v5(v5, T, agg, post, dtype):
    nodes, leaves, members, roots = v5
    tp = TP.FLOAT if dtype == np.float32 else TP.DOUBLE
    kw = dict(n_targets=T, aggregate_function=agg, post_transform=post, tree_roots=roots,
              nodes_featureids=nodes["feat"], nodes_modes=tensor(nodes["mode"], np.uint8),
              nodes_splits=tensor(nodes["split"], dtype), nodes_truenodeids=nodes["tid"],
              nodes_trueleafs=nodes["tleaf"], nodes_falsenodeids=nodes["fid"], nodes_falseleafs=nodes["fleaf"],
              nodes_missing_value_tracks_true=nodes["miss"], leaf_targetids=leaves["t"],
              leaf_weights=tensor(leaves["w"], dtype))
    if members:
        kw["membership_values"] = tensor(members, dtype)
    return model("TreeEnsemble", [("X", tp, [None, 4])], [("Y", tp, [None, T])], ml=5, **kw)


def tree_v5_cases(w, rng):
    for it in range(30):
        modes = [[0], [1], [2, 3], [0, 1, 2, 3, 4, 5]][it % 4]
        T = [1, 3][it % 2]
        dtype = [np.float32, np.float64][(it // 2) % 2]
        agg = [1, 0, 2, 3][(it // 3) % 4]
        post = [0, 1, 2, 3, 4][(it // 4) % 5]
        if T > 1 and post in (1, 2):
            continue
        v5 = rand_v5(rng, int(rng.integers(1, 10)), int(rng.integers(1, 5)), modes, T, [-1.0, 1.0, 2.0, 3.0])
        x = tree_inputs(rng, 24, dtype)
        name = "tree_ensemble5_%02d_T%d_agg%d_post%d_%s" % (it, T, agg, post, np.dtype(dtype).name)
        w.case(name, model_v5(v5, T, agg, post, dtype), [x])
        w.case(name + "_row", model_v5(v5, T, agg, post, dtype), [x[:1]])
    # set membership, against the ONNX reference (SUM / AVERAGE, no transform)
    for it in range(12):
        modes = [[0, 6], [6], [4, 5, 6], [0, 1, 2, 3, 6]][it % 4]
        T = [1, 3][it % 2]
        dtype = [np.float32, np.float64][(it // 2) % 2]
        v5 = rand_v5(rng, int(rng.integers(1, 8)), int(rng.integers(1, 5)), modes, T, [-1.0, 1.0, 2.0, 3.0, 0.5])
        x = rng.choice(np.array([-1, 0, 1, 2, 3, 0.5, -0.25], np.float32), size=(24, 4)).astype(dtype)
        x[rng.random(x.shape) < 0.1] = np.nan
        w.case("tree_ensemble5_member_%02d_T%d" % (it, T), model_v5(v5, T, [1, 0][(it // 2) % 2], 0, dtype), [x],
               reference=True)


# ---- SVM ----

def svm_cases(w, rng):
    x = rng.normal(size=(20, 4)).astype(np.float32)
    for C in (2, 3, 4):
        vpc = [int(v) for v in rng.integers(1, 4, size=C)]
        V = sum(vpc)
        ncl = C * (C - 1) // 2
        sv = [float(v) for v in rng.normal(size=V * 4).round(3)]
        coef = [float(v) for v in rng.normal(size=(C - 1) * V).round(3)]
        rho = [float(v) for v in rng.normal(size=ncl).round(3)]
        for kernel in ("LINEAR", "POLY", "RBF", "SIGMOID"):
            for proba in (False, True):
                for post in ("NONE", "LOGISTIC", "SOFTMAX"):
                    kw = dict(kernel_type=kernel, kernel_params=[0.3, 0.5, 3.0], vectors_per_class=vpc,
                              support_vectors=sv, coefficients=coef, rho=rho, classlabels_ints=list(range(C)),
                              post_transform=post)
                    if proba:
                        kw["prob_a"] = [float(v) for v in rng.normal(size=ncl).round(3)]
                        kw["prob_b"] = [float(v) for v in rng.normal(size=ncl).round(3)]
                    S = C if proba else (2 if C == 2 else ncl)
                    w.case("svm_classifier_C%d_%s_%s_%s" % (C, kernel.lower(), "proba" if proba else "raw", post.lower()),
                           model("SVMClassifier", [("X", TP.FLOAT, [None, 4])],
                                 [("L", TP.INT64, [None]), ("S", TP.FLOAT, [None, S])], **kw), [x])
        # liblinear form: one coefficient row per class
        lin = [float(v) for v in rng.normal(size=C * 4).round(3)]
        w.case("svm_classifier_C%d_liblinear" % C,
               model("SVMClassifier", [("X", TP.FLOAT, [None, 4])], [("L", TP.STRING, [None]), ("S", TP.FLOAT, [None, C])],
                     coefficients=lin, rho=[0.2], kernel_params=[0.0, 0.0, 0.0],
                     classlabels_strings=["c%d" % i for i in range(C)]), [x])
    for kernel in ("LINEAR", "POLY", "RBF", "SIGMOID"):
        for one in (0, 1):
            V = 5
            w.case("svm_regressor_%s_%s" % (kernel.lower(), "one_class" if one else "epsilon"),
                   model("SVMRegressor", [("X", TP.FLOAT, [None, 4])], [("Y", TP.FLOAT, [None, 1])],
                         kernel_type=kernel, kernel_params=[0.2, 0.1, 2.0], n_supports=V, one_class=one,
                         support_vectors=[float(v) for v in rng.normal(size=V * 4).round(3)],
                         coefficients=[float(v) for v in rng.normal(size=V).round(3)], rho=[0.25]), [x])
    w.case("svm_regressor_liblinear", model("SVMRegressor", [("X", TP.FLOAT, [None, 4])], [("Y", TP.FLOAT, [None, 1])],
                                            coefficients=[0.5, -1.0, 0.25, 2.0], rho=[0.1], n_supports=0,
                                            kernel_params=[0.0, 0.0, 0.0]), [x])


# ---- linear models, preprocessing, encoders ----

def linear_cases(w, rng):
    xf = rng.normal(size=(8, 4)).astype(np.float32)
    for K, labels in ((1, [3, 5]), (1, ["n", "p"]), (3, [0, 1, 2]), (3, ["a", "b", "c"]), (1, [4]), (2, [1, 2])):
        for post in ("NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"):
            if post == "PROBIT" and K == 1:
                continue
            kw = dict(coefficients=[float(v) for v in rng.normal(size=K * 4).round(3)],
                      intercepts=[float(v) for v in rng.normal(size=K).round(3)], post_transform=post)
            strings = isinstance(labels[0], str)
            kw["classlabels_strings" if strings else "classlabels_ints"] = labels
            S = 2 if (K == 1 and len(labels) == 2) else K
            for dt, tp in ((np.float32, TP.FLOAT), (np.float64, TP.DOUBLE), (np.int64, TP.INT64)):
                x = (np.abs(xf) * 0.1 if post == "PROBIT" else xf * 2).astype(dt)
                w.case("linear_classifier_K%d_%s_%s_%s" % (K, "str" if strings else "int", post.lower(), np.dtype(dt).name),
                       model("LinearClassifier", [("X", tp, [None, 4])],
                             [("L", TP.STRING if strings else TP.INT64, [None]), ("S", TP.FLOAT, [None, S])], **kw), [x])
    for T in (1, 2):
        for post in ("NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"):
            kw = dict(coefficients=[float(v) for v in (rng.normal(size=T * 4) * 0.1).round(3)], intercepts=[0.25] * T,
                      targets=T, post_transform=post)
            w.case("linear_regressor_T%d_%s" % (T, post.lower()),
                   model("LinearRegressor", [("X", TP.FLOAT, [None, 4])], [("Y", TP.FLOAT, [None, T])], **kw),
                   [np.abs(xf) * 0.5])
    for labels in ([1, 5, 7], ["a", "b", "c"]):
        strings = isinstance(labels[0], str)
        seqmap = helper.make_sequence_type_proto(helper.make_map_type_proto(
            TP.STRING if strings else TP.INT64, helper.make_tensor_type_proto(TP.FLOAT, [])))
        w.case("zipmap_%s" % ("str" if strings else "int"),
               model("ZipMap", [("X", TP.FLOAT, [None, 3])], [("Z", seqmap)],
                     **{"classlabels_strings" if strings else "classlabels_int64s": labels}), [xf[:, :3]])


def preprocessing_cases(w, rng):
    xf = rng.normal(size=(5, 4)).astype(np.float32)
    types = ((np.float32, TP.FLOAT), (np.float64, TP.DOUBLE), (np.int64, TP.INT64), (np.int32, TP.INT32))
    for t in (0.0, 0.5, -1.0):
        w.case("binarizer_%g" % t, model("Binarizer", [("X", TP.FLOAT, [None, 4])], [("Y", TP.FLOAT, [None, 4])],
                                         threshold=t), [xf])
    for dt, tp in types:
        x = (xf * 10).astype(dt)
        for idx in ([0], [3, 1], [2, 2, 0]):
            w.case("array_feature_extractor_%s_%s" % (np.dtype(dt).name, "_".join(map(str, idx))),
                   model("ArrayFeatureExtractor", [("X", tp, [None, 4]), ("I", TP.INT64, [None])], [("Z", tp, None)]),
                   [x, np.array(idx, np.int64)])
        w.case("array_feature_extractor_%s_rank1" % np.dtype(dt).name,
               model("ArrayFeatureExtractor", [("X", tp, [4]), ("I", TP.INT64, [None])], [("Z", tp, None)]),
               [x[0], np.array([1, 3], np.int64)])
        w.case("array_feature_extractor_%s_rank3" % np.dtype(dt).name,
               model("ArrayFeatureExtractor", [("X", tp, [2, 2, 5]), ("I", TP.INT64, [None, None])], [("Z", tp, None)]),
               [np.arange(20).reshape(2, 2, 5).astype(dt), np.array([[4, 0]], np.int64)])
    xs = np.array([["a", "b", "c"], ["d", "e", "f"]], dtype=object)
    w.case("array_feature_extractor_string",
           model("ArrayFeatureExtractor", [("X", TP.STRING, [None, 3]), ("I", TP.INT64, [None])], [("Z", TP.STRING, None)]),
           [xs, np.array([2, 0], np.int64)])
    a = rng.normal(size=(3, 2)).astype(np.float32)
    b = rng.integers(-5, 5, size=(3, 4)).astype(np.int64)
    w.case("feature_vectorizer_float_cut_pad",
           model("FeatureVectorizer", [("A", TP.FLOAT, [None, 2]), ("B", TP.FLOAT, [None, 4]), ("C", TP.FLOAT, [None, 1])],
                 [("Y", TP.FLOAT, [None, None])], inputdimensions=[2, 3, 2]), [a, b.astype(np.float32), a[:, :1]])
    w.case("feature_vectorizer_int64", model("FeatureVectorizer", [("A", TP.INT64, [None, 4]), ("B", TP.INT64, [None, 4])],
                                              [("Y", TP.FLOAT, [None, None])], inputdimensions=[4, 1]), [b, b])
    w.case("feature_vectorizer_double", model("FeatureVectorizer", [("A", TP.DOUBLE, [None, 2])],
                                               [("Y", TP.FLOAT, [None, None])], inputdimensions=[3]), [a.astype(np.float64)])
    for off, sc in (([1.0], [2.0]), ([0.5, -1.0, 2.0, 0.0], [1.0, 2.0, 3.0, 4.0])):
        for dt, tp in types:
            w.case("scaler_%d_%s" % (len(off), np.dtype(dt).name),
                   model("Scaler", [("X", tp, [None, 4])], [("Y", TP.FLOAT, [None, 4])], offset=off, scale=sc),
                   [(xf * 7).astype(dt)])
    xn = xf.copy()
    xn[1, 2] = xn[3, 0] = np.nan
    w.case("imputer_nan_per_column", model("Imputer", [("X", TP.FLOAT, [None, 4])], [("Y", TP.FLOAT, [None, 4])],
                                           imputed_value_floats=[1.0, 2.0, 3.0, 4.0], replaced_value_float=float("nan")), [xn])
    w.case("imputer_nan_one", model("Imputer", [("X", TP.FLOAT, [None, 4])], [("Y", TP.FLOAT, [None, 4])],
                                    imputed_value_floats=[9.0], replaced_value_float=float("nan")), [xn])
    xi = rng.integers(-2, 3, size=(5, 4)).astype(np.int64)
    w.case("imputer_int64", model("Imputer", [("X", TP.INT64, [None, 4])], [("Y", TP.INT64, [None, 4])],
                                  imputed_value_int64s=[7, 8, 9, 10], replaced_value_int64=0), [xi])
    w.case("one_hot_encoder_int64", model("OneHotEncoder", [("X", TP.INT64, [None, 4])], [("Y", TP.FLOAT, None)],
                                          cats_int64s=[0, 1, -2, 5]), [xi])
    w.case("one_hot_encoder_float", model("OneHotEncoder", [("X", TP.FLOAT, [None, 4])], [("Y", TP.FLOAT, None)],
                                          cats_int64s=[0, 1, -1, 2]), [xf * 2])
    w.case("one_hot_encoder_string", model("OneHotEncoder", [("X", TP.STRING, [None, 3])], [("Y", TP.FLOAT, None)],
                                           cats_strings=["a", "f", "zz", "c"]), [xs])
    w.case("one_hot_encoder_repeated", model("OneHotEncoder", [("X", TP.INT64, [None, 4])], [("Y", TP.FLOAT, None)],
                                             cats_int64s=[0, 1, 0, 2]), [xi])
    for norm in ("MAX", "L1", "L2"):
        for dt, tp in types:
            x = (xf * 5).astype(dt)
            x[2] = 0
            w.case("normalizer_%s_%s" % (norm.lower(), np.dtype(dt).name),
                   model("Normalizer", [("X", tp, [None, 4])], [("Y", TP.FLOAT, [None, 4])], norm=norm), [x])


def encoder_cases(w, rng):
    sx = np.array(["a", "b", "d", "c", "g", "a"], dtype=object)
    ix = np.array([1, 5, 3, 2], np.int64)
    fx = np.array([0.5, 2, -1, np.nan, 0, -0.0], np.float32)
    S, I, F = TP.STRING, TP.INT64, TP.FLOAT
    for name, ml, ins, out, x, kw in (
            ("v1_string_int", 1, S, I, sx, dict(classes_strings=["c", "a", "b"], default_int64=42)),
            ("v1_int_string", 1, I, S, np.array([0, 2, 5, -1, 1], np.int64), dict(classes_strings=["c", "a", "b"],
                                                                                  default_string="??")),
            ("v2_string_int", 2, S, I, sx, dict(keys_strings=["a", "b", "c"], values_int64s=[5, 6, 7])),
            ("v2_string_float", 2, S, F, sx, dict(keys_strings=["a", "b", "c"], values_floats=[5.5, 6.0, 7.0],
                                                  default_float=-3.0)),
            ("v2_string_string", 2, S, S, sx, dict(keys_strings=["a", "b", "c"], values_strings=["x", "y", "z"])),
            ("v2_int_string", 2, I, S, ix, dict(keys_int64s=[1, 2, 3], values_strings=["x", "y", "z"], default_string="d")),
            ("v2_int_float", 2, I, F, ix, dict(keys_int64s=[1, 2, 3], values_floats=[0.1, 0.2, 0.3])),
            ("v2_float_int", 2, F, I, fx, dict(keys_floats=[0.5, -1.0, float("nan"), 0.0], values_int64s=[1, 2, 3, 4])),
            ("v2_float_string", 2, F, S, fx, dict(keys_floats=[0.5, -1.0], values_strings=["p", "q"])),
            ("v2_float_float", 2, F, F, fx, dict(keys_floats=[0.5, -1.0], values_floats=[3.0, 4.0])),
            ("v4_float_nan", 4, F, I, fx, dict(keys_tensor=tensor([0.5, -1.0, np.nan], np.float32),
                                               values_tensor=tensor([1, 2, 3], np.int64)))):
        w.case("label_encoder_" + name, model("LabelEncoder", [("X", ins, [None])], [("Y", out, [None])], ml=ml, **kw), [x])
    npt = {np.int64: TP.INT64, np.int32: TP.INT32, np.int16: TP.INT16, np.float64: TP.DOUBLE, np.float32: TP.FLOAT,
           object: TP.STRING}
    for kdt in (np.int64, np.int32, np.int16, np.float64, np.float32, object):
        for vdt in (np.int64, np.int16, np.float64, np.float32, object):
            keys = ["a", "b", "c"] if kdt is object else [1, 2, 3]
            vals = ["u", "v", "w"] if vdt is object else [10, 20, 30]
            x = np.array(["a", "q", "c", "b"], dtype=object) if kdt is object else np.array([1, 4, 3, 2, 0], kdt)
            kn = "string" if kdt is object else np.dtype(kdt).name
            vn = "string" if vdt is object else np.dtype(vdt).name
            m = model("LabelEncoder", [("X", npt[kdt], [None])], [("Y", npt[vdt], [None])], ml=4,
                      keys_tensor=tensor(keys, kdt), values_tensor=tensor(vals, vdt),
                      default_tensor=tensor(["dd"] if vdt is object else [-7], vdt))
            # onnxruntime lacks some type pairs: the ONNX reference then
            w.case("label_encoder_v4_%s_%s" % (kn, vn), m, [x], reference=(kn, vn) not in ort_label_encoder_pairs())
    w.case("category_mapper_string_int", model("CategoryMapper", [("X", S, [None])], [("Y", I, [None])],
                                               cats_strings=["a", "b", "c"], cats_int64s=[7, 8, 9], default_int64=-5), [sx])
    w.case("category_mapper_int_string", model("CategoryMapper", [("X", I, [None])], [("Y", S, [None])],
                                               cats_strings=["a", "b", "c"], cats_int64s=[7, 8, 9]),
           [np.array([7, 1, 9], np.int64)])


def ort_label_encoder_pairs():
    return {("int64", "int64"), ("int64", "float32"), ("int64", "float64"), ("int64", "string"),
            ("float32", "int64"), ("float32", "float32"), ("float32", "string"),
            ("float64", "int64"), ("float64", "float64"), ("float64", "string"),
            ("string", "int64"), ("string", "float32"), ("string", "float64"), ("string", "string"),
            ("string", "int16")}


def map_cases(w):
    def mapty(kt, vt):
        return helper.make_map_type_proto(kt, helper.make_tensor_type_proto(vt, []))
    w.case("dict_vectorizer_string_float",
           model("DictVectorizer", [("X", mapty(TP.STRING, TP.FLOAT))], [("Y", TP.FLOAT, [None, None])],
                 string_vocabulary=["a", "b", "c", "d"]),
           [{"a": np.float32(1.5), "c": np.float32(-2.0), "zz": np.float32(3.0)}])
    w.case("dict_vectorizer_int64_float",
           model("DictVectorizer", [("X", mapty(TP.INT64, TP.FLOAT))], [("Y", TP.FLOAT, [None, None])],
                 int64_vocabulary=[3, 1, 2]), [{1: np.float32(1.5), 3: np.float32(-2.0)}])
    w.case("dict_vectorizer_string_string",
           model("DictVectorizer", [("X", mapty(TP.STRING, TP.STRING))], [("Y", TP.STRING, [None, None])],
                 string_vocabulary=["x", "y", "z"]), [{"y": "hello", "x": "w"}],
           expected=[np.array([["w", "hello", ""]], dtype=object)])     # onnxruntime's empty string for a missing key
    smap = {4: "2", 1: "-17", 2: "3.5"}
    for to, otp, dense, sparse in (
            ("TO_FLOAT", TP.FLOAT, [-17, 3.5, 2], [0, -17, 3.5, 0, 2, 0]),
            ("TO_INT64", TP.INT64, [-17, 3, 2], [0, -17, 3, 0, 2, 0]),
            ("TO_STRING", TP.STRING, ["-17", "3.5", "2"], ["0.f", "-17", "3.5", "0.f", "2", "0.f"])):
        for form, mm, exp in (("DENSE", 1, dense), ("SPARSE", 6, sparse)):
            w.case("cast_map_string_%s_%s" % (to.lower(), form.lower()),
                   model("CastMap", [("X", mapty(TP.INT64, TP.STRING))], [("Y", otp, [1, None])],
                         cast_to=to, map_form=form, max_map=mm),
                   [smap], expected=[np.array([exp], dtype=object if otp == TP.STRING else None)])
    for to, otp in (("TO_FLOAT", TP.FLOAT), ("TO_INT64", TP.INT64), ("TO_STRING", TP.STRING)):
        for form, mm in (("DENSE", 1), ("SPARSE", 6)):
            w.case("cast_map_float_%s_%s" % (to.lower(), form.lower()),
                   model("CastMap", [("X", mapty(TP.INT64, TP.FLOAT))], [("Y", otp, [1, None])],
                         cast_to=to, map_form=form, max_map=mm),
                   [{4: np.float32(2.5), 1: np.float32(-1.75), 2: np.float32(3.0)}])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "generated", "ops")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    w = Writer(out)
    rng = np.random.default_rng(20)
    tree_cases(w, rng)
    tree_v5_cases(w, rng)
    svm_cases(w, rng)
    linear_cases(w, rng)
    preprocessing_cases(w, rng)
    encoder_cases(w, rng)
    map_cases(w)
    print("%d operator cases written to %s (%d variants the reference cannot run left out)" % (w.n, out, w.skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
