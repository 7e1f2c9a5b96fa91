package tablet

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

// The client's durable state lives in one bbolt file. Every state change that belongs together
// (a seq and its change; a push batch's results and the cursor; a pull page and its cursor) is
// committed in one bbolt transaction, and bbolt fsyncs every commit, so a crash at any instant
// leaves either all of it or none of it on disk.
//
// Buckets:
//
//	meta       device_id, registered, next_seq (8-byte big-endian), cursor, last_sync (RFC 3339)
//	outbox     8-byte big-endian seq → JSON Change, in seq order
//	records    observation id → JSON recordEntry{record, meta}
//	conflicts  8-byte big-endian local key → JSON conflictEntry
//	rejected   8-byte big-endian local key → JSON Rejection
//	rubrics    rubric id + 0x00 + version → JSON RubricChange
var (
	bucketMeta      = []byte("meta")
	bucketOutbox    = []byte("outbox")
	bucketRecords   = []byte("records")
	bucketConflicts = []byte("conflicts")
	bucketRejected  = []byte("rejected")
	bucketRubrics   = []byte("rubrics")

	keyDeviceID   = []byte("device_id")
	keyRegistered = []byte("registered")
	keyNextSeq    = []byte("next_seq")
	keyCursor     = []byte("cursor")
	keyLastSync   = []byte("last_sync")
	keyLayout     = []byte("layout")
)

const layoutVersion = "1"

// recordEntry is one local record and what the tablet knows about it.
type recordEntry struct {
	Record observation.Record `json:"record"`
	Meta   entryMeta          `json:"meta"`
}

type entryMeta struct {
	Revision    int          `json:"revision,omitempty"`     // the server revision last known
	ContentHash string       `json:"content_hash,omitempty"` // the server's content hash of that revision
	PendingSeqs []int64      `json:"pending_seqs,omitempty"` // outbox seqs that touch this record, ascending
	Deleted     bool         `json:"deleted,omitempty"`      // deleted on the tablet, delete not yet acknowledged
	Conflict    bool         `json:"conflict,omitempty"`     // a conflict waits in the conflicts bucket
	Rejected    *sync.Result `json:"rejected,omitempty"`     // the last rejection, until the coach saves again
}

// protected reports whether the local copy holds something the server does not have (a pending
// change, an unresolved conflict, a rejected change the coach has to fix). Pulls never overwrite
// or remove protected records.
func (m entryMeta) protected() bool {
	return len(m.PendingSeqs) > 0 || m.Conflict || m.Rejected != nil
}

// localMeta is the tablet's bookkeeping for one record, as Record returns it.
type localMeta struct {
	revision    int          // the server revision the tablet last knew (0: never acknowledged)
	contentHash string       // the server's content hash of that revision
	pending     bool         // a local change waits in the outbox
	conflict    bool         // a change conflicted; see conflicts
	rejected    *sync.Result // the server (or the client's size check) refused the last change; see Rejections
}

func (m entryMeta) local() localMeta {
	return localMeta{
		revision:    m.Revision,
		contentHash: m.ContentHash,
		pending:     len(m.PendingSeqs) > 0,
		conflict:    m.Conflict,
		rejected:    m.Rejected,
	}
}

// conflictEntry is a change the server kept as a conflict: the coach's version (Local.Record)
// and the server's copy (Result.Server) are both here until a person resolves it. Its field names
// are the JSON keys in the conflicts bucket.
type conflictEntry struct {
	Key    uint64      // local key, stable until resolved
	Local  sync.Change // the change as it was sent
	Result sync.Result // the server's answer: ConflictID, Server copy
	At     time.Time   // when the tablet learned of it
}

// Rejection is a change that was not stored: the server rejected it, or it was too large to
// send (Result.Reason "TOO_LARGE", LocalOnly set). The content is kept for the coach to fix.
type Rejection struct {
	Key       uint64
	Change    sync.Change
	Result    sync.Result
	LocalOnly bool // rejected by the client before sending
	At        time.Time
}

func seqKey(seq int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	return b[:]
}

func keySeq(k []byte) int64 { return int64(binary.BigEndian.Uint64(k)) }

// initBuckets creates the buckets and the device identity on first open.
func initBuckets(tx *bolt.Tx, deviceID func() (string, error)) (string, error) {
	for _, name := range [][]byte{bucketMeta, bucketOutbox, bucketRecords, bucketConflicts, bucketRejected, bucketRubrics} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return "", fmt.Errorf("sync: create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	if v := meta.Get(keyLayout); v != nil && string(v) != layoutVersion {
		return "", fmt.Errorf("sync: outbox layout %q is not supported (want %q)", v, layoutVersion)
	}
	if err := meta.Put(keyLayout, []byte(layoutVersion)); err != nil {
		return "", err
	}
	if meta.Get(keyNextSeq) == nil {
		if err := meta.Put(keyNextSeq, seqKey(1)); err != nil {
			return "", err
		}
	}
	if v := meta.Get(keyDeviceID); len(v) > 0 {
		return string(v), nil
	}
	id, err := deviceID()
	if err != nil {
		return "", err
	}
	return id, meta.Put(keyDeviceID, []byte(id))
}

func nextSeq(tx *bolt.Tx) int64 {
	v := tx.Bucket(bucketMeta).Get(keyNextSeq)
	if len(v) != 8 {
		return 1
	}
	return keySeq(v)
}

func setNextSeq(tx *bolt.Tx, seq int64) error {
	return tx.Bucket(bucketMeta).Put(keyNextSeq, seqKey(seq))
}

func getMeta(tx *bolt.Tx, key []byte) string { return string(tx.Bucket(bucketMeta).Get(key)) }

func putMeta(tx *bolt.Tx, key []byte, v string) error {
	return tx.Bucket(bucketMeta).Put(key, []byte(v))
}

func getEntry(tx *bolt.Tx, id string) (*recordEntry, error) {
	v := tx.Bucket(bucketRecords).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	var e recordEntry
	if err := json.Unmarshal(v, &e); err != nil {
		return nil, fmt.Errorf("sync: decode local record %s: %w", id, err)
	}
	return &e, nil
}

func putEntry(tx *bolt.Tx, id string, e *recordEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("sync: encode local record %s: %w", id, err)
	}
	return tx.Bucket(bucketRecords).Put([]byte(id), b)
}

func deleteEntry(tx *bolt.Tx, id string) error {
	return tx.Bucket(bucketRecords).Delete([]byte(id))
}

func getChange(tx *bolt.Tx, seq int64) (*sync.Change, error) {
	v := tx.Bucket(bucketOutbox).Get(seqKey(seq))
	if v == nil {
		return nil, nil
	}
	var ch sync.Change
	if err := json.Unmarshal(v, &ch); err != nil {
		return nil, fmt.Errorf("sync: decode outbox seq %d: %w", seq, err)
	}
	return &ch, nil
}

func putChange(tx *bolt.Tx, ch *sync.Change) error {
	b, err := json.Marshal(ch)
	if err != nil {
		return fmt.Errorf("sync: encode change %d: %w", ch.Seq, err)
	}
	return tx.Bucket(bucketOutbox).Put(seqKey(ch.Seq), b)
}

// enqueue assigns the next seq to ch, stores it in the outbox and records it as pending on the
// record's entry, all inside tx. The caller has already updated e's content.
func enqueue(tx *bolt.Tx, ch *sync.Change, e *recordEntry) (int64, error) {
	seq := nextSeq(tx)
	ch.Seq = seq
	if err := putChange(tx, ch); err != nil {
		return 0, err
	}
	e.Meta.PendingSeqs = append(e.Meta.PendingSeqs, seq)
	if err := putEntry(tx, ch.ObservationID, e); err != nil {
		return 0, err
	}
	return seq, setNextSeq(tx, seq+1)
}

// settle removes seq from the outbox and from the record's pending list. It returns the entry
// (nil when the record has no local entry) so the caller can update and store it.
func settle(tx *bolt.Tx, ch *sync.Change) (*recordEntry, error) {
	if err := tx.Bucket(bucketOutbox).Delete(seqKey(ch.Seq)); err != nil {
		return nil, err
	}
	e, err := getEntry(tx, ch.ObservationID)
	if err != nil || e == nil {
		return nil, err
	}
	e.Meta.PendingSeqs = slices.DeleteFunc(e.Meta.PendingSeqs, func(s int64) bool { return s == ch.Seq })
	return e, nil
}

// rebase moves the record's later pending changes that were made on oldRev (the revision the
// tablet knew when it recorded them, i.e. on top of its own change just acknowledged) onto
// newRev, so an amendment queued behind its own submission names the right base revision.
func rebase(tx *bolt.Tx, e *recordEntry, after int64, oldRev, newRev int) error {
	if oldRev == newRev {
		return nil
	}
	for _, seq := range e.Meta.PendingSeqs {
		if seq <= after {
			continue
		}
		ch, err := getChange(tx, seq)
		if err != nil {
			return err
		}
		if ch == nil || ch.BaseRevision != oldRev {
			continue
		}
		ch.BaseRevision = newRev
		if err := putChange(tx, ch); err != nil {
			return err
		}
	}
	return nil
}

func addConflict(tx *bolt.Tx, ch sync.Change, res sync.Result, now time.Time) error {
	b := tx.Bucket(bucketConflicts)
	key, err := b.NextSequence()
	if err != nil {
		return err
	}
	v, err := json.Marshal(conflictEntry{Key: key, Local: ch, Result: res, At: now})
	if err != nil {
		return err
	}
	return b.Put(seqKey(int64(key)), v)
}

func addRejected(tx *bolt.Tx, ch sync.Change, res sync.Result, local bool, now time.Time) error {
	b := tx.Bucket(bucketRejected)
	key, err := b.NextSequence()
	if err != nil {
		return err
	}
	v, err := json.Marshal(Rejection{Key: key, Change: ch, Result: res, LocalOnly: local, At: now})
	if err != nil {
		return err
	}
	return b.Put(seqKey(int64(key)), v)
}

func listConflicts(tx *bolt.Tx) ([]conflictEntry, error) {
	var out []conflictEntry
	err := tx.Bucket(bucketConflicts).ForEach(func(_, v []byte) error {
		var c conflictEntry
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("sync: decode conflict: %w", err)
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

func listRejected(tx *bolt.Tx) ([]Rejection, error) {
	var out []Rejection
	err := tx.Bucket(bucketRejected).ForEach(func(_, v []byte) error {
		var r Rejection
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("sync: decode rejection: %w", err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// dropRejected removes the rejected entries of one record (the coach has saved a new version).
func dropRejected(tx *bolt.Tx, id string) error {
	rs, err := listRejected(tx)
	if err != nil {
		return err
	}
	b := tx.Bucket(bucketRejected)
	for _, r := range rs {
		if r.Change.ObservationID == id {
			if err := b.Delete(seqKey(int64(r.Key))); err != nil {
				return err
			}
		}
	}
	return nil
}

// outboxBounds returns the lowest and highest queued seq (0, 0 when empty).
func outboxBounds(tx *bolt.Tx) (lo, hi int64) {
	c := tx.Bucket(bucketOutbox).Cursor()
	if k, _ := c.First(); k != nil {
		lo = keySeq(k)
	}
	if k, _ := c.Last(); k != nil {
		hi = keySeq(k)
	}
	return lo, hi
}

// renumber closes a hole in the queued seqs that the server cannot get past: the server said it
// expects `from` next (so it has applied nothing at or after `from`), and the outbox does not
// hold `from` because the client dropped it locally (a change too large to send). Every queued
// change at or after `from` is renumbered from `from` on, consecutively, and next_seq follows.
// This is safe because the server has stored no result for any of those seqs.
func renumber(tx *bolt.Tx, from int64) (int, error) { return renumberTo(tx, from, from) }

// renumberTo moves the queued changes with seq ≥ from, in order, to seqs to, to+1, … (to ≥
// from), updating their records' pending seqs and the next seq.
func renumberTo(tx *bolt.Tx, from, to int64) (int, error) {
	ob := tx.Bucket(bucketOutbox)
	type moved struct {
		old int64
		ch  sync.Change
	}
	var ms []moved
	c := ob.Cursor()
	for k, v := c.Seek(seqKey(from)); k != nil; k, v = c.Next() {
		var ch sync.Change
		if err := json.Unmarshal(v, &ch); err != nil {
			return 0, fmt.Errorf("sync: decode outbox seq %d: %w", keySeq(k), err)
		}
		ms = append(ms, moved{old: keySeq(k), ch: ch})
	}
	for _, m := range ms {
		if err := ob.Delete(seqKey(m.old)); err != nil {
			return 0, err
		}
	}
	entries := map[string]*recordEntry{}
	for i := range ms {
		m := &ms[i]
		m.ch.Seq = to + int64(i)
		if err := putChange(tx, &m.ch); err != nil {
			return 0, err
		}
		id := m.ch.ObservationID
		e, ok := entries[id]
		if !ok {
			var err error
			if e, err = getEntry(tx, id); err != nil {
				return 0, err
			}
			entries[id] = e
		}
		if e != nil {
			for j, s := range e.Meta.PendingSeqs {
				if s == m.old {
					e.Meta.PendingSeqs[j] = m.ch.Seq
				}
			}
		}
	}
	for id, e := range entries {
		if e == nil {
			continue
		}
		slices.Sort(e.Meta.PendingSeqs)
		if err := putEntry(tx, id, e); err != nil {
			return 0, err
		}
	}
	if len(ms) > 0 {
		if err := setNextSeq(tx, to+int64(len(ms))); err != nil {
			return 0, err
		}
	}
	return len(ms), nil
}

func rubricKey(id string, version int) []byte {
	return fmt.Appendf(nil, "%s\x00%08d", id, version)
}
