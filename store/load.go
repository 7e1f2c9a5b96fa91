package store

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
)

// loadFlushCells is the number of cell rows a Loader's accumulated delta may reach before it is
// set aside in a run file (bounding the loader's memory; load_spill.go), and the rows written
// per chunk when the runs are merged at Commit. Every aggregate row a load adds to is written
// once, at Commit.
var loadFlushCells = 100_000

// Loader bulk-loads observations in batches, all in one transaction: it is what
// CopyObservations is for many batches (seeding, the bench's loads), with the same rules for
// each row. Either every batch lands, with its aggregates, or none does.
//
// The progress aggregates are maintained with one delta accumulated over the batches and
// written at Commit (set aside on local disk whenever it reaches loadFlushCells rows, and
// merged at Commit): a cell that many batches add to is written once, not once per batch.
// Each batch's delta is computed in Go while the next batch is copied, and the site rows of the
// accumulated delta when it is set aside or written (each cell added to its site row once); as
// the loader holds its districts, the rows are copied straight into the aggregate tables. The
// loader holds the progress locks of the districts it loads exclusively, from the first batch
// that names each until it ends: pushes to those districts wait for the load, pushes to other
// districts do not. Two loaders of the same districts in different
// orders may deadlock (PostgreSQL then fails one of them).
//
// A Loader is not safe for concurrent use. Copy keeps the rows it is given until their delta is
// computed: the caller must not change them afterwards.
type Loader struct {
	s      *Store
	tx     pgx.Tx
	in     *progressInputs
	now    time.Time
	locked map[string]bool
	stored bool // some district of the load had aggregate rows when the load locked it
	delta  *progress.Delta
	spill  spill         // the deltas that reached loadFlushCells (load_spill.go)
	done   chan struct{} // closed when the previous batch's delta has been added to delta
	// spilled is closed when the last full delta has been set aside, spillErr its error,
	// written before.
	spilled  chan struct{}
	spillErr error
	err      error
	n        int64
}

// BeginLoad starts a load; the caller must end it with Commit or Rollback.
func (s *Store) BeginLoad(ctx context.Context) (*Loader, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, classify(err)
	}
	if err := setLoadCompression(ctx, tx); err != nil {
		_ = tx.Rollback(ctx)
		return nil, classify(err)
	}
	done := make(chan struct{})
	close(done)
	return &Loader{s: s, tx: tx, in: newProgressInputs(), now: time.Now().UTC().Truncate(time.Microsecond),
		locked: map[string]bool{}, delta: progress.NewDelta(), done: done, spilled: done}, nil
}

// Copy copies one batch of new observations (as CopyObservations stores them) and returns the
// number of rows written. After an error the load can only be rolled back.
func (l *Loader) Copy(ctx context.Context, obs []observation.StoredObservation) (int64, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.copy(ctx, obs)
	if err != nil {
		l.err = classify(err)
		return 0, l.err
	}
	l.n += n
	return n, nil
}

func (l *Loader) copy(ctx context.Context, obs []observation.StoredObservation) (int64, error) {
	if len(obs) == 0 {
		return 0, nil
	}
	// The districts this load meets for the first time: lock them (in one order), read their
	// settings.
	var districts []string
	for i := range obs {
		if d := obs[i].DistrictID; !l.locked[d] && !slices.Contains(districts, d) {
			districts = append(districts, d)
		}
	}
	if len(districts) > 0 {
		if err := lockProgress(ctx, l.tx, districts, true); err != nil {
			return 0, err
		}
		b := &pgx.Batch{}
		l.in.queueMissing(b, l.s, districts, nil)
		b.Queue(`SELECT EXISTS (SELECT 1 FROM progress_cells WHERE district_id = ANY($1))
			OR EXISTS (SELECT 1 FROM progress_pairs WHERE district_id = ANY($1))`, districts).QueryRow(func(row pgx.Row) error {
			var stored bool
			err := row.Scan(&stored)
			l.stored = l.stored || stored
			return err
		})
		if err := l.tx.SendBatch(ctx, b).Close(); err != nil {
			return 0, err
		}
		for _, d := range districts {
			if _, ok := l.in.settings[d]; !ok {
				return 0, observation.NotFound("district", d)
			}
			l.locked[d] = true
		}
	}
	submittedDefaults(obs, l.now)
	n, err := copyRows(ctx, l.tx, obs, l.now)
	if err != nil {
		return n, err
	}

	// What the batch's delta is computed with: the rubric versions it names and the members of
	// its co-observation groups stored before it (by earlier batches of this load too; the
	// districts are held exclusively, so no group lock is needed).
	changes := make([]progress.RecordChange, 0, len(obs))
	var refs []rubricKey
	seenRef := map[rubricKey]bool{}
	groups := map[string]bool{}
	var grouped []string
	for i := range obs {
		o := &obs[i]
		if !progress.Counted(*o) {
			continue
		}
		changes = append(changes, progress.RecordChange{After: o})
		if r := (rubricKey{o.RubricID, o.RubricVersion}); !seenRef[r] {
			seenRef[r] = true
			refs = append(refs, r)
		}
		if o.CoObservation != "" {
			groups[progress.GroupKey(o.DistrictID, o.CoObservation)] = true
			grouped = append(grouped, o.ID)
		}
	}
	if len(changes) == 0 {
		return n, nil
	}
	others := map[string][]observation.StoredObservation{}
	b := &pgx.Batch{}
	if len(groups) > 0 {
		queueGroupMembers(b, slices.Collect(maps.Keys(groups)), grouped, false, false, others)
	}
	l.in.queueMissing(b, l.s, nil, refs)
	if b.Len() > 0 {
		if err := l.tx.SendBatch(ctx, b).Close(); err != nil {
			return n, err
		}
	}

	// Compute the batch's delta while the caller copies the next batch; one at a time, so that
	// the accumulated delta is set aside before it grows past loadFlushCells. A delta that
	// reached it is written to a run file in a goroutine of its own (one at a time), and this
	// batch's delta computed into a new one: neither keeps PostgreSQL waiting for the next batch.
	<-l.done
	var full *progress.Delta
	if len(l.delta.Cells) >= loadFlushCells {
		// A load that filled one delta is likely to fill the next: sized up front, it is not
		// rehashed as it grows.
		full, l.delta = l.delta, progress.NewDeltaSize(loadFlushCells)
	}
	in := &progressInputs{settings: maps.Clone(l.in.settings), content: maps.Clone(l.in.content)}
	done := make(chan struct{})
	l.done = done
	total := l.delta
	go func() {
		defer close(done)
		addBulkDelta(total, changes, others, in.domain())
	}()
	if full != nil {
		<-l.spilled // one delta set aside at a time
		if l.spillErr != nil {
			return n, l.spillErr
		}
		spilled := make(chan struct{})
		l.spilled = spilled
		go func() {
			defer close(spilled)
			// Site rows sum their cells, so each run's are its cells' sums and the runs' merge
			// is the load's: made once per run, not per batch, they add each cell to its site
			// row once.
			l.spillErr = l.spill.add(full.AddSiteRows())
		}()
	}
	return n, nil
}

// addOwned adds o to d, taking o's counters for the rows d does not have (o must not be used
// afterwards).
func addOwned(d, o *progress.Delta) {
	addOwnedRows(d.Cells, o.Cells)
	addOwnedRows(d.Pairs, o.Pairs)
}

func addOwnedRows[K comparable](d, o map[K]progress.Metrics) {
	for k, m := range o {
		if c, ok := d[k]; ok {
			c.Add(m, 1)
			d[k] = c
		} else {
			d[k] = m
		}
	}
}

// Commit writes the aggregates of the load and commits it, returning the number of rows
// written. After an error nothing of the load is stored.
func (l *Loader) Commit(ctx context.Context) (int64, error) {
	<-l.done
	<-l.spilled
	if l.err == nil && l.spillErr != nil {
		l.err = l.spillErr
	}
	if l.err != nil {
		_ = l.tx.Rollback(ctx)
		return 0, l.err
	}
	defer l.spill.remove()
	// Nothing stored to add to: every row is copied in, merged as it is sent. Else each row is
	// read, summed and replaced through staging, in chunks.
	apply := copyMerged
	if l.stored {
		apply = func(ctx context.Context, tx pgx.Tx, paths []string, last *rowColumns) error {
			return applyMerged(ctx, tx, paths, last, slices.Collect(maps.Keys(l.locked)), loadFlushCells)
		}
	}
	rows := deltaKeys(l.delta.AddSiteRows())
	l.delta = nil
	err := apply(ctx, l.tx, l.spill.cells, &rows.cells)
	if err == nil {
		err = apply(ctx, l.tx, l.spill.pairs, &rows.pairs)
	}
	if err == nil {
		err = l.tx.Commit(ctx)
	} else {
		_ = l.tx.Rollback(ctx)
	}
	l.err = classify(err)
	if l.err == nil {
		l.err = errLoadEnded
		return l.n, nil
	}
	return 0, l.err
}

// Rollback abandons the load: nothing of it is stored. It does nothing after Commit.
func (l *Loader) Rollback(ctx context.Context) {
	<-l.done
	<-l.spilled
	l.spill.remove()
	if l.err != errLoadEnded {
		_ = l.tx.Rollback(ctx)
		l.err = errLoadEnded
	}
}

var errLoadEnded = errors.New("store: the load has ended")
