#!/usr/bin/env bash
# `make run`: build (saying what it does: the first build compiles for minutes), start a throwaway
# PostgreSQL unless DATABASE_URL is set, migrate, seed the demo network, print the URLs and a dev
# token per role, and serve until Ctrl-C or SIGTERM, which stop the server (draining in-flight
# calls), the development OpenID Provider and — only if this run started it — the throwaway
# cluster. The banner says what was found and what was done: an existing database (DATABASE_URL,
# or a cluster already running) is neither described as created nor stopped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
lookfor=bin/lookfor

say() { printf 'run: %s\n' "$*" >&2; }

started_pg=0
idp_pid=
pid=
cleanup() {
	if [[ -n $pid ]]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [[ -n $idp_pid ]]; then
		kill -TERM "$idp_pid" 2>/dev/null || true
		wait "$idp_pid" 2>/dev/null || true
	fi
	if ((started_pg)); then
		say "stopping the throwaway PostgreSQL this run started"
		scripts/pg.sh stop || true
	fi
}
trap cleanup EXIT
# Until the server runs, Ctrl-C or TERM ends the run (the EXIT trap cleans up); then they are
# forwarded to the server, which drains (see below).
trap 'exit 130' INT
trap 'exit 143' TERM

# build compiles bin/lookfor with a running count of the packages compiled: the first build
# compiles about 400 packages and takes minutes; later builds reuse Go's cache and take seconds.
build() {
	local first=0 total n=0 start=$SECONDS line rc=1
	if [[ ! -x $lookfor ]]; then
		first=1
		say "first build: downloading Go modules (go mod download; a minute or two on a fresh machine)"
		go mod download
	fi
	total=$(go list -deps ./cmd/lookfor 2>/dev/null | wc -l)
	if ((first)); then
		say "first build: compiling lookfor and its dependencies (~${total} packages; about 5-10 minutes on 2 cores, seconds on later runs)"
	else
		say "building $lookfor (seconds when little changed)"
	fi
	while IFS= read -r line; do
		if [[ $line == exit:* ]]; then
			rc=${line#exit:}
			continue
		fi
		if [[ $line == *" "* || $line == *":"* ]]; then
			printf '%s\n' "$line" >&2 # a compiler message, not a package name
			continue
		fi
		n=$((n + 1))
		if ((n % 25 == 0)); then
			say "  compiled $n of at most $total packages ($((SECONDS - start)) s)"
		fi
	done < <(go build -v -o "$lookfor" ./cmd/lookfor 2>&1; echo "exit:$?")
	if ((rc != 0)); then
		say "the build failed (go build exited $rc)"
		exit 1
	fi
	say "built $lookfor ($n packages compiled, $((SECONDS - start)) s)"
}
build
if [[ ! -x bin/grpcurl || scripts/tools/grpcurl/go.mod -nt bin/grpcurl ]]; then
	say "building bin/grpcurl for the gRPC examples (first time only; about a minute)"
	(cd scripts/tools/grpcurl && GOBIN="$root/bin" go install tool)
fi

if [[ -z ${DATABASE_URL:-} ]]; then
	if scripts/pg.sh status >/dev/null 2>&1; then
		db_origin="the throwaway PostgreSQL in ${LOOKFOR_DEV_PG_DIR:-.dev/pg}, already running before this run (left running at the end)"
	else
		pg_log=$(scripts/pg.sh start 2>&1) || {
			printf '%s\n' "$pg_log" >&2
			exit 1
		}
		printf '%s\n' "$pg_log" >&2
		started_pg=1
		if [[ $pg_log == *"creating cluster"* ]]; then
			db_origin="a throwaway PostgreSQL created now in ${LOOKFOR_DEV_PG_DIR:-.dev/pg} (Ctrl-C stops it; its data stays for the next make run)"
		else
			db_origin="the throwaway PostgreSQL in ${LOOKFOR_DEV_PG_DIR:-.dev/pg} from an earlier make run, started now (Ctrl-C stops it)"
		fi
	fi
	DATABASE_URL=$(scripts/pg.sh url)
	export DATABASE_URL
else
	db_origin="your database (DATABASE_URL): make run did not create it and leaves it running"
fi

say "migrating the database"
migrated=$("$lookfor" migrate up)
applied=$(grep -c '^applied ' <<<"$migrated" || true)
if ((applied == 0)); then
	migrations="none pending: the schema was already current"
else
	migrations="$applied applied now"
fi
# The demo network with 3,000 submitted observations of this school year, so the progress views
# have something to show; districts that exist are left as they are and --append loads nothing
# already stored.
say "seeding the demo network (3,000 observations; districts that exist are left as they are)"
seeded=$("$lookfor" seed --observations 3000 --append 2>&1)
printf '%s\n' "$seeded" | sed 's/^/  /' >&2
loaded=$(sed -n 's/^observations: \([0-9]*\) loaded.*, \([0-9]*\) already stored skipped.*/\1 \2/p' <<<"$seeded")
read -r n_loaded n_skipped <<<"${loaded:-0 0}"
kept=$(sed -n 's/^seed: \([0-9]*\) districts exist already.*/\1/p' <<<"$seeded")
if ((n_loaded == 0)); then
	demo="already present: no observation added (${n_skipped} of the demo's were stored before)"
elif ((n_skipped == 0)) && [[ -z $kept ]]; then
	demo="loaded now: 3 districts, 12 sites, 150 classrooms, ${n_loaded} observations"
else
	demo="${n_loaded} observations added now, ${n_skipped} were stored before"
fi
if [[ -n $kept ]]; then
	demo+="; ${kept} districts existed and were left as they were"
fi
jwks=$("$lookfor" token --key-dir .dev --jwks-path)

grpc_addr=${LOOKFOR_GRPC_ADDR:-:9090}
http_addr=${LOOKFOR_HTTP_ADDR:-:8080}
http_port=${http_addr##*:}
grpc_port=${grpc_addr##*:}

# The development OpenID Provider the pages sign in with (the demo people, password "demo").
idp_addr=127.0.0.1:${LOOKFOR_DEV_IDP_PORT:-9096}
callback=http://localhost:${http_port}/auth/callback
"$lookfor" devidp --addr "$idp_addr" --redirect-url "$callback" &
idp_pid=$!
for _ in $(seq 50); do
	curl -fs "http://$idp_addr/.well-known/openid-configuration" >/dev/null 2>&1 && break
	sleep 0.1
done

if ((started_pg)); then
	stops="Ctrl-C stops the server, the development OpenID Provider and the throwaway database."
else
	stops="Ctrl-C stops the server and the development OpenID Provider; the database keeps running."
fi
cat <<MSG

lookfor is starting.
  database       ${DATABASE_URL}
                 ${db_origin}
  migrations     ${migrations}
  demo network   ${demo}
  Pages          http://localhost:${http_port}/  (sign in as a demo user below, password "demo")
  Tablet app     http://localhost:${http_port}/app/  (sign in as a demo user; records offline after one visit)
  REST gateway   http://localhost:${http_port}/v1/rubrics
  OpenAPI        http://localhost:${http_port}/openapi.json
  health/ready   http://localhost:${http_port}/healthz  http://localhost:${http_port}/readyz
  metrics        http://localhost:${http_port}/metrics
  gRPC           localhost:${grpc_port} (reflection on: bin/grpcurl -plaintext localhost:${grpc_port} list)

Web sign-in (development OpenID Provider at http://${idp_addr}; user = a demo staff id, password "demo"):
  http://localhost:${http_port}/auth/login?return_to=/v1/me
  users: riverbend-usd.coach-1  riverbend-usd.principal-lincoln-es  riverbend-usd.district-admin  analyst-1  admin-1
  session and CSRF token: http://localhost:${http_port}/auth/session

Dev tokens (valid 12 h; mint more with: bin/lookfor token --help). Tokens name a person; the roster
gives them their scope:
MSG
"$lookfor" token --key-dir .dev --demo | while IFS=$'\t' read -r role user token; do
	printf '  %-16s %s\n    %s\n' "$role" "$user" "$token"
done
cat <<MSG

Try:
  TOKEN=\$(bin/lookfor token --demo | awk '\$1=="coach"{print \$3}')
  curl -s -H "Authorization: Bearer \$TOKEN" "localhost:${http_port}/v1/rubrics/k8-academic-discourse/versions/latest?language=es"

${stops}

MSG

"$lookfor" serve --jwks-file "$jwks" --grpc-addr "$grpc_addr" --http-addr "$http_addr" --log-format console \
	--oidc-issuer "http://$idp_addr" --oidc-client-id lookfor-web --oidc-client-secret lookfor-web-dev-secret \
	--oidc-redirect-url "$callback" --session-cookie-insecure &
pid=$!
# From here Ctrl-C (SIGINT to the whole process group, as a terminal sends it) reaches the server
# itself, so this script only waits (forwarding it would be a second Ctrl-C, which ends the
# server without draining); TERM, which make forwards to this script alone, is passed on. Either
# way the server drains, then the EXIT trap stops the rest.
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM
trap 'true' INT
while kill -0 "$pid" 2>/dev/null; do
	wait "$pid" || true
done
pid=
