#!/usr/bin/env bash
# pgcluster.sh - a private, throw-away PostgreSQL 15 cluster for the demo
# and the tests: data in .pgdata/ and socket in .pgrun/ inside the
# repository, its own port, no TCP listener, trust authentication on the
# socket.  Nothing of the system's PostgreSQL configuration is touched.
#
#   scripts/pgcluster.sh start    (re)create and start it; prints the
#                                 environment to reach it (eval-able)
#   scripts/pgcluster.sh stop     stop it
#
# ONNX_PG_PORT and ONNX_PG_NAME (a suffix of the data and socket folders)
# give a second cluster beside the first, e.g. a logical replication
# subscriber.  wal_level is logical, so any cluster can publish.
# ONNX_PG_PRELOAD replaces shared_preload_libraries (default onnx);
# ONNX_PG_OPTS adds server options ("-c name=value ...").
#
# initdb refuses to run as root, so under root the cluster runs as the
# unprivileged system user "onnxpg" (created if missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
PGBIN="$("$PG_CONFIG" --bindir)"
PORT="${ONNX_PG_PORT:-54329}"
NAME="${ONNX_PG_NAME:-}"
DATA="$ROOT/.pgdata$NAME"
SOCK="$ROOT/.pgrun$NAME"
RUNAS=()
DBUSER="$(id -un)"

if [ "$(id -u)" -eq 0 ]; then
	if ! id onnxpg >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin onnxpg
	fi
	RUNAS=(runuser -u onnxpg --)
	DBUSER=onnxpg
	# the repository may sit where onnxpg cannot reach: fall back to /tmp
	if ! "${RUNAS[@]}" test -x "$ROOT"; then
		DATA="/tmp/onnx-pgdata-$PORT"
		SOCK="/tmp/onnx-pgrun-$PORT"
	fi
fi

stop_cluster() {
	if [ -f "$DATA/postmaster.pid" ]; then
		"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
	fi
}

case "${1:-}" in
	start)
		stop_cluster
		rm -rf "$DATA" "$SOCK"
		mkdir -p "$DATA" "$SOCK"
		if [ "${#RUNAS[@]}" -gt 0 ]; then
			chown onnxpg "$DATA" "$SOCK"
		fi
		chmod 700 "$DATA"
		"${RUNAS[@]}" "$PGBIN/initdb" -D "$DATA" -U "$DBUSER" --auth=trust \
			--no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
		"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
			-o "-c port=$PORT -c unix_socket_directories=$SOCK -c listen_addresses='' -c fsync=off -c shared_preload_libraries=${ONNX_PG_PRELOAD:-onnx} -c wal_level=logical ${ONNX_PG_OPTS:-}" \
			start >/dev/null
		{
			echo "export PGHOST='$SOCK'"
			echo "export PGPORT='$PORT'"
			echo "export PGUSER='$DBUSER'"
			echo "export PGDATABASE=postgres"
			echo "export ONNX_PG_LOG='$DATA/server.log'"
			echo "export ONNX_PG_DATA='$DATA'"
		} > "$SOCK/env"
		cat "$SOCK/env"
		;;
	stop)
		stop_cluster
		;;
	*)
		echo "usage: $0 start|stop" >&2
		exit 2
		;;
esac
