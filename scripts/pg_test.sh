#!/usr/bin/env bash
# scripts/pg_test.sh: self-test for scripts/pg.sh.
#
# Uses its own cluster folder (.dev/pg-selftest) and port (55439) so it never
# touches a developer's cluster, and removes the folder at the end.
# When run as root it also exercises the non-root code path as the postgres
# OS user (folder under /tmp, port 55440).
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd -- "$ROOT"

export LOOKFOR_DEV_PG_PORT=55439
export LOOKFOR_DEV_PG_DIR=.dev/pg-selftest
unset TEST_DATABASE_URL LOOKFOR_SHARED_PG_URL
PG=scripts/pg.sh
TEST_DIR="$ROOT/$LOOKFOR_DEV_PG_DIR"
NONROOT_DIR="/tmp/lookfor-pg-selftest-nonroot"
NONROOT_PORT=55440
# Nothing listens on port 1, so this forces test-url's fallback path.
DEAD_URL="postgres://postgres@127.0.0.1:1/postgres?sslmode=disable"

PASSED=0
pass() {
	PASSED=$((PASSED + 1))
	printf 'ok   %s\n' "$*"
}
fail() {
	printf 'FAIL %s\n' "$*" >&2
	exit 1
}

as_postgres() { runuser -u postgres -- env LOOKFOR_DEV_PG_DIR="$NONROOT_DIR" LOOKFOR_DEV_PG_PORT="$NONROOT_PORT" "$@"; }

cleanup() {
	local rc=$?
	set +e
	"$PG" stop 2>/dev/null
	rm -rf -- "$TEST_DIR"
	if [[ $EUID -eq 0 && -d $NONROOT_DIR ]]; then
		as_postgres bash "$ROOT/$PG" stop 2>/dev/null
		rm -rf -- "$NONROOT_DIR"
	fi
	if ((rc == 0)); then
		echo "pg_test: all $PASSED checks passed"
	else
		echo "pg_test: FAILED after $PASSED passing checks" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT

psql_1() { # psql_1 URL: succeeds if "select 1" returns 1
	[[ "$(PGCONNECT_TIMEOUT=5 psql -X -w -q -A -t -d "$1" -c 'select 1')" == 1 ]]
}

# Start from a clean slate (a previous run may have been interrupted).
"$PG" stop 2>/dev/null || true
rm -rf -- "$TEST_DIR"

for f in scripts/pg.sh scripts/pg_test.sh .ci/run; do
	bash -n "$f" || fail "bash -n $f"
done
pass "bash -n on scripts/pg.sh scripts/pg_test.sh .ci/run"

url="$("$PG" url)"
[[ $url == "postgres://postgres@127.0.0.1:55439/lookfor?sslmode=disable" ]] || fail "url printed '$url'"
pass "url prints $url"

status_out="$("$PG" status)" && fail "status before start should exit non-zero, printed '$status_out'"
[[ $status_out == "not running"* ]] || fail "status before start printed '$status_out'"
pass "status before start: $status_out"

out="$("$PG" start)" || fail "start failed"
[[ -z $out ]] || fail "start printed on stdout: '$out'"
[[ -f $TEST_DIR/data/PG_VERSION ]] || fail "no cluster in $TEST_DIR/data"
pass "start (fresh cluster in $LOOKFOR_DEV_PG_DIR, nothing on stdout)"

psql "$("$PG" url)" -c 'select 1' >/dev/null || fail "psql url -c 'select 1'"
psql_1 "$url" || fail "select 1 via url"
pass "psql \"\$(scripts/pg.sh url)\" -c 'select 1'"

settings="$(psql -X -A -t -d "$url" -c "select string_agg(name || '=' || setting, ' ' order by name) from pg_settings where name in ('listen_addresses', 'port', 'unix_socket_directories', 'fsync')")"
[[ $settings == "fsync=off listen_addresses=127.0.0.1 port=55439 unix_socket_directories=$TEST_DIR/run" ]] ||
	fail "unexpected settings: $settings"
pass "settings: $settings"
[[ -S $TEST_DIR/run/.s.PGSQL.55439 ]] || fail "no unix socket in $TEST_DIR/run"
pass "unix socket in $LOOKFOR_DEV_PG_DIR/run"

if [[ $EUID -eq 0 ]]; then
	owner="$(stat -c %U -- "$TEST_DIR/data")"
	[[ $owner == postgres ]] || fail "data dir owned by $owner, want postgres"
	server_user="$(ps -o user= -p "$(head -n 1 "$TEST_DIR/data/postmaster.pid")")"
	[[ $server_user == postgres ]] || fail "server runs as $server_user"
	pass "as root: data dir owned by and server running as postgres"
fi

pid1="$(head -n 1 "$TEST_DIR/data/postmaster.pid")"
out="$("$PG" start 2>&1)" || fail "second start failed: $out"
[[ -z $out ]] || fail "second start was not quiet: '$out'"
pid2="$(head -n 1 "$TEST_DIR/data/postmaster.pid")"
[[ $pid1 == "$pid2" ]] || fail "second start restarted the server ($pid1 -> $pid2)"
psql_1 "$url" || fail "select 1 after second start"
pass "start again is a quiet no-op (same pid $pid1)"

status_out="$("$PG" status)" || fail "status while running exited non-zero"
[[ $status_out == "running"* ]] || fail "status printed '$status_out'"
pass "status: $status_out"

out="$(LOOKFOR_DEV_PG_PORT=55438 "$PG" start 2>&1)" && fail "start with another port should fail"
pass "start on another port while running is refused"

"$PG" stop || fail "stop failed"
if "$PG" status >/dev/null; then fail "still running after stop"; fi
psql_1 "$url" 2>/dev/null && fail "server still answers after stop"
out="$("$PG" stop 2>&1)" || fail "stop when stopped failed"
[[ -z $out ]] || fail "stop when not running was not quiet: '$out'"
pass "stop, then stop again quietly"

got="$(TEST_DATABASE_URL='postgres://x@example.invalid/db' "$PG" test-url)"
[[ $got == 'postgres://x@example.invalid/db' ]] || fail "test-url ignored TEST_DATABASE_URL: '$got'"
pass "test-url honours TEST_DATABASE_URL"

got="$("$PG" test-url)" || fail "test-url failed"
[[ $got != *$'\n'* && $got == postgres://* ]] || fail "test-url printed more than a URL: '$got'"
psql_1 "$got" || fail "test-url URL $got does not work"
pass "test-url prints a working URL: $got"

# Force the fallback: no shared server answers, so the throwaway cluster is
# started and its "postgres" database is used.
got="$(LOOKFOR_SHARED_PG_URL="$DEAD_URL" "$PG" test-url 2>/dev/null)" || fail "test-url (fallback) failed"
[[ $got == "postgres://postgres@127.0.0.1:55439/postgres?sslmode=disable" ]] || fail "test-url fallback printed '$got'"
psql_1 "$got" || fail "fallback URL $got does not work"
[[ "$(psql -X -A -t -d "$got" -c 'select rolsuper from pg_roles where rolname = current_user')" == t ]] ||
	fail "fallback role is not a superuser"
pass "test-url fallback starts the throwaway cluster: $got"
"$PG" stop

if [[ $EUID -eq 0 ]] && id -u postgres >/dev/null 2>&1; then
	rm -rf -- "$NONROOT_DIR"
	as_postgres bash "$ROOT/$PG" start || fail "start as the postgres OS user (non-root path)"
	nr_url="$(as_postgres bash "$ROOT/$PG" url)"
	psql_1 "$nr_url" || fail "select 1 on the non-root cluster ($nr_url)"
	as_postgres bash "$ROOT/$PG" stop || fail "stop as postgres OS user"
	rm -rf -- "$NONROOT_DIR"
	pass "non-root path (as postgres OS user, initdb -U postgres): start, select 1, stop"
fi
