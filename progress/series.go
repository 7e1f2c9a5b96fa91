package progress

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// Series are the comparable runs of a rubric dimension across versions.
//
// A version whose dimension is marked NotComparable starts a new series for that dimension;
// otherwise the dimension continues the series of the latest earlier version that has it.
// Scores are stored per version and grouped by series when a view reads them, so views group by
// dimension key across versions, and a trend shows the break where a series starts.
type Series struct {
	versions []observation.RubricVersion // ascending
	since    map[int]map[string]int      // version → dimension → first version of its series
	key      string                      // since, written out: equal keys group scores alike
}

// dimSeries names one comparable series of a dimension: its key and the first version of it.
type dimSeries struct {
	Dimension string
	Since     int
}

// NewSeries computes the series of a rubric's versions (any order; drafts are ignored).
func NewSeries(versions []observation.RubricVersion) Series {
	vs := make([]observation.RubricVersion, 0, len(versions))
	for _, v := range versions {
		if v.Status != observation.StatusDraft {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Version < vs[j].Version })
	s := Series{versions: vs, since: map[int]map[string]int{}}
	current := map[string]int{}
	for _, v := range vs {
		m := map[string]int{}
		for _, d := range v.Content.Dimensions {
			start, ok := current[d.Key]
			if !ok || d.NotComparable {
				start = v.Version
			}
			m[d.Key] = start
			current[d.Key] = start
		}
		s.since[v.Version] = m
	}
	var key strings.Builder
	for _, v := range vs {
		dims := slices.Sorted(maps.Keys(s.since[v.Version]))
		fmt.Fprintf(&key, "%d:", v.Version)
		for _, d := range dims {
			fmt.Fprintf(&key, "%q=%d,", d, s.since[v.Version][d])
		}
		key.WriteByte(';')
	}
	s.key = key.String()
	return s
}

// of returns the series of a dimension scored on a version. A version or dimension the rubric
// does not list (it cannot hold records) is its own series.
func (s Series) of(dimension string, version int) dimSeries {
	if m, ok := s.since[version]; ok {
		if start, ok := m[dimension]; ok {
			return dimSeries{dimension, start}
		}
	}
	return dimSeries{dimension, version}
}

// latest returns the content of the newest version, and false when there is none.
func (s Series) latest() (observation.RubricContent, bool) {
	if len(s.versions) == 0 {
		return observation.RubricContent{}, false
	}
	return s.versions[len(s.versions)-1].Content, true
}

// dimension returns the newest definition of a series' dimension and the level range of its
// version.
func (s Series) dimension(ds dimSeries) (observation.Dimension, observation.RubricContent) {
	for i := len(s.versions) - 1; i >= 0; i-- {
		v := s.versions[i]
		if s.since[v.Version][ds.Dimension] != ds.Since {
			continue
		}
		for _, d := range v.Content.Dimensions {
			if d.Key == ds.Dimension {
				return d, v.Content
			}
		}
	}
	return observation.Dimension{Key: ds.Dimension}, observation.RubricContent{MinLevel: 1, MaxLevel: 4, ProficiencyLevel: 3}
}

// ordered returns the series present in any of sets, in the order of the newest rubric version's
// dimensions, older series of a dimension before newer ones, unknown ones last by key.
func (s Series) ordered(sets ...map[dimSeries]bool) []dimSeries {
	all := map[dimSeries]bool{}
	for _, set := range sets {
		for k := range set {
			all[k] = true
		}
	}
	order := map[string]int{}
	if c, ok := s.latest(); ok {
		for i, d := range c.Dimensions {
			order[d.Key] = i
		}
	}
	out := make([]dimSeries, 0, len(all))
	for k := range all {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		oa, okA := order[a.Dimension]
		ob, okB := order[b.Dimension]
		switch {
		case okA != okB:
			return okA
		case okA && oa != ob:
			return oa < ob
		case a.Dimension != b.Dimension:
			return a.Dimension < b.Dimension
		}
		return a.Since < b.Since
	})
	return out
}
