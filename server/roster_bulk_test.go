package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

// ---------------------------------------------------------------------------------------------
// Bulk upsert

func TestRosterBulkUpsert(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	rc := rosterClient(e)
	ctx := roleCtx(t, e, observation.RoleDistrictAdmin)
	req := &pb.BulkUpsertRosterRequest{
		DistrictId: rbDistrict,
		Sites:      []*pb.Site{{SiteId: "bulk-ms", Name: "Bulk Middle School", GradeBand: "6-8"}},
		Staff: []*pb.Staff{
			{StaffId: "bulk-t1", GivenName: "Ada", FamilyName: "Lovelace", Role: pb.StaffRole_STAFF_ROLE_TEACHER, SiteIds: []string{"bulk-ms"}},
			{StaffId: "bulk-p1", GivenName: "Grace", FamilyName: "Hopper", Role: pb.StaffRole_STAFF_ROLE_PRINCIPAL, SiteIds: []string{"bulk-ms"}},
		},
		Classrooms: []*pb.Classroom{
			{ClassroomId: "bulk-ms.g6-p1", SiteId: "bulk-ms", Course: "Math 6", Grade: "6", Section: "1", TeacherId: "bulk-t1"},
			{ClassroomId: "bulk-ms.g7-p2", SiteId: "bulk-ms", Course: "Math 7", Grade: "7", Section: "2", TeacherId: rbDistrict + ".teacher-001"},
			// An existing demo classroom, unchanged.
			{ClassroomId: rbLincoln + ".gk-a", SiteId: rbLincoln, Course: "Mathematics K", Grade: "K", Section: "A", TeacherId: rbDistrict + ".teacher-001"},
		},
	}

	// One bad row fails the whole batch, naming it; nothing is applied.
	before := rosterUpdateTimes(t, e)
	badReq := &pb.BulkUpsertRosterRequest{DistrictId: req.DistrictId, Sites: req.Sites, Staff: req.Staff,
		Classrooms: append(slices.Clone(req.Classrooms[:1]), &pb.Classroom{ClassroomId: "bulk-ms.g8", SiteId: "bulk-ms", Course: "Math 8", TeacherId: "bulk-p1"})}
	_, err := rc.BulkUpsertRoster(ctx, badReq)
	wantViolation(t, err, "classrooms[1].teacher_id")
	badReq.Classrooms = slices.Clone(req.Classrooms)
	badReq.Classrooms[0] = &pb.Classroom{ClassroomId: rbLincoln + ".gk-a", SiteId: rbLincoln, Course: "dup"}
	_, err = rc.BulkUpsertRoster(ctx, badReq)
	wantViolation(t, err, "classrooms[2].classroom_id")
	if got := diffKeys(before, rosterUpdateTimes(t, e)); len(got) != 0 {
		t.Fatalf("a refused batch changed %v", got)
	}

	resp, err := rc.BulkUpsertRoster(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	c := resp.GetCounts()
	if c.GetSites().GetCreated() != 1 || c.GetStaff().GetCreated() != 2 || c.GetClassrooms().GetCreated() != 2 || c.GetClassrooms().GetUnchanged() != 1 {
		t.Fatalf("counts %v", c)
	}
	after := rosterUpdateTimes(t, e)
	if got := diffKeys(before, after); len(got) != 5 {
		t.Fatalf("changed %v, want the 5 new rows", got)
	}

	// Re-sending changes nothing.
	resp, err = rc.BulkUpsertRoster(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	c = resp.GetCounts()
	if c.GetSites().GetUnchanged() != 1 || c.GetStaff().GetUnchanged() != 2 || c.GetClassrooms().GetUnchanged() != 3 ||
		c.GetSites().GetCreated()+c.GetSites().GetUpdated()+c.GetStaff().GetCreated()+c.GetStaff().GetUpdated()+c.GetClassrooms().GetCreated()+c.GetClassrooms().GetUpdated() != 0 {
		t.Fatalf("repeat counts %v", c)
	}
	if got := diffKeys(after, rosterUpdateTimes(t, e)); len(got) != 0 {
		t.Fatalf("a repeated batch changed %v", got)
	}
	if n := auditCount(t, e, rbDistrict, "roster.bulk_upsert"); n != 1 {
		t.Fatalf("%d bulk audit entries, want 1", n)
	}
	d := lastAuditDetails(t, e, rbDistrict, "roster.bulk_upsert")
	if fmt.Sprint(d["sites"]) != "map[created:[bulk-ms]]" {
		t.Errorf("audit details %v", d)
	}

	// Over REST.
	tok := e.TokenFor(t, observation.RoleDistrictAdmin)
	r := e.Do(t, "POST", "/v1/districts/"+rbDistrict+"/roster:bulkUpsert", tok,
		`{"sites":[{"site_id":"bulk-ms","name":"Bulk Middle School","grade_band":"6-8"}],
		  "staff":[{"staff_id":"bulk-t2","role":"STAFF_ROLE_TEACHER","site_ids":["bulk-ms"]}],
		  "classrooms":[{"classroom_id":"bulk-ms.g6-p3","site_id":"bulk-ms","course":"Math 6","grade":"6","section":"3","teacher_id":"bulk-t2"}]}`)
	wantREST(t, r, http.StatusOK, codes.OK)
	var rest pb.BulkUpsertRosterResponse
	decode(t, r.Body, &rest)
	if rest.GetCounts().GetSites().GetUnchanged() != 1 || rest.GetCounts().GetStaff().GetCreated() != 1 || rest.GetCounts().GetClassrooms().GetCreated() != 1 {
		t.Fatalf("REST counts %v", rest.GetCounts())
	}
	r = e.Do(t, "POST", "/v1/districts/"+rbDistrict+"/roster:bulkUpsert", tok,
		`{"classrooms":[{"classroom_id":"bulk-x","site_id":"nowhere","course":"Math"}]}`)
	st := wantREST(t, r, http.StatusBadRequest, codes.InvalidArgument)
	if v := violationsOf(st); !slices.Equal(v, []string{"classrooms[0].site_id"}) {
		t.Fatalf("violations %v", v)
	}
	r = e.Do(t, "POST", "/v1/districts/"+mvDistrict+"/roster:bulkUpsert", tok, `{"sites":[{"site_id":"x","name":"X"}]}`)
	wantREST(t, r, http.StatusNotFound, codes.NotFound)
	r = e.Do(t, "POST", "/v1/districts/"+rbDistrict+"/roster:bulkUpsert", tok, `{}`)
	wantREST(t, r, http.StatusBadRequest, codes.InvalidArgument)
}
