#!/usr/bin/env bash
# package.sh - the Debian package of the extension (debian/, pg_buildext).
#
#   scripts/package.sh build   dpkg-buildpackage -us -uc -b in a copy of the
#                              tracked files (.pgbuild/deb/); the package is
#                              postgresql-15-onnx_VERSION_ARCH.deb there
#   scripts/package.sh test    install it with dpkg into the system's
#                              PostgreSQL 15, score a model in a fresh
#                              cluster, remove it and reinstall the
#                              development build; "N passed, N failed"
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
OUT="$ROOT/.pgbuild/deb"
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

case "${1:-}" in
	build)
		missing=""
		for p in debhelper dpkg-dev postgresql-server-dev-all; do
			dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
		done
		if [ -n "$missing" ]; then
			DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq $missing >/dev/null || exit 1
		fi
		rm -rf "$OUT"
		mkdir -p "$OUT/src"
		git ls-files -z | xargs -0 cp --parents -t "$OUT/src"
		cd "$OUT/src"
		pg_buildext updatecontrol >/dev/null
		start=$SECONDS
		dpkg-buildpackage -us -uc -b > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
		echo "built $(ls "$OUT"/*.deb) in $((SECONDS - start)) s"
		;;
	test)
		passed=0
		failed=0
		check() {
			if eval "$2"; then
				passed=$((passed + 1))
				echo "ok - $1"
			else
				failed=$((failed + 1))
				echo "not ok - $1"
			fi
		}
		deb="$(ls "$OUT"/postgresql-15-onnx_*.deb 2>/dev/null | head -1)"
		check "the package was built" '[ -n "$deb" ]'
		if [ -z "$deb" ]; then
			tail -20 "$OUT/build.log" 2>/dev/null
			echo "$passed passed, $failed failed"
			exit 1
		fi
		check "it installs with dpkg" '$SUDO dpkg -i "$deb" >/dev/null 2>&1'
		dpkg -L postgresql-15-onnx > "$OUT/files.txt" 2>/dev/null
		check "it holds the library, the control file and every script" \
			'grep -q "/onnx.so$" "$OUT/files.txt" && grep -q "/onnx.control$" "$OUT/files.txt" && grep -q "/onnx--0.1.0--0.2.0.sql$" "$OUT/files.txt"'
		env_file="$(mktemp)"
		ONNX_PG_NAME=-deb ONNX_PG_PORT=54340 bash scripts/pgcluster.sh start > "$env_file"
		(
			. "$env_file"
			psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE EXTENSION onnx" &&
				psql -X -q -v ON_ERROR_STOP=1 -d postgres \
					-c "SELECT onnx_create_model('m', decode('$(base64 -w0 test/fixtures/mlp.onnx)', 'base64'))" &&
				[ "$(psql -X -At -d postgres -c "SELECT array_length(onnx_predict('m', '{1,2,3,4}'), 1)")" = 3 ]
		) > "$OUT/test.log" 2>&1
		scored=$?
		check "a fresh cluster creates the extension from the package and scores" '[ "$scored" -eq 0 ]'
		ONNX_PG_NAME=-deb ONNX_PG_PORT=54340 bash scripts/pgcluster.sh stop
		rm -f "$env_file"
		check "it removes cleanly" '$SUDO dpkg -r postgresql-15-onnx >/dev/null 2>&1'
		$SUDO make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
		echo "$passed passed, $failed failed"
		[ "$failed" -eq 0 ]
		;;
	*)
		echo "usage: $0 build|test" >&2
		exit 2
		;;
esac
