package store_test

import (
	"context"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/store"
)

// TestLoaderProgress loads rows in many batches of one Loader, with co-observation groups
// split across batches and joining groups stored before the load, the accumulated delta set
// aside in run files several times on the way and merged at Commit, in chunks, into rows stored
// before, and checks that nothing shows before Commit and that the
// aggregates equal the recomputation after it. Not parallel: it changes the flush threshold for
// the whole package while it runs.
func TestLoaderProgress(t *testing.T) {
	defer store.SetLoadFlushCells(store.SetLoadFlushCells(300))
	defer store.SetStageRows(store.SetStageRows(1)) // every write through the loader's own path
	// Each batch's delta computed in shards (on a machine of two cores or more), the first
	// straight into the load's.
	defer store.SetBulkShardMin(store.SetBulkShardMin(20))
	e := newProgressEnv(t)
	ctx := context.Background()
	first := e.calibrationRows(t, 11, 200)
	if _, err := e.st.CopyObservations(ctx, first); err != nil {
		t.Fatal(err)
	}
	assertProgress(t, e.st, "before the load")
	before := countObservations(t, e.st)

	// The rows in an order that puts the two members of a group in different batches, and
	// second members for groups of the first load.
	rows := e.calibrationRows(t, 12, 600)
	var load []observation.StoredObservation
	for i := 0; i < len(rows); i += 2 {
		load = append(load, rows[i])
	}
	for i := 1; i < len(rows); i += 2 {
		load = append(load, rows[i])
	}
	admin := e.staff(t, riverbend+".district-admin")
	for _, o := range first {
		if o.CoObservation != "" && progress.Counted(o) && len(load) < 700 {
			c := observation.Classroom{DistrictID: o.DistrictID, ID: o.ClassroomID, SiteID: o.SiteID, TeacherID: o.TeacherID,
				Course: o.Course, Grade: o.Grade, Section: o.Section}
			load = append(load, observation.StoredObservation{Record: e.record(admin, c, o.StartedAt, o.CoObservation)})
		}
	}
	l, err := e.st.BeginLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Rollback(ctx) // after a failure; nothing after Commit
	var copied int64
	for lo := 0; lo < len(load); lo += 97 {
		n, err := l.Copy(ctx, load[lo:min(lo+97, len(load))])
		if err != nil {
			t.Fatal(err)
		}
		copied += n
	}
	if got := countObservations(t, e.st); got != before {
		t.Errorf("before Commit: %d observations stored, want %d", got, before)
	}
	n, err := l.Commit(ctx)
	if err != nil || n != copied || n != int64(len(load)) {
		t.Fatalf("Commit = %d, %v; want %d", n, err, len(load))
	}
	if got := countObservations(t, e.st); got != before+n {
		t.Errorf("after Commit: %d observations stored, want %d", got, before+n)
	}
	got := assertProgress(t, e.st, "after the load")
	if len(got.Pairs) == 0 {
		t.Error("no pairs")
	}
}

// TestLoaderProgressNewDistrict loads into a district with no aggregate rows, the accumulated
// delta set aside in run files several times on the way: Commit then copies every row in,
// merging the runs as it sends them, and the aggregates equal the recomputation.
func TestLoaderProgressNewDistrict(t *testing.T) {
	defer store.SetLoadFlushCells(store.SetLoadFlushCells(300))
	e := newProgressEnv(t)
	ctx := context.Background()
	rows := e.calibrationRows(t, 13, 600)
	l, err := e.st.BeginLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Rollback(ctx)
	for lo := 0; lo < len(rows); lo += 97 {
		if _, err := l.Copy(ctx, rows[lo:min(lo+97, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := l.Commit(ctx); err != nil || n != int64(len(rows)) {
		t.Fatalf("Commit = %d, %v; want %d", n, err, len(rows))
	}
	if got := assertProgress(t, e.st, "after the load"); len(got.Pairs) == 0 {
		t.Error("no pairs")
	}
}

// TestLoaderFails: a batch with a row stored already fails the load, and nothing of it (not
// the batches before) is stored.
func TestLoaderFails(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	first := e.calibrationRows(t, 13, 100)
	if _, err := e.st.CopyObservations(ctx, first); err != nil {
		t.Fatal(err)
	}
	before := countObservations(t, e.st)
	l, err := e.st.BeginLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Copy(ctx, e.calibrationRows(t, 14, 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Copy(ctx, first[:3]); observation.KindOf(err) != observation.KindAlreadyExists {
		t.Fatalf("copying stored rows: %v, want already exists", err)
	}
	if _, err := l.Copy(ctx, e.calibrationRows(t, 15, 10)); err == nil {
		t.Error("a failed load accepted another batch")
	}
	if _, err := l.Commit(ctx); observation.KindOf(err) != observation.KindAlreadyExists {
		t.Errorf("Commit of a failed load: %v, want the load's error", err)
	}
	l.Rollback(ctx)
	if got := countObservations(t, e.st); got != before {
		t.Errorf("after the failed load: %d observations, want %d", got, before)
	}
	assertProgress(t, e.st, "after the failed load")

	// A district that does not exist fails the load the same way.
	l, err = e.st.BeginLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wrong := e.calibrationRows(t, 16, 1)
	wrong[0].DistrictID = "no-such-district"
	if _, err := l.Copy(ctx, wrong); observation.KindOf(err) != observation.KindNotFound {
		t.Errorf("a row of an unknown district: %v, want not found", err)
	}
	l.Rollback(ctx)
}
