package progress

import (
	"fmt"
	"slices"
	"strings"
)

// Folds (by site for the district view and site trends, by district for the network measures)
// are also held by district version (Store.ProgressDistrictRows): a read records, for each
// district, the version its rows were read at and the folds they made. The next read names those
// versions, and a district still at its version, with nothing logged for its rows, is sent no
// rows at all: its recorded folds are used as they are. A district whose version moved is sent
// its rows' keys and revs without counters (a row a logged delta adds to comes whole), compared
// with the held folds (fold), and the groups that changed are read again whole in a second
// statement: those sites' rows, or for folds by district the district's. The version and the rows
// are read in one snapshot, and every write of a district's stored rows raises its version in
// the same transaction, so a version names the rows it was read with; a district whose version
// moved between the two statements is not recorded.

// districtRead is what one read (q, by, series) made of a district's rows at a version: a row per
// fold, carrying the fold's sum and seq. It holds the sums themselves, so a fold of the same rows
// put again by another read (site trends and the district view share a site's folds) leaves it
// valid: a sum is never changed once made.
type districtRead struct {
	version int64
	rows    []CellRow
}

// districtReadsSize bounds the districts' reads kept (each holds its folds' sums).
const districtReadsSize = 512

func districtReadKey(by foldBy, district string, q CellQuery, series Series) string {
	return fmt.Sprintf("%v\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s", by, district, q.Kind, q.RubricID, strings.Join(q.Keys, ","),
		strings.Join(q.Sites, ","), series.key)
}

// heldVersions returns the versions q's districts were last read at by the same read.
func (c *rowCache) heldVersions(q CellQuery, by foldBy, series Series) []DistrictVersion {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []DistrictVersion
	for _, d := range q.DistrictIDs {
		if r, ok := c.districts[districtReadKey(by, d, q, series)]; ok {
			out = append(out, DistrictVersion{DistrictID: d, Version: r.version})
		}
	}
	return out
}

// districtFolds returns the rows the read recorded for district at version; false when it
// recorded another version or none.
func (c *rowCache) districtFolds(q CellQuery, by foldBy, series Series, district string, version int64) ([]CellRow, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.districts[districtReadKey(by, district, q, series)]
	if !ok || r.version != version {
		return nil, false
	}
	return slices.Clone(r.rows), true
}

// recordDistrict records the rows of a read of district at version (one per fold, every one a
// held fold).
func (c *rowCache) recordDistrict(q CellQuery, by foldBy, series Series, district string, version int64, rows []CellRow) {
	r := districtRead{version: version, rows: slices.Clone(rows)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.districts == nil {
		c.districts = map[string]districtRead{}
	}
	key := districtReadKey(by, district, q, series)
	if _, ok := c.districts[key]; !ok {
		makeRoom(c.districts, districtReadsSize)
	}
	c.districts[key] = r
}

// districtRows reads the site rows q selects, through read, summed into one row per group of by
// (a site's, or a district's, rows of a period), reusing what the districts' versions say is
// unchanged (see above). The groups of a district whose version moved that no held fold accounts
// for are read again in a second statement: those sites' rows when folding by site, else the
// district's.
func (pr *Service) districtRows(q CellQuery, series Series, by foldBy, read func(CellQuery, []DistrictVersion) ([]CellRow, []DistrictVersion, error)) ([]CellRow, error) {
	q.BySite = true
	rows, versions, err := read(q, pr.rows.heldVersions(q, by, series))
	if err != nil {
		return nil, err
	}
	out, againGroups := pr.fold(rows, q, series, by, true)
	var whole []string // districts read again whole (unchanged, but their read is no longer held)
	versionOf := map[string]int64{}
	for _, v := range versions {
		versionOf[v.DistrictID] = v.Version
		if !v.Unchanged {
			continue
		}
		if held, ok := pr.rows.districtFolds(q, by, series, v.DistrictID, v.Version); ok {
			out = append(out, held...)
		} else {
			whole = append(whole, v.DistrictID)
		}
	}
	if !by.sites { // a group is a district (and period): read the district again whole
		for _, g := range againGroups {
			if !slices.Contains(whole, g.DistrictID) {
				whole = append(whole, g.DistrictID)
			}
		}
		againGroups = nil
	}
	// The second statement may see later versions: a district is recorded only when both saw one.
	var moved []string
	reread := func(wq CellQuery, keep func(CellRow) bool) error {
		more, moreVersions, err := read(wq, nil)
		if err != nil {
			return err
		}
		for _, v := range moreVersions {
			if v.Version != versionOf[v.DistrictID] {
				moved = append(moved, v.DistrictID)
			}
		}
		folded, _ := pr.fold(more, wq, series, by, false)
		for _, r := range folded {
			if keep(r) {
				out = append(out, r)
			}
		}
		return nil
	}
	if len(againGroups) > 0 {
		wq := q
		wq.DistrictIDs, wq.Sites = nil, nil
		for _, g := range againGroups {
			if !slices.Contains(wq.DistrictIDs, g.DistrictID) {
				wq.DistrictIDs = append(wq.DistrictIDs, g.DistrictID)
			}
			if !slices.Contains(wq.Sites, g.SiteID) {
				wq.Sites = append(wq.Sites, g.SiteID)
			}
		}
		if err := reread(wq, func(r CellRow) bool { return slices.Contains(againGroups, by.group(r.CellKey)) }); err != nil {
			return nil, err
		}
	}
	if len(whole) > 0 {
		out = slices.DeleteFunc(out, func(r CellRow) bool { return slices.Contains(whole, r.DistrictID) })
		wq := q
		wq.DistrictIDs = whole
		if err := reread(wq, func(CellRow) bool { return true }); err != nil {
			return nil, err
		}
	}
	byDistrict := map[string][]CellRow{}
	for _, r := range out {
		byDistrict[r.DistrictID] = append(byDistrict[r.DistrictID], r)
	}
	for d, v := range versionOf {
		rows := byDistrict[d]
		if slices.Contains(moved, d) || slices.ContainsFunc(rows, func(r CellRow) bool { return r.foldSeq == 0 }) {
			continue // read at two versions, or a sum of rows not all stored (a logged delta added): not held
		}
		pr.rows.recordDistrict(q, by, series, d, v, rows)
	}
	return out, nil
}
