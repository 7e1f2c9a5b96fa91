package progress

import (
	"context"

	"github.com/lookfor-edu/lookfor/observation"
)

// SiteTrends is one site's figures per dimension over consecutive periods.
type SiteTrends struct {
	DistrictID string
	SiteID     string
	SiteName   string
	RubricID   string
	Periods    []Period // oldest first
	// Previous is what the last period's changes are computed from when that is not the whole
	// period shown before it: the same elapsed days of that period when the last one is in
	// progress, or the period a Comparison named (zero otherwise).
	Previous    Period
	Dimensions  []DimensionTrend
	MinTeachers int
}

// DimensionTrend is one dimension series over the periods: Points[i] belongs to Periods[i] and
// carries its change from the period before.
type DimensionTrend struct {
	Dimension string
	Since     int
	Title     observation.Text
	Points    []DimensionSummary
}

// SiteTrends returns a site's trends per dimension over q.Periods periods ending with the
// selected one. Cells with fewer distinct teachers than the district's minimum are suppressed.
func (pr *Service) SiteTrends(ctx context.Context, p observation.Principal, q ViewQuery) (SiteTrends, error) {
	return pr.SiteTrendsAgainst(ctx, p, q, Comparison{})
}

// SiteTrendsAgainst is SiteTrends with its changes measured against the period c names.
func (pr *Service) SiteTrendsAgainst(ctx context.Context, p observation.Principal, q ViewQuery, c Comparison) (SiteTrends, error) {
	n := q.Periods
	if n == 0 {
		n = defaultTrendPeriods
	}
	if n < 1 || n > maxTrendPeriods {
		return SiteTrends{}, observation.Invalid("periods", observation.ReasonOutOfRange, "periods must be 1 to %d, got %d", maxTrendPeriods, q.Periods)
	}
	v, err := pr.scopeAgainst(ctx, p, q, true, c)
	if err != nil {
		return SiteTrends{}, err
	}
	s := v.district.Settings
	periods := []Period{v.period}
	for len(periods) < n+1 {
		prev := periods[0].Previous(s)
		if prev.IsZero() {
			break
		}
		periods = append([]Period{prev}, periods...)
	}
	// The selected period, when in progress, covers its days so far; the periods before it are
	// shown whole, and the one just before it is also read for the same elapsed days, to compare.
	last := len(periods) - 1
	byKey, err := pr.siteCells(ctx, v, periods[:last]...)
	if err != nil {
		return SiteTrends{}, err
	}
	cur, err := pr.siteCells(ctx, v, periods[last])
	if err != nil {
		return SiteTrends{}, err
	}
	byKey[periods[last].Key] = cur[periods[last].Key]
	// The last period's change is computed from v.previous read on its own when it is not simply
	// the period shown before it: the same elapsed days of it, or another comparison (c).
	own := !v.previous.IsZero() && (v.previous.Partial() || !c.IsDefault())
	var elapsed summary
	if own {
		rows, err := pr.siteCells(ctx, v, v.previous)
		if err != nil {
			return SiteTrends{}, err
		}
		for _, c := range rows[v.previous.Key] {
			elapsed.Add(c, v.series)
		}
	}
	sums := make([]summary, len(periods))
	sets := make([]map[dimSeries]bool, len(periods))
	for i, per := range periods {
		for _, c := range byKey[per.Key] {
			sums[i].Add(c, v.series)
		}
		sets[i] = sums[i].seriesSet()
	}
	shown := periods
	if len(periods) > n {
		shown = periods[1:] // the first one is read only for the change of the second
	}
	if own { // a series only the comparison has must be in the order, to show the break
		sets = append(sets, elapsed.seriesSet())
	}
	order := v.series.ordered(sets...)
	points := make([][]DimensionSummary, len(periods))
	for i := range periods {
		points[i] = dimensionSummaries(sums[i], order, v.series, s)
		teacherSuppress(points[i], v.minTeachers(), 0)
	}
	for i := range periods {
		switch {
		case i == last && own:
			prev := dimensionSummaries(elapsed, order, v.series, s)
			teacherSuppress(prev, v.minTeachers(), 0)
			compareSummaries(points[i], prev)
		case i == 0:
			compareSummaries(points[i], nil)
		default:
			compareSummaries(points[i], points[i-1])
		}
	}
	out := SiteTrends{DistrictID: v.district.ID, SiteID: v.siteIDs[0], SiteName: v.sites[0].Name, RubricID: v.rubricID,
		Periods: shown, MinTeachers: v.minTeachers()}
	if own {
		out.Previous = v.previous
	}
	off := len(periods) - len(shown)
	for j, ds := range order {
		def, _ := v.series.dimension(ds)
		t := DimensionTrend{Dimension: ds.Dimension, Since: ds.Since, Title: def.Title}
		for i := off; i < len(periods); i++ {
			t.Points = append(t.Points, points[i][j])
		}
		out.Dimensions = append(out.Dimensions, t)
	}
	return out, nil
}
