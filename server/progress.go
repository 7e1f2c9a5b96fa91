package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
)

// progressServer serves ProgressService: the implementation-progress views, goals and their CSV
// export. Who may see what is decided by progress.Service.
type progressServer struct {
	pb.UnimplementedProgressServiceServer
	progress *progress.Service
}

func (s *progressServer) GetSiteTrends(ctx context.Context, req *pb.GetSiteTrendsRequest) (*pb.GetSiteTrendsResponse, error) {
	lang, err := language(ctx, req.GetLanguage())
	if err != nil {
		return nil, fail(ctx, err)
	}
	v, err := s.progress.SiteTrendsAgainst(ctx, principalFrom(ctx),
		viewQuery(req.GetDistrictId(), req.GetSiteId(), req.GetPeriod(), req.GetRubricId(), req.GetPeriods()), comparisonFrom(req.GetCompare()))
	if err != nil {
		return nil, fail(ctx, err)
	}
	return siteTrendsToPB(v, lang), nil
}

func (s *progressServer) GetDistrictProgress(ctx context.Context, req *pb.GetDistrictProgressRequest) (*pb.GetDistrictProgressResponse, error) {
	lang, err := language(ctx, req.GetLanguage())
	if err != nil {
		return nil, fail(ctx, err)
	}
	v, err := s.progress.DistrictProgressAgainst(ctx, principalFrom(ctx),
		viewQuery(req.GetDistrictId(), req.GetSiteId(), req.GetPeriod(), req.GetRubricId(), 0), comparisonFrom(req.GetCompare()))
	if err != nil {
		return nil, fail(ctx, err)
	}
	return districtProgressToPB(v, lang), nil
}

func (s *progressServer) GetClassroomProgress(ctx context.Context, req *pb.GetClassroomProgressRequest) (*pb.GetClassroomProgressResponse, error) {
	lang, err := language(ctx, req.GetLanguage())
	if err != nil {
		return nil, fail(ctx, err)
	}
	v, err := s.progress.Classrooms(ctx, principalFrom(ctx),
		viewQuery(req.GetDistrictId(), req.GetSiteId(), req.GetPeriod(), req.GetRubricId(), 0))
	if err != nil {
		return nil, fail(ctx, err)
	}
	return classroomsToPB(v, lang), nil
}

func (s *progressServer) GetCoverage(ctx context.Context, req *pb.GetCoverageRequest) (*pb.GetCoverageResponse, error) {
	v, err := s.progress.CoverageAgainst(ctx, principalFrom(ctx),
		viewQuery(req.GetDistrictId(), req.GetSiteId(), req.GetPeriod(), req.GetRubricId(), 0), comparisonFrom(req.GetCompare()))
	if err != nil {
		return nil, fail(ctx, err)
	}
	return coverageToPB(v), nil
}

func (s *progressServer) GetCalibration(ctx context.Context, req *pb.GetCalibrationRequest) (*pb.GetCalibrationResponse, error) {
	lang, err := language(ctx, req.GetLanguage())
	if err != nil {
		return nil, fail(ctx, err)
	}
	v, err := s.progress.CalibrationAgainst(ctx, principalFrom(ctx),
		viewQuery(req.GetDistrictId(), req.GetSiteId(), req.GetPeriod(), req.GetRubricId(), 0), comparisonFrom(req.GetCompare()))
	if err != nil {
		return nil, fail(ctx, err)
	}
	return calibrationToPB(v, lang), nil
}

func (s *progressServer) GetTalkEquity(ctx context.Context, req *pb.GetTalkEquityRequest) (*pb.GetTalkEquityResponse, error) {
	v, err := s.progress.TalkEquityAgainst(ctx, principalFrom(ctx),
		viewQuery(req.GetDistrictId(), req.GetSiteId(), req.GetPeriod(), req.GetRubricId(), 0), comparisonFrom(req.GetCompare()))
	if err != nil {
		return nil, fail(ctx, err)
	}
	return talkEquityToPB(v), nil
}

func (s *progressServer) GetNetworkMeasures(ctx context.Context, req *pb.GetNetworkMeasuresRequest) (*pb.GetNetworkMeasuresResponse, error) {
	lang, err := language(ctx, req.GetLanguage())
	if err != nil {
		return nil, fail(ctx, err)
	}
	v, err := s.progress.Network(ctx, principalFrom(ctx), viewQuery("", "", req.GetPeriod(), req.GetRubricId(), 0))
	if err != nil {
		return nil, fail(ctx, err)
	}
	return networkToPB(v, lang), nil
}

func newGoalID() string { return uuid.Must(uuid.NewV7()).String() }

func (s *progressServer) CreateGoal(ctx context.Context, req *pb.CreateGoalRequest) (*pb.CreateGoalResponse, error) {
	g, err := goalFromPB(req.GetDistrictId(), "", req.GetGoal())
	if err != nil {
		return nil, fail(ctx, err)
	}
	saved, err := s.progress.SaveGoal(ctx, principalFrom(ctx), g, false, newGoalID)
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.CreateGoalResponse{Goal: goalProgressToPB(saved)}, nil
}

func (s *progressServer) UpdateGoal(ctx context.Context, req *pb.UpdateGoalRequest) (*pb.UpdateGoalResponse, error) {
	g, err := goalFromPB(req.GetDistrictId(), req.GetGoalId(), req.GetGoal())
	if err != nil {
		return nil, fail(ctx, err)
	}
	saved, err := s.progress.SaveGoal(ctx, principalFrom(ctx), g, true, newGoalID)
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.UpdateGoalResponse{Goal: goalProgressToPB(saved)}, nil
}

func (s *progressServer) ListGoals(ctx context.Context, req *pb.ListGoalsRequest) (*pb.ListGoalsResponse, error) {
	goals, err := s.progress.Goals(ctx, principalFrom(ctx), req.GetDistrictId())
	if err != nil {
		return nil, fail(ctx, err)
	}
	out := &pb.ListGoalsResponse{Goals: make([]*pb.GoalProgress, 0, len(goals))}
	for _, g := range goals {
		out.Goals = append(out.Goals, goalProgressToPB(g))
	}
	return out, nil
}

// Export views, as ExportProgressCsvRequest.view names them.
const (
	exportDistrictProgress = "district_progress"
	exportSiteTrends       = "site_trends"
	exportClassrooms       = "classrooms"
	exportCoverage         = "coverage"
	exportCalibration      = "calibration"
	exportTalkEquity       = "talk_equity"
	exportGoals            = "goals"
	exportNetwork          = "network_measures"
)

// csvContentType is the media type of every export.
const csvContentType = "text/csv; charset=utf-8"

// ExportProgressCsv writes one view's table as CSV. The view is computed by the same domain call
// as its RPC, so access, suppression and auditing are the same.
func (s *progressServer) ExportProgressCsv(ctx context.Context, req *pb.ExportProgressCsvRequest) (*httpbody.HttpBody, error) {
	p := principalFrom(ctx)
	view, district := req.GetView(), req.GetDistrictId()
	switch {
	case view == "" && district == "":
		view = exportNetwork
	case view == "":
		view = exportDistrictProgress
	}
	switch {
	case view == exportNetwork && district != "":
		return nil, fail(ctx, observation.Invalid("district_id", "NETWORK_VIEW",
			"network measures cover every opted-in district; export them from /v1/network/progress:export without a district"))
	case view != exportNetwork && district == "":
		return nil, fail(ctx, observation.Invalid("district_id", observation.ReasonRequired, "view %s needs a district", view))
	}
	q := viewQuery(district, req.GetSiteId(), req.GetPeriod(), req.GetRubricId(), req.GetPeriods())
	cmp := comparisonFrom(req.GetCompare())
	if !cmp.IsDefault() && (view == exportClassrooms || view == exportGoals || view == exportNetwork) {
		return nil, fail(ctx, observation.Invalid("compare.against", "COMPARISON_UNSUPPORTED",
			"view %s is always compared with the previous period; leave compare out", view))
	}
	var (
		table  progress.Table
		period string
		err    error
	)
	switch view {
	case exportDistrictProgress:
		var v progress.DistrictProgress
		v, err = s.progress.DistrictProgressAgainst(ctx, p, q, cmp)
		table, period = v.Table(), v.Period.Key
	case exportSiteTrends:
		var v progress.SiteTrends
		v, err = s.progress.SiteTrendsAgainst(ctx, p, q, cmp)
		table = v.Table()
		if len(v.Periods) > 0 {
			period = v.Periods[len(v.Periods)-1].Key
		}
	case exportClassrooms:
		var v progress.ClassroomProgress
		v, err = s.progress.Classrooms(ctx, p, q)
		table, period = v.Table(), v.Period.Key
	case exportCoverage:
		var v progress.CoverageView
		v, err = s.progress.CoverageAgainst(ctx, p, q, cmp)
		table, period = v.Table(), v.Period.Key
	case exportCalibration:
		var v progress.CalibrationReport
		v, err = s.progress.CalibrationAgainst(ctx, p, q, cmp)
		table, period = v.Table(), v.Period.Key
	case exportTalkEquity:
		var v progress.TalkEquity
		v, err = s.progress.TalkEquityAgainst(ctx, p, q, cmp)
		table, period = v.Table(), v.Period.Key
	case exportGoals:
		var goals []progress.GoalProgress
		goals, err = s.progress.Goals(ctx, p, district)
		table = progress.GoalsTable(goals)
	case exportNetwork:
		var v progress.NetworkMeasures
		v, err = s.progress.Network(ctx, p, q)
		table, period = v.Table(), v.Key
	default: // protovalidate admits only the views above
		err = observation.Invalid("view", "BAD_VIEW", "unknown view %s", view)
	}
	if err != nil {
		return nil, fail(ctx, err)
	}
	body, err := writeCSV(table)
	if err != nil {
		return nil, fail(ctx, err)
	}
	scope := district
	if scope == "" {
		scope = "network"
	}
	name := exportFileName(scope, req.GetSiteId(), view, period)
	_ = grpc.SetHeader(ctx, metadata.Pairs(mdContentDisposition, `attachment; filename="`+name+`"`))
	return &httpbody.HttpBody{ContentType: csvContentType, Data: body}, nil
}

// writeCSV renders a table as RFC 4180 CSV with CRLF line ends (what spreadsheets expect).
func writeCSV(t progress.Table) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	if err := w.Write(t.Header); err != nil {
		return nil, err
	}
	row := make([]string, 0, len(t.Header))
	for _, r := range t.Rows {
		row = row[:0]
		for _, f := range r {
			row = append(row, csvSafe(f))
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// csvSafe is observation.CSVSafe: text that a spreadsheet would run as a formula is defused.
func csvSafe(f string) string { return observation.CSVSafe(f) }

var fileNameUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// exportFileName names an export file for Content-Disposition:
// lookfor-<district>[-<site>]-<view>[-<period>].csv, with anything but letters, digits, '.', '_'
// and '-' replaced.
func exportFileName(scope, site, view, period string) string {
	parts := []string{"lookfor", scope}
	if site != "" {
		parts = append(parts, site)
	}
	parts = append(parts, view)
	if period != "" {
		parts = append(parts, period)
	}
	name := fileNameUnsafe.ReplaceAllString(strings.Join(parts, "-"), "_")
	if len(name) > 200 {
		name = name[:200]
	}
	return fmt.Sprintf("%s.csv", name)
}
