package progress

import (
	"fmt"
	gosync "sync"
)

// The summaries of site rows a view has read, kept by row version (CellRow.Rev), so that a view
// reading the same rows again gets only the changed ones from the store and adds the others'
// summaries instead of decoding and summing their counters again.
//
// The cache never changes a figure: a row's summary depends only on its counters and on how
// the rubric's versions group into series, and an entry is used only for the same row at the
// same version under the same series (CellQuery.Known asks the store, in the statement that
// reads the rows, which rows are still at the version the entry holds; a row with a delta
// pending in the log is always sent whole). Entries are immutable once stored.

// rowCacheSize bounds the entries kept (a district view of a school year in progress against the
// same days of the year before reads about 10 site rows per site; a summary is a few KiB).
const rowCacheSize = 4096

type cachedRow struct {
	rev    int64
	series string // Series.key the summary was computed under
	sum    *summary
}

type rowCache struct {
	mu   gosync.Mutex
	rows map[CellKey]cachedRow
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
	for _, d := range q.DistrictIDs {
		for _, p := range q.Keys {
			add := func(site string) {
				k := CellKey{DistrictID: d, Kind: q.Kind, PeriodKey: p, SiteID: site, RubricID: q.RubricID}
				if e, ok := c.rows[k]; ok && e.series == series.key {
					out = append(out, CellVersion{CellKey: k, Rev: e.rev})
					sums[k] = e.sum
				}
			}
			if q.Sites != nil {
				for _, s := range q.Sites {
					add(s)
				}
				continue
			}
			for k := range c.rows { // every site: scan (the cache is small)
				if k.DistrictID == d && k.Kind == q.Kind && k.PeriodKey == p && k.RubricID == q.RubricID {
					add(k.SiteID)
				}
			}
		}
	}
	return out, sums
}

// put stores a row's summary.
func (c *rowCache) put(k CellKey, rev int64, series string, sum *summary) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rows == nil {
		c.rows = map[CellKey]cachedRow{}
	}
	if _, ok := c.rows[k]; !ok && len(c.rows) >= rowCacheSize {
		n := 0
		for old := range c.rows { // drop an eighth, arbitrarily (map order)
			delete(c.rows, old)
			if n++; n >= rowCacheSize/8 {
				break
			}
		}
	}
	c.rows[k] = cachedRow{rev: rev, series: series, sum: sum}
}

// siteRows reads the site rows q selects, each with its summary under series: the cached one when
// the row is unchanged, else computed from its counters (and cached when the row is stored).
func (pr *Service) siteRows(q CellQuery, series Series, read func(CellQuery) ([]CellRow, error)) ([]CellRow, error) {
	known, sums := pr.rows.known(q, series)
	q.Known = known
	rows, err := read(q)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		r := &rows[i]
		if r.M == nil {
			if r.sum = sums[r.CellKey]; r.sum == nil {
				return nil, fmt.Errorf("site row %v came without counters though the view does not hold it", r.CellKey)
			}
			continue
		}
		sum := &summary{}
		sum.Add(*r, series)
		r.sum = sum
		if r.Rev != 0 { // a stored version (not one with logged deltas added)
			pr.rows.put(r.CellKey, r.Rev, series.key, sum)
		}
	}
	return rows, nil
}
