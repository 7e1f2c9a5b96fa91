#!/usr/bin/env bash
# scripts/web.sh: the front ends' tooling (web/). Node 20 + npm are needed; Chromium is installed
# from Debian's packages when the browser tests need it.
#
#   scripts/web.sh deps    npm ci in web/ when package-lock.json changed since the last install,
#                          and Debian's chromium when /usr/bin/chromium is missing
#   scripts/web.sh npm     npm ci only (building needs no browser)
#   scripts/web.sh build   npm, then rebuild web/dist from web/src (committed, embedded)
#   scripts/web.sh check   build, then fail if web/dist differs from what is committed
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
WEB="$ROOT/web"
log() { printf 'web: %s\n' "$*" >&2; }

npm_deps() {
	command -v npm >/dev/null || { log "npm is missing: install Node.js 20 and npm"; exit 1; }
	local stamp="$WEB/node_modules/.lookfor-lock-sha256" want
	want="$(sha256sum "$WEB/package-lock.json" | cut -d' ' -f1)"
	if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
		return
	fi
	log "installing npm packages (npm ci, pinned by web/package-lock.json)"
	(cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error >&2)
	echo "$want" >"$stamp"
}

chromium_dep() {
	[[ -x /usr/bin/chromium ]] && return
	local sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null || { log "Chromium is missing; install it with: apt-get install -y chromium"; exit 1; }
		sudo=(sudo -n)
	fi
	log "installing Debian's chromium package for the browser tests"
	"${sudo[@]}" apt-get update >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >&2
}

case "${1:-}" in
deps) npm_deps; chromium_dep ;;
npm) npm_deps ;;
build)
	npm_deps
	(cd "$WEB" && node build.mjs)
	;;
check)
	"$0" build
	if ! git -C "$ROOT" diff --quiet -- web/dist || [[ -n $(git -C "$ROOT" ls-files --others --exclude-standard -- web/dist) ]]; then
		git -C "$ROOT" status --short -- web/dist >&2
		log "web/dist is not what web/src builds: run make web and commit web/dist"
		exit 1
	fi
	;;
*) echo "usage: $0 deps|npm|build|check" >&2; exit 2 ;;
esac
