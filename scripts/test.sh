#!/usr/bin/env bash
# test.sh - set everything up, then run every suite: engine unit tests (also
# under ASan + UBSan), the engine isolation check, the proto check, the ONNX
# conformance runner (normal and sanitizer builds), pg_regress against a
# throw-away cluster, and the scripted multi-session tests.  Ends with one
# line "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
LOGDIR="$ROOT/test/logs"
mkdir -p "$LOGDIR"
total_pass=0
total_fail=0

if ! bash scripts/setup.sh; then
	echo "setup failed"
	echo "0 passed, 1 failed"
	exit 1
fi

# run_suite NAME COMMAND...: run it, read its "N passed, N failed" line
# (or its exit status when it prints none), add to the totals.
run_suite() {
	local name="$1"
	shift
	local log="$LOGDIR/$name.log"
	local start=$SECONDS
	"$@" > "$log" 2>&1
	local rc=$?
	local line
	line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)"
	local p f
	if [ -n "$line" ]; then
		p="$(echo "$line" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\1/')"
		f="$(echo "$line" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\2/')"
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
		fi
	elif [ "$rc" -eq 0 ]; then
		p=1
		f=0
	else
		p=0
		f=1
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	printf '%-28s %6d passed, %4d failed  (%ds)  log: %s\n' "$name" "$p" "$f" \
		$((SECONDS - start)) "${log#$ROOT/}"
	if [ "$f" -ne 0 ]; then
		tail -25 "$log" | sed 's/^/    | /'
	fi
}

pg_regress_suite() {
	local out="$LOGDIR/pg_regress.raw"
	make -s installcheck PG_CONFIG="$PG_CONFIG" > "$out" 2>&1
	local rc=$?
	cat "$out"
	# pg_regress prints one line per test: "test NAME ... ok" or "... FAILED"
	local ok failed
	ok="$(grep -cE '^(test| ) *[a-z_0-9]+ +\.\.\. ok' "$out")"
	failed="$(grep -cE '\.\.\. FAILED' "$out")"
	[ -f regression.diffs ] && head -80 regression.diffs
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1
	fi
	echo "$ok passed, $failed failed"
	return $rc
}

run_suite engine-unit engine/build/test_engine test/fixtures
run_suite gemm-unit engine/build/test_gemm
run_suite engine-isolation bash test/engine/check_engine_isolation.sh
run_suite proto-fields "$PY" test/check_proto_fields.py
run_suite conformance "$PY" test/conformance/run_conformance.py \
	--summary test/conformance/summary.md
( cd /tmp && "$PY" "$ROOT/test/hostile/make_corpus.py" "$ROOT/test/hostile/corpus" ) > "$LOGDIR/corpus.log" 2>&1
run_suite hostile-corpus timeout 600 engine/build/hostile_run test/hostile/corpus
make -s -C engine BUILD=build-san SAN=1 >/dev/null 2>&1
run_suite hostile-corpus-sanitizers timeout 900 engine/build-san/hostile_run test/hostile/corpus
run_suite engine-unit-sanitizers engine/build-san/test_engine test/fixtures
run_suite gemm-unit-sanitizers engine/build-san/test_gemm
run_suite conformance-sanitizers "$PY" test/conformance/run_conformance.py \
	--bin engine/build-san/onnx_node_test

run_suite ml-models "$PY" test/ml/run_ml_tests.py
run_suite kernels "$PY" test/kernels/run_kernel_tests.py
run_suite kernels-sanitizers "$PY" test/kernels/run_kernel_tests.py --bin engine/build-san/onnx_node_test

eval "$(bash scripts/pgcluster.sh start)"
trap 'bash scripts/pgcluster.sh stop' EXIT
run_suite pg_regress pg_regress_suite
for t in test/sessions/test_*.py; do
	[ -e "$t" ] || continue
	run_suite "sessions-$(basename "$t" .py | sed s/^test_//)" "$PY" "$t"
done

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
