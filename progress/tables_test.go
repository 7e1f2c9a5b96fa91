package progress

import "testing"

// TestFormatValue: counts whole, ratios with 3 decimals, shares as percentages with 1 decimal;
// halves away from zero; never "-0".
func TestFormatValue(t *testing.T) {
	cases := []struct {
		v    float64
		f    valueFormat
		want string
	}{
		{7, asCount, "7"},
		{3, asRatio, "3.000"},
		{7.0 / 3, asRatio, "2.333"},
		{0.0625, asRatio, "0.063"}, // exactly half of 0.001 above 0.062
		{-0.0625, asRatio, "-0.063"},
		{-0.0001, asRatio, "0.000"},
		{25.4 / 23, asRatio, "1.104"},
		{0.75, asShare, "75.0"},
		{1.0 / 3, asShare, "33.3"},
		{0.0625, asShare, "6.3"}, // 6.25 %: half away from zero
		{-0.0625, asShare, "-6.3"},
		{-0.0004, asShare, "0.0"},
		{1, asShare, "100.0"},
	}
	for _, c := range cases {
		if got := formatValue(c.v, c.f); got != c.want {
			t.Errorf("formatValue(%v, %d) = %q, want %q", c.v, c.f, got, c.want)
		}
	}
	// A share's measure says it is a percentage; a suppressed or empty cell has no number.
	var tb Table
	tb.add([]string{"x"}, "share_proficient", Cell{Value: 0.5, N: 4}, asShare)
	tb.add([]string{"x"}, "mean_level", Cell{Suppressed: true, Reason: SuppressReasonTeachers}, asRatio)
	tb.add([]string{"x"}, "mean_level", Cell{NoData: true}, asRatio)
	want := [][]string{
		{"x", "share_proficient_percent", "50.0", "4", ""},
		{"x", "mean_level", "", "", "suppressed: too few teachers"},
		{"x", "mean_level", "", "0", "no data"},
	}
	for i, r := range want {
		for j := range r {
			if tb.Rows[i][j] != r[j] {
				t.Errorf("row %d = %q, want %q", i, tb.Rows[i], r)
				break
			}
		}
	}
}
