package progress

import (
	"context"
	"math"

	"github.com/lookfor-edu/lookfor/observation"
)

// SiteRow is one site's (or the total's) figures in a period.
type SiteRow struct {
	SiteID       string // "" for the total
	SiteName     string
	Observations Cell // NoData when the site has no observations in the period
	Teachers     int
	// NoTeachers flags a site with no teacher on its roster (no classroom with a teacher): its
	// figures are empty because there is no one to observe, not because it was measured.
	NoTeachers bool
	Dimensions []DimensionSummary
}

// DistrictProgress is a district's figures by site and in total for one period, with the change
// from the previous period.
type DistrictProgress struct {
	DistrictID   string
	DistrictName string
	RubricID     string
	Period       Period
	Previous     Period
	Sites        []SiteRow
	Total        SiteRow
	MinTeachers  int
}

// DistrictProgress returns the district's progress per site in the caller's scope and in total
// (the total covers those sites). A site cell with fewer distinct teachers than the district's
// minimum is suppressed, and complementary suppression keeps it from being derived from the
// total.
func (pr *Service) DistrictProgress(ctx context.Context, p observation.Principal, q ViewQuery) (DistrictProgress, error) {
	return pr.DistrictProgressAgainst(ctx, p, q, Comparison{})
}

// DistrictProgressAgainst is DistrictProgress with its changes measured against the period c names.
func (pr *Service) DistrictProgressAgainst(ctx context.Context, p observation.Principal, q ViewQuery, c Comparison) (DistrictProgress, error) {
	v, err := pr.scopeAgainst(ctx, p, q, false, c)
	if err != nil {
		return DistrictProgress{}, err
	}
	byKey, err := pr.siteCells(ctx, v, v.period, v.previous)
	if err != nil {
		return DistrictProgress{}, err
	}
	out := buildDistrictProgress(v, byKey[v.period.Key], byKey[v.previous.Key], &pr.rows)
	staffed, err := pr.staffedSites(ctx, v)
	if err != nil {
		return DistrictProgress{}, err
	}
	for i := range out.Sites {
		out.Sites[i].NoTeachers = !staffed[out.Sites[i].SiteID]
	}
	return out, nil
}

// staffedSites returns the view's sites that have at least one rostered classroom with a teacher.
func (pr *Service) staffedSites(ctx context.Context, v *viewScope) (map[string]bool, error) {
	sites, err := pr.Store.StaffedSites(ctx, v.district.ID, v.siteIDs)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range sites {
		out[s] = true
	}
	return out, nil
}

func buildDistrictProgress(v *viewScope, cur, prev []CellRow, cache *rowCache) DistrictProgress {
	s := v.district.Settings
	curBy, curTotal := bySite(cur, v.series, cache)
	prevBy, prevTotal := bySite(prev, v.series, cache)
	order := v.series.ordered(curTotal.seriesSet(), prevTotal.seriesSet())
	row := func(sum *summary) []DimensionSummary {
		if sum == nil {
			sum = &summary{}
		}
		ds := dimensionSummaries(*sum, order, v.series, s)
		teacherSuppress(ds, v.minTeachers(), 0)
		return ds
	}
	out := DistrictProgress{DistrictID: v.district.ID, DistrictName: v.district.Name, RubricID: v.rubricID, Period: v.period, Previous: v.previous, MinTeachers: v.minTeachers()}
	var curRows, prevRows [][]DimensionSummary
	for _, site := range v.sites {
		curRows = append(curRows, row(curBy[site.ID]))
		prevRows = append(prevRows, row(prevBy[site.ID]))
	}
	curTot, prevTot := row(&curTotal), row(&prevTotal)
	suppressColumns(curRows, curTot, 0)
	suppressColumns(prevRows, prevTot, 0)
	// Observation counts: a site with too few teachers is withheld, and so is the next smallest
	// when the total would give it away.
	counts := make([]Cell, len(v.sites))
	for i, site := range v.sites {
		counts[i] = observationCount(curBy[site.ID], v.minTeachers())
	}
	total := observationCount(&curTotal, v.minTeachers())
	counts = suppressRow(counts, 0, &total)
	for i, site := range v.sites {
		compareSummaries(curRows[i], prevRows[i])
		r := SiteRow{SiteID: site.ID, SiteName: site.Name, Dimensions: curRows[i], Observations: counts[i]}
		if sum := curBy[site.ID]; sum != nil && !counts[i].Suppressed {
			r.Teachers = len(sum.Teachers)
		}
		if r.Observations.N == math.MaxInt {
			r.Observations = Cell{NoData: true}
		}
		out.Sites = append(out.Sites, r)
	}
	compareSummaries(curTot, prevTot)
	out.Total = SiteRow{Observations: total, Dimensions: curTot}
	if !total.Suppressed {
		out.Total.Teachers = len(curTotal.Teachers)
	}
	if out.Total.Observations.N == math.MaxInt {
		out.Total.Observations = Cell{NoData: true}
	}
	return out
}

// observationCount is a summary's number of observations as a cell: withheld when fewer
// distinct teachers than minTeachers are behind it; N is math.MaxInt when there are none (so
// complementary suppression never picks an empty cell).
func observationCount(s *summary, minTeachers int) Cell {
	if s == nil || s.Observations <= 0 {
		return Cell{N: math.MaxInt}
	}
	c := Cell{N: s.Observations, Value: float64(s.Observations)}
	if len(s.Teachers) < minTeachers {
		c.suppress(SuppressReasonTeachers)
	}
	return c
}
