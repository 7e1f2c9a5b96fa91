package store_test

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
)

// TestProgressReads covers the read side of the views: cells and pairs by district, rubric,
// period and site; last visits; districts, sites and classrooms; rubric series; goals.
func TestProgressReads(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	rows := e.calibrationRows(t, 4, 200)
	if _, err := e.st.CopyObservations(ctx, rows); err != nil {
		t.Fatal(err)
	}
	all := assertProgress(t, e.st, "loaded")
	rubric := e.rubric.RubricID

	// Cells of one month, every site, then two sites; the site rows of the month.
	month := "2025-10"
	for _, bySite := range []bool{false, true} {
		want := map[progress.CellKey]progress.Metrics{}
		for k, m := range all.Cells {
			if k.Kind == progress.PeriodMonth && k.PeriodKey == month && k.SiteRow() == bySite {
				want[k] = m
			}
		}
		cells, err := e.st.ProgressCells(ctx, progress.CellQuery{DistrictIDs: []string{riverbend, mesaVerde}, RubricID: rubric,
			Kind: progress.PeriodMonth, Keys: []string{month}, BySite: bySite})
		mustNoErr(t, err)
		if len(cells) != len(want) || len(want) == 0 {
			t.Fatalf("month rows (by site: %v): %d, want %d", bySite, len(cells), len(want))
		}
		for _, c := range cells {
			if !c.M.Equal(want[c.CellKey]) {
				t.Errorf("row %+v: %v, want %v", c.CellKey, c.M, want[c.CellKey])
			}
		}
	}
	sites := []string{tubman, riverbend + ".lincoln-es"}
	cells, err := e.st.ProgressCells(ctx, progress.CellQuery{DistrictIDs: []string{riverbend}, RubricID: rubric,
		Kind: progress.PeriodMonth, Keys: []string{month, "2025-11"}, Sites: sites})
	mustNoErr(t, err)
	n := 0
	for k := range all.Cells {
		if k.Kind == progress.PeriodMonth && (k.PeriodKey == month || k.PeriodKey == "2025-11") && slices.Contains(sites, k.SiteID) && !k.SiteRow() {
			n++
		}
	}
	if len(cells) != n || n == 0 {
		t.Errorf("cells of two sites and months: %d, want %d", len(cells), n)
	}
	for _, q := range []progress.CellQuery{
		{DistrictIDs: []string{riverbend}, RubricID: "other", Kind: progress.PeriodMonth, Keys: []string{month}},
		{DistrictIDs: []string{riverbend}, RubricID: rubric, Kind: progress.PeriodMonth, Keys: []string{month}, Sites: []string{}},
		{DistrictIDs: []string{mesaVerde}, RubricID: rubric, Kind: progress.PeriodMonth, Keys: []string{month}},
	} {
		if cells, err := e.st.ProgressCells(ctx, q); err != nil || len(cells) != 0 {
			t.Errorf("cells of %+v: %d, %v; want none", q, len(cells), err)
		}
	}

	// Pairs of the school year.
	pairs, err := e.st.ProgressPairs(ctx, progress.CellQuery{DistrictIDs: []string{riverbend}, RubricID: rubric,
		Kind: progress.PeriodSchoolYear, Keys: []string{"2025-26"}})
	mustNoErr(t, err)
	lessons := 0
	for _, p := range pairs {
		if !p.M.Equal(all.Pairs[p.PairKey]) {
			t.Errorf("pair %+v: %v, want %v", p.PairKey, p.M, all.Pairs[p.PairKey])
		}
		lessons += p.M.Observations()
	}
	if lessons == 0 || lessons != pairLessons(all, progress.PeriodSchoolYear) {
		t.Errorf("school-year pairs count %d lessons, want %d", lessons, pairLessons(all, progress.PeriodSchoolYear))
	}

	// Last visits: the latest day before the instant, from the day rows of the rubric.
	var room string
	var days []time.Time
	for k, m := range all.Cells {
		if k.Kind == progress.PeriodDaily && !k.SiteRow() && k.RubricID == rubric && m.Observations() > 0 && (room == "" || k.ClassroomID == room) {
			room = k.ClassroomID
			day, err := time.Parse(time.DateOnly, k.PeriodKey)
			mustNoErr(t, err)
			if !slices.ContainsFunc(days, day.Equal) {
				days = append(days, day)
			}
		}
	}
	slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
	last, err := e.st.LastVisits(ctx, riverbend, rubric, []string{room, "no-such-room"}, days[len(days)-1].Add(time.Hour))
	mustNoErr(t, err)
	if len(last) != 1 || !last[room].Equal(days[len(days)-1]) || last[room].Location() != time.UTC {
		t.Errorf("last visits = %v, want %s: %v", last, room, days[len(days)-1])
	}
	last, err = e.st.LastVisits(ctx, riverbend, rubric, []string{room}, days[len(days)-1])
	mustNoErr(t, err)
	if len(days) > 1 && !last[room].Equal(days[len(days)-2]) {
		t.Errorf("last visits before %s = %v, want %v", days[len(days)-1], last, days[len(days)-2])
	}
	last, err = e.st.LastVisits(ctx, riverbend, rubric, []string{room}, days[0])
	mustNoErr(t, err)
	if len(last) != 0 {
		t.Errorf("last visits before the first = %v, want none", last)
	}
	// Visits on another rubric do not count, as in coverage.
	last, err = e.st.LastVisits(ctx, riverbend, "another-rubric", []string{room}, days[len(days)-1].AddDate(1, 0, 0))
	mustNoErr(t, err)
	if len(last) != 0 {
		t.Errorf("last visits on another rubric = %v, want none", last)
	}

	// Districts, sites, classrooms.
	d, err := e.st.ProgressDistrict(ctx, riverbend)
	mustNoErr(t, err)
	if d.ID != riverbend || d.Settings.SchoolYearStartMonth != 8 {
		t.Errorf("district = %+v", d)
	}
	if _, err := e.st.ProgressDistrict(ctx, "nowhere"); observation.KindOf(err) != observation.KindNotFound {
		t.Errorf("unknown district: %v", err)
	}
	opted, err := e.st.OptedInDistricts(ctx)
	mustNoErr(t, err)
	var ids []string
	for _, d := range opted {
		ids = append(ids, d.ID)
	}
	var wantIDs []string
	for _, d := range e.net.Districts {
		if d.Settings.NetworkOptIn {
			wantIDs = append(wantIDs, d.ID)
		}
	}
	slices.Sort(wantIDs)
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("opted-in districts %v, want %v", ids, wantIDs)
	}
	ss, err := e.st.ProgressSites(ctx, riverbend)
	mustNoErr(t, err)
	if len(ss) != 4 || !slices.IsSortedFunc(ss, func(a, b observation.Site) int { return cmp.Compare(a.ID, b.ID) }) {
		t.Errorf("sites = %v", ss)
	}
	rs, err := e.st.ProgressClassrooms(ctx, riverbend, nil)
	mustNoErr(t, err)
	one, err := e.st.ProgressClassrooms(ctx, riverbend, []string{tubman})
	mustNoErr(t, err)
	if len(rs) != 50 || len(one) != len(e.classrooms(tubman)) || one[0].TeacherID == "" || one[0].DistrictID != riverbend {
		t.Errorf("classrooms: %d in the district, %d at %s (%+v)", len(rs), len(one), tubman, one[0])
	}
	if !slices.IsSortedFunc(rs, func(a, b observation.Classroom) int {
		return cmp.Or(cmp.Compare(a.SiteID, b.SiteID), cmp.Compare(a.ID, b.ID))
	}) {
		t.Error("classrooms are not by site, then id")
	}

	// Rubric series: published and retired versions, ascending.
	vs, err := e.st.RubricSeriesVersions(ctx, rubric)
	mustNoErr(t, err)
	if len(vs) != 1 || vs[0].Version != e.rubric.Version || len(vs[0].Content.Dimensions) == 0 {
		t.Errorf("series = %+v", vs)
	}
	if _, err := e.st.RubricSeriesVersions(ctx, "no-such-rubric"); observation.KindOf(err) != observation.KindNotFound {
		t.Errorf("unknown rubric series: %v", err)
	}
}

func TestProgressGoals(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	ctx := context.Background()
	admin := e.admins[riverbend]
	g := progress.Goal{DistrictID: riverbend, ID: uuid.Must(uuid.NewV7()).String(), Title: "Press for reasoning",
		RubricID: e.rubric.RubricID, Dimension: "press", Measure: progress.GoalShareProficient, Target: 0.6,
		TargetDate: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), CreatedBy: admin.UserID, CreatedAt: now(), UpdatedAt: now()}
	audit := observation.Audit(admin, riverbend, "goal.create", "goal", g.ID, now())
	saved, err := e.st.SaveGoal(ctx, g, false, audit)
	mustNoErr(t, err)
	if saved.ID != g.ID || !saved.TargetDate.Equal(g.TargetDate) || saved.Measure != g.Measure || saved.Target != 0.6 {
		t.Errorf("saved %+v", saved)
	}
	if _, err := e.st.SaveGoal(ctx, g, false, audit); observation.KindOf(err) != observation.KindAlreadyExists {
		t.Errorf("creating twice: %v", err)
	}
	g2 := g
	g2.ID, g2.SiteID, g2.Dimension, g2.Measure, g2.Target = uuid.Must(uuid.NewV7()).String(), tubman, "uptake", progress.GoalMeanLevel, 2.5
	g2.BaselineKind, g2.BaselineKey, g2.PeriodKind = progress.PeriodWindow, "2025-26/baseline", progress.PeriodTerm
	g2.CreatedAt = g.CreatedAt.Add(time.Second)
	_, err = e.st.SaveGoal(ctx, g2, false, observation.Audit(admin, riverbend, "goal.create", "goal", g2.ID, now()))
	mustNoErr(t, err)

	upd := g
	upd.Target, upd.Title, upd.CreatedBy, upd.UpdatedAt = 0.7, "Press harder", "someone-else", now().Add(time.Minute)
	saved, err = e.st.SaveGoal(ctx, upd, true, observation.Audit(admin, riverbend, "goal.update", "goal", g.ID, now()))
	mustNoErr(t, err)
	if saved.Target != 0.7 || saved.Title != "Press harder" || saved.CreatedBy != admin.UserID || !saved.CreatedAt.Equal(g.CreatedAt) ||
		!saved.UpdatedAt.Equal(upd.UpdatedAt) {
		t.Errorf("updated %+v", saved)
	}
	missing := g
	missing.ID = uuid.Must(uuid.NewV7()).String()
	if _, err := e.st.SaveGoal(ctx, missing, true, audit); observation.KindOf(err) != observation.KindNotFound {
		t.Errorf("updating a missing goal: %v", err)
	}
	other := g
	other.DistrictID = mesaVerde
	if _, err := e.st.SaveGoal(ctx, other, true, audit); observation.KindOf(err) != observation.KindNotFound {
		t.Errorf("updating another district's goal: %v", err)
	}

	goals, err := e.st.Goals(ctx, riverbend)
	mustNoErr(t, err)
	if len(goals) != 2 || goals[0].ID != g.ID || goals[1].ID != g2.ID || goals[1].SiteID != tubman ||
		goals[1].BaselineKind != progress.PeriodWindow || goals[1].BaselineKey != "2025-26/baseline" || goals[1].PeriodKind != progress.PeriodTerm {
		t.Errorf("goals = %+v", goals)
	}
	one, err := e.st.Goal(ctx, riverbend, g2.ID)
	mustNoErr(t, err)
	if one.ID != g2.ID || one.Measure != progress.GoalMeanLevel || one.Target != 2.5 {
		t.Errorf("goal = %+v", one)
	}
	for _, id := range []string{g2.ID, "not-a-uuid"} {
		if _, err := e.st.Goal(ctx, mesaVerde, id); observation.KindOf(err) != observation.KindNotFound {
			t.Errorf("goal %s of another district: %v", id, err)
		}
	}
	if none, err := e.st.Goals(ctx, mesaVerde); err != nil || len(none) != 0 {
		t.Errorf("goals of another district: %v, %v", none, err)
	}
	entries, err := e.st.ListAudit(ctx, observation.AuditQuery{DistrictID: riverbend, ResourceType: "goal", Limit: 10})
	mustNoErr(t, err)
	if len(entries) != 3 {
		t.Errorf("%d goal audit entries, want 3 (two creations, one update)", len(entries))
	}
}
