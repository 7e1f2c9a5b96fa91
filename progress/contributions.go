package progress

import (
	"slices"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// Contribution is what one counted record adds to the cells: M (its RecordMetrics times the
// sign of the change) to the cell Cell names in each of Periods (Cell's Kind and PeriodKey are
// empty). A record adds the same counters to its cell of every period kind, so a write that
// appends its deltas to a log (the store's push path) writes one row per record instead of one
// per cell, and computes the counters once.
type Contribution struct {
	Cell    CellKey
	Periods []PeriodRef
	M       Metrics
}

// PeriodRef names a period: its kind and key.
type PeriodRef struct {
	Kind PeriodKind
	Key  string
}

// ChangeContributions is ChangeDelta with the cells left as Contributions: the same counters
// (Expand turns them into the cells ChangeDelta returns), pairs as in ChangeDelta.
func ChangeContributions(changes []RecordChange, others map[string][]observation.StoredObservation, in Inputs) *Delta {
	d := NewDelta()
	d.collect = true
	return changeDelta(d, changes, others, in)
}

// Expand adds the delta's contributions to its cells and drops them.
func (d *Delta) Expand() *Delta {
	for _, c := range d.Contributions {
		for _, p := range c.Periods {
			k := c.Cell
			k.Kind, k.PeriodKey = p.Kind, p.Key
			m := d.Cells[k]
			m.Add(c.M, 1)
			d.Cells[k] = m
		}
	}
	d.Contributions = nil
	return d
}

func (d *Delta) contribute(r observation.Record, m Metrics, s observation.DistrictSettings, sign int64) {
	c := Contribution{Cell: CellKey{DistrictID: r.DistrictID, SiteID: r.SiteID, ClassroomID: r.ClassroomID,
		TeacherID: r.TeacherID, RubricID: r.RubricID}, M: m}
	if sign != 1 {
		for i := range m {
			m[i].N *= sign
		}
	}
	c.Periods = d.days.of(r.StartedAt, s)
	d.Contributions = append(d.Contributions, c)
}

// dayPeriods holds the periods of the last day a delta placed a record in. Records come in runs
// of one day (a tablet's batch, a load's school day across classrooms), and the periods of a day
// are the same for each: placing them (six PeriodOf, the window spans of the school year
// included) was as much work as a record's counters in a bulk load's profile.
type dayPeriods struct {
	day     time.Time
	month   int                       // the settings the periods were placed with: SchoolYearStartMonth
	windows []observation.NamedWindow // and Windows (a copy)
	refs    []PeriodRef               // in periodKinds order; never changed once made
	ok      bool
}

// of returns the periods of t's day under s: a shared slice, with no room to append into, that
// callers only read.
func (c *dayPeriods) of(t time.Time, s observation.DistrictSettings) []PeriodRef {
	day := periodDay(t)
	if c.ok && day.Equal(c.day) && s.SchoolYearStartMonth == c.month && slices.Equal(s.Windows, c.windows) {
		return c.refs
	}
	refs := make([]PeriodRef, 0, len(periodKinds))
	for _, kind := range periodKinds {
		if p, ok := PeriodOf(kind, day, s); ok {
			refs = append(refs, PeriodRef{kind, p.Key})
		}
	}
	*c = dayPeriods{day: day, month: s.SchoolYearStartMonth, windows: slices.Clone(s.Windows), refs: refs[:len(refs):len(refs)], ok: true}
	return c.refs
}
