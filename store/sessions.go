package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// WebSessions stores the pages' sign-in sessions for the scs session manager (scs.CtxStore).
// Expired sessions are never found, and are purged now and then as sessions are written.
//
// An ended session (signed out, or replaced by a new token at sign-in) keeps its row until it
// expires, with empty data: the session manager re-commits every session a request loaded when an
// idle timeout is set, so a request still in flight when its session ends would otherwise write
// the session back and undo the sign-out. An ended row is never found and never written again.
type WebSessions struct{ s *Store }

// WebSessions returns the session store.
func (s *Store) WebSessions() WebSessions { return WebSessions{s} }

// FindCtx returns an unexpired session's data.
func (w WebSessions) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := w.s.pool.QueryRow(ctx, `SELECT data FROM web_sessions WHERE district_id = 'network' AND token = $1 AND expiry > now() AND data <> ''`, token).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return b, err == nil, classify(err)
}

// CommitCtx writes a session.
func (w WebSessions) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if rand.IntN(100) == 0 {
		if _, err := w.s.pool.Exec(ctx, `DELETE FROM web_sessions WHERE expiry < now()`); err != nil {
			return classify(err)
		}
	}
	_, err := w.s.pool.Exec(ctx, `INSERT INTO web_sessions (token, data, expiry) VALUES ($1, $2, $3)
		ON CONFLICT (district_id, token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry
		WHERE web_sessions.data <> ''`, token, b, expiry)
	return classify(err)
}

// DeleteCtx ends a session for good: its row stays, emptied, until it expires (see WebSessions).
func (w WebSessions) DeleteCtx(ctx context.Context, token string) error {
	_, err := w.s.pool.Exec(ctx, `UPDATE web_sessions SET data = '' WHERE district_id = 'network' AND token = $1`, token)
	return classify(err)
}

// Find, Commit and Delete are the context-free forms scs.Store requires.
func (w WebSessions) Find(token string) ([]byte, bool, error) {
	return w.FindCtx(context.Background(), token)
}

// Commit writes a session.
func (w WebSessions) Commit(token string, b []byte, expiry time.Time) error {
	return w.CommitCtx(context.Background(), token, b, expiry)
}

// Delete ends a session.
func (w WebSessions) Delete(token string) error { return w.DeleteCtx(context.Background(), token) }
