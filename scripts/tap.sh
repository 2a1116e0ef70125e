#!/usr/bin/env bash
# tap.sh - the TAP tests of test/t/ (make prove_installcheck) against the
# installed extension and PG_CONFIG's PostgreSQL, from a copy of the files
# they need in a folder the cluster user owns (initdb refuses root, so under
# root they run as the unprivileged user onnxpg).  Prints every test line
# and last "N passed, N failed".
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
DIR="$(mktemp -d /tmp/onnx-tap.XXXXXX)"
trap 'rm -rf "$DIR"' EXIT
mkdir -p "$DIR/test"
cp "$ROOT/Makefile" "$ROOT/onnx.control" "$DIR/"
cp -r "$ROOT/test/t" "$ROOT/test/fixtures" "$DIR/test/"
RUNAS=()
if [ "$(id -u)" -eq 0 ]; then
	id onnxpg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin onnxpg
	chown -R onnxpg "$DIR"
	RUNAS=(runuser -u onnxpg --)
fi
cd "$DIR"
"${RUNAS[@]}" make -s prove_installcheck PG_CONFIG="$PG_CONFIG" PROVE_FLAGS=-v > tap.out 2>&1
rc=$?
cat tap.out
if [ "$rc" -ne 0 ]; then
	for f in tmp_check/log/regress_log_*; do
		[ -f "$f" ] && { echo "--- $f"; tail -30 "$f"; }
	done
fi
passed="$(grep -cE '^ok [0-9]+' tap.out)"
failed="$(grep -cE '^not ok [0-9]+' tap.out)"
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1
fi
echo "$passed passed, $failed failed"
exit "$rc"
