package progress

import (
	"context"
	"math"
	"slices"

	"github.com/lookfor-edu/lookfor/observation"
)

// NetworkRow is one opted-in district's (or the network's) figures.
type NetworkRow struct {
	DistrictID   string // "" for the network total
	DistrictName string
	// The district's own period of the requested kind and key, in its own calendar, and the
	// period its changes are computed from; zero for the network total, and for a district whose
	// calendar has no period of that key (its figures are then no data).
	Period       Period
	Previous     Period
	Observations Cell
	Dimensions   []DimensionSummary
}

// NetworkMeasures are the shared measures of the districts that opted in, suppressed.
type NetworkMeasures struct {
	RubricID string
	Kind     PeriodKind
	Key      string
	// The period of Kind and Key and the one changes are computed from, with the days of the
	// network's default calendar when every opted-in district's own period has those days;
	// otherwise only Kind and Key are set (each district's row has its own days).
	Period      Period
	Previous    Period
	Districts   []NetworkRow
	Total       NetworkRow
	Threshold   int
	MinTeachers int
}

// Network returns the shared measures of opted-in districts for a period (each district's own
// period of that kind and key). Only network analysts and admins may read it; cells with n below
// the suppression threshold (the larger of the network minimum and the district's own) or with
// fewer distinct teachers than the minimum are suppressed, with complementary suppression across
// districts.
func (pr *Service) Network(ctx context.Context, p observation.Principal, q ViewQuery) (NetworkMeasures, error) {
	if p.Role != observation.RoleNetworkAnalyst && p.Role != observation.RoleAdmin {
		return NetworkMeasures{}, observation.Denied("network measures are for network analysts")
	}
	rubricID := q.RubricID
	if rubricID == "" {
		rubricID = observation.DefaultRubricID
	}
	if err := observation.ValidateID("rubric_id", rubricID); err != nil {
		return NetworkMeasures{}, err
	}
	versions, err := pr.Store.RubricSeriesVersions(ctx, rubricID)
	if err != nil && observation.KindOf(err) != observation.KindNotFound {
		return NetworkMeasures{}, err
	}
	if err != nil || len(versions) == 0 || versions[0].OwnerID != observation.NetworkOwner {
		return NetworkMeasures{}, observation.NotFound("rubric", rubricID)
	}
	series := NewSeries(versions)
	districts, err := pr.Store.OptedInDistricts(ctx)
	if err != nil {
		return NetworkMeasures{}, err
	}
	kind := q.PeriodKind
	if kind == "" {
		kind = string(PeriodSchoolYear)
	}
	if PeriodKind(kind) == PeriodWindow {
		return NetworkMeasures{}, observation.Invalid("period.kind", periodReasonBadKind, "network measures use school_year, term, month or week periods; windows differ by district")
	}
	// The period is resolved with the network's default calendar; each district's cells of the
	// same kind and key are its own period of that name.
	per, err := pr.resolvePeriod(kind, q.PeriodKey, observation.DefaultDistrictSettings())
	if err != nil {
		return NetworkMeasures{}, err
	}
	out := NetworkMeasures{RubricID: rubricID, Kind: per.Kind, Key: per.Key, Threshold: observation.NetworkMinSuppression, MinTeachers: observation.NetworkMinTeachers}
	for _, d := range districts {
		out.Threshold = max(out.Threshold, d.Settings.SuppressionThreshold)
		out.MinTeachers = max(out.MinTeachers, d.Settings.MinTeachersPerCell)
	}
	now := pr.now()
	per, prev := Elapsed(per, per.Previous(observation.DefaultDistrictSettings()), now)
	out.Period, out.Previous = per, prev
	// Each district's own period of the kind and key, and the cells of the districts that share
	// the same days, read together.
	own := make([][2]Period, len(districts))
	groups := map[[2]Period][]string{}
	var order [][2]Period
	for i, d := range districts {
		dp, err := ParsePeriod(string(per.Kind), per.Key, d.Settings)
		if err != nil {
			continue // no period of that key in the district's calendar: no data
		}
		dc, dprev := Elapsed(dp, dp.Previous(d.Settings), now)
		own[i] = [2]Period{dc, dprev}
		if groups[own[i]] == nil {
			order = append(order, own[i])
		}
		groups[own[i]] = append(groups[own[i]], d.ID)
	}
	for i := range own {
		if own[i] != [2]Period{per, prev} {
			out.Period = Period{Kind: per.Kind, Key: per.Key}
			out.Previous = Period{Kind: prev.Kind, Key: prev.Key}
		}
	}
	cur, old := newNetworkSums(), newNetworkSums()
	for _, g := range order {
		rows, err := pr.periodRows(ctx, groups[g], rubricID, nil, &foldSpec{series: series}, g[0], g[1])
		if err != nil {
			return NetworkMeasures{}, err
		}
		cur.rows = append(cur.rows, rows[g[0].Key]...)
		if !g[1].IsZero() {
			old.rows = append(old.rows, rows[g[1].Key]...)
		}
	}
	cur.sum(series, &pr.rows)
	old.sum(series, &pr.rows)
	dims := series.ordered(cur.total.seriesSet(), old.total.seriesSet())
	curRows, curTot := cur.figures(districts, dims, series, out.MinTeachers, out.Threshold)
	oldRows, oldTot := old.figures(districts, dims, series, out.MinTeachers, out.Threshold)
	counts, total := cur.counts(districts, out.MinTeachers, out.Threshold)
	for i, d := range districts {
		compareSummaries(curRows[i], oldRows[i])
		r := NetworkRow{DistrictID: d.ID, DistrictName: d.Name, Period: own[i][0], Previous: own[i][1], Observations: counts[i], Dimensions: curRows[i]}
		out.Districts = append(out.Districts, r)
	}
	compareSummaries(curTot, oldTot)
	out.Total = NetworkRow{Observations: total, Dimensions: curTot}
	return out, nil
}

// networkSums are one period's network rows (site rows summed by district: periodRows with
// folds), summed by district and in total.
type networkSums struct {
	rows  []CellRow
	by    map[string]*summary // read only: may be held by the cache
	total summary             // read only, likewise
}

func newNetworkSums() *networkSums { return &networkSums{by: map[string]*summary{}} }

// sum sums the rows by district and in total. Teachers and classrooms are per district, so the
// total counts them prefixed with their district. Sums of rows that all carry held folds are
// kept in cache, by those folds, like the district view's (bySite).
func (n *networkSums) sum(series Series, cache *rowCache) {
	rowsOf := map[string][]CellRow{}
	var districts []string
	for _, c := range n.rows {
		if rowsOf[c.DistrictID] == nil {
			districts = append(districts, c.DistrictID)
		}
		rowsOf[c.DistrictID] = append(rowsOf[c.DistrictID], c)
	}
	slices.Sort(districts)
	all := make([]CellRow, 0, len(districts))
	for _, d := range districts {
		rows := rowsOf[d]
		if len(rows) == 1 && rows[0].sum != nil {
			n.by[d] = rows[0].sum
		} else {
			n.by[d] = cache.sum(rows, series)
		}
		k := rows[0].CellKey
		all = append(all, CellRow{CellKey: CellKey{DistrictID: d, Kind: k.Kind, PeriodKey: k.PeriodKey}, sum: n.by[d], foldSeq: cache.seqOf(rows)})
	}
	slot, version := "", ""
	if cache != nil {
		slot, version = totalKey(all)
	}
	if slot != "" {
		slot = "network\x01" + slot // a total with prefixed teachers: not the same sum as cache.sum's
		if t, ok := cache.heldSum(slot, version); ok {
			n.total = *t
			return
		}
	}
	var total summary
	for _, d := range districts {
		total.merge(*n.by[d], d+"/")
	}
	n.total = total
	if slot != "" {
		cache.holdSum(slot, version, &total)
	}
}

// figures are the suppressed dimension figures of every district and of the network: a
// dimension with fewer teachers than minTeachers or n below threshold is withheld, with
// complementary suppression across districts, and so is every level count below threshold.
func (n *networkSums) figures(districts []observation.District, order []dimSeries, series Series, minTeachers, threshold int) ([][]DimensionSummary, []DimensionSummary) {
	settings := observation.DefaultDistrictSettings()
	var rows [][]DimensionSummary
	for _, d := range districts {
		s := n.by[d.ID]
		if s == nil {
			s = &summary{}
		}
		ds := dimensionSummaries(*s, order, series, settings)
		teacherSuppress(ds, minTeachers, threshold)
		rows = append(rows, ds)
	}
	tot := dimensionSummaries(n.total, order, series, settings)
	teacherSuppress(tot, minTeachers, threshold)
	suppressColumns(rows, tot, threshold)
	for i := range rows {
		suppressLevels(rows[i], threshold)
	}
	suppressLevels(tot, threshold)
	return rows, tot
}

// counts are the districts' observation counts and the network's: the teacher rule and the
// threshold, then complementary suppression against the network total, so that a withheld
// count cannot be derived from it. A district without observations is no data.
func (n *networkSums) counts(districts []observation.District, minTeachers, threshold int) ([]Cell, Cell) {
	counts := make([]Cell, len(districts))
	for i, d := range districts {
		s := n.by[d.ID]
		if s == nil {
			s = &summary{}
		}
		counts[i] = networkCount(s, minTeachers, threshold)
		if counts[i].NoData {
			counts[i].N = math.MaxInt // nothing to derive, nothing to hide
		}
	}
	total := networkCount(&n.total, minTeachers, threshold)
	counts = suppressRow(counts, 0, &total)
	for i := range counts {
		if counts[i].N == math.MaxInt {
			counts[i] = Cell{NoData: true}
		}
	}
	return counts, total
}

// suppressLevels withholds the level counts below threshold of every published summary, with
// complementary suppression against the summary's n (the counts add up to it).
func suppressLevels(ds []DimensionSummary, threshold int) {
	for i := range ds {
		d := &ds[i]
		if d.Suppressed() || d.N == 0 {
			continue
		}
		d.Levels = suppressRow(d.Levels, threshold, &Cell{N: d.N})
	}
}

// networkCount is a district's (or the network's) observation count, withheld below the
// threshold or with too few teachers; no data when there are none.
func networkCount(s *summary, minTeachers, threshold int) Cell {
	c := Cell{N: s.Observations, Value: float64(s.Observations)}
	switch {
	case s.Observations == 0:
		c = Cell{NoData: true}
	case len(s.Teachers) < minTeachers:
		c.suppress(SuppressReasonTeachers)
	case s.Observations < threshold:
		c.suppress(SuppressReasonThreshold)
	}
	return c
}
