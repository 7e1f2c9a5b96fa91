package tablet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

// reasonTooLarge is the reason of a change the client refused to send because its encoding alone
// exceeds the push byte budget. The change is kept in the rejected bucket for the coach to fix.
const reasonTooLarge = "TOO_LARGE"

// pushBatches sends the outbox in batches until it is empty.
func (c *Client) pushBatches(ctx context.Context, rep *Report) error {
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
// (reasonTooLarge) and the queue moves on. A batch ends before a second change to a record whose
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
		Reason:        reasonTooLarge,
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
		return addRejected(tx, ch, res, true, c.opts.now())
	})
	if err == nil {
		rep.Rejected++
	}
	return err
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
	now := c.opts.now()
	err = c.db.Update(func(tx *bolt.Tx) error {
		gap, settled, r = 0, 0, Report{}
		var reusedFrom, reusedExpected int64
		for i, res := range resp.Results {
			ch := batch[i].ch
			if res.Status == sync.StatusRejected && res.Reason == sync.ReasonSeqReused {
				// The server applied another change under this seq (this tablet's counter fell
				// behind, e.g. after restoring a backup): the change was not applied. It stays
				// queued and is renumbered below, after the seqs the server has used.
				if reusedFrom == 0 || ch.Seq < reusedFrom {
					reusedFrom = ch.Seq
				}
				reusedExpected = max(reusedExpected, res.ExpectedSeq)
				continue
			}
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
		if reusedFrom > 0 {
			// Every queued change from the first reused seq on moves, in order, to fresh seqs
			// from the server's next one (or the local counter, if that is further on).
			moved, err := renumberTo(tx, reusedFrom, max(reusedExpected, nextSeq(tx)))
			if err != nil {
				return err
			}
			settled += moved
			if gap != 0 && gap <= reusedFrom {
				gap = 0 // the held-back changes were renumbered with the rest
			}
		}
		if resp.Reset {
			// The server refused the stored cursor but decided the changes: start pulling over.
			removed, err := resetTx(tx)
			if err != nil {
				return err
			}
			r.Removed += removed
			return nil
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
