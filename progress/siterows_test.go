package progress

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestAddSiteRowsSumsTheirCells checks AddSiteRows against its definition: each site row gains
// the sum, cell by cell, of SiteMetrics of the cells of its site (large sites too, whose
// counters AddSiteRows sums in several steps), and site rows already in the delta keep what
// they held.
func TestAddSiteRowsSumsTheirCells(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	names := []string{MetricObservations, "d|talk|1|0", "d|talk|1|2", "d|talk|1|4", "d|press|2|1", "d|press|2|3", "t|revoicing", "g|ell|n"}
	for _, cells := range []int{1, 40, 3000} {
		t.Run(fmt.Sprint(cells), func(t *testing.T) {
			d := NewDelta()
			for range cells {
				k := CellKey{DistrictID: "d", Kind: PeriodMonth, PeriodKey: fmt.Sprintf("2026-0%d", 1+rng.IntN(2)),
					SiteID: fmt.Sprintf("s%d", rng.IntN(3)), ClassroomID: fmt.Sprintf("c%d", rng.IntN(400)), RubricID: "r"}
				k.TeacherID = "t-" + k.ClassroomID
				m := map[string]int64{}
				for _, n := range names {
					if rng.IntN(3) > 0 {
						m[n] = int64(rng.IntN(7) - 2)
					}
				}
				d.Cells[k] = MetricsOf(m)
			}
			held := SiteKey(CellKey{DistrictID: "d", Kind: PeriodMonth, PeriodKey: "2026-01", SiteID: "s0", RubricID: "r"})
			d.Cells[held] = MetricsOf(map[string]int64{MetricObservations: 9, "T|someone": 9})

			want := map[CellKey]Metrics{held: MetricsOf(map[string]int64{MetricObservations: 9, "T|someone": 9})}
			for k, m := range d.Cells {
				if k.SiteRow() {
					continue
				}
				s := want[SiteKey(k)]
				s.Add(siteCounters(k, m), 1)
				want[SiteKey(k)] = s
			}
			d.AddSiteRows()
			for sk, m := range want {
				if !d.Cells[sk].Equal(m) {
					t.Errorf("site row %v: %v, want %v", sk, d.Cells[sk].Map(), m.Map())
				}
			}
			sites := 0
			for k := range d.Cells {
				if k.SiteRow() {
					sites++
				}
			}
			if sites != len(want) {
				t.Errorf("%d site rows, want %d", sites, len(want))
			}
		})
	}
}

// siteCounters are the counters a cell adds to its site row, as the site rows' comment defines
// them: its own, T|<teacher> its observations, D|<dimension>|<version>|<teacher> each scored level.
func siteCounters(k CellKey, m Metrics) Metrics {
	out := map[string]int64{}
	for name, n := range m.All() {
		out[name] += n
		if dim, ver, _, ok := scoredLevel(name); ok {
			out["D|"+dim+"|"+ver+"|"+k.TeacherID] += n
		}
	}
	out["T|"+k.TeacherID] += int64(m.Observations())
	return MetricsOf(out)
}
