package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/lookfor-edu/lookfor/observation"
)

// CopyBatchSize is the number of rows CopyObservations sends per COPY.
const CopyBatchSize = 10_000

// copyColumns are the observations columns CopyObservations writes; the others keep their
// defaults (former_sites '{}', deleted_at NULL, txid the loading transaction's).
var copyColumns = []string{"district_id", "observation_id", "site_id", "classroom_id", "teacher_id", "observer_id",
	"status", "kind", "rubric_id", "rubric_version", "started_at", "revision", "content", "content_hash", "deleted",
	"updated_by", "device_id", "committed_at"}

// CopyObservations bulk-loads new observations with COPY, CopyBatchSize rows per COPY, all in
// one transaction: it is for seeding and imports, not for sync (no audit entry, no history, no
// conflict handling). Each row is stored as given, with these defaults: Content the record's
// canonical JSON (Record.Canonical), ContentHash its hash, Revision 1, UpdatedBy the observer,
// CommittedAt now. A given ContentHash must be the hash of the content.
//
// Every row's district must exist (else a not-found error, and nothing is written), and no row
// may exist already: an existing (district, observation id) fails the whole call with an
// already-exists error. It returns the number of rows written.
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
	var n int64
	err := s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		var missing []string
		if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(d), '{}') FROM unnest($1::text[]) AS d
			WHERE NOT EXISTS (SELECT 1 FROM districts WHERE district_id = d)`, districts).Scan(&missing); err != nil {
			return err
		}
		if len(missing) > 0 {
			return observation.NotFound("district", missing[0])
		}
		// Most of a bulk load's server time goes into parsing and compressing the content; lz4
		// compresses several times faster than the default pglz (and reads back faster). The
		// setting lasts until the end of this transaction and applies to columns without an
		// explicit compression method; servers built without lz4 keep their default.
		if _, err := tx.Exec(ctx, `SELECT set_config('default_toast_compression', 'lz4', true) FROM pg_settings
			WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)`); err != nil {
			return err
		}
		now := time.Now().UTC()
		for lo := 0; lo < len(obs); lo += CopyBatchSize {
			src := &obsSource{rows: obs[lo:min(lo+CopyBatchSize, len(obs))], now: now, i: -1}
			c, err := tx.CopyFrom(ctx, pgx.Identifier{"observations"}, copyColumns, src)
			n += c
			if src.err != nil { // a row we could not encode: report it, not the aborted COPY
				return src.err
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
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
	return []any{o.DistrictID, pgtype.UUID{Bytes: id, Valid: true}, o.SiteID, o.ClassroomID, o.TeacherID, o.ObserverID,
		string(o.Status), string(o.Kind), o.RubricID, int32(o.RubricVersion), o.StartedAt, revision, content, hash, o.Deleted,
		by, device, committed}, nil
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
