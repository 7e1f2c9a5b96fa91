package store_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/store"
)

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
