package progress

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
)

// Sums of site rows a view has read, kept with the versions of the rows (CellRow.Rev), so that a
// view reading the same rows again gets only the changed ones from the store and adds a sum it
// already holds instead of decoding and summing the same counters again. A fold is one group of
// rows summed (a site's rows of one period, the months and days of a partial period, or a
// district's rows for the network measures), held with its members' keys and versions and used
// whole when the store returns exactly those rows unchanged (districtRows, rowversions.go).
//
// A fold never changes a figure: a sum depends only on its rows' counters and on how the rubric's
// versions group into series (Series.key), and a fold is used only for the same rows at the same
// versions under the same series. The store sends a held district's rows without their counters
// (their keys and versions, to compare with the folds), except a row with a delta pending in the
// log, which is always sent whole. Folds are never changed once stored.

// foldCacheSize bounds the folds kept (a district view of a school year in progress against the
// same days of the year before holds three folds per site; a site's fold is a few KiB).
const foldCacheSize = 2048

type cachedFold struct {
	by      foldBy
	group   CellKey // by.group of its rows
	keys    string  // the periods of the read (CellQuery.Keys)
	series  string  // Series.key
	members []CellVersion
	ids     string // the members written out (foldMembers)
	sum     *summary
	seq     uint64 // names this fold among all the cache has held
}

type rowCache struct {
	mu     gosync.Mutex
	folds  map[string]cachedFold // by foldKey
	seq    uint64                // of the last fold stored
	totals map[string]cachedSum  // sums of several folds, by slot (totalKey)
	// districts are the districts' reads by version (rowversions.go), by districtReadKey
	districts map[string]districtRead
}

// cachedSum is a sum of several held folds (or of held sums), named by seq like a fold.
type cachedSum struct {
	version string // the seqs of what it adds (totalKey)
	sum     *summary
	seq     uint64
}

func (c *rowCache) fold(key string) (cachedFold, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.folds[key]
	return f, ok
}

// putFold stores a fold and returns its seq.
func (c *rowCache) putFold(key string, f cachedFold) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.folds == nil {
		c.folds = map[string]cachedFold{}
	}
	if _, ok := c.folds[key]; !ok {
		makeRoom(c.folds, foldCacheSize)
	}
	c.seq++
	f.seq = c.seq
	c.folds[key] = f
	return f.seq
}

// makeRoom drops an eighth of m's entries, arbitrarily (map order), when it holds size.
func makeRoom[V any](m map[string]V, size int) {
	if len(m) < size {
		return
	}
	n := 0
	for k := range m {
		delete(m, k)
		if n++; n >= size/8 {
			return
		}
	}
}

// totalsCacheSize bounds the sums of several folds kept (a view's total, a site's months and
// days of a partial period).
const totalsCacheSize = 1024

// totalKey names the sum of rows that all carry a held fold: slot, by the rows' keys (the same
// for every version of those rows), and version, by their folds' seqs. Both are "" when a row
// carries no held fold.
func totalKey(rows []CellRow) (slot, version string) {
	rows = slices.Clone(rows)
	for _, r := range rows {
		if r.foldSeq == 0 {
			return "", ""
		}
	}
	slices.SortFunc(rows, func(a, b CellRow) int {
		return cmp.Or(cmp.Compare(a.DistrictID, b.DistrictID), cmp.Compare(a.SiteID, b.SiteID), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.PeriodKey, b.PeriodKey), cmp.Compare(a.foldSeq, b.foldSeq))
	})
	var sb, vb strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&sb, "%s\x00%s\x00%s\x00%s\x01", r.DistrictID, r.SiteID, r.Kind, r.PeriodKey)
		vb.WriteString(strconv.FormatUint(r.foldSeq, 36))
		vb.WriteByte(',')
	}
	return sb.String(), vb.String()
}

// sum returns the sum of rows: kept by c (when not nil) when every row carries a held fold, and
// then to be read only.
func (c *rowCache) sum(rows []CellRow, series Series) *summary {
	slot, version := "", ""
	if c != nil {
		slot, version = totalKey(rows)
	}
	if slot != "" {
		if t, ok := c.heldSum(slot, version); ok {
			return t
		}
	}
	t := &summary{}
	for _, r := range rows {
		t.Add(r, series)
	}
	if slot != "" {
		c.holdSum(slot, version, t)
	}
	return t
}

// heldSum returns the sum kept in slot, if it is of that version.
func (c *rowCache) heldSum(slot, version string) (*summary, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.totals[slot]
	return t.sum, ok && t.version == version
}

// holdSum keeps a sum in slot, replacing the sum of any other version of the same rows, to be read
// only from then on.
func (c *rowCache) holdSum(slot, version string, t *summary) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.totals == nil {
		c.totals = map[string]cachedSum{}
	}
	if _, ok := c.totals[slot]; !ok {
		makeRoom(c.totals, totalsCacheSize)
	}
	c.seq++
	c.totals[slot] = cachedSum{version: version, sum: t, seq: c.seq}
}

// seqOf names the sum of rows (sum) as a fold: the seq of the one row's fold, or of the sum of
// several kept in c; 0 when it is not kept.
func (c *rowCache) seqOf(rows []CellRow) uint64 {
	if len(rows) == 1 {
		return rows[0].foldSeq
	}
	if c == nil {
		return 0
	}
	slot, version := totalKey(rows)
	if slot == "" {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.totals[slot]; t.version == version {
		return t.seq
	}
	return 0
}

// foldBy says how districtRows groups the rows of one read into folds.
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

// foldKey names the fold of group g of a read q under series.
func foldKey(by foldBy, g CellKey, q CellQuery, series Series) string {
	return fmt.Sprintf("%v\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s", by, g.DistrictID, g.Kind, g.PeriodKey, g.SiteID, g.RubricID,
		strings.Join(q.Keys, ","), series.key)
}

// foldMembers returns the keys and versions of a group's rows in key order, and the same written
// out.
func foldMembers(rows []*CellRow) ([]CellVersion, string) {
	slices.SortFunc(rows, func(a, b *CellRow) int {
		return cmp.Or(cmp.Compare(a.SiteID, b.SiteID), cmp.Compare(a.PeriodKey, b.PeriodKey))
	})
	members := make([]CellVersion, len(rows))
	var b strings.Builder
	for i, r := range rows {
		members[i] = CellVersion{CellKey: r.CellKey, Rev: r.Rev}
		b.WriteString(r.SiteID)
		b.WriteByte(0)
		b.WriteString(r.PeriodKey)
		b.WriteByte(0)
		b.WriteString(strconv.FormatInt(r.Rev, 10))
		b.WriteByte(0)
	}
	return members, b.String()
}

// fold groups rows by by and returns a row per group with its summary, and the groups to read
// again (rows without counters that no held fold accounts for; only when reuse is set).
func (pr *Service) fold(rows []CellRow, q CellQuery, series Series, by foldBy, reuse bool) ([]CellRow, []CellKey) {
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
	var again []CellKey
	for _, g := range order {
		members := groups[g]
		whole, stored := 0, true // rows with counters; every row a stored version (no logged delta added)
		for _, r := range members {
			if r.M != nil {
				whole++
			}
			stored = stored && r.Rev != 0
		}
		key := foldKey(by, g, q, series)
		ids, idString := foldMembers(members)
		if whole < len(members) {
			if f, ok := pr.rows.fold(key); reuse && ok && whole == 0 && f.ids == idString {
				out = append(out, CellRow{CellKey: rowKey(g, members[0]), sum: f.sum, foldSeq: f.seq})
			} else {
				again = append(again, g)
			}
			continue
		}
		total := &summary{}
		for _, r := range members {
			total.Add(*r, series)
		}
		row := CellRow{CellKey: rowKey(g, members[0]), sum: total}
		if stored {
			row.foldSeq = pr.rows.putFold(key, cachedFold{by: by, group: g, keys: strings.Join(q.Keys, ","), series: series.key,
				members: ids, ids: idString, sum: total})
		}
		out = append(out, row)
	}
	return out, again
}

// rowKey is the key of a group's row: the group's, with its first member's period.
func rowKey(g CellKey, first *CellRow) CellKey {
	g.PeriodKey = first.PeriodKey
	return g
}
