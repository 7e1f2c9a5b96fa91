#!/usr/bin/env bash
# Regenerates docs/performance.md on this machine: runs `make bench` and `make load` and records
# the tables they print, with the commands and the machine they ran on. Run it whenever the
# figures may have changed: `scripts/performance.sh` (with BENCH_FLAGS='--push-stored 1000000
# --pages 1000000' it took 45 minutes on 2 cores, most of it loading 1M observations five times).
#
# It also writes CPU profiles of the push path and the district progress view as pprof SVGs,
# docs/profiles/push-now.svg and docs/profiles/district-view-now.svg (with graphviz's dot, which it
# installs from Debian's packages when missing).
# BENCH_FLAGS adds flags to the bench (e.g. smaller sizes on a busy machine:
# BENCH_FLAGS='--progress-small 30000 --progress-large 100000'); NETWORK_OBSERVATIONS sizes each
# district of the network measures (10 districts); SEED_OBSERVATIONS sizes the seed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=docs/performance.md

table() { sed -n '/^lookfor /,$p'; } # the heading line and the table that follows

# graphviz's dot draws the profiles; install Debian's package when it is missing (as root, or with
# sudo when it needs no password), else go on without the drawings.
if ! command -v dot >/dev/null; then
	sudo=()
	((EUID == 0)) || sudo=(sudo -n)
	echo "performance: installing Debian's graphviz package to draw the profiles" >&2
	{ "${sudo[@]}" apt-get update && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends graphviz; } >&2 ||
		echo "performance: could not install graphviz" >&2
fi
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
which holds the client, the server and the views, so PostgreSQL's own time is not in them).

- **district progress, site trends and network measures p50**: each row of `progress_cells`
  carries `rev`, the transaction that last wrote it (migration 00013). A server keeps the sums
  of the site rows it has read ("folds": a site's rows of a period, the months and days of a
  partial period, a district's rows for the network measures) with the keys and revs of their
  rows; a view names those rows in its query, and PostgreSQL sends back, in the same statement,
  only the rows that changed or that a logged push adds to. A fold whose rows all came back
  unchanged is used as it is, so a repeated view decodes and adds nothing and its time no
  longer grows with the observations stored (`progress/rowcache.go`). A sum depends only on its
  rows and on the rubric's series, so no figure can differ: the bench computes every view twice
  per call, through one service and through a new one that reads every row whole, and fails if
  they differ. The "new service" rows are what a first read costs. The network measures read site
  rows too (they read one row per classroom before), and keep their districts' sums and total
  as the district view does (back to back at 10 districts × 10,000 observations: 71.6 → 25.3 ms
  p50 through one service). A repeated network read still sent PostgreSQL the keys and revs of
  every held row (3,932 at 10 × 10,000, in 8 statements) and compared the folds' member lists in
  Go; now each district has a version per rubric (migration 00016, `progress_versions`) that
  every writer of its `progress_cells` rows raises in the same transaction (the compactor,
  rebuilds, loads; pushes only append to the log), the read names the versions its sums were
  read at, and the statement that reads the rows reads the versions in the same snapshot and
  leaves out every district still at its version with nothing logged: a repeated read is sent
  no rows and scans none (`progress/rowversions.go`). A district whose version moved is
  compared row by row as before. Back to back, old and new binaries alternating on the same kept
  databases (`--network-db`), on a shared machine at load average 10-19: at 10 × 100,000, one
  service 168 and 130 ms → 19.7 and 15.9 ms p50; at 10 × 10,000, 133 and 116 → 23.9 and 12.1
  ms (a new service unchanged within the noise: 1.2-1.6 s at 10 × 100,000). In process on the
  10 × 10,000 database, a repeated read took 1.4 ms p50 with its Go time down from about 10 ms
  to under 1 ms. The district view and site trends now read the same way (they named every held
  row by key and rev, and compared the answer row by row in Go): a district still at its version
  with nothing logged is sent no rows; one whose version moved is sent its rows' keys and revs,
  and only the sites whose rows changed are read again. A district's record holds its sums
  rather than the keys of shared folds, so site trends of one site and the district view, which
  fold that site's rows alike, do not invalidate each other's records. Back to back, old and new
  alternating, one district of 30 × 25 classrooms: the repeated view alone at 50k and 100k, 6.3
  and 6.3 → 3.7-4.5 ms p50; as the bench runs it (a first read between calls) at 100k and 200k,
  7.9 and 7.7 → 5.2 and 5.5 ms.
- **push ÷ CopyFrom**: the records a push creates and its progress log rows (a record's
  counters, about 1 KB of JSON text each) are written with one `COPY` each instead of `unnest`
  column arrays: PostgreSQL writes the new rows page by page and parses no arrays, and Go no
  longer encodes the arrays and copies them into the batch's message (`store/sync_writes.go`;
  amended records keep the upsert). The push's Go work allocates less: a created record's
  fingerprint is hashed from the canonical JSON just encoded for it instead of a second
  encoding, JSON buffers are sized for the whole record, ids are checked without a regular
  expression, and record validation and a record's progress counters build no maps per record.
  Back to back on a machine at load average 7-16 (2 cores shared), CPU per pushed observation
  went from Go 169-182 + PostgreSQL 193-203 µs to Go 141-156 + PostgreSQL 152-183 µs; the
  throughput ratio could not be read on that machine (the CopyFrom baseline moved by 2× between
  runs). What remains, from the profiles: PostgreSQL spends most of a push in what CopyFrom
  does too (parsing the jsonb content, compressing it with pglz, four indexes), then in the
  compactor's `progress_add` merges (about 30 µs per observation: a push with the progress log
  switched off used that much less), the foreign key check of each row, the stored results
  and the load's lookups; Go spends about a third of its time allocating and collecting
  garbage, the rest spread over gRPC decoding, validation, hashing, the progress delta and pgx.
  The round before, three changes to what PostgreSQL does per push:
  - *lz4* (migration 00018): observation content, superseded revisions, a conflict's proposal
    and the aggregate counters are compressed with lz4 instead of pglz where the server has it;
    pglz was the largest single symbol of PostgreSQL in a system-wide profile. Back to back, two
    pairs: push 5,345 and 5,527 → 6,044 and 6,331 observations/s, PostgreSQL CPU per pushed
    observation 213 and 207 → 174 and 164 µs. The CopyFrom baseline copies into a copy of the
    observations table and gains as much (11,310 and 11,224 → 13,559 and 13,458/s), so the
    ratio fell by 0.02: the same saving on both sides lowers a ratio below 1.
  - *stored results, one row per push* (migration 00017, `push_replies`): the results a push
    keeps for replay are of consecutive seqs, so they are one row (the range and a JSON array as
    text) instead of one jsonb row and index entry per change (586 ms of PostgreSQL time over
    29,000 changes the bench pushes, its pull figures' records included, by `pg_stat_statements`).
  - *the compactor* found the districts with log rows with `SELECT DISTINCT` over the whole log
    at every pass (15 ms a pass, 316 ms over the same 29,000 changes); it now probes the
    primary key once per district.
  This round, two more:
  - *the compactor sums in Go*: every pass merged its few hundred rows into the stored ones with
    `progress_add`, key by key in PostgreSQL, and site rows hold hundreds of counters. A small
    delta now reads the stored rows of its keys (locking them in key order), adds in Go and
    writes the sums back with one `UPDATE` (`store/progress_rows.go`). Over the bench's 24,500
    changes the compactor's statements on `progress_cells` took 463 ms against 926 ms
    (`pg_stat_statements`, back to back).
  - *counters stored as text* (migration 00019): as PostgreSQL no longer adds counters, the
    `jsonb` it parsed every written row into (and printed every read row from) served nothing;
    `progress_cells.m` and `progress_pairs.m` now hold the same JSON as `text`. Copying 100,000
    cell rows in took 29 µs a row as jsonb, 10-13 µs as text. The two statements that need a
    row's observation count read it off the start of the text (every writer puts it first)
    rather than parsing the row: back to back at 300,000 observations, site coverage's first
    render 30.6 → 30.8 ms p50 (69.3 ms when it cast each day row to jsonb), district coverage's
    122.5 → 60.3 ms.
  Both together, back to back, old and new alternating, two pairs: push ÷ CopyFrom 0.44 and
  0.44 → 0.47 and 0.49, PostgreSQL CPU per pushed observation 167 and 189 → 149 and 162 µs.
  The latest round, two more:
  - *the push's ids looked up one by one* (`store/sync.go`, `byID`): a push read its 100 ids,
    their classrooms and their rubric versions with `observation_id = ANY(...)` and the
    district. The plan a connection caches is made on its sixth push; in a new database the
    table then had a few hundred rows and no statistics, reading the district's rows looked
    cheapest, and that plan stayed for the connection's life: with one tablet pushing 24,000
    observations into a fresh database, each lookup read every row of the district (2.9-12 ms
    at the end; `auto_explain`). Each id is now looked up by itself on the unique index of ids,
    the plan at any size: the two statements 748 + 731 ms → 24 + 31 ms over the run
    (`pg_stat_statements`), PostgreSQL CPU per pushed observation 168 → 107 µs, one device's
    push 3,678 → 5,257 observations/s. With eight devices the cached plans were made later,
    on a larger table, and the figure did not move. `TestPushLookupsReadByID` checks the plans.
  - *the CopyFrom baseline encodes a record once*: it encoded each record with
    `encoding/json` and then again for its hash, where the server encodes once; it now does what
    the server does (`Record.Canonical`). Its Go time per row went from about 40 to 26-32 µs,
    which lowers the ratio by a few hundredths: a baseline doing work the server does not
    flattered it.
  The round before, measured before and after each change (throwaway benchmarks of the package,
  or `pg_stat_statements` with one device; end-to-end throughput on this machine varied by 15-25%
  between runs of one binary):
  - *stored results with lz4* (migration 00020): a push's results for replay, one text value of
    about 36 KB per 100 changes, were still compressed with pglz; with lz4, and results that
    leave out the fields they do not use (about 260 bytes instead of 360 for an applied one),
    their insert took 2.8-3.7 µs of PostgreSQL time per pushed observation instead of 8.6.
  - *the progress delta's Go work*, which pushes and loads share: a delta keeps the periods of
    each day it placed a record in (ChangeContributions of a batch of 100: 772-795 → 544-557 µs);
    equity ratios in 128-bit integers when they fit, and counter names put together without
    allocating (RecordMetrics over 100 records: 372-424 → 309-317 µs, 2,789 → 985
    allocations); counters whose names a row has already are added in place (ChangeDelta of
    5,000 records on random days: 53.7-60.4 → 45.9-47.0 ms).
  - *a warm-up round*: each set of push rounds now starts with one round that is not timed. The
    first round of a run was the slowest for both sides (its CopyFrom 10,288-11,914/s against
    15,128-18,473/s in the rounds after), and that weighed on the empty database's set only: the
    set with observations stored ran after it, warm, so the figure relative to the empty
    database compared a cold set with a warm one.
  This round, *a record's content stored as json* (migration 00021; see the loads below) made
  copying a record in cheaper for both sides, and the ratio fell, as it did with lz4: back to
  back, old and new alternating, three pairs, CopyFrom 17,905, 14,746 and 16,014 → 19,787,
  19,058 and 22,633 observations/s, the push 8,614, 6,847 and 6,915 → 7,343, 7,096 and 8,144,
  push ÷ CopyFrom 0.48, 0.46 and 0.43 → 0.37, 0.37 and 0.36. The push still pays what the
  baseline pays, and the ratio measures the rest.
  This round: with batches of 500 changes, a fifth of the calls, the ratio was 0.33 (push Go 74 +
  PostgreSQL 51 µs per observation, CopyFrom Go 15 + PostgreSQL 27 µs), against 0.36 with
  batches of 100 in the run before it: what a call costs whatever its size is not the gap.
  What stands between the figure below and 0.6: with the progress log and the compactor switched off
  altogether, pushes measured 0.54-0.57 against CopyFrom in the last round's runs, so the rest of
  the gap is the sync protocol itself (gRPC both ways, validation, canonical JSON and hashing,
  stored results, the load's locks and lookups) and Go's garbage collection: with `GOGC=300`
  one run gave 0.56 against 0.51 at the default (this round, alternating, `GOGC=200` gave 0.48
  and 0.40 against 0.43 and 0.40 at the default: within this machine's noise, so left alone).
  Measured again this round against today's CopyFrom (content as json), three alternating pairs
  with a build whose push computes and writes no progress at all: 0.41, 0.44 and 0.41 (CPU per
  observation Go 70-76 + PostgreSQL 50-53 µs), against 0.32, 0.33 and 0.38 with the aggregates
  maintained (Go 83-103 + PostgreSQL 60-75 µs). No way of keeping the aggregates can bring the
  figure to 0.6: a push that keeps none is at 0.41-0.44.
- **loads through the loader (seed, bench)**: a load is one transaction with one progress delta
  for all its batches (`store.Loader`), computed batch by batch in Go while the next batch is
  copied; it holds its districts' aggregates exclusively, so it sums counters in Go and copies
  rows in, instead of merging jsonb with `progress_add` (18.1 s of an 18-s upsert of 49k cell
  rows). Earlier steps (back to back, load average 4): 1,780 → 4,228 observations/s into an
  empty district; aggregate rows made with room for their counters, 4,941 → 5,621/s. Then
  three changes:
  - *Counters as a sorted list.* `progress.Metrics` was a map of metric name → count, and
    adding one row's counters to another (every cell and site row a record falls in, every
    batch's delta into the load's) hashed every name; it is now a list of (key, count) sorted by
    a number each name gets once per process, so an addition walks two short lists and mostly
    adds in place (`progress/metrics.go`; what is stored is unchanged). Back to back on a quiet
    machine, 100k then 200k more into the progress district: 4,124 → 6,536 and 3,475 →
    4,747 observations/s, the bench process's Go CPU 63 → 34 s.
  - *Every aggregate row written once.* When the delta reached 100k cell rows it was written
    into the tables, and every later write read, deleted and rewrote the rows earlier ones had
    written: a network's loads (each district's classrooms on every school day) spent most of
    their time so. The full delta now goes, in key order, to a run file on local disk, and
    Commit merges the runs with the last delta and writes each row once, in one COPY for
    districts that had no rows (`store/load_spill.go`). `lookfor seed --districts 10
    --observations 300000`: 2,141 → 5,489 observations/s, PostgreSQL CPU 123 → 37 s.
  - *lz4* (the round before, above): back to back, 100k into the progress district 6,052 and
    6,725 → 7,037 and 6,970 observations/s; a first read of the district view 66.5 and 70.7 →
    47.5 and 51.0 ms p50 (site rows decompress faster).
  This round, measured on the network bench's load (10 districts × 20,000), where a profile
  showed the bench process's Go time 19% in making site rows and the stage times showed
  PostgreSQL waiting between COPYs:
  - *Site rows once per run.* Each batch's delta made its site rows, naming each cell's
    per-teacher counters by string in the process's table of names, and merged them into a
    site row copied once per cell. The loader now makes the site rows of the accumulated delta
    when it sets it aside or commits (site rows sum their cells, so a run's are its cells'
    sums), with each teacher's keys looked up once and a site row's counters summed once
    (`progress/siterows.go`).
  - *Setting a delta aside off the copy path.* Sorting a full delta and writing its run files
    ran between two COPYs; it now runs in a goroutine of its own, one at a time. The first
    load's stage times: copying 14.3 s, waiting for the delta 0.2 s, setting aside 6.2 s →
    copying 10.7 s, waiting 3.5 s (setting aside in the delta's goroutine, a first step) →
    copying 12.0 s, waiting 0.9 s; the bench process's Go CPU 28-35 → 26-27 s.
  - *Rows of new periods copied straight in.* A load into districts that had rows (the network
    bench loads its second school year so) added every row through a staging table, reading
    the table for each key; a row of a period its district has no row of is now copied in. The
    second load's commit: 7.0-7.1 s → 4.4 s.
  - *Counters stored as text* (above): back to back, load 4,417 and 4,138 → 5,005 and 5,384
    observations/s, PostgreSQL CPU over the run 35.1 and 36.5 → 28.1 and 26.1 s; a first read of
    the network measures 457 and 431 → 341 and 292 ms.
  The latest round, measured on `lookfor seed --districts 10 --observations 200000`, where the
  machine's busy time (`/proc/stat`) showed the seed process using more CPU than PostgreSQL
  (Go about 115 µs per observation, PostgreSQL and the rest about 80): a batch's delta is
  computed straight into the load's accumulated delta instead of apart and then merged into it,
  and the delta that replaces one set aside is made with room for the rows it will hold. In the
  seed's CPU profile, back to back: merging deltas 2.11 → 0.87 s, growing the delta's map 1.50 →
  0.70 s, of about 21 s of Go time. The seed's Go time is otherwise spread over generating the
  synthetic records (about a fifth), making and sorting the site rows of each delta set aside,
  computing each batch's delta, encoding the COPY and collecting garbage.
  This round, *a record's content stored as json* (migration 00021): a load is one
  transaction on one connection, so PostgreSQL's backend copying the records in is what it
  waits on (timed inside the seed's loader at 200,000 records: 17.6 s of 23.9 s in the
  records' `COPY`, 5.4 s writing the aggregates at Commit, under 0.4 s waiting for generated
  batches or for a batch's delta). Over a third of PostgreSQL's time for a record was building
  `jsonb` of its content, which it never reads inside: copying 100,000 records of a seeded
  network into a table like `observations` took 8.3-8.7 s as `jsonb` and 5.0-5.4 s as `json`.
  The content is now `json`, the canonical JSON the server wrote, byte for byte. Back to back,
  old and new alternating, `lookfor seed --districts 10 --observations 200000`, three pairs:
  8,944, 9,240 and 9,154 → 10,727, 11,078 and 11,616 observations/s. Reading content back is
  cheaper too (20,000 records in psql: 305-330 ms as jsonb, 101-115 ms as json; the statement
  of a pull's page, 5,000 records of a seeded district: 139-157 ms as jsonb, 40-50 ms as json).
  The bench's initial pull of 5,000 records, which spends its time in Go, did not move beyond its
  noise in eight alternating pairs (old 465-743 ms, new 489-786 ms); in the run below, measured
  right after the 1M load, it took 1.33 s, against 723 ms in the last round's run. The GROUP BY the district view is compared with now casts the
  content to `jsonb` to read its scores, as any query inside a record would.
  The round before, from the seed's and the network load's CPU profiles: the progress delta changes
  above; a site row's counters, gathered unsorted from its cells, sorted by key bytes instead of
  by comparisons (AddSiteRows of the delta of 5,000 records over 200 teachers: 70.5-73.0 →
  30.7-33.6 ms; it was 15% of the network load's Go time); and the generated records' lists
  made at their sizes (1,000 records: 5.8-6.1 → 5.0-5.5 ms, the records byte for byte the same).
  On the network load at 10 × 30,000, the site rows' sort alone took the bench process's user
  CPU from 37.2 to 32.1 s, while the load's time stayed 42-43 s: about a third of that load's
  time is its two commits, which copy the cell rows in after the last batch (its progress
  lines stayed at 100% for 8 and 6 s of 45).
  How fast a load goes depends on how many aggregate rows each observation adds: the push
  figures' 1M load goes into a demo district of about 40 classrooms in one school year; the
  progress and network districts have 750 classrooms over two school years, about 0.7 (one
  district, 100k) to 1.4 (10 districts × 30k) cell rows per observation of 1-1.7 KB of JSON
  each. Where the rest went two rounds ago, measured on a 10 × 30k seed: observations, deltas and run files at
  about 7,500/s (10,000/s for one district × 100k), then 13.5 s to copy the 430k cell rows in
  at Commit (2 s for 70k). PostgreSQL takes 26 µs per cell row with its indexes, 14 of them
  parsing jsonb (the same rows as `bytea`: 7 µs), and 75 µs per observation (its jsonb content
  and five indexes) — what the CopyFrom baseline pays too. Counters are now stored in a form
  PostgreSQL does not parse (above); what remains of the aggregates' share is the number of
  rows per observation (the day cells are one row per classroom and school day) and the commit,
  which copies them in after the last batch: on the 10 × 20k load's first school year, 5.1 s
  of 17.5 s, after 11.5 s of copying observations at about 12,000/s (PostgreSQL's one backend,
  parsing each record's jsonb content and writing five indexes).
  This round, two statements of a load that read far more than they needed:
  - *the periods a load's districts hold* (`store/load_spill.go`): Commit asked which periods
    the districts already have rows in with `SELECT DISTINCT` over every one of their cell rows;
    it now walks down the primary key (district, period kind, period key, …) one period at a
    time. On the network load at 10 × 30,000 the second school year's Commit read the 750,000
    cells of the first: 965 → 48 ms (`pg_stat_statements`).
  - *co-observation groups on a server whose autovacuum runs* (`store/progress.go`): this
    machine's PostgreSQL runs with autovacuum off, so the figures below never showed it. Where
    autovacuum had analysed `observations` before a district had any co-observation, the read
    of a batch's groups was planned as a join that scanned the whole partial index
    `observations_co_observation_idx` and filtered afterwards; a load is one transaction, no
    ANALYZE sees its rows, and each batch read every member written so far: 2.6-3.3 s a batch
    at 1M records (`auto_explain`), the push bench's 1M load at 3,127 observations/s on a
    cluster with PostgreSQL's default settings. Each group is now looked up by itself (LATERAL),
    in any plan: the same load on the same cluster ran at 15,730/s. `TestGroupMembersReadByGroup`
    checks it: ten groups read 30 buffers with 4,000 members stored after the ANALYZE, against
    455.
- **peak RSS under make load**: the peak came from the final sync, when every tablet pulls at
  once and each pull held its decoded page (rows, their copy and the protobuf) while waiting for
  a connection: 200 pages alive at once. Pull pages are now bounded by bytes as well as records
  (`--pull-max-bytes`, 1 MiB of content), pulls run at most `--pull-concurrency` (8) at a time,
  and gRPC responses are encoded into buffers sized by powers of two instead of 1 MiB ones.
  Back to back on the same machine: 155.2 → 84.9 MiB peak.
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
