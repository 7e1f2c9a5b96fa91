package progress

import (
	"math"
	"math/big"
	"math/bits"
	"sort"

	"github.com/lookfor-edu/lookfor/observation"
)

// The statistics of docs/statistics.md "Definitions".
//
// The progress views keep their aggregates up to date as observations are written, so every
// accumulator here is a sum of per-observation integer terms: Add and Remove of one observation
// are exact inverses, the order of updates does not matter, and an aggregate maintained
// incrementally equals the aggregate recomputed from the raw records, bit for bit. Derived
// values (means, shares, rates, kappa) are computed from the integers when read.
//
// Remove does not check that the observation was added before: the accumulators are signed, so
// removing something never added leaves negative counts, and the derived values report ok=false
// while a count they divide by is not positive. Callers add and remove submitted, non-deleted
// records only, and an amendment is Remove(old revision) followed by Add(new revision).
//
// Maps in the accumulators never hold zero entries and are nil when empty, so an accumulator
// returned to its earlier contents by Add/Remove is also reflect.DeepEqual to its earlier value;
// the Equal methods compare contents regardless.

// ProficiencyLevelFor returns the proficiency level a district uses with a rubric: the
// district's own when set, otherwise the rubric's.
func ProficiencyLevelFor(s observation.DistrictSettings, c observation.RubricContent) int {
	if s.ProficiencyLevel != 0 {
		return s.ProficiencyLevel
	}
	return c.ProficiencyLevel
}

// LevelStats aggregates the scores of one dimension.
type LevelStats struct {
	N           int         // scored observations (not "not observed")
	Counts      map[int]int // scored observations by level
	NotObserved int         // observations scored "not observed"; excluded from N and the means
	Sum         int         // sum of the levels of the scored observations
}

// Add counts one observation's score: a level, or "not observed".
func (s *LevelStats) Add(level int, notObserved bool) { s.update(level, notObserved, 1) }

// Remove takes back one observation's score added before.
func (s *LevelStats) Remove(level int, notObserved bool) { s.update(level, notObserved, -1) }

// AddScore adds a record's score.
func (s *LevelStats) AddScore(sc observation.Score) { s.update(sc.Level, sc.NotObserved, 1) }

// removeScore removes a record's score.
func (s *LevelStats) removeScore(sc observation.Score) { s.update(sc.Level, sc.NotObserved, -1) }

func (s *LevelStats) update(level int, notObserved bool, d int) {
	if notObserved {
		s.NotObserved += d
		return
	}
	s.N += d
	s.Sum += d * level
	bump(&s.Counts, level, d)
}

// merge adds all the observations of o.
func (s *LevelStats) merge(o LevelStats) {
	s.N += o.N
	s.Sum += o.Sum
	s.NotObserved += o.NotObserved
	for l, c := range o.Counts {
		bump(&s.Counts, l, c)
	}
}

// Mean is the mean level of the scored observations; ok is false when there are none.
func (s LevelStats) Mean() (float64, bool) {
	if s.N <= 0 {
		return 0, false
	}
	return float64(s.Sum) / float64(s.N), true
}

// shareAtOrAbove is the share (0..1) of scored observations at or above level (the proficiency
// level for "share proficient"); ok is false when there are no scored observations.
func (s LevelStats) shareAtOrAbove(level int) (float64, bool) {
	if s.N <= 0 {
		return 0, false
	}
	at := 0
	for l, c := range s.Counts {
		if l >= level {
			at += c
		}
	}
	return float64(at) / float64(s.N), true
}

// Equal reports whether s and o hold the same counts.
func (s LevelStats) Equal(o LevelStats) bool {
	return s.N == o.N && s.Sum == o.Sum && s.NotObserved == o.NotObserved && countsEqual(s.Counts, o.Counts)
}

// TalkStats aggregates the talk-move tallies of observations.
//
// Rates per 10 minutes are pooled: the counts of all timed observations × 10 ÷ their discussion
// minutes. Observations with no discussion minutes are excluded from both the counts and the
// minutes (docs/statistics.md), but their tallies still count in the press and reasoning shares, which
// are defined over moves, not time. Tallies of categories the rubric does not define are
// ignored.
type TalkStats struct {
	Observations      int            // observations added
	TimedObservations int            // observations with discussion minutes > 0: the n of the rates
	Minutes           int            // discussion minutes of the timed observations
	Counts            map[string]int // tally counts of the timed observations, by category key
	TeacherMoves      int            // teacher tallies of all observations
	PressMoves        int            // teacher tallies in press categories (accuracy, reasoning)
	StudentMoves      int            // student tallies of all observations
	ReasoningMoves    int            // student tallies in reasoning categories (evidence or reasoning)
}

// Add counts a record's tallies; cats are the tally categories of the record's rubric version.
func (s *TalkStats) Add(r observation.Record, cats []observation.TallyCategory) {
	s.update(&r, cats, 1)
}

// Remove takes back a record added before with the same categories.
func (s *TalkStats) Remove(r observation.Record, cats []observation.TallyCategory) {
	s.update(&r, cats, -1)
}

// tallyCategory is the first of cats with the key, or nil. A rubric has a handful of
// categories: a scan costs less than the map it would take to build per record.
func tallyCategory(cats []observation.TallyCategory, key string) *observation.TallyCategory {
	for i := range cats {
		if cats[i].Key == key {
			return &cats[i]
		}
	}
	return nil
}

func (s *TalkStats) update(r *observation.Record, cats []observation.TallyCategory, d int) {
	timed := r.DiscussionMin > 0
	s.Observations += d
	if timed {
		s.TimedObservations += d
		s.Minutes += d * r.DiscussionMin
	}
	for _, t := range r.Tallies {
		c := tallyCategory(cats, t.Category)
		if c == nil {
			continue
		}
		n := d * t.Count
		if timed {
			bump(&s.Counts, t.Category, n)
		}
		switch c.Speaker {
		case observation.SpeakerTeacher:
			s.TeacherMoves += n
			if c.Measure == observation.MeasurePress {
				s.PressMoves += n
			}
		case observation.SpeakerStudent:
			s.StudentMoves += n
			if c.Measure == observation.MeasureReasoning {
				s.ReasoningMoves += n
			}
		}
	}
}

// merge adds all the observations of o.
func (s *TalkStats) merge(o TalkStats) {
	s.Observations += o.Observations
	s.TimedObservations += o.TimedObservations
	s.Minutes += o.Minutes
	for k, c := range o.Counts {
		bump(&s.Counts, k, c)
	}
	s.TeacherMoves += o.TeacherMoves
	s.PressMoves += o.PressMoves
	s.StudentMoves += o.StudentMoves
	s.ReasoningMoves += o.ReasoningMoves
}

// ratePer10 is the category's tally count × 10 ÷ discussion minutes; ok is false when no
// observation had discussion minutes.
func (s TalkStats) ratePer10(category string) (float64, bool) {
	if s.Minutes <= 0 {
		return 0, false
	}
	return float64(s.Counts[category]) * 10 / float64(s.Minutes), true
}

// PressShare is (pressing for accuracy + pressing for reasoning) ÷ all teacher moves; ok is
// false when there are no teacher moves.
func (s TalkStats) PressShare() (float64, bool) { return share(s.PressMoves, s.TeacherMoves) }

// ReasoningShare is providing evidence or reasoning ÷ all student moves; ok is false when there
// are no student moves.
func (s TalkStats) ReasoningShare() (float64, bool) { return share(s.ReasoningMoves, s.StudentMoves) }

// Equal reports whether s and o hold the same counts.
func (s TalkStats) Equal(o TalkStats) bool {
	return s.Observations == o.Observations && s.TimedObservations == o.TimedObservations &&
		s.Minutes == o.Minutes && s.TeacherMoves == o.TeacherMoves && s.PressMoves == o.PressMoves &&
		s.StudentMoves == o.StudentMoves && s.ReasoningMoves == o.ReasoningMoves &&
		countsEqual(s.Counts, o.Counts)
}

// equityScale is the fixed-point scale of EquityStats sums: a ratio r is stored as the integer
// round(r × equityScale).
const equityScale = 1_000_000_000

// EquityStats aggregates participation equity ratios by student group.
//
// An observation's ratio for group g is (c_g ÷ C) ÷ (e_g ÷ E) = c_g·E ÷ (C·e_g), with c_g the
// contributions coded to g on the district-defined participation field (the rubric's
// student_group), C all contributions coded on that field, e_g the enrolment of g and E the total
// enrolment of the record. It is left out for g when e_g is 0 or C is 0 (so a group that is
// present but never speaks counts with ratio 0, and contributions of a group with no enrolment
// count only in C). Records with a negative count are left out entirely. The view's ratio is the
// mean over the observations included for g.
//
// Representation: each per-observation ratio is rounded once, exactly (integer arithmetic,
// half up), to a multiple of 1/equityScale, and Sum holds the int64 sum of those integers. The
// rounding depends only on the record, so Add and Remove are exact inverses and any order of
// updates gives the same sum; the mean is within 0.5e-9 of the mean of the exact ratios. A
// float64 sum would drift ((a+b)-b ≠ a), so an incrementally maintained value would not equal a
// recomputation; an exact big.Rat sum would have a denominator growing with every distinct
// C·e_g (their lcm), with no bound on the size stored per cell. The int64 sum holds 9.2e9
// observations at parity (ratio 1), and 9.2 million at an extreme ratio of 1000.
type EquityStats struct {
	Sum map[string]int64 // by group: Σ round(ratio × equityScale) over the included observations
	N   map[string]int   // by group: included observations
	// Coded counts the observations with participation coding: at least one contribution coded
	// on the district-defined field (C > 0), whether or not any group is enrolled. It is the
	// view's equity_observations, and the total of complementary suppression across groups.
	Coded int
}

// Add counts a record's equity ratios; fields are the participation fields of the record's
// rubric version (the district-defined one is used).
func (s *EquityStats) Add(r observation.Record, fields []observation.ParticipationField) {
	s.update(&r, fields, 1)
}

// Remove takes back a record added before with the same fields.
func (s *EquityStats) Remove(r observation.Record, fields []observation.ParticipationField) {
	s.update(&r, fields, -1)
}

func (s *EquityStats) update(r *observation.Record, fields []observation.ParticipationField, d int) {
	field, ok := studentGroupField(fields)
	if !ok {
		return
	}
	if equityCoded(*r, field) {
		s.Coded += d
	}
	for g, q := range equityRatios(*r, field) {
		bump(&s.Sum, g, int64(d)*q)
		bump(&s.N, g, d)
	}
}

// merge adds all the observations of o.
func (s *EquityStats) merge(o EquityStats) {
	for g, q := range o.Sum {
		bump(&s.Sum, g, q)
	}
	for g, n := range o.N {
		bump(&s.N, g, n)
	}
	s.Coded += o.Coded
}

// Ratio is the group's mean equity ratio (1.0 is parity) and the number of observations it is
// the mean of; ok is false when no observation counted for the group.
func (s EquityStats) Ratio(group string) (float64, int, bool) {
	n := s.N[group]
	if n <= 0 {
		return 0, n, false
	}
	return float64(s.Sum[group]) / (float64(n) * equityScale), n, true
}

// groups returns the groups with at least one included observation, sorted.
func (s EquityStats) groups() []string {
	gs := make([]string, 0, len(s.N))
	for g, n := range s.N {
		if n > 0 {
			gs = append(gs, g)
		}
	}
	sort.Strings(gs)
	return gs
}

// Equal reports whether s and o hold the same sums and counts.
func (s EquityStats) Equal(o EquityStats) bool {
	return countsEqual(s.Sum, o.Sum) && countsEqual(s.N, o.N) && s.Coded == o.Coded
}

// studentGroupField returns the key of the district-defined participation field (the speaker's
// student group), if the rubric has one.
func studentGroupField(fields []observation.ParticipationField) (string, bool) {
	for _, f := range fields {
		if f.DistrictDefined {
			return f.Key, true
		}
	}
	return "", false
}

// equityCoded reports whether a record has participation coding: at least one contribution coded
// on groupField, and no negative count (such a record is left out, as by equityRatios).
func equityCoded(r observation.Record, groupField string) bool {
	var all int64
	for _, p := range r.Participation {
		if p.Field != groupField {
			continue
		}
		if p.Count < 0 {
			return false
		}
		all += int64(p.Count)
	}
	for _, e := range r.Enrolment {
		if e.Count < 0 {
			return false
		}
	}
	return all > 0
}

// equityRatios returns one record's equity ratio for each group it includes (see EquityStats),
// as round(ratio × equityScale). groupField is the key of the district-defined participation
// field. Repeated entries for one group or option are summed.
func equityRatios(r observation.Record, groupField string) map[string]int64 {
	contrib := map[string]int64{}
	var all, enrolled int64
	for _, p := range r.Participation {
		if p.Field != groupField {
			continue
		}
		if p.Count < 0 {
			return nil
		}
		contrib[p.Option] += int64(p.Count)
		all += int64(p.Count)
	}
	enrol := map[string]int64{}
	for _, e := range r.Enrolment {
		if e.Count < 0 {
			return nil
		}
		enrol[e.Group] += int64(e.Count)
		enrolled += int64(e.Count)
	}
	if all == 0 {
		return nil
	}
	out := make(map[string]int64, len(enrol))
	for g, e := range enrol {
		if e != 0 {
			out[g] = equityRatio(contrib[g], all, e, enrolled)
		}
	}
	return out
}

// equityRatio is round(c·E·S ÷ (C·e)) half up, S = equityScale: the ratio of a group's share
// of contributions c of C to its share of enrolment e of E, all non-negative, C and e not 0.
// Rounded half up, it is ⌊(2·c·E·S + C·e) ÷ (2·C·e)⌋, computed in 128 bits when the terms fit
// (always, with counts below MaxRecordCount), else with big integers; MaxInt64 when the
// quotient does not fit.
func equityRatio(c, all, e, enrolled int64) int64 {
	ceHi, ce := bits.Mul64(uint64(c), uint64(enrolled))
	deHi, de := bits.Mul64(uint64(all), uint64(e))
	if ceHi == 0 && deHi == 0 && de < 1<<62 {
		hi, lo := bits.Mul64(ce, 2*equityScale)
		lo, carry := bits.Add64(lo, de, 0)
		hi += carry // hi < 2·S, so this does not overflow
		if den := 2 * de; hi < den {
			if q, _ := bits.Div64(hi, lo, den); q <= math.MaxInt64 {
				return int64(q)
			}
		}
		return math.MaxInt64
	}
	var num, den, q big.Int
	num.SetInt64(c)
	num.Mul(&num, big.NewInt(enrolled))
	num.Mul(&num, big.NewInt(2*equityScale))
	den.SetInt64(all)
	den.Mul(&den, big.NewInt(e))
	num.Add(&num, &den)
	den.Lsh(&den, 1)
	q.Quo(&num, &den)
	if q.IsInt64() {
		return q.Int64()
	}
	return math.MaxInt64
}

// coverage is observed classrooms ÷ classrooms on the roster in scope; ok is false for an empty
// roster. Callers count only rostered classrooms in scope with at least one submitted
// observation in the period, so the value is at most 1.
func coverage(observedClassrooms, rosterClassrooms int) (float64, bool) {
	if rosterClassrooms <= 0 || observedClassrooms < 0 {
		return 0, false
	}
	return float64(observedClassrooms) / float64(rosterClassrooms), true
}

func share(part, whole int) (float64, bool) {
	if whole <= 0 {
		return 0, false
	}
	return float64(part) / float64(whole), true
}

// bump adds d to m[k], deleting the entry when it becomes 0 and the map when it becomes empty.
func bump[K comparable, V int | int64](m *map[K]V, k K, d V) {
	if d == 0 {
		return
	}
	if *m == nil {
		*m = make(map[K]V)
	}
	v := (*m)[k] + d
	if v != 0 {
		(*m)[k] = v
		return
	}
	delete(*m, k)
	if len(*m) == 0 {
		*m = nil
	}
}

// countsEqual compares two count maps, a missing key counting as 0.
func countsEqual[K comparable, V int | int64](a, b map[K]V) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}
