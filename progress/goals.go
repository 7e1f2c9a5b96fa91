package progress

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// GoalMeasure is what a district goal measures for its dimension.
type GoalMeasure string

const (
	GoalMeanLevel       GoalMeasure = "mean_level"       // the dimension's mean level reaches Target
	GoalShareProficient GoalMeasure = "share_proficient" // the share (0..1) at or above the proficiency level reaches Target
)

// goalMeasures lists every goal measure.
var goalMeasures = []GoalMeasure{GoalMeanLevel, GoalShareProficient}

// ReasonGoalExists answers a goal create or update that would duplicate another goal.
const ReasonGoalExists = "GOAL_EXISTS"

// Goal is a district's target for one rubric dimension by a date, for the district or one site.
//
// Two goals are the same when they agree on district, site, rubric, dimension, measure, target,
// target date, baseline and period kind: they would always show the same figures. A district
// holds no two goals that are the same. Creating a goal that exists already with the same title
// answers the stored goal and writes nothing (a retried POST is harmless); with another title, or
// updating a goal into another goal's twin, answers ALREADY_EXISTS (GOAL_EXISTS) naming the goal.
type Goal struct {
	DistrictID string
	ID         string // UUID, assigned by the server
	SiteID     string // "" for the whole district
	Title      string
	RubricID   string
	Dimension  string
	Measure    GoalMeasure
	Target     float64
	TargetDate time.Time // UTC midnight
	// Baseline is the period progress is measured from (kind and key); zero: the school year
	// before the target date's.
	BaselineKind PeriodKind
	BaselineKey  string
	// PeriodKind is the kind of period the current value is read for (the period containing the
	// earlier of today and the target date); "" means school_year.
	PeriodKind PeriodKind
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// District goals: a target for one dimension's mean level or share proficient by a date, for the
// district or one site, and progress toward it from a baseline period.

// GoalStatus says where a goal stands.
const (
	GoalMet        = "met"         // the current value reaches the target
	GoalInProgress = "in_progress" // not yet, and the target date has not passed
	GoalMissed     = "missed"      // the target date has passed without reaching the target
	GoalNoData     = "no_data"     // no scores in the current period, or they are suppressed
)

// GoalProgress is a goal with where it stands.
type GoalProgress struct {
	Goal
	Period   Period // the period the current value is read for
	Baseline Period
	Current  Cell // the measure in Period
	Start    Cell // the measure in Baseline
	Progress Cell // (current − baseline) ÷ (target − baseline), 0..1 (clipped); NoData without both values
	Status   string
}

// validateGoal checks a goal's fields against its district's settings and rubric.
func validateGoal(g Goal, s observation.DistrictSettings, series Series) error {
	if strings.TrimSpace(g.Title) == "" {
		return observation.Invalid("goal.title", observation.ReasonRequired, "a title is required")
	}
	if err := observation.CheckText("goal.title", g.Title, maxGoalTitleLength); err != nil {
		return err
	}
	if !slices.Contains(goalMeasures, g.Measure) {
		return observation.Invalid("goal.measure", reasonBadGoalMeasure, "measure %s is not one of %v", observation.Clip(string(g.Measure)), goalMeasures)
	}
	content, _ := series.latest()
	found := false
	for _, d := range content.Dimensions {
		found = found || d.Key == g.Dimension
	}
	if !found {
		return observation.Invalid("goal.dimension", reasonUnknownDim, "rubric %s has no dimension %s", g.RubricID, observation.Clip(g.Dimension))
	}
	switch g.Measure {
	case GoalMeanLevel:
		if math.IsNaN(g.Target) || g.Target < float64(content.MinLevel) || g.Target > float64(content.MaxLevel) {
			return observation.Invalid("goal.target", reasonBadTarget, "a mean-level target must be %d to %d, got %v", content.MinLevel, content.MaxLevel, g.Target)
		}
	case GoalShareProficient:
		if math.IsNaN(g.Target) || g.Target < 0 || g.Target > 1 {
			return observation.Invalid("goal.target", reasonBadTarget, "a share target must be 0 to 1, got %v", g.Target)
		}
	}
	if g.TargetDate.IsZero() {
		return observation.Invalid("goal.target_date", observation.ReasonRequired, "a target date is required")
	}
	if y := g.TargetDate.Year(); y < minPeriodYear+1 || y > maxPeriodYear-1 {
		return observation.Invalid("goal.target_date", observation.ReasonOutOfRange, "the target date's year must be %d to %d", minPeriodYear+1, maxPeriodYear-1)
	}
	if g.PeriodKind != "" && !slices.Contains(periodKinds, g.PeriodKind) {
		return observation.Invalid("goal.period_kind", periodReasonBadKind, "period kind %s is not one of %v", observation.Clip(string(g.PeriodKind)), periodKinds)
	}
	if g.BaselineKind != "" || g.BaselineKey != "" {
		if _, err := ParsePeriod(string(g.BaselineKind), g.BaselineKey, s); err != nil {
			if e, ok := err.(*observation.Error); ok {
				e.Field = strings.Replace(e.Field, "period.", "goal.baseline_", 1)
			}
			return err
		}
	}
	return nil
}

// goalAccess checks p may read (or, write, change) the goals of district d.
func goalAccess(p observation.Principal, d string, write bool) error {
	if err := observation.ValidateDistrictID("district_id", d); err != nil {
		return err
	}
	if p.Role == observation.RoleNetworkAnalyst {
		return &observation.Error{Kind: observation.KindPermissionDenied, Reason: reasonNetworkOnly, Message: "network analysts see the network measures of opted-in districts only"}
	}
	if !p.InDistrict(d) {
		return observation.NotFound("district", d)
	}
	if write && p.Role != observation.RoleAdmin && p.Role != observation.RoleDistrictAdmin {
		return observation.Denied("only district admins set goals; role %s may read them", p.Role)
	}
	return nil
}

// SaveGoal creates a goal (update false; a new id is taken from newID) or replaces an existing
// one (update true; g.ID names it), after checking it.
func (pr *Service) SaveGoal(ctx context.Context, p observation.Principal, g Goal, update bool, newID func() string) (GoalProgress, error) {
	if err := goalAccess(p, g.DistrictID, true); err != nil {
		return GoalProgress{}, err
	}
	d, err := pr.Store.ProgressDistrict(ctx, g.DistrictID)
	if err != nil {
		return GoalProgress{}, err
	}
	if g.SiteID != "" {
		if err := observation.ValidateID("goal.site_id", g.SiteID); err != nil {
			return GoalProgress{}, err
		}
		sites, err := pr.Store.ProgressSites(ctx, g.DistrictID)
		if err != nil {
			return GoalProgress{}, err
		}
		if !slices.ContainsFunc(sites, func(s observation.Site) bool { return s.ID == g.SiteID }) {
			return GoalProgress{}, observation.Invalid("goal.site_id", observation.ReasonUnknownSite, "district %s has no site %s", g.DistrictID, g.SiteID)
		}
	}
	if g.RubricID == "" {
		g.RubricID = observation.DefaultRubricID
	}
	if err := observation.ValidateID("goal.rubric_id", g.RubricID); err != nil {
		return GoalProgress{}, err
	}
	versions, err := pr.Store.RubricSeriesVersions(ctx, g.RubricID)
	if err != nil || !rubricVisible(p, versions) {
		if err == nil || observation.KindOf(err) == observation.KindNotFound {
			return GoalProgress{}, observation.Invalid("goal.rubric_id", "UNKNOWN_RUBRIC", "no published rubric %s", g.RubricID)
		}
		return GoalProgress{}, err
	}
	series := NewSeries(versions)
	g.TargetDate = periodDay(g.TargetDate)
	if err := validateGoal(g, d.Settings, series); err != nil {
		return GoalProgress{}, err
	}
	now := pr.now()
	action := "goal.create"
	if update {
		if !observation.IsUUID(g.ID) {
			return GoalProgress{}, observation.NotFound("goal", g.ID)
		}
		old, err := pr.Store.Goal(ctx, g.DistrictID, g.ID)
		if err != nil {
			return GoalProgress{}, err
		}
		g.CreatedBy, g.CreatedAt = old.CreatedBy, old.CreatedAt
		action = "goal.update"
	} else {
		goals, err := pr.Store.Goals(ctx, g.DistrictID)
		if err != nil {
			return GoalProgress{}, err
		}
		if len(goals) >= maxGoalsPerDistrict {
			return GoalProgress{}, &observation.Error{Kind: observation.KindResourceExhausted, Reason: observation.ReasonTooMany, Field: "goal",
				Message: "a district may have at most " + strconv.Itoa(maxGoalsPerDistrict) + " goals"}
		}
		g.ID, g.CreatedBy, g.CreatedAt = newID(), p.UserID, now
	}
	// The store answers the stored goal instead when the same goal exists already (see Goal).
	g.UpdatedAt = now
	audit := observation.Audit(p, g.DistrictID, action, "goal", g.ID, now)
	audit.Details["goal"] = map[string]any{"site_id": g.SiteID, "rubric_id": g.RubricID, "dimension": g.Dimension,
		"measure": g.Measure, "target": g.Target, "target_date": g.TargetDate.Format(time.DateOnly)}
	saved, err := pr.Store.SaveGoal(ctx, g, update, audit)
	if err != nil {
		return GoalProgress{}, err
	}
	return pr.goalProgress(ctx, d, saved, series)
}

// Goals returns a district's goals with their progress. Coaches and principals see the district's
// goals and their own sites' goals.
func (pr *Service) Goals(ctx context.Context, p observation.Principal, districtID string) ([]GoalProgress, error) {
	if err := goalAccess(p, districtID, false); err != nil {
		return nil, err
	}
	d, err := pr.Store.ProgressDistrict(ctx, districtID)
	if err != nil {
		return nil, err
	}
	goals, err := pr.Store.Goals(ctx, districtID)
	if err != nil {
		return nil, err
	}
	seriesOf := map[string]Series{}
	var out []GoalProgress
	for _, g := range goals {
		if g.SiteID != "" && !p.CanSeeSite(districtID, g.SiteID) {
			continue
		}
		series, ok := seriesOf[g.RubricID]
		if !ok {
			versions, err := pr.Store.RubricSeriesVersions(ctx, g.RubricID)
			if err != nil && observation.KindOf(err) != observation.KindNotFound {
				return nil, err
			}
			series = NewSeries(versions)
			seriesOf[g.RubricID] = series
		}
		gp, err := pr.goalProgress(ctx, d, g, series)
		if err != nil {
			return nil, err
		}
		out = append(out, gp)
	}
	return out, nil
}

// goalProgress reads the goal's measure in its current and baseline periods. The current period
// is the period of the goal's kind containing the earlier of today and the target date; the
// baseline is the goal's, or the school year before the target date's.
func (pr *Service) goalProgress(ctx context.Context, d observation.District, g Goal, series Series) (GoalProgress, error) {
	s := d.Settings
	out := GoalProgress{Goal: g, Status: GoalNoData}
	kind := g.PeriodKind
	if kind == "" {
		kind = PeriodSchoolYear
	}
	at := pr.now()
	if g.TargetDate.Before(at) {
		at = g.TargetDate
	}
	cur, ok := PeriodOf(kind, at, s)
	if !ok { // e.g. a window kind and a day outside every window: the latest school year instead
		cur, _ = PeriodOf(PeriodSchoolYear, at, s)
	}
	out.Period = cur
	if g.BaselineKind != "" {
		out.Baseline, _ = ParsePeriod(string(g.BaselineKind), g.BaselineKey, s)
	} else if sy, ok := PeriodOf(PeriodSchoolYear, g.TargetDate, s); ok {
		out.Baseline = sy.Previous(s)
	}
	// The value is the goal's dimension (in the rubric's newest series) in the district
	// progress view of the whole district, as a district admin reads it: the district's total
	// or the site's row, with that view's suppression (too few teachers, then complementary
	// across sites). Every caller sees the same value and status.
	sites, err := pr.Store.ProgressSites(ctx, d.ID)
	if err != nil {
		return out, err
	}
	ds := dimSeries{g.Dimension, 0}
	if n := len(series.versions); n > 0 {
		ds = series.of(g.Dimension, series.versions[n-1].Version)
	}
	value := func(per Period) (Cell, error) {
		if per.IsZero() {
			return Cell{NoData: true}, nil
		}
		cells, err := pr.Store.ProgressCells(ctx, CellQuery{DistrictIDs: []string{d.ID}, RubricID: g.RubricID, Kind: per.Kind, Keys: []string{per.Key}})
		if err != nil {
			return Cell{}, err
		}
		v := &viewScope{district: d, sites: sites, all: true, period: per, series: series, rubricID: g.RubricID}
		dp := buildDistrictProgress(v, cells, nil, nil)
		row := dp.Total
		if g.SiteID != "" {
			row = SiteRow{}
			for _, r := range dp.Sites {
				if r.SiteID == g.SiteID {
					row = r
				}
			}
		}
		for _, sm := range row.Dimensions {
			if sm.Dimension != ds.Dimension || sm.Since != ds.Since {
				continue
			}
			if g.Measure == GoalShareProficient {
				return sm.ShareProficient, nil
			}
			return sm.Mean, nil
		}
		return Cell{NoData: true}, nil
	}
	if out.Current, err = value(cur); err != nil {
		return out, err
	}
	if out.Start, err = value(out.Baseline); err != nil {
		return out, err
	}
	out.Progress = Cell{NoData: true}
	if usable(out.Current) && usable(out.Start) {
		if g.Target != out.Start.Value {
			f := (out.Current.Value - out.Start.Value) / (g.Target - out.Start.Value)
			out.Progress = Cell{N: out.Current.N, Value: math.Max(0, math.Min(1, f))}
		} else if out.Current.Value >= g.Target {
			out.Progress = Cell{N: out.Current.N, Value: 1}
		}
	}
	switch {
	case !usable(out.Current):
		out.Status = GoalNoData
	case out.Current.Value >= g.Target:
		out.Status = GoalMet
	case pr.now().After(g.TargetDate.AddDate(0, 0, 1)):
		out.Status = GoalMissed
	default:
		out.Status = GoalInProgress
	}
	return out, nil
}

func usable(c Cell) bool { return !c.Suppressed && !c.NoData }
