package progress

import (
	"context"
	"math"
	"slices"

	"github.com/lookfor-edu/lookfor/observation"
)

// TalkRow is one site's (or the total's) talk-move figures.
type TalkRow struct {
	SiteID   string
	SiteName string
	TalkSummary
}

// TalkEquity is a district's or site's talk moves by site and participation equity by student
// group in one period.
type TalkEquity struct {
	DistrictID  string
	SiteID      string
	RubricID    string
	Period      Period
	Previous    Period
	Sites       []TalkRow
	Total       TalkRow
	Equity      []EquityGroup
	EquityN     int // observations with participation coding
	Threshold   int // the suppression threshold of student-group cells
	MinTeachers int
}

// TalkEquity returns talk-move rates per 10 discussion minutes, press and student-reasoning
// shares per site and in total, and each student group's equity ratio. Site cells with too few
// teachers and group cells with n below the threshold are suppressed, with complementary
// suppression.
func (pr *Service) TalkEquity(ctx context.Context, p observation.Principal, q ViewQuery) (TalkEquity, error) {
	return pr.TalkEquityAgainst(ctx, p, q, Comparison{})
}

// TalkEquityAgainst is TalkEquity with its changes measured against the period c names.
func (pr *Service) TalkEquityAgainst(ctx context.Context, p observation.Principal, q ViewQuery, c Comparison) (TalkEquity, error) {
	v, err := pr.scopeAgainst(ctx, p, q, false, c)
	if err != nil {
		return TalkEquity{}, err
	}
	byKey, err := pr.cells(ctx, v, v.period, v.previous)
	if err != nil {
		return TalkEquity{}, err
	}
	out := talkEquity(v, byKey[v.period.Key])
	prev := talkEquity(v, byKey[v.previous.Key])
	for i := range out.Sites {
		out.Sites[i].compare(prev.Sites[i].TalkSummary)
	}
	out.Total.compare(prev.Total.TalkSummary)
	for i := range out.Equity {
		p := Cell{NoData: true}
		for _, g := range prev.Equity {
			if g.Group == out.Equity[i].Group {
				p = g.Ratio
			}
		}
		out.Equity[i].Change = cellChange(out.Equity[i].Ratio, p)
	}
	out.SiteID, out.Previous = q.SiteID, v.previous
	return out, nil
}

// talkEquity computes the talk and equity figures of one period's cells, suppressed.
func talkEquity(v *viewScope, cells []CellRow) TalkEquity {
	content, _ := v.series.latest()
	sites, total := bySite(cells, v.series, nil)
	out := TalkEquity{DistrictID: v.district.ID, RubricID: v.rubricID, Period: v.period,
		Threshold: v.threshold(), MinTeachers: v.minTeachers()}
	counts := make([]Cell, len(v.sites))
	for i, site := range v.sites {
		s := sites[site.ID]
		if s == nil {
			s = &summary{}
		}
		r := TalkRow{SiteID: site.ID, SiteName: site.Name, TalkSummary: talkSummary(s.Talk, len(s.Teachers), content.TallyCategories)}
		counts[i] = Cell{N: r.Observations}
		if r.Observations > 0 && r.Teachers < v.minTeachers() {
			counts[i].Suppressed, counts[i].Reason = true, SuppressReasonTeachers
		} else if r.Observations == 0 {
			counts[i].N = math.MaxInt // no data: nothing to derive
		}
		out.Sites = append(out.Sites, r)
	}
	out.Total = TalkRow{TalkSummary: talkSummary(total.Talk, len(total.Teachers), content.TallyCategories)}
	tot := Cell{N: out.Total.Observations}
	if out.Total.Observations > 0 && out.Total.Teachers < v.minTeachers() {
		out.Total.suppress(SuppressReasonTeachers)
		tot.Suppressed = true
	}
	for i, c := range suppressRow(counts, 0, &tot) {
		if c.Suppressed {
			out.Sites[i].suppress(c.Reason)
		}
	}
	out.Equity, out.EquityN = equityGroups(total.Equity, v.district.Settings.StudentGroups, v.threshold())
	return out
}

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
// suppression against the number of observations with participation coding (e.Coded), which is
// also returned. A group's n counts only the observations in which it is enrolled.
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
	total := e.Coded
	for i, g := range keys {
		if r, n, ok := e.Ratio(g); ok {
			cells[i] = Cell{N: n, Value: r}
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
