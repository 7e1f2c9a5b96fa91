package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrator applies lookfor's embedded SQL migrations.
type Migrator struct {
	s        *Store
	db       *sql.DB
	provider *goose.Provider
}

// NewMigrator prepares migrations against s's database.
func (s *Store) NewMigrator() (*Migrator, error) {
	db := stdlib.OpenDBFromPool(s.pool)
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return &Migrator{s: s, db: db, provider: p}, nil
}

// Close releases the migrator's connection handle (not the pool).
func (m *Migrator) Close() error { return m.db.Close() }

// Up applies every pending migration, then computes the progress aggregates of the districts
// a migration left to rebuild: those that already held observations when 00003_progress added
// the aggregate tables (an interrupted rebuild is finished by the next Up).
func (m *Migrator) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	res, err := m.provider.Up(ctx)
	if err != nil {
		return res, err
	}
	if err := m.s.rebuildPending(ctx); err != nil {
		return res, fmt.Errorf("migrations: rebuilding progress aggregates: %w", err)
	}
	return res, nil
}

// Down rolls back the newest migration.
func (m *Migrator) Down(ctx context.Context) (*goose.MigrationResult, error) {
	return m.provider.Down(ctx)
}

// DownTo rolls back to version (0: everything).
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	return m.provider.DownTo(ctx, version)
}

// Status reports every migration and whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, error) {
	return m.provider.Status(ctx)
}

// Version is the newest applied migration.
func (m *Migrator) Version(ctx context.Context) (int64, error) { return m.provider.GetDBVersion(ctx) }

// CheckMigrated reports, without changing anything, whether every embedded migration has been
// applied to s's database. When not, the error says to run `lookfor migrate up` and names the
// database's version and the version this binary needs.
func (s *Store) CheckMigrated(ctx context.Context) error {
	m, err := s.NewMigrator()
	if err != nil {
		return err
	}
	defer m.Close()
	var want int64
	for _, src := range m.provider.ListSources() {
		want = max(want, src.Version)
	}
	var have int64
	var table *string
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('goose_db_version')::text`).Scan(&table); err != nil {
		return classify(err)
	}
	if table != nil {
		if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&have); err != nil {
			return classify(err)
		}
	}
	if have < want {
		return fmt.Errorf("the database is not migrated (it is at version %d, this lookfor needs %d): run `lookfor migrate up` first", have, want)
	}
	return nil
}
