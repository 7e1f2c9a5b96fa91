package server_test

import (
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

// TestProgressComparison chooses what the changes are measured against (compare.against:
// previous, last_year, period with compare.key) and checks the changes by hand, over gRPC and
// REST, for the district view, site trends, coverage and talk, and that bad comparisons answer
// INVALID_ARGUMENT naming the field:
//
//	Lincoln (teachers A, B, C): March 2026 substance 2, 3, 3, 4 (mean 3, 75 % proficient);
//	March 2025 substance 2, 2, 2 (mean 2, none proficient); nothing in February 2026 or
//	September 2025; October 2025 substance 4, 4, 4.
func TestProgressComparison(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	da := e.Users[observation.RoleDistrictAdmin]
	lincoln := siteRooms(t, e, rbLincoln, 3)
	day := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	lastYear := time.Date(2025, 3, 10, 15, 0, 0, 0, time.UTC)
	october := time.Date(2025, 10, 7, 15, 0, 0, 0, time.UTC)
	at := func(d time.Time, h int) time.Time { return d.Add(time.Duration(h) * time.Hour) }
	recs := lessonRecords(t, e, da, 7, []lesson{
		{lincoln[0], at(day, 0), 2, 1, true}, {lincoln[0], at(day, 1), 3, 2, true},
		{lincoln[1], at(day, 2), 3, 2, true}, {lincoln[2], at(day, 3), 4, 4, true},
		{lincoln[0], at(lastYear, 0), 2, 2, true}, {lincoln[1], at(lastYear, 1), 2, 2, true}, {lincoln[2], at(lastYear, 2), 2, 2, true},
		{lincoln[0], at(october, 0), 4, 4, false}, {lincoln[1], at(october, 1), 4, 4, false}, {lincoln[2], at(october, 2), 4, 4, false},
	})
	tr, dev := e.Device(t, da)
	pushAll(t, tr, dev, testenv.Changes(1, recs...))

	pc := pb.NewProgressServiceClient(e.GRPC)
	tok := e.Token(t, da)
	ctx := testenv.Ctx(tok)
	march := &pb.Period{Kind: "month", Key: "2026-03"}
	district := func(c *pb.Comparison) *pb.GetDistrictProgressResponse {
		t.Helper()
		resp, err := pc.GetDistrictProgress(ctx, &pb.GetDistrictProgressRequest{DistrictId: rbDistrict, Period: march, Compare: c})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	substance := func(resp *pb.GetDistrictProgressResponse) *pb.DimensionFigures {
		t.Helper()
		return dimOf(t, siteOf(t, resp.GetSites(), rbLincoln).GetDimensions(), "substance")
	}
	wantChange := func(what string, d *pb.DimensionFigures, status pb.PeriodChangeStatus, mean, share float64) {
		t.Helper()
		c := d.GetChange()
		if c.GetStatus() != status || (status == pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_COMPARED && (!near(c.GetMeanLevel(), mean) || !near(c.GetShareProficient(), share))) {
			t.Fatalf("%s: change %v, want %v %v %v", what, c, status, mean, share)
		}
	}

	// The default and "previous": February 2026, which has nothing.
	for _, c := range []*pb.Comparison{nil, {Against: "previous"}} {
		resp := district(c)
		if resp.GetPrevious().GetKey() != "2026-02" {
			t.Fatalf("previous %v", resp.GetPrevious())
		}
		wantChange("against February", substance(resp), pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_NO_PREVIOUS_DATA, 0, 0)
	}
	if resp := district(nil); resp.GetDistrictName() == "" || resp.GetDistrictName() == rbDistrict {
		t.Fatalf("district name %q", resp.GetDistrictName())
	}
	// Last year: March 2025 (mean 2, no one proficient) → +1 and +75 %.
	resp := district(&pb.Comparison{Against: "last_year"})
	if p := resp.GetPrevious(); p.GetKey() != "2025-03" || p.GetFirstDay() != "2025-03-01" || p.GetPartial() {
		t.Fatalf("last year: previous %v", p)
	}
	wantChange("against March 2025", substance(resp), pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_COMPARED, 1, 0.75)
	// A chosen month: October 2025 (4, 4, 4) → −1 and −25 %; September 2025 had nothing.
	resp = district(&pb.Comparison{Against: "period", Key: "2025-10"})
	if resp.GetPrevious().GetKey() != "2025-10" {
		t.Fatalf("chosen: previous %v", resp.GetPrevious())
	}
	wantChange("against October 2025", substance(resp), pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_COMPARED, -1, -0.25)
	wantChange("against September 2025", substance(district(&pb.Comparison{Against: "period", Key: "2025-09"})),
		pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_NO_PREVIOUS_DATA, 0, 0)

	// Site trends: the last point is compared with the comparison, the earlier ones with the
	// point before; previous says what the last one was compared with.
	trends, err := pc.GetSiteTrends(ctx, &pb.GetSiteTrendsRequest{DistrictId: rbDistrict, SiteId: rbLincoln, Period: march, Periods: 6,
		Compare: &pb.Comparison{Against: "period", Key: "2025-10"}})
	if err != nil {
		t.Fatal(err)
	}
	if trends.GetPrevious().GetKey() != "2025-10" || len(trends.GetPeriods()) != 6 || trends.GetPeriods()[0].GetKey() != "2025-10" {
		t.Fatalf("trends: previous %v, periods %v", trends.GetPrevious(), trends.GetPeriods())
	}
	for _, d := range trends.GetDimensions() {
		if d.GetSeries().GetDimension() == "substance" {
			wantChange("trend's last point", d.GetPoints()[5], pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_COMPARED, -1, -0.25)
			wantChange("trend's November", d.GetPoints()[1], pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_NO_DATA, 0, 0)
		}
	}

	// Over REST, with the query parameters the pages use; coverage and talk follow the same
	// comparison (March 2025: 3 classrooms observed once each).
	q := "?period.kind=month&period.key=2026-03&compare.against=last_year"
	var rest struct {
		Previous struct{ Key string } `json:"previous"`
		Sites    []struct {
			SiteID     string `json:"site_id"`
			Dimensions []struct {
				Series struct{ Dimension string } `json:"series"`
				Change struct {
					Status    string  `json:"status"`
					MeanLevel float64 `json:"mean_level"`
				} `json:"change"`
			} `json:"dimensions"`
		} `json:"sites"`
		DistrictName string `json:"district_name"`
	}
	r := e.Do(t, "GET", "/v1/districts/"+rbDistrict+"/progress"+q, tok, "")
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &rest) != nil || rest.Previous.Key != "2025-03" || rest.DistrictName != resp.GetDistrictName() {
		t.Fatalf("REST district progress: %d %s", r.Status, r.Body)
	}
	for _, s := range rest.Sites {
		for _, d := range s.Dimensions {
			if s.SiteID == rbLincoln && d.Series.Dimension == "substance" && (d.Change.Status != "PERIOD_CHANGE_STATUS_COMPARED" || !near(d.Change.MeanLevel, 1)) {
				t.Fatalf("REST Lincoln substance change %+v", d.Change)
			}
		}
	}
	cov, err := pc.GetCoverage(ctx, &pb.GetCoverageRequest{DistrictId: rbDistrict, SiteId: rbLincoln, Period: march, Compare: &pb.Comparison{Against: "last_year"}})
	if err != nil {
		t.Fatal(err)
	}
	if cov.GetPrevious().GetKey() != "2025-03" {
		t.Fatalf("coverage previous %v", cov.GetPrevious())
	}
	covDefault, err := pc.GetCoverage(ctx, &pb.GetCoverageRequest{DistrictId: rbDistrict, SiteId: rbLincoln, Period: march})
	if err != nil {
		t.Fatal(err)
	}
	// March 2026 and March 2025 both observed the same 3 of Lincoln's rooms: no change; February
	// none, so against it coverage rose.
	if c := siteCoverage(t, cov, rbLincoln).GetCoverageChange(); c.Value == nil || !near(c.GetValue(), 0) {
		t.Fatalf("coverage change against last year %v, want 0", c)
	}
	if c := siteCoverage(t, covDefault, rbLincoln).GetCoverageChange(); c.Value == nil || c.GetValue() <= 0 {
		t.Fatalf("coverage change against February %v, want a rise", c)
	}
	for _, path := range []string{"/progress:talk", "/progress:calibration", "/progress:coverage", "/sites/" + rbLincoln + "/progress:trends"} {
		r := e.Do(t, "GET", "/v1/districts/"+rbDistrict+path+q, tok, "")
		var body struct {
			Previous struct{ Key string } `json:"previous"`
		}
		if r.Status != 200 || json.Unmarshal([]byte(r.Body), &body) != nil || body.Previous.Key != "2025-03" {
			t.Fatalf("REST %s: %d %s", path, r.Status, r.Body)
		}
	}
	r = e.Do(t, "GET", "/v1/districts/"+rbDistrict+"/progress:export?view=district_progress&"+q[1:], tok, "")
	if r.Status != 200 {
		t.Fatalf("CSV with a comparison: %d %s", r.Status, r.Body)
	}

	// Bad comparisons name the field, over gRPC and REST.
	_, err = pc.GetDistrictProgress(ctx, &pb.GetDistrictProgressRequest{DistrictId: rbDistrict, Period: march, Compare: &pb.Comparison{Against: "yesterday"}})
	wantInvalid(t, err, "compare.against")
	_, err = pc.GetDistrictProgress(ctx, &pb.GetDistrictProgressRequest{DistrictId: rbDistrict, Period: march, Compare: &pb.Comparison{Against: "period"}})
	wantInvalid(t, err, "compare.key")
	_, err = pc.GetDistrictProgress(ctx, &pb.GetDistrictProgressRequest{DistrictId: rbDistrict, Period: march, Compare: &pb.Comparison{Against: "last_year", Key: "2025-03"}})
	wantInvalid(t, err, "compare.key")
	_, err = pc.GetDistrictProgress(ctx, &pb.GetDistrictProgressRequest{DistrictId: rbDistrict, Period: march, Compare: &pb.Comparison{Against: "period", Key: "2026-W03"}})
	wantInvalid(t, err, "compare.key") // not a month
	_, err = pc.GetSiteTrends(ctx, &pb.GetSiteTrendsRequest{DistrictId: rbDistrict, SiteId: rbLincoln, Period: march, Compare: &pb.Comparison{Against: "period", Key: "2026-04"}})
	wantInvalid(t, err, "compare.key") // after the selected month
	for _, bad := range []string{"compare.against=tomorrow", "compare.against=period&compare.key=2026-13", "compare.against=period&compare.key=2026-03"} {
		r := e.Do(t, "GET", "/v1/districts/"+rbDistrict+"/progress?period.kind=month&period.key=2026-03&"+bad, tok, "")
		st := wantREST(t, r, 400, codes.InvalidArgument)
		if f := violationsOf(st); len(f) == 0 || (f[0] != "compare.against" && f[0] != "compare.key") {
			t.Fatalf("%s: %s", bad, r.Body)
		}
	}
	r = e.Do(t, "GET", "/v1/districts/"+rbDistrict+"/progress:export?view=goals&compare.against=last_year", tok, "")
	if st := wantREST(t, r, 400, codes.InvalidArgument); len(violationsOf(st)) == 0 || violationsOf(st)[0] != "compare.against" {
		t.Fatalf("goals CSV with a comparison: %s", r.Body)
	}
}

func siteCoverage(t *testing.T, v *pb.GetCoverageResponse, site string) *pb.SiteCoverage {
	t.Helper()
	for _, s := range v.GetSites() {
		if s.GetSiteId() == site {
			return s
		}
	}
	t.Fatalf("no coverage row for %s", site)
	return nil
}
