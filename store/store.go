// Package store is lookfor's PostgreSQL storage: the pgx/v5 pool, embedded SQL migrations and
// every query. It implements the storage interfaces the domain packages define. It imports the
// domain packages and pgx, never gen/ or grpc (docs/architecture.md).
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lookfor-edu/lookfor/observation"
)

// Store is a pool of connections to one lookfor database.
type Store struct {
	pool    *pgxpool.Pool
	rubrics rubricCache
}

// Options tune the pool.
type Options struct {
	MaxConns int32 // 0: pgx's default (max(4, cores))
}

// Open connects to databaseURL and checks the connection.
func Open(ctx context.Context, databaseURL string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: bad database url: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: cannot reach PostgreSQL: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Pool exposes the pool for tests and tools.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close waits for connections in use to be returned, then closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that PostgreSQL answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return observation.Unavailable(err, "database unreachable")
	}
	return nil
}

// ReadWriteTx runs fn in one transaction, committing when fn returns nil and rolling back
// otherwise. Errors are classified for the domain (see classify).
func (s *Store) ReadWriteTx(ctx context.Context, fn func(pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, fn)
	return classify(err)
}

// PostgreSQL error codes lookfor tells apart.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
	codeRaiseException      = "P0001"
	codeSerialization       = "40001"
	codeDeadlock            = "40P01"
)

// classify turns storage errors into domain errors: domain errors pass through, no rows becomes
// not found, constraint violations become the matching kind, and anything else (connection
// loss, server shutdown, timeouts) becomes unavailable — the caller may retry.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if observation.KindOf(err) != 0 {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &observation.Error{Kind: observation.KindNotFound, Reason: "NOT_FOUND", Message: "not found", Err: err}
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case codeUniqueViolation:
			return &observation.Error{Kind: observation.KindAlreadyExists, Reason: "ALREADY_EXISTS", Message: "already exists", Err: err}
		case codeForeignKeyViolation:
			return &observation.Error{Kind: observation.KindFailedPrecondition, Reason: "REFERENCE_MISSING", Message: "a referenced record does not exist", Err: err}
		case codeCheckViolation:
			return &observation.Error{Kind: observation.KindInvalid, Reason: "CONSTRAINT", Message: "a value is out of range", Err: err}
		case codeRaiseException:
			return &observation.Error{Kind: observation.KindFailedPrecondition, Reason: "REFUSED", Message: pg.Message}
		}
		if strings.HasPrefix(pg.Code, "22") { // data exceptions: the input, not the database, is at fault
			return &observation.Error{Kind: observation.KindInvalid, Reason: "INVALID_VALUE", Message: "a value cannot be stored: " + pg.Message, Err: err}
		}
	}
	return observation.Unavailable(err, "database")
}
