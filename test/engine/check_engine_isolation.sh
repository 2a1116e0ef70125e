#!/usr/bin/env bash
# check_engine_isolation.sh - engine/ must never include a PostgreSQL
# header, and its test binary must run with no server: checks both.
# Prints "N passed, N failed".
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pass=0
fail=0
pg_headers='postgres(_ext)?\.h|postgres_fe\.h|fmgr\.h|funcapi\.h|miscadmin\.h|(utils|catalog|executor|access|nodes|commands|storage|libpq|parser|lib|common|port)/'
if grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($pg_headers)" "$ROOT/engine" \
	--include='*.c' --include='*.h' --include='*.cu' --include='*.cuh'; then
	echo "not ok - engine/ includes a PostgreSQL header (listed above)"
	fail=$((fail + 1))
else
	echo "ok - no file in engine/ includes a PostgreSQL header"
	pass=$((pass + 1))
fi
# the engine compiles with no PostgreSQL include path at all
if grep -q "$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --includedir-server 2>/dev/null || echo /nonexistent)" \
	"$ROOT/engine/Makefile"; then
	echo "not ok - engine/Makefile names the PostgreSQL include directory"
	fail=$((fail + 1))
else
	echo "ok - engine/Makefile does not use PostgreSQL include paths"
	pass=$((pass + 1))
fi
# the test binary links no PostgreSQL library
if ldd "$ROOT/engine/build/test_engine" | grep -qiE 'libpq|postgres'; then
	echo "not ok - test_engine links a PostgreSQL library"
	fail=$((fail + 1))
else
	echo "ok - test_engine links no PostgreSQL library"
	pass=$((pass + 1))
fi
# no engine object calls exit, abort, assert, printing, files or the
# environment; only alloc.c (the malloc allocator for tools) uses malloc
bad=""
for o in "$ROOT"/engine/build/src/*.o "$ROOT"/engine/build/ops/*.o "$ROOT"/engine/build/ops/ml/*.o \
	"$ROOT"/engine/build/gen/*.o; do
	syms="$(nm -u "$o" | awk '{print $2}' | grep -wE 'exit|_exit|abort|__assert_fail|printf|fprintf|puts|fputs|fwrite|fopen|open|getenv|system|malloc|calloc|realloc|free' || true)"
	case "$o" in
		*/alloc.o) syms="$(echo "$syms" | grep -vwE 'malloc|free' || true)" ;;
	esac
	if [ -n "$syms" ]; then
		bad="$bad $(basename "$o"):$(echo $syms | tr ' ' ',')"
	fi
done
if [ -n "$bad" ]; then
	echo "not ok - engine objects call forbidden functions:$bad"
	fail=$((fail + 1))
else
	echo "ok - no engine object calls exit, abort, assert, printf, fopen, getenv or malloc"
	pass=$((pass + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
