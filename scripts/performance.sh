#!/usr/bin/env bash
# Regenerates docs/performance.md on this machine: runs `make bench` and `make load` and records
# the tables they print, with the commands and the machine they ran on. Run it whenever the
# figures may have changed: `scripts/performance.sh` (`make bench` alone took about 9 minutes on 2
# cores, most of it loading 1M observations through CopyObservations).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=docs/performance.md

table() { sed -n '/^lookfor /,$p'; } # the heading line and the table that follows
echo "performance: make bench" >&2
bench=$(make -s bench 2>/dev/null | table)
echo "performance: make load" >&2
load=$(make -s load 2>/dev/null | table)

# A 1M-observation network through CopyFrom, on a scratch database of the test server.
echo "performance: lookfor seed, 1M observations" >&2
admin=$(scripts/pg.sh test-url)
db=lookfor_perf_seed
psql -q "$admin" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
seed_url=$(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(u.urlunparse(p._replace(path="/"+sys.argv[2])))' "$admin" "$db")
bin/lookfor migrate up --database-url "$seed_url" >/dev/null
seed_cmd="lookfor seed --districts 10 --sites-per-district 30 --classrooms-per-site 25 --observations 1000000"
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
	echo
	echo "## make bench"
	echo
	echo "Push through gRPC next to a raw pgx CopyFrom of the same rows, an empty incremental pull,"
	echo "and an initial pull of 5,000 records; then the district progress view at 100k and 1M"
	echo "observations in one district next to a plain GROUP BY over the raw observations"
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
