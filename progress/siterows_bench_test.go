package progress

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchDelta returns a delta of cells cell rows of one district: days, weeks, months and the
// school year of 30 sites and 750 classrooms, each row with about two thirds of 51 counters.
func benchDelta(cells int) *Delta {
	rng := rand.New(rand.NewPCG(3, 5))
	var names []string
	names = append(names, MetricObservations)
	for dim := range 6 {
		for lv := range 5 {
			names = append(names, fmt.Sprintf("d|dim%d|1|%d", dim, lv))
		}
	}
	for i := range 20 {
		names = append(names, fmt.Sprintf("t|talk%d", i))
	}
	d := NewDelta()
	for range cells {
		kind := []PeriodKind{PeriodDaily, PeriodWeek, PeriodMonth, PeriodSchoolYear}[rng.IntN(4)]
		pk := map[PeriodKind]string{PeriodDaily: fmt.Sprintf("2026-%02d-%02d", 1+rng.IntN(6), 1+rng.IntN(28)),
			PeriodWeek: fmt.Sprint(rng.IntN(20)), PeriodMonth: fmt.Sprint(rng.IntN(6)), PeriodSchoolYear: "y"}[kind]
		k := CellKey{DistrictID: "d", Kind: kind, PeriodKey: pk,
			SiteID: fmt.Sprintf("s%d", rng.IntN(30)), ClassroomID: fmt.Sprintf("c%d", rng.IntN(750)), RubricID: "r"}
		k.TeacherID = "t-" + k.ClassroomID
		m := map[string]int64{}
		for _, n := range names {
			if rng.IntN(3) > 0 {
				m[n] = int64(1 + rng.IntN(3))
			}
		}
		m[MetricObservations] = 1
		d.Cells[k] = MetricsOf(m)
	}
	return d
}

// BenchmarkAddSiteRows: the site rows of 100,000 cell rows, as a load makes them for each delta
// it sets aside.
func BenchmarkAddSiteRows(b *testing.B) {
	base := benchDelta(100_000)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		d := NewDelta()
		for k, m := range base.Cells {
			d.Cells[k] = m
		}
		b.StartTimer()
		d.AddSiteRows()
	}
}
