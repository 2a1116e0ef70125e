#!/usr/bin/env python3
"""Every generated classical-ML case (test/ml/generated/<case>/, in the ONNX
node-test layout: model.onnx, test_data_set_K/input_N.pb, output_N.pb,
made by test/ml/make_ml_models.py) scored through SQL with onnx_run (one
input per column for the multi-input pipelines) and compared with the
expected outputs of every data set: set 0 holds onnxruntime's outputs, set 1
the original library's (scikit-learn, LightGBM, XGBoost).  Labels and
integers exact, floats to rtol 1e-4 (atol 1e-5), ZipMap outputs key by key.
Prints one check per case and data set; no cases generated is reported and
counts as one failure."""
import glob
import json
import os

import numpy as np
import onnx
from onnx import numpy_helper

from common import ROOT, Tally, fresh_database

GEN = os.path.join(ROOT, "test", "ml", "generated")
DTYPE_NAMES = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64", np.dtype(np.int64): "int64",
               np.dtype(np.int32): "int32", np.dtype(np.bool_): "bool", np.dtype(np.uint8): "uint8"}


def load_pb(path, kind):
    data = open(path, "rb").read()
    if kind == "tensor":
        t = onnx.TensorProto()
        t.ParseFromString(data)
        return numpy_helper.to_array(t)
    s = onnx.SequenceProto()
    s.ParseFromString(data)
    return numpy_helper.to_list(s)


def to_json(arr):
    if arr.dtype.kind in ("U", "S", "O"):
        return {"dtype": "string", "shape": list(arr.shape), "data": [str(v) for v in arr.ravel()]}
    return {"dtype": DTYPE_NAMES.get(arr.dtype, "float32"), "shape": list(arr.shape),
            "data": [v if np.isfinite(v) else ("NaN" if np.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))
                     for v in arr.astype(np.float64).ravel().tolist()] if arr.dtype.kind == "f"
            else arr.ravel().tolist()}


def close(got, exp):
    """got: onnx_run JSON value; exp: numpy array or list of dicts."""
    if isinstance(exp, list):
        if not isinstance(got, list) or len(got) != len(exp):
            return False
        for g, e in zip(got, exp):
            ek = {(k.decode() if isinstance(k, bytes) else str(k)): v for k, v in e.items()}
            if set(g.keys()) != set(ek.keys()):
                return False
            if not all(abs(float(g[k]) - float(ek[k])) <= 1e-5 + 1e-4 * abs(float(ek[k])) for k in ek):
                return False
        return True
    data = got["data"]
    if list(got["shape"]) != list(exp.shape):
        return False
    if exp.dtype.kind in ("U", "S", "O"):
        return [str(v) for v in data] == [v.decode() if isinstance(v, bytes) else str(v) for v in exp.ravel()]
    if exp.dtype.kind in ("i", "u", "b"):
        return [int(v) for v in data] == [int(v) for v in exp.ravel()]
    g = np.array([float(v) for v in data])
    return bool(np.allclose(g, exp.astype(np.float64).ravel(), rtol=1e-4, atol=1e-5, equal_nan=True))


def main():
    t = Tally()
    cases = sorted(d for d in glob.glob(os.path.join(GEN, "*")) if os.path.exists(os.path.join(d, "model.onnx")))
    if not cases:
        t.check(False, "generated ML cases exist in test/ml/generated (run test/ml/make_ml_models.py)")
        t.finish()
    connect = fresh_database("onnx_ml_sql")
    c = connect()
    for d in cases:
        name = os.path.basename(d)
        m = onnx.load(os.path.join(d, "model.onnx"))
        inits = {i.name for i in m.graph.initializer}
        ins = [i for i in m.graph.input if i.name not in inits]
        outs = list(m.graph.output)
        try:
            c.execute("SELECT onnx_create_model(%s, %s)", (name, open(os.path.join(d, "model.onnx"), "rb").read()))
            feed = {}
            for k, vi in enumerate(ins):
                p = os.path.join(d, "test_data_set_0", "input_%d.pb" % k)
                feed[vi.name] = to_json(load_pb(p, "tensor"))
            got = c.execute("SELECT onnx_run(%s, %s::jsonb)", (name, json.dumps(feed))).fetchone()[0]
            k = 0
            while os.path.isdir(os.path.join(d, "test_data_set_%d" % k)):
                ok = True
                for j, vo in enumerate(outs):
                    p = os.path.join(d, "test_data_set_%d" % k, "output_%d.pb" % j)
                    if not os.path.exists(p):
                        continue
                    kind = "seq" if vo.type.HasField("sequence_type") else "tensor"
                    if not close(got[vo.name], load_pb(p, kind)):
                        ok = False
                        print("# %s: output %s differs from data set %d" % (name, vo.name, k))
                t.check(ok, "%s through SQL matches %s" % (name, "onnxruntime" if k == 0 else
                                                           "the library" if k == 1 else "data set %d" % k))
                k += 1
        except Exception as e:  # noqa: BLE001
            t.check(False, "%s through SQL" % name, str(e)[:300])
    t.finish()


if __name__ == "__main__":
    main()
