package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
)

// TestSeedScale seeds a generated network with observations through the binary and checks the
// rows with SQL: counts, roster references, calibration pairs, patterns, and that a second run
// neither duplicates nor silently adds observations.
func TestSeedScale(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := pgtest.NewDatabase(t)
	env := []string{"DATABASE_URL=" + db}
	mustRun(t, dir, env, "migrate", "up")

	// A school year that is over, so the observations span all of it.
	now := time.Now().UTC()
	year := now.Year() - 1
	if now.Month() < time.August {
		year--
	}
	yearStart := time.Date(year, time.August, 1, 0, 0, 0, 0, time.UTC)
	args := []string{"seed", "--districts", "2", "--sites-per-district", "3", "--classrooms-per-site", "4",
		"--observations", "5000", "--seed", "3", "--school-year-start", yearStart.Format(time.DateOnly)}
	out := mustRun(t, dir, env, args...)
	for _, want := range []string{"seeded: 2 districts, 6 sites, 24 classrooms, 36 staff",
		"observations: 5000 loaded (500 in calibration pairs), 0 already stored skipped", "rows/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("seed: want %q in:\n%s", want, out)
		}
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	count := func(sql string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	expect := func(what string, got, want int64) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %d, want %d", what, got, want)
		}
	}

	expect("observations", count(`SELECT count(*) FROM observations`), 5000)
	expect("distinct ids", count(`SELECT count(DISTINCT observation_id) FROM observations`), 5000)
	expect("districts with observations", count(`SELECT count(DISTINCT district_id) FROM observations`), 2)
	expect("sites with observations", count(`SELECT count(DISTINCT (district_id, site_id)) FROM observations`), 6)
	expect("rows not a submitted, live first revision with a UUIDv7 id", count(`SELECT count(*) FROM observations
		WHERE status <> 'submitted' OR revision <> 1 OR deleted OR former_sites <> '{}' OR length(content_hash) <> 64
		OR substr(observation_id::text, 15, 1) <> '7' OR content->>'id' <> observation_id::text`), 0)
	expect("rows whose classroom, site or teacher is not the roster's", count(`SELECT count(*) FROM observations o
		WHERE NOT EXISTS (SELECT 1 FROM classrooms c WHERE c.district_id = o.district_id AND c.classroom_id = o.classroom_id
			AND c.site_id = o.site_id AND c.teacher_id = o.teacher_id)`), 0)
	// Observers are coaches or the principal of the lesson's site, or the district admin.
	expect("rows by an observer who may not observe there", count(`SELECT count(*) FROM observations o
		WHERE NOT EXISTS (SELECT 1 FROM staff s WHERE s.district_id = o.district_id AND s.staff_id = o.observer_id
			AND s.role = o.content->>'observer_role' AND (s.role = 'district_admin' OR EXISTS (SELECT 1 FROM staff_sites ss
				WHERE ss.district_id = s.district_id AND ss.staff_id = s.staff_id AND ss.site_id = o.site_id)))`), 0)
	expect("rows outside the school year", count(`SELECT count(*) FROM observations
		WHERE started_at < $1 OR started_at > now() OR committed_at > now() OR committed_at < started_at
			OR extract(isodow FROM started_at) > 5`, yearStart), 0)

	// Calibration: 10%, in pairs of two observers of one lesson sharing the co_observation key.
	expect("calibration records", count(`SELECT count(*) FROM observations WHERE kind = 'calibration'`), 500)
	expect("calibration keys that are not one lesson seen by two observers", count(`SELECT count(*) FROM (
		SELECT content->>'co_observation' FROM observations WHERE kind = 'calibration' GROUP BY 1
		HAVING count(*) <> 2 OR count(DISTINCT observer_id) <> 2 OR count(DISTINCT (classroom_id, started_at)) <> 1
			OR bool_or(coalesce(content->>'co_observation', '') = '')) AS x`), 0)
	expect("solo records with a co_observation key", count(`SELECT count(*) FROM observations
		WHERE kind <> 'calibration' AND content::jsonb ? 'co_observation'`), 0)

	// Participation is tallied by the district's student groups.
	expect("records with student-group counts of a group the district lacks", count(`SELECT count(*) FROM observations o,
		jsonb_array_elements(o.content::jsonb->'participation') p, districts d
		WHERE d.district_id = o.district_id AND p->>'field' = 'student_group'
		AND NOT d.settings->'student_groups' @> jsonb_build_array(jsonb_build_object('key', p->>'option'))`), 0)
	if n := count(`SELECT count(*) FROM observations WHERE content::jsonb->'participation' @> '[{"field": "student_group"}]'`); n < 4000 {
		t.Errorf("%d of 5000 records count participation by student group, want most", n)
	}

	// Scores improve over the year; observers differ in leniency.
	var fall, spring, spread float64
	if err := conn.QueryRow(ctx, `WITH s AS (
			SELECT o.observer_id, o.started_at, (x->>'level')::float AS level
			FROM observations o, jsonb_array_elements(o.content::jsonb->'scores') x WHERE x ? 'level')
		SELECT (SELECT avg(level) FROM s WHERE started_at < $1::timestamptz + interval '3 months'),
			(SELECT avg(level) FROM s WHERE started_at >= $1::timestamptz + interval '7 months'),
			(SELECT max(m) - min(m) FROM (SELECT avg(level) AS m FROM s GROUP BY observer_id HAVING count(*) > 200) AS o)`,
		yearStart).Scan(&fall, &spring, &spread); err != nil {
		t.Fatal(err)
	}
	t.Logf("mean level: fall %.2f, spring %.2f; observer means span %.2f", fall, spring, spread)
	if spring < fall+0.3 {
		t.Errorf("mean level %.2f in the fall and %.2f in the spring, want a clear rise", fall, spring)
	}
	if spread < 0.3 {
		t.Errorf("observer means differ by %.2f at most, want leniency differences", spread)
	}

	// Again: refused, nothing added.
	mustFail(t, dir, env, "--append", args...)
	expect("observations after a refused second seed", count(`SELECT count(*) FROM observations`), 5000)
	// With --append, the stored ones are skipped and only new indexes are loaded.
	args[8] = "6000"
	out = mustRun(t, dir, env, append(args, "--append")...)
	if want := "observations: 1000 loaded (100 in calibration pairs), 5000 already stored skipped"; !strings.Contains(out, want) {
		t.Errorf("seed --append: want %q in:\n%s", want, out)
	}
	expect("observations after --append", count(`SELECT count(*) FROM observations`), 6000)
	expect("distinct ids after --append", count(`SELECT count(DISTINCT observation_id) FROM observations`), 6000)

	// Sizes without --districts, or out of range, are refused before touching the database.
	mustFail(t, dir, env, "needs --districts", "seed", "--sites-per-district", "3")
	mustFail(t, dir, env, "districts must be 1 to", "seed", "--districts", fmt.Sprint(100000))
	mustFail(t, dir, env, "--observations", "seed", "--observations", "-1")
	mustFail(t, dir, env, "--school-year-start", "seed", "--observations", "10", "--school-year-start", "August")
}
