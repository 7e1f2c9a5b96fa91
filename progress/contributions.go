package progress

import "github.com/lookfor-edu/lookfor/observation"

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
	for _, kind := range periodKinds {
		if p, ok := PeriodOf(kind, r.StartedAt, s); ok {
			c.Periods = append(c.Periods, PeriodRef{kind, p.Key})
		}
	}
	d.Contributions = append(d.Contributions, c)
}
