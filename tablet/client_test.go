package tablet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	if opts.Sleep == nil {
		opts.Sleep = noSleep
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
		if meta.Pending || meta.Revision != got.Revision || meta.ContentHash != r.Hash() {
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
	if s.Pending != 0 || !s.Registered || s.NextSeq != 1251 || s.Records != 1250 || s.LastSync.IsZero() || s.Cursor == "" {
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
	if _, err := c.Delete(recs[39].ID); err != nil {
		t.Fatal(err)
	}
	gone := recs[39]
	recs = recs[:39]

	// A crash: the file as it is on disk, the process never closed it.
	crashed := crashImage(t, path)
	c2 := openTestClient(t, crashed, srv, Options{DeviceID: "ignored-on-reopen"})
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

func TestUnauthenticatedKeepsQueue(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{})
	if _, err := c.Sync(context.Background()); err != nil { // registers
		t.Fatal(err)
	}
	var recs []observation.Record
	for i := range 7 {
		recs = append(recs, clientRecord(i, observation.RecordSubmitted))
		mustSave(t, c, recs[i])
	}
	before := mustStatus(t, c)
	srv.set(func(s *fakeServer) { s.unauth = 1 })
	rep, err := c.Sync(context.Background())
	if !errors.Is(err, ErrUnauthenticated) || !errors.Is(err, observation.ErrUnauthenticated) {
		t.Fatalf("Sync error %v, want ErrUnauthenticated wrapping the transport's error", err)
	}
	if rep.Retries != 0 {
		t.Fatalf("401 must not be retried: %+v", rep)
	}
	after := mustStatus(t, c)
	if after.Pending != before.Pending || after.NextSeq != before.NextSeq || after.Pending != 7 {
		t.Fatalf("queue changed on 401: before %+v after %+v", before, after)
	}
	if n := srv.nextSeq(c.DeviceID()); n != 1 {
		t.Fatalf("server applied something: next seq %d", n)
	}
	// A new token later: everything goes through.
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatalf("Sync after re-auth: %v", err)
	}
	if s := mustStatus(t, c); s.Pending != 0 {
		t.Fatalf("status: %+v", s)
	}
	assertExactlyOnce(t, c, srv, recs)
}

func TestUnauthenticatedOnRegister(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{})
	mustSave(t, c, clientRecord(1, observation.RecordDraft))
	srv.set(func(s *fakeServer) { s.unauth = 1 })
	if _, err := c.Sync(context.Background()); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("Sync error %v", err)
	}
	if s := mustStatus(t, c); s.Registered || s.Pending != 1 {
		t.Fatalf("status: %+v", s)
	}
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := mustStatus(t, c); !s.Registered || s.Pending != 0 {
		t.Fatalf("status: %+v", s)
	}
}

func TestBackoffFullJitter(t *testing.T) {
	srv := newFakeServer()
	var mu gosync.Mutex
	var slept []time.Duration
	opts := Options{
		MaxAttempts: 8,
		BaseBackoff: 100 * time.Millisecond,
		MaxBackoff:  time.Second,
		Sleep: func(_ context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			slept = append(slept, d)
			return nil
		},
	}
	c, _ := newTestClient(t, srv, opts)
	recs := []observation.Record{clientRecord(1, observation.RecordSubmitted)}
	mustSave(t, c, recs[0])
	srv.set(func(s *fakeServer) { s.unavailableBefore = 7 })
	rep, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if rep.Retries != 7 || len(slept) != 7 {
		t.Fatalf("retries %d, sleeps %v", rep.Retries, slept)
	}
	for i, d := range slept {
		ceiling := min(opts.MaxBackoff, opts.BaseBackoff<<i)
		if d < 0 || d > ceiling || d > opts.MaxBackoff {
			t.Fatalf("sleep %d = %v outside [0, %v]", i, d, ceiling)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(slept)))) < 2 {
		t.Fatalf("no jitter: %v", slept)
	}
	assertExactlyOnce(t, c, srv, recs)

	// The distribution at the cap spans [0, MaxBackoff].
	lo, hi := opts.MaxBackoff, time.Duration(0)
	for range 2000 {
		d := c.backoff(20)
		lo, hi = min(lo, d), max(hi, d)
		if d > opts.MaxBackoff {
			t.Fatalf("backoff %v over the cap", d)
		}
	}
	if lo > opts.MaxBackoff/10 || hi < opts.MaxBackoff*9/10 {
		t.Fatalf("jitter does not span the range: [%v, %v]", lo, hi)
	}
}

func TestRetryBudgetExhaustedKeepsQueue(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{MaxAttempts: 3})
	recs := []observation.Record{clientRecord(1, observation.RecordSubmitted), clientRecord(2, observation.RecordSubmitted)}
	mustSave(t, c, recs[0])
	mustSave(t, c, recs[1])
	if _, err := c.Pull(context.Background()); err != nil { // register
		t.Fatal(err)
	}
	srv.set(func(s *fakeServer) { s.unavailableBefore = 100 })
	rep, err := c.Push(context.Background())
	if observation.KindOf(err) != observation.KindUnavailable || rep.Retries != 2 {
		t.Fatalf("err %v, report %+v", err, rep)
	}
	if s := mustStatus(t, c); s.Pending != 2 {
		t.Fatalf("status: %+v", s)
	}
	srv.set(func(s *fakeServer) { s.unavailableBefore = 0 })
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertExactlyOnce(t, c, srv, recs)
}

func TestCallTimeoutIsRetried(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{CallTimeout: 50 * time.Millisecond})
	recs := []observation.Record{clientRecord(1, observation.RecordSubmitted)}
	mustSave(t, c, recs[0])
	srv.set(func(s *fakeServer) { s.hang = 1 })
	rep, err := c.Sync(context.Background())
	if err != nil || rep.Retries != 1 {
		t.Fatalf("err %v, report %+v", err, rep)
	}
	assertExactlyOnce(t, c, srv, recs)
}

func TestCallerCancellationStops(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{Sleep: sleepCtx, BaseBackoff: time.Hour, MaxBackoff: time.Hour})
	mustSave(t, c, clientRecord(1, observation.RecordSubmitted))
	srv.set(func(s *fakeServer) { s.unavailableBefore = 100 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Sync(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if s := mustStatus(t, c); s.Pending != 1 {
		t.Fatalf("status: %+v", s)
	}
}

func TestBatchesSplitByBytes(t *testing.T) {
	limits := sync.Limits{MaxChanges: 500, MaxBytes: 64 << 10}
	srv := newFakeServer()
	srv.limits = limits
	c, _ := newTestClient(t, srv, Options{Limits: limits})
	var recs []observation.Record
	for i := range 60 {
		r := clientRecord(i, observation.RecordSubmitted)
		r.Scores[0].Evidence = strings.Repeat(fmt.Sprintf("student %d explained a strategy; ", i), 250) // ~8 KB
		recs = append(recs, r)
		mustSave(t, c, r)
	}
	rep, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if rep.Applied != 60 || rep.Batches < 8 {
		t.Fatalf("report: %+v (batches %v)", rep, srv.batchSizes)
	}
	for i, b := range srv.batchBytes {
		if b > limits.MaxBytes*9/10 {
			t.Fatalf("batch %d has %d bytes, over 90%% of %d", i, b, limits.MaxBytes)
		}
	}
	assertExactlyOnce(t, c, srv, recs)
}

func TestResourceExhaustedHalvesBatch(t *testing.T) {
	srv := newFakeServer()
	srv.exhaustAbove = 60
	c, _ := newTestClient(t, srv, Options{})
	var recs []observation.Record
	for i := range 200 {
		recs = append(recs, clientRecord(i, observation.RecordSubmitted))
		mustSave(t, c, recs[i])
	}
	rep, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if !slices.Equal(srv.batchSizes, []int{50, 50, 50, 50}) || srv.pushCalls != 6 {
		t.Fatalf("batches %v, push calls %d", srv.batchSizes, srv.pushCalls)
	}
	if rep.Applied != 200 || rep.Batches != 4 {
		t.Fatalf("report: %+v", rep)
	}
	assertExactlyOnce(t, c, srv, recs)
}

func TestServerRefusingASingleChangeKeepsQueue(t *testing.T) {
	srv := newFakeServer()
	srv.limits = sync.Limits{MaxChanges: 500, MaxBytes: 500} // lower than the client believes
	c, _ := newTestClient(t, srv, Options{})
	mustSave(t, c, clientRecord(1, observation.RecordSubmitted))
	_, err := c.Sync(context.Background())
	if observation.KindOf(err) != observation.KindResourceExhausted {
		t.Fatalf("err %v", err)
	}
	if s := mustStatus(t, c); s.Pending != 1 || s.Rejected != 0 {
		t.Fatalf("status: %+v", s)
	}
}

func TestTooLargeChangeRejectedLocallyAndQueueMovesOn(t *testing.T) {
	limits := sync.Limits{MaxChanges: 500, MaxBytes: 20000}
	srv := newFakeServer()
	srv.limits = limits
	c, _ := newTestClient(t, srv, Options{Limits: limits})
	var recs []observation.Record
	var big observation.Record
	for i := range 9 {
		r := clientRecord(i, observation.RecordSubmitted)
		if i == 2 {
			r.Scores[0].Evidence = strings.Repeat("long evidence ", 3000) // ~42 KB
			big = r
		} else {
			recs = append(recs, r)
		}
		mustSave(t, c, r)
	}
	rep, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if rep.Rejected != 1 || rep.Applied != 8 {
		t.Fatalf("report: %+v", rep)
	}
	s := mustStatus(t, c)
	if s.Pending != 0 || s.Rejected != 1 || s.NextSeq != 9 {
		t.Fatalf("status: %+v", s)
	}
	assertExactlyOnce(t, c, srv, recs) // seqs 1..8 on the server: the local hole was closed
	got, meta, ok, err := c.Record(big.ID)
	if err != nil || !ok || got.Hash() != big.Hash() || meta.Rejected == nil || meta.Rejected.Reason != ReasonTooLarge || meta.Pending {
		t.Fatalf("big record kept? ok=%v meta=%+v err=%v", ok, meta, err)
	}
	rj, err := c.Rejections()
	if err != nil || len(rj) != 1 || !rj[0].LocalOnly || rj[0].Change.Record.Hash() != big.Hash() {
		t.Fatalf("rejections: %+v %v", rj, err)
	}
	// The coach shortens the evidence; it goes through with the next seq.
	big.Scores[0].Evidence = "long evidence, summarised"
	if seq := mustSave(t, c, big); seq != 9 {
		t.Fatalf("seq %d", seq)
	}
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := mustStatus(t, c); s.Pending != 0 || s.Rejected != 0 {
		t.Fatalf("status: %+v", s)
	}
	assertExactlyOnce(t, c, srv, append(recs, big))
}

func TestConflictIsKeptAndQueueMovesOn(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{})
	a := clientRecord(1, observation.RecordSubmitted)
	mustSave(t, c, a)
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Someone else amends A on the server (revision 2) while the tablet is offline.
	other := a
	other.NextSteps = "principal's note"
	srv.writeAs("principal-tablet", other)

	local := a
	local.NextSteps = "coach's amendment"
	mustSave(t, c, local)
	b, d := clientRecord(2, observation.RecordSubmitted), clientRecord(3, observation.RecordSubmitted)
	mustSave(t, c, b)
	mustSave(t, c, d)

	rep, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if rep.Conflicts != 1 || rep.Applied != 2 {
		t.Fatalf("report: %+v", rep)
	}
	if s := mustStatus(t, c); s.Pending != 0 || s.Conflicts != 1 {
		t.Fatalf("status: %+v", s)
	}
	cs, err := c.Conflicts()
	if err != nil || len(cs) != 1 {
		t.Fatalf("conflicts %+v %v", cs, err)
	}
	cf := cs[0]
	if cf.Local.Record.NextSteps != "coach's amendment" || cf.Result.Server == nil ||
		cf.Result.Server.NextSteps != "principal's note" || cf.Result.Server.Revision != 2 || cf.Result.ConflictID == "" {
		t.Fatalf("conflict: %+v", cf)
	}
	got, meta, ok, _ := c.Record(a.ID)
	if !ok || !meta.Conflict || got.NextSteps != "coach's amendment" {
		t.Fatalf("the coach's version must stay until resolved: %+v %+v", got, meta)
	}
	for _, r := range []observation.Record{b, d} {
		if s, ok := srv.record(r.ID); !ok || s.ContentHash != r.Hash() {
			t.Fatalf("later change %s blocked by the conflict", r.ID)
		}
	}

	// A person merges both notes; the resolution amends revision 2.
	merged := local
	merged.NextSteps = "coach's amendment; principal's note"
	if _, err := c.ResolveConflict(a.ID, merged); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, _ := srv.record(a.ID)
	if s.Revision != 3 || s.NextSteps != merged.NextSteps {
		t.Fatalf("server copy after resolution: rev %d %q", s.Revision, s.NextSteps)
	}
	_, meta, _, _ = c.Record(a.ID)
	if meta.Conflict || meta.Revision != 3 || meta.Pending {
		t.Fatalf("meta after resolution: %+v", meta)
	}
	if st := mustStatus(t, c); st.Conflicts != 0 {
		t.Fatalf("status: %+v", st)
	}
}

func TestRejectedItemInTheMiddleDoesNotBlock(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{})
	var recs []observation.Record
	var bad observation.Record
	for i := range 10 {
		r := clientRecord(i, observation.RecordSubmitted)
		if i == 4 {
			bad = r
			srv.rejectIDs[r.ID] = sync.ReasonOutOfScope
		} else {
			recs = append(recs, r)
		}
		mustSave(t, c, r)
	}
	rep, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if rep.Applied != 9 || rep.Rejected != 1 || rep.Pushed != 10 {
		t.Fatalf("report: %+v", rep)
	}
	if s := mustStatus(t, c); s.Pending != 0 || s.Rejected != 1 {
		t.Fatalf("status: %+v", s)
	}
	if n := srv.nextSeq(c.DeviceID()); n != 11 {
		t.Fatalf("server next seq %d", n)
	}
	for _, r := range recs {
		if s, ok := srv.record(r.ID); !ok || s.ContentHash != r.Hash() {
			t.Fatalf("record %s after the rejected one missing", r.ID)
		}
	}
	rj, _ := c.Rejections()
	if len(rj) != 1 || rj[0].Result.Reason != sync.ReasonOutOfScope || rj[0].Change.ObservationID != bad.ID || rj[0].LocalOnly {
		t.Fatalf("rejections: %+v", rj)
	}
	got, meta, ok, _ := c.Record(bad.ID)
	if !ok || got.Hash() != bad.Hash() || meta.Rejected == nil || meta.Rejected.Reason != sync.ReasonOutOfScope {
		t.Fatalf("rejected record not kept for the coach: %+v", meta)
	}
}

func TestAmendmentQueuedBehindItsSubmissionGetsTheNewBase(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{})
	draft := clientRecord(1, observation.RecordDraft)
	mustSave(t, c, draft)
	draft.NextSteps = "press for reasoning"
	mustSave(t, c, draft, "next_steps") // a draft edit can share the batch
	sub := draft
	sub.Status = observation.RecordSubmitted
	mustSave(t, c, sub)
	amend := sub
	amend.NextSteps = "press for reasoning; revisit in a week"
	mustSave(t, c, amend) // base 0 when recorded: the submission has no revision yet
	other := clientRecord(2, observation.RecordSubmitted)
	mustSave(t, c, other)

	rep, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if rep.Applied != 5 || rep.Rejected+rep.Conflicts != 0 {
		t.Fatalf("report: %+v (rejections %v)", rep, mustRejections(t, c))
	}
	if !slices.Equal(srv.batchSizes, []int{3, 2}) {
		t.Fatalf("batches %v", srv.batchSizes)
	}
	s, _ := srv.record(amend.ID)
	if s.Revision != 4 || s.ContentHash != amend.Hash() {
		t.Fatalf("server copy rev %d", s.Revision)
	}
	_, meta, _, _ := c.Record(amend.ID)
	if meta.Revision != 4 || meta.ContentHash != amend.Hash() {
		t.Fatalf("meta %+v", meta)
	}
}

func mustRejections(t *testing.T, c *Client) []Rejection {
	rj, err := c.Rejections()
	if err != nil {
		t.Fatal(err)
	}
	return rj
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

func TestPullPagesTombstonesPendingAndReset(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{PullPageSize: 10})
	var theirs []observation.Record
	for i := range 25 {
		r := clientRecord(i, observation.RecordSubmitted)
		r.ObserverID = "coach-2"
		theirs = append(theirs, r)
		srv.writeAs("other-tablet", r)
	}
	srv.set(func(s *fakeServer) { s.pullUnavailable = 1 })
	rep, err := c.Pull(context.Background())
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if rep.Pulled != 25 || rep.Retries != 1 || srv.pullCalls != 4 {
		t.Fatalf("report %+v, pull calls %d", rep, srv.pullCalls)
	}
	if s := mustStatus(t, c); s.Records != 25 || s.Cursor != "25" || s.Pending != 0 {
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

	rep, err = c.Pull(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Removed != 2 || rep.Pulled != 1 {
		t.Fatalf("report: %+v", rep)
	}
	got, meta, ok, _ := c.Record(x.ID)
	if !ok || got.NextSteps != "coach's local edit" || meta.Revision != 1 || !meta.Pending {
		t.Fatalf("pending record overwritten: %+v %+v", got, meta)
	}
	for _, id := range []string{y.ID, z.ID} {
		if _, _, ok, _ := c.Record(id); ok {
			t.Fatalf("tombstoned record %s still local", id)
		}
	}
	if s := mustStatus(t, c); s.Records != 23 || s.Cursor != "28" {
		t.Fatalf("status: %+v", s)
	}

	// The cursor falls out of tombstone retention: reset, wipe what the server can give back,
	// pull everything again; the pending record is kept.
	srv.writeAs("other-tablet", clientRecord(99, observation.RecordSubmitted))
	srv.set(func(s *fakeServer) { s.resetNext = 1 })
	rep, err = c.Pull(context.Background())
	if err != nil {
		t.Fatalf("Pull after reset: %v", err)
	}
	if rep.Removed != 22 || rep.Pulled != 24 {
		t.Fatalf("report: %+v", rep)
	}
	if s := mustStatus(t, c); s.Records != 24 || s.Cursor != "29" || s.Pending != 1 {
		t.Fatalf("status: %+v", s)
	}
	got, meta, _, _ = c.Record(x.ID)
	if got.NextSteps != "coach's local edit" || !meta.Pending {
		t.Fatalf("pending record lost in reset: %+v", meta)
	}
}

func TestDeleteReachesServerAndLeavesNoLocalCopy(t *testing.T) {
	srv := newFakeServer()
	c, _ := newTestClient(t, srv, Options{})
	a := clientRecord(1, observation.RecordDraft)
	mustSave(t, c, a)
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := c.Record(a.ID); ok {
		t.Fatal("deleted record still visible")
	}
	if s := mustStatus(t, c); s.Records != 0 || s.Pending != 1 {
		t.Fatalf("status: %+v", s)
	}
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s, _ := srv.record(a.ID); !s.Deleted {
		t.Fatal("server still has it")
	}
	if s := mustStatus(t, c); s.Records != 0 || s.Pending != 0 {
		t.Fatalf("status: %+v", s)
	}
	if _, err := c.Delete(a.ID); observation.KindOf(err) != observation.KindNotFound {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := c.Save(observation.Record{}); observation.KindOf(err) != observation.KindInvalid {
		t.Fatalf("save without id: %v", err)
	}
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
	c2 := openTestClient(t, path, newFakeServer(), Options{DeviceID: "something-else"})
	if c2.DeviceID() != id {
		t.Fatalf("device id %q, want the stored %q", c2.DeviceID(), id)
	}
	c3 := openTestClient(t, filepath.Join(t.TempDir(), "x.db"), nil, Options{DeviceID: "tablet-7"})
	if c3.DeviceID() != "tablet-7" {
		t.Fatalf("device id %q", c3.DeviceID())
	}
	if _, err := c3.Sync(context.Background()); err == nil {
		t.Fatal("offline client synced")
	}
}

// scriptedTransport wraps the fake and lets a test rewrite push responses.
type scriptedTransport struct {
	*fakeServer
	rewrite func(req sync.PushRequest, resp sync.PushResponse) sync.PushResponse
}

func (s *scriptedTransport) Push(ctx context.Context, req sync.PushRequest) (sync.PushResponse, error) {
	resp, err := s.fakeServer.Push(ctx, req)
	if err == nil && s.rewrite != nil {
		resp = s.rewrite(req, resp)
	}
	return resp, err
}

func TestMalformedPushResponsesKeepTheQueue(t *testing.T) {
	cases := map[string]func(req sync.PushRequest, resp sync.PushResponse) sync.PushResponse{
		"missing results": func(_ sync.PushRequest, resp sync.PushResponse) sync.PushResponse {
			resp.Results = resp.Results[:len(resp.Results)-1]
			return resp
		},
		"wrong seq": func(_ sync.PushRequest, resp sync.PushResponse) sync.PushResponse {
			resp.Results[0].Seq += 100
			return resp
		},
		"gap beyond every queued seq": func(req sync.PushRequest, resp sync.PushResponse) sync.PushResponse {
			for i := range resp.Results {
				resp.Results[i] = sync.Result{Seq: req.Changes[i].Seq, Status: sync.StatusRejected,
					Reason: sync.ReasonSequenceGap, ExpectedSeq: 1000}
			}
			return resp
		},
	}
	for name, rw := range cases {
		t.Run(name, func(t *testing.T) {
			tr := &scriptedTransport{fakeServer: newFakeServer(), rewrite: rw}
			c := openTestClient(t, filepath.Join(t.TempDir(), "o.db"), tr, Options{})
			mustSave(t, c, clientRecord(1, observation.RecordSubmitted))
			mustSave(t, c, clientRecord(2, observation.RecordSubmitted))
			if _, err := c.Sync(context.Background()); err == nil {
				t.Fatal("Sync accepted a malformed response")
			}
			if s := mustStatus(t, c); s.Pending != 2 {
				t.Fatalf("status: %+v", s)
			}
			// With a sane server again, the replays settle everything.
			tr.rewrite = nil
			rep, err := c.Sync(context.Background())
			if err != nil || rep.Applied != 2 || mustStatus(t, c).Pending != 0 {
				t.Fatalf("report %+v err %v", rep, err)
			}
		})
	}
}
