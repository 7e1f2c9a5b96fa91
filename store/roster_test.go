package store_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/store"
)

func demoRoster() store.Roster { return store.Roster(demo.Network()) }

// updatedAts maps "table/district/id" to the row's updated_at, for every roster row.
func updatedAts(t *testing.T, st *store.Store) map[string]time.Time {
	t.Helper()
	rows, err := st.Pool().Query(context.Background(), `
		SELECT 'districts/' || district_id || '/', updated_at FROM districts
		UNION ALL SELECT 'sites/' || district_id || '/' || site_id, updated_at FROM sites
		UNION ALL SELECT 'staff/' || district_id || '/' || staff_id, updated_at FROM staff
		UNION ALL SELECT 'classrooms/' || district_id || '/' || classroom_id, updated_at FROM classrooms`)
	mustNoErr(t, err)
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var k string
		var u time.Time
		mustNoErr(t, rows.Scan(&k, &u))
		out[k] = u
	}
	mustNoErr(t, rows.Err())
	return out
}

// changedKeys lists the keys whose updated_at differs between two snapshots (or that appear in
// only one), sorted.
func changedKeys(before, after map[string]time.Time) []string {
	var out []string
	for k, a := range after {
		if b, ok := before[k]; !ok || !b.Equal(a) {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// short abbreviates a long key list for failure messages.
func short(keys []string) string {
	if len(keys) <= 5 {
		return fmt.Sprint(keys)
	}
	return fmt.Sprintf("%v … (%d in all)", keys[:5], len(keys))
}

func staffSites(t *testing.T, st *store.Store, district, staff string) []string {
	t.Helper()
	rows, err := st.Pool().Query(context.Background(), `SELECT site_id FROM staff_sites
		WHERE district_id = $1 AND staff_id = $2 ORDER BY site_id`, district, staff)
	mustNoErr(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		mustNoErr(t, rows.Scan(&s))
		out = append(out, s)
	}
	mustNoErr(t, rows.Err())
	return out
}

func allStaffSites(t *testing.T, st *store.Store) map[string]bool {
	t.Helper()
	rows, err := st.Pool().Query(context.Background(), `SELECT district_id || '/' || staff_id || '/' || site_id FROM staff_sites`)
	mustNoErr(t, err)
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var s string
		mustNoErr(t, rows.Scan(&s))
		out[s] = true
	}
	mustNoErr(t, rows.Err())
	return out
}

func assertCounts(t *testing.T, st *store.Store, districts, sites, classrooms, staff int) {
	t.Helper()
	d, s, c, p, err := st.RosterCounts(context.Background())
	mustNoErr(t, err)
	if d != districts || s != sites || c != classrooms || p != staff {
		t.Errorf("counts %d/%d/%d/%d, want %d/%d/%d/%d", d, s, c, p, districts, sites, classrooms, staff)
	}
}

// findStaff returns the index of a staff member of r by role and id suffix order.
func firstStaff(t *testing.T, r store.Roster, district string, role roster.StaffRole) int {
	t.Helper()
	for i, s := range r.Staff {
		if s.DistrictID == district && s.Role == role {
			return i
		}
	}
	t.Fatalf("no %s in %s", role, district)
	return -1
}

func TestUpsertRosterDemoNetwork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := pgtest.NewStore(t)
	r := demoRoster()

	assertCounts(t, st, 0, 0, 0, 0)
	mustNoErr(t, st.UpsertRoster(ctx, r))
	assertCounts(t, st, 3, 12, 150, 171)

	// Every staff site assignment is stored, and nothing else.
	want := map[string]bool{}
	for _, s := range r.Staff {
		for _, site := range s.SiteIDs {
			want[s.DistrictID+"/"+s.ID+"/"+site] = true
		}
	}
	if got := allStaffSites(t, st); !maps.Equal(got, want) {
		t.Errorf("staff_sites: %d rows, want %d", len(got), len(want))
	}

	// Values round-trip: a classroom, its teacher, and district settings.
	c := r.Classrooms[17]
	var site, course, grade, section, teacher string
	mustNoErr(t, st.Pool().QueryRow(ctx, `SELECT site_id, course, grade, section, teacher_id FROM classrooms
		WHERE district_id = $1 AND classroom_id = $2`, c.DistrictID, c.ID).Scan(&site, &course, &grade, &section, &teacher))
	if site != c.SiteID || course != c.Course || grade != c.Grade || section != c.Section || teacher != c.TeacherID {
		t.Errorf("classroom %s: %s %s %s %s %s", c.ID, site, course, grade, section, teacher)
	}
	d := r.Districts[1]
	var name string
	var settings observation.DistrictSettings
	mustNoErr(t, st.Pool().QueryRow(ctx, `SELECT name, settings FROM districts WHERE district_id = $1`, d.ID).Scan(&name, &settings))
	if name != d.Name || settings.NetworkOptIn != d.Settings.NetworkOptIn || len(settings.StudentGroups) != len(d.Settings.StudentGroups) ||
		settings.SuppressionThreshold != d.Settings.SuppressionThreshold {
		t.Errorf("district %s: %q %+v", d.ID, name, settings)
	}
}

func TestUpsertRosterIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := pgtest.NewStore(t)

	mustNoErr(t, st.UpsertRoster(ctx, demoRoster()))
	before := updatedAts(t, st)
	if len(before) != 3+12+150+171 {
		t.Fatalf("%d rows", len(before))
	}
	sitesBefore := allStaffSites(t, st)

	mustNoErr(t, st.UpsertRoster(ctx, demoRoster()))
	if changed := changedKeys(before, updatedAts(t, st)); len(changed) != 0 {
		t.Errorf("re-running the same roster touched rows: %s", short(changed))
	}
	if !maps.Equal(allStaffSites(t, st), sitesBefore) {
		t.Error("staff_sites changed on a re-run")
	}
	assertCounts(t, st, 3, 12, 150, 171)
}

func TestUpsertRosterUpdatesOnlyChangedRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := pgtest.NewStore(t)

	mustNoErr(t, st.UpsertRoster(ctx, demoRoster()))
	before := updatedAts(t, st)

	r := demoRoster()
	c := &r.Classrooms[3]
	newTeacher := r.Classrooms[4].TeacherID // same district
	if newTeacher == c.TeacherID || r.Classrooms[4].DistrictID != c.DistrictID {
		t.Fatal("fixture: pick another classroom")
	}
	c.TeacherID = newTeacher
	mustNoErr(t, st.UpsertRoster(ctx, r))

	after := updatedAts(t, st)
	want := []string{"classrooms/" + c.DistrictID + "/" + c.ID}
	if changed := changedKeys(before, after); !slices.Equal(changed, want) {
		t.Errorf("changed rows %s, want %v", short(changed), want)
	}
	var teacher string
	mustNoErr(t, st.Pool().QueryRow(ctx, `SELECT teacher_id FROM classrooms WHERE district_id = $1 AND classroom_id = $2`,
		c.DistrictID, c.ID).Scan(&teacher))
	if teacher != newTeacher {
		t.Errorf("teacher %s, want %s", teacher, newTeacher)
	}

	// Clearing the teacher stores NULL and touches only that row again.
	before = after
	c.TeacherID = ""
	mustNoErr(t, st.UpsertRoster(ctx, r))
	if changed := changedKeys(before, updatedAts(t, st)); !slices.Equal(changed, want) {
		t.Errorf("changed rows %s, want %v", short(changed), want)
	}
	var null bool
	mustNoErr(t, st.Pool().QueryRow(ctx, `SELECT teacher_id IS NULL FROM classrooms WHERE district_id = $1 AND classroom_id = $2`,
		c.DistrictID, c.ID).Scan(&null))
	if !null {
		t.Error("teacher_id is not NULL after clearing it")
	}

	// A district settings change touches only the district.
	before = updatedAts(t, st)
	r.Districts[2].Settings.SuppressionThreshold++
	mustNoErr(t, st.UpsertRoster(ctx, r))
	if changed := changedKeys(before, updatedAts(t, st)); !slices.Equal(changed, []string{"districts/" + r.Districts[2].ID + "/"}) {
		t.Errorf("changed rows %s, want only district %s", short(changed), r.Districts[2].ID)
	}
}

func TestUpsertRosterReplacesStaffSites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := pgtest.NewStore(t)

	r := demoRoster()
	mustNoErr(t, st.UpsertRoster(ctx, r))
	before := allStaffSites(t, st)
	rowsBefore := updatedAts(t, st)

	i := firstStaff(t, r, riverbend, roster.StaffCoach)
	coach := &r.Staff[i]
	if len(coach.SiteIDs) < 2 {
		t.Fatalf("fixture: coach %s has %d sites", coach.ID, len(coach.SiteIDs))
	}
	removed := coach.SiteIDs[0]
	coach.SiteIDs = slices.Clone(coach.SiteIDs[1:])
	mustNoErr(t, st.UpsertRoster(ctx, r))

	got := staffSites(t, st, coach.DistrictID, coach.ID)
	if want := slices.Sorted(slices.Values(coach.SiteIDs)); !slices.Equal(got, want) {
		t.Errorf("coach sites %v, want %v", got, want)
	}
	if slices.Contains(got, removed) {
		t.Errorf("removed site %s still assigned", removed)
	}
	// Nobody else's assignments changed, and no row's updated_at either.
	want := maps.Clone(before)
	delete(want, coach.DistrictID+"/"+coach.ID+"/"+removed)
	if after := allStaffSites(t, st); !maps.Equal(after, want) {
		t.Errorf("staff_sites: %d rows, want %d", len(after), len(want))
	}
	if changed := changedKeys(rowsBefore, updatedAts(t, st)); len(changed) != 0 {
		t.Errorf("rows touched: %s", short(changed))
	}

	// Adding a site back, and removing every site.
	coach.SiteIDs = append(coach.SiteIDs, removed)
	mustNoErr(t, st.UpsertRoster(ctx, r))
	if got := staffSites(t, st, coach.DistrictID, coach.ID); len(got) != len(coach.SiteIDs) || !slices.Contains(got, removed) {
		t.Errorf("after re-adding: %v", got)
	}
	coach.SiteIDs = nil
	mustNoErr(t, st.UpsertRoster(ctx, r))
	if got := staffSites(t, st, coach.DistrictID, coach.ID); len(got) != 0 {
		t.Errorf("after removing all: %v", got)
	}

	// A batch that names only some staff leaves the others' assignments alone.
	other := firstStaff(t, r, mesaVerde, roster.StaffCoach)
	otherSites := staffSites(t, st, mesaVerde, r.Staff[other].ID)
	if len(otherSites) == 0 {
		t.Fatal("fixture: mesa coach has no sites")
	}
	mustNoErr(t, st.UpsertRoster(ctx, store.Roster{Staff: []roster.Staff{*coach}}))
	if got := staffSites(t, st, mesaVerde, r.Staff[other].ID); !slices.Equal(got, otherSites) {
		t.Errorf("unrelated staff sites %v, want %v", got, otherSites)
	}
}

func TestUpsertRosterUnknownReferenceAppliesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("empty database", func(t *testing.T) {
		t.Parallel()
		st := pgtest.NewStore(t)
		r := demoRoster()
		r.Classrooms = append(r.Classrooms, observation.Classroom{
			DistrictID: riverbend, ID: "ghost.g1-a", SiteID: riverbend + ".no-such-school", Grade: "1", Section: "A",
		})
		err := st.UpsertRoster(ctx, r)
		assertKind(t, err, observation.KindFailedPrecondition, "REFERENCE_MISSING")
		assertCounts(t, st, 0, 0, 0, 0)
		if n := len(allStaffSites(t, st)); n != 0 {
			t.Errorf("%d staff_sites rows after a failed batch", n)
		}
	})

	t.Run("existing roster", func(t *testing.T) {
		t.Parallel()
		st := pgtest.NewStore(t)
		mustNoErr(t, st.UpsertRoster(ctx, demoRoster()))
		before := updatedAts(t, st)
		sitesBefore := allStaffSites(t, st)

		// Changes to every table, plus one classroom pointing at a missing site.
		r := demoRoster()
		r.Districts[0].Name = "Renamed"
		r.Sites[0].Name = "Renamed"
		r.Staff[0].FamilyName = "Renamed"
		i := firstStaff(t, r, riverbend, roster.StaffCoach)
		r.Staff[i].SiteIDs = r.Staff[i].SiteIDs[:1]
		r.Classrooms[0].Section = "Z"
		r.Classrooms = append(r.Classrooms, observation.Classroom{
			DistrictID: riverbend, ID: "ghost.g1-a", SiteID: riverbend + ".no-such-school",
		})
		err := st.UpsertRoster(ctx, r)
		assertKind(t, err, observation.KindFailedPrecondition, "REFERENCE_MISSING")

		assertCounts(t, st, 3, 12, 150, 171)
		if changed := changedKeys(before, updatedAts(t, st)); len(changed) != 0 {
			t.Errorf("a failed batch changed rows: %s", short(changed))
		}
		if !maps.Equal(allStaffSites(t, st), sitesBefore) {
			t.Error("a failed batch changed staff_sites")
		}
		var name string
		mustNoErr(t, st.Pool().QueryRow(ctx, `SELECT name FROM districts WHERE district_id = $1`, r.Districts[0].ID).Scan(&name))
		if name == "Renamed" {
			t.Error("district rename applied from a failed batch")
		}
	})

	t.Run("unknown teacher and unknown staff site", func(t *testing.T) {
		t.Parallel()
		st := pgtest.NewStore(t)
		mustNoErr(t, st.UpsertRoster(ctx, demoRoster()))

		r := demoRoster()
		r.Classrooms[0].TeacherID = riverbend + ".teacher-999"
		assertKind(t, st.UpsertRoster(ctx, r), observation.KindFailedPrecondition, "REFERENCE_MISSING")

		r = demoRoster()
		i := firstStaff(t, r, riverbend, roster.StaffCoach)
		r.Staff[i].SiteIDs = append(r.Staff[i].SiteIDs, mesaVerde+".sunrise-es") // another district's site
		assertKind(t, st.UpsertRoster(ctx, r), observation.KindFailedPrecondition, "REFERENCE_MISSING")
		if got := staffSites(t, st, riverbend, r.Staff[i].ID); len(got) != len(r.Staff[i].SiteIDs)-1 {
			t.Errorf("coach sites after a failed batch: %v", got)
		}
	})
}
