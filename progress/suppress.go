package progress

import (
	"math"
)

// Small-cell suppression (docs/statistics.md "Suppression", docs/access.md "Privacy").

// Reasons a cell is suppressed; responses carry them so that clients can say why.
const (
	SuppressReasonThreshold     = "n below threshold" // the cell's n is below the suppression threshold
	SuppressReasonComplementary = "complementary"     // suppressed so that another suppressed cell cannot be derived from the total
	SuppressReasonTeachers      = "too few teachers"  // a site-level cell with fewer distinct teachers than the minimum
)

// Cell is one value of a view with the number of observations behind it. A suppressed cell
// carries neither its value nor its n (both 0); callers render it as "suppressed" with its
// Reason, never as 0.
type Cell struct {
	N          int
	Value      float64
	Suppressed bool
	Reason     string
	NoData     bool // nothing to show: no observations behind the value (never rendered as 0)
}

// suppress hides c's value and n, keeping the reason it already has, if any.
func (c *Cell) suppress(reason string) {
	if !c.Suppressed || c.Reason == "" {
		c.Reason = reason
	}
	c.Suppressed, c.Value, c.N, c.NoData = true, 0, 0, false
}

// effectiveThreshold is the threshold a district's views use: its own setting, but never below
// the network minimum (an unset setting, 0, means the network minimum).
func effectiveThreshold(districtSetting, networkMin int) int {
	return max(districtSetting, networkMin)
}

// suppressRow returns a copy of one row of cells with small cells suppressed:
//
//  1. every cell with N < threshold is suppressed (SuppressReasonThreshold); cells already
//     suppressed (for example by suppressByTeachers) stay suppressed with their reason;
//  2. complementary suppression: when exactly one cell of the row is then suppressed and the
//     row total is published (total is not nil, not suppressed, and its N is not below the
//     threshold), its value could be derived from the total and the other cells, so the
//     non-suppressed cell with the smallest N is suppressed too (SuppressReasonComplementary);
//     ties go to the lowest index.
//
// Every suppressed cell has Value 0 and N 0. total is only read: the caller suppresses the total
// cell itself (when its N is below the threshold, every cell of the row is too). A table with
// totals in both directions is suppressed row by row and column by column until nothing changes.
func suppressRow(cells []Cell, threshold int, total *Cell) []Cell {
	out := make([]Cell, len(cells))
	copy(out, cells)
	suppressed := 0
	for i := range out {
		if out[i].Suppressed || out[i].N < threshold {
			out[i].suppress(SuppressReasonThreshold)
			suppressed++
		}
	}
	if suppressed != 1 || total == nil || total.Suppressed || total.N < threshold {
		return out
	}
	next := -1
	for i, c := range out {
		if !c.Suppressed && (next < 0 || c.N < out[next].N) {
			next = i
		}
	}
	if next >= 0 {
		out[next].suppress(SuppressReasonComplementary)
	}
	return out
}

// suppressByTeachers returns a copy of site-level cells with every cell whose number of
// distinct teachers (distinctTeachers[i] for cells[i]) is below minTeachers suppressed
// (SuppressReasonTeachers). A cell without an entry in distinctTeachers counts as having no
// teachers and is suppressed. Apply it before suppressRow, which then treats these cells as
// suppressed for complementary suppression.
func suppressByTeachers(cells []Cell, distinctTeachers []int, minTeachers int) []Cell {
	out := make([]Cell, len(cells))
	copy(out, cells)
	for i := range out {
		teachers := 0
		if i < len(distinctTeachers) {
			teachers = distinctTeachers[i]
		}
		if teachers < minTeachers {
			out[i].suppress(SuppressReasonTeachers)
		}
	}
	return out
}

// suppressColumns applies complementary suppression down each dimension column of rows (one
// row per site or district) against the total: cells already suppressed (too few teachers or
// too small an n) stay so, and when exactly one row of a column is suppressed while the total is
// published, the next smallest row is suppressed too, since its value could be derived.
func suppressColumns(rows [][]DimensionSummary, total []DimensionSummary, threshold int) {
	for col := range total {
		cells := make([]Cell, len(rows))
		for i := range rows {
			c := rows[i][col].Mean
			if !c.Suppressed {
				c.N = rows[i][col].N
				if c.NoData { // no scores: nothing to derive, nothing to hide
					c.N = math.MaxInt
				}
			}
			cells[i] = c
		}
		tot := total[col].Mean
		tot.N = total[col].N
		out := suppressRow(cells, threshold, &tot)
		for i := range rows {
			if out[i].Suppressed && !rows[i][col].Suppressed() {
				rows[i][col].suppress(out[i].Reason)
			}
		}
	}
}

// teacherSuppress withholds each summary with fewer distinct teachers than min (a site-level
// cell), and each with n below threshold when threshold > 0.
func teacherSuppress(ds []DimensionSummary, minTeachers, threshold int) {
	for i := range ds {
		d := &ds[i]
		if d.N == 0 && d.NotObserved == 0 {
			continue // no data: nothing to withhold
		}
		switch {
		case d.Teachers < minTeachers:
			d.suppress(SuppressReasonTeachers)
		case threshold > 0 && d.N < threshold:
			d.suppress(SuppressReasonThreshold)
		}
	}
}
