package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/sync"
)

// queueWrites queues the upsert of the current versions and the insert of superseded ones.
func queueWrites(b *pgx.Batch, w sync.Writes) error {
	if len(w.Observations) > 0 {
		c, err := obsColumnsOf(w.Observations)
		if err != nil {
			return err
		}
		b.Queue(`
		INSERT INTO observations (district_id, observation_id, site_id, classroom_id, teacher_id, observer_id, status, kind,
			rubric_id, rubric_version, started_at, revision, content, content_hash, deleted, deleted_at, updated_by, device_id, committed_at,
			co_observation, submitted_at)
		SELECT d, i::uuid, s, c, t, o, st, k, r, rv, sa, rev, ct, h, del, CASE WHEN del THEN ca END, by, nullif(dev, '')::uuid, ca, nullif(co, ''), sub
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
			$10::int[], $11::timestamptz[], $12::int[], $13::json[], $14::text[], $15::bool[], $16::text[], $17::text[], $18::timestamptz[],
			$19::text[], $20::timestamptz[])
			AS u(d, i, s, c, t, o, st, k, r, rv, sa, rev, ct, h, del, by, dev, ca, co, sub)
		ON CONFLICT (district_id, observation_id) DO UPDATE SET
			former_sites = CASE WHEN observations.site_id <> excluded.site_id AND NOT observations.site_id = ANY(observations.former_sites)
				THEN array_append(observations.former_sites, observations.site_id) ELSE observations.former_sites END,
			site_id = excluded.site_id, classroom_id = excluded.classroom_id, teacher_id = excluded.teacher_id,
			status = excluded.status, kind = excluded.kind, rubric_id = excluded.rubric_id, rubric_version = excluded.rubric_version,
			started_at = excluded.started_at, revision = excluded.revision, content = excluded.content,
			content_hash = excluded.content_hash, deleted = excluded.deleted,
			deleted_at = CASE WHEN excluded.deleted AND NOT observations.deleted THEN excluded.committed_at ELSE observations.deleted_at END,
			updated_by = excluded.updated_by, device_id = excluded.device_id, committed_at = excluded.committed_at,
			co_observation = excluded.co_observation, submitted_at = excluded.submitted_at`,
			c.district, c.id, c.site, c.classroom, c.teacher, c.observer, c.status, c.kind, c.rubric, c.rversion, c.started,
			c.revision, c.content, c.hash, c.deleted, c.by, c.device, c.committed, c.coObservation, c.submitted)
	}
	if len(w.History) > 0 {
		c, err := obsColumnsOf(w.History)
		if err != nil {
			return err
		}
		b.Queue(`
		INSERT INTO observation_revisions (district_id, observation_id, revision, content, content_hash, deleted, updated_by, device_id, committed_at)
		SELECT d, i::uuid, rev, ct, h, del, by, nullif(dev, '')::uuid, ca
		FROM unnest($1::text[], $2::text[], $3::int[], $4::jsonb[], $5::text[], $6::bool[], $7::text[], $8::text[], $9::timestamptz[])
			AS u(d, i, rev, ct, h, del, by, dev, ca)`,
			c.district, c.id, c.revision, c.content, c.hash, c.deleted, c.by, c.device, c.committed)
	}
	return nil
}

// obsColumns are observation rows as column arrays, for unnest.
type obsColumns struct {
	district, id, site, classroom, teacher, observer, status, kind, rubric, hash, by, device, content, coObservation []string
	rversion, revision                                                                                               []int32
	started, committed                                                                                               []time.Time
	submitted                                                                                                        []*time.Time // nil: never submitted
	deleted                                                                                                          []bool
}

// obsColumnsOf returns rows as column arrays.
func obsColumnsOf(rows []observation.StoredObservation) (*obsColumns, error) {
	c := newObsColumns(len(rows))
	for i, o := range rows {
		if err := c.set(i, o); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func newObsColumns(n int) *obsColumns {
	strs := func() []string { return make([]string, n) }
	return &obsColumns{district: strs(), id: strs(), site: strs(), classroom: strs(), teacher: strs(), observer: strs(),
		status: strs(), kind: strs(), rubric: strs(), hash: strs(), by: strs(), device: strs(), content: strs(), coObservation: strs(),
		rversion: make([]int32, n), revision: make([]int32, n), started: make([]time.Time, n), committed: make([]time.Time, n),
		submitted: make([]*time.Time, n),
		deleted:   make([]bool, n)}
}

func (c *obsColumns) set(i int, o observation.StoredObservation) error {
	raw := o.Content
	if raw == nil {
		var err error
		if raw, err = json.Marshal(o.Record); err != nil {
			return err
		}
	}
	c.district[i], c.id[i], c.site[i], c.classroom[i], c.teacher[i], c.observer[i] = o.DistrictID, o.ID, o.SiteID, o.ClassroomID, o.TeacherID, o.ObserverID
	c.status[i], c.kind[i], c.rubric[i], c.hash[i], c.by[i], c.device[i] = string(o.Status), string(o.Kind), o.RubricID, o.ContentHash, o.UpdatedBy, o.DeviceID
	c.coObservation[i] = o.CoObservation
	if !o.SubmittedAt.IsZero() {
		at := o.SubmittedAt
		c.submitted[i] = &at
	}
	c.rversion[i], c.revision[i], c.started[i], c.committed[i], c.deleted[i], c.content[i] = int32(o.RubricVersion), int32(o.Revision), o.StartedAt, o.CommittedAt, o.Deleted, string(raw)
	return nil
}

// copyObservations inserts records that did not exist before with COPY (copyRows, as loads do):
// PostgreSQL writes the rows in pages (heap_multi_insert) and parses no arrays, where the upsert
// of queueWrites inserts them one by one from unnest. Only rows no one else can write may be
// copied: a push holds the advisory lock of every id it creates and has read that none is stored
// (a copied row that is stored after all fails the push on the unique index, never overwrites).
func copyObservations(ctx context.Context, tx pgx.Tx, rows []observation.StoredObservation) error {
	_, err := copyRows(ctx, tx, rows, time.Now())
	return err
}

// copyLoggedDelta is queueLoggedDelta for a push: the log rows are copied now, the pair rows
// queued on b. A push's log rows hold a record's counters each (about 1 KB of JSON text): COPY
// sends them once, where column arrays are encoded, then copied into the statement's message,
// and unnested by PostgreSQL.
func copyLoggedDelta(ctx context.Context, tx pgx.Tx, b *pgx.Batch, d *progress.Delta) error {
	logged, err := newLogRows(d)
	if err != nil {
		return err
	}
	if len(logged) > 0 {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"progress_delta_log"},
			[]string{"district_id", "site_id", "classroom_id", "teacher_id", "rubric_id", "periods", "m"},
			pgx.CopyFromSlice(len(logged), func(i int) ([]any, error) {
				r := &logged[i]
				return []any{r.key[0], r.key[1], r.key[2], r.key[3], r.key[4], r.periods, r.m}, nil
			}))
		if err != nil {
			return err
		}
	}
	rows, err := newDeltaRows(&progress.Delta{Pairs: d.Pairs})
	if err != nil {
		return err
	}
	rows.pairs.queue(b)
	return nil
}
