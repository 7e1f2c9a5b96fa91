package tablet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

var clientT0 = time.Date(2026, 2, 9, 13, 30, 0, 0, time.FixedZone("CST", -6*3600))

func clientRecord(i int, status observation.RecordStatus) observation.Record {
	return observation.Record{
		ID:            NewID(),
		DistrictID:    "district-1",
		SiteID:        "site-1",
		ClassroomID:   fmt.Sprintf("room-%d", i%40),
		Grade:         "6",
		TeacherID:     fmt.Sprintf("teacher-%d", i%12),
		ObserverID:    "coach-1",
		ObserverRole:  observation.RoleCoach,
		Kind:          observation.KindWalkthrough,
		RubricID:      "k8-discourse",
		RubricVersion: 1,
		Language:      "en",
		StartedAt:     clientT0.Add(time.Duration(i) * time.Minute),
		DurationMin:   45,
		DiscussionMin: 12,
		Scores: []observation.Score{
			{Dimension: "questioning", Level: 1 + i%4, Evidence: "asked why twice"},
			{Dimension: "student_talk", NotObserved: true},
		},
		Tallies:    []observation.Tally{{Category: "revoice", Count: i % 7}},
		Status:     status,
		RecordedAt: clientT0.Add(time.Duration(i)*time.Minute + 45*time.Minute),
	}
}

func noSleep(context.Context, time.Duration) error { return nil }

func openTestClient(t *testing.T, path string, tr Transport, opts Options) *Client {
	t.Helper()
	if opts.sleep == nil {
		opts.sleep = noSleep
	}
	c, err := Open(path, tr, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newTestClient(t *testing.T, srv *fakeServer, opts Options) (*Client, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outbox.db")
	return openTestClient(t, path, srv, opts), path
}

func mustSave(t *testing.T, c *Client, r observation.Record, fields ...string) int64 {
	t.Helper()
	seq, err := c.Save(r, fields...)
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	return seq
}

func mustStatus(t *testing.T, c *Client) LocalStatus {
	t.Helper()
	s, err := c.Status()
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return s
}

func mustRejections(t *testing.T, c *Client) []Rejection {
	rj, err := c.Rejections()
	if err != nil {
		t.Fatal(err)
	}
	return rj
}

// crashImage copies the bbolt file while the client still has it open: exactly what a power cut
// after the last committed transaction leaves on disk.
func crashImage(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "crashed.db")
	if err := os.WriteFile(cp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return cp
}

// assertExactlyOnce checks that the server wrote every record exactly once, with seqs 1..n
// applied once each, and that the tablet's copy matches.
func assertExactlyOnce(t *testing.T, c *Client, srv *fakeServer, recs []observation.Record) {
	t.Helper()
	srv.mu.Lock()
	seqs := slices.Clone(srv.appliedSeqs[c.DeviceID()])
	counts := map[string]int{}
	for k, v := range srv.applyCount {
		counts[k] = v
	}
	srv.mu.Unlock()
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("server applied seqs out of order or twice: position %d has seq %d", i, s)
		}
	}
	for _, r := range recs {
		if counts[r.ID] != 1 {
			t.Fatalf("record %s written %d times on the server, want 1", r.ID, counts[r.ID])
		}
		got, ok := srv.record(r.ID)
		if !ok || got.ContentHash != r.Hash() {
			t.Fatalf("server copy of %s missing or different", r.ID)
		}
		_, meta, ok, err := c.Record(r.ID)
		if err != nil || !ok {
			t.Fatalf("local record %s: ok=%v err=%v", r.ID, ok, err)
		}
		if meta.pending || meta.revision != got.Revision || meta.contentHash != r.Hash() {
			t.Fatalf("local meta of %s = %+v, want revision %d hash %s", r.ID, meta, got.Revision, r.Hash())
		}
	}
}

func TestSync1250RecordsExactlyOnceInBatches(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{ClientVersion: "1.0.0", SchemaVersion: 1})
	var recs []observation.Record
	for i := range 1250 {
		r := clientRecord(i, observation.RecordSubmitted)
		recs = append(recs, r)
		if seq := mustSave(t, c, r); seq != int64(i+1) {
			t.Fatalf("seq %d for save %d", seq, i)
		}
	}
	if s := mustStatus(t, c); s.Pending != 1250 || s.NextSeq != 1251 || s.Records != 1250 || s.Registered {
		t.Fatalf("status before sync: %+v", s)
	}
	rep, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if rep.Batches < 3 || rep.Applied != 1250 || rep.Pushed != 1250 || rep.Duplicates+rep.Conflicts+rep.Rejected != 0 {
		t.Fatalf("report: %+v", rep)
	}
	if !slices.Equal(srv.batchSizes, []int{500, 500, 250}) {
		t.Fatalf("batch sizes %v", srv.batchSizes)
	}
	s := mustStatus(t, c)
	if s.Pending != 0 || !s.Registered || s.NextSeq != 1251 || s.Records != 1250 || s.LastSync.IsZero() || s.cursor == "" {
		t.Fatalf("status after sync: %+v", s)
	}
	assertExactlyOnce(t, c, srv, recs)

	calls := srv.pushCalls
	rep, err = c.Sync(context.Background())
	if err != nil || rep.Batches != 0 || srv.pushCalls != calls {
		t.Fatalf("second sync pushed again: %+v %v", rep, err)
	}
}

func TestLostResponseIsReplayedNotDuplicated(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{})
	var recs []observation.Record
	for i := range 10 {
		recs = append(recs, clientRecord(i, observation.RecordSubmitted))
		mustSave(t, c, recs[i])
	}
	srv.set(func(s *fakeServer) { s.loseResponses = 1 })
	rep, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if rep.Retries != 1 || rep.Applied != 10 || rep.Batches != 1 {
		t.Fatalf("report: %+v", rep)
	}
	if !slices.Equal(srv.batchSizes, []int{10, 10}) {
		t.Fatalf("the retry should resend the same 10 seqs: %v", srv.batchSizes)
	}
	if len(srv.log) != 10 {
		t.Fatalf("server log has %d writes, want 10", len(srv.log))
	}
	if s := mustStatus(t, c); s.Pending != 0 {
		t.Fatalf("outbox not empty: %+v", s)
	}
	assertExactlyOnce(t, c, srv, recs)
}

func TestLostResponseThenCrashThenResume(t *testing.T) {
	srv := newFakeServer()
	c, path := newTestClient(t, srv, Options{MaxAttempts: 1})
	var recs []observation.Record
	for i := range 30 {
		recs = append(recs, clientRecord(i, observation.RecordSubmitted))
		mustSave(t, c, recs[i])
	}
	srv.set(func(s *fakeServer) { s.loseResponses = 1 })
	if _, err := c.Sync(context.Background()); observation.KindOf(err) != observation.KindUnavailable {
		t.Fatalf("Sync error %v, want unavailable", err)
	}
	if s := mustStatus(t, c); s.Pending != 30 {
		t.Fatalf("lost response must keep the batch queued: %+v", s)
	}
	// The tablet dies now; the server has applied everything.
	c2 := openTestClient(t, crashImage(t, path), srv, Options{})
	if c2.DeviceID() != c.DeviceID() {
		t.Fatal("device id changed across the crash")
	}
	rep, err := c2.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync after crash: %v", err)
	}
	if rep.Applied != 30 || len(srv.log) != 30 {
		t.Fatalf("report %+v, server writes %d", rep, len(srv.log))
	}
	assertExactlyOnce(t, c2, srv, recs)
}

func TestCrashAfterEnqueueLosesNothing(t *testing.T) {
	srv := newFakeServer()
	c, path := newTestClient(t, srv, Options{})
	var recs []observation.Record
	for i := range 40 {
		recs = append(recs, clientRecord(i, observation.RecordDraft))
		mustSave(t, c, recs[i])
	}
	recs[3].NextSteps = "try turn-and-talk before whole-class share"
	mustSave(t, c, recs[3], "next_steps")
	if _, err := c.deleteRecord(recs[39].ID); err != nil {
		t.Fatal(err)
	}
	gone := recs[39]
	recs = recs[:39]

	// A crash: the file as it is on disk, the process never closed it.
	crashed := crashImage(t, path)
	c2 := openTestClient(t, crashed, srv, Options{deviceID: "ignored-on-reopen"})
	if c2.DeviceID() != c.DeviceID() {
		t.Fatalf("device id %s, want %s", c2.DeviceID(), c.DeviceID())
	}
	s := mustStatus(t, c2)
	if s.Pending != 42 || s.NextSeq != 43 || s.Records != 39 {
		t.Fatalf("status after crash: %+v", s)
	}
	// A clean close and reopen keeps everything too.
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	c3 := openTestClient(t, crashed, srv, Options{})
	if s2 := mustStatus(t, c3); s2 != s {
		t.Fatalf("status after reopen %+v, want %+v", s2, s)
	}
	rep, err := c3.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if rep.Pushed != 42 || rep.Rejected != 0 {
		t.Fatalf("report: %+v", rep)
	}
	for _, r := range recs {
		got, ok := srv.record(r.ID)
		if !ok || got.ContentHash != r.Hash() {
			t.Fatalf("server copy of %s missing or different", r.ID)
		}
	}
	if got, _ := srv.record(gone.ID); !got.Deleted {
		t.Fatal("the deletion did not reach the server")
	}
	if _, _, ok, _ := c3.Record(gone.ID); ok {
		t.Fatal("deleted record still local")
	}
	if s := mustStatus(t, c3); s.Pending != 0 || s.Records != 39 {
		t.Fatalf("status after sync: %+v", s)
	}
}

func TestConcurrentSavesGetUniqueConsecutiveSeqs(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{Limits: sync.Limits{MaxChanges: 37}})
	const workers, each = 8, 60
	var mu gosync.Mutex
	seqs := map[int64]string{}
	var recs []observation.Record
	var wg gosync.WaitGroup
	stop := make(chan struct{})
	syncErr := make(chan error, 1)
	go func() { // syncing while coaches keep recording
		for {
			select {
			case <-stop:
				syncErr <- nil
				return
			default:
			}
			if _, err := c.Sync(context.Background()); err != nil {
				syncErr <- err
				return
			}
		}
	}()
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r := clientRecord(w*each+i, observation.RecordSubmitted)
				seq, err := c.Save(r)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, dup := seqs[seq]; dup {
					t.Errorf("seq %d given to %s and %s", seq, prev, r.ID)
				}
				seqs[seq] = r.ID
				recs = append(recs, r)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stop)
	if err := <-syncErr; err != nil {
		t.Fatalf("concurrent Sync: %v", err)
	}
	for s := int64(1); s <= workers*each; s++ {
		if _, ok := seqs[s]; !ok {
			t.Fatalf("seq %d never assigned", s)
		}
	}
	if len(seqs) != workers*each {
		t.Fatalf("%d seqs", len(seqs))
	}
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := mustStatus(t, c); s.Pending != 0 || s.NextSeq != workers*each+1 {
		t.Fatalf("status: %+v", s)
	}
	assertExactlyOnce(t, c, srv, recs)
}

func TestDeviceIDGeneratedAndPersisted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	c, err := Open(path, newFakeServer(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := c.DeviceID()
	if u, err := uuid.Parse(id); err != nil || u.Version() != 7 {
		t.Fatalf("device id %q is not a UUIDv7", id)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2 := openTestClient(t, path, newFakeServer(), Options{deviceID: "something-else"})
	if c2.DeviceID() != id {
		t.Fatalf("device id %q, want the stored %q", c2.DeviceID(), id)
	}
	c3 := openTestClient(t, filepath.Join(t.TempDir(), "x.db"), nil, Options{deviceID: "tablet-7"})
	if c3.DeviceID() != "tablet-7" {
		t.Fatalf("device id %q", c3.DeviceID())
	}
	if _, err := c3.Sync(context.Background()); err == nil {
		t.Fatal("offline client synced")
	}
}
