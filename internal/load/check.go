package load

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Expected is one observation a tablet recorded, as the tablet holds it at the end.
type Expected struct {
	ID       string
	Hash     string // observation.Record.Hash() of the tablet's copy
	DeviceID string
}

// serverRow is one observations row of an expected id.
type serverRow struct {
	ID       string
	District string
	Hash     string
	Deleted  bool
}

// checkResult is the outcome of the exactly-once check.
type checkResult struct {
	Expected  int // observations the tablets recorded
	Matched   int // on the server exactly once, not deleted, with an equal content hash
	Missing   []string
	Duplicate []string // ids with more than one row
	Differ    []string // ids whose one row has another hash (or is deleted)
	// DeviceRows counts the rows the tablets' devices wrote last; TableRows counts the whole
	// table (-1 when not checked: the database is shared).
	DeviceRows, TableRows int
}

// OK reports whether every expected observation is on the server exactly once with an equal
// hash and the devices wrote nothing else.
func (r checkResult) OK() bool {
	return r.Matched == r.Expected && len(r.Missing)+len(r.Duplicate)+len(r.Differ) == 0 &&
		r.DeviceRows == r.Expected && (r.TableRows < 0 || r.TableRows == r.Expected)
}

func (r checkResult) String() string {
	if r.OK() {
		return fmt.Sprintf("ok: all %d observations on the server exactly once with equal content hashes", r.Expected)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "FAILED: %d of %d observations on the server exactly once with an equal hash", r.Matched, r.Expected)
	list := func(what string, ids []string) {
		if len(ids) == 0 {
			return
		}
		fmt.Fprintf(&b, "; %d %s (e.g. %s)", len(ids), what, strings.Join(ids[:min(3, len(ids))], ", "))
	}
	list("missing", r.Missing)
	list("duplicated", r.Duplicate)
	list("with another hash or deleted", r.Differ)
	if r.DeviceRows != r.Expected {
		fmt.Fprintf(&b, "; the tablets' devices wrote %d rows, not %d", r.DeviceRows, r.Expected)
	}
	if r.TableRows >= 0 && r.TableRows != r.Expected {
		fmt.Fprintf(&b, "; the table holds %d rows, not %d", r.TableRows, r.Expected)
	}
	return b.String()
}

// compare checks rows (every observations row whose id is expected, in any district) against
// what the tablets recorded. deviceRows and tableRows are copied into the result.
func compare(expected []Expected, rows []serverRow, deviceRows, tableRows int) checkResult {
	res := checkResult{Expected: len(expected), DeviceRows: deviceRows, TableRows: tableRows}
	byID := map[string][]serverRow{}
	for _, r := range rows {
		byID[r.ID] = append(byID[r.ID], r)
	}
	seen := map[string]bool{}
	for _, e := range expected {
		if seen[e.ID] {
			res.Duplicate = append(res.Duplicate, e.ID+" (recorded twice)")
			continue
		}
		seen[e.ID] = true
		got := byID[e.ID]
		switch {
		case len(got) == 0:
			res.Missing = append(res.Missing, e.ID)
		case len(got) > 1:
			res.Duplicate = append(res.Duplicate, e.ID)
		case got[0].Deleted || got[0].Hash != e.Hash:
			res.Differ = append(res.Differ, e.ID)
		default:
			res.Matched++
		}
	}
	slices.Sort(res.Missing)
	slices.Sort(res.Duplicate)
	slices.Sort(res.Differ)
	return res
}

// querier is what Check needs of a connection or pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Check reads the observations table and compares it with what the tablets recorded: every
// expected id has exactly one row (in any district) with an equal content hash, the tablets'
// devices wrote no other rows, and — when wholeTable is set, for a database of this run alone —
// the table holds nothing else.
func Check(ctx context.Context, db querier, expected []Expected, wholeTable bool) (checkResult, error) {
	ids := make([]string, len(expected))
	devs := map[string]bool{}
	for i, e := range expected {
		ids[i] = e.ID
		devs[e.DeviceID] = true
	}
	devices := make([]string, 0, len(devs))
	for d := range devs {
		devices = append(devices, d)
	}
	var rows []serverRow
	const chunk = 20000
	for lo := 0; lo < len(ids); lo += chunk {
		rs, err := db.Query(ctx, `SELECT observation_id::text, district_id, content_hash, deleted
			FROM observations WHERE observation_id = ANY($1::uuid[])`, ids[lo:min(lo+chunk, len(ids))])
		if err != nil {
			return checkResult{}, fmt.Errorf("check: %w", err)
		}
		for rs.Next() {
			var r serverRow
			if err := rs.Scan(&r.ID, &r.District, &r.Hash, &r.Deleted); err != nil {
				rs.Close()
				return checkResult{}, fmt.Errorf("check: %w", err)
			}
			rows = append(rows, r)
		}
		if err := rs.Err(); err != nil {
			return checkResult{}, fmt.Errorf("check: %w", err)
		}
	}
	var deviceRows int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM observations WHERE device_id = ANY($1::uuid[])`, devices).Scan(&deviceRows); err != nil {
		return checkResult{}, fmt.Errorf("check: %w", err)
	}
	tableRows := -1
	if wholeTable {
		if err := db.QueryRow(ctx, `SELECT count(*) FROM observations`).Scan(&tableRows); err != nil {
			return checkResult{}, fmt.Errorf("check: %w", err)
		}
	}
	return compare(expected, rows, deviceRows, tableRows), nil
}
