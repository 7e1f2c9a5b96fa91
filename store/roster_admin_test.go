package store_test

// Tests of the transactional roster writes (ApplyRoster, UpdateDistrict), the roster lists, and
// the roster use-cases (roster.Service) running on the real store.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/store"
)

// seededStore is a store holding the demo network.
func seededStore(t *testing.T) *store.Store {
	t.Helper()
	st := pgtest.NewStore(t)
	mustNoErr(t, st.UpsertRoster(context.Background(), demoRoster()))
	return st
}

// auditRows counts audit entries of district with action.
func auditRows(t *testing.T, st *store.Store, district, action string) int {
	t.Helper()
	var n int
	mustNoErr(t, st.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE district_id = $1 AND action = $2`, district, action).Scan(&n))
	return n
}

func rosterWrite(b roster.Batch) roster.Write {
	for i := range b.Sites {
		b.Sites[i].DistrictID = riverbend
	}
	for i := range b.Classrooms {
		b.Classrooms[i].DistrictID = riverbend
	}
	for i := range b.Staff {
		b.Staff[i].DistrictID = riverbend
	}
	return roster.Write{DistrictID: riverbend, Batch: b,
		Audit: observation.Audit(pDistrictAdmin, riverbend, "roster.test", "roster", riverbend, now())}
}

func newRosterBatch() roster.Batch {
	return roster.Batch{
		Sites: []observation.Site{{ID: "new-es", Name: "New Elementary", GradeBand: "K-5"}},
		Staff: []roster.Staff{
			{ID: "new-t1", GivenName: "Ana", FamilyName: "Ruiz", Role: roster.StaffTeacher, SiteIDs: []string{"new-es"}},
			{ID: "new-t2", GivenName: "Bo", FamilyName: "Lee", Role: roster.StaffTeacher, SiteIDs: []string{"new-es", riverbend + ".lincoln-es"}},
		},
		Classrooms: []observation.Classroom{
			{ID: "new-es.g1-a", SiteID: "new-es", Course: "Mathematics 1", Grade: "1", Section: "A", TeacherID: "new-t1"},
			{ID: "new-es.g2-a", SiteID: "new-es", Course: "Mathematics 2", Grade: "2", Section: "A", TeacherID: "new-t2"},
		},
	}
}

func TestApplyRosterCountsAndIsIdempotent(t *testing.T) {
	st := seededStore(t)
	ctx := context.Background()
	before := updatedAts(t, st)

	counts, err := st.ApplyRoster(ctx, rosterWrite(newRosterBatch()))
	mustNoErr(t, err)
	want := roster.Counts{Sites: roster.UpsertCounts{Created: 1}, Staff: roster.UpsertCounts{Created: 2},
		Classrooms: roster.UpsertCounts{Created: 2}}
	if counts != want {
		t.Fatalf("counts %+v, want %+v", counts, want)
	}
	if n := auditRows(t, st, riverbend, "roster.test"); n != 1 {
		t.Fatalf("%d audit rows, want 1", n)
	}
	if got := changedKeys(before, updatedAts(t, st)); len(got) != 5 {
		t.Fatalf("changed %s, want the 5 new rows", short(got))
	}

	// The same write again changes nothing: no row, no updated_at, no audit entry.
	snap := updatedAts(t, st)
	counts, err = st.ApplyRoster(ctx, rosterWrite(newRosterBatch()))
	mustNoErr(t, err)
	want = roster.Counts{Sites: roster.UpsertCounts{Unchanged: 1}, Staff: roster.UpsertCounts{Unchanged: 2},
		Classrooms: roster.UpsertCounts{Unchanged: 2}}
	if counts != want {
		t.Fatalf("repeat counts %+v, want %+v", counts, want)
	}
	if got := changedKeys(snap, updatedAts(t, st)); len(got) != 0 {
		t.Fatalf("a repeated write changed %s", short(got))
	}
	if n := auditRows(t, st, riverbend, "roster.test"); n != 1 {
		t.Fatalf("%d audit rows after a no-op write, want 1", n)
	}

	// One changed classroom and one staff member whose only change is a site assignment.
	b := newRosterBatch()
	b.Classrooms[1].Section = "B"
	b.Staff[1].SiteIDs = []string{"new-es"}
	counts, err = st.ApplyRoster(ctx, rosterWrite(b))
	mustNoErr(t, err)
	want = roster.Counts{Sites: roster.UpsertCounts{Unchanged: 1}, Staff: roster.UpsertCounts{Updated: 1, Unchanged: 1},
		Classrooms: roster.UpsertCounts{Updated: 1, Unchanged: 1}}
	if counts != want {
		t.Fatalf("update counts %+v, want %+v", counts, want)
	}
	if got := changedKeys(snap, updatedAts(t, st)); !slices.Equal(got, []string{"classrooms/" + riverbend + "/new-es.g2-a", "staff/" + riverbend + "/new-t2"}) {
		t.Fatalf("changed %v", got)
	}
	if got := staffSites(t, st, riverbend, "new-t2"); !slices.Equal(got, []string{"new-es"}) {
		t.Fatalf("new-t2 sites %v", got)
	}
	var details string
	mustNoErr(t, st.Pool().QueryRow(ctx, `SELECT details::text FROM audit_log WHERE district_id = $1 AND action = 'roster.test'
		ORDER BY audit_id DESC LIMIT 1`, riverbend).Scan(&details))
	for _, want := range []string{`"classrooms": {"updated": ["new-es.g2-a"]}`, `"staff": {"updated": ["new-t2"]}`, `"counts":`} {
		if !strings.Contains(details, want) {
			t.Errorf("audit details %s lack %s", details, want)
		}
	}
}

func TestApplyRosterIsAllOrNothing(t *testing.T) {
	st := seededStore(t)
	ctx := context.Background()
	before := updatedAts(t, st)

	// The domain check refuses inside the transaction: nothing is written.
	w := rosterWrite(newRosterBatch())
	w.Check = func(context.Context, roster.Lookup) error {
		return observation.Invalid("classrooms[1].teacher_id", roster.ReasonNotATeacher, "no")
	}
	_, err := st.ApplyRoster(ctx, w)
	assertKind(t, err, observation.KindInvalid, roster.ReasonNotATeacher)

	// A reference the database refuses (a classroom at a missing site) rolls back the rows
	// written before it.
	b := newRosterBatch()
	b.Classrooms[1].SiteID = "missing-site"
	_, err = st.ApplyRoster(ctx, rosterWrite(b))
	assertKind(t, err, observation.KindFailedPrecondition, "")

	// A dry run checks and counts, then rolls back.
	w = rosterWrite(newRosterBatch())
	w.DryRun = true
	counts, err := st.ApplyRoster(ctx, w)
	mustNoErr(t, err)
	if counts.Sites.Created != 1 || counts.Classrooms.Created != 2 {
		t.Fatalf("dry-run counts %+v", counts)
	}

	if got := changedKeys(before, updatedAts(t, st)); len(got) != 0 {
		t.Fatalf("failed and dry-run writes changed %s", short(got))
	}
	if n := auditRows(t, st, riverbend, "roster.test"); n != 0 {
		t.Fatalf("%d audit rows, want none", n)
	}

	w = rosterWrite(newRosterBatch())
	w.DistrictID = "no-such-district"
	_, err = st.ApplyRoster(ctx, w)
	assertKind(t, err, observation.KindNotFound, "")
}

func TestApplyRosterLookups(t *testing.T) {
	st := seededStore(t)
	w := rosterWrite(roster.Batch{})
	var sites map[string]bool
	var roles map[string]roster.StaffRole
	w.Check = func(ctx context.Context, l roster.Lookup) error {
		var err error
		if sites, err = l.SitesExist(ctx, []string{riverbend + ".lincoln-es", mesaVerde + ".sunrise-es", "nope"}); err != nil {
			return err
		}
		roles, err = l.StaffRoles(ctx, []string{riverbend + ".teacher-001", riverbend + ".coach-1", mesaVerde + ".teacher-001"})
		return err
	}
	_, err := st.ApplyRoster(context.Background(), w)
	mustNoErr(t, err)
	if len(sites) != 1 || !sites[riverbend+".lincoln-es"] {
		t.Errorf("sites %v: only the district's own site exists", sites)
	}
	if len(roles) != 2 || roles[riverbend+".teacher-001"] != roster.StaffTeacher || roles[riverbend+".coach-1"] != roster.StaffCoach {
		t.Errorf("roles %v", roles)
	}
}

func TestUpdateDistrictAuditsInTheSameTransaction(t *testing.T) {
	st := seededStore(t)
	ctx := context.Background()
	d0, err := st.RosterDistrict(ctx, riverbend)
	mustNoErr(t, err)

	// fn's error leaves everything as it was.
	_, err = st.UpdateDistrict(ctx, riverbend, func(d *observation.District) (*observation.AuditEntry, error) {
		d.Settings.SuppressionThreshold = 99
		return nil, errors.New("changed my mind")
	})
	if err == nil {
		t.Fatal("no error")
	}
	// No audit entry: nothing is written.
	_, err = st.UpdateDistrict(ctx, riverbend, func(d *observation.District) (*observation.AuditEntry, error) {
		d.Settings.SuppressionThreshold = 99
		return nil, nil
	})
	mustNoErr(t, err)
	if got, _ := st.RosterDistrict(ctx, riverbend); got.Settings.SuppressionThreshold != d0.Settings.SuppressionThreshold || !got.UpdatedAt.Equal(d0.UpdatedAt) {
		t.Fatalf("settings changed without an audit entry: %+v", got.Settings)
	}
	d2, err := st.UpdateDistrict(ctx, riverbend, func(d *observation.District) (*observation.AuditEntry, error) {
		d.Settings.SuppressionThreshold = 20
		a := observation.Audit(pDistrictAdmin, riverbend, "district.update_settings", "district_settings", riverbend, now())
		return &a, nil
	})
	mustNoErr(t, err)
	if got, _ := st.RosterDistrict(ctx, riverbend); got.Settings.SuppressionThreshold != 20 || !got.UpdatedAt.Equal(d2.UpdatedAt) || !got.UpdatedAt.After(d0.UpdatedAt) {
		t.Fatalf("stored %+v at %v", got.Settings, got.UpdatedAt)
	}
	if n := auditRows(t, st, riverbend, "district.update_settings"); n != 1 {
		t.Fatalf("%d audit rows", n)
	}
	_, err = st.UpdateDistrict(ctx, "no-such-district", func(*observation.District) (*observation.AuditEntry, error) { return nil, nil })
	assertKind(t, err, observation.KindNotFound, "")
}

func TestRosterLists(t *testing.T) {
	st := seededStore(t)
	ctx := context.Background()
	lincoln, cedar := riverbend+".lincoln-es", riverbend+".cedar-grove-es"

	sites, err := st.ListRosterSites(ctx, roster.Query{DistrictID: riverbend, Limit: 100})
	mustNoErr(t, err)
	if len(sites) != 4 || !slices.IsSortedFunc(sites, func(a, b observation.Site) int { return strings.Compare(a.ID, b.ID) }) {
		t.Fatalf("sites %v", sites)
	}
	scoped, err := st.ListRosterSites(ctx, roster.Query{DistrictID: riverbend, Scoped: true, SiteIDs: []string{lincoln, mesaVerde + ".sunrise-es"}, Limit: 100})
	mustNoErr(t, err)
	if len(scoped) != 1 || scoped[0].ID != lincoln || scoped[0].CreatedAt.IsZero() {
		t.Fatalf("scoped sites %+v", scoped)
	}
	none, err := st.ListRosterSites(ctx, roster.Query{DistrictID: riverbend, Scoped: true, SiteIDs: []string{}, Limit: 100})
	mustNoErr(t, err)
	if len(none) != 0 {
		t.Fatalf("an empty scope sees %v", none)
	}

	// Keyset pages cover every classroom of a site exactly once.
	var all []string
	after := ""
	for {
		page, err := st.ListRosterClassrooms(ctx, roster.Query{DistrictID: riverbend, SiteID: lincoln, After: after, Limit: 5})
		mustNoErr(t, err)
		for _, c := range page {
			if c.SiteID != lincoln || c.TeacherID == "" {
				t.Fatalf("classroom %+v", c)
			}
			all = append(all, c.ID)
		}
		if len(page) < 5 {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(all) != 13 || len(slices.Compact(slices.Clone(all))) != 13 || !slices.IsSorted(all) {
		t.Fatalf("classrooms %v", all)
	}

	staff, err := st.ListRosterStaff(ctx, roster.Query{DistrictID: riverbend, Scoped: true, SiteIDs: []string{cedar}, Limit: 1000})
	mustNoErr(t, err)
	var coach *roster.Staff
	for i, s := range staff {
		if !slices.Contains(s.SiteIDs, cedar) || len(s.SiteIDs) != 1 {
			t.Fatalf("scoped staff %s has sites %v", s.ID, s.SiteIDs)
		}
		if s.ID == riverbend+".coach-1" {
			coach = &staff[i]
		}
	}
	if coach == nil || coach.Role != roster.StaffCoach {
		t.Fatalf("coach-1 (assigned to cedar grove among others) missing from %d staff", len(staff))
	}
	teachers, err := st.ListRosterStaff(ctx, roster.Query{DistrictID: riverbend, Role: roster.StaffTeacher, SiteID: lincoln, Limit: 1000})
	mustNoErr(t, err)
	if len(teachers) != 13 {
		t.Fatalf("%d teachers at lincoln, want 13", len(teachers))
	}
	one, err := st.ListRosterStaff(ctx, roster.Query{DistrictID: riverbend, IDs: []string{riverbend + ".coach-1"}, Limit: 1})
	mustNoErr(t, err)
	if len(one) != 1 || len(one[0].SiteIDs) != 3 {
		t.Fatalf("coach-1: %+v", one)
	}
}

// The import use-case on the real store: all or nothing, then idempotent.
func TestImportOneRosterApply(t *testing.T) {
	st := seededStore(t)
	ctx := context.Background()
	r := &roster.Service{Store: st, Now: now}
	files := roster.OneRosterFiles{
		Orgs: "sourcedId,status,name,type\nd,active,District,district\nos-1,active,OneRoster School,school\n",
		Users: "sourcedId,status,role,orgSourcedIds,givenName,familyName,email\n" +
			"ot-1,active,teacher,os-1,Tess,Teacher,tess@example.org\n" +
			"ot-2,active,teacher,d,Theo,Teacher,\n" +
			"st-1,active,student,os-1,Stu,Dent,\n",
		Classes: "sourcedId,status,title,grades,classCode,schoolSourcedId\n" +
			"oc-1,active,Math 4,04,4A,os-1\n" +
			"oc-2,active,Math 5,05,5A," + riverbend + ".lincoln-es\n", // an existing site
		Enrollments: "sourcedId,classSourcedId,userSourcedId,role,primary\n" +
			"e1,oc-1,ot-1,teacher,true\n" +
			"e2,oc-1,st-1,student,false\n" +
			"e3,oc-2," + riverbend + ".teacher-001,teacher,true\n", // an existing teacher
	}
	before := updatedAts(t, st)

	// A teacher enrollment naming a coach of the district fails the whole import, naming the line.
	bad := files
	bad.Enrollments = strings.Replace(files.Enrollments, riverbend+".teacher-001", riverbend+".coach-1", 1)
	_, err := r.ImportOneRoster(ctx, pDistrictAdmin, riverbend, roster.OneRosterImport{Files: bad})
	e := assertKind(t, err, observation.KindInvalid, roster.ReasonNotATeacher)
	if e.Field != "enrollments_csv" || !strings.HasPrefix(e.Message, "enrollments.csv:4: ") {
		t.Fatalf("error %q at %q", e.Message, e.Field)
	}
	bad = files
	bad.Classes = strings.Replace(files.Classes, riverbend+".lincoln-es", "nowhere-es", 1)
	_, err = r.ImportOneRoster(ctx, pDistrictAdmin, riverbend, roster.OneRosterImport{Files: bad})
	e = assertKind(t, err, observation.KindInvalid, observation.ReasonUnknownSite)
	if e.Field != "classes_csv" || !strings.HasPrefix(e.Message, "classes.csv:3: ") {
		t.Fatalf("error %q at %q", e.Message, e.Field)
	}
	if got := changedKeys(before, updatedAts(t, st)); len(got) != 0 {
		t.Fatalf("failed imports changed %s", short(got))
	}

	res, err := r.ImportOneRoster(ctx, pDistrictAdmin, riverbend, roster.OneRosterImport{Files: files})
	mustNoErr(t, err)
	want := roster.Counts{Sites: roster.UpsertCounts{Created: 1}, Staff: roster.UpsertCounts{Created: 2},
		Classrooms: roster.UpsertCounts{Created: 2}}
	if res.Counts != want || res.Skipped.Students != 1 || res.Skipped.StudentEnrollments != 1 {
		t.Fatalf("result %+v", res)
	}
	var students int
	mustNoErr(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM staff WHERE staff_id = 'st-1'`).Scan(&students))
	if students != 0 {
		t.Fatal("a student was stored")
	}
	snap := updatedAts(t, st)
	res, err = r.ImportOneRoster(ctx, pDistrictAdmin, riverbend, roster.OneRosterImport{Files: files})
	mustNoErr(t, err)
	if res.Counts.Changed() {
		t.Fatalf("re-import changed %+v", res.Counts)
	}
	if got := changedKeys(snap, updatedAts(t, st)); len(got) != 0 {
		t.Fatalf("re-import changed %s", short(got))
	}
	if n := auditRows(t, st, riverbend, "roster.import_oneroster"); n != 1 {
		t.Fatalf("%d import audit rows, want 1", n)
	}
}
