package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/store"
)

// seededTables are the tables whose rows a district owns once seed has created them.
var seededTables = []string{"districts", "sites", "staff", "staff_sites", "classrooms", "progress_goals", "rubrics", "rubric_versions"}

// snapshot returns every row of the seeded tables as JSON text, in a stable order.
func snapshot(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range seededTables {
		var js string
		if err := st.Pool().QueryRow(context.Background(),
			`SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY to_jsonb(r)::text), '[]')::text FROM `+table+` r`).Scan(&js); err != nil {
			t.Fatal(err)
		}
		out[table] = js
	}
	return out
}

// TestSeedKeepsWhatDistrictsChanged: a district admin changes settings, roster, a goal and a
// rubric after the first seed; seeding again (as a second `make run` does) changes nothing.
func TestSeedKeepsWhatDistrictsChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	url := pgtest.NewDatabase(t)
	env := []string{"DATABASE_URL=" + url}
	mustRun(t, dir, env, "migrate", "up")
	mustRun(t, dir, env, "seed")

	st, err := store.Open(ctx, url, store.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var da observation.Principal
	for _, u := range demo.Principals(demo.Network()) {
		if u.Principal.Role == observation.RoleDistrictAdmin {
			da = u.Principal
		}
	}
	d := da.DistrictID
	rs := &roster.Service{Store: st}
	// Settings: a stricter suppression threshold than the demo's.
	cur, err := rs.Settings(ctx, da, d)
	if err != nil {
		t.Fatal(err)
	}
	want := cur.Settings
	want.SuppressionThreshold = cur.Settings.SuppressionThreshold + 7
	if _, changed, err := rs.UpdateSettings(ctx, da, d, want, []string{"suppression_threshold"}); err != nil || !changed {
		t.Fatalf("update settings: changed %v, %v", changed, err)
	}
	// Roster: a site renamed, a staff member renamed, a classroom given another section.
	sites, _, err := rs.ListSites(ctx, da, d, roster.Page{})
	if err != nil || len(sites) == 0 {
		t.Fatalf("sites: %v %v", sites, err)
	}
	site := sites[0]
	site.Name += " (renamed)"
	if _, _, err := rs.UpsertSite(ctx, da, d, site); err != nil {
		t.Fatal(err)
	}
	staff, _, err := rs.ListStaff(ctx, da, d, "", "", roster.Page{})
	if err != nil || len(staff) == 0 {
		t.Fatalf("staff: %v %v", staff, err)
	}
	person := staff[0]
	person.GivenName = "Renamed"
	if _, _, err := rs.UpsertStaff(ctx, da, d, person); err != nil {
		t.Fatal(err)
	}
	classrooms, _, err := rs.ListClassrooms(ctx, da, d, site.ID, roster.Page{})
	if err != nil || len(classrooms) == 0 {
		t.Fatalf("classrooms: %v %v", classrooms, err)
	}
	room := classrooms[0]
	room.Section = "Z9"
	if _, _, err := rs.UpsertClassroom(ctx, da, d, room); err != nil {
		t.Fatal(err)
	}
	// A goal.
	ps := &progress.Service{Store: st}
	if _, err := ps.SaveGoal(ctx, da, progress.Goal{DistrictID: d, Title: "More pressing for reasoning", Dimension: "press",
		Measure: progress.GoalMeanLevel, Target: 3, TargetDate: time.Now().UTC().AddDate(0, 6, 0)}, false,
		func() string { return uuid.Must(uuid.NewV7()).String() }); err != nil {
		t.Fatal(err)
	}
	// A district rubric, published.
	rb := &observation.Rubrics{Store: st}
	if _, err := rb.Create(ctx, da, d, "district-discourse", observation.DefaultRubric()); err != nil {
		t.Fatal(err)
	}
	if _, err := rb.Publish(ctx, da, "district-discourse", 1); err != nil {
		t.Fatal(err)
	}

	before := snapshot(t, st)
	r := run(t, dir, env, "seed")
	if r.code != 0 {
		t.Fatalf("second seed: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "left as they are") || !strings.Contains(r.stderr, d) {
		t.Errorf("second seed does not say it left the existing districts alone:\n%s", r.stderr)
	}
	after := snapshot(t, st)
	for _, table := range seededTables {
		if before[table] != after[table] {
			t.Errorf("seeding again changed %s:\nbefore: %.2000s\nafter:  %.2000s", table, before[table], after[table])
		}
	}
	got, err := rs.Settings(ctx, da, d)
	if err != nil || got.Settings.SuppressionThreshold != want.SuppressionThreshold {
		t.Errorf("suppression threshold after a second seed: %d, %v; want %d", got.Settings.SuppressionThreshold, err, want.SuppressionThreshold)
	}
}

// TestSeedUnmigrated: seed on a database that was never migrated says to run migrate up, exits
// non-zero and creates nothing.
func TestSeedUnmigrated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	url := pgtest.NewDatabase(t)
	r := run(t, dir, []string{"DATABASE_URL=" + url}, "seed")
	if r.code == 0 {
		t.Fatalf("seed on an unmigrated database succeeded:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "lookfor migrate up") || strings.Contains(r.stderr, "SQLSTATE") ||
		strings.Contains(r.stderr, "relation") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("seed on an unmigrated database: want one line saying to run lookfor migrate up, got:\n%s", r.stderr)
	}
	st, err := store.Open(ctx, url, store.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var tables int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("seed on an unmigrated database created %d tables", tables)
	}
	// A database migrated only part of the way is not enough either.
	mustRun(t, dir, []string{"DATABASE_URL=" + url}, "migrate", "up")
	mustRun(t, dir, []string{"DATABASE_URL=" + url}, "migrate", "down")
	r = run(t, dir, []string{"DATABASE_URL=" + url}, "seed")
	if r.code == 0 || !strings.Contains(r.stderr, "lookfor migrate up") {
		t.Errorf("seed on a partly migrated database: exit %d\n%s", r.code, r.stderr)
	}
}
