package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/store"
)

// TestAggregateMergeUnderConcurrentWriters applies small deltas (the compactor's way: stored
// rows read, summed in Go and written back) from two transactions at once, the second started
// while the first, which added to a stored row and inserted a new one, had not committed. Every
// row must end as the sum of every delta, site rows included, and a row lowered to no
// observations must be gone.
func TestAggregateMergeUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := pgtest.NewStore(t)
	cell := func(classroom string) progress.CellKey {
		return progress.CellKey{DistrictID: "merge-district", Kind: progress.PeriodMonth, PeriodKey: "2026-01", SiteID: "merge-site",
			ClassroomID: classroom, TeacherID: "teacher-" + classroom, RubricID: "merge-rubric"}
	}
	stored, fresh := cell("room-1"), cell("room-2")
	delta := func(cells map[progress.CellKey]map[string]int64) *progress.Delta {
		d := progress.NewDelta()
		for k, m := range cells {
			d.Cells[k] = progress.MetricsOf(m)
		}
		return d
	}
	changes := []map[progress.CellKey]map[string]int64{
		{stored: {"n": 1, "a": 2}},
		{stored: {"n": 1, "a": 1}, fresh: {"n": 1, "b": 1}},
		{stored: {"n": 2, "c": 5}, fresh: {"n": 3, "b": 2}},
	}
	deltas := make([]*progress.Delta, len(changes)) // applying a delta adds its site rows to it
	for i, c := range changes {
		deltas[i] = delta(c)
	}
	apply := func(tx pgx.Tx, d *progress.Delta) error { return store.ApplyDelta(ctx, tx, d) }
	if err := st.ReadWriteTx(ctx, func(tx pgx.Tx) error { return apply(tx, deltas[0]) }); err != nil {
		t.Fatal(err)
	}

	first, err := st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback(ctx)
	if err := apply(first, deltas[1]); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() { second <- st.ReadWriteTx(ctx, func(tx pgx.Tx) error { return apply(tx, deltas[2]) }) }()
	// The second waits for the first (on its district's version, raised first) before it is let through.
	for waiting := 0; waiting == 0; {
		if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-second:
			t.Fatalf("the second writer did not wait for the first: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	sum := map[progress.CellKey]map[string]int64{}
	for _, c := range changes {
		for k, m := range c {
			if sum[k] == nil {
				sum[k] = map[string]int64{}
			}
			for name, n := range m {
				sum[k][name] += n
			}
		}
	}
	want := delta(sum)
	assertAggregateRows(t, st, want.AddSiteRows())

	// Taking the fresh row's observations away deletes it; the stored row and the site row stay.
	lower := map[string]int64{"n": -sum[fresh]["n"], "b": -sum[fresh]["b"]}
	if err := st.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		return apply(tx, delta(map[progress.CellKey]map[string]int64{fresh: lower}))
	}); err != nil {
		t.Fatal(err)
	}
	delete(sum, fresh)
	assertAggregateRows(t, st, delta(sum).AddSiteRows())
}

// assertAggregateRows checks that the district's stored cell rows are want's, row for row.
func assertAggregateRows(t *testing.T, st *store.Store, want *progress.Delta) {
	t.Helper()
	rows, err := st.Pool().Query(context.Background(), `SELECT period_kind, period_key, site_id, classroom_id, teacher_id, rubric_id, m::text
		FROM progress_cells WHERE district_id = 'merge-district'`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[progress.CellKey]progress.Metrics{}
	k := progress.CellKey{DistrictID: "merge-district"}
	var raw []byte
	if _, err := pgx.ForEachRow(rows, []any{&k.Kind, &k.PeriodKey, &k.SiteID, &k.ClassroomID, &k.TeacherID, &k.RubricID, &raw}, func() error {
		m, err := store.DecodeMetrics(raw)
		got[k] = m
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want.Cells) {
		t.Fatalf("%d rows stored, want %d: %v", len(got), len(want.Cells), got)
	}
	for k, m := range want.Cells {
		if !got[k].Equal(m) {
			t.Errorf("row %s: stored %v, want %v", fmt.Sprint(k), got[k].Map(), m.Map())
		}
	}
}

// TestObservationsOfStoredCounters reads the observation count of counters in every form they
// are stored in (as the server writes them, as jsonb prints them, without a count, with the
// count elsewhere than first) and checks it against jsonb's reading.
func TestObservationsOfStoredCounters(t *testing.T) {
	t.Parallel()
	st := pgtest.NewStore(t)
	for _, m := range []string{
		`{"n":3,"d|talk|1|2":1}`, `{"n":-2}`, `{"n": 17, "T|teacher-1": 4}`, `{"d|talk|1|2":1}`, `{}`,
		`{"a|b":1,"n":6}`, `{"n|x":9,"n":4}`, ` {"n":5}`,
	} {
		var got, want int64
		if err := st.Pool().QueryRow(context.Background(), `SELECT `+store.ObservationsSQL("m")+`, coalesce((m::jsonb->>'n')::bigint, 0)
			FROM (VALUES ($1::text)) AS v(m)`, m).Scan(&got, &want); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if got != want {
			t.Errorf("%s: observations read as %d, want %d", m, got, want)
		}
	}
}
