package progress

import (
	"math"
	"slices"
	"sort"

	"github.com/lookfor-edu/lookfor/observation"
)

// The progress views are built here from aggregate rows (CellRow, PairRow) by pure
// functions; progress.go reads the rows and checks who may see what.

// Series are the comparable runs of a rubric dimension across versions.
//
// A version whose dimension is marked NotComparable starts a new series for that dimension;
// otherwise the dimension continues the series of the latest earlier version that has it.
// Scores are stored per version and grouped by series when a view reads them, so views group by
// dimension key across versions, and a trend shows the break where a series starts.
type Series struct {
	versions []observation.RubricVersion // ascending
	since    map[int]map[string]int      // version → dimension → first version of its series
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

// Add adds one cell row, grouping its scores into series.
func (s *summary) Add(c CellRow, series Series) {
	n := c.M.Observations()
	if n <= 0 {
		return
	}
	s.Observations += n
	setAdd(&s.Teachers, c.TeacherID)
	setAdd(&s.Classrooms, c.ClassroomID)
	for dv, ls := range c.M.Levels() {
		ds := series.of(dv.Dimension, dv.Version)
		if s.Levels == nil {
			s.Levels = map[dimSeries]LevelStats{}
			s.DimTeachers = map[dimSeries]map[string]bool{}
		}
		cur := s.Levels[ds]
		cur.merge(ls)
		s.Levels[ds] = cur
		if ls.N > 0 {
			t := s.DimTeachers[ds]
			setAdd(&t, c.TeacherID)
			s.DimTeachers[ds] = t
		}
	}
	s.Talk.merge(c.M.Talk())
	s.Equity.merge(c.M.Equity())
}

// merge adds everything o counts (teachers and classrooms as sets).
func (s *summary) merge(o summary) {
	s.Observations += o.Observations
	for t := range o.Teachers {
		setAdd(&s.Teachers, t)
	}
	for c := range o.Classrooms {
		setAdd(&s.Classrooms, c)
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
			setAdd(&t, id)
		}
		if t != nil {
			s.DimTeachers[ds] = t
		}
	}
	s.Talk.merge(o.Talk)
	s.Equity.merge(o.Equity)
}

// bySite sums cells per site, and all of them: each cell is decoded once.
func bySite(cells []CellRow, series Series) (map[string]*summary, summary) {
	by := map[string]*summary{}
	for _, c := range cells {
		if by[c.SiteID] == nil {
			by[c.SiteID] = &summary{}
		}
		by[c.SiteID].Add(c, series)
	}
	var total summary
	for _, s := range by {
		total.merge(*s)
	}
	return by, total
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

// --- Calibration ---

// Calibrated is the calibration of a set of co-observed pairs.
type Calibrated struct {
	Pairs          int  // pairs in which both observers scored a level
	Excluded       int  // pairs with a "not observed" on either side
	Exact          Cell // share 0..1 of pairs with equal levels
	Adjacent       Cell // share 0..1 of pairs within one level
	Kappa          Cell // quadratic-weighted Cohen's kappa; NoData when undefined
	Band           string
	MeetsTarget    bool // kappa ≥ the district's target and adjacent ≥ its target
	KappaTarget    float64
	AdjacentTarget float64
	// Changes from the previous period (no data when either period has none).
	ExactChange    Cell
	AdjacentChange Cell
	KappaChange    Cell
}

func (a *Calibrated) compare(prev Calibrated) {
	a.ExactChange = cellChange(a.Exact, prev.Exact)
	a.AdjacentChange = cellChange(a.Adjacent, prev.Adjacent)
	a.KappaChange = cellChange(a.Kappa, prev.Kappa)
}

// noCalibration is the agreement of no pairs.
var noCalibration = agreementOf(kappaStats{})

// compare sets every agreement's change from the same dimension, observer or whole in prev.
func (v *CalibrationView) compare(prev CalibrationView) {
	v.Overall.compare(prev.Overall)
	compareDims(v.Dimensions, prev.Dimensions)
	for i := range v.Observers {
		o := &v.Observers[i]
		var po CalibrationObserver
		for _, x := range prev.Observers {
			if x.ObserverID == o.ObserverID {
				po = x
			}
		}
		if po.ObserverID == "" {
			po.Overall = noCalibration
		}
		o.Overall.compare(po.Overall)
		compareDims(o.Dimensions, po.Dimensions)
	}
}

func compareDims(cur, prev []CalibrationDimension) {
	for i := range cur {
		p := noCalibration
		for _, x := range prev {
			if x.Dimension == cur[i].Dimension && x.Since == cur[i].Since {
				p = x.Calibrated
			}
		}
		cur[i].compare(p)
	}
}

func agreementOf(k kappaStats) Calibrated {
	a := Calibrated{Excluded: k.Excluded, KappaTarget: defaultKappaTarget, AdjacentTarget: defaultAdjacentTarget}
	exact, adjacent, n := k.Agreement()
	a.Pairs = n
	if n <= 0 {
		a.Exact, a.Adjacent, a.Kappa = Cell{NoData: true}, Cell{NoData: true}, Cell{NoData: true}
		return a
	}
	a.Exact, a.Adjacent = Cell{N: n, Value: exact}, Cell{N: n, Value: adjacent}
	if kappa, ok := k.Kappa(); ok {
		a.Kappa = Cell{N: n, Value: kappa}
		a.Band = kappaBand(kappa)
		a.MeetsTarget = kappa >= a.KappaTarget && adjacent >= a.AdjacentTarget
	} else {
		a.Kappa = Cell{NoData: true}
	}
	return a
}

// CalibrationDimension is the agreement on one dimension series.
type CalibrationDimension struct {
	Dimension string
	Since     int
	Title     observation.Text
	Calibrated
}

// CalibrationObserver is one observer's agreement with everyone they co-observed with, over all
// dimensions (Overall) and per dimension.
type CalibrationObserver struct {
	ObserverID string
	Lessons    int // co-observed pairs the observer is in
	Overall    Calibrated
	Dimensions []CalibrationDimension
}

// CalibrationView is the calibration of a district or site in one period.
type CalibrationView struct {
	Lessons    int // co-observed pairs
	Overall    Calibrated
	Dimensions []CalibrationDimension
	Observers  []CalibrationObserver
}

// BuildCalibration computes agreement from pair rows: per dimension series over every pair, per
// observer over the pairs they are in (their levels as rater A), and overall over all dimensions.
func BuildCalibration(pairs []PairRow, series Series) CalibrationView {
	type acc struct {
		lessons int
		overall kappaStats
		dims    map[dimSeries]*kappaStats
	}
	newAcc := func(min, max int) *acc {
		return &acc{overall: newKappaStats(min, max), dims: map[dimSeries]*kappaStats{}}
	}
	minL, maxL := 1, 4
	if c, ok := series.latest(); ok && c.MaxLevel > c.MinLevel {
		minL, maxL = c.MinLevel, c.MaxLevel
	}
	all := newAcc(minL, maxL)
	observers := map[string]*acc{}
	add := func(a *acc, ds dimSeries, p pair, n int, lo, hi int) {
		k := a.dims[ds]
		if k == nil {
			ks := newKappaStats(lo, hi)
			k = &ks
			a.dims[ds] = k
		}
		for range n {
			k.Add(p)
			a.overall.Add(p)
		}
	}
	for _, row := range pairs {
		lessons := row.M.Observations()
		if lessons <= 0 {
			continue
		}
		all.lessons += lessons
		for _, who := range []string{row.ObserverA, row.ObserverB} {
			if observers[who] == nil {
				observers[who] = newAcc(minL, maxL)
			}
			observers[who].lessons += lessons
		}
		for dv, counts := range row.M.confusions() {
			ds := series.of(dv.Dimension, dv.Version)
			_, content := series.dimension(ds)
			lo, hi := content.MinLevel, content.MaxLevel
			for lp, n := range counts {
				if n <= 0 {
					continue
				}
				add(all, ds, pair{lp.A, lp.B}, n, lo, hi)
				add(observers[row.ObserverA], ds, pair{lp.A, lp.B}, n, lo, hi)
				add(observers[row.ObserverB], ds, pair{lp.B, lp.A}, n, lo, hi)
			}
		}
	}
	dims := func(a *acc) []CalibrationDimension {
		set := map[dimSeries]bool{}
		for ds := range a.dims {
			set[ds] = true
		}
		var out []CalibrationDimension
		for _, ds := range series.ordered(set) {
			def, _ := series.dimension(ds)
			out = append(out, CalibrationDimension{Dimension: ds.Dimension, Since: ds.Since, Title: def.Title, Calibrated: agreementOf(*a.dims[ds])})
		}
		return out
	}
	v := CalibrationView{Lessons: all.lessons, Overall: agreementOf(all.overall), Dimensions: dims(all)}
	ids := make([]string, 0, len(observers))
	for id := range observers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := observers[id]
		v.Observers = append(v.Observers, CalibrationObserver{ObserverID: id, Lessons: a.lessons, Overall: agreementOf(a.overall), Dimensions: dims(a)})
	}
	return v
}

// --- Talk moves and equity ---

// TalkRate is one talk-move category's rate per 10 discussion minutes.
type TalkRate struct {
	Category string
	Speaker  observation.Speaker
	Rate     Cell // N is the number of timed observations
	Change   Cell // from the previous period
}

// TalkSummary is the talk-move figures of one site or district.
type TalkSummary struct {
	Observations      int
	TimedObservations int
	Minutes           int
	Teachers          int
	Rates             []TalkRate
	PressShare        Cell // N is the number of teacher moves
	ReasoningShare    Cell // N is the number of student moves
	Suppressed        bool
	Reason            string
	// Changes from the previous period.
	PressShareChange     Cell
	ReasoningShareChange Cell
}

// compare sets the summary's changes from prev (the same site or total, previous period).
func (t *TalkSummary) compare(prev TalkSummary) {
	t.PressShareChange = cellChange(t.PressShare, prev.PressShare)
	t.ReasoningShareChange = cellChange(t.ReasoningShare, prev.ReasoningShare)
	for i := range t.Rates {
		p := Cell{NoData: true}
		for _, r := range prev.Rates {
			if r.Category == t.Rates[i].Category {
				p = r.Rate
			}
		}
		t.Rates[i].Change = cellChange(t.Rates[i].Rate, p)
	}
}

func talkSummary(t TalkStats, teachers int, cats []observation.TallyCategory) TalkSummary {
	out := TalkSummary{Observations: t.Observations, TimedObservations: t.TimedObservations, Minutes: t.Minutes, Teachers: teachers}
	seen := map[string]bool{}
	for _, c := range cats {
		if seen[c.Key] {
			continue
		}
		seen[c.Key] = true
		r := Cell{NoData: true}
		if v, ok := t.ratePer10(c.Key); ok {
			r = Cell{N: t.TimedObservations, Value: v}
		}
		out.Rates = append(out.Rates, TalkRate{Category: c.Key, Speaker: c.Speaker, Rate: r})
	}
	out.PressShare = shareCell(t.PressShare())
	out.PressShare.N = max(t.TeacherMoves, 0)
	out.ReasoningShare = shareCell(t.ReasoningShare())
	out.ReasoningShare.N = max(t.StudentMoves, 0)
	return out
}

func shareCell(v float64, ok bool) Cell {
	if !ok {
		return Cell{NoData: true}
	}
	return Cell{Value: v}
}

func (t *TalkSummary) suppress(reason string) {
	t.Suppressed, t.Reason = true, reason
	t.Observations, t.TimedObservations, t.Minutes, t.Teachers = 0, 0, 0, 0
	for i := range t.Rates {
		t.Rates[i].Rate.suppress(reason)
	}
	t.PressShare.suppress(reason)
	t.ReasoningShare.suppress(reason)
}

// EquityGroup is one student group's mean equity ratio (1.0 is parity) over the observations
// that include it.
type EquityGroup struct {
	Group  string
	Label  string
	Ratio  Cell // N is the number of observations the mean is over
	Change Cell // from the previous period
}

// equityGroups returns the ratio of every group (the district's groups in their order, then
// others by key) with small cells suppressed: n below threshold, then complementary
// suppression against the number of observations with participation coding.
func equityGroups(e EquityStats, groups []observation.StudentGroup, threshold int) ([]EquityGroup, int) {
	keys := make([]string, 0, len(groups))
	labels := map[string]string{}
	for _, g := range groups {
		keys = append(keys, g.Key)
		labels[g.Key] = g.Label
	}
	for _, g := range e.groups() {
		if !slices.Contains(keys, g) {
			keys = append(keys, g)
		}
	}
	cells := make([]Cell, len(keys))
	total := 0
	for i, g := range keys {
		if r, n, ok := e.Ratio(g); ok {
			cells[i] = Cell{N: n, Value: r}
			total = max(total, n)
		} else {
			cells[i] = Cell{NoData: true}
		}
	}
	// A group with no observations has nothing to hide; it is not a small cell.
	idx := []int{}
	var sub []Cell
	for i, c := range cells {
		if !c.NoData {
			idx = append(idx, i)
			sub = append(sub, c)
		}
	}
	tot := Cell{N: total}
	sub = suppressRow(sub, threshold, &tot)
	for j, i := range idx {
		cells[i] = sub[j]
	}
	out := make([]EquityGroup, len(keys))
	for i, g := range keys {
		out[i] = EquityGroup{Group: g, Label: labels[g], Ratio: cells[i]}
	}
	return out, total
}

// --- helpers ---

// periodKeys returns the distinct keys of periods, in order.
func periodKeys(ps ...Period) []string {
	var out []string
	for _, p := range ps {
		if !p.IsZero() && !slices.Contains(out, p.Key) {
			out = append(out, p.Key)
		}
	}
	return out
}
