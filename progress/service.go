package progress

import (
	"context"
	"slices"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// Service serves the implementation-progress views (docs/statistics.md) from the aggregate rows
// the store maintains, deciding for every call what the caller may see.
//
// Access (docs/access.md): a principal sees their site, a coach their assigned sites, a district admin their
// district, an admin everything; a network analyst only the network measures of opted-in
// districts. Teacher-level rows (the classroom view, classrooms in coverage) appear only to the
// site's own principal and coaches, and their reads are audited.
type Service struct {
	Store Store
	Now   func() time.Time
	rows  rowCache // summaries of the site rows read before (rowcache.go)
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
	v.period, v.previous = Elapsed(v.period, v.period.Previous(d.Settings), pr.now())
	v.rubricID = q.RubricID
	if v.rubricID == "" {
		v.rubricID = observation.DefaultRubricID
	}
	if err := observation.ValidateID("rubric_id", v.rubricID); err != nil {
		return nil, err
	}
	versions, err := pr.Store.RubricSeriesVersions(ctx, v.rubricID)
	if err != nil && observation.KindOf(err) != observation.KindNotFound {
		return nil, err
	}
	if err != nil || !rubricVisible(p, versions) { // another district's rubric reads as a missing one
		nf := observation.NotFound("rubric", v.rubricID)
		if len(versions) > 0 {
			nf.In(versions[0].OwnerID)
		}
		return nil, nf
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
				return Period{}, observation.Invalid("period.kind", periodReasonBadKind, "period kind %s is not one of %v", observation.Clip(kind), periodKinds)
			}
			return Period{}, observation.Invalid("period.key", periodReasonUnknownWindow, "today falls in none of the district's %s periods; name one", kind)
		}
		return p, nil
	}
	return ParsePeriod(kind, key, s)
}

func (pr *Service) cells(ctx context.Context, v *viewScope, periods ...Period) (map[string][]CellRow, error) {
	var sites []string
	if !v.all {
		sites = v.siteIDs
	}
	return pr.periodRows(ctx, []string{v.district.ID}, v.rubricID, sites, nil, periods...)
}

// siteCells is cells summed by site: site rows (SiteRow), which a view that needs no
// classroom or teacher rows reads instead of one row per classroom.
func (pr *Service) siteCells(ctx context.Context, v *viewScope, periods ...Period) (map[string][]CellRow, error) {
	var sites []string
	if !v.all {
		sites = v.siteIDs
	}
	return pr.periodRows(ctx, []string{v.district.ID}, v.rubricID, sites, &foldSpec{series: v.series, sites: true}, periods...)
}

// foldSpec asks periodRows for site rows summed by site (or by district) under a series.
type foldSpec struct {
	series Series
	sites  bool
}

// periodRows reads the cell rows of each period, by period key, or, when folds is set, its site
// rows summed into one row per site (or district) and period, carrying their summary under
// folds.series (districtRows). A partial period (see Elapsed) is read from the month and day rows of
// the days it covers, filed under its own key.
func (pr *Service) periodRows(ctx context.Context, districts []string, rubricID string, sites []string, folds *foldSpec, periods ...Period) (map[string][]CellRow, error) {
	out := map[string][]CellRow{}
	read := func(kind PeriodKind, keys []string, as string) error {
		if len(keys) == 0 {
			return nil
		}
		q := CellQuery{DistrictIDs: districts, RubricID: rubricID, Kind: kind, Keys: keys, Sites: sites}
		var rows []CellRow
		var err error
		if folds != nil {
			by := foldBy{sites: folds.sites, acrossPeriods: as != ""}
			rows, err = pr.districtRows(q, folds.series, by, func(q CellQuery, held []DistrictVersion) ([]CellRow, []DistrictVersion, error) {
				return pr.Store.ProgressDistrictRows(ctx, q, held)
			})
		} else {
			rows, err = pr.Store.ProgressCells(ctx, q)
		}
		if err != nil {
			return err
		}
		for _, c := range rows {
			k := c.PeriodKey
			if as != "" {
				k, c.Kind, c.PeriodKey = as, periods[0].Kind, as
			}
			out[k] = append(out[k], c)
		}
		return nil
	}
	var whole []string
	for _, p := range periods {
		if p.IsZero() {
			continue
		}
		if !p.Partial() {
			if !slices.Contains(whole, p.Key) {
				whole = append(whole, p.Key)
			}
			continue
		}
		months, days := spanKeys(p)
		if err := read(PeriodMonth, months, p.Key); err != nil {
			return nil, err
		}
		if err := read(PeriodDaily, days, p.Key); err != nil {
			return nil, err
		}
	}
	if len(whole) > 0 {
		if err := read(periods[0].Kind, whole, ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (v *viewScope) minTeachers() int {
	return effectiveThreshold(v.district.Settings.MinTeachersPerCell, observation.NetworkMinTeachers)
}

func (v *viewScope) threshold() int {
	return effectiveThreshold(v.district.Settings.SuppressionThreshold, observation.NetworkMinSuppression)
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
