// This file is a little over our usual ~600 lines on purpose: the aggregate keys, the deltas and
// the co-observation rule that decides which record of a group counts are one set of rules, kept
// together so that a change to one is made beside the others.

package progress

import (
	"sort"
	"strconv"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// Progress aggregates (docs/statistics.md "What counts", docs/architecture.md "Storage
// conventions").
//
// The progress views never read raw records. Every write of an observation (submit, amendment,
// deletion, conflict resolution, bulk load) changes two kinds of aggregate rows in the same
// transaction, by a Delta computed here from the record's version before and after:
//
//   - cells: one row per (period, site, classroom, teacher, rubric) for each period kind the
//     record falls in (school year, term, month, ISO week, the district's named window and the
//     day; month and day rows together cover any run of days, for periods in progress),
//     holding Metrics: observations, scores by dimension, rubric version and level, talk-move
//     tallies and participation-equity sums;
//   - pairs: one row per (period, site, observer pair, rubric) of co-observed lessons, holding the
//     confusion counts of the two observers' levels per dimension.
//
// A co-observed lesson counts once in cells: of the counted records sharing a
// co-observation key, only the first submitted (FirstOfGroup); all of them count in pairs, two
// records of one lesson making a pair. ChangeDelta moves a group's contribution from its first
// member before a write to its first member after it.
//
// Every metric is a sum of per-record integers (see stats.go), so adding a record and removing it
// again restores every row exactly, and the rows maintained write by write equal the rows
// recomputed from the raw records (Recompute). Scores are kept per rubric version; the
// views group versions into comparable series when they read (see RubricSeries), so publishing a
// new version never invalidates a stored row.

// Metric names. Dimension, category and group keys match keyPattern, so they never contain the
// separator.
const (
	metricSep          = "|"
	MetricObservations = "n" // counted observations in the cell (a co-observed lesson once); co-observed pairs in a pair row
	metricLevel        = "d" // d|<dimension>|<version>|<level>, level "no" for "not observed"
	metricTalk         = "t" // t|obs, t|timed, t|min, t|c|<category>, t|tm, t|pm, t|sm, t|rm
	metricEquity       = "e" // e|s|<group> (Σ ratio × equityScale), e|n|<group>, e|obs (observations with participation coding)
	metricPair         = "c" // c|<dimension>|<version>|<level a>|<level b>, level 0 for "not observed"
	notObservedKey     = "no"
)

// addRow adds sign × m to rows[k].
func addRow[K comparable](rows map[K]Metrics, k K, m Metrics, sign int64) {
	c := rows[k]
	c.Add(m, sign) // a new row gets storage of its own
	if len(c) == 0 {
		c = nil
	}
	rows[k] = c
}

// DimVersion names the scores of one dimension recorded on one rubric version.
type DimVersion struct {
	Dimension string
	Version   int
}

// Levels returns the level statistics of every dimension and version in m.
func (m Metrics) Levels() map[DimVersion]LevelStats {
	out := map[DimVersion]LevelStats{}
	for k, v := range m.All() {
		parts := strings.Split(k, metricSep)
		if len(parts) != 4 || parts[0] != metricLevel || v == 0 {
			continue
		}
		ver, err := strconv.Atoi(parts[2])
		if err != nil {
			continue
		}
		dv := DimVersion{parts[1], ver}
		s := out[dv]
		if parts[3] == notObservedKey {
			s.NotObserved += int(v)
		} else if level, err := strconv.Atoi(parts[3]); err == nil {
			s.N += int(v)
			s.Sum += level * int(v)
			bump(&s.Counts, level, int(v))
		}
		out[dv] = s
	}
	return out
}

// Talk returns the talk-move statistics in m.
func (m Metrics) Talk() TalkStats {
	var t TalkStats
	for k, v := range m.All() {
		if rest, ok := strings.CutPrefix(k, metricTalk+metricSep); ok {
			t.addMetric(rest, int(v))
		}
	}
	return t
}

// addMetric adds the talk counter named rest (a metric name without its "t|" prefix).
func (t *TalkStats) addMetric(rest string, n int) {
	switch rest {
	case "obs":
		t.Observations += n
	case "timed":
		t.TimedObservations += n
	case "min":
		t.Minutes += n
	case "tm":
		t.TeacherMoves += n
	case "pm":
		t.PressMoves += n
	case "sm":
		t.StudentMoves += n
	case "rm":
		t.ReasoningMoves += n
	default:
		if cat, ok := strings.CutPrefix(rest, "c"+metricSep); ok {
			bump(&t.Counts, cat, n)
		}
	}
}

// Equity returns the participation-equity statistics in m.
func (m Metrics) Equity() EquityStats {
	var e EquityStats
	for k, v := range m.All() {
		if rest, ok := strings.CutPrefix(k, metricEquity+metricSep); ok {
			e.addMetric(rest, v)
		}
	}
	return e
}

// addMetric adds the equity counter named rest (a metric name without its "e|" prefix).
func (e *EquityStats) addMetric(rest string, v int64) {
	if rest == "obs" {
		e.Coded += int(v)
	} else if g, ok := strings.CutPrefix(rest, "s"+metricSep); ok {
		bump(&e.Sum, g, v)
	} else if g, ok := strings.CutPrefix(rest, "n"+metricSep); ok {
		bump(&e.N, g, int(v))
	}
}

// levelPair is one co-observed pair's levels of a dimension (0 for "not observed").
type levelPair struct{ A, B int }

// confusions returns the co-observation confusion counts of a pair row, by dimension and
// version: levels of observer A, levels of observer B, count.
func (m Metrics) confusions() map[DimVersion]map[levelPair]int {
	out := map[DimVersion]map[levelPair]int{}
	for k, v := range m.All() {
		parts := strings.Split(k, metricSep)
		if len(parts) != 5 || parts[0] != metricPair || v == 0 {
			continue
		}
		ver, err1 := strconv.Atoi(parts[2])
		a, err2 := strconv.Atoi(parts[3])
		b, err3 := strconv.Atoi(parts[4])
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		dv := DimVersion{parts[1], ver}
		if out[dv] == nil {
			out[dv] = map[levelPair]int{}
		}
		out[dv][levelPair{a, b}] += int(v)
	}
	return out
}

// CellKey names one cell row.
type CellKey struct {
	DistrictID  string
	Kind        PeriodKind
	PeriodKey   string
	SiteID      string
	ClassroomID string
	TeacherID   string
	RubricID    string
}

// PairKey names one pair row: co-observed lessons of two observers (ObserverA < ObserverB).
type PairKey struct {
	DistrictID string
	Kind       PeriodKind
	PeriodKey  string
	SiteID     string
	ObserverA  string
	ObserverB  string
	RubricID   string
}

// CellRow is a cell row as stored.
type CellRow struct {
	CellKey
	M Metrics
	// Rev is the version of the stored row (0 for a row that is only in the log of pushes'
	// deltas, or not stored at all). M is nil when ProgressDistrictRows sent the row without its
	// counters: the caller holds a sum of it.
	Rev     int64
	sum     *summary // the summary of the rows this one stands for (rowcache.go), never changed
	foldSeq uint64   // the held fold sum is, if any
}

// PairRow is a pair row as stored.
type PairRow struct {
	PairKey
	M Metrics
}

// Delta is a change to the aggregate rows: counters to add, by row.
type Delta struct {
	Cells map[CellKey]Metrics
	Pairs map[PairKey]Metrics
	// Contributions, in a delta from ChangeContributions, hold the records' cell counters
	// instead of Cells (see Contribution).
	Contributions []Contribution
	collect       bool
	days          dayPeriods // the periods of the days placed
}

// NewDelta returns an empty delta.
func NewDelta() *Delta {
	return &Delta{Cells: map[CellKey]Metrics{}, Pairs: map[PairKey]Metrics{}}
}

// NewDeltaSize returns an empty delta with room for about cells cell rows: a delta that will
// grow that large (a bulk load's) is not rehashed on the way.
func NewDeltaSize(cells int) *Delta {
	return &Delta{Cells: make(map[CellKey]Metrics, cells), Pairs: map[PairKey]Metrics{}}
}

// Counted reports whether a stored observation counts in the progress views: submitted and not
// deleted. Drafts and tombstones count nowhere.
func Counted(o observation.StoredObservation) bool {
	return o.Status == observation.RecordSubmitted && !o.Deleted
}

// RecordMetrics are the counters one submitted record adds to each of its cells.
func RecordMetrics(r observation.Record, content observation.RubricContent) Metrics {
	var t TalkStats
	t.Add(r, content.TallyCategories)
	var e EquityStats
	e.Add(r, content.Participation)
	var m metricsBuilder
	m.Grow(10 + len(r.Scores) + len(t.Counts) + len(e.Sum) + len(e.N))
	m.Add(keyObservations, 1)
	v := strconv.Itoa(r.RubricVersion)
	for _, s := range r.Scores {
		if !safeKey(s.Dimension) {
			continue
		}
		level := notObservedKey
		if !s.NotObserved {
			level = strconv.Itoa(s.Level)
		}
		m.bumpJoin(1, metricLevel+metricSep, s.Dimension, metricSep, v, metricSep, level)
	}
	// The keys are whole constants, so that only a category's key is put together here.
	const talk = metricTalk + metricSep
	m.bump(talk+"obs", int64(t.Observations))
	m.bump(talk+"timed", int64(t.TimedObservations))
	m.bump(talk+"min", int64(t.Minutes))
	m.bump(talk+"tm", int64(t.TeacherMoves))
	m.bump(talk+"pm", int64(t.PressMoves))
	m.bump(talk+"sm", int64(t.StudentMoves))
	m.bump(talk+"rm", int64(t.ReasoningMoves))
	for cat, n := range t.Counts {
		if safeKey(cat) {
			m.bumpJoin(int64(n), talk+"c"+metricSep, cat)
		}
	}
	for g, s := range e.Sum {
		if safeKey(g) {
			m.bumpJoin(s, metricEquity+metricSep+"s"+metricSep, g)
		}
	}
	for g, n := range e.N {
		if safeKey(g) {
			m.bumpJoin(int64(n), metricEquity+metricSep+"n"+metricSep, g)
		}
	}
	m.bump(metricEquity+metricSep+"obs", int64(e.Coded))
	return m.Metrics()
}

// metricsBuilder is a MetricsBuilder that takes names.
type metricsBuilder struct {
	MetricsBuilder
	scratch [128]byte // where bumpJoin puts a name together
}

func (b *metricsBuilder) bump(name string, d int64) {
	if d != 0 {
		b.Add(KeyOf(name), d)
	}
}

// bumpJoin is bump of the name parts make, put together in b's scratch space: a record's names
// are looked up, not kept (KeyOf keeps a copy of a new one), so none is allocated.
func (b *metricsBuilder) bumpJoin(d int64, parts ...string) {
	if d == 0 {
		return
	}
	name := b.scratch[:0]
	for _, p := range parts {
		name = append(name, p...)
	}
	b.Add(keyOfBytes(name), d)
}

func safeKey(k string) bool { return k != "" && !strings.Contains(k, metricSep) }

// Record adds sign × the contribution of one counted record (see Counted) to its cells;
// content is the record's rubric version, s its district's settings.
func (d *Delta) Record(r observation.Record, content observation.RubricContent, s observation.DistrictSettings, sign int64) {
	m := RecordMetrics(r, content)
	if d.collect {
		d.contribute(r, m, s, sign)
	} else {
		for _, p := range d.days.of(r.StartedAt, s) {
			k := CellKey{DistrictID: r.DistrictID, Kind: p.Kind, PeriodKey: p.Key, SiteID: r.SiteID, ClassroomID: r.ClassroomID,
				TeacherID: r.TeacherID, RubricID: r.RubricID}
			addRow(d.Cells, k, m, sign)
		}
	}
}

// Group adds sign × the co-observed pairs of one co-observation group: the counted records that
// share a CoObservation key. Two records of the group are a pair when they are one lesson (the
// same classroom and UTC day), by different observers, on the same rubric; the pair is oriented
// so that ObserverA < ObserverB and belongs to the lesson's period and to observer A's site. A
// dimension both scored is counted under the later of the two rubric versions, with level 0 for
// "not observed". Group adds no cells: see Recompute for what a group counts there.
func (d *Delta) Group(members []observation.Record, s observation.DistrictSettings, sign int64) {
	d.groupPairs(nil, members, s, sign)
}

// groupPairs adds sign × the pairs a group gains when changed joins rest: the pairs among
// changed and those between changed and rest (the pairs among rest are not touched).
func (d *Delta) groupPairs(rest, changed []observation.Record, s observation.DistrictSettings, sign int64) {
	for i := range changed {
		for j := i + 1; j < len(changed); j++ {
			d.maybePair(changed[i], changed[j], s, sign)
		}
		for j := range rest {
			d.maybePair(changed[i], rest[j], s, sign)
		}
	}
}

// SameLesson reports whether two records of a co-observation group observed one lesson: the
// same classroom on the same UTC date. Only such records pair up for calibration.
func SameLesson(a, b observation.Record) bool {
	return a.ClassroomID == b.ClassroomID && periodDay(a.StartedAt).Equal(periodDay(b.StartedAt))
}

func (d *Delta) maybePair(a, b observation.Record, s observation.DistrictSettings, sign int64) {
	if a.ObserverID == b.ObserverID || a.RubricID != b.RubricID || a.DistrictID != b.DistrictID || !SameLesson(a, b) {
		return
	}
	if b.ObserverID < a.ObserverID {
		a, b = b, a
	}
	d.pair(a, b, s, sign)
}

func (d *Delta) pair(a, b observation.Record, s observation.DistrictSettings, sign int64) {
	m := pairMetrics(a, b)
	at := a.StartedAt
	if b.StartedAt.Before(at) {
		at = b.StartedAt
	}
	for _, kind := range periodKinds {
		p, ok := PeriodOf(kind, at, s)
		if !ok {
			continue
		}
		k := PairKey{DistrictID: a.DistrictID, Kind: kind, PeriodKey: p.Key, SiteID: a.SiteID, ObserverA: a.ObserverID,
			ObserverB: b.ObserverID, RubricID: a.RubricID}
		addRow(d.Pairs, k, m, sign)
	}
}

// pairMetrics are the counters of one co-observed pair (a is observer A).
func pairMetrics(a, b observation.Record) Metrics {
	var m metricsBuilder
	m.Add(keyObservations, 1)
	v := strconv.Itoa(max(a.RubricVersion, b.RubricVersion))
	levels := func(r observation.Record) map[string]int {
		out := make(map[string]int, len(r.Scores))
		for _, sc := range r.Scores {
			if sc.NotObserved {
				out[sc.Dimension] = 0
			} else {
				out[sc.Dimension] = sc.Level
			}
		}
		return out
	}
	la, lb := levels(a), levels(b)
	for dim, x := range la {
		y, ok := lb[dim]
		if !ok || !safeKey(dim) {
			continue
		}
		m.bump(metricPair+metricSep+dim+metricSep+v+metricSep+strconv.Itoa(x)+metricSep+strconv.Itoa(y), 1)
	}
	return m.Metrics()
}

// Empty reports whether the delta changes nothing.
func (d *Delta) Empty() bool {
	for _, m := range d.Cells {
		if !m.Zero() {
			return false
		}
	}
	for _, m := range d.Pairs {
		if !m.Zero() {
			return false
		}
	}
	return len(d.Contributions) == 0
}

// RecordChange is one record's state before and after a write; nil when it did not exist
// (before) or is not kept (after).
type RecordChange struct {
	Before, After *observation.StoredObservation
}

// Inputs is what a delta needs beyond the records: each district's settings and each
// rubric version's content.
type Inputs struct {
	Settings func(districtID string) observation.DistrictSettings
	Content  func(rubricID string, version int) (observation.RubricContent, bool)
}

// CoObservationKeys returns the co-observation groups the changes touch, as "district/key", in
// sorted order (the order in which a writer locks them).
func CoObservationKeys(changes []RecordChange) []string {
	seen := map[string]bool{}
	for _, c := range changes {
		for _, o := range []*observation.StoredObservation{c.Before, c.After} {
			if o != nil && o.CoObservation != "" {
				seen[GroupKey(o.DistrictID, o.CoObservation)] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// GroupKey names a co-observation group across districts.
func GroupKey(districtID, coObservation string) string { return districtID + "/" + coObservation }

// FirstOfGroup reports whether a comes before b in a co-observation group: a was submitted
// first (StoredObservation.SubmittedAt), or at the same instant and its id is smaller. Of the
// counted records of a group, the first is the one that counts in every view but calibration.
// The order depends on the records alone, never on the order writes reach the server, so the
// group's counting member is the same whichever write computes it.
func FirstOfGroup(a, b observation.StoredObservation) bool {
	if c := a.SubmittedAt.Compare(b.SubmittedAt); c != 0 {
		return c < 0
	}
	return a.ID < b.ID
}

// firstOf returns the first (FirstOfGroup) of the records of sets, and false when they hold
// none.
func firstOf(sets ...[]observation.StoredObservation) (observation.StoredObservation, bool) {
	var first observation.StoredObservation
	found := false
	for _, set := range sets {
		for _, o := range set {
			if !found || FirstOfGroup(o, first) {
				first, found = o, true
			}
		}
	}
	return first, found
}

func records(obs []observation.StoredObservation) []observation.Record {
	out := make([]observation.Record, len(obs))
	for i := range obs {
		out[i] = obs[i].Record
	}
	return out
}

// ChangeDelta returns the delta of a set of record changes. others holds, for each group key of
// CoObservationKeys(changes), the counted records of that group other than the changed ones, as
// stored before the write. Each record id may appear in at most one change.
//
// A counted record without a co-observation key adds its own cells. A co-observation
// group adds the cells of its first member only (FirstOfGroup) and a pair per two
// members of one lesson. Before the write the group's counted members are others plus the
// changed records' counted before-versions in it; after, others plus their counted
// after-versions. So the delta takes the first member of the group before the write out of the
// cells and puts the first member after it in: when a change deletes, amends, moves out of the
// group or replaces (by a conflict resolution) the counting member, or a record submitted earlier
// joins, the group's contribution moves from one record to the other, exactly; when the first
// member is unchanged the two cancel. The pairs are moved the same way, per changed record.
// Exactness needs only that others is complete: writers of one group hold its lock (see
// store/progress.go), so each sees every member the previous one committed.
func ChangeDelta(changes []RecordChange, others map[string][]observation.StoredObservation, in Inputs) *Delta {
	return changeDelta(NewDelta(), changes, others, in)
}

// AddChanges adds the delta of changes (ChangeDelta's) to d: a bulk load accumulating many
// batches' deltas adds each batch's straight in, instead of building it apart and merging it.
func (d *Delta) AddChanges(changes []RecordChange, others map[string][]observation.StoredObservation, in Inputs) {
	changeDelta(d, changes, others, in)
}

func changeDelta(d *Delta, changes []RecordChange, others map[string][]observation.StoredObservation, in Inputs) *Delta {
	before, after := map[string][]observation.StoredObservation{}, map[string][]observation.StoredObservation{}
	for _, c := range changes {
		if c.Before != nil && Counted(*c.Before) {
			if k := c.Before.CoObservation; k != "" {
				g := GroupKey(c.Before.DistrictID, k)
				before[g] = append(before[g], *c.Before)
			} else {
				d.counted(c.Before.Record, in, -1)
			}
		}
		if c.After != nil && Counted(*c.After) {
			if k := c.After.CoObservation; k != "" {
				g := GroupKey(c.After.DistrictID, k)
				after[g] = append(after[g], *c.After)
			} else {
				d.counted(c.After.Record, in, 1)
			}
		}
	}
	for _, g := range CoObservationKeys(changes) {
		if first, ok := firstOf(others[g], before[g]); ok {
			d.counted(first.Record, in, -1)
		}
		if first, ok := firstOf(others[g], after[g]); ok {
			d.counted(first.Record, in, 1)
		}
		s := in.Settings(strings.SplitN(g, "/", 2)[0])
		rest := records(others[g])
		d.groupPairs(rest, records(before[g]), s, -1)
		d.groupPairs(rest, records(after[g]), s, 1)
	}
	return d
}

func (d *Delta) counted(r observation.Record, in Inputs, sign int64) {
	content, _ := in.Content(r.RubricID, r.RubricVersion)
	d.Record(r, content, in.Settings(r.DistrictID), sign)
}

// Recompute returns the aggregate rows of a set of stored observations from scratch:
// what the incrementally maintained rows must equal. Of the counted records, each one without a
// co-observation key counts in its cells; each co-observation group counts there once,
// by its first member (FirstOfGroup), and all its members count in the pairs (Group).
func Recompute(obs []observation.StoredObservation, in Inputs) *Delta {
	d := NewDelta()
	groups := map[string][]observation.StoredObservation{}
	var keys []string
	for _, o := range obs {
		if !Counted(o) {
			continue
		}
		if o.CoObservation == "" {
			d.counted(o.Record, in, 1)
			continue
		}
		g := GroupKey(o.DistrictID, o.CoObservation)
		if groups[g] == nil {
			keys = append(keys, g)
		}
		groups[g] = append(groups[g], o)
	}
	sort.Strings(keys)
	for _, g := range keys {
		first, _ := firstOf(groups[g])
		d.counted(first.Record, in, 1)
		d.Group(records(groups[g]), in.Settings(strings.SplitN(g, "/", 2)[0]), 1)
	}
	return d
}

// Normalize drops rows whose counters are all 0 and returns d.
func (d *Delta) Normalize() *Delta {
	for k, m := range d.Cells {
		if m.Zero() {
			delete(d.Cells, k)
		}
	}
	for k, m := range d.Pairs {
		if m.Zero() {
			delete(d.Pairs, k)
		}
	}
	return d
}

// Add adds every row of o to d.
func (d *Delta) Add(o *Delta) {
	for k, m := range o.Cells {
		addRow(d.Cells, k, m, 1)
	}
	for k, m := range o.Pairs {
		addRow(d.Pairs, k, m, 1)
	}
}

// Equal reports whether d and o hold the same rows (rows of zeros counting as absent).
func (d *Delta) Equal(o *Delta) bool {
	a, b := *d, *o
	for k, m := range a.Cells {
		if !m.Equal(b.Cells[k]) {
			return false
		}
	}
	for k, m := range b.Cells {
		if !m.Equal(a.Cells[k]) {
			return false
		}
	}
	for k, m := range a.Pairs {
		if !m.Equal(b.Pairs[k]) {
			return false
		}
	}
	for k, m := range b.Pairs {
		if !m.Equal(a.Pairs[k]) {
			return false
		}
	}
	return true
}
