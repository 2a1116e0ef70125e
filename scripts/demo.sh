#!/usr/bin/env bash
# demo.sh - set everything up, start a throw-away cluster, load the model
# shipped in test/fixtures/mlp.onnx as "churn", score a sample table and
# print the predictions.  Idempotent; stops its cluster when done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
eval "$(bash scripts/pgcluster.sh start)"
trap 'bash scripts/pgcluster.sh stop' EXIT
"$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir)/psql" -X -q -v ON_ERROR_STOP=1 -f scripts/demo.sql
