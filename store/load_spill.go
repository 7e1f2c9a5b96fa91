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
	n, err := binary.ReadUvarint(r.r)
	if errors.Is(err, io.EOF) {
		r.ok = false
		return nil
	}
	for i := range r.key {
		if i > 0 {
			if n, err = binary.ReadUvarint(r.r); err != nil {
				return unexpected(err)
			}
		}
		if err != nil {
			return err
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

// applyMerged writes the rows of the runs at paths and of last (rows in key order, as deltaKeys
// makes them) into the table of last, each key once with the sum of its counters, in chunks
// of at most chunk rows: the rows a load adds, for a caller that holds their districts
// exclusively.
func applyMerged(ctx context.Context, tx pgx.Tx, paths []string, last *rowColumns, chunk int) error {
	runs := make([]*run, 0, len(paths))
	defer func() {
		for _, r := range runs {
			_ = r.f.Close()
		}
	}()
	for _, p := range paths {
		r, err := openRun(p)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	out := rowColumns{table: last.table, keyCols: last.keyCols}
	out.grow(min(chunk, 1<<16))
	flush := func() error {
		if len(out.metrics) == 0 {
			return nil
		}
		b := &pgx.Batch{}
		if out.table == "progress_cells" {
			queueBumpVersions(b, out.cols[0], out.cols[6])
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		}
		if err := out.stage(ctx, tx, true); err != nil {
			return err
		}
		out = rowColumns{table: last.table, keyCols: last.keyCols}
		out.grow(min(chunk, 1<<16))
		return nil
	}
	j := 0 // next row of last
	for {
		// The smallest key among the runs' rows and last's next row.
		var key [7]string
		have := false
		if j < len(last.metrics) {
			key, have = last.key(j), true
		}
		for _, r := range runs {
			if r.ok && (!have || compareKeys(r.key, key) < 0) {
				key, have = r.key, true
			}
		}
		if !have {
			break
		}
		var m progress.Metrics
		if j < len(last.metrics) && last.key(j) == key {
			m = last.metrics[j]
			j++
		}
		for _, r := range runs {
			if r.ok && r.key == key {
				m.Add(r.m, 1)
				if err := r.next(); err != nil {
					return err
				}
			}
		}
		if !m.Zero() {
			out.add(key, m)
		}
		if len(out.metrics) >= chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// key returns the key columns of row j.
func (r *rowColumns) key(j int) [7]string {
	var k [7]string
	for i := range k {
		k[i] = r.cols[i][j]
	}
	return k
}
