#!/usr/bin/env bash
# scripts/pg.sh: a throwaway PostgreSQL cluster for lookfor development and tests.
#
# Usage: scripts/pg.sh start|stop|status|url|test-url|psql [psql args...]
#
#   start     start the cluster (initdb on first use, create database "lookfor");
#             does nothing if it is already running
#   stop      stop the cluster (pg_ctl stop -m fast); quiet if it is not running
#   status    say whether the cluster runs (exit 0 if it does, 3 if not)
#   url       print the cluster's DATABASE_URL (database "lookfor")
#   test-url  print the URL tests should use: $TEST_DATABASE_URL, else the
#             PostgreSQL on 127.0.0.1:5432 if it answers and may CREATE DATABASE,
#             else the throwaway cluster (started if needed), database "postgres"
#   psql      start the cluster if needed and open psql on it
#
# Environment:
#   LOOKFOR_DEV_PG_PORT    TCP port on 127.0.0.1 (default 55432)
#   LOOKFOR_DEV_PG_DIR     cluster folder, relative to the repository root or
#                          absolute (default .dev/pg, which is git-ignored)
#   TEST_DATABASE_URL      used as-is by test-url when set
#   LOOKFOR_SHARED_PG_URL  the shared server test-url probes (default
#                          postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
#
# Only URLs (url, test-url) and status go to stdout; progress goes to stderr.
# PostgreSQL refuses to run as root, so as root the server runs as the
# "postgres" OS user, which then owns the cluster folder.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"

PORT="${LOOKFOR_DEV_PG_PORT:-55432}"
DEV_DIR="${LOOKFOR_DEV_PG_DIR:-.dev/pg}"
case "$DEV_DIR" in
	/*) ;;
	*) DEV_DIR="$ROOT/$DEV_DIR" ;;
esac
DEV_DIR="$(realpath -m -- "$DEV_DIR")"
DATA="$DEV_DIR/data"
SOCK_DIR="$DEV_DIR/run"
LOG_FILE="$DEV_DIR/server.log"
CONF_NAME="lookfor-dev.conf"
SHARED_URL="${LOOKFOR_SHARED_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
SUPERUSER="postgres"
DB_NAME="lookfor"
PG_OS_USER="postgres"
START_TIMEOUT=30

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

is_root() { [[ $EUID -eq 0 ]]; }

# url_for DB prints the throwaway cluster's URL for database DB.
url_for() {
	printf 'postgres://%s@127.0.0.1:%s/%s?sslmode=disable\n' "$SUPERUSER" "$PORT" "$1"
}

validate_port() {
	if ! [[ $PORT =~ ^[0-9]{1,5}$ ]] || ((10#$PORT < 1 || 10#$PORT > 65535)); then
		die "LOOKFOR_DEV_PG_PORT must be a TCP port number, got '$PORT'"
	fi
	PORT=$((10#$PORT))
}

# as_pg runs a command as the OS user that may run PostgreSQL: the current
# user, or the postgres OS user when running as root.
as_pg() {
	if ! is_root; then
		"$@"
		return
	fi
	if command -v runuser >/dev/null 2>&1; then
		(cd / && runuser -u "$PG_OS_USER" -- "$@")
	else
		local cmd
		printf -v cmd '%q ' "$@"
		(cd / && su "$PG_OS_USER" -s /bin/bash -c "$cmd")
	fi
}

# find_bindir prints the directory holding initdb and pg_ctl, or fails.
find_bindir() {
	local d
	# An existing cluster must keep using its own major version if installed.
	if [[ -f $DATA/PG_VERSION ]]; then
		d="/usr/lib/postgresql/$(<"$DATA/PG_VERSION")/bin"
		if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
			printf '%s\n' "$d"
			return 0
		fi
	fi
	if command -v pg_config >/dev/null 2>&1; then
		d="$(pg_config --bindir 2>/dev/null || true)"
		if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then
			printf '%s\n' "$d"
			return 0
		fi
	fi
	local found=""
	for d in /usr/lib/postgresql/*/bin; do
		if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
			found+="$d"$'\n'
		fi
	done
	if [[ -n $found ]]; then
		printf '%s' "$found" | sort -V | tail -n 1
		return 0
	fi
	if d="$(command -v initdb 2>/dev/null)"; then
		d="$(dirname -- "$(readlink -f -- "$d")")"
		if [[ -x $d/pg_ctl ]]; then
			printf '%s\n' "$d"
			return 0
		fi
	fi
	return 1
}

# client TOOL prints the path of a client program (psql, pg_isready),
# preferring the server's bin directory.
client() {
	local bindir
	if bindir="$(find_bindir)" && [[ -x $bindir/$1 ]]; then
		printf '%s\n' "$bindir/$1"
	elif command -v "$1" 2>/dev/null; then
		:
	else
		return 1
	fi
}

install_postgres() {
	local -a sudo=()
	if ! is_root; then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo=(sudo -n)
		else
			log "PostgreSQL server programs (initdb, pg_ctl) were not found. Install them with:"
			printf '%s\n' "sudo apt-get install -y postgresql" >&2
			exit 1
		fi
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		log "PostgreSQL server programs (initdb, pg_ctl) were not found and apt-get is not available."
		log "Install the PostgreSQL server with your package manager (on Debian/Ubuntu:"
		printf '%s\n' "sudo apt-get install -y postgresql" >&2
		log "), or put its bin directory (with initdb and pg_ctl) on PATH."
		exit 1
	fi
	# The package may create and start its own cluster on port 5432; this
	# script never uses it (it runs its own cluster in $DEV_DIR).
	log "PostgreSQL server programs not found; installing the postgresql package with apt-get"
	"${sudo[@]}" apt-get update >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
}

# check_reachable fails unless the postgres OS user can reach and write DEV_DIR.
check_reachable() {
	local d="$DEV_DIR" parents=()
	while [[ $d != / ]]; do
		d="$(dirname -- "$d")"
		parents=("$d" "${parents[@]}")
	done
	for d in "${parents[@]}"; do
		# The repository's own .dev folder is made private (0700) when `lookfor token` creates the
		# development signing key in it first; the cluster's user only needs to pass through it
		# (the key file itself stays 0600).
		if [[ $d == "$ROOT/.dev" ]] && ! as_pg test -x "$d" && [[ -O $d ]]; then
			chmod o+x -- "$d"
		fi
		if ! as_pg test -x "$d"; then
			die "the cluster runs as the '$PG_OS_USER' OS user (PostgreSQL refuses to run as root), but that user cannot enter '$d' ($(stat -c '%A %U:%G' -- "$d")), a parent of $DEV_DIR. Make it traversable (chmod o+x '$d') or choose another folder, e.g. LOOKFOR_DEV_PG_DIR=/tmp/lookfor-pg"
		fi
	done
	if ! as_pg test -r "$DEV_DIR" -a -w "$DEV_DIR" -a -x "$DEV_DIR"; then
		die "the '$PG_OS_USER' OS user cannot write to $DEV_DIR"
	fi
}

# prepare_dir creates DEV_DIR, takes the start lock, and as root hands the
# folder to the postgres OS user.
prepare_dir() {
	mkdir -p -- "$DEV_DIR"
	if command -v flock >/dev/null 2>&1; then
		exec 9>>"$DEV_DIR/.lock"
		flock -w 120 9 || die "timed out waiting for another 'pg.sh start' (lock $DEV_DIR/.lock)"
	fi
	mkdir -p -- "$SOCK_DIR"
	if is_root; then
		id -u "$PG_OS_USER" >/dev/null 2>&1 ||
			die "running as root, but there is no '$PG_OS_USER' OS user to run PostgreSQL as (PostgreSQL refuses to run as root); install the postgresql package or run as a normal user"
		if [[ -n $(find "$DEV_DIR" ! -user "$PG_OS_USER" -print -quit) ]]; then
			chown -R "$PG_OS_USER:" -- "$DEV_DIR"
		fi
		check_reachable
	fi
	chmod 700 -- "$DEV_DIR"
}

# write_conf (re)writes the settings included by postgresql.conf.
write_conf() {
	local conf="$DATA/$CONF_NAME" sockets="$SOCK_DIR" sock_path
	sock_path="$SOCK_DIR/.s.PGSQL.$PORT"
	if ((${#sock_path} > 100)); then
		log "warning: socket path $sock_path is too long for a unix socket; listening on TCP only"
		sockets=""
	fi
	cat >"$conf" <<EOF
# Written by scripts/pg.sh on every start; edits are lost.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '${sockets//\'/\'\'}'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
	if is_root; then
		chown "$PG_OS_USER:" -- "$conf"
	fi
}

pid_file_line() { sed -n "${1}p" -- "$DATA/postmaster.pid" 2>/dev/null || true; }

is_running() {
	[[ -f $DATA/PG_VERSION ]] || return 1
	local bindir
	bindir="$(find_bindir)" || return 1
	as_pg "$bindir/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

show_log_tail() {
	if [[ -f $LOG_FILE ]]; then
		log "last lines of $LOG_FILE:"
		tail -n 40 -- "$LOG_FILE" >&2 || true
	fi
}

wait_ready() {
	local isready deadline
	isready="$(client pg_isready)" || die "pg_isready not found"
	deadline=$((SECONDS + START_TIMEOUT))
	until "$isready" -q -h 127.0.0.1 -p "$PORT" -t 2; do
		if ((SECONDS >= deadline)); then
			show_log_tail
			die "PostgreSQL did not answer on 127.0.0.1:$PORT within ${START_TIMEOUT}s"
		fi
		sleep 0.2
	done
}

ensure_db() {
	local psql url exists
	psql="$(client psql)" || die "psql not found"
	url="$(url_for postgres)"
	exists="$(PGCONNECT_TIMEOUT=10 "$psql" -X -w -q -A -t -v ON_ERROR_STOP=1 -d "$url" \
		-c "select 1 from pg_database where datname = '$DB_NAME'")" ||
		die "cannot connect to $url"
	[[ $exists == 1 ]] && return 0
	log "creating database $DB_NAME"
	if ! PGCONNECT_TIMEOUT=10 "$psql" -X -w -q -v ON_ERROR_STOP=1 -d "$url" \
		-c "create database $DB_NAME" >&2; then
		# Lost a race with a concurrent start? Fine if it exists now.
		exists="$(PGCONNECT_TIMEOUT=10 "$psql" -X -w -q -A -t -d "$url" \
			-c "select 1 from pg_database where datname = '$DB_NAME'")" || true
		[[ $exists == 1 ]] || die "could not create database $DB_NAME"
	fi
}

cmd_start() {
	validate_port
	local bindir
	if ! bindir="$(find_bindir)"; then
		install_postgres
		bindir="$(find_bindir)" || die "PostgreSQL was installed but initdb/pg_ctl are still not found"
	fi
	prepare_dir

	if [[ ! -f $DATA/PG_VERSION ]]; then
		if [[ -d $DATA && -n $(ls -A -- "$DATA") ]]; then
			die "$DATA exists but is not a PostgreSQL data directory; remove $DEV_DIR and retry"
		fi
		log "creating cluster in $DATA ($(as_pg "$bindir/initdb" --version))"
		local out
		if ! out="$(as_pg "$bindir/initdb" -D "$DATA" -U "$SUPERUSER" \
			--auth-local=trust --auth-host=trust --encoding=UTF8 --no-locale --no-sync 2>&1)"; then
			printf '%s\n' "$out" >&2
			die "initdb failed"
		fi
		printf "\ninclude = '%s'\n" "$CONF_NAME" >>"$DATA/postgresql.conf"
	fi

	if as_pg "$bindir/pg_ctl" status -D "$DATA" >/dev/null 2>&1; then
		local running_port
		running_port="$(pid_file_line 4)"
		if [[ -n $running_port && $running_port != "$PORT" ]]; then
			die "the cluster in $DEV_DIR already runs on port $running_port, not $PORT; run 'LOOKFOR_DEV_PG_PORT=$running_port $0 stop' first or use LOOKFOR_DEV_PG_PORT=$running_port"
		fi
	else
		write_conf
		log "starting PostgreSQL on 127.0.0.1:$PORT (log: $LOG_FILE)"
		# 9>&-: the server must not inherit the start lock.
		if ! as_pg "$bindir/pg_ctl" start -D "$DATA" -l "$LOG_FILE" -w -t "$START_TIMEOUT" -s >&2 9>&-; then
			show_log_tail
			die "could not start PostgreSQL (data: $DATA)"
		fi
	fi
	wait_ready
	ensure_db
	exec 9>&- # release the start lock (psql is exec'd after start)
}

cmd_stop() {
	[[ -f $DATA/PG_VERSION ]] || return 0
	local bindir
	bindir="$(find_bindir)" || return 0
	if as_pg "$bindir/pg_ctl" status -D "$DATA" >/dev/null 2>&1; then
		log "stopping PostgreSQL (data: $DATA)"
		as_pg "$bindir/pg_ctl" stop -D "$DATA" -m fast -w -t 60 -s >&2
	fi
}

cmd_status() {
	if is_running; then
		printf 'running: pid %s, 127.0.0.1:%s, data %s\n' "$(pid_file_line 1)" "$(pid_file_line 4)" "$DATA"
	else
		printf 'not running (data %s)\n' "$DATA"
		return 3
	fi
}

# shared_usable succeeds if the shared server answers and lets us create databases.
shared_usable() {
	local isready psql out
	isready="$(client pg_isready)" || return 1
	psql="$(client psql)" || return 1
	"$isready" -q -t 3 -d "$SHARED_URL" >/dev/null 2>&1 || return 1
	out="$(PGCONNECT_TIMEOUT=5 "$psql" -X -w -q -A -t -d "$SHARED_URL" \
		-c "select rolcreatedb or rolsuper from pg_roles where rolname = current_user" 2>/dev/null)" || return 1
	[[ $out == t ]]
}

cmd_test_url() {
	if [[ -n ${TEST_DATABASE_URL:-} ]]; then
		printf '%s\n' "$TEST_DATABASE_URL"
		return
	fi
	if shared_usable; then
		printf '%s\n' "$SHARED_URL"
		return
	fi
	log "no usable PostgreSQL at $SHARED_URL; using the throwaway cluster"
	cmd_start >&2
	url_for postgres
}

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' -- "${BASH_SOURCE[0]}"
}

main() {
	local cmd="${1:-}"
	shift || true
	case "$cmd" in
	start) cmd_start ;;
	stop) cmd_stop ;;
	status) cmd_status ;;
	url)
		validate_port
		url_for "$DB_NAME"
		;;
	test-url) cmd_test_url ;;
	psql)
		cmd_start
		local psql
		psql="$(client psql)" || die "psql not found"
		exec "$psql" -d "$(url_for "$DB_NAME")" "$@"
		;;
	-h | --help | help) usage ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
