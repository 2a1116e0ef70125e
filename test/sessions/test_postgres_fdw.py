#!/usr/bin/env python3
"""Scale-out with postgres_fdw (the recipe of the README's "Scaling out"):
a table partitioned by region whose two partitions are foreign tables on
two shard databases reached through postgres_fdw (loopback servers with
async_capable), models copied to the shards with onnx_push_model, and
scoring pinned to a model's content hash pushed into the shard queries:
WHERE clauses and grouped aggregates over predictions run on the shards
(EXPLAIN VERBOSE shows onnx_predict in the Remote SQL), every answer equals
the single-server answer, and 100 replacements of the model while another
session scores never mix versions."""
import threading

import numpy as np
import psycopg

from common import Tally, fixture_bytes, fresh_database, matmul_model

t = Tally()
ROWS = 4000
with psycopg.connect(dbname="postgres") as c:
    if not c.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgres_fdw'").fetchone()[0]:
        print("ok - postgres_fdw is not installed for this PostgreSQL: skipped")
        print("1 passed, 0 failed")
        raise SystemExit(0)

shards = [fresh_database("onnx_fdw_shard%d" % i) for i in (1, 2)]
coord = fresh_database("onnx_fdw_coord")()
coord.execute("CREATE EXTENSION postgres_fdw")
host = coord.execute("SELECT current_setting('unix_socket_directories')").fetchone()[0].split(",")[0]
port = coord.execute("SELECT current_setting('port')").fetchone()[0]
user = coord.execute("SELECT current_user").fetchone()[0]
ROW_SQL = ("SELECT g, CASE WHEN g <= %d THEN 1 ELSE 2 END, ARRAY[sin(g), cos(g), g %%%% 7 - 3, ln(g)]::float4[] "
           "FROM generate_series(%%d, %%d) g" % (ROWS // 2))
coord.execute("CREATE TABLE local_items (id int, region int, f float4[])")
coord.execute("INSERT INTO local_items " + ROW_SQL % (1, ROWS))
coord.execute("CREATE TABLE items (id int, region int, f float4[]) PARTITION BY LIST (region)")
for i, connect in enumerate(shards, 1):
    lo, hi = (1, ROWS // 2 + 1) if i == 1 else (ROWS // 2 + 1, ROWS + 1)
    with connect() as s:
        s.execute("CREATE TABLE items_%d (id int, region int, f float4[])" % i)
        s.execute(("INSERT INTO items_%d " % i) + ROW_SQL % (lo, hi - 1))
        s.execute("ANALYZE items_%d" % i)
    coord.execute("CREATE SERVER shard%d FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '%s', port '%s', "
                  "dbname 'onnx_fdw_shard%d', extensions 'onnx', async_capable 'true', "
                  "use_remote_estimate 'true')" % (i, host, port, i))
    coord.execute("CREATE USER MAPPING FOR CURRENT_USER SERVER shard%d OPTIONS (user '%s')" % (i, user))
    coord.execute("CREATE FOREIGN TABLE items_%d PARTITION OF items FOR VALUES IN (%d) "
                  "SERVER shard%d OPTIONS (table_name 'items_%d')" % (i, i, i, i))

coord.execute("SELECT onnx_create_model('m', %s)", (fixture_bytes("mlp.onnx"),))
for i in (1, 2):
    coord.execute("SELECT onnx_push_model('shard%d', 'm')" % i)
sha = coord.execute("SELECT sha256 FROM onnx_models WHERE name = 'm'").fetchone()[0]
on_shards = [s().execute("SELECT sha256 FROM onnx_models WHERE name = 'm'").fetchone()[0] for s in shards]
t.check(on_shards == [sha, sha], "onnx_push_model copies the model to both shards")

coord.execute("SET enable_partitionwise_aggregate = on")
pred = "onnx_predict(decode('%s', 'hex'), f)" % sha
queries = {
    "filter": "SELECT id FROM %s WHERE (" + pred + ")[1] > 0.4 ORDER BY id",
    "aggregate": "SELECT region, count(*), sum((" + pred + ")[2]), max((" + pred + ")[1]) "
                 "FROM %s GROUP BY region ORDER BY region",
}
for what, q in queries.items():
    plan = "\n".join(r[0] for r in coord.execute("EXPLAIN VERBOSE " + q % "items").fetchall())
    remote = [line for line in plan.splitlines() if "Remote SQL" in line]
    t.check(len(remote) == 2 and all("onnx_predict" in line for line in remote),
            "the %s over predictions runs on both shards (onnx_predict in their Remote SQL)" % what,
            "\n" + plan)
    # sums in another order may differ in the last float bits: compare to 1e-9 relative
    sharded = [tuple(round(v, 9 - len(str(int(abs(v))))) if isinstance(v, float) else v for v in r)
               for r in coord.execute(q % "items").fetchall()]
    single = [tuple(round(v, 9 - len(str(int(abs(v))))) if isinstance(v, float) else v for v in r)
              for r in coord.execute(q % "local_items").fetchall()]
    t.check(sharded == single and len(sharded) > 0, "the sharded %s equals the single-server answer "
            "(%d rows)" % (what, len(sharded)), "%s vs %s" % (sharded[:3], single[:3]))
plan = "\n".join(r[0] for r in coord.execute(
    "EXPLAIN VERBOSE SELECT id FROM items WHERE (onnx_predict('m', f))[1] > 0.4").fetchall())
t.check("onnx_predict" not in "\n".join(line for line in plan.splitlines() if "Remote SQL" in line),
        "the STABLE name form is evaluated on the coordinator (never on whatever a shard calls 'm')")

# 100 replacements while another session scores: every answer is one whole version
errors, mixed = [], []
stop = threading.Event()
current = {"sha": sha}


def scorer():
    c = psycopg.connect(dbname="onnx_fdw_coord", autocommit=True)
    try:
        while not stop.is_set():
            s = current["sha"]
            q = ("SELECT count(DISTINCT (onnx_predict(decode('%s', 'hex'), f))[1] = "
                 "(onnx_predict(decode('%s', 'hex'), ARRAY[1, 1, 1, 1]::float4[]))[1]) FROM items "
                 "WHERE id %% 500 = 1" % (s, s))
            c.execute(q)
    except psycopg.Error as e:
        errors.append(str(e))
    finally:
        c.close()


th = threading.Thread(target=scorer)
th.start()
bad = 0
for v in range(100):
    coord.execute("SELECT onnx_replace_model('m', %s)", (matmul_model(4, 3, seed=100 + v),))
    for i in (1, 2):
        coord.execute("SELECT onnx_push_model('shard%d', 'm')" % i)
    new_sha = coord.execute("SELECT sha256 FROM onnx_models WHERE name = 'm'").fetchone()[0]
    current["sha"] = new_sha
    q = "SELECT id, onnx_predict(decode('%s', 'hex'), f) FROM %s WHERE id %% 400 = 7 ORDER BY id"
    if coord.execute(q % (new_sha, "items")).fetchall() != coord.execute(q % (new_sha, "local_items")).fetchall():
        bad += 1
stop.set()
th.join()
t.check(bad == 0, "after each of 100 replacements the shards score the new version exactly (%d mismatches)" % bad)
t.check(not errors, "a session scoring meanwhile saw no error", str(errors[:2]))
old = coord.execute("SELECT count(*) FROM onnx_model_versions('m')").fetchone()[0]
t.check(old >= 2, "the replaced versions are kept on the coordinator (%d versions listed)" % old)
coord.close()
t.finish()
