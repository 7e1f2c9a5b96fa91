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

// pullPages fetches pages from the stored cursor until the server has no more, committing each page
// together with its cursor.
func (c *Client) pullPages(ctx context.Context, rep *Report) error {
	if err := c.ensureRegistered(ctx, rep); err != nil {
		return err
	}
	cursor, err := c.cursor()
	if err != nil {
		return err
	}
	resets := 0
	for {
		req := sync.PullRequest{DeviceID: c.deviceID, Cursor: cursor, Limit: c.opts.pullPageSize, SchemaVersion: c.opts.SchemaVersion}
		var page sync.PullPage
		err := c.call(ctx, rep, "pull", func(ctx context.Context) error {
			var err error
			page, err = c.t.Pull(ctx, req)
			return err
		})
		if e := (*observation.Error)(nil); errors.As(err, &e) && e.Kind == observation.KindInvalid && e.Reason == "BAD_CURSOR" && cursor != "" {
			// The server no longer accepts the stored cursor (its signing key expired, or the
			// file was damaged): start over, as for a reset.
			page, err = sync.PullPage{Reset: true}, nil
		}
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
		var err error
		removed, err = resetTx(tx)
		return err
	})
	return removed, err
}

// resetTx is reset inside a transaction.
func resetTx(tx *bolt.Tx) (int, error) {
	removed := 0
	err := func() error {
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
	}()
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
