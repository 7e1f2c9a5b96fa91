package tablet

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

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

// resolveConflict resolves the conflicts of record id with the version the person chose (which
// may be the server's copy, the local one, or a merge): it is enqueued as an amendment of the
// newest server revision seen in the conflicts, and the conflicts are removed.
func (c *Client) resolveConflict(id string, r observation.Record, fields ...string) (int64, error) {
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

// deleteRecord records a local deletion: the record disappears from Records at once and a delete
// change naming the known server revision is enqueued, in one transaction.
func (c *Client) deleteRecord(id string) (int64, error) {
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
func (c *Client) Record(id string) (observation.Record, localMeta, bool, error) {
	var e *recordEntry
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		e, err = getEntry(tx, id)
		return err
	})
	if err != nil || e == nil || e.Meta.Deleted {
		return observation.Record{}, localMeta{}, false, err
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

// conflicts lists the conflicts waiting for a person to resolve them.
func (c *Client) conflicts() ([]conflictEntry, error) {
	var out []conflictEntry
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

// pending returns the queued changes in seq order.
func (c *Client) pending() ([]sync.Change, error) {
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

// rubrics returns the rubric version changes pulled so far (latest status per version).
func (c *Client) rubrics() ([]sync.RubricChange, error) {
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

// LocalStatus summarises the local state.
type LocalStatus struct {
	DeviceID   string
	Registered bool
	Pending    int   // changes in the outbox
	NextSeq    int64 // the seq the next local change gets
	Conflicts  int
	Rejected   int
	cursor     string
	LastSync   time.Time
	Records    int // local records (not counting ones deleted locally)
}

// Status summarises the local state.
func (c *Client) Status() (LocalStatus, error) {
	s := LocalStatus{DeviceID: c.deviceID}
	err := c.db.View(func(tx *bolt.Tx) error {
		s.Registered = getMeta(tx, keyRegistered) == "1"
		s.NextSeq = nextSeq(tx)
		s.cursor = getMeta(tx, keyCursor)
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
