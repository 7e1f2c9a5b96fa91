package tablet

import (
	"context"
	"errors"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

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
		sleep: func(_ context.Context, d time.Duration) error {
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
	if _, err := c.pull(context.Background()); err != nil { // register
		t.Fatal(err)
	}
	srv.set(func(s *fakeServer) { s.unavailableBefore = 100 })
	rep, err := c.push(context.Background())
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
	c, _ := newTestClient(t, srv, Options{sleep: sleepCtx, BaseBackoff: time.Hour, MaxBackoff: time.Hour})
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
