#!/usr/bin/env python3
"""onnx_models is an extension configuration table: pg_dump keeps the
models, and a restore into a new database gives the same predictions."""
import os
import subprocess

from common import pg_bindir, Tally, fixture_bytes, fresh_database
import psycopg

PGBIN = pg_bindir()
t = Tally()
connect = fresh_database("onnx_dump_src")
with connect() as c:
    c.execute("SELECT onnx_create_model('kept', %s, 'survives pg_dump')", (fixture_bytes("mlp.onnx"),))
    before = c.execute("SELECT onnx_predict('kept', '{1,2,3,4}')").fetchone()[0]
    # a second model with a history: version 1 kept, version 2 current
    c.execute("SELECT onnx_create_model('versioned', %s)", (fixture_bytes("linear.onnx"),))
    c.execute("SELECT onnx_replace_model('versioned', %s)", (fixture_bytes("mlp.onnx"),))
    versions_before = c.execute("SELECT version, sha256, current FROM onnx_model_versions('versioned') "
                                "ORDER BY 1").fetchall()

dump = subprocess.run([os.path.join(PGBIN, "pg_dump"), "-d", "onnx_dump_src"],
                      capture_output=True, text=True)
t.check(dump.returncode == 0, "pg_dump succeeds", dump.stderr[-300:])
t.check("COPY public.onnx_models" in dump.stdout, "the dump holds the onnx_models rows")

with psycopg.connect(dbname="postgres", autocommit=True) as c:
    c.execute("DROP DATABASE IF EXISTS onnx_dump_dst")
    c.execute("CREATE DATABASE onnx_dump_dst")
restore = subprocess.run([os.path.join(PGBIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                          "-d", "onnx_dump_dst"], input=dump.stdout, capture_output=True, text=True)
t.check(restore.returncode == 0, "the dump restores", restore.stderr[-500:])
with psycopg.connect(dbname="onnx_dump_dst") as c:
    row = c.execute("SELECT description, size_bytes FROM onnx_models WHERE name = 'kept'").fetchone()
    t.check(row is not None and row[0] == "survives pg_dump", "the model and its metadata are back")
    after = c.execute("SELECT onnx_predict('kept', '{1,2,3,4}')").fetchone()[0]
    t.check(after == before, "the restored model gives the same predictions")
    versions_after = c.execute("SELECT version, sha256, current FROM onnx_model_versions('versioned') "
                               "ORDER BY 1").fetchall()
    t.check(versions_after == versions_before and len(versions_after) == 2,
            "model versions survive the dump (%s)" % [v[0] for v in versions_after])
    t.check(c.execute("SELECT array_length(onnx_predict('versioned@1', '{1,2,3,4}'), 1)").fetchone()[0] == 3,
            "and the kept version still scores")
t.finish()
