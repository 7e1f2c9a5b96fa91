#!/usr/bin/env bash
# `make run`: start a throwaway PostgreSQL unless DATABASE_URL is set, migrate, seed the demo
# network, print the URLs and a dev token per role, and serve until Ctrl-C, which stops the
# server (draining in-flight calls) and then the throwaway cluster.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
lookfor=bin/lookfor

started_pg=0
idp_pid=
cleanup() {
	if [[ -n $idp_pid ]]; then
		kill -TERM "$idp_pid" 2>/dev/null || true
	fi
	if ((started_pg)); then
		echo "run: stopping the throwaway PostgreSQL" >&2
		scripts/pg.sh stop || true
	fi
}
trap cleanup EXIT

if [[ -z ${DATABASE_URL:-} ]]; then
	scripts/pg.sh start
	started_pg=1
	DATABASE_URL=$(scripts/pg.sh url)
	export DATABASE_URL
fi

"$lookfor" migrate up
# The demo network with 3,000 submitted observations of this school year, so the progress views
# have something to show; --append makes a rerun load nothing already stored.
"$lookfor" seed --observations 3000 --append
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

cat <<MSG

lookfor is starting with the demo network (3 districts, 12 sites, 150 classrooms, 3,000 observations).
  Pages          http://localhost:${http_port}/  (sign in as a demo user below, password "demo")
  Tablet app     http://localhost:${http_port}/app/  (sign in as a demo user; records offline after one visit)
  REST gateway   http://localhost:${http_port}/v1/rubrics
  OpenAPI        http://localhost:${http_port}/openapi.json
  health/ready   http://localhost:${http_port}/healthz  http://localhost:${http_port}/readyz
  metrics        http://localhost:${http_port}/metrics
  gRPC           localhost:${grpc_port} (reflection on: bin/grpcurl -plaintext localhost:${grpc_port} list)
  database       ${DATABASE_URL}

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

Ctrl-C stops the server and the throwaway database.

MSG

"$lookfor" serve --jwks-file "$jwks" --grpc-addr "$grpc_addr" --http-addr "$http_addr" --log-format console \
	--oidc-issuer "http://$idp_addr" --oidc-client-id lookfor-web --oidc-client-secret lookfor-web-dev-secret \
	--oidc-redirect-url "$callback" --session-cookie-insecure &
pid=$!
# Ctrl-C reaches the server too (same process group); forward TERM, then wait for the drain.
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM
trap 'true' INT
while kill -0 "$pid" 2>/dev/null; do
	wait "$pid" || true
done
