package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/store"
)

// TestBackupRestoreReproducesViews is the restore test of docs/deploy.md: pg_dump of a running
// lookfor database (custom format, as the backup section says), pg_restore into a new empty
// database, a server started on the restored copy, and every progress view of a district
// compared with the original's.
func TestBackupRestoreReproducesViews(t *testing.T) {
	t.Parallel()
	dump, restore := pgTool(t, "pg_dump"), pgTool(t, "pg_restore")
	e := testenv.Start(t)
	seedYear(t, e, 600)
	d := e.Users["district_admin"].DistrictID
	if r := e.Do(t, "POST", "/v1/districts/"+d+"/goals", e.TokenFor(t, "district_admin"),
		`{"title":"Press","dimension":"press","measure":"GOAL_MEASURE_MEAN_LEVEL","target":3,"target_date":"2027-06-30"}`); r.Status != 200 {
		t.Fatalf("goal: %d %s", r.Status, r.Body)
	}

	file := filepath.Join(t.TempDir(), "lookfor.dump")
	src := e.Store.Pool().Config().ConnString()
	if out, err := exec.Command(dump, "--format=custom", "--no-owner", "--file="+file, "--dbname="+src).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	dst := pgtest.NewDatabase(t) // empty: no schema, no migrations
	if out, err := exec.Command(restore, "--no-owner", "--exit-on-error", "--dbname="+dst, file).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	st, err := store.Open(context.Background(), dst, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.CheckMigrated(context.Background()); err != nil {
		t.Fatalf("the restored database: %v", err)
	}
	compareViews(t, e, testenv.StartPrepared(t, st, e.Key, e.Roster), d)
}

// pgTool finds a PostgreSQL client program no older than the test server (pg_dump refuses to
// dump a newer server): the newest in /usr/lib/postgresql/*/bin, else on PATH. A machine without
// one cannot run the restore test, and says so.
func pgTool(t *testing.T, name string) string {
	t.Helper()
	var server int
	conn, err := pgx.Connect(context.Background(), pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	err = conn.QueryRow(context.Background(), `SELECT current_setting('server_version_num')::int / 10000`).Scan(&server)
	conn.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.Reverse(dirs) // lexical order; fine for two-digit majors
	var candidates []string
	for _, d := range dirs {
		candidates = append(candidates, filepath.Join(d, name))
	}
	if p, err := exec.LookPath(name); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		out, err := exec.Command(p, "--version").Output()
		if err != nil {
			continue
		}
		// "pg_dump (PostgreSQL) 15.20 (Debian ...)"
		f := strings.Fields(string(out))
		if len(f) >= 3 {
			major, _, _ := strings.Cut(f[2], ".")
			var v int
			for _, c := range major {
				v = v*10 + int(c-'0')
			}
			if v >= server {
				return p
			}
		}
	}
	t.Skipf("SKIPPED: no %s for PostgreSQL %d or newer on this machine (install postgresql-client-%d); the backup restore test did not run", name, server, server)
	return ""
}
