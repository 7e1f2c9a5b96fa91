package store

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/progress"
)

// The log of cell deltas (progress_delta_log): what a push or a conflict resolution adds to the
// cells, appended in its transaction and folded into progress_cells by the server's compactor.
//
// A record adds the same counters to its cell of every period kind, so the log keeps one row per
// record changed (progress.Contribution) with the "kind/key" of every cell its counters go to,
// instead of one row per cell, and the push computes and encodes the counters once. The counters are JSON text that PostgreSQL
// stores without parsing; the compactor and the views decode them. Appending locks no row that
// another push writes, and the compactor deletes only rows that are already committed, so it
// never waits for a push nor a push for it.

// logRow is one row of the log: counters and the cells (periods) they are added to.
type logRow struct {
	key     [5]string // district, site, classroom, teacher, rubric
	m       string    // JSON counters
	periods []string  // "kind/key"
}

// newLogRows are the rows of d: one per contribution (progress.ChangeContributions), and one
// per cell of d.Cells that is not all 0.
func newLogRows(d *progress.Delta) ([]logRow, error) {
	rows := make([]logRow, 0, len(d.Contributions)+len(d.Cells))
	var buf []byte
	add := func(k progress.CellKey, m progress.Metrics, periods []string) error {
		var err error
		if buf, err = appendMetrics(buf[:0], m); err != nil {
			return err
		}
		rows = append(rows, logRow{key: [5]string{k.DistrictID, k.SiteID, k.ClassroomID, k.TeacherID, k.RubricID}, m: string(buf), periods: periods})
		return nil
	}
	for _, c := range d.Contributions {
		if c.M.Zero() {
			continue
		}
		periods := make([]string, len(c.Periods))
		for i, p := range c.Periods {
			periods[i] = string(p.Kind) + "/" + p.Key
		}
		if err := add(c.Cell, c.M, periods); err != nil {
			return nil, err
		}
	}
	for k, m := range d.Cells {
		if !m.Zero() {
			if err := add(k, m, []string{string(k.Kind) + "/" + k.PeriodKey}); err != nil {
				return nil, err
			}
		}
	}
	return rows, nil
}

// queueLog queues the append of the rows to the log (deltaChunk rows per statement).
func queueLog(b *pgx.Batch, rows []logRow) {
	for lo := 0; lo < len(rows); lo += deltaChunk {
		chunk := rows[lo:min(lo+deltaChunk, len(rows))]
		var cols [5][]string
		ms := make([]string, len(chunk))
		periods := make([]string, len(chunk)) // as array literals: unnest cannot take an array of arrays of varying length
		for j, r := range chunk {
			for i := range cols {
				cols[i] = append(cols[i], r.key[i])
			}
			ms[j], periods[j] = r.m, textArrayLiteral(r.periods)
		}
		b.Queue(`INSERT INTO progress_delta_log (district_id, site_id, classroom_id, teacher_id, rubric_id, periods, m)
			SELECT d, s, c, t, r, p::text[], m FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
				AS u(d, s, c, t, r, p, m)`, cols[0], cols[1], cols[2], cols[3], cols[4], periods, ms)
	}
}

// textArrayLiteral writes elements as a PostgreSQL array literal, each quoted.
func textArrayLiteral(elems []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range e {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// logPeriodsSQL matches the log rows' cells of a cell query: $6 lists the "kind/key" of its
// periods.
const logWhereSQL = ` WHERE l.district_id = ANY($1) AND l.rubric_id = $2 AND p = ANY($6)
	AND ($5::text[] IS NULL OR l.site_id = ANY($5))`

// logPeriods are the log's names of a cell query's periods (argument $6 of logWhereSQL).
func logPeriods(q progress.CellQuery) []string {
	out := make([]string, len(q.Keys))
	for i, k := range q.Keys {
		out[i] = string(q.Kind) + "/" + k
	}
	return out
}

// CompactProgress folds up to limit rows of the log into progress_cells in one transaction
// (holding the shared progress locks of their districts, so no rebuild runs beside it) and
// returns how many it folded. Rows of the same cell are summed first, so a cell that many
// pushes touched is merged once.
func (s *Store) CompactProgress(ctx context.Context, limit int) (int, error) {
	n := 0
	err := s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		n = 0
		var districts []string
		// The districts with log rows, one probe of the primary key each (a DISTINCT would read
		// every row of the log).
		if err := tx.QueryRow(ctx, `WITH RECURSIVE d(id) AS (
				SELECT min(district_id) FROM progress_delta_log
				UNION ALL
				SELECT (SELECT min(l.district_id) FROM progress_delta_log l WHERE l.district_id > d.id) FROM d WHERE d.id IS NOT NULL)
			SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM d WHERE id IS NOT NULL`).Scan(&districts); err != nil {
			return err
		}
		if len(districts) == 0 {
			return nil
		}
		if err := lockProgress(ctx, tx, districts, false); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `DELETE FROM progress_delta_log WHERE (district_id, seq) IN
			(SELECT district_id, seq FROM progress_delta_log WHERE district_id = ANY($1) ORDER BY district_id, seq LIMIT $2)
			RETURNING district_id, site_id, classroom_id, teacher_id, rubric_id, periods, m`, districts, limit)
		if err != nil {
			return err
		}
		// Rows of the same cell key and periods (a classroom's records of one day, mostly) are
		// summed first and then added to each of their periods' cells: one merge of counters per
		// row instead of one per row and period.
		type group struct {
			k       progress.CellKey
			periods []string
			m       progress.Metrics
		}
		groups := map[string]*group{}
		var order []*group
		dec := newMetricsDecoder()
		var k progress.CellKey
		var periods []string
		var raw []byte
		var gk []byte
		if _, err := pgx.ForEachRow(rows, []any{&k.DistrictID, &k.SiteID, &k.ClassroomID, &k.TeacherID, &k.RubricID, &periods, &raw}, func() error {
			m, err := dec.decode(raw)
			if err != nil {
				return err
			}
			gk = gk[:0]
			for _, s := range [...]string{k.DistrictID, k.SiteID, k.ClassroomID, k.TeacherID, k.RubricID} {
				gk = append(append(gk, s...), 0)
			}
			for _, p := range periods {
				gk = append(append(gk, p...), 0)
			}
			if g, ok := groups[string(gk)]; ok {
				g.m.Add(m, 1)
			} else {
				g = &group{k: k, periods: periods, m: m}
				groups[string(gk)] = g
				order = append(order, g)
			}
			periods = nil // the group keeps the slice it was scanned into
			n++
			return nil
		}); err != nil {
			return err
		}
		d := progress.NewDelta()
		for _, g := range order {
			for _, p := range g.periods {
				kind, key, _ := strings.Cut(p, "/")
				k := g.k
				k.Kind, k.PeriodKey = progress.PeriodKind(kind), key
				c := d.Cells[k]
				c.Add(g.m, 1)
				d.Cells[k] = c
			}
		}
		return applyDelta(ctx, tx, d)
	})
	return n, err
}
