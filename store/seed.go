package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"runtime"
	gosync "sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
)

// CopyBatchSize is the number of rows CopyObservations sends per COPY.
const CopyBatchSize = 10_000

// copyColumns are the observations columns CopyObservations and a push's new records write; the
// others keep their defaults (former_sites '{}', txid the writing transaction's). A tombstone is
// deleted when it was committed, as the upsert of a push sets it.
var copyColumns = []string{"district_id", "observation_id", "site_id", "classroom_id", "teacher_id", "observer_id",
	"status", "kind", "rubric_id", "rubric_version", "started_at", "revision", "content", "content_hash", "deleted", "deleted_at",
	"updated_by", "device_id", "committed_at", "co_observation", "submitted_at"}

// CopyObservations bulk-loads new observations with COPY, CopyBatchSize rows per COPY, all in
// one transaction: it is for seeding and imports, not for sync (no audit entry, no history, no
// conflict handling). Each row is stored as given, with these defaults: Content the record's
// canonical JSON (Record.Canonical), ContentHash its hash, Revision 1, UpdatedBy the observer,
// CommittedAt now. A given ContentHash must be the hash of the content. A submitted row without
// a SubmittedAt gets its CommittedAt (now when unset), written back into obs: the aggregates'
// co-observation rule orders a group's members by it.
//
// Every row's district must exist (else a not-found error, and nothing is written), and no row
// may exist already: an existing (district, observation id) fails the whole call with an
// already-exists error. It returns the number of rows written.
//
// The progress aggregates are maintained in the same transaction, with the delta of all the
// rows applied once after the last COPY. The transaction holds its districts' progress locks
// shared, and locks the co-observation groups it adds to; a load touching more than
// maxGroupLocks groups holds its districts' progress locks exclusively instead (pushes to those
// districts wait for it).
func (s *Store) CopyObservations(ctx context.Context, obs []observation.StoredObservation) (int64, error) {
	if len(obs) == 0 {
		return 0, nil
	}
	seen := map[string]bool{}
	var districts []string
	for i := range obs {
		if d := obs[i].DistrictID; !seen[d] {
			seen[d] = true
			districts = append(districts, d)
		}
	}
	groups := map[string]bool{}
	for i := range obs {
		if o := &obs[i]; o.CoObservation != "" && progress.Counted(*o) {
			groups[progress.GroupKey(o.DistrictID, o.CoObservation)] = true
		}
	}
	exclusive := len(groups) > maxGroupLocks
	now := time.Now().UTC().Truncate(time.Microsecond)
	submittedDefaults(obs, now)
	var n int64
	err := s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		// The progress locks first; then the districts' settings, which the aggregates' periods
		// are computed with.
		if err := lockProgress(ctx, tx, districts, exclusive); err != nil {
			return err
		}
		in := newProgressInputs()
		b := &pgx.Batch{}
		in.queueMissing(b, s, districts, nil)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		for _, d := range districts {
			if _, ok := in.settings[d]; !ok {
				return observation.NotFound("district", d)
			}
		}
		if err := setLoadCompression(ctx, tx); err != nil {
			return err
		}
		c, err := copyRows(ctx, tx, obs, now)
		n = c
		if err != nil {
			return err
		}
		return s.copyProgress(ctx, tx, obs, groups, exclusive, in)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// submittedDefaults gives each submitted row without a SubmittedAt its CommittedAt (now when
// unset).
func submittedDefaults(obs []observation.StoredObservation, now time.Time) {
	for i := range obs {
		if o := &obs[i]; o.Status == observation.RecordSubmitted && o.SubmittedAt.IsZero() {
			o.SubmittedAt = o.CommittedAt
			if o.SubmittedAt.IsZero() {
				o.SubmittedAt = now
			}
			o.SubmittedAt = o.SubmittedAt.UTC().Truncate(time.Microsecond)
		}
	}
}

// setLoadCompression makes tx compress the content it writes with lz4. Most of a bulk load's
// server time goes into parsing and compressing the content; lz4 compresses several times
// faster than the default pglz (and reads back faster). The setting lasts until the end of the
// transaction and applies to columns without an explicit compression method; servers built
// without lz4 keep their default.
func setLoadCompression(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT set_config('default_toast_compression', 'lz4', true) FROM pg_settings
		WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)`)
	return err
}

// copyRows copies obs into observations, CopyBatchSize rows per COPY, and returns the number of
// rows written.
func copyRows(ctx context.Context, tx pgx.Tx, obs []observation.StoredObservation, now time.Time) (int64, error) {
	var n int64
	for lo := 0; lo < len(obs); lo += CopyBatchSize {
		src := &obsSource{rows: obs[lo:min(lo+CopyBatchSize, len(obs))], now: now, i: -1}
		c, err := tx.CopyFrom(ctx, pgx.Identifier{"observations"}, copyColumns, src)
		n += c
		if src.err != nil { // a row we could not encode: report it, not the aborted COPY
			return n, src.err
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// copyProgress adds the copied rows to the aggregates: it reads the rubric versions they name
// and, when they belong to co-observation groups, locks the groups (unless exclusive) and reads
// the groups' members stored before this transaction, then applies the rows' delta.
func (s *Store) copyProgress(ctx context.Context, tx pgx.Tx, obs []observation.StoredObservation, groups map[string]bool,
	exclusive bool, in *progressInputs) error {
	changes := make([]progress.RecordChange, 0, len(obs))
	var refs []rubricKey
	seen := map[rubricKey]bool{}
	for i := range obs {
		if !progress.Counted(obs[i]) {
			continue
		}
		changes = append(changes, progress.RecordChange{After: &obs[i]})
		if r := (rubricKey{obs[i].RubricID, obs[i].RubricVersion}); !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	others := map[string][]observation.StoredObservation{}
	if len(groups) > 0 {
		keys := make([]string, 0, len(groups))
		for k := range groups {
			keys = append(keys, k)
		}
		queueGroupMembers(b, keys, nil, !exclusive, true, others)
	}
	in.queueMissing(b, s, nil, refs)
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
	}
	d := progress.NewDelta()
	addBulkDelta(d, changes, others, in.domain())
	return applyDelta(ctx, tx, d)
}

// bulkShardMin is the fewest changes addBulkDelta gives a core of its own.
var bulkShardMin = 2000

// addBulkDelta adds progress.ChangeDelta of many changes to d, computed on every core: the
// changes are split into shards that keep each co-observation group whole, the first shard's
// delta computed straight into d.
func addBulkDelta(d *progress.Delta, changes []progress.RecordChange, others map[string][]observation.StoredObservation, in progress.Inputs) {
	workers := min(runtime.GOMAXPROCS(0), len(changes)/bulkShardMin)
	if workers <= 1 {
		d.AddChanges(changes, others, in)
		return
	}
	shards := make([][]progress.RecordChange, workers)
	for _, c := range changes {
		key := c.After.ID
		if c.After.CoObservation != "" {
			key = progress.GroupKey(c.After.DistrictID, c.After.CoObservation)
		}
		h := fnv.New32a()
		h.Write([]byte(key))
		w := int(h.Sum32() % uint32(workers))
		shards[w] = append(shards[w], c)
	}
	out := make([]*progress.Delta, workers)
	var wg gosync.WaitGroup
	for w := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w == 0 {
				d.AddChanges(shards[w], others, in)
			} else {
				out[w] = progress.ChangeDelta(shards[w], others, in)
			}
		}()
	}
	wg.Wait()
	for _, o := range out[1:] {
		addOwned(d, o)
	}
}

// obsSource feeds StoredObservations to CopyFrom, encoding each row's content as it goes.
type obsSource struct {
	rows   []observation.StoredObservation
	now    time.Time
	i      int
	values []any
	err    error
}

func (s *obsSource) Next() bool {
	s.i++
	if s.i >= len(s.rows) || s.err != nil {
		return false
	}
	s.values, s.err = copyValues(&s.rows[s.i], s.now)
	return s.err == nil
}

func (s *obsSource) Values() ([]any, error) { return s.values, s.err }
func (s *obsSource) Err() error             { return s.err }

// copyValues is one row of copyColumns.
func copyValues(o *observation.StoredObservation, now time.Time) ([]any, error) {
	id, err := uuid.Parse(o.ID)
	if err != nil || !observation.IsUUID(o.ID) {
		return nil, observation.Invalid("record.id", observation.ReasonBadID, "observation id %q is not a lowercase UUID", o.ID)
	}
	content, hash := o.Content, o.ContentHash
	if content == nil {
		var h string
		content, h = o.Record.Canonical()
		if hash == "" {
			hash = h
		} else if hash != h {
			return nil, fmt.Errorf("store: observation %s: content hash %s is not the hash of its content (%s)", o.ID, hash, h)
		}
	} else if hash == "" {
		return nil, fmt.Errorf("store: observation %s: content given without its hash", o.ID)
	}
	revision := int32(o.Revision)
	if revision == 0 {
		revision = 1
	}
	by := o.UpdatedBy
	if by == "" {
		by = o.ObserverID
	}
	committed := o.CommittedAt
	if committed.IsZero() {
		committed = now
	}
	var device pgtype.UUID
	if o.DeviceID != "" {
		d, err := uuid.Parse(o.DeviceID)
		if err != nil {
			return nil, observation.Invalid("device_id", observation.ReasonBadID, "device id %q is not a UUID", o.DeviceID)
		}
		device = pgtype.UUID{Bytes: d, Valid: true}
	}
	var co pgtype.Text
	if o.CoObservation != "" {
		co = pgtype.Text{String: o.CoObservation, Valid: true}
	}
	var submitted, deletedAt pgtype.Timestamptz
	if !o.SubmittedAt.IsZero() {
		submitted = pgtype.Timestamptz{Time: o.SubmittedAt, Valid: true}
	}
	if o.Deleted {
		deletedAt = pgtype.Timestamptz{Time: committed, Valid: true}
	}
	return []any{o.DistrictID, pgtype.UUID{Bytes: id, Valid: true}, o.SiteID, o.ClassroomID, o.TeacherID, o.ObserverID,
		string(o.Status), string(o.Kind), o.RubricID, int32(o.RubricVersion), o.StartedAt, revision, content, hash, o.Deleted,
		deletedAt, by, device, committed, co, submitted}, nil
}

// ObservationCounts counts the stored observations (tombstones included) of each district; a
// district without any is left out.
func (s *Store) ObservationCounts(ctx context.Context, districtIDs []string) (map[string]int64, error) {
	if districtIDs == nil {
		districtIDs = []string{}
	}
	rows, err := s.pool.Query(ctx, `SELECT district_id, count(*) FROM observations
		WHERE district_id = ANY($1) GROUP BY district_id`, districtIDs)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var d string
		var n int64
		if err := rows.Scan(&d, &n); err != nil {
			return nil, classify(err)
		}
		out[d] = n
	}
	return out, classify(rows.Err())
}

// ExistingObservations returns which of ids are stored already, in any district.
func (s *Store) ExistingObservations(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT observation_id::text FROM observations WHERE observation_id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, classify(err)
		}
		out[id] = true
	}
	return out, classify(rows.Err())
}
