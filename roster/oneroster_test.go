package roster

import (
	"archive/zip"
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
)

// A small OneRoster export in the 1.1 column layout (users.csv carries role and orgSourcedIds),
// with students, a guardian and an aide that lookfor must skip.
const (
	testOrgsCSV = `sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId
dist-1,active,2024-07-01T00:00:00Z,Riverbend Unified,district,RB,
sch-lincoln,active,2024-07-01T00:00:00Z,Lincoln Elementary School,school,101,dist-1
sch-roosevelt,active,2024-07-01T00:00:00Z,Roosevelt Middle School,school,201,dist-1
`
	testUsersCSV = `sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password
t-1,active,,true,sch-lincoln,teacher,ahernandez,,Ana,Hernández,,T1,ana.hernandez@example.org,,,,,
t-2,active,,true,sch-roosevelt,teacher,kmensah,,Kwame,Mensah,,T2,kwame.mensah@example.org,,,,,
t-3,active,,true,"sch-lincoln,sch-roosevelt",teacher,lchen,,Lucía,Chen,,T3,,,,,,
p-1,active,,true,"dist-1,sch-lincoln",administrator,pokafor,,Priya,Okafor,,P1,priya.okafor@example.org,,,,,
da-1,active,,true,dist-1,districtAdministrator,dadmin,,Omar,Silva,,D1,omar.silva@example.org,,,,,
s-1,active,,true,sch-lincoln,student,kid1,,Kiddo,Secret,,S1,kid1@example.org,,,,03,
s-2,active,,true,sch-roosevelt,student,kid2,,Other,Secret,,S2,,,,,07,
g-1,active,,true,sch-lincoln,guardian,par1,,Gina,Parent,,G1,,,,s-1,,
a-1,active,,true,sch-lincoln,aide,aide1,,Al,Aide,,A1,,,,,,
`
	testClassesCSV = `sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods
c-1,active,,Mathematics 3,03,course-m3,3A,scheduled,Room 12,sch-lincoln,term-1,Mathematics,,
c-2,active,,Math 7,07,course-m7,,scheduled,,sch-roosevelt,term-1,Mathematics,,2
c-3,active,,English 7,07,course-e7,E7-1,scheduled,,sch-roosevelt,term-1,English Language Arts,,3
c-4,active,,Math K/1 combination,"KG,01",course-mk1,K1,scheduled,,sch-lincoln,term-1,Mathematics,,
`
	testEnrollmentsCSV = `sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate
e-1,active,,c-1,sch-lincoln,t-1,teacher,true,,
e-2,active,,c-1,sch-lincoln,s-1,student,false,,
e-3,active,,c-2,sch-roosevelt,t-3,teacher,false,,
e-4,active,,c-2,sch-roosevelt,t-2,teacher,true,,
e-5,active,,c-3,sch-roosevelt,t-2,teacher,true,,
e-6,active,,c-4,sch-lincoln,p-1,teacher,true,,
e-7,active,,c-2,sch-roosevelt,s-2,student,false,,
`
)

func testFiles() OneRosterFiles {
	return OneRosterFiles{Orgs: testOrgsCSV, Users: testUsersCSV, Classes: testClassesCSV, Enrollments: testEnrollmentsCSV}
}

func TestParseOneRosterMapsTheExport(t *testing.T) {
	ro, err := parseOneRoster(testFiles(), OneRosterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantSites := []observation.Site{
		{ID: "sch-lincoln", Name: "Lincoln Elementary School", GradeBand: "K-3"},
		{ID: "sch-roosevelt", Name: "Roosevelt Middle School", GradeBand: "7"},
	}
	if !reflect.DeepEqual(ro.Batch.Sites, wantSites) {
		t.Errorf("sites\n got %+v\nwant %+v", ro.Batch.Sites, wantSites)
	}
	wantStaff := []Staff{
		{ID: "t-1", GivenName: "Ana", FamilyName: "Hernández", Email: "ana.hernandez@example.org", Role: StaffTeacher, SiteIDs: []string{"sch-lincoln"}, Status: "active"},
		{ID: "t-2", GivenName: "Kwame", FamilyName: "Mensah", Email: "kwame.mensah@example.org", Role: StaffTeacher, SiteIDs: []string{"sch-roosevelt"}, Status: "active"},
		{ID: "t-3", GivenName: "Lucía", FamilyName: "Chen", Role: StaffTeacher, SiteIDs: []string{"sch-lincoln", "sch-roosevelt"}, Status: "active"},
		{ID: "p-1", GivenName: "Priya", FamilyName: "Okafor", Email: "priya.okafor@example.org", Role: StaffPrincipal, SiteIDs: []string{"sch-lincoln"}, Status: "active"},
		{ID: "da-1", GivenName: "Omar", FamilyName: "Silva", Email: "omar.silva@example.org", Role: StaffDistrictAdmin, Status: "active"},
	}
	if !reflect.DeepEqual(ro.Batch.Staff, wantStaff) {
		t.Errorf("staff\n got %+v\nwant %+v", ro.Batch.Staff, wantStaff)
	}
	wantClasses := []observation.Classroom{
		{ID: "c-1", SiteID: "sch-lincoln", Course: "Mathematics 3", Grade: "3", Section: "3A", TeacherID: "t-1"},
		{ID: "c-2", SiteID: "sch-roosevelt", Course: "Math 7", Grade: "7", Section: "2", TeacherID: "t-2"}, // primary beats t-3; periods as section
		{ID: "c-3", SiteID: "sch-roosevelt", Course: "English 7", Grade: "7", Section: "E7-1", TeacherID: "t-2"},
		{ID: "c-4", SiteID: "sch-lincoln", Course: "Math K/1 combination", Grade: "K,1", Section: "K1"}, // principal enrolled: no teacher
	}
	if !reflect.DeepEqual(ro.Batch.Classrooms, wantClasses) {
		t.Errorf("classrooms\n got %+v\nwant %+v", ro.Batch.Classrooms, wantClasses)
	}
	wantSkipped := ImportSkipped{Students: 2, StudentEnrollments: 2, OtherUsers: 2, OtherOrgs: 1, OtherEnrollments: 1}
	if ro.Skipped != wantSkipped {
		t.Errorf("skipped %+v, want %+v", ro.Skipped, wantSkipped)
	}
	var warnings []string
	for _, w := range ro.Warnings {
		warnings = append(warnings, w.String())
	}
	for _, want := range []string{
		`users.csv:10: users with role "aide" are not rostered in lookfor and are skipped`,
		`enrollments.csv:7: user "p-1" is enrolled as a teacher but is a principal in users.csv; the enrollment is skipped`,
	} {
		if !slices.Contains(warnings, want) {
			t.Errorf("warnings %q lack %q", warnings, want)
		}
	}
	// Nothing about a student reaches the result.
	dump := strings.Join(warnings, "\n") + "\n" + strings.ReplaceAll(strings.ReplaceAll(strings.Join(fieldsOf(ro.Batch), "|"), "\n", " "), "\t", " ")
	for _, secret := range []string{"s-1", "s-2", "Kiddo", "Secret", "kid1", "kid2"} {
		if strings.Contains(dump, secret) {
			t.Errorf("the result mentions student data %q:\n%s", secret, dump)
		}
	}
	if err := ro.Batch.validate(ro.locator); err != nil {
		t.Errorf("the mapped batch does not validate: %v", err)
	}
}

// fieldsOf lists every string of a batch.
func fieldsOf(b Batch) []string {
	var out []string
	for _, s := range b.Sites {
		out = append(out, s.ID, s.Name, s.GradeBand)
	}
	for _, c := range b.Classrooms {
		out = append(out, c.ID, c.SiteID, c.Course, c.Grade, c.Section, c.TeacherID)
	}
	for _, s := range b.Staff {
		out = append(out, s.ID, s.GivenName, s.FamilyName, s.Email, string(s.Role))
		out = append(out, s.SiteIDs...)
	}
	return out
}

// TestParseOneRosterEndedUsers: users with status tobedeleted or inactive are not rostered, and
// are listed so that their existing records stop signing in.
func TestParseOneRosterEndedUsers(t *testing.T) {
	f := testFiles()
	f.Users = strings.Replace(strings.Replace(f.Users, "p-1,active,", "p-1,tobedeleted,", 1), "t-2,active,", "t-2,inactive,", 1)
	ro, err := parseOneRoster(f, OneRosterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"p-1": "tobedeleted", "t-2": "inactive"}; !reflect.DeepEqual(ro.Batch.Ended, want) {
		t.Errorf("ended %v, want %v", ro.Batch.Ended, want)
	}
	for _, s := range ro.Batch.Staff {
		if s.ID == "p-1" || s.ID == "t-2" {
			t.Errorf("ended user %s rostered", s.ID)
		}
	}
}

func TestParseOneRosterIsDeterministic(t *testing.T) {
	a, err := parseOneRoster(testFiles(), OneRosterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b, err := parseOneRoster(testFiles(), OneRosterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatal("two parses of the same files differ")
		}
	}
}

func TestParseOneRosterSubjectFilter(t *testing.T) {
	ro, err := parseOneRoster(testFiles(), OneRosterOptions{Subjects: []string{"MATH"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range ro.Batch.Classrooms {
		ids = append(ids, c.ID)
	}
	if want := []string{"c-1", "c-2", "c-4"}; !slices.Equal(ids, want) {
		t.Errorf("classrooms %v, want %v", ids, want)
	}
	if ro.Skipped.FilteredClasses != 1 {
		t.Errorf("filtered %d classes, want 1", ro.Skipped.FilteredClasses)
	}
	// t-2 teaches c-3 only through the filtered class; its enrollment is skipped silently, and
	// c-2 still gets its primary teacher.
	if ro.Batch.Classrooms[1].TeacherID != "t-2" {
		t.Errorf("c-2 teacher %q, want t-2", ro.Batch.Classrooms[1].TeacherID)
	}
}

func TestParseOneRoster12RolesFile(t *testing.T) {
	users := `sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns
t-1,active,,true,ahernandez,,Ana,Hernández,,T1,ana.hernandez@example.org,,,,,,,,,,sch-lincoln,
p-1,active,,true,pokafor,,Priya,Okafor,,P1,,,,,,,,,,,sch-lincoln,
s-1,active,,true,kid1,,Kiddo,Secret,,S1,,,,,03,,,,,,sch-lincoln,
x-1,active,,true,nobody,,No,Role,,X1,,,,,,,,,,,,
`
	roles := `sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId
r-1,active,,t-1,primary,teacher,,,sch-roosevelt,
r-2,active,,p-1,primary,principal,,,sch-lincoln,
r-3,active,,p-1,secondary,teacher,,,sch-roosevelt,
r-4,active,,s-1,primary,student,,,sch-lincoln,
`
	files := testFiles()
	files.Users, files.Roles, files.Enrollments = users, roles, ""
	ro, err := parseOneRoster(files, OneRosterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Staff{
		{ID: "t-1", GivenName: "Ana", FamilyName: "Hernández", Email: "ana.hernandez@example.org", Role: StaffTeacher, SiteIDs: []string{"sch-roosevelt", "sch-lincoln"}, Status: "active"},
		{ID: "p-1", GivenName: "Priya", FamilyName: "Okafor", Role: StaffPrincipal, SiteIDs: []string{"sch-lincoln"}, Status: "active"},
	}
	if !reflect.DeepEqual(ro.Batch.Staff, want) {
		t.Errorf("staff\n got %+v\nwant %+v", ro.Batch.Staff, want)
	}
	if ro.Skipped.Students != 1 || ro.Skipped.OtherUsers != 1 {
		t.Errorf("skipped %+v, want 1 student and 1 user without a role", ro.Skipped)
	}
	// Without roles.csv, a 1.2 users.csv cannot be read.
	files.Roles = ""
	_, err = parseOneRoster(files, OneRosterOptions{})
	wantProblem(t, err, "users_csv", reasonMissingCol, "users.csv:1: the header has no role column")
}

// wantProblem checks an import error's field, reason and message start.
func wantProblem(t *testing.T, err error, field, reason, prefix string) {
	t.Helper()
	var e *observation.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want an *Error", err)
	}
	if e.Kind != observation.KindInvalid || e.Field != field || e.Reason != reason || !strings.HasPrefix(e.Message, prefix) {
		t.Fatalf("got kind %v field %q reason %q message %q\nwant field %q reason %q message starting %q", e.Kind, e.Field, e.Reason, e.Message, field, reason, prefix)
	}
}

func TestParseOneRosterProblemsNameFileAndLine(t *testing.T) {
	replace := func(s, old, new string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	cases := []struct {
		name          string
		mutate        func(f *OneRosterFiles)
		field, reason string
		prefix        string
	}{
		{"unknown role", func(f *OneRosterFiles) {
			f.Users = replace(f.Users, "sch-roosevelt,teacher,kmensah", "sch-roosevelt,wizard,kmensah")
		},
			"users_csv", reasonBadOneRoster, `users.csv:3: role "wizard" is not a OneRoster role`},
		{"empty role", func(f *OneRosterFiles) {
			f.Users = replace(f.Users, "sch-roosevelt,teacher,kmensah", "sch-roosevelt,,kmensah")
		},
			"users_csv", observation.ReasonRequired, `users.csv:3: role is empty`},
		{"bad staff id", func(f *OneRosterFiles) { f.Users = replace(f.Users, "t-2,active", "t 2,active") },
			"users_csv", observation.ReasonBadID, `users.csv:3: sourcedId "t 2" cannot be a lookfor staff id`},
		{"user twice", func(f *OneRosterFiles) { f.Users = replace(f.Users, "t-2,active", "t-1,active") },
			"users_csv", reasonDuplicateID, `users.csv:3: user "t-1" is listed twice (first at line 2)`},
		{"bad email", func(f *OneRosterFiles) {
			f.Users = replace(f.Users, "kwame.mensah@example.org", "kwame.mensah")
		}, "users_csv", reasonBadEmail, `users.csv:3: email: "kwame.mensah" is not an email address`},
		{"bad status", func(f *OneRosterFiles) { f.Users = replace(f.Users, "t-2,active", "t-2,retired") },
			"users_csv", reasonBadOneRoster, `users.csv:3: status "retired" is not a OneRoster status`},
		{"org type", func(f *OneRosterFiles) { f.Orgs = replace(f.Orgs, "School,school", "School,galaxy") },
			"orgs_csv", reasonBadOneRoster, `orgs.csv:3: type "galaxy" is not a OneRoster org type`},
		{"school twice", func(f *OneRosterFiles) { f.Orgs = replace(f.Orgs, "sch-roosevelt,active", "sch-lincoln,active") },
			"orgs_csv", reasonDuplicateID, `orgs.csv:4: school "sch-lincoln" is listed twice (first at line 3)`},
		{"school without name", func(f *OneRosterFiles) { f.Orgs = replace(f.Orgs, "Roosevelt Middle School", "") },
			"orgs_csv", observation.ReasonRequired, `orgs.csv:4: school "sch-roosevelt" has no name`},
		{"class without title", func(f *OneRosterFiles) { f.Classes = replace(f.Classes, "Math 7,", ",") },
			"classes_csv", observation.ReasonRequired, `classes.csv:3: class "c-2" has no title`},
		{"class at the district", func(f *OneRosterFiles) {
			f.Classes = replace(f.Classes, "sch-roosevelt,term-1,Mathematics", "dist-1,term-1,Mathematics")
		},
			"classes_csv", observation.ReasonUnknownSite, `classes.csv:3: schoolSourcedId "dist-1" is a district org in orgs.csv, not a school`},
		{"enrollment of an unknown class", func(f *OneRosterFiles) { f.Enrollments = replace(f.Enrollments, "e-5,active,,c-3", "e-5,active,,c-9") },
			"enrollments_csv", reasonUnknownRef, `enrollments.csv:6: class "c-9" is not in classes.csv`},
		{"enrollment role", func(f *OneRosterFiles) { f.Enrollments = replace(f.Enrollments, "t-1,teacher", "t-1,wizard") },
			"enrollments_csv", reasonBadOneRoster, `enrollments.csv:2: role "wizard" is not a OneRoster role`},
		{"missing column", func(f *OneRosterFiles) { f.Classes = replace(f.Classes, "schoolSourcedId", "school") },
			"classes_csv", reasonMissingCol, `classes.csv:1: the header has no schoolSourcedId column`},
		{"field count", func(f *OneRosterFiles) { f.Users = replace(f.Users, "t-2,active,,true", "t-2,active,true") },
			"users_csv", reasonBadCSV, `users.csv:3: the line has a different number of fields than the header`},
		{"bare quote", func(f *OneRosterFiles) { f.Orgs = replace(f.Orgs, "Roosevelt Middle", `Roosevelt "Middle`) },
			"orgs_csv", reasonBadCSV, `orgs.csv:4: a field holds a quote (") at column 53 but is not itself in quotes`},
		{"empty file", func(f *OneRosterFiles) { f.Orgs = "\n" },
			"orgs_csv", reasonBadCSV, `orgs.csv:1: the file has no header line`},
		{"enrollments without classes", func(f *OneRosterFiles) { f.Classes = "" },
			"enrollments_csv", observation.ReasonRequired, `enrollments.csv: enrollments.csv needs classes.csv`},
		{"nothing", func(f *OneRosterFiles) { *f = OneRosterFiles{} },
			"orgs_csv", observation.ReasonRequired, `no files were given`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := testFiles()
			c.mutate(&f)
			ro, err := parseOneRoster(f, OneRosterOptions{})
			if err == nil {
				t.Fatalf("no error; mapped %d sites, %d staff, %d classrooms", len(ro.Batch.Sites), len(ro.Batch.Staff), len(ro.Batch.Classrooms))
			}
			wantProblem(t, err, c.field, c.reason, c.prefix)
		})
	}
}

func TestParseOneRosterListsSeveralProblems(t *testing.T) {
	f := testFiles()
	f.Users = strings.Replace(f.Users, "sch-roosevelt,teacher,kmensah", "sch-roosevelt,wizard,kmensah", 1)
	f.Classes = strings.Replace(f.Classes, "Math 7,", ",", 1)
	_, err := parseOneRoster(f, OneRosterOptions{})
	wantProblem(t, err, "users_csv", reasonBadOneRoster,
		`users.csv:3: role "wizard" is not a OneRoster role (and 1 more: classes.csv:3: class "c-2" has no title)`)

	// Past maxOneRosterProblems, problems are counted, not listed.
	var b strings.Builder
	b.WriteString("sourcedId,role,givenName,familyName\n")
	for range maxOneRosterProblems + 5 {
		b.WriteString("x,wizard,A,B\n")
	}
	_, err = parseOneRoster(OneRosterFiles{Users: b.String()}, OneRosterOptions{})
	var e *observation.Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "; 5 more not listed)") || strings.Count(e.Message, "wizard") != maxOneRosterProblems {
		t.Errorf("error %v", err)
	}
}

func TestParseOneRosterToleratesExportQuirks(t *testing.T) {
	f := testFiles()
	// A byte-order mark, CRLF line ends, header names in another case and a tobedeleted row.
	f.Orgs = "\ufeff" + strings.ReplaceAll(strings.Replace(testOrgsCSV, "sourcedId,status", "SourcedId,Status", 1), "\n", "\r\n")
	f.Users += "t-9,tobedeleted,,true,sch-lincoln,teacher,gone,,Gone,Teacher,,,,,,,,\n"
	ro, err := parseOneRoster(f, OneRosterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ro.Batch.Sites) != 2 || ro.Skipped.Deleted != 1 || len(ro.Batch.Staff) != 5 {
		t.Errorf("sites %d, deleted %d, staff %d", len(ro.Batch.Sites), ro.Skipped.Deleted, len(ro.Batch.Staff))
	}
}

func TestNormalizeGrade(t *testing.T) {
	for in, want := range map[string]string{"KG": "K", "k": "K", "01": "1", "1": "1", "09": "9", "12": "12", "PK": "PK", "TK": "TK"} {
		if got, ok := normalizeGrade(in); !ok || got != want {
			t.Errorf("normalizeGrade(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"IT", "PR", "PS", "UG", "13", "Other", "", "001", "-1"} {
		if got, ok := normalizeGrade(in); ok {
			t.Errorf("normalizeGrade(%q) = %q, want not ok", in, got)
		}
	}
}

// zipOf builds a zip archive of name → content.
func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadOneRosterZip(t *testing.T) {
	data := zipOf(t, map[string]string{
		"export/orgs.csv":            testOrgsCSV,
		"export/users.csv":           testUsersCSV,
		"export/classes.csv":         testClassesCSV,
		"export/Enrollments.csv":     testEnrollmentsCSV,
		"export/demographics.csv":    "sourcedId,birthDate\ns-1,2015-01-01\n",
		"export/manifest.csv":        "propertyName,value\nmanifest.version,1.0\n",
		"__MACOSX/export/._orgs.csv": "junk",
	})
	got, err := readOneRosterZip(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, testFiles()) {
		t.Errorf("files differ from the archive's")
	}

	_, err = readOneRosterZip([]byte("not a zip"))
	wantProblem(t, err, "zip", reasonBadZip, "not a readable zip archive")
	_, err = readOneRosterZip(zipOf(t, map[string]string{"readme.txt": "hi"}))
	wantProblem(t, err, "zip", observation.ReasonRequired, "the archive holds none of")
	_, err = readOneRosterZip(zipOf(t, map[string]string{"a/orgs.csv": testOrgsCSV, "b/orgs.csv": testOrgsCSV}))
	wantProblem(t, err, "zip", reasonDuplicateID, "the archive holds orgs.csv twice")
}

func TestFromZipNamesTheZipField(t *testing.T) {
	err := fromZip(observation.Invalid("users_csv", reasonBadOneRoster, "users.csv:3: x"), true)
	wantProblem(t, err, "zip", reasonBadOneRoster, "users.csv:3: x")
	err = fromZip(observation.Invalid("users_csv", reasonBadOneRoster, "users.csv:3: x"), false)
	wantProblem(t, err, "users_csv", reasonBadOneRoster, "users.csv:3: x")
}

// FuzzOneRoster feeds arbitrary files to the parser: it never panics, and whatever it maps is a
// batch that passes roster validation and holds no student.
func FuzzOneRoster(f *testing.F) {
	f.Add(testOrgsCSV, testUsersCSV, testClassesCSV, testEnrollmentsCSV)
	f.Add(testOrgsCSV, "sourcedId,role\nx,wizard\n", "", "")
	f.Add("", "sourcedId,role,givenName\nt-1,teacher,\"A\nB\"\n", "", "")
	f.Add("sourcedId,name,type\n\"s,1\",X,school\n", "", "sourcedId,title,schoolSourcedId,grades\nc,T,\"s,1\",\"KG,13,01\"\n", "")
	f.Add(testOrgsCSV, testUsersCSV, testClassesCSV, "classSourcedId,userSourcedId,role,primary\nc-1,t-1,teacher,true\nc-1,t-2,teacher,true\nc-2,zz,teacher,\n")
	f.Add("\ufeff", "\"", "a,b\n1", ",,,\n,,,")
	f.Fuzz(func(t *testing.T, orgs, users, classes, enrollments string) {
		ro, err := parseOneRoster(OneRosterFiles{Orgs: orgs, Users: users, Classes: classes, Enrollments: enrollments}, OneRosterOptions{})
		if err != nil {
			var e *observation.Error
			if !errors.As(err, &e) || e.Kind != observation.KindInvalid || e.Field == "" || e.Message == "" {
				t.Fatalf("error %#v is not a field error", err)
			}
			return
		}
		b := ro.Batch
		b.normalize("d")
		if err := b.validate(ro.locator); err != nil {
			t.Fatalf("mapped batch does not validate: %v", err)
		}
		for _, s := range b.Staff {
			if !s.Role.valid() {
				t.Fatalf("staff %q has role %q", s.ID, s.Role)
			}
		}
		if len(ro.classLines) != len(b.Classrooms) || len(ro.teacherLines) != len(b.Classrooms) ||
			len(ro.staffLines) != len(b.Staff) || len(ro.staffOrgs) != len(b.Staff) || len(ro.siteLines) != len(b.Sites) {
			t.Fatal("source lines do not match the rows")
		}
		for i, s := range b.Staff {
			if len(ro.staffOrgs[i]) != len(s.SiteIDs) {
				t.Fatalf("staff %q: %d org sources for %d sites", s.ID, len(ro.staffOrgs[i]), len(s.SiteIDs))
			}
		}
	})
}
