// Package pgtest gives each test its own migrated PostgreSQL database. The server is chosen by
// TEST_DATABASE_URL, else 127.0.0.1:5432 (`make test` picks one, starting a throwaway cluster
// when none answers). Each test binary migrates one template database once; each test gets
// CREATE DATABASE … TEMPLATE and drops it afterwards. No mocks.
//
// It is a development tool: it may import any lookfor package; only cmd/, other development
// tools and tests import it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/store"
)

// defaultURL is used when TEST_DATABASE_URL is unset.
const defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL is the URL of the server tests create their databases on.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return defaultURL
}

var (
	mu       sync.Mutex
	template string
	tplErr   error
)

// Main runs the tests and drops the template afterwards. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	mu.Lock()
	if template != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = exec(ctx, AdminURL(), "DROP DATABASE IF EXISTS "+pgx.Identifier{template}.Sanitize()+" WITH (FORCE)")
		cancel()
	}
	mu.Unlock()
	os.Exit(code)
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// withDatabase returns admin with its database replaced by name.
func withDatabase(admin, name string) string {
	u, err := url.Parse(admin)
	if err != nil {
		panic(fmt.Sprintf("pgtest: bad TEST_DATABASE_URL: %v", err))
	}
	u.Path = "/" + name
	return u.String()
}

func exec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// ensureTemplate creates and migrates this binary's template database once.
func ensureTemplate(ctx context.Context) (string, error) {
	if template != "" || tplErr != nil {
		return template, tplErr
	}
	name := "lookfor_tpl_" + randomSuffix()
	if tplErr = exec(ctx, AdminURL(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); tplErr != nil {
		tplErr = fmt.Errorf("pgtest: cannot create a database on %s (set TEST_DATABASE_URL, or run `make test`): %w", AdminURL(), tplErr)
		return "", tplErr
	}
	template = name
	st, err := store.Open(ctx, withDatabase(AdminURL(), name), store.Options{MaxConns: 2})
	if err != nil {
		tplErr = err
		return "", err
	}
	defer st.Close()
	m, err := st.NewMigrator()
	if err != nil {
		tplErr = err
		return "", err
	}
	defer m.Close()
	if _, err := m.Up(ctx); err != nil {
		tplErr = fmt.Errorf("pgtest: migrating the template: %w", err)
	}
	return template, tplErr
}

// NewDatabase creates an empty, unmigrated database for the test and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return create(t, "")
}

// newMigratedDatabase creates a database with every migration applied and returns its URL.
func newMigratedDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mu.Lock()
	tpl, err := ensureTemplate(ctx)
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	return create(t, tpl)
}

func create(t testing.TB, tpl string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := "lookfor_t_" + randomSuffix()
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if tpl != "" {
		sql += " TEMPLATE " + pgx.Identifier{tpl}.Sanitize()
	}
	mu.Lock() // copies of one template must not overlap
	err := exec(ctx, AdminURL(), sql)
	mu.Unlock()
	if err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, AdminURL(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: dropping %s: %v", name, err)
		}
	})
	return withDatabase(AdminURL(), name)
}

// NewStore opens a store on a fresh migrated database, closed when the test ends.
func NewStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), newMigratedDatabase(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}
