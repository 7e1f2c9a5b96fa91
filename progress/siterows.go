package progress

import (
	"strconv"
	"strings"
)

// Site rows: the cells of one (period, site, rubric) summed, kept beside the cells so that a
// view by site (the district view) reads one row per site and period instead of one per
// classroom. A site row is a CellRow with ClassroomID and TeacherID empty (a record always
// names its classroom, so no cell of a classroom has that key). It holds the sum of its cells'
// counters and, so that distinct teachers can still be counted exactly, per teacher:
//
//   - T|<teacher>: the teacher's observations (the teacher counts in the site when it is > 0);
//   - D|<dimension>|<version>|<teacher>: the teacher's scored observations of the dimension on
//     the version (the teacher counts in the dimension's teachers when one version of the
//     series has one > 0).
//
// Both are sums of per-record integers like every other counter, so site rows are maintained by
// adding deltas (Delta.AddSiteRows) and equal the recomputation exactly, and summary.Add gives
// a site row the same figures as the cells it sums.
const (
	metricTeacher       = "T"
	metricTeacherScored = "D"
)

// SiteRow reports whether k names a site row.
func (k CellKey) SiteRow() bool { return k.ClassroomID == "" }

// SiteKey is the key of the site row a cell adds to.
func SiteKey(k CellKey) CellKey {
	k.ClassroomID, k.TeacherID = "", ""
	return k
}

// SiteMetrics are the counters a cell row adds to its site row.
func SiteMetrics(k CellKey, m Metrics) Metrics {
	var b MetricsBuilder
	b.Grow(len(m) + 8)
	var t teacherKeys
	t.add(&b, k, m)
	return b.Metrics()
}

// teacherKeys adds the counters of cells to site rows (SiteMetrics), remembering each teacher's
// per-teacher keys: the cells of one teacher (every period kind of every day) make each name and
// look it up once, not once per cell.
type teacherKeys struct {
	scored   []string // metricTable's teacherScored, grown when a key beyond it is met
	teachers map[string]*teacherKeyRow
}

// teacherKeyRow are one teacher's keys: T|<teacher>, and by level key that of
// D|<dimension>|<version>|<teacher>. A map, not a slice by key: a level key made late in the
// process's life can be tens of thousands.
type teacherKeyRow struct {
	seen   MetricKey
	scored map[MetricKey]MetricKey
}

// add adds the counters cell k (of counters m) adds to its site row to b.
func (t *teacherKeys) add(b *MetricsBuilder, k CellKey, m Metrics) {
	if t.teachers == nil {
		t.teachers = map[string]*teacherKeyRow{}
	}
	row := t.teachers[k.TeacherID]
	if row == nil {
		row = &teacherKeyRow{seen: KeyOf(metricTeacher + metricSep + k.TeacherID), scored: map[MetricKey]MetricKey{}}
		t.teachers[k.TeacherID] = row
	}
	for _, c := range m {
		if c.N == 0 {
			continue
		}
		b.Add(c.Key, c.N)
		if int(c.Key) >= len(t.scored) {
			_, t.scored = metricTable()
		}
		if t.scored[c.Key] == "" {
			continue
		}
		key, ok := row.scored[c.Key]
		if !ok {
			key = KeyOf(t.scored[c.Key] + k.TeacherID)
			row.scored[c.Key] = key
		}
		b.Add(key, c.N)
	}
	if n := m.Observations(); n != 0 {
		b.Add(row.seen, int64(n))
	}
}

// scoredLevel parses a level counter's name ("d|<dimension>|<version>|<level>") of a scored
// level (not "not observed"), as summary.Add reads it.
func scoredLevel(name string) (dim, ver string, level int, ok bool) {
	rest, ok := strings.CutPrefix(name, metricLevel+metricSep)
	if !ok {
		return "", "", 0, false
	}
	dim, rest, ok1 := strings.Cut(rest, metricSep)
	ver, lv, ok2 := strings.Cut(rest, metricSep)
	if !ok1 || !ok2 || strings.Contains(lv, metricSep) || lv == notObservedKey {
		return "", "", 0, false
	}
	if _, err := strconv.Atoi(ver); err != nil {
		return "", "", 0, false
	}
	level, err := strconv.Atoi(lv)
	return dim, ver, level, err == nil
}

// AddSiteRows adds to d the site rows of its cell rows, and returns d. The counters each site row
// receives are gathered unsorted and summed once per site row (a site row holds many more
// counters than a cell, so adding cell by cell would copy it once per cell).
func (d *Delta) AddSiteRows() *Delta {
	type site struct {
		b     MetricsBuilder
		limit int // summed when it holds this many counters, so that it stays within twice its sums
	}
	var t teacherKeys
	sites := map[CellKey]*site{}
	for k, m := range d.Cells {
		if k.SiteRow() {
			continue
		}
		sk := SiteKey(k)
		s := sites[sk]
		if s == nil {
			s = &site{limit: 1024}
			sites[sk] = s
		}
		t.add(&s.b, k, m)
		if len(s.b.m) >= s.limit {
			s.b.m = s.b.Metrics()
			s.limit = max(s.limit, 2*len(s.b.m))
		}
	}
	for sk, s := range sites {
		m := s.b.Metrics()
		if c := d.Cells[sk]; c != nil {
			c.Add(m, 1)
			m = c
		}
		d.Cells[sk] = m
	}
	return d
}

// addSite adds one site row (SiteRow) to s: its counters as Add adds a cell's, its teachers from
// the per-teacher counters.
func (s *summary) addSite(c CellRow, series Series) {
	for k, v := range c.M.All() {
		kind, rest, ok := strings.Cut(k, metricSep)
		if !ok || v <= 0 {
			continue
		}
		switch kind {
		case metricTeacher:
			setAdd(&s.Teachers, rest)
		case metricTeacherScored:
			dim, rest, ok1 := strings.Cut(rest, metricSep)
			ver, teacher, ok2 := strings.Cut(rest, metricSep)
			version, err := strconv.Atoi(ver)
			if !ok1 || !ok2 || err != nil {
				continue
			}
			ds := series.of(dim, version)
			if s.Levels == nil {
				s.Levels = map[dimSeries]LevelStats{}
				s.DimTeachers = map[dimSeries]map[string]bool{}
			}
			t := s.DimTeachers[ds]
			setAdd(&t, teacher)
			s.DimTeachers[ds] = t
		}
	}
}
