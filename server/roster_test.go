package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

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

// ---------------------------------------------------------------------------------------------
// Access per role and scope

func TestRosterAccessPerRoleAndScope(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	rc := rosterClient(e)
	coach, principal := e.Users[observation.RoleCoach], e.Users[observation.RolePrincipal]
	coachCtx, principalCtx := roleCtx(t, e, observation.RoleCoach), roleCtx(t, e, observation.RolePrincipal)
	daCtx, adminCtx, analystCtx := roleCtx(t, e, observation.RoleDistrictAdmin), roleCtx(t, e, observation.RoleAdmin), roleCtx(t, e, observation.RoleNetworkAnalyst)

	// Coaches and principals list their own sites and classrooms only.
	for _, c := range []struct {
		ctx   context.Context
		sites []string
	}{{coachCtx, coach.SiteIDs}, {principalCtx, principal.SiteIDs}} {
		sites, err := rc.ListSites(c.ctx, &pb.ListSitesRequest{DistrictId: rbDistrict})
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(c.sites)
		slices.Sort(want)
		if got := siteIDs(sites.GetSites()); !slices.Equal(got, want) {
			t.Errorf("sites %v, want %v", got, want)
		}
		cs, err := rc.ListClassrooms(c.ctx, &pb.ListClassroomsRequest{DistrictId: rbDistrict, PageSize: 1000})
		if err != nil || len(cs.GetClassrooms()) == 0 {
			t.Fatalf("classrooms: %v", err)
		}
		for _, cl := range cs.GetClassrooms() {
			if !slices.Contains(c.sites, cl.GetSiteId()) {
				t.Errorf("classroom %s at %s is outside the caller's sites", cl.GetClassroomId(), cl.GetSiteId())
			}
		}
		staff, err := rc.ListStaff(c.ctx, &pb.ListStaffRequest{DistrictId: rbDistrict, PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range staff.GetStaff() {
			for _, site := range s.GetSiteIds() {
				if !slices.Contains(c.sites, site) {
					t.Errorf("staff %s shows site %s outside the caller's sites", s.GetStaffId(), site)
				}
			}
		}
		// Another site of their own district: not found, whether listed, fetched or filtered by.
		_, err = rc.GetSite(c.ctx, &pb.GetSiteRequest{DistrictId: rbDistrict, SiteId: rbRoosevelt})
		wantCode(t, err, codes.NotFound)
		_, err = rc.ListClassrooms(c.ctx, &pb.ListClassroomsRequest{DistrictId: rbDistrict, SiteId: rbRoosevelt})
		wantCode(t, err, codes.NotFound)
		_, err = rc.ListStaff(c.ctx, &pb.ListStaffRequest{DistrictId: rbDistrict, SiteId: rbRoosevelt})
		wantCode(t, err, codes.NotFound)
		// ... and a site that does not exist looks the same.
		_, err = rc.GetSite(c.ctx, &pb.GetSiteRequest{DistrictId: rbDistrict, SiteId: "no-such-site"})
		wantCode(t, err, codes.NotFound)
		// They read settings and student groups, and write nothing.
		if _, err := rc.GetDistrictSettings(c.ctx, &pb.GetDistrictSettingsRequest{DistrictId: rbDistrict}); err != nil {
			t.Fatal(err)
		}
		_, err = rc.UpsertSite(c.ctx, &pb.UpsertSiteRequest{DistrictId: rbDistrict, Site: &pb.Site{SiteId: "x", Name: "X"}})
		wantCode(t, err, codes.PermissionDenied)
		_, err = rc.UpdateDistrictSettings(c.ctx, &pb.UpdateDistrictSettingsRequest{DistrictId: rbDistrict, Settings: &pb.DistrictSettings{NetworkOptIn: false},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"network_opt_in"}}})
		wantCode(t, err, codes.PermissionDenied)
		_, err = rc.BulkUpsertRoster(c.ctx, &pb.BulkUpsertRosterRequest{DistrictId: rbDistrict, Sites: []*pb.Site{{SiteId: "x", Name: "X"}}})
		wantCode(t, err, codes.PermissionDenied)
		_, err = rc.ImportOneRoster(c.ctx, &pb.ImportOneRosterRequest{DistrictId: rbDistrict, OrgsCsv: "sourcedId,name,type\nx,X,school\n"})
		wantCode(t, err, codes.PermissionDenied)
		// Another district: not found, like a district that does not exist.
		for _, d := range []string{mvDistrict, "no-such-district"} {
			_, err = rc.ListSites(c.ctx, &pb.ListSitesRequest{DistrictId: d})
			wantCode(t, err, codes.NotFound)
		}
	}

	// A district admin: their district in full; another district (existing or not) not found.
	sites, err := rc.ListSites(daCtx, &pb.ListSitesRequest{DistrictId: rbDistrict})
	if err != nil || len(sites.GetSites()) != 4 {
		t.Fatalf("district admin sites: %v %v", sites, err)
	}
	for _, d := range []string{mvDistrict, "no-such-district"} {
		_, err = rc.ListSites(daCtx, &pb.ListSitesRequest{DistrictId: d})
		wantCode(t, err, codes.NotFound)
		_, err = rc.GetDistrictSettings(daCtx, &pb.GetDistrictSettingsRequest{DistrictId: d})
		wantCode(t, err, codes.NotFound)
		_, err = rc.UpsertSite(daCtx, &pb.UpsertSiteRequest{DistrictId: d, Site: &pb.Site{SiteId: "x", Name: "X"}})
		wantCode(t, err, codes.NotFound)
		_, err = rc.ImportOneRoster(daCtx, &pb.ImportOneRosterRequest{DistrictId: d, OrgsCsv: "sourcedId,name,type\nx,X,school\n"})
		wantCode(t, err, codes.NotFound)
		_, err = rc.ListStudentGroups(daCtx, &pb.ListStudentGroupsRequest{DistrictId: d})
		wantCode(t, err, codes.NotFound)
	}

	// An admin: every district; a district that does not exist is not found.
	mv, err := rc.ListSites(adminCtx, &pb.ListSitesRequest{DistrictId: mvDistrict})
	if err != nil || len(mv.GetSites()) != 4 {
		t.Fatalf("admin: %v %v", mv, err)
	}
	if _, err := rc.UpsertSite(adminCtx, &pb.UpsertSiteRequest{DistrictId: mvDistrict, Site: &pb.Site{SiteId: "mv-admin-site", Name: "Admin-made"}}); err != nil {
		t.Fatal(err)
	}
	_, err = rc.ListSites(adminCtx, &pb.ListSitesRequest{DistrictId: "no-such-district"})
	wantCode(t, err, codes.NotFound)
	_, err = rc.UpsertSite(adminCtx, &pb.UpsertSiteRequest{DistrictId: "no-such-district", Site: &pb.Site{SiteId: "x", Name: "X"}})
	wantCode(t, err, codes.NotFound)

	// A network analyst reads no roster at all.
	for name, call := range map[string]func() error{
		"ListSites": func() error {
			_, err := rc.ListSites(analystCtx, &pb.ListSitesRequest{DistrictId: rbDistrict})
			return err
		},
		"GetSite": func() error {
			_, err := rc.GetSite(analystCtx, &pb.GetSiteRequest{DistrictId: rbDistrict, SiteId: rbLincoln})
			return err
		},
		"ListClassrooms": func() error {
			_, err := rc.ListClassrooms(analystCtx, &pb.ListClassroomsRequest{DistrictId: rbDistrict})
			return err
		},
		"ListStaff": func() error {
			_, err := rc.ListStaff(analystCtx, &pb.ListStaffRequest{DistrictId: rbDistrict})
			return err
		},
		"ListStudentGroups": func() error {
			_, err := rc.ListStudentGroups(analystCtx, &pb.ListStudentGroupsRequest{DistrictId: rbDistrict})
			return err
		},
		"GetDistrictSettings": func() error {
			_, err := rc.GetDistrictSettings(analystCtx, &pb.GetDistrictSettingsRequest{DistrictId: rbDistrict})
			return err
		},
		"ListSites (no such district)": func() error {
			_, err := rc.ListSites(analystCtx, &pb.ListSitesRequest{DistrictId: "no-such-district"})
			return err
		},
		"UpsertSite": func() error {
			_, err := rc.UpsertSite(analystCtx, &pb.UpsertSiteRequest{DistrictId: rbDistrict, Site: &pb.Site{SiteId: "x", Name: "X"}})
			return err
		},
	} {
		if err := call(); err == nil || wantCode(t, err, codes.PermissionDenied) == nil {
			t.Errorf("analyst %s: %v", name, err)
		}
	}
	if n := auditCount(t, e, rbDistrict, "roster.upsert_site"); n != 0 {
		t.Fatalf("refused writes left %d audit entries", n)
	}
}

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

// ---------------------------------------------------------------------------------------------
// REST routes

func TestRosterREST(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	daTok, coachTok, analystTok := e.TokenFor(t, observation.RoleDistrictAdmin), e.TokenFor(t, observation.RoleCoach), e.TokenFor(t, observation.RoleNetworkAnalyst)
	base := "/v1/districts/" + rbDistrict

	r := e.Do(t, "PUT", base+"/sites/rest-es", daTok, `{"name":"REST Elementary","grade_band":"K-5"}`)
	wantREST(t, r, http.StatusOK, codes.OK)
	var us pb.UpsertSiteResponse
	decode(t, r.Body, &us)
	if us.GetSite().GetSiteId() != "rest-es" || us.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_CREATED {
		t.Fatalf("PUT site: %s", r.Body)
	}
	r = e.Do(t, "PUT", base+"/sites/rest-es", daTok, `{"name":"REST Elementary","grade_band":"K-5"}`)
	var again pb.UpsertSiteResponse
	decode(t, r.Body, &again)
	if again.GetOutcome() != pb.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED || !again.GetSite().GetUpdateTime().AsTime().Equal(us.GetSite().GetUpdateTime().AsTime()) {
		t.Fatalf("PUT again: %s", r.Body)
	}
	r = e.Do(t, "GET", base+"/sites/rest-es", daTok, "")
	wantREST(t, r, http.StatusOK, codes.OK)

	r = e.Do(t, "PUT", base+"/staff/rest-t1", daTok, `{"given_name":"Rosa","family_name":"Parks","role":"STAFF_ROLE_TEACHER","site_ids":["rest-es"]}`)
	wantREST(t, r, http.StatusOK, codes.OK)
	r = e.Do(t, "PUT", base+"/classrooms/rest-es.g2-a", daTok, `{"site_id":"rest-es","course":"Mathematics 2","grade":"2","section":"A","teacher_id":"rest-t1"}`)
	wantREST(t, r, http.StatusOK, codes.OK)
	r = e.Do(t, "PUT", base+"/classrooms/rest-es.g3-a", daTok, `{"site_id":"rest-es","course":"Mathematics 3","teacher_id":"`+rbDistrict+`.coach-1"}`)
	st := wantREST(t, r, http.StatusBadRequest, codes.InvalidArgument)
	if v := violationsOf(st); !slices.Equal(v, []string{"classroom.teacher_id"}) || !strings.Contains(st.Message(), "not a teacher") {
		t.Fatalf("violations %v: %s", v, st.Message())
	}
	r = e.Do(t, "PUT", base+"/student_groups/newcomers", daTok, `{"label":"Newcomer students"}`)
	wantREST(t, r, http.StatusOK, codes.OK)

	r = e.Do(t, "GET", base+"/sites", daTok, "")
	wantREST(t, r, http.StatusOK, codes.OK)
	var ls pb.ListSitesResponse
	decode(t, r.Body, &ls)
	if len(ls.GetSites()) != 5 {
		t.Fatalf("GET sites: %s", r.Body)
	}
	r = e.Do(t, "GET", base+"/sites/rest-es/classrooms", daTok, "")
	wantREST(t, r, http.StatusOK, codes.OK)
	var lc pb.ListClassroomsResponse
	decode(t, r.Body, &lc)
	if len(lc.GetClassrooms()) != 1 || lc.GetClassrooms()[0].GetTeacherId() != "rest-t1" {
		t.Fatalf("GET classrooms: %s", r.Body)
	}
	r = e.Do(t, "GET", base+"/classrooms?site_id="+rbLincoln+"&page_size=5", coachTok, "")
	wantREST(t, r, http.StatusOK, codes.OK)
	decode(t, r.Body, &lc)
	if len(lc.GetClassrooms()) != 5 || lc.GetNextPageToken() == "" {
		t.Fatalf("GET classrooms page: %s", r.Body)
	}
	r = e.Do(t, "GET", base+"/staff?role=STAFF_ROLE_PRINCIPAL", daTok, "")
	wantREST(t, r, http.StatusOK, codes.OK)
	var lst pb.ListStaffResponse
	decode(t, r.Body, &lst)
	if len(lst.GetStaff()) != 4 {
		t.Fatalf("GET principals: %s", r.Body)
	}
	r = e.Do(t, "GET", base+"/student_groups", coachTok, "")
	wantREST(t, r, http.StatusOK, codes.OK)

	// Scope over REST: another site (404), another district (404), the analyst (403), a coach writing (403).
	wantREST(t, e.Do(t, "GET", base+"/sites/"+rbRoosevelt+"/classrooms", coachTok, ""), http.StatusNotFound, codes.NotFound)
	wantREST(t, e.Do(t, "GET", base+"/sites/"+rbRoosevelt, coachTok, ""), http.StatusNotFound, codes.NotFound)
	wantREST(t, e.Do(t, "GET", "/v1/districts/"+mvDistrict+"/sites", daTok, ""), http.StatusNotFound, codes.NotFound)
	wantREST(t, e.Do(t, "PUT", "/v1/districts/"+mvDistrict+"/sites/x", daTok, `{"name":"X"}`), http.StatusNotFound, codes.NotFound)
	wantREST(t, e.Do(t, "GET", base+"/sites", analystTok, ""), http.StatusForbidden, codes.PermissionDenied)
	wantREST(t, e.Do(t, "GET", base+"/settings", analystTok, ""), http.StatusForbidden, codes.PermissionDenied)
	wantREST(t, e.Do(t, "PUT", base+"/sites/x", coachTok, `{"name":"X"}`), http.StatusForbidden, codes.PermissionDenied)
	wantREST(t, e.Do(t, "GET", base+"/sites", "", ""), http.StatusUnauthorized, codes.Unauthenticated)
}

// ---------------------------------------------------------------------------------------------
// District settings

func TestDistrictSettings(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	rc := rosterClient(e)
	ctx := roleCtx(t, e, observation.RoleDistrictAdmin)
	tok := e.TokenFor(t, observation.RoleDistrictAdmin)
	base := "/v1/districts/" + rbDistrict + "/settings"

	got, err := rc.GetDistrictSettings(ctx, &pb.GetDistrictSettingsRequest{DistrictId: rbDistrict})
	if err != nil {
		t.Fatal(err)
	}
	s0 := got.GetSettings()
	if s0.GetSchoolYearStartMonth() != 8 || s0.GetSuppressionThreshold() != observation.NetworkMinSuppression || !s0.GetNetworkOptIn() ||
		len(s0.GetWindows()) != 3 || len(s0.GetStudentGroups()) != 6 || !slices.Equal(s0.GetLanguages(), []string{"en", "es"}) {
		t.Fatalf("settings %v", s0)
	}

	// PATCH over REST changes only the fields in the body, and audits before and after.
	r := e.Do(t, "PATCH", base, tok, `{"suppression_threshold": 15, "min_teachers_per_cell": 4}`)
	wantREST(t, r, http.StatusOK, codes.OK)
	var up pb.UpdateDistrictSettingsResponse
	decode(t, r.Body, &up)
	if !up.GetChanged() || up.GetSettings().GetSuppressionThreshold() != 15 || up.GetSettings().GetMinTeachersPerCell() != 4 ||
		len(up.GetSettings().GetWindows()) != 3 || !up.GetSettings().GetNetworkOptIn() || !up.GetUpdateTime().AsTime().After(got.GetUpdateTime().AsTime()) {
		t.Fatalf("PATCH: %s", r.Body)
	}
	if n := auditCount(t, e, rbDistrict, "district.update_settings"); n != 1 {
		t.Fatalf("%d settings audit entries, want 1", n)
	}
	d := lastAuditDetails(t, e, rbDistrict, "district.update_settings")
	before, _ := d["before"].(map[string]any)
	after, _ := d["after"].(map[string]any)
	if before["suppression_threshold"] != float64(11) || after["suppression_threshold"] != float64(15) ||
		fmt.Sprint(d["changed"]) != "[suppression_threshold min_teachers_per_cell]" || d["_actor"] != e.Users[observation.RoleDistrictAdmin].UserID {
		t.Fatalf("audit details %v", d)
	}

	// The same values again change nothing: no write, no audit entry, the same update time.
	r = e.Do(t, "PATCH", base, tok, `{"suppression_threshold": 15}`)
	wantREST(t, r, http.StatusOK, codes.OK)
	var same pb.UpdateDistrictSettingsResponse
	decode(t, r.Body, &same)
	if same.GetChanged() || !same.GetUpdateTime().AsTime().Equal(up.GetUpdateTime().AsTime()) {
		t.Fatalf("no-op PATCH: %s", r.Body)
	}
	if n := auditCount(t, e, rbDistrict, "district.update_settings"); n != 1 {
		t.Fatalf("%d settings audit entries after a no-op, want 1", n)
	}

	// Invalid values are refused, naming the field; nothing changes.
	for body, field := range map[string]string{
		`{"suppression_threshold": 10}`:   "settings.suppression_threshold",
		`{"suppression_threshold": 0}`:    "settings.suppression_threshold",
		`{"min_teachers_per_cell": 2}`:    "settings.min_teachers_per_cell",
		`{"proficiency_level": 11}`:       "settings.proficiency_level",
		`{"proficiency_level": -1}`:       "settings.proficiency_level",
		`{"school_year_start_month": 13}`: "settings.school_year_start_month",
		`{"windows": [{"key":"fall","title":"Fall","start_month":9,"start_day":31,"end_month":10,"end_day":1}]}`: "settings.windows[0].start_day",
		`{"windows": [{"key":"fall","title":"Fall","start_month":10,"start_day":1,"end_month":9,"end_day":1}]}`:  "settings.windows[0].end_month",
		`{"student_groups": [{"key":"ml","label":"A"},{"key":"ml","label":"B"}]}`:                                "settings.student_groups[1].key",
		`{"languages": ["es"]}`: "settings.languages[0]",
	} {
		r := e.Do(t, "PATCH", base, tok, body)
		st := wantREST(t, r, http.StatusBadRequest, codes.InvalidArgument)
		if v := violationsOf(st); !slices.Equal(v, []string{field}) {
			t.Errorf("%s: violations %v (%s), want %s", body, v, st.Message(), field)
		}
	}
	if n := auditCount(t, e, rbDistrict, "district.update_settings"); n != 1 {
		t.Fatalf("refused updates were audited: %d entries", n)
	}

	// Over gRPC with an explicit mask; an unknown mask path is refused.
	s := &pb.DistrictSettings{NetworkOptIn: false, ProficiencyLevel: 3}
	g, err := rc.UpdateDistrictSettings(ctx, &pb.UpdateDistrictSettingsRequest{DistrictId: rbDistrict, Settings: s,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"network_opt_in", "proficiency_level"}}})
	if err != nil || !g.GetChanged() || g.GetSettings().GetNetworkOptIn() || g.GetSettings().GetProficiencyLevel() != 3 || g.GetSettings().GetSuppressionThreshold() != 15 {
		t.Fatalf("gRPC update: %v %v", g, err)
	}
	_, err = rc.UpdateDistrictSettings(ctx, &pb.UpdateDistrictSettingsRequest{DistrictId: rbDistrict, Settings: s,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}}})
	wantViolation(t, err, "update_mask")
	// Without a mask every field is replaced: an incomplete settings message is refused.
	_, err = rc.UpdateDistrictSettings(ctx, &pb.UpdateDistrictSettingsRequest{DistrictId: rbDistrict, Settings: s})
	wantViolation(t, err, "settings.school_year_start_month")
	if n := auditCount(t, e, rbDistrict, "district.update_settings"); n != 2 {
		t.Fatalf("%d settings audit entries, want 2", n)
	}
	// Another district's settings are not found; the admin's are.
	_, err = rc.UpdateDistrictSettings(ctx, &pb.UpdateDistrictSettingsRequest{DistrictId: mvDistrict, Settings: s,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"network_opt_in"}}})
	wantCode(t, err, codes.NotFound)
	if _, err := rc.GetDistrictSettings(roleCtx(t, e, observation.RoleAdmin), &pb.GetDistrictSettingsRequest{DistrictId: mvDistrict}); err != nil {
		t.Fatal(err)
	}
	wantREST(t, e.Do(t, "GET", base, e.TokenFor(t, observation.RoleCoach), ""), http.StatusOK, codes.OK)
}

// ---------------------------------------------------------------------------------------------
// OneRoster import

const (
	orOrgs = `sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId
rb-or-district,active,2024-07-01T00:00:00Z,Riverbend Unified,district,RB,
rb-or-sunset,active,2024-07-01T00:00:00Z,Sunset Elementary School,school,301,rb-or-district
`
	orUsers = `sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password
rb-or-t1,active,,true,rb-or-sunset,teacher,t1,,Ngozi,Adeyemi,,,ngozi.adeyemi@example.org,,,,,
rb-or-t2,active,,true,rb-or-sunset,teacher,t2,,Tomás,Reyes,,,,,,,,
rb-or-p1,active,,true,rb-or-sunset,principal,p1,,Imani,Washington,,,,,,,,
rb-or-s1,active,,true,rb-or-sunset,student,s1,,Student,One,,,,,,,03,
rb-or-s2,active,,true,rb-or-sunset,student,s2,,Student,Two,,,,,,,04,
rb-or-a1,active,,true,rb-or-sunset,aide,a1,,Al,Aide,,,,,,,,
`
	orClasses = `sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods
rb-or-c1,active,,Mathematics 3,03,m3,3A,scheduled,,rb-or-sunset,t,Mathematics,,
rb-or-c2,active,,Mathematics 4,04,m4,4A,scheduled,,rb-or-sunset,t,Mathematics,,
rb-or-c3,active,,Reading 4,04,r4,4R,scheduled,,rb-or-sunset,t,Reading,,
`
	orEnrollments = `sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate
rb-or-e1,active,,rb-or-c1,rb-or-sunset,rb-or-t1,teacher,true,,
rb-or-e2,active,,rb-or-c1,rb-or-sunset,rb-or-s1,student,false,,
rb-or-e3,active,,rb-or-c2,rb-or-sunset,rb-or-t2,teacher,true,,
rb-or-e4,active,,rb-or-c2,rb-or-sunset,rb-or-s2,student,false,,
rb-or-e5,active,,rb-or-c3,rb-or-sunset,rb-or-t2,teacher,true,,
`
)

func orZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range map[string]string{
		"oneroster/orgs.csv": orOrgs, "oneroster/users.csv": orUsers, "oneroster/classes.csv": orClasses,
		"oneroster/enrollments.csv": orEnrollments, "oneroster/manifest.csv": "propertyName,value\nmanifest.version,1.0\n",
		"oneroster/demographics.csv": "sourcedId,birthDate,sex\nrb-or-s1,2016-02-03,female\n",
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func importJSON(t *testing.T, users string, extra map[string]any) string {
	t.Helper()
	m := map[string]any{"orgs_csv": orOrgs, "users_csv": users, "classes_csv": orClasses, "enrollments_csv": orEnrollments}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOneRosterImport(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	rc := rosterClient(e)
	ctx := roleCtx(t, e, observation.RoleDistrictAdmin)
	tok := e.TokenFor(t, observation.RoleDistrictAdmin)
	path := "/v1/districts/" + rbDistrict + "/roster:importOneRoster"
	before := rosterUpdateTimes(t, e)

	// A bad line in users.csv: nothing is applied; the error names the file and line.
	badUsers := strings.Replace(orUsers, "rb-or-sunset,principal", "rb-or-sunset,wizard", 1)
	r := e.Do(t, "POST", path, tok, importJSON(t, badUsers, nil))
	st := wantREST(t, r, http.StatusBadRequest, codes.InvalidArgument)
	if !strings.Contains(st.Message(), `users.csv:4: role "wizard" is not a OneRoster role`) || !slices.Equal(violationsOf(st), []string{"users_csv"}) {
		t.Fatalf("error %q %v", st.Message(), violationsOf(st))
	}
	// A line that only the stored roster can refuse (a teacher enrollment of a coach) rolls back too.
	badEnroll := strings.Replace(orEnrollments, "rb-or-c2,rb-or-sunset,rb-or-t2", "rb-or-c2,rb-or-sunset,"+rbDistrict+".coach-1", 1)
	_, err := rc.ImportOneRoster(ctx, &pb.ImportOneRosterRequest{DistrictId: rbDistrict, OrgsCsv: orOrgs, UsersCsv: orUsers,
		ClassesCsv: orClasses, EnrollmentsCsv: badEnroll})
	st = wantCode(t, err, codes.InvalidArgument)
	if !strings.Contains(st.Message(), "enrollments.csv:4: ") || !strings.Contains(st.Message(), "not a teacher") {
		t.Fatalf("error %q", st.Message())
	}
	if got := diffKeys(before, rosterUpdateTimes(t, e)); len(got) != 0 {
		t.Fatalf("refused imports changed %v", got)
	}
	if n := auditCount(t, e, rbDistrict, "roster.import_oneroster"); n != 0 {
		t.Fatalf("refused imports were audited: %d", n)
	}

	// A dry run counts and applies nothing.
	dry, err := rc.ImportOneRoster(ctx, &pb.ImportOneRosterRequest{DistrictId: rbDistrict, OrgsCsv: orOrgs, UsersCsv: orUsers,
		ClassesCsv: orClasses, EnrollmentsCsv: orEnrollments, DryRun: true})
	if err != nil || !dry.GetDryRun() || dry.GetCounts().GetClassrooms().GetCreated() != 3 {
		t.Fatalf("dry run: %v %v", dry, err)
	}
	if got := diffKeys(before, rosterUpdateTimes(t, e)); len(got) != 0 {
		t.Fatalf("a dry run changed %v", got)
	}

	// The separate files over REST, math classes only.
	r = e.Do(t, "POST", path, tok, importJSON(t, orUsers, map[string]any{"subjects": []string{"math"}}))
	wantREST(t, r, http.StatusOK, codes.OK)
	var res pb.ImportOneRosterResponse
	decode(t, r.Body, &res)
	c := res.GetCounts()
	if c.GetSites().GetCreated() != 1 || c.GetStaff().GetCreated() != 3 || c.GetClassrooms().GetCreated() != 2 {
		t.Fatalf("counts %v", c)
	}
	sk := res.GetSkipped()
	if sk.GetStudents() != 2 || sk.GetStudentEnrollments() != 2 || sk.GetOtherUsers() != 1 || sk.GetOtherOrgs() != 1 || sk.GetFilteredClasses() != 1 {
		t.Fatalf("skipped %v", sk)
	}
	if len(res.GetWarnings()) != 1 || res.GetWarnings()[0].GetFile() != "users.csv" || res.GetWarnings()[0].GetLine() != 7 {
		t.Fatalf("warnings %v", res.GetWarnings())
	}
	// What was stored: the school, its three adults and two classrooms with their teachers; no student.
	cs, err := rc.ListClassrooms(ctx, &pb.ListClassroomsRequest{DistrictId: rbDistrict, SiteId: "rb-or-sunset"})
	if err != nil || len(cs.GetClassrooms()) != 2 || cs.GetClassrooms()[0].GetTeacherId() != "rb-or-t1" || cs.GetClassrooms()[1].GetGrade() != "4" {
		t.Fatalf("classrooms %v %v", cs, err)
	}
	staff, err := rc.ListStaff(ctx, &pb.ListStaffRequest{DistrictId: rbDistrict, SiteId: "rb-or-sunset"})
	if err != nil || len(staff.GetStaff()) != 3 {
		t.Fatalf("staff %v %v", staff, err)
	}
	var students int
	if err := e.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM staff WHERE staff_id LIKE 'rb-or-s%' OR given_name = 'Student'`).Scan(&students); err != nil || students != 0 {
		t.Fatalf("%d students stored (%v)", students, err)
	}
	if n := auditCount(t, e, rbDistrict, "roster.import_oneroster"); n != 1 {
		t.Fatalf("%d import audit entries", n)
	}
	after := rosterUpdateTimes(t, e)

	// Re-importing the same files changes nothing.
	r = e.Do(t, "POST", path, tok, importJSON(t, orUsers, map[string]any{"subjects": []string{"math"}}))
	wantREST(t, r, http.StatusOK, codes.OK)
	decode(t, r.Body, &res)
	c = res.GetCounts()
	if c.GetSites().GetUnchanged() != 1 || c.GetStaff().GetUnchanged() != 3 || c.GetClassrooms().GetUnchanged() != 2 ||
		c.GetSites().GetCreated()+c.GetStaff().GetCreated()+c.GetClassrooms().GetCreated()+c.GetSites().GetUpdated()+c.GetStaff().GetUpdated()+c.GetClassrooms().GetUpdated() != 0 {
		t.Fatalf("re-import counts %v", c)
	}
	if got := diffKeys(after, rosterUpdateTimes(t, e)); len(got) != 0 {
		t.Fatalf("re-import changed %v", got)
	}

	// The zip, over gRPC (bytes) and over REST (base64), without the subject filter: the reading
	// class is new; everything else is unchanged.
	z := orZip(t)
	zr, err := rc.ImportOneRoster(ctx, &pb.ImportOneRosterRequest{DistrictId: rbDistrict, Zip: z})
	if err != nil {
		t.Fatal(err)
	}
	if c := zr.GetCounts(); c.GetClassrooms().GetCreated() != 1 || c.GetClassrooms().GetUnchanged() != 2 || c.GetStaff().GetUnchanged() != 3 || c.GetSites().GetUnchanged() != 1 {
		t.Fatalf("zip counts %v", c)
	}
	r = e.Do(t, "POST", path, tok, fmt.Sprintf(`{"zip":%q}`, base64.StdEncoding.EncodeToString(z)))
	wantREST(t, r, http.StatusOK, codes.OK)
	decode(t, r.Body, &res)
	if c := res.GetCounts(); c.GetClassrooms().GetUnchanged() != 3 || c.GetClassrooms().GetCreated() != 0 || c.GetStaff().GetUnchanged() != 3 {
		t.Fatalf("REST zip counts %v", c)
	}
	// A zip and files together, and a file that is not a zip, are refused.
	_, err = rc.ImportOneRoster(ctx, &pb.ImportOneRosterRequest{DistrictId: rbDistrict, Zip: z, OrgsCsv: orOrgs})
	wantViolation(t, err, "zip")
	r = e.Do(t, "POST", path, tok, fmt.Sprintf(`{"zip":%q}`, base64.StdEncoding.EncodeToString([]byte("not a zip"))))
	st = wantREST(t, r, http.StatusBadRequest, codes.InvalidArgument)
	if !slices.Equal(violationsOf(st), []string{"zip"}) {
		t.Fatalf("violations %v", violationsOf(st))
	}
	// A bad line inside a zip names the file and line, under the zip field.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("users.csv")
	_, _ = w.Write([]byte(badUsers))
	_ = zw.Close()
	_, err = rc.ImportOneRoster(ctx, &pb.ImportOneRosterRequest{DistrictId: rbDistrict, Zip: buf.Bytes()})
	st = wantCode(t, err, codes.InvalidArgument)
	if !strings.Contains(st.Message(), `users.csv:4: role "wizard"`) || !slices.Equal(violationsOf(st), []string{"zip"}) {
		t.Fatalf("zip error %q %v", st.Message(), violationsOf(st))
	}
}
