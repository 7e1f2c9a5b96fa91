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

var _ sync.RecordStore = (*Store)(nil)

// Observation returns the current revision of an observation.
func (s *Store) Observation(ctx context.Context, id string) (observation.StoredObservation, error) {
	if !observation.IsUUID(id) {
		return observation.StoredObservation{}, observation.NotFound("observation", id)
	}
	o, err := scanObservation(s.pool.QueryRow(ctx, `SELECT `+observationColumns+` FROM observations WHERE observation_id = $1`, id))
	if err == pgx.ErrNoRows {
		return o, observation.NotFound("observation", id)
	}
	return o, classify(err)
}

// scopeSQL is the scope predicate shared by reads; $1 all, $2 district, $3 all sites, $4 sites, $5 user.
const scopeSQL = `($1 OR o.district_id = $2) AND (o.observer_id = $5 OR (o.status = 'submitted' AND ($1 OR $3 OR o.site_id = ANY($4))))`

func scopeArgs(sc sync.Scope) []any {
	sites := sc.Sites
	if sites == nil {
		sites = []string{}
	}
	return []any{sc.All, sc.DistrictID, sc.AllSites, sites, sc.UserID}
}

// ListObservations returns one page of observations in scope, newest commit first.
func (s *Store) ListObservations(ctx context.Context, q sync.ListQuery) ([]observation.StoredObservation, error) {
	args := append(scopeArgs(q.Scope), q.SiteID, q.ClassroomID, string(q.Status), q.Limit)
	afterSQL := ""
	if q.After != nil {
		args = append(args, q.After.CommittedAt, q.After.ID)
		afterSQL = ` AND (o.committed_at, o.observation_id) < ($10, $11::uuid)`
	}
	rows, err := s.pool.Query(ctx, `SELECT `+observationColumns+` FROM observations o
		WHERE NOT o.deleted AND `+scopeSQL+`
		  AND ($6 = '' OR o.site_id = $6) AND ($7 = '' OR o.classroom_id = $7) AND ($8 = '' OR o.status = $8)`+afterSQL+`
		ORDER BY o.committed_at DESC, o.observation_id DESC LIMIT $9`, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []observation.StoredObservation
	for rows.Next() {
		o, err := scanObservation(rows)
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, o)
	}
	return out, classify(rows.Err())
}

const conflictColumns = `c.district_id, c.conflict_id::text, c.observation_id::text, c.base_revision, c.server_revision, c.proposed,
	c.proposed_hash, c.proposed_delete, c.proposed_by, coalesce(c.device_id::text, ''), c.created_at, c.status,
	coalesce(c.resolution, ''), coalesce(c.resolved_by, ''), c.resolved_at, coalesce(c.resolved_revision, 0),
	coalesce(r.content::json, o.content), coalesce(r.revision, o.revision), coalesce(r.content_hash, o.content_hash),
	coalesce(r.deleted, o.deleted), coalesce(r.updated_by, o.updated_by), coalesce(r.device_id::text, o.device_id::text, ''),
	coalesce(r.committed_at, o.committed_at),
	CASE WHEN o.submitted_at <= coalesce(r.committed_at, o.committed_at) THEN o.submitted_at END`

const conflictFrom = ` FROM conflicts c
	JOIN observations o ON o.district_id = c.district_id AND o.observation_id = c.observation_id
	LEFT JOIN observation_revisions r ON r.district_id = c.district_id AND r.observation_id = c.observation_id AND r.revision = c.server_revision`

func scanConflict(row pgx.Row) (sync.ConflictView, error) {
	var v sync.ConflictView
	var proposed, server []byte
	var submitted *time.Time
	err := row.Scan(&v.DistrictID, &v.ID, &v.ObservationID, &v.BaseRevision, &v.ServerRevision, &proposed, &v.ProposedHash,
		&v.ProposedDelete, &v.ProposedBy, &v.DeviceID, &v.CreatedAt, &v.Status, &v.Resolution, &v.ResolvedBy, &v.ResolvedAt,
		&v.ResolvedRevision, &server, &v.Server.Revision, &v.Server.ContentHash, &v.Server.Deleted, &v.Server.UpdatedBy,
		&v.Server.DeviceID, &v.Server.CommittedAt, &submitted)
	if err != nil {
		return v, err
	}
	if submitted != nil { // the first submission, when the server's revision came after it
		v.Server.SubmittedAt = submitted.UTC()
	}
	if err := json.Unmarshal(proposed, &v.Proposed); err != nil {
		return v, err
	}
	return v, json.Unmarshal(server, &v.Server.Record)
}

// Conflicts returns one page of conflicts on observations in scope, oldest first.
func (s *Store) Conflicts(ctx context.Context, q sync.ConflictQuery) ([]sync.ConflictView, error) {
	args := append(scopeArgs(q.Scope), q.Status, q.Limit)
	afterSQL := ""
	if q.After != nil {
		args = append(args, q.After.CommittedAt, q.After.ID)
		afterSQL = ` AND (c.created_at, c.conflict_id) > ($8, $9::uuid)`
	}
	rows, err := s.pool.Query(ctx, `SELECT `+conflictColumns+conflictFrom+`
		WHERE `+scopeSQL+` AND c.status = $6`+afterSQL+` ORDER BY c.created_at, c.conflict_id LIMIT $7`, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []sync.ConflictView
	for rows.Next() {
		v, err := scanConflict(rows)
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, v)
	}
	return out, classify(rows.Err())
}

// ResolveConflict locks the conflict and its observation and runs fn. Like a push, it first
// takes the shared progress lock of the conflict's district (see progress.go).
func (s *Store) ResolveConflict(ctx context.Context, conflictID string, fn func(sync.ResolveTx) error) error {
	if !observation.IsUUID(conflictID) {
		return observation.NotFound("conflict", conflictID)
	}
	return s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared(hashtextextended('progress/' || district_id, 0))
			FROM conflicts WHERE conflict_id = $1`, conflictID); err != nil {
			return err
		}
		v, err := scanConflict(tx.QueryRow(ctx, `SELECT `+conflictColumns+conflictFrom+` WHERE c.conflict_id = $1 FOR UPDATE OF c, o`, conflictID))
		if err == pgx.ErrNoRows {
			return observation.NotFound("conflict", conflictID)
		}
		if err != nil {
			return err
		}
		cur, err := scanObservation(tx.QueryRow(ctx, `SELECT `+observationColumns+` FROM observations
			WHERE district_id = $1 AND observation_id = $2`, v.DistrictID, v.ObservationID))
		if err != nil {
			return err
		}
		return fn(&resolveTx{pushTx: pushTx{s: s, tx: tx}, conflict: v, current: cur})
	})
}

type resolveTx struct {
	pushTx
	conflict sync.ConflictView
	current  observation.StoredObservation
}

func (r *resolveTx) Conflict() sync.ConflictView            { return r.conflict }
func (r *resolveTx) Current() observation.StoredObservation { return r.current }

func (r *resolveTx) Commit(ctx context.Context, choice, by string, at time.Time, next *observation.StoredObservation, audit sync.AuditEntry) error {
	rev := 0
	if next != nil {
		cur := r.current
		delta, err := changeDelta(ctx, r.tx, r.s, []progress.RecordChange{{Before: &cur, After: next}}, newProgressInputs())
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		if err := queueWrites(b, sync.Writes{Observations: []observation.StoredObservation{*next},
			History: []observation.StoredObservation{r.current}}); err != nil {
			return err
		}
		if err := queueLoggedDelta(b, delta); err != nil {
			return err
		}
		if err := r.tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		rev = next.Revision
	}
	if _, err := r.tx.Exec(ctx, `UPDATE conflicts SET status = 'resolved', resolution = $3, resolved_by = $4, resolved_at = $5,
		resolved_revision = nullif($6, 0) WHERE district_id = $1 AND conflict_id = $2`,
		r.conflict.DistrictID, r.conflict.ID, choice, by, at, rev); err != nil {
		return err
	}
	return insertAudit(ctx, r.tx, audit)
}

func insertAudit(ctx context.Context, tx pgx.Tx, e observation.AuditEntry) error {
	details, err := json.Marshal(e.Details)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, auditInsertSQL, e.DistrictID, e.At, e.Actor, string(e.Role), e.DeviceID, e.Action, e.ResourceType, e.ResourceID, details)
	return err
}

const auditInsertSQL = `INSERT INTO audit_log (district_id, at, actor, role, device_id, action, resource_type, resource_id, details)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

// ListAudit returns one page of a district's audit log, newest first.
func (s *Store) ListAudit(ctx context.Context, q observation.AuditQuery) ([]observation.AuditEntry, error) {
	var since, until, before any
	if !q.Since.IsZero() {
		since = q.Since
	}
	if !q.Until.IsZero() {
		until = q.Until
	}
	if q.BeforeID > 0 {
		before = q.BeforeID
	}
	rows, err := s.pool.Query(ctx, `SELECT audit_id, district_id, at, actor, role, device_id, action, resource_type, resource_id, details
		FROM audit_log
		WHERE district_id = $1 AND ($2 = '' OR actor = $2) AND ($3 = '' OR action = $3) AND ($4 = '' OR resource_type = $4)
		  AND ($5 = '' OR resource_id = $5) AND ($6::timestamptz IS NULL OR at >= $6) AND ($7::timestamptz IS NULL OR at < $7)
		  AND ($8::bigint IS NULL OR audit_id < $8)
		ORDER BY audit_id DESC LIMIT $9`,
		q.DistrictID, q.Actor, q.Action, q.ResourceType, q.ResourceID, since, until, before, q.Limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []observation.AuditEntry
	for rows.Next() {
		var e observation.AuditEntry
		var role string
		var details []byte
		if err := rows.Scan(&e.ID, &e.DistrictID, &e.At, &e.Actor, &role, &e.DeviceID, &e.Action, &e.ResourceType, &e.ResourceID, &details); err != nil {
			return nil, classify(err)
		}
		e.Role = observation.Role(role)
		if err := json.Unmarshal(details, &e.Details); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, classify(rows.Err())
}

// Audit records one entry outside any other transaction.
func (s *Store) Audit(ctx context.Context, e observation.AuditEntry) error {
	return s.ReadWriteTx(ctx, func(tx pgx.Tx) error { return insertAudit(ctx, tx, e) })
}

// AuditRefusal records a refused request in the audit log of e.DistrictID if that district
// exists (or is the network's own log), and does nothing otherwise; either way the statement is the same, so whoever made the
// request learns nothing from how long it takes.
func (s *Store) AuditRefusal(ctx context.Context, e observation.AuditEntry) error {
	details, err := json.Marshal(e.Details)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO audit_log (district_id, at, actor, role, device_id, action, resource_type, resource_id, details)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE $1 = 'network' OR EXISTS (SELECT 1 FROM districts WHERE district_id = $1)`,
		e.DistrictID, e.At, e.Actor, string(e.Role), e.DeviceID, e.Action, e.ResourceType, e.ResourceID, details)
	return classify(err)
}
