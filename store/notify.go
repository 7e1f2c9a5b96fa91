package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// issuersChannel is where migration 00009's trigger announces every change to identity_issuers.
const issuersChannel = "lookfor_identity_issuers"

// WatchIdentityIssuers calls changed whenever any process changes the trusted issuers, until ctx
// ends. It listens on a dedicated connection (outside the pool) and calls changed once more
// after every (re)connection, since a notification sent while disconnected is lost; a lost
// connection is retried with a backoff of up to 30 s. failed is told of each connection error.
func (s *Store) WatchIdentityIssuers(ctx context.Context, changed func(), failed func(error)) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := s.listen(ctx, changed, func() { backoff = time.Second })
		if ctx.Err() != nil {
			return
		}
		if failed != nil {
			failed(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (s *Store) listen(ctx context.Context, changed, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+issuersChannel); err != nil {
		return err
	}
	connected()
	changed() // whatever changed while this process was not listening
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		changed()
	}
}
