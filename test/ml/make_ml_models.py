#!/usr/bin/env python3
"""Train small scikit-learn models, convert them with skl2onnx and write each
as an ONNX node-test directory (model.onnx, test_data_set_0/input_0.pb,
output_N.pb) with onnxruntime's outputs as the expected values; the
original library's predictions are written beside them (sklearn_*.npy) and
checked against onnxruntime here (labels exact, probabilities and values
rtol 1e-4).  Deterministic (seeded); ~10 s.

    .venv/bin/python test/ml/make_ml_models.py [OUTDIR]   (default test/ml/generated)
"""
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
from skl2onnx import to_onnx
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))


def write_case(out, name, model_proto, x, lib_outputs):
    d = os.path.join(out, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    onnx.save(model_proto, os.path.join(d, "model.onnx"))
    sess = ort.InferenceSession(model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
    iname = sess.get_inputs()[0].name
    outs = sess.run(None, {iname: x})
    with open(os.path.join(d, "test_data_set_0", "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x, iname).SerializeToString())
    for k, (o, y) in enumerate(zip(sess.get_outputs(), outs)):
        if isinstance(y, list):            # ZipMap: a sequence of maps
            seq = onnx.SequenceProto()
            seq.elem_type = onnx.SequenceProto.MAP
            for m in y:
                mp = seq.map_values.add()
                keys = list(m.keys())
                if isinstance(keys[0], str):
                    mp.key_type = onnx.TensorProto.STRING
                    mp.string_keys.extend(k_.encode() for k_ in keys)
                else:
                    mp.key_type = onnx.TensorProto.INT64
                    mp.keys.extend(int(k_) for k_ in keys)
                vals = mp.values                 # one scalar tensor per key
                vals.elem_type = onnx.SequenceProto.TENSOR
                for k_ in keys:
                    vals.tensor_values.append(numpy_helper.from_array(np.array(m[k_], np.float32)))
            data = seq.SerializeToString()
        else:
            data = numpy_helper.from_array(np.asarray(y), o.name).SerializeToString()
        with open(os.path.join(d, "test_data_set_0", "output_%d.pb" % k), "wb") as f:
            f.write(data)
    # the library against onnxruntime
    label_ok = True
    for key, ref in lib_outputs.items():
        np.save(os.path.join(d, "sklearn_%s.npy" % key), ref)
        got = outs[0] if key in ("label", "value") else outs[1]
        if isinstance(got, list):
            got = np.array([[m[k_] for k_ in sorted(m)] for m in got])
        if key == "label":
            label_ok &= bool(np.array_equal(np.asarray(got).ravel(), ref.ravel()))
        else:
            label_ok &= bool(np.allclose(np.asarray(got, np.float64).reshape(ref.shape), ref, rtol=1e-4, atol=1e-5))
    return label_ok


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "generated")
    os.makedirs(out, exist_ok=True)
    xc, yc = make_classification(n_samples=200, n_features=6, n_informative=4, n_classes=3, random_state=0)
    xb, yb = make_classification(n_samples=200, n_features=6, n_informative=4, n_classes=2, random_state=1)
    xr, yr = make_regression(n_samples=200, n_features=6, noise=0.1, random_state=2)
    xc, xb, xr = (a.astype(np.float32) for a in (xc, xb, xr))
    classifiers = [
        ("logreg_multiclass", LogisticRegression(max_iter=500), xc, yc),
        ("logreg_binary", LogisticRegression(max_iter=500), xb, yb),
        ("decision_tree_classifier", DecisionTreeClassifier(max_depth=5, random_state=0), xc, yc),
        ("random_forest_classifier", RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0), xc, yc),
        ("gradient_boosting_binary", GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0), xb, yb),
        ("gradient_boosting_multiclass", GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=0), xc, yc),
    ]
    regressors = [
        ("linear_regression", LinearRegression(), xr, yr),
        ("ridge", Ridge(alpha=1.0), xr, yr),
        ("decision_tree_regressor", DecisionTreeRegressor(max_depth=6, random_state=0), xr, yr),
        ("random_forest_regressor", RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0), xr, yr),
        ("gradient_boosting_regressor", GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0), xr, yr),
    ]
    bad = 0
    for name, est, x, y in classifiers:
        est.fit(x, y)
        xs = x[:20]
        lib = {"label": est.predict(xs).astype(np.int64), "probabilities": est.predict_proba(xs)}
        for zip_ in (False, True):
            opts = {id(est): {"zipmap": zip_}}
            m = to_onnx(est, xs[:1], options=opts, target_opset={"": 17, "ai.onnx.ml": 3})
            ok = write_case(out, name + ("_zipmap" if zip_ else ""), m, xs, lib)
            bad += not ok
            print("%-40s onnxruntime %s scikit-learn" % (name + ("_zipmap" if zip_ else ""), "matches" if ok else "DIFFERS from"))
    for name, est, x, y in regressors:
        est.fit(x, y)
        xs = x[:20]
        m = to_onnx(est, xs[:1], target_opset={"": 17, "ai.onnx.ml": 3})
        ok = write_case(out, name, m, xs, {"value": est.predict(xs).reshape(-1, 1)})
        bad += not ok
        print("%-40s onnxruntime %s scikit-learn" % (name, "matches" if ok else "DIFFERS from"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
