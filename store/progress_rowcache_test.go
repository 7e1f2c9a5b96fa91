package store_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
)

// countingStore is the real store, counting the site rows ProgressCells returns with and without
// their counters.
type countingStore struct {
	progress.Store
	whole, reused int
	// of ProgressDistrictRows: the districts' versions returned, and how many said Unchanged
	versions, unchanged int
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

func (c *countingStore) ProgressDistrictRows(ctx context.Context, q progress.CellQuery, held []progress.DistrictVersion) ([]progress.CellRow, []progress.DistrictVersion, error) {
	rows, versions, err := c.Store.ProgressDistrictRows(ctx, q, held)
	for _, r := range rows {
		if r.M == nil {
			c.reused++
		} else {
			c.whole++
		}
	}
	for _, v := range versions {
		c.versions++
		if v.Unchanged {
			c.unchanged++
		}
	}
	return rows, versions, err
}

func (c *countingStore) reset() { c.whole, c.reused, c.versions, c.unchanged = 0, 0, 0, 0 }

// A service that has read a district's site rows is sent none of them again while the district's
// version has not moved and nothing is logged for them; otherwise it is sent the rows without
// their counters, except those a push's delta in the log adds to, and reads again whole only
// the sites whose rows changed. Site trends of one site, which share that site's sums, leave the
// district view's reads as they are. The views always equal those of a service that reads every
// row whole.
func TestDistrictProgressReusesUnchangedSiteRows(t *testing.T) {
	w := newHandWorld(t)
	ctx := context.Background()
	feb := day(2026, 2, 9)
	w.push(t, w.rec(hwLincoln, 0, feb, 2, 3), w.rec(hwLincoln, 1, feb, 3, 0), w.rec(hwLincoln, 2, feb, 4, 1),
		w.rec(hwCedar, 0, feb, 1, 2), w.rec(hwCedar, 1, feb, 2, 2))
	w.compact(t)
	admin := observation.Principal{UserID: riverbend + ".district-admin", Role: observation.RoleDistrictAdmin, DistrictID: riverbend}
	q := progress.ViewQuery{DistrictID: riverbend, PeriodKind: "month", PeriodKey: "2026-02"}
	counting := &countingStore{Store: w.st}
	pr := &progress.Service{Store: counting, Now: w.clock}
	// view checks the rows sent with and without counters, and the reads that said the district
	// was unchanged (sent no rows).
	view := func(step string, wantWhole, wantReused, wantUnchanged int) {
		t.Helper()
		counting.reset()
		got, err := pr.DistrictProgress(ctx, admin, q)
		mustNoErr(t, err)
		want, err := (&progress.Service{Store: w.st, Now: w.clock}).DistrictProgress(ctx, admin, q)
		mustNoErr(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: the view with reused rows differs from one read whole:\n got %+v\nwant %+v", step, got, want)
		}
		if counting.whole != wantWhole || counting.reused != wantReused || counting.unchanged != wantUnchanged {
			t.Fatalf("%s: %d site rows read whole, %d without counters, %d reads unchanged; want %d, %d and %d", step,
				counting.whole, counting.reused, counting.unchanged, wantWhole, wantReused, wantUnchanged)
		}
	}
	trends := func(step string) {
		t.Helper()
		tq := progress.ViewQuery{DistrictID: riverbend, SiteID: hwLincoln, PeriodKind: "month", Periods: 3}
		got, err := pr.SiteTrends(ctx, admin, tq)
		mustNoErr(t, err)
		want, err := (&progress.Service{Store: w.st, Now: w.clock}).SiteTrends(ctx, admin, tq)
		mustNoErr(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: site trends with reused rows differ from those read whole:\n got %+v\nwant %+v", step, got, want)
		}
	}
	// February against January: Lincoln's and Cedar Grove's February rows; January has none.
	view("first read", 2, 0, 0)
	view("nothing changed", 0, 0, 1)
	w.push(t, w.rec(hwCedar, 2, feb, 4, 4))
	view("a push to Cedar Grove still in the log", 1, 1, 0) // Cedar Grove's row with the delta added
	view("the same again", 1, 1, 0)
	w.compact(t)
	view("Cedar Grove's row rewritten by the compactor", 1, 2, 0) // both without counters, then Cedar Grove's
	view("nothing changed since", 0, 0, 1)
	if err := w.st.RebuildProgress(ctx, riverbend); err != nil {
		t.Fatal(err)
	}
	view("every row rewritten by a rebuild", 2, 2, 0)

	// March in progress (today is 16 March) against the same days of February: the day rows of
	// 1-15 February of each site are one sum. A new day row at Lincoln makes its sum stale: its
	// rows are read again whole, in a second statement.
	q = progress.ViewQuery{DistrictID: riverbend, PeriodKind: "month", PeriodKey: "2026-03"}
	view("March, first read", 2, 0, 0) // Lincoln's and Cedar Grove's 9 February
	view("March again", 0, 0, 2)       // the month rows and the day rows: two reads
	trends("Lincoln's trends, first read")
	trends("Lincoln's trends again")
	view("March after Lincoln's trends", 0, 0, 2)
	w.push(t, w.rec(hwLincoln, 1, day(2026, 2, 11), 3, 3))
	// Lincoln's 11 February from the log and both 9 Februaries without counters, then Lincoln's
	// two days whole.
	view("March after a push to Lincoln", 1+2, 2, 1)
	trends("Lincoln's trends after a push")
	w.compact(t)
	view("March after the compactor", 2, 3, 0) // the compactor moved the version: neither read is unchanged
	trends("Lincoln's trends after the compactor")
	view("March, nothing changed since", 0, 0, 2)
}

// The network measures hold each district's sums by the district's version: a service that has
// read them is sent no rows of a district whose version did not move and that has nothing in the
// log, and the rows' keys and revs (to compare) of one that moved. A push (in the log) leaves the
// version alone but its district is read again; the compactor, a rebuild and a load raise it. The
// measures always equal those of a service that reads every row whole.
func TestNetworkReusesUnchangedDistricts(t *testing.T) {
	w := newHandWorld(t)
	ctx := context.Background()
	feb, mar := day(2026, 2, 9), day(2026, 3, 10)
	w.push(t, w.rec(hwLincoln, 0, feb, 2, 3), w.rec(hwLincoln, 1, mar, 3, 0), w.rec(hwCedar, 0, feb, 1, 2), w.rec(hwCedar, 1, mar, 2, 2))
	w.compact(t)
	analyst := observation.Principal{UserID: "analyst-1", Role: observation.RoleNetworkAnalyst}
	q := progress.ViewQuery{} // the school year in progress (16 March 2026)
	counting := &countingStore{Store: w.st}
	pr := &progress.Service{Store: counting, Now: w.clock}
	type counts struct{ whole, reused, versions, unchanged int }
	read := func(step string, want counts) {
		t.Helper()
		counting.reset()
		got, err := pr.Network(ctx, analyst, q)
		mustNoErr(t, err)
		fresh, err := (&progress.Service{Store: w.st, Now: w.clock}).Network(ctx, analyst, q)
		mustNoErr(t, err)
		if !reflect.DeepEqual(got, fresh) {
			t.Fatalf("%s: the measures with reused sums differ from those read whole:\n got %+v\nwant %+v", step, got, fresh)
		}
		if c := (counts{counting.whole, counting.reused, counting.versions, counting.unchanged}); c != want {
			t.Fatalf("%s: %+v site rows read whole, reused, district versions and districts unchanged, want %+v", step, c, want)
		}
	}
	// Riverbend's rows of the months before March and of March's days, both years, and
	// Lakeshore's (none), each read one statement per district (their calendars differ): 8.
	read("first read", counts{whole: 4, versions: 8})
	read("nothing changed", counts{versions: 8, unchanged: 8})
	w.push(t, w.rec(hwCedar, 2, mar, 4, 4))
	// The March days of Riverbend: Cedar Grove's 10 March with the log's delta, Lincoln's without
	// counters, then both whole in a second statement; the other reads are unchanged.
	read("a push to Cedar Grove still in the log", counts{whole: 1 + 2, reused: 1, versions: 8 + 1, unchanged: 7})
	read("the same again", counts{whole: 1 + 2, reused: 1, versions: 8 + 1, unchanged: 7})
	w.compact(t)
	// Riverbend's version moved: its February rows come without counters and are reused, its
	// March days too but Cedar Grove's changed (both read again whole).
	read("the compactor", counts{whole: 2, reused: 2 + 2, versions: 8 + 1, unchanged: 4})
	read("nothing changed since", counts{versions: 8, unchanged: 8})
	if err := w.st.RebuildProgress(ctx, riverbend); err != nil {
		t.Fatal(err)
	}
	read("a rebuild rewrote every row", counts{whole: 2 + 2, reused: 2 + 2, versions: 8 + 2, unchanged: 4})
	read("nothing changed after the rebuild", counts{versions: 8, unchanged: 8})

	// A load adds Lakeshore's first row (its version moves from 0).
	var lakeshoreSite string
	for site := range w.rooms {
		if strings.HasPrefix(site, "lakeshore-usd.") && (lakeshoreSite == "" || site < lakeshoreSite) {
			lakeshoreSite = site
		}
	}
	if _, err := w.st.CopyObservations(ctx, []observation.StoredObservation{{Record: w.rec(lakeshoreSite, 0, mar, 3, 3)}}); err != nil {
		t.Fatal(err)
	}
	read("a load into Lakeshore", counts{whole: 1, reused: 1, versions: 8 + 1, unchanged: 4})
	read("nothing changed after the load", counts{versions: 8, unchanged: 8})
	l, err := w.st.BeginLoad(ctx)
	mustNoErr(t, err)
	defer l.Rollback(ctx)
	_, err = l.Copy(ctx, []observation.StoredObservation{{Record: w.rec(hwLincoln, 2, feb, 1, 1)}})
	mustNoErr(t, err)
	_, err = l.Commit(ctx)
	mustNoErr(t, err)
	// Lincoln's February changed: Riverbend's February rows are read again whole; its March days
	// are reused.
	read("the loader into Riverbend", counts{whole: 2, reused: 2 + 2, versions: 8 + 1, unchanged: 4})
	read("nothing changed after the loader", counts{versions: 8, unchanged: 8})
}

// A service reading the network measures while pushes and the compactor write holds nothing that
// outlives a change: once the writes stop, its measures equal those of a service that reads
// every row whole, round after round.
func TestNetworkReuseUnderConcurrentWrites(t *testing.T) {
	w := newHandWorld(t)
	ctx := context.Background()
	analyst := observation.Principal{UserID: "analyst-1", Role: observation.RoleNetworkAnalyst}
	pr := &progress.Service{Store: w.st, Now: w.clock}
	sites := []string{hwLincoln, hwCedar}
	for round := range 5 {
		done := make(chan struct{})
		errs := make(chan error, 2)
		go func() { // the compactor, until the pushes are done
			for {
				if _, err := w.st.CompactProgress(ctx, 1+round); err != nil {
					errs <- err
					return
				}
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
			}
		}()
		go func() { // a server's reads meanwhile
			for {
				if _, err := pr.Network(ctx, analyst, progress.ViewQuery{}); err != nil {
					errs <- err
					return
				}
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
			}
		}()
		for i := range 6 {
			w.push(t, w.rec(sites[i%2], i%3, day(2026, time.Month(2+i%2), 2+round+i), 1+i%4, 1+(round+i)%4))
		}
		close(done)
		mustNoErr(t, <-errs)
		mustNoErr(t, <-errs)
		if round%2 == 0 { // some rounds end with deltas still in the log
			w.compact(t)
		}
		for range 2 {
			got, err := pr.Network(ctx, analyst, progress.ViewQuery{})
			mustNoErr(t, err)
			want, err := (&progress.Service{Store: w.st, Now: w.clock}).Network(ctx, analyst, progress.ViewQuery{})
			mustNoErr(t, err)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d: the measures with reused sums differ from those read whole:\n got %+v\nwant %+v", round, got, want)
			}
		}
	}
}
