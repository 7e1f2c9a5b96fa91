package store_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
)

// countingStore is the real store, counting the site rows ProgressCells returns with and without
// their counters.
type countingStore struct {
	progress.Store
	whole, reused int
}

func (c *countingStore) ProgressCells(ctx context.Context, q progress.CellQuery) ([]progress.CellRow, error) {
	rows, err := c.Store.ProgressCells(ctx, q)
	for _, r := range rows {
		if r.M == nil {
			c.reused++
		} else if q.BySite {
			c.whole++
		}
	}
	return rows, err
}

func (c *countingStore) reset() { c.whole, c.reused = 0, 0 }

// A service that has read a district's site rows gets only the changed ones again (a row with a
// push's delta still in the log, or rewritten since), and its views equal those of a service that
// reads every row whole.
func TestDistrictProgressReusesUnchangedSiteRows(t *testing.T) {
	w := newHandWorld(t)
	ctx := context.Background()
	feb := day(2026, 2, 9)
	w.push(t, w.rec(hwLincoln, 0, feb, 2, 3), w.rec(hwLincoln, 1, feb, 3, 0), w.rec(hwLincoln, 2, feb, 4, 1),
		w.rec(hwCedar, 0, feb, 1, 2), w.rec(hwCedar, 1, feb, 2, 2))
	compact := func() {
		t.Helper()
		if _, err := w.st.CompactProgress(ctx, 1_000_000); err != nil {
			t.Fatal(err)
		}
	}
	compact()
	admin := observation.Principal{UserID: riverbend + ".district-admin", Role: observation.RoleDistrictAdmin, DistrictID: riverbend}
	q := progress.ViewQuery{DistrictID: riverbend, PeriodKind: "month", PeriodKey: "2026-02"}
	counting := &countingStore{Store: w.st}
	pr := &progress.Service{Store: counting, Now: w.clock}
	view := func(step string, wantWhole, wantReused int) {
		t.Helper()
		counting.reset()
		got, err := pr.DistrictProgress(ctx, admin, q)
		mustNoErr(t, err)
		want, err := (&progress.Service{Store: w.st, Now: w.clock}).DistrictProgress(ctx, admin, q)
		mustNoErr(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: the view with reused rows differs from one read whole:\n got %+v\nwant %+v", step, got, want)
		}
		if counting.whole != wantWhole || counting.reused != wantReused {
			t.Fatalf("%s: %d site rows read whole and %d reused, want %d and %d", step, counting.whole, counting.reused, wantWhole, wantReused)
		}
	}
	// February against January: Lincoln's and Cedar Grove's February rows; January has none.
	view("first read", 2, 0)
	view("nothing changed", 0, 2)
	w.push(t, w.rec(hwCedar, 2, feb, 4, 4))
	view("a push to Cedar Grove still in the log", 1, 1)
	view("the same again", 1, 1)
	compact()
	view("Cedar Grove's row rewritten by the compactor", 1, 1)
	view("nothing changed since", 0, 2)
	if err := w.st.RebuildProgress(ctx, riverbend); err != nil {
		t.Fatal(err)
	}
	view("every row rewritten by a rebuild", 2, 0)

	// March in progress (today is 16 March) against the same days of February: the day rows of
	// 1-15 February of each site are one sum. A new day row at Lincoln makes its sum stale: the
	// rows that came without counters are read again whole, in a second statement.
	q = progress.ViewQuery{DistrictID: riverbend, PeriodKind: "month", PeriodKey: "2026-03"}
	view("March, first read", 2, 0) // Lincoln's and Cedar Grove's 9 February
	view("March again", 0, 2)
	w.push(t, w.rec(hwLincoln, 1, day(2026, 2, 11), 3, 3))
	// Lincoln's 11 February from the log and its 9 February without counters, then both again.
	view("March after a push to Lincoln", 1+2, 2)
	compact()
	view("March after the compactor", 1+2, 2)
	view("March, nothing changed since", 0, 3)
}
