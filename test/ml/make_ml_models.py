#!/usr/bin/env python3
"""Train small classical-ML models with the real libraries (scikit-learn,
LightGBM, XGBoost), convert them (skl2onnx; onnxmltools for LightGBM and
XGBoost) and write each as an ONNX node-test directory:

    <case>/model.onnx
    <case>/test_data_set_0/input_N.pb, output_N.pb   onnxruntime's outputs
    <case>/test_data_set_1/input_N.pb, output_N.pb   the library's own outputs
                                                     (labels, probabilities or
                                                     values; what it has)

so that every consumer (test/ml/run_ml_tests.py through the engine,
test/sessions/test_ml_sql.py through SQL) checks against both.  Here the
library is checked against onnxruntime (labels exact, probabilities and values
rtol 1e-4, atol 1e-5); a disagreement fails the generator.  Classifiers are
converted twice: with ZipMap (the converters' default; probabilities as a
sequence of maps) and with zipmap=False (a tensor).

Deterministic (fixed seeds, one thread); about a minute.

    .venv/bin/python test/ml/make_ml_models.py [OUTDIR] [--only SUBSTRING]
        (OUTDIR defaults to test/ml/generated)
"""
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

warnings.filterwarnings("ignore")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import lightgbm  # noqa: E402
import pandas as pd  # noqa: E402
import xgboost  # noqa: E402
from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm  # noqa: E402
from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost  # noqa: E402
from skl2onnx import to_onnx, update_registered_converter  # noqa: E402
from skl2onnx.common.data_types import FloatTensorType, StringTensorType  # noqa: E402
from skl2onnx.common.shape_calculator import (calculate_linear_classifier_output_shapes,  # noqa: E402
                                              calculate_linear_regressor_output_shapes)
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,  # noqa: E402
                              HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402
from sklearn.svm import SVC, SVR  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = {"": 17, "ai.onnx.ml": 3}
RTOL, ATOL = 1e-4, 1e-5
CLF_OPTIONS = {"nocl": [True, False], "zipmap": [True, False, "columns"]}

# skl2onnx 1.20 hands the numpy booleans and unsigned ints of scikit-learn
# 1.9's histogram trees to onnx.helper, which wants Python ints.
import skl2onnx.common._container as _skl2onnx_container  # noqa: E402

_make_node = _skl2onnx_container.make_node


def _make_node_ints(*args, **attrs):
    for k, v in list(attrs.items()):
        if isinstance(v, np.ndarray) and v.dtype.kind in ("b", "u"):
            attrs[k] = [int(e) for e in v.ravel()]
        elif isinstance(v, (list, tuple)) and v and isinstance(v[0], (np.bool_, np.integer)):
            attrs[k] = [int(e) for e in v]
    return _make_node(*args, **attrs)


_skl2onnx_container.make_node = _make_node_ints

# LightGBM and XGBoost through onnxmltools' converters, registered with
# skl2onnx so that the same options (zipmap) apply to every classifier.
update_registered_converter(lightgbm.LGBMClassifier, "LightGbmLGBMClassifier",
                            calculate_linear_classifier_output_shapes, convert_lightgbm, options=CLF_OPTIONS)
update_registered_converter(lightgbm.LGBMRegressor, "LightGbmLGBMRegressor",
                            calculate_linear_regressor_output_shapes, convert_lightgbm)
update_registered_converter(xgboost.XGBClassifier, "XGBoostXGBClassifier",
                            calculate_linear_classifier_output_shapes, convert_xgboost, options=CLF_OPTIONS)
update_registered_converter(xgboost.XGBRegressor, "XGBoostXGBRegressor",
                            calculate_linear_regressor_output_shapes, convert_xgboost)


# ---- writing ----

def value_bytes(v, name):
    """A tensor, or a list of dicts (ZipMap) as a SequenceProto of MapProtos."""
    if isinstance(v, list):
        seq = onnx.SequenceProto()
        seq.name = name
        seq.elem_type = onnx.SequenceProto.MAP
        for m in v:
            mp = seq.map_values.add()
            keys = list(m.keys())
            if keys and isinstance(keys[0], str):
                mp.key_type = onnx.TensorProto.STRING
                mp.string_keys.extend(k.encode() for k in keys)
            else:
                mp.key_type = onnx.TensorProto.INT64
                mp.keys.extend(int(k) for k in keys)
            mp.values.elem_type = onnx.SequenceProto.TENSOR
            for k in keys:
                mp.values.tensor_values.append(numpy_helper.from_array(np.array(m[k], np.float32)))
        return seq.SerializeToString()
    return numpy_helper.from_array(np.asarray(v), name).SerializeToString()


def write_set(d, k, feeds, outs, names):
    ds = os.path.join(d, "test_data_set_%d" % k)
    os.makedirs(ds)
    for i, (n, x) in enumerate(feeds):
        with open(os.path.join(ds, "input_%d.pb" % i), "wb") as f:
            f.write(value_bytes(x, n))
    for i, (n, y) in enumerate(zip(names, outs)):
        if y is None:
            continue
        with open(os.path.join(ds, "output_%d.pb" % i), "wb") as f:
            f.write(value_bytes(y, n))


def as_output(ref, like):
    """The library's output in the form and type of onnxruntime's."""
    if isinstance(like, list):                  # ZipMap: probabilities (N, C) -> maps label -> p
        keys = list(like[0].keys())
        return [{k: np.float32(row[j]) for j, k in enumerate(keys)} for row in np.asarray(ref)]
    like = np.asarray(like)
    ref = np.asarray(ref)
    if like.dtype.kind in ("U", "S", "O"):
        return np.array([str(v) for v in ref.ravel()], dtype=object).reshape(like.shape)
    return ref.astype(like.dtype).reshape(like.shape)


def agrees(got, ref):
    if isinstance(got, list):
        got = np.array([[m[k] for k in m] for m in got])
        ref = np.array([[m[k] for k in m] for m in ref])
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape:
        return False
    if got.dtype.kind in ("i", "u", "U", "S", "O", "b"):
        return bool(np.array_equal(got, ref))
    return bool(np.allclose(got.astype(np.float64), ref.astype(np.float64), rtol=RTOL, atol=ATOL))


def write_case(out, name, model, feeds, lib):
    """lib: the library's outputs by position (None where it has none)."""
    d = os.path.join(out, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    # the converters list opsets in hash order: sort them for identical bytes on every run
    opsets = sorted(((o.domain, o.version) for o in model.opset_import))
    del model.opset_import[:]
    for dom, ver in opsets:
        model.opset_import.add(domain=dom, version=ver)
    onnx.save(model, os.path.join(d, "model.onnx"))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    outs = sess.run(None, dict(feeds))
    write_set(d, 0, feeds, outs, names)
    lib = list(lib) + [None] * (len(outs) - len(lib))
    ref = [None if r is None else as_output(r, o) for r, o in zip(lib, outs)]
    write_set(d, 1, feeds, ref, names)
    bad = [names[i] for i, r in enumerate(ref) if r is not None and not agrees(outs[i], r)]
    print("%-44s onnxruntime %s" % (name, "matches the library" if not bad else "DIFFERS from the library in " + ", ".join(bad)))
    return not bad


# ---- data ----

def data():
    xc, yc = make_classification(n_samples=240, n_features=6, n_informative=4, n_classes=3, random_state=0)
    xb, yb = make_classification(n_samples=240, n_features=6, n_informative=4, n_classes=2, random_state=1)
    xr, yr = make_regression(n_samples=240, n_features=6, noise=0.1, random_state=2)
    return [a.astype(np.float32) for a in (xc, xb, xr)], (yc, yb, yr)


def tabular(n, seed):
    """A table with numeric (some missing) and string columns, and a binary target."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, n).round(1)
    income = rng.lognormal(10, 0.5, n).round(0)
    city = rng.choice(["paris", "lyon", "nice", "lille"], n)
    plan = rng.choice(["basic", "pro", "team"], n, p=[0.5, 0.3, 0.2])
    score = 0.04 * (age - 40) + 0.6 * (plan == "pro") + 0.9 * (plan == "team") - 0.5 * (city == "nice") \
        + 0.3 * np.log(income / 22000) + rng.normal(0, 0.3, n)
    y = (score > 0.2).astype(np.int64)
    age[rng.random(n) < 0.1] = np.nan
    income[rng.random(n) < 0.1] = np.nan
    df = pd.DataFrame({"age": age.astype(np.float32), "income": income.astype(np.float32),
                       "city": city, "plan": plan})
    return df, y


# ---- cases ----

def classifier(out, name, est, x, y, xs=None, probability=True, decision=None):
    """est fitted on (x, y); written twice (ZipMap and zipmap=False)."""
    est.fit(x, y)
    xs = x[:24] if xs is None else xs
    ok = True
    label = est.predict(xs)
    if probability:
        scores = est.predict_proba(xs)
    else:
        scores = decision(est, xs) if decision else None
    for zipmap in (False, True):
        m = to_onnx(est, xs[:1], options={id(est): {"zipmap": zipmap}}, target_opset=TARGET)
        iname = m.graph.input[0].name
        ok &= write_case(out, name + ("_zipmap" if zipmap else ""), m, [(iname, xs)], [label, scores])
    return ok


def regressor(out, name, est, x, y):
    est.fit(x, y)
    xs = x[:24]
    m = to_onnx(est, xs[:1], target_opset=TARGET)
    return write_case(out, name, m, [(m.graph.input[0].name, xs)], [est.predict(xs).reshape(-1, 1)])


def pipeline_case(out, zipmap):
    """ColumnTransformer: imputed and scaled numbers, one-hot strings; one input per column."""
    df, y = tabular(300, 7)
    pipe = Pipeline([
        ("prep", ColumnTransformer([
            ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
             ["age", "income"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "plan"]),
        ])),
        ("clf", LogisticRegression(max_iter=1000)),
    ]).fit(df, y)
    xs = df.iloc[:24].copy()
    xs.loc[xs.index[3], "city"] = "marseille"      # a category not seen in training
    types = [("age", FloatTensorType([None, 1])), ("income", FloatTensorType([None, 1])),
             ("city", StringTensorType([None, 1])), ("plan", StringTensorType([None, 1]))]
    m = to_onnx(pipe, initial_types=types, options={id(pipe): {"zipmap": zipmap}}, target_opset=TARGET)
    feeds = [("age", xs["age"].to_numpy(np.float32).reshape(-1, 1)),
             ("income", xs["income"].to_numpy(np.float32).reshape(-1, 1)),
             ("city", xs["city"].to_numpy(object).reshape(-1, 1)),
             ("plan", xs["plan"].to_numpy(object).reshape(-1, 1))]
    name = "pipeline_columns" + ("_zipmap" if zipmap else "")
    return write_case(out, name, m, feeds, [pipe.predict(xs), pipe.predict_proba(xs)])


def svc_decision(est, xs):
    d = est.decision_function(xs)
    return np.stack([d, -d], axis=1) if d.ndim == 1 else d


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    if only in args:
        args.remove(only)
    out = args[0] if args else os.path.join(HERE, "generated")
    os.makedirs(out, exist_ok=True)
    (xc, xb, xr), (yc, yb, yr) = data()
    # the boosting libraries learn where missing values go: train and test with NaNs
    rng = np.random.default_rng(3)
    xcn, xbn, xrn = (np.where(rng.random(a.shape) < 0.1, np.float32(np.nan), a) for a in (xc, xb, xr))
    y_str = np.array(["cat", "dog", "eel"])[yc]
    y_odd = np.array([10, 20, 30])[yc]
    cases = [
        # linear models
        ("logreg_multiclass", lambda n: classifier(out, n, LogisticRegression(max_iter=500), xc, yc)),
        ("logreg_binary", lambda n: classifier(out, n, LogisticRegression(max_iter=500), xb, yb)),
        ("logreg_labels_10_20_30", lambda n: classifier(out, n, LogisticRegression(max_iter=500), xc, y_odd)),
        ("linear_regression", lambda n: regressor(out, n, LinearRegression(), xr, yr)),
        ("ridge", lambda n: regressor(out, n, Ridge(alpha=1.0), xr, yr)),
        # support vector machines
        ("svc_linear_binary", lambda n: classifier(out, n, SVC(kernel="linear", probability=True, random_state=0), xb, yb)),
        ("svc_rbf_binary", lambda n: classifier(out, n, SVC(kernel="rbf", probability=True, random_state=0), xb, yb)),
        ("svc_linear_multiclass", lambda n: classifier(out, n, SVC(kernel="linear", probability=True, random_state=0), xc, yc)),
        ("svc_rbf_multiclass", lambda n: classifier(out, n, SVC(kernel="rbf", probability=True, random_state=0), xc, yc)),
        ("svc_rbf_decision", lambda n: classifier(out, n, SVC(kernel="rbf", random_state=0), xc, yc,
                                                  probability=False, decision=svc_decision)),
        ("svr_linear", lambda n: regressor(out, n, SVR(kernel="linear", C=10.0), xr, yr)),
        ("svr_rbf", lambda n: regressor(out, n, SVR(kernel="rbf", C=10.0, gamma=0.1), xr, yr / 100)),
        # trees
        ("decision_tree_classifier", lambda n: classifier(out, n, DecisionTreeClassifier(max_depth=5, random_state=0), xc, yc)),
        ("decision_tree_string_labels", lambda n: classifier(out, n, DecisionTreeClassifier(max_depth=5, random_state=0), xc, y_str)),
        ("decision_tree_regressor", lambda n: regressor(out, n, DecisionTreeRegressor(max_depth=6, random_state=0), xr, yr)),
        ("random_forest_classifier", lambda n: classifier(out, n, RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0), xc, yc)),
        ("random_forest_binary", lambda n: classifier(out, n, RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0), xb, yb)),
        ("random_forest_regressor", lambda n: regressor(out, n, RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0), xr, yr)),
        ("gradient_boosting_binary", lambda n: classifier(out, n, GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0), xb, yb)),
        ("gradient_boosting_multiclass", lambda n: classifier(out, n, GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=0), xc, yc)),
        ("gradient_boosting_regressor", lambda n: regressor(out, n, GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0), xr, yr)),
        ("hist_gradient_boosting_binary", lambda n: classifier(out, n, HistGradientBoostingClassifier(max_iter=20, random_state=0), xbn, yb)),
        ("hist_gradient_boosting_multiclass", lambda n: classifier(out, n, HistGradientBoostingClassifier(max_iter=15, random_state=0), xcn, yc)),
        ("hist_gradient_boosting_regressor", lambda n: regressor(out, n, HistGradientBoostingRegressor(max_iter=20, random_state=0), xrn, yr)),
        ("lightgbm_binary", lambda n: classifier(out, n, lightgbm.LGBMClassifier(n_estimators=20, num_leaves=15, random_state=0, n_jobs=1, verbose=-1), xbn, yb)),
        ("lightgbm_multiclass", lambda n: classifier(out, n, lightgbm.LGBMClassifier(n_estimators=15, num_leaves=15, random_state=0, n_jobs=1, verbose=-1), xcn, yc)),
        ("lightgbm_regressor", lambda n: regressor(out, n, lightgbm.LGBMRegressor(n_estimators=20, num_leaves=15, random_state=0, n_jobs=1, verbose=-1), xrn, yr)),
        ("xgboost_binary", lambda n: classifier(out, n, xgboost.XGBClassifier(n_estimators=20, max_depth=4, random_state=0, n_jobs=1), xbn, yb)),
        ("xgboost_multiclass", lambda n: classifier(out, n, xgboost.XGBClassifier(n_estimators=15, max_depth=4, random_state=0, n_jobs=1), xcn, yc)),
        ("xgboost_regressor", lambda n: regressor(out, n, xgboost.XGBRegressor(n_estimators=20, max_depth=4, random_state=0, n_jobs=1), xrn, yr)),
        # a neural network and a pipeline
        ("mlp_classifier", lambda n: classifier(out, n, MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=800, random_state=0), xc, yc)),
        ("pipeline_columns", lambda n: pipeline_case(out, False) & pipeline_case(out, True)),
    ]
    bad = 0
    for name, make in cases:
        if only and only not in name:
            continue
        try:
            bad += not make(name)
        except Exception as e:  # noqa: BLE001
            bad += 1
            print("%-44s FAILED: %s" % (name, str(e)[:300]))
    print("%d case groups, %d with the library and onnxruntime disagreeing" % (len(cases), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
