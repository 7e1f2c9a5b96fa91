package server_test

// Protocol edges of docs/sync-protocol.md (issue 12, class 3), each through a real server:
// limits answered 413 with a reason over REST, SEQ_REUSED, creates of a held id kept as
// conflicts, reconcile per item, read-your-writes push cursors, signed cursors shared by two
// server processes, and record ids unique across districts without revealing existence.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/sync"
)

// edgeRESTError decodes a gateway error body and returns its gRPC code and first reason.
func edgeRESTError(t *testing.T, body string) (int, string, string) {
	t.Helper()
	var b struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Reason string `json:"reason"`
		} `json:"details"`
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	reason := ""
	if len(b.Details) > 0 {
		reason = b.Details[0].Reason
	}
	return b.Code, reason, b.Message
}

// Every way a push can be too large answers 413 with a reason code over REST (429 would tell a
// client to retry the same batch later), and gRPC gets the push handler's reason instead of the
// transport's raw "received message larger than max".
func TestSyncEdgeOversizePushes(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, func(c *server.Config) { c.PushLimits.MaxBytes, c.MaxRequestBytes = 64<<10, 64<<10 })
	coach := e.Users[observation.RoleCoach]
	tok := e.Token(t, coach)
	_, dev := e.Device(t, coach)
	recs := e.Records(t, 501, coach, 400)
	req := &pb.PushRequest{DeviceId: dev}
	for _, c := range testenv.Changes(1, recs...) {
		req.Changes = append(req.Changes, server.ChangeToPB(c))
	}
	body, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	// REST bodies up to twice the gRPC message limit (128 KiB + 64 KiB here) are read; the
	// transport limit is raised to match, so the handler answers PUSH_TOO_LARGE.
	limit := 2 * (64<<10 + 64<<10)
	all := req.Changes
	marshal := func(n int) []byte {
		req.Changes = all[:n]
		b, err := protojson.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	lo, hi := 1, len(all) // the most changes whose JSON stays under the REST limit
	for lo < hi {
		if mid := (lo + hi + 1) / 2; len(marshal(mid)) < limit-1024 {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	within := marshal(lo)
	if len(within) < 160<<10 {
		t.Fatalf("test body is only %d bytes; it must exceed the gRPC message limit", len(within))
	}
	check := func(what string, r testenv.Response, wantReason string) {
		t.Helper()
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s: HTTP %d %s; want 413", what, r.Status, r.Body)
		}
		code, reason, msg := edgeRESTError(t, r.Body)
		if code != int(codes.ResourceExhausted) || reason != wantReason || strings.Contains(msg, "grpc:") || !strings.Contains(msg, "bytes") {
			t.Fatalf("%s: %s; want RESOURCE_EXHAUSTED %s naming the limit in bytes", what, r.Body, wantReason)
		}
	}
	check("a push over the byte limit", e.Do(t, http.MethodPost, "/v1/sync:push", tok, string(within)), "PUSH_TOO_LARGE")
	check("a body over the REST limit", e.Do(t, http.MethodPost, "/v1/sync:push", tok, string(body)), "PUSH_TOO_LARGE")

	// The same without Content-Length (chunked): cut off while reading.
	hreq, err := http.NewRequest(http.MethodPost, e.BaseURL+"/v1/sync:push", struct{ *bytes.Reader }{bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	hreq.Header.Set("Authorization", "Bearer "+tok)
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	var rb bytes.Buffer
	_, _ = rb.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.ContentLength >= 0 && hreq.ContentLength > 0 {
		t.Fatal("the chunked request carried a length")
	}
	check("a chunked body over the REST limit", testenv.Response{Status: resp.StatusCode, Body: rb.String()}, "PUSH_TOO_LARGE")

	// gRPC: a message above the old transport limit reaches the handler.
	var greq pb.PushRequest
	if err := protojson.Unmarshal(within, &greq); err != nil {
		t.Fatal(err)
	}
	_, err = pb.NewSyncServiceClient(e.GRPC).Push(testenv.Ctx(tok), &greq)
	st := sgStatus(t, err, codes.ResourceExhausted, "PUSH_TOO_LARGE")
	if strings.Contains(st.Message(), "grpc:") {
		t.Fatalf("gRPC message %q is the transport's", st.Message())
	}
	// Any other request over its limit is 413 REQUEST_TOO_LARGE.
	big := `{"device_id":"` + dev + `","records":[` + strings.Repeat(`{"observation_id":"x","content_hash":"y"},`, 5000) + `{}]}`
	check("a reconcile body over the limit", e.Do(t, http.MethodPost, "/v1/sync:reconcile", tok, big), "REQUEST_TOO_LARGE")
	if n := sgNextSeq(t, e, dev); n != 1 {
		t.Fatalf("next_seq %d after refused pushes, want 1", n)
	}
}

// A seq that was applied, sent again with different content, is rejected SEQ_REUSED (naming the
// seq to use) and nothing of it is stored; the same content again is still a replay.
func TestSyncEdgeSeqReused(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	recs := e.Records(t, 502, coach, 3)
	first := sgPush(t, tr, dev, "", testenv.Changes(1, recs[0], recs[1])...)
	sgApplied(t, first.Results, 1, false, recs[0], recs[1])

	edited := recs[1]
	edited.NextSteps = "changed after it was sent"
	resp := sgPush(t, tr, dev, "", sync.Change{Seq: 1, Op: sync.OpUpsert, Record: recs[0], ObservationID: recs[0].ID},
		sync.Change{Seq: 2, Op: sync.OpUpsert, Record: edited, ObservationID: edited.ID},
		sync.Change{Seq: 1, Op: sync.OpUpsert, Record: recs[2], ObservationID: recs[2].ID},
		sync.Change{Seq: 3, Op: sync.OpUpsert, Record: recs[2], ObservationID: recs[2].ID})
	if r := resp.Results[0]; !r.Replayed || !sgSameResult(r, first.Results[0]) {
		t.Fatalf("same seq, same content: %+v; want the stored result", r)
	}
	for _, i := range []int{1, 2} {
		r := resp.Results[i]
		if r.Status != sync.StatusRejected || r.Reason != sync.ReasonSeqReused || r.Field != "seq" || r.ExpectedSeq != 4 || r.Replayed || r.Revision != 0 {
			t.Fatalf("result %d, same seq, other content: %+v; want SEQ_REUSED expecting 4", i, r)
		}
	}
	if r := resp.Results[3]; r.Status != sync.StatusApplied || r.Seq != 3 {
		t.Fatalf("the next seq: %+v", r)
	}
	sgStored(t, e, 1, recs...)
	if n := sgNextSeq(t, e, dev); n != 4 {
		t.Fatalf("next_seq %d, want 4", n)
	}
	// The stored result is unchanged: a replay of seq 2 still answers the first delivery.
	again := sgPush(t, tr, dev, "", sync.Change{Seq: 2, Op: sync.OpUpsert, Record: recs[1], ObservationID: recs[1].ID})
	if r := again.Results[0]; !r.Replayed || !sgSameResult(r, first.Results[1]) {
		t.Fatalf("replay after SEQ_REUSED: %+v", r)
	}
}

// A record another observer keeps as a draft, a record at a site outside the caller's scope and
// a record of another district answer exactly like an id that does not exist; a classroom
// outside the scope exactly like one that does not exist. New ids must be UUIDv7.
func TestSyncEdgeNoExistenceLeaks(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	colleague := coach
	colleague.UserID = coach.DistrictID + ".coach-2"
	other := otherDistrictCoach(t, e)
	trC, devC := e.Device(t, colleague)
	trO, devO := e.Device(t, other)
	tr, dev := e.Device(t, coach)

	draft := sgRecords(t, e, 503, colleague, coach.SiteIDs[:1], 1, observation.RecordDraft)[0]
	elsewhere := sgRecords(t, e, 504, other, other.SiteIDs[:1], 1, observation.RecordSubmitted)[0]
	sgApplied(t, sgPush(t, trC, devC, "", testenv.Changes(1, draft)...).Results, 1, false, draft)
	sgApplied(t, sgPush(t, trO, devO, "", testenv.Changes(1, elsewhere)...).Results, 1, false, elsewhere)

	mine := e.Records(t, 505, coach, 4)
	v4 := mine[0]
	v4.ID = uuid.NewString()
	never := mine[1]
	takeDraft, takeElsewhere := mine[2], mine[3]
	takeDraft.ID, takeElsewhere.ID = draft.ID, elsewhere.ID
	amendNever, amendDraft := never, takeDraft
	resp := sgPush(t, tr, dev, "",
		sync.Change{Seq: 1, Op: sync.OpUpsert, Record: v4, ObservationID: v4.ID},
		sync.Change{Seq: 2, Op: sync.OpUpsert, Record: takeDraft, ObservationID: takeDraft.ID},
		sync.Change{Seq: 3, Op: sync.OpUpsert, Record: takeElsewhere, ObservationID: takeElsewhere.ID},
		sync.Change{Seq: 4, Op: sync.OpUpsert, Record: amendNever, ObservationID: amendNever.ID, BaseRevision: 1},
		sync.Change{Seq: 5, Op: sync.OpUpsert, Record: amendDraft, ObservationID: amendDraft.ID, BaseRevision: 1},
		sync.Change{Seq: 6, Op: sync.OpDelete, ObservationID: never.ID},
		sync.Change{Seq: 7, Op: sync.OpDelete, ObservationID: draft.ID},
		sync.Change{Seq: 8, Op: sync.OpDelete, ObservationID: elsewhere.ID, BaseRevision: 1},
	)
	same := func(what string, a, b sync.Result, idA, idB string) {
		t.Helper()
		ma, mb := strings.ReplaceAll(a.Message, idA, "ID"), strings.ReplaceAll(b.Message, idB, "ID")
		if a.Status != sync.StatusRejected || a.Status != b.Status || a.Reason != b.Reason || a.Field != b.Field || ma != mb {
			t.Fatalf("%s answer differently:\n %+v\n %+v", what, a, b)
		}
	}
	r := resp.Results
	if r[0].Reason != sync.ReasonBadID || r[0].Field != "observation_id" {
		t.Fatalf("a new record with a UUIDv4: %+v; want BAD_ID", r[0])
	}
	same("a UUIDv4 and another observer's draft id", r[0], r[1], v4.ID, draft.ID)
	same("a UUIDv4 and another district's id", r[0], r[2], v4.ID, elsewhere.ID)
	if r[3].Reason != sync.ReasonNotFound {
		t.Fatalf("amending an unknown id: %+v", r[3])
	}
	same("amending an unknown id and another observer's draft", r[3], r[4], never.ID, draft.ID)
	same("deleting an unknown id and another observer's draft", r[5], r[6], never.ID, draft.ID)
	same("deleting an unknown id and another district's record", r[5], r[7], never.ID, elsewhere.ID)
	sgStored(t, e, 1, draft, elsewhere)

	// A classroom at a site outside the scope reads like a classroom that does not exist.
	var outside observation.Classroom
	for _, c := range e.Roster.Classrooms {
		if c.DistrictID == coach.DistrictID && !slices.Contains(coach.SiteIDs, c.SiteID) {
			outside = c
			break
		}
	}
	recs := e.Records(t, 506, coach, 2)
	out, missing := recs[0], recs[1]
	out.SiteID, out.ClassroomID = outside.SiteID, outside.ID
	missing.SiteID, missing.ClassroomID = outside.SiteID, outside.ID+"-gone"
	cr := sgPush(t, tr, dev, "", testenv.Changes(9, out, missing)...).Results
	if cr[0].Reason != "UNKNOWN_CLASSROOM" {
		t.Fatalf("a classroom outside the scope: %+v", cr[0])
	}
	same("a classroom outside the scope and a missing one", cr[0], cr[1], outside.ID, outside.ID+"-gone")

	// The database holds each id once across districts.
	_, err := e.Store.Pool().Exec(context.Background(), `INSERT INTO observations (district_id, observation_id, site_id, classroom_id,
		teacher_id, observer_id, status, kind, rubric_id, rubric_version, started_at, revision, content, content_hash, updated_by)
		SELECT $1, observation_id, site_id, classroom_id, teacher_id, observer_id, status, kind, rubric_id, rubric_version,
			started_at, revision, content, content_hash, updated_by FROM observations WHERE observation_id = $2`, coach.DistrictID, elsewhere.ID)
	if err == nil || !strings.Contains(err.Error(), "observations_observation_id_key") {
		t.Fatalf("a second row for one id in another district: %v; want the unique index to refuse it", err)
	}
}

// otherDistrictCoach is a coach of the second demo district with its first site.
func otherDistrictCoach(t *testing.T, e *testenv.Env) observation.Principal {
	t.Helper()
	coach := e.Users[observation.RoleCoach]
	for _, s := range e.Roster.Sites {
		if s.DistrictID != coach.DistrictID {
			return observation.Principal{UserID: s.DistrictID + ".coach-1", Role: observation.RoleCoach, DistrictID: s.DistrictID, SiteIDs: []string{s.ID}}
		}
	}
	t.Fatal("the demo network has one district")
	return observation.Principal{}
}

// Reconcile answers deleted records as deleted and a malformed id per item, over gRPC and REST.
func TestSyncEdgeReconcile(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	recs := e.Records(t, 507, coach, 3)
	sgPush(t, tr, dev, "", testenv.Changes(1, recs...)...)
	del := sgPush(t, tr, dev, "", sync.Change{Seq: 4, Op: sync.OpDelete, ObservationID: recs[1].ID, BaseRevision: 1}).Results[0]
	if del.Status != sync.StatusApplied {
		t.Fatalf("delete: %+v", del)
	}
	unknown := uuid.Must(uuid.NewV7()).String()
	pairs := []sync.HashPair{
		{ObservationID: recs[0].ID, ContentHash: recs[0].Hash()},
		{ObservationID: "not-a-uuid", ContentHash: "x"},
		{ObservationID: recs[1].ID, ContentHash: recs[1].Hash()},
		{ObservationID: unknown, ContentHash: "x"},
		{ObservationID: recs[2].ID, ContentHash: "0"},
	}
	res, err := tr.Reconcile(context.Background(), dev, pairs)
	if err != nil {
		t.Fatalf("one malformed id failed the call: %v", err)
	}
	if !slices.Equal(res.Deleted, []string{recs[1].ID}) || !slices.Equal(res.Missing, []string{unknown}) ||
		len(res.Differ) != 1 || res.Differ[0].ObservationID != recs[2].ID ||
		len(res.Invalid) != 1 || res.Invalid[0].Index != 1 || res.Invalid[0].Reason != "BAD_ID" {
		t.Fatalf("reconcile: %+v", res)
	}
	body, _ := json.Marshal(map[string]any{"device_id": dev, "records": []map[string]string{
		{"observation_id": recs[1].ID, "content_hash": recs[1].Hash()}, {"observation_id": "x\u00e9", "content_hash": ""}}})
	r := e.Do(t, http.MethodPost, "/v1/sync:reconcile", e.Token(t, coach), string(body))
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"deleted":["`+recs[1].ID+`"]`) || !strings.Contains(r.Body, `"reason":"BAD_ID"`) {
		t.Fatalf("REST reconcile: HTTP %d %s", r.Status, r.Body)
	}
}

// The cursor a push returns covers the device's own writes: they are not pulled again, while a
// later change by someone else to one of them, and others' records, are.
func TestSyncEdgePushCursorCoversOwnWrites(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach, da := e.Users[observation.RoleCoach], e.Users[observation.RoleDistrictAdmin]
	tr, dev := e.Device(t, coach)
	trDA, devDA := e.Device(t, da)
	base := sgPullAll(t, tr, dev, "", 0)
	mine := e.Records(t, 508, coach, 3)
	pushed := sgPush(t, tr, dev, base.Cursor, testenv.Changes(1, mine...)...)
	theirs := sgRecords(t, e, 509, da, coach.SiteIDs[:1], 1, observation.RecordSubmitted)
	sgPush(t, trDA, devDA, "", testenv.Changes(1, theirs...)...)
	got := sgPullAll(t, tr, dev, pushed.Cursor, 1)
	if len(got.Upserts) != 1 || got.Upserts[theirs[0].ID].Revision != 1 {
		t.Fatalf("pulled %d records after the push; want only the district admin's", len(got.Upserts))
	}
	// Paging keeps skipping them, and a later amendment by the district admin arrives.
	amend := mine[0]
	amend.NextSteps = "amended by the district admin"
	if r := sgPush(t, trDA, devDA, "", sync.Change{Seq: 2, Op: sync.OpUpsert, Record: amend, ObservationID: amend.ID, BaseRevision: 1}).Results[0]; r.Status != sync.StatusApplied {
		t.Fatalf("amend: %+v", r)
	}
	later := sgPullAll(t, tr, dev, got.Cursor, 0)
	if len(later.Upserts) != 1 || later.Upserts[amend.ID].ContentHash != amend.Hash() {
		t.Fatalf("after the amendment: %+v", later.Upserts)
	}
	// Pushing again on top of a cursor from a push, and from the empty cursor, still skips them.
	more := e.Records(t, 510, coach, 2)
	p2 := sgPush(t, tr, dev, later.Cursor, testenv.Changes(4, more[0])...)
	p3 := sgPush(t, tr, dev, p2.Cursor, testenv.Changes(5, more[1])...)
	if n := len(sgPullAll(t, tr, dev, p3.Cursor, 0).Upserts); n != 0 {
		t.Fatalf("%d own records pulled after two pushes", n)
	}
	fresh := sgPush(t, tr, dev, "", sync.Change{Seq: 6, Op: sync.OpDelete, ObservationID: more[1].ID, BaseRevision: 1})
	all := sgPullAll(t, tr, dev, fresh.Cursor, 0)
	if _, ok := all.Upserts[more[0].ID]; !ok || len(all.Tombstones) != 0 {
		t.Fatalf("first pull from a push cursor: %d upserts, tombstones %v", len(all.Upserts), all.Tombstones)
	}
}

// Cursors are signed with a key every server process on the database shares: one issued by one
// server is accepted by another; an edited or forged one is BAD_CURSOR on a pull, and on a push
// it does not block the upload. Keys rotate by age and the previous key is still accepted.
func TestSyncEdgeSignedCursorsAcrossServers(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	e2 := e.Second(t)
	coach := e.Users[observation.RoleCoach]
	tr1, dev := e.Device(t, coach)
	tr2 := sgTransport(t, e2, e2.GRPC, coach)
	recs := e.Records(t, 511, coach, 3)
	sgPush(t, tr1, dev, "", testenv.Changes(1, recs[:2]...)...)
	p1 := sgPullAll(t, tr1, dev, "", 1)
	if len(p1.Upserts) != 2 {
		t.Fatalf("first pull: %d", len(p1.Upserts))
	}
	own := sgPush(t, tr2, dev, p1.Cursor, testenv.Changes(3, recs[2])...)
	if p := sgPullAll(t, tr1, dev, own.Cursor, 0); len(p.Upserts) != 0 {
		t.Fatalf("second server, own write: %d upserts", len(p.Upserts))
	}

	payload, rest, _ := strings.Cut(p1.Cursor, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	c["sc"] = "district_admin@" + coach.DistrictID
	edited, _ := json.Marshal(c)
	forged := base64.RawURLEncoding.EncodeToString(edited) + "." + rest
	unsigned := base64.RawURLEncoding.EncodeToString(raw)
	for name, cur := range map[string]string{"edited": forged, "unsigned": unsigned, "other key": payload + ".abcdef." + strings.SplitN(rest, ".", 2)[1]} {
		for _, tr := range []*server.Transport{tr1, tr2} {
			_, err := tr.Pull(context.Background(), sync.PullRequest{DeviceID: dev, Cursor: cur})
			sgKind(t, err, observation.KindInvalid, "BAD_CURSOR")
		}
		r := e2.Do(t, http.MethodPost, "/v1/sync:pull", e.Token(t, coach), `{"device_id":"`+dev+`","cursor":"`+cur+`"}`)
		if code, reason, _ := edgeRESTError(t, r.Body); r.Status != http.StatusBadRequest || code != int(codes.InvalidArgument) || reason != "BAD_CURSOR" {
			t.Fatalf("%s cursor over REST: HTTP %d %s", name, r.Status, r.Body)
		}
	}
	more := e.Records(t, 512, coach, 1)
	resp := sgPush(t, tr2, dev, forged, testenv.Changes(4, more...)...)
	if !resp.Reset || resp.Cursor != "" || resp.Results[0].Status != sync.StatusApplied {
		t.Fatalf("push with a forged cursor: %+v", resp)
	}
	sgStored(t, e, 1, more...)

	// Rotation: once the signing key is older than the rotation period, a server process that
	// reads the keys makes a new one; cursors signed with the previous key are still accepted.
	ctx := context.Background()
	if _, err := e.Store.Pool().Exec(ctx, `UPDATE cursor_keys SET created_at = created_at - interval '31 days'`); err != nil {
		t.Fatal(err)
	}
	e3 := e.Second(t)
	tr3 := sgTransport(t, e3, e3.GRPC, coach)
	p3 := sgPullAll(t, tr3, dev, p1.Cursor, 0)
	if n := sgCount(t, e, `SELECT count(*) FROM cursor_keys`); n != 2 {
		t.Fatalf("%d cursor keys after rotation, want 2", n)
	}
	if strings.Split(p3.Cursor, ".")[1] == strings.Split(p1.Cursor, ".")[1] {
		t.Fatal("the new cursor is signed with the old key")
	}
	// Beyond the grace period (the tombstone retention) the old key is gone.
	if _, err := e.Store.Pool().Exec(ctx, `UPDATE cursor_keys SET created_at = created_at - interval '400 days' WHERE key_id = $1`,
		strings.Split(p1.Cursor, ".")[1]); err != nil {
		t.Fatal(err)
	}
	e4 := e.Second(t)
	_, err = sgTransport(t, e4, e4.GRPC, coach).Pull(ctx, sync.PullRequest{DeviceID: dev, Cursor: p1.Cursor})
	sgKind(t, err, observation.KindInvalid, "BAD_CURSOR")
	if p := sgPullAll(t, sgTransport(t, e4, e4.GRPC, coach), dev, p3.Cursor, 0); p.Reset {
		t.Fatal("a cursor signed with the current key was reset")
	}
	_ = time.Second
}
