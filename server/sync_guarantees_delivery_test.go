package server_test

import (
	"context"
	gosync "sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/sync"
)

// ---------------------------------------------------------------------------------------------
// 1. lost responses

func TestSyncGuaranteeLostResponse(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)

	// A batch pushed twice (the first response never reached the tablet): one row each.
	recs := e.Records(t, 11, coach, 20)
	first := sgPush(t, tr, dev, "", testenv.Changes(1, recs...)...)
	sgApplied(t, first.Results, 1, false, recs...)
	for round := range 3 {
		again := sgPush(t, tr, dev, "", testenv.Changes(1, recs...)...)
		sgApplied(t, again.Results, 1, true, recs...)
		for i := range again.Results {
			if !sgSameResult(again.Results[i], first.Results[i]) {
				t.Fatalf("round %d: replay %d differs: %+v vs %+v", round, i, again.Results[i], first.Results[i])
			}
		}
	}
	sgCounts(t, e, 20, 20)
	sgStored(t, e, 1, recs...)
	if n := sgNextSeq(t, e, dev); n != 21 {
		t.Fatalf("next_seq %d, want 21", n)
	}

	// The server applies the push but its response is lost on the wire; the tablet gives up
	// after its deadline and retries on a new connection.
	proxy := sgLossyProxy(t, sgGRPCAddr(e))
	lossy := sgConn(t, proxy.addr)
	ltr := sgTransport(t, e, lossy, coach)
	if _, err := ltr.Pull(ctx, sync.PullRequest{DeviceID: dev, Limit: 1}); err != nil { // warm the connection up
		t.Fatal(err)
	}
	proxy.drop.Store(true)
	recs2 := e.Records(t, 12, coach, 5)
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := ltr.Push(dctx, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(21, recs2...)})
	cancel()
	if err == nil {
		t.Fatal("the push answered although its response was dropped")
	}
	deadline := time.Now().Add(10 * time.Second)
	for sgNextSeq(t, e, dev) != 26 {
		if time.Now().After(deadline) {
			t.Fatalf("the server never applied the push whose response was lost (next_seq %d)", sgNextSeq(t, e, dev))
		}
		time.Sleep(20 * time.Millisecond)
	}
	lossy.Close()
	retry := sgPush(t, tr, dev, "", testenv.Changes(21, recs2...)...)
	sgApplied(t, retry.Results, 21, true, recs2...)
	sgCounts(t, e, 25, 25)
	sgStored(t, e, 1, recs2...)

	// A deadline that expires while the push is in flight, retried with growing deadlines until
	// an answer arrives: whichever attempts the server applied, each change is stored once.
	recs3 := e.Records(t, 13, coach, 60)
	changes3 := testenv.Changes(26, recs3...)
	var resp sync.PushResponse
	attempts, appliedButFailed := 0, 0
	for d := 100 * time.Microsecond; ; d = d * 5 / 4 {
		attempts++
		dctx, cancel := context.WithTimeout(ctx, d)
		resp, err = tr.Push(dctx, sync.PushRequest{DeviceID: dev, Changes: changes3})
		cancel()
		if err == nil {
			break
		}
		if observation.KindOf(err) != observation.KindUnavailable {
			t.Fatalf("a timed-out push answered %v; the tablet would not retry it", err)
		}
		if appliedButFailed == 0 && sgNextSeq(t, e, dev) == 86 {
			appliedButFailed = attempts // the server committed, the tablet saw an error
		}
		if d > 30*time.Second {
			t.Fatalf("no push succeeded: %v", err)
		}
	}
	t.Logf("deadline retries: %d attempts; first applied by failed attempt %d; answer replayed: %v", attempts, appliedButFailed, resp.Results[0].Replayed)
	if len(resp.Results) != len(recs3) {
		t.Fatalf("%d results", len(resp.Results))
	}
	replayed := resp.Results[0].Replayed
	sgApplied(t, resp.Results, 26, replayed, recs3...)
	final := sgPush(t, tr, dev, "", changes3...)
	sgApplied(t, final.Results, 26, true, recs3...)
	for i := range final.Results {
		if !sgSameResult(final.Results[i], resp.Results[i]) {
			t.Fatalf("replay %d differs: %+v vs %+v", i, final.Results[i], resp.Results[i])
		}
	}
	sgCounts(t, e, 85, 85)
	sgStored(t, e, 1, recs3...)
	if n := sgNextSeq(t, e, dev); n != 86 {
		t.Fatalf("next_seq %d, want 86", n)
	}
	if n := sgCount(t, e, `SELECT coalesce(sum(last_seq - first_seq + 1), 0)::bigint FROM push_replies WHERE device_id = $1`, dev); n != 85 {
		t.Fatalf("%d stored results, want 85", n)
	}
}

// ---------------------------------------------------------------------------------------------
// 2. the same batch pushed concurrently over two connections

func TestSyncGuaranteeConcurrentIdenticalPushes(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	_, dev := e.Device(t, coach)
	conns := []*grpc.ClientConn{sgConn(t, sgGRPCAddr(e)), sgConn(t, sgGRPCAddr(e))}
	recs := e.Records(t, 21, coach, 100)
	req := sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(1, recs...)}

	const pushes = 8
	trs := make([]*server.Transport, pushes)
	for i := range trs {
		trs[i] = sgTransport(t, e, conns[i%2], coach)
	}
	resps := make([]sync.PushResponse, pushes)
	errs := make([]error, pushes)
	start := make(chan struct{})
	var wg gosync.WaitGroup
	for i := range pushes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resps[i], errs[i] = sgPushRetrying(trs[i], req)
		}()
	}
	close(start)
	wg.Wait()

	fresh := make([]int, len(recs)) // per seq: how many responses applied it anew
	freshResponses := 0
	for i, r := range resps {
		if errs[i] != nil {
			t.Fatalf("push %d: %v", i, errs[i])
		}
		if len(r.Results) != len(recs) {
			t.Fatalf("push %d: %d results", i, len(r.Results))
		}
		n := 0
		for j, res := range r.Results {
			if res.Seq != int64(j+1) || res.ObservationID != recs[j].ID || res.Status != sync.StatusApplied || res.Revision != 1 || res.ContentHash != recs[j].Hash() {
				t.Fatalf("push %d result %d: %+v", i, j, res)
			}
			if !res.Replayed {
				fresh[j]++
				n++
			}
		}
		switch n {
		case 0:
		case len(recs):
			freshResponses++
		default:
			t.Fatalf("push %d applied %d of %d changes anew: a push is one transaction", i, n, len(recs))
		}
	}
	for j, n := range fresh {
		if n != 1 {
			t.Fatalf("seq %d applied anew by %d responses, want exactly 1", j+1, n)
		}
	}
	if freshResponses != 1 {
		t.Fatalf("%d responses applied the batch, want 1", freshResponses)
	}
	sgCounts(t, e, 100, 100)
	sgStored(t, e, 1, recs...)
	if n := sgNextSeq(t, e, dev); n != 101 {
		t.Fatalf("next_seq %d, want 101", n)
	}
	if n := sgCount(t, e, `SELECT coalesce(sum(last_seq - first_seq + 1), 0)::bigint FROM push_replies WHERE device_id = $1`, dev); n != 100 {
		t.Fatalf("%d stored results, want 100", n)
	}
}

// Two devices of one observer create the same record id at the same moment (a tablet restored
// onto a second device with its outbox): row locks cannot cover a row that does not exist yet,
// yet one version must not silently overwrite the other.
func TestSyncGuaranteeConcurrentCreateSameID(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	const rounds = 12
	for round := range rounds {
		tr1, dev1 := e.Device(t, coach)
		tr2, dev2 := e.Device(t, coach)
		rec := e.Records(t, int64(130+round), coach, 1)[0]
		a, b := rec, rec
		a.NextSteps, b.NextSteps = "from device 1", "from device 2"
		var ra, rb sync.PushResponse
		var ea, eb error
		var wg gosync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			ra, ea = sgPushRetrying(tr1, sync.PushRequest{DeviceID: dev1, Changes: testenv.Changes(1, a)})
		}()
		go func() {
			defer wg.Done()
			rb, eb = sgPushRetrying(tr2, sync.PushRequest{DeviceID: dev2, Changes: testenv.Changes(1, b)})
		}()
		wg.Wait()
		if ea != nil || eb != nil {
			t.Fatalf("round %d: %v / %v", round, ea, eb)
		}
		x, y := ra.Results[0], rb.Results[0]
		winner, loser, lost := a, y, b
		if y.Status == sync.StatusApplied {
			winner, loser, lost = b, x, a
		}
		if (x.Status == sync.StatusApplied) == (y.Status == sync.StatusApplied) {
			t.Fatalf("round %d: device 1 %+v, device 2 %+v; want exactly one applied", round, x, y)
		}
		if loser.Status != sync.StatusConflict || loser.Reason != sync.ConflictConcurrentCreate || loser.ConflictID == "" ||
			loser.Server == nil || loser.Server.ContentHash != winner.Hash() {
			t.Fatalf("round %d: the second creation answered %+v; want a CONCURRENT_CREATE conflict against the first", round, loser)
		}
		sgStored(t, e, 1, winner)
		if lost.Hash() == winner.Hash() {
			t.Fatal("test records must differ")
		}
	}
	sgCounts(t, e, rounds, rounds)
	if n := sgCount(t, e, `SELECT count(*) FROM conflicts WHERE status = 'open'`); n != rounds {
		t.Fatalf("%d open conflicts, want one per round (the second creation kept for a person)", n)
	}
}

// ---------------------------------------------------------------------------------------------
// 6. two servers on one database

func TestSyncGuaranteeTwoServers(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	e2 := e.Second(t)
	coach := e.Users[observation.RoleCoach]
	_, dev := e.Device(t, coach)
	trs := []*server.Transport{sgTransport(t, e, e.GRPC, coach), sgTransport(t, e2, e2.GRPC, coach)}

	recs := e.Records(t, 61, coach, 200)
	results := make([]sync.Result, len(recs)) // the first answer for each seq
	// Batches alternate between the servers; every batch is replayed on the other one.
	for k := range 6 {
		lo, hi := k*20, (k+1)*20
		first := sgPush(t, trs[k%2], dev, "", testenv.Changes(int64(lo+1), recs[lo:hi]...)...)
		sgApplied(t, first.Results, int64(lo+1), false, recs[lo:hi]...)
		copy(results[lo:hi], first.Results)
		replay := sgPush(t, trs[(k+1)%2], dev, "", testenv.Changes(int64(lo+1), recs[lo:hi]...)...)
		sgApplied(t, replay.Results, int64(lo+1), true, recs[lo:hi]...)
		for i := range replay.Results {
			if !sgSameResult(replay.Results[i], first.Results[i]) {
				t.Fatalf("batch %d: replay on the other server differs: %+v vs %+v", k, replay.Results[i], first.Results[i])
			}
		}
	}
	// The same new batch pushed to both servers at once, three times each, plus an overlapping
	// batch (half replay, half new) racing with the second half alone.
	type push struct {
		tr    *server.Transport
		first int64
		recs  []observation.Record
	}
	var jobs []push
	for i := range 6 {
		jobs = append(jobs, push{trs[i%2], 121, recs[120:160]})
	}
	var wg gosync.WaitGroup
	resps := make([]sync.PushResponse, len(jobs))
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps[i], errs[i] = sgPushRetrying(j.tr, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(j.first, j.recs...)})
		}()
	}
	wg.Wait()
	fresh := map[int64]int{}
	check := func(i int, j push, r sync.PushResponse, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("concurrent push %d: %v", i, err)
		}
		if len(r.Results) != len(j.recs) {
			t.Fatalf("concurrent push %d: %d results", i, len(r.Results))
		}
		for k, res := range r.Results {
			seq := j.first + int64(k)
			if res.Seq != seq || res.Status != sync.StatusApplied || res.Revision != 1 || res.ContentHash != j.recs[k].Hash() {
				t.Fatalf("concurrent push %d, seq %d: %+v", i, seq, res)
			}
			if !res.Replayed {
				fresh[seq]++
			}
		}
	}
	for i, j := range jobs {
		check(i, j, resps[i], errs[i])
	}
	jobs2 := []push{{trs[1], 141, recs[140:180]}, {trs[0], 161, recs[160:180]}, {trs[1], 161, recs[160:200]}, {trs[0], 181, recs[180:200]}}
	// seq 181.. can only apply after 161..180: pushes holding a gap get SEQUENCE_GAP; retry them.
	resps2 := make([]sync.PushResponse, len(jobs2))
	errs2 := make([]error, len(jobs2))
	for i, j := range jobs2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps2[i], errs2[i] = sgPushRetrying(j.tr, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(j.first, j.recs...)})
		}()
	}
	wg.Wait()
	for i, j := range jobs2 {
		if errs2[i] != nil {
			t.Fatal(errs2[i])
		}
		for k, res := range resps2[i].Results {
			seq := j.first + int64(k)
			switch {
			case res.Status == sync.StatusRejected && res.Reason == sync.ReasonSequenceGap:
				if seq <= 180 && j.first <= 161 {
					// 161..180 can never be a gap in a batch that starts at or before 161
					t.Fatalf("push %d seq %d: unexpected gap %+v", i, seq, res)
				}
			case res.Status == sync.StatusApplied && res.Revision == 1 && res.ContentHash == j.recs[k].Hash() && res.Seq == seq:
				if !res.Replayed {
					fresh[seq]++
				}
			default:
				t.Fatalf("push %d seq %d: %+v", i, seq, res)
			}
		}
	}
	// Whatever was held back is sent again, now in order.
	tail := sgPush(t, trs[0], dev, "", testenv.Changes(181, recs[180:]...)...)
	for k, res := range tail.Results {
		if res.Status != sync.StatusApplied || res.ContentHash != recs[180+k].Hash() {
			t.Fatalf("tail %d: %+v", k, res)
		}
		if !res.Replayed {
			fresh[int64(181+k)]++
		}
	}
	for seq := int64(121); seq <= 200; seq++ {
		if fresh[seq] != 1 {
			t.Fatalf("seq %d applied anew %d times, want 1", seq, fresh[seq])
		}
	}
	sgCounts(t, e, 200, 200)
	sgStored(t, e, 1, recs...)
	if n := sgNextSeq(t, e, dev); n != 201 {
		t.Fatalf("next_seq %d, want 201", n)
	}
	if n := sgCount(t, e, `SELECT coalesce(sum(last_seq - first_seq + 1), 0)::bigint FROM push_replies WHERE device_id = $1`, dev); n != 200 {
		t.Fatalf("%d stored results, want 200", n)
	}
	// Both servers pull the same 200 rows.
	for i, tr := range trs {
		p := sgPullAll(t, tr, dev, "", 64)
		if len(p.Upserts) != 200 {
			t.Fatalf("server %d pulls %d rows, want 200", i+1, len(p.Upserts))
		}
		for _, r := range recs {
			if p.Upserts[r.ID].ContentHash != r.Hash() {
				t.Fatalf("server %d: %s missing or different", i+1, r.ID)
			}
		}
	}
}
