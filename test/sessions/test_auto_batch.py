#!/usr/bin/env python3
"""Auto-batching (issue 15): per-row calls of onnx_predict, onnx_run and
onnx_run_row in ordinary queries run through the OnnxBatch node, and give
what the per-row calls give.

Every query runs twice in one session, with onnx.auto_batch on and off,
and the results must be equal bit for bit (floats compared as their
exact text), the errors equal in SQLSTATE, message and detail.  With
auto_batch on, EXPLAIN must show the node where the query can be batched
and must not where it falls back.  onnx.batch_size is small (16) so that
the tables span many batches and LIMITs stop in the middle of one.

Covered: target lists, a named output, filters on the prediction (alone
and with other filters before and after), ORDER BY / LIMIT / OFFSET,
GROUP BY and aggregates above, several calls and models in one query,
joins, LATERAL (rescans), subqueries, CTEs, UNION ALL, window functions,
DISTINCT, set-returning functions beside the calls, INSERT ... SELECT,
UPDATE ... FROM, UPDATE ... SET, DELETE ... WHERE, CREATE TABLE AS,
cursors (also SCROLL and backward fetches), prepared statements (custom
and generic plans, the model as a parameter), PL/pgSQL (loops, RETURN
QUERY, a variable as the model), parallel plans (Gather, workers run the
node), onnx_run with JSON (object and nested forms, selected outputs),
onnx_run_row with a multi-input pipeline (NULL fields, unseen
categories, ZipMap), ZipMap through onnx_predict; NULL inputs, arrays
with NULL elements, rows of the wrong size, rows with two samples, JSON
that does not parse, a missing model, a missing output, no privilege,
errors after a LIMIT's last row, errors in filters ordered with other
filters, a model whose output is not one row per input row, cancel and
statement_timeout inside a batch, memory bounded by the batch.  The
fallbacks: volatile arguments, a model name per row, calls under CASE.

The 256-wide MLP of the benchmark is compared too: bit for bit equality
there rests on the engine's matrix product being row-invariant (a row
gets the same bits alone and in a block, engine/src/gemm.h)."""
import os
import threading
import time

import numpy as np
import psycopg
from onnx import TensorProto, helper, numpy_helper

from common import ROOT, Tally, fixture_bytes, fresh_database

t = Tally()
N = 300


# ---- models -----------------------------------------------------------------

def model_bytes(graph, ml=False):
    opsets = [helper.make_opsetid("", 17)]
    if ml:
        opsets.append(helper.make_opsetid("ai.onnx.ml", 3))
    m = helper.make_model(graph, opset_imports=opsets)
    m.ir_version = 8
    return m.SerializeToString()


def forest_model(n_trees=40, depth=5, features=6, targets=2, seed=1):
    """TreeEnsembleRegressor: random complete trees, X (N, features) -> Y (N, targets)."""
    rng = np.random.default_rng(seed)
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values",
                         "nodes_modes", "nodes_truenodeids", "nodes_falsenodeids",
                         "target_treeids", "target_nodeids", "target_ids", "target_weights")}
    for tree in range(n_trees):
        n_nodes = 2 ** (depth + 1) - 1
        for i in range(n_nodes):
            a["nodes_treeids"].append(tree)
            a["nodes_nodeids"].append(i)
            if i < 2 ** depth - 1:
                a["nodes_featureids"].append(int(rng.integers(features)))
                a["nodes_values"].append(float(rng.normal()))
                a["nodes_modes"].append("BRANCH_LEQ")
                a["nodes_truenodeids"].append(2 * i + 1)
                a["nodes_falsenodeids"].append(2 * i + 2)
            else:
                a["nodes_featureids"].append(0)
                a["nodes_values"].append(0.0)
                a["nodes_modes"].append("LEAF")
                a["nodes_truenodeids"].append(0)
                a["nodes_falsenodeids"].append(0)
                a["target_treeids"].append(tree)
                a["target_nodeids"].append(i)
                a["target_ids"].append(int(rng.integers(targets)))
                a["target_weights"].append(float(rng.normal() / 10))
    node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain="ai.onnx.ml",
                            n_targets=targets, **a)
    g = helper.make_graph([node], "forest",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", features])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", targets])])
    return model_bytes(g, ml=True)


def mixing_model():
    """y = ReduceSum(x, axis 0), declared (N, 4): the output is not one row per input row."""
    axes = numpy_helper.from_array(np.array([0], dtype=np.int64), "axes")
    g = helper.make_graph([helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=1)], "mixing",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], [axes])
    return model_bytes(g)


def slow_model(width=1024, layers=40):
    """x (N, width) through `layers` MatMuls with one weight: ~84 MFLOP per row."""
    w = (np.random.default_rng(2).standard_normal((width, width)) / np.sqrt(width)).astype(np.float32)
    nodes, prev = [], "x"
    for i in range(layers):
        out = "y" if i == layers - 1 else "h%d" % i
        nodes.append(helper.make_node("MatMul", [prev, "w"], [out]))
        prev = out
    g = helper.make_graph(nodes, "slow_rows",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", width])],
                          [numpy_helper.from_array(w, "w")])
    return model_bytes(g)


def sklearn_models():
    """A ColumnTransformer pipeline (one input per column, ZipMap) and a
    gradient-boosted classifier (ZipMap), converted with skl2onnx."""
    import pandas as pd
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(7)
    df = pd.DataFrame({"age": rng.uniform(18, 80, 200).astype(np.float32),
                       "income": rng.normal(50, 15, 200).astype(np.float32),
                       "plan": rng.choice(["basic", "plus", "pro"], 200)})
    y = ((df.age / 80 + (df.plan == "pro") * 0.4 + rng.normal(0, 0.2, 200)) > 0.7).astype(np.int64)
    cols = ColumnTransformer([("num", StandardScaler(), ["age", "income"]),
                              ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])])
    pipe = Pipeline([("cols", cols), ("clf", LogisticRegression())]).fit(df, y)
    pipe_onnx = to_onnx(pipe, initial_types=[("age", FloatTensorType([None, 1])),
                                             ("income", FloatTensorType([None, 1])),
                                             ("plan", StringTensorType([None, 1]))],
                        target_opset={"": 17, "ai.onnx.ml": 3})
    x = rng.normal(size=(200, 6)).astype(np.float32)
    gb = GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0).fit(
        x, (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64) + (x[:, 3] > 1))
    gb_onnx = to_onnx(gb, x[:1], target_opset={"": 17, "ai.onnx.ml": 3})
    return pipe_onnx.SerializeToString(), gb_onnx.SerializeToString()


# ---- comparing auto-batched and per-row results -----------------------------

def plan_of(c, q, params=None):
    return "\n".join(r[0] for r in c.execute("EXPLAIN (COSTS OFF) " + q, params).fetchall())


def run(c, q, params=None):
    """('rows', rows) or ('error', (sqlstate, message, detail))."""
    try:
        cur = c.execute(q, params)
        return ("rows", cur.fetchall() if cur.description else cur.rowcount)
    except psycopg.Error as e:
        d = e.diag
        return ("error", (e.sqlstate, d.message_primary, d.message_detail))


def both(c, q, params=None, setup=None):
    """The query's outcome with auto_batch on and off (setup runs before each)."""
    out = {}
    for mode in ("on", "off"):
        c.execute("SET onnx.auto_batch = " + mode)
        if setup:
            setup(c)
        out[mode] = run(c, q, params)
    c.execute("SET onnx.auto_batch = on")
    return out["on"], out["off"]


def same(c, q, name, params=None, batched=True, setup=None, error=False):
    """Equal outcomes; the node in the plan iff batched; an error iff error."""
    if setup:
        setup(c)
    plan = plan_of(c, q, params) if q.lstrip().upper().startswith(("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")) else ""
    on, off = both(c, q, params, setup)
    ok = on == off and (on[0] == "error") == error
    if plan:
        ok = ok and (("OnnxBatch" in plan) == batched)
    detail = ""
    if not ok:
        detail = "on=%s off=%s plan=%s" % (str(on)[:300], str(off)[:300], plan.replace("\n", " | ")[:400])
    t.check(ok, name, detail)
    return on


def main():
    pipe_bytes, gb_bytes = sklearn_models()
    connect = fresh_database("onnx_auto_batch")
    c = connect()
    c.prepare_threshold = None     # plans cached by the client would keep one setting
    c.execute("SET extra_float_digits = 3")
    c.execute("SET onnx.batch_size = 16")
    c.execute("SELECT onnx_create_model('lin', %s)", (fixture_bytes("linear.onnx"),))
    c.execute("SELECT onnx_create_model('forest', %s)", (forest_model(),))
    c.execute("SELECT onnx_create_model('pipe', %s)", (pipe_bytes,))
    c.execute("SELECT onnx_create_model('gb', %s)", (gb_bytes,))
    c.execute("SELECT onnx_create_model('mixing', %s)", (mixing_model(),))
    c.execute("""CREATE TABLE t AS SELECT g AS id, g %% 5 AS grp,
                   ARRAY[sin(g), cos(g), sin(2 * g), cos(3 * g)]::float4[] AS f,
                   ARRAY[sin(g), cos(g), sin(2 * g), cos(3 * g), sin(5 * g), g / 100.0]::float4[] AS f6
                 FROM generate_series(1, %d) g""" % N)
    c.execute("UPDATE t SET f = NULL WHERE id % 37 = 0")
    c.execute("UPDATE t SET f6 = NULL WHERE id % 41 = 0")
    c.execute("CREATE TABLE u AS SELECT id, grp, f FROM t WHERE id <= 60")
    c.execute("ANALYZE t")
    c.execute("ANALYZE u")

    # -- target lists, outputs, filters --------------------------------------
    same(c, "SELECT id, onnx_predict('lin', f) FROM t ORDER BY id", "target list, NULL inputs give NULL")
    same(c, "SELECT id, onnx_predict('lin', f, 'output') FROM t ORDER BY id", "a named output")
    same(c, "SELECT id, (onnx_predict('forest', f6))[2] AS p FROM t ORDER BY id", "a tree ensemble")
    same(c, "SELECT id FROM t WHERE (onnx_predict('lin', f))[1] > 0 ORDER BY id", "a filter on the prediction")
    same(c, "SELECT id, onnx_predict('forest', f6) FROM t WHERE (onnx_predict('lin', f))[1] > 0 "
            "AND id % 3 <> 0 AND (onnx_predict('lin', f))[2] < 1 ORDER BY id",
         "filters before and after the call, two models")
    same(c, "SELECT id, onnx_predict('lin', f) FROM t WHERE id % 2 = 0 AND (onnx_predict('lin', f))[1] > 0 "
            "ORDER BY id", "a plain filter first, then the prediction; the same call in the target list")
    same(c, "SELECT id, onnx_predict('lin', f)::numeric(10, 3)[], onnx_predict('lin', f)::text[] FROM t ORDER BY id",
         "an array coercion of the result (its element expression stays with it)")
    same(c, "SELECT id, CASE (onnx_predict('lin', f))[1] > 0 WHEN true THEN 'pos' WHEN false THEN 'neg' END "
            "FROM t ORDER BY id", "a CASE on the prediction (its test value stays with it)")
    same(c, "SELECT id, onnx_predict('lin', f), onnx_predict('lin', f, 'output'), onnx_predict('forest', f6), "
            "(onnx_predict('lin', f))[3] * 2 + id FROM t ORDER BY id", "several calls and models in one target list")
    # ORDER BY / LIMIT / OFFSET / GROUP BY / window / DISTINCT
    same(c, "SELECT id, onnx_predict('lin', f) FROM t ORDER BY (onnx_predict('lin', f))[1] NULLS FIRST, id",
         "ORDER BY the prediction")
    same(c, "SELECT id, onnx_predict('lin', f) FROM t LIMIT 37", "a LIMIT that stops in the middle of a batch")
    same(c, "SELECT id, onnx_predict('lin', f) FROM t ORDER BY id LIMIT 10 OFFSET 25", "ORDER BY, LIMIT, OFFSET")
    same(c, "SELECT grp, count(*), sum((onnx_predict('lin', f))[1]) FROM t GROUP BY grp ORDER BY grp",
         "GROUP BY above, the call in an aggregate's argument")
    same(c, "SELECT (onnx_predict('lin', f))[1] > 0 AS pos, count(*) FROM t GROUP BY 1 ORDER BY 1",
         "GROUP BY the prediction")
    same(c, "SELECT grp, count(*) FILTER (WHERE (onnx_predict('lin', f))[1] > 0) FROM t GROUP BY grp ORDER BY grp",
         "an aggregate FILTER on the prediction (per row)", batched=False)
    same(c, "SELECT id, rank() OVER (PARTITION BY grp ORDER BY (onnx_predict('lin', f))[2], id) FROM t ORDER BY id",
         "a window over the prediction")
    same(c, "SELECT DISTINCT (onnx_predict('forest', f6))[1] > 0 FROM t ORDER BY 1", "DISTINCT")
    same(c, "SELECT id, generate_series(1, 2), onnx_predict('lin', f) FROM t ORDER BY id, 2",
         "a set-returning function beside the call (evaluated per output row: per row)", batched=False)
    # joins, lateral, subqueries, CTEs, unions
    same(c, "SELECT t.id, onnx_predict('lin', t.f), onnx_predict('lin', u.f) FROM t JOIN u ON t.grp = u.grp "
            "WHERE u.id < 20 ORDER BY 1, 2", "a join, calls on both sides")
    same(c, "SELECT u.id, s.p FROM u, LATERAL (SELECT onnx_predict('lin', t.f) AS p FROM t WHERE t.grp = u.grp "
            "ORDER BY t.id LIMIT 3) s ORDER BY 1, 2", "LATERAL: the node rescanned per outer row")
    same(c, "SELECT id, (SELECT onnx_predict('lin', u.f) FROM u WHERE u.id = t.id) FROM t ORDER BY id",
         "a correlated subquery")
    same(c, "WITH s AS MATERIALIZED (SELECT id, onnx_predict('lin', f) AS p FROM t) "
            "SELECT * FROM s WHERE p[1] > 0 ORDER BY id", "a materialized CTE")
    same(c, "SELECT id, onnx_predict('lin', f) FROM t WHERE id < 50 UNION ALL "
            "SELECT id, onnx_predict('lin', f) FROM u ORDER BY 1, 2", "UNION ALL")

    # -- writing -------------------------------------------------------------
    def fresh_copy(cc):
        cc.execute("DROP TABLE IF EXISTS w")
        cc.execute("CREATE TABLE w AS SELECT id, grp, f, f6, NULL::float4[] AS p, NULL::float4 AS q FROM t")
    same(c, "INSERT INTO w (id, p) SELECT id, onnx_predict('lin', f) FROM t RETURNING id, p",
         "INSERT ... SELECT ... RETURNING", setup=fresh_copy)
    same(c, "UPDATE w SET p = onnx_predict('lin', w.f), q = (onnx_predict('forest', w.f6))[1] "
            "RETURNING id, p, q", "UPDATE ... SET from predictions", setup=fresh_copy)
    same(c, "UPDATE w SET p = onnx_predict('lin', u.f) FROM u WHERE u.id = w.id RETURNING w.id, w.p",
         "UPDATE ... FROM a join", setup=fresh_copy)
    same(c, "DELETE FROM w WHERE (onnx_predict('lin', f))[1] > 0 RETURNING id", "DELETE ... WHERE the prediction",
         setup=fresh_copy)
    ctas = {}
    for mode in ("on", "off"):
        c.execute("SET onnx.auto_batch = " + mode)
        c.execute("DROP TABLE IF EXISTS ctas")
        c.execute("CREATE TABLE ctas AS SELECT id, onnx_predict('lin', f) AS p FROM t")
        ctas[mode] = c.execute("SELECT * FROM ctas ORDER BY id").fetchall()
    c.execute("SET onnx.auto_batch = on")
    t.check(ctas["on"] == ctas["off"] and len(ctas["on"]) == N, "CREATE TABLE AS")

    # -- cursors ---------------------------------------------------------------
    for scroll in ("", "SCROLL "):
        got = {}
        for mode in ("on", "off"):
            with connect(autocommit=False) as cc:
                cc.execute("SET extra_float_digits = 3")
                cc.execute("SET onnx.batch_size = 16")
                cc.execute("SET onnx.auto_batch = " + mode)
                cc.execute("DECLARE cur %sCURSOR FOR SELECT id, onnx_predict('lin', f) FROM t ORDER BY id" % scroll)
                rows = cc.execute("FETCH 20 FROM cur").fetchall() + cc.execute("FETCH 7 FROM cur").fetchall()
                if scroll:
                    rows += cc.execute("FETCH BACKWARD 12 FROM cur").fetchall()
                    rows += cc.execute("FETCH ABSOLUTE 100 FROM cur").fetchall()
                rows += cc.execute("FETCH ALL FROM cur").fetchall()
                got[mode] = rows
        t.check(got["on"] == got["off"], "a %scursor fetched in pieces" % scroll.lower())

    # -- prepared statements and PL/pgSQL ---------------------------------------
    c.execute("PREPARE p1(text, int) AS SELECT id, onnx_predict($1, f) FROM t WHERE id > $2 ORDER BY id")
    outs = {}
    for mode in ("on", "off"):
        c.execute("SET onnx.auto_batch = " + mode)
        outs[mode] = [c.execute("EXECUTE p1('lin', %d)" % k).fetchall() for k in range(8)]
    c.execute("SET onnx.auto_batch = on")
    t.check(outs["on"] == outs["off"], "a prepared statement, custom and generic plans, the model a parameter")
    c.execute("SET plan_cache_mode = force_generic_plan")
    gplan = plan_of(c, "EXECUTE p1('lin', 3)")
    same(c, "EXECUTE p1('lin', 3)", "a generic plan")
    t.check("OnnxBatch" in gplan and "$1" in gplan, "the generic plan batches with the model as $1", gplan)
    c.execute("RESET plan_cache_mode")
    c.execute("""CREATE FUNCTION score_all(m text) RETURNS TABLE (id int, p float4[]) LANGUAGE plpgsql AS $$
                 DECLARE r record;
                 BEGIN
                   FOR r IN SELECT t.id, onnx_predict(m, t.f) AS p FROM t ORDER BY t.id LOOP
                     id := r.id; p := r.p; RETURN NEXT;
                   END LOOP;
                   RETURN QUERY SELECT t.id, onnx_predict('forest', t.f6) FROM t WHERE t.id < 40 ORDER BY t.id;
                 END $$""")
    same(c, "SELECT * FROM score_all('lin')", "PL/pgSQL: a FOR loop with the model a variable, RETURN QUERY",
         batched=False)
    for k in range(6):      # PL/pgSQL switches to a generic plan after five runs
        a = run(c, "SELECT * FROM score_all('lin')")
    t.check(a == both(c, "SELECT * FROM score_all('lin')")[1], "PL/pgSQL after its plans became generic")

    # -- parallel plans ----------------------------------------------------------
    c.execute("CREATE TABLE big AS SELECT g AS id, ARRAY[sin(g), cos(g), sin(2 * g), cos(3 * g)]::float4[] AS f, "
              "ARRAY[sin(g), cos(g), sin(2 * g), cos(3 * g), sin(5 * g), g / 100.0]::float4[] AS f6 "
              "FROM generate_series(1, 20000) g")
    c.execute("ANALYZE big")

    def parallel(cc):
        for s in ("SET parallel_setup_cost = 0", "SET parallel_tuple_cost = 0",
                  "SET min_parallel_table_scan_size = 0", "SET max_parallel_workers_per_gather = 2"):
            cc.execute(s)
    parallel(c)
    pq = "SELECT id, onnx_predict('lin', f), onnx_predict('forest', f6) FROM big WHERE id % 3 = 0"
    pplan = plan_of(c, pq)
    t.check("Gather" in pplan and "OnnxBatch" in pplan, "a parallel plan with the node under Gather", pplan)
    same(c, pq + " ORDER BY id", "parallel: the node in every worker", setup=parallel)
    same(c, "SELECT count(*), sum((onnx_predict('forest', f6))[1]::numeric) FROM big", "parallel aggregates",
         setup=parallel)
    same(c, pq + " ORDER BY id LIMIT 55", "parallel with a LIMIT", setup=parallel)
    ea = "\n".join(r[0] for r in c.execute(
        "EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
        "SELECT count(onnx_predict('lin', f)) FROM big").fetchall())
    print("# " + ea.replace("\n", "\n# "))
    t.check("Model lin: batches=" in ea and " rows=20000 " in ea,
            "EXPLAIN ANALYZE counts the rows of the leader and its workers", ea)
    for s in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size",
              "max_parallel_workers_per_gather"):
        c.execute("RESET " + s)

    # -- onnx_run and onnx_run_row ------------------------------------------------
    same(c, "SELECT id, onnx_run('lin', jsonb_build_object('input', jsonb_build_array(to_jsonb(f)))) FROM t "
            "WHERE f IS NOT NULL ORDER BY id", "onnx_run with nested JSON arrays")
    same(c, "SELECT id, onnx_run('lin', jsonb_build_object('input', jsonb_build_array(to_jsonb(f)))) FROM t "
            "ORDER BY id", "onnx_run: JSON null in a row raises the per-row error", error=True)
    same(c, "SELECT id, onnx_run('lin', jsonb_build_object('input', jsonb_build_object('dtype', 'float32', "
            "'shape', '[1, 4]'::jsonb, 'data', to_jsonb(f))), '{output}') FROM t WHERE f IS NOT NULL ORDER BY id",
         "onnx_run with the object form and selected outputs")
    same(c, "SELECT id, onnx_run('lin', CASE WHEN id % 7 = 0 THEN '{\"input\": [[1, 2, 3]]}'::jsonb "
            "ELSE jsonb_build_object('input', jsonb_build_array(to_jsonb(f))) END) FROM t WHERE f IS NOT NULL "
            "ORDER BY id", "onnx_run: a row that does not fit raises its own error", error=True)
    same(c, "SELECT id, onnx_run('lin', CASE WHEN id % 7 = 0 THEN jsonb_build_object('input', "
            "jsonb_build_array(to_jsonb(f), to_jsonb(f))) ELSE jsonb_build_object('input', "
            "jsonb_build_array(to_jsonb(f))) END) FROM t WHERE f IS NOT NULL ORDER BY id",
         "onnx_run: rows of two samples among rows of one")
    c.execute("CREATE TABLE cust AS SELECT g AS id, (18 + g % 60)::float4 AS age, "
              "(CASE WHEN g % 13 = 0 THEN 'NaN'::float4 ELSE 30 + g % 40 END)::float4 AS income, "
              "(ARRAY['basic', 'plus', 'pro', 'enterprise'])[1 + g % 4] AS plan FROM generate_series(1, 150) g")
    c.execute("UPDATE cust SET income = NULL WHERE id % 29 = 0")
    same(c, "SELECT id, onnx_run_row('pipe', c) FROM cust c ORDER BY id",
         "onnx_run_row: a pipeline, NULL fields give NULL, unseen categories")
    same(c, "SELECT id, (onnx_run_row('pipe', c) ->> 'output_label')::int FROM cust c "
            "WHERE (onnx_run_row('pipe', c) -> 'output_probability' ->> '1')::float8 > 0.5 ORDER BY id",
         "onnx_run_row in a filter and the target list")
    same(c, "SELECT id, onnx_predict('gb', f6, 'output_probability'), onnx_predict('gb', f6, 'output_label') "
            "FROM t ORDER BY id", "ZipMap's maps and the labels through onnx_predict")
    same(c, "SELECT id, onnx_run_row('gb', x) FROM (SELECT id, f6 AS input FROM t) x ORDER BY id",
         "onnx_run_row on a single-input model, ZipMap in the row form")

    sha = c.execute("SELECT decode(sha256, 'hex') FROM onnx_models WHERE name = 'lin'").fetchone()[0]
    same(c, "SELECT id, onnx_predict(%s::bytea, f), onnx_run(%s::bytea, "
            "jsonb_build_object('input', jsonb_build_array(to_jsonb(f)))) FROM t WHERE f IS NOT NULL ORDER BY id",
         "the content-hash (pinned) forms of onnx_predict and onnx_run", params=(sha, sha))
    same(c, "SELECT id, onnx_predict((SELECT min(name) FROM onnx_models WHERE name LIKE 'li%'), f) FROM t "
            "ORDER BY id", "the model name from an initplan")
    c.execute("CREATE TABLE um AS SELECT id, CASE WHEN grp < 2 THEN 'lin' ELSE 'mixing' END AS m FROM u")
    same(c, "SELECT um.id, s.p FROM um, LATERAL (SELECT onnx_predict(um.m, t.f) AS p FROM t WHERE t.id < 30 "
            "OFFSET 0) s ORDER BY 1, 2",
         "the model name from the outer row of a LATERAL join (read again at each rescan)")
    same(c, "SELECT id, onnx_predict('\\x00'::bytea, f) FROM t ORDER BY id",
         "a content hash of the wrong length: the per-row error", error=True)

    # -- NULLs and errors, each the per-row call's own ---------------------------------
    c.execute("CREATE TABLE bad AS SELECT id, f FROM t WHERE id <= 60")
    c.execute("UPDATE bad SET f = f || 0.5::float4 WHERE id = 45")
    same(c, "SELECT id, onnx_predict('lin', f) FROM bad ORDER BY id", "a row of the wrong size: the per-row error",
         error=True)
    same(c, "SELECT id, onnx_predict('lin', f) FROM bad LIMIT 40",
         "a LIMIT before the bad row: no error (the bad row is in the batch read last)")
    same(c, "SELECT id, onnx_predict('lin', f) FROM bad WHERE id <> 45 ORDER BY id", "filtered away before the call")
    same(c, "SELECT id FROM bad WHERE id > 50 OR (onnx_predict('lin', f))[1] > 0 ORDER BY id",
         "OR: the call only for rows the first operand does not decide (per row)", batched=False, error=True)
    c.execute("UPDATE bad SET f = ARRAY[1, NULL, 3, 4]::float4[] WHERE id = 45")
    same(c, "SELECT id, onnx_predict('lin', f) FROM bad ORDER BY id", "an array with a NULL element", error=True)
    same(c, "SELECT id, onnx_predict('lin', f) FROM bad WHERE (onnx_predict('lin', f))[1] > 10 ORDER BY id",
         "no row passes the filter; the bad row still raises its error", error=True)
    c.execute("UPDATE bad SET f = ARRAY[1, 2, 3, 4, 4, 3, 2, 1]::float4[] WHERE id = 45")
    same(c, "SELECT id, onnx_predict('lin', f) FROM bad ORDER BY id", "a row of two samples among rows of one")
    same(c, "SELECT id, onnx_predict('lin', f) FROM bad WHERE (onnx_predict('lin', f))[1] > 10 ORDER BY id",
         "no row passes the filter")
    same(c, "SELECT id, onnx_predict('nothere', f) FROM bad ORDER BY id", "a missing model", error=True)
    same(c, "SELECT id, onnx_predict('nothere', NULL::float4[]) FROM bad ORDER BY id",
         "a missing model and only NULL inputs: no error", batched=False)
    same(c, "SELECT id, onnx_predict('nothere', f) FROM t WHERE f IS NULL ORDER BY id",
         "a missing model and NULL inputs: NULL, no error")
    same(c, "SELECT id, onnx_predict('lin', f, 'nothere') FROM bad ORDER BY id", "a missing output", error=True)
    same(c, "SELECT id, onnx_predict('mixing', f) FROM t ORDER BY id",
         "a model whose output is not one row per input row")
    same(c, "SELECT id, onnx_predict('pipe', f) FROM t ORDER BY id", "a model with several inputs: the error",
         error=True)
    c.execute("DROP ROLE IF EXISTS ab_nobody")
    c.execute("CREATE ROLE ab_nobody")
    c.execute("GRANT SELECT ON t TO ab_nobody")
    same(c, "SELECT id, onnx_predict('lin', f) FROM t ORDER BY id", "no privilege on onnx_models", error=True,
         setup=lambda cc: cc.execute("SET ROLE ab_nobody"))
    c.execute("RESET ROLE")
    c.execute("REVOKE SELECT ON t FROM ab_nobody")
    c.execute("DROP ROLE ab_nobody")

    # -- fallbacks ------------------------------------------------------------------------------
    same(c, "SELECT id, onnx_predict('lin', ARRAY[random() * 0, 1, 2, 3]::float4[]) FROM t ORDER BY id",
         "a volatile argument: per row", batched=False)
    c.execute("CREATE TABLE named AS SELECT id, f, CASE WHEN id % 2 = 0 THEN 'lin' ELSE 'mixing' END AS m FROM t")
    same(c, "SELECT id, onnx_predict(m, f) FROM named ORDER BY id", "a model name per row: per row", batched=False)
    same(c, "SELECT id, CASE WHEN id % 2 = 0 THEN onnx_predict('lin', f) END FROM t ORDER BY id",
         "a call under CASE: per row", batched=False)
    same(c, "SELECT id, coalesce(onnx_predict('lin', f), onnx_predict('forest', f6)) FROM t ORDER BY id",
         "COALESCE: its first operand batched, the second per row")

    # -- the MLP of the benchmark: matrix products, row-invariant in the engine -----------------------
    mlp = os.path.join(ROOT, "test", "bench", "models", "mlp.onnx")
    if os.path.exists(mlp):
        c.execute("SELECT onnx_create_model('mlp256', %s)", (open(mlp, "rb").read(),))
        c.execute("CREATE TABLE wide AS SELECT g AS id, (SELECT array_agg(sin(g * k))::float4[] "
                  "FROM generate_series(1, 256) k) AS f FROM generate_series(1, 500) g")
        same(c, "SELECT id, onnx_predict('mlp256', f) FROM wide ORDER BY id",
             "the 256-wide MLP (matrix products): bit for bit")
    else:
        print("# test/bench/models/mlp.onnx missing (test/bench/make_bench_models.py): MLP case skipped")

    # -- cancel, statement_timeout, memory ------------------------------------------------------
    c.execute("SELECT onnx_create_model('slow_rows', %s)", (slow_model(),))
    c.execute("CREATE TABLE wide512 AS SELECT g AS id, array_fill((g % 7 / 10.0)::float4, ARRAY[1024]) AS x "
              "FROM generate_series(1, 2048) g")
    c.execute("SET onnx.batch_size = 2048")
    c.execute("SET statement_timeout = '300ms'")
    t0 = time.perf_counter()
    e = run(c, "SELECT count(onnx_predict('slow_rows', x)) FROM wide512")
    took = time.perf_counter() - t0
    c.execute("RESET statement_timeout")
    t.check(e[0] == "error" and e[1][0] == "57014" and took < 2.0,
            "statement_timeout stops a batch inside the engine (%.2f s)" % took, str(e))
    pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
    other = connect()
    res = {}

    def slow():
        res["r"] = run(c, "SELECT count(onnx_predict('slow_rows', x)) FROM wide512")
    th = threading.Thread(target=slow)
    th.start()
    for _ in range(200):        # until the query runs (a busy machine starts it late)
        if other.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND state = 'active' "
                         "AND query LIKE '%%slow_rows%%'", (pid,)).fetchone()[0]:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    t0 = time.perf_counter()
    other.execute("SELECT pg_cancel_backend(%s)", (pid,))
    th.join()
    took = time.perf_counter() - t0
    t.check(res["r"][0] == "error" and res["r"][1][0] == "57014" and took < 1.0,
            "pg_cancel_backend stops a batch (%.2f s after the cancel)" % took, str(res["r"]))
    t.check(c.execute("SELECT (onnx_predict('lin', '{1,2,3,4}'))[1] IS NOT NULL").fetchone()[0],
            "the backend scores again after the cancel")

    def rss_kb():
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS"):
                return int(line.split()[1])
        return 0
    c.execute("SET onnx.batch_size = 1024")
    c.execute("CREATE TABLE many AS SELECT g AS id, ARRAY[g % 7, 1, 2, 3]::float4[] AS f "
              "FROM generate_series(1, 300000) g")
    q = "SELECT count(onnx_predict('lin', f)) FROM many"
    c.execute(q)
    c.execute(q)
    before = rss_kb()
    for _ in range(3):
        c.execute(q)
    grew = rss_kb() - before
    t.check(grew < 2048, "memory bounded by the batch: three more 300,000-row runs grow RSS by %d kB" % grew)
    t.finish()


if __name__ == "__main__":
    main()
