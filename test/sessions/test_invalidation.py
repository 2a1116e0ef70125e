#!/usr/bin/env python3
"""Two sessions and the per-backend session cache: B keeps scoring with the
old model while A's onnx_replace_model is uncommitted, and scores with the
new one right after A commits; a drop reaches B at commit too; a rolled
back replace leaves B's model unchanged.  Expected outputs come from
onnxruntime."""
import numpy as np
import onnxruntime as ort

from common import Tally, fixture_bytes, fresh_database

t = Tally()
connect = fresh_database("onnx_sessions_invalidation")
mlp, linear = fixture_bytes("mlp.onnx"), fixture_bytes("linear.onnx")
x = np.array([[0.5, -1.0, 2.0, 0.25]], dtype=np.float32)
expect_mlp = ort.InferenceSession(mlp).run(None, {"features": x})[0][0]
expect_linear = ort.InferenceSession(linear).run(None, {"input": x})[0][0]
feat = [float(v) for v in x[0]]


def close(a, b):
    return len(a) == len(b) and np.allclose(np.array(a, dtype=np.float32), b, rtol=1e-5, atol=1e-6)


a = connect(autocommit=False)
b = connect()
a.execute("SELECT onnx_create_model('m', %s)", (mlp,))
a.commit()

pb = b.execute("SELECT onnx_predict('m', %s::float4[])", (feat,)).fetchone()[0]
t.check(close(pb, expect_mlp), "B scores with the stored model")
t.check(b.execute("SELECT count(*) FROM onnx_cache_info() WHERE model = 'm'").fetchone()[0] == 1,
        "B has the session cached")

# A replaces, uncommitted
a.execute("SELECT onnx_replace_model('m', %s)", (linear,))
pa = a.execute("SELECT onnx_predict('m', %s::float4[])", (feat,)).fetchone()[0]
t.check(close(pa, expect_linear), "A sees its own replacement before commit")
pb = b.execute("SELECT onnx_predict('m', %s::float4[])", (feat,)).fetchone()[0]
t.check(close(pb, expect_mlp), "B scores with the old model while A's replace is uncommitted")
hits = b.execute("SELECT hits FROM onnx_cache_info() WHERE model = 'm'").fetchone()[0]
t.check(hits >= 1, "B's call was a cache hit (no reload)")

a.commit()
pb = b.execute("SELECT onnx_predict('m', %s::float4[])", (feat,)).fetchone()[0]
t.check(close(pb, expect_linear), "B scores with the new model right after A commits")

# a rolled-back replace changes nothing
a.execute("SELECT onnx_replace_model('m', %s)", (mlp,))
a.rollback()
pb = b.execute("SELECT onnx_predict('m', %s::float4[])", (feat,)).fetchone()[0]
t.check(close(pb, expect_linear), "a rolled-back replace leaves B's model unchanged")
pa = a.execute("SELECT onnx_predict('m', %s::float4[])", (feat,)).fetchone()[0]
t.check(close(pa, expect_linear), "and A's own model too")
a.rollback()

# drop reaches B at commit
a.execute("SELECT onnx_drop_model('m')")
pb = b.execute("SELECT onnx_predict('m', %s::float4[])", (feat,)).fetchone()[0]
t.check(close(pb, expect_linear), "B still scores while the drop is uncommitted")
a.commit()
try:
    b.execute("SELECT onnx_predict('m', %s::float4[])", (feat,))
    t.check(False, "B gets an error after the drop commits")
except Exception as e:
    t.check("does not exist" in str(e), "B gets an error after the drop commits", str(e))

# plain UPDATE by a third session also invalidates
c = connect()
c.execute("INSERT INTO onnx_models (name, model) VALUES ('m', %s)", (mlp,))
pb = b.execute("SELECT onnx_predict('m', %s::float4[])", (feat,)).fetchone()[0]
t.check(close(pb, expect_mlp), "B loads the re-inserted model")
c.execute("UPDATE onnx_models SET model = %s WHERE name = 'm'", (linear,))
pb = b.execute("SELECT onnx_predict('m', %s::float4[])", (feat,)).fetchone()[0]
t.check(close(pb, expect_linear), "a plain UPDATE invalidates B's session")
for conn in (a, b, c):
    conn.close()
t.finish()
