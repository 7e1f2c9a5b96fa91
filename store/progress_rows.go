package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/progress"
)

// The rows of the aggregate tables as a delta writes them (progress.go says when each way is
// used): column arrays in key order for the upserts of a small delta, and staging or a direct
// copy for a large one; the counters written as JSON text.

func compareCells(a, b progress.CellKey) int {
	return cmp.Or(cmp.Compare(a.DistrictID, b.DistrictID), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.PeriodKey, b.PeriodKey),
		cmp.Compare(a.SiteID, b.SiteID), cmp.Compare(a.ClassroomID, b.ClassroomID), cmp.Compare(a.TeacherID, b.TeacherID),
		cmp.Compare(a.RubricID, b.RubricID))
}

func comparePairs(a, b progress.PairKey) int {
	return cmp.Or(cmp.Compare(a.DistrictID, b.DistrictID), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.PeriodKey, b.PeriodKey),
		cmp.Compare(a.SiteID, b.SiteID), cmp.Compare(a.ObserverA, b.ObserverA), cmp.Compare(a.ObserverB, b.ObserverB),
		cmp.Compare(a.RubricID, b.RubricID))
}

// deltaRows are the rows of a delta as column arrays, in key order (so that concurrent writers
// lock aggregate rows in one order), rows whose counters are all 0 left out.
type deltaRows struct {
	cells, pairs rowColumns
}

// rowColumns are aggregate rows of cells or pairs: seven key columns and the counters, as
// Metrics and (once encoded) as JSON.
type rowColumns struct {
	table    string
	keyCols  [7]string
	cols     [7][]string
	metrics  []progress.Metrics
	m        []string // metrics as JSON, filled by encode
	lowered  bool     // some row's observation count goes down
	negative []bool
}

var (
	cellKeyCols = [7]string{"district_id", "period_kind", "period_key", "site_id", "classroom_id", "teacher_id", "rubric_id"}
	pairKeyCols = [7]string{"district_id", "period_kind", "period_key", "site_id", "observer_a", "observer_b", "rubric_id"}
)

// newDeltaRows returns the rows of d with their counters encoded.
func newDeltaRows(d *progress.Delta) (*deltaRows, error) {
	r := deltaKeys(d)
	if err := r.cells.encode(); err != nil {
		return nil, err
	}
	if err := r.pairs.encode(); err != nil {
		return nil, err
	}
	return r, nil
}

// deltaKeys returns the rows of d in key order, their counters not encoded yet.
func deltaKeys(d *progress.Delta) *deltaRows {
	r := &deltaRows{cells: rowColumns{table: "progress_cells", keyCols: cellKeyCols},
		pairs: rowColumns{table: "progress_pairs", keyCols: pairKeyCols}}
	fillRows(&r.cells, d.Cells, compareCells, func(k progress.CellKey) [7]string {
		return [7]string{k.DistrictID, string(k.Kind), k.PeriodKey, k.SiteID, k.ClassroomID, k.TeacherID, k.RubricID}
	})
	fillRows(&r.pairs, d.Pairs, comparePairs, func(k progress.PairKey) [7]string {
		return [7]string{k.DistrictID, string(k.Kind), k.PeriodKey, k.SiteID, k.ObserverA, k.ObserverB, k.RubricID}
	})
	return r
}

// fillRows adds rows to r in the order of compare, those whose counters are all 0 left out.
func fillRows[K comparable](r *rowColumns, rows map[K]progress.Metrics, compare func(a, b K) int, columns func(K) [7]string) {
	keys := make([]K, 0, len(rows))
	for k, m := range rows {
		if !m.Zero() {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compare)
	r.grow(len(keys))
	for _, k := range keys {
		r.add(columns(k), rows[k])
	}
}

func (r *rowColumns) grow(n int) {
	for i := range r.cols {
		r.cols[i] = make([]string, 0, n)
	}
	r.metrics, r.negative = make([]progress.Metrics, 0, n), make([]bool, 0, n)
}

func (r *rowColumns) add(key [7]string, m progress.Metrics) {
	for i, v := range key {
		r.cols[i] = append(r.cols[i], v)
	}
	r.metrics = append(r.metrics, m)
	neg := m.Observations() < 0
	r.negative = append(r.negative, neg)
	r.lowered = r.lowered || neg
}

// encode fills m with the rows' counters as JSON.
func (r *rowColumns) encode() error {
	r.m = make([]string, len(r.metrics))
	var buf []byte
	for i, m := range r.metrics {
		var err error
		if buf, err = appendMetrics(buf[:0], m); err != nil {
			return err
		}
		r.m[i] = string(buf)
	}
	return nil
}

// appendMetrics appends m as a JSON object (the counters that are not 0, in no particular
// order). Metric names are plain ASCII by construction (observation.safeKey and the rubric's
// key pattern); any other name is escaped by encoding/json.
func appendMetrics(b []byte, m progress.Metrics) ([]byte, error) {
	q, err := quotedNames(m)
	if err != nil {
		return nil, err
	}
	b = append(b, '{')
	first := true
	for _, c := range m {
		if c.N == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = strconv.AppendInt(append(b, q[c.Key]...), c.N, 10)
	}
	return append(b, '}'), nil
}

// jsonNames holds, by metric key, the name as a JSON string followed by a colon, for every key
// below its length. Elements never change once there: the table only grows.
var jsonNames struct {
	sync.Mutex
	q atomic.Pointer[[]string]
}

// quotedNames returns jsonNames' table, made to hold every key of m.
func quotedNames(m progress.Metrics) ([]string, error) {
	var q []string
	if p := jsonNames.q.Load(); p != nil {
		q = *p
	}
	top := -1 // m is in key order: its last key is the largest
	if len(m) > 0 {
		top = int(m[len(m)-1].Key)
	}
	if top < len(q) {
		return q, nil
	}
	jsonNames.Lock()
	defer jsonNames.Unlock()
	if p := jsonNames.q.Load(); p != nil {
		q = *p
	}
	grown := slices.Clip(q) // appending never writes into the array readers hold
	for k := len(q); k <= top; k++ {
		name := progress.MetricKey(k).Name()
		if plainJSONString(name) {
			grown = append(grown, `"`+name+`":`)
			continue
		}
		b, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		grown = append(grown, string(b)+":")
	}
	jsonNames.q.Store(&grown)
	return grown, nil
}

// plainJSONString reports whether s needs no escaping inside a JSON string.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func (r *rowColumns) keys() string { return strings.Join(r.keyCols[:], ", ") }

// matchSQL matches the table's key columns (as t) with the columns k0…k6 of src.
func (r *rowColumns) matchSQL(src string) string {
	match := make([]string, 7)
	for i, c := range r.keyCols {
		match[i] = fmt.Sprintf("t.%s = %s.k%d", c, src, i)
	}
	return strings.Join(match, " AND ")
}

// upsertSQL adds the counters of the rows src selects (key columns, then m) to the table. A
// cell row it changes gets this transaction's rev (inserted rows take it as the default).
func (r *rowColumns) upsertSQL(src string) string {
	set := `m = progress_add(t.m::jsonb, excluded.m::jsonb)::text`
	if r.table == "progress_cells" {
		set += `, rev = excluded.rev`
	}
	return `INSERT INTO ` + r.table + ` AS t (` + r.keys() + `, m) ` + src + `
		ON CONFLICT (` + r.keys() + `) DO UPDATE SET ` + set
}

// deleteEmptySQL deletes the rows (of those src selects, with the key columns as u.k0…u.k6)
// left with no observations.
func (r *rowColumns) deleteEmptySQL(src string) string {
	return `DELETE FROM ` + r.table + ` t USING (` + src + `) AS u(k0, k1, k2, k3, k4, k5, k6)
		WHERE ` + r.matchSQL("u") + ` AND ` + observationsSQL("t.m") + ` <= 0`
}

// observationsSQL is the observation count of the counters in column m, for the statements that
// need it in PostgreSQL. Every writer puts it first ("n" is the smallest metric key, and jsonb
// prints its shortest key first), so it is read off the start of the text; counters in any other
// form are parsed as jsonb, which costs about four times as much.
func observationsSQL(m string) string {
	return `coalesce(substring(` + m + ` from '^\{"` + progress.MetricObservations + `": ?(-?[0-9]+)[,}]')::bigint, (` + m +
		`::jsonb->>'` + progress.MetricObservations + `')::bigint, 0)`
}

const unnestKeysSQL = `unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]`

// queue queues the upserts of the rows (deltaChunk rows per statement), then the deletion of the
// rows whose observation count the delta lowered to 0.
func (r *rowColumns) queue(b *pgx.Batch) {
	for lo := 0; lo < len(r.m); lo += deltaChunk {
		hi := min(lo+deltaChunk, len(r.m))
		args := make([]any, 0, 8)
		for i := range r.cols {
			args = append(args, r.cols[i][lo:hi])
		}
		b.Queue(r.upsertSQL(`SELECT * FROM `+unnestKeysSQL+`, $8::text[])`), append(args, r.m[lo:hi])...)
	}
	if !r.lowered {
		return
	}
	var lowered [7][]string
	for j, neg := range r.negative {
		if neg {
			for i := range lowered {
				lowered[i] = append(lowered[i], r.cols[i][j])
			}
		}
	}
	args := make([]any, 7)
	for i := range lowered {
		args[i] = lowered[i]
	}
	b.Queue(r.deleteEmptySQL(`SELECT * FROM `+unnestKeysSQL+`)`), args...)
}

// stage adds the rows through a temporary table, merging the counters in Go: it copies the
// rows' keys there with COPY, reads the stored rows of those keys (locking them, in key order),
// adds the delta to their counters, copies the sums back, deletes the stored rows and inserts
// the sums, in key order. Merging jsonb counters in PostgreSQL (progress_add) costs several times
// what reading and rewriting the rows does. A row inserted by another transaction since the read
// (a key new to this delta) meets ON CONFLICT and is merged there instead.
//
// When held (no other writer), the sums are copied straight into the table, each row's counters
// encoded as COPY sends it, so that the encoding overlaps PostgreSQL's parsing of the rows
// before; the stored rows read are replaced by their sums in r.metrics.
func (r *rowColumns) stage(ctx context.Context, tx pgx.Tx, held bool) error {
	n := len(r.metrics)
	if n == 0 {
		return nil
	}
	if !held && r.m == nil {
		if err := r.encode(); err != nil {
			return err
		}
	}
	stage := r.table + "_stage"
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS `+stage+` (i integer, k0 text, k1 text, k2 text, k3 text,
		k4 text, k5 text, k6 text, m text, lowered boolean, stored boolean) ON COMMIT DROP; TRUNCATE `+stage); err != nil {
		return err
	}
	copyStage := func(m []string, stored []bool) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{stage}, []string{"i", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "m", "lowered", "stored"},
			pgx.CopyFromSlice(n, func(j int) ([]any, error) {
				var mj any
				if m != nil {
					mj = m[j]
				}
				return []any{int32(j), r.cols[0][j], r.cols[1][j], r.cols[2][j], r.cols[3][j], r.cols[4][j], r.cols[5][j], r.cols[6][j],
					mj, r.negative[j], stored != nil && stored[j]}, nil
			}))
		return err
	}
	if err := copyStage(nil, nil); err != nil {
		return err
	}
	on := r.matchSQL("s")
	rows, err := tx.Query(ctx, `SELECT s.i, t.m FROM `+stage+` s JOIN `+r.table+` t ON `+on+` ORDER BY s.i FOR UPDATE OF t`)
	if err != nil {
		return err
	}
	var merged []string
	if !held {
		merged = slices.Clone(r.m)
	}
	stored := make([]bool, n)
	anyStored := false
	dec := newMetricsDecoder()
	var i int32
	var raw []byte
	var buf []byte
	if _, err := pgx.ForEachRow(rows, []any{&i, &raw}, func() error {
		m, err := dec.decode(raw)
		if err != nil {
			return err
		}
		m.Add(r.metrics[i], 1)
		stored[i], anyStored = true, true
		if held {
			r.metrics[i] = m
			return nil
		}
		if buf, err = appendMetrics(buf[:0], m); err != nil {
			return err
		}
		merged[i] = string(buf)
		return nil
	}); err != nil {
		return err
	}
	if held { // no other writer: replace the stored rows, copy the rest in
		if anyStored {
			if _, err := tx.Exec(ctx, `DELETE FROM `+r.table+` t USING `+stage+` s WHERE `+on); err != nil {
				return err
			}
		}
		err := r.copyIn(ctx, tx)
		if err != nil || !r.lowered {
			return err
		}
		_, err = tx.Exec(ctx, r.deleteEmptySQL(`SELECT k0, k1, k2, k3, k4, k5, k6 FROM `+stage+` WHERE lowered`))
		return err
	}
	if _, err := tx.Exec(ctx, `TRUNCATE `+stage); err != nil {
		return err
	}
	if err := copyStage(merged, stored); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM `+r.table+` t USING `+stage+` s WHERE s.stored AND `+on); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, r.upsertSQL(`SELECT k0, k1, k2, k3, k4, k5, k6, m FROM `+stage+` ORDER BY i`)); err != nil {
		return err
	}
	if r.lowered {
		_, err = tx.Exec(ctx, r.deleteEmptySQL(`SELECT k0, k1, k2, k3, k4, k5, k6 FROM `+stage+` WHERE lowered`))
	}
	return err
}

// copyIn copies the rows into the table, for a caller that holds their districts exclusively
// and knows none of their keys is stored.
func (r *rowColumns) copyIn(ctx context.Context, tx pgx.Tx) error {
	// COPY encodes each row before it asks for the next one, so one buffer serves every row.
	var buf []byte
	_, err := tx.CopyFrom(ctx, pgx.Identifier{r.table}, append(r.keyCols[:], "m"),
		pgx.CopyFromSlice(len(r.metrics), func(j int) ([]any, error) {
			var err error
			if buf, err = appendMetrics(buf[:0], r.metrics[j]); err != nil {
				return nil, err
			}
			return []any{r.cols[0][j], r.cols[1][j], r.cols[2][j], r.cols[3][j], r.cols[4][j], r.cols[5][j], r.cols[6][j], buf}, nil
		}))
	return err
}

// mergeSQL reads the stored rows of the keys in $1…$7 with their position in them, locking
// them in key order (the order of the arrays).
func (r *rowColumns) mergeSQL() string {
	return `SELECT u.i, t.m FROM ` + unnestKeysSQL + `) WITH ORDINALITY AS u(k0, k1, k2, k3, k4, k5, k6, i)
		JOIN ` + r.table + ` t ON ` + r.matchSQL("u") + ` ORDER BY u.i FOR UPDATE OF t`
}

// queueRead queues the read of the stored rows of r's keys (mergeSQL), and on reading adds r's
// counters to them into sums, marking stored the rows read.
func (r *rowColumns) queueRead(b *pgx.Batch, sums []progress.Metrics, stored []bool) {
	if len(r.metrics) == 0 {
		return
	}
	args := make([]any, 7)
	for i := range r.cols {
		args[i] = r.cols[i]
	}
	b.Queue(r.mergeSQL(), args...).Query(func(rows pgx.Rows) error {
		dec := newMetricsDecoder()
		var i int64
		var raw []byte
		_, err := pgx.ForEachRow(rows, []any{&i, &raw}, func() error {
			m, err := dec.decode(raw)
			if err != nil {
				return err
			}
			m.Add(r.metrics[i-1], 1)
			sums[i-1], stored[i-1] = m, true
			return nil
		})
		return err
	})
}

// queueMerged queues the writes of a merge once the stored rows are read: the sums of stored
// rows replace their counters (a row the delta lowered to no observations is deleted), and the
// rows not stored are upserted with the delta's counters. Every writer of a district's cell
// rows raises its version first (applyRows), so none can have inserted such a row since the
// read, but pushes upsert pair rows directly: a row inserted since the read meets ON CONFLICT
// and is merged there by progress_add.
func (r *rowColumns) queueMerged(b *pgx.Batch, sums []progress.Metrics, stored []bool) error {
	upd := rowColumns{table: r.table, keyCols: r.keyCols}
	ins := rowColumns{table: r.table, keyCols: r.keyCols}
	var del [7][]string
	for j, ok := range stored {
		key := [7]string{r.cols[0][j], r.cols[1][j], r.cols[2][j], r.cols[3][j], r.cols[4][j], r.cols[5][j], r.cols[6][j]}
		switch {
		case !ok:
			ins.add(key, r.metrics[j])
		case r.negative[j] && sums[j].Observations() <= 0:
			for i, v := range key {
				del[i] = append(del[i], v)
			}
		default:
			upd.add(key, sums[j])
		}
	}
	if err := upd.encode(); err != nil {
		return err
	}
	if err := ins.encode(); err != nil {
		return err
	}
	on := r.matchSQL("u")
	if len(del[0]) > 0 {
		args := make([]any, 7)
		for i := range del {
			args[i] = del[i]
		}
		b.Queue(`DELETE FROM `+r.table+` t USING `+unnestKeysSQL+`) AS u(k0, k1, k2, k3, k4, k5, k6) WHERE `+on, args...)
	}
	if len(upd.m) > 0 {
		set := `m = u.m`
		if r.table == "progress_cells" {
			set += `, rev = DEFAULT`
		}
		args := make([]any, 0, 8)
		for i := range upd.cols {
			args = append(args, upd.cols[i])
		}
		b.Queue(`UPDATE `+r.table+` t SET `+set+` FROM `+unnestKeysSQL+`, $8::text[]) AS u(k0, k1, k2, k3, k4, k5, k6, m)
			WHERE `+on, append(args, upd.m)...)
	}
	ins.queue(b)
	return nil
}

// merge adds the rows to the stored ones, summing their counters in Go, after what b holds: one
// batch reads (and locks) the stored rows of the keys, a second writes the sums. progress_add
// merges the counters in PostgreSQL, jsonb key by key, which costs several times reading and
// rewriting a row: site rows hold many counters, and the compactor adds to them at every pass.
func (r *deltaRows) merge(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	cells := make([]progress.Metrics, len(r.cells.metrics))
	pairs := make([]progress.Metrics, len(r.pairs.metrics))
	cellsStored, pairsStored := make([]bool, len(cells)), make([]bool, len(pairs))
	r.cells.queueRead(b, cells, cellsStored)
	r.pairs.queueRead(b, pairs, pairsStored)
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
	}
	b = &pgx.Batch{}
	if err := r.cells.queueMerged(b, cells, cellsStored); err != nil {
		return err
	}
	if err := r.pairs.queueMerged(b, pairs, pairsStored); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}

// stage applies the rows through staging tables.
func (r *deltaRows) stage(ctx context.Context, tx pgx.Tx, held bool) error {
	if err := r.cells.stage(ctx, tx, held); err != nil {
		return err
	}
	return r.pairs.stage(ctx, tx, held)
}
