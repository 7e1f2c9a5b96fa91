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

// dayPeriods holds the periods of the days a delta placed records in, by the settings they were
// placed under. Placing a day in its six periods (PeriodOf each, the window spans of its school
// year included) was 4% of the progress district's load in its CPU profile, done once per
// record, and a delta's records share their days: a tablet's batch falls on a day or two, a
// load's thousands of records on the school days of a year.
type dayPeriods struct {
	sets []periodSet
}

// periodSet is the periods of days under one district's settings (those PeriodOf reads).
type periodSet struct {
	month   int                       // SchoolYearStartMonth
	windows []observation.NamedWindow // Windows (a copy)
	days    map[int64][]PeriodRef     // by day number since 1970-01-01; in periodKinds order, never changed once made
}

// maxPeriodSets bounds the settings a delta keeps the periods of (the districts of a network
// share a few settings at most); when full, it starts again.
const maxPeriodSets = 16

// of returns the periods of t's day under s: a shared slice, with no room to append into, that
// callers only read.
func (c *dayPeriods) of(t time.Time, s observation.DistrictSettings) []PeriodRef {
	var set *periodSet
	for i := range c.sets {
		if c.sets[i].month == s.SchoolYearStartMonth && slices.Equal(c.sets[i].windows, s.Windows) {
			set = &c.sets[i]
			break
		}
	}
	if set == nil {
		if len(c.sets) == maxPeriodSets {
			c.sets = c.sets[:0]
		}
		c.sets = append(c.sets, periodSet{month: s.SchoolYearStartMonth, windows: slices.Clone(s.Windows), days: map[int64][]PeriodRef{}})
		set = &c.sets[len(c.sets)-1]
	}
	day := periodDay(t)
	n := day.Unix() / (24 * 60 * 60) // exact: day is a UTC midnight
	if refs, ok := set.days[n]; ok {
		return refs
	}
	refs := make([]PeriodRef, 0, len(periodKinds))
	for _, kind := range periodKinds {
		if p, ok := PeriodOf(kind, day, s); ok {
			refs = append(refs, PeriodRef{kind, p.Key})
		}
	}
	refs = refs[:len(refs):len(refs)]
	set.days[n] = refs
	return refs
}
