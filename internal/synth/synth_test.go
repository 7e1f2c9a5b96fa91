package synth

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lookfor-edu/lookfor/observation"
)

var (
	yearStart = time.Date(2024, time.August, 12, 0, 0, 0, 0, time.UTC)
	rubric    = observation.DefaultRubricVersion(yearStart)
	groups    = []observation.StudentGroup{
		{Key: "ell", Label: "English learners"},
		{Key: "swd", Label: "Students with disabilities"},
		{Key: "fy", Label: "Foster youth"},
		{Key: "other", Label: "All other students"},
	}
)

type fixture struct {
	classrooms []observation.Classroom
	observers  []observation.Principal
	leniency   []float64
}

func newFixture() fixture {
	var f fixture
	grades := []string{"K", "1", "2", "3", "4", "5", "6", "7", "8", "TK"}
	for s := 0; s < 4; s++ {
		for c := 0; c < 6; c++ {
			n := s*6 + c
			f.classrooms = append(f.classrooms, observation.Classroom{
				DistrictID: "d1", SiteID: "s" + string(rune('a'+s)), ID: "c" + uuidSafe(n),
				Course: "Math", Grade: grades[n%len(grades)], Section: "A", TeacherID: "t" + uuidSafe(n),
			})
		}
	}
	roles := []observation.Role{observation.RoleCoach, observation.RoleCoach, observation.RolePrincipal,
		observation.RoleDistrictAdmin, observation.RoleCoach, observation.RoleAdmin}
	for i, role := range roles {
		f.observers = append(f.observers, observation.Principal{UserID: "u" + uuidSafe(i), Role: role, DistrictID: "d1"})
		f.leniency = append(f.leniency, -0.4+0.8*float64(i)/float64(len(roles)-1))
	}
	return f
}

func uuidSafe(n int) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }

// input spreads n observations over a 300-day school year, school hours, all kinds.
func (f fixture) input(n int) func(i int) Input {
	return func(i int) Input {
		day := float64(i) / float64(n) * 299
		when := yearStart.Add(time.Duration(day*24)*time.Hour + 8*time.Hour + time.Duration(i%360)*time.Minute)
		status := observation.RecordSubmitted
		if i%7 == 3 {
			status = observation.RecordDraft
		}
		o := i % len(f.observers)
		return Input{
			Classroom:       f.classrooms[(i*7)%len(f.classrooms)],
			Observer:        f.observers[o],
			Rubric:          rubric,
			StudentGroups:   groups,
			When:            when,
			SchoolYearStart: yearStart,
			Leniency:        f.leniency[o],
			Kind:            observation.ObservationKinds[i%len(observation.ObservationKinds)],
			Status:          status,
		}
	}
}

func TestGeneratedRecordsAreValid(t *testing.T) {
	const n = 2000
	f := newFixture()
	in := f.input(n)
	recs := New(1).Batch(n, in)
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	now := yearStart.AddDate(1, 0, 0)
	var scored, notObserved, withParticipation int
	for i, r := range recs {
		inp := in(i)
		cl := inp.Classroom
		err := observation.ValidateRecord(r, rubric, observation.RecordContext{Classroom: &cl, StudentGroups: groups, Now: now})
		if err != nil {
			t.Fatalf("record %d invalid: %v\n%+v", i, err, r)
		}
		for _, s := range r.Scores {
			if s.NotObserved {
				notObserved++
			} else {
				scored++
			}
		}
		if r.DurationMin < 20 || r.DurationMin > 60 {
			t.Errorf("record %d: duration %d", i, r.DurationMin)
		}
		if r.Status == observation.RecordSubmitted && r.NextSteps == "" {
			t.Errorf("record %d: submitted without next steps", i)
		}
		if r.LessonFocus == "" {
			t.Errorf("record %d: no lesson focus", i)
		}
		if len(r.Tallies) != len(rubric.Content.TallyCategories) {
			t.Errorf("record %d: %d tallies", i, len(r.Tallies))
		}
		// Enrolment: 2-12 per group, about 20-32 in all.
		total := 0
		for _, e := range r.Enrolment {
			if e.Count < 2 || e.Count > 12 {
				t.Errorf("record %d: enrolment %+v", i, e)
			}
			total += e.Count
		}
		if len(r.Enrolment) != len(groups) || total < 20 || total > 32 {
			t.Errorf("record %d: enrolment %+v (total %d)", i, r.Enrolment, total)
		}
		// Every participation field counts the same contributions: the student talk moves.
		students := 0
		for _, tl := range r.Tallies {
			for _, c := range rubric.Content.TallyCategories {
				if c.Key == tl.Category && c.Speaker == observation.SpeakerStudent {
					students += tl.Count
				}
			}
		}
		sums := map[string]int{}
		for _, p := range r.Participation {
			sums[p.Field] += p.Count
		}
		if len(r.Participation) > 0 {
			withParticipation++
			if len(sums) != len(rubric.Content.Participation) {
				t.Errorf("record %d: participation fields %v", i, sums)
			}
		}
		for field, s := range sums {
			if s != students {
				t.Errorf("record %d: field %s sums to %d, want %d contributions", i, field, s, students)
			}
		}
	}
	share := float64(notObserved) / float64(scored+notObserved)
	t.Logf("not observed share %.3f; %d/%d records code participation", share, withParticipation, n)
	if share < 0.04 || share > 0.13 {
		t.Errorf("not-observed share %.3f, want about 0.08", share)
	}
}

func TestLevelsImproveOverTheYear(t *testing.T) {
	const n = 2000
	f := newFixture()
	in := f.input(n)
	recs := New(2).Batch(n, in)
	var first, last, all []float64
	for _, r := range recs {
		days := r.StartedAt.Sub(yearStart).Hours() / 24
		for _, s := range r.Scores {
			if s.NotObserved {
				continue
			}
			all = append(all, float64(s.Level))
			switch {
			case days < 30:
				first = append(first, float64(s.Level))
			case days >= 270:
				last = append(last, float64(s.Level))
			}
		}
	}
	mf, ml := mean(first), mean(last)
	t.Logf("mean level: first month %.2f (n=%d), last month %.2f (n=%d), year %.2f", mf, len(first), ml, len(last), mean(all))
	if !(mf < ml) {
		t.Fatalf("first-month mean %.2f is not below last-month mean %.2f", mf, ml)
	}
	if math.Abs(mf-1.8) > 0.3 || math.Abs(ml-2.8) > 0.3 {
		t.Errorf("means %.2f → %.2f, want about 1.8 → 2.8", mf, ml)
	}
}

func TestLevelsDriveTallies(t *testing.T) {
	f := newFixture()
	recs := New(3).Batch(2000, f.input(2000))
	rate := map[int][]float64{} // press level → press moves per 10 discussion minutes
	for _, r := range recs {
		if r.DiscussionMin == 0 {
			continue
		}
		var press int
		for _, s := range r.Scores {
			if s.Dimension == "press" && !s.NotObserved {
				press = s.Level
			}
		}
		moves := 0
		for _, tl := range r.Tallies {
			if tl.Category == "press_accuracy" || tl.Category == "press_reasoning" {
				moves += tl.Count
			}
		}
		if press > 0 {
			rate[press] = append(rate[press], float64(moves)*10/float64(r.DiscussionMin))
		}
	}
	t.Logf("press moves per 10 min by press level: 1: %.2f, 2: %.2f, 3: %.2f, 4: %.2f",
		mean(rate[1]), mean(rate[2]), mean(rate[3]), mean(rate[4]))
	if !(mean(rate[1]) < mean(rate[2]) && mean(rate[2]) < mean(rate[3])) {
		t.Errorf("press moves do not rise with the press level")
	}
}

func TestDeterministic(t *testing.T) {
	f := newFixture()
	a := New(42).Batch(300, f.input(300))
	b := New(42).Batch(300, f.input(300))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different records")
	}
	c := New(43).Batch(300, f.input(300))
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds, same records")
	}
}

func TestIDsAreUniqueUUIDv7(t *testing.T) {
	f := newFixture()
	in := f.input(2000)
	recs := New(4).Batch(2000, in)
	seen := map[string]bool{}
	for i, r := range recs {
		if seen[r.ID] {
			t.Fatalf("duplicate id %s", r.ID)
		}
		seen[r.ID] = true
		if !observation.IsUUID(r.ID) {
			t.Fatalf("id %q is not a canonical UUID", r.ID)
		}
		u, err := uuid.Parse(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Version() != 7 || u.Variant() != uuid.RFC4122 || r.ID[14] != '7' {
			t.Fatalf("id %s: version %d variant %v", r.ID, u.Version(), u.Variant())
		}
		sec, nsec := u.Time().UnixTime()
		if got, want := time.Unix(sec, nsec).UnixMilli(), in(i).When.UnixMilli(); got != want {
			t.Fatalf("id %s carries %d ms, want %d", r.ID, got, want)
		}
	}
}

func TestCalibrationPairsShareTheLesson(t *testing.T) {
	f := newFixture()
	g := New(5)
	when := yearStart.AddDate(0, 3, 0).Add(10 * time.Hour)
	in := func(o int) Input {
		return Input{Classroom: f.classrooms[3], Observer: f.observers[o], Rubric: rubric, StudentGroups: groups,
			When: when, SchoolYearStart: yearStart, Leniency: f.leniency[o], Kind: observation.KindCalibration}
	}
	a, b := g.Record(in(0)), g.Record(in(2))
	if a.CoObservation == "" || a.CoObservation != b.CoObservation {
		t.Fatalf("co-observation keys %q and %q", a.CoObservation, b.CoObservation)
	}
	if a.ID == b.ID || a.DurationMin != b.DurationMin || a.DiscussionMin != b.DiscussionMin ||
		!reflect.DeepEqual(a.Enrolment, b.Enrolment) {
		t.Fatalf("co-observed lesson differs: %+v vs %+v", a, b)
	}
	other := g.Record(Input{Classroom: f.classrooms[4], Observer: f.observers[0], Rubric: rubric,
		When: when, SchoolYearStart: yearStart, Kind: observation.KindCalibration})
	if other.CoObservation == a.CoObservation {
		t.Fatal("another classroom shares the key")
	}
	// Defaults: kind drawn (never calibration), submitted, school year from When.
	d := g.Record(Input{Classroom: f.classrooms[0], Observer: observation.Principal{UserID: "u1"}, Rubric: rubric, When: when})
	cl := f.classrooms[0]
	if err := observation.ValidateRecord(d, rubric, observation.RecordContext{Classroom: &cl, Now: when}); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if d.Kind == observation.KindCalibration || d.Status != observation.RecordSubmitted || d.ObserverRole != observation.RoleCoach {
		t.Fatalf("defaults: kind %s status %s role %s", d.Kind, d.Status, d.ObserverRole)
	}
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
