package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/sync"
)

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
	if len(got.Cells) == 0 || len(got.Pairs) != 0 {
		t.Fatalf("solo visits: %d cells, %d pairs", len(got.Cells), len(got.Pairs))
	}
	// One compaction folds the log rows of both districts and leaves none.
	if n, err := e.st.CompactProgress(context.Background(), 1_000); err != nil || n == 0 {
		t.Fatalf("compacting two districts' log rows: folded %d, %v", n, err)
	}
	var logged, districts int
	if err := e.st.Pool().QueryRow(context.Background(), `SELECT
			(SELECT count(*) FROM progress_delta_log),
			(SELECT count(DISTINCT district_id) FROM progress_cells WHERE district_id IN ($1, $2))`, riverbend, mesaVerde).
		Scan(&logged, &districts); err != nil {
		t.Fatal(err)
	}
	if logged != 0 || districts != 2 {
		t.Fatalf("after one compaction: %d log rows left, cells of %d districts; want 0 and 2", logged, districts)
	}
	assertProgress(t, e.st, "solo visits compacted")

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
		INSERT INTO progress_pairs VALUES ('riverbend-usd', 'month', '2025-09', 's', 'a', 'b', 'r', '{"n": 3}')`)
	mustNoErr(t, err)
	mustNoErr(t, e.st.RebuildProgress(ctx, riverbend))
	assertProgress(t, e.st, "rebuilt")
}
