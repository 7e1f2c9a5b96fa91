package progress

import (
	"math"
	"math/big"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

func approx(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("%s = %.15g, want %.15g", what, got, want)
	}
}

func wantOK(t *testing.T, what string, got float64, ok bool, want float64) {
	t.Helper()
	if !ok {
		t.Errorf("%s: not ok, want %v", what, want)
		return
	}
	approx(t, what, got, want)
}

func wantNotOK(t *testing.T, what string, got float64, ok bool) {
	t.Helper()
	if ok {
		t.Errorf("%s = %v, want no value", what, got)
	}
}

func TestLevelStatsHandComputed(t *testing.T) {
	var s LevelStats
	m, ok := s.Mean()
	wantNotOK(t, "mean of nothing", m, ok)
	sh, ok := s.shareAtOrAbove(3)
	wantNotOK(t, "share of nothing", sh, ok)

	for _, l := range []int{1, 2, 3, 3, 4} {
		s.Add(l, false)
	}
	s.Add(0, true) // not observed: excluded from N, the mean and the share
	if s.N != 5 || s.Sum != 13 || s.NotObserved != 1 || !reflect.DeepEqual(s.Counts, map[int]int{1: 1, 2: 1, 3: 2, 4: 1}) {
		t.Fatalf("got %+v", s)
	}
	m, ok = s.Mean()
	wantOK(t, "mean", m, ok, 13.0/5) // (1+2+3+3+4)/5 = 2.6
	sh, ok = s.shareAtOrAbove(3)
	wantOK(t, "share >= 3", sh, ok, 3.0/5) // 3, 3, 4
	sh, ok = s.shareAtOrAbove(5)
	wantOK(t, "share >= 5", sh, ok, 0)

	s.Remove(4, false)
	m, ok = s.Mean()
	wantOK(t, "mean after removing the 4", m, ok, 9.0/4) // 2.25
	sh, ok = s.shareAtOrAbove(3)
	wantOK(t, "share >= 3 after removing the 4", sh, ok, 2.0/4)

	// Only "not observed": no mean.
	var no LevelStats
	no.AddScore(observation.Score{Dimension: "press", NotObserved: true})
	m, ok = no.Mean()
	wantNotOK(t, "mean of NO only", m, ok)

	var a, b LevelStats
	a.Add(2, false)
	a.Add(0, true)
	b.Add(4, false)
	b.Add(4, false)
	a.merge(b)
	m, ok = a.Mean()
	wantOK(t, "merged mean", m, ok, 10.0/3)
	if a.NotObserved != 1 || a.Counts[4] != 2 {
		t.Errorf("merged %+v", a)
	}
}

func TestProficiencyLevelFor(t *testing.T) {
	c := observation.DefaultRubric()
	if got := ProficiencyLevelFor(observation.DistrictSettings{}, c); got != 3 {
		t.Errorf("rubric's own = %d, want 3", got)
	}
	if got := ProficiencyLevelFor(observation.DistrictSettings{ProficiencyLevel: 4}, c); got != 4 {
		t.Errorf("district's = %d, want 4", got)
	}
}

// talkRecord builds a record with the given discussion minutes and tallies.
func talkRecord(minutes int, tallies map[string]int) observation.Record {
	r := observation.Record{DiscussionMin: minutes, DurationMin: 45}
	for _, c := range observation.DefaultRubric().TallyCategories { // rubric order, so the record is deterministic
		if n, ok := tallies[c.Key]; ok {
			r.Tallies = append(r.Tallies, observation.Tally{Category: c.Key, Count: n})
		}
	}
	if n, ok := tallies["mystery"]; ok {
		r.Tallies = append(r.Tallies, observation.Tally{Category: "mystery", Count: n})
	}
	return r
}

func TestTalkStatsHandComputed(t *testing.T) {
	cats := observation.DefaultRubric().TallyCategories
	a := talkRecord(20, map[string]int{"press_accuracy": 3, "press_reasoning": 2, "revoicing": 5,
		"providing_evidence": 4, "making_claim": 6, "mystery": 100}) // unknown category: ignored
	b := talkRecord(0, map[string]int{"press_reasoning": 1, "restating": 1, "providing_evidence": 2}) // no minutes
	c := talkRecord(10, map[string]int{"press_reasoning": 4, "keeping_together": 6, "providing_evidence": 0,
		"making_claim": 3, "relating_to_student": 1})

	var s TalkStats
	for _, r := range []observation.Record{a, b, c} {
		s.Add(r, cats)
	}
	// Rates use the timed observations a and c only: 30 minutes.
	want := TalkStats{
		Observations: 3, TimedObservations: 2, Minutes: 30,
		Counts: map[string]int{"press_accuracy": 3, "press_reasoning": 6, "revoicing": 5, "keeping_together": 6,
			"providing_evidence": 4, "making_claim": 9, "relating_to_student": 1},
		TeacherMoves:   22, // a: 3+2+5, b: 1+1, c: 4+6
		PressMoves:     10, // a: 3+2, b: 1, c: 4
		StudentMoves:   16, // a: 4+6, b: 2, c: 0+3+1
		ReasoningMoves: 6,  // a: 4, b: 2, c: 0
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	r, ok := s.ratePer10("press_reasoning")
	wantOK(t, "press_reasoning per 10 min", r, ok, 2) // 6 × 10 ÷ 30
	r, ok = s.ratePer10("making_claim")
	wantOK(t, "making_claim per 10 min", r, ok, 3) // 9 × 10 ÷ 30
	r, ok = s.ratePer10("restating")
	wantOK(t, "restating per 10 min (only in the untimed b)", r, ok, 0)
	p, ok := s.PressShare()
	wantOK(t, "press share", p, ok, 10.0/22)
	p, ok = s.ReasoningShare()
	wantOK(t, "reasoning share", p, ok, 6.0/16) // 0.375

	var untimed TalkStats
	untimed.Add(b, cats)
	r, ok = untimed.ratePer10("press_reasoning")
	wantNotOK(t, "rate without minutes", r, ok)
	p, ok = untimed.PressShare()
	wantOK(t, "press share of an untimed observation", p, ok, 1.0/2)
	var none TalkStats
	p, ok = none.PressShare()
	wantNotOK(t, "press share of nothing", p, ok)
	p, ok = none.ReasoningShare()
	wantNotOK(t, "reasoning share of nothing", p, ok)

	s.Remove(a, cats)
	s.Remove(b, cats)
	s.Remove(c, cats)
	if !reflect.DeepEqual(s, TalkStats{}) {
		t.Errorf("after removing everything: %+v", s)
	}
}

func equityRecord(contrib map[string]int, enrol map[string]int) observation.Record {
	var r observation.Record
	for _, g := range []string{"ell", "non_ell", "sped"} {
		if n, ok := contrib[g]; ok {
			r.Participation = append(r.Participation, observation.ParticipationCount{Field: "student_group", Option: g, Count: n})
		}
		if n, ok := enrol[g]; ok {
			r.Enrolment = append(r.Enrolment, observation.Enrolment{Group: g, Count: n})
		}
	}
	// Other participation fields do not count as contributions.
	r.Participation = append(r.Participation, observation.ParticipationCount{Field: "selection", Option: "volunteered", Count: 50})
	return r
}

func TestEquityStatsHandComputed(t *testing.T) {
	fields := observation.DefaultRubric().Participation
	recs := []observation.Record{
		// ell: (6/15) ÷ (5/25) = 0.4 ÷ 0.2 = 2; non_ell: (9/15) ÷ (20/25) = 0.6 ÷ 0.8 = 0.75.
		equityRecord(map[string]int{"ell": 6, "non_ell": 9}, map[string]int{"ell": 5, "non_ell": 20}),
		// ell: (2/12) ÷ (4/12) = 0.5; non_ell: (10/12) ÷ (8/12) = 1.25.
		equityRecord(map[string]int{"ell": 2, "non_ell": 10}, map[string]int{"ell": 4, "non_ell": 8}),
		// ell present but silent: 0; non_ell: (5/5) ÷ (12/15) = 1.25.
		equityRecord(map[string]int{"ell": 0, "non_ell": 5}, map[string]int{"ell": 3, "non_ell": 12}),
		// No contributions at all: excluded for every group.
		equityRecord(map[string]int{"ell": 0}, map[string]int{"ell": 3, "non_ell": 12}),
		// ell not enrolled: excluded for ell (its 4 contributions still count in the total);
		// non_ell: (0/4) ÷ (10/10) = 0; sped enrolled with zero students: excluded.
		equityRecord(map[string]int{"ell": 4, "non_ell": 0}, map[string]int{"non_ell": 10, "sped": 0}),
	}
	var s EquityStats
	for _, r := range recs {
		s.Add(r, fields)
	}
	ratio, n, ok := s.Ratio("ell")
	if !ok || n != 3 {
		t.Fatalf("ell: n=%d ok=%v, want 3 observations", n, ok)
	}
	approx(t, "ell ratio", ratio, (2+0.5+0)/3.0) // 0.8333…
	ratio, n, ok = s.Ratio("non_ell")
	if !ok || n != 4 {
		t.Fatalf("non_ell: n=%d ok=%v, want 4 observations", n, ok)
	}
	approx(t, "non_ell ratio", ratio, (0.75+1.25+1.25+0)/4) // 0.8125
	if _, n, ok := s.Ratio("sped"); ok || n != 0 {
		t.Errorf("sped: n=%d ok=%v, want none", n, ok)
	}
	if got := s.groups(); !reflect.DeepEqual(got, []string{"ell", "non_ell"}) {
		t.Errorf("groups = %v", got)
	}
	// The stored sums are exact multiples of 1e-9: ell 2 + 0.5 + 0, non_ell 0.75 + 1.25 + 1.25 + 0.
	if s.Sum["ell"] != 2_500_000_000 || s.Sum["non_ell"] != 3_250_000_000 {
		t.Errorf("sums = %v", s.Sum)
	}
	// Observations with participation coding: the four with contributions (the fourth record
	// has none); ell is included in 3 of them, non_ell in all 4.
	if s.Coded != 4 {
		t.Errorf("coded observations = %d, want 4", s.Coded)
	}
	// Equity groups report that count and suppress against it, not against the largest group.
	groups, coded := equityGroups(s, nil, 1)
	if coded != 4 || len(groups) != 2 || groups[0].Ratio.N != 3 || groups[1].Ratio.N != 4 {
		t.Errorf("equityGroups: %d coded, %+v", coded, groups)
	}
	// Every group enrolled in only some coded lessons: the count is still every coded lesson.
	var split EquityStats
	split.Add(equityRecord(map[string]int{"ell": 2}, map[string]int{"ell": 5}), fields)
	split.Add(equityRecord(map[string]int{"non_ell": 3}, map[string]int{"non_ell": 7}), fields)
	if _, coded := equityGroups(split, nil, 1); coded != 2 {
		t.Errorf("equity observations = %d, want 2 (the largest group has 1)", coded)
	}

	// A rubric without a district-defined field has no equity ratios.
	var none EquityStats
	none.Add(recs[0], observation.DefaultRubric().Participation[1:])
	if !reflect.DeepEqual(none, EquityStats{}) {
		t.Errorf("without a student-group field: %+v", none)
	}
	// Negative counts (never valid) leave the record out.
	bad := equityRecord(map[string]int{"ell": -1, "non_ell": 3}, map[string]int{"ell": 1, "non_ell": 1})
	none.Add(bad, fields)
	if !reflect.DeepEqual(none, EquityStats{}) {
		t.Errorf("negative count: %+v", none)
	}
}

func TestEquityRatiosRounding(t *testing.T) {
	// a: (1/3) ÷ (1/2) = 2/3 = 0.6666666666… → 666666667 (rounded up);
	// b: (2/3) ÷ (1/2) = 4/3 = 1.3333333333… → 1333333333 (rounded down).
	r := equityRecord(map[string]int{"ell": 1, "non_ell": 2}, map[string]int{"ell": 1, "non_ell": 1})
	got := equityRatios(r, "student_group")
	if want := map[string]int64{"ell": 666666667, "non_ell": 1333333333}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// An exact half: (1/1024) ÷ (1/1) × 1e9 = 976562.5 → 976563 (half up).
	r = equityRecord(map[string]int{"ell": 1, "non_ell": 1023}, map[string]int{"ell": 1})
	if got := equityRatios(r, "student_group"); got["ell"] != 976563 || len(got) != 1 {
		t.Errorf("got %v, want ell 976563", got)
	}
	if f, ok := studentGroupField(observation.DefaultRubric().Participation); !ok || f != "student_group" {
		t.Errorf("StudentGroupField = %q, %v", f, ok)
	}
}

func TestCoverage(t *testing.T) {
	c, ok := coverage(7, 20)
	wantOK(t, "coverage 7/20", c, ok, 0.35)
	c, ok = coverage(20, 20)
	wantOK(t, "coverage 20/20", c, ok, 1)
	c, ok = coverage(0, 0)
	wantNotOK(t, "coverage of an empty roster", c, ok)
	c, ok = coverage(0, 5)
	wantOK(t, "coverage 0/5", c, ok, 0)
}

// --- incremental aggregates equal a recomputation from scratch ---

var statsGroups = []string{"ell", "non_ell", "sped"}

// randomStatsRecord is a random submitted record of the default rubric.
func randomStatsRecord(rng *rand.Rand, rv observation.RubricVersion, id int) observation.Record {
	r := observation.Record{ID: string(rune('a' + id%26)), DurationMin: 45, StartedAt: time.Unix(int64(id), 0)}
	if rng.Intn(5) > 0 {
		r.DiscussionMin = 1 + rng.Intn(40)
	}
	for _, d := range rv.Content.Dimensions {
		if rng.Intn(6) == 0 {
			r.Scores = append(r.Scores, observation.Score{Dimension: d.Key, NotObserved: true})
		} else {
			r.Scores = append(r.Scores, observation.Score{Dimension: d.Key, Level: 1 + rng.Intn(4)})
		}
	}
	for _, c := range rv.Content.TallyCategories {
		if rng.Intn(3) > 0 {
			r.Tallies = append(r.Tallies, observation.Tally{Category: c.Key, Count: rng.Intn(12)})
		}
	}
	for _, g := range statsGroups {
		if rng.Intn(4) > 0 {
			r.Participation = append(r.Participation, observation.ParticipationCount{Field: "student_group", Option: g, Count: rng.Intn(15)})
		}
		if rng.Intn(4) > 0 {
			r.Enrolment = append(r.Enrolment, observation.Enrolment{Group: g, Count: rng.Intn(20)})
		}
	}
	return r
}

// statsAgg is every accumulator a view keeps, for one dimension ("press").
type statsAgg struct {
	Level  LevelStats
	Talk   TalkStats
	Equity EquityStats
}

func (a *statsAgg) add(r observation.Record, rv observation.RubricVersion) {
	for _, s := range r.Scores {
		if s.Dimension == "press" {
			a.Level.AddScore(s)
		}
	}
	a.Talk.Add(r, rv.Content.TallyCategories)
	a.Equity.Add(r, rv.Content.Participation)
}

func (a *statsAgg) remove(r observation.Record, rv observation.RubricVersion) {
	for _, s := range r.Scores {
		if s.Dimension == "press" {
			a.Level.removeScore(s)
		}
	}
	a.Talk.Remove(r, rv.Content.TallyCategories)
	a.Equity.Remove(r, rv.Content.Participation)
}

func (a *statsAgg) merge(o statsAgg) {
	a.Level.merge(o.Level)
	a.Talk.merge(o.Talk)
	a.Equity.merge(o.Equity)
}

func (a statsAgg) clone() statsAgg {
	c := a
	c.Level.Counts = cloneMap(a.Level.Counts)
	c.Talk.Counts = cloneMap(a.Talk.Counts)
	c.Equity.Sum = cloneMap(a.Equity.Sum)
	c.Equity.N = cloneMap(a.Equity.N)
	return c
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func recompute(live []observation.Record, rv observation.RubricVersion) statsAgg {
	var a statsAgg
	for _, r := range live {
		a.add(r, rv)
	}
	return a
}

// checkDefinitions recomputes the derived statistics straight from the definitions in docs/statistics.md, with
// no accumulator: the check that the accumulators implement the definitions, not just themselves.
func checkDefinitions(t *testing.T, a statsAgg, live []observation.Record, rv observation.RubricVersion) {
	t.Helper()
	var n, sum, prof int
	var minutes, pressReasoning, teacher, press int
	ratios := map[string][]float64{}
	cats := map[string]observation.TallyCategory{}
	for _, c := range rv.Content.TallyCategories {
		cats[c.Key] = c
	}
	for _, r := range live {
		for _, s := range r.Scores {
			if s.Dimension == "press" && !s.NotObserved {
				n++
				sum += s.Level
				if s.Level >= 3 {
					prof++
				}
			}
		}
		for _, tl := range r.Tallies {
			c := cats[tl.Category]
			if r.DiscussionMin > 0 && tl.Category == "press_reasoning" {
				pressReasoning += tl.Count
			}
			if c.Speaker == observation.SpeakerTeacher {
				teacher += tl.Count
				if c.Measure == observation.MeasurePress {
					press += tl.Count
				}
			}
		}
		if r.DiscussionMin > 0 {
			minutes += r.DiscussionMin
		}
		contrib, enrol := map[string]float64{}, map[string]float64{}
		var all, total float64
		for _, p := range r.Participation {
			contrib[p.Option] += float64(p.Count)
			all += float64(p.Count)
		}
		for _, e := range r.Enrolment {
			enrol[e.Group] += float64(e.Count)
			total += float64(e.Count)
		}
		for g, e := range enrol {
			if e > 0 && all > 0 {
				ratios[g] = append(ratios[g], (contrib[g]/all)/(e/total))
			}
		}
	}
	if m, ok := a.Level.Mean(); ok != (n > 0) || ok && math.Abs(m-float64(sum)/float64(n)) > 1e-12 {
		t.Fatalf("mean %v %v, definition %d/%d", m, ok, sum, n)
	}
	if s, ok := a.Level.shareAtOrAbove(3); ok != (n > 0) || ok && math.Abs(s-float64(prof)/float64(n)) > 1e-12 {
		t.Fatalf("share %v %v, definition %d/%d", s, ok, prof, n)
	}
	if r, ok := a.Talk.ratePer10("press_reasoning"); ok != (minutes > 0) || ok && math.Abs(r-float64(pressReasoning)*10/float64(minutes)) > 1e-12 {
		t.Fatalf("rate %v %v, definition %d×10/%d", r, ok, pressReasoning, minutes)
	}
	if s, ok := a.Talk.PressShare(); ok != (teacher > 0) || ok && math.Abs(s-float64(press)/float64(teacher)) > 1e-12 {
		t.Fatalf("press share %v %v, definition %d/%d", s, ok, press, teacher)
	}
	for _, g := range statsGroups {
		rs := ratios[g]
		got, n, ok := a.Equity.Ratio(g)
		if ok != (len(rs) > 0) || n != len(rs) {
			t.Fatalf("equity %s: n %d ok %v, definition %d observations", g, n, ok, len(rs))
		}
		if ok {
			var s float64
			for _, r := range rs {
				s += r
			}
			if math.Abs(got-s/float64(len(rs))) > 1e-9 { // rounding to 1e-9 per observation
				t.Fatalf("equity %s = %v, definition %v", g, got, s/float64(len(rs)))
			}
		}
	}
}

func TestAggregatesEqualRecomputation(t *testing.T) {
	rv := observation.DefaultRubricVersion(time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC))
	rng := rand.New(rand.NewSource(7))
	for history := 0; history < 40; history++ {
		var inc statsAgg
		var live []observation.Record
		for step := 0; step < 150; step++ {
			switch op := rng.Intn(10); {
			case op < 6 || len(live) == 0: // submit
				r := randomStatsRecord(rng, rv, step)
				before := inc.clone()
				inc.add(r, rv)
				// Add then Remove returns exactly to the previous state, maps included.
				probe := inc.clone()
				probe.remove(r, rv)
				if !reflect.DeepEqual(probe, before) {
					t.Fatalf("add then remove: %+v, want %+v", probe, before)
				}
				live = append(live, r)
			case op < 8: // delete
				i := rng.Intn(len(live))
				inc.remove(live[i], rv)
				live = append(live[:i], live[i+1:]...)
			default: // amend: remove the old revision, add the new
				i := rng.Intn(len(live))
				r := randomStatsRecord(rng, rv, step)
				inc.remove(live[i], rv)
				inc.add(r, rv)
				live[i] = r
			}
			want := recompute(live, rv)
			if !reflect.DeepEqual(inc, want) {
				t.Fatalf("history %d step %d: incremental %+v\nrecomputed %+v", history, step, inc, want)
			}
		}
		checkDefinitions(t, inc, live, rv)

		// Order does not matter, and merging partial aggregates gives the whole.
		shuffled := append([]observation.Record(nil), live...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		cut := rng.Intn(len(shuffled) + 1)
		left, right := recompute(shuffled[:cut], rv), recompute(shuffled[cut:], rv)
		left.merge(right)
		if !reflect.DeepEqual(left, inc) {
			t.Fatalf("merged %+v, want %+v", left, inc)
		}
		if !inc.Level.Equal(left.Level) || !inc.Talk.Equal(left.Talk) || !inc.Equity.Equal(left.Equity) {
			t.Fatalf("Equal disagrees with DeepEqual")
		}
	}
}

// equityRatio's 128-bit arithmetic gives round(c·E·S ÷ (C·e)) half up exactly, as a rational
// number rounds, for terms of every size: those that fit and those that take the big-integer
// way, quotients too large for int64 included.
func TestEquityRatioIsExactlyRounded(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	term := func(min int64) int64 { // log-uniform over min..MaxInt64, with the edges
		switch rng.Intn(8) {
		case 0:
			return min
		case 1:
			return math.MaxInt64
		}
		v := rng.Int63n(math.MaxInt64>>rng.Intn(63)) + 1
		return max(v, min)
	}
	want := func(c, all, e, enrolled int64) int64 {
		r := new(big.Rat).SetFrac(new(big.Int).Mul(new(big.Int).Mul(big.NewInt(c), big.NewInt(enrolled)), big.NewInt(equityScale)),
			new(big.Int).Mul(big.NewInt(all), big.NewInt(e)))
		r.Add(r, big.NewRat(1, 2))
		q := new(big.Int).Quo(r.Num(), r.Denom()) // floor: both positive
		if !q.IsInt64() {
			return math.MaxInt64
		}
		return q.Int64()
	}
	cases := [][4]int64{{0, 1, 1, 1}, {1, 1, 1, 1}, {1, 3, 2, 3}, {10000, 10000, 1, 10000}, {1, 10000, 10000, 10000},
		{5, 10, 3, 9}, {1, 2, 1, 2}, {1 << 40, 1, 1, 1 << 23}, {math.MaxInt64, 1, 1, math.MaxInt64}}
	for range 200_000 {
		cases = append(cases, [4]int64{term(0), term(1), term(1), term(0)})
	}
	for _, c := range cases {
		if got, w := equityRatio(c[0], c[1], c[2], c[3]), want(c[0], c[1], c[2], c[3]); got != w {
			t.Fatalf("equityRatio(c %d, C %d, e %d, E %d) = %d, want %d", c[0], c[1], c[2], c[3], got, w)
		}
	}
}
