package store_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/lookfor-edu/lookfor/internal/progressref"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/store"
	"github.com/lookfor-edu/lookfor/sync"
)

// The progress aggregates must always equal a recomputation of the contract over every stored
// observation (docs/statistics.md "What counts"; progressref.Aggregates): these tests write through each path that changes
// observations and compare the three aggregate tables with a recomputation after each step.

// progressEnv is the demo network with the default rubric, the sync service over the store,
// and one registered device per observer.
type progressEnv struct {
	seedFixture
	svc     *sync.Service
	records *sync.Records
	devices map[string]string // user id → device id
	seqs    map[string]int64  // user id → next seq
	mu      gosync.Mutex
	gen     *synth.Generator
	start   time.Time
}

func newProgressEnv(t *testing.T) *progressEnv {
	t.Helper()
	return &progressEnv{seedFixture: newSeedFixture(t), svc: nil, devices: map[string]string{}, seqs: map[string]int64{},
		gen: synth.New(7), start: time.Date(2025, 9, 1, 13, 0, 0, 0, time.UTC)}
}

func (e *progressEnv) service() *sync.Service {
	if e.svc == nil {
		e.svc = &sync.Service{Store: e.st}
		e.records = &sync.Records{Store: e.st}
	}
	return e.svc
}

// staff returns the principal of a demo staff member.
func (e *progressEnv) staff(t *testing.T, id string) observation.Principal {
	t.Helper()
	roles := map[roster.StaffRole]observation.Role{roster.StaffCoach: observation.RoleCoach,
		roster.StaffPrincipal: observation.RolePrincipal, roster.StaffDistrictAdmin: observation.RoleDistrictAdmin}
	for _, s := range e.net.Staff {
		if s.ID == id {
			p := observation.Principal{UserID: s.ID, Role: roles[s.Role], DistrictID: s.DistrictID}
			if p.Role != observation.RoleDistrictAdmin {
				p.SiteIDs = slices.Clone(s.SiteIDs)
			}
			return p
		}
	}
	t.Fatalf("no staff %s", id)
	return observation.Principal{}
}

// classrooms returns the demo classrooms of a site.
func (e *progressEnv) classrooms(site string) []observation.Classroom {
	var out []observation.Classroom
	for _, c := range e.net.Classrooms {
		if c.SiteID == site {
			out = append(out, c)
		}
	}
	return out
}

// record makes a valid submitted record of p in classroom c at when; a co-observation key makes
// it a calibration.
func (e *progressEnv) record(p observation.Principal, c observation.Classroom, when time.Time, co string) observation.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := synth.Input{Classroom: c, Observer: p, Rubric: e.rubric, StudentGroups: e.groups[c.DistrictID], When: when,
		Kind: observation.KindWalkthrough, Status: observation.RecordSubmitted}
	if co != "" {
		in.Kind = observation.KindCalibration
	}
	r := e.gen.Record(in)
	if co != "" {
		r.CoObservation = co
	}
	return r
}

// push sends changes as p (seqs assigned here) and returns the results, failing the test on
// any rejected change.
func (e *progressEnv) push(t *testing.T, p observation.Principal, changes ...sync.Change) []sync.Result {
	t.Helper()
	res, err := e.tryPush(p, changes...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *progressEnv) tryPush(p observation.Principal, changes ...sync.Change) ([]sync.Result, error) {
	ctx := context.Background()
	svc := e.service()
	e.mu.Lock()
	dev, ok := e.devices[p.UserID]
	if !ok {
		dev = uuid.Must(uuid.NewV7()).String()
		e.devices[p.UserID] = dev
		e.seqs[p.UserID] = 1
	}
	seq := e.seqs[p.UserID]
	e.seqs[p.UserID] += int64(len(changes))
	e.mu.Unlock()
	if !ok {
		if _, err := svc.RegisterDevice(ctx, p, dev, "test", 1); err != nil {
			return nil, fmt.Errorf("register device: %w", err)
		}
	}
	for i := range changes {
		changes[i].Seq = seq + int64(i)
		if changes[i].ObservationID == "" {
			changes[i].ObservationID = changes[i].Record.ID
		}
		if changes[i].Op == "" {
			changes[i].Op = sync.OpUpsert
		}
	}
	resp, err := svc.Push(ctx, p, sync.PushRequest{DeviceID: dev, Changes: changes, SchemaVersion: 1}, 0)
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	for _, r := range resp.Results {
		if r.Status == sync.StatusRejected {
			return nil, fmt.Errorf("push as %s: seq %d rejected: %s %s %s", p.UserID, r.Seq, r.Reason, r.Field, r.Message)
		}
	}
	return resp.Results, nil
}

func upsert(r observation.Record, base int) sync.Change {
	return sync.Change{Op: sync.OpUpsert, Record: r, ObservationID: r.ID, BaseRevision: base}
}

func deletion(id string, base int) sync.Change {
	return sync.Change{Op: sync.OpDelete, ObservationID: id, BaseRevision: base}
}

// readProgress reads the three aggregate tables as a delta.
func readProgress(t *testing.T, st *store.Store) *progress.Delta {
	t.Helper()
	ctx := context.Background()
	d := progress.NewDelta()
	// Cells, plus the deltas of pushes not yet compacted into them.
	rows, err := st.Pool().Query(ctx, `SELECT false, district_id, period_kind, period_key, site_id, classroom_id, teacher_id, rubric_id, m
		FROM progress_cells UNION ALL SELECT true, district_id, period_kind, period_key, site_id, classroom_id, teacher_id, rubric_id, m
		FROM progress_cell_log`)
	mustNoErr(t, err)
	for rows.Next() {
		var k progress.CellKey
		var kind string
		var m progress.Metrics
		var logged bool
		mustNoErr(t, rows.Scan(&logged, &k.DistrictID, &kind, &k.PeriodKey, &k.SiteID, &k.ClassroomID, &k.TeacherID, &k.RubricID, &m))
		k.Kind = progress.PeriodKind(kind)
		if !logged && m.Observations() <= 0 {
			t.Errorf("cell %+v is kept with %d observations", k, m.Observations())
		}
		c := d.Cells[k]
		c.Add(m, 1)
		d.Cells[k] = c
	}
	mustNoErr(t, rows.Err())
	rows, err = st.Pool().Query(ctx, `SELECT district_id, period_kind, period_key, site_id, observer_a, observer_b, rubric_id, m
		FROM progress_pairs`)
	mustNoErr(t, err)
	for rows.Next() {
		var k progress.PairKey
		var kind string
		var m progress.Metrics
		mustNoErr(t, rows.Scan(&k.DistrictID, &kind, &k.PeriodKey, &k.SiteID, &k.ObserverA, &k.ObserverB, &k.RubricID, &m))
		k.Kind = progress.PeriodKind(kind)
		if m.Observations() <= 0 {
			t.Errorf("pair %+v is kept with %d observations", k, m.Observations())
		}
		d.Pairs[k] = m
	}
	mustNoErr(t, rows.Err())
	rows, err = st.Pool().Query(ctx, `SELECT district_id, classroom_id, day, n FROM progress_visits`)
	mustNoErr(t, err)
	for rows.Next() {
		var k progress.VisitKey
		var n int64
		mustNoErr(t, rows.Scan(&k.DistrictID, &k.ClassroomID, &k.Day, &n))
		if n <= 0 {
			t.Errorf("visit %+v is kept with n = %d", k, n)
		}
		k.Day = k.Day.UTC()
		d.Visits[k] = n
	}
	mustNoErr(t, rows.Err())
	for k, m := range d.Cells { // zero counters may stay in a row: drop them
		var c progress.Metrics
		c.Add(m, 1)
		d.Cells[k] = c
	}
	for k, m := range d.Pairs {
		var c progress.Metrics
		c.Add(m, 1)
		d.Pairs[k] = c
	}
	return d.Normalize()
}

// storedObservations reads every row of the observations table.
func storedObservations(t *testing.T, st *store.Store) []observation.StoredObservation {
	t.Helper()
	rows, err := st.Pool().Query(context.Background(), `SELECT content, deleted, revision, coalesce(co_observation, ''),
		coalesce(submitted_at, '-infinity') FROM observations`)
	mustNoErr(t, err)
	defer rows.Close()
	var out []observation.StoredObservation
	for rows.Next() {
		var raw []byte
		var o observation.StoredObservation
		var co string
		var submitted pgtype.Timestamptz
		mustNoErr(t, rows.Scan(&raw, &o.Deleted, &o.Revision, &co, &submitted))
		mustNoErr(t, json.Unmarshal(raw, &o.Record))
		if submitted.InfinityModifier == pgtype.Finite {
			o.SubmittedAt = submitted.Time.UTC()
		} else if o.Status == observation.RecordSubmitted {
			t.Errorf("observation %s is submitted but has no submitted_at", o.ID)
		}
		if co != o.CoObservation {
			t.Errorf("observation %s: co_observation column %q, content %q", o.ID, co, o.CoObservation)
		}
		out = append(out, o)
	}
	mustNoErr(t, rows.Err())
	return out
}

// progressInputs reads the settings of every district and the content of every rubric version.
func progressInputs(t *testing.T, st *store.Store) progress.Inputs {
	t.Helper()
	ctx := context.Background()
	settings := map[string]observation.DistrictSettings{}
	rows, err := st.Pool().Query(ctx, `SELECT district_id FROM districts`)
	mustNoErr(t, err)
	var ids []string
	for rows.Next() {
		var id string
		mustNoErr(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	mustNoErr(t, rows.Err())
	for _, id := range ids {
		d, err := st.ProgressDistrict(ctx, id)
		mustNoErr(t, err)
		settings[id] = d.Settings
	}
	type ref struct {
		id string
		v  int
	}
	content := map[ref]observation.RubricContent{}
	rows, err = st.Pool().Query(ctx, `SELECT rubric_id, version FROM rubric_versions`)
	mustNoErr(t, err)
	var refs []ref
	for rows.Next() {
		var r ref
		mustNoErr(t, rows.Scan(&r.id, &r.v))
		refs = append(refs, r)
	}
	mustNoErr(t, rows.Err())
	for _, r := range refs {
		v, err := st.GetRubricVersion(ctx, r.id, r.v)
		mustNoErr(t, err)
		content[r] = v.Content
	}
	return progress.Inputs{
		Settings: func(id string) observation.DistrictSettings { return settings[id] },
		Content: func(id string, v int) (observation.RubricContent, bool) {
			c, ok := content[ref{id, v}]
			return c, ok
		},
	}
}

// assertProgress checks that the aggregate tables equal the recomputation from every stored
// observation, and returns the rows.
func assertProgress(t *testing.T, st *store.Store, step string) *progress.Delta {
	t.Helper()
	want := progressref.Aggregates(storedObservations(t, st), progressInputs(t, st)).Normalize()
	got := readProgress(t, st)
	diffs := 0
	report := func(format string, args ...any) {
		if diffs++; diffs <= 10 {
			t.Errorf(step+": "+format, args...)
		}
	}
	for k, m := range want.Cells {
		if !got.Cells[k].Equal(m) {
			report("cell %+v: stored %v, recomputed %v", k, got.Cells[k], m)
		}
	}
	for k, m := range got.Cells {
		if _, ok := want.Cells[k]; !ok {
			report("cell %+v stored (%v) but not recomputed", k, m)
		}
	}
	for k, m := range want.Pairs {
		if !got.Pairs[k].Equal(m) {
			report("pair %+v: stored %v, recomputed %v", k, got.Pairs[k], m)
		}
	}
	for k, m := range got.Pairs {
		if _, ok := want.Pairs[k]; !ok {
			report("pair %+v stored (%v) but not recomputed", k, m)
		}
	}
	for k, n := range want.Visits {
		if got.Visits[k] != n {
			report("visit %+v: stored %d, recomputed %d", k, got.Visits[k], n)
		}
	}
	for k, n := range got.Visits {
		if _, ok := want.Visits[k]; !ok {
			report("visit %+v stored (%d) but not recomputed", k, n)
		}
	}
	if diffs > 10 {
		t.Errorf("%s: %d differences in all", step, diffs)
	}
	return got
}

// classroomObservations counts the observations of one classroom in the stored cells of one
// period kind.
func classroomObservations(d *progress.Delta, kind progress.PeriodKind, classroom string) int {
	n := 0
	for k, m := range d.Cells {
		if k.Kind == kind && k.ClassroomID == classroom {
			n += m.Observations()
		}
	}
	return n
}

// pairLessons counts the co-observed lessons of the stored pair rows of one period kind.
func pairLessons(d *progress.Delta, kind progress.PeriodKind) int {
	n := 0
	for k, m := range d.Pairs {
		if k.Kind == kind {
			n += m.Observations()
		}
	}
	return n
}

const tubman = riverbend + ".harriet-tubman-es"

// TestProgressFollowsPushes walks one site through submissions, drafts, calibration
// co-observations, amendments (of scores, dates and groups) and deletions, and checks the
// aggregates after every push.
func TestProgressFollowsPushes(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	coach1, coach2 := e.staff(t, riverbend+".coach-1"), e.staff(t, riverbend+".coach-2")
	principal, admin := e.staff(t, riverbend+".principal-harriet-tubman-es"), e.staff(t, riverbend+".district-admin")
	rooms := e.classrooms(tubman)
	at := func(day, minute int) time.Time {
		return e.start.AddDate(0, 0, day).Add(time.Duration(minute) * time.Minute)
	}

	// Solo visits in one push, a draft, and a visit in another district.
	var solo []sync.Change
	for i := range 6 {
		solo = append(solo, upsert(e.record(coach1, rooms[i%3], at(i*3, i), ""), 0))
	}
	draft := e.record(coach1, rooms[0], at(1, 0), "")
	draft.Status = observation.RecordDraft
	solo = append(solo, upsert(draft, 0))
	e.push(t, coach1, solo...)
	mesa := e.staff(t, mesaVerde+".district-admin")
	var mesaRoom observation.Classroom
	for _, c := range e.net.Classrooms {
		if c.DistrictID == mesaVerde {
			mesaRoom = c
			break
		}
	}
	e.push(t, mesa, upsert(e.record(mesa, mesaRoom, at(2, 0), ""), 0))
	got := assertProgress(t, e.st, "solo visits")
	if len(got.Cells) == 0 || len(got.Visits) == 0 || len(got.Pairs) != 0 {
		t.Fatalf("solo visits: %d cells, %d visits, %d pairs", len(got.Cells), len(got.Visits), len(got.Pairs))
	}

	// The draft is submitted.
	draft.Status = observation.RecordSubmitted
	e.push(t, coach1, upsert(draft, 1))
	assertProgress(t, e.st, "draft submitted")

	// A calibration lesson co-observed by three observers, pushed one by one; a fourth member is
	// a draft, which counts nowhere.
	lesson := at(10, 30)
	a := e.record(coach1, rooms[4], lesson, "cal-1")
	b := e.record(coach2, rooms[4], lesson.Add(time.Minute), "cal-1")
	c := e.record(principal, rooms[4], lesson, "cal-1")
	d := e.record(admin, rooms[4], lesson, "cal-1")
	d.Status = observation.RecordDraft
	e.push(t, coach1, upsert(a, 0))
	assertProgress(t, e.st, "first co-observer")
	e.push(t, coach2, upsert(b, 0))
	got = assertProgress(t, e.st, "second co-observer")
	if n := pairLessons(got, progress.PeriodSchoolYear); n != 1 {
		t.Errorf("two co-observers: %d pairs, want 1", n)
	}
	e.push(t, principal, upsert(c, 0))
	e.push(t, admin, upsert(d, 0))
	got = assertProgress(t, e.st, "third co-observer")
	if n := pairLessons(got, progress.PeriodSchoolYear); n != 3 {
		t.Errorf("three co-observers: %d pairs, want 3", n)
	}
	// The lesson counts once outside calibration: a, submitted first.
	if n := classroomObservations(got, progress.PeriodSchoolYear, rooms[4].ID); n != 1 {
		t.Errorf("a lesson co-observed by three counts %d times in its classroom's cell, want once", n)
	}
	first, err := e.st.Observation(context.Background(), a.ID)
	mustNoErr(t, err)
	if first.SubmittedAt.IsZero() {
		t.Fatal("a submitted record does not say when it was first submitted")
	}

	// Amendments: the scores of a member, then the date of another (a new week and day), then a
	// member moved to another group.
	a2 := a
	for i := range a2.Scores {
		if !a2.Scores[i].NotObserved {
			a2.Scores[i].Level = 1 + a2.Scores[i].Level%4
		}
	}
	e.push(t, coach1, upsert(a2, 1))
	assertProgress(t, e.st, "scores amended")
	if amended, err := e.st.Observation(context.Background(), a.ID); err != nil || !amended.SubmittedAt.Equal(first.SubmittedAt) || amended.Revision != 2 {
		t.Fatalf("after an amendment the first submission is %v (revision %d, %v), want %v kept", amended.SubmittedAt, amended.Revision, err, first.SubmittedAt)
	}
	b2 := b
	b2.StartedAt = b.StartedAt.AddDate(0, 0, 9)
	e.push(t, coach2, upsert(b2, 1))
	assertProgress(t, e.st, "date amended")
	c2 := c
	c2.CoObservation = "cal-2"
	e.push(t, principal, upsert(c2, 1))
	got = assertProgress(t, e.st, "group changed")
	if n := pairLessons(got, progress.PeriodSchoolYear); n != 0 {
		t.Errorf("after moving one member to another day and one to another group: %d pairs, want 0 (pairs are taken within one lesson)", n)
	}

	// The admin submits their member (a draft edit names the revision it was made on; base 0
	// would be a second create, kept as a conflict), then deletes a member; a solo visit is
	// deleted by the district admin.
	d.Status = observation.RecordSubmitted
	e.push(t, admin, upsert(d, 1))
	assertProgress(t, e.st, "draft member submitted")
	e.push(t, coach2, deletion(b.ID, 2))
	got = assertProgress(t, e.st, "member deleted")
	if n := pairLessons(got, progress.PeriodSchoolYear); n != 1 {
		t.Errorf("after deleting a member: %d pairs, want 1 (coach-1 and the district admin)", n)
	}
	if n := classroomObservations(got, progress.PeriodSchoolYear, rooms[4].ID); n != 2 {
		t.Errorf("cal-1 and cal-2 in one classroom count %d times, want 2 (once each)", n)
	}
	e.push(t, admin, deletion(solo[0].Record.ID, 1))
	assertProgress(t, e.st, "solo visit deleted")

	// One push that creates, amends and deletes at once, amending a record twice; y joins c's
	// lesson, and a, the first member of cal-1, is deleted: the district admin's member counts.
	x := e.record(coach1, rooms[1], at(20, 0), "")
	y := e.record(coach1, rooms[4], lesson.Add(5*time.Minute), "cal-2")
	x2 := x
	x2.NextSteps = "try wait time"
	e.push(t, coach1, upsert(x, 0), upsert(y, 0), upsert(x2, 1), deletion(a.ID, 2), deletion(solo[1].Record.ID, 1))
	got = assertProgress(t, e.st, "mixed push")
	if n := pairLessons(got, progress.PeriodSchoolYear); n != 1 {
		t.Errorf("after the mixed push: %d pairs, want 1 (cal-2: the principal and coach-1)", n)
	}
	if n := classroomObservations(got, progress.PeriodSchoolYear, rooms[4].ID); n != 2 {
		t.Errorf("after the first member of cal-1 is deleted, the classroom counts %d observations, want 2 (cal-1 by its partner, cal-2)", n)
	}
	// Replaying a push changes nothing.
	e.mu.Lock()
	e.seqs[coach1.UserID] -= 5
	e.mu.Unlock()
	e.push(t, coach1, upsert(x, 0), upsert(y, 0), upsert(x2, 1), deletion(a.ID, 2), deletion(solo[1].Record.ID, 1))
	assertProgress(t, e.st, "replayed push")
}

// TestProgressFollowsConflictResolution resolves conflicts by each choice, a proposed deletion
// included, and checks the aggregates after each.
func TestProgressFollowsConflictResolution(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	coach1, coach2 := e.staff(t, riverbend+".coach-1"), e.staff(t, riverbend+".coach-2")
	admin := e.staff(t, riverbend+".district-admin")
	rooms := e.classrooms(tubman)
	e.service()

	a := e.record(coach1, rooms[0], e.start, "cal-9")
	b := e.record(coach2, rooms[0], e.start, "cal-9")
	s := e.record(coach1, rooms[1], e.start.AddDate(0, 0, 1), "")
	e.push(t, coach1, upsert(a, 0), upsert(s, 0))
	e.push(t, coach2, upsert(b, 0))
	assertProgress(t, e.st, "before conflicts")

	// conflict has the admin amend the record's current revision, then its observer propose p
	// (or the deletion) on the revision before.
	rev := map[string]int{a.ID: 1, b.ID: 1, s.ID: 1}
	moves := 0
	conflict := func(by observation.Principal, r observation.Record, p observation.Record, del bool) string {
		t.Helper()
		o, err := e.st.Observation(ctx, r.ID)
		mustNoErr(t, err)
		moved := o.Record
		moves++
		moved.LessonFocus = fmt.Sprintf("moved by the admin (%d)", moves)
		res := e.push(t, admin, upsert(moved, rev[r.ID]))
		rev[r.ID] = res[0].Revision
		if del {
			res = e.push(t, by, deletion(r.ID, rev[r.ID]-1))
		} else {
			res = e.push(t, by, upsert(p, rev[r.ID]-1))
		}
		if res[0].Status != sync.StatusConflict {
			t.Fatalf("want a conflict, got %+v", res[0])
		}
		return res[0].ConflictID
	}

	// take_proposed: the co-observed record moves a week on, and its scores change.
	p := a
	p.StartedAt = p.StartedAt.AddDate(0, 0, 7)
	for i := range p.Scores {
		if !p.Scores[i].NotObserved {
			p.Scores[i].Level = 1 + p.Scores[i].Level%4
		}
	}
	id := conflict(coach1, a, p, false)
	assertProgress(t, e.st, "conflict kept")
	stored, err := e.st.Observation(ctx, a.ID)
	mustNoErr(t, err)
	open, err := e.records.Conflicts(ctx, coach1, sync.ConflictQuery{Status: "open", Limit: 10})
	mustNoErr(t, err)
	if len(open) != 1 {
		t.Fatalf("%d open conflicts, want 1", len(open))
	}
	if got := open[0].Server.SubmittedAt; got.IsZero() || !got.Equal(stored.SubmittedAt) {
		t.Fatalf("the conflict's server version says it was first submitted at %v, want %v", got, stored.SubmittedAt)
	}
	if _, _, err := e.records.Resolve(ctx, coach1, id, sync.ChoiceTakeProposed, nil); err != nil {
		t.Fatal(err)
	}
	assertProgress(t, e.st, "take_proposed")

	// keep_server changes no record.
	p2 := s
	p2.NextSteps = "proposed"
	id = conflict(coach1, s, p2, false)
	if _, _, err := e.records.Resolve(ctx, coach1, id, sync.ChoiceKeepServer, nil); err != nil {
		t.Fatal(err)
	}
	assertProgress(t, e.st, "keep_server")

	// merge, into another group.
	id = conflict(coach1, s, p2, false)
	merged := s
	merged.Kind, merged.CoObservation = observation.KindCalibration, "cal-9"
	merged.ClassroomID, merged.SiteID, merged.TeacherID = rooms[0].ID, rooms[0].SiteID, rooms[0].TeacherID
	merged.Course, merged.Grade, merged.Section = rooms[0].Course, rooms[0].Grade, rooms[0].Section
	merged.StartedAt = b.StartedAt
	if _, _, err := e.records.Resolve(ctx, admin, id, sync.ChoiceMerge, &merged); err != nil {
		t.Fatal(err)
	}
	got := assertProgress(t, e.st, "merge")
	// cal-9: a (moved a week on by take_proposed) and merged s by coach-1, b by coach-2 on s's
	// lesson: one pair, s and b.
	if n := pairLessons(got, progress.PeriodSchoolYear); n != 1 {
		t.Errorf("after the merge: %d pairs, want 1", n)
	}

	// A proposed deletion taken.
	id = conflict(coach2, b, b, true)
	if _, _, err := e.records.Resolve(ctx, coach2, id, sync.ChoiceTakeProposed, nil); err != nil {
		t.Fatal(err)
	}
	got = assertProgress(t, e.st, "deletion taken")
	if n := pairLessons(got, progress.PeriodSchoolYear); n != 0 {
		t.Errorf("after deleting coach-2's member: %d pairs, want 0", n)
	}
}

// calibrationRows makes n stored rows over the demo classrooms: solo visits, and every fourth
// and fifth row a co-observed lesson of a coach and the site's principal; a few drafts and
// tombstones too.
func (e *progressEnv) calibrationRows(t *testing.T, seed uint64, n int) []observation.StoredObservation {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var rooms []observation.Classroom
	for _, c := range e.net.Classrooms {
		if c.DistrictID == riverbend {
			rooms = append(rooms, c)
		}
	}
	coaches := []observation.Principal{e.staff(t, riverbend+".coach-1"), e.staff(t, riverbend+".coach-2")}
	out := make([]observation.StoredObservation, 0, n)
	for len(out) < n {
		c := rooms[rng.IntN(len(rooms))]
		when := e.start.AddDate(0, 0, rng.IntN(200)).Add(time.Duration(rng.IntN(400)) * time.Minute)
		coach := coaches[rng.IntN(2)]
		principal := e.staff(t, strings.Replace(c.SiteID, ".", ".principal-", 1))
		var recs []observation.Record
		if len(out)%5 == 3 {
			co := fmt.Sprintf("bulk-%d-%d", seed, len(out))
			recs = append(recs, e.record(coach, c, when, co), e.record(principal, c, when, co))
		} else {
			recs = append(recs, e.record(coach, c, when, ""))
		}
		for _, r := range recs {
			o := observation.StoredObservation{Record: r}
			switch rng.IntN(20) {
			case 0:
				o.Status = observation.RecordDraft
			case 1:
				o.Deleted = true
			}
			out = append(out, o)
		}
	}
	return out
}

// TestProgressFollowsCopyObservations bulk-loads rows, some of which join co-observation groups
// stored by an earlier load or a push, and a load with more groups than one transaction locks.
func TestProgressFollowsCopyObservations(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	first := e.calibrationRows(t, 1, 300)
	if _, err := e.st.CopyObservations(ctx, first); err != nil {
		t.Fatal(err)
	}
	got := assertProgress(t, e.st, "first load")
	if len(got.Pairs) == 0 {
		t.Fatal("first load: no pairs")
	}
	// Second observers join groups of the first load; one group of the first load gains a
	// member by a push as well.
	var join []observation.StoredObservation
	coach2 := e.staff(t, riverbend+".coach-2")
	for _, o := range first {
		if o.CoObservation != "" && progress.Counted(o) && len(join) < 20 {
			c := observation.Classroom{DistrictID: o.DistrictID, ID: o.ClassroomID, SiteID: o.SiteID, TeacherID: o.TeacherID,
				Course: o.Course, Grade: o.Grade, Section: o.Section}
			admin := e.staff(t, riverbend+".district-admin")
			join = append(join, observation.StoredObservation{Record: e.record(admin, c, o.StartedAt, o.CoObservation)})
		}
	}
	if _, err := e.st.CopyObservations(ctx, join); err != nil {
		t.Fatal(err)
	}
	assertProgress(t, e.st, "joining load")
	for _, o := range first {
		if o.CoObservation != "" && slices.Contains(coach2.SiteIDs, o.SiteID) && o.ObserverID != coach2.UserID {
			c := observation.Classroom{DistrictID: o.DistrictID, ID: o.ClassroomID, SiteID: o.SiteID, TeacherID: o.TeacherID,
				Course: o.Course, Grade: o.Grade, Section: o.Section}
			e.push(t, coach2, upsert(e.record(coach2, c, o.StartedAt, o.CoObservation), 0))
			break
		}
	}
	assertProgress(t, e.st, "push into a loaded group")

	// More groups than one transaction locks: the load holds the district exclusively.
	big := e.calibrationRows(t, 2, 2600)
	if _, err := e.st.CopyObservations(ctx, big); err != nil {
		t.Fatal(err)
	}
	assertProgress(t, e.st, "large load")

	// A refused load leaves the aggregates as they were.
	if _, err := e.st.CopyObservations(ctx, big[:10]); observation.KindOf(err) != observation.KindAlreadyExists {
		t.Fatalf("reloading rows: %v, want already exists", err)
	}
	assertProgress(t, e.st, "refused load")
}

// TestProgressFollowsSettingsChange changes the school year's first month and the windows
// (which moves records between periods) and other settings (which does not), and checks that
// RebuildProgress repairs damaged rows.
func TestProgressFollowsSettingsChange(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	if _, err := e.st.CopyObservations(ctx, e.calibrationRows(t, 3, 400)); err != nil {
		t.Fatal(err)
	}
	before := assertProgress(t, e.st, "loaded")
	update := func(step string, change func(*observation.DistrictSettings)) {
		t.Helper()
		_, err := e.st.UpdateDistrict(ctx, riverbend, func(d *observation.District) (*observation.AuditEntry, error) {
			change(&d.Settings)
			a := observation.Audit(e.admins[riverbend], riverbend, "district.update", "district", riverbend, now())
			return &a, nil
		})
		mustNoErr(t, err)
		assertProgress(t, e.st, step)
	}
	update("school year from January", func(s *observation.DistrictSettings) { s.SchoolYearStartMonth = 1; s.Windows = nil })
	after := readProgress(t, e.st)
	if len(after.Cells) == len(before.Cells) {
		t.Errorf("changing the school year kept %d cells", len(after.Cells))
	}
	update("windows", func(s *observation.DistrictSettings) {
		s.Windows = []observation.NamedWindow{{Key: "autumn", Title: "Autumn", StartMonth: 9, StartDay: 1, EndMonth: 12, EndDay: 20}}
	})
	update("suppression", func(s *observation.DistrictSettings) { s.SuppressionThreshold = 15 })

	// Damage, then repair.
	_, err := e.st.Pool().Exec(ctx, `DELETE FROM progress_cells WHERE period_kind = 'week';
		UPDATE progress_visits SET n = n + 1; INSERT INTO progress_pairs VALUES ('riverbend-usd', 'month', '2025-09', 's', 'a', 'b', 'r', '{"n": 3}')`)
	mustNoErr(t, err)
	mustNoErr(t, e.st.RebuildProgress(ctx, riverbend))
	assertProgress(t, e.st, "rebuilt")
}

// TestConcurrentCoObserversPairOnce pushes the two co-observers' records of each lesson at the
// same time: whichever commits second must see the first, so every lesson is one pair and counts
// once in the cells.
func TestConcurrentCoObserversPairOnce(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	coach1, coach2 := e.staff(t, riverbend+".coach-1"), e.staff(t, riverbend+".coach-2")
	e.service()
	rooms := e.classrooms(tubman)
	const lessons = 12
	for i := range lessons {
		when := e.start.AddDate(0, 0, i)
		co := fmt.Sprintf("race-%d", i)
		a, b := e.record(coach1, rooms[i%len(rooms)], when, co), e.record(coach2, rooms[i%len(rooms)], when, co)
		start := make(chan struct{})
		var wg gosync.WaitGroup
		for _, w := range []struct {
			p observation.Principal
			r observation.Record
		}{{coach1, a}, {coach2, b}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := e.tryPush(w.p, upsert(w.r, 0)); err != nil {
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
	}
	got := assertProgress(t, e.st, "concurrent co-observers")
	if n := pairLessons(got, progress.PeriodSchoolYear); n != lessons {
		t.Errorf("%d pairs, want %d", n, lessons)
	}
	// Each lesson counts once outside calibration, whichever push committed first.
	n := 0
	for k, m := range got.Cells {
		if k.Kind == progress.PeriodSchoolYear {
			n += m.Observations()
		}
	}
	if n != lessons {
		t.Errorf("%d observations in the cells, want %d (one per co-observed lesson)", n, lessons)
	}
}

// TestProgressRandomHistories applies random histories of pushes and conflict resolutions by
// four observers of one site and checks the aggregates along the way.
func TestProgressRandomHistories(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			e := newProgressEnv(t)
			ctx := context.Background()
			e.service()
			rng := rand.New(rand.NewPCG(seed, 99))
			observers := []observation.Principal{e.staff(t, riverbend+".coach-1"), e.staff(t, riverbend+".coach-2"),
				e.staff(t, riverbend+".principal-harriet-tubman-es"), e.staff(t, riverbend+".district-admin")}
			admin := observers[3]
			rooms := e.classrooms(tubman)
			type rec struct {
				r   observation.Record
				by  observation.Principal
				rev int
				del bool
			}
			var recs []*rec
			groups := []string{"g-1", "g-2", "g-3"}
			live := func() []*rec {
				var out []*rec
				for _, r := range recs {
					if !r.del {
						out = append(out, r)
					}
				}
				return out
			}
			for step := range 60 {
				p := observers[rng.IntN(len(observers))]
				switch x := rng.IntN(10); {
				case x < 4 || len(live()) == 0: // a new record, sometimes co-observed, sometimes a draft
					co := ""
					if rng.IntN(2) == 0 {
						co = groups[rng.IntN(len(groups))]
					}
					r := e.record(p, rooms[rng.IntN(3)], e.start.AddDate(0, 0, rng.IntN(60)), co)
					if rng.IntN(5) == 0 {
						r.Status = observation.RecordDraft
					}
					e.push(t, p, upsert(r, 0))
					recs = append(recs, &rec{r: r, by: p, rev: 1})
				case x < 7: // an amendment (or a draft's next edit) by its observer
					l := live()
					c := l[rng.IntN(len(l))]
					r := c.r
					r.StartedAt = r.StartedAt.AddDate(0, 0, rng.IntN(15)-7)
					for i := range r.Scores {
						if !r.Scores[i].NotObserved {
							r.Scores[i].Level = 1 + rng.IntN(4)
						}
					}
					if r.CoObservation != "" && rng.IntN(3) == 0 {
						r.CoObservation = groups[rng.IntN(len(groups))]
					}
					if r.Status == observation.RecordDraft && rng.IntN(2) == 0 {
						r.Status = observation.RecordSubmitted
					}
					base := c.rev
					if c.r.Status == observation.RecordDraft {
						base = 0
					}
					res := e.push(t, c.by, upsert(r, base))
					if res[0].Status == sync.StatusApplied {
						c.r, c.rev = r, res[0].Revision
					}
				case x < 8: // a deletion
					l := live()
					c := l[rng.IntN(len(l))]
					base := c.rev
					if c.r.Status == observation.RecordDraft {
						base = 0
					}
					e.push(t, c.by, deletion(c.r.ID, base))
					c.del = true
				default: // a conflict the admin resolves
					var subs []*rec
					for _, c := range live() {
						if c.r.Status == observation.RecordSubmitted {
							subs = append(subs, c)
						}
					}
					if len(subs) == 0 {
						continue
					}
					c := subs[rng.IntN(len(subs))]
					first := c.r
					first.NextSteps = fmt.Sprintf("step %d", step)
					if res := e.push(t, admin, upsert(first, c.rev)); res[0].Status == sync.StatusApplied {
						c.r, c.rev = first, res[0].Revision
					}
					stale := c.r
					stale.StartedAt = stale.StartedAt.AddDate(0, 0, 3)
					stale.NextSteps = "stale"
					res := e.push(t, c.by, upsert(stale, c.rev-1))
					if res[0].Status != sync.StatusConflict {
						t.Fatalf("step %d: want a conflict, got %+v", step, res[0])
					}
					choice := []string{sync.ChoiceKeepServer, sync.ChoiceTakeProposed}[rng.IntN(2)]
					_, final, err := e.records.Resolve(ctx, admin, res[0].ConflictID, choice, nil)
					mustNoErr(t, err)
					c.r, c.rev = final.Record, final.Revision
				}
				if step%10 == 9 {
					assertProgress(t, e.st, fmt.Sprintf("step %d", step))
				}
			}
		})
	}
}

// TestProgressReads covers the read side of the views: cells and pairs by district, rubric,
// period and site; last visits; districts, sites and classrooms; rubric series; goals.
func TestProgressReads(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	rows := e.calibrationRows(t, 4, 200)
	if _, err := e.st.CopyObservations(ctx, rows); err != nil {
		t.Fatal(err)
	}
	all := assertProgress(t, e.st, "loaded")
	rubric := e.rubric.RubricID

	// Cells of one month, every site, then two sites.
	month := "2025-10"
	want := map[progress.CellKey]progress.Metrics{}
	for k, m := range all.Cells {
		if k.Kind == progress.PeriodMonth && k.PeriodKey == month {
			want[k] = m
		}
	}
	cells, err := e.st.ProgressCells(ctx, progress.CellQuery{DistrictIDs: []string{riverbend, mesaVerde}, RubricID: rubric,
		Kind: progress.PeriodMonth, Keys: []string{month}})
	mustNoErr(t, err)
	if len(cells) != len(want) || len(want) == 0 {
		t.Fatalf("month cells: %d, want %d", len(cells), len(want))
	}
	for _, c := range cells {
		if !c.M.Equal(want[c.CellKey]) {
			t.Errorf("cell %+v: %v, want %v", c.CellKey, c.M, want[c.CellKey])
		}
	}
	sites := []string{tubman, riverbend + ".lincoln-es"}
	cells, err = e.st.ProgressCells(ctx, progress.CellQuery{DistrictIDs: []string{riverbend}, RubricID: rubric,
		Kind: progress.PeriodMonth, Keys: []string{month, "2025-11"}, Sites: sites})
	mustNoErr(t, err)
	n := 0
	for k := range all.Cells {
		if k.Kind == progress.PeriodMonth && (k.PeriodKey == month || k.PeriodKey == "2025-11") && slices.Contains(sites, k.SiteID) {
			n++
		}
	}
	if len(cells) != n || n == 0 {
		t.Errorf("cells of two sites and months: %d, want %d", len(cells), n)
	}
	for _, q := range []progress.CellQuery{
		{DistrictIDs: []string{riverbend}, RubricID: "other", Kind: progress.PeriodMonth, Keys: []string{month}},
		{DistrictIDs: []string{riverbend}, RubricID: rubric, Kind: progress.PeriodMonth, Keys: []string{month}, Sites: []string{}},
		{DistrictIDs: []string{mesaVerde}, RubricID: rubric, Kind: progress.PeriodMonth, Keys: []string{month}},
	} {
		if cells, err := e.st.ProgressCells(ctx, q); err != nil || len(cells) != 0 {
			t.Errorf("cells of %+v: %d, %v; want none", q, len(cells), err)
		}
	}

	// Pairs of the school year.
	pairs, err := e.st.ProgressPairs(ctx, progress.CellQuery{DistrictIDs: []string{riverbend}, RubricID: rubric,
		Kind: progress.PeriodSchoolYear, Keys: []string{"2025-26"}})
	mustNoErr(t, err)
	lessons := 0
	for _, p := range pairs {
		if !p.M.Equal(all.Pairs[p.PairKey]) {
			t.Errorf("pair %+v: %v, want %v", p.PairKey, p.M, all.Pairs[p.PairKey])
		}
		lessons += p.M.Observations()
	}
	if lessons == 0 || lessons != pairLessons(all, progress.PeriodSchoolYear) {
		t.Errorf("school-year pairs count %d lessons, want %d", lessons, pairLessons(all, progress.PeriodSchoolYear))
	}

	// Last visits: the latest day before the instant, from the day rows of the rubric.
	var room string
	var days []time.Time
	for k, m := range all.Cells {
		if k.Kind == progress.PeriodDaily && k.RubricID == rubric && m.Observations() > 0 && (room == "" || k.ClassroomID == room) {
			room = k.ClassroomID
			day, err := time.Parse(time.DateOnly, k.PeriodKey)
			mustNoErr(t, err)
			if !slices.ContainsFunc(days, day.Equal) {
				days = append(days, day)
			}
		}
	}
	slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
	last, err := e.st.LastVisits(ctx, riverbend, rubric, []string{room, "no-such-room"}, days[len(days)-1].Add(time.Hour))
	mustNoErr(t, err)
	if len(last) != 1 || !last[room].Equal(days[len(days)-1]) || last[room].Location() != time.UTC {
		t.Errorf("last visits = %v, want %s: %v", last, room, days[len(days)-1])
	}
	last, err = e.st.LastVisits(ctx, riverbend, rubric, []string{room}, days[len(days)-1])
	mustNoErr(t, err)
	if len(days) > 1 && !last[room].Equal(days[len(days)-2]) {
		t.Errorf("last visits before %s = %v, want %v", days[len(days)-1], last, days[len(days)-2])
	}
	last, err = e.st.LastVisits(ctx, riverbend, rubric, []string{room}, days[0])
	mustNoErr(t, err)
	if len(last) != 0 {
		t.Errorf("last visits before the first = %v, want none", last)
	}
	// Visits on another rubric do not count, as in coverage.
	last, err = e.st.LastVisits(ctx, riverbend, "another-rubric", []string{room}, days[len(days)-1].AddDate(1, 0, 0))
	mustNoErr(t, err)
	if len(last) != 0 {
		t.Errorf("last visits on another rubric = %v, want none", last)
	}

	// Districts, sites, classrooms.
	d, err := e.st.ProgressDistrict(ctx, riverbend)
	mustNoErr(t, err)
	if d.ID != riverbend || d.Settings.SchoolYearStartMonth != 8 {
		t.Errorf("district = %+v", d)
	}
	if _, err := e.st.ProgressDistrict(ctx, "nowhere"); observation.KindOf(err) != observation.KindNotFound {
		t.Errorf("unknown district: %v", err)
	}
	opted, err := e.st.OptedInDistricts(ctx)
	mustNoErr(t, err)
	var ids []string
	for _, d := range opted {
		ids = append(ids, d.ID)
	}
	var wantIDs []string
	for _, d := range e.net.Districts {
		if d.Settings.NetworkOptIn {
			wantIDs = append(wantIDs, d.ID)
		}
	}
	slices.Sort(wantIDs)
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("opted-in districts %v, want %v", ids, wantIDs)
	}
	ss, err := e.st.ProgressSites(ctx, riverbend)
	mustNoErr(t, err)
	if len(ss) != 4 || !slices.IsSortedFunc(ss, func(a, b observation.Site) int { return cmp.Compare(a.ID, b.ID) }) {
		t.Errorf("sites = %v", ss)
	}
	rs, err := e.st.ProgressClassrooms(ctx, riverbend, nil)
	mustNoErr(t, err)
	one, err := e.st.ProgressClassrooms(ctx, riverbend, []string{tubman})
	mustNoErr(t, err)
	if len(rs) != 50 || len(one) != len(e.classrooms(tubman)) || one[0].TeacherID == "" || one[0].DistrictID != riverbend {
		t.Errorf("classrooms: %d in the district, %d at %s (%+v)", len(rs), len(one), tubman, one[0])
	}
	if !slices.IsSortedFunc(rs, func(a, b observation.Classroom) int {
		return cmp.Or(cmp.Compare(a.SiteID, b.SiteID), cmp.Compare(a.ID, b.ID))
	}) {
		t.Error("classrooms are not by site, then id")
	}

	// Rubric series: published and retired versions, ascending.
	vs, err := e.st.RubricSeriesVersions(ctx, rubric)
	mustNoErr(t, err)
	if len(vs) != 1 || vs[0].Version != e.rubric.Version || len(vs[0].Content.Dimensions) == 0 {
		t.Errorf("series = %+v", vs)
	}
	if _, err := e.st.RubricSeriesVersions(ctx, "no-such-rubric"); observation.KindOf(err) != observation.KindNotFound {
		t.Errorf("unknown rubric series: %v", err)
	}
}

func TestProgressGoals(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	admin := e.admins[riverbend]
	g := progress.Goal{DistrictID: riverbend, ID: uuid.Must(uuid.NewV7()).String(), Title: "Press for reasoning",
		RubricID: e.rubric.RubricID, Dimension: "press", Measure: progress.GoalShareProficient, Target: 0.6,
		TargetDate: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), CreatedBy: admin.UserID, CreatedAt: now(), UpdatedAt: now()}
	audit := observation.Audit(admin, riverbend, "goal.create", "goal", g.ID, now())
	saved, err := e.st.SaveGoal(ctx, g, false, audit)
	mustNoErr(t, err)
	if saved.ID != g.ID || !saved.TargetDate.Equal(g.TargetDate) || saved.Measure != g.Measure || saved.Target != 0.6 {
		t.Errorf("saved %+v", saved)
	}
	if _, err := e.st.SaveGoal(ctx, g, false, audit); observation.KindOf(err) != observation.KindAlreadyExists {
		t.Errorf("creating twice: %v", err)
	}
	g2 := g
	g2.ID, g2.SiteID, g2.Dimension, g2.Measure, g2.Target = uuid.Must(uuid.NewV7()).String(), tubman, "uptake", progress.GoalMeanLevel, 2.5
	g2.BaselineKind, g2.BaselineKey, g2.PeriodKind = progress.PeriodWindow, "2025-26/baseline", progress.PeriodTerm
	g2.CreatedAt = g.CreatedAt.Add(time.Second)
	_, err = e.st.SaveGoal(ctx, g2, false, observation.Audit(admin, riverbend, "goal.create", "goal", g2.ID, now()))
	mustNoErr(t, err)

	upd := g
	upd.Target, upd.Title, upd.CreatedBy, upd.UpdatedAt = 0.7, "Press harder", "someone-else", now().Add(time.Minute)
	saved, err = e.st.SaveGoal(ctx, upd, true, observation.Audit(admin, riverbend, "goal.update", "goal", g.ID, now()))
	mustNoErr(t, err)
	if saved.Target != 0.7 || saved.Title != "Press harder" || saved.CreatedBy != admin.UserID || !saved.CreatedAt.Equal(g.CreatedAt) ||
		!saved.UpdatedAt.Equal(upd.UpdatedAt) {
		t.Errorf("updated %+v", saved)
	}
	missing := g
	missing.ID = uuid.Must(uuid.NewV7()).String()
	if _, err := e.st.SaveGoal(ctx, missing, true, audit); observation.KindOf(err) != observation.KindNotFound {
		t.Errorf("updating a missing goal: %v", err)
	}
	other := g
	other.DistrictID = mesaVerde
	if _, err := e.st.SaveGoal(ctx, other, true, audit); observation.KindOf(err) != observation.KindNotFound {
		t.Errorf("updating another district's goal: %v", err)
	}

	goals, err := e.st.Goals(ctx, riverbend)
	mustNoErr(t, err)
	if len(goals) != 2 || goals[0].ID != g.ID || goals[1].ID != g2.ID || goals[1].SiteID != tubman ||
		goals[1].BaselineKind != progress.PeriodWindow || goals[1].BaselineKey != "2025-26/baseline" || goals[1].PeriodKind != progress.PeriodTerm {
		t.Errorf("goals = %+v", goals)
	}
	one, err := e.st.Goal(ctx, riverbend, g2.ID)
	mustNoErr(t, err)
	if one.ID != g2.ID || one.Measure != progress.GoalMeanLevel || one.Target != 2.5 {
		t.Errorf("goal = %+v", one)
	}
	for _, id := range []string{g2.ID, "not-a-uuid"} {
		if _, err := e.st.Goal(ctx, mesaVerde, id); observation.KindOf(err) != observation.KindNotFound {
			t.Errorf("goal %s of another district: %v", id, err)
		}
	}
	if none, err := e.st.Goals(ctx, mesaVerde); err != nil || len(none) != 0 {
		t.Errorf("goals of another district: %v, %v", none, err)
	}
	entries, err := e.st.ListAudit(ctx, observation.AuditQuery{DistrictID: riverbend, ResourceType: "goal", Limit: 10})
	mustNoErr(t, err)
	if len(entries) != 3 {
		t.Errorf("%d goal audit entries, want 3 (two creations, one update)", len(entries))
	}
}

// TestMigrationRebuildsProgress migrates a database that holds observations from before the
// aggregates (version 2) and checks that migrating up fills them.
func TestMigrationRebuildsProgress(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	if _, err := e.st.CopyObservations(ctx, e.calibrationRows(t, 5, 300)); err != nil {
		t.Fatal(err)
	}
	assertProgress(t, e.st, "loaded")
	m, err := e.st.NewMigrator()
	mustNoErr(t, err)
	defer m.Close()
	if _, err := m.DownTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	got := assertProgress(t, e.st, "migrated")
	if len(got.Pairs) == 0 || len(got.Cells) == 0 {
		t.Errorf("after migrating: %d cells, %d pairs", len(got.Cells), len(got.Pairs))
	}
	var flagged int
	mustNoErr(t, e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM districts WHERE progress_rebuild`).Scan(&flagged))
	if flagged != 0 {
		t.Errorf("%d districts still flagged for a rebuild", flagged)
	}
}

// TestMigrationFillsFirstSubmission rolls back and reapplies the migration that added
// submitted_at: it recomputes, from the stored revisions, the very times the writes recorded (a
// record submitted when created, one amended since, one submitted after a draft edit, a deleted
// one, a draft), and the aggregates are rebuilt with the co-observation rule.
func TestMigrationFillsFirstSubmission(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	coach1, coach2 := e.staff(t, riverbend+".coach-1"), e.staff(t, riverbend+".coach-2")
	rooms := e.classrooms(tubman)
	a := e.record(coach1, rooms[0], e.start, "mig-1")
	b := e.record(coach2, rooms[0], e.start, "mig-1")
	b.Status = observation.RecordDraft
	gone := e.record(coach1, rooms[1], e.start, "")
	draft := e.record(coach1, rooms[2], e.start, "")
	draft.Status = observation.RecordDraft
	e.push(t, coach1, upsert(a, 0), upsert(gone, 0), upsert(draft, 0))
	e.push(t, coach2, upsert(b, 0))
	a2 := a
	a2.NextSteps = "amended"
	e.push(t, coach1, upsert(a2, 1), deletion(gone.ID, 1))
	b.Status = observation.RecordSubmitted
	e.push(t, coach2, upsert(b, 1)) // a draft edit names the revision it edits
	times := func() map[string]string {
		out := map[string]string{}
		rows, err := e.st.Pool().Query(ctx, `SELECT observation_id::text, coalesce(submitted_at::text, '') FROM observations`)
		mustNoErr(t, err)
		defer rows.Close()
		for rows.Next() {
			var id, at string
			mustNoErr(t, rows.Scan(&id, &at))
			out[id] = at
		}
		return out
	}
	before := times()
	if before[a.ID] == "" || before[b.ID] == "" || before[draft.ID] != "" || before[gone.ID] == "" || before[b.ID] <= before[a.ID] {
		t.Fatalf("first submissions as written: %v", before)
	}
	m, err := e.st.NewMigrator()
	mustNoErr(t, err)
	defer m.Close()
	if _, err := m.DownTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if after := times(); !reflect.DeepEqual(after, before) {
		t.Fatalf("the migration filled first submissions %v, the writes had recorded %v", after, before)
	}
	got := assertProgress(t, e.st, "migrated")
	if n := classroomObservations(got, progress.PeriodSchoolYear, rooms[0].ID); n != 1 {
		t.Errorf("the co-observed lesson counts %d times after the migration, want once", n)
	}
}

// TestProgressStagedApply applies every bulk delta through the staging tables (used for large
// loads and rebuilds): loads, a load that deletes nothing, a rebuild. Not parallel: it changes
// the threshold for the whole package while it runs.
func TestProgressStagedApply(t *testing.T) {
	defer store.SetStageRows(store.SetStageRows(1))
	e := newProgressEnv(t)
	ctx := context.Background()
	if _, err := e.st.CopyObservations(ctx, e.calibrationRows(t, 6, 300)); err != nil {
		t.Fatal(err)
	}
	assertProgress(t, e.st, "staged load")
	if _, err := e.st.CopyObservations(ctx, e.calibrationRows(t, 7, 300)); err != nil {
		t.Fatal(err)
	}
	assertProgress(t, e.st, "second staged load")
	mustNoErr(t, e.st.RebuildProgress(ctx, riverbend))
	got := assertProgress(t, e.st, "staged rebuild")
	if len(got.Pairs) == 0 {
		t.Error("no pairs")
	}
}
