package tablet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	gosync "sync"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

// ReasonTooLarge is the reason of a change the client refused to send because its encoding alone
// exceeds the push byte budget. The change is kept in the rejected bucket for the coach to fix.
const ReasonTooLarge = "TOO_LARGE"

// ErrUnauthenticated is returned (wrapping the transport's error) when the server refuses the
// token. The outbox is kept intact; sync again once the user has signed in again.
var ErrUnauthenticated = errors.New("sync: the server refused the credentials; the outbox is kept")

// Options configure a Client. Zero values take the defaults.
type Options struct {
	DeviceID      string // used on first Open only (a UUIDv7 is generated when empty); persisted
	ClientVersion string
	SchemaVersion int
	Limits        sync.Limits   // zero fields take DefaultLimits
	PullPageSize  int           // default 500
	MaxAttempts   int           // attempts per call on KindUnavailable (default 8)
	BaseBackoff   time.Duration // default 200ms
	MaxBackoff    time.Duration // default 30s
	// CallTimeout bounds one transport call; a call that runs out of it is retried like
	// KindUnavailable. Default 2 minutes; negative disables it.
	CallTimeout time.Duration
	// Sleep waits between attempts; default a real sleep that honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for local bookkeeping (last sync, when a conflict was seen); default time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Limits.MaxChanges <= 0 {
		o.Limits.MaxChanges = sync.DefaultLimits.MaxChanges
	}
	if o.Limits.MaxBytes <= 0 {
		o.Limits.MaxBytes = sync.DefaultLimits.MaxBytes
	}
	if o.PullPageSize <= 0 {
		o.PullPageSize = 500
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxBackoff < o.BaseBackoff {
		o.MaxBackoff = o.BaseBackoff
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 2 * time.Minute
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Client is the tablet side of sync: a durable outbox of local changes in a bbolt file, pushed in
// batches with per-device sequence numbers, and a pull loop that keeps local records current.
// Save, Delete and the readers may be called from any goroutine at any time; Sync, Push and Pull
// are serialised.
type Client struct {
	db       *bolt.DB
	t        Transport
	opts     Options
	deviceID string
	netMu    gosync.Mutex // one network operation at a time
}

// Report counts what one Sync, Push or Pull did.
type Report struct {
	Pushed     int // changes the server answered for good (removed from the outbox)
	Applied    int
	Duplicates int
	Conflicts  int
	Rejected   int // by the server, or locally as TOO_LARGE
	Pulled     int // upserts received from the server
	Removed    int // local records removed by tombstones or a reset
	Batches    int // push batches answered
	Retries    int // transport calls retried after KindUnavailable or a call timeout
}

func (r *Report) add(o Report) {
	r.Pushed += o.Pushed
	r.Applied += o.Applied
	r.Duplicates += o.Duplicates
	r.Conflicts += o.Conflicts
	r.Rejected += o.Rejected
	r.Pulled += o.Pulled
	r.Removed += o.Removed
	r.Batches += o.Batches
	r.Retries += o.Retries
}

// LocalStatus summarises the local state.
type LocalStatus struct {
	DeviceID   string
	Registered bool
	Pending    int   // changes in the outbox
	NextSeq    int64 // the seq the next local change gets
	Conflicts  int
	Rejected   int
	Cursor     string
	LastSync   time.Time
	Records    int // local records (not counting ones deleted locally)
}

// NewID returns a new record id (UUIDv7), as every record id is generated on the tablet.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// Open opens (or creates) the client's bbolt file at path. t may be nil for offline use; network
// operations then fail.
func Open(path string, t Transport, opts Options) (*Client, error) {
	opts.defaults()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("sync: open outbox %s: %w", path, err)
	}
	c := &Client{db: db, t: t, opts: opts}
	err = db.Update(func(tx *bolt.Tx) error {
		id, err := initBuckets(tx, func() (string, error) {
			if opts.DeviceID != "" {
				return opts.DeviceID, nil
			}
			u, err := uuid.NewV7()
			if err != nil {
				return "", err
			}
			return u.String(), nil
		})
		c.deviceID = id
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the bbolt file. Everything committed stays on disk.
func (c *Client) Close() error { return c.db.Close() }

// DeviceID is the device's persisted id.
func (c *Client) DeviceID() string { return c.deviceID }

// Save records a local create, edit or submit: it stores the record and enqueues an upsert with
// the next seq, in one transaction. BaseRevision is the server revision the tablet last knew for
// the record (0 if none). fields lists the edited fields for a draft merge (empty: all). Saving
// clears an earlier rejection of the record (the coach has fixed it).
func (c *Client) Save(r observation.Record, fields ...string) (int64, error) {
	if r.ID == "" {
		return 0, observation.Invalid("id", "REQUIRED", "a record needs an id (generate one with NewID)")
	}
	return c.enqueueUpsert(r, fields, nil)
}

// ResolveConflict resolves the conflicts of record id with the version the person chose (which
// may be the server's copy, the local one, or a merge): it is enqueued as an amendment of the
// newest server revision seen in the conflicts, and the conflicts are removed.
func (c *Client) ResolveConflict(id string, r observation.Record, fields ...string) (int64, error) {
	if r.ID != id {
		return 0, observation.Invalid("id", "MISMATCH", "the record's id %q is not %q", r.ID, id)
	}
	var base int
	found := false
	err := c.db.View(func(tx *bolt.Tx) error {
		cs, err := listConflicts(tx)
		for _, cf := range cs {
			if cf.Local.ObservationID != id {
				continue
			}
			found = true
			rev := cf.Result.Revision
			if cf.Result.Server != nil {
				rev = cf.Result.Server.Revision
			}
			base = max(base, rev)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, observation.NotFound("conflict for observation", id)
	}
	return c.enqueueUpsert(r, fields, &base)
}

func (c *Client) enqueueUpsert(r observation.Record, fields []string, resolvedBase *int) (int64, error) {
	var seq int64
	err := c.db.Update(func(tx *bolt.Tx) error {
		e, err := getEntry(tx, r.ID)
		if err != nil {
			return err
		}
		if e == nil {
			e = &recordEntry{}
		}
		if resolvedBase != nil {
			if err := dropConflicts(tx, r.ID); err != nil {
				return err
			}
			e.Meta.Revision = *resolvedBase
			e.Meta.Conflict = false
		}
		if e.Meta.Rejected != nil {
			if err := dropRejected(tx, r.ID); err != nil {
				return err
			}
			e.Meta.Rejected = nil
		}
		e.Record = r
		e.Meta.Deleted = false
		ch := &sync.Change{
			Op:            sync.OpUpsert,
			Record:        r,
			ObservationID: r.ID,
			BaseRevision:  e.Meta.Revision,
			Fields:        fields,
		}
		seq, err = enqueue(tx, ch, e)
		return err
	})
	return seq, err
}

func dropConflicts(tx *bolt.Tx, id string) error {
	cs, err := listConflicts(tx)
	if err != nil {
		return err
	}
	b := tx.Bucket(bucketConflicts)
	for _, cf := range cs {
		if cf.Local.ObservationID == id {
			if err := b.Delete(seqKey(int64(cf.Key))); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete records a local deletion: the record disappears from Records at once and a delete
// change naming the known server revision is enqueued, in one transaction.
func (c *Client) Delete(id string) (int64, error) {
	var seq int64
	err := c.db.Update(func(tx *bolt.Tx) error {
		e, err := getEntry(tx, id)
		if err != nil {
			return err
		}
		if e == nil || e.Meta.Deleted {
			return observation.NotFound("observation", id)
		}
		if e.Meta.Rejected != nil {
			if err := dropRejected(tx, id); err != nil {
				return err
			}
			e.Meta.Rejected = nil
		}
		e.Meta.Deleted = true
		ch := &sync.Change{Op: sync.OpDelete, ObservationID: id, BaseRevision: e.Meta.Revision}
		seq, err = enqueue(tx, ch, e)
		return err
	})
	return seq, err
}

// Record returns one local record and its bookkeeping; ok is false when the tablet has no such
// record (or has deleted it).
func (c *Client) Record(id string) (observation.Record, LocalMeta, bool, error) {
	var e *recordEntry
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		e, err = getEntry(tx, id)
		return err
	})
	if err != nil || e == nil || e.Meta.Deleted {
		return observation.Record{}, LocalMeta{}, false, err
	}
	return e.Record, e.Meta.local(), true, nil
}

// Records returns every local record (not the locally deleted ones), ordered by id.
func (c *Client) Records() ([]observation.Record, error) {
	var out []observation.Record
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			var e recordEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("sync: decode local record %s: %w", k, err)
			}
			if !e.Meta.Deleted {
				out = append(out, e.Record)
			}
			return nil
		})
	})
	return out, err
}

// Conflicts lists the conflicts waiting for a person to resolve them.
func (c *Client) Conflicts() ([]Conflict, error) {
	var out []Conflict
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = listConflicts(tx)
		return err
	})
	return out, err
}

// Rejections lists the changes that were not stored, for the coach to fix.
func (c *Client) Rejections() ([]Rejection, error) {
	var out []Rejection
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = listRejected(tx)
		return err
	})
	return out, err
}

// Pending returns the queued changes in seq order.
func (c *Client) Pending() ([]sync.Change, error) {
	var out []sync.Change
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
			var ch sync.Change
			if err := json.Unmarshal(v, &ch); err != nil {
				return fmt.Errorf("sync: decode outbox seq %d: %w", keySeq(k), err)
			}
			out = append(out, ch)
			return nil
		})
	})
	return out, err
}

// Rubrics returns the rubric version changes pulled so far (latest status per version).
func (c *Client) Rubrics() ([]sync.RubricChange, error) {
	var out []sync.RubricChange
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRubrics).ForEach(func(_, v []byte) error {
			var rc sync.RubricChange
			if err := json.Unmarshal(v, &rc); err != nil {
				return fmt.Errorf("sync: decode rubric: %w", err)
			}
			out = append(out, rc)
			return nil
		})
	})
	return out, err
}

// Status summarises the local state.
func (c *Client) Status() (LocalStatus, error) {
	s := LocalStatus{DeviceID: c.deviceID}
	err := c.db.View(func(tx *bolt.Tx) error {
		s.Registered = getMeta(tx, keyRegistered) == "1"
		s.NextSeq = nextSeq(tx)
		s.Cursor = getMeta(tx, keyCursor)
		if v := getMeta(tx, keyLastSync); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return fmt.Errorf("sync: decode last sync: %w", err)
			}
			s.LastSync = t
		}
		s.Pending = tx.Bucket(bucketOutbox).Stats().KeyN
		s.Conflicts = tx.Bucket(bucketConflicts).Stats().KeyN
		s.Rejected = tx.Bucket(bucketRejected).Stats().KeyN
		return tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			var e recordEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("sync: decode local record %s: %w", k, err)
			}
			if !e.Meta.Deleted {
				s.Records++
			}
			return nil
		})
	})
	return s, err
}

// Sync registers the device if needed, pushes everything pending in batches, then pulls until
// the server has nothing more.
func (c *Client) Sync(ctx context.Context) (Report, error) {
	c.netMu.Lock()
	defer c.netMu.Unlock()
	var rep Report
	if err := c.push(ctx, &rep); err != nil {
		return rep, err
	}
	if err := c.pull(ctx, &rep); err != nil {
		return rep, err
	}
	return rep, c.markSynced()
}

// Push registers the device if needed and pushes everything pending.
func (c *Client) Push(ctx context.Context) (Report, error) {
	c.netMu.Lock()
	defer c.netMu.Unlock()
	var rep Report
	if err := c.push(ctx, &rep); err != nil {
		return rep, err
	}
	return rep, c.markSynced()
}

// Pull registers the device if needed and pulls until the server has nothing more.
func (c *Client) Pull(ctx context.Context) (Report, error) {
	c.netMu.Lock()
	defer c.netMu.Unlock()
	var rep Report
	if err := c.pull(ctx, &rep); err != nil {
		return rep, err
	}
	return rep, c.markSynced()
}

func (c *Client) markSynced() error {
	now := c.opts.Now().UTC().Format(time.RFC3339Nano)
	return c.db.Update(func(tx *bolt.Tx) error { return putMeta(tx, keyLastSync, now) })
}

// call runs one transport call with the retry policy: KindUnavailable and a call timeout are
// retried with exponential backoff and full jitter up to MaxAttempts; KindUnauthenticated is
// wrapped in ErrUnauthenticated; anything else is returned as is.
func (c *Client) call(ctx context.Context, rep *Report, what string, fn func(ctx context.Context) error) error {
	if c.t == nil {
		return fmt.Errorf("sync: %s: no transport (offline client)", what)
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sync: %s: %w", what, err)
		}
		cctx, cancel := ctx, context.CancelFunc(func() {})
		if c.opts.CallTimeout > 0 {
			cctx, cancel = context.WithTimeout(ctx, c.opts.CallTimeout)
		}
		err := fn(cctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil { // the caller gave up, not the call
			return fmt.Errorf("sync: %s: %w", what, errors.Join(ctx.Err(), err))
		}
		switch {
		case observation.KindOf(err) == observation.KindUnauthenticated:
			return fmt.Errorf("%w: %s: %w", ErrUnauthenticated, what, err)
		case observation.KindOf(err) == observation.KindUnavailable, errors.Is(err, context.DeadlineExceeded):
		default:
			return err
		}
		if attempt+1 >= c.opts.MaxAttempts {
			return fmt.Errorf("sync: %s: giving up after %d attempts: %w", what, attempt+1, err)
		}
		rep.Retries++
		if err := c.opts.Sleep(ctx, c.backoff(attempt)); err != nil {
			return fmt.Errorf("sync: %s: %w", what, err)
		}
	}
}

// backoff is "full jitter": a uniform duration in [0, min(MaxBackoff, BaseBackoff·2^attempt)].
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.opts.MaxBackoff
	if attempt < 32 {
		if d := c.opts.BaseBackoff << attempt; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

func (c *Client) ensureRegistered(ctx context.Context, rep *Report) error {
	var registered bool
	if err := c.db.View(func(tx *bolt.Tx) error {
		registered = getMeta(tx, keyRegistered) == "1"
		return nil
	}); err != nil {
		return err
	}
	if registered {
		return nil
	}
	var dev sync.Device
	err := c.call(ctx, rep, "register device", func(ctx context.Context) error {
		var err error
		dev, err = c.t.RegisterDevice(ctx, c.deviceID, c.opts.ClientVersion, c.opts.SchemaVersion)
		return err
	})
	if err != nil {
		return err
	}
	return c.db.Update(func(tx *bolt.Tx) error {
		// Never hand out a seq the server has already applied for this device.
		if dev.NextSeq > nextSeq(tx) {
			if err := setNextSeq(tx, dev.NextSeq); err != nil {
				return err
			}
		}
		return putMeta(tx, keyRegistered, "1")
	})
}

// queued is one outbox change as read for a batch.
type queued struct {
	ch   sync.Change
	size int
}

// byteBudget is the part of Limits.MaxBytes a batch may fill with the changes' JSON sizes: the
// JSON size is only an estimate of the encoded request, so keep ~10% headroom.
func (c *Client) byteBudget() int { return c.opts.Limits.MaxBytes / 10 * 9 }

// nextBatch reads the next batch from the outbox: changes in seq order, at most maxChanges, their
// JSON sizes within the byte budget. A change that alone exceeds the budget is rejected locally
// (ReasonTooLarge) and the queue moves on. A batch ends before a second change to a record whose
// earlier change in the batch submits it or deletes it: the later change must name the revision
// the earlier one produces, which is only known from its result.
func (c *Client) nextBatch(maxChanges int, rep *Report) ([]queued, error) {
	budget := c.byteBudget()
	for {
		var batch []queued
		var tooLarge *sync.Change
		err := c.db.View(func(tx *bolt.Tx) error {
			bytes := 0
			ends := map[string]bool{} // ids whose next change must wait for this batch's result
			cur := tx.Bucket(bucketOutbox).Cursor()
			for k, v := cur.First(); k != nil && len(batch) < maxChanges; k, v = cur.Next() {
				var ch sync.Change
				if err := json.Unmarshal(v, &ch); err != nil {
					return fmt.Errorf("sync: decode outbox seq %d: %w", keySeq(k), err)
				}
				if len(v) > budget {
					if len(batch) == 0 {
						tooLarge = &ch
					}
					return nil
				}
				if bytes+len(v) > budget || ends[ch.ObservationID] {
					return nil
				}
				batch = append(batch, queued{ch: ch, size: len(v)})
				bytes += len(v)
				if ch.Op == sync.OpDelete || ch.Record.Status == observation.RecordSubmitted {
					ends[ch.ObservationID] = true
				}
			}
			return nil
		})
		if err != nil || tooLarge == nil {
			return batch, err
		}
		if err := c.rejectLocally(*tooLarge, budget, rep); err != nil {
			return nil, err
		}
	}
}

func (c *Client) rejectLocally(ch sync.Change, budget int, rep *Report) error {
	res := sync.Result{
		Seq:           ch.Seq,
		ObservationID: ch.ObservationID,
		Status:        sync.StatusRejected,
		Reason:        ReasonTooLarge,
		Message: fmt.Sprintf("the change is too large to send (over %d bytes); shorten the evidence or notes and save again",
			budget),
	}
	err := c.db.Update(func(tx *bolt.Tx) error {
		e, err := settle(tx, &ch)
		if err != nil {
			return err
		}
		if e != nil {
			e.Meta.Rejected = &res
			e.Meta.Deleted = false
			if err := putEntry(tx, ch.ObservationID, e); err != nil {
				return err
			}
		}
		return addRejected(tx, ch, res, true, c.opts.Now())
	})
	if err == nil {
		rep.Rejected++
	}
	return err
}

// push sends the outbox in batches until it is empty.
func (c *Client) push(ctx context.Context, rep *Report) error {
	if err := c.ensureRegistered(ctx, rep); err != nil {
		return err
	}
	maxChanges := c.opts.Limits.MaxChanges
	stalled := 0
	for {
		batch, err := c.nextBatch(maxChanges, rep)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		cursor, err := c.cursor()
		if err != nil {
			return err
		}
		req := sync.PushRequest{
			DeviceID:      c.deviceID,
			Changes:       make([]sync.Change, len(batch)),
			Cursor:        cursor,
			ClientVersion: c.opts.ClientVersion,
			SchemaVersion: c.opts.SchemaVersion,
		}
		for i, q := range batch {
			req.Changes[i] = q.ch
		}
		var resp sync.PushResponse
		err = c.call(ctx, rep, "push", func(ctx context.Context) error {
			var err error
			resp, err = c.t.Push(ctx, req)
			return err
		})
		if observation.KindOf(err) == observation.KindResourceExhausted {
			if len(batch) == 1 {
				// The local size check passed, yet the server refuses a single change: its limits
				// are lower than ours, or it is a quota. Keep the change queued and report.
				return fmt.Errorf("sync: push: the server refuses even a single change (seq %d): %w", batch[0].ch.Seq, err)
			}
			maxChanges = max(1, len(batch)/2)
			continue
		}
		if err != nil {
			return err
		}
		if err := checkResults(req.Changes, resp.Results); err != nil {
			return err
		}
		gap, settled, err := c.applyResults(batch, resp, rep)
		if err != nil {
			return err
		}
		rep.Batches++
		if gap == 0 {
			if settled == 0 {
				return errors.New("sync: push: the server answered but the outbox did not move")
			}
			stalled = 0
			continue
		}
		moved, err := c.closeGap(gap)
		if err != nil {
			return err
		}
		if settled > 0 || moved > 0 {
			stalled = 0
			continue
		}
		if stalled++; stalled > 1 {
			return fmt.Errorf("sync: push: the server keeps expecting seq %d and the outbox cannot make progress", gap)
		}
	}
}

// checkResults makes sure the response answers exactly the changes sent, in order; otherwise
// nothing is removed from the outbox.
func checkResults(changes []sync.Change, results []sync.Result) error {
	if len(results) != len(changes) {
		return fmt.Errorf("sync: push: %d results for %d changes; keeping the batch queued", len(results), len(changes))
	}
	for i := range results {
		if results[i].Seq != changes[i].Seq {
			return fmt.Errorf("sync: push: result %d answers seq %d, sent seq %d; keeping the batch queued",
				i, results[i].Seq, changes[i].Seq)
		}
	}
	return nil
}

// applyResults settles a batch in one transaction: acknowledged changes leave the outbox and
// update their records, conflicts and rejections are kept, and the response's cursor is stored.
// It returns the lowest sequence the server said it expects (0 if no change hit a gap) and how
// many changes were settled.
func (c *Client) applyResults(batch []queued, resp sync.PushResponse, rep *Report) (gap int64, settled int, err error) {
	var r Report
	now := c.opts.Now()
	err = c.db.Update(func(tx *bolt.Tx) error {
		gap, settled, r = 0, 0, Report{}
		for i, res := range resp.Results {
			ch := batch[i].ch
			if res.Status == sync.StatusRejected && res.Reason == sync.ReasonSequenceGap {
				if res.ExpectedSeq <= 0 {
					return fmt.Errorf("sync: push: seq %d held back without an expected seq; keeping the batch queued", ch.Seq)
				}
				if gap == 0 || res.ExpectedSeq < gap {
					gap = res.ExpectedSeq
				}
				continue
			}
			if v := tx.Bucket(bucketOutbox).Get(seqKey(ch.Seq)); v == nil {
				continue // already settled (cannot happen while pushes are serialised)
			}
			e, err := settle(tx, &ch)
			if err != nil {
				return err
			}
			settled++
			r.Pushed++
			switch res.Status {
			case sync.StatusApplied, sync.StatusDuplicate:
				if res.Status == sync.StatusApplied {
					r.Applied++
				} else {
					r.Duplicates++
				}
				if e == nil {
					break
				}
				if ch.Op == sync.OpDelete {
					if len(e.Meta.PendingSeqs) == 0 && e.Meta.Deleted {
						if err := deleteEntry(tx, ch.ObservationID); err != nil {
							return err
						}
						e = nil
					}
					break
				}
				old := e.Meta.Revision
				if res.Revision > 0 {
					e.Meta.Revision = res.Revision
				}
				e.Meta.ContentHash = res.ContentHash
				if err := rebase(tx, e, ch.Seq, old, e.Meta.Revision); err != nil {
					return err
				}
			case sync.StatusConflict:
				r.Conflicts++
				if err := addConflict(tx, ch, res, now); err != nil {
					return err
				}
				if e != nil {
					e.Meta.Conflict = true
					e.Meta.Deleted = false // a conflicting delete: keep the record visible
				}
			default: // rejected (or a status this client does not know: keep it for a person)
				r.Rejected++
				if ch.Op == sync.OpDelete && (res.Reason == sync.ReasonNotFound || res.Reason == sync.ReasonDeleted) {
					// The record is already gone on the server: the deletion is done.
					if e != nil && len(e.Meta.PendingSeqs) == 0 && e.Meta.Deleted {
						if err := deleteEntry(tx, ch.ObservationID); err != nil {
							return err
						}
						e = nil
					}
					break
				}
				if err := addRejected(tx, ch, res, false, now); err != nil {
					return err
				}
				if e != nil {
					rr := res
					e.Meta.Rejected = &rr
					e.Meta.Deleted = false
				}
			}
			if e != nil {
				if err := putEntry(tx, ch.ObservationID, e); err != nil {
					return err
				}
			}
		}
		// The push cursor continues the device's cursor and includes its own writes.
		if resp.Cursor != "" {
			return putMeta(tx, keyCursor, resp.Cursor)
		}
		return nil
	})
	if err == nil {
		rep.add(r)
	}
	return gap, settled, err
}

// closeGap handles a SEQUENCE_GAP answer: the server expects `expected` next, so it has applied
// nothing from there on. If the outbox holds `expected`, the next batch starts at or before it
// anyway. If it does not (the client dropped that seq locally as too large), the queued changes
// from `expected` on are renumbered to close the hole. An `expected` beyond every queued seq
// cannot be reconciled without results for the seqs before it: stop and report.
func (c *Client) closeGap(expected int64) (int, error) {
	moved := 0
	err := c.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOutbox).Get(seqKey(expected)) != nil {
			return nil
		}
		_, hi := outboxBounds(tx)
		if expected > hi {
			return fmt.Errorf("sync: push: the server expects seq %d, beyond every queued change (last %d), without results for them", expected, hi)
		}
		var err error
		moved, err = renumber(tx, expected)
		return err
	})
	return moved, err
}

func (c *Client) cursor() (string, error) {
	var cur string
	err := c.db.View(func(tx *bolt.Tx) error {
		cur = getMeta(tx, keyCursor)
		return nil
	})
	return cur, err
}

// pull fetches pages from the stored cursor until the server has no more, committing each page
// together with its cursor.
func (c *Client) pull(ctx context.Context, rep *Report) error {
	if err := c.ensureRegistered(ctx, rep); err != nil {
		return err
	}
	cursor, err := c.cursor()
	if err != nil {
		return err
	}
	resets := 0
	for {
		req := sync.PullRequest{DeviceID: c.deviceID, Cursor: cursor, Limit: c.opts.PullPageSize}
		var page sync.PullPage
		err := c.call(ctx, rep, "pull", func(ctx context.Context) error {
			var err error
			page, err = c.t.Pull(ctx, req)
			return err
		})
		if err != nil {
			return err
		}
		if page.Reset {
			if cursor == "" || resets > 0 {
				return fmt.Errorf("sync: pull: the server asked for a reset of cursor %q", cursor)
			}
			resets++
			removed, err := c.reset()
			if err != nil {
				return err
			}
			rep.Removed += removed
			cursor = ""
			continue
		}
		pulled, removed, err := c.applyPage(page)
		if err != nil {
			return err
		}
		rep.Pulled += pulled
		rep.Removed += removed
		if !page.HasMore {
			return nil
		}
		if page.Cursor == cursor || page.Cursor == "" {
			return fmt.Errorf("sync: pull: the server says there is more but did not advance the cursor %q", cursor)
		}
		cursor = page.Cursor
	}
}

// reset drops every local record the server can give back (those without pending changes,
// conflicts or rejections) and the cursor, in one transaction.
func (c *Client) reset() (int, error) {
	removed := 0
	err := c.db.Update(func(tx *bolt.Tx) error {
		removed = 0
		var drop [][]byte
		err := tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			var e recordEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("sync: decode local record %s: %w", k, err)
			}
			if !e.Meta.protected() {
				drop = append(drop, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range drop {
			if err := tx.Bucket(bucketRecords).Delete(k); err != nil {
				return err
			}
		}
		removed = len(drop)
		return tx.Bucket(bucketMeta).Delete(keyCursor)
	})
	return removed, err
}

// applyPage stores one pull page and its cursor in one transaction. Upserts overwrite local
// records without pending changes, conflicts or rejections; tombstones remove such records.
// Records the coach has unsent work on are left alone: their pending change names the base it
// was made on, and the server decides.
func (c *Client) applyPage(page sync.PullPage) (pulled, removed int, err error) {
	err = c.db.Update(func(tx *bolt.Tx) error {
		pulled, removed = len(page.Upserts), 0
		rb := tx.Bucket(bucketRubrics)
		for _, rc := range page.Rubrics {
			v, err := json.Marshal(rc)
			if err != nil {
				return err
			}
			if err := rb.Put(rubricKey(rc.RubricID, rc.Version), v); err != nil {
				return err
			}
		}
		drop := func(id string) error {
			e, err := getEntry(tx, id)
			if err != nil || e == nil || e.Meta.protected() {
				return err
			}
			removed++
			return deleteEntry(tx, id)
		}
		for _, so := range page.Upserts {
			if so.Deleted {
				if err := drop(so.ID); err != nil {
					return err
				}
				continue
			}
			e, err := getEntry(tx, so.ID)
			if err != nil {
				return err
			}
			if e != nil && e.Meta.protected() {
				continue
			}
			if e != nil && e.Meta.Revision > so.Revision {
				continue // an older revision than one already acknowledged
			}
			ne := &recordEntry{Record: so.Record, Meta: entryMeta{Revision: so.Revision, ContentHash: so.ContentHash}}
			if err := putEntry(tx, so.ID, ne); err != nil {
				return err
			}
		}
		for _, ts := range page.Tombstones {
			if err := drop(ts.ObservationID); err != nil {
				return err
			}
		}
		if page.Cursor != "" {
			return putMeta(tx, keyCursor, page.Cursor)
		}
		return nil
	})
	return pulled, removed, err
}
