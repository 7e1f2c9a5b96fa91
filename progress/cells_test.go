package progress_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/internal/progressref"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
)

// progressWorld is a small district for aggregate tests: two sites, six classrooms, three
// observers, the default rubric as version 1 and a version 2 whose "substance" dimension is not
// comparable with version 1.
type progressWorld struct {
	settings observation.DistrictSettings
	rooms    []observation.Classroom
	coaches  []observation.Principal
	versions []observation.RubricVersion
	groups   []observation.StudentGroup
}

func newProgressWorld() progressWorld {
	w := progressWorld{settings: observation.DefaultDistrictSettings()}
	w.settings.Windows = []observation.NamedWindow{
		{Key: "baseline", Title: "Baseline", StartMonth: 9, StartDay: 1, EndMonth: 10, EndDay: 15},
		{Key: "mid_year", Title: "Mid-year", StartMonth: 1, StartDay: 5, EndMonth: 2, EndDay: 28},
	}
	w.groups = []observation.StudentGroup{{Key: "group_a", Label: "A"}, {Key: "group_b", Label: "B"}, {Key: "group_c", Label: "C"}}
	w.settings.StudentGroups = w.groups
	for i := range 6 {
		site := fmt.Sprintf("d1.site-%d", i%2)
		w.rooms = append(w.rooms, observation.Classroom{DistrictID: "d1", ID: fmt.Sprintf("d1.room-%d", i), SiteID: site,
			Course: "Math", Grade: "4", Section: fmt.Sprint(i), TeacherID: fmt.Sprintf("d1.teacher-%d", i)})
	}
	for i := range 3 {
		w.coaches = append(w.coaches, observation.Principal{UserID: fmt.Sprintf("d1.coach-%d", i), Role: observation.RoleCoach,
			DistrictID: "d1", SiteIDs: []string{"d1.site-0", "d1.site-1"}})
	}
	v1 := observation.DefaultRubricVersion(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	v2 := v1
	v2.Version = 2
	v2.Content.Dimensions = append([]observation.Dimension(nil), v1.Content.Dimensions...)
	v2.Content.Dimensions[0].NotComparable = true
	w.versions = []observation.RubricVersion{v1, v2}
	return w
}

func (w progressWorld) inputs() progress.Inputs {
	return progress.Inputs{
		Settings: func(string) observation.DistrictSettings { return w.settings },
		Content: func(id string, v int) (observation.RubricContent, bool) {
			for _, rv := range w.versions {
				if rv.RubricID == id && rv.Version == v {
					return rv.Content, true
				}
			}
			return observation.RubricContent{}, false
		},
	}
}

// record generates a submitted record; calibration records of the same (room, when) share a
// co-observation key.
func (w progressWorld) record(g *synth.Generator, rng *rand.Rand, when time.Time, calibration bool) observation.Record {
	in := synth.Input{Classroom: w.rooms[rng.IntN(len(w.rooms))], Observer: w.coaches[rng.IntN(len(w.coaches))],
		Rubric: w.versions[rng.IntN(len(w.versions))], StudentGroups: w.groups, When: when, Leniency: rng.Float64() - 0.5}
	if calibration {
		in.Kind = observation.KindCalibration
	}
	return g.Record(in)
}

// countingMembers returns, per co-observation group with a counted member, the id of the member
// that counts (the first submitted), and the month keys its counted members span.
func countingMembers(state map[string]observation.StoredObservation) (map[string]string, map[string]map[string]bool) {
	first, months := map[string]string{}, map[string]map[string]bool{}
	for _, o := range state {
		if o.CoObservation == "" || o.Status != observation.RecordSubmitted || o.Deleted {
			continue
		}
		if months[o.CoObservation] == nil {
			months[o.CoObservation] = map[string]bool{}
		}
		months[o.CoObservation][o.StartedAt.UTC().Format("2006-01")] = true
		cur, ok := first[o.CoObservation]
		if !ok || o.SubmittedAt.Before(state[cur].SubmittedAt) || (o.SubmittedAt.Equal(state[cur].SubmittedAt) && o.ID < cur) {
			first[o.CoObservation] = o.ID
		}
	}
	return first, months
}

// TestProgressDeltaRandomHistories applies random histories of writes — submits, drafts,
// amendments that move a record to another day, classroom, site, rubric version or
// co-observation group, deletions, replacements as a conflict resolution makes them,
// co-observations (partners on the same lesson, on another day or period, submitted before or
// after the others), late arrivals into past periods — one batch at a time as ChangeDelta, and
// checks after every batch that the running aggregate equals both Recompute and an independent
// recomputation of the contract (progressref.Aggregates). It counts the co-observation events the
// histories went through and fails when one never happened.
func TestProgressDeltaRandomHistories(t *testing.T) {
	w := newProgressWorld()
	events := map[string]int{}
	for seed := range int64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			g := synth.New(seed)
			state := map[string]observation.StoredObservation{}
			var ids []string
			running := progress.NewDelta()
			base := time.Date(2025, 9, 1, 15, 0, 0, 0, time.UTC)
			commit := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC) // the server clock
			firstBefore, _ := countingMembers(state)
			for step := range 60 {
				commit = commit.Add(time.Duration(1+rng.IntN(90)) * time.Second)
				var changes []progress.RecordChange
				touched := map[string]bool{}
				for range 1 + rng.IntN(4) {
					var id string
					var after *observation.StoredObservation
					switch op := rng.IntN(12); {
					case op < 4 || len(ids) == 0: // a new record, sometimes co-observing an existing lesson
						when := base.Add(time.Duration(rng.IntN(300*24)) * time.Hour)
						r := w.record(g, rng, when, rng.IntN(3) == 0)
						if r.Kind == observation.KindCalibration && len(ids) > 0 && rng.IntN(3) > 0 {
							other := state[ids[rng.IntN(len(ids))]]
							if other.CoObservation != "" {
								r.CoObservation, r.StartedAt, r.ClassroomID, r.SiteID, r.TeacherID =
									other.CoObservation, other.StartedAt.Add(time.Minute), other.ClassroomID, other.SiteID, other.TeacherID
								if rng.IntN(4) == 0 { // the same key on another day, maybe in another period: no pair
									r.StartedAt = r.StartedAt.Add(time.Duration(1+rng.IntN(60)) * 24 * time.Hour)
								}
							}
						}
						if rng.IntN(5) == 0 {
							r.Status = observation.RecordDraft
						}
						id = r.ID
						after = &observation.StoredObservation{Record: r, Revision: 1}
					case op < 6: // something happens to the counting member of a group
						first, _ := countingMembers(state)
						if len(first) == 0 {
							continue
						}
						keys := make([]string, 0, len(first))
						for k := range first {
							keys = append(keys, k)
						}
						slices.Sort(keys)
						id = first[keys[rng.IntN(len(keys))]]
						next := state[id]
						next.Revision++
						switch rng.IntN(4) {
						case 0:
							next.Deleted = true
						case 1: // amended into another period
							next.StartedAt = next.StartedAt.Add(time.Duration(rng.IntN(80)-40) * 24 * time.Hour)
						case 2: // amended out of the group
							next.CoObservation = fmt.Sprint("moved-", step)
						default: // a conflict resolved with another device's version of the lesson
							r := w.record(g, rng, next.StartedAt, true)
							r.ID, r.DistrictID, r.ObserverID, r.CoObservation = next.ID, next.DistrictID, next.ObserverID, next.CoObservation
							next.Record = r
						}
						after = &next
					default:
						id = ids[rng.IntN(len(ids))]
						cur := state[id]
						next := cur
						next.Revision++
						switch rng.IntN(6) {
						case 0:
							next.Deleted = true
						case 1: // late arrival or correction into another period
							next.StartedAt = base.Add(time.Duration(rng.IntN(400*24)) * time.Hour)
						case 2:
							room := w.rooms[rng.IntN(len(w.rooms))]
							next.ClassroomID, next.SiteID, next.TeacherID = room.ID, room.SiteID, room.TeacherID
						case 3:
							next.Status = observation.RecordSubmitted
							next.Deleted = false
						case 4:
							next.RubricVersion = 1 + rng.IntN(2)
						default:
							next.Scores = append([]observation.Score(nil), cur.Scores...)
							if len(next.Scores) > 0 {
								i := rng.IntN(len(next.Scores))
								next.Scores[i].NotObserved = rng.IntN(4) == 0
								next.Scores[i].Level = 0
								if !next.Scores[i].NotObserved {
									next.Scores[i].Level = 1 + rng.IntN(4)
								}
							}
						}
						after = &next
					}
					if touched[id] {
						continue
					}
					touched[id] = true
					var before *observation.StoredObservation
					if cur, ok := state[id]; ok {
						before = &cur
					} else {
						ids = append(ids, id)
					}
					after.StampSubmitted(before, commit)
					if before != nil && progress.Counted(*before) && before.CoObservation != "" && firstBefore[before.CoObservation] == id {
						switch {
						case !progress.Counted(*after):
							events["counting member deleted"]++
						case after.CoObservation != before.CoObservation:
							events["counting member moved to another group"]++
						default:
							events["counting member amended or replaced"]++
						}
					}
					changes = append(changes, progress.RecordChange{Before: before, After: after})
				}
				others := map[string][]observation.StoredObservation{}
				for _, k := range progress.CoObservationKeys(changes) {
					for _, o := range state {
						if !touched[o.ID] && progress.Counted(o) && progress.GroupKey(o.DistrictID, o.CoObservation) == k {
							others[k] = append(others[k], o)
						}
					}
				}
				delta := progress.ChangeDelta(changes, others, w.inputs())
				// The push path's form: one contribution per record, expanded as the compactor folds it.
				if logged := progress.ChangeContributions(changes, others, w.inputs()); !logged.Expand().Equal(delta) {
					t.Fatalf("step %d: the changes' contributions differ from their delta", step)
				}
				running.Add(delta)
				for _, c := range changes {
					state[c.After.ID] = *c.After
				}
				firstAfter, months := countingMembers(state)
				for k, id := range firstAfter {
					if prev, ok := firstBefore[k]; ok && prev != id {
						events["counting member changed"]++
					}
					if len(months[k]) > 1 {
						events["group spanning months"]++
					}
				}
				for _, c := range changes {
					if a := c.After; progress.Counted(*a) && a.CoObservation != "" && firstAfter[a.CoObservation] != a.ID {
						events["member counted only in calibration"]++
						if c.Before == nil || !progress.Counted(*c.Before) {
							events["late member"]++
						}
					}
				}
				firstBefore = firstAfter
				all := make([]observation.StoredObservation, 0, len(state))
				for _, o := range state {
					all = append(all, o)
				}
				want := progressref.Aggregates(all, w.inputs())
				if !running.Equal(want) {
					t.Fatalf("step %d: maintained aggregates differ from the recomputation of the contract:\n got %d cells %d pairs\nwant %d cells %d pairs",
						step, len(running.Normalize().Cells), len(running.Pairs), len(want.Normalize().Cells), len(want.Pairs))
				}
				if (step%10 == 9) && !progress.Recompute(all, w.inputs()).Equal(want) {
					t.Fatalf("step %d: Recompute differs from the recomputation of the contract", step)
				}
			}
		})
	}
	t.Logf("co-observation events: %v", events)
	for _, e := range []string{"counting member deleted", "counting member moved to another group", "counting member amended or replaced",
		"counting member changed", "group spanning months", "member counted only in calibration", "late member"} {
		if events[e] == 0 {
			t.Errorf("the histories had no %s", e)
		}
	}
}

// TestCoObservedLessonCountsOnce follows one co-observed lesson by hand: the partner submitted
// second counts only in calibration; when the first is deleted the partner counts in its place,
// with its own classroom, day and scores; a partner on another day shares the key but pairs
// with nobody.
func TestCoObservedLessonCountsOnce(t *testing.T) {
	w := newProgressWorld()
	in := w.inputs()
	when := time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC)
	commit := time.Date(2026, 2, 3, 12, 0, 0, 0, time.UTC)
	mk := func(id, observer string, at time.Time, level int, submitted time.Time) observation.StoredObservation {
		r := observation.Record{ID: id, DistrictID: "d1", SiteID: "d1.site-0", ClassroomID: "d1.room-0", TeacherID: "d1.teacher-0",
			ObserverID: observer, Kind: observation.KindCalibration, CoObservation: "lesson-1", RubricID: w.versions[0].RubricID,
			RubricVersion: 1, StartedAt: at, Status: observation.RecordSubmitted,
			Scores: []observation.Score{{Dimension: "substance", Level: level}}}
		return observation.StoredObservation{Record: r, Revision: 1, SubmittedAt: submitted}
	}
	// b has the smaller id but was submitted later: a counts.
	a := mk("0000000b", "d1.coach-1", when, 2, commit)
	b := mk("0000000a", "d1.coach-0", when.Add(time.Minute), 4, commit.Add(time.Hour))
	yearCell := func(d *progress.Delta) progress.Metrics {
		for k, m := range d.Cells {
			if k.Kind == progress.PeriodSchoolYear {
				return m
			}
		}
		return nil
	}
	d := progress.ChangeDelta([]progress.RecordChange{{After: &a}}, nil, in)
	d.Add(progress.ChangeDelta([]progress.RecordChange{{After: &b}}, map[string][]observation.StoredObservation{"d1/lesson-1": {a}}, in))
	m := yearCell(d)
	if m.Observations() != 1 || m.Levels()[progress.DimVersion{Dimension: "substance", Version: 1}].Sum != 2 {
		t.Fatalf("the lesson counts %d times with level sum %v, want once with a's level 2", m.Observations(), m.Levels())
	}
	for k, p := range d.Normalize().Pairs {
		if k.ObserverA != "d1.coach-0" || p.Observations() != 1 {
			t.Fatalf("pair %+v = %v, want one pair with coach-0 as rater A", k, p)
		}
	}
	if len(d.Pairs) != 6 { // school year, term, month, week, window, day
		t.Fatalf("%d pair rows, want one per period kind", len(d.Pairs))
	}
	// A deleted: b counts in its place.
	gone := a
	gone.Deleted, gone.Revision = true, 2
	d.Add(progress.ChangeDelta([]progress.RecordChange{{Before: &a, After: &gone}}, map[string][]observation.StoredObservation{"d1/lesson-1": {b}}, in))
	m = yearCell(d)
	if m.Observations() != 1 || m.Levels()[progress.DimVersion{Dimension: "substance", Version: 1}].Sum != 4 {
		t.Fatalf("after the first member's deletion the lesson counts %d times, levels %v; want once with b's level 4", m.Observations(), m.Levels())
	}
	if len(d.Normalize().Pairs) != 0 {
		t.Fatalf("pairs left after a partner's deletion: %v", d.Pairs)
	}
	// c shares the key, on another day: it counts nowhere (b is first) and pairs with nobody.
	c := mk("0000000c", "d1.coach-2", when.Add(24*time.Hour), 3, commit.Add(2*time.Hour))
	d.Add(progress.ChangeDelta([]progress.RecordChange{{After: &c}}, map[string][]observation.StoredObservation{"d1/lesson-1": {b}}, in))
	if m = yearCell(d); m.Observations() != 1 || len(d.Normalize().Pairs) != 0 {
		t.Fatalf("a partner on another day: %d observations, pairs %v; want 1 and none", m.Observations(), d.Pairs)
	}
	all := []observation.StoredObservation{gone, b, c}
	if want := progressref.Aggregates(all, in); !d.Equal(want) || !progress.Recompute(all, in).Equal(want) {
		t.Fatal("the maintained rows differ from the recomputation")
	}
}

// TestRecordMetricsInverse checks adding a record's contribution and removing it again leaves
// nothing, and that the metrics decode to the same statistics as the accumulators of stats.go.
func TestRecordMetricsInverse(t *testing.T) {
	w := newProgressWorld()
	rng := rand.New(rand.NewPCG(1, 2))
	g := synth.New(3)
	for range 200 {
		r := w.record(g, rng, time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), false)
		content := w.versions[r.RubricVersion-1].Content
		d := progress.NewDelta()
		d.Record(r, content, w.settings, 1)
		if n := len(d.Cells); n != 6 && n != 5 { // with and without a named window
			t.Fatalf("a record falls in %d cells, want one per period kind", n)
		}
		m := progress.RecordMetrics(r, content)
		var talk progress.TalkStats
		talk.Add(r, content.TallyCategories)
		if !m.Talk().Equal(talk) {
			t.Fatalf("talk metrics decode to %+v, want %+v", m.Talk(), talk)
		}
		var eq progress.EquityStats
		eq.Add(r, content.Participation)
		if !m.Equity().Equal(eq) {
			t.Fatalf("equity metrics decode to %+v, want %+v", m.Equity(), eq)
		}
		for _, s := range r.Scores {
			var ls progress.LevelStats
			ls.AddScore(s)
			if got := m.Levels()[progress.DimVersion{Dimension: s.Dimension, Version: r.RubricVersion}]; !got.Equal(ls) {
				t.Fatalf("%s decodes to %+v, want %+v", s.Dimension, got, ls)
			}
		}
		d.Record(r, content, w.settings, -1)
		if !d.Empty() {
			t.Fatalf("add then remove left %+v", d.Normalize())
		}
	}
}

// TestCalibrationWorkedExample checks the calibration view's quadratic-weighted kappa against a
// published worked example: raters 2 and 3 of the `anxiety` data set of the R package irr
// (Gamer, Lemon, Fellows & Singh, irr: Various Coefficients of Interrater Reliability and
// Agreement, CRAN), whose manual prints kappa2(anxiety[,2:3], "squared") = 0.2520325. irr uses
// the five levels the raters used (1, 2, 3, 4, 6), so the ratings go through a five-level rubric
// with 6 as level 5. Each of the 20 subjects is one co-observed lesson of two observers, stored
// as pair rows and read back by BuildCalibration.
func TestCalibrationWorkedExample(t *testing.T) {
	// The raw ratings as printed in irr's manual (and in statsmodels' test_inter_rater.py,
	// test_cohens_kappa_irr), subjects 1-20.
	rater2 := []int{3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4}
	rater3 := []int{2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2}
	rank := map[int]int{1: 1, 2: 2, 3: 3, 4: 4, 6: 5} // irr's observed levels, in order
	var pairs [][2]int
	for i := range rater2 {
		pairs = append(pairs, [2]int{rank[rater2[i]], rank[rater3[i]]})
	}
	content := observation.DefaultRubricVersion(time.Now()).Content
	content.MinLevel, content.MaxLevel = 1, 5
	v := observation.RubricVersion{RubricID: "anxiety", Version: 1, Status: observation.StatusPublished, Content: content}
	series := progress.NewSeries([]observation.RubricVersion{v})
	d := progress.NewDelta()
	s := observation.DefaultDistrictSettings()
	for i, p := range pairs {
		when := time.Date(2026, 2, 2+i%20, 10, 0, 0, 0, time.UTC)
		a := observation.Record{ID: fmt.Sprint("a", i), DistrictID: "d1", SiteID: "d1.s", RubricID: "anxiety", RubricVersion: 1,
			ObserverID: "d1.rater-2", StartedAt: when, CoObservation: fmt.Sprint("lesson-", i),
			Scores: []observation.Score{{Dimension: "substance", Level: p[0]}}}
		b := a
		b.ID, b.ObserverID = fmt.Sprint("b", i), "d1.rater-3"
		b.Scores = []observation.Score{{Dimension: "substance", Level: p[1]}}
		d.Group([]observation.Record{a, b}, s, 1)
	}
	var rows []progress.PairRow
	for k, m := range d.Pairs {
		if k.Kind == progress.PeriodSchoolYear {
			rows = append(rows, progress.PairRow{PairKey: k, M: m})
		}
	}
	view := progress.BuildCalibration(rows, series)
	if view.Lessons != 20 || len(view.Dimensions) != 1 {
		t.Fatalf("lessons %d, dimensions %+v", view.Lessons, view.Dimensions)
	}
	k := view.Dimensions[0].Kappa
	if k.NoData || math.Abs(k.Value-0.2520325) > 5e-8 {
		t.Fatalf("kappa = %+v, want 0.2520325 (irr kappa2 squared)", k)
	}
	if view.Dimensions[0].Band != progress.KappaFair || view.Dimensions[0].MeetsTarget {
		t.Fatalf("band %s meets %v, want fair and not meeting the 0.60 target", view.Dimensions[0].Band, view.Dimensions[0].MeetsTarget)
	}
	// Each observer's own view is the same pairs, oriented with them as rater A: kappa is
	// symmetric, so both read the same value.
	for _, o := range view.Observers {
		if math.Abs(o.Overall.Kappa.Value-0.2520325) > 5e-8 || o.Lessons != 20 {
			t.Fatalf("observer %s: %+v", o.ObserverID, o.Overall)
		}
	}
}

// A delta places each record in the periods of its day under the settings it is given, however
// the records' days and settings alternate: runs of one day, a day met again after another,
// settings changed on the same day (the school year's start, a window edited in place in the
// caller's slice), more settings than it keeps, two districts' records interleaved. Each is
// checked against PeriodOf.
func TestDeltaPlacesEachRecordUnderItsDayAndSettings(t *testing.T) {
	w := newProgressWorld()
	g, rng := synth.New(5), rand.New(rand.NewPCG(5, 6))
	other := w.settings
	other.SchoolYearStartMonth = 7
	other.Windows = []observation.NamedWindow{{Key: "autumn", Title: "Autumn", StartMonth: 9, StartDay: 20, EndMonth: 11, EndDay: 1}}
	edited := slices.Clone(w.settings.Windows)
	day1 := time.Date(2025, 10, 14, 9, 0, 0, 0, time.UTC) // in the baseline window until it is edited
	day2 := time.Date(2025, 10, 15, 23, 30, 0, 0, time.UTC)
	steps := []struct {
		when time.Time
		s    observation.DistrictSettings
		edit func() // run before the step: changes edited's windows in place
	}{
		{when: day1, s: w.settings}, {when: day1.Add(time.Hour), s: w.settings}, {when: day2, s: w.settings}, {when: day1, s: w.settings},
		{when: day1, s: other}, {when: day1.Add(2 * time.Hour), s: w.settings},
		{when: day1, s: observation.DistrictSettings{Windows: edited}},
		{when: day1, s: observation.DistrictSettings{Windows: edited}, edit: func() { edited[0].EndDay = 10 }},
		{when: day2, s: other}, {when: day2, s: w.settings},
	}
	// More settings than a delta keeps the periods of, met twice in turn.
	for i := range 40 {
		s := w.settings
		s.Windows = []observation.NamedWindow{{Key: "autumn", Title: "Autumn", StartMonth: 10, StartDay: 1, EndMonth: 10, EndDay: 1 + i%20}}
		steps = append(steps, struct {
			when time.Time
			s    observation.DistrictSettings
			edit func()
		}{when: day1.AddDate(0, 0, -i%20), s: s})
	}
	kinds := []progress.PeriodKind{progress.PeriodSchoolYear, progress.PeriodTerm, progress.PeriodMonth, progress.PeriodWeek,
		progress.PeriodWindow, progress.PeriodDaily}
	d, want := progress.NewDelta(), map[progress.CellKey]progress.Metrics{}
	for i, st := range steps {
		if st.edit != nil {
			st.edit()
		}
		r := w.record(g, rng, st.when, false)
		content := w.versions[0].Content
		for _, v := range w.versions {
			if v.Version == r.RubricVersion {
				content = v.Content
			}
		}
		d.Record(r, content, st.s, 1)
		placed := 0
		for _, kind := range kinds {
			p, ok := progress.PeriodOf(kind, r.StartedAt, st.s)
			if !ok {
				continue
			}
			placed++
			k := progress.CellKey{DistrictID: r.DistrictID, Kind: kind, PeriodKey: p.Key, SiteID: r.SiteID, ClassroomID: r.ClassroomID,
				TeacherID: r.TeacherID, RubricID: r.RubricID}
			m := want[k]
			m.Add(progress.RecordMetrics(r, content), 1)
			want[k] = m
		}
		if len(d.Cells) != len(want) {
			t.Fatalf("step %d: %d cells, want %d (this record in %d periods)", i, len(d.Cells), len(want), placed)
		}
		for k, m := range want {
			if !d.Cells[k].Equal(m) {
				t.Fatalf("step %d: cell %+v differs from PeriodOf's placement", i, k)
			}
		}
	}

	// Two districts of different settings, their records interleaved on one day, through the
	// contributions a push logs.
	settings := map[string]observation.DistrictSettings{"d1": w.settings, "d2": other}
	in := w.inputs()
	in.Settings = func(id string) observation.DistrictSettings { return settings[id] }
	var changes []progress.RecordChange
	for i := range 6 {
		r := w.record(g, rng, day1.Add(time.Duration(i)*time.Minute), false)
		if i%2 == 1 {
			r.DistrictID = "d2"
		}
		changes = append(changes, progress.RecordChange{After: &observation.StoredObservation{Record: r, Revision: 1}})
	}
	c := progress.ChangeContributions(changes, nil, in)
	for i, ct := range c.Contributions {
		r := changes[i].After.Record
		var want []progress.PeriodRef
		for _, kind := range kinds {
			if p, ok := progress.PeriodOf(kind, r.StartedAt, settings[r.DistrictID]); ok {
				want = append(want, progress.PeriodRef{Kind: kind, Key: p.Key})
			}
		}
		if !slices.Equal(ct.Periods, want) {
			t.Fatalf("record %d of %s: periods %v, want %v", i, r.DistrictID, ct.Periods, want)
		}
	}
}
