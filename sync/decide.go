package sync

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lookfor-edu/lookfor/observation"
)

// mergeable are the record fields a draft edit may set; identity fields never change.
var mergeable = map[string]bool{
	"site_id": true, "classroom_id": true, "course": true, "grade": true, "section": true, "teacher_id": true,
	"kind": true, "co_observation": true, "rubric_id": true, "rubric_version": true, "language": true,
	"started_at": true, "duration_minutes": true, "discussion_minutes": true, "lesson_focus": true,
	"scores": true, "tallies": true, "participation": true, "enrolment": true, "next_steps": true,
	"status": true, "recorded_at": true,
}

// mergeDraft takes the listed fields of edit onto base (every mergeable field when fields is
// empty). Identity fields (id, district, observer) always come from base.
func mergeDraft(base, edit observation.Record, fields []string) (observation.Record, *Result) {
	if len(fields) == 0 {
		out := edit
		out.ID, out.DistrictID, out.ObserverID, out.ObserverRole = base.ID, base.DistrictID, base.ObserverID, base.ObserverRole
		return out, nil
	}
	for i, f := range fields {
		if !mergeable[f] {
			return base, reject(ReasonInvalid, fmt.Sprintf("fields[%d]", i), "%q is not a field a draft edit can set", f)
		}
	}
	var b, e map[string]json.RawMessage
	bb, _ := json.Marshal(base)
	eb, _ := json.Marshal(edit)
	_ = json.Unmarshal(bb, &b)
	_ = json.Unmarshal(eb, &e)
	for _, f := range fields {
		if v, ok := e[f]; ok {
			b[f] = v
		} else {
			delete(b, f) // the edit cleared it (omitted as empty)
		}
	}
	mb, _ := json.Marshal(b)
	var out observation.Record
	if err := json.Unmarshal(mb, &out); err != nil {
		return base, reject(ReasonInvalid, "fields", "the merged draft is not a valid record")
	}
	return out, nil
}

func reject(reason, field, format string, args ...any) *Result {
	return &Result{Status: StatusRejected, Reason: reason, Field: field, Message: fmt.Sprintf(format, args...)}
}

// batchState is what one push knows while deciding its changes in sequence order.
type batchState struct {
	p          observation.Principal
	device     Device
	now        time.Time
	current    map[string]*observation.StoredObservation // latest state per id, updated as changes apply
	existed    map[string]bool                           // ids stored before this push
	elsewhere  map[string]bool                           // ids that exist in another district
	dirty      map[string]bool                           // ids this push changed
	classrooms map[string]observation.Classroom
	rubrics    map[rubricRef]rubricLookup
	district   observation.District
	writes     Writes
}

type rubricRef struct {
	id      string
	version int
}

type rubricLookup struct {
	v   observation.RubricVersion
	err error
}

// decide applies one change to the batch state and returns its result.
func (b *batchState) decide(ch Change) Result {
	res := b.decideInner(ch)
	res.Seq = ch.Seq
	if res.ObservationID == "" {
		res.ObservationID = ch.ObservationID
	}
	// The result is kept for replay as jsonb, which cannot hold a NUL character.
	res.ObservationID = strings.ReplaceAll(res.ObservationID, "\x00", "\uFFFD")
	return res
}

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

func nulText(path string) *Result {
	return reject(ReasonInvalid, path, "the text contains a NUL character, which cannot be stored")
}

// storable rejects what record validation lets through but storage cannot keep: a NUL character
// in any text (PostgreSQL's jsonb refuses \u0000) or a time outside the years 0..9999 (not
// encodable as JSON, so the record cannot even be hashed). Left to the store, such an item would
// fail its whole batch on every retry, and the device could never push again.
func storable(r observation.Record) *Result {
	for _, f := range []struct {
		path string
		t    time.Time
	}{{"record.started_at", r.StartedAt}, {"record.recorded_at", r.RecordedAt}} {
		switch y := f.t.UTC().Year(); {
		case y > 9999:
			return reject(observation.RecordReasonFutureTimestamp, f.path, "time %s is in the future", f.t.UTC().Format(time.RFC3339))
		case y < 0:
			return reject(observation.RecordReasonBadTimestamp, f.path, "time %s is before %s", f.t.UTC().Format(time.RFC3339), observation.EarliestRecordTime.Format(time.RFC3339))
		}
	}
	texts := [...]struct{ path, s string }{
		{"record.id", r.ID}, {"record.district_id", r.DistrictID}, {"record.site_id", r.SiteID}, {"record.classroom_id", r.ClassroomID},
		{"record.course", r.Course}, {"record.grade", r.Grade}, {"record.section", r.Section}, {"record.teacher_id", r.TeacherID},
		{"record.observer_id", r.ObserverID}, {"record.observer_role", string(r.ObserverRole)}, {"record.kind", string(r.Kind)},
		{"record.co_observation", r.CoObservation}, {"record.rubric_id", r.RubricID}, {"record.language", r.Language},
		{"record.lesson_focus", r.LessonFocus}, {"record.next_steps", r.NextSteps}, {"record.status", string(r.Status)},
	}
	for _, x := range texts {
		if hasNUL(x.s) {
			return nulText(x.path)
		}
	}
	// The lists' paths are only formatted for the item that has a NUL.
	for i, s := range r.Scores {
		if hasNUL(s.Dimension) {
			return nulText(fmt.Sprintf("record.scores[%d].dimension", i))
		}
		if hasNUL(s.Evidence) {
			return nulText(fmt.Sprintf("record.scores[%d].evidence", i))
		}
	}
	for i, c := range r.Tallies {
		if hasNUL(c.Category) {
			return nulText(fmt.Sprintf("record.tallies[%d].category", i))
		}
	}
	for i, c := range r.Participation {
		if hasNUL(c.Field) {
			return nulText(fmt.Sprintf("record.participation[%d].field", i))
		}
		if hasNUL(c.Option) {
			return nulText(fmt.Sprintf("record.participation[%d].option", i))
		}
	}
	for i, g := range r.Enrolment {
		if hasNUL(g.Group) {
			return nulText(fmt.Sprintf("record.enrolment[%d].group", i))
		}
	}
	return nil
}

func (b *batchState) decideInner(ch Change) Result {
	if ch.ObservationID == "" && ch.Op == OpUpsert {
		ch.ObservationID = ch.Record.ID
	}
	if !observation.IsUUID(ch.ObservationID) {
		return *reject(observation.ReasonBadID, "observation_id", "must be the record's UUID, got %q", clip(ch.ObservationID))
	}
	if ch.Op == OpUpsert && ch.Record.ID != ch.ObservationID {
		return *reject(ReasonInvalid, "record.id", "record id %q differs from observation_id %q", clip(ch.Record.ID), ch.ObservationID)
	}
	if ch.Op == OpUpsert {
		if bad := storable(ch.Record); bad != nil {
			return *bad
		}
	}
	if ch.BaseRevision < 0 {
		return *reject(ReasonInvalid, "base_revision", "must not be negative")
	}
	cur := b.current[ch.ObservationID]
	if b.elsewhere[ch.ObservationID] {
		// Taken in another district: answered like any other unusable id, revealing nothing.
		if ch.Op == OpUpsert && ch.BaseRevision == 0 {
			return *unusableID()
		}
		return *notFound(ch)
	}
	if cur != nil && !b.sees(cur) {
		// Another observer's draft, or a record outside the caller's scope: it answers exactly
		// like an id the server has never seen (a create with it like an unusable id).
		if ch.Op == OpUpsert && ch.BaseRevision == 0 {
			return *unusableID()
		}
		return *notFound(ch)
	}
	switch ch.Op {
	case OpUpsert:
		return b.upsert(ch, cur)
	case OpDelete:
		return b.delete(ch, cur)
	}
	return *reject(ReasonInvalid, "op", "must be upsert or delete, got %q", ch.Op)
}

// unusableID is the one answer for a new record whose id cannot be used: not a UUIDv7, or
// already taken somewhere the caller cannot see. The same words for every case reveal nothing.
func unusableID() *Result {
	return reject(ReasonBadID, "observation_id", "this id cannot be used for a new observation; generate a new UUIDv7 on the tablet")
}

// notFound is the one answer for changing or deleting a record the caller cannot see.
func notFound(ch Change) *Result {
	if ch.Op == OpDelete {
		return reject(ReasonNotFound, "observation_id", "the server has no observation %s", ch.ObservationID)
	}
	return reject(ReasonNotFound, "base_revision", "the server has no observation %s to change (base revision %d)", ch.ObservationID, ch.BaseRevision)
}

// sees reports whether the caller may know the record exists: their own records, and submitted
// records at sites in their scope (for a deleted record, as it was when deleted).
func (b *batchState) sees(o *observation.StoredObservation) bool {
	if !b.p.InDistrict(o.DistrictID) {
		return false
	}
	return b.owns(o) || (o.Status == observation.RecordSubmitted && b.p.CanSeeSite(o.DistrictID, o.SiteID))
}

// owns reports whether the caller recorded this observation.
func (b *batchState) owns(o *observation.StoredObservation) bool { return o.ObserverID == b.p.UserID }

// mayAmend: the observer, or an admin of the record's district.
func (b *batchState) mayAmend(o *observation.StoredObservation) bool {
	return b.owns(o) || (b.p.Role == observation.RoleDistrictAdmin && b.p.DistrictID == o.DistrictID) || b.p.Role == observation.RoleAdmin
}

// validate checks a record against its rubric version and the roster, and that the classroom is
// in the caller's scope.
func (b *batchState) validate(r observation.Record) *Result {
	if r.DistrictID != b.district.ID {
		return reject(ReasonOutOfScope, "record.district_id", "district %q is not the district of this device (%q)", clip(r.DistrictID), b.district.ID)
	}
	// A classroom at a site outside the caller's scope is answered as if it did not exist
	// (UNKNOWN_CLASSROOM), so a push cannot probe the roster.
	var cls *observation.Classroom
	if c, ok := b.classrooms[r.ClassroomID]; ok && b.p.CanSeeSite(r.DistrictID, c.SiteID) {
		cls = &c
	}
	lk, ok := b.rubrics[rubricRef{r.RubricID, r.RubricVersion}]
	if !ok || lk.err != nil || lk.v.RubricID == "" {
		return reject(ReasonUnknownRubric, "record.rubric_version", "rubric %q version %d does not exist", clip(r.RubricID), r.RubricVersion)
	}
	if !b.p.CanSeeRubric(lk.v.OwnerID) {
		return reject(ReasonUnknownRubric, "record.rubric_version", "rubric %q version %d does not exist", clip(r.RubricID), r.RubricVersion)
	}
	err := observation.ValidateRecord(r, lk.v, observation.RecordContext{
		Classroom: cls, StudentGroups: b.district.Settings.StudentGroups, Now: b.now,
	})
	if err != nil {
		e, ok := err.(*observation.Error)
		if !ok {
			return reject(ReasonInvalid, "record", "the record is not valid")
		}
		return &Result{Status: StatusRejected, Reason: e.Reason, Field: e.Field, Message: e.Message}
	}
	return nil
}

func (b *batchState) apply(prev *observation.StoredObservation, r observation.Record, deleted bool) Result {
	content, hash := r.Canonical()
	next := observation.StoredObservation{
		Record: r, Revision: 1, ContentHash: hash, Deleted: deleted,
		UpdatedBy: b.p.UserID, DeviceID: b.device.ID, CommittedAt: b.now, Content: content,
	}
	next.StampSubmitted(prev, b.now)
	if prev != nil {
		next.Revision = prev.Revision + 1
		b.writes.History = append(b.writes.History, *prev) // superseded: kept in the history
	}
	b.current[r.ID] = &next
	b.dirty[r.ID] = true
	return Result{Status: StatusApplied, ObservationID: r.ID, Revision: next.Revision, ContentHash: next.ContentHash}
}

func (b *batchState) upsert(ch Change, cur *observation.StoredObservation) Result {
	r := ch.Record
	if cur == nil {
		if ch.BaseRevision != 0 {
			return *notFound(ch)
		}
		if !observation.IsUUIDv7(ch.ObservationID) {
			return *unusableID()
		}
		if r.ObserverID != b.p.UserID {
			return *reject(reasonNotOwner, "record.observer_id", "observer %q is not the signed-in user %q", clip(r.ObserverID), b.p.UserID)
		}
		if len(ch.Fields) > 0 && r.Status == observation.RecordSubmitted {
			return *reject(ReasonInvalid, "fields", "a new submitted record must be sent whole")
		}
		if bad := b.validate(r); bad != nil {
			return *bad
		}
		return b.apply(nil, r, false)
	}
	if cur.Deleted {
		return *reject(ReasonDeleted, "observation_id", "observation %s was deleted at revision %d", cur.ID, cur.Revision)
	}
	if ch.BaseRevision == 0 && b.existed[cur.ID] && !b.dirty[cur.ID] {
		// A create (base revision 0) of an id the server already held before this push: the
		// same content is a duplicate; other content (another device created it too, or a
		// retried create changed) is kept as a conflict for a person, never dropped.
		return b.createConflict(ch, cur)
	}
	if cur.Status == observation.RecordDraft {
		merged, bad := mergeDraft(cur.Record, r, ch.Fields)
		if bad != nil {
			return *bad
		}
		if merged.Hash() == cur.ContentHash {
			return Result{Status: StatusDuplicate, Revision: cur.Revision, ContentHash: cur.ContentHash}
		}
		if bad := b.validate(merged); bad != nil {
			return *bad
		}
		return b.apply(cur, merged, false)
	}
	// Submitted: immutable, changed only by an amendment on the current revision.
	if r.Hash() == cur.ContentHash {
		return Result{Status: StatusDuplicate, Revision: cur.Revision, ContentHash: cur.ContentHash}
	}
	if ch.BaseRevision == 0 {
		return *reject(ReasonImmutable, "base_revision", "observation %s is submitted and immutable; an amendment must name the revision it replaces (now %d)", cur.ID, cur.Revision)
	}
	if !b.mayAmend(cur) {
		return *reject(reasonNotOwner, "observation_id", "only the observer or a district admin can amend this observation")
	}
	if ch.BaseRevision > cur.Revision {
		return *reject(ReasonInvalid, "base_revision", "the server is at revision %d; base revision %d does not exist", cur.Revision, ch.BaseRevision)
	}
	merged, bad := mergeDraft(cur.Record, r, ch.Fields)
	if bad != nil {
		return *bad
	}
	if merged.Status != observation.RecordSubmitted {
		return *reject(ReasonInvalid, "record.status", "a submitted observation cannot return to draft")
	}
	if bad := b.validate(merged); bad != nil {
		return *bad
	}
	if ch.BaseRevision < cur.Revision {
		return b.conflict(ch, cur, merged, false)
	}
	return b.apply(cur, merged, false)
}

func (b *batchState) delete(ch Change, cur *observation.StoredObservation) Result {
	if cur == nil {
		return *reject(ReasonNotFound, "observation_id", "the server has no observation %s", ch.ObservationID)
	}
	if cur.Deleted {
		return Result{Status: StatusDuplicate, Revision: cur.Revision, ContentHash: cur.ContentHash}
	}
	if cur.Status == observation.RecordDraft {
		return b.apply(cur, cur.Record, true) // a visible draft is the caller's own
	}
	if !b.mayAmend(cur) {
		return *reject(reasonNotOwner, "observation_id", "only the observer or a district admin can delete this observation")
	}
	switch {
	case ch.BaseRevision == 0:
		return *reject(ReasonImmutable, "base_revision", "deleting submitted observation %s must name the revision it removes (now %d)", cur.ID, cur.Revision)
	case ch.BaseRevision > cur.Revision:
		return *reject(ReasonInvalid, "base_revision", "the server is at revision %d; base revision %d does not exist", cur.Revision, ch.BaseRevision)
	case ch.BaseRevision < cur.Revision:
		return b.conflict(ch, cur, cur.Record, true)
	}
	return b.apply(cur, cur.Record, true)
}

// conflict keeps the proposed version beside the server's for a person to resolve.
func (b *batchState) conflict(ch Change, cur *observation.StoredObservation, proposed observation.Record, del bool) Result {
	id, err := uuid.NewV7()
	if err != nil {
		return *reject(reasonInternal, "", "could not create a conflict id: %v", err)
	}
	c := Conflict{
		ID: id.String(), DistrictID: cur.DistrictID, ObservationID: cur.ID, BaseRevision: ch.BaseRevision,
		ServerRevision: cur.Revision, Proposed: proposed, ProposedHash: proposed.Hash(), ProposedDelete: del,
		ProposedBy: b.p.UserID, DeviceID: b.device.ID, CreatedAt: b.now,
	}
	b.writes.Conflicts = append(b.writes.Conflicts, c)
	server := *cur
	return Result{Status: StatusConflict, Reason: ConflictStaleBase, ConflictID: c.ID, Server: &server, Revision: cur.Revision,
		ContentHash: cur.ContentHash,
		Message:     fmt.Sprintf("made on revision %d but the server is at %d; both versions are kept for review", ch.BaseRevision, cur.Revision)}
}

// createConflict keeps a second, different create of an existing id as a conflict. The proposal
// is the record as sent, with the stored record's identity (district, observer): resolving it
// with take_proposed makes it the next revision after re-validation.
func (b *batchState) createConflict(ch Change, cur *observation.StoredObservation) Result {
	proposed := ch.Record
	if len(ch.Fields) > 0 {
		merged, bad := mergeDraft(cur.Record, ch.Record, ch.Fields)
		if bad != nil {
			return *bad
		}
		proposed = merged
	}
	proposed.ID, proposed.DistrictID, proposed.ObserverID, proposed.ObserverRole = cur.ID, cur.DistrictID, cur.ObserverID, cur.ObserverRole
	if proposed.Hash() == cur.ContentHash {
		return Result{Status: StatusDuplicate, Revision: cur.Revision, ContentHash: cur.ContentHash}
	}
	if bad := b.validate(proposed); bad != nil {
		return *bad
	}
	r := b.conflict(ch, cur, proposed, false)
	if r.Status == StatusConflict {
		r.Reason = ConflictConcurrentCreate
		r.Message = fmt.Sprintf("observation %s already exists on the server (revision %d) with other content; both versions are kept for review", cur.ID, cur.Revision)
	}
	return r
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
