package progress

import (
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
)

// TestNetworkCountsComplementary: a district's withheld observation count cannot be derived
// from the published network total: the smallest published district is withheld too.
func TestNetworkCountsComplementary(t *testing.T) {
	districts := []observation.District{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}
	sums := newNetworkSums()
	add := func(district string, teachers, observations int) {
		for i := range observations {
			c := CellRow{CellKey: CellKey{DistrictID: district, TeacherID: string(rune('a' + i%teachers)), ClassroomID: "r"},
				M: MetricsOf(map[string]int64{MetricObservations: 1})}
			sums.rows = append(sums.rows, c)
		}
	}
	add("a", 5, 40) // published
	add("b", 4, 12) // the smallest published: withheld so that c cannot be derived
	add("c", 3, 5)  // below the threshold
	// d: none, no data
	sums.sum(Series{}, nil)
	counts, total := sums.counts(districts, 3, 11)
	if total.Suppressed || total.N != 57 {
		t.Fatalf("total %+v, want 57 published", total)
	}
	want := []Cell{{N: 40, Value: 40}, {Suppressed: true, Reason: SuppressReasonComplementary},
		{Suppressed: true, Reason: SuppressReasonThreshold}, {NoData: true}}
	for i := range want {
		if counts[i] != want[i] {
			t.Errorf("district %s: %+v, want %+v", districts[i].ID, counts[i], want[i])
		}
	}
	// With two withheld already, nothing more is needed.
	sums = newNetworkSums()
	add("a", 5, 40)
	add("b", 2, 12) // too few teachers
	add("c", 3, 5)
	sums.sum(Series{}, nil)
	counts, _ = sums.counts(districts, 3, 11)
	if counts[0].Suppressed || counts[1].Reason != SuppressReasonTeachers || counts[2].Reason != SuppressReasonThreshold {
		t.Errorf("two withheld: %+v", counts)
	}
}
