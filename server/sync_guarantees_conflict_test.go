package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	gosync "sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/sync"
)

// ---------------------------------------------------------------------------------------------
// 3. concurrent amendments: one applies, one conflicts, a person resolves

func TestSyncGuaranteeConflictKeepsBothVersions(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	da := e.Users[observation.RoleDistrictAdmin]
	trCoach, devCoach := e.Device(t, coach)
	trDA, devDA := e.Device(t, da)
	obsClient := pb.NewObservationServiceClient(e.GRPC)
	coachCtx := testenv.Ctx(e.Token(t, coach))
	coachTok := e.Token(t, coach)

	recs := e.Records(t, 31, coach, 3)
	sgApplied(t, sgPush(t, trCoach, devCoach, "", testenv.Changes(1, recs...)...).Results, 1, false, recs...)

	// Both amend every record from base revision 1, at the same time.
	coachAm, daAm := make([]observation.Record, 3), make([]observation.Record, 3)
	coachCh, daCh := make([]sync.Change, 3), make([]sync.Change, 3)
	for i, r := range recs {
		coachAm[i], daAm[i] = r, r
		coachAm[i].NextSteps = fmt.Sprintf("coach amendment %d: plan a follow-up visit", i)
		daAm[i].NextSteps = fmt.Sprintf("district admin amendment %d: share at the PLC", i)
		daAm[i].LessonFocus = "amended focus"
		coachCh[i] = sync.Change{Seq: int64(4 + i), Op: sync.OpUpsert, Record: coachAm[i], ObservationID: r.ID, BaseRevision: 1}
		daCh[i] = sync.Change{Seq: int64(1 + i), Op: sync.OpUpsert, Record: daAm[i], ObservationID: r.ID, BaseRevision: 1}
	}
	var coachResp, daResp sync.PushResponse
	var coachErr, daErr error
	var wg gosync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		coachResp, coachErr = sgPushRetrying(trCoach, sync.PushRequest{DeviceID: devCoach, Changes: coachCh})
	}()
	go func() {
		defer wg.Done()
		daResp, daErr = sgPushRetrying(trDA, sync.PushRequest{DeviceID: devDA, Changes: daCh})
	}()
	wg.Wait()
	if coachErr != nil || daErr != nil {
		t.Fatalf("pushes: %v / %v", coachErr, daErr)
	}

	type outcome struct {
		conflictID string
		proposed   observation.Record
		winner     observation.Record
	}
	outs := make([]outcome, 3)
	for i := range recs {
		c, d := coachResp.Results[i], daResp.Results[i]
		var applied, conflict sync.Result
		var o outcome
		switch {
		case c.Status == sync.StatusApplied && d.Status == sync.StatusConflict:
			applied, conflict, o.winner, o.proposed = c, d, coachAm[i], daAm[i]
		case d.Status == sync.StatusApplied && c.Status == sync.StatusConflict:
			applied, conflict, o.winner, o.proposed = d, c, daAm[i], coachAm[i]
		default:
			t.Fatalf("record %d: coach %+v, district admin %+v; want one applied and one conflict", i, c, d)
		}
		if applied.Revision != 2 || applied.ContentHash != o.winner.Hash() {
			t.Fatalf("record %d applied: %+v", i, applied)
		}
		if conflict.Reason != "STALE_BASE" || conflict.ConflictID == "" || conflict.Server == nil ||
			conflict.Server.Revision != 2 || conflict.Server.ContentHash != o.winner.Hash() {
			t.Fatalf("record %d conflict: %+v (server %+v)", i, conflict, conflict.Server)
		}
		o.conflictID = conflict.ConflictID
		outs[i] = o
	}
	sgCounts(t, e, 3, 6)
	for i, o := range outs {
		sgStored(t, e, 2, o.winner)
		if !sgKept(t, e, recs[i].ID, 1, recs[i].Hash()) {
			t.Fatalf("record %d: revision 1 is gone", i)
		}
		var proposed []byte
		var hash, st string
		var base, srv int
		if err := e.Store.Pool().QueryRow(ctx, `SELECT proposed, proposed_hash, base_revision, server_revision, status FROM conflicts WHERE conflict_id = $1`,
			o.conflictID).Scan(&proposed, &hash, &base, &srv, &st); err != nil {
			t.Fatal(err)
		}
		var pr observation.Record
		if err := json.Unmarshal(proposed, &pr); err != nil {
			t.Fatal(err)
		}
		if pr.Hash() != o.proposed.Hash() || hash != o.proposed.Hash() || base != 1 || srv != 2 || st != "open" {
			t.Fatalf("conflict row %d: hash %s/%s want %s, base %d server %d status %s", i, pr.Hash(), hash, o.proposed.Hash(), base, srv, st)
		}
	}
	if n := sgCount(t, e, `SELECT count(*) FROM conflicts`); n != 3 {
		t.Fatalf("%d conflicts, want 3", n)
	}

	// The observer sees them over gRPC and REST.
	list, err := obsClient.ListConflicts(coachCtx, &pb.ListConflictsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*pb.Conflict{}
	for _, c := range list.GetConflicts() {
		got[c.GetConflictId()] = c
	}
	r := e.Do(t, http.MethodGet, "/v1/conflicts", coachTok, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/conflicts: %d %s", r.Status, r.Body)
	}
	var restList pb.ListConflictsResponse
	if err := protojson.Unmarshal([]byte(r.Body), &restList); err != nil {
		t.Fatal(err)
	}
	gotREST := map[string]*pb.Conflict{}
	for _, c := range restList.GetConflicts() {
		gotREST[c.GetConflictId()] = c
	}
	if len(got) != 3 || len(gotREST) != 3 {
		t.Fatalf("listed %d conflicts over gRPC, %d over REST; want 3", len(got), len(gotREST))
	}
	for i, o := range outs {
		for via, m := range map[string]map[string]*pb.Conflict{"gRPC": got, "REST": gotREST} {
			c := m[o.conflictID]
			if c == nil || c.GetObservationId() != recs[i].ID || c.GetProposedContentHash() != o.proposed.Hash() ||
				c.GetServer().GetRevision() != 2 || c.GetServer().GetContentHash() != o.winner.Hash() ||
				c.GetStatus() != pb.ConflictStatus_CONFLICT_STATUS_OPEN || c.GetBaseRevision() != 1 ||
				server.RecordFromPB(c.GetProposed()).Hash() != o.proposed.Hash() {
				t.Fatalf("%s conflict %d: %v", via, i, c)
			}
		}
	}

	resolve := func(id string, choice pb.ConflictChoice, merged *pb.ObservationRecord) (*pb.ResolveConflictResponse, error) {
		return obsClient.ResolveConflict(coachCtx, &pb.ResolveConflictRequest{ConflictId: id, Choice: choice, Merged: merged})
	}
	audits := func(id string) int {
		return sgCount(t, e, `SELECT count(*) FROM audit_log WHERE action = 'conflict.resolve' AND resource_id = $1`, id)
	}
	conflictState := func(id string) (st, resolution string, rev int) {
		if err := e.Store.Pool().QueryRow(ctx, `SELECT status, coalesce(resolution, ''), coalesce(resolved_revision, 0) FROM conflicts WHERE conflict_id = $1`, id).
			Scan(&st, &resolution, &rev); err != nil {
			t.Fatal(err)
		}
		return
	}

	// take_proposed: revision 3 is the proposed content.
	o := outs[0]
	res, err := resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_TAKE_PROPOSED, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetObservation().GetRevision() != 3 || res.GetObservation().GetContentHash() != o.proposed.Hash() ||
		res.GetConflict().GetStatus() != pb.ConflictStatus_CONFLICT_STATUS_RESOLVED {
		t.Fatalf("take_proposed: %v", res)
	}
	sgStored(t, e, 3, o.proposed)
	if st, how, rev := conflictState(o.conflictID); st != "resolved" || how != sync.ChoiceTakeProposed || rev != 3 {
		t.Fatalf("conflict after take_proposed: %s %s %d", st, how, rev)
	}
	if n := audits(o.conflictID); n != 1 {
		t.Fatalf("%d audit rows for the resolution, want 1", n)
	}
	_, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_KEEP_SERVER, nil)
	sgStatus(t, err, codes.FailedPrecondition, "CONFLICT_RESOLVED")
	_, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_TAKE_PROPOSED, nil)
	sgStatus(t, err, codes.FailedPrecondition, "CONFLICT_RESOLVED")
	sgStored(t, e, 3, o.proposed)
	if n := audits(o.conflictID); n != 1 {
		t.Fatalf("%d audit rows after resolving twice, want 1", n)
	}

	// keep_server: no new revision, the proposal stays in the conflict row.
	o = outs[1]
	res, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_KEEP_SERVER, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetObservation().GetRevision() != 2 || res.GetObservation().GetContentHash() != o.winner.Hash() {
		t.Fatalf("keep_server: %v", res)
	}
	sgStored(t, e, 2, o.winner)
	if st, how, _ := conflictState(o.conflictID); st != "resolved" || how != sync.ChoiceKeepServer {
		t.Fatalf("conflict after keep_server: %s %s", st, how)
	}
	if n := sgCount(t, e, `SELECT count(*) FROM conflicts WHERE conflict_id = $1 AND proposed_hash = $2`, o.conflictID, o.proposed.Hash()); n != 1 {
		t.Fatal("keep_server dropped the proposed version")
	}
	if n := audits(o.conflictID); n != 1 {
		t.Fatalf("%d audit rows for keep_server, want 1", n)
	}

	// merge: an invalid merged record names its field; a valid one becomes revision 3.
	o = outs[2]
	bad := o.winner
	bad.Scores = slices.Clone(bad.Scores)
	bad.Scores[0].Level, bad.Scores[0].NotObserved = 9, false
	_, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_MERGE, server.RecordToPB(bad))
	st := sgStatus(t, err, codes.InvalidArgument, observation.ReasonLevelOutOfRange)
	if f := sgFields(st); len(f) != 1 || f[0] != "merged.scores[0].level" {
		t.Fatalf("merge with a bad level: field violations %v", f)
	}
	_, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_MERGE, nil)
	sgStatus(t, err, codes.InvalidArgument, "")
	unstorable := o.winner
	unstorable.ClassroomID += "\x00"
	_, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_MERGE, server.RecordToPB(unstorable))
	if f := sgFields(sgStatus(t, err, codes.InvalidArgument, "")); len(f) != 1 || f[0] != "merged.classroom_id" {
		t.Fatalf("merge with a NUL in the classroom id: field violations %v", f)
	}
	if st, _, _ := conflictState(o.conflictID); st != "open" {
		t.Fatalf("a failed merge changed the conflict to %s", st)
	}
	sgStored(t, e, 2, o.winner)
	merged := o.winner
	merged.NextSteps = o.winner.NextSteps + " / " + o.proposed.NextSteps
	merged.LessonFocus = "merged focus"
	res, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_MERGE, server.RecordToPB(merged))
	if err != nil {
		t.Fatal(err)
	}
	if res.GetObservation().GetRevision() != 3 || res.GetObservation().GetContentHash() != merged.Hash() {
		t.Fatalf("merge: %v", res)
	}
	sgStored(t, e, 3, merged)
	if st, how, rev := conflictState(o.conflictID); st != "resolved" || how != sync.ChoiceMerge || rev != 3 {
		t.Fatalf("conflict after merge: %s %s %d", st, how, rev)
	}
	if n := audits(o.conflictID); n != 1 {
		t.Fatalf("%d audit rows for merge, want 1", n)
	}

	open, err := obsClient.ListConflicts(coachCtx, &pb.ListConflictsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	done, err := obsClient.ListConflicts(coachCtx, &pb.ListConflictsRequest{Status: pb.ConflictStatus_CONFLICT_STATUS_RESOLVED})
	if err != nil {
		t.Fatal(err)
	}
	if len(open.GetConflicts()) != 0 || len(done.GetConflicts()) != 3 {
		t.Fatalf("after resolving: %d open, %d resolved", len(open.GetConflicts()), len(done.GetConflicts()))
	}
	sgCounts(t, e, 3, 8)
}

// ---------------------------------------------------------------------------------------------
// 8. drafts merge field by field; submitted records are immutable

func TestSyncGuaranteeDraftMergeAndImmutability(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tr1, dev1 := e.Device(t, coach)
	tr2, dev2 := e.Device(t, coach)

	full := e.Records(t, 81, coach, 1)[0]
	draft := full
	draft.Status = observation.RecordDraft
	draft.Scores = slices.Clone(full.Scores[:2])
	draft.NextSteps = ""
	r := sgPush(t, tr1, dev1, "", sync.Change{Seq: 1, Op: sync.OpUpsert, Record: draft, ObservationID: draft.ID}).Results[0]
	if r.Status != sync.StatusApplied || r.Revision != 1 || r.ContentHash != draft.Hash() {
		t.Fatalf("draft: %+v", r)
	}

	// Device 2 edits only next_steps, device 1 (not knowing that) only scores.
	edit2 := draft
	edit2.NextSteps = "Try a turn-and-talk before whole-group sharing."
	edit2.LessonFocus = "device 2 must not overwrite this"
	r = sgPush(t, tr2, dev2, "", sync.Change{Seq: 1, Op: sync.OpUpsert, Record: edit2, ObservationID: draft.ID, BaseRevision: 1, Fields: []string{"next_steps"}}).Results[0]
	if r.Status != sync.StatusApplied || r.Revision != 2 {
		t.Fatalf("next_steps edit: %+v", r)
	}
	edit1 := draft
	edit1.Scores = full.Scores
	r = sgPush(t, tr1, dev1, "", sync.Change{Seq: 2, Op: sync.OpUpsert, Record: edit1, ObservationID: draft.ID, BaseRevision: 1, Fields: []string{"scores"}}).Results[0]
	want := draft
	want.NextSteps = edit2.NextSteps
	want.Scores = full.Scores
	if r.Status != sync.StatusApplied || r.Revision != 3 || r.ContentHash != want.Hash() {
		t.Fatalf("scores edit: %+v; want revision 3 with both edits (%s)", r, want.Hash())
	}
	sgStored(t, e, 3, want)

	// Re-sending the same field edit is a duplicate.
	r = sgPush(t, tr2, dev2, "", sync.Change{Seq: 2, Op: sync.OpUpsert, Record: edit2, ObservationID: draft.ID, Fields: []string{"next_steps"}}).Results[0]
	if r.Status != sync.StatusDuplicate || r.Revision != 3 || r.ContentHash != want.Hash() {
		t.Fatalf("same draft edit again: %+v", r)
	}

	// Submit.
	sub := want
	sub.Status = observation.RecordSubmitted
	r = sgPush(t, tr1, dev1, "", sync.Change{Seq: 3, Op: sync.OpUpsert, Record: sub, ObservationID: sub.ID, BaseRevision: 3}).Results[0]
	if r.Status != sync.StatusApplied || r.Revision != 4 || r.ContentHash != sub.Hash() {
		t.Fatalf("submit: %+v", r)
	}

	// Immutable: an upsert without a base revision (a create of an id the server holds), or a
	// field edit without one, is not applied; it is kept as a conflict for a person.
	later := sub
	later.NextSteps = "Changed after submitting."
	r = sgPush(t, tr2, dev2, "", sync.Change{Seq: 3, Op: sync.OpUpsert, Record: later, ObservationID: sub.ID}).Results[0]
	if r.Status != sync.StatusConflict || r.Reason != sync.ConflictConcurrentCreate || r.Revision != 4 || r.Server == nil || r.ConflictID == "" {
		t.Fatalf("edit of a submitted record without base: %+v", r)
	}
	r = sgPush(t, tr2, dev2, "", sync.Change{Seq: 4, Op: sync.OpUpsert, Record: later, ObservationID: sub.ID, Fields: []string{"next_steps"}}).Results[0]
	if r.Status != sync.StatusConflict || r.Reason != sync.ConflictConcurrentCreate {
		t.Fatalf("field edit of a submitted record without base: %+v", r)
	}
	back := sub
	back.Status = observation.RecordDraft
	r = sgPush(t, tr2, dev2, "", sync.Change{Seq: 5, Op: sync.OpUpsert, Record: back, ObservationID: sub.ID, BaseRevision: 4}).Results[0]
	if r.Status != sync.StatusRejected || r.Field != "record.status" {
		t.Fatalf("back to draft: %+v", r)
	}
	sgStored(t, e, 4, sub)

	// An amendment on the current revision applies; the same content again is a duplicate.
	r = sgPush(t, tr2, dev2, "", sync.Change{Seq: 6, Op: sync.OpUpsert, Record: later, ObservationID: sub.ID, BaseRevision: 4}).Results[0]
	if r.Status != sync.StatusApplied || r.Revision != 5 || r.ContentHash != later.Hash() {
		t.Fatalf("amendment: %+v", r)
	}
	for i, base := range []int{5, 4, 0} {
		r = sgPush(t, tr1, dev1, "", sync.Change{Seq: int64(4 + i), Op: sync.OpUpsert, Record: later, ObservationID: sub.ID, BaseRevision: base}).Results[0]
		if r.Status != sync.StatusDuplicate || r.Revision != 5 || r.ContentHash != later.Hash() {
			t.Fatalf("identical content (base %d): %+v", base, r)
		}
	}
	sgStored(t, e, 5, later)
	sgCounts(t, e, 1, 5)
	if n := sgCount(t, e, `SELECT count(*) FROM conflicts`); n != 2 {
		t.Fatalf("%d conflicts, want the 2 edits made without a base revision", n)
	}
}
