package progress

import (
	"encoding/json"
	"iter"
	"slices"
	"sync"
)

// Metrics are the counters of one aggregate row: metric name → signed integer, a missing name
// counting as 0. They are held as a list of counters sorted by MetricKey, a small number that
// stands for the metric's name in this process, so that adding one row's counters to another's
// (what every write and every bulk load does tens of counters at a time, for every cell a record
// falls in) walks two short sorted lists instead of hashing every name into a map. A counter
// may hold 0 (a sum that fell back to 0); All and the encoders leave those out.
//
// A Metrics value is a slice: copying it shares the counters, as a map did. Add and bump may
// put the sum in new storage, so their result must be kept (m.Add(o, 1); rows[k] = m).
type Metrics []Counter

// Counter is one counter of a Metrics.
type Counter struct {
	Key MetricKey
	N   int64
}

// MetricKey stands for a metric name within this process (KeyOf, Name). Keys are handed out in
// the order names are first met and are never stored: what is stored is the name.
type MetricKey uint32

// metricNames interns metric names, all kept for the process's life: a rubric's dimensions,
// levels and versions, talk categories and student groups (a few hundred), and the per-teacher
// counters of site rows, about seven names per teacher whose rows the process has read or
// written (some 50,000 names for a network of 7,500 teachers).
var metricNames struct {
	sync.RWMutex
	keys  map[string]MetricKey
	names []string
	// teacherScored[k], for the name of a scored level (scoredLevel), is the start of the name
	// of the per-teacher counter a site row keeps for it ("D|<dimension>|<version>|"), else "".
	teacherScored []string
}

// metricTable returns the names and teacherScored prefixes of every key made so far. Elements
// below the lengths never change, so they can be read without the lock.
func metricTable() (names, teacherScored []string) {
	metricNames.RLock()
	defer metricNames.RUnlock()
	return metricNames.names, metricNames.teacherScored
}

// keyObservations is the key of MetricObservations, the smallest key, so that it comes first
// in every Metrics that has it.
var keyObservations = KeyOf(MetricObservations)

// KeyOf returns the key of a metric name, making one for a name not met before.
func KeyOf(name string) MetricKey {
	metricNames.RLock()
	k, ok := metricNames.keys[name]
	metricNames.RUnlock()
	if ok {
		return k
	}
	metricNames.Lock()
	defer metricNames.Unlock()
	if k, ok := metricNames.keys[name]; ok {
		return k
	}
	if metricNames.keys == nil {
		metricNames.keys = map[string]MetricKey{}
	}
	k = MetricKey(len(metricNames.names))
	metricNames.names = append(metricNames.names, name)
	prefix := ""
	if dim, ver, _, ok := scoredLevel(name); ok {
		prefix = metricTeacherScored + metricSep + dim + metricSep + ver + metricSep
	}
	metricNames.teacherScored = append(metricNames.teacherScored, prefix)
	metricNames.keys[name] = k
	return k
}

// keyOfBytes is KeyOf of the name in b, allocating only for a name not met before.
func keyOfBytes(b []byte) MetricKey {
	metricNames.RLock()
	k, ok := metricNames.keys[string(b)]
	metricNames.RUnlock()
	if ok {
		return k
	}
	return KeyOf(string(b))
}

// Name returns the metric name k stands for.
func (k MetricKey) Name() string {
	metricNames.RLock()
	defer metricNames.RUnlock()
	return metricNames.names[k]
}

// MetricsOf returns the counters of a map (the counters that are 0 left out).
func MetricsOf(counts map[string]int64) Metrics {
	var b MetricsBuilder
	for name, v := range counts {
		if v != 0 {
			b.Add(KeyOf(name), v)
		}
	}
	return b.Metrics()
}

// Map returns m as a map of the counters that are not 0.
func (m Metrics) Map() map[string]int64 {
	out := make(map[string]int64, len(m))
	for name, v := range m.All() {
		out[name] = v
	}
	return out
}

// All yields the name and count of every counter that is not 0, in key order.
func (m Metrics) All() iter.Seq2[string, int64] {
	return func(yield func(string, int64) bool) {
		if len(m) == 0 {
			return
		}
		names, _ := metricTable()
		for _, c := range m {
			if c.N != 0 && !yield(names[c.Key], c.N) {
				return
			}
		}
	}
}

func (m Metrics) get(k MetricKey) int64 {
	if i, ok := slices.BinarySearchFunc(m, k, func(c Counter, k MetricKey) int { return int(c.Key) - int(k) }); ok {
		return m[i].N
	}
	return 0
}

// Add adds sign × o to m.
func (m *Metrics) Add(o Metrics, sign int64) {
	a := *m
	if len(o) == 0 || sign == 0 {
		return
	}
	if len(o) <= len(a) && hasKeys(a, o) { // a row that has met o's names already: add in place
		i := 0
		for _, c := range o {
			for a[i].Key < c.Key {
				i++
			}
			a[i].N += sign * c.N
			i++
		}
		return
	}
	out := make(Metrics, 0, len(a)+len(o))
	i, j := 0, 0
	for i < len(a) && j < len(o) {
		switch {
		case a[i].Key < o[j].Key:
			out = append(out, a[i])
			i++
		case a[i].Key > o[j].Key:
			out = append(out, Counter{o[j].Key, sign * o[j].N})
			j++
		default:
			out = append(out, Counter{a[i].Key, a[i].N + sign*o[j].N})
			i, j = i+1, j+1
		}
	}
	out = append(out, a[i:]...)
	for ; j < len(o); j++ {
		out = append(out, Counter{o[j].Key, sign * o[j].N})
	}
	*m = out
}

// hasKeys reports whether every key of o is a key of a.
func hasKeys(a, o Metrics) bool {
	i := 0
	for _, c := range o {
		for i < len(a) && a[i].Key < c.Key {
			i++
		}
		if i == len(a) || a[i].Key != c.Key {
			return false
		}
		i++
	}
	return true
}

// bump adds d to the counter of name.
func (m *Metrics) bump(name string, d int64) {
	if d != 0 {
		m.bumpKey(KeyOf(name), d)
	}
}

func (m *Metrics) bumpKey(k MetricKey, d int64) {
	a := *m
	i, ok := slices.BinarySearchFunc(a, k, func(c Counter, k MetricKey) int { return int(c.Key) - int(k) })
	if ok {
		a[i].N += d
		return
	}
	*m = slices.Insert(a, i, Counter{k, d})
}

// Equal reports whether m and o hold the same counts (a missing name counting as 0).
func (m Metrics) Equal(o Metrics) bool {
	i, j := 0, 0
	for i < len(m) || j < len(o) {
		switch {
		case i < len(m) && m[i].N == 0:
			i++
		case j < len(o) && o[j].N == 0:
			j++
		case i == len(m) || j == len(o):
			return false
		case m[i] != o[j]:
			return false
		default:
			i, j = i+1, j+1
		}
	}
	return true
}

// Zero reports whether every counter of m is 0.
func (m Metrics) Zero() bool {
	for _, c := range m {
		if c.N != 0 {
			return false
		}
	}
	return true
}

// Observations is the number of observations (or co-observed lessons) the row counts.
func (m Metrics) Observations() int {
	if len(m) > 0 && m[0].Key == keyObservations { // mostly: it is the first key made
		return int(m[0].N)
	}
	return int(m.get(keyObservations))
}

// MetricsBuilder gathers counters in any order, a name possibly more than once, and returns
// them as Metrics.
type MetricsBuilder struct {
	m Metrics
}

// Grow makes room for n more counters.
func (b *MetricsBuilder) Grow(n int) { b.m = slices.Grow(b.m, n) }

// Add adds v to the counter of k.
func (b *MetricsBuilder) Add(k MetricKey, v int64) {
	b.m = append(b.m, Counter{k, v})
}

// Metrics returns the counters gathered, and empties b. It is never nil.
func (b *MetricsBuilder) Metrics() Metrics {
	m := b.m
	b.m = nil
	if m == nil {
		return Metrics{}
	}
	sorted := true
	for i := 1; i < len(m); i++ {
		if m[i].Key <= m[i-1].Key {
			sorted = false
			break
		}
	}
	if sorted {
		return m
	}
	m = sortCounters(m)
	out := m[:1]
	for _, c := range m[1:] {
		if last := &out[len(out)-1]; last.Key == c.Key {
			last.N += c.N
		} else {
			out = append(out, c)
		}
	}
	return out
}

// radixMin is the fewest counters sortCounters sorts by radix: a site row's counters gathered
// from many cells (Delta.AddSiteRows) are sorted in a fraction of the comparisons' time, a
// record's few dozen are not.
const radixMin = 128

// sortCounters sorts m by key, counters of one key in any order, in place or into a new slice
// that it returns: by comparison when m is short, else by key bytes from the lowest (a stable
// counting sort per byte, as many bytes as the largest key has).
func sortCounters(m []Counter) []Counter {
	if len(m) < radixMin {
		slices.SortFunc(m, func(a, b Counter) int { return int(a.Key) - int(b.Key) })
		return m
	}
	var top MetricKey
	for _, c := range m {
		top = max(top, c.Key)
	}
	tmp := make([]Counter, len(m))
	for shift := uint(0); shift < 32 && top>>shift != 0; shift += 8 {
		var count [257]int
		for _, c := range m {
			count[(c.Key>>shift)&0xff+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, c := range m {
			d := (c.Key >> shift) & 0xff
			tmp[count[d]] = c
			count[d]++
		}
		m, tmp = tmp, m
	}
	return m
}

// MarshalJSON encodes m as a JSON object of its counters that are not 0.
func (m Metrics) MarshalJSON() ([]byte, error) { return json.Marshal(m.Map()) }

// UnmarshalJSON decodes a JSON object of integer counters.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var counts map[string]int64
	if err := json.Unmarshal(b, &counts); err != nil {
		return err
	}
	*m = MetricsOf(counts)
	return nil
}
