package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/sync"
)

// ---------------------------------------------------------------------------------------------
// 5. bad items in the middle of a batch

func TestSyncGuaranteeBadItemsDoNotBlockBatch(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	sgDistrictRubric(t, e, "sg-retired", true, true)

	recs := e.Records(t, 51, coach, 100)
	outside := sgRecords(t, e, 52, coach, []string{sgSiteD}, 1, observation.RecordSubmitted)[0]
	type bad struct {
		reason, field string
	}
	bads := map[int]bad{}
	// seq 50: unknown dimension
	recs[49].Scores = slices.Clone(recs[49].Scores)
	recs[49].Scores[0].Dimension = "sg_no_such_dimension"
	bads[49] = bad{observation.RecordReasonUnknownDimension, "record.scores[0].dimension"}
	// seq 51: level out of range
	recs[50].Scores = slices.Clone(recs[50].Scores)
	recs[50].Scores[0].Level, recs[50].Scores[0].NotObserved = 9, false
	bads[50] = bad{observation.ReasonLevelOutOfRange, "record.scores[0].level"}
	// seq 52: a classroom at a site outside the coach's scope
	outside.ID = recs[51].ID
	recs[51] = outside
	bads[51] = bad{"UNKNOWN_CLASSROOM", "record.classroom_id"} // answered like a classroom that does not exist
	// seq 53: a device clock far in the future
	recs[52].StartedAt = time.Now().UTC().Add(90 * 24 * time.Hour)
	bads[52] = bad{sync.ReasonFutureTimestamp, "record.started_at"}
	// seq 54: a retired rubric version
	recs[53].RubricID, recs[53].RubricVersion = "sg-retired", 1
	bads[53] = bad{sync.ReasonRetiredRubric, "record.rubric_version"}
	// seq 55: an unknown rubric version
	recs[54].RubricVersion = 99
	bads[54] = bad{sync.ReasonUnknownRubric, "record.rubric_version"}

	changes := testenv.Changes(1, recs...)
	resp := sgPush(t, tr, dev, "", changes...)
	var good []observation.Record
	for i, r := range resp.Results {
		if b, ok := bads[i]; ok {
			if r.Status != sync.StatusRejected || r.Reason != b.reason || r.Field != b.field || r.Message == "" || r.Seq != int64(i+1) || r.ObservationID != recs[i].ID {
				t.Fatalf("change %d: %+v; want rejected %s at %s", i+1, r, b.reason, b.field)
			}
			continue
		}
		if r.Status != sync.StatusApplied || r.Revision != 1 || r.ContentHash != recs[i].Hash() || r.Seq != int64(i+1) {
			t.Fatalf("change %d: %+v; want applied", i+1, r)
		}
		good = append(good, recs[i])
	}
	sgCounts(t, e, 100-len(bads), 100-len(bads))
	sgStored(t, e, 1, good...)
	for i := range bads {
		if n := sgCount(t, e, `SELECT count(*) FROM observations WHERE observation_id = $1`, recs[i].ID); n != 0 {
			t.Fatalf("rejected change %d was stored", i+1)
		}
	}
	if n := sgNextSeq(t, e, dev); n != 101 {
		t.Fatalf("next_seq %d, want 101", n)
	}

	// The replay answers the same, rejections included; the device goes on.
	again := sgPush(t, tr, dev, "", changes...)
	for i := range again.Results {
		if !again.Results[i].Replayed || !sgSameResult(again.Results[i], resp.Results[i]) {
			t.Fatalf("replay %d: %+v vs %+v", i+1, again.Results[i], resp.Results[i])
		}
	}
	fixed := e.Records(t, 51, coach, 50)[49] // the original of seq 50, sent again under a new seq
	sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(101, fixed)...).Results, 101, false, fixed)
	sgCounts(t, e, 101-len(bads), 101-len(bads))
}

// Items that pass record validation but that the database cannot hold (a NUL character in a
// text, which jsonb refuses; a time past year 9999, which JSON cannot encode) are still only bad
// items: they must not fail the batch, or the device could never push again.
func TestSyncGuaranteeUnstorableItemsDoNotFailBatch(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	recs := e.Records(t, 55, coach, 8)
	sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(1, recs[0])...).Results, 1, false, recs[0])

	nulText := recs[1]
	nulText.NextSteps = "ask students to\x00 revoice"
	farAmend := recs[0]
	farAmend.StartedAt = time.Date(10001, 1, 1, 0, 0, 0, 0, time.UTC)
	nulEvidence := recs[2]
	nulEvidence.Scores = slices.Clone(nulEvidence.Scores)
	nulEvidence.Scores[0].Evidence = "T: why?\x00"
	draft := recs[3]
	draft.Status = observation.RecordDraft
	farDraft := draft
	farDraft.RecordedAt = time.Date(10001, 1, 1, 0, 0, 0, 0, time.UTC)
	nulConflict := recs[0]
	nulConflict.LessonFocus = "focus\x00"
	nulClassroom := recs[6]
	nulClassroom.ClassroomID += "\x00"
	nulRubric := recs[7]
	nulRubric.RubricID += "\x00"

	changes := []sync.Change{
		{Seq: 2, Op: sync.OpUpsert, Record: nulText, ObservationID: nulText.ID},
		{Seq: 3, Op: sync.OpUpsert, Record: farAmend, ObservationID: farAmend.ID, BaseRevision: 1},
		{Seq: 4, Op: sync.OpDelete, ObservationID: "bad\x00id"},
		{Seq: 5, Op: sync.OpUpsert, Record: recs[4], ObservationID: recs[4].ID},
		{Seq: 6, Op: sync.OpUpsert, Record: draft, ObservationID: draft.ID},
		{Seq: 7, Op: sync.OpUpsert, Record: farDraft, ObservationID: draft.ID},
		{Seq: 8, Op: sync.OpUpsert, Record: nulEvidence, ObservationID: nulEvidence.ID},
		{Seq: 9, Op: sync.OpUpsert, Record: recs[5], ObservationID: recs[5].ID},
		{Seq: 10, Op: sync.OpUpsert, Record: nulClassroom, ObservationID: nulClassroom.ID},
		{Seq: 11, Op: sync.OpUpsert, Record: nulRubric, ObservationID: nulRubric.ID},
	}
	resp, err := tr.Push(context.Background(), sync.PushRequest{DeviceID: dev, Changes: changes})
	if err != nil {
		t.Fatalf("a batch with unstorable items failed as a whole: %v", err)
	}
	batch := resp
	wantApplied := map[int64]bool{5: true, 6: true, 9: true}
	for _, r := range resp.Results {
		if wantApplied[r.Seq] {
			if r.Status != sync.StatusApplied {
				t.Fatalf("seq %d: %+v; want applied", r.Seq, r)
			}
			continue
		}
		if r.Status != sync.StatusRejected || r.Reason == "" || r.Message == "" {
			t.Fatalf("seq %d: %+v; want rejected with a reason", r.Seq, r)
		}
		if r.Seq != 4 && r.Field == "" {
			t.Fatalf("seq %d: %+v; want the offending field", r.Seq, r)
		}
	}
	if n := sgNextSeq(t, e, dev); n != 12 {
		t.Fatalf("next_seq %d, want 12", n)
	}
	// A stale amendment carrying a NUL is rejected too (it would be kept as a conflict).
	resp = sgPush(t, tr, dev, "", sync.Change{Seq: 12, Op: sync.OpUpsert, Record: recs[0], ObservationID: recs[0].ID, BaseRevision: 1})
	if r := resp.Results[0]; r.Status != sync.StatusDuplicate {
		t.Fatalf("identical content: %+v", r)
	}
	amend := recs[0]
	amend.NextSteps = "amended"
	sgPush(t, tr, dev, "", sync.Change{Seq: 13, Op: sync.OpUpsert, Record: amend, ObservationID: amend.ID, BaseRevision: 1})
	resp = sgPush(t, tr, dev, "", sync.Change{Seq: 14, Op: sync.OpUpsert, Record: nulConflict, ObservationID: nulConflict.ID, BaseRevision: 1})
	if r := resp.Results[0]; r.Status != sync.StatusRejected {
		t.Fatalf("stale amendment with a NUL: %+v", r)
	}
	again := sgPush(t, tr, dev, "", changes...)
	for i, r := range again.Results {
		if !r.Replayed || !sgSameResult(r, batch.Results[i]) {
			t.Fatalf("replay %d: %+v vs %+v", i, r, batch.Results[i])
		}
	}
	sgCounts(t, e, 4, 5)
}

// ---------------------------------------------------------------------------------------------
// 7. devices are bound to their user

func TestSyncGuaranteeDeviceBinding(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coachA := e.Users[observation.RoleCoach]
	coachB := observation.Principal{UserID: "riverbend-usd.coach-2", Role: observation.RoleCoach, DistrictID: coachA.DistrictID,
		SiteIDs: []string{sgSiteC, sgSiteD}}
	_, devA := e.Device(t, coachA)
	trB := sgTransport(t, e, e.GRPC, coachB)
	recB := sgRecords(t, e, 71, coachB, []string{sgSiteC}, 1, observation.RecordSubmitted)
	sc := pb.NewSyncServiceClient(e.GRPC)
	ctxB := testenv.Ctx(e.Token(t, coachB))

	// Another user's device answers exactly like one nobody registered (device ids do not leak);
	// registering it is refused.
	_, err := trB.Push(ctx, sync.PushRequest{DeviceID: devA, Changes: testenv.Changes(1, recB...)})
	sgKind(t, err, observation.KindFailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = sc.Push(ctxB, &pb.PushRequest{DeviceId: devA, Changes: []*pb.Change{server.ChangeToPB(testenv.Changes(1, recB...)[0])}})
	sgStatus(t, err, codes.FailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = trB.Pull(ctx, sync.PullRequest{DeviceID: devA})
	sgKind(t, err, observation.KindFailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = sc.Pull(ctxB, &pb.PullRequest{DeviceId: devA})
	sgStatus(t, err, codes.FailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = sc.Reconcile(ctxB, &pb.ReconcileRequest{DeviceId: devA, Records: []*pb.RecordHash{{ObservationId: recB[0].ID, ContentHash: "x"}}})
	sgStatus(t, err, codes.FailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = sc.RegisterDevice(ctxB, &pb.RegisterDeviceRequest{DeviceId: devA, ClientVersion: "sg", SchemaVersion: 1})
	sgStatus(t, err, codes.PermissionDenied, "")
	_, err = trB.RegisterDevice(ctx, devA, "sg", 1)
	sgKind(t, err, observation.KindPermissionDenied, "")
	if n := sgCount(t, e, `SELECT count(*) FROM devices WHERE device_id = $1 AND user_id = $2 AND next_seq = 1`, devA, coachA.UserID); n != 1 {
		t.Fatal("device A changed hands or advanced")
	}
	sgCounts(t, e, 0, 0)

	// Registering again as the same user is a no-op.
	trA := sgTransport(t, e, e.GRPC, coachA)
	d, err := trA.RegisterDevice(ctx, devA, "sg", 1)
	if err != nil || d.UserID != coachA.UserID || d.NextSeq != 1 {
		t.Fatalf("re-register: %+v %v", d, err)
	}

	unknown := uuid.Must(uuid.NewV7()).String()
	_, err = trA.Push(ctx, sync.PushRequest{DeviceID: unknown, Changes: testenv.Changes(1, e.Records(t, 72, coachA, 1)...)})
	sgKind(t, err, observation.KindFailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = sc.Push(testenv.Ctx(e.Token(t, coachA)), &pb.PushRequest{DeviceId: unknown})
	sgStatus(t, err, codes.FailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = trA.Pull(ctx, sync.PullRequest{DeviceID: unknown})
	sgKind(t, err, observation.KindFailedPrecondition, "DEVICE_NOT_REGISTERED")

	analyst := e.Users[observation.RoleNetworkAnalyst]
	_, err = sc.RegisterDevice(testenv.Ctx(e.Token(t, analyst)), &pb.RegisterDeviceRequest{DeviceId: unknown, SchemaVersion: 1})
	sgStatus(t, err, codes.PermissionDenied, "")
	if n := sgCount(t, e, `SELECT count(*) FROM devices`); n != 1 {
		t.Fatalf("%d devices, want 1", n)
	}
	sgCounts(t, e, 0, 0)
}

// ---------------------------------------------------------------------------------------------
// 9. limits

func TestSyncGuaranteeLimits(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	tok := e.Token(t, coach)
	recs := e.Records(t, 91, coach, 501)

	_, err := tr.Push(context.Background(), sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(1, recs...)})
	de := sgKind(t, err, observation.KindResourceExhausted, "")
	if !strings.Contains(de.Message, "500") {
		t.Fatalf("message %q does not name the limit", de.Message)
	}
	req := &pb.PushRequest{DeviceId: dev}
	for _, c := range testenv.Changes(1, recs...) {
		req.Changes = append(req.Changes, server.ChangeToPB(c))
	}
	_, err = pb.NewSyncServiceClient(e.GRPC).Push(testenv.Ctx(tok), req)
	st := sgStatus(t, err, codes.ResourceExhausted, "TOO_MANY_CHANGES")
	if !strings.Contains(st.Message(), "500") {
		t.Fatalf("message %q does not name the limit", st.Message())
	}
	body, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	r := e.Do(t, http.MethodPost, "/v1/sync:push", tok, string(body))
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("REST push of 501 changes: HTTP %d %s; want 413 (429 is for rate limits)", r.Status, r.Body)
	}
	var body413 struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Reason string `json:"reason"`
		} `json:"details"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body413); err != nil || body413.Code != int(codes.ResourceExhausted) || !strings.Contains(body413.Message, "500") ||
		len(body413.Details) == 0 || body413.Details[0].Reason != "TOO_MANY_CHANGES" {
		t.Fatalf("REST 413 body %s (%v)", r.Body, err)
	}
	if n := sgNextSeq(t, e, dev); n != 1 {
		t.Fatalf("next_seq %d after refused pushes, want 1", n)
	}
	sgCounts(t, e, 0, 0)
	// 500 is fine.
	sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(1, recs[:500]...)...).Results, 1, false, recs[:500]...)
	sgCounts(t, e, 500, 500)

	// The byte limit.
	small := testenv.Start(t, func(c *server.Config) { c.PushLimits.MaxBytes = 64 << 10 })
	str, sdev := small.Device(t, coach)
	big := small.Records(t, 92, coach, 200)
	breq := &pb.PushRequest{DeviceId: sdev}
	for _, c := range testenv.Changes(1, big...) {
		breq.Changes = append(breq.Changes, server.ChangeToPB(c))
	}
	if n := proto.Size(breq); n <= 64<<10 {
		t.Fatalf("test batch is only %d bytes", n)
	}
	_, err = str.Push(context.Background(), sync.PushRequest{DeviceID: sdev, Changes: testenv.Changes(1, big...)})
	de = sgKind(t, err, observation.KindResourceExhausted, "PUSH_TOO_LARGE")
	if !strings.Contains(de.Message, fmt.Sprint(64<<10)) {
		t.Fatalf("message %q does not name the byte limit", de.Message)
	}
	_, err = pb.NewSyncServiceClient(small.GRPC).Push(testenv.Ctx(small.Token(t, coach)), breq)
	sgStatus(t, err, codes.ResourceExhausted, "PUSH_TOO_LARGE")
	if n := sgNextSeq(t, small, sdev); n != 1 {
		t.Fatalf("next_seq %d after an oversize push, want 1", n)
	}
	sgCounts(t, small, 0, 0)
	sgApplied(t, sgPush(t, str, sdev, "", testenv.Changes(1, big[:5]...)...).Results, 1, false, big[:5]...)
}

// ---------------------------------------------------------------------------------------------
// 12. REST parity

func TestSyncGuaranteeRESTParity(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tok := e.Token(t, coach)
	dev := uuid.Must(uuid.NewV7()).String()

	r := e.Do(t, http.MethodPost, "/v1/sync:registerDevice", tok, fmt.Sprintf(`{"device_id": %q, "client_version": "rest", "schema_version": 1}`, dev))
	if r.Status != http.StatusOK {
		t.Fatalf("register: HTTP %d %s", r.Status, r.Body)
	}
	var reg pb.RegisterDeviceResponse
	if err := protojson.Unmarshal([]byte(r.Body), &reg); err != nil {
		t.Fatal(err)
	}
	if reg.GetDevice().GetDeviceId() != dev || reg.GetDevice().GetUserId() != coach.UserID || reg.GetDevice().GetNextSeq() != 1 {
		t.Fatalf("register: %v", &reg)
	}

	rec := e.Records(t, 121, coach, 1)[0]
	body, err := protojson.Marshal(&pb.PushRequest{DeviceId: dev, Changes: []*pb.Change{server.ChangeToPB(testenv.Changes(1, rec)[0])}})
	if err != nil {
		t.Fatal(err)
	}
	for round, replayed := range []bool{false, true} {
		r = e.Do(t, http.MethodPost, "/v1/sync:push", tok, string(body))
		if r.Status != http.StatusOK {
			t.Fatalf("push %d: HTTP %d %s", round, r.Status, r.Body)
		}
		var pr pb.PushResponse
		if err := protojson.Unmarshal([]byte(r.Body), &pr); err != nil {
			t.Fatal(err)
		}
		if len(pr.GetResults()) != 1 {
			t.Fatalf("push %d: %v", round, &pr)
		}
		res := pr.GetResults()[0]
		if res.GetStatus() != pb.ChangeStatus_CHANGE_STATUS_APPLIED || res.GetRevision() != 1 || res.GetContentHash() != rec.Hash() ||
			res.GetSeq() != 1 || res.GetObservationId() != rec.ID || res.GetReplayed() != replayed {
			t.Fatalf("push %d: %v", round, res)
		}
	}
	sgCounts(t, e, 1, 1)
	sgStored(t, e, 1, rec)
	if n := sgNextSeq(t, e, dev); n != 2 {
		t.Fatalf("next_seq %d, want 2", n)
	}

	r = e.Do(t, http.MethodPost, "/v1/sync:pull", tok, fmt.Sprintf(`{"device_id": %q}`, dev))
	if r.Status != http.StatusOK {
		t.Fatalf("pull: HTTP %d %s", r.Status, r.Body)
	}
	var pull pb.PullResponse
	if err := protojson.Unmarshal([]byte(r.Body), &pull); err != nil {
		t.Fatal(err)
	}
	if len(pull.GetUpserts()) != 1 || pull.GetUpserts()[0].GetContentHash() != rec.Hash() || pull.GetHasMore() || len(pull.GetRubrics()) == 0 ||
		server.RecordFromPB(pull.GetUpserts()[0].GetRecord()).Hash() != rec.Hash() {
		t.Fatalf("pull: %v", &pull)
	}
	r = e.Do(t, http.MethodPost, "/v1/sync:pull", tok, fmt.Sprintf(`{"device_id": %q, "cursor": %q}`, dev, pull.GetCursor()))
	var next pb.PullResponse
	if r.Status != http.StatusOK || protojson.Unmarshal([]byte(r.Body), &next) != nil || len(next.GetUpserts()) != 0 {
		t.Fatalf("incremental pull: HTTP %d %s", r.Status, r.Body)
	}

	r = e.Do(t, http.MethodPost, "/v1/sync:reconcile", tok, fmt.Sprintf(`{"device_id": %q, "records": [{"observation_id": %q, "content_hash": "x"}]}`, dev, rec.ID))
	var rr pb.ReconcileResponse
	if r.Status != http.StatusOK || protojson.Unmarshal([]byte(r.Body), &rr) != nil || len(rr.GetDiffer()) != 1 || rr.GetDiffer()[0].GetContentHash() != rec.Hash() {
		t.Fatalf("reconcile: HTTP %d %s", r.Status, r.Body)
	}

	// Another user's token on this device: 400 DEVICE_NOT_REGISTERED, as for an unregistered device.
	other := observation.Principal{UserID: "riverbend-usd.coach-2", Role: observation.RoleCoach, DistrictID: coach.DistrictID, SiteIDs: []string{sgSiteC, sgSiteD}}
	r = e.Do(t, http.MethodPost, "/v1/sync:push", e.Token(t, other), string(body))
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "DEVICE_NOT_REGISTERED") {
		t.Fatalf("push with another user's token: HTTP %d %s", r.Status, r.Body)
	}
}

// ---------------------------------------------------------------------------------------------
// 13. fuzzing the push decoding and record validation

func FuzzPushDecode(f *testing.F) {
	roster := demo.Network()
	coach := demo.Principals(roster)[0].Principal
	var room observation.Classroom
	for _, c := range roster.Classrooms {
		if c.DistrictID == coach.DistrictID && slices.Contains(coach.SiteIDs, c.SiteID) {
			room = c
			break
		}
	}
	var groups []observation.StudentGroup
	for _, d := range roster.Districts {
		if d.ID == coach.DistrictID {
			groups = d.Settings.StudentGroups
		}
	}
	rubric := observation.DefaultRubricVersion(time.Now())
	recs := synth.New(1).Batch(3, func(i int) synth.Input {
		return synth.Input{Classroom: room, Observer: coach, Rubric: rubric, StudentGroups: groups,
			When: time.Now().UTC().Add(-time.Duration(i+1) * time.Hour)}
	})
	req := &pb.PushRequest{DeviceId: uuid.NewString(), ClientVersion: "fuzz", SchemaVersion: 1}
	for _, c := range testenv.Changes(1, recs...) {
		req.Changes = append(req.Changes, server.ChangeToPB(c))
	}
	req.Changes[2].BaseRevision, req.Changes[2].Fields = 1, []string{"scores", "next_steps"}
	valid, err := protojson.Marshal(req)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"changes":[{"seq":"1","op":"CHANGE_OP_UPSERT","record":{}}]}`))
	f.Add([]byte(`{"changes":[{"seq":"-3","op":"CHANGE_OP_DELETE","observation_id":"x"},{"record":{"id":"` + recs[0].ID +
		`","started_at":"9999-12-31T23:59:59Z","recorded_at":"0001-01-01T00:00:00Z","scores":[{"dimension":"press","level":-7},{"dimension":""}],` +
		`"tallies":[{"category":"x","count":-1}],"participation":[{"field":"student_group","option":"ml","count":99999}],"enrolment":[{"group":"ml","count":-2}],` +
		`"duration_minutes":-5,"discussion_minutes":2147483647,"observer_role":"ROLE_NETWORK_ANALYST","kind":17,"status":99}}]}`))
	f.Add([]byte(`{"device_id":"zz","changes":[{"record":{"id":"00000000-0000-0000-0000-000000000000","district_id":"\u0000"}}]}`))
	f.Add([]byte(`not json at all`))
	f.Add(valid[:len(valid)/2])

	rctx := observation.RecordContext{Classroom: &room, StudentGroups: groups}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in pb.PushRequest
		if err := protojson.Unmarshal(data, &in); err != nil {
			t.Skip()
		}
		pr := server.PushFromPB(&in)
		if len(pr.Changes) != len(in.GetChanges()) {
			t.Fatalf("%d changes decoded from %d", len(pr.Changes), len(in.GetChanges()))
		}
		for i, ch := range pr.Changes {
			c := rctx
			c.Now = time.Now()
			room := room
			c.Classroom = &room
			err := observation.ValidateRecord(ch.Record, rubric, c)
			if err == nil {
				_ = ch.Record.Hash()
				continue
			}
			var de *observation.Error
			if !errors.As(err, &de) || de == nil {
				t.Fatalf("change %d: error %v (%T) is not an *observation.Error", i, err, err)
			}
			if de.Field == "" || de.Reason == "" || de.Kind != observation.KindInvalid {
				t.Fatalf("change %d: error %+v lacks a field or reason", i, de)
			}
			// The encoding back to the wire must not panic either.
			_ = server.ChangeToPB(ch)
		}
	})
}
