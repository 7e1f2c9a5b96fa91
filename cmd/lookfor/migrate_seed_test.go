package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
)

// --- 1. migrate -----------------------------------------------------------------------------

func TestMigrate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := pgtest.NewDatabase(t)
	env := []string{"DATABASE_URL=" + db}

	files := migrationFiles(t)
	n := len(files)
	pending := regexp.MustCompile(`^\s*\d+\s+\S+\.sql\s+pending$`)
	applied := regexp.MustCompile(`^\s*\d+\s+\S+\.sql\s+applied \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`)
	// status checks that the first k migrations are applied and the rest pending.
	status := func(k int, env []string, extra ...string) {
		t.Helper()
		out := mustRun(t, dir, env, append([]string{"migrate", "status"}, extra...)...)
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) != n {
			t.Fatalf("migrate status: want %d lines:\n%s", n, out)
		}
		for i, l := range lines {
			want := pending
			if i < k {
				want = applied
			}
			if !want.MatchString(l) || !strings.Contains(l, files[i]) {
				t.Fatalf("migrate status line %d does not match %s for %s:\n%s", i, want, files[i], out)
			}
		}
	}
	// version checks the output ends at the version of the first k migrations (numbers may skip).
	version := func(out string, k int) {
		t.Helper()
		if want := fmt.Sprintf("database at version %d\n", migrationVersion(t, files[k-1])); !strings.HasSuffix(out, want) {
			t.Fatalf("output does not end with %q:\n%s", want, out)
		}
	}

	status(0, env)
	out := mustRun(t, dir, env, "migrate", "up")
	for _, f := range files {
		if !strings.Contains(out, "applied "+f+" (") {
			t.Errorf("migrate up does not report %s:\n%s", f, out)
		}
	}
	version(out, n)
	status(n, env)
	// --database-url and LOOKFOR_DATABASE_URL are other ways to name the database.
	status(n, nil, "--database-url", db)
	out = mustRun(t, dir, []string{"LOOKFOR_DATABASE_URL=" + db}, "migrate", "down")
	if !strings.HasPrefix(out, "rolled back "+files[n-1]) {
		t.Errorf("migrate down does not report the rolled-back migration %s:\n%s", files[n-1], out)
	}
	version(out, n-1)
	status(n-1, env)
	version(mustRun(t, dir, env, "migrate", "up"), n)
	status(n, env)

	// A second up has nothing to apply and stays at the newest version.
	out = mustRun(t, dir, env, "migrate", "up")
	if out != fmt.Sprintf("database at version %d\n", migrationVersion(t, files[n-1])) {
		t.Errorf("second migrate up:\n%s", out)
	}

	mustFail(t, dir, nil, "DATABASE_URL", "migrate", "up")
	mustFail(t, dir, nil, "DATABASE_URL", "migrate", "status")
	mustFail(t, dir, env, `unknown action "sideways"`, "migrate", "sideways")
	mustFail(t, dir, nil, `unknown action "sideways"`, "migrate", "sideways") // no database needed to say so
	mustFail(t, dir, env, "arg", "migrate")
}

// --- 2. seed --------------------------------------------------------------------------------

func TestSeedTwice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"DATABASE_URL=" + pgtest.NewDatabase(t)}
	version := mustRun(t, dir, env, "migrate", "up")
	files := migrationFiles(t)
	if !strings.HasSuffix(version, fmt.Sprintf("database at version %d\n", migrationVersion(t, files[len(files)-1]))) {
		t.Fatalf("migrate up:\n%s", version)
	}
	first := mustRun(t, dir, env, "seed")
	second := mustRun(t, dir, env, "seed")
	if !strings.Contains(first, seedCounts) {
		t.Errorf("first seed: want %q in:\n%s", seedCounts, first)
	}
	if first != second {
		t.Errorf("seed is not idempotent:\nfirst:  %s\nsecond: %s", first, second)
	}
	mustFail(t, dir, nil, "DATABASE_URL", "seed")
}
