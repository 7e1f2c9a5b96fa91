package sync

import (
	"context"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// RecordStore is the read side of observations and the conflict queue.
type RecordStore interface {
	// Observation returns the current revision of an observation in any district.
	Observation(ctx context.Context, id string) (observation.StoredObservation, error)
	// ListObservations returns one page of observations in scope, newest commit first.
	ListObservations(ctx context.Context, q ListQuery) ([]observation.StoredObservation, error)
	// Conflicts returns one page of conflicts in scope, oldest first.
	Conflicts(ctx context.Context, q ConflictQuery) ([]ConflictView, error)
	// ResolveConflict runs fn in one transaction holding the conflict and its observation locked.
	ResolveConflict(ctx context.Context, conflictID string, fn func(ResolveTx) error) error
	// Audit records who read or changed what.
	Audit(ctx context.Context, e AuditEntry) error
}

// ListQuery selects observations.
type ListQuery struct {
	Scope       Scope
	SiteID      string
	ClassroomID string
	Status      observation.RecordStatus
	Limit       int
	After       *PageMark // continue after this row
}

// PageMark is the position of a row in commit order.
type PageMark struct {
	CommittedAt time.Time
	ID          string
}

// ConflictQuery selects conflicts.
type ConflictQuery struct {
	Scope  Scope
	Status string // "open" or "resolved"
	Limit  int
	After  *PageMark
}

// ConflictView is a conflict with what a person needs to resolve it.
type ConflictView struct {
	Conflict
	Status           string // open, resolved
	Server           observation.StoredObservation
	Resolution       string
	ResolvedBy       string
	ResolvedAt       *time.Time
	ResolvedRevision int
}

// Resolution choices.
const (
	ChoiceKeepServer   = "keep_server"
	ChoiceTakeProposed = "take_proposed"
	ChoiceMerge        = "merge"
)

// ResolveTx is a conflict resolution's transaction.
type ResolveTx interface {
	Conflict() ConflictView
	Current() observation.StoredObservation
	Classrooms(ctx context.Context, district string, ids []string) (map[string]observation.Classroom, error)
	RubricVersion(ctx context.Context, rubricID string, version int) (observation.RubricVersion, error)
	District(ctx context.Context, id string) (observation.District, error)
	// Commit marks the conflict resolved, stores next (when not nil) as the observation's new
	// revision, and writes the audit entry.
	Commit(ctx context.Context, choice, by string, at time.Time, next *observation.StoredObservation, audit AuditEntry) error
}

// AuditEntry is the domain's audit entry.
type AuditEntry = observation.AuditEntry

// Records serves observation reads and conflict resolution.
type Records struct {
	Store RecordStore
	Now   func() time.Time
}

func (r *Records) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// visible reports whether p may read o: their own records, or submitted records at a site in
// their scope.
func visible(p observation.Principal, o observation.StoredObservation) bool {
	if p.Role == observation.RoleNetworkAnalyst || !p.InDistrict(o.DistrictID) {
		return false
	}
	return o.ObserverID == p.UserID || (o.Status == observation.RecordSubmitted && p.CanSeeSite(o.DistrictID, o.SiteID))
}

func readScope(p observation.Principal) (Scope, error) {
	if p.Role == observation.RoleNetworkAnalyst {
		return Scope{}, observation.Denied("network analysts see aggregated measures only, never observation records")
	}
	return scope(p), nil
}

// Get returns one observation in p's scope and audits the read (a classroom-level read).
func (r *Records) Get(ctx context.Context, p observation.Principal, id string) (observation.StoredObservation, error) {
	if _, err := readScope(p); err != nil {
		return observation.StoredObservation{}, err
	}
	o, err := r.Store.Observation(ctx, id)
	if err != nil || !visible(p, o) {
		if err == nil {
			return observation.StoredObservation{}, observation.NotFound("observation", id).In(o.DistrictID)
		}
		if observation.KindOf(err) == observation.KindNotFound {
			return observation.StoredObservation{}, observation.NotFound("observation", id)
		}
		return observation.StoredObservation{}, err
	}
	err = r.Store.Audit(ctx, AuditEntry{DistrictID: o.DistrictID, At: r.now(), Actor: p.UserID, Role: p.Role, DeviceID: p.DeviceID,
		Action: "observation.read", ResourceType: "observation", ResourceID: o.ID,
		Details: map[string]any{"classroom_id": o.ClassroomID, "teacher_id": o.TeacherID, "revision": o.Revision}})
	return o, err
}

// List returns observations in p's scope, filtered.
func (r *Records) List(ctx context.Context, p observation.Principal, q ListQuery) ([]observation.StoredObservation, error) {
	sc, err := readScope(p)
	if err != nil {
		return nil, err
	}
	if q.SiteID != "" && !sc.All && !sc.AllSites && !containsStr(sc.Sites, q.SiteID) {
		return nil, observation.NotFound("site", q.SiteID)
	}
	q.Scope = sc
	out, err := r.Store.ListObservations(ctx, q)
	if err != nil {
		return nil, err
	}
	e := observation.Audit(p, p.DistrictID, "observation.list", "observation", q.ClassroomID, r.now())
	e.Details["site_id"], e.Details["classroom_id"] = q.SiteID, q.ClassroomID
	ids := make([]auditedRead, len(out))
	for i, o := range out {
		ids[i] = auditedRead{o.DistrictID, o.ID}
	}
	return out, auditReads(ctx, r.Store, e, ids, true)
}

// auditedRead is one record a read returned: its district and an id to list in the entry.
type auditedRead struct{ district, id string }

// auditReads records a read in the log of every district whose records it returned — one entry
// per district, holding that district's count and ids — so an admin's read across districts
// lands in each district's own log, never in the network log. A read that returned nothing is
// recorded only when always is set: in the caller's district's log (the network log for callers
// without a district).
func auditReads(ctx context.Context, st interface {
	Audit(context.Context, AuditEntry) error
}, e AuditEntry, reads []auditedRead, always bool) error {
	var districts []string
	ids := map[string][]string{}
	for _, rd := range reads {
		if _, ok := ids[rd.district]; !ok {
			districts = append(districts, rd.district)
		}
		ids[rd.district] = append(ids[rd.district], rd.id)
	}
	if len(districts) == 0 {
		if !always {
			return nil
		}
		e.Details["count"] = 0
		return st.Audit(ctx, e)
	}
	for _, d := range districts {
		de := e
		de.DistrictID = d
		de.Details = make(map[string]any, len(e.Details)+2)
		for k, v := range e.Details {
			de.Details[k] = v
		}
		de.Details["count"], de.Details["ids"] = len(ids[d]), ids[d]
		if err := st.Audit(ctx, de); err != nil {
			return err
		}
	}
	return nil
}

func containsStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// Conflicts lists conflicts on observations p may see.
func (r *Records) Conflicts(ctx context.Context, p observation.Principal, q ConflictQuery) ([]ConflictView, error) {
	sc, err := readScope(p)
	if err != nil {
		return nil, err
	}
	q.Scope = sc
	if q.Status == "" {
		q.Status = "open"
	}
	out, err := r.Store.Conflicts(ctx, q)
	if err != nil {
		return nil, err
	}
	// Conflicts carry whole records (the server's and the proposed one): a classroom-level read.
	e := observation.Audit(p, p.DistrictID, "conflict.list", "conflict", "", r.now())
	e.Details["status"] = q.Status
	reads := make([]auditedRead, len(out))
	for i, c := range out {
		reads[i] = auditedRead{c.Server.DistrictID, c.ID}
	}
	return out, auditReads(ctx, r.Store, e, reads, false)
}

// Resolve settles a conflict: keep the server's version, take the proposed one, or store a
// merge; the outcome becomes a new revision (except keep_server) and is audited.
func (r *Records) Resolve(ctx context.Context, p observation.Principal, conflictID, choice string, merged *observation.Record) (ConflictView, observation.StoredObservation, error) {
	if _, err := readScope(p); err != nil {
		return ConflictView{}, observation.StoredObservation{}, err
	}
	var view ConflictView
	var final observation.StoredObservation
	err := r.Store.ResolveConflict(ctx, conflictID, func(tx ResolveTx) error {
		c, cur := tx.Conflict(), tx.Current()
		if !visible(p, cur) {
			return observation.NotFound("conflict", conflictID).In(cur.DistrictID)
		}
		if !(p.UserID == cur.ObserverID || p.UserID == c.ProposedBy || p.Role == observation.RoleAdmin ||
			(p.Role == observation.RoleDistrictAdmin && p.DistrictID == cur.DistrictID)) {
			return observation.Denied("only the observer, the author of the amendment or a district admin can resolve this conflict")
		}
		if c.Status != "open" {
			return observation.Precondition("CONFLICT_RESOLVED", "conflict %s was already resolved (%s by %s)", conflictID, c.Resolution, c.ResolvedBy)
		}
		now := r.now()
		var next *observation.StoredObservation
		switch choice {
		case ChoiceKeepServer:
		case ChoiceTakeProposed, ChoiceMerge:
			rec, del := c.Proposed, c.ProposedDelete
			if choice == ChoiceMerge {
				if merged == nil {
					return observation.Invalid("merged", "REQUIRED", "a merge resolution needs the merged record")
				}
				rec, del = *merged, false
				rec.ID, rec.DistrictID, rec.ObserverID, rec.ObserverRole = cur.ID, cur.DistrictID, cur.ObserverID, cur.ObserverRole
			}
			if !del {
				if err := validateWith(ctx, tx, p, rec, now); err != nil {
					return err
				}
			}
			n := observation.StoredObservation{Record: rec, Revision: cur.Revision + 1, ContentHash: rec.Hash(), Deleted: del,
				UpdatedBy: p.UserID, DeviceID: p.DeviceID, CommittedAt: now}
			n.StampSubmitted(&cur, now)
			next = &n
		default:
			return observation.Invalid("choice", "BAD_CHOICE", "must be keep_server, take_proposed or merge")
		}
		audit := AuditEntry{DistrictID: cur.DistrictID, At: now, Actor: p.UserID, Role: p.Role, DeviceID: p.DeviceID,
			Action: "conflict.resolve", ResourceType: "conflict", ResourceID: conflictID,
			Details: map[string]any{"choice": choice, "observation_id": cur.ID, "base_revision": c.BaseRevision,
				"server_revision": c.ServerRevision, "proposed_hash": c.ProposedHash}}
		if next != nil {
			audit.Details["new_revision"] = next.Revision
		}
		if err := tx.Commit(ctx, choice, p.UserID, now, next, audit); err != nil {
			return err
		}
		view, final = c, cur
		view.Status, view.Resolution, view.ResolvedBy, view.ResolvedAt = "resolved", choice, p.UserID, &now
		if next != nil {
			final, view.ResolvedRevision = *next, next.Revision
		}
		return nil
	})
	return view, final, err
}

// validateWith checks a record as a push would, inside a resolution's transaction.
func validateWith(ctx context.Context, tx ResolveTx, p observation.Principal, rec observation.Record, now time.Time) error {
	if bad := storable(rec); bad != nil { // before any lookup: a NUL byte would fail the query
		return &observation.Error{Kind: observation.KindInvalid, Reason: bad.Reason, Field: "merged." + trimRecordPrefix(bad.Field), Message: bad.Message}
	}
	d, err := tx.District(ctx, rec.DistrictID)
	if err != nil {
		return err
	}
	cls, err := tx.Classrooms(ctx, rec.DistrictID, []string{rec.ClassroomID})
	if err != nil {
		return err
	}
	v, err := tx.RubricVersion(ctx, rec.RubricID, rec.RubricVersion)
	b := &batchState{p: p, now: now, district: d, classrooms: cls,
		rubrics: map[rubricRef]rubricLookup{{rec.RubricID, rec.RubricVersion}: {v: v, err: err}}}
	if err != nil && observation.KindOf(err) != observation.KindNotFound {
		return err
	}
	if bad := b.validate(rec); bad != nil {
		return &observation.Error{Kind: observation.KindInvalid, Reason: bad.Reason, Field: "merged." + trimRecordPrefix(bad.Field), Message: bad.Message}
	}
	return nil
}

func trimRecordPrefix(f string) string {
	if len(f) > 7 && f[:7] == "record." {
		return f[7:]
	}
	return f
}
