#!/usr/bin/env python3
"""A multi-input tabular model scored straight from table rows.

Trains a scikit-learn Pipeline(ColumnTransformer(SimpleImputer +
StandardScaler on the numeric columns, OneHotEncoder on the string
columns), LogisticRegression) on a pandas DataFrame, converts it with
skl2onnx (one input per column, string inputs for the categorical ones,
ZipMap on the probabilities, the converter's default), stores it, and
scores a table of the same columns through SQL:

  - onnx_run_row('pipeline', c) for every row of the table;
  - onnx_score('pipeline', 'SELECT ... FROM customers') in one statement.

Labels must equal scikit-learn's and onnxruntime's exactly; probabilities
must match both to rtol 1e-4.  The table also holds NaN incomes (imputed),
categories never seen in training (all-zero one-hot, as
handle_unknown='ignore' says), and a row with a SQL NULL (its outputs are
NULL, the statement goes on).

A second model takes its categorical columns as one text[] input, has
string class labels and no ZipMap (zipmap=False): labels come back as
text from onnx_score and as JSON strings from onnx_run_row and onnx_run."""
import json

import numpy as np
import onnxruntime as ort
import pandas as pd
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from common import Tally, fresh_database

N_TRAIN = 300
N_SCORE = 120


def make_frame(rng, n):
    """n customers: two float columns and two string columns."""
    df = pd.DataFrame({
        "age": rng.uniform(18, 80, n).astype(np.float32),
        "income": rng.normal(50, 15, n).astype(np.float32),
        "plan": rng.choice(["basic", "plus", "pro"], n),
        "region": rng.choice(["north", "south", "east", "west"], n),
    })
    return df


def train():
    """The fitted pipeline, its ONNX bytes, and the rows to score."""
    rng = np.random.default_rng(7)
    df = make_frame(rng, N_TRAIN)
    df.loc[::13, "income"] = np.nan
    y = ((df.age / 80 + (df.plan == "pro") * 0.4 - (df.region == "east") * 0.3
          + rng.normal(0, 0.2, N_TRAIN)) > 0.7).astype(np.int64)
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    columns = ColumnTransformer([("num", numeric, ["age", "income"]),
                                 ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan", "region"])])
    pipe = Pipeline([("columns", columns), ("clf", LogisticRegression())]).fit(df, y)
    onx = to_onnx(pipe, initial_types=[("age", FloatTensorType([None, 1])),
                                       ("income", FloatTensorType([None, 1])),
                                       ("plan", StringTensorType([None, 1])),
                                       ("region", StringTensorType([None, 1]))],
                  target_opset={"": 17, "ai.onnx.ml": 3})
    score = make_frame(rng, N_SCORE)
    score.loc[::9, "income"] = np.nan            # imputed
    score.loc[5, "plan"] = "enterprise"          # unseen category
    score.loc[11, "region"] = "mars"             # unseen category
    return pipe, onx.SerializeToString(), score


def references(pipe, model_bytes, df):
    """Labels and class-1 probabilities from scikit-learn and onnxruntime."""
    sk_label = pipe.predict(df)
    sk_prob = pipe.predict_proba(df)
    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    feed = {c: df[c].to_numpy().reshape(-1, 1) for c in ("age", "income")}
    feed.update({c: df[c].to_numpy().astype(object).reshape(-1, 1) for c in ("plan", "region")})
    feed = {k: (v.astype(np.float32) if k in ("age", "income") else v) for k, v in feed.items()}
    ort_label, ort_maps = sess.run(None, feed)
    ort_prob = np.array([[m[0], m[1]] for m in ort_maps])
    return sk_label, sk_prob, ort_label, ort_prob


def string_label_model():
    """OneHotEncoder + LogisticRegression on a (N, 2) string input with
    string labels, converted with zipmap=False; the pipeline, bytes, rows."""
    rng = np.random.default_rng(3)
    x = np.stack([rng.choice(["a", "b", "c"], 200), rng.choice(["x", "y"], 200)], 1)
    y = np.where((x[:, 0] == "a") | (x[:, 1] == "y"), "churn", "stay")
    pipe = Pipeline([("onehot", OneHotEncoder(handle_unknown="ignore")), ("clf", LogisticRegression())]).fit(x, y)
    onx = to_onnx(pipe, initial_types=[("cats", StringTensorType([None, 2]))],
                  options={id(pipe.steps[-1][1]): {"zipmap": False}},
                  target_opset={"": 17, "ai.onnx.ml": 3})
    return pipe, onx.SerializeToString(), x[:40]


def check_string_labels(t, c):
    """text[] in, string labels out, through onnx_score, onnx_run_row and onnx_run."""
    pipe, model_bytes, x = string_label_model()
    expected = [str(v) for v in pipe.predict(x)]
    prob = pipe.predict_proba(x)
    c.execute("SELECT onnx_create_model('string_labels', %s)", (model_bytes,))
    c.execute("CREATE TABLE answers (id int, cats text[])")
    for i, row in enumerate(x):
        c.execute("INSERT INTO answers VALUES (%s, %s)", (i, [str(v) for v in row]))
    rows = c.execute("SELECT label, probabilities FROM onnx_score('string_labels', "
                     "'SELECT id, cats FROM answers ORDER BY id') "
                     "AS s(id int, cats text[], label text, probabilities float4[]) ORDER BY id").fetchall()
    t.check([r[0] for r in rows] == expected and close([r[1] for r in rows], prob),
            "onnx_score: text[] input, string labels as text, probabilities as float4[]")
    got = c.execute("SELECT onnx_run_row('string_labels', a) ->> 'label' FROM answers a ORDER BY id").fetchall()
    t.check([r[0] for r in got] == expected, "onnx_run_row: string labels as JSON strings")
    got = c.execute("SELECT onnx_run('string_labels', %s::jsonb)",
                    (json.dumps({"cats": {"dtype": "string", "shape": [len(x), 2],
                                          "data": [str(v) for v in x.ravel()]}}),)).fetchone()[0]
    t.check(got["label"]["dtype"] == "string" and got["label"]["data"] == expected,
            "onnx_run: a (N, 2) string tensor in, string labels out")


def close(a, b):
    return bool(np.allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                            rtol=1e-4, atol=1e-6))


def main():
    t = Tally()
    pipe, model_bytes, df = train()
    sk_label, sk_prob, ort_label, ort_prob = references(pipe, model_bytes, df)
    t.check(list(sk_label) == list(ort_label) and close(sk_prob, ort_prob),
            "scikit-learn and onnxruntime agree on the pipeline (sanity of the references)")

    connect = fresh_database("onnx_pipeline_row")
    c = connect()
    c.execute("SELECT onnx_create_model('pipeline', %s)", (model_bytes,))
    c.execute("CREATE TABLE customers (id int PRIMARY KEY, age float4, income float4, "
              "plan text, region text)")
    with c.cursor() as cur:
        with cur.copy("COPY customers FROM STDIN") as cp:
            for i, r in df.iterrows():
                cp.write_row((i, float(r.age), "NaN" if np.isnan(r.income) else float(r.income),
                              r.plan, r.region))
    null_id = N_SCORE
    c.execute("INSERT INTO customers VALUES (%s, 40, NULL, 'basic', 'north')", (null_id,))

    # onnx_run_row: one row at a time, outputs by name
    rows = c.execute("SELECT id, onnx_run_row('pipeline', c) FROM customers c ORDER BY id").fetchall()
    got = {i: v for i, v in rows}
    labels = [got[i]["output_label"] for i in range(N_SCORE)]
    probs = [[got[i]["output_probability"]["0"], got[i]["output_probability"]["1"]] for i in range(N_SCORE)]
    t.check(labels == [int(v) for v in sk_label], "onnx_run_row labels equal scikit-learn's")
    t.check(labels == [int(v) for v in ort_label], "onnx_run_row labels equal onnxruntime's")
    t.check(close(probs, sk_prob), "onnx_run_row probabilities match scikit-learn to rtol 1e-4")
    t.check(close(probs, ort_prob), "onnx_run_row probabilities match onnxruntime to rtol 1e-4")
    t.check(got[null_id] is None, "a row with a NULL column gives NULL from onnx_run_row")
    imputed = [i for i in range(N_SCORE) if np.isnan(df.income[i])]
    t.check(len(imputed) > 5 and all(got[i]["output_label"] == int(sk_label[i]) for i in imputed),
            "NaN incomes are imputed as scikit-learn does (%d rows)" % len(imputed))
    t.check(close(probs[5], sk_prob[5]) and close(probs[11], sk_prob[11]),
            "unseen categories score as with handle_unknown='ignore'")

    # onnx_score: the whole table in batches, label as int8 and the map as jsonb
    rows = c.execute(
        "SELECT id, label, prob FROM onnx_score('pipeline', "
        "'SELECT id, age, income, plan, region FROM customers ORDER BY id') "
        "AS s(id int, age float4, income float4, plan text, region text, label int8, prob jsonb) "
        "ORDER BY id").fetchall()
    t.check(len(rows) == N_SCORE + 1, "onnx_score returns every row (%d)" % len(rows))
    s_labels = [r[1] for r in rows[:N_SCORE]]
    s_probs = [[r[2]["0"], r[2]["1"]] for r in rows[:N_SCORE]]
    t.check(s_labels == [int(v) for v in sk_label] and close(s_probs, sk_prob),
            "onnx_score matches scikit-learn (labels exact, probabilities rtol 1e-4)")
    t.check(rows[N_SCORE][1] is None and rows[N_SCORE][2] is None,
            "onnx_score gives NULL outputs for the row with a NULL")

    # a table whose columns do not carry the model's input names: a clear error
    c.execute("CREATE TABLE other (age float4, salary float4, plan text, region text)")
    c.execute("INSERT INTO other VALUES (30, 50, 'basic', 'north')")
    try:
        c.execute("SELECT onnx_run_row('pipeline', o) FROM other o").fetchall()
        t.check(False, "a row without a column for input \"income\" is refused")
    except Exception as e:  # noqa: BLE001
        t.check('"income"' in str(e), "a row without a column for input \"income\" is refused", str(e))
    # a text column where the model wants floats
    c.execute("CREATE TABLE wrong (age text, income float4, plan text, region text)")
    c.execute("INSERT INTO wrong VALUES ('thirty', 50, 'basic', 'north')")
    try:
        c.execute("SELECT onnx_run_row('pipeline', w) FROM wrong w").fetchall()
        t.check(False, "a text column bound to a float input is refused")
    except Exception as e:  # noqa: BLE001
        t.check("age" in str(e), "a text column bound to a float input is refused", str(e))
    print("# example row: %s" % json.dumps(got[0]))
    check_string_labels(t, c)
    t.finish()


if __name__ == "__main__":
    main()
