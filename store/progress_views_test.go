package store_test

// Progress views against hand-computed figures: records with chosen scores, tallies and
// participation are pushed through the real sync service into PostgreSQL, and each view's
// numbers are checked against arithmetic done by hand in the comments.

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/store"
	"github.com/lookfor-edu/lookfor/sync"
)

type handWorld struct {
	st       *store.Store
	svc      *sync.Service
	clock    func() time.Time
	rooms    map[string][]observation.Classroom // by site
	coach    observation.Principal
	device   string
	seq      int64
	gen      *synth.Generator
	rubric   observation.RubricVersion
	groups   []observation.StudentGroup
	district string
}

const (
	hwLincoln = riverbend + ".lincoln-es"
	hwCedar   = riverbend + ".cedar-grove-es"
)

func newHandWorld(t *testing.T) *handWorld {
	t.Helper()
	ctx := context.Background()
	st := pgtest.NewStore(t)
	net := demo.Network()
	mustNoErr(t, st.UpsertRoster(ctx, store.Roster(net)))
	now := time.Date(2026, 3, 16, 18, 0, 0, 0, time.UTC)
	w := &handWorld{st: st, clock: func() time.Time { return now }, rooms: map[string][]observation.Classroom{}, seq: 1,
		gen: synth.New(1), rubric: observation.DefaultRubricVersion(now.AddDate(-2, 0, 0)), district: riverbend}
	_, err := st.EnsurePublishedRubric(ctx, w.rubric)
	mustNoErr(t, err)
	for _, c := range net.Classrooms {
		w.rooms[c.SiteID] = append(w.rooms[c.SiteID], c)
	}
	for _, d := range net.Districts {
		if d.ID == riverbend {
			w.groups = d.Settings.StudentGroups
		}
	}
	w.svc = &sync.Service{Store: st, Now: w.clock}
	w.coach = observation.Principal{UserID: riverbend + ".coach-1", Role: observation.RoleCoach, DistrictID: riverbend,
		SiteIDs: []string{hwLincoln, hwCedar, riverbend + ".harriet-tubman-es"}}
	w.device = uuid.Must(uuid.NewV7()).String()
	_, err = w.svc.RegisterDevice(ctx, w.coach, w.device, "test", 1)
	mustNoErr(t, err)
	return w
}

// rec is a submitted record in the i-th classroom of site on day, with the given levels of
// substance and press (0: not observed); the other dimensions score 2.
func (w *handWorld) rec(site string, room int, day time.Time, substance, press int) observation.Record {
	c := w.rooms[site][room]
	r := w.gen.Record(synth.Input{Classroom: c, Observer: w.coach, Rubric: w.rubric, StudentGroups: w.groups, When: day.Add(10 * time.Hour)})
	r.Scores = nil
	for _, d := range w.rubric.Content.Dimensions {
		s := observation.Score{Dimension: d.Key, Level: 2}
		switch d.Key {
		case "substance":
			s.Level = substance
		case "press":
			s.Level = press
		}
		if s.Level == 0 {
			s.Level, s.NotObserved = 0, true
		}
		r.Scores = append(r.Scores, s)
	}
	r.Tallies, r.Participation, r.Enrolment = nil, nil, nil
	return r
}

func (w *handWorld) push(t *testing.T, recs ...observation.Record) {
	t.Helper()
	changes := make([]sync.Change, len(recs))
	for i, r := range recs {
		changes[i] = sync.Change{Seq: w.seq, Op: sync.OpUpsert, Record: r, ObservationID: r.ID}
		w.seq++
	}
	resp, err := w.svc.Push(context.Background(), w.coach, sync.PushRequest{DeviceID: w.device, Changes: changes, SchemaVersion: 1}, 0)
	mustNoErr(t, err)
	for _, res := range resp.Results {
		if res.Status != sync.StatusApplied {
			t.Fatalf("change %d: %s %s %s %s", res.Seq, res.Status, res.Reason, res.Field, res.Message)
		}
	}
}

// compact folds every delta in the log into the aggregate rows.
func (w *handWorld) compact(t *testing.T) {
	t.Helper()
	_, err := w.st.CompactProgress(context.Background(), 1_000_000)
	mustNoErr(t, err)
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func dim(t *testing.T, ds []progress.DimensionSummary, key string, since int) progress.DimensionSummary {
	t.Helper()
	for _, d := range ds {
		if d.Dimension == key && d.Since == since {
			return d
		}
	}
	t.Fatalf("no %s (since v%d) in %+v", key, since, ds)
	return progress.DimensionSummary{}
}

func TestDistrictProgressHandComputed(t *testing.T) {
	w := newHandWorld(t)
	ctx := context.Background()
	jan, feb := day(2026, 1, 12), day(2026, 2, 9)
	w.push(t,
		// January at Lincoln: three teachers, substance 2, 2, 2.
		w.rec(hwLincoln, 0, jan, 2, 2), w.rec(hwLincoln, 1, jan, 2, 2), w.rec(hwLincoln, 2, jan, 2, 2),
		// February at Lincoln: teachers 0, 1, 2, 0 — substance 2, 3, 4, 3; press 3, NO, 1, 4.
		w.rec(hwLincoln, 0, feb, 2, 3), w.rec(hwLincoln, 1, feb, 3, 0), w.rec(hwLincoln, 2, feb, 4, 1), w.rec(hwLincoln, 0, feb, 3, 4),
		// February at Cedar Grove: one teacher, substance 1 and 2.
		w.rec(hwCedar, 0, feb, 1, 2), w.rec(hwCedar, 0, feb, 2, 2),
	)
	admin := observation.Principal{UserID: riverbend + ".district-admin", Role: observation.RoleDistrictAdmin, DistrictID: riverbend}
	pr := &progress.Service{Store: w.st, Now: w.clock}
	v, err := pr.DistrictProgress(ctx, admin, progress.ViewQuery{DistrictID: riverbend, PeriodKind: "month", PeriodKey: "2026-02"})
	mustNoErr(t, err)
	if v.Period.Key != "2026-02" || v.Previous.Key != "2026-01" || len(v.Sites) != 4 {
		t.Fatalf("periods %v %v, %d sites", v.Period, v.Previous, len(v.Sites))
	}
	// Total substance: 2+3+4+3+1+2 = 15 over 6 → 2.5; proficient (≥3): 3 of 6 → 0.5; four
	// distinct teachers. January: 2 over 3 teachers → change +0.5 and +0.5.
	tot := dim(t, v.Total.Dimensions, "substance", 1)
	if tot.N != 6 || !near(tot.Mean.Value, 2.5) || !near(tot.ShareProficient.Value, 0.5) || tot.Teachers != 4 ||
		tot.Change.Status != progress.ChangeCompared || !near(tot.Change.Mean, 0.5) || !near(tot.Change.ShareProficient, 0.5) {
		t.Fatalf("total substance %+v", tot)
	}
	if got := tot.Levels; got[0].N != 1 || got[1].N != 2 || got[2].N != 2 || got[3].N != 1 {
		t.Fatalf("total substance levels %+v, want 1, 2, 2, 1", got)
	}
	// Cedar Grove has one teacher: withheld. Lincoln alone could then be derived from the total
	// (the other sites have no scores), so it is withheld too, as complementary.
	var lincoln, cedar progress.SiteRow
	for _, s := range v.Sites {
		switch s.SiteID {
		case hwLincoln:
			lincoln = s
		case hwCedar:
			cedar = s
		}
	}
	cs := dim(t, cedar.Dimensions, "substance", 1)
	if !cs.Mean.Suppressed || cs.Mean.Reason != progress.SuppressReasonTeachers || cs.Mean.Value != 0 || cs.N != 0 {
		t.Fatalf("cedar grove substance %+v, want suppressed for too few teachers", cs)
	}
	ls := dim(t, lincoln.Dimensions, "substance", 1)
	if !ls.Mean.Suppressed || ls.Mean.Reason != progress.SuppressReasonComplementary {
		t.Fatalf("lincoln substance %+v, want complementary suppression", ls)
	}
	if !cedar.Observations.Suppressed || !lincoln.Observations.Suppressed || v.Total.Observations.Value != 6 {
		t.Fatalf("observation counts: lincoln %+v cedar %+v total %+v", lincoln.Observations, cedar.Observations, v.Total.Observations)
	}

	// The principal of Lincoln sees Lincoln only; its February figures stand on their own.
	// Substance: 2+3+4+3 = 12 over 4 → 3.0, proficient 3 of 4 → 0.75; January 2.0 → +1.0.
	// Press: 3, 1, 4 scored (one "not observed") → 8/3, proficient 2 of 3; but only two distinct
	// teachers scored press (teacher 1's lesson was "not observed"), so the cell is withheld.
	principal := observation.Principal{UserID: riverbend + ".principal-lincoln-es", Role: observation.RolePrincipal, DistrictID: riverbend,
		SiteIDs: []string{hwLincoln}}
	pv, err := pr.DistrictProgress(ctx, principal, progress.ViewQuery{DistrictID: riverbend, PeriodKind: "month", PeriodKey: "2026-02"})
	mustNoErr(t, err)
	if len(pv.Sites) != 1 || pv.Sites[0].SiteID != hwLincoln {
		t.Fatalf("principal sees %+v", pv.Sites)
	}
	sub := dim(t, pv.Total.Dimensions, "substance", 1)
	if sub.N != 4 || !near(sub.Mean.Value, 3) || !near(sub.ShareProficient.Value, 0.75) || !near(sub.Change.Mean, 1) || !near(sub.Change.ShareProficient, 0.75) {
		t.Fatalf("lincoln substance %+v", sub)
	}
	press := dim(t, pv.Total.Dimensions, "press", 1)
	if !press.Mean.Suppressed || press.Mean.Reason != progress.SuppressReasonTeachers {
		t.Fatalf("lincoln press %+v, want withheld: two teachers", press)
	}
	// The classroom view is teacher level: the principal sees it unsuppressed. Classroom 0 had
	// press 3 and 4 → 3.5; classroom 1's press was not observed.
	cv, err := pr.Classrooms(ctx, principal, progress.ViewQuery{DistrictID: riverbend, SiteID: hwLincoln, PeriodKind: "month", PeriodKey: "2026-02"})
	mustNoErr(t, err)
	room0 := w.rooms[hwLincoln][0].ID
	for _, r := range cv.Classrooms {
		p := dim(t, r.Dimensions, "press", 1)
		switch r.ClassroomID {
		case room0:
			if r.Observations != 2 || !near(p.Mean.Value, 3.5) || p.Mean.Suppressed {
				t.Fatalf("classroom 0: %d observations, press %+v", r.Observations, p)
			}
		case w.rooms[hwLincoln][1].ID:
			if p.NotObserved != 1 || !p.Mean.NoData || p.Mean.Suppressed {
				t.Fatalf("classroom 1 press %+v, want no data (not observed)", p)
			}
		}
	}
	if _, err := pr.Classrooms(ctx, admin, progress.ViewQuery{DistrictID: riverbend, SiteID: hwLincoln}); observation.KindOf(err) != observation.KindPermissionDenied {
		t.Fatalf("district admin reading the classroom view: %v, want permission denied", err)
	}

	// Coverage in February: Lincoln has 3 of its classrooms observed; Cedar Grove 1.
	cov, err := pr.Coverage(ctx, principal, progress.ViewQuery{DistrictID: riverbend, PeriodKind: "month", PeriodKey: "2026-02"})
	mustNoErr(t, err)
	n := len(w.rooms[hwLincoln])
	if cov.Sites[0].Observed != 3 || cov.Sites[0].Classrooms != n || !near(cov.Sites[0].Coverage.Value, 3/float64(n)) ||
		!near(cov.Sites[0].PerClassroom.Value, 4/float64(n)) {
		t.Fatalf("lincoln coverage %+v (%d classrooms)", cov.Sites[0], n)
	}
	// January had the same three classrooms observed (coverage change 0) and three observations
	// (per classroom 4/n − 3/n).
	if c := cov.Sites[0].CoverageChange; c.NoData || c.Value != 0 || !near(cov.Sites[0].PerClassroomChange.Value, 1/float64(n)) {
		t.Fatalf("lincoln coverage change %+v, per classroom %+v", c, cov.Sites[0].PerClassroomChange)
	}
	if cov.Previous.Key != "2026-01" {
		t.Fatalf("coverage compares with %v", cov.Previous)
	}
	// As of the period's last day (28 Feb), classroom 0 was last visited on 9 Feb: 19 days.
	for _, c := range cov.Classrooms {
		if c.ClassroomID == room0 && (c.DaysSince != 19 || !c.LastVisit.Equal(feb)) {
			t.Fatalf("classroom 0 last visit %v, %d days", c.LastVisit, c.DaysSince)
		}
	}
}

func TestTrendShowsRubricBreak(t *testing.T) {
	w := newHandWorld(t)
	ctx := context.Background()
	admin := observation.Principal{UserID: "admin-1", Role: observation.RoleAdmin}
	rubrics := &observation.Rubrics{Store: w.st, Now: w.clock}
	c2 := w.rubric.Content
	c2.Dimensions = slices.Clone(c2.Dimensions)
	c2.Dimensions[0].NotComparable = true // substance changes meaning in version 2
	_, err := rubrics.CreateDraft(ctx, admin, w.rubric.RubricID, &c2)
	mustNoErr(t, err)
	v2, err := rubrics.Publish(ctx, admin, w.rubric.RubricID, 2)
	mustNoErr(t, err)
	feb, mar := day(2026, 2, 9), day(2026, 3, 9)
	w.push(t, w.rec(hwLincoln, 0, feb, 2, 2), w.rec(hwLincoln, 1, feb, 3, 3), w.rec(hwLincoln, 2, feb, 2, 1))
	w.rubric = v2
	w.push(t, w.rec(hwLincoln, 0, mar, 4, 3), w.rec(hwLincoln, 1, mar, 4, 3), w.rec(hwLincoln, 2, mar, 3, 3))
	principal := observation.Principal{UserID: riverbend + ".principal-lincoln-es", Role: observation.RolePrincipal, DistrictID: riverbend,
		SiteIDs: []string{hwLincoln}}
	pr := &progress.Service{Store: w.st, Now: w.clock}
	tr, err := pr.SiteTrends(ctx, principal, progress.ViewQuery{DistrictID: riverbend, SiteID: hwLincoln, PeriodKind: "month", PeriodKey: "2026-03", Periods: 2})
	mustNoErr(t, err)
	if len(tr.Periods) != 2 || tr.Periods[0].Key != "2026-02" || tr.Periods[1].Key != "2026-03" {
		t.Fatalf("periods %+v", tr.Periods)
	}
	var old, cur, press *progress.DimensionTrend
	for i := range tr.Dimensions {
		d := &tr.Dimensions[i]
		switch {
		case d.Dimension == "substance" && d.Since == 1:
			old = d
		case d.Dimension == "substance" && d.Since == 2:
			cur = d
		case d.Dimension == "press":
			press = d
		}
	}
	if old == nil || cur == nil || press == nil {
		t.Fatalf("dimensions %+v", tr.Dimensions)
	}
	// Substance v1: February 7/3; March has none. Substance v2: March 11/3, and its change from
	// February is a break, not +4/3.
	if !near(old.Points[0].Mean.Value, 7.0/3) || !old.Points[1].Mean.NoData {
		t.Fatalf("substance v1 %+v", old.Points)
	}
	if !near(cur.Points[1].Mean.Value, 11.0/3) || cur.Points[1].Change.Status != progress.ChangeBreak {
		t.Fatalf("substance v2 %+v, want a series break", cur.Points[1])
	}
	// Press continues across versions: February 6/3 = 2, March 3 → +1.
	if press.Since != 1 || !near(press.Points[1].Mean.Value, 3) || press.Points[1].Change.Status != progress.ChangeCompared ||
		!near(press.Points[1].Change.Mean, 1) {
		t.Fatalf("press %+v", press.Points)
	}
}

func TestTalkAndEquityHandComputed(t *testing.T) {
	w := newHandWorld(t)
	ctx := context.Background()
	feb := day(2026, 2, 9)
	var recs []observation.Record
	// Twelve lessons at Lincoln across three teachers, 20 discussion minutes each, with the same
	// tallies and participation: teacher moves keeping_together 5, press_accuracy 2,
	// press_reasoning 3 (10, of which 5 press); student moves making_claim 6, providing_evidence 4
	// (10, of which 4 reasoning). Groups ml: 6 contributions of 10, 10 students of 30 → (6/10)÷
	// (10/30) = 1.8; iep: 4 of 10, 20 of 30 → 0.6. One more lesson adds group_a with 2 students:
	// its one observation is below the threshold of 11.
	for i := range 12 {
		r := w.rec(hwLincoln, i%3, feb, 3, 3)
		r.DiscussionMin = 20
		r.Tallies = []observation.Tally{{Category: "keeping_together", Count: 5}, {Category: "press_accuracy", Count: 2},
			{Category: "press_reasoning", Count: 3}, {Category: "making_claim", Count: 6}, {Category: "providing_evidence", Count: 4}}
		r.Participation = []observation.ParticipationCount{{Field: "student_group", Option: "ml", Count: 6}, {Field: "student_group", Option: "iep", Count: 4}}
		r.Enrolment = []observation.Enrolment{{Group: "ml", Count: 10}, {Group: "iep", Count: 20}}
		recs = append(recs, r)
	}
	r := w.rec(hwLincoln, 0, feb, 3, 3)
	r.DiscussionMin = 0 // untimed: out of the rates, in the shares
	r.Tallies = []observation.Tally{{Category: "press_reasoning", Count: 4}, {Category: "restating", Count: 6}}
	r.Participation = []observation.ParticipationCount{{Field: "student_group", Option: "ml", Count: 5}, {Field: "student_group", Option: "group_a", Count: 5}}
	r.Enrolment = []observation.Enrolment{{Group: "ml", Count: 10}, {Group: "group_a", Count: 2}}
	recs = append(recs, r)
	// January: three lessons by three teachers, each keeping_together 1 and press_accuracy 1,
	// 10 minutes: press share 3/6 = 0.5, press_accuracy 3×10/30 = 1 per 10 minutes.
	for i := range 3 {
		r := w.rec(hwLincoln, i, day(2026, 1, 12), 3, 3)
		r.DiscussionMin = 10
		r.Tallies = []observation.Tally{{Category: "keeping_together", Count: 1}, {Category: "press_accuracy", Count: 1}}
		recs = append(recs, r)
	}
	w.push(t, recs...)
	principal := observation.Principal{UserID: riverbend + ".principal-lincoln-es", Role: observation.RolePrincipal, DistrictID: riverbend,
		SiteIDs: []string{hwLincoln}}
	pr := &progress.Service{Store: w.st, Now: w.clock}
	v, err := pr.TalkEquity(ctx, principal, progress.ViewQuery{DistrictID: riverbend, PeriodKind: "month", PeriodKey: "2026-02"})
	mustNoErr(t, err)
	tot := v.Total
	// Rates: press_reasoning 12×3 = 36 over 240 timed minutes → 1.5 per 10 minutes.
	// Press share: (12×5 + 4) ÷ (12×10 + 10) = 64/130. Reasoning share: 48/120 = 0.4.
	var rate float64
	for _, r := range tot.Rates {
		if r.Category == "press_reasoning" {
			rate = r.Rate.Value
		}
	}
	if tot.Observations != 13 || tot.TimedObservations != 12 || tot.Minutes != 240 || !near(rate, 1.5) ||
		!near(tot.PressShare.Value, 64.0/130) || !near(tot.ReasoningShare.Value, 0.4) {
		t.Fatalf("talk %+v", tot)
	}
	// Changes from January: press share 64/130 − 0.5; press_accuracy 12×2×10/240 = 1 − 1 = 0;
	// no student moves in January, so no reasoning-share change.
	if c := tot.PressShareChange; c.NoData || !near(c.Value, 64.0/130-0.5) || !tot.ReasoningShareChange.NoData {
		t.Fatalf("talk changes %+v %+v", c, tot.ReasoningShareChange)
	}
	for _, r := range tot.Rates {
		if r.Category == "press_accuracy" && (r.Change.NoData || !near(r.Change.Value, 0)) {
			t.Fatalf("press_accuracy change %+v", r.Change)
		}
	}
	// Equity: ml over 13 observations: twelve at 1.8 and one at (5/10)÷(10/12) = 0.6 →
	// (12×1.8 + 0.6)/13; iep 0.6 over 12; group_a (5/10)÷(2/12) = 3.0 over one observation:
	// suppressed below 11, and then iep (the smallest of the rest) as complementary.
	groups := map[string]progress.EquityGroup{}
	for _, g := range v.Equity {
		groups[g.Group] = g
	}
	if g := groups["ml"]; g.Ratio.Suppressed || g.Ratio.N != 13 || math.Abs(g.Ratio.Value-(12*1.8+0.6)/13) > 1e-9 {
		t.Fatalf("ml %+v", g)
	}
	if g := groups["group_a"]; !g.Ratio.Suppressed || g.Ratio.Reason != progress.SuppressReasonThreshold || g.Ratio.Value != 0 {
		t.Fatalf("group_a %+v, want suppressed below the threshold", g)
	}
	if g := groups["iep"]; !g.Ratio.Suppressed || g.Ratio.Reason != progress.SuppressReasonComplementary {
		t.Fatalf("iep %+v, want complementary suppression", g)
	}
	if g := groups["group_b"]; !g.Ratio.NoData || g.Ratio.Suppressed {
		t.Fatalf("group_b %+v, want no data", g)
	}
}
