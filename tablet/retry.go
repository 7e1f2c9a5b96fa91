package tablet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// ErrUnauthenticated is returned (wrapping the transport's error) when the server refuses the
// token. The outbox is kept intact; sync again once the user has signed in again.
var ErrUnauthenticated = errors.New("sync: the server refused the credentials; the outbox is kept")

// call runs one transport call with the retry policy: KindUnavailable and a call timeout are
// retried with exponential backoff and full jitter up to MaxAttempts; KindUnauthenticated is
// wrapped in ErrUnauthenticated; anything else is returned as is.
func (c *Client) call(ctx context.Context, rep *Report, what string, fn func(ctx context.Context) error) error {
	if c.t == nil {
		return fmt.Errorf("sync: %s: no transport (offline client)", what)
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sync: %s: %w", what, err)
		}
		cctx, cancel := ctx, context.CancelFunc(func() {})
		if c.opts.CallTimeout > 0 {
			cctx, cancel = context.WithTimeout(ctx, c.opts.CallTimeout)
		}
		err := fn(cctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil { // the caller gave up, not the call
			return fmt.Errorf("sync: %s: %w", what, errors.Join(ctx.Err(), err))
		}
		switch {
		case observation.KindOf(err) == observation.KindUnauthenticated:
			return fmt.Errorf("%w: %s: %w", ErrUnauthenticated, what, err)
		case observation.KindOf(err) == observation.KindUnavailable, errors.Is(err, context.DeadlineExceeded):
		default:
			return err
		}
		if attempt+1 >= c.opts.MaxAttempts {
			return fmt.Errorf("sync: %s: giving up after %d attempts: %w", what, attempt+1, err)
		}
		rep.Retries++
		if err := c.opts.sleep(ctx, c.backoff(attempt)); err != nil {
			return fmt.Errorf("sync: %s: %w", what, err)
		}
	}
}

// backoff is "full jitter": a uniform duration in [0, min(MaxBackoff, BaseBackoff·2^attempt)].
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.opts.MaxBackoff
	if attempt < 32 {
		if d := c.opts.BaseBackoff << attempt; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
