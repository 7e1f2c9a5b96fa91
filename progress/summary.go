package progress

import (
	"strconv"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// Dimension summaries: the figures of one dimension series in one cell of a view (a site, a
// classroom, a district), summed from cell rows, and their changes from the previous period.

// summary is the sum of a set of cell rows: one site's, one classroom's, a district's.
type summary struct {
	Observations int
	Teachers     map[string]bool               // teachers with an observation
	Classrooms   map[string]bool               // classrooms with an observation
	Levels       map[dimSeries]LevelStats      // scores by dimension series
	DimTeachers  map[dimSeries]map[string]bool // teachers with a scored observation in the series
	Talk         TalkStats
	Equity       EquityStats
}

// Add adds one cell row, grouping its scores into series. It reads the row's counters in one
// pass, adding each straight into s: the same sums as Metrics.Levels, Talk and Equity merged
// (integer sums in any order), without building them per row, since a view adds tens of
// thousands of rows.
func (s *summary) Add(c CellRow, series Series) {
	if c.sum != nil { // a row whose summary the view holds (rowcache.go)
		s.merge(*c.sum, "")
		return
	}
	n := c.M.Observations()
	if n <= 0 {
		return
	}
	s.Observations += n
	siteRow := c.SiteRow()
	if siteRow {
		s.addSite(c, series) // its teachers; the counters below as a cell's
	} else {
		setAdd(&s.Teachers, c.TeacherID)
		setAdd(&s.Classrooms, c.ClassroomID)
	}
	var scored [16]dimScored // this row's scored observations by dimension and version
	dims := scored[:0]
	for k, v := range c.M.All() {
		kind, rest, ok := strings.Cut(k, metricSep)
		if !ok {
			continue
		}
		switch kind {
		case metricLevel:
			if v == 0 {
				continue
			}
			dim, rest, ok1 := strings.Cut(rest, metricSep)
			ver, level, ok2 := strings.Cut(rest, metricSep)
			if !ok1 || !ok2 || strings.Contains(level, metricSep) {
				continue
			}
			version, err := strconv.Atoi(ver)
			if err != nil {
				continue
			}
			ds := series.of(dim, version)
			if s.Levels == nil {
				s.Levels = map[dimSeries]LevelStats{}
				s.DimTeachers = map[dimSeries]map[string]bool{}
			}
			cur := s.Levels[ds]
			if level == notObservedKey {
				cur.NotObserved += int(v)
			} else if l, err := strconv.Atoi(level); err == nil {
				cur.N += int(v)
				cur.Sum += l * int(v)
				bump(&cur.Counts, l, int(v))
				dims = addScored(dims, DimVersion{dim, version}, ds, int(v))
			}
			s.Levels[ds] = cur
		case metricTalk:
			s.Talk.addMetric(rest, int(v))
		case metricEquity:
			s.Equity.addMetric(rest, v)
		}
	}
	for _, d := range dims {
		if d.n > 0 && !siteRow {
			t := s.DimTeachers[d.series]
			setAdd(&t, c.TeacherID)
			s.DimTeachers[d.series] = t
		}
	}
}

// dimScored is one row's scored observations of a dimension on one rubric version.
type dimScored struct {
	dv     DimVersion
	series dimSeries
	n      int
}

func addScored(dims []dimScored, dv DimVersion, ds dimSeries, n int) []dimScored {
	for i := range dims {
		if dims[i].dv == dv {
			dims[i].n += n
			return dims
		}
	}
	return append(dims, dimScored{dv, ds, n})
}

// merge adds everything o counts (teachers and classrooms as sets, their ids prefixed with
// prefix: the network total counts each district's teachers apart).
func (s *summary) merge(o summary, prefix string) {
	s.Observations += o.Observations
	for t := range o.Teachers {
		setAdd(&s.Teachers, prefix+t)
	}
	for c := range o.Classrooms {
		setAdd(&s.Classrooms, prefix+c)
	}
	for ds, ls := range o.Levels {
		if s.Levels == nil {
			s.Levels = map[dimSeries]LevelStats{}
			s.DimTeachers = map[dimSeries]map[string]bool{}
		}
		cur := s.Levels[ds]
		cur.merge(ls)
		s.Levels[ds] = cur
		t := s.DimTeachers[ds]
		for id := range o.DimTeachers[ds] {
			setAdd(&t, prefix+id)
		}
		if t != nil {
			s.DimTeachers[ds] = t
		}
	}
	s.Talk.merge(o.Talk)
	s.Equity.merge(o.Equity)
}

// bySite sums cells per site, and all of them: each cell is decoded once. A site with a single
// row carrying a summary gets that summary itself, and sums of rows that all carry held folds (a
// site's months and days of a partial period, the total) are kept in cache (when not nil) by
// their folds: the summaries returned must only be read.
func bySite(cells []CellRow, series Series, cache *rowCache) (map[string]*summary, summary) {
	rowsOf := map[string][]CellRow{}
	var sites []string
	for _, c := range cells {
		if rowsOf[c.SiteID] == nil {
			sites = append(sites, c.SiteID)
		}
		rowsOf[c.SiteID] = append(rowsOf[c.SiteID], c)
	}
	by := make(map[string]*summary, len(sites))
	for _, site := range sites {
		if rows := rowsOf[site]; len(rows) == 1 && rows[0].sum != nil {
			by[site] = rows[0].sum
		} else {
			by[site] = cache.sum(rows, series)
		}
	}
	all := make([]CellRow, 0, len(sites))
	for _, site := range sites {
		k := rowsOf[site][0].CellKey
		all = append(all, CellRow{CellKey: CellKey{DistrictID: k.DistrictID, Kind: k.Kind, PeriodKey: k.PeriodKey, SiteID: site},
			sum: by[site], foldSeq: cache.seqOf(rowsOf[site])})
	}
	return by, *cache.sum(all, series)
}

func (s summary) seriesSet() map[dimSeries]bool {
	out := map[dimSeries]bool{}
	for k, v := range s.Levels {
		if v.N > 0 || v.NotObserved > 0 {
			out[k] = true
		}
	}
	return out
}

func setAdd(m *map[string]bool, k string) {
	if *m == nil {
		*m = map[string]bool{}
	}
	(*m)[k] = true
}

// Change statuses: whether a view's value could be compared with the previous period.
const (
	ChangeCompared   = "compared"         // both periods have data of the same series
	ChangeNoPrevious = "no_previous_data" // the previous period has no scores of this dimension
	ChangeBreak      = "series_break"     // the previous period has scores only of an earlier, not comparable series
	ChangeSuppressed = "suppressed"       // this period's or the previous period's value is suppressed
	ChangeNoData     = "no_data"          // this period has no scores of this dimension
)

// Change is a value's change from the previous period: current − previous.
type Change struct {
	Status          string
	Mean            float64
	ShareProficient float64
}

// DimensionSummary is one dimension series' figures in one cell of a view.
type DimensionSummary struct {
	Dimension       string
	Since           int // the rubric version the series starts at
	Title           observation.Text
	MinLevel        int
	N               int // scored observations; 0 when suppressed
	NotObserved     int
	Teachers        int
	Mean            Cell
	ShareProficient Cell
	Levels          []Cell // Levels[i]: observations at level MinLevel+i (Value and N are the count)
	Change          Change
}

// Suppressed reports whether the summary's figures are withheld.
func (d DimensionSummary) Suppressed() bool { return d.Mean.Suppressed }

// summarize computes one dimension series' figures from its level statistics.
func summarize(ds dimSeries, ls LevelStats, teachers int, series Series, settings observation.DistrictSettings) DimensionSummary {
	def, content := series.dimension(ds)
	out := DimensionSummary{Dimension: ds.Dimension, Since: ds.Since, Title: def.Title, MinLevel: content.MinLevel,
		N: ls.N, NotObserved: ls.NotObserved, Teachers: teachers}
	if mean, ok := ls.Mean(); ok {
		out.Mean = Cell{N: ls.N, Value: mean}
	} else {
		out.Mean = Cell{NoData: true}
	}
	if share, ok := ls.shareAtOrAbove(ProficiencyLevelFor(settings, content)); ok {
		out.ShareProficient = Cell{N: ls.N, Value: share}
	} else {
		out.ShareProficient = Cell{NoData: true}
	}
	for l := content.MinLevel; l <= content.MaxLevel; l++ {
		c := ls.Counts[l]
		out.Levels = append(out.Levels, Cell{N: c, Value: float64(c)})
	}
	return out
}

// suppress withholds every figure of the summary for reason.
func (d *DimensionSummary) suppress(reason string) {
	d.Mean.suppress(reason)
	d.ShareProficient.suppress(reason)
	for i := range d.Levels {
		d.Levels[i].suppress(reason)
	}
	d.N, d.NotObserved, d.Teachers = 0, 0, 0
	d.Change = Change{Status: ChangeSuppressed}
}

// compare sets d's change from prev (the same series in the previous period); others are the
// series of the same dimension that have scores in the previous period.
func (d *DimensionSummary) compare(prev *DimensionSummary, prevHasOtherSeries bool) {
	switch {
	case d.Suppressed():
		d.Change = Change{Status: ChangeSuppressed}
	case d.Mean.NoData:
		d.Change = Change{Status: ChangeNoData}
	case prev != nil && prev.Suppressed():
		d.Change = Change{Status: ChangeSuppressed}
	case prev != nil && !prev.Mean.NoData && !d.Mean.NoData:
		d.Change = Change{Status: ChangeCompared, Mean: d.Mean.Value - prev.Mean.Value,
			ShareProficient: d.ShareProficient.Value - prev.ShareProficient.Value}
	case prevHasOtherSeries:
		d.Change = Change{Status: ChangeBreak}
	default:
		d.Change = Change{Status: ChangeNoPrevious}
	}
}

// dimensionSummaries computes the summaries of the given series in s (missing ones as no data).
func dimensionSummaries(s summary, order []dimSeries, series Series, settings observation.DistrictSettings) []DimensionSummary {
	out := make([]DimensionSummary, 0, len(order))
	for _, ds := range order {
		out = append(out, summarize(ds, s.Levels[ds], len(s.DimTeachers[ds]), series, settings))
	}
	return out
}

// compareSummaries sets the change of every summary of cur from prev (same order).
func compareSummaries(cur, prev []DimensionSummary) {
	for i := range cur {
		var p *DimensionSummary
		if i < len(prev) && prev[i].N > 0 {
			p = &prev[i]
		} else if i < len(prev) && prev[i].Suppressed() {
			p = &prev[i]
		}
		other := false
		for j := range prev {
			if prev[j].Dimension == cur[i].Dimension && prev[j].Since != cur[i].Since && (prev[j].N > 0 || prev[j].Suppressed()) {
				other = true
			}
		}
		cur[i].compare(p, other)
	}
}

// cellChange is cur − prev as a cell: withheld when either is, no data when either has none.
func cellChange(cur, prev Cell) Cell {
	switch {
	case cur.Suppressed:
		return Cell{Suppressed: true, Reason: cur.Reason}
	case prev.Suppressed:
		return Cell{Suppressed: true, Reason: prev.Reason}
	case cur.NoData || prev.NoData:
		return Cell{NoData: true}
	}
	return Cell{N: cur.N, Value: cur.Value - prev.Value}
}
