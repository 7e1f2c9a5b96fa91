package tablet

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

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
	if err != nil || !ok || got.Hash() != big.Hash() || meta.rejected == nil || meta.rejected.Reason != reasonTooLarge || meta.pending {
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
	cs, err := c.conflicts()
	if err != nil || len(cs) != 1 {
		t.Fatalf("conflicts %+v %v", cs, err)
	}
	cf := cs[0]
	if cf.Local.Record.NextSteps != "coach's amendment" || cf.Result.Server == nil ||
		cf.Result.Server.NextSteps != "principal's note" || cf.Result.Server.Revision != 2 || cf.Result.ConflictID == "" {
		t.Fatalf("conflict: %+v", cf)
	}
	got, meta, ok, _ := c.Record(a.ID)
	if !ok || !meta.conflict || got.NextSteps != "coach's amendment" {
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
	if _, err := c.resolveConflict(a.ID, merged); err != nil {
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
	if meta.conflict || meta.revision != 3 || meta.pending {
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
	if !ok || got.Hash() != bad.Hash() || meta.rejected == nil || meta.rejected.Reason != sync.ReasonOutOfScope {
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
	if meta.revision != 4 || meta.contentHash != amend.Hash() {
		t.Fatalf("meta %+v", meta)
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
	if _, err := c.deleteRecord(a.ID); err != nil {
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
	if _, err := c.deleteRecord(a.ID); observation.KindOf(err) != observation.KindNotFound {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := c.Save(observation.Record{}); observation.KindOf(err) != observation.KindInvalid {
		t.Fatalf("save without id: %v", err)
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
