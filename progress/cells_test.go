package progress_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

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

// TestProgressDeltaRandomHistories applies random histories of writes — submits, drafts,
// amendments that move a record to another day, classroom, site or rubric version, deletions,
// co-observations, late arrivals into past periods — one batch at a time as ChangeDelta, and
// checks the running aggregate equals Recompute of the records after every batch.
func TestProgressDeltaRandomHistories(t *testing.T) {
	w := newProgressWorld()
	for seed := range int64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			g := synth.New(seed)
			state := map[string]observation.StoredObservation{}
			var ids []string
			running := progress.NewDelta()
			base := time.Date(2025, 9, 1, 15, 0, 0, 0, time.UTC)
			for step := range 60 {
				var changes []progress.RecordChange
				touched := map[string]bool{}
				for range 1 + rng.IntN(4) {
					var id string
					var after *observation.StoredObservation
					switch op := rng.IntN(10); {
					case op < 4 || len(ids) == 0: // a new record, sometimes co-observing an existing lesson
						when := base.Add(time.Duration(rng.IntN(300*24)) * time.Hour)
						r := w.record(g, rng, when, rng.IntN(3) == 0)
						if r.Kind == observation.KindCalibration && len(ids) > 0 && rng.IntN(2) == 0 {
							other := state[ids[rng.IntN(len(ids))]]
							if other.CoObservation != "" {
								r.CoObservation, r.StartedAt, r.ClassroomID, r.SiteID, r.TeacherID =
									other.CoObservation, other.StartedAt.Add(time.Minute), other.ClassroomID, other.SiteID, other.TeacherID
							}
						}
						if rng.IntN(5) == 0 {
							r.Status = observation.RecordDraft
						}
						id = r.ID
						after = &observation.StoredObservation{Record: r, Revision: 1}
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
					changes = append(changes, progress.RecordChange{Before: before, After: after})
				}
				others := map[string][]observation.Record{}
				for _, k := range progress.CoObservationKeys(changes) {
					for _, o := range state {
						if !touched[o.ID] && progress.Counted(o) && progress.GroupKey(o.DistrictID, o.CoObservation) == k {
							others[k] = append(others[k], o.Record)
						}
					}
				}
				running.Add(progress.ChangeDelta(changes, others, w.inputs()))
				for _, c := range changes {
					state[c.After.ID] = *c.After
				}
				all := make([]observation.StoredObservation, 0, len(state))
				for _, o := range state {
					all = append(all, o)
				}
				want := progress.Recompute(all, w.inputs())
				if !running.Equal(want) {
					t.Fatalf("step %d: maintained aggregates differ from the recomputation:\n got %d cells %d pairs %d visits\nwant %d cells %d pairs %d visits",
						step, len(running.Normalize().Cells), len(running.Pairs), len(running.Visits), len(want.Normalize().Cells), len(want.Pairs), len(want.Visits))
				}
			}
			if len(running.Normalize().Pairs) == 0 && seed < 5 {
				t.Logf("seed %d: no co-observed pairs", seed)
			}
		})
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
		if n := len(d.Cells); n != 5 && n != 4 {
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
