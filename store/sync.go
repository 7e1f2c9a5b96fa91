package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

var _ sync.Store = (*Store)(nil)

// RegisterDevice inserts the device unless its id exists, and returns the stored row.
func (s *Store) RegisterDevice(ctx context.Context, d sync.Device) (sync.Device, error) {
	_, err := s.pool.Exec(ctx, `INSERT INTO devices (district_id, device_id, user_id, next_seq, client_version, schema_version, registered_at)
		VALUES ($1, $2, $3, 1, $4, $5, $6) ON CONFLICT DO NOTHING`,
		d.DistrictID, d.ID, d.UserID, d.ClientVersion, d.SchemaVersion, d.RegisteredAt)
	if err != nil {
		return sync.Device{}, classify(err)
	}
	return s.Device(ctx, d.ID)
}

const deviceColumns = `district_id, device_id::text, user_id, next_seq, client_version, schema_version, registered_at`

func scanDevice(row pgx.Row) (sync.Device, error) {
	var d sync.Device
	err := row.Scan(&d.DistrictID, &d.ID, &d.UserID, &d.NextSeq, &d.ClientVersion, &d.SchemaVersion, &d.RegisteredAt)
	return d, err
}

// Device returns a registered device.
func (s *Store) Device(ctx context.Context, deviceID string) (sync.Device, error) {
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE device_id = $1`, deviceID))
	if err == pgx.ErrNoRows {
		return d, observation.NotFound("device", deviceID)
	}
	return d, classify(err)
}

// Push runs fn in one transaction holding the device's row lock.
func (s *Store) Push(ctx context.Context, deviceID string, fn func(sync.PushTx) error) error {
	return s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		d, err := scanDevice(tx.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE device_id = $1 FOR UPDATE`, deviceID))
		if err == pgx.ErrNoRows {
			return observation.NotFound("device", deviceID)
		}
		if err != nil {
			return err
		}
		return fn(&pushTx{tx: tx, device: d})
	})
}

type pushTx struct {
	tx     pgx.Tx
	device sync.Device
}

func (p *pushTx) Device() sync.Device { return p.device }

func (p *pushTx) StoredResults(ctx context.Context, seqs []int64) (map[int64]sync.Result, error) {
	out := make(map[int64]sync.Result, len(seqs))
	if len(seqs) == 0 {
		return out, nil
	}
	rows, err := p.tx.Query(ctx, `SELECT seq, result FROM push_results
		WHERE district_id = $1 AND device_id = $2 AND seq = ANY($3)`, p.device.DistrictID, p.device.ID, seqs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var b []byte
		if err := rows.Scan(&seq, &b); err != nil {
			return nil, err
		}
		var r sync.Result
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("stored result %d: %w", seq, err)
		}
		out[seq] = r
	}
	return out, rows.Err()
}

const observationColumns = `content, revision, content_hash, deleted, updated_by, coalesce(device_id::text, ''), committed_at`

func scanObservation(row pgx.Row, extra ...any) (observation.StoredObservation, error) {
	var o observation.StoredObservation
	var content []byte
	dest := append([]any{&content, &o.Revision, &o.ContentHash, &o.Deleted, &o.UpdatedBy, &o.DeviceID, &o.CommittedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return o, err
	}
	if err := json.Unmarshal(content, &o.Record); err != nil {
		return o, fmt.Errorf("stored observation is not readable: %w", err)
	}
	return o, nil
}

func (p *pushTx) Observations(ctx context.Context, district string, ids []string) (map[string]observation.StoredObservation, error) {
	out := map[string]observation.StoredObservation{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := p.tx.Query(ctx, `SELECT `+observationColumns+` FROM observations
		WHERE district_id = $1 AND observation_id = ANY($2::uuid[]) FOR UPDATE`, district, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanObservation(rows)
		if err != nil {
			return nil, err
		}
		out[o.ID] = o
	}
	return out, rows.Err()
}

func (p *pushTx) Classrooms(ctx context.Context, district string, ids []string) (map[string]observation.Classroom, error) {
	out := map[string]observation.Classroom{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := p.tx.Query(ctx, `SELECT classroom_id, site_id, course, grade, section, coalesce(teacher_id, '')
		FROM classrooms WHERE district_id = $1 AND classroom_id = ANY($2)`, district, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		c := observation.Classroom{DistrictID: district}
		if err := rows.Scan(&c.ID, &c.SiteID, &c.Course, &c.Grade, &c.Section, &c.TeacherID); err != nil {
			return nil, err
		}
		out[c.ID] = c
	}
	return out, rows.Err()
}

func (p *pushTx) RubricVersion(ctx context.Context, rubricID string, version int) (observation.RubricVersion, error) {
	v, err := scanVersion(p.tx.QueryRow(ctx, `SELECT `+versionColumns+` FROM rubric_versions
		WHERE rubric_id = $1 AND version = $2`, rubricID, version))
	if err == pgx.ErrNoRows {
		return v, notFoundVersion(rubricID, version)
	}
	return v, err
}

func (p *pushTx) District(ctx context.Context, id string) (observation.District, error) {
	return getDistrict(ctx, p.tx, id)
}

func getDistrict(ctx context.Context, q pgx.Tx, id string) (observation.District, error) {
	d := observation.District{ID: id}
	var settings []byte
	err := q.QueryRow(ctx, `SELECT name, settings FROM districts WHERE district_id = $1`, id).Scan(&d.Name, &settings)
	if err == pgx.ErrNoRows {
		return d, observation.NotFound("district", id)
	}
	if err != nil {
		return d, err
	}
	d.Settings = observation.DefaultDistrictSettings()
	if err := json.Unmarshal(settings, &d.Settings); err != nil {
		return d, fmt.Errorf("district %s settings: %w", id, err)
	}
	return d, nil
}

// Commit writes a push's effects with one statement per table (unnest arrays).
func (p *pushTx) Commit(ctx context.Context, w sync.Writes) error {
	if err := p.upsertObservations(ctx, w); err != nil {
		return err
	}
	if err := p.insertRevisions(ctx, w.Revisions); err != nil {
		return err
	}
	if err := insertConflicts(ctx, p.tx, w.Conflicts); err != nil {
		return err
	}
	if err := p.insertResults(ctx, w.Results); err != nil {
		return err
	}
	_, err := p.tx.Exec(ctx, `UPDATE devices SET next_seq = $3, last_push_at = now()
		WHERE district_id = $1 AND device_id = $2`, p.device.DistrictID, p.device.ID, w.NextSeq)
	return err
}

func (p *pushTx) upsertObservations(ctx context.Context, w sync.Writes) error {
	n := len(w.Observations)
	if n == 0 {
		return nil
	}
	var (
		district, id, site, classroom, teacher, observer, status, kind, rubric, hash, by, device = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		rversion, revision                                                                       = make([]int32, n), make([]int32, n)
		started, committed                                                                       = make([]time.Time, n), make([]time.Time, n)
		deleted                                                                                  = make([]bool, n)
		content                                                                                  = make([]string, n)
	)
	for i, o := range w.Observations {
		b, err := json.Marshal(o.Record)
		if err != nil {
			return err
		}
		district[i], id[i], site[i], classroom[i], teacher[i], observer[i] = o.DistrictID, o.ID, o.SiteID, o.ClassroomID, o.TeacherID, o.ObserverID
		status[i], kind[i], rubric[i], hash[i], by[i], device[i] = string(o.Status), string(o.Kind), o.RubricID, o.ContentHash, o.UpdatedBy, o.DeviceID
		rversion[i], revision[i], started[i], committed[i], deleted[i], content[i] = int32(o.RubricVersion), int32(o.Revision), o.StartedAt, o.CommittedAt, o.Deleted, string(b)
	}
	_, err := p.tx.Exec(ctx, `
		INSERT INTO observations (district_id, observation_id, site_id, classroom_id, teacher_id, observer_id, status, kind,
			rubric_id, rubric_version, started_at, revision, content, content_hash, deleted, deleted_at, updated_by, device_id, committed_at)
		SELECT d, i::uuid, s, c, t, o, st, k, r, rv, sa, rev, ct, h, del, CASE WHEN del THEN ca END, by, nullif(dev, '')::uuid, ca
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
			$10::int[], $11::timestamptz[], $12::int[], $13::jsonb[], $14::text[], $15::bool[], $16::text[], $17::text[], $18::timestamptz[])
			AS u(d, i, s, c, t, o, st, k, r, rv, sa, rev, ct, h, del, by, dev, ca)
		ON CONFLICT (district_id, observation_id) DO UPDATE SET
			site_id = excluded.site_id, classroom_id = excluded.classroom_id, teacher_id = excluded.teacher_id,
			status = excluded.status, kind = excluded.kind, rubric_id = excluded.rubric_id, rubric_version = excluded.rubric_version,
			started_at = excluded.started_at, revision = excluded.revision, content = excluded.content,
			content_hash = excluded.content_hash, deleted = excluded.deleted,
			deleted_at = CASE WHEN excluded.deleted AND NOT observations.deleted THEN excluded.committed_at ELSE observations.deleted_at END,
			updated_by = excluded.updated_by, device_id = excluded.device_id, committed_at = excluded.committed_at`,
		district, id, site, classroom, teacher, observer, status, kind, rubric, rversion, started, revision, content, hash, deleted, by, device, committed)
	return err
}

func (p *pushTx) insertRevisions(ctx context.Context, revs []observation.StoredObservation) error {
	if len(revs) == 0 {
		return nil
	}
	rows := make([][]any, len(revs))
	for i, o := range revs {
		b, err := json.Marshal(o.Record)
		if err != nil {
			return err
		}
		var dev any
		if o.DeviceID != "" {
			dev = o.DeviceID
		}
		rows[i] = []any{o.DistrictID, o.ID, int32(o.Revision), string(b), o.ContentHash, o.Deleted, o.UpdatedBy, dev, o.CommittedAt}
	}
	_, err := p.tx.CopyFrom(ctx, pgx.Identifier{"observation_revisions"},
		[]string{"district_id", "observation_id", "revision", "content", "content_hash", "deleted", "updated_by", "device_id", "committed_at"},
		pgx.CopyFromRows(rows))
	return err
}

func insertConflicts(ctx context.Context, tx pgx.Tx, cs []sync.Conflict) error {
	for _, c := range cs { // conflicts are rare; one statement each keeps this readable
		b, err := json.Marshal(c.Proposed)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO conflicts (district_id, conflict_id, observation_id, base_revision, server_revision,
			proposed, proposed_hash, proposed_delete, proposed_by, device_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, nullif($10, '')::uuid, $11)`,
			c.DistrictID, c.ID, c.ObservationID, c.BaseRevision, c.ServerRevision, b, c.ProposedHash, c.ProposedDelete,
			c.ProposedBy, c.DeviceID, c.CreatedAt); err != nil {
			return err
		}
	}
	return nil
}

func (p *pushTx) insertResults(ctx context.Context, rs []sync.Result) error {
	if len(rs) == 0 {
		return nil
	}
	rows := make([][]any, len(rs))
	for i, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		rows[i] = []any{p.device.DistrictID, p.device.ID, r.Seq, string(b)}
	}
	_, err := p.tx.CopyFrom(ctx, pgx.Identifier{"push_results"}, []string{"district_id", "device_id", "seq", "result"}, pgx.CopyFromRows(rows))
	return err
}

// CurrentSnapshot returns pg_current_snapshot() as text.
func (s *Store) CurrentSnapshot(ctx context.Context) (string, error) {
	var snap string
	err := s.pool.QueryRow(ctx, `SELECT pg_current_snapshot()::text`).Scan(&snap)
	return snap, classify(err)
}

// Changes returns one page of a pull.
func (s *Store) Changes(ctx context.Context, q sync.ChangeQuery) ([]sync.ChangeRow, error) {
	var from any
	if q.From != "" {
		from = q.From
	}
	sites := q.Scope.Sites
	if sites == nil {
		sites = []string{}
	}
	added, removed := q.Added, q.Removed
	if added == nil {
		added = []string{}
	}
	if removed == nil {
		removed = []string{}
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+observationColumns+`, txid::text, (site_id = ANY($7) AND observer_id <> $5 AND status = 'submitted') AS removed
		FROM observations o
		WHERE ($1 OR o.district_id = $2)
		  AND pg_visible_in_snapshot(o.txid, $8::pg_snapshot)
		  AND (o.txid, o.observation_id) > ($9::xid8, $10::uuid)
		  AND (
		        ( ( o.observer_id = $5 OR (o.status = 'submitted' AND ($1 OR $3 OR o.site_id = ANY($4))) )
		          AND ( $6::pg_snapshot IS NULL
		                OR o.site_id = ANY($11)
		                OR (o.txid >= pg_snapshot_xmin($6::pg_snapshot) AND NOT pg_visible_in_snapshot(o.txid, $6::pg_snapshot)) )
		          AND ( $6::pg_snapshot IS NOT NULL OR NOT o.deleted ) )
		     OR ( o.site_id = ANY($7) AND o.observer_id <> $5 AND o.status = 'submitted' )
		  )
		ORDER BY o.txid, o.observation_id
		LIMIT $12`,
		q.Scope.All, q.Scope.DistrictID, q.Scope.AllSites, sites, q.Scope.UserID, from, removed, q.Upto,
		q.AfterTx, q.AfterID, added, q.Limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []sync.ChangeRow
	for rows.Next() {
		var r sync.ChangeRow
		o, err := scanObservation(rows, &r.TxID, &r.Removed)
		if err != nil {
			return nil, classify(err)
		}
		r.Observation = o
		out = append(out, r)
	}
	return out, classify(rows.Err())
}

// RubricChanges returns rubric versions published or retired between the snapshots.
func (s *Store) RubricChanges(ctx context.Context, owners []string, from, upto string) ([]sync.RubricChange, error) {
	var f any
	if from != "" {
		f = from
	}
	rows, err := s.pool.Query(ctx, `
		SELECT rubric_id, version, status, content_hash FROM rubric_versions
		WHERE status <> 'draft' AND ($1::text[] IS NULL OR district_id = ANY($1))
		  AND pg_visible_in_snapshot(txid, $3::pg_snapshot)
		  AND ($2::pg_snapshot IS NULL OR NOT pg_visible_in_snapshot(txid, $2::pg_snapshot))
		ORDER BY rubric_id, version`, owners, f, upto)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []sync.RubricChange
	for rows.Next() {
		var c sync.RubricChange
		var st string
		if err := rows.Scan(&c.RubricID, &c.Version, &st, &c.ContentHash); err != nil {
			return nil, classify(err)
		}
		c.Status = observation.VersionStatus(st)
		out = append(out, c)
	}
	return out, classify(rows.Err())
}

// Hashes returns the content hashes of ids that exist in scope.
func (s *Store) Hashes(ctx context.Context, sc sync.Scope, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	sites := sc.Sites
	if sites == nil {
		sites = []string{}
	}
	rows, err := s.pool.Query(ctx, `
		SELECT observation_id::text, content_hash FROM observations o
		WHERE observation_id = ANY($6::uuid[]) AND NOT deleted AND ($1 OR district_id = $2)
		  AND (observer_id = $5 OR (status = 'submitted' AND ($1 OR $3 OR site_id = ANY($4))))`,
		sc.All, sc.DistrictID, sc.AllSites, sites, sc.UserID, ids)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, h string
		if err := rows.Scan(&id, &h); err != nil {
			return nil, classify(err)
		}
		out[id] = h
	}
	return out, classify(rows.Err())
}
