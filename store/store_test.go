package store_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Shared fixtures and assertions.

const (
	riverbend = "riverbend-usd"
	mesaVerde = "mesa-verde-sd"
	lakeshore = "lakeshore-usd"
)

// now is a wall-clock time at PostgreSQL's precision, so values survive a round trip unchanged.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// testContent is valid rubric content whose title (and so hash) depends on title.
func testContent(title string) observation.RubricContent {
	c := observation.DefaultRubric()
	c.Title = observation.Text{"en": title, "es": title + " (es)"}
	return c
}

// newVersion builds a version the store can persist as-is.
func newVersion(owner, id string, version int, status observation.VersionStatus, c observation.RubricContent) observation.RubricVersion {
	t := now()
	v := observation.RubricVersion{
		OwnerID: owner, RubricID: id, Version: version, Status: status,
		Content: c, ContentHash: c.Hash(), CreatedBy: "test", CreatedAt: t, UpdatedAt: t,
	}
	if status != observation.StatusDraft {
		v.PublishedAt = &t
	}
	if status == observation.StatusRetired {
		v.RetiredAt = &t
	}
	return v
}

// domainErr returns err as an *observation.Error, failing the test when it is not one.
func domainErr(t *testing.T, err error) *observation.Error {
	t.Helper()
	if err == nil {
		t.Fatal("got nil error, want a domain error")
	}
	var e *observation.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want *observation.Error", err, err)
	}
	return e
}

// assertKind checks err's kind, and its reason when reason is not empty.
func assertKind(t *testing.T, err error, kind observation.Kind, reason string) *observation.Error {
	t.Helper()
	e := domainErr(t, err)
	if e.Kind != kind {
		t.Fatalf("kind = %v (%v), want %v", e.Kind, err, kind)
	}
	if reason != "" && e.Reason != reason {
		t.Fatalf("reason = %q (%v), want %q", e.Reason, err, reason)
	}
	return e
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// pgCode returns the SQLSTATE of a PostgreSQL error, or "" for nil and other errors.
func pgCode(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code
	}
	return ""
}

// publicTables lists the base tables in schema public, sorted, except goose's bookkeeping.
func publicTables(t *testing.T, st *store.Store) []string {
	t.Helper()
	rows, err := st.Pool().Query(context.Background(), `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'goose_db_version'
		ORDER BY table_name`)
	mustNoErr(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		mustNoErr(t, rows.Scan(&n))
		out = append(out, n)
	}
	mustNoErr(t, rows.Err())
	return out
}

func countFreezeFunctions(t *testing.T, st *store.Store) int {
	t.Helper()
	var n int
	mustNoErr(t, st.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM pg_proc WHERE proname = 'rubric_versions_freeze'`).Scan(&n))
	return n
}

// migrationFiles counts the embedded migrations from the source directory.
func migrationFiles(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	mustNoErr(t, err)
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	if n == 0 {
		t.Fatal("no migrations found")
	}
	return n
}

// wantTables are tables migrations must create (later migrations may add more).
var wantTables = []string{"classrooms", "districts", "rubric_versions", "rubrics", "sites", "staff", "staff_sites",
	"observations", "progress_cells", "progress_pairs", "progress_goals"}

func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.NewDatabase(t), store.Options{})
	mustNoErr(t, err)
	defer st.Close()
	m, err := st.NewMigrator()
	mustNoErr(t, err)
	defer m.Close()

	n := migrationFiles(t)
	if got := publicTables(t, st); len(got) != 0 {
		t.Fatalf("empty database has tables %v", got)
	}

	var firstTables []string
	up := func(round string) {
		t.Helper()
		res, err := m.Up(ctx)
		if err != nil {
			t.Fatalf("%s: up: %v", round, err)
		}
		if len(res) != n {
			t.Fatalf("%s: up applied %d migrations, want %d", round, len(res), n)
		}
		for _, r := range res {
			if r.Error != nil || r.Direction != "up" {
				t.Fatalf("%s: migration %d: direction %s, error %v", round, r.Source.Version, r.Direction, r.Error)
			}
		}
		status, err := m.Status(ctx)
		mustNoErr(t, err)
		if len(status) != n {
			t.Fatalf("%s: status lists %d migrations, want %d", round, len(status), n)
		}
		for _, s := range status {
			if s.State != goose.StateApplied {
				t.Errorf("%s: migration %d is %s, want applied", round, s.Source.Version, s.State)
			}
		}
		v, err := m.Version(ctx)
		mustNoErr(t, err)
		if v != status[len(status)-1].Source.Version {
			t.Errorf("%s: version %d, want %d", round, v, status[len(status)-1].Source.Version)
		}
		got := publicTables(t, st)
		for _, w := range wantTables {
			if !slices.Contains(got, w) {
				t.Errorf("%s: table %s missing (tables %v)", round, w, got)
			}
		}
		if firstTables == nil {
			firstTables = got
		} else if !slices.Equal(got, firstTables) {
			t.Errorf("%s: tables %v, the first up made %v", round, got, firstTables)
		}
		if c := countFreezeFunctions(t, st); c != 1 {
			t.Errorf("%s: %d rubric_versions_freeze functions, want 1", round, c)
		}
		// Nothing pending: a second Up applies nothing.
		res, err = m.Up(ctx)
		if err != nil || len(res) != 0 {
			t.Fatalf("%s: second up: %d results, %v", round, len(res), err)
		}
	}
	down := func(round string) {
		t.Helper()
		for i := n; i > 0; i-- {
			r, err := m.Down(ctx)
			if err != nil {
				t.Fatalf("%s: down %d: %v", round, i, err)
			}
			if r.Direction != "down" || r.Error != nil {
				t.Fatalf("%s: down %d: direction %s, error %v", round, i, r.Direction, r.Error)
			}
		}
		v, err := m.Version(ctx)
		mustNoErr(t, err)
		if v != 0 {
			t.Fatalf("%s: version after rolling everything back = %d, want 0", round, v)
		}
		if _, err := m.Down(ctx); err == nil {
			t.Errorf("%s: down at version 0 succeeded, want an error", round)
		}
		status, err := m.Status(ctx)
		mustNoErr(t, err)
		for _, s := range status {
			if s.State != goose.StatePending {
				t.Errorf("%s: migration %d is %s after down, want pending", round, s.Source.Version, s.State)
			}
		}
		if got := publicTables(t, st); len(got) != 0 {
			t.Errorf("%s: tables left after down: %v", round, got)
		}
		if c := countFreezeFunctions(t, st); c != 0 {
			t.Errorf("%s: rubric_versions_freeze left after down", round)
		}
	}

	up("first")
	// Put some data in, so the down migrations have rows and dependants to drop.
	mustNoErr(t, st.UpsertRoster(ctx, demoRoster()))
	_, err = st.EnsurePublishedRubric(ctx, observation.DefaultRubricVersion(now()))
	mustNoErr(t, err)
	down("first")
	up("second")
	// The re-created schema works, trigger included.
	if _, err := st.EnsurePublishedRubric(ctx, observation.DefaultRubricVersion(now())); err != nil {
		t.Fatal(err)
	}
	_, err = st.Pool().Exec(ctx, `UPDATE rubric_versions SET content = '{}'`)
	if pgCode(err) != "P0001" {
		t.Errorf("trigger after up-down-up: got %v, want SQLSTATE P0001", err)
	}
	// DownTo(0) rolls everything back in one call too.
	if _, err := m.DownTo(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := publicTables(t, st); len(got) != 0 {
		t.Errorf("tables left after DownTo(0): %v", got)
	}

	// Closing the migrator leaves the store's pool usable.
	mustNoErr(t, m.Close())
	mustNoErr(t, st.Ping(ctx))
}

// TestDistrictIDLeadsEveryPrimaryKey checks DESIGN §4: every table's primary key starts with
// district_id, so the schema can be distributed by district.
func TestDistrictIDLeadsEveryPrimaryKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := pgtest.NewStore(t)

	rows, err := st.Pool().Query(ctx, `
		SELECT c.relname,
			coalesce((SELECT array_agg(a.attname::text ORDER BY k.ord)
				FROM pg_index i
				CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
				JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
				WHERE i.indrelid = c.oid AND i.indisprimary), '{}')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'goose_db_version'
		ORDER BY c.relname`)
	mustNoErr(t, err)
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		var pk []string
		mustNoErr(t, rows.Scan(&name, &pk))
		tables = append(tables, name)
		if len(pk) == 0 {
			t.Errorf("table %s has no primary key", name)
			continue
		}
		if pk[0] != "district_id" {
			t.Errorf("table %s: primary key (%s) does not start with district_id", name, strings.Join(pk, ", "))
		}
		// Only districts may be keyed by district_id alone; district-owned rows need their own id too.
		if name != "districts" && len(pk) < 2 {
			t.Errorf("table %s: primary key (%s) is district_id alone", name, strings.Join(pk, ", "))
		}
	}
	mustNoErr(t, rows.Err())
	for _, w := range wantTables {
		if !slices.Contains(tables, w) {
			t.Errorf("table %s not checked (tables: %v)", w, tables)
		}
	}
}

// TestDatabaseFreezesPublishedVersions checks the rubric_versions_freeze trigger directly with raw
// SQL: no code path may change a published version's content or move it back.
func TestDatabaseFreezesPublishedVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := rubricStore(t)
	db := st.Pool()

	mustNoErr(t, st.CreateRubric(ctx, newVersion(riverbend, "frozen", 1, observation.StatusDraft, testContent("Frozen")), observation.AuditEntry{}))
	const where = ` WHERE rubric_id = 'frozen' AND version = 1`

	// A draft's content may change.
	if _, err := db.Exec(ctx, `UPDATE rubric_versions SET content = content || '{"x": 1}'`+where); err != nil {
		t.Fatalf("updating a draft's content: %v", err)
	}
	// Publish (through the store, as the use-cases do).
	_, err := st.UpdateVersion(ctx, "frozen", 1, observation.AuditEntry{}, func(v *observation.RubricVersion) error {
		t0 := now()
		v.Status, v.PublishedAt, v.UpdatedAt = observation.StatusPublished, &t0, t0
		return nil
	})
	mustNoErr(t, err)

	refused := func(what, sql string) {
		t.Helper()
		_, err := db.Exec(ctx, sql+where)
		if code := pgCode(err); code != "P0001" {
			t.Errorf("%s: got %v (SQLSTATE %q), want SQLSTATE P0001", what, err, code)
		}
	}
	var hash, status string
	mustNoErr(t, db.QueryRow(ctx, `SELECT content_hash, status FROM rubric_versions`+where).Scan(&hash, &status))
	if status != "published" {
		t.Fatalf("status %s, want published", status)
	}
	refused("content of a published version", `UPDATE rubric_versions SET content = '{"title": {"en": "changed"}}'`)
	refused("content hash of a published version", `UPDATE rubric_versions SET content_hash = repeat('0', 64)`)
	refused("published back to draft", `UPDATE rubric_versions SET status = 'draft', published_at = NULL`)

	// Through the store, a refused write is a failed precondition, not an infrastructure error.
	_, err = st.UpdateVersion(ctx, "frozen", 1, observation.AuditEntry{}, func(v *observation.RubricVersion) error {
		v.Content = testContent("Sneaky")
		v.ContentHash = v.Content.Hash()
		return nil
	})
	if e := assertKind(t, err, observation.KindFailedPrecondition, "REFUSED"); e.Message != "a published or retired rubric version cannot be changed" {
		t.Errorf("refused write answers %q, not lookfor's own message", e.Message)
	}

	// Retiring is allowed; after that, no way back.
	if _, err := db.Exec(ctx, `UPDATE rubric_versions SET status = 'retired', retired_at = now()`+where); err != nil {
		t.Fatalf("retiring: %v", err)
	}
	refused("retired back to published", `UPDATE rubric_versions SET status = 'published', retired_at = NULL`)
	refused("retired back to draft", `UPDATE rubric_versions SET status = 'draft', published_at = NULL, retired_at = NULL`)
	refused("content of a retired version", `UPDATE rubric_versions SET content = '{}'`)

	var hashAfter, statusAfter string
	mustNoErr(t, db.QueryRow(ctx, `SELECT content_hash, status FROM rubric_versions`+where).Scan(&hashAfter, &statusAfter))
	if hashAfter != hash || statusAfter != "retired" {
		t.Errorf("after refused updates: hash %s status %s, want %s retired", hashAfter, statusAfter, hash)
	}
}

// TestDataTheDatabaseRefusesIsInvalidInput: a value PostgreSQL (or pgx, before sending) refuses as
// data is the caller's fault — invalid argument, never "unavailable; retry" (a tablet would retry
// forever) — and the message is lookfor's, never PostgreSQL's or pgx's.
func TestDataTheDatabaseRefusesIsInvalidInput(t *testing.T) {
	st := pgtest.NewStore(t)
	ctx := context.Background()
	leaks := []string{"0x00", "UTF8", "SQLSTATE", "int4", "encode", "args["}
	for _, c := range []struct {
		name    string
		call    func() error
		message string
	}{
		{"NUL in text", func() error { _, err := st.GetRubricVersion(ctx, "a\x00b", 1); return err }, "NUL"},
		{"number above int4", func() error { _, err := st.GetRubricVersion(ctx, "x", 1<<31); return err }, "lookfor can store"},
		{"text PostgreSQL cannot read as a number", func() error {
			_, err := st.Pool().Exec(ctx, `SELECT $1::text::int`, "abc")
			return store.Classify(err)
		}, "form"},
		{"number out of range in SQL", func() error {
			_, err := st.Pool().Exec(ctx, `SELECT 2147483647::int + $1::int`, 1)
			return store.Classify(err)
		}, "range"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := assertKind(t, c.call(), observation.KindInvalid, "INVALID_VALUE")
			if !strings.Contains(e.Message, c.message) {
				t.Errorf("message %q does not say %q", e.Message, c.message)
			}
			for _, l := range leaks {
				if strings.Contains(e.Message, l) {
					t.Errorf("message %q passes on another program's words (%q)", e.Message, l)
				}
			}
		})
	}
}

// rubricStore is a fresh store holding the districts the rubric tests own rubrics in: rubrics
// are created only for the network or a district that exists.
func rubricStore(t testing.TB) *store.Store {
	t.Helper()
	st := pgtest.NewStore(t)
	if _, err := st.Pool().Exec(context.Background(), `INSERT INTO districts (district_id, name)
		VALUES ($1, 'Riverbend'), ($2, 'Mesa Verde'), ($3, 'Lakeshore')`, riverbend, mesaVerde, lakeshore); err != nil {
		t.Fatal(err)
	}
	return st
}
