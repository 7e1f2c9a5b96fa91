package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

// TestAuditLog: writes and classroom-level reads leave audit entries that district admins read
// through REST and gRPC, filtered and paged; nobody else reads them.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	da := e.Users[observation.RoleDistrictAdmin]
	daTok := e.TokenFor(t, observation.RoleDistrictAdmin)
	coach := e.Users[observation.RoleCoach]

	// A rubric write.
	rc := pb.NewRubricServiceClient(e.GRPC)
	latest, err := rc.GetRubricVersion(testenv.Ctx(daTok), &pb.GetRubricVersionRequest{RubricId: observation.DefaultRubricID, Version: "1", Language: "*"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.CreateRubric(testenv.Ctx(daTok), &pb.CreateRubricRequest{OwnerId: da.DistrictID, RubricId: "audited", Content: latest.GetVersion().GetContent()}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.PublishVersion(testenv.Ctx(daTok), &pb.PublishVersionRequest{RubricId: "audited", Version: 1}); err != nil {
		t.Fatal(err)
	}
	// A refused write leaves nothing.
	if _, err := rc.UpdateDraftVersion(testenv.Ctx(daTok), &pb.UpdateDraftVersionRequest{RubricId: "audited", Version: 1, Content: latest.GetVersion().GetContent()}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("edit of a published version: %v", err)
	}
	// A push, a pull and a read.
	tr, dev := e.Device(t, coach)
	recs := e.Records(t, 5, coach, 3)
	if _, err := tr.Push(ctx, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(1, recs...)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Pull(ctx, sync.PullRequest{DeviceID: dev}); err != nil {
		t.Fatal(err)
	}
	oc := pb.NewObservationServiceClient(e.GRPC)
	if _, err := oc.GetObservation(testenv.Ctx(daTok), &pb.GetObservationRequest{ObservationId: recs[0].ID}); err != nil {
		t.Fatal(err)
	}

	// A read of teacher-level roster data (who teaches which classroom).
	principal := e.Users[observation.RolePrincipal]
	if _, err := pb.NewRosterServiceClient(e.GRPC).ListClassrooms(testenv.Ctx(e.Token(t, principal)),
		&pb.ListClassroomsRequest{DistrictId: da.DistrictID, SiteId: principal.SiteIDs[0]}); err != nil {
		t.Fatal(err)
	}

	ac := pb.NewAuditServiceClient(e.GRPC)
	all, err := ac.ListAuditEntries(testenv.Ctx(daTok), &pb.ListAuditEntriesRequest{DistrictId: da.DistrictID, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, en := range all.GetEntries() {
		count[en.GetAction()]++
	}
	want := map[string]int{"rubric.create": 1, "rubric.publish": 1, "rubric.update": 0, "device.register": 1, "sync.push": 1, "sync.pull": 1, "observation.read": 1, "roster.list_classrooms": 1}
	for action, n := range want {
		if count[action] != n {
			t.Errorf("%s entries = %d, want %d (all: %v)", action, count[action], n, count)
		}
	}
	for _, en := range all.GetEntries() {
		switch en.GetAction() {
		case "rubric.publish":
			if en.GetActor() != da.UserID || en.GetRole() != pb.Role_ROLE_DISTRICT_ADMIN || en.GetResourceId() != "audited" ||
				en.GetDetails().GetFields()["status"].GetStringValue() != "published" {
				t.Errorf("publish entry: %v", en)
			}
		case "sync.push":
			if en.GetActor() != coach.UserID || en.GetDeviceId() != dev || en.GetDetails().GetFields()["changes"].GetNumberValue() != 3 ||
				len(en.GetDetails().GetFields()["observation_ids"].GetListValue().GetValues()) != 3 {
				t.Errorf("push entry: %v", en)
			}
		case "observation.read":
			if en.GetResourceId() != recs[0].ID || en.GetDetails().GetFields()["classroom_id"].GetStringValue() != recs[0].ClassroomID {
				t.Errorf("read entry: %v", en)
			}
		}
	}

	// Filters and paging over REST: page through sync entries two at a time.
	seen := map[int64]bool{}
	token := ""
	for pages := 0; ; pages++ {
		path := fmt.Sprintf("/v1/districts/%s/audit?page_size=2&actor=%s", da.DistrictID, coach.UserID)
		if token != "" {
			path += "&page_token=" + token
		}
		r := e.Do(t, "GET", path, daTok, "")
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		var page struct {
			Entries []struct {
				AuditID string `json:"audit_id"`
				Actor   string `json:"actor"`
			} `json:"entries"`
			NextPageToken string `json:"next_page_token"`
		}
		if err := json.Unmarshal([]byte(r.Body), &page); err != nil {
			t.Fatal(err)
		}
		for _, en := range page.Entries {
			var id int64
			fmt.Sscan(en.AuditID, &id)
			if seen[id] || en.Actor != coach.UserID {
				t.Fatalf("entry %s twice or wrong actor %s", en.AuditID, en.Actor)
			}
			seen[id] = true
		}
		if token = page.NextPageToken; token == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	// The coach's first call linked the token to the roster record: one identity.link entry.
	if n := count["device.register"] + count["sync.push"] + count["sync.pull"] + 1; len(seen) != n {
		t.Fatalf("paged %d entries by the coach, want %d", len(seen), n)
	}

	// Access: only district admins of the district (and admins).
	other := observation.Principal{UserID: "x", Role: observation.RoleDistrictAdmin, DistrictID: "mesa-verde-sd"}
	for _, c := range []struct {
		tok  string
		code codes.Code
	}{
		{e.TokenFor(t, observation.RoleCoach), codes.PermissionDenied},
		{e.TokenFor(t, observation.RolePrincipal), codes.PermissionDenied},
		{e.TokenFor(t, observation.RoleNetworkAnalyst), codes.NotFound},
		{e.Token(t, other), codes.NotFound},
		{e.TokenFor(t, observation.RoleAdmin), codes.OK},
	} {
		_, err := ac.ListAuditEntries(testenv.Ctx(c.tok), &pb.ListAuditEntriesRequest{DistrictId: da.DistrictID})
		if status.Code(err) != c.code {
			t.Errorf("%v: %v, want %v", c.tok[:10], err, c.code)
		}
	}
}
