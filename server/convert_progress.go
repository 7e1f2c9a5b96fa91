package server

import (
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
)

// pb ↔ domain conversion for ProgressService. Every figure goes through cellToPB, which leaves
// out the value of a suppressed or empty cell and the n of a suppressed one, so that neither can
// be read as 0 on the wire.

// viewQuery builds the domain's view selection from request fields.
func viewQuery(district, site string, period *pb.Period, rubric string, periods int32) progress.ViewQuery {
	return progress.ViewQuery{DistrictID: district, SiteID: site, RubricID: rubric,
		PeriodKind: period.GetKind(), PeriodKey: period.GetKey(), Periods: int(periods)}
}

// comparisonFrom is the domain's comparison from a request's (nil: the previous period).
func comparisonFrom(c *pb.Comparison) progress.Comparison {
	return progress.Comparison{Against: c.GetAgainst(), Key: c.GetKey()}
}

func cellToPB(c progress.Cell) *pb.ProgressCell {
	out := &pb.ProgressCell{Suppressed: c.Suppressed, Reason: c.Reason, NoData: c.NoData}
	if c.Suppressed {
		return out
	}
	out.N = proto.Int32(int32(c.N))
	if !c.NoData {
		out.Value = proto.Float64(c.Value)
	}
	return out
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

func periodToPB(p progress.Period) *pb.ResolvedPeriod {
	if p.IsZero() {
		return nil
	}
	out := &pb.ResolvedPeriod{Kind: string(p.Kind), Key: p.Key, FirstDay: day(p.Start)}
	if !p.End.IsZero() {
		out.LastDay = day(p.End.AddDate(0, 0, -1))
	}
	if p.Partial() {
		out.Partial, out.ThroughDay = true, day(p.Through)
	}
	return out
}

func suppressionToPB(minTeachers, threshold int) *pb.SuppressionRules {
	return &pb.SuppressionRules{MinTeachersPerCell: int32(minTeachers), SuppressionThreshold: int32(threshold)}
}

func seriesToPB(dimension string, since int, title observation.Text, lang string) *pb.DimensionSeries {
	return &pb.DimensionSeries{Dimension: dimension, SinceVersion: int32(since), Title: text(title, lang)}
}

var changeToPB = map[string]pb.PeriodChangeStatus{
	progress.ChangeCompared:   pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_COMPARED,
	progress.ChangeNoPrevious: pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_NO_PREVIOUS_DATA,
	progress.ChangeBreak:      pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_SERIES_BREAK,
	progress.ChangeSuppressed: pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_SUPPRESSED,
	progress.ChangeNoData:     pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_NO_DATA,
}

func dimensionToPB(d progress.DimensionSummary, lang string) *pb.DimensionFigures {
	out := &pb.DimensionFigures{
		Series:          seriesToPB(d.Dimension, d.Since, d.Title, lang),
		Suppressed:      d.Suppressed(),
		MeanLevel:       cellToPB(d.Mean),
		ShareProficient: cellToPB(d.ShareProficient),
		Change:          &pb.PeriodChange{Status: changeToPB[d.Change.Status]},
	}
	if out.Suppressed {
		out.Reason = d.Mean.Reason
	} else {
		out.N, out.NotObserved, out.Teachers = proto.Int32(int32(d.N)), proto.Int32(int32(d.NotObserved)), proto.Int32(int32(d.Teachers))
	}
	for i, l := range d.Levels {
		out.Levels = append(out.Levels, &pb.LevelCount{Level: int32(d.MinLevel + i), Observations: cellToPB(l)})
	}
	if d.Change.Status == progress.ChangeCompared {
		out.Change.MeanLevel, out.Change.ShareProficient = proto.Float64(d.Change.Mean), proto.Float64(d.Change.ShareProficient)
	}
	return out
}

func dimensionsToPB(ds []progress.DimensionSummary, lang string) []*pb.DimensionFigures {
	out := make([]*pb.DimensionFigures, 0, len(ds))
	for _, d := range ds {
		out = append(out, dimensionToPB(d, lang))
	}
	return out
}

func siteTrendsToPB(v progress.SiteTrends, lang string) *pb.GetSiteTrendsResponse {
	out := &pb.GetSiteTrendsResponse{DistrictId: v.DistrictID, SiteId: v.SiteID, SiteName: v.SiteName, RubricId: v.RubricID,
		Suppression: suppressionToPB(v.MinTeachers, 0), Previous: periodToPB(v.Previous)}
	for _, p := range v.Periods {
		out.Periods = append(out.Periods, periodToPB(p))
	}
	for _, d := range v.Dimensions {
		out.Dimensions = append(out.Dimensions, &pb.DimensionTrend{Series: seriesToPB(d.Dimension, d.Since, d.Title, lang),
			Points: dimensionsToPB(d.Points, lang)})
	}
	return out
}

func siteRowToPB(r progress.SiteRow, lang string) *pb.SiteProgress {
	out := &pb.SiteProgress{SiteId: r.SiteID, SiteName: r.SiteName, Observations: cellToPB(r.Observations),
		Dimensions: dimensionsToPB(r.Dimensions, lang), NoTeachers: r.NoTeachers}
	if !r.Observations.Suppressed {
		out.Teachers = proto.Int32(int32(r.Teachers))
	}
	return out
}

func districtProgressToPB(v progress.DistrictProgress, lang string) *pb.GetDistrictProgressResponse {
	out := &pb.GetDistrictProgressResponse{DistrictId: v.DistrictID, DistrictName: v.DistrictName, RubricId: v.RubricID, Period: periodToPB(v.Period),
		Previous: periodToPB(v.Previous), Total: siteRowToPB(v.Total, lang), Suppression: suppressionToPB(v.MinTeachers, 0)}
	for _, r := range v.Sites {
		out.Sites = append(out.Sites, siteRowToPB(r, lang))
	}
	return out
}

func classroomsToPB(v progress.ClassroomProgress, lang string) *pb.GetClassroomProgressResponse {
	out := &pb.GetClassroomProgressResponse{DistrictId: v.DistrictID, SiteId: v.SiteID, RubricId: v.RubricID,
		Period: periodToPB(v.Period), Previous: periodToPB(v.Previous)}
	for _, r := range v.Classrooms {
		out.Classrooms = append(out.Classrooms, &pb.ClassroomProgress{ClassroomId: r.ClassroomID, TeacherId: r.TeacherID,
			Course: r.Course, Grade: r.Grade, Section: r.Section, Observations: int32(r.Observations),
			Dimensions: dimensionsToPB(r.Dimensions, lang)})
	}
	return out
}

func coverageRowToPB(r progress.CoverageRow) *pb.SiteCoverage {
	return &pb.SiteCoverage{SiteId: r.SiteID, SiteName: r.SiteName, Classrooms: int32(r.Classrooms),
		ObservedClassrooms: int32(r.Observed), Coverage: cellToPB(r.Coverage), Observations: int32(r.Observations),
		ObservationsPerClassroom: cellToPB(r.PerClassroom), CoverageChange: cellToPB(r.CoverageChange),
		ObservationsPerClassroomChange: cellToPB(r.PerClassroomChange), NoTeachers: r.NoTeachers}
}

func coverageToPB(v progress.CoverageView) *pb.GetCoverageResponse {
	out := &pb.GetCoverageResponse{DistrictId: v.DistrictID, RubricId: v.RubricID, Period: periodToPB(v.Period),
		AsOf: day(v.AsOf), Total: coverageRowToPB(v.Total), Previous: periodToPB(v.Previous)}
	for _, r := range v.Sites {
		out.Sites = append(out.Sites, coverageRowToPB(r))
	}
	for _, c := range v.Classrooms {
		cc := &pb.ClassroomCoverage{SiteId: c.SiteID, ClassroomId: c.ClassroomID, TeacherId: c.TeacherID,
			Observations: int32(c.Observations)}
		if c.DaysSince >= 0 && !c.LastVisit.IsZero() {
			cc.LastVisit, cc.DaysSinceLastVisit = day(c.LastVisit), proto.Int32(int32(c.DaysSince))
		}
		out.Classrooms = append(out.Classrooms, cc)
	}
	return out
}

func agreementToPB(a progress.Calibrated) *pb.Agreement {
	return &pb.Agreement{Pairs: int32(a.Pairs), Excluded: int32(a.Excluded), Exact: cellToPB(a.Exact),
		Adjacent: cellToPB(a.Adjacent), Kappa: cellToPB(a.Kappa), Band: a.Band, MeetsTarget: a.MeetsTarget,
		KappaTarget: a.KappaTarget, AdjacentTarget: a.AdjacentTarget, ExactChange: cellToPB(a.ExactChange),
		AdjacentChange: cellToPB(a.AdjacentChange), KappaChange: cellToPB(a.KappaChange)}
}

func dimensionAgreementsToPB(ds []progress.CalibrationDimension, lang string) []*pb.DimensionAgreement {
	out := make([]*pb.DimensionAgreement, 0, len(ds))
	for _, d := range ds {
		out = append(out, &pb.DimensionAgreement{Series: seriesToPB(d.Dimension, d.Since, d.Title, lang), Agreement: agreementToPB(d.Calibrated)})
	}
	return out
}

func calibrationToPB(v progress.CalibrationReport, lang string) *pb.GetCalibrationResponse {
	out := &pb.GetCalibrationResponse{DistrictId: v.DistrictID, SiteId: v.SiteID, RubricId: v.RubricID, Period: periodToPB(v.Period),
		Lessons: int32(v.Lessons), Overall: agreementToPB(v.Overall), Dimensions: dimensionAgreementsToPB(v.Dimensions, lang),
		Previous: periodToPB(v.Previous)}
	for _, o := range v.Observers {
		out.Observers = append(out.Observers, &pb.ObserverCalibration{ObserverId: o.ObserverID, Lessons: int32(o.Lessons),
			Overall: agreementToPB(o.Overall), Dimensions: dimensionAgreementsToPB(o.Dimensions, lang)})
	}
	return out
}

func talkRowToPB(r progress.TalkRow) *pb.SiteTalk {
	out := &pb.SiteTalk{SiteId: r.SiteID, SiteName: r.SiteName, Suppressed: r.Suppressed, Reason: r.Reason,
		PressShare: cellToPB(r.PressShare), ReasoningShare: cellToPB(r.ReasoningShare),
		PressShareChange: cellToPB(r.PressShareChange), ReasoningShareChange: cellToPB(r.ReasoningShareChange)}
	if !r.Suppressed {
		out.Observations, out.TimedObservations = proto.Int32(int32(r.Observations)), proto.Int32(int32(r.TimedObservations))
		out.DiscussionMinutes, out.Teachers = proto.Int32(int32(r.Minutes)), proto.Int32(int32(r.Teachers))
	}
	for _, rate := range r.Rates {
		out.Rates = append(out.Rates, &pb.TalkRate{Category: rate.Category, Speaker: speakerToPB[rate.Speaker], Rate: cellToPB(rate.Rate),
			Change: cellToPB(rate.Change)})
	}
	return out
}

func talkEquityToPB(v progress.TalkEquity) *pb.GetTalkEquityResponse {
	out := &pb.GetTalkEquityResponse{DistrictId: v.DistrictID, SiteId: v.SiteID, RubricId: v.RubricID, Period: periodToPB(v.Period),
		Total: talkRowToPB(v.Total), EquityObservations: int32(v.EquityN), Suppression: suppressionToPB(v.MinTeachers, v.Threshold),
		Previous: periodToPB(v.Previous)}
	for _, r := range v.Sites {
		out.Sites = append(out.Sites, talkRowToPB(r))
	}
	for _, g := range v.Equity {
		out.Equity = append(out.Equity, &pb.GroupEquity{Group: g.Group, Label: g.Label, Ratio: cellToPB(g.Ratio), Change: cellToPB(g.Change)})
	}
	return out
}

func networkRowToPB(r progress.NetworkRow, lang string) *pb.DistrictMeasures {
	return &pb.DistrictMeasures{DistrictId: r.DistrictID, DistrictName: r.DistrictName, Observations: cellToPB(r.Observations),
		Dimensions: dimensionsToPB(r.Dimensions, lang), Period: periodToPB(r.Period), Previous: periodToPB(r.Previous)}
}

func networkToPB(v progress.NetworkMeasures, lang string) *pb.GetNetworkMeasuresResponse {
	out := &pb.GetNetworkMeasuresResponse{RubricId: v.RubricID, Period: periodToPB(v.Period),
		Total: networkRowToPB(v.Total, lang), Suppression: suppressionToPB(v.MinTeachers, v.Threshold), Previous: periodToPB(v.Previous)}
	for _, r := range v.Districts {
		out.Districts = append(out.Districts, networkRowToPB(r, lang))
	}
	return out
}

var goalMeasureToPB = map[progress.GoalMeasure]pb.GoalMeasure{
	progress.GoalMeanLevel:       pb.GoalMeasure_GOAL_MEASURE_MEAN_LEVEL,
	progress.GoalShareProficient: pb.GoalMeasure_GOAL_MEASURE_SHARE_PROFICIENT,
}

var goalMeasureFromPB = invert(goalMeasureToPB)

var goalStatusToPB = map[string]pb.GoalStatus{
	progress.GoalMet:        pb.GoalStatus_GOAL_STATUS_MET,
	progress.GoalInProgress: pb.GoalStatus_GOAL_STATUS_IN_PROGRESS,
	progress.GoalMissed:     pb.GoalStatus_GOAL_STATUS_MISSED,
	progress.GoalNoData:     pb.GoalStatus_GOAL_STATUS_NO_DATA,
}

// goalFromPB reads a goal of district from the wire. The target date must be a calendar date.
func goalFromPB(district, id string, g *pb.Goal) (progress.Goal, error) {
	out := progress.Goal{DistrictID: district, ID: id, SiteID: g.GetSiteId(), Title: g.GetTitle(), RubricID: g.GetRubricId(),
		Dimension: g.GetDimension(), Measure: goalMeasureFromPB[g.GetMeasure()], Target: g.GetTarget(),
		BaselineKind: progress.PeriodKind(g.GetBaseline().GetKind()), BaselineKey: g.GetBaseline().GetKey(),
		PeriodKind: progress.PeriodKind(g.GetPeriodKind())}
	if s := g.GetTargetDate(); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return progress.Goal{}, observation.Invalid("goal.target_date", "BAD_DATE", "%q is not a calendar date (YYYY-MM-DD)", s)
		}
		out.TargetDate = t
	}
	return out, nil
}

func goalToPB(g progress.Goal) *pb.Goal {
	out := &pb.Goal{GoalId: g.ID, DistrictId: g.DistrictID, SiteId: g.SiteID, Title: g.Title, RubricId: g.RubricID,
		Dimension: g.Dimension, Measure: goalMeasureToPB[g.Measure], Target: g.Target, TargetDate: day(g.TargetDate),
		PeriodKind: string(g.PeriodKind), CreatedBy: g.CreatedBy, CreateTime: ts(g.CreatedAt), UpdateTime: ts(g.UpdatedAt)}
	if g.BaselineKind != "" || g.BaselineKey != "" {
		out.Baseline = &pb.Period{Kind: string(g.BaselineKind), Key: g.BaselineKey}
	}
	return out
}

func goalProgressToPB(g progress.GoalProgress) *pb.GoalProgress {
	return &pb.GoalProgress{Goal: goalToPB(g.Goal), Period: periodToPB(g.Period), Baseline: periodToPB(g.Baseline),
		Current: cellToPB(g.Current), BaselineValue: cellToPB(g.Start), Progress: cellToPB(g.Progress),
		Status: goalStatusToPB[g.Status]}
}
