package server_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

// TestProgressAccessMatrix calls every ProgressService RPC as every role and as callers outside
// the scope of the resources the call touches: another district's admin, a coach of another
// site and the principal of another site. Out of scope answers NOT_FOUND (existence does not
// leak); in scope but not allowed answers PERMISSION_DENIED. Network analysts read the network
// measures only; the classroom view (teacher level) is only for the site's own principal and
// coaches; goals are set by district admins and admins.
func TestProgressAccessMatrix(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach, principal, da := e.Users[observation.RoleCoach], e.Users[observation.RolePrincipal], e.Users[observation.RoleDistrictAdmin]
	d, site := da.DistrictID, principal.SiteIDs[0]
	if d != rbDistrict || site != rbLincoln {
		t.Fatalf("demo users moved: district %s, principal's site %s", d, site)
	}
	callers := []matrixCaller{
		{"coach", coach},
		{"principal", principal},
		{"district_admin", da},
		{"network_analyst", e.Users[observation.RoleNetworkAnalyst]},
		{"admin", e.Users[observation.RoleAdmin]},
		{"other_district_admin", observation.Principal{UserID: mvDistrict + ".district-admin", Role: observation.RoleDistrictAdmin, DistrictID: mvDistrict}},
		{"other_site_coach", observation.Principal{UserID: d + ".coach-2", Role: observation.RoleCoach, DistrictID: d, SiteIDs: []string{rbRoosevelt}}},
		{"other_site_principal", observation.Principal{UserID: d + ".principal-roosevelt-ms", Role: observation.RolePrincipal, DistrictID: d, SiteIDs: []string{rbRoosevelt}}},
	}
	pc := pb.NewProgressServiceClient(e.GRPC)
	newGoal := func() *pb.Goal {
		return &pb.Goal{Title: "Press for reasoning in every classroom", Dimension: "press",
			Measure: pb.GoalMeasure_GOAL_MEASURE_MEAN_LEVEL, Target: 3, TargetDate: "2027-06-30"}
	}
	created, err := pc.CreateGoal(testenv.Ctx(e.Token(t, da)), &pb.CreateGoalRequest{DistrictId: d, Goal: newGoal()})
	if err != nil {
		t.Fatal(err)
	}
	goalID := created.GetGoal().GetGoal().GetGoalId()

	const (
		OK = codes.OK
		NF = codes.NotFound
		PD = codes.PermissionDenied
	)
	//                                  coach principal da  analyst admin other-da other-site-coach other-site-principal
	districtView := []codes.Code{OK, OK, OK, PD, OK, NF, OK, OK}
	siteView := []codes.Code{OK, OK, OK, PD, OK, NF, NF, NF}
	teacherLevel := []codes.Code{OK, OK, PD, PD, PD, NF, NF, NF}
	network := []codes.Code{PD, PD, PD, OK, OK, PD, PD, PD}
	goalWrite := []codes.Code{PD, PD, OK, PD, OK, NF, PD, PD}
	year := &pb.Period{Kind: "school_year"}
	cases := []matrixCase{
		{"ProgressService/GetSiteTrends", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.GetSiteTrends(ctx, &pb.GetSiteTrendsRequest{DistrictId: d, SiteId: site, Periods: 3})
			return err
		}, siteView},
		{"ProgressService/GetDistrictProgress", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.GetDistrictProgress(ctx, &pb.GetDistrictProgressRequest{DistrictId: d, Period: year})
			return err
		}, districtView},
		{"ProgressService/GetDistrictProgress (the principal's site)", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.GetDistrictProgress(ctx, &pb.GetDistrictProgressRequest{DistrictId: d, SiteId: site})
			return err
		}, siteView},
		{"ProgressService/GetClassroomProgress", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.GetClassroomProgress(ctx, &pb.GetClassroomProgressRequest{DistrictId: d, SiteId: site})
			return err
		}, teacherLevel},
		{"ProgressService/GetCoverage", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.GetCoverage(ctx, &pb.GetCoverageRequest{DistrictId: d})
			return err
		}, districtView},
		{"ProgressService/GetCoverage (the principal's site)", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.GetCoverage(ctx, &pb.GetCoverageRequest{DistrictId: d, SiteId: site})
			return err
		}, siteView},
		{"ProgressService/GetCalibration", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.GetCalibration(ctx, &pb.GetCalibrationRequest{DistrictId: d})
			return err
		}, districtView},
		{"ProgressService/GetTalkEquity", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.GetTalkEquity(ctx, &pb.GetTalkEquityRequest{DistrictId: d})
			return err
		}, districtView},
		{"ProgressService/GetTalkEquity (the principal's site)", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.GetTalkEquity(ctx, &pb.GetTalkEquityRequest{DistrictId: d, SiteId: site})
			return err
		}, siteView},
		{"ProgressService/GetNetworkMeasures", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.GetNetworkMeasures(ctx, &pb.GetNetworkMeasuresRequest{})
			return err
		}, network},
		{"ProgressService/CreateGoal", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.CreateGoal(ctx, &pb.CreateGoalRequest{DistrictId: d, Goal: newGoal()})
			return err
		}, goalWrite},
		{"ProgressService/UpdateGoal", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.UpdateGoal(ctx, &pb.UpdateGoalRequest{DistrictId: d, GoalId: goalID, Goal: newGoal()})
			return err
		}, goalWrite},
		{"ProgressService/ListGoals", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.ListGoals(ctx, &pb.ListGoalsRequest{DistrictId: d})
			return err
		}, districtView},
		{"ProgressService/ExportProgressCsv (district_progress)", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.ExportProgressCsv(ctx, &pb.ExportProgressCsvRequest{DistrictId: d, View: "district_progress"})
			return err
		}, districtView},
		{"ProgressService/ExportProgressCsv (site_trends)", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.ExportProgressCsv(ctx, &pb.ExportProgressCsvRequest{DistrictId: d, View: "site_trends", SiteId: site})
			return err
		}, siteView},
		{"ProgressService/ExportProgressCsv (classrooms)", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.ExportProgressCsv(ctx, &pb.ExportProgressCsvRequest{DistrictId: d, View: "classrooms", SiteId: site})
			return err
		}, teacherLevel},
		{"ProgressService/ExportProgressCsv (coverage)", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.ExportProgressCsv(ctx, &pb.ExportProgressCsvRequest{DistrictId: d, View: "coverage"})
			return err
		}, districtView},
		{"ProgressService/ExportProgressCsv (calibration)", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.ExportProgressCsv(ctx, &pb.ExportProgressCsvRequest{DistrictId: d, View: "calibration"})
			return err
		}, districtView},
		{"ProgressService/ExportProgressCsv (talk_equity)", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.ExportProgressCsv(ctx, &pb.ExportProgressCsvRequest{DistrictId: d, View: "talk_equity"})
			return err
		}, districtView},
		{"ProgressService/ExportProgressCsv (goals)", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.ExportProgressCsv(ctx, &pb.ExportProgressCsvRequest{DistrictId: d, View: "goals"})
			return err
		}, districtView},
		{"ProgressService/ExportProgressCsv (network_measures)", func(ctx context.Context, _ observation.Principal) error {
			_, err := pc.ExportProgressCsv(ctx, &pb.ExportProgressCsvRequest{View: "network_measures"})
			return err
		}, network},
	}
	for _, c := range cases {
		for i, caller := range callers {
			want := c.want[i]
			t.Run(c.rpc+"/"+caller.name, func(t *testing.T) {
				err := c.call(testenv.Ctx(e.Token(t, caller.p)), caller.p)
				if got := status.Code(err); got != want {
					t.Errorf("%s as %s: %v, want %v", c.rpc, caller.name, err, want)
				}
			})
		}
	}

	// A site or district that does not exist answers as one outside the caller's scope does.
	coachCtx, daCtx := testenv.Ctx(e.Token(t, coach)), testenv.Ctx(e.Token(t, da))
	_, err = pc.GetSiteTrends(coachCtx, &pb.GetSiteTrendsRequest{DistrictId: d, SiteId: d + ".no-such-school"})
	wantCode(t, err, NF)
	_, err = pc.GetDistrictProgress(daCtx, &pb.GetDistrictProgressRequest{DistrictId: "no-such-district"})
	wantCode(t, err, NF)
	// A goal that does not exist, or of another district, is NOT_FOUND for its admin too.
	_, err = pc.UpdateGoal(daCtx, &pb.UpdateGoalRequest{DistrictId: d, GoalId: uuid.Must(uuid.NewV7()).String(), Goal: newGoal()})
	wantCode(t, err, NF)
	_, err = pc.UpdateGoal(testenv.Ctx(e.Token(t, callers[5].p)), &pb.UpdateGoalRequest{DistrictId: mvDistrict, GoalId: goalID, Goal: newGoal()})
	wantCode(t, err, NF)
}
