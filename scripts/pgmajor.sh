#!/usr/bin/env bash
# pgmajor.sh - a PostgreSQL major other than the system's 15, built from
# Debian's source package of a newer suite (deb-src entries for trixie,
# trixie-security and sid are added when missing), with postgres_fdw,
# installed into a cache folder that later runs reuse.  Prints the path of its pg_config.
#
#   scripts/pgmajor.sh MAJOR      e.g. 18
#
# The cache is .pgbuild/MAJOR in the repository (ignored by git), or
# /tmp/onnx-pgbuild/MAJOR when the repository sits where the unprivileged
# cluster user cannot reach it.  Exits 3 when Debian offers no source
# package for that major (or its files cannot be fetched): the caller
# reports the major as not obtainable.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAJOR="${1:?usage: pgmajor.sh MAJOR}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

CACHE="$ROOT/.pgbuild"
if [ "$(id -u)" -eq 0 ] && id onnxpg >/dev/null 2>&1 && ! runuser -u onnxpg -- test -x "$ROOT"; then
	CACHE="/tmp/onnx-pgbuild"
fi
PREFIX="$CACHE/$MAJOR"

STAMP="$PREFIX/.built-2"		# bump when the build below changes
if [ -x "$PREFIX/bin/pg_config" ] && [ -f "$STAMP" ]; then
	echo "$PREFIX/bin/pg_config"
	exit 0
fi

# Debian's source packages of newer suites
SRCLIST=/etc/apt/sources.list.d/onnx-deb-src.sources
# (grep -q would end the pipe early: apt-cache's SIGPIPE fails it under pipefail)
has_source() {
	[ "$(apt-cache showsrc "postgresql-$MAJOR" 2>/dev/null | grep -c '^Package:')" -gt 0 ]
}
if ! has_source; then
	if [ ! -f "$SRCLIST" ]; then
		$SUDO tee "$SRCLIST" >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	fi
	# another apt may hold the lock (the package build installs its tools meanwhile)
	$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null 2>&1 || true
fi
if ! has_source; then
	echo "pgmajor: Debian has no source package postgresql-$MAJOR" >&2
	exit 3
fi

# build dependencies of a minimal server build (no ICU, no docs)
DEPS="bison flex libreadline-dev zlib1g-dev pkg-config libipc-run-perl dpkg-dev"
missing=""
for p in $DEPS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq $missing >/dev/null
fi

SRC="$CACHE/src/$MAJOR"
rm -rf "$SRC"
mkdir -p "$SRC"
cd "$SRC"
if ! apt-get source -qq --download-only "postgresql-$MAJOR" >/dev/null 2>&1 ||
	! ls postgresql-"$MAJOR"_*.orig.tar.* >/dev/null 2>&1; then
	echo "pgmajor: the files of Debian's postgresql-$MAJOR source package cannot be fetched" >&2
	exit 3
fi
tar xf postgresql-"$MAJOR"_*.orig.tar.*
cd postgresql-"$MAJOR".*/ 2>/dev/null || cd postgresql-*/
./configure --prefix="$PREFIX" --without-icu --enable-tap-tests --enable-debug >configure.log 2>&1 ||
	{ tail -30 configure.log >&2; exit 1; }
make -s -j"$(nproc)" >build.log 2>&1 || { tail -40 build.log >&2; exit 1; }
make -s install >>build.log 2>&1
# pg_regress and the TAP modules for PGXS's installcheck and prove_installcheck
make -s -C src/test/regress install >>build.log 2>&1 || true
make -s -C src/test/perl install >>build.log 2>&1 || true
# postgres_fdw, for the scale-out test
make -s -C contrib/postgres_fdw install >>build.log 2>&1 || { tail -20 build.log >&2; exit 1; }
chmod -R a+rX "$PREFIX"
touch "$STAMP"
rm -rf "$SRC"
echo "$PREFIX/bin/pg_config"
