#!/usr/bin/env python3
"""Every case of the hostile-model corpus (test/hostile/corpus/, made by
make_corpus.py) sent to the server through onnx_create_model and, when
stored, scored through onnx_run: each ends in a clean error or a valid
result, nothing is half-written, and the server never restarts."""
import os

import psycopg

from common import ROOT, Tally, fresh_database

t = Tally()
connect = fresh_database("onnx_sessions_hostile")
c = connect()
start = c.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
corpus = os.path.join(ROOT, "test", "hostile", "corpus")
names = sorted(n for n in os.listdir(corpus) if n.endswith(".onnx"))
stored = refused = crashed = 0
for i, name in enumerate(names):
    data = open(os.path.join(corpus, name), "rb").read()
    try:
        c.execute("SELECT onnx_create_model(%s, %s)", ("h%d" % i, data))
        stored += 1
        try:
            c.execute("SELECT onnx_run(%s, '{}')", ("h%d" % i,))
        except psycopg.errors.Error:
            pass
    except psycopg.Error as e:
        if c.closed or c.broken:
            crashed += 1
            print("# server connection lost on %s: %s" % (name, e))
            c = connect()
        else:
            refused += 1
n_rows = c.execute("SELECT count(*) FROM onnx_models").fetchone()[0]
t.check(crashed == 0, "no corpus case cost a connection (%d cases: %d stored, %d refused)"
        % (len(names), stored, refused))
t.check(n_rows == stored, "the table holds exactly the stored models (%d)" % n_rows)
t.check(c.execute("SELECT pg_postmaster_start_time()").fetchone()[0] == start, "the server never restarted")
t.check(len(names) >= 500, "the corpus has at least 500 cases (%d)" % len(names))
t.finish()
