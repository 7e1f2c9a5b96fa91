package server_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

// matrixCallers are every role, plus callers outside the scope of the resources the calls touch.
type matrixCaller struct {
	name string
	p    observation.Principal
}

// TestAccessMatrix calls every RPC as every role, in scope and out of scope, and checks the code.
// Out of scope answers NOT_FOUND (the resource's existence does not leak); in scope but not
// allowed answers PERMISSION_DENIED.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach, principal, da := e.Users[observation.RoleCoach], e.Users[observation.RolePrincipal], e.Users[observation.RoleDistrictAdmin]
	var otherSite string
	for _, s := range e.Roster.Sites {
		if s.DistrictID == coach.DistrictID && !slices.Contains(coach.SiteIDs, s.ID) {
			otherSite = s.ID
		}
	}
	callers := []matrixCaller{
		{"coach", coach},
		{"principal", principal},
		{"district_admin", da},
		{"network_analyst", e.Users[observation.RoleNetworkAnalyst]},
		{"admin", e.Users[observation.RoleAdmin]},
		{"other_district_admin", observation.Principal{UserID: "mesa-verde-sd.district-admin", Role: observation.RoleDistrictAdmin, DistrictID: "mesa-verde-sd"}},
		{"other_site_coach", observation.Principal{UserID: "riverbend-usd.coach-x", Role: observation.RoleCoach, DistrictID: coach.DistrictID, SiteIDs: []string{otherSite}}},
	}
	daCtx := testenv.Ctx(e.Token(t, da))
	rc := pb.NewRubricServiceClient(e.GRPC)
	base, err := rc.GetRubricVersion(daCtx, &pb.GetRubricVersionRequest{RubricId: observation.DefaultRubricID, Version: "1", Language: "*"})
	if err != nil {
		t.Fatal(err)
	}
	content := base.GetVersion().GetContent()
	n := 0
	// districtRubric creates a riverbend rubric as its district admin; published when asked.
	districtRubric := func(publish bool) string {
		n++
		id := fmt.Sprintf("mx-%d", n)
		if _, err := rc.CreateRubric(daCtx, &pb.CreateRubricRequest{OwnerId: da.DistrictID, RubricId: id, Content: content}); err != nil {
			t.Fatal(err)
		}
		if publish {
			if _, err := rc.PublishVersion(daCtx, &pb.PublishVersionRequest{RubricId: id, Version: 1}); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	// A submitted observation by the coach at the principal's site.
	var atSite observation.Record
	for _, r := range e.Records(t, 77, coach, 6) {
		if r.SiteID == principal.SiteIDs[0] {
			atSite = r
		}
	}
	coachTr, coachDev := e.Device(t, coach)
	if _, err := coachTr.Push(ctx, sync.PushRequest{DeviceID: coachDev, Changes: testenv.Changes(1, atSite)}); err != nil {
		t.Fatal(err)
	}
	seq := int64(1)
	// conflict makes a new conflict on a new record of the coach's, proposed by the coach.
	conflict := func() string {
		seq++
		rec := e.Records(t, seq*13, coach, 1)[0]
		rec.SiteID, rec.ClassroomID, rec.TeacherID, rec.Course, rec.Grade, rec.Section =
			atSite.SiteID, atSite.ClassroomID, atSite.TeacherID, atSite.Course, atSite.Grade, atSite.Section
		if _, err := coachTr.Push(ctx, sync.PushRequest{DeviceID: coachDev, Changes: testenv.Changes(seq, rec)}); err != nil {
			t.Fatal(err)
		}
		a, b := rec, rec
		a.NextSteps, b.NextSteps = "amended on the first tablet", "amended on the second tablet"
		seq++
		first := sync.Change{Seq: seq, Op: sync.OpUpsert, Record: a, ObservationID: a.ID, BaseRevision: 1}
		if _, err := coachTr.Push(ctx, sync.PushRequest{DeviceID: coachDev, Changes: []sync.Change{first}}); err != nil {
			t.Fatal(err)
		}
		tr2, dev2 := e.Device(t, coach)
		resp, err := tr2.Push(ctx, sync.PushRequest{DeviceID: dev2, Changes: []sync.Change{{Seq: 1, Op: sync.OpUpsert, Record: b, ObservationID: b.ID, BaseRevision: 1}}})
		if err != nil || resp.Results[0].Status != sync.StatusConflict {
			t.Fatalf("conflict setup: %+v %v", resp, err)
		}
		return resp.Results[0].ConflictID
	}
	newDevice := func() string { return uuid.Must(uuid.NewV7()).String() }

	oc, sc, ac, ic := pb.NewObservationServiceClient(e.GRPC), pb.NewSyncServiceClient(e.GRPC), pb.NewAuditServiceClient(e.GRPC), pb.NewIdentityServiceClient(e.GRPC)
	// ownDevice registers a device for p (if p may) and returns its id.
	ownDevice := func(ctx context.Context) string {
		id := newDevice()
		_, _ = sc.RegisterDevice(ctx, &pb.RegisterDeviceRequest{DeviceId: id, SchemaVersion: 1})
		return id
	}
	const (
		OK   = codes.OK
		NF   = codes.NotFound
		PD   = codes.PermissionDenied
		FP   = codes.FailedPrecondition
		none = codes.Code(999)
	)
	cases := []matrixCase{
		{"IdentityService/WhoAmI", func(ctx context.Context, _ observation.Principal) error {
			_, err := ic.WhoAmI(ctx, &pb.WhoAmIRequest{})
			return err
		}, []codes.Code{OK, OK, OK, OK, OK, OK, OK}},
		{"RubricService/ListRubrics", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.ListRubrics(ctx, &pb.ListRubricsRequest{})
			return err
		}, []codes.Code{OK, OK, OK, OK, OK, OK, OK}},
		{"RubricService/GetRubricVersion (network)", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.GetRubricVersion(ctx, &pb.GetRubricVersionRequest{RubricId: observation.DefaultRubricID, Version: "latest"})
			return err
		}, []codes.Code{OK, OK, OK, OK, OK, OK, OK}},
		{"RubricService/GetRubricVersion (district, published)", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.GetRubricVersion(ctx, &pb.GetRubricVersionRequest{RubricId: districtRubric(true), Version: "1"})
			return err
		}, []codes.Code{OK, OK, OK, NF, OK, NF, OK}},
		{"RubricService/GetRubricVersion (district, draft)", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.GetRubricVersion(ctx, &pb.GetRubricVersionRequest{RubricId: districtRubric(false), Version: "1"})
			return err
		}, []codes.Code{NF, NF, OK, NF, OK, NF, NF}},
		{"RubricService/CreateRubric", func(ctx context.Context, _ observation.Principal) error {
			n++
			_, err := rc.CreateRubric(ctx, &pb.CreateRubricRequest{OwnerId: da.DistrictID, RubricId: fmt.Sprintf("mx-new-%d", n), Content: content})
			return err
		}, []codes.Code{PD, PD, OK, NF, OK, NF, PD}},
		{"RubricService/CreateDraftVersion", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.CreateDraftVersion(ctx, &pb.CreateDraftVersionRequest{RubricId: districtRubric(true)})
			return err
		}, []codes.Code{PD, PD, OK, NF, OK, NF, PD}},
		{"RubricService/UpdateDraftVersion", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.UpdateDraftVersion(ctx, &pb.UpdateDraftVersionRequest{RubricId: districtRubric(false), Version: 1, Content: content})
			return err
		}, []codes.Code{NF, NF, OK, NF, OK, NF, NF}},
		{"RubricService/PublishVersion", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.PublishVersion(ctx, &pb.PublishVersionRequest{RubricId: districtRubric(false), Version: 1})
			return err
		}, []codes.Code{NF, NF, OK, NF, OK, NF, NF}},
		{"RubricService/RetireVersion", func(ctx context.Context, _ observation.Principal) error {
			_, err := rc.RetireVersion(ctx, &pb.RetireVersionRequest{RubricId: districtRubric(true), Version: 1})
			return err
		}, []codes.Code{PD, PD, OK, NF, OK, NF, PD}},
		{"SyncService/RegisterDevice", func(ctx context.Context, _ observation.Principal) error {
			_, err := sc.RegisterDevice(ctx, &pb.RegisterDeviceRequest{DeviceId: newDevice(), SchemaVersion: 1})
			return err
		}, []codes.Code{OK, OK, OK, PD, OK, OK, OK}},
		{"SyncService/Push (own device)", func(ctx context.Context, _ observation.Principal) error {
			_, err := sc.Push(ctx, &pb.PushRequest{DeviceId: ownDevice(ctx)})
			return err
		}, []codes.Code{OK, OK, OK, PD, OK, OK, OK}},
		{"SyncService/Push (the coach's device)", func(ctx context.Context, _ observation.Principal) error {
			_, err := sc.Push(ctx, &pb.PushRequest{DeviceId: coachDev})
			return err
		}, []codes.Code{OK, FP, FP, PD, FP, FP, FP}}, // another user's device answers like an unregistered one
		{"SyncService/Pull (own device)", func(ctx context.Context, _ observation.Principal) error {
			_, err := sc.Pull(ctx, &pb.PullRequest{DeviceId: ownDevice(ctx)})
			return err
		}, []codes.Code{OK, OK, OK, PD, OK, OK, OK}},
		{"SyncService/Pull (the coach's device)", func(ctx context.Context, _ observation.Principal) error {
			_, err := sc.Pull(ctx, &pb.PullRequest{DeviceId: coachDev})
			return err
		}, []codes.Code{OK, FP, FP, PD, FP, FP, FP}}, // another user's device answers like an unregistered one
		{"SyncService/Reconcile (own device)", func(ctx context.Context, _ observation.Principal) error {
			_, err := sc.Reconcile(ctx, &pb.ReconcileRequest{DeviceId: ownDevice(ctx), Records: []*pb.RecordHash{{ObservationId: atSite.ID, ContentHash: "x"}}})
			return err
		}, []codes.Code{OK, OK, OK, PD, OK, OK, OK}},
		{"ObservationService/GetObservation", func(ctx context.Context, _ observation.Principal) error {
			_, err := oc.GetObservation(ctx, &pb.GetObservationRequest{ObservationId: atSite.ID})
			return err
		}, []codes.Code{OK, OK, OK, PD, OK, NF, NF}},
		{"ObservationService/ListObservations (the principal's site)", func(ctx context.Context, _ observation.Principal) error {
			_, err := oc.ListObservations(ctx, &pb.ListObservationsRequest{SiteId: principal.SiteIDs[0]})
			return err
		}, []codes.Code{OK, OK, OK, PD, OK, OK, NF}},
		{"ObservationService/ListConflicts", func(ctx context.Context, _ observation.Principal) error {
			_, err := oc.ListConflicts(ctx, &pb.ListConflictsRequest{})
			return err
		}, []codes.Code{OK, OK, OK, PD, OK, OK, OK}},
		{"ObservationService/ResolveConflict", func(ctx context.Context, _ observation.Principal) error {
			_, err := oc.ResolveConflict(ctx, &pb.ResolveConflictRequest{ConflictId: conflict(), Choice: pb.ConflictChoice_CONFLICT_CHOICE_KEEP_SERVER})
			return err
		}, []codes.Code{OK, PD, OK, PD, OK, NF, NF}},
		{"AuditService/ListAuditEntries", func(ctx context.Context, _ observation.Principal) error {
			_, err := ac.ListAuditEntries(ctx, &pb.ListAuditEntriesRequest{DistrictId: da.DistrictID})
			return err
		}, []codes.Code{PD, PD, OK, NF, OK, NF, PD}},
	}
	cases = append(cases, rosterMatrix(e, da, principal, otherSite)...)
	for _, c := range cases {
		for i, caller := range callers {
			want := c.want[i]
			if want == none {
				continue
			}
			t.Run(c.rpc+"/"+caller.name, func(t *testing.T) {
				err := c.call(testenv.Ctx(e.Token(t, caller.p)), caller.p)
				if got := status.Code(err); got != want {
					t.Errorf("%s as %s: %v, want %v", c.rpc, caller.name, err, want)
				}
			})
		}
	}
}

// matrixCase is one RPC called by every caller, with the code expected for each (in callers'
// order).
type matrixCase struct {
	rpc  string
	call func(ctx context.Context, p observation.Principal) error
	want []codes.Code
}
