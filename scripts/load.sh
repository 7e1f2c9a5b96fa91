#!/usr/bin/env bash
# scripts/load.sh: `make load` and `make faults`.
#
# Usage: scripts/load.sh [lookfor load flags...]   one load run (make load)
#        scripts/load.sh faults                     three short fault runs (make faults)
#
# load    runs `bin/lookfor load` with the given flags against DATABASE_URL; when it is unset,
#         against a throwaway PostgreSQL cluster of its own (scripts/pg.sh in a temporary folder
#         on a free port), stopped and removed afterwards.
# faults  always starts such a cluster of its own (the pg-restart run restarts it), then runs
#         pg-restart, server-kill and conn-cut, each LOAD_FAULT_TABLETS tablets (default 30) for
#         LOAD_FAULT_DURATION (default 20s), then the same load spread across two servers on the
#         one database (two-servers: background work must run on one of them only), each ending
#         with the exactly-once check. It runs all four and exits non-zero if any failed.
#
# Every run is bounded by LOAD_TIMEOUT seconds (default: 600 for load, 240 per fault run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
lookfor=bin/lookfor

pg_dir=""
cleanup() {
	if [[ -n $pg_dir ]]; then
		echo "load.sh: stopping the throwaway PostgreSQL in $pg_dir" >&2
		LOOKFOR_DEV_PG_DIR=$pg_dir LOOKFOR_DEV_PG_PORT=$pg_port scripts/pg.sh stop || true
		rm -rf -- "$pg_dir"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port prints a TCP port on 127.0.0.1 that nothing listens on, below the kernel's range of
# ephemeral ports: a port in that range can be taken at any moment by an outgoing connection
# (PostgreSQL then fails to bind it, at start or when the faults run restarts it).
free_port() {
	local p tries lo=32768
	if [[ -r /proc/sys/net/ipv4/ip_local_port_range ]]; then
		read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	fi
	((lo > 21000)) || lo=32768
	for ((tries = 0; tries < 200; tries++)); do
		p=$((20000 + RANDOM % (lo - 20000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	echo "load.sh: no free port found" >&2
	return 1
}

# start_pg starts a throwaway cluster in a fresh temporary folder and exports DATABASE_URL.
start_pg() {
	pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/lookfor-load-pg.XXXXXX")
	pg_port=$(free_port)
	LOOKFOR_DEV_PG_DIR=$pg_dir LOOKFOR_DEV_PG_PORT=$pg_port scripts/pg.sh start
	DATABASE_URL=$(LOOKFOR_DEV_PG_DIR=$pg_dir LOOKFOR_DEV_PG_PORT=$pg_port scripts/pg.sh url)
	export DATABASE_URL
}

if [[ ${1:-} != faults ]]; then
	if [[ -z ${DATABASE_URL:-} ]]; then
		start_pg
	fi
	timeout -k 10 "${LOAD_TIMEOUT:-600}" "$lookfor" load "$@"
	exit
fi

start_pg
tablets=${LOAD_FAULT_TABLETS:-30}
duration=${LOAD_FAULT_DURATION:-20s}
failed=()
for fault in pg-restart server-kill conn-cut; do
	echo
	echo "==> fault run: $fault ($tablets tablets × $duration)"
	args=(load --tablets "$tablets" --duration "$duration" --record-every 1s --sync-every 2s --fault "$fault")
	if [[ $fault == pg-restart ]]; then
		args+=(--pg-dir "$pg_dir" --pg-port "$pg_port" --pg-script scripts/pg.sh)
	fi
	if ! timeout -k 10 "${LOAD_TIMEOUT:-240}" "$lookfor" "${args[@]}"; then
		failed+=("$fault")
	fi
done
echo
echo "==> scale-out run: two servers on one database ($tablets tablets × $duration)"
if ! timeout -k 10 "${LOAD_TIMEOUT:-240}" "$lookfor" load --servers 2 --tablets "$tablets" --duration "$duration" \
	--record-every 1s --sync-every 2s; then
	failed+=(two-servers)
fi
echo
if ((${#failed[@]} > 0)); then
	echo "==> fault runs FAILED: ${failed[*]}"
	exit 1
fi
echo "==> fault runs passed: pg-restart, server-kill, conn-cut, two-servers"
