#!/usr/bin/env python3
"""A logical replication subscriber scores the new version of a model
replaced on the publisher, also in a session that had the old one cached:
the validation trigger is ENABLE ALWAYS, so it fires in the apply worker
(session_replication_role = replica), validates the row and invalidates
the subscriber's caches at commit.  The publisher is the test cluster
(wal_level = logical); the subscriber a second throw-away cluster started
with scripts/pgcluster.sh (ONNX_PG_NAME=-sub)."""
import os
import subprocess
import time

import numpy as np
import psycopg
import psycopg.sql
from onnx import TensorProto, helper, numpy_helper

from common import ROOT, Tally

t = Tally()
SUB_PORT = "54330"


def scale(v):
    g = helper.make_graph([helper.make_node("Mul", ["x", "s"], ["y"])], "scale",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
                          [numpy_helper.from_array(np.array([v], np.float32), "s")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


def wait_for(fn, what, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if fn():
            return True
        time.sleep(0.1)
    print("# timed out waiting for %s" % what)
    return False


env = dict(os.environ, ONNX_PG_NAME="-sub", ONNX_PG_PORT=SUB_PORT)
out = subprocess.run(["bash", os.path.join(ROOT, "scripts", "pgcluster.sh"), "start"], env=env,
                     capture_output=True, text=True)
t.check(out.returncode == 0, "the subscriber cluster starts", out.stderr[-500:])
sub_env = dict(line.replace("export ", "").split("=", 1) for line in out.stdout.splitlines()
               if line.startswith("export "))
sub_env = {k: v.strip("'") for k, v in sub_env.items()}
try:
    pub_host, pub_port = os.environ["PGHOST"], os.environ["PGPORT"]
    with psycopg.connect(dbname="postgres", autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS onnx_pub WITH (FORCE)")
        c.execute("CREATE DATABASE onnx_pub")
    pub = psycopg.connect(dbname="onnx_pub", autocommit=True)
    pub.execute("CREATE EXTENSION onnx")
    pub.execute("SELECT onnx_create_model('m', %s)", (scale(1),))
    pub.execute("CREATE PUBLICATION onnx_models_pub FOR TABLE onnx_models")

    def sub_connect(db):
        return psycopg.connect(host=sub_env["PGHOST"], port=sub_env["PGPORT"], user=sub_env["PGUSER"],
                               dbname=db, autocommit=True)

    with sub_connect("postgres") as c:
        c.execute("CREATE DATABASE onnx_sub")
    sub = sub_connect("onnx_sub")
    sub.execute("CREATE EXTENSION onnx")
    sub.execute("CREATE SUBSCRIPTION onnx_models_sub CONNECTION %s PUBLICATION onnx_models_pub"
                % psycopg.sql.quote("host=%s port=%s dbname=onnx_pub user=%s"
                                    % (pub_host, pub_port, os.environ["PGUSER"])))
    t.check(wait_for(lambda: sub.execute("SELECT count(*) FROM onnx_models").fetchone()[0] == 1,
                     "the initial copy"), "the subscriber receives the model")
    scorer = sub_connect("onnx_sub")
    first = scorer.execute("SELECT onnx_predict('m', '{1,1,1,1}')").fetchone()[0]
    t.check(first == [1, 1, 1, 1], "a subscriber session scores the model (and caches it)", str(first))
    stale = 0
    for v in range(2, 12):
        pub.execute("SELECT onnx_replace_model('m', %s)", (scale(v),))
        sha = pub.execute("SELECT sha256 FROM onnx_models WHERE name = 'm'").fetchone()[0]
        wait_for(lambda: sub.execute("SELECT sha256 FROM onnx_models WHERE name = 'm'").fetchone()[0] == sha,
                 "version %d" % v)
        got = scorer.execute("SELECT onnx_predict('m', '{1,1,1,1}')").fetchone()[0]
        stale += got != [v] * 4
    t.check(stale == 0, "after each of 10 replacements on the publisher the cached subscriber session "
            "scores the new version (%d stale answers)" % stale)
    for c in (scorer, sub):
        c.close()
    with sub_connect("onnx_sub") as c:
        c.execute("DROP SUBSCRIPTION onnx_models_sub")
    pub.execute("DROP PUBLICATION onnx_models_pub")
    pub.close()
finally:
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "pgcluster.sh"), "stop"], env=env)
t.finish()
