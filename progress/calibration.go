package progress

import (
	"context"
	"slices"
	"sort"

	"github.com/lookfor-edu/lookfor/observation"
)

// CalibrationReport is a district's or site's observer calibration in one period.
type CalibrationReport struct {
	DistrictID string
	SiteID     string
	RubricID   string
	Period     Period
	Previous   Period
	CalibrationView
}

// Calibration returns exact and adjacent agreement and quadratic-weighted kappa of co-observed
// lessons, per dimension and per observer, against the district's targets.
func (pr *Service) Calibration(ctx context.Context, p observation.Principal, q ViewQuery) (CalibrationReport, error) {
	return pr.CalibrationAgainst(ctx, p, q, Comparison{})
}

// CalibrationAgainst is Calibration with its changes measured against the period c names.
func (pr *Service) CalibrationAgainst(ctx context.Context, p observation.Principal, q ViewQuery, c Comparison) (CalibrationReport, error) {
	v, err := pr.scopeAgainst(ctx, p, q, false, c)
	if err != nil {
		return CalibrationReport{}, err
	}
	var sites []string
	if !v.all {
		sites = v.siteIDs
	}
	cur, err := pr.periodPairs(ctx, v.district.ID, v.rubricID, sites, v.period)
	if err != nil {
		return CalibrationReport{}, err
	}
	prev, err := pr.periodPairs(ctx, v.district.ID, v.rubricID, sites, v.previous)
	if err != nil {
		return CalibrationReport{}, err
	}
	view := BuildCalibration(cur, v.series)
	view.compare(BuildCalibration(prev, v.series))
	// Each observer's agreement is about that member of staff: district admins (and admins) see
	// every observer's row, a coach or principal only their own.
	if p.Role != observation.RoleAdmin && p.Role != observation.RoleDistrictAdmin {
		view.Observers = slices.DeleteFunc(view.Observers, func(o CalibrationObserver) bool { return o.ObserverID != p.UserID })
	}
	// Per-observer rows are staff-level data: a read that shows any is audited, with whose rows.
	if len(view.Observers) > 0 {
		observers := make([]string, len(view.Observers))
		for i, o := range view.Observers {
			observers[i] = o.ObserverID
		}
		e := observation.Audit(p, v.district.ID, "progress.calibration.read", "district", v.district.ID, pr.now())
		e.Details["period"], e.Details["rubric_id"], e.Details["site_id"], e.Details["observers"] = v.period.String(), v.rubricID, q.SiteID, observers
		if err := pr.Store.Audit(ctx, e); err != nil {
			return CalibrationReport{}, err
		}
	}
	return CalibrationReport{DistrictID: v.district.ID, SiteID: q.SiteID, RubricID: v.rubricID, Period: v.period,
		Previous: v.previous, CalibrationView: view}, nil
}

// periodPairs reads the pair rows of one period; a partial period (see Elapsed) from the month
// and day rows of the days it covers.
func (pr *Service) periodPairs(ctx context.Context, district, rubricID string, sites []string, p Period) ([]PairRow, error) {
	if p.IsZero() {
		return nil, nil
	}
	if !p.Partial() {
		return pr.Store.ProgressPairs(ctx, CellQuery{DistrictIDs: []string{district}, RubricID: rubricID, Kind: p.Kind, Keys: []string{p.Key}, Sites: sites})
	}
	months, days := spanKeys(p)
	var out []PairRow
	for _, q := range []struct {
		kind PeriodKind
		keys []string
	}{{PeriodMonth, months}, {PeriodDaily, days}} {
		if len(q.keys) == 0 {
			continue
		}
		rows, err := pr.Store.ProgressPairs(ctx, CellQuery{DistrictIDs: []string{district}, RubricID: rubricID, Kind: q.kind, Keys: q.keys, Sites: sites})
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

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

func adjacentPairs(k kappaStats) int {
	_, a, _ := k.agreementCounts()
	return a
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
	if kappa, ok := k.kappaRat(); ok {
		f, _ := kappa.Float64()
		a.Kappa = Cell{N: n, Value: f}
		a.Band = kappaBand(kappa)
		a.MeetsTarget = meetsTargets(kappa, adjacentPairs(k), n, a.KappaTarget, a.AdjacentTarget)
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
