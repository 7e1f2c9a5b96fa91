package tablet

import (
	"context"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

func TestPullPagesTombstonesPendingAndReset(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{pullPageSize: 10})
	var theirs []observation.Record
	for i := range 25 {
		r := clientRecord(i, observation.RecordSubmitted)
		r.ObserverID = "coach-2"
		theirs = append(theirs, r)
		srv.writeAs("other-tablet", r)
	}
	srv.set(func(s *fakeServer) { s.pullUnavailable = 1 })
	rep, err := c.pull(context.Background())
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if rep.Pulled != 25 || rep.Retries != 1 || srv.pullCalls != 4 {
		t.Fatalf("report %+v, pull calls %d", rep, srv.pullCalls)
	}
	if s := mustStatus(t, c); s.Records != 25 || s.cursor != "25" || s.Pending != 0 {
		t.Fatalf("status: %+v", s)
	}

	// The coach edits X locally (pending); meanwhile the server amends X, deletes Y, and the
	// coach's scope loses Z.
	x, y, z := theirs[0], theirs[1], theirs[2]
	mine := x
	mine.NextSteps = "coach's local edit"
	mustSave(t, c, mine)
	theirX := x
	theirX.NextSteps = "server edit"
	srv.writeAs("other-tablet", theirX)
	srv.removeAs("other-tablet", y.ID, sync.TombstoneDeleted)
	srv.removeAs("admin", z.ID, sync.TombstoneOutOfScope)

	rep, err = c.pull(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Removed != 2 || rep.Pulled != 1 {
		t.Fatalf("report: %+v", rep)
	}
	got, meta, ok, _ := c.Record(x.ID)
	if !ok || got.NextSteps != "coach's local edit" || meta.revision != 1 || !meta.pending {
		t.Fatalf("pending record overwritten: %+v %+v", got, meta)
	}
	for _, id := range []string{y.ID, z.ID} {
		if _, _, ok, _ := c.Record(id); ok {
			t.Fatalf("tombstoned record %s still local", id)
		}
	}
	if s := mustStatus(t, c); s.Records != 23 || s.cursor != "28" {
		t.Fatalf("status: %+v", s)
	}

	// The cursor falls out of tombstone retention: reset, wipe what the server can give back,
	// pull everything again; the pending record is kept.
	srv.writeAs("other-tablet", clientRecord(99, observation.RecordSubmitted))
	srv.set(func(s *fakeServer) { s.resetNext = 1 })
	rep, err = c.pull(context.Background())
	if err != nil {
		t.Fatalf("Pull after reset: %v", err)
	}
	if rep.Removed != 22 || rep.Pulled != 24 {
		t.Fatalf("report: %+v", rep)
	}
	if s := mustStatus(t, c); s.Records != 24 || s.cursor != "29" || s.Pending != 1 {
		t.Fatalf("status: %+v", s)
	}
	got, meta, _, _ = c.Record(x.ID)
	if got.NextSteps != "coach's local edit" || !meta.pending {
		t.Fatalf("pending record lost in reset: %+v", meta)
	}
}
