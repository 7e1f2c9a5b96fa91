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

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"

	"github.com/lookfor-edu/lookfor/observation"
)

// Store is a pool of connections to one lookfor database, and optionally a second pool to a
// streaming replica of it that the progress views' aggregate reads use.
type Store struct {
	pool    *pgxpool.Pool
	views   *pgxpool.Pool // the progress views' aggregate reads: the replica's pool, or pool
	rubrics rubricCache
}

// Options tune the pool.
type Options struct {
	MaxConns int32 // 0: pgx's default (max(4, cores))

	// ReadDatabaseURL is a hot standby (streaming replica) of the database that the progress
	// views read their aggregates from; empty: the database itself. A replica lags: see
	// docs/architecture.md (Read replicas) for what a caller sees right after a write.
	ReadDatabaseURL string

	// TracerProvider, when set, traces every statement (one span per query, batch and copy) as
	// a child of the caller's span; statements with no caller span (background work) are not
	// sampled by lookfor's tracer provider (docs/operations.md).
	TracerProvider trace.TracerProvider
}

// Open connects to databaseURL and checks the connection.
func Open(ctx context.Context, databaseURL string, opts Options) (*Store, error) {
	pool, err := openPool(ctx, databaseURL, opts, "")
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, views: pool}
	if opts.ReadDatabaseURL != "" {
		if s.views, err = openPool(ctx, opts.ReadDatabaseURL, opts, "read "); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return s, nil
}

func openPool(ctx context.Context, databaseURL string, opts Options, which string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: bad %sdatabase url: %w", which, err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.TracerProvider != nil {
		cfg.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithTracerProvider(opts.TracerProvider),
			otelpgx.WithTrimSQLInSpanName(), otelpgx.WithDisableConnectionDetailsInAttributes())
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: cannot reach the PostgreSQL %sdatabase: %w", which, err)
	}
	return pool, nil
}

// Pool exposes the pool for tests and tools.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Pools returns the pools by name for metrics: "primary", and "read" when views read a replica.
func (s *Store) Pools() map[string]*pgxpool.Pool {
	p := map[string]*pgxpool.Pool{"primary": s.pool}
	if s.views != s.pool {
		p["read"] = s.views
	}
	return p
}

// Close waits for connections in use to be returned, then closes the pools.
func (s *Store) Close() {
	if s.views != s.pool {
		s.views.Close()
	}
	s.pool.Close()
}

// ViewsAsOf is the instant up to which the progress views' aggregate reads include every
// committed write: on a replica, the commit time of the last transaction it replayed
// (pg_last_xact_replay_timestamp); on the database itself (or a read URL that is not in
// recovery), now. A view read after this call
// includes at least everything committed up to it.
func (s *Store) ViewsAsOf(ctx context.Context) (time.Time, error) {
	if s.views == s.pool {
		return time.Now().UTC(), nil
	}
	var t *time.Time
	err := s.views.QueryRow(ctx, `SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_xact_replay_timestamp() ELSE clock_timestamp() END`).Scan(&t)
	if err != nil {
		return time.Time{}, classify(err)
	}
	if t == nil { // a replica that has replayed no transaction since it started
		return time.Time{}, nil
	}
	return t.UTC(), nil
}

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
// not found, constraint violations become the matching kind, data PostgreSQL refuses as data
// (class 22, or an argument pgx cannot encode into its column's type) becomes invalid, and
// anything else (connection loss, server shutdown, timeouts) becomes unavailable — the caller
// may retry. Messages are lookfor's own: PostgreSQL's text stays in the wrapped cause, which is
// logged and never shown.
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
			msg := "the database refused this change"
			if pg.Hint == "lookfor:rubric_frozen" {
				msg = "a published or retired rubric version cannot be changed"
			}
			return &observation.Error{Kind: observation.KindFailedPrecondition, Reason: "REFUSED", Message: msg, Err: err}
		}
		if strings.HasPrefix(pg.Code, "22") { // data exceptions: the input, not the database, is at fault
			return &observation.Error{Kind: observation.KindInvalid, Reason: "INVALID_VALUE", Message: dataExceptionMessage(pg.Code), Err: err}
		}
	}
	if isEncodeError(err) {
		return &observation.Error{Kind: observation.KindInvalid, Reason: "INVALID_VALUE",
			Message: "a value is outside what lookfor can store for it (a number too large, or text that is not UTF-8)", Err: err}
	}
	return observation.Unavailable(err, "database")
}

// dataExceptionMessage says, in lookfor's words, what a PostgreSQL data exception (class 22)
// found wrong with a value.
func dataExceptionMessage(code string) string {
	switch code {
	case "22003": // numeric_value_out_of_range
		return "a number is out of the range lookfor can store"
	case "22021", "22P05": // character_not_in_repertoire, untranslatable_character
		return "a text contains a NUL character or is not valid UTF-8"
	case "22001": // string_data_right_truncation
		return "a text is longer than lookfor can store"
	case "22P02", "22P03": // invalid_text_representation, invalid_binary_representation
		return "a value is not in the form its field needs"
	case "22007", "22008": // invalid_datetime_format, datetime_field_overflow
		return "a date or time is invalid or out of range"
	case "22012": // division_by_zero
		return "a value leads to a division by zero"
	}
	return "a value cannot be stored"
}

// isEncodeError reports an argument pgx refused to encode for its parameter's type before
// sending the query (e.g. 2147483648 for an int4 column): the input is at fault.
func isEncodeError(err error) bool {
	return strings.Contains(err.Error(), "failed to encode args[")
}
