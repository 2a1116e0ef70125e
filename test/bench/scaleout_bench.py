#!/usr/bin/env python3
"""Scale-out timings: the same scoring query evaluated where the rows are
(pushed to the shards) against evaluated by the coordinator, for
postgres_fdw (two loopback shard databases) and, when Citus is installed
(scripts/citus.sh), Citus (a coordinator and two workers).

    eval "$(bash scripts/pgcluster.sh start)"
    .venv/bin/python test/bench/scaleout_bench.py [--rows 200000]

Prints the CPU model and the medians of 3 runs of each form."""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "sessions"))
from citus_cluster import CitusCluster  # noqa: E402
from common import fixture_bytes, fresh_database  # noqa: E402

ROW_SQL = "SELECT g, ARRAY[sin(g), cos(g), g %% 7 - 3, ln(g)]::float4[] FROM generate_series(%d, %d) g"


def timed(conn, sql, runs=3):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        conn.execute(sql).fetchall()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def fdw(rows):
    shards = [fresh_database("onnx_bench_shard%d" % i) for i in (1, 2)]
    coord = fresh_database("onnx_bench_coord")()
    coord.execute("CREATE EXTENSION postgres_fdw")
    host = coord.execute("SELECT current_setting('unix_socket_directories')").fetchone()[0].split(",")[0]
    port = coord.execute("SELECT current_setting('port')").fetchone()[0]
    user = coord.execute("SELECT current_user").fetchone()[0]
    coord.execute("CREATE TABLE items (id int, f float4[]) PARTITION BY RANGE (id)")
    coord.execute("SELECT onnx_create_model('m', %s)", (fixture_bytes("mlp.onnx"),))
    for i, connect in enumerate(shards, 1):
        lo, hi = (1, rows // 2) if i == 1 else (rows // 2 + 1, rows)
        with connect() as s:
            s.execute("CREATE TABLE items_%d (id int, f float4[])" % i)
            s.execute(("INSERT INTO items_%d " % i) + ROW_SQL % (lo, hi))
            s.execute("ANALYZE items_%d" % i)
        coord.execute("CREATE SERVER shard%d FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '%s', port '%s', "
                      "dbname 'onnx_bench_shard%d', extensions 'onnx', async_capable 'true', "
                      "use_remote_estimate 'true')" % (i, host, port, i))
        coord.execute("CREATE USER MAPPING FOR CURRENT_USER SERVER shard%d OPTIONS (user '%s')" % (i, user))
        coord.execute("CREATE FOREIGN TABLE items_%d PARTITION OF items FOR VALUES FROM (%d) TO (%d) "
                      "SERVER shard%d OPTIONS (table_name 'items_%d')" % (i, lo, hi + 1, i, i))
        coord.execute("SELECT onnx_push_model('shard%d', 'm')" % i)
    sha = coord.execute("SELECT sha256 FROM onnx_models WHERE name = 'm'").fetchone()[0]
    pushed = timed(coord, "SELECT count(*) FROM items WHERE (onnx_predict(decode('%s', 'hex'), f))[1] > 0.4" % sha)
    local = timed(coord, "SELECT count(*) FROM items WHERE (onnx_predict('m', f))[1] > 0.4")
    print("postgres_fdw, %d rows on 2 shards: pushed down %.2f s, on the coordinator %.2f s: %.1fx"
          % (rows, pushed, local, local / pushed))


def citus(rows):
    if subprocess.run(["bash", os.path.join(ROOT, "scripts", "citus.sh")]).returncode != 0:
        print("Citus: not installed, skipped")
        return
    with CitusCluster(workers=2) as cc:
        coord = cc.connect(0)
        coord.execute("SELECT onnx_create_model('m', %s)", (fixture_bytes("mlp.onnx"),))
        coord.execute("CREATE TABLE items (id int, f float4[])")
        coord.execute("SELECT create_distributed_table('items', 'id')")
        coord.execute("INSERT INTO items " + ROW_SQL % (1, rows))
        coord.execute("ANALYZE items")
        pushed = timed(coord, "SELECT count(*) FROM items WHERE (onnx_predict('m', f))[1] > 0.4")
        score = ("SELECT count(*) FROM onnx_score('m', 'SELECT f FROM items') AS s(f float4[], "
                 "p float4[]) WHERE p[1] > 0.4")
        on_workers, on_coord = score_both(coord, score)
        print("Citus, %d rows on 2 workers, the MLP: per-row onnx_predict on the workers %.2f s; onnx_score on "
              "the workers %.2f s, on the coordinator (onnx.score_pushdown off) %.2f s: %.1fx"
              % (rows, pushed, on_workers, on_coord, on_coord / on_workers))
        cnn = os.path.join(ROOT, "test", "bench", "models", "resnet18.onnx")
        if os.path.exists(cnn):
            images = max(rows // 500, 20)
            coord.execute("SELECT onnx_create_model('cnn', pg_read_binary_file(%s))", (cnn,))
            coord.execute("CREATE TABLE images (id int, x float4[])")
            coord.execute("SELECT create_distributed_table('images', 'id')")
            coord.execute("INSERT INTO images SELECT g, ARRAY(SELECT (random() + g * 0)::float4 "
                          "FROM generate_series(1, 3 * 64 * 64)) FROM generate_series(1, %d) g" % images)
            score = ("SELECT count(*) FROM onnx_score('cnn', 'SELECT id, x FROM images') "
                     "AS s(id int, x float4[], y float4[]) WHERE y[1] > 0")
            on_workers, on_coord = score_both(coord, score)
            print("Citus, %d images (3x64x64) on 2 workers, ResNet-18: onnx_score on the workers %.2f s, on the "
                  "coordinator %.2f s: %.1fx" % (images, on_workers, on_coord, on_coord / on_workers))
        else:
            print("ResNet-18 (test/bench/models, made by run_bench.py) is not there: its row skipped")
        coord.close()


def score_both(coord, sql):
    """Seconds of sql with onnx_score on the workers and on the coordinator."""
    on_workers = timed(coord, sql)
    coord.execute("SET onnx.score_pushdown = off")
    on_coord = timed(coord, sql)
    coord.execute("RESET onnx.score_pushdown")
    return on_workers, on_coord


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200000)
    a = ap.parse_args()
    print("Machine: %s, %d cores" % (cpu(), os.cpu_count()))
    fdw(a.rows)
    citus(a.rows)


if __name__ == "__main__":
    main()
