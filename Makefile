# lookfor — every target works on a fresh machine with only Go and the Go module proxy.
# `make run` and `make test` start a throwaway PostgreSQL when they need one (scripts/pg.sh).

SHELL := /bin/bash
GO    ?= go
BIN   := bin
# Packages to test; `make test PKG=./store/...` narrows it.
PKG   ?= ./...
TESTFLAGS ?=

.PHONY: all build image run test generate lint fmt vet tools bench bench-app load faults performance clean pg-start pg-stop web

all: build

build:
	$(GO) build -o $(BIN)/lookfor ./cmd/lookfor

## image: the container image (Dockerfile's final stage: a static binary and CA certificates,
## non-root, FROM scratch) built with buildah, podman or docker from a binary compiled here; tagged
## lookfor:dev and saved to bin/lookfor-image.tar (docs/deploy.md).
image:
	@scripts/image.sh

## run: build (with progress: the first build takes minutes), start a throwaway PostgreSQL unless
## DATABASE_URL is set, migrate, seed the demo network, print URLs and dev tokens, and serve until
## Ctrl-C (or SIGTERM to make), which stops the server and the throwaway PostgreSQL it started.
run:
	@scripts/run.sh

## test: every test with -race against a real PostgreSQL (TEST_DATABASE_URL, else 127.0.0.1:5432,
## else a throwaway cluster); the browser tests need web/'s npm packages and Debian's chromium,
## which scripts/web.sh deps installs when missing.
test:
	@scripts/web.sh deps
	@url=$$(scripts/pg.sh test-url) && \
	TEST_DATABASE_URL="$$url" $(GO) test -race -count=1 -timeout 30m $(TESTFLAGS) $(PKG)

## bench: measure on this machine; every figure beside a baseline from the same run (the network
## measures over 10 districts of 100k observations each included). BENCH_FLAGS adds flags.
BENCH_FLAGS ?=
bench: build
	@url=$$(scripts/pg.sh test-url) && $(BIN)/lookfor bench --admin-url "$$url" --network 100000 $(BENCH_FLAGS)

## bench-app: the tablet app's figures against the server `make run` started (run it in another
## terminal first): shell size gzipped, save latency with 1,000 queued, a 200-observation sync
## beside the Go client's. BASE_URL / GRPC_ADDR override the addresses.
bench-app: build
	@scripts/web.sh deps
	@cd web && node test/app-bench.mjs

## load: 200 simulated tablets record offline and sync for 60 s against a server started on
## loopback (and a throwaway PostgreSQL unless DATABASE_URL is set); prints throughput, latency,
## errors and the server's peak RSS, then checks every observation is stored exactly once.
## LOAD_FLAGS adds flags, e.g. make load LOAD_FLAGS='--tablets 50 --duration 30s'.
LOAD_FLAGS ?=
load: build
	@scripts/load.sh $(LOAD_FLAGS)

## faults: short load runs through a PostgreSQL restart, a server SIGKILL and connections cut
## mid-push, and one spread across two servers on one database (background work on one only),
## each ending with the exactly-once check (own throwaway PostgreSQL; ~2.5 minutes).
## `make load LOAD_FLAGS='--servers 2'` runs the full load across two servers.
faults: build
	@scripts/load.sh faults

## performance: rerun make bench, make load and a 1M-observation seed; rewrite docs/performance.md.
performance: build
	@scripts/performance.sh

## web: rebuild the front ends' committed assets (web/dist) from web/src with the pinned npm packages.
web:
	@scripts/web.sh build

## generate: regenerate gen/ from proto/ with local plugins at pinned versions.
generate:
	@scripts/generate.sh

## lint: buf lint (STANDARD) over proto/, then the OpenAPI spec through Redocly CLI (pinned with
## a lockfile in tools/openapi; rules in tools/openapi/redocly.yaml).
lint:
	@scripts/generate.sh deps
	$(BIN)/buf lint
	@cd tools/openapi && npm ci --no-audit --no-fund --loglevel=error && \
	NO_UPDATE_NOTIFIER=1 REDOCLY_TELEMETRY=off npx --no-install redocly lint --config redocly.yaml \
		--format=summary ../../gen/openapi/lookfor.swagger.json

tools:
	@cd scripts/tools/buf && GOBIN=$(CURDIR)/$(BIN) $(GO) install tool

# grpcurl, pinned in scripts/tools/grpcurl, for the README's gRPC examples.
$(BIN)/grpcurl: scripts/tools/grpcurl/go.mod
	@cd scripts/tools/grpcurl && GOBIN=$(CURDIR)/$(BIN) $(GO) install tool

fmt:
	gofmt -w $$(git ls-files -co --exclude-standard '*.go' | grep -v '^gen/')

vet:
	$(GO) vet ./...

pg-start:
	@scripts/pg.sh start
pg-stop:
	@scripts/pg.sh stop

clean:
	rm -rf $(BIN)
