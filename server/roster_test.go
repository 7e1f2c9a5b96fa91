package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

// ---------------------------------------------------------------------------------------------
// RosterService helpers

const (
	rbDistrict  = "riverbend-usd"
	rbLincoln   = rbDistrict + ".lincoln-es"
	rbCedar     = rbDistrict + ".cedar-grove-es"
	rbTubman    = rbDistrict + ".harriet-tubman-es"
	rbRoosevelt = rbDistrict + ".roosevelt-ms"
	mvDistrict  = "mesa-verde-sd"
)

func rosterClient(e *testenv.Env) pb.RosterServiceClient { return pb.NewRosterServiceClient(e.GRPC) }

// roleCtx is a gRPC context for the demo user of role.
func roleCtx(t *testing.T, e *testenv.Env, role observation.Role) context.Context {
	t.Helper()
	return testenv.Ctx(e.TokenFor(t, role))
}

// auditCount counts the audit entries of district with action.
func auditCount(t *testing.T, e *testenv.Env, district, action string) int {
	t.Helper()
	var n int
	if err := e.Store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE district_id = $1 AND action = $2`, district, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// lastAuditDetails returns the details of district's newest audit entry with action.
func lastAuditDetails(t *testing.T, e *testenv.Env, district, action string) map[string]any {
	t.Helper()
	var raw []byte
	var actor string
	if err := e.Store.Pool().QueryRow(context.Background(), `SELECT details, actor FROM audit_log
		WHERE district_id = $1 AND action = $2 ORDER BY audit_id DESC LIMIT 1`, district, action).Scan(&raw, &actor); err != nil {
		t.Fatalf("no %s audit entry: %v", action, err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	out["_actor"] = actor
	return out
}

// rosterUpdateTimes maps every riverbend site, classroom and staff id to its update time, read
// through the API as the district admin.
func rosterUpdateTimes(t *testing.T, e *testenv.Env) map[string]string {
	t.Helper()
	ctx := roleCtx(t, e, observation.RoleDistrictAdmin)
	rc := rosterClient(e)
	out := map[string]string{}
	sites, err := rc.ListSites(ctx, &pb.ListSitesRequest{DistrictId: rbDistrict, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sites.GetSites() {
		out["site/"+s.GetSiteId()] = s.GetUpdateTime().AsTime().String()
	}
	cs, err := rc.ListClassrooms(ctx, &pb.ListClassroomsRequest{DistrictId: rbDistrict, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.GetClassrooms() {
		out["classroom/"+c.GetClassroomId()] = c.GetUpdateTime().AsTime().String()
	}
	ss, err := rc.ListStaff(ctx, &pb.ListStaffRequest{DistrictId: rbDistrict, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss.GetStaff() {
		out["staff/"+s.GetStaffId()] = s.GetUpdateTime().AsTime().String()
	}
	return out
}

func diffKeys(a, b map[string]string) []string {
	var out []string
	for k, v := range b {
		if a[k] != v {
			out = append(out, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func siteIDs(ss []*pb.Site) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.GetSiteId())
	}
	return out
}

// wantViolation checks a status's code and that its BadRequest names field.
func wantViolation(t *testing.T, err error, field string) {
	t.Helper()
	st := wantCode(t, err, codes.InvalidArgument)
	if v := violationsOf(st); !slices.Contains(v, field) {
		t.Fatalf("violations %v (%q), want %s", v, st.Message(), field)
	}
}

// ---------------------------------------------------------------------------------------------
// Sites, classrooms, staff and student groups over gRPC

func TestRosterUpsertsAndListsGRPC(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	rc := rosterClient(e)
	ctx := roleCtx(t, e, observation.RoleDistrictAdmin)

	// A new site: created, then unchanged (update_time kept), then updated.
	site := &pb.Site{SiteId: "rb-new-es", Name: "Octavia Butler Elementary", GradeBand: "K-5"}
	up, err := rc.UpsertSite(ctx, &pb.UpsertSiteRequest{DistrictId: rbDistrict, Site: site})
	if err != nil {
		t.Fatal(err)
	}
	if up.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_CREATED || up.GetSite().GetName() != site.Name || up.GetSite().GetUpdateTime() == nil {
		t.Fatalf("create: %v", up)
	}
	again, err := rc.UpsertSite(ctx, &pb.UpsertSiteRequest{DistrictId: rbDistrict, Site: site})
	if err != nil {
		t.Fatal(err)
	}
	if again.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED || !again.GetSite().GetUpdateTime().AsTime().Equal(up.GetSite().GetUpdateTime().AsTime()) {
		t.Fatalf("repeat: %v (first %v)", again, up)
	}
	site.Name = "Octavia E. Butler Elementary"
	changed, err := rc.UpsertSite(ctx, &pb.UpsertSiteRequest{DistrictId: rbDistrict, Site: site})
	if err != nil {
		t.Fatal(err)
	}
	if changed.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_UPDATED || !changed.GetSite().GetUpdateTime().AsTime().After(up.GetSite().GetUpdateTime().AsTime()) {
		t.Fatalf("update: %v", changed)
	}
	if n := auditCount(t, e, rbDistrict, "roster.upsert_site"); n != 2 {
		t.Fatalf("%d site audit entries, want 2 (the repeat writes none)", n)
	}
	got, err := rc.GetSite(ctx, &pb.GetSiteRequest{DistrictId: rbDistrict, SiteId: "rb-new-es"})
	if err != nil || got.GetSite().GetName() != site.Name {
		t.Fatalf("get: %v %v", got, err)
	}

	// Paged listing covers every site once, in id order.
	var all []string
	token := ""
	for {
		page, err := rc.ListSites(ctx, &pb.ListSitesRequest{DistrictId: rbDistrict, PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, siteIDs(page.GetSites())...)
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	if want := []string{"rb-new-es", rbCedar, rbTubman, rbLincoln, rbRoosevelt}; !slices.Equal(all, want) {
		t.Fatalf("sites %v, want %v", all, want)
	}
	_, err = rc.ListSites(ctx, &pb.ListSitesRequest{DistrictId: rbDistrict, PageToken: "garbage"})
	wantViolation(t, err, "page_token")

	// A teacher, then a classroom taught by them.
	teacher := &pb.Staff{StaffId: "rb-new-t1", GivenName: "Mae", FamilyName: "Jemison", Email: "mae.jemison@example.org",
		Role: pb.StaffRole_STAFF_ROLE_TEACHER, SiteIds: []string{"rb-new-es"}}
	st, err := rc.UpsertStaff(ctx, &pb.UpsertStaffRequest{DistrictId: rbDistrict, Staff: teacher})
	if err != nil || st.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_CREATED || !slices.Equal(st.GetStaff().GetSiteIds(), []string{"rb-new-es"}) {
		t.Fatalf("staff: %v %v", st, err)
	}
	class := &pb.Classroom{ClassroomId: "rb-new-es.g4-a", SiteId: "rb-new-es", Course: "Mathematics 4", Grade: "4", Section: "A", TeacherId: "rb-new-t1"}
	cl, err := rc.UpsertClassroom(ctx, &pb.UpsertClassroomRequest{DistrictId: rbDistrict, Classroom: class})
	if err != nil || cl.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_CREATED || cl.GetClassroom().GetTeacherId() != "rb-new-t1" {
		t.Fatalf("classroom: %v %v", cl, err)
	}
	cl2, err := rc.UpsertClassroom(ctx, &pb.UpsertClassroomRequest{DistrictId: rbDistrict, Classroom: class})
	if err != nil || cl2.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED || !cl2.GetClassroom().GetUpdateTime().AsTime().Equal(cl.GetClassroom().GetUpdateTime().AsTime()) {
		t.Fatalf("classroom again: %v %v", cl2, err)
	}
	// Moving the teacher to a second site updates them (assignments are part of the staff member).
	teacher.SiteIds = []string{"rb-new-es", rbLincoln}
	st2, err := rc.UpsertStaff(ctx, &pb.UpsertStaffRequest{DistrictId: rbDistrict, Staff: teacher})
	if err != nil || st2.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_UPDATED || len(st2.GetStaff().GetSiteIds()) != 2 {
		t.Fatalf("staff move: %v %v", st2, err)
	}

	// Bad classrooms, each naming its field; nothing is stored.
	bad := func(mut func(c *pb.Classroom), field string) {
		t.Helper()
		c := &pb.Classroom{ClassroomId: "rb-bad", SiteId: "rb-new-es", Course: "Math", TeacherId: "rb-new-t1"}
		mut(c)
		_, err := rc.UpsertClassroom(ctx, &pb.UpsertClassroomRequest{DistrictId: rbDistrict, Classroom: c})
		wantViolation(t, err, field)
	}
	bad(func(c *pb.Classroom) { c.TeacherId = rbDistrict + ".coach-1" }, "classroom.teacher_id")     // not a teacher
	bad(func(c *pb.Classroom) { c.TeacherId = "mesa-verde-sd.teacher-001" }, "classroom.teacher_id") // another district's
	bad(func(c *pb.Classroom) { c.SiteId = "mesa-verde-sd.sunrise-es" }, "classroom.site_id")        // another district's site
	bad(func(c *pb.Classroom) { c.SiteId = "" }, "classroom.site_id")                                // required
	bad(func(c *pb.Classroom) { c.Grade = "grade three" }, "classroom.grade")                        // not a grade
	bad(func(c *pb.Classroom) { c.ClassroomId = "bad id" }, "classroom.classroom_id")                // not an id
	bad(func(c *pb.Classroom) { c.Course = "" }, "classroom.course")                                 // required
	_, err = rc.UpsertStaff(ctx, &pb.UpsertStaffRequest{DistrictId: rbDistrict, Staff: &pb.Staff{StaffId: "x1", Role: pb.StaffRole_STAFF_ROLE_TEACHER, SiteIds: []string{"nowhere"}}})
	wantViolation(t, err, "staff.site_ids[0]")
	_, err = rc.UpsertStaff(ctx, &pb.UpsertStaffRequest{DistrictId: rbDistrict, Staff: &pb.Staff{StaffId: "x1"}})
	wantViolation(t, err, "staff.role")
	_, err = rc.UpsertSite(ctx, &pb.UpsertSiteRequest{DistrictId: rbDistrict, Site: &pb.Site{SiteId: "x1"}})
	wantViolation(t, err, "site.name")
	if _, err := rc.GetSite(ctx, &pb.GetSiteRequest{DistrictId: rbDistrict, SiteId: "rb-bad"}); err == nil {
		t.Fatal("a refused write stored something")
	}

	// Lists: by site, by role.
	cs, err := rc.ListClassrooms(ctx, &pb.ListClassroomsRequest{DistrictId: rbDistrict, SiteId: "rb-new-es"})
	if err != nil || len(cs.GetClassrooms()) != 1 || cs.GetClassrooms()[0].GetClassroomId() != class.ClassroomId {
		t.Fatalf("classrooms at the new site: %v %v", cs, err)
	}
	all2, err := rc.ListClassrooms(ctx, &pb.ListClassroomsRequest{DistrictId: rbDistrict, PageSize: 1000})
	if err != nil || len(all2.GetClassrooms()) != 51 {
		t.Fatalf("%d classrooms, want 51 (%v)", len(all2.GetClassrooms()), err)
	}
	coaches, err := rc.ListStaff(ctx, &pb.ListStaffRequest{DistrictId: rbDistrict, Role: pb.StaffRole_STAFF_ROLE_COACH})
	if err != nil || len(coaches.GetStaff()) != 2 {
		t.Fatalf("coaches: %v %v", coaches, err)
	}
	atNew, err := rc.ListStaff(ctx, &pb.ListStaffRequest{DistrictId: rbDistrict, SiteId: "rb-new-es"})
	if err != nil || len(atNew.GetStaff()) != 1 || atNew.GetStaff()[0].GetEmail() != teacher.Email {
		t.Fatalf("staff at the new site: %v %v", atNew, err)
	}

	// Student groups: add, relabel, repeat.
	g := &pb.StudentGroup{Key: "newcomers", Label: "Newcomer students"}
	gr, err := rc.UpsertStudentGroup(ctx, &pb.UpsertStudentGroupRequest{DistrictId: rbDistrict, StudentGroup: g})
	if err != nil || gr.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_CREATED {
		t.Fatalf("group: %v %v", gr, err)
	}
	g.Label = "Recently arrived students"
	if gr, err = rc.UpsertStudentGroup(ctx, &pb.UpsertStudentGroupRequest{DistrictId: rbDistrict, StudentGroup: g}); err != nil || gr.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_UPDATED {
		t.Fatalf("relabel: %v %v", gr, err)
	}
	if gr, err = rc.UpsertStudentGroup(ctx, &pb.UpsertStudentGroupRequest{DistrictId: rbDistrict, StudentGroup: g}); err != nil || gr.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED {
		t.Fatalf("repeat: %v %v", gr, err)
	}
	_, err = rc.UpsertStudentGroup(ctx, &pb.UpsertStudentGroupRequest{DistrictId: rbDistrict, StudentGroup: &pb.StudentGroup{Key: "Bad Key", Label: "x"}})
	wantViolation(t, err, "student_group.key")
	groups, err := rc.ListStudentGroups(roleCtx(t, e, observation.RoleCoach), &pb.ListStudentGroupsRequest{DistrictId: rbDistrict})
	if err != nil || len(groups.GetStudentGroups()) != 7 || groups.GetStudentGroups()[6].GetLabel() != g.Label {
		t.Fatalf("groups: %v %v", groups, err)
	}
	if n := auditCount(t, e, rbDistrict, "district.upsert_student_group"); n != 2 {
		t.Fatalf("%d student-group audit entries, want 2", n)
	}
	for action, want := range map[string]int{"roster.upsert_staff": 2, "roster.upsert_classroom": 1} {
		if n := auditCount(t, e, rbDistrict, action); n != want {
			t.Errorf("%d %s audit entries, want %d", n, action, want)
		}
	}
	d := lastAuditDetails(t, e, rbDistrict, "roster.upsert_staff")
	if d["_actor"] != e.Users[observation.RoleDistrictAdmin].UserID || fmt.Sprint(d["staff"]) != "map[updated:[rb-new-t1]]" {
		t.Errorf("staff audit details %v", d)
	}
}
