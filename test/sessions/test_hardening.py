#!/usr/bin/env python3
"""Regression tests of the hostile review (issue 12): every repro that
crashed the server, lost a dump, kept a stale model, grew memory without
bound or bypassed a rule.  Each case ends in a clean error or the right
answer, and the server never restarts.

Models are built here with onnx.helper: scale(v) multiplies its 4 inputs
by v, so the version that answered is visible in the result."""
import os
import subprocess
import threading
import time

import numpy as np
import onnx
import psycopg
from onnx import TensorProto, helper, numpy_helper

from common import pg_bindir, Tally, fixture_bytes, fresh_database

PGBIN = pg_bindir()
t = Tally()
DB = "onnx_sessions_hardening"
connect = fresh_database(DB)
su = connect()
start = su.execute("SELECT pg_postmaster_start_time()").fetchone()[0]


def scale(v, producer="test", doc="", input_name="x", props=None):
    """y = x * v, x float32 [N, 4]."""
    g = helper.make_graph([helper.make_node("Mul", [input_name, "s"], ["y"])], "scale",
                          [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
                          [numpy_helper.from_array(np.array([v], np.float32), "s")], doc_string=doc)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name=producer)
    m.ir_version = 8
    for k, val in (props or {}).items():
        m.metadata_props.add(key=k, value=val)
    return m.SerializeToString()


def patched(data, marker, replacement):
    """The serialized model with the bytes of marker replaced (same length)."""
    assert len(marker) == len(replacement) and data.count(marker) >= 1
    return data.replace(marker, replacement)


def error_of(conn, sql, args=None):
    """The error message of sql (None when it succeeds); the connection stays usable."""
    try:
        conn.execute(sql, args)
        return None
    except psycopg.Error as e:
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            conn.rollback()
        return str(e)


def predict(conn, name, x=(1, 1, 1, 1)):
    return conn.execute("SELECT onnx_predict(%s, %s::float4[])", (name, list(x))).fetchone()[0]


with psycopg.connect(dbname="postgres", autocommit=True) as c:
    c.execute("DROP DATABASE IF EXISTS onnx_hardening_restore")
for role in ("onnx_plain", "onnx_tenant", "onnx_watcher", "onnx_stats"):
    su.execute("DROP ROLE IF EXISTS %s" % role)
    su.execute("CREATE ROLE %s LOGIN" % role)
su.execute("GRANT SELECT ON onnx_models TO onnx_tenant, onnx_watcher, onnx_stats")
su.execute("GRANT pg_read_all_stats TO onnx_stats")


def as_role(role):
    return psycopg.connect(dbname=DB, user=role, autocommit=True)


# ---- 1. the trigger function on another relation -----------------------------
plain = as_role("onnx_plain")
e = error_of(plain, "CREATE TEMP TABLE t(name int, model int); CREATE TRIGGER x BEFORE INSERT ON t "
             "FOR EACH ROW EXECUTE FUNCTION onnx_models_trigger()")
t.check(e is not None and "permission denied" in e, "a plain role cannot attach onnx_models_trigger", str(e))
internal = su.execute("SELECT p.proname FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid "
                      "JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'onnx' "
                      "WHERE has_function_privilege('onnx_plain', p.oid, 'EXECUTE') "
                      "AND p.prorettype = 'trigger'::regtype").fetchall()
t.check(internal == [], "no internal function is executable by PUBLIC", str(internal))
for layout in ("name int, model int", "name text, model bytea, sha256 int8, opsets int8",
               "name text, model bytea"):
    su.execute("DROP TABLE IF EXISTS other")
    su.execute("CREATE TABLE other(%s)" % layout)
    su.execute("CREATE TRIGGER x BEFORE INSERT ON other FOR EACH ROW EXECUTE FUNCTION onnx_models_trigger()")
    vals = "(1, 2)" if layout.startswith("name int") else "('a', '\\x00')"
    e = error_of(su, "INSERT INTO other (name, model) VALUES %s" % vals)
    t.check(e is not None and "onnx_models" in e, "the trigger refuses table other(%s)" % layout, str(e))
su.execute("DROP TABLE other")
t.check(su.execute("SELECT pg_postmaster_start_time()").fetchone()[0] == start,
        "the server did not restart")

# ---- 2. text from the model in the database encoding -------------------------
bad = b"\xff\xfe\xc0\x80"
cases = [
    ("producer_name", patched(scale(1, producer="PRODzzzz"), b"PRODzzzz", bad + b"zzzz")),
    ("doc_string", patched(scale(1, doc="DOCzzzzz"), b"DOCzzzzz", bad + b"zzzz")),
    ("metadata", patched(scale(1, props={"KEYzzzzz": "v"}), b"KEYzzzzz", bad + b"zzzz")),
    ("metadata", patched(scale(1, props={"k": "VALzzzzz"}), b"VALzzzzz", bad + b"zzzz")),
    ("input", patched(scale(1, input_name="INPzzzzz"), b"INPzzzzz", bad + b"zzzz")),
]
for field, data in cases:
    e = error_of(su, "SELECT onnx_create_model('badtext', %s)", (data,))
    t.check(e is not None and field in e and "UTF-8" in e, "invalid text in %s refused at load" % field, str(e))
t.check(su.execute("SELECT count(*) FROM onnx_models").fetchone()[0] == 0, "nothing was stored")
# a string constant with invalid bytes: clear error when output
const = helper.make_tensor("c", TensorProto.STRING, [1], [b"MARKzzzz"])
g = helper.make_graph([helper.make_node("Identity", ["x"], ["xo"]),
                       helper.make_node("Constant", [], ["labels"], value=const)], "strings",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                      [helper.make_tensor_value_info("xo", TensorProto.FLOAT, [1]),
                       helper.make_tensor_value_info("labels", TensorProto.STRING, [1])])
sm = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
sm.ir_version = 8
su.execute("SELECT onnx_create_model('strings', %s)",
           (patched(sm.SerializeToString(), b"MARKzzzz", bad + b"zzzz"),))
e = error_of(su, "SELECT onnx_run('strings', '{\"x\": [1]}')")
t.check(e is not None and "labels" in e and "UTF-8" in e, "a string output with invalid bytes is an error", str(e))
e = error_of(su, "SELECT * FROM onnx_score('strings', 'SELECT 1::float4 AS x') AS s(x float4, xo float4, labels text)")
t.check(e is not None and "UTF-8" in e, "the same through onnx_score", str(e))
su.execute("SELECT onnx_drop_model('strings')")
# valid non-ASCII text survives a dump and restore, together with 20 other models
su.execute("SELECT onnx_create_model('modèle', %s)", (scale(3, producer="outil ☃ été"),))
for i in range(20):
    su.execute("SELECT onnx_create_model(%s, %s)", ("m%d" % i, scale(i)))
dump = subprocess.run([os.path.join(PGBIN, "pg_dump"), "-d", DB], capture_output=True)
with psycopg.connect(dbname="postgres", autocommit=True) as c:
    c.execute("DROP DATABASE IF EXISTS onnx_hardening_restore")
    c.execute("CREATE DATABASE onnx_hardening_restore")
restore = subprocess.run([os.path.join(PGBIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                          "onnx_hardening_restore"], input=dump.stdout, capture_output=True)
with psycopg.connect(dbname="onnx_hardening_restore") as c:
    n = c.execute("SELECT count(*) FROM onnx_models").fetchone()[0]
    prod = c.execute("SELECT producer FROM onnx_models WHERE name = 'modèle'").fetchone()
t.check(dump.returncode == 0 and restore.returncode == 0 and n == 21 and prod == ("outil ☃ été",),
        "dump and restore keep all 21 models and their non-ASCII text",
        "%d %d %s %s" % (dump.returncode, restore.returncode, n, restore.stderr[-300:]))
su.execute("DELETE FROM onnx_models")
with psycopg.connect(dbname="postgres", autocommit=True) as c:
    c.execute("DROP DATABASE onnx_hardening_restore")

# ---- 3. a model loaded under an old snapshot is never cached as current ------
su.execute("SELECT onnx_create_model('st', %s)", (scale(1),))
a = connect()
result = {}


def slow_predict():
    result["v"] = a.execute("SELECT onnx_predict('st', x) FROM (SELECT '{1,1,1,1}'::float4[] x, "
                            "pg_sleep(1.5) OFFSET 0) s").fetchone()[0]


th = threading.Thread(target=slow_predict)
th.start()
time.sleep(0.5)
su.execute("SELECT onnx_replace_model('st', %s)", (scale(2),))
th.join()
t.check(predict(a, "st") == [2, 2, 2, 2], "a statement after the replace scores the new version "
        "(read committed, model first loaded during the replace)", str(predict(a, "st")))
su.execute("SELECT onnx_replace_model('st', %s)", (scale(3),))
rr = connect(autocommit=False)
predict(rr, "st")
rr.commit()
rr.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
rr.execute("SELECT 1")
su.execute("SELECT onnx_replace_model('st', %s)", (scale(4),))
rr.execute("SELECT count(*) FROM onnx_models")  # takes its lock: the invalidation is seen
during = predict(rr, "st")
rr.commit()
after = predict(rr, "st")
t.check(after == [4, 4, 4, 4], "after a repeatable-read transaction the new version is scored", str(after))
t.check(during == [4, 4, 4, 4], "scoring sees the latest committed model also inside it", str(during))
rr.close()
a.close()

# ---- 4. memory a backend keeps between calls is bounded ----------------------
su.execute("SELECT onnx_create_model('mlp', %s)", (fixture_bytes("mlp.onnx"),))
m = connect()
pid = m.execute("SELECT pg_backend_pid()").fetchone()[0]


def rss_kb():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


predict(m, "mlp")
error_of(m, "SET onnx.max_cached_memory = '64MB'")
base = rss_kb()
# batches of 1 to 6 million rows: intermediates of 32 to 192 MB each, sizes no buffer can be reused for
for rows in range(1, 7):
    m.execute("SELECT array_length(onnx_predict_batch('mlp', array_fill(0.5::float4, ARRAY[%d, 4])), 1)"
              % (rows * 1000000))
idle = rss_kb()
t.check(idle - base < 150 * 1024, "six large batches leave the idle backend within 150 MB of its start "
        "(grew %d kB; onnx.max_cached_memory 64MB)" % (idle - base))
m.execute("RESET onnx.max_cached_memory")
m.execute("SELECT array_length(onnx_predict_batch('mlp', array_fill(0.5::float4, ARRAY[4000000, 4])), 1)")
kept = m.execute("SELECT session_bytes - model_bytes FROM onnx_cache_info() WHERE model = 'mlp'").fetchone()[0]
t.check(kept <= 256 * 1024 * 1024, "by default a backend keeps at most 256 MB of run buffers (%d bytes)" % kept)
m.execute("SET onnx.max_memory = '150MB'")
e = error_of(m, "SELECT onnx_predict_batch('mlp', array_fill(0.5::float4, ARRAY[6000000, 4]))")
m.execute("RESET onnx.max_memory")
after_fail = m.execute("SELECT session_bytes - model_bytes FROM onnx_cache_info() WHERE model = 'mlp'").fetchone()[0]
t.check(e is not None and "memory limit" in e and after_fail < kept,
        "a run refused by onnx.max_memory keeps nothing (%s bytes after)" % after_fail, str(e))
m.close()

# ---- 5. row security on onnx_models is honoured by scoring --------------------
su.execute("SELECT onnx_create_model('scaleA', %s)", (scale(5),))
su.execute("SELECT onnx_create_model('scaleB', %s)", (scale(6),))
su.execute("ALTER TABLE onnx_models ENABLE ROW LEVEL SECURITY")
su.execute("CREATE POLICY tenant_a ON onnx_models FOR SELECT TO onnx_tenant USING (name = 'scaleA')")
r = connect()
predict(r, "scaleB")
r.execute("SELECT onnx_model_info('scaleB')")
r.execute("SET ROLE onnx_tenant")
t.check(predict(r, "scaleA") == [5, 5, 5, 5], "the tenant scores the model its policy shows")
e = error_of(r, "SELECT onnx_predict('scaleB', '{1,1,1,1}')")
t.check(e is not None and "does not exist" in e, "the tenant cannot score a model hidden by the policy "
        "even when this backend has it cached", str(e))
e = error_of(r, "SELECT onnx_model_info('scaleB')")
t.check(e is not None and "does not exist" in e, "nor describe it", str(e))
e = error_of(r, "SELECT onnx_run('scaleB', '{\"x\": [[1,1,1,1]]}')")
t.check(e is not None and "does not exist" in e, "nor run it", str(e))
r.execute("RESET ROLE")
t.check(predict(r, "scaleB") == [6, 6, 6, 6], "back as the owner it scores again")
r.close()
su.execute("DROP POLICY tenant_a ON onnx_models")
su.execute("ALTER TABLE onnx_models DISABLE ROW LEVEL SECURITY")

# ---- 6. search_path: a hostile schema first in the path is never used ---------
su.execute("DROP SCHEMA IF EXISTS evil CASCADE")
su.execute("CREATE SCHEMA evil")
su.execute("CREATE TABLE evil.calls(what text)")
su.execute("GRANT ALL ON SCHEMA evil TO PUBLIC")
su.execute("GRANT ALL ON evil.calls TO PUBLIC")
for op, fn, args in (("=", "texteq", "text, text"), ("=", "byteaeq", "bytea, bytea"),
                     ("<>", "textne", "text, text")):
    su.execute("CREATE FUNCTION evil.%s_spy(%s) RETURNS bool LANGUAGE plpgsql AS "
               "$$BEGIN INSERT INTO evil.calls VALUES ('%s'); RETURN pg_catalog.%s($1, $2); END$$"
               % (fn, args, fn, fn))
    left, right = args.split(", ")
    su.execute("CREATE OPERATOR evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = evil.%s_spy)"
               % (op, left, right, fn))
for fn in ("length", "octet_length", "now", "lower", "sha256"):
    su.execute("CREATE FUNCTION evil.%s(text) RETURNS int LANGUAGE plpgsql AS "
               "$$BEGIN INSERT INTO evil.calls VALUES ('%s'); RETURN 1; END$$" % (fn, fn))
h = connect()
h.execute("SET search_path = evil, pg_catalog, public")
h.execute("SELECT onnx_create_model('sp', %s, 'd')", (scale(1),))
h.execute("SELECT onnx_replace_model('sp', %s)", (scale(2),))
h.execute("SELECT onnx_model_info('sp')")
h.execute("SELECT onnx_predict('sp', '{1,1,1,1}')")
h.execute("SELECT onnx_predict('sp', '{1,1,1,1}', 'y')")
h.execute("SELECT onnx_predict_batch('sp', '{{1,1,1,1}}')")
h.execute("SELECT onnx_run('sp', '{\"x\": [[1,1,1,1]]}')")
h.execute("SELECT onnx_run('sp', '{\"x\": [[1,1,1,1]]}', ARRAY['y'])")
h.execute("SELECT * FROM onnx_score('sp', 'SELECT ''{1,1,1,1}''::float4[] AS x') AS s(x float4[], y float4[])")
h.execute("SELECT * FROM onnx_cache_info()")
h.execute("SELECT * FROM onnx_score_progress()")
h.execute("UPDATE public.onnx_models SET description = 'e' WHERE name OPERATOR(pg_catalog.=) 'sp'")
h.execute("SELECT onnx_drop_model('sp')")
calls = su.execute("SELECT what, count(*) FROM evil.calls GROUP BY 1").fetchall()
t.check(calls == [], "no object of a hostile schema first in search_path was called", str(calls))
h.close()
su.execute("DROP SCHEMA evil CASCADE")

# ---- 7. session_replication_role = replica does not skip validation -----------
rep = connect()
rep.execute("SET session_replication_role = replica")
e = error_of(rep, "INSERT INTO onnx_models (name, model) VALUES ('garbage', '\\x00ff00ff')")
t.check(e is not None and "garbage" in e, "garbage bytes are refused under session_replication_role = replica", str(e))
su.execute("SELECT onnx_create_model('rp', %s)", (scale(1),))
other = connect()
predict(other, "rp")
rep.execute("UPDATE onnx_models SET model = %s WHERE name = 'rp'", (scale(7),))
t.check(predict(other, "rp") == [7, 7, 7, 7], "a replica-role update reaches other sessions' caches")
rep.close()
other.close()

# ---- 10. NULL arguments of the management functions are errors ----------------
for sql in ("SELECT onnx_replace_model('rp', NULL)", "SELECT onnx_replace_model(NULL, '\\x00')",
            "SELECT onnx_drop_model(NULL)"):
    e = error_of(su, sql)
    t.check(e is not None and "null" in e, "%s is an error" % sql, str(e))
t.check(predict(su, "rp") == [7, 7, 7, 7], "and the model is unchanged")

# ---- 11. onnx_score_progress shows other roles' runs only to pg_read_all_stats -
su.execute("CREATE TABLE slow_rows AS SELECT '{1,1,1,1}'::float4[] AS x FROM generate_series(1, 40)")
su.execute("GRANT SELECT ON slow_rows TO onnx_watcher")
w = as_role("onnx_watcher")
w.execute("SET onnx.batch_size = 1")


def long_score():
    try:
        w.execute("SELECT count(*) FROM onnx_score('rp', 'SELECT x FROM slow_rows WHERE pg_sleep(0.05)::text = ''''') "
                  "AS s(x float4[], y float4[])")
    except psycopg.Error:
        pass


th = threading.Thread(target=long_score)
th.start()
time.sleep(0.7)
seen = {}
for role in ("onnx_tenant", "onnx_stats", "onnx_watcher"):
    with as_role(role) as c:
        seen[role] = c.execute("SELECT count(*) FROM onnx_score_progress()").fetchone()[0]
seen["superuser"] = su.execute("SELECT count(*) FROM onnx_score_progress()").fetchone()[0]
th.join()
w.close()
t.check(seen["onnx_tenant"] == 0, "another role does not see the run", str(seen))
t.check(seen["onnx_stats"] == 1 and seen["superuser"] == 1,
        "members of pg_read_all_stats and superusers do", str(seen))
t.check(seen["onnx_watcher"] == 1, "its own role does", str(seen))

t.check(su.execute("SELECT pg_postmaster_start_time()").fetchone()[0] == start,
        "the server never restarted")
su.close()
plain.close()
t.finish()
