package store

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/progress"
)

// A load's delta grows with the aggregate rows its observations fall in, not with the
// observations, but a network's rows can still outgrow memory (a classroom's every school
// day). When the delta reaches loadFlushCells rows, the Loader writes its rows, in key order,
// to a run file on local disk and starts a new delta; Commit merges the runs and the last delta
// in key order and writes each row once, in chunks of loadFlushCells rows. Writing the rows of
// each full delta into the tables instead made every later write read, delete and rewrite the
// rows earlier ones had written, which the next observations mostly add to again.
//
// A run holds, per row: the seven key columns (uvarint length, bytes), the number of counters,
// and each counter as its metric key (uvarint) and count (varint). Metric keys are this
// process's (progress.MetricKey), which is the only reader.

// spill is a load's runs: one file each for cells and pairs per full delta.
type spill struct {
	dir          string
	cells, pairs []string
}

// add writes the rows of d as two runs.
func (s *spill) add(d *progress.Delta) error {
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "lookfor-load-")
		if err != nil {
			return err
		}
		s.dir = dir
	}
	rows := deltaKeys(d)
	for _, r := range []struct {
		rows  *rowColumns
		paths *[]string
	}{{&rows.cells, &s.cells}, {&rows.pairs, &s.pairs}} {
		path := fmt.Sprintf("%s/%s-%d", s.dir, r.rows.table, len(*r.paths))
		if err := writeRun(path, r.rows); err != nil {
			return err
		}
		*r.paths = append(*r.paths, path)
	}
	return nil
}

// remove deletes the runs.
func (s *spill) remove() {
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
		s.dir = ""
	}
}

func writeRun(path string, r *rowColumns) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var buf []byte
	for j, m := range r.metrics {
		buf = buf[:0]
		for i := range r.cols {
			buf = binary.AppendUvarint(buf, uint64(len(r.cols[i][j])))
			buf = append(buf, r.cols[i][j]...)
		}
		buf = binary.AppendUvarint(buf, uint64(len(m)))
		for _, c := range m {
			buf = binary.AppendVarint(binary.AppendUvarint(buf, uint64(c.Key)), c.N)
		}
		if _, err := w.Write(buf); err != nil {
			_ = f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// run reads a run file row by row.
type run struct {
	f   *os.File
	r   *bufio.Reader
	key [7]string
	m   progress.Metrics
	ok  bool // key and m hold a row
	str []byte
}

func openRun(path string) (*run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := &run{f: f, r: bufio.NewReaderSize(f, 1<<20)}
	if err := r.next(); err != nil {
		_ = f.Close()
		return nil, err
	}
	return r, nil
}

// next reads the next row; ok is false at the end of the run.
func (r *run) next() error {
	for i := range r.key {
		n, err := binary.ReadUvarint(r.r)
		if i == 0 && errors.Is(err, io.EOF) {
			r.ok = false
			return nil
		}
		if err != nil {
			return unexpected(err)
		}
		if uint64(cap(r.str)) < n {
			r.str = make([]byte, n)
		}
		r.str = r.str[:n]
		if _, err := io.ReadFull(r.r, r.str); err != nil {
			return unexpected(err)
		}
		if i > 0 && string(r.str) == r.key[i] { // key columns repeat from row to row: keep the string
			continue
		}
		r.key[i] = string(r.str)
	}
	count, err := binary.ReadUvarint(r.r)
	if err != nil {
		return unexpected(err)
	}
	r.m = make(progress.Metrics, count)
	for i := range r.m {
		k, err := binary.ReadUvarint(r.r)
		if err != nil {
			return unexpected(err)
		}
		v, err := binary.ReadVarint(r.r)
		if err != nil {
			return unexpected(err)
		}
		r.m[i] = progress.Counter{Key: progress.MetricKey(k), N: v}
	}
	r.ok = true
	return nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func compareKeys(a, b [7]string) int {
	for i := range a {
		if c := cmp.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// merger yields the rows of runs and of last (rows in key order, as deltaKeys makes them) in
// key order, each key once with the sum of its counters, rows whose counters are all 0 left out.
type merger struct {
	runs []*run
	last *rowColumns
	j    int // next row of last
}

func newMerger(paths []string, last *rowColumns) (*merger, error) {
	g := &merger{last: last}
	for _, p := range paths {
		r, err := openRun(p)
		if err != nil {
			g.close()
			return nil, err
		}
		g.runs = append(g.runs, r)
	}
	return g, nil
}

func (g *merger) close() {
	for _, r := range g.runs {
		_ = r.f.Close()
	}
}

// next returns the next row; ok is false after the last.
func (g *merger) next() (key [7]string, m progress.Metrics, ok bool, err error) {
	for {
		have := false
		if g.j < len(g.last.metrics) {
			key, have = g.last.key(g.j), true
		}
		for _, r := range g.runs {
			if r.ok && (!have || compareKeys(r.key, key) < 0) {
				key, have = r.key, true
			}
		}
		if !have {
			return key, nil, false, nil
		}
		m = nil
		if g.j < len(g.last.metrics) && g.last.key(g.j) == key {
			m = g.last.metrics[g.j]
			g.j++
		}
		for _, r := range g.runs {
			if r.ok && r.key == key {
				m.Add(r.m, 1)
				if err := r.next(); err != nil {
					return key, nil, false, err
				}
			}
		}
		if !m.Zero() {
			return key, m, true, nil
		}
	}
}

// applyMerged writes the merged rows of the runs at paths and of last into the table of last,
// in chunks of at most chunk rows: the rows a load adds to its districts when some of them had
// rows in that table, for a caller that holds every one of districts exclusively. A row of a
// period the table holds no row of for its district is copied in; the others are added to the
// rows stored through staging (rowColumns.stage). A load of a new school year into a district
// that has the last one's rows thus copies nearly every row straight in.
func applyMerged(ctx context.Context, tx pgx.Tx, paths []string, last *rowColumns, districts []string, chunk int) error {
	stored := map[[3]string]bool{}
	// The periods stored, read by skipping along the primary key (district_id, period_kind,
	// period_key, …): one descent per period, where a DISTINCT reads every row of the districts
	// (about a second for 750,000 cells of a school year loaded before).
	rows, err := tx.Query(ctx, `WITH RECURSIVE p(d, k, key) AS (
			SELECT u.d, f.k, f.key FROM unnest($1::text[]) AS u(d),
				LATERAL (SELECT period_kind, period_key FROM `+last.table+` WHERE district_id = u.d
					ORDER BY period_kind, period_key LIMIT 1) AS f(k, key)
			UNION ALL
			SELECT p.d, f.k, f.key FROM p,
				LATERAL (SELECT period_kind, period_key FROM `+last.table+` WHERE district_id = p.d AND (period_kind, period_key) > (p.k, p.key)
					ORDER BY period_kind, period_key LIMIT 1) AS f(k, key))
		SELECT d, k, key FROM p`, districts)
	if err != nil {
		return err
	}
	var p [3]string
	if _, err := pgx.ForEachRow(rows, []any{&p[0], &p[1], &p[2]}, func() error {
		stored[p] = true
		return nil
	}); err != nil {
		return err
	}
	g, err := newMerger(paths, last)
	if err != nil {
		return err
	}
	defer g.close()
	merged, fresh := rowColumns{table: last.table, keyCols: last.keyCols}, rowColumns{table: last.table, keyCols: last.keyCols}
	merged.grow(min(chunk, 1<<16))
	fresh.grow(min(chunk, 1<<16))
	flush := func(out *rowColumns, write func(*rowColumns) error) error {
		if len(out.metrics) == 0 {
			return nil
		}
		if out.table == "progress_cells" {
			b := &pgx.Batch{}
			queueBumpVersions(b, out.cols[0], out.cols[6])
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		}
		if err := write(out); err != nil {
			return err
		}
		*out = rowColumns{table: last.table, keyCols: last.keyCols}
		out.grow(min(chunk, 1<<16))
		return nil
	}
	stage := func(r *rowColumns) error { return r.stage(ctx, tx, true) }
	copyIn := func(r *rowColumns) error { return r.copyIn(ctx, tx) }
	for {
		key, m, ok, err := g.next()
		if err != nil {
			return err
		}
		if !ok {
			if err := flush(&merged, stage); err != nil {
				return err
			}
			return flush(&fresh, copyIn)
		}
		out, write := &fresh, copyIn
		if stored[[3]string{key[0], key[1], key[2]}] {
			out, write = &merged, stage
		}
		out.add(key, m)
		if len(out.metrics) >= chunk {
			if err := flush(out, write); err != nil {
				return err
			}
		}
	}
}

// copyMerged copies the merged rows of the runs at paths and of last into the table of last
// with one COPY, merging and encoding each row as the COPY sends it: the rows a load adds to
// districts that had none in that table, for a caller that holds them exclusively.
func copyMerged(ctx context.Context, tx pgx.Tx, paths []string, last *rowColumns) error {
	g, err := newMerger(paths, last)
	if err != nil {
		return err
	}
	defer g.close()
	src := &mergedSource{g: g}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{last.table}, append(last.keyCols[:], "m"), src); err != nil {
		if src.err != nil {
			return src.err
		}
		return err
	}
	if last.table != "progress_cells" || len(src.districts) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	queueBumpVersions(b, src.districts, src.rubrics)
	return tx.SendBatch(ctx, b).Close()
}

// mergedSource is a merger as a pgx.CopyFromSource.
type mergedSource struct {
	g                  *merger
	key                [7]string
	m                  progress.Metrics
	buf                []byte
	err                error
	districts, rubrics []string // of the rows, for the versions they raise
}

func (s *mergedSource) Next() bool {
	var ok bool
	s.key, s.m, ok, s.err = s.g.next()
	if ok && s.g.last.table == "progress_cells" {
		if n := len(s.districts); n == 0 || s.districts[n-1] != s.key[0] || s.rubrics[n-1] != s.key[6] {
			s.districts, s.rubrics = append(s.districts, s.key[0]), append(s.rubrics, s.key[6])
		}
	}
	return ok && s.err == nil
}

// Values encodes the row's counters into one buffer: COPY encodes a row before it asks for the
// next.
func (s *mergedSource) Values() ([]any, error) {
	var err error
	if s.buf, err = appendMetrics(s.buf[:0], s.m); err != nil {
		s.err = err
		return nil, err
	}
	k := s.key
	return []any{k[0], k[1], k[2], k[3], k[4], k[5], k[6], s.buf}, nil
}

func (s *mergedSource) Err() error { return s.err }

// key returns the key columns of row j.
func (r *rowColumns) key(j int) [7]string {
	var k [7]string
	for i := range k {
		k[i] = r.cols[i][j]
	}
	return k
}
