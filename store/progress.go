// The write path of the progress aggregates: the lock order, the deltas of writes and the
// rebuilds, whose invariants (documented below) only hold when read and changed together. How a
// delta's rows are encoded and written is in progress_rows.go, the log of pushes' cell deltas and
// its fold in progress_log.go, the counters' decoder in progress_metrics.go.

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
)

// Maintenance of the progress aggregates (docs/architecture.md "Storage conventions";
// progress.Delta).
//
// Every transaction that writes observations adds the delta of its changes to progress_cells
// (through the log, progress_log.go) and progress_pairs before it commits, so the rows always equal
// progress.Recompute over the stored observations. Locks, always taken in this order:
//
//  1. progressLockSQL on each district, shared by every writer and exclusive for a rebuild (which
//     reads every record of the district and the district's settings, so no write may run
//     beside it); a writer reads the settings it computes periods with after taking it.
//  2. The record locks of the write (pushes: advisory id locks and FOR UPDATE).
//  3. groupLockSQL on each co-observation group the write touches, before reading the group's
//     other counted members (one indexed lookup per group, observations_co_observation_idx): two
//     writers of one group apply one after the other, and the second sees the first's members,
//     so every pair is counted exactly once and the group's cells move from its first-submitted
//     member before the write to the one after it exactly (progress.ChangeDelta).
//  4. The version rows of the districts and rubrics whose progress_cells rows a transaction writes
//     (progress_versions.go, in key order, by applyRows and rebuildProgress), then the aggregate
//     rows, by the upserts of queueDelta, in key order. Pushes write no version row.

// progressLockSQL is the advisory lock key of a district's aggregates ($1: district id).
const progressLockSQL = `hashtextextended('progress/' || $1, 0)`

// groupLockKeysSQL selects the lock keys of co-observation groups ($1: progress.GroupKey
// values), in the order every writer takes them.
const groupLockKeysSQL = `SELECT DISTINCT hashtextextended('coobs/' || x, 0) AS k FROM unnest($1::text[]) AS x ORDER BY k`

// maxGroupLocks bounds the co-observation group locks one transaction takes (each takes a slot
// of the server's shared lock table); a bulk load touching more groups takes its districts'
// progress locks exclusively instead.
const maxGroupLocks = 1000

type rubricKey struct {
	id      string
	version int
}

// progressInputs are the district settings and rubric contents a delta is computed with.
type progressInputs struct {
	settings map[string]observation.DistrictSettings
	content  map[rubricKey]observation.RubricContent
}

func newProgressInputs() *progressInputs {
	return &progressInputs{settings: map[string]observation.DistrictSettings{}, content: map[rubricKey]observation.RubricContent{}}
}

func (in *progressInputs) domain() progress.Inputs {
	return progress.Inputs{
		Settings: func(d string) observation.DistrictSettings {
			if s, ok := in.settings[d]; ok {
				return s
			}
			return observation.DefaultDistrictSettings()
		},
		Content: func(id string, v int) (observation.RubricContent, bool) {
			c, ok := in.content[rubricKey{id, v}]
			return c, ok
		},
	}
}

// queueMissing queues the reads of the settings and rubric contents in is lacking.
func (in *progressInputs) queueMissing(b *pgx.Batch, s *Store, districts []string, refs []rubricKey) {
	var ds []string
	for _, d := range districts {
		if _, ok := in.settings[d]; !ok && !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	if len(ds) > 0 {
		b.Queue(`SELECT district_id, name, settings FROM districts WHERE district_id = ANY($1)`, ds).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id string
				var d observation.District
				var raw []byte
				if err := rows.Scan(&id, &d.Name, &raw); err != nil {
					return err
				}
				st := observation.DefaultDistrictSettings()
				if err := json.Unmarshal(raw, &st); err != nil {
					return fmt.Errorf("district %s settings: %w", id, err)
				}
				in.settings[id] = st
			}
			return rows.Err()
		})
	}
	var ids []string
	var versions []int32
	seen := map[rubricKey]bool{}
	for _, r := range refs {
		if _, ok := in.content[r]; !ok && !seen[r] {
			seen[r] = true
			ids, versions = append(ids, r.id), append(versions, int32(r.version))
		}
	}
	if len(ids) > 0 {
		queueRubricContent(b, s, ids, versions, in)
	}
}

// queueRubricContent queues the read of rubric versions' content into in, parsing only content
// the store's rubric cache does not hold.
func queueRubricContent(b *pgx.Batch, s *Store, ids []string, versions []int32, in *progressInputs) {
	var cache *rubricCache
	var hashes []string
	if s != nil {
		cache, hashes = &s.rubrics, s.rubricHashes()
	}
	b.Queue(`SELECT district_id, rubric_id, version, status, CASE WHEN content_hash = ANY($3) THEN NULL ELSE content END,
			content_hash, created_by, created_at, updated_at, published_at, retired_at
		FROM rubric_versions WHERE (rubric_id, version) IN (SELECT * FROM unnest($1::text[], $2::int[]))`,
		ids, versions, hashes).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			v, err := scanVersionWith(rows, cache)
			if err != nil {
				return err
			}
			in.content[rubricKey{v.RubricID, v.Version}] = v.Content
		}
		return rows.Err()
	})
}

// countedChanges keeps the changes that can change an aggregate: those with a counted side.
func countedChanges(changes []progress.RecordChange) []progress.RecordChange {
	out := changes[:0:0]
	for _, c := range changes {
		if (c.Before != nil && progress.Counted(*c.Before)) || (c.After != nil && progress.Counted(*c.After)) {
			out = append(out, c)
		}
	}
	return out
}

// changeDelta computes the delta of changes (as progress.ChangeContributions: the cells as one
// contribution per record, for the log) inside tx, which must hold the shared progress
// lock of their districts and the locks of the changed records. In one round trip, and only
// when needed, it locks the co-observation groups the changes touch and reads their other
// counted members, and reads the settings and rubric contents in lacks (in may be preloaded).
func changeDelta(ctx context.Context, tx pgx.Tx, s *Store, changes []progress.RecordChange, in *progressInputs) (*progress.Delta, error) {
	changes = countedChanges(changes)
	if len(changes) == 0 {
		return progress.NewDelta(), nil
	}
	var districts []string
	var refs []rubricKey
	var ids []string
	for _, c := range changes {
		for _, o := range []*observation.StoredObservation{c.Before, c.After} {
			if o == nil {
				continue
			}
			districts = append(districts, o.DistrictID)
			if progress.Counted(*o) {
				refs = append(refs, rubricKey{o.RubricID, o.RubricVersion})
			}
		}
		if c.After != nil {
			ids = append(ids, c.After.ID)
		} else {
			ids = append(ids, c.Before.ID)
		}
	}
	b := &pgx.Batch{}
	others := map[string][]observation.StoredObservation{}
	if keys := progress.CoObservationKeys(changes); len(keys) > 0 {
		queueGroupMembers(b, keys, ids, true, false, others)
	}
	in.queueMissing(b, s, districts, refs)
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return nil, err
		}
	}
	return progress.ChangeContributions(changes, others, in.domain()), nil
}

// queueGroupMembers queues the locks of co-observation groups (when lock is set: a caller
// holding its districts' progress locks exclusively needs none) and then, in a later statement
// so that it sees any member a concurrent writer committed meanwhile, the read of the groups'
// counted members other than the records exclude names (and, when excludeOwn, other than this
// transaction's own writes).
func queueGroupMembers(b *pgx.Batch, keys, exclude []string, lock, excludeOwn bool, others map[string][]observation.StoredObservation) {
	if lock {
		b.Queue(`SELECT count(pg_advisory_xact_lock(k)) FROM (`+groupLockKeysSQL+`) AS l`, keys)
	}
	ds, cs := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		ds[i], cs[i], _ = strings.Cut(k, "/")
	}
	if exclude == nil {
		exclude = []string{}
	}
	b.Queue(groupMembersSQL, ds, cs, exclude, excludeOwn).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			o, err := scanObservation(rows)
			if err != nil {
				return err
			}
			g := progress.GroupKey(o.DistrictID, o.CoObservation)
			others[g] = append(others[g], o)
		}
		return rows.Err()
	})
}

// groupMembersSQL reads the counted members of the co-observation groups ($1 districts, $2
// groups) but the records $3 (and, when $4, this transaction's own writes), group by group on
// observations_co_observation_idx. The groups are looked up one at a time (LATERAL, and OFFSET 0
// so that the planner cannot fold the lookup back into a join): planned as a join on statistics
// taken before a district had co-observations, the partial index looked empty, and the plan read
// all of it and joined afterwards — every member of every group, for each batch of a load.
const groupMembersSQL = `SELECT ` + observationColumns + ` FROM unnest($1::text[], $2::text[]) AS g(d, c)
		CROSS JOIN LATERAL (SELECT * FROM observations o WHERE o.district_id = g.d AND o.co_observation = g.c
			AND o.co_observation IS NOT NULL AND o.status = 'submitted' AND NOT o.deleted
			AND o.observation_id <> ALL($3::uuid[]) AND NOT ($4 AND o.txid = pg_current_xact_id()) OFFSET 0) AS o`

// deltaChunk is the number of rows one upsert statement of queueDelta sends.
const deltaChunk = 5000

// stageRows is the size of a delta (cells and pairs) from which applyDelta copies the rows into
// a staging table with COPY instead of sending them as unnest arrays: about twice as fast for
// the deltas of bulk loads and rebuilds.
var stageRows = 20_000

// queueLoggedDelta queues what adds the delta d of a push or a conflict resolution: its cells
// appended to the log, progress_delta_log (the compactor folds them into progress_cells; see
// progress_log.go), its pairs upserted. Appending costs a push no merge of counters and no lock on cell rows that
// other tablets' pushes update too.
//
// Every delta that can lower a cell goes through the log: the log is folded in sequence order,
// and a record's removal is always logged after its addition, so a fold never meets a cell that
// is not there yet (applyDelta deletes a cell left with no observations). Only deltas that add
// records (bulk loads, rebuilds) go to progress_cells directly.
func queueLoggedDelta(b *pgx.Batch, d *progress.Delta) error {
	logged, err := newLogRows(d)
	if err != nil {
		return err
	}
	queueLog(b, logged)
	rows, err := newDeltaRows(&progress.Delta{Pairs: d.Pairs})
	if err != nil {
		return err
	}
	rows.pairs.queue(b)
	return nil
}

// applyDelta adds d to the aggregate rows now, with the site rows of its cells
// (progress.Delta.AddSiteRows): through a staging table when it is large, else in one batch of
// upserts. Every write of progress_cells goes through it or applyRows with the site rows added,
// so site rows always sum their cells, and raises the versions of the districts it writes.
func applyDelta(ctx context.Context, tx pgx.Tx, d *progress.Delta) error {
	return applyRows(ctx, tx, d.AddSiteRows(), false)
}

// applyRows adds d, site rows included, to the aggregate rows now. When held is set, the caller
// holds the progress locks of d's districts exclusively, so no other transaction writes their
// rows: a large delta is then copied straight into the tables.
func applyRows(ctx context.Context, tx pgx.Tx, d *progress.Delta, held bool) error {
	rows := deltaKeys(d)
	b := &pgx.Batch{}
	queueBumpVersions(b, rows.cells.cols[0], rows.cells.cols[6]) // progress_versions.go
	if len(rows.cells.metrics)+len(rows.pairs.metrics) >= stageRows {
		if b.Len() > 0 {
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		}
		return rows.stage(ctx, tx, held)
	}
	return rows.merge(ctx, tx, b)
}

// lockProgress takes the progress locks of districts (shared, or exclusive), in one order.
func lockProgress(ctx context.Context, tx pgx.Tx, districts []string, exclusive bool) error {
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	_, err := tx.Exec(ctx, `SELECT count(`+fn+`(k)) FROM
		(SELECT DISTINCT hashtextextended('progress/' || d, 0) AS k FROM unnest($1::text[]) AS d ORDER BY k) AS l`, districts)
	return err
}

// RebuildProgress recomputes a district's aggregate rows from its stored observations, in one
// transaction that holds the district's progress lock exclusively (observation writes of the
// district wait for it). It is what a change of the settings that place records in periods
// does, and what repairs the rows of a district should they ever be wrong.
func (s *Store) RebuildProgress(ctx context.Context, districtID string) error {
	return s.ReadWriteTx(ctx, func(tx pgx.Tx) error { return s.rebuildProgress(ctx, tx, districtID) })
}

// rebuildProgress replaces a district's aggregate rows inside tx: it locks the district's
// aggregates exclusively, reads the settings and every counted observation (streamed, in
// chunks computed on every core), and writes the recomputed rows.
func (s *Store) rebuildProgress(ctx context.Context, tx pgx.Tx, districtID string) error {
	in := newProgressInputs()
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(`+progressLockSQL+`)`, districtID)
	b.Queue(bumpDistrictVersionsSQL, districtID) // progress_versions.go
	b.Queue(`DELETE FROM progress_cells WHERE district_id = $1`, districtID)
	b.Queue(`DELETE FROM progress_delta_log WHERE district_id = $1`, districtID)
	b.Queue(`DELETE FROM progress_pairs WHERE district_id = $1`, districtID)
	in.queueMissing(b, s, []string{districtID}, nil)
	var ids []string
	var versions []int32
	b.Queue(`SELECT DISTINCT rubric_id, rubric_version FROM observations
		WHERE district_id = $1 AND status = 'submitted' AND NOT deleted`, districtID).Query(func(rows pgx.Rows) error {
		var id string
		var v int32
		_, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error {
			ids, versions = append(ids, id), append(versions, v)
			return nil
		})
		return err
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if len(ids) > 0 {
		b = &pgx.Batch{}
		queueRubricContent(b, s, ids, versions, in)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
	}
	total, err := recomputeStream(ctx, tx, districtID, in.domain())
	if err != nil {
		return err
	}
	return applyRows(ctx, tx, total.AddSiteRows(), true)
}

// recomputeChunk is the number of records one worker of recomputeStream recomputes at a time.
const recomputeChunk = 2000

// recomputeStream returns progress.Recompute over the counted observations of a
// district, reading them as a stream: workers decode chunks as they arrive and add the records
// without a co-observation key to their own delta; the co-observed ones are recomputed together
// at the end (a group counts once, by its first-submitted member, and its members pair up).
func recomputeStream(ctx context.Context, tx pgx.Tx, districtID string, in progress.Inputs) (*progress.Delta, error) {
	type streamed struct {
		raw       []byte
		submitted *time.Time
	}
	chunks := make(chan []streamed, 2)
	workers := max(1, runtime.GOMAXPROCS(0))
	results := make([]*progress.Delta, workers)
	grouped := make([][]observation.StoredObservation, workers)
	errs := make([]error, workers)
	var wg gosync.WaitGroup
	for w := range workers {
		results[w] = progress.NewDelta()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range chunks {
				if errs[w] != nil {
					continue
				}
				for _, row := range chunk {
					var o observation.StoredObservation
					if row.submitted != nil {
						o.SubmittedAt = row.submitted.UTC()
					}
					if err := json.Unmarshal(row.raw, &o.Record); err != nil {
						errs[w] = fmt.Errorf("stored observation is not readable: %w", err)
						break
					}
					switch {
					case !progress.Counted(o):
					case o.CoObservation != "":
						grouped[w] = append(grouped[w], o)
					default: // what progress.Recompute adds for a record outside any group
						content, _ := in.Content(o.RubricID, o.RubricVersion)
						results[w].Record(o.Record, content, in.Settings(o.DistrictID), 1)
					}
				}
			}
		}()
	}
	err := func() error {
		defer close(chunks)
		rows, err := tx.Query(ctx, `SELECT content, submitted_at FROM observations
			WHERE district_id = $1 AND status = 'submitted' AND NOT deleted`, districtID)
		if err != nil {
			return err
		}
		defer rows.Close()
		chunk := make([]streamed, 0, recomputeChunk)
		for rows.Next() {
			var row streamed // a fresh copy: the workers decode it while the stream goes on
			if err := rows.Scan(&row.raw, &row.submitted); err != nil {
				return err
			}
			chunk = append(chunk, row)
			if len(chunk) == recomputeChunk {
				select {
				case chunks <- chunk:
				case <-ctx.Done():
					return ctx.Err()
				}
				chunk = make([]streamed, 0, recomputeChunk)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(chunk) > 0 {
			chunks <- chunk
		}
		return nil
	}()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	total := progress.NewDelta()
	var all []observation.StoredObservation
	for w := range workers {
		if errs[w] != nil {
			return nil, errs[w]
		}
		total.Add(results[w])
		all = append(all, grouped[w]...)
	}
	total.Add(progress.Recompute(all, in))
	return total, nil
}

// rebuildPending rebuilds the aggregates of the districts flagged progress_rebuild, each in
// its own transaction that also clears the flag.
func (s *Store) rebuildPending(ctx context.Context) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_attribute
		WHERE attrelid = to_regclass('districts') AND attname = 'progress_rebuild' AND NOT attisdropped)`).Scan(&exists); err != nil || !exists {
		return classify(err)
	}
	var districts []string
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(array_agg(district_id ORDER BY district_id), '{}') FROM districts
		WHERE progress_rebuild`).Scan(&districts); err != nil {
		return classify(err)
	}
	for _, d := range districts {
		if err := s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
			// The district row first, as UpdateDistrict locks it before the progress lock.
			if _, err := tx.Exec(ctx, `UPDATE districts SET progress_rebuild = false WHERE district_id = $1`, d); err != nil {
				return err
			}
			return s.rebuildProgress(ctx, tx, d)
		}); err != nil {
			return fmt.Errorf("district %s: %w", d, err)
		}
	}
	return nil
}
