"""A Citus cluster of throw-away PostgreSQL clusters on this machine: a
coordinator and workers (shared_preload_libraries = 'citus,onnx', reached
through their sockets), database onnx_citus with both extensions,
onnx_models and onnx_model_history as reference tables.  Used by
test_citus.py and test/bench/scaleout_bench.py.

    with CitusCluster(workers=2) as cc:
        coord = cc.connect(0)
"""
import os
import subprocess

import psycopg

from common import ROOT


class CitusCluster:
    def __init__(self, workers=2, base_port=54370):
        self.n = workers + 1
        self.base_port = base_port
        self.envs = []

    def _env(self, i):
        sock = os.path.join(ROOT, ".pgrun-citus%d" % i)
        return dict(os.environ, ONNX_PG_NAME="-citus%d" % i, ONNX_PG_PORT=str(self.base_port + i),
                    ONNX_PG_PRELOAD="citus,onnx",
                    ONNX_PG_OPTS="-c citus.node_conninfo=sslmode=disable -c max_prepared_transactions=100 "
                                 "-c citus.local_hostname=%s" % sock)

    def connect(self, i, db="onnx_citus"):
        e = self.envs[i][1]
        return psycopg.connect(host=e["PGHOST"], port=e["PGPORT"], user=e["PGUSER"], dbname=db,
                               autocommit=True)

    def __enter__(self):
        for i in range(self.n):
            env = self._env(i)
            out = subprocess.run(["bash", os.path.join(ROOT, "scripts", "pgcluster.sh"), "start"], env=env,
                                 capture_output=True, text=True, check=True)
            info = dict(line.replace("export ", "").split("=", 1) for line in out.stdout.splitlines()
                        if line.startswith("export "))
            self.envs.append((env, {k: v.strip("'") for k, v in info.items()}))
        for i in range(self.n):
            with self.connect(i, "postgres") as c:
                c.execute("CREATE DATABASE onnx_citus")
            with self.connect(i) as c:
                c.execute("CREATE EXTENSION citus")
        with self.connect(0) as coord:
            coord.execute("CREATE EXTENSION onnx")
            coord.execute("SELECT citus_set_coordinator_host(%s, %s)", (self.envs[0][1]["PGHOST"], self.base_port))
            for i in range(1, self.n):
                coord.execute("SELECT citus_add_node(%s, %s)", (self.envs[i][1]["PGHOST"], self.base_port + i))
            # the validation trigger must fire on every placement
            coord.execute("SET citus.enable_unsafe_triggers = on")
            coord.execute("SELECT create_reference_table('onnx_models')")
            coord.execute("SELECT create_reference_table('onnx_model_history')")
        return self

    def __exit__(self, *exc):
        for env, _ in self.envs:
            subprocess.run(["bash", os.path.join(ROOT, "scripts", "pgcluster.sh"), "stop"], env=env,
                           capture_output=True)
