package store

import (
	"context"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/progress"
)

// The versions of districts' progress rows (progress_versions, migration 00016), one per district
// and rubric: every transaction that writes a district's rows of progress_cells raises the
// versions of the rubrics it writes by one in the same transaction (applyRows, rebuildProgress),
// after taking the district's progress lock. Raising takes the version row's lock, so writers of
// one district and rubric raise it one after the other, each from the version the one before
// committed: a version names one committed state of the rows, and a statement that reads the
// version and the rows in one snapshot knows that any other snapshot with the same version holds
// the same rows. Pushes append to the log (progress_log.go) and leave the versions alone; the
// log's rows are read beside them.

// queueBumpVersions queues the raise of the versions of the (district, rubric) pairs of rows,
// given as the two columns of rows in district order; nothing when there are none.
func queueBumpVersions(b *pgx.Batch, districts, rubrics []string) {
	type key struct{ d, r string }
	keys := make([]key, 0, 4)
	for i := range districts {
		if k := (key{districts[i], rubrics[i]}); (len(keys) == 0 || keys[len(keys)-1] != k) && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	ds, rs := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		ds[i], rs[i] = k.d, k.r
	}
	b.Queue(`INSERT INTO progress_versions AS v (district_id, rubric_id, version)
		SELECT d, r, 1 FROM unnest($1::text[], $2::text[]) AS u(d, r) ORDER BY d, r
		ON CONFLICT (district_id, rubric_id) DO UPDATE SET version = v.version + 1`, ds, rs)
}

// bumpDistrictVersionsSQL raises the versions of every rubric with rows of a district ($1), for a
// transaction that deletes them (a rebuild).
const bumpDistrictVersionsSQL = `INSERT INTO progress_versions AS v (district_id, rubric_id, version)
	SELECT DISTINCT district_id, rubric_id, 1 FROM progress_cells WHERE district_id = $1 ORDER BY 1, 2
	ON CONFLICT (district_id, rubric_id) DO UPDATE SET version = v.version + 1`

// ProgressDistrictRows returns the site rows matching q (as ProgressCells with q.BySite) and the
// version of each district of q (of q's rubric), read in one snapshot (one statement). A
// district that held names at its current version, and whose rows of q no logged delta adds to,
// comes back Unchanged and without rows; the stored rows of any other district held names come
// without counters (M nil) unless a logged delta adds to them, so the caller can compare their
// keys and revs with the sums it holds.
func (s *Store) ProgressDistrictRows(ctx context.Context, q progress.CellQuery, held []progress.DistrictVersion) ([]progress.CellRow, []progress.DistrictVersion, error) {
	q.BySite = true
	ids := make([]string, len(held))
	versions := make([]int64, len(held))
	for i, h := range held {
		ids[i], versions[i] = h.DistrictID, h.Version
	}
	args := append(progressCellsArgs(q), ids, versions)
	rows, err := s.views.Query(ctx, progressDistrictRowsSQL, args...)
	if err != nil {
		return nil, nil, classify(err)
	}
	var out cellRows
	var dvs []progress.DistrictVersion
	var src int16
	var r scannedCell
	dec := newMetricsDecoder()
	_, err = pgx.ForEachRow(rows, append([]any{&src}, r.targets()...), func() error {
		if src >= 2 { // a district's version: 3 when its rows were left out
			dvs = append(dvs, progress.DistrictVersion{DistrictID: string(r.district), Version: r.rev, Unchanged: src == 3})
			return nil
		}
		return out.add(&r, dec, src == 1, true)
	})
	if err != nil {
		return nil, nil, classify(err)
	}
	return out.rows(), dvs, nil
}

// progressDistrictRowsSQL is ProgressDistrictRows' statement: progressCellsSQL's site rows and log
// rows (source 0 and 1), less the stored rows of the districts left out (not in the index
// condition, so PostgreSQL reads none of them), and a row per district of
// $1 with its version in rev (source 2, or 3 when its rows were left out). $7 and $8 are the
// districts and versions held.
var progressDistrictRowsSQL = `WITH logged AS MATERIALIZED (
		SELECT l.district_id, substr(p, length($3) + 2) AS period_key, l.site_id, l.classroom_id, l.teacher_id, l.rubric_id, l.m
		FROM progress_delta_log l, unnest(l.periods) AS p` + logWhereSQL + `),
	versions AS MATERIALIZED (
		SELECT d.district_id, coalesce(v.version, 0) AS version,
			coalesce((d.district_id, coalesce(v.version, 0)) IN (SELECT * FROM unnest($7::text[], $8::bigint[]))
				AND d.district_id NOT IN (SELECT district_id FROM logged), false) AS unchanged
		FROM (SELECT DISTINCT unnest($1::text[]) AS district_id) AS d
		LEFT JOIN progress_versions v ON v.district_id = d.district_id AND v.rubric_id = $2)
	SELECT 0::int2, c.district_id, c.period_kind, c.period_key, c.site_id, c.classroom_id, c.teacher_id, c.rubric_id, c.rev,
		CASE WHEN c.district_id = ANY($7) AND (c.district_id, c.period_key, c.site_id) NOT IN
			(SELECT district_id, period_key, site_id FROM logged) THEN NULL ELSE c.m END
	FROM progress_cells c` + strings.Replace(cellWhereSQL, "ANY($1)", "ANY(ARRAY(SELECT district_id FROM versions WHERE NOT unchanged))", 1) + `
		AND c.classroom_id = ''
	UNION ALL SELECT 1::int2, district_id, $3, period_key, site_id, classroom_id, teacher_id, rubric_id, 0, m FROM logged
	UNION ALL SELECT CASE WHEN unchanged THEN 3 ELSE 2 END::int2, district_id, '', '', '', '', '', '', version, NULL FROM versions`
