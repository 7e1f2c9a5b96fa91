package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/lookfor-edu/lookfor/observation"
)

// Slow and oversized clients: the HTTP server's timeouts (Config, Serve), the body limit
// (limitBody), the token size cap here, and the request and push limits — each refusal names
// the configured limit.

// reasonTokenTooLarge is the ErrorInfo reason for a bearer token over Config.MaxTokenBytes.
const reasonTokenTooLarge = "TOKEN_TOO_LARGE"

// reasonBodyTimeout is the reason for a body that did not arrive within
// Config.HTTPReadBodyTimeout (HTTP 408).
const reasonBodyTimeout = "BODY_TIMEOUT"

// tokenTooLarge refuses a call whose authorization metadata is over limit bytes, before the
// token is parsed or verified: no signature check, key lookup or JWKS refresh is spent on it.
func tokenTooLarge(ctx context.Context, limit int) error {
	for _, v := range metadata.ValueFromIncomingContext(ctx, "authorization") {
		if len(v) > limit {
			return toStatus(&observation.Error{Kind: observation.KindUnauthenticated, Reason: reasonTokenTooLarge,
				Message: fmt.Sprintf("the Authorization header is %d bytes; the limit is %d bytes (--max-token-bytes)", len(v), limit)})
		}
	}
	return nil
}

func unaryTokenSize(limit int) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := tokenTooLarge(ctx, limit); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

func streamTokenSize(limit int) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := tokenTooLarge(ss.Context(), limit); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}

// bodyDeadline gives the request body HTTPReadBodyTimeout to arrive, counted from when the
// headers were read: a client that trickles its body is cut off (408) instead of holding a
// connection and a goroutine for as long as it likes.
func (s *Server) bodyDeadline(w http.ResponseWriter) {
	if s.cfg.HTTPReadBodyTimeout > 0 {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.HTTPReadBodyTimeout))
	}
}

// isTimeout reports a read that ran past its deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
