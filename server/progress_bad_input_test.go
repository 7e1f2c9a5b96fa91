package server_test

import (
	"net/url"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

// TestProgressBadInput checks that malformed selections answer INVALID_ARGUMENT naming the field,
// over gRPC and REST.
func TestProgressBadInput(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	pc := pb.NewProgressServiceClient(e.GRPC)
	daTok := e.TokenFor(t, observation.RoleDistrictAdmin)
	ctx := testenv.Ctx(daTok)

	_, err := pc.GetDistrictProgress(ctx, &pb.GetDistrictProgressRequest{DistrictId: rbDistrict, Period: &pb.Period{Kind: "fortnight"}})
	wantInvalid(t, err, "period.kind")
	_, err = pc.GetDistrictProgress(ctx, &pb.GetDistrictProgressRequest{DistrictId: rbDistrict, Period: &pb.Period{Kind: "month", Key: "2026-13"}})
	wantInvalid(t, err, "period.key")
	_, err = pc.GetDistrictProgress(ctx, &pb.GetDistrictProgressRequest{DistrictId: rbDistrict, Period: &pb.Period{Kind: "window", Key: "2025-26/no-such-window"}})
	wantCode(t, err, codes.InvalidArgument)
	_, err = pc.GetSiteTrends(ctx, &pb.GetSiteTrendsRequest{DistrictId: rbDistrict, SiteId: rbLincoln, Periods: 37})
	wantInvalid(t, err, "periods")
	_, err = pc.CreateGoal(ctx, &pb.CreateGoalRequest{DistrictId: rbDistrict, Goal: &pb.Goal{Title: "x", Dimension: "substance",
		Measure: pb.GoalMeasure_GOAL_MEASURE_MEAN_LEVEL, Target: 3, TargetDate: "2026-02-30"}})
	wantInvalid(t, err, "goal.target_date")
	_, err = pc.CreateGoal(ctx, &pb.CreateGoalRequest{DistrictId: rbDistrict, Goal: &pb.Goal{Title: "x", Dimension: "substance",
		Measure: pb.GoalMeasure_GOAL_MEASURE_SHARE_PROFICIENT, Target: 3, TargetDate: "2027-06-30"}})
	wantInvalid(t, err, "goal.target")
	_, err = pc.CreateGoal(ctx, &pb.CreateGoalRequest{DistrictId: rbDistrict, Goal: &pb.Goal{Title: "x", Dimension: "no_such_dimension",
		Measure: pb.GoalMeasure_GOAL_MEASURE_MEAN_LEVEL, Target: 3, TargetDate: "2027-06-30"}})
	wantInvalid(t, err, "goal.dimension")
	_, err = pc.CreateGoal(ctx, &pb.CreateGoalRequest{DistrictId: rbDistrict, Goal: &pb.Goal{Title: "x", Dimension: "substance",
		Target: 3, TargetDate: "2027-06-30"}})
	wantInvalid(t, err, "goal.measure")

	// Exports: a district view needs a district; network measures need none; unknown views.
	_, err = pc.ExportProgressCsv(ctx, &pb.ExportProgressCsvRequest{DistrictId: rbDistrict, View: "network_measures"})
	wantInvalid(t, err, "district_id")
	_, err = pc.ExportProgressCsv(ctx, &pb.ExportProgressCsvRequest{View: "coverage"})
	wantInvalid(t, err, "district_id")
	r := e.Do(t, "GET", "/v1/districts/"+rbDistrict+"/progress:export?view=everything", daTok, "")
	wantREST(t, r, 400, codes.InvalidArgument)
	r = e.Do(t, "GET", "/v1/districts/"+rbDistrict+"/progress:export?view=site_trends", daTok, "")
	if st := wantREST(t, r, 400, codes.InvalidArgument); !slices.Contains(violationsOf(st), "site_id") {
		t.Fatalf("site_trends without a site: %s", r.Body)
	}
	// A site goal at a site the district does not have.
	r = e.Do(t, "POST", "/v1/districts/"+rbDistrict+"/goals", daTok, `{"title":"x","site_id":"`+url.PathEscape("nowhere")+
		`","dimension":"substance","measure":"GOAL_MEASURE_MEAN_LEVEL","target":3,"target_date":"2027-06-30"}`)
	if st := wantREST(t, r, 400, codes.InvalidArgument); !slices.Contains(violationsOf(st), "goal.site_id") {
		t.Fatalf("unknown site: %s", r.Body)
	}
}
