#!/usr/bin/env bash
# citus.sh - build and install Citus from the release sources kept in
# ../shared/vendor/citus (Citus is in no Debian suite) into PG_CONFIG's
# PostgreSQL, for the scale-out test.  Idempotent: nothing is built when
# that Citus is installed already.  Exits 3 when the sources are missing.
#
#   scripts/citus.sh        13.2.2 for PostgreSQL 15, 14.0.1 for 16 to 18
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
MAJOR="$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')"
if [ "$MAJOR" -le 15 ]; then VERSION=13.2.2; else VERSION=14.0.1; fi
TARBALL="$ROOT/../shared/vendor/citus/citus-$VERSION.tar.gz"
SHAREDIR="$("$PG_CONFIG" --sharedir)"

# one build at a time (the test command starts one in the background)
mkdir -p "$ROOT/.pgbuild"
exec 9>"$ROOT/.pgbuild/citus.lock"
flock 9
if [ -f "$SHAREDIR/extension/citus.control" ] &&
	grep -q "default_version = '${VERSION%.*}" "$SHAREDIR/extension/citus.control"; then
	exit 0
fi
if [ ! -f "$TARBALL" ]; then
	echo "citus: $TARBALL is missing" >&2
	exit 3
fi
missing=""
for p in liblz4-dev libzstd-dev libkrb5-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq $missing >/dev/null
fi

BUILD="$ROOT/.pgbuild/citus-$VERSION-pg$MAJOR"
rm -rf "$BUILD"
mkdir -p "$BUILD"
tar xzf "$TARBALL" -C "$BUILD" --strip-components=1
cd "$BUILD"
# PostgreSQL 15.20 exports have_createdb_privilege(): drop Citus's own copy
if grep -q "have_createdb_privilege" "$("$PG_CONFIG" --includedir-server)/commands/dbcommands.h"; then
	python3 - src/include/pg_version_compat.h <<'EOF'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = re.sub(r"static inline bool\nhave_createdb_privilege\(void\)\n\{.*?\n\}\n", "", s, flags=re.S)
open(p, "w").write(s)
EOF
fi
./configure --without-libcurl PG_CONFIG="$PG_CONFIG" > configure.log 2>&1 || { tail -20 configure.log >&2; exit 1; }
make -s -j"$(nproc)" > build.log 2>&1 || { tail -30 build.log >&2; exit 1; }
$SUDO make -s install PG_CONFIG="$PG_CONFIG" >> build.log 2>&1
echo "citus $VERSION installed into $("$PG_CONFIG" --pkglibdir)"
