package store

import (
	"context"
	"fmt"
	gosync "sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lease is a PostgreSQL session-level advisory lock held on a connection of its own, outside the
// pool: of all the lookfor processes on one database, the one holding it does the background
// work (the aggregate fold, the tombstone purge), so that work runs once, not once per process.
// When the holder stops or its connection breaks, PostgreSQL releases the lock and the next
// process to ask takes it. The work stays safe to run twice (it locks what it touches); the lease
// only keeps it from being done twice.
type Lease struct {
	store *Store
	key   string

	mu   gosync.Mutex
	conn *pgx.Conn
	held bool
}

// NewLease returns the lease named name on s's database, not yet held.
func (s *Store) NewLease(name string) *Lease { return &Lease{store: s, key: "lookfor/lease/" + name} }

// Hold reports whether this process holds the lease, taking it when it is free and checking,
// when it is held, that the connection holding it is still alive.
func (l *Lease) Hold(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if l.conn != nil {
		if err := l.conn.Ping(ctx); err != nil {
			l.dropLocked()
		} else if l.held {
			return true, nil
		}
	}
	if l.conn == nil {
		cfg := l.store.pool.Config().ConnConfig.Copy()
		cfg.Tracer = nil // a background connection: nothing to trace
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return false, fmt.Errorf("lease %s: connect: %w", l.key, err)
		}
		l.conn = conn
	}
	if err := l.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, l.key).Scan(&l.held); err != nil {
		l.dropLocked()
		return false, fmt.Errorf("lease %s: %w", l.key, err)
	}
	return l.held, nil
}

func (l *Lease) dropLocked() {
	if l.conn != nil {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = l.conn.Close(cctx)
		cancel()
	}
	l.conn, l.held = nil, false
}

// Release gives the lease up (closing its connection releases the lock).
func (l *Lease) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropLocked()
}

// ProgressLogBacklog counts the rows (one per record changed) that pushes appended to the
// progress log and the fold has not yet folded into the aggregate cells (counting stops at limit).
func (s *Store) ProgressLogBacklog(ctx context.Context, limit int) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM progress_delta_log LIMIT $1) AS l`, limit).Scan(&n)
	return n, classify(err)
}
