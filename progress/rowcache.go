package progress

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
)

// Summaries of site rows a view has read, kept by row version (CellRow.Rev), so that a view
// reading the same rows again gets only the changed ones from the store and adds summaries it
// already holds instead of decoding and summing the same counters again:
//
//   - rows: one summary per stored site row and version;
//   - folds: the sum of a group of rows (a site's rows of one period, or a district's), with the
//     versions of its members, used whole when the store returns exactly those rows unchanged.
//
// Neither ever changes a figure: a row's summary depends only on its counters and on how the
// rubric's versions group into series (Series.key), and an entry is used only for the same rows
// at the same versions under the same series. CellQuery.Known asks the store, in the statement
// that reads the rows, which are still at the version held; a row with a delta pending in the
// log is always sent whole. Entries are never changed once stored.

// cacheSize bounds the entries of each cache (a district view of a school year in progress
// against the same days of the year before reads about 10 site rows per site; a summary is a few
// KiB).
const cacheSize = 4096

type cachedRow struct {
	rev    int64
	series string // Series.key the summary was computed under
	sum    *summary
}

type cachedFold struct {
	members string // the members' keys and versions (foldMembers)
	sum     *summary
}

type rowCache struct {
	mu    gosync.Mutex
	rows  map[CellKey]cachedRow
	folds map[string]cachedFold // by group and Series.key
}

// known returns the versions of the cached rows that a query could return, under series, and
// their summaries by key (so that an eviction meanwhile does not lose them).
func (c *rowCache) known(q CellQuery, series Series) ([]CellVersion, map[CellKey]*summary) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rows) == 0 {
		return nil, nil
	}
	var out []CellVersion
	sums := map[CellKey]*summary{}
	add := func(k CellKey) {
		if e, ok := c.rows[k]; ok && e.series == series.key {
			out = append(out, CellVersion{CellKey: k, Rev: e.rev})
			sums[k] = e.sum
		}
	}
	if q.Sites == nil { // every site: scan (the cache is small)
		for k := range c.rows {
			if k.Kind == q.Kind && k.RubricID == q.RubricID && slices.Contains(q.DistrictIDs, k.DistrictID) && slices.Contains(q.Keys, k.PeriodKey) {
				add(k)
			}
		}
		return out, sums
	}
	for _, d := range q.DistrictIDs {
		for _, p := range q.Keys {
			for _, s := range q.Sites {
				add(CellKey{DistrictID: d, Kind: q.Kind, PeriodKey: p, SiteID: s, RubricID: q.RubricID})
			}
		}
	}
	return out, sums
}

// makeRoom drops an eighth of m's entries, arbitrarily (map order), when it is full.
func makeRoom[K comparable, V any](m map[K]V) {
	if len(m) < cacheSize {
		return
	}
	n := 0
	for k := range m {
		delete(m, k)
		if n++; n >= cacheSize/8 {
			return
		}
	}
}

func (c *rowCache) putRow(k CellKey, e cachedRow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rows == nil {
		c.rows = map[CellKey]cachedRow{}
	}
	if _, ok := c.rows[k]; !ok {
		makeRoom(c.rows)
	}
	c.rows[k] = e
}

func (c *rowCache) fold(key string) (cachedFold, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.folds[key]
	return f, ok
}

func (c *rowCache) putFold(key string, f cachedFold) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.folds == nil {
		c.folds = map[string]cachedFold{}
	}
	if _, ok := c.folds[key]; !ok {
		makeRoom(c.folds)
	}
	c.folds[key] = f
}

// foldBy says how siteRows groups the rows of one read into folds.
type foldBy struct {
	sites         bool // a fold per site (else per district: the network measures)
	acrossPeriods bool // one fold of all the read's periods (the months and days of a partial period)
}

func (f foldBy) group(k CellKey) CellKey {
	g := CellKey{DistrictID: k.DistrictID, Kind: k.Kind, RubricID: k.RubricID}
	if f.sites {
		g.SiteID = k.SiteID
	}
	if !f.acrossPeriods {
		g.PeriodKey = k.PeriodKey
	}
	return g
}

// foldMembers writes the keys and versions of a group's rows, in key order.
func foldMembers(rows []*CellRow) string {
	slices.SortFunc(rows, func(a, b *CellRow) int {
		return cmp.Or(cmp.Compare(a.SiteID, b.SiteID), cmp.Compare(a.PeriodKey, b.PeriodKey))
	})
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(r.SiteID)
		b.WriteByte(0)
		b.WriteString(r.PeriodKey)
		b.WriteByte(0)
		b.WriteString(strconv.FormatInt(r.Rev, 10))
		b.WriteByte(0)
	}
	return b.String()
}

// siteRows reads the site rows q selects through read, and returns one row per group of by
// (keyed as by.group, with the PeriodKey of its first member when the group spans periods)
// carrying the group's summary under series: a fold held from an earlier read when the store
// returned exactly its rows unchanged, else the sum of the rows' summaries (held or computed from
// their counters), which is then held for the next read.
func (pr *Service) siteRows(q CellQuery, series Series, by foldBy, read func(CellQuery) ([]CellRow, error)) ([]CellRow, error) {
	q.BySite = true
	known, sums := pr.rows.known(q, series)
	q.Known = known
	rows, err := read(q)
	if err != nil {
		return nil, err
	}
	groups := map[CellKey][]*CellRow{}
	var order []CellKey
	for i := range rows {
		g := by.group(rows[i].CellKey)
		if groups[g] == nil {
			order = append(order, g)
		}
		groups[g] = append(groups[g], &rows[i])
	}
	out := make([]CellRow, 0, len(order))
	for _, g := range order {
		members := groups[g]
		stored := true // every member is a stored version (no logged delta added)
		for _, r := range members {
			stored = stored && r.Rev != 0
		}
		foldKey := fmt.Sprintf("%v\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s", by, g.DistrictID, g.Kind, g.PeriodKey, g.SiteID, g.RubricID,
			strings.Join(q.Keys, ","), series.key)
		var ids string
		if stored {
			ids = foldMembers(members)
			if f, ok := pr.rows.fold(foldKey); ok && f.members == ids {
				out = append(out, CellRow{CellKey: rowKey(g, members[0]), sum: f.sum})
				continue
			}
		}
		total := &summary{}
		for _, r := range members {
			if r.M == nil {
				if r.sum = sums[r.CellKey]; r.sum == nil {
					return nil, fmt.Errorf("site row %v came without counters though the view does not hold it", r.CellKey)
				}
			} else {
				sum := &summary{}
				sum.Add(*r, series)
				r.sum = sum
				if r.Rev != 0 {
					pr.rows.putRow(r.CellKey, cachedRow{rev: r.Rev, series: series.key, sum: r.sum})
				}
			}
			total.merge(*r.sum, "")
		}
		if stored {
			pr.rows.putFold(foldKey, cachedFold{members: ids, sum: total})
		}
		out = append(out, CellRow{CellKey: rowKey(g, members[0]), sum: total})
	}
	return out, nil
}

// rowKey is the key of a group's row: the group's, with its first member's period.
func rowKey(g CellKey, first *CellRow) CellKey {
	g.PeriodKey = first.PeriodKey
	return g
}
