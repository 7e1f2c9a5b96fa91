package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"

	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
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

// TestTombstonePurgeAndClientVersion: deletions older than the retention are purged; tablets
// below the minimum schema version are refused with a clear code.
func TestTombstonePurgeAndClientVersion(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, func(c *server.Config) { c.MinSchemaVersion = 2 })
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	sc := pb.NewSyncServiceClient(e.GRPC)
	_, err := sc.RegisterDevice(testenv.Ctx(e.Token(t, coach)), &pb.RegisterDeviceRequest{DeviceId: "01a2030f-078b-7028-8831-2b03d64a9ae3", SchemaVersion: 1})
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "update the lookfor app") {
		t.Fatalf("old client: %v", err)
	}
	tok := e.Token(t, coach)
	tr := server.NewTransport(e.GRPC, func(context.Context) (string, error) { return tok, nil })
	dev := "01a2030f-078b-7028-8831-2b03d64a9ae4"
	if _, err := tr.RegisterDevice(ctx, dev, "test", 2); err != nil {
		t.Fatal(err)
	}
	recs := e.Records(t, 21, coach, 2)
	changes := append(testenv.Changes(1, recs...), sync.Change{Seq: 3, Op: sync.OpDelete, ObservationID: recs[0].ID, BaseRevision: 1})
	resp, err := tr.Push(ctx, sync.PushRequest{DeviceID: dev, Changes: changes, SchemaVersion: 2})
	if err != nil || resp.Results[2].Status != sync.StatusApplied {
		t.Fatalf("push: %+v %v", resp, err)
	}
	// A young deletion stays; once older than the retention it is purged, the live record stays.
	if n, err := e.Store.PurgeTombstones(ctx, time.Now().Add(-180*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("purge of a young deletion: %d %v", n, err)
	}
	if _, err := e.Store.Pool().Exec(ctx, `UPDATE observations SET deleted_at = now() - interval '181 days' WHERE observation_id = $1`, recs[0].ID); err != nil {
		t.Fatal(err)
	}
	if n, err := e.Store.PurgeTombstones(ctx, time.Now().Add(-180*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("purge of an old deletion: %d %v", n, err)
	}
	var left int
	if err := e.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM observations`).Scan(&left); err != nil || left != 1 {
		t.Fatalf("observations left: %d %v", left, err)
	}
}

// TestCursorAgeIsItsSnapshotsAge: a cursor finished after slow paging is as old as the snapshot
// its sequence started from, so it is reset once that snapshot is older than the retention —
// deletions committed during the paging may have been purged by then.
func TestCursorAgeIsItsSnapshotsAge(t *testing.T) {
	t.Parallel()
	const retention = 3 * time.Second
	e := testenv.Start(t, func(c *server.Config) { c.TombstoneRetention = retention })
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	if _, err := tr.Push(ctx, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(1, e.Records(t, 31, coach, 2)...)}); err != nil {
		t.Fatal(err)
	}
	first, err := tr.Pull(ctx, sync.PullRequest{DeviceID: dev, Limit: 1}) // the sequence's snapshot
	start := time.Now()                                                   // is older than this
	if err != nil || !first.HasMore {
		t.Fatalf("first page: %+v %v", first, err)
	}
	time.Sleep(2 * time.Second) // a slow tablet
	last, err := tr.Pull(ctx, sync.PullRequest{DeviceID: dev, Cursor: first.Cursor, Limit: 1})
	if err != nil || last.HasMore {
		t.Fatalf("last page: %+v %v", last, err)
	}
	// Wait until the snapshot (not the end of paging) is older than the retention.
	time.Sleep(time.Until(start.Add(retention + 1100*time.Millisecond)))
	page, err := tr.Pull(ctx, sync.PullRequest{DeviceID: dev, Cursor: last.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if !page.Reset {
		t.Fatalf("a cursor whose snapshot is %v old (retention %v) was not reset", time.Since(start).Round(time.Millisecond), retention)
	}
}

// TestObservationsSayWhenFirstSubmitted reads records over REST and through a pull: a submitted
// record carries submit_time, a draft none; an amendment moves commit_time and keeps
// submit_time; a draft submitted later gets the time of that push.
func TestObservationsSayWhenFirstSubmitted(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	tok := e.Token(t, coach)
	tr, dev := e.Device(t, coach)
	recs := e.Records(t, 3, coach, 2)
	sub, draft := recs[0], recs[1]
	draft.Status = observation.RecordDraft
	if _, err := tr.Push(ctx, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(1, sub, draft)}); err != nil {
		t.Fatal(err)
	}
	type times struct {
		Commit time.Time `json:"commit_time"`
		Submit time.Time `json:"submit_time"`
	}
	get := func(id string) times {
		t.Helper()
		r := e.Do(t, "GET", "/v1/observations/"+id, tok, "")
		if r.Status != 200 {
			t.Fatalf("GET %s: %d %s", id, r.Status, r.Body)
		}
		var body struct {
			Observation times `json:"observation"`
		}
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			t.Fatal(err)
		}
		return body.Observation
	}
	first := get(sub.ID)
	if first.Submit.IsZero() || !first.Submit.Equal(first.Commit) {
		t.Fatalf("a record submitted by its first push: %+v, want submit_time = commit_time", first)
	}
	if d := get(draft.ID); !d.Submit.IsZero() {
		t.Fatalf("a draft says it was submitted at %v", d.Submit)
	}
	amended := sub
	amended.NextSteps = "more wait time"
	draft.Status = observation.RecordSubmitted
	resp, err := tr.Push(ctx, sync.PushRequest{DeviceID: dev, Changes: []sync.Change{
		{Seq: 3, Op: sync.OpUpsert, Record: amended, ObservationID: sub.ID, BaseRevision: 1},
		{Seq: 4, Op: sync.OpUpsert, Record: draft, ObservationID: draft.ID, BaseRevision: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Results {
		if r.Status != sync.StatusApplied {
			t.Fatalf("%+v", r)
		}
	}
	after := get(sub.ID)
	if !after.Submit.Equal(first.Submit) || !after.Commit.After(first.Commit) {
		t.Fatalf("after an amendment: %+v, want submit_time %v kept and a later commit_time", after, first.Submit)
	}
	late := get(draft.ID)
	if !late.Submit.Equal(late.Commit) || !late.Submit.After(first.Submit) {
		t.Fatalf("a draft submitted later: %+v, want submit_time = its commit_time, after %v", late, first.Submit)
	}
	page, err := tr.Pull(ctx, sync.PullRequest{DeviceID: dev})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range page.Upserts {
		want := map[string]time.Time{sub.ID: first.Submit, draft.ID: late.Submit}[o.ID]
		if !o.SubmittedAt.Equal(want) {
			t.Fatalf("pulled %s: submitted at %v, want %v", o.ID, o.SubmittedAt, want)
		}
	}
}
