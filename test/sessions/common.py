"""Helpers for the scripted multi-session tests: connections to the
throw-away cluster started by scripts/pgcluster.sh (PG* environment), a
fresh database per test, fixtures, and the "N passed, N failed" tally."""
import base64
import os
import sys

import psycopg

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "test", "fixtures")


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, name, detail=""):
        if cond:
            self.passed += 1
            print("ok - %s" % name)
        else:
            self.failed += 1
            print("not ok - %s %s" % (name, detail))

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.exit(1 if self.failed else 0)


def pg_bindir():
    """Binaries of the PostgreSQL under test: PG_CONFIG's, else the system's 15."""
    import subprocess
    pg_config = os.environ.get("PG_CONFIG", "/usr/lib/postgresql/15/bin/pg_config")
    return subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip()


def fixture_bytes(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def fresh_database(name):
    """Create database `name` with the extension; return a connect() function."""
    with psycopg.connect(dbname="postgres", autocommit=True) as c:
        c.execute('DROP DATABASE IF EXISTS "%s"' % name)
        c.execute('CREATE DATABASE "%s"' % name)
    with psycopg.connect(dbname=name, autocommit=True) as c:
        c.execute("CREATE EXTENSION onnx")

    def connect(autocommit=True):
        return psycopg.connect(dbname=name, autocommit=autocommit)
    return connect


def matmul_model(k, n, seed=0, scale=0.01):
    """Bytes of a model y = x @ w, x float32 (N, k), w (k, n) random normal * scale."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = (np.random.default_rng(seed).standard_normal((k, n)) * scale).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "matmul",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", n])],
                          [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()
