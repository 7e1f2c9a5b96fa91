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

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

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
