package progress

import (
	"reflect"
	"slices"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
)

func shown(n int, v float64) Cell { return Cell{N: n, Value: v} }

var (
	hidden        = Cell{Suppressed: true, Reason: SuppressReasonThreshold}
	complementary = Cell{Suppressed: true, Reason: SuppressReasonComplementary}
	fewTeachers   = Cell{Suppressed: true, Reason: SuppressReasonTeachers}
)

func TestSuppressRow(t *testing.T) {
	total := &Cell{N: 71, Value: 0.62}
	cases := []struct {
		name      string
		cells     []Cell
		threshold int
		total     *Cell
		want      []Cell
	}{
		{
			name:      "nothing small",
			cells:     []Cell{shown(25, 0.5), shown(11, 0.9), shown(30, 0.7)},
			threshold: 11, total: total,
			want: []Cell{shown(25, 0.5), shown(11, 0.9), shown(30, 0.7)},
		},
		{
			// Cell 1 (n 4) could be derived from the total and cells 0, 2, 3, so the next
			// smallest, cell 3 (n 12), is suppressed too.
			name:      "complementary",
			cells:     []Cell{shown(25, 0.5), shown(4, 0.9), shown(30, 0.7), shown(12, 0.6)},
			threshold: 11, total: total,
			want: []Cell{shown(25, 0.5), hidden, shown(30, 0.7), complementary},
		},
		{
			name:      "no total: nothing to derive from",
			cells:     []Cell{shown(25, 0.5), shown(4, 0.9), shown(30, 0.7), shown(12, 0.6)},
			threshold: 11, total: nil,
			want: []Cell{shown(25, 0.5), hidden, shown(30, 0.7), shown(12, 0.6)},
		},
		{
			name:      "suppressed total",
			cells:     []Cell{shown(25, 0.5), shown(4, 0.9), shown(30, 0.7)},
			threshold: 11, total: &Cell{Suppressed: true, Reason: SuppressReasonThreshold},
			want: []Cell{shown(25, 0.5), hidden, shown(30, 0.7)},
		},
		{
			// A total below the threshold is the caller's to suppress: nothing is derived from it.
			name:      "total below the threshold is not published",
			cells:     []Cell{shown(25, 0.5), shown(4, 0.9), shown(30, 0.7)},
			threshold: 11, total: &Cell{N: 10, Value: 0.6},
			want: []Cell{shown(25, 0.5), hidden, shown(30, 0.7)},
		},
		{
			name:      "two small cells protect each other",
			cells:     []Cell{shown(25, 0.5), shown(4, 0.9), shown(30, 0.7), shown(10, 0.6)},
			threshold: 11, total: total,
			want: []Cell{shown(25, 0.5), hidden, shown(30, 0.7), hidden},
		},
		{
			name:      "all suppressed",
			cells:     []Cell{shown(3, 0.5), shown(0, 0), shown(10, 0.7)},
			threshold: 11, total: &Cell{N: 13, Value: 0.6},
			want: []Cell{hidden, hidden, hidden},
		},
		{
			// Cells 2 and 3 tie at n 15: the lowest index is suppressed.
			name:      "tie for the next smallest",
			cells:     []Cell{shown(20, 0.5), shown(5, 0.9), shown(15, 0.7), shown(15, 0.6)},
			threshold: 11, total: total,
			want: []Cell{shown(20, 0.5), hidden, complementary, shown(15, 0.6)},
		},
		{
			name:      "the small cell comes last",
			cells:     []Cell{shown(40, 0.5), shown(13, 0.9), shown(2, 0.7)},
			threshold: 11, total: total,
			want: []Cell{shown(40, 0.5), complementary, hidden},
		},
		{
			name:      "a single-cell row has nothing left to suppress",
			cells:     []Cell{shown(5, 0.5)},
			threshold: 11, total: &Cell{N: 30, Value: 0.5},
			want: []Cell{hidden},
		},
		{
			name:      "empty row",
			cells:     []Cell{},
			threshold: 11, total: total,
			want: []Cell{},
		},
		{
			// An already suppressed cell keeps its reason and counts for complementary suppression.
			name:      "already suppressed",
			cells:     []Cell{shown(25, 0.5), {N: 40, Value: 0.3, Suppressed: true, Reason: SuppressReasonTeachers}, shown(30, 0.7)},
			threshold: 11, total: total,
			want: []Cell{complementary, fewTeachers, shown(30, 0.7)},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.cells)
			got := suppressRow(c.cells, c.threshold, c.total)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
			if !reflect.DeepEqual(c.cells, in) {
				t.Errorf("the input row was modified: %+v", c.cells)
			}
			for i, cell := range got {
				if cell.Suppressed && (cell.Value != 0 || cell.N != 0 || cell.Reason == "") {
					t.Errorf("cell %d is suppressed but carries %+v", i, cell)
				}
			}
		})
	}
}

func TestSuppressByTeachers(t *testing.T) {
	cells := []Cell{shown(30, 2.5), shown(25, 3.1), shown(40, 2.8), shown(60, 2.9)}
	got := suppressByTeachers(cells, []int{5, 2, 3}, 3) // cell 3 has no entry: no teachers
	want := []Cell{shown(30, 2.5), fewTeachers, shown(40, 2.8), fewTeachers}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if cells[1].Suppressed {
		t.Error("the input row was modified")
	}

	// Then the n rule with complementary suppression: one teacher-suppressed cell in a row with
	// a published total makes the smallest other cell (n 30) suppressed too.
	got = suppressRow(suppressByTeachers(cells[:3], []int{5, 2, 4}, 3), 11, &Cell{N: 95, Value: 2.8})
	want = []Cell{complementary, fewTeachers, shown(40, 2.8)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("teachers then n: got %+v\nwant %+v", got, want)
	}
}

func TestEffectiveThreshold(t *testing.T) {
	cases := []struct{ setting, min, want int }{
		{5, observation.NetworkMinSuppression, 11},
		{0, observation.NetworkMinSuppression, 11},
		{11, observation.NetworkMinSuppression, 11},
		{15, observation.NetworkMinSuppression, 15},
		{2, observation.NetworkMinTeachers, 3},
		{4, observation.NetworkMinTeachers, 4},
	}
	for _, c := range cases {
		if got := effectiveThreshold(c.setting, c.min); got != c.want {
			t.Errorf("EffectiveThreshold(%d, %d) = %d, want %d", c.setting, c.min, got, c.want)
		}
	}
}
