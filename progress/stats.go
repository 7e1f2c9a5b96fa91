package progress

import (
	"fmt"
	"math"
	"math/big"
	"sort"

	"github.com/lookfor-edu/lookfor/observation"
)

// Statistics of DOMAIN.md "Statistics (exact definitions)".
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
// minutes (DOMAIN.md), but their tallies still count in the press and reasoning shares, which
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

func (s *TalkStats) update(r *observation.Record, cats []observation.TallyCategory, d int) {
	byKey := make(map[string]*observation.TallyCategory, len(cats))
	for i := range cats {
		if _, dup := byKey[cats[i].Key]; !dup {
			byKey[cats[i].Key] = &cats[i]
		}
	}
	timed := r.DiscussionMin > 0
	s.Observations += d
	if timed {
		s.TimedObservations += d
		s.Minutes += d * r.DiscussionMin
	}
	for _, t := range r.Tallies {
		c, ok := byKey[t.Category]
		if !ok {
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
	return countsEqual(s.Sum, o.Sum) && countsEqual(s.N, o.N)
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
	var num, den, q big.Int
	for g, e := range enrol {
		if e == 0 {
			continue
		}
		// round(c·E·S ÷ (C·e)) half up = ⌊(2·c·E·S + C·e) ÷ (2·C·e)⌋, all terms non-negative.
		num.SetInt64(contrib[g])
		num.Mul(&num, big.NewInt(enrolled))
		num.Mul(&num, big.NewInt(2*equityScale))
		den.SetInt64(all)
		den.Mul(&den, big.NewInt(e))
		num.Add(&num, &den)
		den.Lsh(&den, 1)
		q.Quo(&num, &den)
		if q.IsInt64() {
			out[g] = q.Int64()
		} else {
			out[g] = math.MaxInt64 // unreachable with counts below MaxRecordCount
		}
	}
	return out
}

// Coverage is observed classrooms ÷ classrooms on the roster in scope; ok is false for an empty
// roster. Callers count only rostered classrooms in scope with at least one submitted
// observation in the period, so the value is at most 1.
func coverage(observedClassrooms, rosterClassrooms int) (float64, bool) {
	if rosterClassrooms <= 0 || observedClassrooms < 0 {
		return 0, false
	}
	return float64(observedClassrooms) / float64(rosterClassrooms), true
}

// Calibration targets a district starts with (DOMAIN.md).
const (
	defaultKappaTarget    = 0.60
	defaultAdjacentTarget = 0.85
)

// Pair is one dimension of a co-observed lesson: the two observers' levels (1..4 on the default
// rubric); 0 means the observer scored "not observed".
type pair struct {
	A, B int
}

func (p pair) notObserved() bool { return p.A == 0 || p.B == 0 }

// agreement returns the exact agreement (a = b) and adjacent agreement (|a-b| <= 1) as shares
// (0..1) of the n pairs in which both observers scored a level; pairs with a "not observed" (0)
// are excluded. Both shares are 0 when n is 0.
func agreement(pairs []pair) (exact, adjacent float64, n int) {
	var e, a int
	for _, p := range pairs {
		if p.notObserved() {
			continue
		}
		n++
		switch d := p.A - p.B; {
		case d == 0:
			e++
			a++
		case d == 1 || d == -1:
			a++
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	return float64(e) / float64(n), float64(a) / float64(n), n
}

// quadraticKappa is Cohen's kappa with quadratic weights w_ij = 1 - (i-j)²/(k-1)² over the
// k = maxLevel-minLevel+1 levels: (Po - Pe) ÷ (1 - Pe) with Po = Σ w_ij·p_ij and Pe =
// Σ w_ij·p_i.·p_.j. Pairs with a "not observed" (0) or a level outside minLevel..maxLevel are
// excluded. ok is false when there are fewer than two levels, no pairs, or Pe is 1 (both
// observers used one and the same level throughout, so kappa is undefined).
func quadraticKappa(pairs []pair, minLevel, maxLevel int) (float64, bool) {
	k := newKappaStats(minLevel, maxLevel)
	for _, p := range pairs {
		k.Add(p)
	}
	return k.Kappa()
}

// kappaStats accumulates co-observed pairs of one dimension (or observer) in a confusion matrix,
// for incremental maintenance of agreement and quadratic-weighted kappa. A copy shares the
// matrix with the original; use Clone for an independent copy.
type kappaStats struct {
	MinLevel, MaxLevel int
	// Confusion[a-MinLevel][b-MinLevel] counts pairs with levels (a, b).
	Confusion [][]int
	// Excluded counts pairs left out: a "not observed" or a level outside MinLevel..MaxLevel.
	Excluded int
}

// newKappaStats returns an empty accumulator for levels minLevel..maxLevel. The zero kappaStats
// is usable too and means levels 1..4.
func newKappaStats(minLevel, maxLevel int) kappaStats {
	k := kappaStats{MinLevel: minLevel, MaxLevel: maxLevel}
	k.init()
	return k
}

func (k *kappaStats) init() {
	if k.MinLevel == 0 && k.MaxLevel == 0 {
		k.MinLevel, k.MaxLevel = 1, 4
	}
	if n := k.MaxLevel - k.MinLevel + 1; k.Confusion == nil && n > 0 {
		k.Confusion = make([][]int, n)
		for i := range k.Confusion {
			k.Confusion[i] = make([]int, n)
		}
	}
}

// Clone returns a copy that shares nothing with k.
func (k kappaStats) Clone() kappaStats {
	c := k
	if k.Confusion != nil {
		c.Confusion = make([][]int, len(k.Confusion))
		for i, row := range k.Confusion {
			c.Confusion[i] = append([]int(nil), row...)
		}
	}
	return c
}

// Add counts one pair.
func (k *kappaStats) Add(p pair) { k.update(p, 1) }

// Remove takes back one pair added before.
func (k *kappaStats) Remove(p pair) { k.update(p, -1) }

func (k *kappaStats) update(p pair, d int) {
	k.init()
	if p.notObserved() || p.A < k.MinLevel || p.A > k.MaxLevel || p.B < k.MinLevel || p.B > k.MaxLevel {
		k.Excluded += d
		return
	}
	k.Confusion[p.A-k.MinLevel][p.B-k.MinLevel] += d
}

// merge adds all the pairs of o, which must cover the same levels.
func (k *kappaStats) merge(o kappaStats) error {
	k.init()
	o.init()
	if k.MinLevel != o.MinLevel || k.MaxLevel != o.MaxLevel {
		return fmt.Errorf("observation: merging kappa stats of levels %d..%d into %d..%d", o.MinLevel, o.MaxLevel, k.MinLevel, k.MaxLevel)
	}
	for i, row := range o.Confusion {
		for j, c := range row {
			k.Confusion[i][j] += c
		}
	}
	k.Excluded += o.Excluded
	return nil
}

// N is the number of pairs counted (not excluded).
func (k kappaStats) N() int {
	n := 0
	for _, row := range k.Confusion {
		for _, c := range row {
			n += c
		}
	}
	return n
}

// Agreement returns the exact and adjacent agreement shares of the counted pairs, as agreement.
func (k kappaStats) Agreement() (exact, adjacent float64, n int) {
	var e, a int
	for i, row := range k.Confusion {
		for j, c := range row {
			n += c
			switch i - j {
			case 0:
				e += c
				a += c
			case 1, -1:
				a += c
			}
		}
	}
	if n <= 0 {
		return 0, 0, n
	}
	return float64(e) / float64(n), float64(a) / float64(n), n
}

// Kappa is the quadratic-weighted kappa of the counted pairs, as quadraticKappa.
//
// It is computed exactly: with the disagreement weights d_ij = (i-j)² (kappa does not change
// when the weights are scaled, and 1 - w_ij = d_ij/(k-1)²), kappa = 1 - n·Σd_ij·O_ij ÷
// Σd_ij·R_i·C_j for the confusion counts O, row sums R, column sums C and n pairs; both sums are
// integers, and the quotient is rounded to float64 once. So values on a band boundary (0.6 for
// 3/5) are exact, and kappa is exactly symmetric in the two observers.
func (k kappaStats) Kappa() (float64, bool) {
	n := len(k.Confusion)
	if n < 2 {
		return 0, false
	}
	rows, cols := make([]int64, n), make([]int64, n)
	var total, do int64
	for i, row := range k.Confusion {
		if len(row) != n {
			return 0, false
		}
		for j, c := range row {
			if c < 0 {
				return 0, false
			}
			rows[i] += int64(c)
			cols[j] += int64(c)
			total += int64(c)
			do += int64((i-j)*(i-j)) * int64(c)
		}
	}
	if total == 0 {
		return 0, false
	}
	var de, t big.Int
	for i := range rows {
		for j := range cols {
			t.SetInt64(rows[i])
			t.Mul(&t, big.NewInt(cols[j]*int64((i-j)*(i-j))))
			de.Add(&de, &t)
		}
	}
	if de.Sign() == 0 {
		return 0, false
	}
	num := new(big.Int).Mul(big.NewInt(total), big.NewInt(do))
	r := new(big.Rat).SetFrac(num, &de)
	r.Sub(big.NewRat(1, 1), r)
	f, _ := r.Float64()
	return f, true
}

// Equal reports whether k and o cover the same levels with the same counts.
func (k kappaStats) Equal(o kappaStats) bool {
	k.init()
	o.init()
	if k.MinLevel != o.MinLevel || k.MaxLevel != o.MaxLevel || k.Excluded != o.Excluded || len(k.Confusion) != len(o.Confusion) {
		return false
	}
	for i := range k.Confusion {
		if len(k.Confusion[i]) != len(o.Confusion[i]) {
			return false
		}
		for j := range k.Confusion[i] {
			if k.Confusion[i][j] != o.Confusion[i][j] {
				return false
			}
		}
	}
	return true
}

// Kappa bands of Landis and Koch (1977).
const (
	KappaPoor          = "poor"           // below 0: less than chance agreement
	KappaSlight        = "slight"         // 0 to 0.20
	KappaFair          = "fair"           // above 0.20 to 0.40
	KappaModerate      = "moderate"       // above 0.40 to 0.60
	KappaSubstantial   = "substantial"    // above 0.60 to 0.80
	KappaAlmostPerfect = "almost_perfect" // above 0.80
)

// kappaBand names the Landis-Koch band of a kappa value. DOMAIN.md lists the bands with
// two-decimal bounds (< 0.20 slight, 0.21-0.40 fair, …, > 0.80 almost perfect), which leave
// values such as 0.205 unassigned; here every band includes its upper bound and excludes its
// lower one, as in Landis and Koch's table (0.00-0.20 slight, 0.21-0.40 fair, …): 0.20 is
// slight, 0.205 fair, 0.40 fair, 0.60 moderate, 0.80 substantial, 0.8000001 almost perfect.
// Values below 0 are "poor" (Landis and Koch's "< 0.00 poor"). NaN has no band ("").
func kappaBand(k float64) string {
	switch {
	case math.IsNaN(k):
		return ""
	case k < 0:
		return KappaPoor
	case k <= 0.20:
		return KappaSlight
	case k <= 0.40:
		return KappaFair
	case k <= 0.60:
		return KappaModerate
	case k <= 0.80:
		return KappaSubstantial
	}
	return KappaAlmostPerfect
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
