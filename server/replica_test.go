package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/store"
	"github.com/lookfor-edu/lookfor/sync"
)

// TestViewsFromAReplica runs a server whose progress views read a real hot standby
// (pg_basebackup of a primary this test starts): views count what the replica has replayed and
// say so in data_as_of; with replay paused, a push acknowledged by the primary is not in the
// views (and data_as_of stays before it) until replay resumes — what docs/architecture.md tells
// callers about reading their own writes.
func TestViewsFromAReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primary, standby := pgtest.Replicated(t)
	e := testenv.StartOn(t, primary.URL(), store.Options{ReadDatabaseURL: standby.URL()})
	pgtest.CaughtUp(t, primary, standby) // the schema StartOn migrated, before the views read it

	coach, admin := e.Users[observation.RoleCoach], e.Users[observation.RoleDistrictAdmin]
	views := pb.NewProgressServiceClient(e.GRPC)
	adminCtx := testenv.Ctx(e.Token(t, admin))
	coverage := func() (int32, time.Time) {
		t.Helper()
		v, err := views.GetCoverage(adminCtx, &pb.GetCoverageRequest{DistrictId: admin.DistrictID})
		if err != nil {
			t.Fatal(err)
		}
		return v.GetTotal().GetObservations(), v.GetDataAsOf().AsTime()
	}
	waitFor := func(n int32) time.Time {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, asOf := coverage()
			if got == n {
				return asOf
			}
			if time.Now().After(deadline) {
				t.Fatalf("the replica's views count %d observations, want %d", got, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	tr, device := e.Device(t, coach)
	recs := e.Records(t, 11, coach, 3)
	beforePush := time.Now()
	if _, err := tr.Push(ctx, sync.PushRequest{DeviceID: device, Changes: testenv.Changes(1, recs[:2]...)}); err != nil {
		t.Fatal(err)
	}
	if asOf := waitFor(2); asOf.Before(beforePush.Add(-time.Second)) {
		t.Errorf("data_as_of %s is before the push it counts (%s)", asOf, beforePush)
	}

	// Replay paused: the next push is acknowledged by the primary but not yet in the views.
	if err := standby.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the pause take effect
	_, pausedAsOf := coverage()
	beforeSecond := time.Now()
	if _, err := tr.Push(ctx, sync.PushRequest{DeviceID: device, Changes: testenv.Changes(3, recs[2])}); err != nil {
		t.Fatal(err)
	}
	n, asOf := coverage()
	if n != 2 || asOf.After(beforeSecond) || !asOf.Equal(pausedAsOf) {
		t.Errorf("with replay paused: %d observations as of %s, want the 2 replayed, as of %s (before the push at %s)", n, asOf, pausedAsOf, beforeSecond)
	}
	// REST says the same, in the response body.
	r := e.Do(t, "GET", "/v1/districts/"+admin.DistrictID+"/progress:coverage", e.Token(t, admin), "")
	var body struct {
		DataAsOf time.Time `json:"data_as_of"`
	}
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &body) != nil || !body.DataAsOf.Equal(pausedAsOf) {
		t.Errorf("REST coverage: %d, data_as_of %s, want %s", r.Status, body.DataAsOf, pausedAsOf)
	}
	// A CSV export says it in a header.
	r = e.Do(t, "GET", "/v1/districts/"+admin.DistrictID+"/progress:export?view=coverage", e.Token(t, admin), "")
	if csvAsOf, err := time.Parse(time.RFC3339Nano, r.Header.Get("X-Data-As-Of")); r.Status != http.StatusOK || err != nil || !csvAsOf.Equal(pausedAsOf) {
		t.Errorf("CSV coverage export: %d, X-Data-As-Of %q, want %s", r.Status, r.Header.Get("X-Data-As-Of"), pausedAsOf)
	}

	if err := standby.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	if asOf := waitFor(3); !asOf.After(pausedAsOf) {
		t.Errorf("after replay resumed, data_as_of %s did not move past %s", asOf, pausedAsOf)
	}
}
