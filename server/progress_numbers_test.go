package server_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/server"
)

// numbersNow is "today" for TestProgressNumbersHandComputed: March 2026 is in progress, its
// first six days have elapsed.
var numbersNow = time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC)

// TestProgressNumbersHandComputed records lessons through the real sync push and reads the views
// over REST (JSON and CSV) with "today" at 2026-03-06, checking figures computed by hand:
//
//	Lincoln (teachers A, B, C), substance: Feb 2-4 A 2, B 2, C 2; Feb 9-10 A 3, B 3 (week
//	2026-W07: two teachers); Feb 20-22 A 1, B 1, C 1; Mar 2-4 A 4, B 4, C 4.
//	January 2026, participation coding at Roosevelt (see the equity part).
//	Mesa Verde (school year from July, opted in): two lessons in March.
func TestProgressNumbersHandComputed(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, func(c *server.Config) { c.ProgressNow = func() time.Time { return numbersNow } })
	da := e.Users[observation.RoleDistrictAdmin]
	daTok := e.Token(t, da)
	pTok := e.TokenFor(t, observation.RolePrincipal)
	lincoln := siteRooms(t, e, rbLincoln, 3)
	d := func(m time.Month, day int) time.Time { return time.Date(2026, m, day, 15, 0, 0, 0, time.UTC) }
	recs := lessonRecords(t, e, da, 7, []lesson{
		{lincoln[0], d(2, 2), 2, 3, false}, {lincoln[1], d(2, 3), 2, 3, false}, {lincoln[2], d(2, 4), 2, 3, false},
		{lincoln[0], d(2, 9), 3, 3, false}, {lincoln[1], d(2, 10), 3, 3, false},
		{lincoln[0], d(2, 20), 1, 3, false}, {lincoln[1], d(2, 21), 1, 3, false}, {lincoln[2], d(2, 22), 1, 3, false},
		{lincoln[0], d(3, 2), 4, 3, false}, {lincoln[1], d(3, 3), 4, 3, false}, {lincoln[2], d(3, 4), 4, 3, false},
	})
	recs = append(recs, equityRecords(t, e, da)...)
	tr, dev := e.Device(t, da)
	pushAll(t, tr, dev, testenv.Changes(1, recs...))

	getJSON := func(path, tok string, into any) {
		t.Helper()
		r := e.Do(t, "GET", path, tok, "")
		wantREST(t, r, 200, codes.OK)
		if err := json.Unmarshal([]byte(r.Body), into); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	getCSV := func(path, tok string) [][]string {
		t.Helper()
		r := e.Do(t, "GET", path, tok, "")
		wantREST(t, r, 200, codes.OK)
		return readCSV(t, r.Body)
	}
	hasRow := func(rows [][]string, want ...string) {
		t.Helper()
		if !slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, want) }) {
			t.Fatalf("export has no row %q", want)
		}
	}

	t.Run("period in progress", func(t *testing.T) {
		// March 2026 so far (1-6): substance 4, 4, 4 → mean 4. Compared with February 1-6 (2, 2,
		// 2 → 2), not with all of February (2, 2, 2, 3, 3, 1, 1, 1 → 1.875): change +2.
		base := "/v1/districts/" + rbDistrict + "/progress"
		var dp struct {
			Period, Previous map[string]any
			Sites            []struct {
				SiteID     string `json:"site_id"`
				Dimensions []struct {
					Series    struct{ Dimension string }
					MeanLevel map[string]any `json:"mean_level"`
					Change    map[string]any
				}
			}
		}
		getJSON(base+"?site_id="+rbLincoln+"&period.kind=month&period.key=2026-03", daTok, &dp)
		if dp.Period["partial"] != true || dp.Period["through_day"] != "2026-03-06" || dp.Period["last_day"] != "2026-03-31" {
			t.Fatalf("period %v, want partial through 2026-03-06", dp.Period)
		}
		if dp.Previous["key"] != "2026-02" || dp.Previous["partial"] != true || dp.Previous["through_day"] != "2026-02-06" || dp.Previous["first_day"] != "2026-02-01" {
			t.Fatalf("previous %v, want February 1-6", dp.Previous)
		}
		for _, dim := range dp.Sites[0].Dimensions {
			if dim.Series.Dimension != "substance" {
				continue
			}
			if dim.MeanLevel["value"] != 4.0 || dim.Change["status"] != "PERIOD_CHANGE_STATUS_COMPARED" || dim.Change["mean_level"] != 2.0 {
				t.Fatalf("March substance %v, change %v; want 4, +2 against February 1-6", dim.MeanLevel, dim.Change)
			}
		}
		rows := getCSV(base+":export?view=district_progress&site_id="+rbLincoln+"&period.kind=month&period.key=2026-03", daTok)
		top := []string{rbDistrict, "month", "2026-03", "", "", "", ""}
		hasRow(rows, append(top, "period_partial", "1", "", "")...)
		hasRow(rows, append(top, "period_through_day", "2026-03-06", "", "")...)
		hasRow(rows, append(top, "previous_key", "2026-02", "", "")...)
		hasRow(rows, append(top, "previous_through_day", "2026-02-06", "", "")...)
		hasRow(rows, rbDistrict, "month", "2026-03", rbLincoln, "Lincoln Elementary School", "substance", "1", "change_mean_level", "2.000", "3", "")

		// February has ended: whole, compared with all of January (no Lincoln scores).
		getJSON(base+"?site_id="+rbLincoln+"&period.kind=month&period.key=2026-02", daTok, &dp)
		if dp.Period["partial"] != false || dp.Previous["partial"] != false || dp.Previous["key"] != "2026-01" {
			t.Fatalf("February: period %v previous %v, want both whole", dp.Period, dp.Previous)
		}

		// Site trends by month: February whole (1.875), March so far (4) against February 1-6.
		var st struct {
			Periods    []map[string]any
			Previous   map[string]any
			Dimensions []struct {
				Series struct{ Dimension string }
				Points []struct {
					MeanLevel map[string]any `json:"mean_level"`
					Change    map[string]any
				}
			}
		}
		getJSON("/v1/districts/"+rbDistrict+"/sites/"+rbLincoln+"/progress:trends?period.kind=month&period.key=2026-03&periods=2", pTok, &st)
		if len(st.Periods) != 2 || st.Periods[0]["partial"] != false || st.Periods[1]["partial"] != true || st.Previous["through_day"] != "2026-02-06" {
			t.Fatalf("trend periods %v, previous %v", st.Periods, st.Previous)
		}
		for _, dim := range st.Dimensions {
			if dim.Series.Dimension == "substance" {
				if dim.Points[0].MeanLevel["value"] != 1.875 || dim.Points[1].MeanLevel["value"] != 4.0 || dim.Points[1].Change["mean_level"] != 2.0 {
					t.Fatalf("substance trend %+v", dim.Points)
				}
			}
		}
	})

	t.Run("equity observations", func(t *testing.T) {
		// January 2026 at Roosevelt (see equityRecords): 34 coded lessons; ml enrolled in 23
		// (ratios 1.2 × 12, 1 × 11), iep in 23 (0.8 × 12, 1 × 11); two lessons uncoded.
		var te struct {
			EquityObservations int `json:"equity_observations"`
			Equity             []struct {
				Group string
				Ratio map[string]any
			}
		}
		path := "/v1/districts/" + rbDistrict + "/progress:talk?period.kind=month&period.key=2026-01"
		getJSON(path, daTok, &te)
		if te.EquityObservations != 34 {
			t.Fatalf("equity_observations %d, want 34 (not the largest group's 23)", te.EquityObservations)
		}
		want := map[string]float64{"ml": 25.4 / 23, "iep": 20.6 / 23}
		for _, g := range te.Equity {
			w, ok := want[g.Group]
			if !ok {
				continue
			}
			if v, _ := g.Ratio["value"].(float64); !near(v, w) || g.Ratio["n"] != 23.0 {
				t.Fatalf("%s ratio %v, want %v over 23", g.Group, g.Ratio, w)
			}
		}
		rows := getCSV("/v1/districts/"+rbDistrict+"/progress:export?view=talk_equity&period.kind=month&period.key=2026-01", daTok)
		hasRow(rows, rbDistrict, "month", "2026-01", "", "", "", "equity_observations", "34", "34", "")
		hasRow(rows, rbDistrict, "month", "2026-01", "", "", "ml", "equity_ratio", "1.104", "23", "")
		hasRow(rows, rbDistrict, "month", "2026-01", "", "", "iep", "equity_ratio", "0.896", "23", "")
	})

	t.Run("goals alike for every caller", func(t *testing.T) {
		// Lincoln's week 2026-W07 has two teachers: the district admin's view withholds it, and
		// so does the goal, for the district admin and for Lincoln's own principal alike.
		body := `{"title":"Lincoln substance","site_id":"` + rbLincoln + `","dimension":"substance","measure":"GOAL_MEASURE_MEAN_LEVEL",` +
			`"target":3.5,"target_date":"2026-02-11","period_kind":"week"}`
		wantREST(t, e.Do(t, "POST", "/v1/districts/"+rbDistrict+"/goals", daTok, body), 200, codes.OK)
		for _, tok := range []string{daTok, pTok} {
			var list struct {
				Goals []struct {
					Current map[string]any
					Status  string
					Period  map[string]any
				}
			}
			getJSON("/v1/districts/"+rbDistrict+"/goals", tok, &list)
			if len(list.Goals) != 1 || list.Goals[0].Period["key"] != "2026-W07" {
				t.Fatalf("goals %+v", list.Goals)
			}
			g := list.Goals[0]
			if g.Current["suppressed"] != true || g.Current["reason"] != progress.SuppressReasonTeachers || g.Current["value"] != nil || g.Status != "GOAL_STATUS_NO_DATA" {
				t.Fatalf("goal current %v status %s, want suppressed (too few teachers) for every caller", g.Current, g.Status)
			}
			rows := getCSV("/v1/districts/"+rbDistrict+"/progress:export?view=goals", tok)
			if !slices.ContainsFunc(rows, func(r []string) bool {
				return r[len(r)-4] == "current" && r[len(r)-3] == "" && r[len(r)-1] == "suppressed: too few teachers"
			}) {
				t.Fatalf("goals export %q has no suppressed current value", rows)
			}
		}
	})

	t.Run("no data and no teachers", func(t *testing.T) {
		// Harriet Tubman has no observations: no_data, never a value of 0. A new site with no
		// classrooms is flagged no_teachers.
		r := e.Do(t, "PUT", "/v1/districts/"+rbDistrict+"/sites/"+rbDistrict+".empty-es", daTok,
			`{"site_id":"`+rbDistrict+`.empty-es","name":"Empty Elementary School","grade_band":"K-5"}`)
		wantREST(t, r, 200, codes.OK)
		var dp struct {
			Sites []struct {
				SiteID       string         `json:"site_id"`
				Observations map[string]any `json:"observations"`
				NoTeachers   bool           `json:"no_teachers"`
			}
		}
		getJSON("/v1/districts/"+rbDistrict+"/progress?period.kind=month&period.key=2026-02", daTok, &dp)
		seen := 0
		for _, s := range dp.Sites {
			switch s.SiteID {
			case rbTubman:
				seen++
				if s.Observations["no_data"] != true || s.Observations["value"] != nil || s.NoTeachers {
					t.Fatalf("Tubman %+v, want no data and teachers", s)
				}
			case rbDistrict + ".empty-es":
				seen++
				if s.Observations["no_data"] != true || !s.NoTeachers {
					t.Fatalf("empty site %+v, want no data and no_teachers", s)
				}
			case rbLincoln:
				if s.NoTeachers {
					t.Fatal("Lincoln flagged no_teachers")
				}
			}
		}
		if seen != 2 {
			t.Fatalf("sites %+v", dp.Sites)
		}
		rows := getCSV("/v1/districts/"+rbDistrict+"/progress:export?view=district_progress&period.kind=month&period.key=2026-02", daTok)
		hasRow(rows, rbDistrict, "month", "2026-02", rbTubman, "Harriet Tubman Elementary School", "", "", "observations", "", "0", "no data")
		hasRow(rows, rbDistrict, "month", "2026-02", rbDistrict+".empty-es", "Empty Elementary School", "", "", "no_teachers", "1", "", "")
	})

	t.Run("network", func(t *testing.T) {
		// Mesa Verde opts in with a school year from July and records two lessons in March:
		// below the threshold. Riverbend's count would give Mesa Verde's away from the total,
		// so it is withheld too. Each district's row has its own school year's days; the
		// network's period has none, the districts' differ.
		admTok := e.TokenFor(t, observation.RoleAdmin)
		wantREST(t, e.Do(t, "PATCH", "/v1/districts/"+mvDistrict+"/settings", admTok, `{"school_year_start_month":7,"network_opt_in":true}`), 200, codes.OK)
		mvAdmin := observation.Principal{UserID: mvStaffID(t, e), Role: observation.RoleDistrictAdmin, DistrictID: mvDistrict}
		var mvRooms []observation.Classroom
		for _, c := range e.Roster.Classrooms {
			if c.DistrictID == mvDistrict && len(mvRooms) < 2 {
				mvRooms = append(mvRooms, c)
			}
		}
		mvRecs := lessonRecords(t, e, mvAdmin, 8, []lesson{{mvRooms[0], d(3, 2), 3, 3, false}, {mvRooms[1], d(3, 3), 3, 3, false}})
		mtr, mdev := e.Device(t, mvAdmin)
		pushAll(t, mtr, mdev, testenv.Changes(1, mvRecs...))

		var nm struct {
			Period    map[string]any
			Districts []struct {
				DistrictID   string `json:"district_id"`
				Observations map[string]any
				Period       map[string]any
				Previous     map[string]any
			}
			Total struct{ Observations map[string]any }
		}
		anTok := e.TokenFor(t, observation.RoleNetworkAnalyst)
		getJSON("/v1/network/progress?period.kind=school_year&period.key=2025-26", anTok, &nm)
		if nm.Period["first_day"] != "" || nm.Period["key"] != "2025-26" {
			t.Fatalf("network period %v, want no days of one calendar", nm.Period)
		}
		want := map[string][3]string{ // first day, last day, previous through day
			rbDistrict: {"2025-08-01", "2026-07-31", "2025-03-06"},
			mvDistrict: {"2025-07-01", "2026-06-30", "2025-03-06"},
		}
		for _, dm := range nm.Districts {
			w, ok := want[dm.DistrictID]
			if !ok {
				continue
			}
			delete(want, dm.DistrictID)
			if dm.Period["first_day"] != w[0] || dm.Period["last_day"] != w[1] || dm.Period["through_day"] != "2026-03-06" || dm.Previous["through_day"] != w[2] {
				t.Fatalf("%s period %v previous %v, want %v", dm.DistrictID, dm.Period, dm.Previous, w)
			}
			reason := progress.SuppressReasonComplementary
			if dm.DistrictID == mvDistrict {
				reason = progress.SuppressReasonTeachers // two lessons by one observer in two classrooms
			}
			if dm.Observations["suppressed"] != true || dm.Observations["reason"] != reason || dm.Observations["value"] != nil {
				t.Fatalf("%s observations %v, want suppressed (%s)", dm.DistrictID, dm.Observations, reason)
			}
		}
		if len(want) != 0 {
			t.Fatalf("districts missing: %v", want)
		}
		if v, _ := nm.Total.Observations["value"].(float64); v != float64(len(recs)+2) {
			t.Fatalf("network total %v, want %d", nm.Total.Observations, len(recs)+2)
		}
		rows := getCSV("/v1/network/progress:export?period.kind=school_year&period.key=2025-26", anTok)
		hasRow(rows, "school_year", "2025-26", mvDistrict, "Mesa Verde School District", "", "", "period_first_day", "2025-07-01", "", "")
		hasRow(rows, "school_year", "2025-26", rbDistrict, "Riverbend Unified School District", "", "", "observations", "", "", "suppressed: complementary")
	})
}

// equityRecords returns January 2026 lessons at Roosevelt with participation coding, by hand:
// 12 with ml (10 enrolled) and iep (10) speaking 6 and 4 of 10 coded contributions (ratios 1.2
// and 0.8); 11 with only ml enrolled (20), 5 contributions, all ml (ratio 1); 11 with only iep
// enrolled (10), 3 contributions, all iep (ratio 1); and 2 without coding.
func equityRecords(t *testing.T, e *testenv.Env, da observation.Principal) []observation.Record {
	t.Helper()
	room := siteRooms(t, e, rbRoosevelt, 1)[0]
	var ls []lesson
	for i := range 36 {
		ls = append(ls, lesson{room, time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 10 * time.Minute), 3, 3, false})
	}
	recs := lessonRecords(t, e, da, 9, ls)
	pc := func(group string, n int) observation.ParticipationCount {
		return observation.ParticipationCount{Field: "student_group", Option: group, Count: n}
	}
	for i := range recs {
		r := &recs[i]
		r.Participation, r.Enrolment = nil, nil
		switch {
		case i < 12:
			r.Participation = []observation.ParticipationCount{pc("ml", 6), pc("iep", 4)}
			r.Enrolment = []observation.Enrolment{{Group: "ml", Count: 10}, {Group: "iep", Count: 10}}
		case i < 23:
			r.Participation = []observation.ParticipationCount{pc("ml", 5)}
			r.Enrolment = []observation.Enrolment{{Group: "ml", Count: 20}}
		case i < 34:
			r.Participation = []observation.ParticipationCount{pc("iep", 3)}
			r.Enrolment = []observation.Enrolment{{Group: "iep", Count: 10}}
		}
	}
	return recs
}

// mvStaffID is a Mesa Verde staff member's id.
func mvStaffID(t *testing.T, e *testenv.Env) string {
	t.Helper()
	for _, s := range e.Roster.Staff {
		if s.DistrictID == mvDistrict && s.Role == roster.StaffDistrictAdmin {
			return s.ID
		}
	}
	t.Fatal("no Mesa Verde staff")
	return ""
}

// TestExportsCarryEveryJSONFigure reads every view over REST as JSON and as CSV and fails when
// a figure of the JSON (a number, a yes/no, a status or band, a day) has no CSV measure or
// column of the same name. Names inside a period are prefixed with the period's field
// ("previous_through_day"), inside a change with "change_"; a ProgressCell is one figure named
// by its field; a share may be written as "<name>_percent" and a rate as "<name>:<category>".
func TestExportsCarryEveryJSONFigure(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, func(c *server.Config) { c.ProgressNow = func() time.Time { return numbersNow } })
	da := e.Users[observation.RoleDistrictAdmin]
	lincoln := siteRooms(t, e, rbLincoln, 3)
	d := func(m time.Month, day int) time.Time { return time.Date(2026, m, day, 15, 0, 0, 0, time.UTC) }
	recs := lessonRecords(t, e, da, 11, []lesson{
		{lincoln[0], d(2, 2), 2, 3, true}, {lincoln[1], d(2, 3), 2, 3, true}, {lincoln[2], d(2, 4), 2, 0, true},
		{lincoln[0], d(3, 2), 4, 3, true}, {lincoln[1], d(3, 3), 4, 3, true}, {lincoln[2], d(3, 4), 4, 3, true},
	})
	recs = append(recs, equityRecords(t, e, da)...)
	tr, dev := e.Device(t, da)
	pushAll(t, tr, dev, testenv.Changes(1, recs...))
	pTok := e.TokenFor(t, observation.RolePrincipal)
	daTok := e.Token(t, da)
	wantREST(t, e.Do(t, "POST", "/v1/districts/"+rbDistrict+"/goals", daTok, `{"title":"Substance","dimension":"substance",`+
		`"measure":"GOAL_MEASURE_SHARE_PROFICIENT","target":0.8,"target_date":"2026-06-30","baseline":{"kind":"month","key":"2026-02"}}`), 200, codes.OK)

	q := "period.kind=month&period.key=2026-03"
	views := []struct{ name, json, csv, tok string }{
		{"district_progress", "/v1/districts/" + rbDistrict + "/progress?" + q, "view=district_progress&" + q, daTok},
		{"site_trends", "/v1/districts/" + rbDistrict + "/sites/" + rbLincoln + "/progress:trends?periods=2&" + q, "view=site_trends&site_id=" + rbLincoln + "&periods=2&" + q, pTok},
		{"classrooms", "/v1/districts/" + rbDistrict + "/sites/" + rbLincoln + "/progress:classrooms?" + q, "view=classrooms&site_id=" + rbLincoln + "&" + q, pTok},
		{"coverage", "/v1/districts/" + rbDistrict + "/progress:coverage?" + q, "view=coverage&" + q, pTok},
		{"calibration", "/v1/districts/" + rbDistrict + "/progress:calibration?" + q, "view=calibration&" + q, daTok},
		{"talk_equity", "/v1/districts/" + rbDistrict + "/progress:talk?period.kind=month&period.key=2026-01", "view=talk_equity&period.kind=month&period.key=2026-01", daTok},
		{"goals", "/v1/districts/" + rbDistrict + "/goals", "view=goals", daTok},
		{"network_measures", "/v1/network/progress?" + q, "network", e.TokenFor(t, observation.RoleNetworkAnalyst)},
	}
	for _, v := range views {
		jr := e.Do(t, "GET", v.json, v.tok, "")
		wantREST(t, jr, 200, codes.OK)
		csvPath := "/v1/districts/" + rbDistrict + "/progress:export?" + v.csv
		if v.csv == "network" {
			csvPath = "/v1/network/progress:export?" + q
		}
		cr := e.Do(t, "GET", csvPath, v.tok, "")
		wantREST(t, cr, 200, codes.OK)
		rows := readCSV(t, cr.Body)
		names := map[string]bool{}
		for _, h := range rows[0] {
			names[h] = true
		}
		mi := slices.Index(rows[0], "measure")
		for _, r := range rows[1:] {
			names[r[mi]] = true
		}
		var doc any
		if err := json.Unmarshal([]byte(jr.Body), &doc); err != nil {
			t.Fatal(err)
		}
		figures := map[string]bool{}
		jsonFigures(doc, "", "", figures)
		if len(figures) < 5 {
			t.Fatalf("%s: only %v in %s", v.name, figures, jr.Body)
		}
		for f := range figures {
			if !hasMeasure(names, f) {
				t.Errorf("%s: the JSON figure %q has no CSV measure or column (measures %v)", v.name, f, keys(names))
			}
		}
	}
}

// cellAliases name the cells of talk rates and student groups as the CSV does.
var cellAliases = map[string]string{"rates.rate": "rate_per_10_min", "rates.change": "change_rate_per_10_min",
	"equity.ratio": "equity_ratio", "equity.change": "change_equity_ratio"}

// structural fields: identities, labels and the parts of a cell, not figures.
var notFigures = map[string]bool{"value": true, "n": true, "suppressed": true, "reason": true, "no_data": true,
	"level": true, "since_version": true, "speaker": true}

// jsonFigures collects the figure names of a JSON view (see TestExportsCarryEveryJSONFigure).
func jsonFigures(v any, field, prefix string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["no_data"]; ok { // a ProgressCell
			name := prefix + field
			if a, ok := cellAliases[name]; ok {
				name = a
			}
			out[name] = true
			return
		}
		inner := prefix
		switch field {
		case "period", "previous", "baseline":
			inner = field + "_"
		case "periods":
			inner = "period_"
		case "change":
			inner = "change_"
		case "levels":
			out["level"] = true
			return
		case "rates", "equity":
			inner = field + "."
		case "series", "title", "goal", "suppression", "":
			inner = ""
		default:
			inner = prefix
		}
		for k, c := range x {
			jsonFigures(c, k, inner, out)
		}
	case []any:
		for _, c := range x {
			jsonFigures(c, field, prefix, out)
		}
	case float64, bool:
		if !notFigures[field] {
			out[prefix+field] = true
		}
	case string:
		if strings.HasSuffix(field, "_day") || field == "status" || field == "band" || field == "last_visit" || field == "as_of" ||
			field == "kind" || field == "key" || field == "target_date" {
			out[prefix+field] = true
		}
	}
}

func hasMeasure(names map[string]bool, f string) bool {
	if names[f] || names[f+"_percent"] {
		return true
	}
	for n := range names {
		if strings.HasPrefix(n, f+":") || strings.HasPrefix(n, f+"_") && strings.TrimLeft(strings.TrimPrefix(n, f+"_"), "0123456789") == "" ||
			strings.HasPrefix(n, f+"_percent") {
			return true
		}
	}
	return false
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
