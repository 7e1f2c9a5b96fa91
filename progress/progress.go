package progress

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// Service serves the implementation-progress views (DESIGN.md §7) from the aggregate rows the
// store maintains, deciding for every call what the caller may see.
//
// Access: a principal sees their site, a coach their assigned sites, a district admin their
// district, an admin everything; a network analyst only the network measures of opted-in
// districts. Teacher-level rows (the classroom view, classrooms in coverage) appear only to the
// site's own principal and coaches, and their reads are audited.
type Service struct {
	Store Store
	Now   func() time.Time
}

// Limits and reason codes of the views and goals.
const (
	defaultTrendPeriods = 6
	maxTrendPeriods     = 36
	maxGoalsPerDistrict = 200
	maxGoalTitleLength  = 200

	reasonTeacherLevel   = "TEACHER_LEVEL_VIEW" // teacher-level rows are for the site's own principal and coaches
	reasonNetworkOnly    = "NETWORK_ONLY"       // network analysts see network measures only
	reasonBadGoalMeasure = "BAD_GOAL_MEASURE"   // a goal measure that is not one of goalMeasures
	reasonBadTarget      = "BAD_TARGET"         // a goal target outside the measure's range
	reasonUnknownDim     = "UNKNOWN_DIMENSION"  // a dimension the rubric does not have
)

// goalMeasures lists every goal measure.
var goalMeasures = []GoalMeasure{GoalMeanLevel, GoalShareProficient}

func (pr *Service) now() time.Time {
	if pr.Now != nil {
		return pr.Now().UTC()
	}
	return time.Now().UTC()
}

// ViewQuery selects what a progress view covers.
type ViewQuery struct {
	DistrictID string
	SiteID     string // "": every site in the caller's scope (required by site trends and the classroom view)
	RubricID   string // "": the network's default rubric
	PeriodKind string // "": school_year
	PeriodKey  string // "": the period of that kind containing today
	Periods    int    // site trends: how many periods, ending with the selected one (0: defaultTrendPeriods)
}

// viewScope is what one view call resolved: the district, its settings and the caller's sites.
type viewScope struct {
	district observation.District
	sites    []observation.Site // the sites the view covers, by id
	siteIDs  []string
	all      bool // every site of the district
	teachers map[string]bool
	period   Period
	previous Period
	series   Series
	rubricID string
}

// scope checks p's access to q's district and site and resolves the period and rubric.
func (pr *Service) scope(ctx context.Context, p observation.Principal, q ViewQuery, needSite bool) (*viewScope, error) {
	if err := observation.ValidateDistrictID("district_id", q.DistrictID); err != nil {
		return nil, err
	}
	if q.SiteID != "" {
		if err := observation.ValidateID("site_id", q.SiteID); err != nil {
			return nil, err
		}
	} else if needSite {
		return nil, observation.Invalid("site_id", observation.ReasonRequired, "a site is required")
	}
	if p.Role == observation.RoleNetworkAnalyst {
		return nil, &observation.Error{Kind: observation.KindPermissionDenied, Reason: reasonNetworkOnly,
			Message: "network analysts see the network measures of opted-in districts only"}
	}
	if !p.InDistrict(q.DistrictID) {
		return nil, observation.NotFound("district", q.DistrictID)
	}
	if q.SiteID != "" && !p.CanSeeSite(q.DistrictID, q.SiteID) {
		return nil, observation.NotFound("site", q.SiteID)
	}
	d, err := pr.Store.ProgressDistrict(ctx, q.DistrictID)
	if err != nil {
		return nil, err
	}
	sites, err := pr.Store.ProgressSites(ctx, q.DistrictID)
	if err != nil {
		return nil, err
	}
	v := &viewScope{district: d, teachers: map[string]bool{}}
	for _, s := range sites {
		switch {
		case q.SiteID != "" && s.ID != q.SiteID:
		case !p.CanSeeSite(q.DistrictID, s.ID):
		default:
			v.sites = append(v.sites, s)
			v.siteIDs = append(v.siteIDs, s.ID)
		}
	}
	if q.SiteID != "" && len(v.sites) == 0 {
		return nil, observation.NotFound("site", q.SiteID)
	}
	v.all = q.SiteID == "" && (p.Role == observation.RoleAdmin || p.Role == observation.RoleDistrictAdmin)
	for _, id := range v.siteIDs {
		v.teachers[id] = canSeeTeachers(p, q.DistrictID, id)
	}
	v.period, err = pr.resolvePeriod(q.PeriodKind, q.PeriodKey, d.Settings)
	if err != nil {
		return nil, err
	}
	v.previous = v.period.Previous(d.Settings)
	v.rubricID = q.RubricID
	if v.rubricID == "" {
		v.rubricID = observation.DefaultRubricID
	}
	if err := observation.ValidateID("rubric_id", v.rubricID); err != nil {
		return nil, err
	}
	versions, err := pr.Store.RubricSeriesVersions(ctx, v.rubricID)
	if err != nil {
		return nil, err
	}
	if !rubricVisible(p, versions) {
		return nil, observation.NotFound("rubric", v.rubricID)
	}
	v.series = NewSeries(versions)
	return v, nil
}

func rubricVisible(p observation.Principal, versions []observation.RubricVersion) bool {
	return len(versions) > 0 && p.CanSeeRubric(versions[0].OwnerID)
}

// canSeeTeachers reports whether p may see teacher-level rows of a site: only its own principal
// and coaches.
func canSeeTeachers(p observation.Principal, district, site string) bool {
	return (p.Role == observation.RolePrincipal || p.Role == observation.RoleCoach) && p.DistrictID == district && slices.Contains(p.SiteIDs, site)
}

// resolvePeriod parses a period, defaulting to the school year and to the period containing today.
func (pr *Service) resolvePeriod(kind, key string, s observation.DistrictSettings) (Period, error) {
	if kind == "" {
		kind = string(PeriodSchoolYear)
	}
	if key == "" {
		p, ok := PeriodOf(PeriodKind(kind), pr.now(), s)
		if !ok {
			if !slices.Contains(periodKinds, PeriodKind(kind)) {
				return Period{}, observation.Invalid("period.kind", periodReasonBadKind, "period kind %s is not one of %v", clip(kind), periodKinds)
			}
			return Period{}, observation.Invalid("period.key", periodReasonUnknownWindow, "today falls in none of the district's %s periods; name one", kind)
		}
		return p, nil
	}
	return ParsePeriod(kind, key, s)
}

func (pr *Service) cells(ctx context.Context, v *viewScope, periods ...Period) (map[string][]CellRow, error) {
	q := CellQuery{DistrictIDs: []string{v.district.ID}, RubricID: v.rubricID, Kind: periods[0].Kind, Keys: periodKeys(periods...)}
	if !v.all {
		q.Sites = v.siteIDs
	}
	rows, err := pr.Store.ProgressCells(ctx, q)
	if err != nil {
		return nil, err
	}
	out := map[string][]CellRow{}
	for _, c := range rows {
		out[c.PeriodKey] = append(out[c.PeriodKey], c)
	}
	return out, nil
}

func (v *viewScope) minTeachers() int {
	return effectiveThreshold(v.district.Settings.MinTeachersPerCell, observation.NetworkMinTeachers)
}

func (v *viewScope) threshold() int {
	return effectiveThreshold(v.district.Settings.SuppressionThreshold, observation.NetworkMinSuppression)
}

// --- Site trends ---

// SiteTrends is one site's figures per dimension over consecutive periods.
type SiteTrends struct {
	DistrictID  string
	SiteID      string
	SiteName    string
	RubricID    string
	Periods     []Period // oldest first
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
	n := q.Periods
	if n == 0 {
		n = defaultTrendPeriods
	}
	if n < 1 || n > maxTrendPeriods {
		return SiteTrends{}, observation.Invalid("periods", observation.ReasonOutOfRange, "periods must be 1 to %d, got %d", maxTrendPeriods, q.Periods)
	}
	v, err := pr.scope(ctx, p, q, true)
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
	byKey, err := pr.cells(ctx, v, periods...)
	if err != nil {
		return SiteTrends{}, err
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
	order := v.series.ordered(sets...)
	points := make([][]DimensionSummary, len(periods))
	for i := range periods {
		points[i] = dimensionSummaries(sums[i], order, v.series, s)
		teacherSuppress(points[i], v.minTeachers(), 0)
		if i > 0 {
			compareSummaries(points[i], points[i-1])
		} else {
			compareSummaries(points[i], nil)
		}
	}
	out := SiteTrends{DistrictID: v.district.ID, SiteID: v.siteIDs[0], SiteName: v.sites[0].Name, RubricID: v.rubricID,
		Periods: shown, MinTeachers: v.minTeachers()}
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

// --- District progress ---

// SiteRow is one site's (or the total's) figures in a period.
type SiteRow struct {
	SiteID       string // "" for the total
	SiteName     string
	Observations Cell
	Teachers     int
	Dimensions   []DimensionSummary
}

// DistrictProgress is a district's figures by site and in total for one period, with the change
// from the previous period.
type DistrictProgress struct {
	DistrictID  string
	RubricID    string
	Period      Period
	Previous    Period
	Sites       []SiteRow
	Total       SiteRow
	MinTeachers int
}

// DistrictProgress returns the district's progress per site in the caller's scope and in total
// (the total covers those sites). A site cell with fewer distinct teachers than the district's
// minimum is suppressed, and complementary suppression keeps it from being derived from the
// total.
func (pr *Service) DistrictProgress(ctx context.Context, p observation.Principal, q ViewQuery) (DistrictProgress, error) {
	v, err := pr.scope(ctx, p, q, false)
	if err != nil {
		return DistrictProgress{}, err
	}
	byKey, err := pr.cells(ctx, v, v.period, v.previous)
	if err != nil {
		return DistrictProgress{}, err
	}
	return buildDistrictProgress(v, byKey[v.period.Key], byKey[v.previous.Key]), nil
}

func buildDistrictProgress(v *viewScope, cur, prev []CellRow) DistrictProgress {
	s := v.district.Settings
	curBy, curTotal := bySite(cur, v.series)
	prevBy, prevTotal := bySite(prev, v.series)
	order := v.series.ordered(curTotal.seriesSet(), prevTotal.seriesSet())
	row := func(sum *summary) []DimensionSummary {
		if sum == nil {
			sum = &summary{}
		}
		ds := dimensionSummaries(*sum, order, v.series, s)
		teacherSuppress(ds, v.minTeachers(), 0)
		return ds
	}
	out := DistrictProgress{DistrictID: v.district.ID, RubricID: v.rubricID, Period: v.period, Previous: v.previous, MinTeachers: v.minTeachers()}
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
			r.Observations = Cell{}
		}
		out.Sites = append(out.Sites, r)
	}
	compareSummaries(curTot, prevTot)
	out.Total = SiteRow{Observations: total, Dimensions: curTot}
	if !total.Suppressed {
		out.Total.Teachers = len(curTotal.Teachers)
	}
	if out.Total.Observations.N == math.MaxInt {
		out.Total.Observations = Cell{}
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

// --- Classroom view (teacher level) ---

// ClassroomRow is one classroom and teacher's figures in a period.
type ClassroomRow struct {
	ClassroomID  string
	TeacherID    string
	Course       string
	Grade        string
	Section      string
	Observations int
	Dimensions   []DimensionSummary
}

// ClassroomProgress is a site's figures by classroom for one period: teacher-level data.
type ClassroomProgress struct {
	DistrictID string
	SiteID     string
	RubricID   string
	Period     Period
	Previous   Period
	Classrooms []ClassroomRow
}

// Classrooms returns a site's figures per classroom (and teacher). Only the site's principal and
// coaches may read it; each read is audited.
func (pr *Service) Classrooms(ctx context.Context, p observation.Principal, q ViewQuery) (ClassroomProgress, error) {
	v, err := pr.scope(ctx, p, q, true)
	if err != nil {
		return ClassroomProgress{}, err
	}
	if !v.teachers[v.siteIDs[0]] {
		return ClassroomProgress{}, teacherLevelDenied()
	}
	byKey, err := pr.cells(ctx, v, v.period, v.previous)
	if err != nil {
		return ClassroomProgress{}, err
	}
	rooms, err := pr.Store.ProgressClassrooms(ctx, v.district.ID, v.siteIDs)
	if err != nil {
		return ClassroomProgress{}, err
	}
	type rk struct{ room, teacher string }
	sum := func(cells []CellRow) map[rk]*summary {
		out := map[rk]*summary{}
		for _, c := range cells {
			k := rk{c.ClassroomID, c.TeacherID}
			if out[k] == nil {
				out[k] = &summary{}
			}
			out[k].Add(c, v.series)
		}
		return out
	}
	cur, prev := sum(byKey[v.period.Key]), sum(byKey[v.previous.Key])
	sets := []map[dimSeries]bool{}
	for _, m := range []map[rk]*summary{cur, prev} {
		for _, s := range m {
			sets = append(sets, s.seriesSet())
		}
	}
	order := v.series.ordered(sets...)
	info := map[string]observation.Classroom{}
	var keys []rk
	for _, c := range rooms {
		info[c.ID] = c
		keys = append(keys, rk{c.ID, c.TeacherID})
	}
	for k := range cur {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b rk) int {
		if c := strings.Compare(a.room, b.room); c != 0 {
			return c
		}
		return strings.Compare(a.teacher, b.teacher)
	})
	out := ClassroomProgress{DistrictID: v.district.ID, SiteID: v.siteIDs[0], RubricID: v.rubricID, Period: v.period, Previous: v.previous}
	for _, k := range keys {
		c, p := cur[k], prev[k]
		if c == nil {
			c = &summary{}
		}
		if p == nil {
			p = &summary{}
		}
		row := ClassroomRow{ClassroomID: k.room, TeacherID: k.teacher, Course: info[k.room].Course, Grade: info[k.room].Grade,
			Section: info[k.room].Section, Observations: c.Observations,
			Dimensions: dimensionSummaries(*c, order, v.series, v.district.Settings)}
		compareSummaries(row.Dimensions, dimensionSummaries(*p, order, v.series, v.district.Settings))
		out.Classrooms = append(out.Classrooms, row)
	}
	if err := pr.auditRead(ctx, p, v, "progress.classrooms.read", "site", v.siteIDs[0]); err != nil {
		return ClassroomProgress{}, err
	}
	return out, nil
}

func teacherLevelDenied() error {
	return &observation.Error{Kind: observation.KindPermissionDenied, Reason: reasonTeacherLevel,
		Message: "teacher-level rows are shown only to the site's own principal and coaches"}
}

func (pr *Service) auditRead(ctx context.Context, p observation.Principal, v *viewScope, action, resourceType, id string) error {
	e := observation.Audit(p, v.district.ID, action, resourceType, id, pr.now())
	e.Details["period"] = v.period.String()
	e.Details["rubric_id"] = v.rubricID
	return pr.Store.Audit(ctx, e)
}

// --- Coverage ---

// CoverageRow is one site's (or the total's) coverage in a period.
type CoverageRow struct {
	SiteID       string // "" for the total
	SiteName     string
	Classrooms   int  // on the roster
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
	v, err := pr.scope(ctx, p, q, false)
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
		last, err := pr.Store.LastVisits(ctx, v.district.ID, visible, asOf.AddDate(0, 0, 1))
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
		r := CoverageRow{SiteID: site.ID, SiteName: site.Name, Classrooms: len(roster[site.ID]), Observations: obsBySite[site.ID]}
		for _, c := range roster[site.ID] {
			if obsByRoom[c.ID] > 0 {
				r.Observed++
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

func (r *CoverageRow) finish() {
	if c, ok := coverage(r.Observed, r.Classrooms); ok {
		r.Coverage = Cell{N: r.Classrooms, Value: c}
		r.PerClassroom = Cell{N: r.Classrooms, Value: float64(r.Observations) / float64(r.Classrooms)}
	} else {
		r.Coverage, r.PerClassroom = Cell{NoData: true}, Cell{NoData: true}
	}
}

// --- Calibration ---

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
	v, err := pr.scope(ctx, p, q, false)
	if err != nil {
		return CalibrationReport{}, err
	}
	cq := CellQuery{DistrictIDs: []string{v.district.ID}, RubricID: v.rubricID, Kind: v.period.Kind, Keys: []string{v.period.Key}}
	if !v.all {
		cq.Sites = v.siteIDs
	}
	cq.Keys = periodKeys(v.period, v.previous)
	pairs, err := pr.Store.ProgressPairs(ctx, cq)
	if err != nil {
		return CalibrationReport{}, err
	}
	var cur, prev []PairRow
	for _, pp := range pairs {
		if pp.PeriodKey == v.period.Key {
			cur = append(cur, pp)
		} else {
			prev = append(prev, pp)
		}
	}
	view := BuildCalibration(cur, v.series)
	view.compare(BuildCalibration(prev, v.series))
	// Each observer's agreement is about that member of staff: district admins (and admins) see
	// every observer's row, a coach or principal only their own.
	if p.Role != observation.RoleAdmin && p.Role != observation.RoleDistrictAdmin {
		view.Observers = slices.DeleteFunc(view.Observers, func(o CalibrationObserver) bool { return o.ObserverID != p.UserID })
	}
	return CalibrationReport{DistrictID: v.district.ID, SiteID: q.SiteID, RubricID: v.rubricID, Period: v.period,
		Previous: v.previous, CalibrationView: view}, nil
}

// --- Talk moves and equity ---

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
	EquityN     int // observations with participation coding (the most behind any group)
	Threshold   int // the suppression threshold of student-group cells
	MinTeachers int
}

// TalkEquity returns talk-move rates per 10 discussion minutes, press and student-reasoning
// shares per site and in total, and each student group's equity ratio. Site cells with too few
// teachers and group cells with n below the threshold are suppressed, with complementary
// suppression.
func (pr *Service) TalkEquity(ctx context.Context, p observation.Principal, q ViewQuery) (TalkEquity, error) {
	v, err := pr.scope(ctx, p, q, false)
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
	sites, total := bySite(cells, v.series)
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

// --- Network measures ---

// NetworkRow is one opted-in district's (or the network's) figures.
type NetworkRow struct {
	DistrictID   string // "" for the network total
	DistrictName string
	Observations Cell
	Dimensions   []DimensionSummary
}

// NetworkMeasures are the shared measures of the districts that opted in, suppressed.
type NetworkMeasures struct {
	RubricID    string
	Kind        PeriodKind
	Key         string
	Period      Period // the network's default calendar's period of Kind and Key
	Previous    Period // the period changes are computed from
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
	if err != nil {
		return NetworkMeasures{}, err
	}
	if len(versions) == 0 || versions[0].OwnerID != observation.NetworkOwner {
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
	ids := make([]string, len(districts))
	for i, d := range districts {
		ids[i] = d.ID
		out.Threshold = max(out.Threshold, d.Settings.SuppressionThreshold)
		out.MinTeachers = max(out.MinTeachers, d.Settings.MinTeachersPerCell)
	}
	prev := per.Previous(observation.DefaultDistrictSettings())
	out.Period, out.Previous = per, prev
	var cells []CellRow
	if len(ids) > 0 {
		cells, err = pr.Store.ProgressCells(ctx, CellQuery{DistrictIDs: ids, RubricID: rubricID, Kind: per.Kind, Keys: periodKeys(per, prev)})
		if err != nil {
			return NetworkMeasures{}, err
		}
	}
	cur, old := newNetworkSums(), newNetworkSums()
	for _, c := range cells {
		if c.PeriodKey == per.Key {
			cur.add(c, series)
		} else {
			old.add(c, series)
		}
	}
	order := series.ordered(cur.total.seriesSet(), old.total.seriesSet())
	curRows, curTot := cur.figures(districts, order, series, out.MinTeachers, out.Threshold)
	oldRows, oldTot := old.figures(districts, order, series, out.MinTeachers, out.Threshold)
	for i, d := range districts {
		compareSummaries(curRows[i], oldRows[i])
		s := cur.by[d.ID]
		if s == nil {
			s = &summary{}
		}
		r := NetworkRow{DistrictID: d.ID, DistrictName: d.Name, Observations: networkCount(s, out.MinTeachers, out.Threshold), Dimensions: curRows[i]}
		out.Districts = append(out.Districts, r)
	}
	compareSummaries(curTot, oldTot)
	out.Total = NetworkRow{Observations: networkCount(&cur.total, out.MinTeachers, out.Threshold), Dimensions: curTot}
	return out, nil
}

// networkSums are one period's network cells summed by district and in total.
type networkSums struct {
	by    map[string]*summary
	total summary
}

func newNetworkSums() *networkSums { return &networkSums{by: map[string]*summary{}} }

func (n *networkSums) add(c CellRow, series Series) {
	if n.by[c.DistrictID] == nil {
		n.by[c.DistrictID] = &summary{}
	}
	n.by[c.DistrictID].Add(c, series)
	// Teachers and classrooms are per district: prefix them so the network total counts
	// distinct ones.
	c.TeacherID, c.ClassroomID = c.DistrictID+"/"+c.TeacherID, c.DistrictID+"/"+c.ClassroomID
	n.total.Add(c, series)
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
// threshold or with too few teachers.
func networkCount(s *summary, minTeachers, threshold int) Cell {
	c := Cell{N: s.Observations, Value: float64(s.Observations)}
	switch {
	case s.Observations == 0:
	case len(s.Teachers) < minTeachers:
		c.suppress(SuppressReasonTeachers)
	case s.Observations < threshold:
		c.suppress(SuppressReasonThreshold)
	}
	return c
}
