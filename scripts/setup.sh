#!/usr/bin/env bash
# setup.sh - install what the project needs, build it and install the
# extension into the system's PostgreSQL 15.  Idempotent; run as root or as
# an ordinary user with sudo.
#
#   Debian packages: PostgreSQL 15 and its server headers, protobuf-c,
#   OpenBLAS, the ONNX 1.12 node tests (libonnx-testdata), clang for the
#   sanitizer build, python3-venv.
#   Python packages: test/requirements.txt, pinned, in .venv/ in the repository.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

APT_PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-contrib libprotobuf-c-dev
	protobuf-c-compiler libopenblas-dev libonnx-testdata build-essential clang
	libclang-rt-14-dev libgomp1 python3 python3-venv python3-pip libipc-run-perl"
missing=""
for p in $APT_PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "setup: installing Debian packages:$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

# Python environment for fixtures, conformance data (onnx 1.22.0) and oracles
REQ_HASH="$(sha256sum test/requirements.txt | cut -c1-16)"
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.requirements 2>/dev/null)" != "$REQ_HASH" ]; then
	echo "setup: creating .venv with test/requirements.txt"
	python3 -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check -r test/requirements.txt
	echo "$REQ_HASH" > .venv/.requirements
fi

PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
echo "setup: building"
make -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" >/dev/null
$SUDO make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
echo "setup: onnx extension installed into $($PG_CONFIG --pkglibdir)"
