package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
)

// TestExportImportCommands takes a seeded district out with `lookfor export` in two archives and
// loads them with `lookfor import` into another database: every record and revision arrives, the
// export is in the audit log, and a second import is refused with a reason.
func TestExportImportCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, dst := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	must := func(r result, what string) result {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", what, r.code, r.stdout, r.stderr)
		}
		return r
	}
	must(run(t, dir, []string{"DATABASE_URL=" + src}, "migrate", "up"), "migrate")
	must(run(t, dir, []string{"DATABASE_URL=" + src}, "seed", "--observations", "400"), "seed")
	must(run(t, dir, []string{"DATABASE_URL=" + dst}, "migrate", "up"), "migrate the target")

	a1, a2 := filepath.Join(dir, "1.zip"), filepath.Join(dir, "2.zip")
	r := must(run(t, dir, []string{"DATABASE_URL=" + src}, "export", "--district", "riverbend-usd", "--max-observations", "100", "--out", a1), "export")
	after := regexp.MustCompile(`continue with --after ([0-9a-f-]{36})`).FindStringSubmatch(r.stderr)
	if after == nil {
		t.Fatalf("the first archive does not say where to continue: %s", r.stderr)
	}
	r = must(run(t, dir, []string{"DATABASE_URL=" + src}, "export", "--district", "riverbend-usd", "--after", after[1], "--out", a2), "export, continued")
	if !strings.Contains(r.stderr, "the export is complete") {
		t.Fatalf("the second archive should complete the export: %s", r.stderr)
	}

	r = must(run(t, dir, []string{"DATABASE_URL=" + dst}, "import", a1, a2), "import")
	if !strings.Contains(r.stdout, "imported district riverbend-usd") {
		t.Fatalf("import said: %s", r.stdout)
	}
	r = run(t, dir, []string{"DATABASE_URL=" + dst}, "import", a1, a2)
	if r.code == 0 || !strings.Contains(r.stderr, "already in this database") {
		t.Fatalf("a second import: exit %d, %s", r.code, r.stderr)
	}

	count := func(url, q string) int {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, table := range []string{"observations", "observation_revisions", "staff", "classrooms", "progress_cells"} {
		q := `SELECT count(*) FROM ` + table + ` WHERE district_id = 'riverbend-usd'`
		if a, b := count(src, q), count(dst, q); a != b || (a == 0 && table != "observation_revisions") {
			t.Errorf("%s: %d rows exported, %d imported", table, a, b)
		}
	}
	if n := count(src, `SELECT count(*) FROM audit_log WHERE action = 'district.export' AND actor = 'lookfor-cli'`); n != 2 {
		t.Errorf("%d exports audited, want 2", n)
	}
}
