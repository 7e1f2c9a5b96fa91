package server_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/sync"
)

// ---------------------------------------------------------------------------------------------
// 4. a transaction that commits late is never skipped by a pull

func TestSyncGuaranteeLateCommitNotSkipped(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)

	insertLate := func(rec observation.Record) func() {
		t.Helper()
		tx, err := e.Store.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tx.Rollback(ctx) })
		content, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO observations (district_id, observation_id, site_id, classroom_id, teacher_id, observer_id,
				status, kind, rubric_id, rubric_version, started_at, revision, content, content_hash, deleted, updated_by, committed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, false, $6, now() - interval '1 hour')`,
			rec.DistrictID, rec.ID, rec.SiteID, rec.ClassroomID, rec.TeacherID, rec.ObserverID, string(rec.Status), string(rec.Kind),
			rec.RubricID, rec.RubricVersion, rec.StartedAt, content, rec.Hash()); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}

	late := e.Records(t, 41, coach, 1)[0]
	commitLate := insertLate(late) // holds an xid older than everything pushed below

	others := e.Records(t, 42, coach, 10)
	sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(1, others...)...).Results, 1, false, others...)
	p1 := sgPullAll(t, tr, dev, "", 0)
	if len(p1.Upserts) != 10 || len(p1.Tombstones) != 0 {
		t.Fatalf("first pull: %d upserts, %d tombstones; want 10, 0", len(p1.Upserts), len(p1.Tombstones))
	}
	if _, ok := p1.Upserts[late.ID]; ok {
		t.Fatal("an uncommitted row was pulled")
	}
	commitLate()
	p2 := sgPullAll(t, tr, dev, p1.Cursor, 0)
	if len(p2.Upserts) != 1 || p2.Upserts[late.ID].ContentHash != late.Hash() {
		t.Fatalf("pull after the late commit: %d upserts %v; want exactly the late row %s", len(p2.Upserts), p2.Upserts, late.ID)
	}
	if p3 := sgPullAll(t, tr, dev, p2.Cursor, 0); len(p3.Upserts)+len(p3.Tombstones) != 0 {
		t.Fatalf("pull with nothing new returned %d rows", len(p3.Upserts)+len(p3.Tombstones))
	}

	// Paging with page_size 1 walks every row exactly once, while another late transaction is
	// open and more pushes commit mid-walk.
	more := e.Records(t, 43, coach, 7)
	sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(11, more...)...).Results, 11, false, more...)
	late2 := e.Records(t, 44, coach, 1)[0]
	commitLate2 := insertLate(late2)
	want := map[string]string{late.ID: late.Hash()}
	for _, r := range append(slices.Clone(others), more...) {
		want[r.ID] = r.Hash()
	}
	seen := map[string]int{}
	cursor := ""
	pages := 0
	midWalk := e.Records(t, 45, coach, 3)
	for {
		page, err := tr.Pull(ctx, sync.PullRequest{DeviceID: dev, Cursor: cursor, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Upserts)+len(page.Tombstones) > 1 {
			t.Fatalf("page %d has %d rows", pages, len(page.Upserts)+len(page.Tombstones))
		}
		if pages == 1 && len(page.Rubrics) == 0 {
			t.Fatal("the first page carries no rubric changes")
		}
		if pages > 1 && len(page.Rubrics) != 0 {
			t.Fatalf("page %d carries rubric changes", pages)
		}
		for _, o := range page.Upserts {
			seen[o.ID]++
			if want[o.ID] != o.ContentHash {
				t.Fatalf("page %d: unexpected row %s hash %s", pages, o.ID, o.ContentHash)
			}
		}
		if pages == 3 { // commits during the walk belong to the next delta
			sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(18, midWalk...)...).Results, 18, false, midWalk...)
		}
		cursor = page.Cursor
		if !page.HasMore {
			break
		}
		if pages > 100 {
			t.Fatal("paging never ends")
		}
	}
	if len(seen) != len(want) || pages != len(want) {
		t.Fatalf("paging: %d pages, %d distinct rows; want %d", pages, len(seen), len(want))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("row %s returned %d times", id, n)
		}
	}
	commitLate2()
	delta := sgPullAll(t, tr, dev, cursor, 1)
	if len(delta.Upserts) != 4 || delta.Upserts[late2.ID].ContentHash != late2.Hash() {
		t.Fatalf("delta after the walk: %d upserts; want the 3 pushed mid-walk and the late row", len(delta.Upserts))
	}
	for _, r := range midWalk {
		if delta.Upserts[r.ID].ContentHash != r.Hash() {
			t.Fatalf("row %s pushed mid-walk is missing from the next delta", r.ID)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// 10. pull semantics

func TestSyncGuaranteePullSemantics(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	da := e.Users[observation.RoleDistrictAdmin]
	withSites := func(sites ...string) observation.Principal {
		p := coach
		p.SiteIDs = sites
		return p
	}
	coachAB, coachA, coachABC := withSites(sgSiteA, sgSiteB), withSites(sgSiteA), withSites(sgSiteA, sgSiteB, sgSiteC)
	trAB, dev := e.Device(t, coachAB)
	trA, trABC := sgTransport(t, e, e.GRPC, coachA), sgTransport(t, e, e.GRPC, coachABC)
	trDA, devDA := e.Device(t, da)

	ownA := sgRecords(t, e, 101, coach, []string{sgSiteA}, 2, observation.RecordSubmitted)
	ownB := sgRecords(t, e, 102, coach, []string{sgSiteB}, 2, observation.RecordSubmitted)
	daA := sgRecords(t, e, 103, da, []string{sgSiteA}, 2, observation.RecordSubmitted)
	daB := sgRecords(t, e, 104, da, []string{sgSiteB}, 3, observation.RecordSubmitted)
	daC := sgRecords(t, e, 105, da, []string{sgSiteC}, 2, observation.RecordSubmitted)
	daDraftB := sgRecords(t, e, 106, da, []string{sgSiteB}, 1, observation.RecordDraft)
	sgPush(t, trAB, dev, "", testenv.Changes(1, append(slices.Clone(ownA), ownB...)...)...)
	daAll := append(append(append(slices.Clone(daA), daB...), daC...), daDraftB...)
	for _, r := range sgPush(t, trDA, devDA, "", testenv.Changes(1, daAll...)...).Results {
		if r.Status != sync.StatusApplied {
			t.Fatalf("district admin push: %+v", r)
		}
	}
	ids := func(rs ...[]observation.Record) map[string]bool {
		out := map[string]bool{}
		for _, l := range rs {
			for _, r := range l {
				out[r.ID] = true
			}
		}
		return out
	}
	sameKeys := func(what string, got map[string]bool, want map[string]bool) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d ids, want %d", what, len(got), len(want))
		}
		for id := range want {
			if !got[id] {
				t.Fatalf("%s: %s missing", what, id)
			}
		}
	}
	keys := func(m any) map[string]bool {
		out := map[string]bool{}
		switch m := m.(type) {
		case map[string]observation.StoredObservation:
			for k := range m {
				out[k] = true
			}
		case map[string]sync.TombstoneReason:
			for k := range m {
				out[k] = true
			}
		}
		return out
	}

	// Full pull with sites A, B: own records and submitted records at A and B; rubrics first.
	p := sgPullAll(t, trAB, dev, "", 2)
	sameKeys("first pull", keys(p.Upserts), ids(ownA, ownB, daA, daB))
	if len(p.Tombstones) != 0 || len(p.Rubrics) == 0 {
		t.Fatalf("first pull: %d tombstones, %d rubric changes", len(p.Tombstones), len(p.Rubrics))
	}

	// Scope shrinks to A: the district admin's B records leave, the coach's own stay.
	shrink := sgPullAll(t, trA, dev, p.Cursor, 0)
	if shrink.Reset || len(shrink.Upserts) != 0 {
		t.Fatalf("after shrinking: reset %v, %d upserts", shrink.Reset, len(shrink.Upserts))
	}
	sameKeys("out-of-scope tombstones", keys(shrink.Tombstones), ids(daB))
	for id, why := range shrink.Tombstones {
		if why != sync.TombstoneOutOfScope {
			t.Fatalf("tombstone %s: %s, want out_of_scope", id, why)
		}
	}
	if again := sgPullAll(t, trA, dev, shrink.Cursor, 0); len(again.Upserts)+len(again.Tombstones) != 0 {
		t.Fatalf("pull after the shrink delta: %d rows", len(again.Upserts)+len(again.Tombstones))
	}

	// Scope grows to A, B, C: the existing records of B and C arrive.
	grow := sgPullAll(t, trABC, dev, shrink.Cursor, 0)
	if grow.Reset || len(grow.Tombstones) != 0 {
		t.Fatalf("after growing: reset %v, %d tombstones", grow.Reset, len(grow.Tombstones))
	}
	for id := range ids(daB, daC) {
		if _, ok := grow.Upserts[id]; !ok {
			t.Fatalf("after growing: %s (a submitted record of a new site) missing", id)
		}
	}
	for id := range grow.Upserts {
		if !ids(daB, daC, ownB)[id] {
			t.Fatalf("after growing: unexpected %s", id)
		}
	}
	cursor := grow.Cursor

	// Deletion: a tombstone with reason deleted.
	del := sgPush(t, trDA, devDA, "", sync.Change{Seq: int64(len(daAll) + 1), Op: sync.OpDelete, ObservationID: daA[0].ID, BaseRevision: 1}).Results[0]
	if del.Status != sync.StatusApplied || del.Revision != 2 {
		t.Fatalf("delete: %+v", del)
	}
	dp := sgPullAll(t, trABC, dev, cursor, 0)
	if len(dp.Upserts) != 0 || len(dp.Tombstones) != 1 || dp.Tombstones[daA[0].ID] != sync.TombstoneDeleted {
		t.Fatalf("after delete: %d upserts, tombstones %v", len(dp.Upserts), dp.Tombstones)
	}
	cursor = dp.Cursor

	// Rubric changes arrive, on the first page, before observations.
	sgDistrictRubric(t, e, "sg-pull-rubric", true, false)
	newRecs := sgRecords(t, e, 107, coach, []string{sgSiteC}, 3, observation.RecordSubmitted)
	pushed := sgPush(t, trABC, dev, "", testenv.Changes(5, newRecs...)...)
	first, err := trABC.Pull(ctx, sync.PullRequest{DeviceID: dev, Cursor: cursor, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Rubrics) != 1 || first.Rubrics[0].RubricID != "sg-pull-rubric" || first.Rubrics[0].Status != observation.StatusPublished || !first.HasMore {
		t.Fatalf("first page after publishing: rubrics %+v, has_more %v", first.Rubrics, first.HasMore)
	}
	rest := sgPullAll(t, trABC, dev, first.Cursor, 1)
	if got := len(first.Upserts) + len(rest.Upserts); got != 3 {
		t.Fatalf("%d new records pulled, want 3", got)
	}
	sgDistrictRubricRetire(t, e, "sg-pull-rubric")
	rp := sgPullAll(t, trABC, dev, rest.Cursor, 0)
	if len(rp.Rubrics) != 1 || rp.Rubrics[0].Status != observation.StatusRetired || len(rp.Upserts) != 0 {
		t.Fatalf("after retiring: %+v, %d upserts", rp.Rubrics, len(rp.Upserts))
	}

	// Read-your-writes: the push response's cursor covers the push's own records, so they are
	// not pulled again (sync_edges_test.go: a later change by someone else is).
	mine := sgRecords(t, e, 108, coach, []string{sgSiteA}, 2, observation.RecordSubmitted)
	pr := sgPush(t, trABC, dev, rp.Cursor, testenv.Changes(5+int64(len(pushed.Results)), mine...)...)
	ryw := sgPullAll(t, trABC, dev, pr.Cursor, 0)
	sameKeys("read-your-writes", keys(ryw.Upserts), nil)

	// A garbage cursor is refused, over the transport and raw gRPC.
	_, err = trABC.Pull(ctx, sync.PullRequest{DeviceID: dev, Cursor: "not-a-cursor!"})
	sgKind(t, err, observation.KindInvalid, "BAD_CURSOR")
	sc := pb.NewSyncServiceClient(e.GRPC)
	_, err = sc.Pull(testenv.Ctx(e.Token(t, coachABC)), &pb.PullRequest{DeviceId: dev, Cursor: "eyJ2Ijo5fQ"})
	sgStatus(t, err, codes.InvalidArgument, "BAD_CURSOR")
	// On a push it does not block the upload: the answer says reset (sync_edges_test.go).
	presp, err := sc.Push(testenv.Ctx(e.Token(t, coachABC)), &pb.PushRequest{DeviceId: dev, Cursor: "%%%"})
	if err != nil || !presp.GetReset_() || presp.GetCursor() != "" {
		t.Fatalf("push with a garbage cursor: %v %v", presp, err)
	}

	// A cursor older than tombstone retention gets an explicit reset.
	short := testenv.Start(t, func(c *server.Config) { c.TombstoneRetention = time.Second })
	str, sdev := short.Device(t, coach)
	srecs := short.Records(t, 109, coach, 2)
	sgPush(t, str, sdev, "", testenv.Changes(1, srecs...)...)
	sp := sgPullAll(t, str, sdev, "", 0)
	if len(sp.Upserts) != 2 {
		t.Fatalf("short retention: %d upserts", len(sp.Upserts))
	}
	time.Sleep(2200 * time.Millisecond)
	old, err := str.Pull(ctx, sync.PullRequest{DeviceID: sdev, Cursor: sp.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if !old.Reset || len(old.Upserts)+len(old.Tombstones) != 0 {
		t.Fatalf("stale cursor: reset %v, %d rows", old.Reset, len(old.Upserts)+len(old.Tombstones))
	}
	if again := sgPullAll(t, str, sdev, "", 0); again.Reset || len(again.Upserts) != 2 {
		t.Fatalf("pull after reset: %+v", again)
	}
}

// ---------------------------------------------------------------------------------------------
// 11. reconcile

func TestSyncGuaranteeReconcile(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	recs := e.Records(t, 111, coach, 5)
	sgPush(t, tr, dev, "", testenv.Changes(1, recs[:3]...)...)
	pairs := []sync.HashPair{
		{ObservationID: recs[0].ID, ContentHash: recs[0].Hash()},
		{ObservationID: recs[3].ID, ContentHash: recs[3].Hash()},
		{ObservationID: recs[1].ID, ContentHash: recs[1].Hash()},
		{ObservationID: recs[2].ID, ContentHash: strings.Repeat("0", 64)},
		{ObservationID: recs[4].ID, ContentHash: recs[4].Hash()},
	}
	res, err := tr.Reconcile(context.Background(), dev, pairs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Missing, []string{recs[3].ID, recs[4].ID}) {
		t.Fatalf("missing %v, want %v", res.Missing, []string{recs[3].ID, recs[4].ID})
	}
	if len(res.Differ) != 1 || res.Differ[0].ObservationID != recs[2].ID || res.Differ[0].ContentHash != recs[2].Hash() {
		t.Fatalf("differ %+v, want %s with %s", res.Differ, recs[2].ID, recs[2].Hash())
	}
}

// A record that leaves a caller's scope because it changed (an amendment moves it to a
// classroom at another site) must reach the caller's tablet as a tombstone, as a scope change
// does; otherwise the tablet keeps a stale copy of a record it may no longer see.
func TestSyncGuaranteeRecordMovedOutOfScopeIsTombstoned(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	coach2 := observation.Principal{UserID: "riverbend-usd.coach-2", Role: observation.RoleCoach, DistrictID: coach.DistrictID, SiteIDs: []string{sgSiteC, sgSiteD}}
	tr1, dev1 := e.Device(t, coach)
	tr2, dev2 := e.Device(t, coach2)
	rec := sgRecords(t, e, 141, coach, []string{sgSiteC}, 1, observation.RecordSubmitted)[0]
	sgApplied(t, sgPush(t, tr1, dev1, "", testenv.Changes(1, rec)...).Results, 1, false, rec)
	p := sgPullAll(t, tr2, dev2, "", 0)
	if _, ok := p.Upserts[rec.ID]; !ok {
		t.Fatal("coach-2 does not see a record of a shared site")
	}
	moved := sgRecords(t, e, 142, coach, []string{sgSiteA}, 1, observation.RecordSubmitted)[0]
	moved.ID = rec.ID
	if r := sgPush(t, tr1, dev1, "", sync.Change{Seq: 2, Op: sync.OpUpsert, Record: moved, ObservationID: rec.ID, BaseRevision: 1}).Results[0]; r.Status != sync.StatusApplied {
		t.Fatalf("move: %+v", r)
	}
	d := sgPullAll(t, tr2, dev2, p.Cursor, 0)
	if len(d.Upserts) != 0 || d.Tombstones[rec.ID] != sync.TombstoneOutOfScope {
		t.Fatalf("coach-2's delta after the record left its sites: %d upserts, tombstones %v; want an out_of_scope tombstone", len(d.Upserts), d.Tombstones)
	}
}
