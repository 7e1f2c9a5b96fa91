package progress

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// randomCounts returns up to n counters over a small set of names (so that two of them share
// names), some of them 0.
func randomCounts(rng *rand.Rand, n int) map[string]int64 {
	out := map[string]int64{}
	for range rng.IntN(n + 1) {
		name := "x|" + strconv.Itoa(rng.IntN(3*n/2+1))
		if rng.IntN(4) == 0 {
			name = MetricObservations
		}
		out[name] = rng.Int64N(21) - 10
	}
	return out
}

// nonZero is counts without the counters that are 0.
func nonZero(counts map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range counts {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// TestMetricsAddMatchesMaps: adding counters as sorted lists gives what adding maps of names
// gives, for the receiver and the operand sharing some, all or none of their names, the
// operand's names all among the receiver's or not, and leaves the operand as it was.
func TestMetricsAddMatchesMaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		a, b := randomCounts(rng, 12), randomCounts(rng, 12)
		switch i % 4 {
		case 0: // the same names: the in-place path
			b = maps.Clone(a)
			for k := range b {
				b[k] = rng.Int64N(7) - 3
			}
		case 1: // some of the receiver's names: in place too
			b = map[string]int64{}
			for k := range a {
				if rng.IntN(2) == 0 {
					b[k] = rng.Int64N(7) - 3
				}
			}
		}
		sign := []int64{1, -1, 2}[rng.IntN(3)]
		want := maps.Clone(a)
		for k, v := range b {
			want[k] += sign * v
		}
		m, o := MetricsOf(a), MetricsOf(b)
		before := slices.Clone(o)
		m.Add(o, sign)
		if got := m.Map(); !maps.Equal(got, nonZero(want)) {
			t.Fatalf("%v + %d × %v = %v, want %v", a, sign, b, got, nonZero(want))
		}
		if !m.Equal(MetricsOf(want)) || !MetricsOf(want).Equal(m) {
			t.Fatalf("Equal(%v, %v) is false", m.Map(), want)
		}
		if !slices.Equal(o, before) {
			t.Fatalf("Add changed its operand: %v, was %v", o, before)
		}
		if got := m.Observations(); int64(got) != want[MetricObservations] {
			t.Fatalf("Observations() = %d, want %d", got, want[MetricObservations])
		}
		zero := len(nonZero(want)) == 0
		if m.Zero() != zero {
			t.Fatalf("Zero() = %v for %v", m.Zero(), want)
		}
	}
}

// TestMetricsEqualCountsZerosAsMissing: a counter that is 0 equals a missing one, on either side.
func TestMetricsEqualCountsZerosAsMissing(t *testing.T) {
	a := Metrics{{KeyOf("a"), 1}, {KeyOf("b"), 0}}
	b := MetricsOf(map[string]int64{"a": 1})
	if !a.Equal(b) || !b.Equal(a) {
		t.Error("a zero counter makes two counts differ")
	}
	if c := MetricsOf(map[string]int64{"a": 2}); a.Equal(c) || c.Equal(a) {
		t.Error("different counts are equal")
	}
	if !(Metrics{}).Equal(nil) || !(Metrics{{KeyOf("a"), 0}}).Zero() {
		t.Error("empty counts differ")
	}
}

// TestMetricsBuilderSumsRepeatedNames: a name given twice is one counter with the sum.
func TestMetricsBuilderSumsRepeatedNames(t *testing.T) {
	var b MetricsBuilder
	for _, c := range []struct {
		name string
		v    int64
	}{{"z", 1}, {"a", 2}, {"z", 3}, {MetricObservations, 1}, {"a", -2}} {
		b.Add(KeyOf(c.name), c.v)
	}
	m := b.Metrics()
	if got, want := m.Map(), map[string]int64{"z": 4, MetricObservations: 1}; !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for i := 1; i < len(m); i++ {
		if m[i].Key <= m[i-1].Key {
			t.Fatalf("not in key order: %v", m)
		}
	}
	if m := b.Metrics(); m == nil || len(m) != 0 {
		t.Errorf("an emptied builder gives %v, want an empty, non-nil Metrics", m)
	}
}

// TestMetricsJSON: counters marshal as an object of their names and read back equal.
func TestMetricsJSON(t *testing.T) {
	m := MetricsOf(map[string]int64{MetricObservations: 3, "d|talk|1|2": -1, "e|s|ell": 1500})
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Metrics
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(m) {
		t.Errorf("%s read back as %v", b, back.Map())
	}
	if err := json.Unmarshal([]byte(`{"n": "x"}`), &back); err == nil {
		t.Error("a counter that is not an integer was read")
	}
}

// TestSortCountersByKey: sortCounters orders counters by key, keeping every counter, for lists
// short (by comparison) and long (by key bytes) and keys of one to four bytes; and a builder
// given hundreds of counters in any order, names repeated, sums them as a map would.
func TestSortCountersByKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, top := range []uint32{0, 1, 255, 256, 65_535, 65_536, 1 << 24, math.MaxUint32} {
		for _, n := range []int{0, 1, radixMin - 1, radixMin, 1000} {
			m := make([]Counter, n)
			for i := range m {
				m[i] = Counter{MetricKey(rng.Uint64N(uint64(top)/uint64(1+rng.IntN(3)) + 1)), rng.Int64N(100)}
				if rng.IntN(4) == 0 {
					m[i].Key = MetricKey(top)
				}
			}
			want := slices.Clone(m)
			slices.SortStableFunc(want, func(a, b Counter) int { return cmp.Compare(a.Key, b.Key) })
			got := sortCounters(slices.Clone(m))
			if !slices.IsSortedFunc(got, func(a, b Counter) int { return cmp.Compare(a.Key, b.Key) }) {
				t.Fatalf("top %d, %d counters: not sorted", top, n)
			}
			// The same counters: compare as multisets, each key's counts sorted.
			sortN := func(s []Counter) {
				slices.SortStableFunc(s, func(a, b Counter) int { return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.N, b.N)) })
			}
			sortN(got)
			sortN(want)
			if !slices.Equal(got, want) {
				t.Fatalf("top %d, %d counters: counters lost or changed", top, n)
			}
		}
	}
	var b MetricsBuilder
	want := map[string]int64{}
	for range 3000 {
		name := fmt.Sprintf("sort-test|%d", rng.IntN(700))
		v := rng.Int64N(9) + 1
		b.Add(KeyOf(name), v)
		want[name] += v
	}
	if got := b.Metrics().Map(); !maps.Equal(got, want) {
		t.Fatalf("the builder's sums differ from the map's: %d names, want %d", len(got), len(want))
	}
}
