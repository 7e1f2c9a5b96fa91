package server_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/sync"
)

// TestDistrictProgressEndToEnd records observations through the real sync push, reads the views
// over gRPC, REST and CSV, and checks every figure against values computed by hand here:
//
//	Lincoln (3 teachers A, B, C), school year 2025-26: substance A 2, A 3, B 3, C 4; press A 1,
//	A not observed, B 2, C 4; the year before: A, B and C score 2 on both.
//	Cedar Grove (2 teachers): substance 1, 1; press 3, 3 → too few teachers.
//	Roosevelt (1 teacher): substance 4; press not observed → too few teachers.
//
// Then an amendment (C's substance 4 → 1) and a deletion (A's second lesson) change them.
func TestDistrictProgressEndToEnd(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	da, principal := e.Users[observation.RoleDistrictAdmin], e.Users[observation.RolePrincipal]
	lincoln, cedar, roosevelt := siteRooms(t, e, rbLincoln, 3), siteRooms(t, e, rbCedar, 2), siteRooms(t, e, rbRoosevelt, 1)
	day := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	lastYear := time.Date(2025, 3, 10, 15, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	recs := lessonRecords(t, e, da, 42, []lesson{
		{lincoln[0], at(0), 2, 1, true}, // A
		{lincoln[0], at(1), 3, 0, true}, // A again; press not observed
		{lincoln[1], at(2), 3, 2, true}, // B
		{lincoln[2], at(3), 4, 4, true}, // C
		{cedar[0], at(4), 1, 3, false},
		{cedar[1], at(5), 1, 3, false},
		{roosevelt[0], at(6), 4, 0, false},
		{lincoln[0], lastYear, 2, 2, false},
		{lincoln[1], lastYear.Add(time.Hour), 2, 2, false},
		{lincoln[2], lastYear.Add(2 * time.Hour), 2, 2, false},
	})
	tr, dev := e.Device(t, da)
	pushAll(t, tr, dev, testenv.Changes(1, recs...))
	seq := int64(len(recs))

	pc := pb.NewProgressServiceClient(e.GRPC)
	daTok := e.Token(t, da)
	daCtx := testenv.Ctx(daTok)
	year := &pb.Period{Kind: "school_year", Key: "2025-26"}
	get := func() *pb.GetDistrictProgressResponse {
		t.Helper()
		resp, err := pc.GetDistrictProgress(daCtx, &pb.GetDistrictProgressRequest{DistrictId: rbDistrict, Period: year})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get()

	// The resolved periods and the rule applied.
	if p := resp.GetPeriod(); p.GetKind() != "school_year" || p.GetKey() != "2025-26" || p.GetFirstDay() != "2025-08-01" || p.GetLastDay() != "2026-07-31" {
		t.Fatalf("period %v", p)
	}
	if p := resp.GetPrevious(); p.GetKey() != "2024-25" || p.GetFirstDay() != "2024-08-01" {
		t.Fatalf("previous %v", p)
	}
	if s := resp.GetSuppression(); s.GetMinTeachersPerCell() != 3 {
		t.Fatalf("suppression %v", s)
	}
	if got := len(resp.GetSites()); got != 4 {
		t.Fatalf("%d sites, want riverbend's 4", got)
	}

	// Lincoln: three teachers, published; means and shares by hand.
	lin := siteOf(t, resp.GetSites(), rbLincoln)
	wantValue(t, "Lincoln observations", lin.GetObservations(), 4, 4)
	if lin.Teachers == nil || lin.GetTeachers() != 3 {
		t.Fatalf("Lincoln teachers %v", lin.Teachers)
	}
	sub := dimOf(t, lin.GetDimensions(), "substance")
	if sub.GetSeries().GetSinceVersion() != 1 || sub.GetSeries().GetTitle()["en"] != observation.DefaultRubricVersion(time.Now()).Content.Dimensions[0].Title["en"] {
		t.Fatalf("series %v", sub.GetSeries())
	}
	wantValue(t, "Lincoln substance mean", sub.GetMeanLevel(), 3, 4)           // (2+3+3+4)/4
	wantValue(t, "Lincoln substance share", sub.GetShareProficient(), 0.75, 4) // 3 of 4 at 3 or above
	if got := levelCounts(sub); !slices.Equal(got, []int32{0, 1, 2, 1}) || sub.GetLevels()[0].GetLevel() != 1 {
		t.Fatalf("Lincoln substance levels %v", sub.GetLevels())
	}
	if c := sub.GetChange(); c.GetStatus() != pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_COMPARED || !near(c.GetMeanLevel(), 1) || !near(c.GetShareProficient(), 0.75) {
		t.Fatalf("Lincoln substance change %v (last year: 2, 2, 2)", c)
	}
	press := dimOf(t, lin.GetDimensions(), "press")
	wantValue(t, "Lincoln press mean", press.GetMeanLevel(), 7.0/3, 3) // (1+2+4)/3; not observed excluded
	wantValue(t, "Lincoln press share", press.GetShareProficient(), 1.0/3, 3)
	if press.GetNotObserved() != 1 || press.GetN() != 3 || press.GetTeachers() != 3 {
		t.Fatalf("Lincoln press counts: n %d, not observed %d, teachers %d", press.GetN(), press.GetNotObserved(), press.GetTeachers())
	}
	if c := press.GetChange(); !near(c.GetMeanLevel(), 1.0/3) || !near(c.GetShareProficient(), 1.0/3) {
		t.Fatalf("Lincoln press change %v", c)
	}

	// Cedar Grove and Roosevelt: fewer than 3 teachers, every figure withheld, never 0.
	for _, id := range []string{rbCedar, rbRoosevelt} {
		s := siteOf(t, resp.GetSites(), id)
		wantSuppressed(t, id+" observations", s.GetObservations(), progress.SuppressReasonTeachers)
		if s.Teachers != nil {
			t.Fatalf("%s teachers %d shown for a suppressed site", id, s.GetTeachers())
		}
		for _, d := range s.GetDimensions() {
			if !d.GetSuppressed() || d.GetReason() != progress.SuppressReasonTeachers || d.N != nil || d.Teachers != nil {
				t.Fatalf("%s %s: %v", id, d.GetSeries().GetDimension(), d)
			}
			wantSuppressed(t, id+" mean", d.GetMeanLevel(), progress.SuppressReasonTeachers)
			wantSuppressed(t, id+" share", d.GetShareProficient(), progress.SuppressReasonTeachers)
			for _, l := range d.GetLevels() {
				wantSuppressed(t, id+" level", l.GetObservations(), progress.SuppressReasonTeachers)
			}
			if d.GetChange().GetStatus() != pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_SUPPRESSED {
				t.Fatalf("%s change %v", id, d.GetChange())
			}
		}
	}
	// Harriet Tubman: nothing observed; no data rather than a 0 count or a 0 mean.
	tub := siteOf(t, resp.GetSites(), rbTubman)
	if o := tub.GetObservations(); o.GetSuppressed() || !o.GetNoData() || o.Value != nil {
		t.Fatalf("Tubman observations %v, want no data without a value", o)
	}
	if m := dimOf(t, tub.GetDimensions(), "substance").GetMeanLevel(); !m.GetNoData() || m.Value != nil {
		t.Fatalf("Tubman substance mean %v, want no data without a value", m)
	}

	// The total over every site: 7 observations by 6 teachers.
	tot := resp.GetTotal()
	wantValue(t, "total observations", tot.GetObservations(), 7, 7)
	if tot.GetTeachers() != 6 || tot.GetSiteId() != "" {
		t.Fatalf("total: teachers %d, site %q", tot.GetTeachers(), tot.GetSiteId())
	}
	tsub := dimOf(t, tot.GetDimensions(), "substance")
	wantValue(t, "total substance mean", tsub.GetMeanLevel(), 18.0/7, 7) // 2+3+3+4+1+1+4
	wantValue(t, "total substance share", tsub.GetShareProficient(), 4.0/7, 7)
	if c := tsub.GetChange(); !near(c.GetMeanLevel(), 18.0/7-2) {
		t.Fatalf("total substance change %v", c)
	}
	tpress := dimOf(t, tot.GetDimensions(), "press")
	wantValue(t, "total press mean", tpress.GetMeanLevel(), 13.0/5, 5) // 1+2+4+3+3
	wantValue(t, "total press share", tpress.GetShareProficient(), 3.0/5, 5)
	if tpress.GetNotObserved() != 2 {
		t.Fatalf("total press not observed %d", tpress.GetNotObserved())
	}

	// Titles in Spanish when asked.
	es, err := pc.GetDistrictProgress(daCtx, &pb.GetDistrictProgressRequest{DistrictId: rbDistrict, Period: year, Language: "es"})
	if err != nil {
		t.Fatal(err)
	}
	if title := dimOf(t, es.GetTotal().GetDimensions(), "substance").GetSeries().GetTitle(); len(title) != 1 ||
		title["es"] != observation.DefaultRubricVersion(time.Now()).Content.Dimensions[0].Title["es"] {
		t.Fatalf("Spanish title %v", title)
	}

	// The same view over REST: equal to the gRPC answer, and suppressed cells carry no value.
	query := "?period.kind=school_year&period.key=2025-26"
	r := e.Do(t, "GET", "/v1/districts/"+rbDistrict+"/progress"+query, daTok, "")
	wantREST(t, r, 200, codes.OK)
	var viaREST pb.GetDistrictProgressResponse
	decode(t, r.Body, &viaREST)
	if viaREST.GetDataAsOf().AsTime().Before(resp.GetDataAsOf().AsTime()) {
		t.Errorf("the later REST read is as of %s, before the gRPC read's %s", viaREST.GetDataAsOf().AsTime(), resp.GetDataAsOf().AsTime())
	}
	viaREST.DataAsOf = resp.GetDataAsOf() // read at two instants; the figures must be equal
	if !proto.Equal(&viaREST, resp) {
		t.Fatalf("REST and gRPC differ:\nREST %v\ngRPC %v", &viaREST, resp)
	}
	var raw struct {
		Sites []struct {
			SiteID       string         `json:"site_id"`
			Observations map[string]any `json:"observations"`
			Dimensions   []struct {
				MeanLevel map[string]any `json:"mean_level"`
			} `json:"dimensions"`
		} `json:"sites"`
	}
	if err := json.Unmarshal([]byte(r.Body), &raw); err != nil {
		t.Fatal(err)
	}
	for _, s := range raw.Sites {
		if s.SiteID != rbCedar {
			continue
		}
		for _, c := range []map[string]any{s.Observations, s.Dimensions[0].MeanLevel} {
			_, hasValue := c["value"]
			_, hasN := c["n"]
			if hasValue || hasN || c["suppressed"] != true || c["reason"] != progress.SuppressReasonTeachers {
				t.Fatalf("Cedar Grove's suppressed cell over REST: %v", c)
			}
		}
	}

	// CSV over REST: text/csv, a file name, the table's header and known rows.
	exportPath := "/v1/districts/" + rbDistrict + "/progress:export" + query + "&view=district_progress"
	csvResp := e.Do(t, "GET", exportPath, daTok, "")
	wantREST(t, csvResp, 200, codes.OK)
	if ct := csvResp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	if cd := csvResp.Header.Get("Content-Disposition"); cd != `attachment; filename="lookfor-riverbend-usd-district_progress-2025-26.csv"` {
		t.Fatalf("Content-Disposition %q", cd)
	}
	rows := readCSV(t, csvResp.Body)
	wantHeader := []string{"district_id", "period_kind", "period_key", "site_id", "site_name", "dimension", "series_since", "measure", "value", "n", "note"}
	if !slices.Equal(rows[0], wantHeader) {
		t.Fatalf("header %v", rows[0])
	}
	hasRow := func(rows [][]string, want ...string) {
		t.Helper()
		if !slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, want) }) {
			t.Fatalf("export has no row %q", want)
		}
	}
	hasRow(rows, rbDistrict, "school_year", "2025-26", rbLincoln, "Lincoln Elementary School", "substance", "1", "mean_level", "3.000", "4", "")
	hasRow(rows, rbDistrict, "school_year", "2025-26", rbLincoln, "Lincoln Elementary School", "substance", "1", "share_proficient_percent", "75.0", "4", "")
	hasRow(rows, rbDistrict, "school_year", "2025-26", rbCedar, "Cedar Grove Elementary School", "substance", "1", "mean_level", "", "", "suppressed: too few teachers")
	hasRow(rows, rbDistrict, "school_year", "2025-26", rbCedar, "Cedar Grove Elementary School", "", "", "observations", "", "", "suppressed: too few teachers")
	hasRow(rows, rbDistrict, "school_year", "2025-26", "", "", "", "", "observations", "7", "7", "")
	hasRow(rows, rbDistrict, "school_year", "2025-26", rbCedar, "Cedar Grove Elementary School", "substance", "1", "change_status", "", "", "suppressed")
	for _, row := range rows[1:] {
		if (row[3] == rbCedar || row[3] == rbRoosevelt) && row[7] != "no_teachers" && (row[8] != "" || row[9] != "") {
			t.Fatalf("a suppressed site's row shows a figure: %q", row)
		}
	}

	// Site trends for the principal: last year 2.0, this year 3.0.
	pCtx := testenv.Ctx(e.Token(t, principal))
	trends, err := pc.GetSiteTrends(pCtx, &pb.GetSiteTrendsRequest{DistrictId: rbDistrict, SiteId: rbLincoln, Period: year, Periods: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(trends.GetPeriods()) != 2 || trends.GetPeriods()[0].GetKey() != "2024-25" || trends.GetPeriods()[1].GetKey() != "2025-26" {
		t.Fatalf("trend periods %v", trends.GetPeriods())
	}
	for _, d := range trends.GetDimensions() {
		if d.GetSeries().GetDimension() != "substance" {
			continue
		}
		wantValue(t, "trend 2024-25", d.GetPoints()[0].GetMeanLevel(), 2, 3)
		wantValue(t, "trend 2025-26", d.GetPoints()[1].GetMeanLevel(), 3, 4)
	}

	// Talk moves: Lincoln's four lessons each tally 6 teacher moves (3 pressing) and 4 student
	// moves (2 reasoning) over 10 minutes; the other sites are withheld.
	talk, err := pc.GetTalkEquity(daCtx, &pb.GetTalkEquityRequest{DistrictId: rbDistrict, Period: year})
	if err != nil {
		t.Fatal(err)
	}
	if s := talk.GetSuppression(); s.GetMinTeachersPerCell() != 3 || s.GetSuppressionThreshold() != 11 {
		t.Fatalf("talk suppression %v", s)
	}
	for _, s := range talk.GetSites() {
		switch s.GetSiteId() {
		case rbLincoln:
			wantValue(t, "Lincoln press share", s.GetPressShare(), 0.5, 24)
			wantValue(t, "Lincoln reasoning share", s.GetReasoningShare(), 0.5, 16)
			for _, rate := range s.GetRates() {
				if rate.GetCategory() == "press_reasoning" {
					wantValue(t, "Lincoln press_reasoning per 10 min", rate.GetRate(), 2, 4) // 8 × 10 ÷ 40
				}
			}
			if s.GetDiscussionMinutes() != 40 || s.GetObservations() != 4 {
				t.Fatalf("Lincoln talk counts %v", s)
			}
		case rbCedar, rbRoosevelt:
			if !s.GetSuppressed() || s.GetReason() != progress.SuppressReasonTeachers || s.Observations != nil {
				t.Fatalf("%s talk %v", s.GetSiteId(), s)
			}
			wantSuppressed(t, s.GetSiteId()+" press share", s.GetPressShare(), progress.SuppressReasonTeachers)
		}
	}

	// Network measures: riverbend opted in, but 7 observations are below the network threshold.
	nctx := testenv.Ctx(e.TokenFor(t, observation.RoleNetworkAnalyst))
	net, err := pc.GetNetworkMeasures(nctx, &pb.GetNetworkMeasuresRequest{Period: year})
	if err != nil {
		t.Fatal(err)
	}
	if net.GetSuppression().GetSuppressionThreshold() < 11 {
		t.Fatalf("network suppression %v", net.GetSuppression())
	}
	var sawRiverbend bool
	for _, d := range net.GetDistricts() {
		if d.GetDistrictId() == mvDistrict {
			t.Fatalf("mesa-verde did not opt in but is listed")
		}
		if d.GetDistrictId() != rbDistrict {
			continue
		}
		sawRiverbend = true
		wantSuppressed(t, "riverbend in the network", d.GetObservations(), progress.SuppressReasonThreshold)
		wantSuppressed(t, "riverbend substance in the network", dimOf(t, d.GetDimensions(), "substance").GetMeanLevel(), progress.SuppressReasonThreshold)
	}
	if !sawRiverbend {
		t.Fatal("riverbend is missing from the network measures")
	}
	netCSV := e.Do(t, "GET", "/v1/network/progress:export?period.kind=school_year&period.key=2025-26", e.TokenFor(t, observation.RoleNetworkAnalyst), "")
	wantREST(t, netCSV, 200, codes.OK)
	if ct := netCSV.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("network export Content-Type %q", ct)
	}
	hasRow(readCSV(t, netCSV.Body), "school_year", "2025-26", rbDistrict, "Riverbend Unified School District", "", "", "observations", "", "", "suppressed: n below threshold")

	// Goals: a district goal by REST (baseline last year), a site goal at a site with too few
	// teachers by gRPC; the list shows their progress.
	goalBody := `{"title":"Substance of the talk","dimension":"substance","measure":"GOAL_MEASURE_MEAN_LEVEL",` +
		`"target":3.5,"target_date":"2026-06-30","baseline":{"kind":"school_year","key":"2024-25"}}`
	gr := e.Do(t, "POST", "/v1/districts/"+rbDistrict+"/goals", daTok, goalBody)
	wantREST(t, gr, 200, codes.OK)
	var created pb.CreateGoalResponse
	decode(t, gr.Body, &created)
	g := created.GetGoal()
	if g.GetGoal().GetGoalId() == "" || g.GetGoal().GetCreatedBy() != da.UserID || g.GetPeriod().GetKey() != "2025-26" || g.GetBaseline().GetKey() != "2024-25" {
		t.Fatalf("created goal %v", g)
	}
	wantValue(t, "goal current", g.GetCurrent(), 18.0/7, 7)
	wantValue(t, "goal baseline", g.GetBaselineValue(), 2, 3)
	wantValue(t, "goal progress", g.GetProgress(), (18.0/7-2)/(3.5-2), 7)
	if g.GetStatus() != pb.GoalStatus_GOAL_STATUS_MISSED { // the target date has passed below the target
		t.Fatalf("goal status %v", g.GetStatus())
	}
	siteGoal, err := pc.CreateGoal(daCtx, &pb.CreateGoalRequest{DistrictId: rbDistrict, Goal: &pb.Goal{SiteId: rbCedar,
		Title: "Cedar Grove press", Dimension: "press", Measure: pb.GoalMeasure_GOAL_MEASURE_SHARE_PROFICIENT, Target: 0.8,
		TargetDate: "2026-06-30"}})
	if err != nil {
		t.Fatal(err)
	}
	wantSuppressed(t, "Cedar Grove goal current", siteGoal.GetGoal().GetCurrent(), progress.SuppressReasonTeachers)
	if siteGoal.GetGoal().GetStatus() != pb.GoalStatus_GOAL_STATUS_NO_DATA {
		t.Fatalf("site goal status %v", siteGoal.GetGoal().GetStatus())
	}
	upd, err := pc.UpdateGoal(daCtx, &pb.UpdateGoalRequest{DistrictId: rbDistrict, GoalId: g.GetGoal().GetGoalId(), Goal: &pb.Goal{
		Title: "Substance of the talk", Dimension: "substance", Measure: pb.GoalMeasure_GOAL_MEASURE_MEAN_LEVEL, Target: 3,
		TargetDate: "2026-06-30", Baseline: &pb.Period{Kind: "school_year", Key: "2024-25"}}})
	if err != nil {
		t.Fatal(err)
	}
	wantValue(t, "updated goal progress", upd.GetGoal().GetProgress(), (18.0/7-2)/(3-2), 7)
	if !upd.GetGoal().GetGoal().GetCreateTime().AsTime().Equal(g.GetGoal().GetCreateTime().AsTime()) {
		t.Fatal("an update changed the goal's create time")
	}
	// The principal of Lincoln sees the district goal, not Cedar Grove's.
	list, err := pc.ListGoals(pCtx, &pb.ListGoalsRequest{DistrictId: rbDistrict})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetGoals()) != 1 || list.GetGoals()[0].GetGoal().GetGoalId() != g.GetGoal().GetGoalId() || !near(list.GetGoals()[0].GetGoal().GetTarget(), 3) {
		t.Fatalf("principal's goals %v", list.GetGoals())
	}
	daList, err := pc.ListGoals(daCtx, &pb.ListGoalsRequest{DistrictId: rbDistrict})
	if err != nil || len(daList.GetGoals()) != 2 {
		t.Fatalf("district admin's goals: %v %v", daList, err)
	}

	// The classroom view, for Lincoln's principal: teacher A's classroom by hand, audited.
	rooms, err := pc.GetClassroomProgress(pCtx, &pb.GetClassroomProgressRequest{DistrictId: rbDistrict, SiteId: rbLincoln, Period: year})
	if err != nil {
		t.Fatal(err)
	}
	var sawA bool
	for _, c := range rooms.GetClassrooms() {
		if c.GetClassroomId() != lincoln[0].ID {
			continue
		}
		sawA = true
		if c.GetTeacherId() != lincoln[0].TeacherID || c.GetObservations() != 2 {
			t.Fatalf("classroom A %v", c)
		}
		wantValue(t, "classroom A substance", dimOf(t, c.GetDimensions(), "substance").GetMeanLevel(), 2.5, 2)
	}
	if !sawA {
		t.Fatalf("classroom %s missing from the classroom view", lincoln[0].ID)
	}
	audit, err := pb.NewAuditServiceClient(e.GRPC).ListAuditEntries(daCtx, &pb.ListAuditEntriesRequest{DistrictId: rbDistrict, Action: "progress.classrooms.read"})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit.GetEntries()) != 1 || audit.GetEntries()[0].GetActor() != principal.UserID || audit.GetEntries()[0].GetResourceId() != rbLincoln {
		t.Fatalf("classroom view audit entries %v", audit.GetEntries())
	}

	// An amendment (C's substance 4 → 1) and a deletion (A's second lesson) change the figures.
	amended := recs[3]
	for i := range amended.Scores {
		if amended.Scores[i].Dimension == "substance" {
			amended.Scores[i].Level = 1
		}
	}
	amended.RecordedAt = amended.RecordedAt.Add(time.Hour)
	pushAll(t, tr, dev, []sync.Change{
		{Seq: seq + 1, Op: sync.OpUpsert, Record: amended, ObservationID: amended.ID, BaseRevision: 1},
		{Seq: seq + 2, Op: sync.OpDelete, ObservationID: recs[1].ID, BaseRevision: 1},
	})
	resp = get()
	lin = siteOf(t, resp.GetSites(), rbLincoln)
	wantValue(t, "Lincoln observations after", lin.GetObservations(), 3, 3)
	sub = dimOf(t, lin.GetDimensions(), "substance")
	wantValue(t, "Lincoln substance mean after", sub.GetMeanLevel(), 2, 3) // (2+3+1)/3
	wantValue(t, "Lincoln substance share after", sub.GetShareProficient(), 1.0/3, 3)
	if got := levelCounts(sub); !slices.Equal(got, []int32{1, 1, 1, 0}) {
		t.Fatalf("Lincoln substance levels after %v", got)
	}
	if c := sub.GetChange(); c.GetStatus() != pb.PeriodChangeStatus_PERIOD_CHANGE_STATUS_COMPARED || !near(c.GetMeanLevel(), 0) {
		t.Fatalf("Lincoln substance change after %v", c)
	}
	press = dimOf(t, lin.GetDimensions(), "press")
	if press.GetNotObserved() != 0 || press.GetN() != 3 {
		t.Fatalf("Lincoln press after: n %d, not observed %d", press.GetN(), press.GetNotObserved())
	}
	tot = resp.GetTotal()
	wantValue(t, "total observations after", tot.GetObservations(), 6, 6)
	wantValue(t, "total substance mean after", dimOf(t, tot.GetDimensions(), "substance").GetMeanLevel(), 2, 6) // 2+3+1+1+1+4
	rows = readCSV(t, e.Do(t, "GET", exportPath, daTok, "").Body)
	hasRow(rows, rbDistrict, "school_year", "2025-26", rbLincoln, "Lincoln Elementary School", "substance", "1", "mean_level", "2.000", "3", "")
	after, err := pc.ListGoals(daCtx, &pb.ListGoalsRequest{DistrictId: rbDistrict})
	if err != nil {
		t.Fatal(err)
	}
	wantValue(t, "goal current after", after.GetGoals()[0].GetCurrent(), 2, 6)
	wantValue(t, "goal progress after", after.GetGoals()[0].GetProgress(), 0, 6) // (2 − 2) ÷ (3 − 2)
}
