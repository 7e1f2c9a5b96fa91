package server_test

import (
	"context"
	"testing"

	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/sync"
)

// A pull page is bounded by the stored size of its records as well as by page_size: with a
// bound smaller than any record every page carries exactly one, has_more until the last, and the
// walk still delivers every record exactly once, first pull and delta alike.
func TestSyncPullPageBoundedByBytes(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, func(c *server.Config) { c.PullMaxBytes = 1 })
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)

	recs := e.Records(t, 71, coach, 7)
	sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(1, recs...)...).Results, 1, false, recs...)
	first := sgPullAll(t, tr, dev, "", 500)
	if first.Pages != 7 || len(first.Upserts) != 7 {
		t.Fatalf("first pull: %d records in %d pages; want 7 records, one a page", len(first.Upserts), first.Pages)
	}
	for _, r := range recs {
		if first.Upserts[r.ID].ContentHash != r.Hash() {
			t.Fatalf("record %s missing or changed in the first pull", r.ID)
		}
	}

	// Writes after the sequence arrive in the next one, each once; a deletion as a tombstone.
	more := e.Records(t, 72, coach, 3)
	sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(8, more...)...).Results, 8, false, more...)
	del := sgPush(t, tr, dev, "", sync.Change{Seq: 11, Op: sync.OpDelete, ObservationID: recs[0].ID, BaseRevision: 1})
	if del.Results[0].Status != sync.StatusApplied {
		t.Fatalf("delete: %+v", del.Results[0])
	}
	delta := sgPullAll(t, tr, dev, first.Cursor, 500)
	if delta.Pages != 4 || len(delta.Upserts) != 3 || delta.Tombstones[recs[0].ID] != sync.TombstoneDeleted {
		t.Fatalf("delta: %d upserts, tombstones %v in %d pages; want 3 upserts and the deletion, one a page", len(delta.Upserts), delta.Tombstones, delta.Pages)
	}
	if again := sgPullAll(t, tr, dev, delta.Cursor, 500); len(again.Upserts)+len(again.Tombstones) != 0 || again.Pages != 1 {
		t.Fatalf("pull with nothing new: %d rows in %d pages", len(again.Upserts)+len(again.Tombstones), again.Pages)
	}
}

// The store cuts a page once the content read reaches MaxBytes, after that row, and says
// whether rows remain; Limit still applies.
func TestSyncChangesMaxBytes(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	recs := e.Records(t, 73, coach, 6)
	sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(1, recs...)...).Results, 1, false, recs...)

	var sizes []int
	rows, err := e.Store.Pool().Query(ctx, `SELECT octet_length(content::text) FROM observations ORDER BY txid, observation_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, n)
	}
	if rows.Err() != nil || len(sizes) != 6 {
		t.Fatalf("sizes %v, %v", sizes, rows.Err())
	}
	snap, err := e.Store.CurrentSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := func(n int) int {
		s := 0
		for _, x := range sizes[:n] {
			s += x
		}
		return s
	}
	for _, c := range []struct {
		maxBytes, limit, rows int
		more                  bool
	}{
		{maxBytes: sum(3), limit: 100, rows: 3, more: true},     // reached exactly at the third row
		{maxBytes: sum(3) - 1, limit: 100, rows: 3, more: true}, // passed during the third row
		{maxBytes: sum(3) + 1, limit: 100, rows: 4, more: true},
		{maxBytes: sum(6), limit: 100, rows: 6, more: false}, // reached at the last row: nothing remains
		{maxBytes: sum(6) + 1, limit: 100, rows: 6, more: false},
		{maxBytes: sum(6), limit: 2, rows: 2, more: false}, // the page size cut first (the service reads limit+1)
		{maxBytes: 0, limit: 100, rows: 6, more: false},    // no bound
	} {
		got, more, err := e.Store.Changes(ctx, sync.ChangeQuery{Scope: sync.Scope{DistrictID: coach.DistrictID, AllSites: true, UserID: coach.UserID},
			Upto: snap, AfterTx: "0", AfterID: "00000000-0000-0000-0000-000000000000", Limit: c.limit, MaxBytes: c.maxBytes})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.rows || more != c.more {
			t.Errorf("MaxBytes %d, Limit %d: %d rows, more %v; want %d, %v (sizes %v)", c.maxBytes, c.limit, len(got), more, c.rows, c.more, sizes)
		}
	}
}
