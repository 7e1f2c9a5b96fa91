package progress

import (
	"fmt"
	"slices"
	"strings"
)

// Folds by district (the network measures) are also held by district version
// (Store.ProgressDistrictRows): a read records, for each district, the version its rows were read
// at and the folds they made. The next read names those versions, and a district still at its
// version, with nothing logged for its rows, is sent no rows at all: its recorded folds are used
// as they are. A district whose version moved is sent its rows' keys and revs without counters,
// compared with the held folds as siteRows does, and a district with a group that changed is read
// again whole, in a second statement, and summed from that statement's rows alone. The version
// and the rows are read in one snapshot, and every write of a district's stored rows raises its
// version in the same transaction, so a version names the rows it was read with.

// districtRead is what one read (q, by, series) made of a district's rows at a version: its folds,
// by key, with their seqs (a fold replaced since is not the one recorded).
type districtRead struct {
	version int64
	folds   []string
	seqs    []uint64
}

// districtReadsSize bounds the districts' reads kept.
const districtReadsSize = 1024

func districtReadKey(by foldBy, district string, q CellQuery, series Series) string {
	return fmt.Sprintf("%v\x00%s\x00%s\x00%s\x00%s\x00%s", by, district, q.Kind, q.RubricID, strings.Join(q.Keys, ","), series.key)
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

// districtFolds returns a row per fold the read recorded for district at version, carrying the
// fold's sum; false when it recorded another version or one of the folds is no longer held.
func (c *rowCache) districtFolds(q CellQuery, by foldBy, series Series, district string, version int64) ([]CellRow, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.districts[districtReadKey(by, district, q, series)]
	if !ok || r.version != version {
		return nil, false
	}
	out := make([]CellRow, 0, len(r.folds))
	for i, key := range r.folds {
		f, ok := c.folds[key]
		if !ok || f.seq != r.seqs[i] || len(f.members) == 0 {
			return nil, false
		}
		g := f.group
		g.PeriodKey = f.members[0].PeriodKey
		out = append(out, CellRow{CellKey: g, sum: f.sum, foldSeq: f.seq})
	}
	return out, true
}

// recordDistrict records the folds of rows (a district's, every one a held fold) read at version.
func (c *rowCache) recordDistrict(q CellQuery, by foldBy, series Series, district string, version int64, rows []CellRow) {
	r := districtRead{version: version}
	for _, row := range rows {
		r.folds = append(r.folds, foldKey(by, by.group(row.CellKey), q, series))
		r.seqs = append(r.seqs, row.foldSeq)
	}
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

// districtRows is siteRows for folds by district (by.sites unset): the site rows q selects,
// through read, summed into one row per group of by, reusing what the districts' versions say is
// unchanged (see above).
func (pr *Service) districtRows(q CellQuery, series Series, by foldBy, read func(CellQuery, []DistrictVersion) ([]CellRow, []DistrictVersion, error)) ([]CellRow, error) {
	q.BySite, q.Known = true, nil
	rows, versions, err := read(q, pr.rows.heldVersions(q, by, series))
	if err != nil {
		return nil, err
	}
	out, againGroups := pr.fold(rows, q, series, by, true)
	var again []string // districts read again whole (every group of theirs, in one snapshot)
	for _, g := range againGroups {
		if !slices.Contains(again, g.DistrictID) {
			again = append(again, g.DistrictID)
		}
	}
	versionOf := map[string]int64{}
	for _, v := range versions {
		versionOf[v.DistrictID] = v.Version
		if !v.Unchanged || slices.Contains(again, v.DistrictID) {
			continue
		}
		if held, ok := pr.rows.districtFolds(q, by, series, v.DistrictID, v.Version); ok {
			out = append(out, held...)
		} else { // a fold dropped meanwhile
			again = append(again, v.DistrictID)
		}
	}
	if len(again) > 0 {
		out = slices.DeleteFunc(out, func(r CellRow) bool { return slices.Contains(again, r.DistrictID) })
		wq := q
		wq.DistrictIDs = again
		more, moreVersions, err := read(wq, nil)
		if err != nil {
			return nil, err
		}
		for _, v := range moreVersions {
			versionOf[v.DistrictID] = v.Version
		}
		folded, _ := pr.fold(more, wq, series, by, false)
		out = append(out, folded...)
	}
	byDistrict := map[string][]CellRow{}
	for _, r := range out {
		byDistrict[r.DistrictID] = append(byDistrict[r.DistrictID], r)
	}
	for d, v := range versionOf {
		rows := byDistrict[d]
		if slices.ContainsFunc(rows, func(r CellRow) bool { return r.foldSeq == 0 }) {
			continue // a sum of rows not all stored (a logged delta added): not held
		}
		pr.rows.recordDistrict(q, by, series, d, v, rows)
	}
	return out, nil
}
