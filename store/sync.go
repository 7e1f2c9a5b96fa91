// This file is a little over our usual ~600 lines on purpose: every query of the sync protocol
// (devices, push, pull with its snapshots, reconcile, cursor keys) sits beside the one column list
// and scanner of its tables.

package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/sync"
)

var _ sync.Store = (*Store)(nil)

// RegisterDevice inserts the device unless its id exists, auditing a new registration in the
// same transaction, and returns the stored row.
func (s *Store) RegisterDevice(ctx context.Context, d sync.Device, audit observation.AuditEntry) (sync.Device, error) {
	err := s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO devices (district_id, device_id, user_id, next_seq, client_version, schema_version, registered_at)
			VALUES ($1, $2, $3, 1, $4, $5, $6) ON CONFLICT DO NOTHING`,
			d.DistrictID, d.ID, d.UserID, d.ClientVersion, d.SchemaVersion, d.RegisteredAt)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return insertAudit(ctx, tx, audit)
	})
	if err != nil {
		return sync.Device{}, err
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
		return fn(&pushTx{s: s, tx: tx, device: d})
	})
}

type pushTx struct {
	s      *Store
	tx     pgx.Tx
	device sync.Device
	loaded sync.Loaded // what Load returned: the stored versions Commit's changes replace
}

func (p *pushTx) Device() sync.Device { return p.device }

// observationColumns are what scanObservation reads: the content, then observationMeta.
const observationColumns = `content, ` + observationMeta

const observationMeta = `revision, content_hash, deleted, updated_by, coalesce(device_id::text, ''), committed_at, submitted_at`

func scanObservation(row pgx.Row, extra ...any) (observation.StoredObservation, error) {
	o, _, err := scanObservationSized(row, extra...)
	return o, err
}

// scanObservationSized is scanObservation that also returns the stored content's size in bytes.
func scanObservationSized(row pgx.Row, extra ...any) (observation.StoredObservation, int, error) {
	var o observation.StoredObservation
	var content []byte
	var submitted *time.Time
	dest := append([]any{&content, &o.Revision, &o.ContentHash, &o.Deleted, &o.UpdatedBy, &o.DeviceID, &o.CommittedAt, &submitted}, extra...)
	if err := row.Scan(dest...); err != nil {
		return o, 0, err
	}
	if submitted != nil {
		o.SubmittedAt = submitted.UTC()
	}
	if err := json.Unmarshal(content, &o.Record); err != nil {
		return o, 0, fmt.Errorf("stored observation is not readable: %w", err)
	}
	return o, len(content), nil
}

// byID is the FROM item of the stored observations (as o, with columns cols) whose ids are in
// the uuid array param, each looked up by itself on the unique index of ids, then locking them.
//
// Written so, the plan is that lookup whatever the table's statistics say. Given the ids as
// `observation_id = ANY(...)` (and the district), the planner prefers reading the district's
// rows, or the whole table, while a new district's table is small or has no statistics yet
// (before autovacuum's first ANALYZE); the plan it makes then is the one the connection caches
// and reuses on every later push, however large the district grows: with one tablet pushing
// 24,000 observations into a new database, each lookup of a batch's 100 ids read every row of
// the district by the end (2.9-12 ms a lookup).
func byID(param, cols, lock string) string {
	return `unnest(` + param + `::uuid[]) AS u(id) CROSS JOIN LATERAL
		(SELECT ` + cols + ` FROM observations WHERE observation_id = u.id LIMIT 1 ` + lock + `) AS o`
}

// What a push reads of the observations its changes name: the stored rows (locked), their
// classrooms and their rubric versions. An id stored in another district is only reported (its
// row locked like the others until the push ends, its content not read). Each is looked up by
// id alone (byID).
var (
	pushObservationsSQL = `SELECT CASE WHEN o.district_id = $1 THEN o.content ELSE '{}' END, ` + observationMeta + `,
			o.observation_id::text, o.district_id <> $1
		FROM ` + byID("$2", "*", "FOR UPDATE")
	pushClassroomsSQL = `SELECT classroom_id, site_id, course, grade, section, coalesce(teacher_id, '') FROM classrooms
		WHERE district_id = $1 AND (classroom_id = ANY($2) OR classroom_id IN
			(SELECT o.classroom_id FROM ` + byID("$3", "classroom_id", "") + `))`
	// Rubric content is read only when this process has not parsed that content hash before:
	// the hash names the content, so a cached copy is exact even for drafts.
	pushRubricsSQL = `SELECT district_id, rubric_id, version, status, CASE WHEN content_hash = ANY($4) THEN NULL ELSE content END,
			content_hash, created_by, created_at, updated_at, published_at, retired_at
		FROM rubric_versions
		WHERE (rubric_id, version) IN (SELECT * FROM unnest($1::text[], $2::int[]))
		   OR (rubric_id, version) IN (SELECT o.rubric_id, o.rubric_version FROM ` + byID("$3", "rubric_id, rubric_version", "") + `)`
)

// Load reads everything a push decides on in one round trip: the district, the observations
// (locked), their classrooms and rubric versions with the ones the changes name, and the stored
// results of replayed seqs. It first takes the district's shared progress lock (see
// progress.go), so the settings it reads stay those of the aggregates until the push commits.
func (p *pushTx) Load(ctx context.Context, q sync.LoadQuery) (sync.Loaded, error) {
	out := sync.Loaded{Observations: map[string]observation.StoredObservation{}, Classrooms: map[string]observation.Classroom{},
		Rubrics: map[sync.RubricRef]observation.RubricVersion{}, Results: map[int64]sync.Result{}, Elsewhere: map[string]bool{}}
	if q.District == "" {
		return out, nil
	}
	ids, rooms := q.IDs, q.Classrooms
	if ids == nil {
		ids = []string{}
	}
	if rooms == nil {
		rooms = []string{}
	}
	rubricIDs, rubricVersions := make([]string, len(q.Rubrics)), make([]int32, len(q.Rubrics))
	for i, r := range q.Rubrics {
		rubricIDs[i], rubricVersions[i] = r.ID, int32(r.Version)
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock_shared(`+progressLockSQL+`)`, q.District)
	b.Queue(`SELECT name, settings FROM districts WHERE district_id = $1`, q.District).QueryRow(func(row pgx.Row) error {
		d, err := scanDistrict(row, q.District)
		if err == pgx.ErrNoRows {
			return nil
		}
		out.District = &d
		return err
	})
	// FOR UPDATE locks only rows that exist. Ids this batch may create are locked too (in one
	// order, so batches cannot deadlock): two devices creating the same id — in any district, as
	// ids are unique across districts — then apply one after the other, and the second decides
	// against the first's row instead of overwriting it or failing on the unique index.
	b.Queue(`SELECT count(pg_advisory_xact_lock(k)) FROM
		(SELECT DISTINCT hashtextextended('observation/' || x, 0) AS k FROM unnest($1::text[]) AS x ORDER BY k) AS l`, ids)
	b.Queue(pushObservationsSQL, q.District, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			var elsewhere bool
			o, err := scanObservation(rows, &id, &elsewhere)
			if err != nil {
				return err
			}
			if elsewhere {
				out.Elsewhere[id] = true
			} else {
				out.Observations[o.ID] = o
			}
		}
		return rows.Err()
	})
	b.Queue(pushClassroomsSQL, q.District, rooms, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			c := observation.Classroom{DistrictID: q.District}
			if err := rows.Scan(&c.ID, &c.SiteID, &c.Course, &c.Grade, &c.Section, &c.TeacherID); err != nil {
				return err
			}
			out.Classrooms[c.ID] = c
		}
		return rows.Err()
	})
	b.Queue(pushRubricsSQL, rubricIDs, rubricVersions, ids, p.s.rubricHashes()).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			v, err := scanVersionWith(rows, &p.s.rubrics)
			if err != nil {
				return err
			}
			out.Rubrics[sync.RubricRef{ID: v.RubricID, Version: v.Version}] = v
		}
		return rows.Err()
	})
	if len(q.ReplaySeqs) > 0 {
		lo, hi := slices.Min(q.ReplaySeqs), slices.Max(q.ReplaySeqs)
		want := make(map[int64]bool, len(q.ReplaySeqs))
		for _, seq := range q.ReplaySeqs {
			want[seq] = true
		}
		b.Queue(`SELECT results FROM push_replies WHERE district_id = $1 AND device_id = $2 AND last_seq >= $3 AND first_seq <= $4`,
			p.device.DistrictID, p.device.ID, lo, hi).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var raw []byte
				if err := rows.Scan(&raw); err != nil {
					return err
				}
				var rs []sync.Result
				if err := json.Unmarshal(raw, &rs); err != nil {
					return fmt.Errorf("stored results of device %s: %w", p.device.ID, err)
				}
				for _, r := range rs {
					if want[r.Seq] {
						out.Results[r.Seq] = r
					}
				}
			}
			return rows.Err()
		})
	}
	if err := p.tx.SendBatch(ctx, b).Close(); err != nil {
		return out, err
	}
	p.loaded = out
	return out, nil
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
	d, err := scanDistrict(q.QueryRow(ctx, `SELECT name, settings FROM districts WHERE district_id = $1`, id), id)
	if err == pgx.ErrNoRows {
		return d, observation.NotFound("district", id)
	}
	return d, err
}

func scanDistrict(row pgx.Row, id string) (observation.District, error) {
	d := observation.District{ID: id}
	var settings []byte
	if err := row.Scan(&d.Name, &settings); err != nil {
		return d, err
	}
	d.Settings = observation.DefaultDistrictSettings()
	if err := json.Unmarshal(settings, &d.Settings); err != nil {
		return d, fmt.Errorf("district %s settings: %w", id, err)
	}
	return d, nil
}

// Commit writes a push's effects: the records it creates and its progress log rows with one
// COPY each, then everything else in one round trip: one statement per table, unnest arrays,
// the pair rows' upserts included. When the push changes counted co-observed records, locking their groups and reading
// the other members takes one round trip before.
func (p *pushTx) Commit(ctx context.Context, w sync.Writes) (string, error) {
	delta, err := p.progressDelta(ctx, w.Observations)
	if err != nil {
		return "", err
	}
	// Load read every stored record of the push under lock, and locked the ids of the others:
	// those are new, and no other write can store them before this one commits.
	created, changed := w.Observations, []observation.StoredObservation(nil)
	if n := p.storedCount(w.Observations); n > 0 { // else all are new: no copy
		created, changed = make([]observation.StoredObservation, 0, len(w.Observations)-n), make([]observation.StoredObservation, 0, n)
		for _, o := range w.Observations {
			if _, ok := p.loaded.Observations[o.ID]; ok {
				changed = append(changed, o)
			} else {
				created = append(created, o)
			}
		}
	}
	if err := copyObservations(ctx, p.tx, created); err != nil {
		return "", err
	}
	b := &pgx.Batch{}
	if err := queueWrites(b, sync.Writes{Observations: changed, History: w.History}); err != nil {
		return "", err
	}
	var txid string
	b.Queue(`SELECT pg_current_xact_id()::text`).QueryRow(func(row pgx.Row) error { return row.Scan(&txid) })
	for _, c := range w.Conflicts { // conflicts are rare; one statement each keeps this readable
		prop, err := json.Marshal(c.Proposed)
		if err != nil {
			return "", err
		}
		b.Queue(`INSERT INTO conflicts (district_id, conflict_id, observation_id, base_revision, server_revision,
			proposed, proposed_hash, proposed_delete, proposed_by, device_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, nullif($10, '')::uuid, $11)`,
			c.DistrictID, c.ID, c.ObservationID, c.BaseRevision, c.ServerRevision, prop, c.ProposedHash, c.ProposedDelete,
			c.ProposedBy, c.DeviceID, c.CreatedAt)
	}
	// The results of one push are of consecutive seqs: one row (one per run of consecutive seqs,
	// should they ever not be).
	for rest := w.Results; len(rest) > 0; {
		n := 1
		for n < len(rest) && rest[n].Seq == rest[n-1].Seq+1 {
			n++
		}
		raw, err := json.Marshal(rest[:n])
		if err != nil {
			return "", err
		}
		b.Queue(`INSERT INTO push_replies (district_id, device_id, first_seq, last_seq, results) VALUES ($1, $2, $3, $4, $5)`,
			p.device.DistrictID, p.device.ID, rest[0].Seq, rest[n-1].Seq, string(raw))
		rest = rest[n:]
	}
	b.Queue(`UPDATE devices SET next_seq = $3, last_push_at = now() WHERE district_id = $1 AND device_id = $2`,
		p.device.DistrictID, p.device.ID, w.NextSeq)
	if w.Audit.Action != "" {
		details, err := json.Marshal(w.Audit.Details)
		if err != nil {
			return "", err
		}
		e := w.Audit
		b.Queue(auditInsertSQL, e.DistrictID, e.At, e.Actor, string(e.Role), e.DeviceID, e.Action, e.ResourceType, e.ResourceID, details)
	}
	// The aggregate rows last: concurrent pushes of the same classrooms may upsert the same pair
	// rows, so their locks are held for as short a time as possible (until the commit that
	// follows). Cell deltas are appended to the log (copied before the batch), which locks
	// nothing shared.
	if err := copyLoggedDelta(ctx, p.tx, b, delta); err != nil {
		return "", err
	}
	return txid, p.tx.SendBatch(ctx, b).Close()
}

// storedCount is how many of os Load read as stored.
func (p *pushTx) storedCount(os []observation.StoredObservation) int {
	n := 0
	for i := range os {
		if _, ok := p.loaded.Observations[os[i].ID]; ok {
			n++
		}
	}
	return n
}

// progressDelta is the aggregate delta of a push's writes: each record's loaded version
// replaced by its new one, computed with the district and rubric versions Load read.
func (p *pushTx) progressDelta(ctx context.Context, writes []observation.StoredObservation) (*progress.Delta, error) {
	changes := make([]progress.RecordChange, len(writes))
	for i := range writes {
		changes[i].After = &writes[i]
		if o, ok := p.loaded.Observations[writes[i].ID]; ok {
			changes[i].Before = &o
		}
	}
	in := newProgressInputs()
	if d := p.loaded.District; d != nil {
		in.settings[d.ID] = d.Settings
	}
	for ref, v := range p.loaded.Rubrics {
		in.content[rubricKey{ref.ID, ref.Version}] = v.Content
	}
	return changeDelta(ctx, p.tx, p.s, changes, in)
}

// CurrentSnapshot returns pg_current_snapshot() as text.
func (s *Store) CurrentSnapshot(ctx context.Context) (string, error) {
	var snap string
	err := s.pool.QueryRow(ctx, `SELECT pg_current_snapshot()::text`).Scan(&snap)
	return snap, classify(err)
}

// Changes returns one page of a pull. The statement is assembled so that the common case — one
// district, a delta since a snapshot, no change of scope — is a range scan of the
// (district_id, txid, observation_id) index starting at the older snapshot's xmin.
//
// Rows are decoded as they arrive and reading stops at q.MaxBytes of content: a page never holds
// more than that (plus one row) in memory, whatever page size the tablet asked for.
func (s *Store) Changes(ctx context.Context, q sync.ChangeQuery) ([]sync.ChangeRow, bool, error) {
	// The scan starts after (AfterTx, AfterID), or — for a delta — just below the older
	// snapshot's xmin, whichever is later: one row-comparison bound the index scan starts from
	// (a second, separate txid bound would only be checked row by row).
	afterTx, afterID := q.AfterTx, q.AfterID
	if q.From != "" && len(q.Added) == 0 && len(q.Removed) == 0 {
		if xmin, ok := snapshotXmin(q.From); ok && xmin > 0 {
			if cur, err := strconv.ParseUint(afterTx, 10, 64); err == nil && cur < xmin-1 {
				afterTx, afterID = strconv.FormatUint(xmin-1, 10), "ffffffff-ffff-ffff-ffff-ffffffffffff"
			}
		}
	}
	args := []any{q.Scope.UserID, q.Upto, afterTx, afterID, q.Limit}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := []string{
		"pg_visible_in_snapshot(o.txid, $2::pg_snapshot)",
		"(o.txid, o.observation_id) > ($3::xid8, $4::uuid)",
	}
	if len(q.Own) > 0 { // the device's own writes, still current: it has them already
		where = append(where, "NOT o.txid = ANY("+arg(q.Own)+"::text[]::xid8[])")
	}
	if !q.Scope.All {
		where = append(where, "o.district_id = "+arg(q.Scope.DistrictID))
	}
	inScope := "(o.observer_id = $1 OR o.status = 'submitted')" // admins, district admins
	// movedAway: a record amended out of the caller's sites; it leaves their tablet.
	movedAway := "false"
	if !q.Scope.All && !q.Scope.AllSites {
		sites := arg(append([]string{}, q.Scope.Sites...))
		inScope = "(o.observer_id = $1 OR (o.status = 'submitted' AND o.site_id = ANY(" + sites + ")))"
		movedAway = "(NOT " + inScope + " AND o.status = 'submitted' AND o.former_sites && " + sites + "::text[])"
	}
	removedExpr := movedAway
	switch {
	case q.From == "": // a first pull: everything in scope that is not deleted
		where = append(where, inScope, "NOT o.deleted")
	case len(q.Added) == 0 && len(q.Removed) == 0: // a delta since From
		from := arg(q.From)
		where = append(where, "("+inScope+" OR "+movedAway+")", "NOT pg_visible_in_snapshot(o.txid, "+from+"::pg_snapshot)")
	default: // the scope changed: gained sites arrive whole, lost sites leave as removals
		from, added, removed := arg(q.From), arg(append([]string{}, q.Added...)), arg(append([]string{}, q.Removed...))
		lost := "(o.site_id = ANY(" + removed + ") AND o.observer_id <> $1 AND o.status = 'submitted')"
		changed := "(o.txid >= pg_snapshot_xmin(" + from + "::pg_snapshot) AND NOT pg_visible_in_snapshot(o.txid, " + from + "::pg_snapshot))"
		removedExpr = "(" + lost + " OR (" + movedAway + " AND " + changed + "))"
		where = append(where, "(("+inScope+" AND (o.site_id = ANY("+added+") OR "+changed+")) OR "+removedExpr+")")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+observationColumns+`, o.txid::text, `+removedExpr+`
		FROM observations o WHERE `+strings.Join(where, " AND ")+`
		ORDER BY o.txid, o.observation_id LIMIT $5`, args...)
	if err != nil {
		return nil, false, classify(err)
	}
	defer rows.Close()
	var out []sync.ChangeRow
	total := 0
	for rows.Next() {
		var r sync.ChangeRow
		o, n, err := scanObservationSized(rows, &r.TxID, &r.Removed)
		if err != nil {
			return nil, false, classify(err)
		}
		r.Observation = o
		out = append(out, r)
		if total += n; q.MaxBytes > 0 && total >= q.MaxBytes {
			// Cut here: whether a row follows is all the caller needs (it is not decoded);
			// Close then discards the rest of the result on the wire.
			more := rows.Next()
			rows.Close()
			return out, more, classify(rows.Err())
		}
	}
	return out, false, classify(rows.Err())
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

// Hashes returns the content hashes of ids that exist in scope, deleted ones marked (a deleted
// record is in scope as it was when deleted). Purged deletions are no longer known.
func (s *Store) Hashes(ctx context.Context, sc sync.Scope, ids []string) (map[string]sync.HashState, error) {
	out := map[string]sync.HashState{}
	if len(ids) == 0 {
		return out, nil
	}
	sites := sc.Sites
	if sites == nil {
		sites = []string{}
	}
	rows, err := s.pool.Query(ctx, `
		SELECT observation_id::text, content_hash, deleted FROM observations o
		WHERE observation_id = ANY($6::uuid[]) AND ($1 OR district_id = $2)
		  AND (observer_id = $5 OR (status = 'submitted' AND ($1 OR $3 OR site_id = ANY($4))))`,
		sc.All, sc.DistrictID, sc.AllSites, sites, sc.UserID, ids)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var h sync.HashState
		if err := rows.Scan(&id, &h.ContentHash, &h.Deleted); err != nil {
			return nil, classify(err)
		}
		out[id] = h
	}
	return out, classify(rows.Err())
}

// snapshotXmin reads the xmin of a pg_snapshot's text form "xmin:xmax:xip,…".
func snapshotXmin(snap string) (uint64, bool) {
	head, _, ok := strings.Cut(snap, ":")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(head, 10, 64)
	return v, err == nil
}

// PurgeTombstones removes deleted observations whose deletion is older than before: pulls no
// longer deliver them, and cursors older than the retention are reset instead. Their history
// stays in observation_revisions.
func (s *Store) PurgeTombstones(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM observations WHERE deleted AND deleted_at < $1`, before)
	return tag.RowsAffected(), classify(err)
}

// CursorKeys returns the keys that sign pull cursors, newest first. Under one advisory lock (so
// server processes sharing the database agree), it creates the first key, adds a new one when
// the newest is older than rotate, and drops keys created more than rotate+keep ago: a key
// stops signing after rotate and still verifies for keep.
func (s *Store) CursorKeys(ctx context.Context, now time.Time, rotate, keep time.Duration) ([]sync.CursorKey, error) {
	var keys []sync.CursorKey
	read := func(ctx context.Context, q interface {
		Query(context.Context, string, ...any) (pgx.Rows, error)
	}) error {
		keys = keys[:0]
		rows, err := q.Query(ctx, `SELECT key_id, secret, created_at FROM cursor_keys WHERE created_at > $1 ORDER BY created_at DESC, key_id`,
			now.Add(-rotate-keep))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k sync.CursorKey
			if err := rows.Scan(&k.ID, &k.Secret, &k.Created); err != nil {
				return err
			}
			keys = append(keys, k)
		}
		return rows.Err()
	}
	if err := read(ctx, s.pool); err != nil {
		return nil, classify(err)
	}
	if len(keys) > 0 && now.Sub(keys[0].Created) < rotate {
		return keys, nil
	}
	err := s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('lookfor/cursor_keys', 0))`); err != nil {
			return err
		}
		if err := read(ctx, tx); err != nil {
			return err
		}
		if len(keys) > 0 && now.Sub(keys[0].Created) < rotate {
			return nil // another process rotated first
		}
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
		id := make([]byte, 6)
		if _, err := rand.Read(id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM cursor_keys WHERE created_at <= $1`, now.Add(-rotate-keep)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO cursor_keys (key_id, secret, created_at) VALUES ($1, $2, $3)`,
			hex.EncodeToString(id), secret, now); err != nil {
			return err
		}
		return read(ctx, tx)
	})
	if err != nil {
		return nil, classify(err)
	}
	return keys, nil
}
