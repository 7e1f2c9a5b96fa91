package progress

import (
	"context"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// CoverageRow is one site's (or the total's) coverage in a period.
type CoverageRow struct {
	SiteID       string // "" for the total
	SiteName     string
	Classrooms   int  // on the roster
	NoTeachers   bool // no rostered classroom of the site has a teacher
	Observed     int  // rostered classrooms with at least one observation in the period
	Coverage     Cell // Observed ÷ Classrooms
	Observations int  // observations in the period (of rostered classrooms or not)
	PerClassroom Cell // Observations ÷ Classrooms
	// Changes from the previous period (against today's roster).
	CoverageChange     Cell
	PerClassroomChange Cell
}

// ClassroomCoverage is one classroom's visits: teacher-level data.
type ClassroomCoverage struct {
	SiteID       string
	ClassroomID  string
	TeacherID    string
	Observations int       // in the period
	LastVisit    time.Time // latest observation date up to the end of the period (or today); zero: never
	DaysSince    int       // days from LastVisit to AsOf; -1 when never visited
}

// CoverageView is which classrooms were observed in a period.
type CoverageView struct {
	DistrictID string
	RubricID   string
	Period     Period
	Previous   Period
	AsOf       time.Time // the earlier of today and the period's last day
	Sites      []CoverageRow
	Total      CoverageRow
	// Classrooms lists classrooms of the sites whose teacher-level rows the caller may see.
	Classrooms []ClassroomCoverage
}

// Coverage returns observed ÷ rostered classrooms per site and in total, observations per
// classroom, and (for the sites' own principals and coaches) each classroom's days since its last
// visit.
func (pr *Service) Coverage(ctx context.Context, p observation.Principal, q ViewQuery) (CoverageView, error) {
	return pr.CoverageAgainst(ctx, p, q, Comparison{})
}

// CoverageAgainst is Coverage with its changes measured against the period c names.
func (pr *Service) CoverageAgainst(ctx context.Context, p observation.Principal, q ViewQuery, c Comparison) (CoverageView, error) {
	v, err := pr.scopeAgainst(ctx, p, q, false, c)
	if err != nil {
		return CoverageView{}, err
	}
	byKey, err := pr.cells(ctx, v, v.period, v.previous)
	if err != nil {
		return CoverageView{}, err
	}
	rooms, err := pr.Store.ProgressClassrooms(ctx, v.district.ID, v.siteIDs)
	if err != nil {
		return CoverageView{}, err
	}
	asOf := pr.now()
	if end := v.period.End.AddDate(0, 0, -1); end.Before(asOf) {
		asOf = end
	}
	asOf = periodDay(asOf)
	out := CoverageView{DistrictID: v.district.ID, RubricID: v.rubricID, Period: v.period, Previous: v.previous, AsOf: asOf}
	roster := map[string][]observation.Classroom{}
	for _, c := range rooms {
		roster[c.SiteID] = append(roster[c.SiteID], c)
	}
	// The previous period is measured against today's roster: the roster keeps no history.
	cur, obsByRoom := coverageRows(v.sites, roster, byKey[v.period.Key])
	prev, _ := coverageRows(v.sites, roster, byKey[v.previous.Key])
	for i := range cur {
		cur[i].compare(prev[i])
	}
	out.Sites, out.Total = cur[:len(cur)-1], cur[len(cur)-1]
	var visible []string
	for _, site := range v.sites {
		if v.teachers[site.ID] {
			for _, c := range roster[site.ID] {
				visible = append(visible, c.ID)
			}
		}
	}
	if len(visible) > 0 {
		last, err := pr.Store.LastVisits(ctx, v.district.ID, v.rubricID, visible, asOf.AddDate(0, 0, 1))
		if err != nil {
			return CoverageView{}, err
		}
		for _, site := range v.sites {
			if !v.teachers[site.ID] {
				continue
			}
			for _, c := range roster[site.ID] {
				cc := ClassroomCoverage{SiteID: site.ID, ClassroomID: c.ID, TeacherID: c.TeacherID, Observations: obsByRoom[c.ID], DaysSince: -1}
				if t, ok := last[c.ID]; ok {
					cc.LastVisit = t
					cc.DaysSince = int(asOf.Sub(t).Hours() / 24)
				}
				out.Classrooms = append(out.Classrooms, cc)
			}
		}
		if err := pr.auditRead(ctx, p, v, "progress.coverage.read", "district", v.district.ID); err != nil {
			return CoverageView{}, err
		}
	}
	return out, nil
}

// coverageRows are the coverage of each site and, last, of all of them, from one period's cells;
// also the observations of each classroom.
func coverageRows(sites []observation.Site, roster map[string][]observation.Classroom, cells []CellRow) ([]CoverageRow, map[string]int) {
	obsByRoom := map[string]int{}
	obsBySite := map[string]int{}
	for _, c := range cells {
		n := c.M.Observations()
		obsByRoom[c.ClassroomID] += n
		obsBySite[c.SiteID] += n
	}
	var out []CoverageRow
	var total CoverageRow
	for _, site := range sites {
		r := CoverageRow{SiteID: site.ID, SiteName: site.Name, Classrooms: len(roster[site.ID]), Observations: obsBySite[site.ID], NoTeachers: true}
		for _, c := range roster[site.ID] {
			if obsByRoom[c.ID] > 0 {
				r.Observed++
			}
			if c.TeacherID != "" {
				r.NoTeachers = false
			}
		}
		r.finish()
		out = append(out, r)
		total.Classrooms += r.Classrooms
		total.Observed += r.Observed
		total.Observations += r.Observations
	}
	total.finish()
	return append(out, total), obsByRoom
}

// compare sets the row's changes from the same row in the previous period.
func (r *CoverageRow) compare(prev CoverageRow) {
	r.CoverageChange = cellChange(r.Coverage, prev.Coverage)
	r.PerClassroomChange = cellChange(r.PerClassroom, prev.PerClassroom)
}

func (r *CoverageRow) finish() {
	if c, ok := coverage(r.Observed, r.Classrooms); ok {
		r.Coverage = Cell{N: r.Classrooms, Value: c}
		r.PerClassroom = Cell{N: r.Classrooms, Value: float64(r.Observations) / float64(r.Classrooms)}
	} else {
		r.Coverage, r.PerClassroom = Cell{NoData: true}, Cell{NoData: true}
	}
}
