package server_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"

	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

func TestSyncPushReplayPull(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	recs := e.Records(t, 1, coach, 5)

	resp, err := tr.Push(ctx, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(1, recs...)})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resp.Results {
		if r.Status != sync.StatusApplied || r.Revision != 1 || r.ContentHash != recs[i].Hash() {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	again, err := tr.Push(ctx, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(1, recs...)})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again.Results {
		if !r.Replayed || r.Status != sync.StatusApplied || r.ContentHash != resp.Results[i].ContentHash {
			t.Fatalf("replay %d: %+v", i, r)
		}
	}
	gap, err := tr.Push(ctx, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(9, e.Records(t, 2, coach, 1)...)})
	if err != nil {
		t.Fatal(err)
	}
	if g := gap.Results[0]; g.Status != sync.StatusRejected || g.Reason != sync.ReasonSequenceGap || g.ExpectedSeq != 6 {
		t.Fatalf("gap: %+v", g)
	}
	page, err := tr.Pull(ctx, sync.PullRequest{DeviceID: dev})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Upserts) != 5 || page.HasMore || len(page.Rubrics) == 0 {
		t.Fatalf("pull: %d upserts, has_more %v, %d rubrics", len(page.Upserts), page.HasMore, len(page.Rubrics))
	}
	hashes := map[string]string{}
	for _, o := range page.Upserts {
		hashes[o.ID] = o.ContentHash
		if o.Record.Hash() != o.ContentHash {
			t.Fatalf("pulled record %s hashes to %s, stored hash %s", o.ID, o.Record.Hash(), o.ContentHash)
		}
	}
	for _, r := range recs {
		if hashes[r.ID] != r.Hash() {
			t.Fatalf("record %s: pulled hash %q, tablet hash %q", r.ID, hashes[r.ID], r.Hash())
		}
	}
	next, err := tr.Pull(ctx, sync.PullRequest{DeviceID: dev, Cursor: page.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Upserts)+len(next.Tombstones)+len(next.Rubrics) != 0 || next.HasMore {
		t.Fatalf("incremental pull with nothing new returned %+v", next)
	}
}

// TestListObservationsPaging walks every page of a coach's observations exactly once.
func TestListObservationsPaging(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	recs := e.Records(t, 11, coach, 5)
	if _, err := tr.Push(context.Background(), sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(1, recs...)}); err != nil {
		t.Fatal(err)
	}
	oc := pb.NewObservationServiceClient(e.GRPC)
	ctx := testenv.Ctx(e.Token(t, coach))
	seen, token, pages := map[string]bool{}, "", 0
	for {
		resp, err := oc.ListObservations(ctx, &pb.ListObservationsRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range resp.GetObservations() {
			if seen[o.GetRecord().GetId()] {
				t.Fatalf("observation %s on two pages", o.GetRecord().GetId())
			}
			seen[o.GetRecord().GetId()] = true
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(seen) != len(recs) || pages != 3 {
		t.Fatalf("%d observations in %d pages, want %d in 3", len(seen), pages, len(recs))
	}
	if _, err := oc.ListObservations(ctx, &pb.ListObservationsRequest{PageToken: "garbage"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad page token: %v", err)
	}
}
