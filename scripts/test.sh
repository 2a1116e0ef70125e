#!/usr/bin/env bash
# test.sh - set everything up, then run every suite: engine unit tests (also
# under ASan + UBSan), the engine isolation check, the proto check, the ONNX
# conformance runner (normal and sanitizer builds), pg_regress against a
# throw-away cluster, and the scripted multi-session tests, all on
# PostgreSQL 15 (or PG_CONFIG's major); then pg_regress and the session tests
# on every other major Debian's source packages offer (ONNX_PG_MAJORS, default
# "16 17 18"; built once into .pgbuild/ by scripts/pgmajor.sh, in the
# background while the first suites run).  Ends with one line
# "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
export PG_CONFIG
MAJORS="${ONNX_PG_MAJORS-16 17 18}"
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
	local out="$LOGDIR/pg_regress-$("$PG_CONFIG" --version | tr -dc 0-9. | cut -d. -f1).raw"
	make -s installcheck PG_CONFIG="$PG_CONFIG" > "$out" 2>&1
	local rc=$?
	cat "$out"
	# pg_regress prints one line per test: "test NAME ... ok" or "... FAILED"
	# up to 15, TAP lines "ok 1 - NAME" or "not ok 1 - NAME" from 16
	local ok failed
	ok="$(grep -cE '^(test| ) *[a-z_0-9]+ +\.\.\. ok|^ok [0-9]+ ' "$out")"
	failed="$(grep -cE '\.\.\. FAILED|^not ok [0-9]+ ' "$out")"
	[ -f regression.diffs ] && head -80 regression.diffs
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1
	fi
	echo "$ok passed, $failed failed"
	return $rc
}

# other majors build in the background (cached after the first run)
mkdir -p "$LOGDIR/majors"
(
	for m in $MAJORS; do
		bash scripts/pgmajor.sh "$m" > "$LOGDIR/majors/$m.path" 2> "$LOGDIR/majors/$m.log"
		echo $? > "$LOGDIR/majors/$m.rc"
	done
) &
MAJORS_PID=$!
# Citus from ../shared/vendor for the scale-out test, and the Debian package,
# built in a copy of the tree (its clean step would remove this tree's
# builds), also in the background
( bash scripts/citus.sh > "$LOGDIR/citus-build.log" 2>&1 ) &
( bash scripts/package.sh build > "$LOGDIR/package-build.log" 2>&1; echo $? > "$LOGDIR/package-build.rc" ) &
PACKAGE_PID=$!

run_suite engine-unit engine/build/test_engine test/fixtures
run_suite gemm-unit engine/build/test_gemm
run_suite engine-isolation bash test/engine/check_engine_isolation.sh
run_suite proto-fields "$PY" test/check_proto_fields.py
run_suite conformance "$PY" test/conformance/run_conformance.py \
	--summary test/conformance/summary.md
# every model read-only while it runs: what sharing model memory between
# backends relies on
run_suite conformance-readonly-model "$PY" test/conformance/run_conformance.py --readonly-model
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
run_suite kernels-avx2 "$PY" test/kernels/run_kernel_tests.py --isa avx2
run_suite kernels-portable "$PY" test/kernels/run_kernel_tests.py --isa portable
# the real-model benchmark's cases (wheels from PyPI, inputs and onnxruntime's
# outputs), which quant-models and contrib-models also quantize and convert
"$PY" test/bench/run_real_models.py --cases-only > "$LOGDIR/real-cases.log" 2>&1 ||
	echo "real-model cases not written (see $LOGDIR/real-cases.log): those derived models are skipped"
# quantized models made by onnxruntime.quantization (and the ddddocr recogniser) against onnxruntime
run_suite quant-models "$PY" test/contrib/run_quant_models.py
run_suite kernels-sanitizers "$PY" test/kernels/run_kernel_tests.py --bin engine/build-san/onnx_node_test
run_suite contrib-models "$PY" test/contrib/run_contrib_models.py

eval "$(bash scripts/pgcluster.sh start)"
trap 'bash scripts/pgcluster.sh stop' EXIT
run_suite pg_regress pg_regress_suite
for t in test/sessions/test_*.py; do
	[ -e "$t" ] || continue
	run_suite "sessions-$(basename "$t" .py | sed s/^test_//)" "$PY" "$t"
done

bash scripts/pgcluster.sh stop
trap - EXIT

# TAP tests: restart with shared_preload_libraries, crash recovery, a
# streaming hot standby (PostgreSQL::Test::Cluster, make prove_installcheck)
run_suite tap bash scripts/tap.sh

# the .deb: built above, installed with dpkg into the system's PostgreSQL,
# scored in a fresh cluster, removed again (the development build returns)
wait "$PACKAGE_PID"
run_suite package bash scripts/package.sh test

# the other majors: the extension built against each in a copy of the
# tree (objects differ per major), its own cluster, pg_regress and the
# session tests
wait "$MAJORS_PID"
not_obtainable=""
for m in $MAJORS; do
	rc="$(cat "$LOGDIR/majors/$m.rc" 2>/dev/null || echo 1)"
	if [ "$rc" = 3 ]; then
		not_obtainable="$not_obtainable $m"
		echo "pg$m: not obtainable from Debian here ($(tail -1 "$LOGDIR/majors/$m.log"))"
		continue
	fi
	if [ "$rc" != 0 ]; then
		total_fail=$((total_fail + 1))
		echo "pg$m: building PostgreSQL $m failed"
		tail -20 "$LOGDIR/majors/$m.log" | sed 's/^/    | /'
		continue
	fi
	(
		PG_CONFIG="$(cat "$LOGDIR/majors/$m.path")"
		export PG_CONFIG
		dir="$(dirname "$(dirname "$PG_CONFIG")")/../ext-$m"
		rm -rf "$dir"
		mkdir -p "$dir"
		cp -r Makefile onnx.control onnx--*.sql extension sql expected "$dir/"
		rm -f "$dir"/extension/*.o "$dir"/extension/*.bc	# this tree's objects are 15's
		ln -s "$ROOT/engine" "$dir/engine"
		ln -s "$ROOT/test" "$dir/test"
		start=$SECONDS
		if ! { make -s -C "$dir" && make -s -C "$dir" install; } > "$LOGDIR/pg$m-build.log" 2>&1; then
			echo "pg$m: building the extension failed"
			tail -20 "$LOGDIR/pg$m-build.log" | sed 's/^/    | /'
			echo "FAIL" > "$LOGDIR/majors/$m.result"
			exit 1
		fi
		echo "pg$m: extension built ($((SECONDS - start))s)"
		eval "$(ONNX_PG_NAME="-$m" ONNX_PG_PORT="$((54300 + m))" bash scripts/pgcluster.sh start)"
		trap 'ONNX_PG_NAME="-$m" ONNX_PG_PORT="$((54300 + m))" bash scripts/pgcluster.sh stop' EXIT
		cd "$dir"
		total_pass=0
		total_fail=0
		run_suite "pg$m-pg_regress" pg_regress_suite
		cd "$ROOT"
		for t in test/sessions/test_*.py; do
			run_suite "pg$m-sessions-$(basename "$t" .py | sed s/^test_//)" "$PY" "$t"
		done
		echo "$total_pass $total_fail" > "$LOGDIR/majors/$m.result"
	)
	read -r p f < <(cat "$LOGDIR/majors/$m.result" 2>/dev/null | sed 's/FAIL/0 1/' || echo "0 1")
	total_pass=$((total_pass + ${p:-0}))
	total_fail=$((total_fail + ${f:-1}))
done
if [ -n "$not_obtainable" ]; then
	echo "PostgreSQL majors Debian does not offer here (not tested):$not_obtainable"
fi

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
